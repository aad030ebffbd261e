"""The writable fields of Severa's input models, as the sandbox validates them.

Each ``*_IN`` dict is one input model of the OpenAPI document (``CustomerInputModel``,
``ProjectFeeInputModel``, …): field name → :class:`~sandbox.severa.fields.F`. The
invoice models are the exception: Severa publishes no ``InvoiceInputModel``, so
``INVOICE_PATCH`` follows the notes' proposal (severa-notes §6.14).
"""

from __future__ import annotations

from sandbox.severa.fields import F

PRODUCT_TYPES = ("FixedFees", "Materials", "Subcontracting")
EXPENSE_CLASSES = ("Mileage", "DailyAllowance", "OtherTravelExpense")
ROW_TYPES = ("FlatRate", "Hours", "ProjectFees", "TravelExpenses")

CUSTOMER_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "number": F("int"),
    "vatNumber": F("str"),
    "kvkNumber": F("str", max_len=25),
    "isActive": F("bool"),
    "email": F("str"),
    "website": F("str"),
    "notes": F("str"),
    "paymentTerm": F("int"),
    "overdueInterest": F("num"),
    "currency": F("ref", ref="currencies", ref_what="Currency"),
    "invoicingVat": F("ref", ref="vatRates", ref_what="VAT rate"),
    "language": F("obj"),
    "eInvoiceAddress": F("str"),
    "eInvoiceOperator": F("str"),
    "headquarterAddress": F("ref", ref="addresses", ref_what="Address"),
    "owner": F("ref", ref="users", ref_what="User"),
    "industry": F("obj"),
    "invoiceTemplate": F("obj"),
    "pricelist": F("obj"),
    "timezone": F("obj"),
    "annualRevenue": F("int"),
    "numberOfEmployees": F("int"),
}
ADDRESS_IN: dict[str, F] = {
    "addressline": F("str"),
    "postalCode": F("str"),
    "city": F("str"),
    "country": F("ref", ref="countries", ref_what="Country"),
    "countryRegion": F("obj"),
    "phone": F("str"),
    "fax": F("str"),
    "isBillingAddress": F("bool"),
    "isPostalAddress": F("bool"),
    "isVisitAddress": F("bool"),
}
CONTACT_IN: dict[str, F] = {
    "firstName": F("str", required=True, min_len=1),
    "lastName": F("str", required=True, min_len=1),
    "customer": F("ref", required=True, ref="customers", ref_what="Customer"),
    "jobTitle": F("str"),
    "description": F("str"),
    "dateOfBirth": F("date"),
    "addressGuid": F("str"),
    "isActive": F("bool"),
    "isEmailAllowed": F("bool"),
    "role": F("obj"),
    "language": F("obj"),
    "timeZone": F("obj"),
    "salutation": F("enum", enum=("Mr.", "Mrs.", "Ms.")),
    "satisfactionLevel": F("enum", enum=("Unsatisfied", "Neutral", "Satisfied", "Unknown")),
}
COMMUNICATION_IN: dict[str, F] = {
    "value": F("str", required=True, min_len=1),
    "contact": F("ref", required=True, ref="contactPersons", ref_what="Contact"),
    "communicationType": F(
        "ref", required=True, ref="communicationTypes", ref_what="Communication type"
    ),
    "isForbiddenToUse": F("bool"),
}
PRODUCT_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "code": F("str"),
    "isActive": F("bool"),
    "type": F("enum", enum=PRODUCT_TYPES),
    "measurementUnit": F("str"),
    "unitPrice": F("money"),
    "unitCost": F("money"),
    "vatRate": F("num"),
    "productCategory": F("obj"),
    "salesAccount": F("obj"),
    "proposalDescription": F("str"),
}
WORK_TYPE_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "code": F("str"),
    "hourCost": F("money"),
    "isActive": F("bool"),
    "isDefault": F("bool"),
    "isProductive": F("bool"),
    "salesAccount": F("obj"),
}
TRAVEL_TYPE_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "expenseClass": F("enum", required=True, enum=EXPENSE_CLASSES),
    "unitCost": F("money", required=True),
    "code": F("str"),
    "costAccount": F("obj"),
    "includeTime": F("bool"),
    "isActive": F("bool"),
    "measurementUnit": F("str"),
    "productCategory": F("obj"),
    "purchaseVatRate": F("num"),
    "salesAccount": F("obj"),
    "vatRate": F("num"),
}
VAT_RATE_IN: dict[str, F] = {
    "percentage": F("num", required=True),
    "code": F("str", max_len=10),
    "countryGuid": F("str"),
    "isActive": F("bool"),
    "isDefault": F("bool"),
}
CURRENCY_IN: dict[str, F] = {
    "code": F("str"),
    "name": F("str"),
    "symbol": F("str"),
    "rate": F("num"),
    "isActive": F("bool"),
}
INVOICE_STATUS_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "isActive": F("bool"),
    "isDefault": F("bool"),
    "isDefaultForCreditNote": F("bool"),
    "isSent": F("bool"),
    "isPaid": F("bool"),
    "isWaitingPayment": F("bool"),
    "isReadOnly": F("bool"),
    "hasInvoiceNumber": F("bool"),
    "sortOrder": F("int"),
}
PROJECT_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "customer": F("ref", required=True, ref="customers", ref_what="Customer"),
    "projectOwner": F("ref", required=True, ref="users", ref_what="User"),
    "number": F("int"),
    "billingContact": F("ref", ref="contactPersons", ref_what="Contact"),
    "businessUnit": F("obj"),
    "completionEstimatePercentage": F("int"),
    "costCenter": F("obj"),
    "currency": F("ref", ref="currencies", ref_what="Currency"),
    "customerContact": F("ref", ref="contactPersons", ref_what="Contact"),
    "deadline": F("date"),
    "description": F("str"),
    "expectedOrderDate": F("date"),
    "expectedValue": F("money"),
    "internalName": F("str"),
    "invoiceNotes": F("str"),
    "invoiceTemplate": F("obj"),
    "isClosed": F("bool"),
    "isInternal": F("bool"),
    "isJoiningAllowed": F("bool"),
    "leadSource": F("obj"),
    "orderNumber": F("str"),
    "ourReference": F("str"),
    "paymentTerm": F("int"),
    "probability": F("int"),
    "projectStatus": F("obj"),
    "salesPerson": F("ref", ref="users", ref_what="User"),
    "salesStatus": F("obj"),
    "startDate": F("date"),
    "useOvertimeMultipliers": F("bool"),
    "useProductsFromSetting": F("bool"),
    "useWorktypesFromSetting": F("bool"),
    "yourReference": F("str"),
}
FEE_IN: dict[str, F] = {
    "project": F("ref", required=True, ref="projects", ref_what="Project"),
    "phase": F("ref", ref="phases", ref_what="Phase"),
    "product": F("ref", ref="products", ref_what="Product"),
    "productType": F("enum", enum=PRODUCT_TYPES),
    "name": F("str"),
    "description": F("str"),
    "eventDate": F("date"),
    "quantity": F("num"),
    "measurementUnit": F("str"),
    "unitPrice": F("money"),
    "unitCost": F("money"),
    "vatRate": F("num"),
    "isBillable": F("bool"),
    "billingSchedule": F("enum", enum=("Immediately", "OnDate", "WhenPhaseCompleted", "Recurring")),
    "plannedBillingDate": F("date"),
    "billingDependencyPhase": F("ref", ref="phases", ref_what="Phase"),
    "invoiceQuantity": F("num"),
    "invoiceRowDescription": F("str"),
    "invoiceRowComment": F("str"),
    "invoice": F("ref", ref="invoices", ref_what="Invoice"),
    "user": F("ref", ref="users", ref_what="User"),
    "salesAccount": F("obj"),
    "costCenter": F("obj"),
    "hasVolumePricing": F("bool"),
    "displayPeriodStartDate": F("date"),
}
INVOICE_PATCH: dict[str, F] = {
    "status": F("ref", required=True, ref="invoiceStatuses", ref_what="Invoice status"),
    "date": F("date", required=True),
    "dueDate": F("date", required=True),
    "paymentDate": F("date"),
    "paymentTerm": F("int"),
    "ourReference": F("str"),
    "yourReference": F("str"),
    "orderNumber": F("str"),
    "notes": F("str"),
    "referenceNumber": F("str"),
    "freeText1": F("text"),
    "freeText2": F("text"),
    "number": F("int"),
}
INVOICE_ROW_PATCH: dict[str, F] = {
    "description": F("str"),
    "quantity": F("num", required=True),
    "measurementUnit": F("str"),
    "unitPrice": F("money"),
    "vatRate": F("num"),
    "sortOrder": F("int"),
}
CREATE_INVOICE_IN: dict[str, F] = {
    "projects": F("obj", required=True),
    "billingCustomerGuid": F("str"),
    "date": F("date"),
    "invoiceStatusGuid": F("str"),
    "groupProjects": F("bool"),
}

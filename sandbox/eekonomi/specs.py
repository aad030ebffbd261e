"""The field lists of every eEkonomi model the sandbox serves, from the OpenAPI document.

Writes are validated against these (type, required, nullable, read-only, lengths,
ranges, enums) and reads default from them, so the sandbox answers exactly the
properties Visma documents. ``tests/sandbox/test_eekonomi_contract.py`` compares them
with the document. Kinds use :data:`sandbox.core.specs.KINDS`.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.specs import FieldSpec, Schema

#: Collection of the store → the model its records follow.
SCHEMA_OF = {
    "units": "UnitApi",
    "termsOfPayments": "TermsOfPaymentApi",
    "countries": "CountryApi",
    "currencies": "CurrencyApi",
    "articleAccountCodings": "ArticleAccountCodingApi",
    "customers": "CustomerApi",
    "articles": "ArticleApi",
    "costCenters": "CostCenterApi",
    "costCenterItems": "CostCenterItemApi",
    "projects": "ProjectApi",
    "customerInvoiceDrafts": "CustomerInvoiceDraftApi",
    "customerInvoices": "CustomerInvoiceApi",
    "supplierInvoices": "SupplierInvoiceApi",
}


def spec(schema: str) -> Schema:
    """The field list of one ``components.schemas`` entry, in document order."""
    return _SPECS[schema]


def _parse_spec(text: str) -> Schema:
    fields: Schema = {}
    for raw in text.strip().splitlines():
        name, kind, *flags = raw.split()
        options: dict[str, Any] = {}
        for flag in flags:
            if flag.startswith("max="):
                options["max_length"] = int(flag[4:])
            elif flag.startswith("min="):
                options["min_length"] = int(flag[4:])
            elif flag.startswith("range="):
                low, high = flag[6:].split("..")
                options["minimum"] = float(low) if low else None
                options["maximum"] = float(high) if high else None
            elif flag.startswith("enum="):
                options["enum"] = tuple(int(v) for v in flag[5:].split(","))
        base = kind.rstrip("?")
        fields[name] = FieldSpec(
            kind="datetime" if base == "dt" else base,
            name=name,
            nullable=kind.endswith("?"),
            readonly="ro" in flags,
            required="req" in flags,
            **options,
        )
    return fields


# fmt: off
_SPEC_TEXT = {
    "CustomerApi": """
        Id uuid ro
        InvoiceCity str req max=50
        InvoicePostalCode str req max=10
        GLN str? max=255
        EmailAddressOrder str? max=255
        EmailAddressQuote str? max=255
        PayToAccountId uuid? ro
        TermsOfPayment obj
        LastInvoiceDate dt? ro
        TaxDeductionNumber str?
        PropertyType int? range=1..2
        PropertyReference str? max=40
        ChangedUtc dt? ro
        CustomerLabels list?
        MessageThreads list? ro
        Notes list? ro
        IsFutureInvoiceDateAllowed bool ro
        Iban str? max=35
        IsDirectDebitEnabled bool?
        DirectDebitCustomerSettings obj
        DiscountAgreementId uuid?
        UnpaidInvoicesAmount num ro
        CustomerNumber str? max=16
        CorporateIdentityNumber str? max=20
        ContactPersonEmail str? max=255
        ContactPersonMobile str? max=50
        ContactPersonName str? max=100
        ContactPersonPhone str? max=50
        CurrencyCode str? max=3
        EmailAddress str? max=255
        InvoiceAddress1 str? max=50
        InvoiceAddress2 str? max=50
        InvoiceCountryCode str? max=2
        DeliveryAddress1 str? max=50
        DeliveryAddress2 str? max=50
        DeliveryCity str? max=50
        DeliveryCountryCode str? max=2
        DeliveryPostalCode str? max=10
        DeliveryCustomerName str? max=100
        DeliveryMethodId uuid?
        DeliveryTermId uuid?
        Name str req max=50
        Note str? max=4000
        ReverseChargeOnConstructionServices bool
        WebshopCustomerNumber int?
        MobilePhone str? max=50
        Telephone str? max=50
        TermsOfPaymentId uuid req
        VatNumber str? max=20
        WwwAddress str? max=255
        IsPrivatePerson bool req
        IsNorthernIreland bool?
        DiscountPercentage num range=0..1
        IsActive bool req
        ForceBookkeepVat bool
        EdiGlnNumber str? max=255
        SalesDocumentLanguage str? max=2
        ElectronicAddress str? max=255
        ElectronicReference str? max=35
        EdiServiceDelivererId str? max=255
        AutoInvoiceActivationEmailSentDate dt?
        AutoInvoiceRegistrationRequestSentDate dt?
        EmailAddresses list?
        DeliveryBasedVat bool
        SalesPriceListId uuid?
    """,
    "ArticleApi": """
        Id uuid ro
        IsActive bool req
        Number str req max=40
        Name str req max=50
        NameEnglish str? max=50
        NetPrice num range=0..99000000
        NetPriceWithDiscount num range=0..99000000
        GrossPrice num range=0..99000000
        CodingId uuid req
        CodingName str? ro
        UnitId uuid req
        UnitName str? ro
        UnitAbbreviation str? ro
        StockBalance num range=-1000000000000000..1000000000000000
        StockBalanceManuallyChangedUtc dt? ro
        StockBalanceReserved num ro
        StockBalanceAvailable num ro
        CreatedUtc dt ro
        ChangedUtc dt ro
        HouseWorkType int?
        PurchasePrice num range=0..99000000
        PurchasePriceManuallyChangedUtc dt? ro
        SendToWebshop bool
        UsesMoss bool
        ArticleLabels list?
        MessageThreads list? ro
        Notes list? ro
        Note str? max=4000
        IsStock bool
        ShowStockInformation bool ro
        IsServiceArticle bool ro
        StockLocationReference str?
        FreightCosts num range=0..99000000
        FreightCostsManuallyChangedUtc dt? ro
        UpdateStockPrices bool
        Barcodes list?
        StockValue num ro
        GreenTechnologyType int?
        DiscountPercentage num
        CurrencyCode str? max=3
        PurchasePriceWithCurrency num
        FreightCostWithCurrency num
        OrderingPoint num?
        SupplierId uuid?
        SupplierArticleNumber str? max=16
    """,
    "ArticleAccountCodingApi": """
        Id uuid ro
        Name str?
        NameEnglish str?
        Type str?
        VatRate str?
        IsActive bool
        VatRatePercent num
        DomesticSalesSubjectToReversedConstructionVatAccountNumber int?
        DomesticSalesSubjectToVatAccountNumber int?
        DomesticSalesVatExemptAccountNumber int?
        ForeignSalesSubjectToMossAccountNumber int?
        ForeignSalesSubjectToThirdPartySalesAccountNumber int?
        ForeignSalesSubjectToVatWithinEuAccountNumber int?
        ForeignSalesVatExemptOutsideEuAccountNumber int?
        ForeignSalesVatExemptWithinEuAccountNumber int?
        DomesticSalesVatCodeExemptAccountNumber int?
        ChangedUtc dt ro
    """,
    "UnitApi": """
        Id uuid ro
        Name str?
        Code str?
        Abbreviation str?
        AbbreviationEnglish str?
    """,
    "TermsOfPaymentApi": """
        Id uuid ro
        Name str?
        NameEnglish str?
        NumberOfDays int
        TermsOfPaymentTypeId int
        TermsOfPaymentTypeText str?
        AvailableForSales bool
        AvailableForPurchase bool
    """,
    "CountryApi": """
        Name str?
        NameEnglish str?
        Code str?
        IsEuMember bool
    """,
    "CurrencyApi": """
        Code str?
    """,
    "CostCenterApi": """
        Name str req max=20
        Number int ro
        IsActive bool
        Items list? ro
        Id uuid ro
    """,
    "CostCenterItemApi": """
        CostCenterId uuid req
        Id uuid? ro
        Name str req max=50
        ShortName str req max=9
        IsActive bool req
        CreatedUtc dt ro
    """,
    "ProjectApi": """
        Id uuid ro
        Number str req max=9
        Name str req max=200
        StartDate dt
        EndDate dt?
        CustomerId uuid?
        CustomerName str? ro
        Notes str? max=500
        Status int req
        ModifiedUtc dt ro
    """,
    "CustomerInvoiceDraftApi": """
        Id uuid ro
        CustomerId uuid req
        CreatedUtc dt? ro
        IsCreditInvoice bool
        RotReducedInvoicingType int req enum=0,1,2
        RotReducedInvoicingPropertyName str? max=40
        RotReducedInvoicingOrgNumber str? max=11
        MaxAllowedTaxReductionAmount num ro
        RotReducedInvoicingAmount num
        RotReducedInvoicingAutomaticDistribution bool
        RotPropertyType int?
        HouseWorkOtherCosts num?
        Rows list?
        Persons list?
        YourReference str? max=100
        OurReference str? max=100
        BuyersOrderReference str? max=35
        ElectronicReference str? max=100
        SubscriptionNumber str? max=100
        ContractNumber str? max=100
        InvoiceCustomerName str? ro max=50
        InvoiceAddress1 str? max=50
        InvoiceAddress2 str? max=50
        InvoicePostalCode str? ro max=10
        InvoiceCity str? ro max=50
        InvoiceCountryCode str? ro max=2
        InvoiceCurrencyCode str? ro
        DeliveryCustomerName str? max=50
        DeliveryAddress1 str? max=50
        DeliveryAddress2 str? max=50
        DeliveryPostalCode str? max=10
        DeliveryCity str? max=50
        DeliveryCountryCode str? max=2
        DeliveryMethodName str? max=50
        DeliveryTermName str? max=50
        TermsOfPaymentId uuid?
        DeliveryMethodCode str? max=20
        DeliveryTermCode str? max=20
        EuThirdParty bool req
        CustomerIsPrivatePerson bool ro
        ReverseChargeOnConstructionServices bool ro
        SalesDocumentAttachments list? ro
        MessageThreads list? ro
        Notes list? ro
        InvoiceDate dt?
        DueDate dt?
        DeliveryDate dt?
        TotalAmount num ro
        TotalVatAmount num ro
        TotalRoundings num ro
        TotalAmountBaseCurrency num ro
        TotalVatAmountBaseCurrency num ro
        CustomerNumber str? ro max=16
        CustomerName str? ro
        IncludesVat bool ro
        ReplaceUnitPriceWhenZero bool
        UsesGreenTechnology bool
        ContributionMargin obj
        IsDirectDebit bool?
        BackgroundId uuid?
    """,
    "CustomerInvoiceDraftRowApi": """
        Id uuid ro
        LineNumber int? range=0..1000
        ArticleId uuid?
        IsServiceArticle bool ro
        UnitId uuid? ro
        ArticleNumber str?
        IsTextRow bool req
        Text str? max=2000
        UnitPrice num
        IsDiscountInFixedAmount bool ro
        DiscountFixedAmount num? ro
        DiscountPercentage num range=0..1
        Quantity num
        WorkCostType int
        IsWorkCost bool
        WorkHours num?
        MaterialCosts num?
        ReversedConstructionServicesVatFree bool req
        CostCenterItemId1 uuid?
        CostCenterItemId2 uuid?
        CostCenterItemId3 uuid?
        UnitAbbreviation str?
        UnitAbbreviationEnglish str?
        VatRateId str? ro
        VatRate num? ro
        UnitName str?
        ProjectId uuid?
        GreenTechnologyType int range=0..3
        ContributionMargin obj
        PurchasePrice num ro
        Amount num ro
        FreightCosts num ro
    """,
    "CustomerInvoiceApi": """
        Id uuid ro
        EuThirdParty bool req
        IsCreditInvoice bool
        CurrencyCode str? ro
        CurrencyRate num?
        CreatedByUserId uuid? ro
        TotalAmount num ro
        TotalVatAmount num ro
        TotalRoundings num ro
        TotalAmountInvoiceCurrency num ro
        TotalVatAmountInvoiceCurrency num ro
        SetOffAmountInvoiceCurrency num ro
        CustomerId uuid req
        Rows list req
        VatSpecification list? ro
        InvoiceDate dt?
        DueDate dt?
        DeliveryDate dt?
        RotReducedInvoicingType int req range=0..2
        MaxAllowedTaxReductionAmount num ro
        RotReducedInvoicingAmount num?
        RotReducedInvoicingPercent num ro
        RotReducedInvoicingPropertyName str?
        RotReducedInvoicingOrgNumber str? max=11
        Persons list?
        RotReducedInvoicingAutomaticDistribution bool ro
        ElectronicReference str?
        SubscriptionNumber str? max=100
        ContractNumber str? max=100
        ElectronicAddress str? ro
        EdiServiceDelivererId str? max=50
        OurReference str? max=100
        YourReference str? max=100
        BuyersOrderReference str? max=35
        InvoiceCustomerName str? ro
        InvoiceAddress1 str? max=50
        InvoiceAddress2 str? max=50
        InvoicePostalCode str? max=50
        InvoiceCity str? max=50
        InvoiceCountryCode str? max=2
        DeliveryCustomerName str? max=100
        DeliveryAddress1 str? max=50
        DeliveryAddress2 str? max=50
        DeliveryPostalCode str? max=10
        DeliveryCity str? max=50
        DeliveryCountryCode str? max=2
        DeliveryMethodName str? ro
        DeliveryTermName str? ro
        DeliveryMethodCode str? ro
        DeliveryTermCode str? ro
        CustomerIsPrivatePerson bool ro
        TermsOfPaymentId uuid
        CustomerEmail str? ro
        InvoiceNumber int ro
        CustomerNumber str? ro
        CustomerName str? ro
        PaymentReferenceNumber str? ro
        RotPropertyType int? range=1..2
        SalesDocumentAttachments list? ro
        MessageThreads list? ro
        Notes list? ro
        HasAutoInvoiceError bool ro
        IsNotDelivered bool ro
        ReverseChargeOnConstructionServices bool ro
        WorkHouseOtherCosts num?
        RemainingAmount num ro
        RemainingAmountInvoiceCurrency num ro
        ReferringInvoiceId uuid? ro
        CreatedFromOrderId uuid? ro
        CreatedFromQuoteId uuid? ro
        CreatedFromDraftId uuid?
        VoucherNumber str? ro
        VoucherId uuid ro
        CreatedUtc dt? ro
        ModifiedUtc dt? ro
        ReversedConstructionVatInvoicing bool ro
        IncludesVat bool ro
        SendType int?
        PaymentReminderIssued bool ro
        PaymentRemindersCount int ro
        LastPaymentReminderSentDate dt? ro
        UsesGreenTechnology bool
        IsSold bool ro
        FactoringInvoiceStatus int ro
        PaymentDate dt? ro
        PaymentStatus int ro
        CreditedBy list? ro
        ContributionMargin obj
        IsDirectDebit bool?
        IsQuickInvoice bool ro
        IsCollectiveInvoice bool ro
        CollectiveCustomerInvoiceRowsRelationToOrders list? ro
        ReplaceUnitPriceWhenZero bool
        TaxDeductionStatus int ro
        BackgroundId uuid?
    """,
    "CustomerInvoiceRowApi": """
        Id uuid ro
        ArticleNumber str? ro
        ArticleId uuid?
        IsServiceArticle bool ro
        AmountNoVat num ro
        PercentVat num ro
        VatRate num? ro
        LineNumber int ro
        IsTextRow bool ro
        Text str? max=2000
        UnitPrice num
        UnitAbbreviation str? ro
        UnitAbbreviationEnglish str? ro
        IsDiscountInFixedAmount bool ro
        DiscountFixedAmount num? ro
        DiscountPercentage num range=0..1
        Quantity num
        IsWorkCost bool ro
        IsVatFree bool
        CostCenterItemId1 uuid?
        CostCenterItemId2 uuid?
        CostCenterItemId3 uuid?
        UnitId uuid? ro
        ProjectId uuid?
        WorkCostType int
        WorkHours num?
        MaterialCosts num?
        GreenTechnologyType int range=0..3
        ContributionMargin obj
        PurchasePrice num ro
        FreightCosts num ro
        Amount num ro
    """,
    "CustomerInvoiceVatApi": """
        AmountInvoiceCurrency num ro
        VatAmountInvoiceCurrency num ro
        VatPercent num ro
    """,
    "SupplierInvoiceApi": """
        Id uuid ro
        SupplierId uuid req
        OffsetInvoiceIds list? ro
        BankAccountId uuid ro
        InvoiceDate dt?
        PaymentDate dt? ro
        DueDate dt?
        InvoiceNumber str req min=1
        TotalAmount num req
        Vat num
        VatHigh num
        VatMedium num
        VatLow num
        IsCreditInvoice bool
        CurrencyCode str? max=3
        CurrencyRate num
        OcrNumber str?
        Message str?
        CreatedUtc dt? ro
        ModifiedUtc dt? ro
        PlusGiroNumber str? ro
        BankGiroNumber str? ro
        Rows list?
        SupplierName str? ro
        SupplierNumber str? ro
        IsQuickInvoice bool ro
        IsDomestic bool ro
        RemainingAmount num ro
        RemainingAmountInvoiceCurrency num ro
        Number int ro
        NumberSeries str? ro
        VoucherNumber str? ro
        VoucherId uuid ro
        CreatedFromDraftId uuid? ro
        SelfEmployedWithoutFixedAddress bool ro
        AllocationPeriods list? ro
        AutoCreditDebitPairing bool
        SupplierInvoiceOrigin int
        Attachments list?
        MessageThreads list? ro
        Notes list? ro
        SetOffAmountInvoiceCurrency num ro
        Status int ro
        PaymentStatus int ro
        PaymentFileStatus int ro
        SkipSendToBank bool?
        AccountingTemplateId uuid?
        IsIncludedInVatReport bool ro
        VatReportId uuid? ro
    """,
    "SupplierInvoiceRowApi": """
        Id uuid ro
        AccountNumber int range=1..9999999999
        AccountName str? ro
        VatCodeId uuid?
        VatAmount num?
        ProportionalVatRateValue int?
        CostCenterItemId1 uuid?
        CostCenterItemId2 uuid?
        CostCenterItemId3 uuid?
        Quantity num?
        Weight num?
        DeliveryDate dt?
        HarvestYear int?
        DebetAmount num
        CreditAmount num
        LineNumber int ro
        ProjectId uuid?
        TransactionText str? max=100
    """,
    "CustomerInvoiceDraftValidationApi": """
        TotalAmountInvoiceCurrency num?
        TotalVatAmountInvoiceCurrency num?
        TotalRoundingsInvoiceCurrency num?
        Rows list?
    """,
    "CustomerInvoiceDraftValidationRowApi": """
        LineNumber int
        TotalAmountNoVatInvoiceCurrency num?
        TotalAmountIncVatInvoiceCurrency num?
    """,
}
# fmt: on

_SPECS = {name: _parse_spec(text) for name, text in _SPEC_TEXT.items()}

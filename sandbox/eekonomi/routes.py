"""The API's route table: every ``/v2`` operation the sandbox serves, with its scopes.

Paths are exactly the OpenAPI document's and the scope sets its "Requires any of"
lists; ``tests/sandbox/test_eekonomi_contract.py`` checks both against the document.
An operation the document lacks is not served (405/404), as on the real API.
"""

from __future__ import annotations

from sandbox.eekonomi import (
    articles,
    convert,
    costcenters,
    customers,
    drafts,
    invoices,
    projects,
    registers,
    supplier_invoices,
)
from sandbox.eekonomi.constants import (
    COST_CENTER_READ,
    COST_CENTER_WRITE,
    COUNTRIES_READ,
    PROJECTS_READ,
    PROJECTS_WRITE,
    PURCHASE,
    SALES_OR_PURCHASE_READ,
    SALES_READ,
    SALES_WRITE,
)
from sandbox.eekonomi.reads import ApiHandler, get_of, list_of

API_ROUTES: list[tuple[str, str, frozenset[str], ApiHandler]] = [
    ("GET", "/articleaccountcodings", SALES_READ, list_of("articleAccountCodings")),
    ("GET", "/articleaccountcodings/{id}", SALES_READ, get_of("articleAccountCodings")),
    ("GET", "/articles", SALES_READ, list_of("articles")),
    ("POST", "/articles", SALES_WRITE, articles.post_article),
    ("GET", "/articles/{id}", SALES_READ, get_of("articles")),
    ("PUT", "/articles/{id}", SALES_WRITE, articles.put_article),
    ("GET", "/companysettings", SALES_READ, registers.get_settings),
    ("GET", "/costcenteritems/{id}", COST_CENTER_READ, get_of("costCenterItems")),
    ("POST", "/costcenteritems", COST_CENTER_WRITE, costcenters.post_cost_center_item),
    ("PUT", "/costcenteritems/{id}", COST_CENTER_WRITE, costcenters.put_cost_center_item),
    ("GET", "/costcenters", COST_CENTER_READ, list_of("costCenters")),
    ("PUT", "/costcenters/{id}", COST_CENTER_WRITE, costcenters.put_cost_center),
    ("GET", "/countries", COUNTRIES_READ, list_of("countries")),
    ("GET", "/countries/{id}", COUNTRIES_READ, registers.get_country),
    ("GET", "/currencies", SALES_OR_PURCHASE_READ, list_of("currencies")),
    ("GET", "/customerinvoicedrafts", SALES_READ, list_of("customerInvoiceDrafts")),
    ("POST", "/customerinvoicedrafts", SALES_WRITE, drafts.post_draft),
    ("GET", "/customerinvoicedrafts/{id}", SALES_READ, get_of("customerInvoiceDrafts")),
    ("PUT", "/customerinvoicedrafts/{id}", SALES_WRITE, drafts.put_draft),
    ("DELETE", "/customerinvoicedrafts/{id}", SALES_WRITE, drafts.delete_draft),
    ("POST", "/customerinvoicedrafts/{id}/convert", SALES_WRITE, convert.convert_draft),
    ("GET", "/customerinvoices", SALES_READ, list_of("customerInvoices")),
    ("POST", "/customerinvoices", SALES_READ, invoices.post_invoice),
    ("GET", "/customerinvoices/{id}", SALES_READ, get_of("customerInvoices")),
    ("GET", "/customerinvoices/{id}/pdf", SALES_READ, invoices.invoice_pdf),
    ("GET", "/customers", SALES_READ, list_of("customers")),
    ("POST", "/customers", SALES_WRITE, customers.post_customer),
    ("GET", "/customers/{id}", SALES_READ, get_of("customers")),
    ("PUT", "/customers/{id}", SALES_WRITE, customers.put_customer),
    ("DELETE", "/customers/{id}", SALES_WRITE, customers.delete_customer),
    ("GET", "/projects", PROJECTS_READ, list_of("projects")),
    ("POST", "/projects", PROJECTS_WRITE, projects.post_project),
    ("GET", "/projects/{id}", PROJECTS_READ, get_of("projects")),
    ("PUT", "/projects/{id}", PROJECTS_WRITE, projects.put_project),
    ("GET", "/supplierinvoices", PURCHASE, list_of("supplierInvoices")),
    ("POST", "/supplierinvoices", PURCHASE, supplier_invoices.post_supplier_invoice),
    ("GET", "/supplierinvoices/{id}", PURCHASE, get_of("supplierInvoices")),
    ("GET", "/termsofpayments", SALES_OR_PURCHASE_READ, list_of("termsOfPayments")),
    ("GET", "/termsofpayments/{id}", SALES_OR_PURCHASE_READ, get_of("termsOfPayments")),
    ("GET", "/units", SALES_READ, list_of("units")),
    ("GET", "/units/{id}", SALES_READ, get_of("units")),
]

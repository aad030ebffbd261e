"""The eEkonomi sandbox against Visma's OpenAPI document: every response body must match
its schema (types, required, no extra properties, uuid/date-time formats), every route
must exist in the document with the scopes it states, and the field lists embedded in the
sandbox must equal the document's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox.eekonomi import EEkonomiSandbox, spec
from tests.sandbox.test_eekonomi_helpers import BASE, api_session, assert_schema, openapi

LISTS = {
    "/customers": "CustomerApi",
    "/articles": "ArticleApi",
    "/articleaccountcodings": "ArticleAccountCodingApi",
    "/units": "UnitApi",
    "/termsofpayments": "TermsOfPaymentApi",
    "/countries": "CountryApi",
    "/currencies": "CurrencyApi",
    "/costcenters": "CostCenterApi",
    "/projects": "ProjectApi",
    "/customerinvoicedrafts": "CustomerInvoiceDraftApi",
    "/customerinvoices": "CustomerInvoiceApi",
    "/supplierinvoices": "SupplierInvoiceApi",
}


@pytest.fixture(scope="module")
def app() -> EEkonomiSandbox:
    return EEkonomiSandbox(demo=True)


@pytest.mark.parametrize(("path", "schema"), sorted(LISTS.items()))
def test_given_demo_data_when_listing_then_envelope_and_records_match_the_schema(
    app: EEkonomiSandbox, path: str, schema: str
) -> None:
    session = api_session(app)
    body = session.get(f"{BASE}/v2{path}").json()
    assert_schema(body, f"PaginatedResponseOf{schema}")
    assert body["Data"], f"demo data has no {path}"
    if path not in ("/currencies", "/countries"):
        one = session.get(f"{BASE}/v2{path}/{body['Data'][0]['Id']}")
        if path == "/costcenters":
            assert one.status_code == 405  # no GET by id in the document
        else:
            assert one.status_code == 200
            assert_schema(one.json(), schema)


def test_given_demo_data_when_reading_single_objects_then_they_match_the_schema(
    app: EEkonomiSandbox,
) -> None:
    session = api_session(app)
    assert_schema(session.get(f"{BASE}/v2/companysettings").json(), "CompanySettingsApi")
    assert_schema(session.get(f"{BASE}/v2/countries/se").json(), "CountryApi")
    centers = session.get(f"{BASE}/v2/costcenters").json()["Data"]
    item = session.get(f"{BASE}/v2/costcenteritems/{centers[0]['Items'][0]['Id']}")
    assert_schema(item.json(), "CostCenterItemApi")
    invoice = session.get(f"{BASE}/v2/customerinvoices").json()["Data"][0]
    pdf = session.get(f"{BASE}/v2/customerinvoices/{invoice['Id']}/pdf")
    assert_schema(pdf.json(), "InvoiceUrlApi")


@pytest.mark.no_contract
def test_given_an_error_when_answered_then_it_is_a_common_extended_bad_request() -> None:
    session = api_session(EEkonomiSandbox(demo=True))
    answer = session.post(f"{BASE}/v2/customers", json={"Name": "x" * 60})
    assert answer.status_code == 400
    assert_schema(answer.json(), "CommonExtendedBadRequest")


def _document_operations() -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for path, item in openapi()["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "delete"):
                continue
            text = (operation.get("description") or "").split("Requires any")[-1]
            template = re.sub(r"\{[^}]+\}", "{id}", path.lower())
            out[(method.upper(), template)] = set(re.findall(r"\* (\S+)", text))
    return out


def test_given_the_document_when_comparing_routes_then_every_route_and_scope_list_matches(
    app: EEkonomiSandbox,
) -> None:
    documented = _document_operations()
    for method, template, scopes in app.operations:
        key = (method, re.sub(r"\{[^}]+\}", "{id}", template.lower()))
        assert key in documented, f"{method} {template} is not in the OpenAPI document"
        assert set(scopes) == documented[key], f"{method} {template}: scopes differ"


SCHEMAS = [
    "CustomerApi", "ArticleApi", "ArticleAccountCodingApi", "UnitApi", "TermsOfPaymentApi",
    "CountryApi", "CurrencyApi", "CostCenterApi", "CostCenterItemApi", "ProjectApi",
    "CustomerInvoiceDraftApi", "CustomerInvoiceDraftRowApi", "CustomerInvoiceApi",
    "CustomerInvoiceRowApi", "CustomerInvoiceVatApi", "SupplierInvoiceApi",
    "SupplierInvoiceRowApi", "CustomerInvoiceDraftValidationApi",
    "CustomerInvoiceDraftValidationRowApi",
]  # fmt: skip


@pytest.mark.parametrize("schema", SCHEMAS)
def test_given_embedded_field_lists_when_compared_with_the_document_then_they_agree(
    schema: str,
) -> None:
    document: dict[str, Any] = openapi()["components"]["schemas"][schema]
    fields = spec(schema)
    assert list(fields) == list(document["properties"])
    for name, prop in document["properties"].items():
        f = fields[name]
        assert f.readonly == bool(prop.get("readOnly")), name
        assert f.required == (name in document.get("required", [])), name
        assert f.max_length == prop.get("maxLength"), name
        kinds = prop.get("type", "object")
        assert f.nullable == (isinstance(kinds, list) and "null" in kinds), name


def test_given_the_document_when_generating_field_specs_then_the_committed_modules_match() -> None:
    """The sandbox reads its field lists from committed modules (never ``../shared`` at
    run time); they must be exactly what the generator makes of the document now."""
    from sandbox.core import specgen

    document = specgen.SHARED_APIS / specgen.TARGETS["eekonomi"].document
    if not document.is_file():
        pytest.skip(f"the OpenAPI document is not at {document}: cannot regenerate")
    generated = specgen.generate("eekonomi")
    assert generated, "the generator made nothing"
    for path, text in generated.items():
        assert path.is_file(), f"{path} is missing: run python -m sandbox.core.specgen eekonomi"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python -m sandbox.core.specgen eekonomi"
        )


def test_given_nested_models_when_generated_then_object_fields_name_their_model() -> None:
    """What step 4's defaults rely on: a ``$ref`` property says which model it follows."""
    settings = spec("CompanySettingsApi")
    assert settings["CompanyText"].kind == "obj"
    assert settings["CompanyText"].schema == "CompanyTextsApi"
    assert spec("CustomerInvoiceDraftApi")["Persons"].schema == (
        "SalesDocumentRotRutReductionPersonApi"
    )
    assert spec("CompanyTextsApi")["CustomerInvoiceTextDomestic"].max_length == 400

"""Severa sandbox: writes — validation (ExceptionModel), uniqueness, references,
JSON Patch and its array answers, project fees, invoices and their rows' source items."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests

from sandbox.severa import SeveraSandbox

API = "http://severa.test/rest-api/v1"
OFFICE = "http://severa.test/_sandbox"
MISSING = "00000000-0000-0000-0000-00000000abcd"


def replace(path: str, value: Any) -> list[dict[str, Any]]:
    return [{"op": "Replace", "path": path, "value": value}]


def details(response: requests.Response) -> list[dict[str, Any]]:
    error = response.json()["error"]
    assert error["httpStatusCode"] == response.status_code
    return list(error["details"])


def identifiers(response: requests.Response) -> set[str]:
    return {d["location"]["identifier"] for d in details(response) if "location" in d}


def by(app: SeveraSandbox, collection: str, **match: Any) -> dict[str, Any]:
    return next(
        r for r in app.col(collection).ordered() if all(r.get(k) == v for k, v in match.items())
    )


# -- customers, addresses, contacts ---------------------------------------------------


def test_given_a_new_customer_when_posted_then_201_with_number_and_audit_fields(
    http: requests.Session,
) -> None:
    response = http.post(f"{API}/customers", json={"name": "Ny Kund AB", "email": "a@b.se"})
    assert response.status_code == 201
    body = response.json()
    assert body["number"] == 1051  # organizationSettings.nextCustomerNumber
    assert body["currency"]["code"] == "SEK"
    assert body["createdDateTime"].endswith("Z")
    assert body["lastUpdatedDateTime"] is None
    fetched = http.get(f"{API}/customers/{body['guid']}").json()
    assert fetched == body


@pytest.mark.no_contract  # invalid bodies on purpose
def test_given_invalid_customer_fields_when_posted_then_400_with_one_detail_per_field(
    http: requests.Session,
) -> None:
    response = http.post(
        f"{API}/customers", json={"name": "", "kvkNumber": "x" * 26, "paymentTerm": "soon"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "InvalidParameter"
    assert identifiers(response) == {"name", "kvkNumber", "paymentTerm"}
    assert all(d["location"]["type"] == "RequestBody" for d in details(response))
    missing = http.post(f"{API}/customers", json={"email": "x@y.se"})
    assert identifiers(missing) == {"name"}
    broken = http.post(
        f"{API}/customers", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400


def test_given_an_existing_name_or_number_when_posting_a_customer_then_400(
    http: requests.Session,
) -> None:
    same_name = http.post(f"{API}/customers", json={"name": "malmö designbyrå ab"})
    assert same_name.status_code == 400
    assert identifiers(same_name) == {"name"}
    same_number = http.post(f"{API}/customers", json={"name": "Unik AB", "number": 1001})
    assert identifiers(same_number) == {"number"}


def test_given_read_only_fields_when_patching_then_they_are_ignored_and_answer_is_an_array(
    http: requests.Session, app: SeveraSandbox
) -> None:
    customer = by(app, "customers", number=1002)
    response = http.patch(
        f"{API}/customers/{customer['guid']}",
        json=[
            {"op": "Replace", "path": "/vatNumber", "value": "SE556000000101"},
            {"op": "Replace", "path": "/paymentTerm", "value": "14"},
        ],
    )
    assert response.status_code == 200
    [updated] = response.json()
    assert updated["vatNumber"] == "SE556000000101"
    assert updated["paymentTerm"] == 14  # PatchOperation.value is a string in the spec
    assert updated["guid"] == customer["guid"]
    assert updated["lastUpdatedDateTime"] is not None


@pytest.mark.no_contract  # a read-only path on purpose
def test_given_a_read_only_or_unknown_path_when_patching_then_400(
    http: requests.Session, app: SeveraSandbox
) -> None:
    customer = by(app, "customers", number=1002)
    response = http.patch(f"{API}/customers/{customer['guid']}", json=replace("/guid", "x"))
    assert response.status_code == 400
    assert identifiers(response) == {"patchDocument[0].path"}


def test_given_an_unknown_guid_when_reading_or_patching_then_404_exception_model(
    http: requests.Session,
) -> None:
    response = http.get(f"{API}/customers/{MISSING}")
    assert response.status_code == 404
    assert response.json()["error"]["details"][0]["location"]["type"] == "PathParameter"
    patched = http.patch(f"{API}/projects/{MISSING}", json=replace("/name", "x"))
    assert patched.status_code == 404


def test_given_a_customer_when_adding_an_address_and_contact_then_linked(
    http: requests.Session, app: SeveraSandbox
) -> None:
    customer = by(app, "customers", number=1049)  # the demo customer with no address
    sweden = by(app, "countries", code2="SE")
    address = http.post(
        f"{API}/customers/{customer['guid']}/addresses",
        json={
            "addressline": "Stora gatan 1",
            "postalCode": "193 30",
            "city": "Sigtuna",
            "country": {"guid": sweden["guid"]},
            "isBillingAddress": True,
        },
    )
    assert address.status_code == 201
    assert address.json()["customer"]["number"] == 1049
    assert address.json()["country"]["name"] == "Sverige"
    contact = http.post(
        f"{API}/contactpersons",
        json={
            "firstName": "Eva",
            "lastName": "Ek",
            "customer": {"guid": customer["guid"]},
            "addressGuid": address.json()["guid"],
        },
    )
    assert contact.status_code == 201
    assert contact.json()["name"] == "Eva Ek"
    listed = http.get(f"{API}/customers/{customer['guid']}/addresses").json()
    assert [a["contacts"] for a in listed] == [[{"guid": contact.json()["guid"], "name": "Eva Ek"}]]
    email = by(app, "communicationTypes", type="EmailAddress")
    comm = http.post(
        f"{API}/contactcommunications",
        json={
            "value": "eva@sigtuna.se",
            "contact": {"guid": contact.json()["guid"]},
            "communicationType": {"guid": email["guid"]},
            "isForbiddenToUse": False,
        },
    )
    assert comm.status_code == 201
    fetched = http.get(f"{API}/contactpersons/{contact.json()['guid']}").json()
    assert fetched["emails"] == ["eva@sigtuna.se"]
    single = http.patch(
        f"{API}/contactcommunications/{comm.json()['guid']}",
        json=replace("/value", "eva.ek@sigtuna.se"),
    )
    assert isinstance(single.json(), dict)  # the one PATCH documented with a single object
    mine = http.get(f"{API}/contacts/{contact.json()['guid']}/contactcommunications").json()
    assert [c["value"] for c in mine] == ["eva.ek@sigtuna.se"]


@pytest.mark.no_contract  # references to records that do not exist
def test_given_references_to_missing_records_when_posting_then_400_or_404(
    http: requests.Session,
) -> None:
    address = http.post(f"{API}/customers/{MISSING}/addresses", json={"city": "X"})
    assert address.status_code == 404
    contact = http.post(
        f"{API}/contactpersons",
        json={"firstName": "A", "lastName": "B", "customer": {"guid": MISSING}},
    )
    assert contact.status_code == 400
    assert identifiers(contact) == {"customer"}
    fee = http.post(f"{API}/projectfees", json={"project": {"guid": MISSING}})
    assert identifiers(fee) == {"project"}


def test_given_demo_customer_1001_when_listing_contacts_then_first_is_linked_to_billing(
    http: requests.Session, app: SeveraSandbox
) -> None:
    customer = by(app, "customers", number=1001)
    contacts = http.get(f"{API}/customers/{customer['guid']}/contactpersons").json()
    addresses = http.get(f"{API}/customers/{customer['guid']}/addresses").json()
    billing = [a for a in addresses if a["isBillingAddress"]]
    assert contacts[0]["addressGuid"] == billing[0]["guid"]
    assert contacts[0]["emails"]
    assert contacts[0]["phoneNumbers"]


# -- products, work types --------------------------------------------------------------


def test_given_a_code_in_use_case_insensitively_when_posting_a_product_then_400(
    http: requests.Session,
) -> None:
    product = {"name": "Ny", "code": "hw-100", "unitPrice": {"amount": 1, "currencyCode": "SEK"}}
    response = http.post(f"{API}/products", json=product)
    assert response.status_code == 400
    assert identifiers(response) == {"code"}
    work_type_code = http.post(f"{API}/products", json={"name": "Ny", "code": "KONS-SR"})
    assert work_type_code.status_code == 400  # products and work types share the namespace
    duplicate_work_type = http.post(f"{API}/worktypes", json={"name": "Ny", "code": "LIC-01"})
    assert duplicate_work_type.status_code == 400
    fine = http.post(f"{API}/products", json={"name": "Ny", "code": "NY-01", "vatRate": 12.0})
    assert fine.status_code == 201
    assert fine.json()["type"] == "Materials"


def test_given_a_product_when_patched_to_a_taken_code_then_400_and_unchanged(
    http: requests.Session, app: SeveraSandbox
) -> None:
    product = by(app, "products", code="UTB-01")
    response = http.patch(f"{API}/products/{product['guid']}", json=replace("/code", "PL"))
    assert response.status_code == 400
    assert app.col("products").records[product["guid"]]["code"] == "UTB-01"
    price = http.patch(
        f"{API}/products/{product['guid']}", json=replace("/unitPrice/amount", "9900.5")
    )
    assert price.json()[0]["unitPrice"]["amount"] == 9900.5


def test_given_a_travel_expense_type_when_posted_then_class_flags_derived(
    http: requests.Session,
) -> None:
    response = http.post(
        f"{API}/travelexpensetypes",
        json={
            "name": "Bilersättning",
            "code": "BIL",
            "expenseClass": "Mileage",
            "unitCost": {"amount": 2.5, "currencyCode": "SEK"},
            "measurementUnit": "km",
        },
    )
    assert response.status_code == 201
    assert response.json()["isMileage"] is True
    assert response.json()["isDailyAllowance"] is False


# -- projects and fees -------------------------------------------------------------------


def test_given_a_project_when_posted_then_root_phase_and_next_number(
    http: requests.Session, app: SeveraSandbox
) -> None:
    customer = by(app, "customers", number=1020)
    owner = by(app, "users", code="EL")
    response = http.post(
        f"{API}/projects",
        json={
            "name": "Nytt projekt",
            "customer": {"guid": customer["guid"]},
            "projectOwner": {"guid": owner["guid"]},
            "useWorktypesFromSetting": False,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["number"] == 1021
    assert body["rootPhase"]["guid"]
    assert body["useWorkTypesFromSetting"] is False  # input and output spell it differently
    closed = http.patch(f"{API}/projects/{body['guid']}", json=replace("/isClosed", "true"))
    assert closed.json()[0]["isClosed"] is True
    assert closed.json()[0]["closedDate"] == "2025-06-01"


def test_given_a_fee_with_a_product_when_posted_then_201_array_with_product_defaults(
    http: requests.Session, app: SeveraSandbox
) -> None:
    project = by(app, "projects", number=1001)
    product = by(app, "products", code="HW-100")
    response = http.post(
        f"{API}/projectfees",
        json={
            "project": {"guid": project["guid"]},
            "product": {"guid": product["guid"]},
            "quantity": 2,
            "eventDate": "2025-05-30",
            "unitCost": {"amount": 8000, "currencyCode": "SEK"},
            "isBillable": True,
            "description": "Leverantörsfaktura 2025-05-30, ver 123, Dell AB",
        },
    )
    assert response.status_code == 201
    [fee] = response.json()
    assert fee["name"] == "Hårdvara kit"
    assert fee["unitPrice"]["amount"] == 12500.0  # from the product
    assert fee["unitCost"]["amount"] == 8000
    assert fee["phase"]["guid"] == project["rootPhase"]["guid"]
    assert fee["customer"]["number"] == 1001
    assert "invoice" not in fee
    got = http.get(f"{API}/projectfees/{fee['guid']}").json()
    assert got == fee


@pytest.mark.no_contract  # a fee on a closed project is refused
def test_given_a_closed_project_when_posting_a_fee_then_400_invalid_operation(
    http: requests.Session, app: SeveraSandbox
) -> None:
    project = by(app, "projects", number=1004)
    response = http.post(f"{API}/projectfees", json={"project": {"guid": project["guid"]}})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "InvalidOperation"


def test_given_two_fees_when_patched_with_a_comma_list_then_both_change(
    http: requests.Session, app: SeveraSandbox
) -> None:
    project = by(app, "projects", number=1005)
    guids = [
        http.post(f"{API}/projectfees", json={"project": {"guid": project["guid"]}}).json()[0][
            "guid"
        ]
        for _ in range(2)
    ]
    response = http.patch(f"{API}/projectfees/{','.join(guids)}", json=replace("/quantity", "3"))
    assert [f["quantity"] for f in response.json()] == [3, 3]


# -- invoices ----------------------------------------------------------------------------


@pytest.mark.no_contract  # lower-case op and a typed value, as working clients send them
def test_given_lower_case_replace_op_when_patching_invoice_status_then_array_answer(
    http: requests.Session, app: SeveraSandbox
) -> None:
    invoice = next(
        i for i in app.col("invoices").ordered() if i["status"]["name"] == "Att överföra"
    )
    transferred = app.find_status("Överförd")
    assert transferred is not None
    response = http.patch(
        f"{API}/invoices/{invoice['guid']}",
        json=[{"op": "replace", "path": "/status/guid", "value": transferred["guid"]}],
    )
    assert response.status_code == 200
    [updated] = response.json()
    assert updated["status"] == {
        "guid": transferred["guid"],
        "name": "Överförd",
        "isPaid": False,
        "isSent": False,
        "isWaitingPayment": False,
    }
    assert updated["number"] is None


def test_given_the_spec_op_case_only_switch_when_lower_case_op_sent_then_400(
    http: requests.Session, app: SeveraSandbox
) -> None:
    http.post(f"{OFFICE}/switches", json={"patch_op_case_insensitive": False})
    invoice = app.col("invoices").ordered()[0]
    lower = http.patch(
        f"{API}/invoices/{invoice['guid']}",
        json=[{"op": "replace", "path": "/notes", "value": "x"}],
    )
    assert lower.status_code == 400
    upper = http.patch(f"{API}/invoices/{invoice['guid']}", json=replace("/notes", "x"))
    assert upper.status_code == 200


def test_given_number_and_sent_status_when_patched_together_then_eekonomi_number_kept(
    http: requests.Session, app: SeveraSandbox
) -> None:
    invoice = next(i for i in app.col("invoices").ordered() if i["status"]["name"] == "Överförd")
    sent = app.find_status("Skickad")
    assert sent is not None
    response = http.patch(
        f"{API}/invoices/{invoice['guid']}",
        json=[
            {"op": "Replace", "path": "/number", "value": "20001"},
            {"op": "Replace", "path": "/referenceNumber", "value": "2000123"},
            {"op": "Replace", "path": "/status/guid", "value": sent["guid"]},
        ],
    )
    [updated] = response.json()
    assert updated["number"] == 20001
    assert updated["referenceNumber"] == "2000123"
    assert updated["status"]["isSent"] is True
    rows = http.get(f"{API}/invoices/{invoice['guid']}/invoicerows").json()
    items = (
        http.get(f"{API}/invoicerows/{rows[0]['guid']}/workhours").json()
        or http.get(f"{API}/invoicerows/{rows[0]['guid']}/projectfees").json()
    )
    assert items[0]["invoice"]["number"] == 20001


def test_given_a_numbering_status_when_invoice_has_no_number_then_next_number_assigned(
    http: requests.Session, app: SeveraSandbox
) -> None:
    invoice = next(i for i in app.col("invoices").ordered() if i["status"]["name"] == "Utkast")
    sent = app.find_status("Skickad")
    assert sent is not None
    response = http.patch(
        f"{API}/invoices/{invoice['guid']}", json=replace("/status/guid", sent["guid"])
    )
    assert response.json()[0]["number"] == 10009  # organizationSettings.nextInvoiceNumber


@pytest.mark.no_contract  # editing a paid (read-only) invoice is refused
def test_given_a_paid_read_only_invoice_when_patching_notes_then_400_invalid_operation(
    http: requests.Session, app: SeveraSandbox
) -> None:
    invoice = next(i for i in app.col("invoices").ordered() if i["status"]["name"] == "Betald")
    response = http.patch(f"{API}/invoices/{invoice['guid']}", json=replace("/notes", "x"))
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "InvalidOperation"


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_given_the_demo_invoices_when_read_then_totals_match_rows_and_items_match_rows(
    http: requests.Session, app: SeveraSandbox
) -> None:
    for invoice in app.col("invoices").ordered():
        rows = http.get(
            f"{API}/invoices/{invoice['guid']}/invoicerows", params={"rowCount": 100}
        ).json()
        # Per row, rounded to cents half away from zero (the organization's
        # currencyRoundingType), then summed.
        lines = [_cents(_dec(r["quantity"]) * _dec(r["unitPrice"]["amount"])) for r in rows]
        net = sum(lines, Decimal(0))
        assert invoice["totalExcludingTax"]["amount"] == float(net)
        tax = sum(
            (_cents(line * _dec(r["vatRate"]) / 100) for line, r in zip(lines, rows, strict=True)),
            Decimal(0),
        )
        assert invoice["totalIncludingTax"]["amount"] == float(net + tax)
        for row in rows:
            found: list[dict[str, Any]] = []
            for kind in ("projectfees", "workhours", "projecttravelexpenses"):
                found += http.get(f"{API}/invoicerows/{row['guid']}/{kind}").json()
            assert found, row
            assert sum(i["quantity"] for i in found) == pytest.approx(row["quantity"])
            assert {i["invoiceRowGuid"] for i in found} == {row["guid"]}


def test_given_an_invoice_row_when_quantity_patched_then_invoice_totals_follow(
    http: requests.Session, app: SeveraSandbox
) -> None:
    invoice = next(i for i in app.col("invoices").ordered() if i["status"]["name"] == "Utkast")
    [row] = http.get(f"{API}/invoices/{invoice['guid']}/invoicerows").json()
    response = http.patch(f"{API}/invoicerows/{row['guid']}", json=replace("/quantity", "10"))
    assert response.json()[0]["quantity"] == 10
    total = http.get(f"{API}/invoices/{invoice['guid']}").json()["totalExcludingTax"]["amount"]
    assert total == pytest.approx(10 * row["unitPrice"]["amount"])


def test_given_projects_with_uninvoiced_work_when_posting_an_invoice_then_array_with_rows(
    http: requests.Session, app: SeveraSandbox
) -> None:
    project = by(app, "projects", number=1002)
    response = http.post(f"{API}/invoices", json={"projects": [{"guid": project["guid"]}]})
    assert response.status_code == 201
    [invoice] = response.json()
    assert invoice["status"]["name"] == "Utkast"
    rows = http.get(f"{API}/invoices/{invoice['guid']}/invoicerows").json()
    assert sorted(tuple(r["code"]) for r in rows) == [("LIC-01",), ("UTV",)]
    again = http.post(f"{API}/invoices", json={"projects": [{"guid": project["guid"]}]})
    assert again.status_code == 400
    assert again.json()["error"]["type"] == "InvalidOperation"

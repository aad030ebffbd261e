"""The demo organization's invoices: every status, every row shape the sync maps.

Invoices are made by the sandbox's own back-office builder
(:meth:`~sandbox.severa.tenant.Organization.build_invoice`), so they look exactly as
the sandbox makes them at run time: rows linked to source items, totals from rows,
numbers by status. About ten wait "to transfer" (R-3.6); one row has no code, one a
price with more than two decimals, one row groups three work hours; a credit note
credits a paid invoice. Uninvoiced fees and hours give ``POST /v1/invoices`` work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.core import utc_ms
from sandbox.severa.tenant import Organization

Record = dict[str, Any]

#: A row: (kind, code, description, quantity, unit price, items per row, vat).
InvoiceRow = tuple[str, str | None, str, float, float, int, float]
#: An invoice: (key, customer, projects, status, date, header extras, rows).
Invoice = tuple[str, int, list[int], str, str, Record, list[InvoiceRow]]
#: An uninvoiced item: (project number, source item as the back office takes it).
OpenItem = tuple[int, Record]


#: ~10 "to transfer" with every row shape the sync maps, and every other status.
DEMO_INVOICES: list[Invoice] = [
    # ~10 "to transfer" with every row shape the sync must map
    ("t1", 1001, [1001], "Att överföra", "2025-03-03", {}, [
        ("workHour", "KONS-SR", "Konsult senior", 12.5, 1250.0, 3, 25.0),
        ("workHour", "PL", "Projektledning", 4.0, 1100.0, 2, 25.0),
        ("projectFee", "LIC-01", "Licens Standard", 5.0, 4500.0, 1, 25.0),
    ]),
    ("t2", 1002, [1002, 1003], "Att överföra", "2025-03-04",
     {"orderNumber": "PO-4711"}, [
        ("workHour", "UTV", "Utveckling", 20.0, 1050.0, 4, 25.0),
        ("projectFee", "UTB-01", "Utbildningsdag", 2.0, 9500.0, 1, 25.0),
        ("travelExpense", "MIL", "Milersättning", 340.0, 2.5, 2, 0.0),
    ]),
    ("t3", 1003, [1004], "Att överföra", "2025-03-05", {}, [
        ("projectFee", "HW-100", "Hårdvara kit", 1.0, 12500.0, 1, 25.0),
        ("projectFee", None, "Resekostnad enligt avtal", 1.0, 2400.0, 1, 25.0),
    ]),
    ("t4", 1004, [1005], "Att överföra", "2025-03-06", {}, [
        ("workHour", "KONS-JR", "Konsult junior", 7.75, 895.0, 2, 25.0),
        ("projectFee", "BOK-01", "Facklitteratur", 3.0, 495.0, 1, 6.0),
        ("projectFee", "LUN-01", "Konferenslunch", 12.0, 185.0, 1, 12.0),
    ]),
    ("t5", 1005, [1006], "Att överföra", "2025-03-07", {}, [
        ("workHour", "KONS-SR", "Konsult senior", 3.0, 1234.5678, 1, 25.0),
        ("travelExpense", "TRAKT", "Traktamente", 2.0, 290.0, 2, 0.0),
        ("travelExpense", "RESA", "Taxi Arlanda", 1.0, 645.0, 1, 6.0),
    ]),
    ("t6", 1006, [1008], "Att överföra", "2025-03-10", {}, [
        ("projectFee", "UE-01", "Underkonsult", 16.0, 1150.0, 1, 25.0),
    ]),
    ("t7", 1046, [1015], "Att överföra", "2025-03-11", {}, [
        ("workHour", "KONS-SR", "Konsult senior", 6.0, 1300.0, 2, 0.0),
    ]),
    ("t8", 1049, [1020], "Att överföra", "2025-03-12", {}, [
        ("workHour", "PL", "Projektledning", 2.0, 1100.0, 1, 25.0),
    ]),
    ("t9", 1010, [1012], "Att överföra", "2025-03-13", {}, [
        ("workHour", "UTV", "Utveckling", 10.0, 1050.0, 2, 25.0),
        ("projectFee", "LIC-01", "Licens Standard", 2.0, 4500.0, 1, 25.0),
    ]),
    ("t10", 1015, [1000000021], "Att överföra", "2025-03-14", {}, [
        ("workHour", "KONS-SR", "Konsult senior", 8.0, 1250.0, 2, 25.0),
    ]),
    # other statuses
    ("d1", 1007, [1009], "Utkast", "2025-03-17", {}, [
        ("workHour", "KONS-JR", "Konsult junior", 5.0, 895.0, 1, 25.0),
    ]),
    ("d2", 1008, [1010], "Utkast", "2025-03-18", {}, [
        ("projectFee", "LIC-01", "Licens Standard", 1.0, 4500.0, 1, 25.0),
    ]),
    ("o1", 1012, [1014], "Överförd", "2025-02-20", {}, [
        ("workHour", "UTV", "Utveckling", 14.0, 1050.0, 2, 25.0),
    ]),
    ("o2", 1016, [1018], "Överförd", "2025-02-21", {}, [
        ("projectFee", "UTB-01", "Utbildningsdag", 1.0, 9500.0, 1, 25.0),
    ]),
    ("s1", 1001, [1007], "Skickad", "2025-02-10",
     {"number": 10005, "referenceNumber": "100057"}, [
        ("workHour", "KONS-SR", "Konsult senior", 9.0, 1250.0, 2, 25.0),
    ]),
    ("s2", 1011, [1013], "Skickad", "2025-02-12",
     {"number": 10006, "referenceNumber": "100065"}, [
        ("workHour", "PL", "Projektledning", 3.0, 1100.0, 1, 25.0),
    ]),
    ("s3", 1014, [1017], "Skickad", "2025-02-14",
     {"number": 10007, "referenceNumber": "100073"}, [
        ("projectFee", "HW-100", "Hårdvara kit", 2.0, 12500.0, 1, 25.0),
    ]),
    ("p1", 1002, [1002], "Betald", "2025-01-15",
     {"number": 10001, "referenceNumber": "100016", "paymentDate": "2025-02-10"}, [
        ("workHour", "UTV", "Utveckling", 8.0, 1050.0, 2, 25.0),
    ]),
    ("p2", 1009, [1011], "Betald", "2025-01-20",
     {"number": 10002, "referenceNumber": "100024", "paymentDate": "2025-02-15"}, [
        ("projectFee", "LIC-01", "Licens Standard", 4.0, 4500.0, 1, 25.0),
    ]),
    ("p3", 1003, [1004], "Betald", "2025-01-25",
     {"number": 10003, "referenceNumber": "100032", "paymentDate": "2025-02-20"}, [
        ("workHour", "KONS-SR", "Konsult senior", 4.0, 1250.0, 1, 25.0),
    ]),
    ("m1", 1018, [1019], "Makulerad", "2025-02-05",
     {"number": 10004, "referenceNumber": "100040"}, [
        ("workHour", "KONS-JR", "Konsult junior", 2.0, 895.0, 1, 25.0),
    ]),
]  # fmt: skip


def build_invoices(app: Organization, invoices: list[Invoice]) -> dict[str, Record]:
    """Create ``invoices`` in order; answer them by key."""
    created: dict[str, Record] = {}
    for key, customer, projects, status, day, header, rows in invoices:
        payload: Record = {
            "customer": customer, "projects": projects, "status": status, "date": day,
            "ourReference": "Anna Andersson", "yourReference": _your_reference(app, customer),
            "notes": f"Fakturan avser arbete under {day[:7]}.",
            "freeText1": "Betalningsvillkor enligt avtal.",
            "freeText2": "Tack för förtroendet!" if key != "t3" else None,
            "createdDateTime": utc_ms(datetime.fromisoformat(day + "T16:00:00+00:00")),
            "rows": [_row(app, projects, row, key, position) for position, row in enumerate(rows)],
            **header,
        }  # fmt: skip
        created[key] = app.build_invoice(payload)
    return created


def build_credit_note(app: Organization, original: Record) -> None:
    """A credit note (negative) crediting the paid invoice ``original`` (p2), waiting
    to be transferred; the original links to it."""
    credit = app.build_invoice({
        "customer": 1009, "projects": [1011], "status": "Att överföra", "date": "2025-03-15",
        "ourReference": "Anna Andersson", "yourReference": None,
        "notes": "Kreditering av faktura 10002.", "freeText1": None, "freeText2": None,
        "isCreditNote": True,
        "reimburseInvoice": {"guid": original["guid"], "number": original["number"]},
        "createdDateTime": "2025-03-15T16:00:00.000Z",
        "rows": [{
            "rowType": "ProjectFees", "code": "LIC-01",
            "description": "Kreditering Licens Standard",
            "quantity": -1.0, "unitPrice": 4500.0, "vatRate": 25.0, "measurementUnit": "st",
            "items": [{"kind": "projectFee", "product": "LIC-01", "quantity": -1.0,
                       "unitPrice": 4500.0, "eventDate": "2025-03-15"}],
        }],
    })  # fmt: skip
    paid = app.col("invoices").records[original["guid"]]
    app.col("invoices").put(
        {**paid, "creditNoteInvoice": {"guid": credit["guid"], "number": credit.get("number")}}
    )


def _your_reference(app: Organization, customer_number: int) -> str | None:
    customer = app.store.lookup("customers", customer_number, "number")
    contacts = app.col("contactPersons").by("customer.guid", customer["guid"])
    return app.col("contactPersons").records[contacts[0]]["name"] if contacts else None


def _row(
    app: Organization, projects: list[int], row: InvoiceRow, key: str, position: int
) -> Record:
    kind, code, description, quantity, price, item_count, vat = row
    row_type = {"workHour": "Hours", "projectFee": "ProjectFees"}.get(kind, "TravelExpenses")
    unit = {"Hours": "h"}.get(row_type)
    items: list[Record] = []
    remaining = quantity
    for n in range(item_count):
        share = round(quantity / item_count, 2) if n < item_count - 1 else round(remaining, 2)
        remaining -= share
        project = projects[(n + position) % len(projects)]
        item: Record = {
            "kind": kind, "project": project, "quantity": share, "unitPrice": price,
            "eventDate": f"2025-0{2 if key[0] in 'pms' else 3}-{n + 3:02d}",
            "description": f"{description} {n + 1}",
        }  # fmt: skip
        if kind == "workHour":
            item["workType"] = code
            item["unitCost"] = 650.0
        elif kind == "projectFee":
            if code:
                item["product"] = code
            else:
                item["name"] = description
                item["vatRate"] = vat
        else:
            item["travelExpense"] = code
            item["vatRate"] = vat
        items.append(item)
    if row_type == "ProjectFees" and code:
        unit = app.store.lookup("products", code, "code").get("measurementUnit")
    elif row_type == "TravelExpenses" and code:
        unit = app.store.lookup("travelExpenseTypes", code, "code").get("measurementUnit")
    return {
        "rowType": row_type, "code": code, "description": description, "quantity": quantity,
        "unitPrice": price, "vatRate": vat, "measurementUnit": unit, "items": items,
    }  # fmt: skip


DEMO_OPEN_ITEMS: list[OpenItem] = [
    (1002, {"kind": "projectFee", "product": "LIC-01", "quantity": 3.0, "unitPrice": 4500.0,
            "eventDate": "2025-03-18"}),
    (1002, {"kind": "workHour", "workType": "UTV", "quantity": 6.0, "unitPrice": 1050.0,
            "eventDate": "2025-03-18"}),
    (1003, {"kind": "workHour", "workType": "KONS-JR", "quantity": 4.5, "unitPrice": 895.0,
            "eventDate": "2025-03-19"}),
    (1005, {"kind": "projectFee", "product": "HW-100", "quantity": 1.0, "unitPrice": 12500.0,
            "unitCost": 8900.0, "eventDate": "2025-03-19"}),
    (1001, {"kind": "projectFee", "name": "Kontorsmaterial (ej fakturerbart)",
            "quantity": 1.0, "unitPrice": 0.0, "unitCost": 349.0, "vatRate": 25.0,
            "eventDate": "2025-03-19", "isBillable": False}),
]  # fmt: skip


def build_open_items(app: Organization, items: list[OpenItem]) -> None:
    """Uninvoiced project fees and hours (so ``POST /v1/invoices`` has work to do);
    an item with ``"isBillable": false`` is a non-billable fee."""
    for project_number, item in items:
        project = app.store.lookup("projects", project_number, "number")
        customer = app.store.lookup("customers", project["customer"]["guid"])
        collection, guid = app.add_source_item(item, [project], customer)
        if item.get("isBillable") is False:
            record = app.col(collection).records[guid]
            app.col(collection).put({**record, "isBillable": False})

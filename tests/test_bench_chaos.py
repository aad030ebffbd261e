"""A smoke test of ``bench/chaos.py``'s counting (the benchmark itself prints figures and
is not part of ``make test``): hand-made dumps with one defect of each kind."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from chaos_checks import Entry, count  # noqa: E402
from chaos_world import Expected  # noqa: E402

G1, G2, G3, G4 = "g-1", "g-2", "g-3", "g-4"


def _expected() -> Expected:
    return Expected(
        customers={"100001", "100002", "100003"},
        articles={"P-1", "W-2"},
        projects={"2000001"},
        invoices={G1: "100001", G2: "100002", G3: "100003", G4: "100001"},
        booked={G2: "inv-2", G3: "inv-3"},
        booked_drafts={"d-2", "d-3"},
        paid={G3},
        fee_rows={"si-1:r-1": "2000001", "si-1:r-2": "2000001"},
    )


def _draft(id_: str, guid: str) -> dict[str, Any]:
    return {"Id": id_, "SubscriptionNumber": f"severa:{guid}"}


def _dumps() -> tuple[dict[str, Any], dict[str, Any]]:
    eekonomi = {
        "customers": [{"CustomerNumber": n} for n in ("100001", "100002", "100002")],
        "articles": [{"Number": "P-1"}],
        "costCenters": [{"Name": "Projekt", "Items": [{"ShortName": "2000001"}]}],
        "customerInvoiceDrafts": [_draft("d-1", G1), _draft("d-1b", G1), _draft("d-2", G2)],
    }
    severa = {
        "customers": [{"number": 100001}, {"number": 100002}, {"number": 100003}],
        "invoices": [
            {"guid": G1, "status": {"name": "Överförd"}},
            {"guid": G2, "status": {"name": "Överförd"}},
            {"guid": G3, "status": {"name": "Betald"}},
            {"guid": G4, "status": {"name": "Att överföra"}},
        ],
        "projectFees": [{"description": "2026-10-01 C-1 Ahlsell AB (eekonomi:si-1:r-1)"}],
    }
    return eekonomi, severa


def test_given_one_defect_of_each_kind_then_each_is_counted_once() -> None:
    eekonomi, severa = _dumps()
    entries = [
        Entry("products", {"W-2"}, "Article number taken"),  # listed: not lost
        Entry("supplier_invoices", {"si-1:r-2"}, "kept failing after all retries, try again"),
        Entry("invoices", {G1}, "totals differ", kind="warning"),
    ]

    found = count(_expected(), eekonomi, severa, entries, ["customers run r1 running"])

    assert found.duplicates == [
        "eEkonomi customer number '100002' 2 times",
        f"Severa invoice {G1} has 2 drafts",
    ]
    assert found.lost == [
        "customers 100003: not in eEkonomi, not listed",
        f"invoice {G2}: Severa status 'Överförd', not 'Skickad'",
        f"invoice {G4} (customer 100001): no draft, not listed",
    ]
    assert found.stuck == ["customers run r1 running"]
    assert len(found.transient) == 1
    assert "si-1:r-2" in found.transient[0]
    assert not found.clean


def test_given_everything_transferred_once_then_nothing_is_counted() -> None:
    eekonomi, severa = _dumps()
    eekonomi["customers"] = [{"CustomerNumber": n} for n in ("100001", "100002", "100003")]
    eekonomi["articles"] = [{"Number": "P-1"}, {"Number": "W-2"}]
    eekonomi["customerInvoiceDrafts"] = [_draft("d-1", G1), _draft("d-4", G4)]
    severa["invoices"][1]["status"]["name"] = "Skickad"
    severa["invoices"][3]["status"]["name"] = "Överförd"
    severa["projectFees"].append({"description": "x (eekonomi:si-1:r-2)"})

    found = count(_expected(), eekonomi, severa, [], [])

    assert (found.duplicates, found.lost, found.stuck, found.transient) == ([], [], [], [])
    assert found.clean

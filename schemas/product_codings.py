"""Article codings (R-5.2): which eEkonomi coding — and so which VAT — an article from
Severa gets, and what an update may not change of it.

R-5.2 has "Tjänster 25% moms" preselected (``förvalt``). An item with another VAT rate
(mileage 0 %, a book 6 %, a lunch 12 %) gets the coding of that rate instead, so the
invoice rows that use the article carry the VAT of their Severa rows
(:func:`choose_article_coding`). An existing article keeps its coding: a person may have
chosen another (:func:`article_for_update`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from schemas.base import gross_from_net, json_number, to_decimal

__all__ = [
    "ARTICLE_KEPT_ON_UPDATE",
    "article_for_update",
    "choose_article_coding",
    "coding_vat_percent",
    "find_services_coding",
]


def coding_vat_percent(coding: Mapping[str, Any]) -> Decimal | None:
    """A coding's VAT rate in percent. The document calls ``VatRatePercent`` a percent
    but eEkonomi answers fractions (0.25 for 25 %); accept both, since no Swedish VAT
    rate is 1 % or less."""
    value = to_decimal(coding.get("VatRatePercent"))
    if value is None:
        return None
    return (value * 100).normalize() if 0 < value <= 1 else value


def find_services_coding(
    codings: Sequence[Mapping[str, Any]], vat_percent: Decimal = Decimal(25)
) -> str:
    """The id of eEkonomi's "services, 25 % VAT" coding (R-5.2), for the connect step.

    Among active codings with that ``VatRatePercent``, the one whose ``Type``,
    ``Name`` or ``NameEnglish`` says service ("Tjänster 25% moms"). Raises
    ``ValueError`` naming the candidates when there is not exactly one.
    """
    at_rate = [
        c for c in codings if c.get("IsActive", True) and coding_vat_percent(c) == vat_percent
    ]

    def says_service(coding: Mapping[str, Any], fields: tuple[str, ...]) -> bool:
        text = " ".join(str(coding.get(k) or "") for k in fields)
        return any(word in text.casefold() for word in ("tjänst", "service"))

    # The name decides first ("Tjänster 25% moms"); ``Type`` is "Service" on other
    # codings too (e.g. "Övrigt (saknar konto)"), so it only breaks a tie.
    services: list[Mapping[str, Any]] = []
    for keys in (("Name", "NameEnglish"), ("Type", "Name", "NameEnglish")):
        services = [c for c in at_rate if says_service(c, keys)]
        if len(services) == 1:
            return str(services[0]["Id"])
    names = ", ".join(repr(c.get("Name")) for c in (services or at_rate)) or "none"
    raise ValueError(
        f"cannot tell which eEkonomi article coding is 'services, {vat_percent}% VAT' "
        f"(candidates: {names}); choose the coding in the settings"
    )


def choose_article_coding(codings: Sequence[Mapping[str, Any]], vat_rate: Decimal | None) -> str:
    """R-5.2: the coding a new article from Severa gets, by the Severa item's VAT rate.

    25 % or unknown → the preselected "services, 25 % VAT" (:func:`find_services_coding`).
    Another rate → the active coding at that rate that has a domestic sales account (a
    coding without one cannot be booked), a service coding first, then by name; none
    at that rate → the preselected one. Raises ``ValueError`` like
    :func:`find_services_coding` when the preselected one is needed and ambiguous.
    """
    if vat_rate is None or vat_rate == Decimal(25):
        return find_services_coding(codings)
    at_rate = [
        c
        for c in codings
        if c.get("IsActive", True)
        and coding_vat_percent(c) == vat_rate
        and (c.get("DomesticSalesSubjectToVatAccountNumber") is not None
             or c.get("DomesticSalesVatExemptAccountNumber") is not None)
    ]  # fmt: skip
    if not at_rate:
        return find_services_coding(codings)

    def preference(coding: Mapping[str, Any]) -> tuple[bool, str]:
        text = f"{coding.get('Name') or ''} {coding.get('NameEnglish') or ''}".casefold()
        return (not any(w in text for w in ("tjänst", "service")), str(coding.get("Name")))

    return str(min(at_rate, key=preference)["Id"])


#: R-5.2: what an update never changes on an existing article — a person may have chosen
#: another coding than the one an article from Severa would get.
ARTICLE_KEPT_ON_UPDATE = ("CodingId",)


def article_for_update(
    payload: Mapping[str, Any],
    current: Mapping[str, Any],
    codings: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The fields an update writes onto ``current`` (the article as eEkonomi has it):
    ``payload`` with the article's own coding kept, and the gross price computed with
    that coding's VAT rate so that net and gross agree."""
    body = {k: v for k, v in payload.items() if k not in ARTICLE_KEPT_ON_UPDATE}
    rate = next(
        (coding_vat_percent(c) for c in codings if c.get("Id") == current.get("CodingId")), None
    )
    net = to_decimal(body.get("NetPrice"))
    if "GrossPrice" in body and net is not None and rate is not None:
        body["GrossPrice"] = json_number(gross_from_net(net, rate))
    return body

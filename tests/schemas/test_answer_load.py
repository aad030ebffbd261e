"""eEkonomi's answer to a body we sent maps to the same record, or fails with the same
message, whether or not the body's check is reused (``sent=``, issue 20).

The created record's eEkonomi-side hash used to come from a full load of eEkonomi's
answer; :func:`schemas.base.load_answer` loads only the fields where the answer differs
from the body and takes the others from the body's check. These tests hold the two ways
equal on real answers (the fixtures with our values, as eEkonomi echoes them) and on
answers changed field by field in every way a JSON value can change: another value, the
same value of another type (``1`` / ``1.0`` / ``True``), ``null``, blank, too long,
missing, a wrong shape. And the check itself (a load instead of ``validate``) fails with
the very message ``validate`` gave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas.base
from schemas.base import (
    CheckedBody,
    EEkonomiSchema,
    MappingError,
    check_body,
    flatten_messages,
    load_answer,
    shared,
)
from schemas.customers import (
    EEkonomiCustomer,
    eekonomi_customer_body,
    eekonomi_customer_to_record,
    severa_customer_to_record,
)
from schemas.products import (
    EEkonomiArticle,
    eekonomi_article_body,
    eekonomi_article_to_record,
    severa_product_to_record,
    severa_travel_expense_type_to_record,
    severa_work_type_to_record,
)
from schemas.projects import (
    EEkonomiCostCenterItem,
    eekonomi_cost_center_item_body,
    eekonomi_cost_center_item_to_record,
    severa_project_to_record,
)
from schemas.records import content_hash
from tests.schemas.conftest import load_fixture

COST_CENTER = "cc0c0000-0000-4000-8000-000000000001"
DEFAULT_TERMS = "7c3a0000-0000-4000-8000-000000000030"

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def units() -> list[dict[str, Any]]:
    return list(load_fixture("eekonomi/units")["Data"])


def codings() -> list[dict[str, Any]]:
    return list(load_fixture("eekonomi/article_account_codings")["Data"])


def terms() -> list[dict[str, Any]]:
    return list(load_fixture("eekonomi/terms_of_payments")["Data"])


def customer_body() -> CheckedBody:
    contacts = load_fixture("severa/customer_contacts")
    for contact in contacts:
        contact["communications"] = [
            c
            for c in load_fixture("severa/contact_communications")
            if c["contact"]["guid"] == contact["guid"]
        ]
    severa = {
        **load_fixture("severa/customer"),
        "addresses": load_fixture("severa/customer_addresses"),
        "contacts": contacts,
    }
    record = severa_customer_to_record(severa)
    return eekonomi_customer_body(record, default_terms_id=DEFAULT_TERMS, terms_of_payment=terms())


def article_bodies() -> list[CheckedBody]:
    """A priced product, a work type (no price, unit ``tim``), a travel-expense type."""
    records = [
        severa_product_to_record(load_fixture("severa/product")),
        severa_work_type_to_record(load_fixture("severa/work_type")),
        severa_travel_expense_type_to_record(load_fixture("severa/travel_expense_types")[0]),
    ]
    return [eekonomi_article_body(r, codings=codings(), units=units()) for r in records]


def item_body() -> CheckedBody:
    record = severa_project_to_record(load_fixture("severa/project"))
    return eekonomi_cost_center_item_body(record, cost_center_id=COST_CENTER)


#: register → (the schema, its sent bodies, the vendor's record it answers with, to_record)
Register = tuple[
    type[EEkonomiSchema],
    Callable[[], list[CheckedBody]],
    Callable[[], dict[str, Any]],
    Callable[..., Mapping[str, Any]],
]
REGISTERS: dict[str, Register] = {
    "customers": (
        EEkonomiCustomer,
        lambda: [customer_body()],
        lambda: load_fixture("eekonomi/customer"),
        lambda answer, **kw: eekonomi_customer_to_record(answer, terms_of_payment=terms(), **kw),
    ),
    "articles": (
        EEkonomiArticle,
        article_bodies,
        lambda: load_fixture("eekonomi/article"),
        lambda answer, **kw: eekonomi_article_to_record(
            answer, codings=codings(), units=units(), **kw
        ),
    ),
    "cost-center items": (
        EEkonomiCostCenterItem,
        lambda: [item_body()],
        lambda: {**load_fixture("eekonomi/cost_centers")["Data"][0]["Items"][0]},
        lambda answer, **kw: eekonomi_cost_center_item_to_record(answer, **kw),
    ),
}


def echo(vendor_record: dict[str, Any], body: CheckedBody) -> dict[str, Any]:
    """eEkonomi's answer to ``body``: its own record with our values written in."""
    return {**vendor_record, **body.payload}


def outcome(to_record: Callable[[], Mapping[str, Any]]) -> tuple[Any, ...]:
    """What mapping gave, exactly: every key with its value *and type*, and the hash —
    or the error's type and message."""
    try:
        record = to_record()
    except MappingError as error:
        return ("error", str(error), error.record_label, error.reason)
    except Exception as error:  # noqa: BLE001 - a non-record answer fails in its own way
        return ("failure", type(error).__name__, str(error))
    typed = sorted((key, type(value).__name__, repr(value)) for key, value in record.items())
    return ("record", typed, content_hash(record))


def both_ways(to_record: Callable[..., Mapping[str, Any]], answer: Any, body: CheckedBody) -> None:
    full = outcome(lambda: to_record(answer))
    reused = outcome(lambda: to_record(answer, sent=body))
    assert reused == full


# -- the fast path is taken, and gives the full load's record --------------------------


@pytest.mark.parametrize("register", REGISTERS)
def test_an_echoing_answer_maps_to_the_record_of_a_full_load(register: str) -> None:
    schema_class, bodies, vendor_record, to_record = REGISTERS[register]
    for body in bodies():
        answer = echo(vendor_record(), body)
        both_ways(to_record, answer, body)
        # The body's own load stands in for the answer's: no field is loaded twice.
        assert load_answer(schema_class, body.payload, body) == shared(schema_class).load(
            body.payload
        )


def test_only_the_differing_fields_are_loaded_from_the_answer() -> None:
    """A field the answer echoes comes from the body's check, unloaded: a value eEkonomi
    changed (its currency for one we left to it) is loaded from the answer."""
    body = customer_body()
    answer = {
        **echo(load_fixture("eekonomi/customer"), body),
        "CurrencyCode": "EUR",
        "Telephone": " 08-123 ",
    }
    loaded = load_answer(EEkonomiCustomer, answer, body)
    assert loaded == shared(EEkonomiCustomer).load(answer)
    assert (loaded["currency_code"], loaded["phone"]) == ("EUR", "08-123")
    assert loaded["payment_term_days"] == answer["TermsOfPayment"]["NumberOfDays"]


def test_a_price_answered_as_a_float_loads_as_the_same_decimal() -> None:
    product = next(b for b in article_bodies() if b.payload.get("NetPrice") is not None)
    answer = echo(load_fixture("eekonomi/article"), product)
    answer["NetPrice"] = float(answer["NetPrice"])
    answer["GrossPrice"] = float(answer["GrossPrice"])
    record = eekonomi_article_to_record(answer, codings=codings(), units=units(), sent=product)
    assert isinstance(record["net_price"], Decimal)
    both_ways(REGISTERS["articles"][3], answer, product)


@pytest.mark.parametrize(("sent", "answered"), [(0.0, -0.0), (-0.0, 0.0), (12.5, 12.50)])
def test_a_price_written_differently_loads_as_the_answer_writes_it(
    sent: float, answered: float
) -> None:
    """``0.0`` and ``-0.0`` are equal floats but load as ``0.00`` and ``-0.00``, which
    hash differently: the answer's own value is what counts."""
    product = next(b for b in article_bodies() if b.payload.get("NetPrice") is not None)
    body = check_body(EEkonomiArticle, {**product.payload, "NetPrice": sent}, "an article")
    answer = {**echo(load_fixture("eekonomi/article"), body), "NetPrice": answered}
    loaded = load_answer(EEkonomiArticle, answer, body)
    full = shared(EEkonomiArticle).load(answer)
    assert repr(loaded["net_price"]) == repr(full["net_price"])
    both_ways(REGISTERS["articles"][3], answer, body)


def test_an_answer_of_another_shape_fails_as_a_full_load_does() -> None:
    body = item_body()
    for answer in ([], "not a record", None, {}, {"ShortName": None}):
        both_ways(REGISTERS["cost-center items"][3], answer, body)


def test_a_body_of_another_schema_is_not_reused() -> None:
    body = item_body()
    answer = echo(load_fixture("eekonomi/customer"), customer_body())
    assert load_answer(EEkonomiCustomer, answer, body) == shared(EEkonomiCustomer).load(answer)


# -- any change of the answer, field by field (property) -------------------------------

ABSENT = object()

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["", " ", "  SE  ", "x" * 60, "x" * 300, "25", "0", "-0.0", "1e3"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=6,
)


def changed_value(original: Any) -> st.SearchStrategy[Any]:
    """Another JSON value for a field: the same value of another type, a near value,
    anything at all, or the key left out."""
    near: list[Any] = [ABSENT, None]
    if isinstance(original, bool):
        near += [int(original), float(original), str(original).lower(), not original]
    elif isinstance(original, int | float):
        near += [float(original), int(original), str(original), original + 1, -original]
    elif isinstance(original, str):
        near += [f" {original} ", original.upper(), original + "x" * 60, "", " "]
    elif isinstance(original, dict):
        near += [{**original, "NumberOfDays": 0}, {}, {"NumberOfDays": 30.0}]
    return st.sampled_from(near) | json_values


@st.composite
def answers(draw: st.DrawFn, register: str) -> tuple[CheckedBody, dict[str, Any]]:
    schema_class, bodies, vendor_record, _ = REGISTERS[register]
    body = draw(st.sampled_from(bodies()))
    answer = echo(vendor_record(), body)
    keys = sorted(
        field.data_key or name for name, field in shared(schema_class).load_fields.items()
    )
    for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=4)):
        value = draw(changed_value(answer.get(key)))
        if value is ABSENT:
            answer.pop(key, None)
        else:
            answer[key] = value
    extra = draw(st.dictionaries(st.sampled_from(["Id", "ChangedUtc", "Note"]), json_values))
    return body, {**answer, **extra}


@pytest.mark.parametrize("register", REGISTERS)
@SETTINGS
@given(data=st.data())
def test_any_answer_maps_as_a_full_load_maps_it(register: str, data: st.DataObject) -> None:
    # A run keeps the first 64 sets of differing fields; hundreds of random answers
    # would fill that up and test the full load against itself.
    schemas.base._PARTS.clear()  # noqa: SLF001 - the cache of partial schemas
    body, answer = data.draw(answers(register))
    both_ways(REGISTERS[register][3], answer, body)


# -- the body's check fails as validate did ----------------------------------------------


def severa_records() -> dict[str, Any]:
    return {
        "customers": severa_customer_to_record(
            {
                **load_fixture("severa/customer"),
                "addresses": load_fixture("severa/customer_addresses"),
                "contacts": [],
            }
        ),
        "articles": severa_product_to_record(load_fixture("severa/product")),
        "cost-center items": severa_project_to_record(load_fixture("severa/project")),
    }


#: register → (the body function, the keys it adds to the record before dumping; the
#: ids are never at fault, so any text stands for the ones an article's body picks)
BODIES: dict[str, tuple[Callable[[Any], CheckedBody], dict[str, Any]]] = {
    "customers": (
        lambda r: eekonomi_customer_body(r, default_terms_id=DEFAULT_TERMS),
        {"terms_of_payment_id": DEFAULT_TERMS},
    ),
    "articles": (
        lambda r: eekonomi_article_body(r, codings=codings(), units=units()),
        {"coding_id": "a coding", "unit_id": "a unit"},
    ),
    "cost-center items": (
        lambda r: eekonomi_cost_center_item_body(r, cost_center_id=COST_CENTER),
        {"cost_center_id": COST_CENTER},
    ),
}


@pytest.mark.parametrize(
    ("register", "changes"),
    [
        ("customers", {"name": "N" * 51, "city": "C" * 51, "postal_code": "1" * 11}),
        ("customers", {"email": "e" * 256, "country_code": "SWE"}),
        ("articles", {"number": "A" * 41, "name": "N" * 51, "net_price": Decimal("-1")}),
        ("articles", {"net_price": Decimal("99000000.01"), "gross_price": None}),
        ("cost-center items", {"number": "1234567890", "name": "N" * 51}),
    ],
)
def test_a_body_over_eekonomis_limits_fails_with_the_message_validate_gave(
    register: str, changes: dict[str, Any]
) -> None:
    schema = shared(REGISTERS[register][0])
    make_body, extra = BODIES[register]
    record = {**severa_records()[register], **changes}
    with pytest.raises(MappingError) as raised:
        make_body(record)
    errors = schema.validate(schema.dump({**record, **extra}))
    assert errors
    assert raised.value.reason == "; ".join(flatten_messages(errors))

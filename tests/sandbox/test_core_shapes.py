"""The shapes both sandboxes build on (``sandbox.core``): switches, errors, the indexed
store, argument parsing, the clock, money rounding, field specs, and the back office's
``info`` and tenant-scoped faults and log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from sandbox.core import (
    ApiError,
    BadArgument,
    Clock,
    Collection,
    Fault,
    FieldSpec,
    Request,
    Response,
    SandboxAdapter,
    SandboxApp,
    Switches,
    decimals_of,
    parse_time,
    round_money,
)
from sandbox.core.args import bool_arg, date_arg, guid_arg, int_arg, ints_arg, json_object
from sandbox.core.specs import named, zero_value

# -- switches --------------------------------------------------------------------------


@dataclass
class _Flags(Switches):
    CHOICES = {"mode": ("a", "b")}  # a ClassVar of the base: not a switch

    on: bool = True
    count: int = 3
    grace: float = 0.0
    mode: str = "a"
    company: str | None = None


def test_given_typed_switches_when_updated_then_values_are_checked_against_their_types() -> None:
    flags = _Flags()
    flags.update({"on": False, "count": 5, "grace": 2, "mode": "b", "company": "x"})
    assert flags.as_dict() == {"on": False, "count": 5, "grace": 2.0, "mode": "b", "company": "x"}
    assert isinstance(flags.grace, float)
    flags.update({"company": None})
    assert flags.company is None


@pytest.mark.parametrize(
    "values",
    [
        {"nope": 1},
        {"on": 1},
        {"count": True},
        {"count": "3"},
        {"grace": "2"},
        {"mode": "c"},
        {"count": None},
        {"on": False, "mode": "c"},  # one bad value: nothing changes
    ],
)
def test_given_a_bad_switch_value_when_updated_then_value_error_and_nothing_changes(
    values: dict[str, object],
) -> None:
    flags = _Flags()
    with pytest.raises(ValueError, match=r"\w"):
        flags.update(values)
    assert flags == _Flags()


class _App(SandboxApp):
    """A minimal app: one switchable route, two tenants named by a header."""

    name = "core-test"

    def __init__(self) -> None:
        self.switches = _Flags()
        super().__init__()
        self.route("GET", "/v1/thing", self._thing)

    def _thing(self, request: Request) -> Response:
        if request.arg("fail"):
            raise ApiError(409, "taken")
        return Response.json(200, {"count": self.switches.count, "n": int_arg(request, "n")})

    def tenant_of(self, request: Request) -> str | None:
        return request.headers.get("X-Tenant")

    def resolve_tenant(self, wanted: str | None) -> str | None:
        if wanted not in (None, "t1", "t2"):
            raise ApiError(404, f"no company {wanted!r}")
        return wanted

    def dump_store(self) -> dict[str, object]:
        return {}


def _session(app: SandboxApp) -> requests.Session:
    session = requests.Session()
    session.mount("http://core.test/", SandboxAdapter(app))
    return session


def test_given_an_app_with_switches_when_posting_them_then_the_back_office_changes_them() -> None:
    http = _session(_App())
    assert http.get("http://core.test/_sandbox/switches").json()["count"] == 3
    assert http.post("http://core.test/_sandbox/switches", json={"count": 7}).status_code == 200
    assert http.get("http://core.test/v1/thing").json()["count"] == 7
    bad = http.post("http://core.test/_sandbox/switches", json={"count": "x"})
    assert bad.status_code == 400
    assert "count" in bad.json()["error"]


def test_given_handlers_raising_api_errors_and_bad_arguments_then_they_become_answers() -> None:
    http = _session(_App())
    conflict = http.get("http://core.test/v1/thing?fail=1")
    assert (conflict.status_code, conflict.json()) == (409, {"error": "taken"})
    bad = http.get("http://core.test/v1/thing?n=x")
    assert bad.status_code == 400
    assert bad.json() == {"error": "The value 'x' is not valid for n."}


def test_given_the_info_call_then_it_names_this_instance_and_a_restart_changes_it() -> None:
    first = _session(_App()).get("http://core.test/_sandbox/info").json()
    second = _session(_App()).get("http://core.test/_sandbox/info").json()
    assert first["instance"] != second["instance"]
    assert parse_time(first["started_at"]) <= datetime.now(UTC)


def test_given_tenant_scoped_faults_and_log_when_requests_come_then_only_that_tenant_is_hit() -> (
    None
):
    app = _App()
    http = _session(app)
    bo = "http://core.test/_sandbox"
    armed = http.post(f"{bo}/faults?company=t2", json={"path": "/v1/*", "status": 503})
    assert armed.status_code == 201
    assert http.get(f"{bo}/faults?company=nobody").status_code == 404
    assert http.get(f"{bo}/faults?company=t1").json() == []
    assert http.get("http://core.test/v1/thing", headers={"X-Tenant": "t1"}).status_code == 200
    assert http.get("http://core.test/v1/thing", headers={"X-Tenant": "t2"}).status_code == 503
    assert http.get("http://core.test/v1/thing", headers={"X-Tenant": "t2"}).status_code == 200
    only_t2 = http.get(f"{bo}/requests?company=t2").json()
    assert [r["status"] for r in only_t2["requests"]] == [503, 200]
    assert http.get(f"{bo}/requests").json()["total"] == 3
    http.delete(f"{bo}/requests?company=t2")
    assert [r["tenant"] for r in http.get(f"{bo}/requests").json()["requests"]] == ["t1"]


def test_given_an_unscoped_fault_when_any_tenant_calls_then_it_fires() -> None:
    app = _App()
    app.add_fault(Fault("/v1/thing", status=502))
    assert _session(app).get("http://core.test/v1/thing", headers={"X-Tenant": "t1"}).ok is False
    assert app.faults == []


def test_given_a_fault_with_a_probability_then_some_pass_and_fired_counts_say_how_many() -> None:
    app = _App()
    http = _session(app)
    bo = "http://core.test/_sandbox"
    thing = "http://core.test/v1/thing"
    never = {"path": "/v1/thing", "probability": 0.0, "label": "never"}
    assert http.post(f"{bo}/faults", json=never).status_code == 201
    assert [http.get(thing).status_code for _ in range(20)] == [200] * 20
    assert len(http.get(f"{bo}/faults").json()) == 1  # passing requests do not use it up
    http.delete(f"{bo}/faults")
    half = {"path": "/v1/thing", "times": 1000, "probability": 0.5, "label": "half"}
    http.post(f"{bo}/faults", json=half)
    failed = [http.get(thing).status_code for _ in range(400)].count(503)
    assert 120 < failed < 280  # about half (p < 1e-20 of failing by chance)
    http.delete(f"{bo}/faults")  # disarmed, yet still counted
    app.add_fault(Fault("/v1/thing", times=2, status=502))
    assert [http.get(thing).status_code for _ in range(3)] == [502, 502, 200]
    fired = http.get(f"{bo}/faults/fired", params={"reset": "true"}).json()["fired"]
    assert fired == {"half": failed, "status * /v1/thing": 2}
    assert http.get(f"{bo}/faults/fired").json() == {"fired": {}}


def test_given_a_probability_out_of_range_then_arming_is_refused() -> None:
    http = _session(_App())
    bad = http.post("http://core.test/_sandbox/faults", json={"path": "/v1/*", "probability": 2})
    assert bad.status_code == 400
    assert "probability" in bad.json()["error"]


# -- errors ----------------------------------------------------------------------------


class _VendorError(ApiError):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(status, message, headers=[("X-Code", str(code))])
        self.code = code

    def body(self) -> object:
        return {"Code": self.code, "Text": self.message}


def test_given_a_vendor_error_subclass_when_answered_then_its_own_body_and_headers() -> None:
    answer = _VendorError(400, 4000, "duplicate").response()
    assert answer.status == 400
    assert answer.json_body() == {"Code": 4000, "Text": "duplicate"}
    assert answer.header("X-Code") == "4000"


# -- store -----------------------------------------------------------------------------


def _numbers() -> Collection:
    return Collection(
        "customers",
        unique={"number": "CustomerNumber"},
        indexes={"owner": "owner.guid", "city": lambda r: (r.get("City") or "").lower() or None},
    )


def test_given_unique_and_plain_indexes_when_writing_then_lookups_follow_every_write() -> None:
    col = _numbers()
    col.put({"Id": "a", "CustomerNumber": "1", "owner": {"guid": "o1"}, "City": "Lund"})
    col.put({"Id": "b", "CustomerNumber": "2", "owner": {"guid": "o1"}, "City": "LUND"})
    assert col.holder("number", "1") == "a"
    assert col.holder("number", "1", other_than="a") is None
    assert col.by("owner", "o1") == ["a", "b"]
    assert col.by("city", "lund") == ["a", "b"]
    col.put({"Id": "a", "CustomerNumber": "3", "owner": {"guid": "o2"}})
    assert col.holder("number", "1") is None
    assert col.holder("number", "3") == "a"
    assert col.by("owner", "o1") == ["b"]
    col.remove("b")
    assert col.by("owner", "o1") == []
    assert col.holder("number", "2") is None
    with pytest.raises(KeyError):
        col.holder("owner", "o2")  # not a unique index


def test_given_a_record_edited_in_place_when_put_back_then_it_is_reindexed() -> None:
    col = _numbers()
    record = col.put({"Id": "a", "CustomerNumber": "1"})
    record["CustomerNumber"] = "9"
    assert col.holder("number", "1") is None  # stale entry is checked against the record
    col.put(record)
    assert col.holder("number", "9") == "a"


def test_given_inserts_and_removals_when_paging_by_sequence_then_order_is_insertion_order() -> None:
    col = Collection("x", key="guid")
    for guid in ("a", "b", "c", "d"):
        col.put({"guid": guid})
    col.remove("b")
    col.put({"guid": "a", "changed": True})  # a replace keeps the place
    assert [r["guid"] for r in col.ordered()] == ["a", "c", "d"]
    assert list(col.after(col.seq("a"))) == ["c", "d"]
    assert col.get("z") is None
    assert len(col) == 3
    assert "c" in col


def test_given_item_syntax_when_writing_then_it_is_put_and_remove() -> None:
    col = _numbers()
    col["a"] = {"Id": "a", "CustomerNumber": "1"}
    assert col["a"]["CustomerNumber"] == "1"
    assert col.holder("number", "1") == "a"
    del col["a"]
    assert col.holder("number", "1") is None
    with pytest.raises(KeyError):
        del col["a"]
    with pytest.raises(KeyError):
        col["b"] = {"Id": "c"}


def test_given_mixed_case_guids_when_getting_then_the_lower_case_record_is_found() -> None:
    col = Collection("x")
    col.put({"Id": "abc-def"})
    assert col.get("ABC-DEF") == {"Id": "abc-def"}


# -- arguments ---------------------------------------------------------------------------


def _request(query: dict[str, list[str]], body: bytes = b"") -> Request:
    return Request("GET", "/x", query, CaseInsensitiveDict(), body)


def test_given_query_arguments_when_parsed_then_typed_values_or_bad_argument() -> None:
    request = _request(
        {
            "n": ["5"],
            "Flag": ["TRUE"],
            "id": ["6F1C2F3E-5B0A-4C1E-9A51-0E4E6B0A7C11"],
            "since": ["2026-01-02"],
            "ids": ["1,2", "3"],
            "bad": ["x"],
        }
    )
    assert int_arg(request, "n") == 5
    assert int_arg(request, "missing", 7) == 7
    assert bool_arg(request, "flag") is True
    assert guid_arg(request, "id") == "6f1c2f3e-5b0a-4c1e-9a51-0e4e6b0a7c11"
    assert date_arg(request, "since") == datetime(2026, 1, 2, tzinfo=UTC)
    assert ints_arg(request, "ids") == {1, 2, 3}
    for parse, expected in ((int_arg, "integer"), (bool_arg, "boolean"), (guid_arg, "guid")):
        with pytest.raises(BadArgument) as raised:
            parse(request, "bad")
        assert (raised.value.name, raised.value.expected) == ("bad", expected)
    with pytest.raises(BadArgument):
        date_arg(request, "bad")
    with pytest.raises(BadArgument):
        json_object(_request({}, b"[1]"))
    assert json_object(_request({}, b""), empty_ok=True) == {}


# -- clock, money, specs --------------------------------------------------------------------


def test_given_a_clock_when_set_and_advanced_then_now_follows() -> None:
    moment = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    clock = Clock.at(moment)
    assert clock() == moment
    assert clock.today().isoformat() == "2026-11-24"
    clock.advance(90)
    assert clock.now() == moment + timedelta(seconds=90)
    clock.advance(timedelta(days=1))
    assert clock.timestamp() == (moment + timedelta(days=1, seconds=90)).timestamp()
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_given_float_or_datetime_sources_when_wrapped_then_the_clock_reads_either() -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    assert Clock.of(lambda: moment.timestamp()).now() == moment
    assert Clock.of(lambda: moment).now() == moment
    live = Clock()
    live.advance(3600)
    assert live.now() - datetime.now(UTC) > timedelta(minutes=59)


def test_given_strict_parsing_when_no_time_part_then_only_a_plain_date_passes() -> None:
    assert parse_time("2026-01-02T03:04:05+02:00") == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert parse_time("20260102") == datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="date-time"):
        parse_time("20260102", strict=True)


def test_given_half_cents_when_rounding_money_then_half_away_from_zero() -> None:
    assert round_money(0.005) == Decimal("0.01")
    assert round_money(-0.005) == Decimal("-0.01")
    assert round_money(Decimal("2.5"), 0) == Decimal("3")
    assert round_money(None) == Decimal("0.00")
    assert decimals_of(12.50) == 1
    assert decimals_of(3) == 0
    assert decimals_of("2678.5714") == 4


def test_given_hand_written_specs_when_named_then_each_knows_its_name() -> None:
    schema = named({"name": FieldSpec("str", required=True), "n": FieldSpec("int")})
    assert [(s.name, s.kind) for s in schema.values()] == [("name", "str"), ("n", "int")]
    assert zero_value(schema["n"]) == 0
    assert zero_value(FieldSpec("obj")) is None

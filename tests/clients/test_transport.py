"""The request loop asks the table what follows each failed attempt (worker/clients/transport.py).

Each status and each ``requests`` failure maps to one step — send again after a back-off,
refresh the token, wait out a rate limit, or raise — and a write that may have happened
is never sent again (code-models rule 10). The HTTP side is a ``requests`` transport
adapter that plays a script: the edge of the outside world, not the project's code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from schemas.sides import Side
from worker.clients.http import (
    MAX_RATE_LIMIT_WAIT,
    MAX_RATE_LIMIT_WAITS,
    MIN_RATE_LIMIT_WAIT,
    Action,
    AmbiguousWriteError,
    ApiConfigError,
    ApiRecordError,
    ApiTransientError,
    MalformedResponse,
    NotFoundError,
    classify_exception,
)
from worker.clients.transport import ApiTransport, Attempts, Failure


def answer(
    status: int, body: object = "", headers: Mapping[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response.headers.update(headers or {})
    response.encoding = "utf-8"
    return response


class Scripted(BaseAdapter):
    """Answers each request with the next response of its script, or raises the next
    exception; records what was sent."""

    def __init__(self, script: list[requests.Response | Exception]) -> None:
        super().__init__()
        self.script = list(script)
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(f"{request.method} {request.path_url}")
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        step.request = request
        return step

    def close(self) -> None:
        pass


class Auth(requests.auth.AuthBase):
    """A refreshable auth that counts how often its token was dropped."""

    def __init__(self) -> None:
        self.invalidated = 0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer token-{self.invalidated}"
        return request

    def invalidate(self) -> None:
        self.invalidated += 1


def transport(
    api: Side = Side.SEVERA,
    script: list[requests.Response | Exception] | None = None,
    auth: Auth | None = None,
) -> tuple[ApiTransport, Scripted, list[float]]:
    session = requests.Session()
    adapter = Scripted(script or [])
    session.mount("http://", adapter)
    slept: list[float] = []
    sent = ApiTransport(
        api=api, base_url="http://api.test", session=session, auth=auth, timeout=1.0,
        connection_id="t-transport", sleep=slept.append, jitter=lambda low, high: high,
    )  # fmt: skip
    return sent, adapter, slept


def step_after(
    response: requests.Response, method: str = "GET", api: Side = Side.SEVERA
) -> tuple[Any, Attempts]:
    sender, _, _ = transport(api)
    attempts = Attempts(method)
    return sender.next_step(attempts, "/x", sender.failure_of(response)), attempts


# -- each answer → one step ---------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_given_a_transient_status_when_reading_then_retried_after_a_back_off(status: int) -> None:
    step, attempts = step_after(answer(status))
    assert (step.action, step.seconds, attempts.failures) == (Action.RETRY, 0.5, 1)


@pytest.mark.parametrize("status", [500, 503, 408])
def test_given_a_transient_status_when_creating_then_ambiguous_never_repeated(status: int) -> None:
    step, _ = step_after(answer(status), "POST")
    assert step.action is Action.RAISE
    assert isinstance(step.error, AmbiguousWriteError)
    assert step.error.status == status
    assert "while writing, so the write may have happened" in str(step.error)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_given_a_429_with_retry_after_when_sent_then_waited_as_told_and_not_a_failure(
    method: str,
) -> None:
    step, attempts = step_after(answer(429, "", {"Retry-After": "2"}), method)
    assert (step.action, step.seconds) == (Action.WAIT, 2.0)
    assert (attempts.failures, attempts.waited) == (0, 2.0)


def test_given_eekonomi_4010_try_again_in_n_seconds_when_sent_then_waited_that_long() -> None:
    body = {"ErrorCode": 4010, "DeveloperErrorMessage": "Quota exceeded. Try again in 7 seconds."}
    step, _ = step_after(answer(400, body), "POST", Side.EEKONOMI)
    assert (step.action, step.seconds) == (Action.WAIT, 7.0)


def test_given_a_rate_limit_longer_than_the_budget_then_raised_with_the_wait_for_the_task() -> None:
    sender, _, _ = transport()
    attempts = Attempts("GET", waited=sender.max_rate_limit_wait - 1)
    step = sender.next_step(
        attempts, "/x", sender.failure_of(answer(429, "", {"Retry-After": "5"}))
    )
    assert step.action is Action.RAISE
    assert isinstance(step.error, ApiTransientError)
    assert step.error.retry_after == 5.0


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, ApiRecordError), (404, NotFoundError), (403, ApiConfigError), (409, ApiRecordError)],
)
def test_given_a_status_no_retry_can_help_then_its_error_is_raised_at_once(
    status: int, error: type[Exception]
) -> None:
    step, attempts = step_after(answer(status))
    assert step.action is Action.RAISE
    assert type(step.error) is error
    assert attempts.failures == 0


def test_given_a_401_then_the_token_is_refreshed_once_then_the_error_raised() -> None:
    sender, _, _ = transport(auth=Auth())
    attempts = Attempts("POST")
    first = sender.next_step(attempts, "/x", sender.failure_of(answer(401)))
    second = sender.next_step(attempts, "/x", sender.failure_of(answer(401)))
    assert first.action is Action.REFRESH
    assert second.action is Action.RAISE
    assert isinstance(second.error, ApiTransientError)
    without_auth, _ = step_after(answer(401))
    assert without_auth.action is Action.RAISE


def test_given_a_transient_status_past_the_retries_then_a_transient_error_names_the_call() -> None:
    sender, _, _ = transport()
    attempts = Attempts("GET")
    steps = [sender.next_step(attempts, "/x", sender.failure_of(answer(503))) for _ in range(4)]
    assert [s.action for s in steps] == [Action.RETRY] * 3 + [Action.RAISE]
    assert [s.seconds for s in steps[:3]] == [0.5, 1.0, 2.0]
    assert isinstance(steps[-1].error, ApiTransientError)
    assert "GET /x → HTTP 503" in str(steps[-1].error)


# -- each failure without an answer → one step ------------------------------------------


def failure(exc: Exception) -> Failure:
    resolution = classify_exception(exc)
    assert resolution is not None
    return Failure(resolution, exception=type(exc).__name__)


def test_given_no_connection_made_then_even_a_create_is_sent_again() -> None:
    sender, _, _ = transport()
    step = sender.next_step(Attempts("POST"), "/x", failure(requests.ConnectTimeout()))
    assert step.action is Action.RETRY


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (requests.ReadTimeout(), "the connection failed after the request was sent"),
        (requests.ConnectionError(), "the connection failed after the request was sent"),
        (requests.exceptions.ChunkedEncodingError(), "the answer to a write could not be read"),
    ],
)
def test_given_a_create_that_may_have_reached_the_server_then_ambiguous(
    exc: Exception, says: str
) -> None:
    sender, _, _ = transport()
    step = sender.next_step(Attempts("POST"), "/x", failure(exc))
    assert isinstance(step.error, AmbiguousWriteError)
    assert says in str(step.error)


def test_given_unreadable_answers_to_a_read_past_the_retries_then_malformed_response() -> None:
    sender, _, _ = transport()
    attempts = Attempts("GET")
    garbled = failure(requests.exceptions.ContentDecodingError())
    steps = [sender.next_step(attempts, "/x", garbled) for _ in range(4)]
    assert [s.action for s in steps] == [Action.RETRY] * 3 + [Action.RAISE]
    assert isinstance(steps[-1].error, MalformedResponse)


def test_given_a_bug_not_an_outage_then_the_table_does_not_claim_it() -> None:
    assert classify_exception(requests.exceptions.InvalidURL()) is None


# -- the loop --------------------------------------------------------------------------


def test_given_a_rate_limit_then_a_5xx_then_200_when_reading_then_each_step_taken_in_turn() -> None:
    sender, adapter, slept = transport(
        script=[answer(429, "", {"Retry-After": "3"}), answer(503), answer(200, [1])]
    )
    assert sender.get_json("/customers") == [1]
    assert slept == [3.0, 0.5]
    assert sender.sent == 3
    assert len(adapter.sent) == 3


def test_given_a_rate_limited_create_when_posting_then_sent_again_not_ambiguous() -> None:
    sender, adapter, slept = transport(
        script=[answer(429, "", {"Retry-After": "1"}), answer(201, {"guid": "g"})]
    )
    assert sender.request("POST", "/customers", json_body={"name": "A"}).status_code == 201
    assert adapter.sent == ["POST /customers", "POST /customers"]
    assert slept == [1.0]


def test_given_an_expired_token_when_reading_then_one_refresh_and_the_answer() -> None:
    auth = Auth()
    sender, adapter, slept = transport(script=[answer(401), answer(200, {})], auth=auth)
    assert sender.get_json("/customers") == {}
    assert auth.invalidated == 1
    assert slept == []


def test_given_a_dropped_connection_after_a_create_then_ambiguous_and_sent_once() -> None:
    sender, adapter, _ = transport(script=[requests.ConnectionError("reset")])
    with pytest.raises(AmbiguousWriteError, match="look the record up"):
        sender.request("POST", "/customers", json_body={})
    assert adapter.sent == ["POST /customers"]


def test_given_a_bug_when_sending_then_it_propagates_unclassified() -> None:
    sender, _, _ = transport(script=[requests.exceptions.InvalidHeader("bad")])
    with pytest.raises(requests.exceptions.InvalidHeader):
        sender.request("GET", "/customers")


# -- rate limits that would loop (issue 14 item 2) ----------------------------------------


@pytest.mark.parametrize("header", ["0", "-5", "soon", None, "nan", "inf", "0.0001"])
def test_given_429s_with_an_unusable_retry_after_then_each_wait_is_a_second_or_more_and_bounded(
    header: str | None,
) -> None:
    limited = answer(429, "", {} if header is None else {"Retry-After": header})
    sender, adapter, slept = transport(script=[limited] * 50 + [answer(200, [1])])
    with pytest.raises(ApiTransientError, match="rate limited.*still refused after 10 waits"):
        sender.get_json("/customers")
    assert len(adapter.sent) == MAX_RATE_LIMIT_WAITS + 1
    assert len(slept) == MAX_RATE_LIMIT_WAITS
    assert min(slept) >= MIN_RATE_LIMIT_WAIT


def test_given_a_huge_retry_after_then_the_wait_is_capped_and_handed_to_the_task_layer() -> None:
    sender, adapter, slept = transport(script=[answer(429, "", {"Retry-After": "1e12"})])
    with pytest.raises(ApiTransientError) as raised:
        sender.request("POST", "/customers", json_body={})
    assert raised.value.retry_after == MAX_RATE_LIMIT_WAIT
    assert (adapter.sent, slept) == (["POST /customers"], [])


def test_given_a_retry_after_as_an_http_date_then_waited_until_then() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    header = soon.strftime("%a, %d %b %Y %H:%M:%S GMT")
    step, _ = step_after(answer(429, "", {"Retry-After": header}))
    assert step.action is Action.WAIT
    assert 25.0 <= step.seconds <= 31.0

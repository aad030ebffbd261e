"""The error-classification table: every vendor answer maps to transient, record or config."""

from __future__ import annotations

import json

import pytest
import requests

from schemas.sides import Side
from worker.clients.http import (
    Kind,
    classify,
    parse_vendor_error,
    retry_after,
)
from worker.clients.transport import endpoint_of


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response.headers.update(headers or {})
    return response


def eek(status: int, code: int, message: str = "m", field: str | None = None) -> Kind:
    body = {
        "ErrorCode": code,
        "DeveloperErrorMessage": message,
        "ErrorId": "5d4e3f2a-0000-4000-8000-000000000001",
        "Errors": [{"Field": field, "ErrorCode": str(code), "Message": message}] if field else [],
    }
    return classify(
        Side.EEKONOMI, status, parse_vendor_error(Side.EEKONOMI, answer(status, body))
    ).kind


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 2000, Kind.RECORD),
        (400, 3000, Kind.RECORD),  # the body refers to a record that does not exist
        (404, 3000, Kind.NOT_FOUND),  # the path's id names no record: a lookup's no
        (400, 4000, Kind.RECORD),
        (400, 4025, Kind.RECORD),
        (403, 4006, Kind.CONFIG),
        (403, 4004, Kind.CONFIG),
        (429, 4010, Kind.RATE_LIMITED),
        (500, 5000, Kind.TRANSIENT),
        (503, 5001, Kind.TRANSIENT),
        (400, 5005, Kind.RECORD),
        (400, 5006, Kind.RECORD),
        (401, 4005, Kind.CONFIG),
    ],
)
def test_eekonomi_codes(status: int, code: int, kind: Kind) -> None:
    assert eek(status, code) is kind


def test_eekonomi_4002_means_missing_api_module_on_403_and_a_record_problem_on_400() -> None:
    assert eek(403, 4002, "ForbiddenRequestException - No access to module: api_standard") is (
        Kind.CONFIG
    )
    assert eek(400, 4002, "Can not be updated") is Kind.RECORD


def test_eekonomi_validation_error_carries_field_message_and_error_id() -> None:
    body = {
        "ErrorCode": 2000,
        "DeveloperErrorMessage": "Validation failed",
        "ErrorId": "5d4e3f2a-0000-4000-8000-000000000002",
        "Errors": [{"Field": "Name", "ErrorCode": "2000", "Message": "Name is too long"}],
    }
    vendor = parse_vendor_error(Side.EEKONOMI, answer(400, body))
    assert vendor.field == "Name"
    assert vendor.error_id == "5d4e3f2a-0000-4000-8000-000000000002"
    assert "Name is too long" in (vendor.message or "")


def test_oauth_invalid_grant_is_configuration_not_retry() -> None:
    vendor = parse_vendor_error(Side.EEKONOMI, answer(400, {"error": "invalid_grant"}))
    assert vendor.code == "invalid_grant"
    assert classify(Side.EEKONOMI, 400, vendor).kind is Kind.CONFIG


@pytest.mark.parametrize(
    ("status", "error_type", "kind"),
    [
        (400, "InvalidParameter", Kind.RECORD),
        (400, "InvalidOperation", Kind.RECORD),
        (401, "AuthenticationRequired", Kind.REFRESH),
        (403, "InsufficientApiScope", Kind.CONFIG),
        (403, "AddonMissing", Kind.CONFIG),
        (500, "InternalSystemError", Kind.TRANSIENT),
    ],
)
def test_severa_error_types(status: int, error_type: str, kind: Kind) -> None:
    body = {
        "error": {
            "httpStatusCode": status,
            "type": error_type,
            "details": [
                {"message": "x", "location": {"identifier": "name", "type": "RequestBody"}}
            ],
        }
    }
    vendor = parse_vendor_error(Side.SEVERA, answer(status, body))
    assert classify(Side.SEVERA, status, vendor).kind is kind


def test_statuses_without_a_known_code() -> None:
    empty = parse_vendor_error(Side.SEVERA, answer(502, "<html>Bad gateway</html>"))
    assert classify(Side.SEVERA, 502, empty).kind is Kind.TRANSIENT
    assert classify(Side.SEVERA, 404, empty).kind is Kind.NOT_FOUND
    assert classify(Side.SEVERA, 401, empty).kind is Kind.REFRESH
    assert classify(Side.SEVERA, 429, empty).kind is Kind.RATE_LIMITED
    assert classify(Side.SEVERA, 408, empty).kind is Kind.TRANSIENT
    assert classify(Side.SEVERA, 400, empty).kind is Kind.RECORD


def test_a_5xx_is_never_blamed_on_the_record() -> None:
    assert eek(500, 2000) is Kind.TRANSIENT


def test_rate_limit_wait_comes_from_the_message_then_retry_after_then_default() -> None:
    msg = "API calls quota exceeded! maximum admitted 600 per Minute. Try again in 55 seconds."
    body = {"ErrorCode": 4010, "DeveloperErrorMessage": msg, "ErrorId": "x"}
    response = answer(429, body)
    assert retry_after(Side.EEKONOMI, response, parse_vendor_error(Side.EEKONOMI, response)) == 55
    severa = answer(429, {"error": {"type": "InvalidRequest"}}, {"Retry-After": "1"})
    assert retry_after(Side.SEVERA, severa, parse_vendor_error(Side.SEVERA, severa)) == 1
    bare = answer(429, "quota")
    assert retry_after(Side.EEKONOMI, bare, parse_vendor_error(Side.EEKONOMI, bare)) == 60


def test_endpoints_for_rate_limiting_ignore_ids() -> None:
    guid = "0b6e0c1c-8a38-4a5c-9f0e-3c5d0e7b9a11"
    assert endpoint_of(f"/customers/{guid}") == "/customers/{id}"
    assert endpoint_of("/customers?$page=2") == "/customers"
    assert endpoint_of(f"/customerinvoicedrafts/{guid}/convert") == (
        "/customerinvoicedrafts/{id}/convert"
    )
    assert endpoint_of("/countries/SE") == "/countries/SE"

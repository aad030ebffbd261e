"""Severa's error answers: every failure a handler raises becomes an ``ExceptionModel``.

Severa answers every error, from a bad parameter to a missing scope, in one body shape
(``{"error": {httpStatusCode, type, details[]}}``); a client classifies errors by
``type`` and by the ``location`` of each detail. Handlers raise :class:`SeveraError`
anywhere below the route wrapper, which answers it, so no handler builds an error
response by hand and none can forget the shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.core import JSON, ApiError, Request, Response

Record = dict[str, Any]


class SeveraError(ApiError):
    """Severa's answer to a failed call: ``kind`` (``InvalidParameter``, …) and one
    ``ExceptionDetailModel`` per problem; raised inside handlers, answered by the
    organization's route wrapper (or, anywhere else, by :class:`SandboxApp`)."""

    def __init__(self, status: int, kind: str, details: list[Record]) -> None:
        message = str(details[0].get("message")) if details else kind
        super().__init__(status, message)
        self.kind = kind
        self.details = details

    def body(self) -> JSON:
        return exception_body(self.status, self.kind, self.details)


class TextAnswer(SeveraError):
    """An error answered as plain text (the switchable 429 body), not an ExceptionModel."""

    def __init__(self, answer: Response) -> None:
        super().__init__(answer.status, "InvalidRequest", [])
        self.answer = answer

    def response(self) -> Response:
        return self.answer


def exception_body(status: int, kind: str, details: Iterable[Record]) -> Record:
    """Severa's ``ExceptionModel``: ``{"error": {httpStatusCode, type, details, stack}}``."""
    return {"error": {"httpStatusCode": status, "type": kind, "details": list(details)}}


def detail(message: str, location: str | None = None, identifier: str | None = None) -> Record:
    """One ``ExceptionDetailModel``; ``location`` is ``RequestBody``/``UriParameter``/..."""
    out: Record = {"message": message}
    if location is not None:
        out["location"] = {"type": location, "identifier": identifier, "name": identifier}
    return out


def fail(
    status: int,
    kind: str,
    message: str,
    location: str | None = None,
    identifier: str | None = None,
) -> SeveraError:
    """An error with one detail (most errors have exactly one)."""
    return SeveraError(status, kind, [detail(message, location, identifier)])


def invalid(message: str, identifier: str | None = None, where: str = "RequestBody") -> SeveraError:
    """400 ``InvalidParameter``; located in ``where`` when ``identifier`` names a field."""
    return fail(400, "InvalidParameter", message, where if identifier else None, identifier)


def invalid_arg(name: str, raw: str) -> SeveraError:
    """400 for a query parameter whose value does not parse."""
    return invalid(f"The value '{raw}' is not valid for {name}.", name, "UriParameter")


def not_found(what: str, guid: str) -> SeveraError:
    """404 for a path parameter that names no record."""
    return fail(404, "InvalidParameter", f"{what} '{guid}' was not found.", "PathParameter", "guid")


def denied(message: str) -> SeveraError:
    """401 ``AuthenticationRequired``: no, a wrong or an expired credential."""
    return fail(401, "AuthenticationRequired", message)


def header_mismatch(message: str) -> SeveraError:
    """401 located at the ``Client_Id`` header (absent when required, or naming another
    client): clients tell a configuration error from an expired token by the location."""
    return fail(401, "AuthenticationRequired", message, "RequestHeader", "Client_Id")


def read_only(status_name: Any) -> SeveraError:
    """An invoice in a read-only status (paid, cancelled) refuses the change."""
    return fail(400, "InvalidOperation", f"The invoice is in the read-only status '{status_name}'.")


def json_body(request: Request) -> Any:
    """The body as JSON (``None`` when empty); 400 ``InvalidRequest`` when it is not JSON."""
    if not request.body:
        return None
    try:
        return request.json()
    except ValueError:
        raise fail(400, "InvalidRequest", "The request body is not valid JSON.") from None

"""Error answers raised from handlers: one base, one body format per vendor.

A handler deep in a resource module finds that a reference is missing; the answer must
be the vendor's error format with the right status. Raising an :class:`ApiError` lets
that code stay a plain function: :class:`~sandbox.core.app.SandboxApp` turns any
``ApiError`` that leaves a handler into :meth:`ApiError.response`. A vendor subclasses it
only to say how its error body looks (eEkonomi's ``CommonExtendedBadRequest``, Severa's
``ExceptionModel``); the back office uses the base, whose body is ``{"error": text}``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.core.http import JSON, Response


class ApiError(Exception):
    """An answer with ``status``; :meth:`body` builds what it says (override per vendor)."""

    def __init__(
        self, status: int, message: str, *, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)

    def body(self) -> JSON:
        """The answer's JSON body; the back office's plain ``{"error": message}`` here."""
        return {"error": self.message}

    def response(self) -> Response:
        return Response.json(self.status, self.body(), self.headers)

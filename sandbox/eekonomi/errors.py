"""eEkonomi's error answers: ``CommonExtendedBadRequest`` with its ErrorCodes.

Every failure of the real API carries ``ErrorCode``, ``DeveloperErrorMessage``, a fresh
``ErrorId`` and per-field ``Errors``; the product classifies failures by the code (2000
validation, 3000 missing reference, 4000 duplicate...), so the sandbox must answer the
same codes in the same places. Handlers raise :class:`EEkonomiError` (a
:class:`~sandbox.core.errors.ApiError`) through the helpers below.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sandbox.core.args import BadArgument
from sandbox.core.errors import ApiError
from sandbox.core.http import JSON

FieldError = dict[str, str | None]


class EEkonomiError(ApiError):
    """An answer in eEkonomi's ``CommonExtendedBadRequest`` format, raised from handlers."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: list[FieldError] | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(status, message, headers=headers)
        self.code = code
        self.errors = errors or []

    def body(self) -> JSON:
        return error_body(self.code, self.message, self.errors)


def error_body(code: int, message: str, errors: list[FieldError] | None = None) -> dict[str, Any]:
    """``CommonExtendedBadRequest``: a fresh ``ErrorId`` on every failure, like Visma's."""
    return {
        "ErrorCode": code,
        "DeveloperErrorMessage": message,
        "ErrorId": str(uuid.uuid4()),
        "Errors": errors or [],
    }


def field_error(field_name: str, message: str, code: str = "2000") -> FieldError:
    return {"Field": field_name, "ErrorCode": code, "Message": message, "Key": None}


def validation_error(errors: list[FieldError]) -> EEkonomiError:
    first = errors[0]["Message"] if errors else "invalid data"
    return EEkonomiError(400, 2000, f"ValidationException - {first}", errors)


def invalid(field_name: str, message: str) -> EEkonomiError:
    """A 2000 about one field."""
    return validation_error([field_error(field_name, message)])


def not_found(what: str) -> EEkonomiError:
    return EEkonomiError(404, 3000, f"ResourceNotFoundException - {what} was not found")


def missing_reference(field_name: str, what: str) -> EEkonomiError:
    message = f"ResourceNotFoundException - {what} referenced by {field_name} was not found"
    return EEkonomiError(400, 3000, message, [field_error(field_name, message, "3000")])


def duplicate(code: int, field_name: str, value: str) -> EEkonomiError:
    """A duplicate number (``code``: the ``duplicate_number_error`` switch)."""
    message = f"DuplicateException - {field_name} '{value}' is already in use"
    return EEkonomiError(400, code, message, [field_error(field_name, message, str(code))])


def query_error(code: int, message: str) -> EEkonomiError:
    """A bad query parameter: 6000 (syntax, unknown property) or 6001 (bad date)."""
    return EEkonomiError(400, code, f"QueryParameterException - {message}")


def from_bad_argument(exc: BadArgument) -> EEkonomiError:
    """Core's vendor-neutral :class:`BadArgument` as eEkonomi answers it."""
    if exc.expected == "date-time":
        return EEkonomiError(
            400, 6001, f"InvalidInputException - '{exc.value}' is not a valid date"
        )
    if exc.name == "body":
        return invalid("body", f"The request body must be {exc.expected}.")
    return query_error(6000, f"{exc.name} must be {_article(exc.expected)}")


def _article(expected: str) -> str:
    return f"an {expected}" if expected[:1] in "aeiou" else f"a {expected}"

"""Contract checking: every sandbox exchange in the test suite against Visma's OpenAPI.

The sandboxes are the ground truth of every later test, so they must not drift from the
vendors' published contracts. ``tests/conftest.py`` registers :class:`ContractChecker`
in ``sandbox.core.GLOBAL_OBSERVERS``; it validates

* every request a sandbox *accepted* (answered below 400) — its parameters and body —
  so neither a client sending what Visma would refuse nor a sandbox too lenient to
  notice goes unseen (also when the request lacks a header the document's ``security``
  names: openapi-core stops at such a security error, so parameters and body are then
  validated on their own — whether credentials suffice is the sandbox's call), and
* every response whose status the document describes, body included.

Paths the documents do not cover (the OAuth identity server, the back office) are
counted, not validated. Validation failures are collected and the test that caused them
fails at teardown. When ``../shared`` is absent the checker is off and says so.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sandbox.core import Request, Response

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SPECS = {
    "severa": (SHARED / "apis" / "severa-v1.subset.openapi.yaml", "https://api.severa.visma.com"),
    "eekonomi": (
        SHARED / "apis" / "eaccounting-v2.openapi.yaml",
        "https://eaccountingapi.vismaonline.com",
    ),
}


def available() -> bool:
    return all(path.is_file() for path, _ in SPECS.values())


@dataclass
class _OARequest:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: Any


@dataclass
class _OAResponse:
    status_code: int
    data: bytes | None
    content_type: str
    headers: Any


@dataclass
class ContractChecker:
    """Validates sandbox exchanges; thread-safe (sandbox servers answer on threads)."""

    violations: list[str] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _spec_lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def _specs(self) -> dict[str, Any]:
        from openapi_core import Config, OpenAPI

        # The published documents do not pass strict spec validation (e.g. eAccounting's
        # '/articlelabels/{articlelabelid}' declares its path parameter in another case),
        # so check exchanges against them without validating the documents themselves.
        config = Config(spec_validator_cls=None)
        return {
            name: OpenAPI.from_file_path(str(path), config=config)
            for name, (path, _) in SPECS.items()
        }

    def spec(self, name: str) -> Any:
        with self._spec_lock:
            return self._specs[name]

    @cached_property
    def _unsecured(self) -> dict[str, tuple[Any, ...]]:
        """Per document: validators of parameters and body alone (no security check)."""
        from openapi_core.validation.request import (
            V30RequestBodyValidator,
            V30RequestParametersValidator,
        )

        return {
            name: (
                V30RequestParametersValidator(spec.spec, spec_validator_cls=None),
                V30RequestBodyValidator(spec.spec, spec_validator_cls=None),
            )
            for name, spec in self._specs.items()
        }

    def _request_errors(self, name: str, oa_request: _OARequest) -> list[Exception]:
        """Request errors, security aside; see the module docstring."""
        from openapi_core.validation.request.exceptions import (
            MissingRequestBody,
            SecurityValidationError,
        )

        with self._spec_lock:
            spec = self._specs[name]
            unsecured = self._unsecured[name]
        errors = list(spec.iter_request_errors(oa_request))
        if not any(isinstance(error, SecurityValidationError) for error in errors):
            return errors
        errors = [e for e in errors if not isinstance(e, SecurityValidationError)]
        for validator in unsecured:
            errors.extend(
                e
                for e in validator.iter_errors(oa_request)
                if not isinstance(e, MissingRequestBody)
            )
        return errors

    def __call__(self, app_name: str, request: Request, response: Response) -> None:
        if app_name not in SPECS:
            return
        from openapi_core.datatypes import RequestParameters
        from openapi_core.templating.paths.exceptions import PathError
        from openapi_core.templating.responses.exceptions import ResponseNotFound
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        path = request.path
        if app_name == "severa":
            path = path.replace("/v1.0/", "/v1/", 1)
        host = SPECS[app_name][1]
        query = ImmutableMultiDict([(k, v) for k, vs in request.query.items() for v in vs])
        params = RequestParameters(query=query, header=Headers(dict(request.headers)))
        oa_request = _OARequest(
            host_url=host,
            path=path,
            method=request.method.lower(),
            body=request.body or None,
            content_type=(request.headers.get("Content-Type") or "application/json").lower(),
            parameters=params,
        )
        oa_response = _OAResponse(
            status_code=response.status,
            data=response.body or None,
            content_type=(response.header("Content-Type") or "application/json").lower(),
            headers=Headers(response.headers),
        )
        spec = self.spec(app_name)
        found: list[str] = []
        where = f"{app_name} {request.method} {path} -> {response.status}"
        try:
            if response.status < 400:
                for error in self._request_errors(app_name, oa_request):
                    if isinstance(error, PathError):
                        with self._lock:
                            self.checked["not in the document"] += 1
                        return
                    found.append(f"request: {_describe(error)}")
            for error in spec.iter_response_errors(oa_request, oa_response):
                if isinstance(error, PathError | ResponseNotFound):
                    continue
                found.append(f"response: {_describe(error)}")
        except Exception as exc:  # noqa: BLE001 - a checker crash must surface as a violation
            found.append(f"checker error: {type(exc).__name__}: {exc}")
        with self._lock:
            self.checked[app_name] += 1
            self.violations.extend(f"{where}: {text}" for text in found)

    def take(self) -> list[str]:
        with self._lock:
            out, self.violations = self.violations, []
        return out


def _describe(error: BaseException) -> str:
    parts = [f"{type(error).__name__}: {error}"]
    cause = error.__cause__
    while cause is not None and len(parts) < 4:
        details = getattr(cause, "schema_errors", None)
        if details:
            parts.extend(str(getattr(d, "message", d))[:300] for d in list(details)[:3])
        else:
            parts.append(f"{type(cause).__name__}: {str(cause)[:300]}")
        cause = cause.__cause__
    return " | ".join(parts)

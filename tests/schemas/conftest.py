"""Shared by the schema tests: vendor payloads from ``tests/fixtures`` and a check of any
payload against the vendor's OpenAPI component schema.

Fixtures are raw vendor JSON (camelCase for Severa, PascalCase for eEkonomi) and are
themselves checked against the published documents, so the mapping is tested against
what the APIs really send, and what we dump against what they accept.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SHARED_APIS = Path(__file__).resolve().parents[3] / "shared" / "apis"
SPEC_FILES = {
    "severa": SHARED_APIS / "severa-v1.subset.openapi.yaml",
    "eekonomi": SHARED_APIS / "eaccounting-v2.openapi.yaml",
}


def load_fixture(name: str) -> Any:
    """A fresh copy of ``tests/fixtures/<side>/<name>.json`` (tests may change it)."""
    return copy.deepcopy(_read(name))


@functools.cache
def _read(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@functools.cache
def _components(side: str) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_FILES[side].open(encoding="utf-8") as handle:
        components = yaml.load(handle, Loader=loader)["components"]  # noqa: S506 - safe loader
    return dict(_nullable_refs(components))


def _nullable_refs(node: Any) -> Any:
    """Severa's document writes nullable references as ``$ref`` + ``nullable: true``.

    OpenAPI 3.0 ignores keywords beside ``$ref``, so a strict validator would refuse
    the ``null`` Severa really sends (``"invoiceTemplate": null``). Rewrite them to
    "the reference, or null", which is what the document means.
    """
    if isinstance(node, dict):
        if "$ref" in node and node.get("nullable") is True:
            return {"anyOf": [{"$ref": node["$ref"]}, {"enum": [None]}]}
        return {key: _nullable_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_nullable_refs(item) for item in node]
    return node


def contract_errors(side: str, model: str, payload: Any, *, sent: bool) -> list[str]:
    """Every way ``payload`` breaks the vendor's ``model`` schema.

    ``sent`` selects the direction for Severa's OpenAPI 3.0 document: a body we send
    may not carry read-only fields, one we receive may.
    """
    from openapi_schema_validator import (
        OAS30ReadValidator,
        OAS30WriteValidator,
        OAS31Validator,
    )

    schema = {"$ref": f"#/components/schemas/{model}", "components": _components(side)}
    if side == "severa":
        validator_cls: Any = OAS30WriteValidator if sent else OAS30ReadValidator
    else:
        validator_cls = OAS31Validator
    validator = validator_cls(schema)
    return sorted(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(payload)
    )


@pytest.fixture
def assert_contract() -> Callable[..., None]:
    """``assert_contract("eekonomi", "CustomerApi", payload, sent=True)``; skips when
    the shared OpenAPI documents are not beside the checkout."""
    if not all(path.is_file() for path in SPEC_FILES.values()):
        pytest.skip("../shared/apis/*.openapi.yaml not found: contract not checked")

    def check(side: str, model: str, payload: Mapping[str, Any], *, sent: bool) -> None:
        errors = contract_errors(side, model, payload, sent=sent)
        assert not errors, f"{side} {model} contract broken:\n  " + "\n  ".join(errors)

    return check

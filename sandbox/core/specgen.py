"""Generate the sandboxes' field specs from the vendors' OpenAPI documents.

    python -m sandbox.core.specgen eekonomi        # rewrite the committed modules
    python -m sandbox.core.specgen eekonomi --check  # exit 1 when they are out of date

The sandboxes validate writes and default reads from :class:`~sandbox.core.specs.FieldSpec`
lists that must say exactly what the vendor's document says — hand-copied lists drift.
So they are generated from ``../shared/apis/<document>`` into plain Python modules that
are committed: the sandbox never reads ``../shared`` at run time (it is not shipped),
and a reader can open the module. ``tests/sandbox/test_eekonomi_contract.py`` fails when
the committed modules differ from what this generator makes of the document.

A :class:`Target` names the document, the output package and which models go into which
module (each module gets its models plus every model they ``$ref``, transitively, that
no earlier module took). Both OpenAPI 3.1 (``type: [string, "null"]``) and 3.0
(``nullable: true``) are read, so Severa's document can be added as another target.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED_APIS = ROOT.parent / "shared" / "apis"
LINE = 100


@dataclass(frozen=True)
class Target:
    """One vendor: its document (in ``../shared/apis``), the package the modules go to
    (relative to the repository), and module name → the models it holds."""

    document: str
    package: str
    modules: Mapping[str, tuple[str, ...]]
    title: str


TARGETS: dict[str, Target] = {
    "eekonomi": Target(
        document="eaccounting-v2.openapi.yaml",
        package="sandbox/eekonomi/fields",
        title="eEkonomi",
        modules={
            "registers": (
                "CompanySettingsApi",
                "CustomerApi",
                "ArticleApi",
                "ArticleAccountCodingApi",
                "UnitApi",
                "TermsOfPaymentApi",
                "CountryApi",
                "CurrencyApi",
                "CostCenterApi",
                "CostCenterItemApi",
                "ProjectApi",
            ),
            "documents": (
                "CustomerInvoiceDraftApi",
                "CustomerInvoiceDraftRowApi",
                "CustomerInvoiceApi",
                "CustomerInvoiceRowApi",
                "CustomerInvoiceVatApi",
                "SupplierInvoiceApi",
                "SupplierInvoiceRowApi",
                "CustomerInvoiceDraftValidationApi",
                "CustomerInvoiceDraftValidationRowApi",
            ),
        },
    ),
}

_FORMATS = {"uuid": "uuid", "date-time": "datetime", "date": "date"}
_TYPES = {"integer": "int", "number": "num", "boolean": "bool", "array": "list", "object": "obj"}


def load(path: Path) -> dict[str, Any]:
    """The document as data (PyYAML is a development dependency: imported here only)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - safe loader
    return document


def _ref_name(node: Mapping[str, Any]) -> str | None:
    ref = node.get("$ref")
    return str(ref).rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _types(prop: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The property's JSON type and whether it may be null (3.1 lists or 3.0 ``nullable``)."""
    declared = prop.get("type")
    if isinstance(declared, list):
        named = [t for t in declared if t != "null"]
        return (named[0] if named else None), "null" in declared
    return declared, bool(prop.get("nullable"))


def field_options(prop: Mapping[str, Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`FieldSpec` keywords of one property (defaults left out)."""
    declared, nullable = _types(prop)
    ref = _ref_name(prop)
    target = schemas.get(ref, {}) if ref else {}
    options: dict[str, Any] = {}
    if ref and "enum" in target:  # a $ref to an enum model: its values, its type
        declared = target.get("type", "string")
        options["enum"] = tuple(target["enum"])
    elif ref:
        options["schema"] = ref
        declared = "object"
    if declared == "string":
        kind = _FORMATS.get(str(prop.get("format")), "str")
    else:
        kind = _TYPES.get(str(declared), "obj")
    if kind == "list":
        item_ref = _ref_name(prop.get("items") or {})
        if item_ref:
            options["schema"] = item_ref
    if "enum" in prop:
        options["enum"] = tuple(v for v in prop["enum"] if v is not None)
    for key, name in (
        ("maxLength", "max_length"),
        ("minLength", "min_length"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
    ):
        if key in prop and not (key == "minLength" and prop[key] == 0):
            options[name] = prop[key] if key.endswith("Length") else float(prop[key])
    return {"kind": kind, "nullable": nullable, "readonly": bool(prop.get("readOnly")), **options}


def _quoted(text: str) -> str:
    """A string literal as ``ruff format`` writes it (double quotes)."""
    return json.dumps(text, ensure_ascii=False)


def _call(kind: str, options: Mapping[str, Any]) -> str:
    parts = [_quoted(kind)]
    for key, value in options.items():
        if key == "kind" or value is False:
            continue
        parts.append(f"{key}={_literal(value)}")
    return f"F({', '.join(parts)})"


def _literal(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return f"{value:.1f}"
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return _quoted(value)
    return repr(value)


def _property_lines(name: str, call: str) -> list[str]:
    """One property as ``ruff format`` writes it (exploded when over the line length)."""
    key = _quoted(name)
    line = f"        {key}: {call},"
    if len(line) <= LINE:
        return [line]
    inner = call[2:-1]
    if len(f"            {inner}") <= LINE:
        return [f"        {key}: F(", f"            {inner}", "        ),"]
    args = [part.strip() for part in inner.split(", ")]
    return [f"        {key}: F(", *(f"            {a}," for a in args), "        ),"]


def schema_lines(name: str, schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> list[str]:
    required = set(schema.get("required") or ())
    lines = [f"    {_quoted(name)}: {{"]
    for prop_name, prop in (schema.get("properties") or {}).items():
        options = field_options(prop, schemas)
        if prop_name in required:
            options["required"] = True
        lines.extend(_property_lines(prop_name, _call(options["kind"], options)))
    lines.append("    },")
    return lines


def _closure(roots: Iterable[str], schemas: Mapping[str, Any], taken: set[str]) -> list[str]:
    """``roots`` and the object models they reference, transitively, minus ``taken``."""
    order: list[str] = []
    pending = list(roots)
    while pending:
        name = pending.pop(0)
        if name in taken or name in order:
            continue
        order.append(name)
        for prop in (schemas[name].get("properties") or {}).values():
            for node in (prop, prop.get("items") or {}):
                ref = _ref_name(node)
                if ref and "enum" not in schemas.get(ref, {}):
                    pending.append(ref)
    return order


def _header(target: Target, digest: str, models: str) -> list[str]:
    return [
        f'"""Field specs of {target.title}\'s {models}, generated from ``{target.document}``.',
        "",
        f"Generated by ``python -m sandbox.core.specgen {_target_name(target)}`` (document",
        f"sha256 {digest[:16]}); do not edit — change the generator or its target instead.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
    ]


def _target_name(target: Target) -> str:
    return next(name for name, known in TARGETS.items() if known is target)


def render(target: Target, document: Mapping[str, Any], digest: str) -> dict[str, str]:
    """File name → source of every module of ``target`` (the package's too)."""
    schemas = document["components"]["schemas"]
    taken: set[str] = set()
    files: dict[str, str] = {}
    for module, roots in target.modules.items():
        names = _closure(roots, schemas, taken)
        taken.update(names)
        lines = _header(target, digest, module)
        lines += ["from sandbox.core.specs import FieldSpec as F", "", "SCHEMAS = {"]
        for name in names:
            lines += schema_lines(name, schemas[name], schemas)
        lines.append("}")
        files[f"{module}.py"] = "\n".join(lines) + "\n"
    files["__init__.py"] = _package(target, digest)
    return files


def _package(target: Target, digest: str) -> str:
    modules = sorted(target.modules)
    lines = _header(target, digest, "models")
    lines += [
        "from sandbox.core.specs import Schema, named",
        f"from {target.package.replace('/', '.')} import {', '.join(modules)}",
        "",
        "#: Model name → its properties in document order (``FieldSpec.name`` set).",
        "SCHEMAS: dict[str, Schema] = {",
        *(f"    **{{k: named(v) for k, v in {m}.SCHEMAS.items()}}," for m in modules),
        "}",
    ]
    return "\n".join(lines) + "\n"


def generate(name: str, shared_apis: Path = SHARED_APIS) -> dict[Path, str]:
    """Output path → source for target ``name`` (nothing is written)."""
    target = TARGETS[name]
    path = shared_apis / target.document
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    package = ROOT / target.package
    return {package / file: text for file, text in render(target, load(path), digest).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.core.specgen", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--check", action="store_true", help="only report stale modules")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generate(args.target).items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    verb = "stale" if args.check else "wrote"
    for path in stale:
        print(f"{verb} {path.relative_to(ROOT)}")  # noqa: T201 - a command-line tool
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())

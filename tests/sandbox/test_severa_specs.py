"""Severa sandbox: the input-model field specs are the OpenAPI document's, generated into a
committed module, with the behaviour the document does not show written beside them."""

from __future__ import annotations

import pytest

from sandbox.severa import specgen, specs
from sandbox.severa.models import SCHEMAS


def test_given_the_document_when_generating_then_the_committed_module_matches() -> None:
    """The sandbox imports its field specs (never ``../shared`` at run time); they must
    be exactly what the generator makes of the document now."""
    document = specgen.SHARED_APIS / specgen.DOCUMENT
    if not document.is_file():
        pytest.skip(f"the OpenAPI document is not at {document}: cannot regenerate")
    expected = specgen.generate()
    assert specgen.OUTPUT.read_text(encoding="utf-8") == expected, (
        "sandbox/severa/models.py is stale: run python -m sandbox.severa.specgen"
    )


def test_given_the_generated_models_when_validated_against_then_read_only_fields_are_ignored() -> (
    None
):
    for name, model in (("CustomerModel", specs.CUSTOMER_IN), ("ContactModel", specs.CONTACT_IN)):
        read_only = {field for field, spec in SCHEMAS[name].items() if spec.readonly}
        assert read_only, name
        assert not read_only & set(model), name
    assert "isInternal" not in specs.CUSTOMER_IN
    assert {"emails", "phoneNumbers", "name", "isDeleted"}.isdisjoint(specs.CONTACT_IN)


def test_given_the_documented_models_when_overlaid_then_references_name_collections() -> None:
    assert specs.CUSTOMER_IN["currency"].ref == "currencies"
    assert specs.CONTACT_IN["customer"].ref == "customers"
    assert specs.CONTACT_IN["customer"].required
    assert specs.PROJECT_IN["projectOwner"].ref == "users"
    # the document's x-relation says PhaseOutputModel; the sandbox knows better
    assert specs.FEE_IN["invoice"].ref == "invoices"
    assert specs.FEE_IN["unitPrice"].kind == "money"
    assert specs.TRAVEL_TYPE_IN["unitCost"].kind == "money"
    assert specs.TRAVEL_TYPE_IN["unitCost"].required
    # an address's customer is the path's, its contacts derived: not writable
    assert {"customer", "contacts"}.isdisjoint(specs.ADDRESS_IN)


def test_given_the_document_when_read_then_lengths_and_enums_come_from_it() -> None:
    assert specs.CUSTOMER_IN["kvkNumber"].max_length == 25
    assert specs.VAT_RATE_IN["code"].max_length == 10
    assert specs.CUSTOMER_IN["name"].min_length == 1
    assert specs.PRODUCT_TYPES == ("FixedFees", "Materials", "Subcontracting")
    assert specs.CONTACT_IN["salutation"].enum == ("Mr.", "Mrs.", "Ms.")
    assert specs.CREATE_INVOICE_IN["projects"].kind == "list"
    assert all(spec.name == name for name, spec in specs.INVOICE_PATCH.items())

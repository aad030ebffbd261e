"""Every register the sync transfers, collected from the register modules: one line each.

The order is the order ``run all`` and the demo transfer them: customers and products
before projects, and all three before invoices, which depend on them; the invoice checks
after the invoices; supplier invoices last (they need the projects linked). The queues,
the CLI, beat, the demo and the company settings read this tuple, never a list of their
own (CONTRIBUTING.md, "Add a register"; ``tests/test_registry.py`` checks that each
register has its queue, tasks, settings, CLI name and sandbox resources).
"""

from __future__ import annotations

from worker.sync.customers import Customers
from worker.sync.engine import Register
from worker.sync.invoice_checks import PaidInvoices, SentInvoices
from worker.sync.invoices import Invoices
from worker.sync.products import Products
from worker.sync.projects import Projects
from worker.sync.register import RegisterSpec
from worker.sync.supplier_invoices import SupplierInvoices

REGISTERS: tuple[Register, ...] = (
    Customers(),
    Products(),
    Projects(),
    Invoices(),
    SentInvoices(),
    PaidInvoices(),
    SupplierInvoices(),
)

#: The registers by name.
BY_NAME: dict[str, Register] = {register.name: register for register in REGISTERS}

#: Every register's name, in transfer order (the CLI's choices, the record queues).
NAMES: tuple[str, ...] = tuple(BY_NAME)


class UnknownRegister(ValueError):
    """A register name that is not declared; the message lists the known ones."""


def register_named(name: str) -> Register:
    """The register called ``name``, or :class:`UnknownRegister` naming the choices."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise UnknownRegister(f"unknown register {name!r}: one of {', '.join(NAMES)}") from None


def spec_of(name: str) -> RegisterSpec:
    """The declaration of the register called ``name`` (see :func:`register_named`)."""
    return register_named(name).spec


def task_modules() -> list[str]:
    """The modules defining the registers' tasks, each once, in register order."""
    return list(dict.fromkeys(register.spec.tasks_module for register in REGISTERS))

"""Shared machinery of the two API sandboxes, one module per concern.

The sandboxes stand in for Visma Severa and Visma eEkonomi, which cannot be reached
from our machines. Each vendor package subclasses :class:`SandboxApp` and registers its
routes. What both use lives here, once:

* :mod:`~sandbox.core.http` — the request/response model and the router;
* :mod:`~sandbox.core.app` — :class:`SandboxApp`: request path, back office, request log;
* :mod:`~sandbox.core.faults` — fault injection (:class:`Fault`);
* :mod:`~sandbox.core.serving` — :class:`SandboxServer` (real HTTP) and
  :class:`SandboxAdapter` (in-process on a ``requests.Session``);
* :mod:`~sandbox.core.rate` — :class:`RateWindow`, sliding-window rate limits;
* the shapes both vendors model their behaviour with: :mod:`~sandbox.core.switches`
  (unconfirmed-behaviour switches), :mod:`~sandbox.core.errors` (:class:`ApiError`),
  :mod:`~sandbox.core.store` (:class:`Collection`, indexed), :mod:`~sandbox.core.args`
  (argument parsing), :mod:`~sandbox.core.clock` (:class:`Clock`),
  :mod:`~sandbox.core.money` (:func:`round_money`) and :mod:`~sandbox.core.specs`
  (:class:`FieldSpec`), whose vendor instances :mod:`~sandbox.core.specgen` generates
  from the vendors' OpenAPI documents (a development tool: not imported at run time).

The sandbox imports nothing of the product: it speaks raw vendor JSON only, so a
mapping bug in the product cannot be mirrored by the fake and go unnoticed.
"""

from __future__ import annotations

from sandbox.core.app import GLOBAL_OBSERVERS, LoggedRequest, Observer, SandboxApp
from sandbox.core.args import BadArgument
from sandbox.core.clock import Clock, parse_time, utc_ms
from sandbox.core.errors import ApiError
from sandbox.core.faults import FAULT_ACTIONS, Fault
from sandbox.core.http import JSON, DropConnection, Handler, Request, Response, Route, Router
from sandbox.core.money import as_decimal, decimals_of, round_money
from sandbox.core.rate import RateWindow
from sandbox.core.serving import SandboxAdapter, SandboxServer
from sandbox.core.specs import FieldSpec, Schema
from sandbox.core.store import Collection, Record, dig
from sandbox.core.switches import Switches

__all__ = [
    "FAULT_ACTIONS",
    "GLOBAL_OBSERVERS",
    "JSON",
    "ApiError",
    "BadArgument",
    "Clock",
    "Collection",
    "DropConnection",
    "Fault",
    "FieldSpec",
    "Handler",
    "LoggedRequest",
    "Observer",
    "RateWindow",
    "Record",
    "Request",
    "Response",
    "Route",
    "Router",
    "SandboxAdapter",
    "SandboxApp",
    "SandboxServer",
    "Schema",
    "Switches",
    "as_decimal",
    "decimals_of",
    "dig",
    "parse_time",
    "round_money",
    "utc_ms",
]

"""Local stand-in for the Visma Severa REST API v1 (``/rest-api/v1/...``).

Why it exists: Severa cannot be reached from our machines, and a fake that is kinder
than the real thing hides exactly the bugs that hurt in production. So this sandbox
reproduces Severa's *published contract* (the OpenAPI subset in
``shared/apis/severa-v1.subset.openapi.yaml``) and the behaviour the contract notes
(``shared/apis/severa-notes.md``) describe, quirks included:

* client-credentials tokens from ``POST /v1/token`` (field names matched
  case-insensitively, scopes space- or comma-separated, one-hour access tokens) and
  rotating refresh tokens from ``POST /v1/refreshtoken``; scopes enforced per resource;
  the ``Client_Id`` header tolerated when absent and rejected when it names another
  client (:mod:`.identity`);
* two paging styles: opaque ``pageToken`` + ``NextPageToken`` response header on the big
  collections, ``firstRow``/``rowCount`` on the settings lists, and no paging at all on
  VAT rates; ``rowCount`` defaults to 20 and is clamped to 100 (:mod:`.paging`);
* ``changedSince`` (greater or equal, against ``lastUpdatedDateTime`` or else
  ``createdDateTime``) only where the document has it;
* JSON Patch updates that answer *arrays* (:mod:`.patch`), ``POST /v1/projectfees`` and
  ``POST /v1/invoices`` answering arrays too, ``op`` accepted in any case;
* every error as an ``ExceptionModel`` body (:mod:`.errors`); 429 with ``Retry-After``
  at about ten requests per second per client;
* several organizations, one per set of credentials, each with its own store
  (:mod:`.app`, :mod:`.tenant`).

Where the notes say a behaviour is unconfirmed, the choice is a keyword-only
constructor switch (:class:`SeveraSwitches`) with the most likely real behaviour as
default, also settable at run time through ``POST /_sandbox/switches``.

The resources are one module per family: :mod:`.customers`, :mod:`.articles`,
:mod:`.organization`, :mod:`.projects`, :mod:`.invoices` and :mod:`.invoicing`; the
person-in-the-UI calls are :mod:`.backoffice`; the demo data's generator is
:mod:`.demo`. Documentation: ``sandbox/docs/severa.md``.
"""

from __future__ import annotations

from sandbox.severa.app import (
    DEFAULT_ORGANIZATION,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_DATA,
    HOLDING_CLIENT_ID,
    HOLDING_CLIENT_SECRET,
    HOLDING_DEMO_DATA,
    HOLDING_ORGANIZATION,
    SeveraSandbox,
    demo_data,
    holding_demo_data,
)
from sandbox.severa.errors import SeveraError
from sandbox.severa.handlers import Ctx
from sandbox.severa.identity import ALL_SCOPES
from sandbox.severa.store import COLLECTIONS
from sandbox.severa.switches import SeveraSwitches
from sandbox.severa.tenant import Organization
from sandbox.severa.wire import money_output, new_guid, pick

__all__ = [
    "ALL_SCOPES",
    "COLLECTIONS",
    "DEFAULT_ORGANIZATION",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_DATA",
    "HOLDING_CLIENT_ID",
    "HOLDING_CLIENT_SECRET",
    "HOLDING_DEMO_DATA",
    "HOLDING_ORGANIZATION",
    "Ctx",
    "Organization",
    "SeveraError",
    "SeveraSandbox",
    "SeveraSwitches",
    "demo_data",
    "holding_demo_data",
    "money_output",
    "new_guid",
    "pick",
]

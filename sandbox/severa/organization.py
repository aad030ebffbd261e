"""The organization's own records: its details (name, country, currency) and settings.

Severa shows each as a single record, readable with ``organization:read``. The sync
reads the organization's currency and country from them, and the sandbox numbers new
customers, projects and invoices from the ``next…Number`` settings.
"""

from __future__ import annotations

from sandbox.severa.handlers import ApiRoute, singleton

ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/organizationdetails", singleton("organizationDetails"), "organization:read"),
    ApiRoute(
        "GET", "/organizationsettings", singleton("organizationSettings"), "organization:read"
    ),
)

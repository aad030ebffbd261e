"""Passwords out of everything the service shows: one helper masks them in URLs and text.

``REDIS_URL`` may carry a password (``redis://:secret@host``), and so does the embedded
Redis's URL the run command hands to its processes. The ``config`` listing, the ``serve``
banner, ``doctor`` and error messages all show URLs; each passes them through
:func:`redact` so that no output path can forget the password. It lives in ``config``
because the settings' own ``describe`` uses it and ``config`` imports nothing of the
worker.
"""

from __future__ import annotations

import re

#: ``scheme://user:password@`` anywhere in a text; the password runs to the last ``@``
#: of the authority (as :func:`urllib.parse.urlsplit` reads it).
_USERINFO = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/?#@]*):(?P<password>[^\s/?#]*)@"
)
MASK = "***"


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    >>> redact("redis://:s3cret@127.0.0.1:6379/0")
    'redis://:***@127.0.0.1:6379/0'
    >>> redact("no answer from rediss://sync:pw@cache.example:6380/2 (timeout)")
    'no answer from rediss://sync:***@cache.example:6380/2 (timeout)'
    """

    def mask(match: re.Match[str]) -> str:
        if not match["password"]:
            return match.group(0)
        return f"{match['head']}:{MASK}@"

    return _USERINFO.sub(mask, text)


def mask_url(url: str) -> str:
    """A URL for display: :func:`redact` of one URL (``redis://:***@host``)."""
    return redact(url)

"""Secrets kept out of what is shown: a URL or connection string with its password (or
token) replaced, for banners, logs and error messages."""

from __future__ import annotations

import re

HIDDEN = "***"
_KEY_VALUE = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY = re.compile(r"([?&](?:password|token)=)[^&]*", re.IGNORECASE)


def redact(url: str) -> str:
    """``postgresql://spn:secret@db/spn`` as ``postgresql://spn:***@db/spn``: in each of
    several comma-separated URLs, whatever stands between ``user:`` (or ``://``, a token)
    and the last ``@`` of its authority; ``password=`` in a key=value string or a query."""
    if "://" not in url:
        return _KEY_VALUE.sub(rf"\g<1>{HIDDEN}", url)
    return ",".join(_one(part) for part in url.split(","))


def _one(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    at = rest.rfind("@")
    if at >= 0:  # userinfo: everything up to the last @ (a password may hold '/', '#', '@')
        user, colon, secret = rest[:at].partition(":")
        shown = f"{user}:{HIDDEN}" if colon and secret else (user if colon else HIDDEN)
        rest = shown + (":" if colon and not secret else "") + rest[at:]
    query_hidden = _QUERY.sub(r"\g<1>" + HIDDEN, rest)
    return f"{scheme}://{query_hidden}"

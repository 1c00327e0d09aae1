"""Secrets kept out of what is shown: a URL or connection string with its password
replaced, for banners, logs and error messages."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

HIDDEN = "***"
_KEY_VALUE = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(url: str) -> str:
    """``postgresql://spn:secret@db/spn`` as ``postgresql://spn:***@db/spn`` (and
    ``password=secret`` in a key=value string, ``?password=`` in a query, as ``***``)."""
    if "://" not in url:
        return _KEY_VALUE.sub(rf"\g<1>{HIDDEN}", url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        netloc = f"{name}:{HIDDEN}@{host}"
    query = re.sub(r"(password=)[^&]*", rf"\g<1>{HIDDEN}", parts.query, flags=re.IGNORECASE)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

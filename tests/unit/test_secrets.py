"""No password in what is shown: URLs and connection strings redacted; the banner of
`spn up` shows a password-bearing database URL without its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.shared.secrets import redact
from spn.stack.settings import StackSettings
from spn.stack.supervisor import Stack


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://spn:s3cr%40t@db:5432/spn?sslmode=require",
     "postgresql://spn:***@db:5432/spn?sslmode=require"),
    ("postgresql://u@h/d?password=s3cret&x=1", "postgresql://***@h/d?password=***&x=1"),
    ("nats://a:s3cret@h1,nats://b:s3cret@h2", "nats://a:***@h1,nats://b:***@h2"),
    ("nats://s3cret@h:4222", "nats://***@h:4222"),  # a token
    ("postgresql://u:s3#c/r[et@db/x", "postgresql://u:***@db/x"),  # not URL-encoded
    ("host=db password=s3cret user=spn", "host=db password=*** user=spn"),
    ("password='s 3 cret' host=db", "password=*** host=db"),
    ("nats://svc:s3cret@127.0.0.1:4222", "nats://svc:***@127.0.0.1:4222"),
    ("postgresql://postgres:@/spn?host=/tmp/x", "postgresql://postgres:@/spn?host=/tmp/x"),
])  # fmt: skip
def test_a_password_is_never_shown(url: str, shown: str):
    assert redact(url) == shown


def test_the_banner_shows_no_database_password(tmp_path: Path):
    settings = StackSettings(data_dir=tmp_path, database_url="postgresql://spn:s3cret@db/spn",
                             nats_url="nats://svc:t0ken@nats:4222")  # fmt: skip
    stack = Stack(settings, say=lambda line: None)
    stack.nats_url, stack.database_url = settings.nats_url or "", settings.database_url or ""
    banner = stack.describe()
    assert "s3cret" not in banner and "t0ken" not in banner
    assert "postgresql://spn:***@db/spn" in banner

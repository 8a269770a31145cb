"""A rules.yaml pointing both mailboxes at the test Dovecot and SMTP server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from servers import GERMAN_USER, INTL_USER, PASSWORD
from tests.helpers import REPO, shipped_rules_data

USERS = {"international": INTL_USER, "german": GERMAN_USER}


def write_rules(tmp_path: Path, dovecot, smtp, ahead: bool = True, **overrides) -> Path:
    """The shipped rules on the test servers; `ahead`: the event a month from now (tests not about dates)."""
    data = shipped_rules_data(ahead)
    for name, user in USERS.items():
        box = data["mailboxes"][name]
        box["imap"] = {"host": dovecot.host, "port": dovecot.port, "security": "none", "username": user,
                       "password_env": "MAILFLOW_TEST_PASSWORD", "timeout": 10}
        box["smtp"] = {"host": smtp.host, "port": smtp.port, "security": "none", "timeout": 10}
    data["database"] = str(tmp_path / "mailflow.db")
    data["send_rate_per_minute"] = 0
    data["templates"] = str(REPO / "templates")
    # Mail counts as delivered once sent, unless a test is about holding a new address's mail
    # until its confirmation has had time to bounce (it passes bounce_grace_minutes itself).
    data["bounce_grace_minutes"] = 0
    for key, value in overrides.items():
        data[key] = value
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.fixture
def servers(clean_dovecot, smtp_server, monkeypatch):
    monkeypatch.setenv("MAILFLOW_TEST_PASSWORD", PASSWORD)
    return clean_dovecot, smtp_server


@pytest.fixture
def rules_path(tmp_path, servers):
    return write_rules(tmp_path, *servers)


@pytest.fixture
def samples(tmp_path):
    shutil.copytree(REPO / "samples", tmp_path / "samples")
    return tmp_path / "samples" / "maildir"

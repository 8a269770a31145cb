"""The test servers with the password in the environment and a rules.yaml on them; OAuth2 tokens that
expire as soon as a newer one is issued, and an SMTP server that checks them."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.support import REPO
from tests.support.rules import PASSWORD_ENV, write_rules
from tests.support.servers import PASSWORD, free_port


@pytest.fixture
def servers(clean_dovecot, smtp_server, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    return clean_dovecot, smtp_server


@pytest.fixture
def rules_path(tmp_path, servers):
    return write_rules(tmp_path, *servers)


@pytest.fixture
def samples(tmp_path):
    shutil.copytree(REPO / "samples", tmp_path / "samples")
    return tmp_path / "samples" / "maildir"


class TokenIssuer:
    """A provider's token endpoint in miniature: `command` prints a new token each time it runs
    (tok-1, tok-2, ..., counted in a file), and only the newest is `valid`, as if every older one
    had expired the moment a new one was issued."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.counter = directory / "issued"
        script = directory / "issue-token"
        script.write_text('#!/bin/sh\nn=$(( $(cat "$1" 2>/dev/null || echo 0) + 1 ))\necho "$n" > "$1"\n'
                          'printf "tok-%s\\n" "$n"\n')
        script.chmod(0o755)
        self.command = f"{script} {self.counter}"

    def issued(self) -> int:
        return int(self.counter.read_text()) if self.counter.exists() else 0

    def valid(self, token: str) -> bool:
        return token == f"tok-{self.issued()}"


class XOAuth2Handler:
    """aiosmtpd handler: AUTH XOAUTH2 with a token `valid` says yes to (any user); records every
    login as (user, token, accepted) and every mail taken, and refuses mail before a login."""

    def __init__(self, valid: Callable[[str], bool]):
        self.valid = valid
        self.logins: list[tuple[str, str, bool]] = []
        self.responses: list[str] = []
        self.received: list[tuple[str, list[str]]] = []

    async def auth_XOAUTH2(self, server, args):
        response = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        self.responses.append(response)
        fields = dict(part.split("=", 1) for part in response.split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        ok = response == f"user={user}\x01auth=Bearer {token}\x01\x01" and self.valid(token)
        self.logins.append((user, token, ok))
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    async def handle_DATA(self, server, session, envelope):
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def xoauth2_smtp():
    """make(valid) -> (controller, handler): an SMTP server on loopback that takes XOAUTH2 only."""
    controllers = []

    def make(valid: Callable[[str], bool]) -> tuple[Controller, XOAuth2Handler]:
        handler = XOAuth2Handler(valid)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), auth_require_tls=False)
        controller.start()
        controllers.append(controller)
        return controller, handler

    yield make
    for controller in controllers:
        controller.stop()

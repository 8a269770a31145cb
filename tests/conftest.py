"""Shared pytest fixtures: real mail servers on 127.0.0.1, and Maildirs.

* ``dovecot`` (session): one private Dovecot for the whole run, users
  ``intl@example.org`` and ``german@example.org`` with password ``secret``.
  Tests that touch mail should use ``clean_dovecot`` instead.
* ``clean_dovecot`` (function): the same server, (re)started if a test left
  it stopped, initial users/passwords restored and every mailbox emptied
  before the test runs.
* ``smtp_server`` (function): a fresh recording SMTP server per test (no
  AUTH), so fault injection and received messages never leak between tests;
  starting one takes a few milliseconds.
* ``smtp_server_factory`` (function): ``make(auth=("user", "pw"))`` for
  servers with other options; all are stopped after the test.
* ``maildirs`` (function): an empty Maildir per mailbox of the shipped rules,
  under ``tmp_path / "mail"`` (``tests.support.maildirs``).
* ``tmpfs`` (function): ``mount("size=16m")`` a small disk of the test's own
  (a tmpfs: root or CAP_SYS_ADMIN, as in CI; else the test is skipped).

The servers and everything else tests and benchmarks share are in the
``tests.support`` package; this file only makes fixtures of them.

Dovecot must be installed; scripts/test.sh installs it.  A missing Dovecot
makes the tests that need it error out (they are not skipped).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.maildirs import make_maildirs
from tests.support.servers import DEFAULT_USERS, DovecotError, DovecotServer, SmtpServer, dovecot_available


@pytest.fixture(scope="session")
def dovecot() -> DovecotServer:
    if not dovecot_available():
        pytest.fail(
            "Dovecot is not installed (no `dovecot`/`doveadm` found). The "
            "integration tests need a real IMAP server: run scripts/test.sh, "
            "which installs the dovecot-imapd package and then runs pytest.",
            pytrace=False,
        )
    try:
        # workdir=None: a private world-traversable dir under /tmp, because
        # pytest's tmp_path_factory base directory is mode 0700 and Dovecot's
        # unprivileged processes could not reach their sockets and mail there.
        server = DovecotServer(None, DEFAULT_USERS)
        server.start()
    except DovecotError as exc:
        pytest.fail(f"could not start the test Dovecot: {exc}", pytrace=False)
    yield server
    server.close()


@pytest.fixture
def clean_dovecot(dovecot: DovecotServer) -> DovecotServer:
    dovecot.reset()
    return dovecot


@pytest.fixture
def smtp_server_factory():
    servers: list[SmtpServer] = []

    def make(auth: tuple[str, str] | None = None, **kwargs) -> SmtpServer:
        server = SmtpServer(auth, **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory) -> SmtpServer:
    return smtp_server_factory()


@pytest.fixture
def maildirs(tmp_path) -> Path:
    return make_maildirs(tmp_path / "mail")


@pytest.fixture
def tmpfs(tmp_path):
    """`mount(options)`: a folder that is a tmpfs with mount's options ("size=16m", "nr_inodes=6"), for
    what a full disk does; unmounted after the test."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            why = f"cannot mount a tmpfs here: {done.stderr.strip()}"
            if os.geteuid() == 0:   # CI runs as root: there the full-disk tests must run, never skip quietly
                pytest.fail(why)
            pytest.skip(why + " (needs root or CAP_SYS_ADMIN)")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)

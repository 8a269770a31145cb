import logging
import os
import sys
import threading
import time

import pytest

from mailflow.credentials import Credentials
from mailflow.delivery import SmtpSender
from mailflow.errors import ConnectionFailed, SecretError
from mailflow.mailbox import ImapMailbox, SentFolder
from mailflow.rules import ImapSettings, ProcessedMarker, SmtpSettings
from mailflow.watch import IdleWatcher
from tests.support.mail import make_mail

WHAT = "mailbox international, IMAP"
# Nothing listens here: a test that reaches the network fails with "cannot reach", not SecretError.
UNREACHABLE = dict(host="127.0.0.1", port=9, security="none", username="u", timeout=2)


def settings(**kw):
    return ImapSettings(host="imap.example.org", port=993, security="tls", username="u", **kw)


def credentials(**kw) -> Credentials:
    return Credentials.of(settings(**kw), WHAT)


def counting_command(tmp_path) -> str:
    """Prints tok-1, tok-2, ...: a new token at every run, counted in a file."""
    script = tmp_path / "issue-token"
    script.write_text('#!/bin/sh\nn=$(( $(cat "$1" 2>/dev/null || echo 0) + 1 ))\necho "$n" > "$1"\n'
                      'printf "tok-%s\\n" "$n"\n')
    script.chmod(0o755)
    return f"{script} {tmp_path / 'issued'}"


def test_password_from_environment(monkeypatch):
    monkeypatch.setenv("MF_TEST_PW", "s3cret")
    assert credentials(password_env="MF_TEST_PW").secret() == "s3cret"


def test_the_environment_is_read_at_every_connect_not_once(monkeypatch):
    secret = credentials(password_env="MF_TEST_PW")
    monkeypatch.setenv("MF_TEST_PW", "first")
    assert secret.secret() == "first"
    monkeypatch.setenv("MF_TEST_PW", "second")
    assert secret.secret() == "second"


def test_missing_environment_variable_says_what_to_do(monkeypatch):
    monkeypatch.delenv("MF_TEST_PW", raising=False)
    with pytest.raises(SecretError, match=f"^{WHAT}: environment variable MF_TEST_PW is not set; export it"):
        credentials(password_env="MF_TEST_PW").secret()


def test_password_command_output_without_trailing_newline():
    assert credentials(password_command="printf 'pw-from-command\\n'").secret() == "pw-from-command"


def test_the_token_command_runs_at_every_call(tmp_path):
    token = credentials(oauth2_token_command=counting_command(tmp_path))
    assert token.oauth2
    assert [token.secret(), token.secret(), token.secret()] == ["tok-1", "tok-2", "tok-3"]


def test_a_failing_command_is_a_secret_error_naming_mailbox_and_key_never_its_output():
    with pytest.raises(SecretError) as caught:
        credentials(oauth2_token_command="sh -c 'echo leaked-secret; exit 3'").secret()
    assert str(caught.value) == f"{WHAT}: oauth2_token_command exited with status 3; run it by hand to see why"
    with pytest.raises(SecretError, match=f"^{WHAT}: password_command could not run: FileNotFoundError"):
        credentials(password_command="/no/such/command").secret()
    with pytest.raises(SecretError, match=f"^{WHAT}: oauth2_token_command printed nothing"):
        credentials(oauth2_token_command="true").secret()


def test_a_secret_error_fails_like_a_connection_so_that_mailbox_is_retried_and_the_others_go_on():
    assert issubclass(SecretError, ConnectionFailed)


def test_every_connection_asks_before_it_connects(tmp_path):
    """IMAP pass, Sent folder and SMTP session each run the command at their connect; a failing
    one is the SecretError, before any socket is opened (nothing listens on UNREACHABLE)."""
    failing = "sh -c 'exit 4'"
    imap = ImapSettings(**UNREACHABLE, oauth2_token_command=failing)
    smtp = SmtpSettings(**UNREACHABLE, oauth2_token_command=failing)
    expected = "oauth2_token_command exited with status 4"
    with pytest.raises(SecretError, match=f"^{WHAT}: {expected}"):
        ImapMailbox("international", imap, ProcessedMarker(), Credentials.of(imap, WHAT)).open()
    with pytest.raises(SecretError, match=f"^{WHAT}: {expected}"):
        SentFolder("international", imap, Credentials.of(imap, WHAT)).append([b"x"])
    sender = SmtpSender(smtp, Credentials.of(smtp, "mailbox international, SMTP"), "international")
    with pytest.raises(SecretError, match=f"^mailbox international, SMTP: {expected}"):
        sender.send(make_mail(), "international@cc-events.example", "nino@tbilisi.gov.ge")


def test_the_idle_watcher_asks_again_at_every_reconnect(tmp_path):
    command = counting_command(tmp_path)
    imap = ImapSettings(**UNREACHABLE, oauth2_token_command=command)
    states = []
    watcher = IdleWatcher("international", imap, Credentials.of(imap, WHAT), wake=None,
                          on_state=lambda mailbox, state: states.append(state), max_delay=0.01)
    watcher.backoff.first = 0.01
    watcher.start()
    try:
        deadline = time.monotonic() + 10
        while states.count("reconnecting") < 3 and time.monotonic() < deadline:
            watcher.join(0.01)
    finally:
        watcher.stop()
        watcher.join(5)
    assert int((tmp_path / "issued").read_text()) >= 3


def test_no_secret_is_logged(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    command = counting_command(tmp_path)
    imap = ImapSettings(**UNREACHABLE, oauth2_token_command=command)
    with pytest.raises(ConnectionFailed) as caught:
        ImapMailbox("international", imap, ProcessedMarker(), Credentials.of(imap, WHAT)).open()
    assert (tmp_path / "issued").read_text().strip() == "1"   # it ran, and the connect failed after
    assert "tok-" not in caplog.text and "tok-" not in str(caught.value)




def test_both_sources_is_a_rules_error():
    with pytest.raises(ValueError, match="give one of password_env, password_command or oauth2_token_command"):
        settings(password_env="A", password_command="b")


def test_a_hanging_command_is_killed_with_every_process_it_started(tmp_path):
    """A password command that starts a sleeping child (which holds its output open) and hangs: after
    the timeout it is a SecretError, and no process of its group is left."""
    script = tmp_path / "hangs"
    script.write_text(
        "import os, subprocess, sys, time\n"
        "open(sys.argv[1], 'w').write(str(os.getpgrp()))\n"
        "subprocess.Popen(['sleep', '300'])\n"
        "time.sleep(300)\n"
    )
    group_file = tmp_path / "group"
    secret = Credentials(WHAT, password_command=f"{sys.executable} {script} {group_file}", timeout=1)
    outcome: list[BaseException] = []

    def ask() -> None:
        try:
            secret.secret()
        except BaseException as exc:
            outcome.append(exc)

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    asking.join(20)
    assert not asking.is_alive(), "secret() still waits for the command's output, held open by its child"
    assert isinstance(outcome[0], SecretError)
    assert str(outcome[0]) == (f"{WHAT}: password_command did not finish within 1 s and was stopped, with every "
                               "process it started; run it by hand to see why")
    group = int(group_file.read_text())
    assert group != os.getpgrp()   # a group of its own
    deadline = time.monotonic() + 10   # killed ones are gone once reaped (by init, for the orphaned child)
    while True:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, f"a process of the command's group {group} is still running"
        time.sleep(0.05)

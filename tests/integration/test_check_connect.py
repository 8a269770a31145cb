"""`mailflow check --connect` against the real Dovecot and aiosmtpd: per mailbox what each server offers,
a failure (exit 1) with the fix for a wrong password, an unreachable port, a missing folder, an unverified
certificate; warnings (exit 0) for a server that stores no keywords. And `mailflow check` without
`--connect`: a secret this shell lacks is a warning with its line, exit 0."""

import pytest
import yaml
from click.testing import CliRunner

from mailflow.cli import main
from tests.support.misbehaving import KeywordRefusingProxy
from tests.support.rules import PASSWORD_ENV, write_rules
from tests.support.servers import free_port


def check(rules, *options):
    result = CliRunner().invoke(main, ["--rules", str(rules), "check", *options])
    assert "Traceback" not in result.output
    return result


def edit(rules, change):
    """Apply `change(data)` to the rules file."""
    data = yaml.safe_load(rules.read_text())
    change(data)
    rules.write_text(yaml.safe_dump(data, allow_unicode=True))
    return rules


def lines(result, status, mailbox="international", kind="IMAP"):
    return [line for line in result.output.splitlines()
            if line.startswith(f"{status:7} {mailbox} {kind} ")]


def test_every_server_answers_and_offers_what_mailflow_uses(rules_path, servers):
    dovecot, smtp = servers
    result = check(rules_path, "--connect")
    assert result.exit_code == 0, result.output
    for mailbox in ("international", "german"):
        imap = " ".join(lines(result, "ok", mailbox))
        for said in ("reachable", "login accepted for", "folder INBOX found",
                     "custom flags allowed ($MailflowProcessed)", "Sent folder Sent found", "IDLE offered"):
            assert said in imap, (said, result.output)
        assert f"{mailbox} SMTP {smtp.host}:{smtp.port}: reachable" in result.output
        assert f"{mailbox} SMTP {smtp.host}:{smtp.port}: takes mail from {mailbox}@cc-events.example" in result.output
        assert lines(result, "warning", mailbox)[0].endswith("not encrypted (security: none): the password and "
                                                             "the mail cross the network in clear (use security: "
                                                             "tls or starttls unless the server is on this machine)")
    assert not smtp.messages   # nothing is sent


def test_a_sender_address_the_server_refuses_fails_with_the_fix(rules_path, servers):
    """A login that may not send as the mailbox's address is found by `check --connect` (MAIL FROM, then
    RSET: no mail), not at the first reply."""
    dovecot, smtp = servers
    smtp.fail_next(1, 553, "5.7.1 Sender address rejected: not owned by user", stage="MAIL")   # the first one checked
    result = check(rules_path, "--connect")
    assert result.exit_code == 1
    [failed] = lines(result, "FAILED", "german", "SMTP")
    assert ("MAIL FROM:<german@cc-events.example> refused: 553 5.7.1 Sender address rejected: not owned by user "
            "(mailflow sends as german@cc-events.example: make it an address this server without a login may send "
            "from") in failed
    assert lines(result, "ok", "international", "SMTP")[-1].endswith("takes mail from international@cc-events.example")
    assert not smtp.messages


def test_a_temporary_answer_is_a_warning_and_a_refused_recipient_names_the_address(rules_path, servers):
    dovecot, smtp = servers
    smtp.fail_next(1, 451, "4.3.0 Try again later", stage="MAIL")    # german, checked first
    result = check(rules_path, "--connect")
    assert result.exit_code == 0, result.output
    assert lines(result, "warning", "german", "SMTP")[-1].endswith(
        "MAIL FROM:<german@cc-events.example> refused: 451 4.3.0 Try again later (a temporary answer: run the check "
        "again later)")
    smtp.fail_next(1, 550, "5.1.1 No such user", stage="RCPT")
    result = check(rules_path, "--connect")
    assert result.exit_code == 1
    [failed] = lines(result, "FAILED", "german", "SMTP")
    assert failed.endswith("RCPT TO:<german@cc-events.example> refused: 550 5.1.1 No such user (check the mailbox's "
                           "address german@cc-events.example)")
    assert not smtp.messages


@pytest.mark.parametrize("code, text, status, fix", [
    (530, "5.7.0 Authentication required", "FAILED", "the server wants a login: set smtp.username and its secret "
                                                      "(and security: starttls, if it wants TLS first)"),
    (421, "4.7.0 Too many connections, closing", "warning", "a temporary answer: run the check again later"),
])
def test_what_a_refused_sender_means_depends_on_the_answer(rules_path, servers, code, text, status, fix):
    dovecot, smtp = servers
    smtp.fail_next(1, code, text, stage="MAIL")
    result = check(rules_path, "--connect")
    assert lines(result, status, "german", "SMTP")[-1].endswith(
        f"MAIL FROM:<german@cc-events.example> refused: {code} {text} ({fix})")


def test_an_address_smtp_cannot_carry_fails_instead_of_crashing(rules_path, servers):
    """mailflow speaks no SMTPUTF8: a mailbox address with non-ASCII letters before the @ cannot be sent
    from, and `check --connect` says so (the IMAP findings are printed too)."""
    edit(rules_path, lambda data: data["mailboxes"]["german"].update(address="büro@cc-events.example"))
    result = check(rules_path, "--connect")
    assert result.exit_code == 1
    [failed] = lines(result, "FAILED", "german", "SMTP")
    assert "cannot send as büro@cc-events.example" in failed and "use an address with only ASCII before the @" in failed
    assert lines(result, "ok", "german", "IMAP") and lines(result, "ok", "international", "SMTP")


def test_a_wrong_password_fails_with_the_fix(rules_path, servers, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    result = check(rules_path, "--connect")
    assert result.exit_code == 1
    assert ("login refused for intl@example.org (check username and the secret password_env gives)"
            in lines(result, "FAILED")[0])
    assert "server checks failed" in result.output


def test_an_unreachable_port_fails_and_the_other_servers_are_still_checked(rules_path, servers):
    port = free_port()
    edit(rules_path, lambda data: data["mailboxes"]["german"]["smtp"].update(port=port))
    result = check(rules_path, "--connect")
    assert result.exit_code == 1
    [failed] = lines(result, "FAILED", "german", "SMTP")
    assert f"german SMTP 127.0.0.1:{port}: not reachable: Connection refused (check host and port" in failed
    assert "login accepted" in " ".join(lines(result, "ok", "german"))   # its IMAP server was checked


def test_a_missing_folder_and_sent_folder_fail_with_the_folders_there_are(rules_path, servers):
    def change(data):
        data["mailboxes"]["international"]["imap"]["folder"] = "Anmeldungen"
        data["mailboxes"]["international"]["sent_folder"] = "Gesendet"
    result = check(edit(rules_path, change), "--connect")
    assert result.exit_code == 1
    failed = lines(result, "FAILED")
    assert any("folder Anmeldungen not found (set imap.folder to one of: " in line and "INBOX" in line
               for line in failed), result.output
    assert any("no Sent folder (Gesendet not found) (set sent_folder to the folder your mail client keeps sent "
               "mail in: " in line for line in failed), result.output
    assert not lines(result, "FAILED", "german")


def test_a_server_without_keywords_or_idle_is_a_warning_with_the_fix(rules_path, servers):
    dovecot, _ = servers
    with KeywordRefusingProxy((dovecot.host, dovecot.port), hide=(b"IDLE",)) as proxy:
        edit(rules_path, lambda data: data["mailboxes"]["international"]["imap"].update(port=proxy.port))
        result = check(rules_path, "--connect")
    assert result.exit_code == 0, result.output
    [keywords, idle] = [line for line in lines(result, "warning") if "keywords" in line or "IDLE" in line]
    assert ("the server stores no new keywords (PERMANENTFLAGS \\Answered \\Flagged \\Deleted \\Seen \\Draft): "
            "processed mail is recorded in mailflow's database alone (set processed.move_to to a folder") in keywords
    assert idle.endswith("IDLE not offered: new mail waits for the next pass (every 60 s) "
                         "(set imap.idle: false, or lower poll_interval)")
    assert "custom flags allowed" in " ".join(lines(result, "ok", "german"))
    assert "IDLE offered" in " ".join(lines(result, "ok", "german"))


def test_tls_is_verified_and_an_unknown_certificate_fails(rules_path, servers, smtp_server_factory):
    dovecot, _ = servers
    smtp = smtp_server_factory(security="starttls")

    def change(data):
        box = data["mailboxes"]["international"]
        box["imap"].update(port=dovecot.ssl_port, security="tls", host="localhost", ca_file=str(dovecot.cafile))
        box["smtp"].update(port=smtp.port, security="starttls", host="localhost", ca_file=str(smtp.cafile))
        data["mailboxes"]["german"]["imap"].update(port=dovecot.ssl_port, security="tls", host="localhost")
    result = check(edit(rules_path, change), "--connect")
    assert "TLS verified (tls)" in " ".join(lines(result, "ok"))
    assert "TLS verified (starttls)" in " ".join(lines(result, "ok", kind="SMTP"))
    assert result.exit_code == 1
    [failed] = lines(result, "FAILED", "german")
    assert "TLS certificate not verified: self-signed certificate (give the server's CA certificate as ca_file" \
        in failed


def test_smtp_login_is_tried_and_a_refusal_fails(rules_path, servers, smtp_server_factory, monkeypatch):
    smtp = smtp_server_factory(auth=("mailer", "right"))
    monkeypatch.setenv("MF_SMTP_PW", "wrong")
    edit(rules_path, lambda data: data["mailboxes"]["german"]["smtp"].update(
        port=smtp.port, username="mailer", password_env="MF_SMTP_PW"))
    result = check(rules_path, "--connect")
    assert result.exit_code == 1
    assert "login refused for mailer" in lines(result, "FAILED", "german", "SMTP")[0]
    monkeypatch.setenv("MF_SMTP_PW", "right")
    result = check(rules_path, "--connect")
    assert result.exit_code == 0, result.output
    assert "login accepted for mailer" in " ".join(lines(result, "ok", "german", "SMTP"))


def test_a_secret_this_shell_lacks_is_a_warning_and_with_connect_a_failure(tmp_path, servers, monkeypatch):
    rules = write_rules(tmp_path, *servers)
    monkeypatch.delenv(PASSWORD_ENV)
    result = check(rules)
    assert result.exit_code == 0, result.output
    line = next(i for i, row in enumerate(rules.read_text().splitlines(), 1) if "password_env" in row)
    assert (f"{rules}:{line}: warning: mailboxes.german.imap: environment variable {PASSWORD_ENV} is not set here "
            f"(export {PASSWORD_ENV}=... here; a service reads it from its own environment") in result.output
    assert ": ok (2 mailboxes" in result.output
    result = check(rules, "--connect")
    assert result.exit_code == 1
    assert f"environment variable {PASSWORD_ENV} is not set here" in lines(result, "FAILED")[0]
    edit(rules, lambda data: data["mailboxes"]["german"]["imap"].update(
        password_env=None, password_command="/nonexistent/pass show mail"))
    result = check(rules)
    assert "warning: mailboxes.german.imap: password_command: /nonexistent/pass is not found or not executable" \
        in result.output

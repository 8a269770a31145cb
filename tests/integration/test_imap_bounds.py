"""Bounded IMAP on a real Dovecot: flags in short UID sets, FETCH by a byte budget under a real memory
limit, and a server that takes no keywords (Microsoft 365) without a failed pass."""

from __future__ import annotations

import base64
import json
import logging
import os
import sqlite3

from click.testing import CliRunner

from mailflow.cli import main
from mailflow.credentials import Credentials
from mailflow.mailbox import ImapMailbox
from mailflow.rules import load_rules
from tests.support.mail import make_mail
from tests.support.memory import run_limited
from tests.support.misbehaving import KeywordRefusingProxy
from tests.support.rules import PASSWORD_ENV, write_rules
from tests.support.servers import INTL_USER, PASSWORD

MB = 1 << 20


def international_mailbox(rules_path) -> ImapMailbox:
    box = load_rules(rules_path).mailboxes["international"]
    assert box.imap is not None
    return ImapMailbox("international", box.imap, box.processed, Credentials.of(box.imap, "international"))


def test_every_other_mail_of_forty_thousand_is_flagged_in_commands_dovecot_takes(servers, tmp_path):
    """20,000 UIDs with gaps between them: one STORE with all of them is "Too long argument"."""
    dovecot, smtp = servers
    dovecot.deliver_files(INTL_USER, (b"Subject: %d\r\n\r\nx\r\n" % i for i in range(40000)))
    mailbox = international_mailbox(write_rules(tmp_path, dovecot, smtp))
    mailbox.open()
    try:
        uids = sorted(mailbox.client.search("ALL"))
        assert len(uids) == 40000
        processed, attention = uids[::2], uids[::4]
        mailbox.mark_processed(processed, attention)
        assert sorted(mailbox.client.search(["KEYWORD", "$MailflowProcessed"])) == processed
        assert sorted(mailbox.client.search(["FLAGGED"])) == attention
    finally:
        mailbox.close()


def big_mail(number: int, size: int) -> bytes:
    """A registration with a PDF of about `size` bytes, base64 in lines of 988 characters (legal, and
    a thirteenth of the lines the email parser would walk through at 76)."""
    text = make_mail(sender=f"Expert {number} <expert{number}@city{number}.gov.ge>",
                     message_id=f"<big{number}@city{number}.gov.ge>").split(b"\n\n", 1)
    header = text[0].replace(b"Content-Type: text/plain", b"Content-Type: multipart/mixed; boundary=\"b\"")
    header = b"\n".join(line for line in header.split(b"\n") if not line.startswith(b"Content-Transfer-Encoding"))
    encoded = base64.b64encode(os.urandom(size * 3 // 4))
    lines = b"\n".join(encoded[at:at + 988] for at in range(0, len(encoded), 988))
    return (header + b"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n" + text[1]
            + b"\n--b\nContent-Type: application/pdf; name=cv.pdf\nContent-Transfer-Encoding: base64\n"
              b"Content-Disposition: attachment; filename=cv.pdf\n\n" + lines + b"\n--b--\n")


def test_twenty_four_mails_of_20_mb_pass_under_a_300_mb_cap(servers, tmp_path):
    """The cap is a real RLIMIT_AS on the child: its virtual memory at a pass over 24 small mails,
    plus 300 MB. Fetching them all at once (as before) peaked at about 1.5 GB above that."""
    dovecot, smtp = servers
    env = {PASSWORD_ENV: PASSWORD}
    small = tmp_path / "small"
    small.mkdir()
    dovecot.deliver_files(INTL_USER, (big_mail(i, 0) for i in range(24)))
    done, baseline = run_limited(["--rules", str(write_rules(small, dovecot, smtp)), "run", "--once"], env=env)
    assert done.returncode == 0 and baseline, done.stdout[-2000:] + done.stderr[-2000:]

    dovecot.reset()
    smtp.clear()
    big = tmp_path / "big"
    big.mkdir()
    dovecot.deliver_files(INTL_USER, (big_mail(100 + i, 20 * MB) for i in range(24)))
    cap = baseline + 300 * MB
    done, peak = run_limited(["--rules", str(write_rules(big, dovecot, smtp)), "run", "--once"], cap, env=env)
    assert done.returncode == 0, f"baseline {baseline // MB} MB, cap {cap // MB} MB\n{done.stderr[-3000:]}"
    assert "recorded 24, processed 24, quarantined 0, sent 24" in done.stdout
    print(f"virtual memory: baseline {baseline // MB} MB, 24 x 20 MB {peak // MB} MB, cap {cap // MB} MB")


def run_once(rules_path):
    return CliRunner().invoke(main, ["--rules", str(rules_path), "run", "--once"])


def marking(rules_path) -> str:
    result = CliRunner().invoke(main, ["--rules", str(rules_path), "status", "--json"])
    return next(box["marking"] for box in json.loads(result.output)["mailboxes"] if box["mailbox"] == "international")


def test_a_server_that_takes_no_keywords_marks_in_the_database_and_never_fails_a_pass(servers, tmp_path, caplog):
    dovecot, smtp = servers
    with KeywordRefusingProxy((dovecot.host, dovecot.port)) as proxy:
        rules_path = write_rules(tmp_path, proxy, smtp)
        dovecot.append(INTL_USER, make_mail(sender="a@tbilisi.gov.ge"))
        dovecot.append(INTL_USER, make_mail(sender="b@tbilisi.gov.ge", subject="A question",
                                            body="What time does the event start?"))
        with caplog.at_level(logging.INFO, logger="mailflow"):
            for _ in range(3):
                result = run_once(rules_path)
                assert result.exit_code == 0, result.output
        assert len(smtp.messages) == 2
        assert proxy.refused == []            # no keyword was even asked for
    says = [r.getMessage() for r in caplog.records if "stores no keyword" in r.getMessage()]
    assert sorted(m.split()[0] for m in says) == ["mailbox=german", "mailbox=international"]   # once each
    assert all("database only" in m for m in says)
    assert marking(rules_path) == "database"
    flags = dovecot.flags(INTL_USER)
    assert all(b"$MailflowProcessed" not in f for f in flags.values())
    assert sorted(b"\\Flagged" in f for f in flags.values()) == [False, True]   # the question stands out
    with sqlite3.connect(tmp_path / "mailflow.db") as db:
        assert db.execute("select count(*) from messages where marked_on_server = 1").fetchone()[0] == 2
    status = CliRunner().invoke(main, ["--rules", str(rules_path), "status"])
    assert "the server stores no keyword here: processed mail is marked in mailflow's database only" in status.output


def test_a_server_that_takes_no_keywords_gets_the_move_when_one_is_set(servers, tmp_path):
    dovecot, smtp = servers
    with KeywordRefusingProxy((dovecot.host, dovecot.port)) as proxy:
        rules_path = write_rules(tmp_path, proxy, smtp, mailbox={"processed": {"move_to": "Processed"}})
        dovecot.append(INTL_USER, make_mail(sender="a@tbilisi.gov.ge"))
        dovecot.append(INTL_USER, make_mail(sender="a@tbilisi.gov.ge"), folder="Processed")   # the folder exists
        result = run_once(rules_path)
        assert result.exit_code == 0, result.output
        assert proxy.refused == []
    assert marking(rules_path) == "move"
    assert dovecot.messages(INTL_USER) == []
    assert len(dovecot.messages(INTL_USER, "Processed")) == 2
    assert len(smtp.messages) == 1

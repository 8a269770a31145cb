"""Every bounce of the flufl.bounce corpus is recognised as automatic and answered by nothing."""

import pytest

from mailflow.classify import classify
from mailflow.message import parse_message
from mailflow.rules import load_rules
from mailflow.states import AUTOMATIC_INTENTS
from tests.support import REPO

RULES = load_rules(REPO / "rules.yaml")
CORPUS = REPO / "tests/corpus/flufl_bounce"
NOT_A_BOUNCE = {"groupwise_03.txt"}   # a person's reply, a negative sample in flufl's own tests
FILES = sorted(p.name for p in CORPUS.glob("*.txt"))


def test_the_whole_corpus_is_there():
    assert len(FILES) == 117


@pytest.mark.parametrize("name", sorted(set(FILES) - NOT_A_BOUNCE))
def test_bounce_is_automatic_and_unanswered(name):
    verdict = classify(parse_message((CORPUS / name).read_bytes()), "international", RULES)
    assert verdict.intent in AUTOMATIC_INTENTS, verdict.reasons
    assert verdict.answer is False


def test_negative_sample_is_not_a_bounce_and_not_answered():
    verdict = classify(parse_message((CORPUS / "groupwise_03.txt").read_bytes()), "international", RULES)
    assert verdict.intent != "bounce" and verdict.answer is False


def test_bounce_names_the_failed_recipient():
    verdict = classify(parse_message((CORPUS / "postfix_01.txt").read_bytes()), "international", RULES)
    assert verdict.intent == "bounce"
    assert verdict.bounced, verdict.reasons


# flufl.bounce's samples of delay warnings ("Message delayed", "Warning: message ... delayed 24 hours").
DELAY_WARNINGS = ["dsn_05.txt", "dsn_06.txt", "dsn_07.txt", "dsn_08.txt", "dsn_17.txt", "simple_03.txt",
                  "simple_21.txt", "simple_22.txt", "simple_28.txt", "simple_35.txt", "simple_40.txt"]


@pytest.mark.parametrize("name", DELAY_WARNINGS)
def test_a_delay_warning_marks_nobody_undeliverable(name):
    """The server still tries: the recipient may get the mail yet, and must keep getting agenda and access."""
    verdict = classify(parse_message((CORPUS / name).read_bytes()), "international", RULES)
    assert (verdict.intent, verdict.bounced, verdict.answer) == ("auto_reply", (), False), verdict.reasons
    assert any("a delay warning only" in reason for reason in verdict.reasons), verdict.reasons


def test_a_report_of_one_failed_and_one_delayed_recipient_marks_only_the_failed_one():
    verdict = classify(parse_message(DELAYED_AND_FAILED), "international", RULES)
    assert (verdict.intent, verdict.bounced) == ("bounce", ("gone@city.gov.ge",)), verdict.reasons


DELAYED_AND_FAILED = b"""Return-Path: <>
From: MAILER-DAEMON@mail.cc-events.example (Mail Delivery System)
To: international@cc-events.example
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"
Message-ID: <20200922081405.1@mail.cc-events.example>

--B
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.cc-events.example.

<gone@city.gov.ge>: host mx.city.gov.ge said: 550 5.1.1 User unknown
<slow@city.gov.ge>: connect to mx2.city.gov.ge: Connection timed out

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.cc-events.example

Final-Recipient: rfc822; gone@city.gov.ge
Action: failed
Status: 5.1.1

Final-Recipient: rfc822; slow@city.gov.ge
Action: delayed
Status: 4.4.1

--B--
"""


def test_a_person_forwarding_a_bounce_is_no_bounce():
    """"Fwd: Undelivered Mail ..." with the bounce attached: the person's words count, and the address in
    the attached report is not marked undeliverable by their mail."""
    from email.message import EmailMessage
    from email.parser import BytesParser

    mail = EmailMessage()
    mail["From"], mail["To"] = "Nino <n.beridze@tbilisi.gov.ge>", "international@cc-events.example"
    mail["Subject"] = "Fwd: Undelivered Mail Returned to Sender"
    mail.set_content("Dear colleagues, your mail to my colleague bounced (below). Could you please register "
                     "Eka Gelashvili at her new address e.gelashvili@tbilisi.gov.ge for the online event?")
    mail.add_attachment(BytesParser().parsebytes(DELAYED_AND_FAILED))
    verdict = classify(parse_message(mail.as_bytes()), "international", RULES)
    assert verdict.intent not in AUTOMATIC_INTENTS and verdict.bounced == (), verdict.reasons


def test_the_bounce_detectors_read_a_mail_once(monkeypatch):
    """flufl.bounce's detectors are the slowest part of reading a bounce: the evidence and the failed
    recipients share one reading."""
    import flufl.bounce

    calls = []
    detect = flufl.bounce.all_failures
    monkeypatch.setattr(flufl.bounce, "all_failures", lambda msg: calls.append(1) or detect(msg))
    read_twice = []
    for name in FILES:
        calls.clear()
        classify(parse_message((CORPUS / name).read_bytes()), "international", RULES)
        if len(calls) > 1:
            read_twice.append(name)
    assert not read_twice
    calls.clear()   # and the patched detector is the one classify() calls
    classify(parse_message((CORPUS / "postfix_01.txt").read_bytes()), "international", RULES)
    assert calls == [1]

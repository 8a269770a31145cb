"""The notice that hands a mail to the other coordinator: written for a person, in the receiving
coordinator's language (the mailbox's `language`), with the original attached as a mail a client opens
(message/rfc822), also when the original has 8-bit text or long lines. Parsed back with the stdlib."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest
import yaml

from mailflow.classify import LANGUAGE, TLD, Evidence
from mailflow.clock import stopped_at
from mailflow.errors import RulesError
from mailflow.notices import reasons_in_words
from mailflow.rules import parse_rules
from tests.support import REPO
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import rules_data

NOW = datetime(2020, 9, 30, 10, 0, tzinfo=UTC)

# A German expert writes to the international address, in 8-bit UTF-8 as most clients send it.
GERMAN_MAIL = (
    "From: Thomas Müller <thomas.mueller@stadt-jena.de>\r\nTo: international@cc-events.example\r\n"
    "Subject: Anmeldung für die Veranstaltung\r\nMessage-ID: <anmeldung@stadt-jena.de>\r\n"
    "Date: Mon, 28 Sep 2020 10:00:00 +0200\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Sehr geehrte Damen und Herren,\r\n\r\nich möchte gerne an der Veranstaltung teilnehmen. "
    "Bitte melden Sie mich an.\r\n\r\nMit freundlichen Grüßen\r\nThomas Müller\r\n"
).encode()

# An expert from Tbilisi writes to the German address.
TBILISI_MAIL = (
    b"From: Nino Beridze <nino@tbilisi.gov.ge>\r\nTo: german@cc-events.example\r\n"
    b"Subject: Participation\r\nMessage-ID: <nino@tbilisi.gov.ge>\r\nDate: Mon, 28 Sep 2020 10:00:00 +0400\r\n\r\n"
    b"Dear Sir or Madam,\r\n\r\nI would like to participate in the online event.\r\n\r\nBest regards,\r\n"
    b"Nino Beridze\r\nTbilisi City Hall, Georgia\r\n"
)


def rules_with(german_language: str | None = "de", international_language: str | None = None):
    data = rules_data(ahead=False)
    for name, language in (("german", german_language), ("international", international_language)):
        data["mailboxes"][name].pop("language", None)
        if language:
            data["mailboxes"][name]["language"] = language
    text = yaml.safe_dump({**data, "templates": str(REPO / "templates")}, allow_unicode=True, sort_keys=False)
    return parse_rules(text, REPO / "rules.yaml")


def notice_of(tmp_path, maildirs, rules, raw: bytes, mailbox: str) -> email.message.EmailMessage:
    deliver(maildirs, raw, mailbox=mailbox, arrived=NOW)
    worker = maildir_worker(rules, maildirs, tmp_path / "t.db", clock=stopped_at(NOW))
    worker.run_once()
    (raw_notice,) = [r[0] for r in worker.db.execute("select raw from outbox where kind = 'notice:misdirected'")]
    return email.message_from_bytes(raw_notice, policy=email.policy.default)


def test_the_notice_to_a_german_speaking_coordinator_is_german_and_says_why_in_words(tmp_path, maildirs):
    notice = notice_of(tmp_path, maildirs, rules_with("de"), GERMAN_MAIL, "international")
    assert notice["To"].addresses[0].addr_spec == "german@cc-events.example"
    assert notice["Subject"] == ("[mailflow] Eine Mail für Sie ging an Irakli Samkharadze: "
                                 "Anmeldung für die Veranstaltung")
    text = notice.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Guten Tag Fatina Toukan,\n")
    assert "Von: Thomas Müller <thomas.mueller@stadt-jena.de>" in text
    assert ("Warum mailflow sie für Ihre hält: die Mail ist auf Deutsch geschrieben und die Adresse des "
            "Absenders endet auf .de.") in text
    assert "in Ihrem Namen und von Ihrer Adresse mit „Ihre Anmeldung" in text and "dass sie angemeldet sind" in text
    for technical in ("(+", "->", "audience:", "intent", "confidence", "international mailbox"):
        assert technical not in text

    (part,) = notice.iter_attachments()
    assert (part.get_content_type(), part.get_filename()) == ("message/rfc822", "original.eml")
    original = part.get_content()
    assert original["Message-ID"] == "<anmeldung@stadt-jena.de>"
    assert original["Subject"] == "Anmeldung für die Veranstaltung"
    assert original["From"].addresses[0].addr_spec == "thomas.mueller@stadt-jena.de"
    assert original["From"].addresses[0].display_name == "Thomas Müller"
    assert "Mit freundlichen Grüßen" in original.get_content()


def test_the_notice_to_an_english_speaking_coordinator_is_english(tmp_path, maildirs):
    notice = notice_of(tmp_path, maildirs, rules_with("de"), TBILISI_MAIL, "german")
    assert notice["To"].addresses[0].addr_spec == "international@cc-events.example"
    assert notice["Subject"] == "[mailflow] A mail for you reached Fatina Toukan: Participation"
    text = notice.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Dear Irakli Samkharadze,\n")
    assert "From: Nino Beridze <nino@tbilisi.gov.ge>" in text
    assert "Why mailflow thinks it is yours: the sender's address ends in .ge and the signature names" in text
    assert "mailflow answered the sender in your name, from your address" in text
    assert "that they are registered" in text
    assert "(+" not in text and "->" not in text
    (part,) = notice.iter_attachments()
    assert part.get_content_type() == "message/rfc822"
    assert part.get_content()["Message-ID"] == "<nino@tbilisi.gov.ge>"


def test_the_same_mail_to_an_english_speaking_german_coordinator_is_in_english(tmp_path, maildirs):
    notice = notice_of(tmp_path, maildirs, rules_with(None), GERMAN_MAIL, "international")
    text = notice.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Dear Fatina Toukan,\n")
    assert "the mail is written in German and the sender's address ends in .de." in text


def test_the_reasons_read_as_a_sentence_in_either_language():
    evidence = [Evidence("international", LANGUAGE, "ka"), Evidence("international", TLD, "ge"),
                Evidence("international", TLD, "ge")]
    assert reasons_in_words(evidence, "en") == "the mail is written in Georgian and the sender's address ends in .ge"
    assert reasons_in_words(evidence, "de") == ("die Mail ist auf Georgisch geschrieben und die Adresse des Absenders "
                                                "endet auf .ge")
    assert reasons_in_words(evidence[:1], "en") == "the mail is written in Georgian"


def test_a_mailbox_language_mailflow_has_no_words_for_is_a_problem_with_its_line():
    with pytest.raises(RulesError) as caught:
        rules_with("fr")
    assert "mailflow writes to coordinators in en or de" in str(caught.value) and "'fr'" in str(caught.value)

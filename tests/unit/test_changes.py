"""Agenda updates say what changed in sentences, in the template's language, never in diff syntax, and
always carry the whole current agenda; an agenda given as a file says a new version is attached."""

from __future__ import annotations

import re

import pytest

from mailflow import releases
from mailflow.changes import describe
from mailflow.context import sample_announcement_context
from mailflow.replies import Replies
from tests.support.rules import upcoming_rules

V1 = "13:00 Welcome\n13:15 Panel: digital services\n14:00 Coffee break\n\n15:00 Closing\n"
V2 = "13:00 Welcome\n13:15 Keynote: digital services\n14:00 Coffee break\n14:30 Questions and answers\n"
DIFF_SYNTAX = re.compile(r"^(?:[-+]|@@|---|\+\+\+)", re.MULTILINE)


def release(version: int, text: str | None, attachment: str | None = None) -> releases.Release:
    return releases.Release("e", "agenda", version, text, attachment_name=attachment,
                            attachment=b"%PDF" if attachment else None)


def test_changed_added_and_removed_lines_in_english():
    assert describe(V1, V2, "en").splitlines() == [
        "“13:15 Panel: digital services” now reads “13:15 Keynote: digital services”.",
        "Removed: “15:00 Closing”.",
        "Added after “14:00 Coffee break”: “14:30 Questions and answers”.",
    ]


def test_changed_added_and_removed_lines_in_german():
    assert describe(V1, V2, "de").splitlines() == [
        "„13:15 Panel: digital services“ lautet jetzt „13:15 Keynote: digital services“.",
        "Gestrichen: „15:00 Closing“.",
        "Neu nach „14:00 Coffee break“: „14:30 Questions and answers“.",
    ]


def test_lines_added_at_the_beginning_and_several_at_once():
    assert describe("13:00 Welcome", "12:30 Registration\n12:45 Sound check\n13:00 Welcome", "en") == (
        "Added at the beginning: “12:30 Registration” and “12:45 Sound check”.")
    assert describe("a\nb\nc\nd", "a\nd", "de") == "Gestrichen: „b“ und „c“."


def test_a_slot_with_new_content_is_a_changed_line_an_unlike_line_is_removed_and_added():
    assert describe("13:15 Panel: e-services in municipalities", "13:15 Keynote: one-stop shops", "en") == (
        "“13:15 Panel: e-services in municipalities” now reads “13:15 Keynote: one-stop shops”.")
    assert describe("Welcome\nPanel", "Welcome\nCoffee", "en").splitlines() == [
        "Removed: “Panel”.", "Added after “Welcome”: “Coffee”."]


def test_blank_lines_and_trailing_spaces_are_no_change():
    assert describe("13:00 Welcome\n\n13:15 Panel", "13:00 Welcome   \n13:15 Panel\n\n", "en") == ""


@pytest.mark.parametrize(("audience", "changed", "complete"), [
    ("international", "What changed:", "The complete agenda as it stands now:"),
    ("german", "Was sich geändert hat:", "Die vollständige Agenda, wie sie jetzt gilt:"),
])
def test_the_update_mail_says_it_in_sentences_with_the_whole_agenda(audience, changed, complete):
    rules = upcoming_rules()
    mailbox = rules.mailbox_for_audience(audience)
    context = sample_announcement_context(rules, mailbox)
    context["agenda"] = releases._agenda_context(release(2, V2), release(1, V1))
    template = rules.announcements["agenda_update"][audience]
    text = Replies(rules.templates_path).render(template, context).text
    assert changed in text and complete in text
    assert describe(V1, V2, "en" if audience == "international" else "de") in text
    assert V2.strip() in text                          # the whole current agenda
    assert not DIFF_SYNTAX.search(text), text          # no -, +, @@, --- lines
    assert "version 1" not in text.lower()                # no "--- version 1 / +++ version 2"


@pytest.mark.parametrize(("audience", "attached"), [
    ("international", "A new version of the agenda is attached (agenda-v2.pdf)."),
    ("german", "Eine neue Version der Agenda ist angehängt (agenda-v2.pdf)."),
])
def test_an_agenda_given_as_a_file_says_a_new_version_is_attached(audience, attached):
    rules = upcoming_rules()
    context = sample_announcement_context(rules, rules.mailbox_for_audience(audience))
    context["agenda"] = releases._agenda_context(release(2, None, "agenda-v2.pdf"), release(1, None, "agenda.pdf"))
    text = Replies(rules.templates_path).render(rules.announcements["agenda_update"][audience], context).text
    assert attached in text
    assert "changed:" not in text and "geändert hat:" not in text

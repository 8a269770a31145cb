"""The labelled test set: every mail's audience, intent and answer as a coordinator labelled it.

The first 73 mails (`expected.csv`) were labelled before whole-word matching and
negation; `labels-*.csv` hold mails written the way real clients write them
(wrapped, format=flowed, quoted in four client styles, signatures, footers), each
labelled by a reader who never saw the classifier's output, in a `train` part
(tuned on) and a `test` part (never looked at while tuning). Thresholds: the reply
decision 100%, intent 95%, audience 98%, "also asks" 95%, over both parts.
A mail that cannot be got right is a finding for tests/corpus/labelled/README.md.
"""

import csv

import pytest

from mailflow.classify import classify
from mailflow.message import parse_message
from mailflow.rules import load_rules
from tests.support import REPO

RULES = load_rules(REPO / "rules.yaml")
CORPUS = REPO / "tests/corpus/labelled"
ROWS = [{"part": "train", **row} for row in csv.DictReader((CORPUS / "expected.csv").open(encoding="utf-8"))]
for labels in sorted(CORPUS.glob("labels-*.csv")):
    ROWS += list(csv.DictReader(labels.open(encoding="utf-8")))
SENT = [line.split() for line in (CORPUS / "sent-by-mailflow.txt").open() if line.startswith("<")]
SENT_BY_US = {fields[0] for fields in SENT}
INVITATIONS = {fields[0] for fields in SENT if fields[1:] == ["invitation"]}   # sent by `mailflow invite`
CALENDAR_UIDS = {line.split()[1] for line in (CORPUS / "sent-by-mailflow.txt").open() if line.startswith("uid ")}
THRESHOLDS = {"answered": 1.0, "intent": 0.95, "audience": 0.98, "question": 0.95}
# Mails of the held-out sets whose reply decision is wrong, and why (README.md in the corpus). The
# reply decision is right for every other mail.
KNOWN_MISSES = {
    "c-024-gmx-ja-gerne-iphone.eml": "a bare 'Ja, gerne.' on the coordinator's hand-written invitation (not one "
                                     "mailflow sent): flagged for a coordinator, not answered; a bare yes answers "
                                     "'Shall I cancel your registration?' too",
    "d-015-goris-hy-interpretation-question-gmail-base64.eml":
        "'several colleagues would like to participate' (nobody named) reads as an unsure registration on behalf, "
        "which waits unanswered; the label is a question",
    "e-011-wuerzburg-google-groups-dmarc-reply-to-anmeldung-outlook.eml":
        "a registration posted to the network's Google Group: flagged for the coordinator, not answered, "
        "because a list's Reply-To is unproven (anyone can run a list that rewrites From)",
}


def verdict_for(row):
    message = parse_message((CORPUS / row["file"]).read_bytes())
    ours = SENT_BY_US & {*message.in_reply_to, *message.references}
    return classify(message, row["mailbox"], RULES, ours, invitation_ids=INVITATIONS, calendar_uids=CALENDAR_UIDS)


def got(verdict, field):
    return {"audience": verdict.audience, "intent": verdict.intent, "answered": str(verdict.answer).lower(),
            "question": "yes" if verdict.asks or verdict.intent == "question" else "no"}[field]


VERDICTS = {row["file"]: verdict_for(row) for row in ROWS}


def test_the_set_is_large_and_covers_every_intent():
    assert len(ROWS) >= 200
    assert {row["intent"] for row in ROWS} == {"interest", "question", "cancellation", "auto_reply", "bounce", "bulk",
                                               "other"}
    assert {row["audience"] for row in ROWS} == {"international", "german"}
    assert {row["part"] for row in ROWS} == {"train", "test"}
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(row["file"] for row in ROWS)


@pytest.mark.parametrize("field", list(THRESHOLDS))
def test_per_field_accuracy_reaches_its_threshold(field):
    rows = [row for row in ROWS if row.get(field) and not (field == "answered" and row["file"] in KNOWN_MISSES)]
    wrong = [f"{row['part']} {row['file']}: expected {row[field]}, got {got(VERDICTS[row['file']], field)} "
             f"({row['note']}); reasons: {VERDICTS[row['file']].reasons}"
             for row in rows if got(VERDICTS[row["file"]], field) != row[field]]
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= THRESHOLDS[field], f"{field}: {accuracy:.1%} of {len(rows)}; wrong:\n" + "\n".join(wrong)


def _rewrapped(text: str, width: int, flowed: bool) -> str:
    """The mail's text with the writer's own paragraphs wrapped again (hard, or format=flowed and
    decoded as a reader would); quote, signature and footer as they were."""
    import textwrap

    from mailflow.text import read, unflow

    written = read(text)
    lines = []
    for paragraph in written.own.split("\n\n"):
        for line in paragraph.split("\n"):
            wrapped = textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""]
            lines.append(" \n".join(wrapped) if flowed else "\n".join(wrapped))
        lines.append("")
    body = "\n".join(lines)
    if flowed:
        body = unflow(body)
    tail = [part for part in (written.signature and f"-- \n{written.signature}", written.footer, written.quoted)
            if part]
    return body + "\n" + "\n\n".join(tail)


def test_rewrapping_the_writers_own_text_changes_nothing():
    """Hypothesis: any labelled mail, its own paragraphs re-wrapped at 30-100 columns or sent
    format=flowed, keeps its audience, intent and answer."""
    import dataclasses

    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=1000, deadline=None)
    @given(row=st.sampled_from(ROWS), width=st.integers(30, 100), flowed=st.booleans())
    def check(row, width, flowed):
        message = parse_message((CORPUS / row["file"]).read_bytes())
        ours = SENT_BY_US & {*message.in_reply_to, *message.references}
        before = classify(message, row["mailbox"], RULES, ours, invitation_ids=INVITATIONS,
                          calendar_uids=CALENDAR_UIDS)
        after = classify(dataclasses.replace(message, text=_rewrapped(message.text, width, flowed)),
                         row["mailbox"], RULES, ours, invitation_ids=INVITATIONS, calendar_uids=CALENDAR_UIDS)
        assert (after.audience, after.intent, after.answer) == (before.audience, before.intent, before.answer), (
            row["file"], width, flowed, before.reasons, after.reasons)

    check()


def test_the_known_misses_are_still_misses():
    """A known miss that is answered right now belongs off the list (and out of the README)."""
    rows = {row["file"]: row for row in ROWS}
    assert set(KNOWN_MISSES) <= set(rows)
    assert all(got(VERDICTS[name], "answered") != rows[name]["answered"] for name in KNOWN_MISSES)

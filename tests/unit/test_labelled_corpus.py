"""The labelled test set: every mail's audience, intent and answer as a coordinator labelled it.

Per-field accuracy must be 100%. A mail that cannot be got right is a finding to
document in tests/corpus/labelled/README.md, not one to drop.
"""

import csv

import pytest

from mailflow.classify import classify
from mailflow.message import parse_message
from mailflow.rules import load_rules
from tests.helpers import REPO

RULES = load_rules(REPO / "rules.yaml")
CORPUS = REPO / "tests/corpus/labelled"
ROWS = list(csv.DictReader((CORPUS / "expected.csv").open(encoding="utf-8")))
SENT_BY_US = {line.strip() for line in (CORPUS / "sent-by-mailflow.txt").open() if line.startswith("<")}


def verdict_for(row):
    message = parse_message((CORPUS / row["file"]).read_bytes())
    ours = SENT_BY_US & {*message.in_reply_to, *message.references}
    return classify(message, row["mailbox"], RULES, ours)


def test_the_set_is_large_and_covers_every_intent():
    assert len(ROWS) >= 60
    assert {row["intent"] for row in ROWS} == {"interest", "question", "cancellation", "auto_reply", "bounce", "bulk", "other"}
    assert {row["audience"] for row in ROWS} == {"international", "german"}
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(row["file"] for row in ROWS)


@pytest.mark.parametrize("field", ["audience", "intent", "answered"])
def test_per_field_accuracy_is_100_percent(field):
    wrong = []
    for row in ROWS:
        verdict = verdict_for(row)
        got = {"audience": verdict.audience, "intent": verdict.intent, "answered": str(verdict.answer).lower()}[field]
        if got != row[field]:
            wrong.append(f"{row['file']}: expected {row[field]}, got {got} ({row['note']})")
    assert wrong == [], f"{len(wrong)} of {len(ROWS)} wrong:\n" + "\n".join(wrong)

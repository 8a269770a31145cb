"""Third-party test mails: never crash, never answer nonsense.

tests/corpus/thirdparty/<source>/ holds real test mails of other mail projects
(CPython's email package, mail-parser, flanker, talon), byte for byte, and a
labels.csv per source. The labels say whether an event coordinator's
auto-responder should answer the mail; they were decided by reading each mail,
not by running mailflow, so a failing answer test means the classifier is
wrong, not the label (see tests/corpus/thirdparty/README.md).

For every mail:
* parse_message returns a message or raises MessageError (the mail is then
  quarantined); any other exception is a crash;
* classify never raises;
* its answer equals the label.
"""

from __future__ import annotations

import csv

import pytest

from mailflow.classify import classify
from mailflow.errors import MessageError
from mailflow.message import parse_message
from mailflow.rules import load_rules
from tests.support import REPO

CORPUS = REPO / "tests/corpus/thirdparty"
NOT_MAILS = {"LICENSE", "NOTICE", "README.md", "labels.csv"}
SOURCES = ("cpython", "mail-parser", "flanker", "talon")
RULES = load_rules(REPO / "rules.yaml")


def _labels() -> dict[str, tuple[bool, str]]:
    """'source/file' -> (answer, note), from every labels.csv."""
    labels: dict[str, tuple[bool, str]] = {}
    for source in SOURCES:
        with open(CORPUS / source / "labels.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                assert row["answer"] in ("true", "false"), (source, row)
                labels[f"{source}/{row['file']}"] = (row["answer"] == "true", row["note"])
    return labels


LABELS = _labels()
MAILS = sorted(LABELS)


def _parse(name: str):
    """The parsed mail, or None when parse_message quarantines it (MessageError)."""
    try:
        return parse_message((CORPUS / name).read_bytes(), RULES.limits)
    except MessageError:
        return None


def test_every_mail_is_labelled_and_every_label_has_a_mail():
    on_disk = {
        str(path.relative_to(CORPUS))
        for source in SOURCES
        for path in (CORPUS / source).rglob("*")
        if path.is_file() and path.name not in NOT_MAILS
    }
    assert on_disk == set(LABELS)
    assert len(LABELS) == 102


@pytest.mark.parametrize("name", MAILS)
def test_parse_returns_a_message_or_quarantines(name):
    raw = (CORPUS / name).read_bytes()
    try:
        message = parse_message(raw, RULES.limits)
    except MessageError:
        return  # quarantined: fine, it is kept and never answered
    assert message.key


@pytest.mark.parametrize("name", MAILS)
def test_classify_never_raises(name):
    message = _parse(name)
    if message is None:
        pytest.skip("quarantined by parse_message")
    verdict = classify(message, "international", RULES)
    assert isinstance(verdict.answer, bool)


@pytest.mark.parametrize("name", MAILS)
def test_answer_equals_label(name):
    expected, note = LABELS[name]
    message = _parse(name)
    if message is None:
        assert expected is False, f"quarantined, so never answered, but labelled answer=true ({note})"
        return
    verdict = classify(message, "international", RULES)
    assert verdict.answer is expected, (
        f"got answer={verdict.answer} intent={verdict.intent} audience={verdict.audience}, "
        f"expected answer={expected} ({note}); reasons: {list(verdict.reasons)}"
    )


def test_a_mail_without_from_leaves_no_traceback_in_the_log(caplog):
    """flufl.bounce's detectors log a traceback at ERROR for a mail without From:; classifying
    ordinary hostile input must not fill the coordinators' log with them."""
    import logging

    raw = (CORPUS / "cpython" / "msg_18.txt").read_bytes()
    with caplog.at_level(logging.DEBUG):
        classify(parse_message(raw, RULES.limits), "international", RULES)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []

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

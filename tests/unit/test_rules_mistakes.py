"""Slips a coordinator makes in rules.yaml that YAML or pydantic took without a word, or reported where
nothing is wrong: each is a problem at the line to change, with the fix in plain words."""

from pathlib import Path

import pytest

from mailflow.errors import RulesError
from mailflow.rules import parse_rules
from tests.support import REPO

SHIPPED = (REPO / "rules.yaml").read_text()


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, Path("rules.yaml"))
    return [str(p) for p in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def edited(old: str, new: str) -> str:
    text = SHIPPED.replace(old, new, 1)
    assert text != SHIPPED, old
    return text


@pytest.mark.parametrize("old, new, fix", [
    ("    venue: Online", "    venue Online", "`venue: Online`"),
    ("    venue: Online", "    venue:Online", "`venue: Online`"),
    ("    coordinator: Fatina Toukan", "    coordinator Fatina Toukan", "`coordinator: Fatina Toukan`"),
    ("poll_interval: 60 ", "poll_interval 60 ", "`poll_interval: 60`"),
], ids=["no colon", "no space after the colon", "a value of words", "a comment after it"])
def test_a_key_without_its_colon_is_named_on_its_own_line(old, new, fix):
    """The parser stumbles on the next line ("could not find expected ':'"), where nothing is wrong."""
    text = edited(old, new)
    assert problems(text) == [f"rules.yaml:{line_of(text, new)}: this is not valid YAML: a key without a colon "
                              f"and a space after it (a key needs a colon and a space after it: {fix})"]


@pytest.mark.parametrize("old, new", [
    ("      - register\n", "      -register\n"),
    ("      - participat...\n", "      -participat...\n"),
    ("  - id: digitalisation-see-2020", "  -id: digitalisation-see-2020"),
], ids=["an item in the middle", "the first item", "an item of mappings"])
def test_a_dash_without_a_space_is_named_on_its_own_line(old, new):
    text = edited(old, new)
    written = new.strip()
    assert problems(text) == [f"rules.yaml:{line_of(text, new.rstrip())}: this is not valid YAML: a list item "
                              f"without a space after its dash (a dash needs a space after it: `- {written[1:]}`)"]

"""Word lists factored as tries (mailflow.wordlists): the same matches as the plain alternation, span and all."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailflow.wordlists import deferred, either, factor, factored

# Alternatives of the kinds the reading's lists hold: words and phrases, stems, a leading group of words, an
# optional letter, a class, an escaped bar, a look-behind before the word, an empty one, a quantified first letter.
ALTERNATIVES = st.one_of(
    st.text(alphabet="ab c", min_size=1, max_size=4),
    st.text(alphabet="ab", min_size=1, max_size=3).map(lambda word: word + r"\w*"),
    st.builds(lambda a, b, rest: f"(?:{a}|{b}){rest}", st.text(alphabet="ab ", min_size=1, max_size=3),
              st.text(alphabet="ab", min_size=1, max_size=3), st.text(alphabet="ab c", max_size=3)),
    st.builds(lambda a, b: f"{a}?{b}", st.sampled_from("ab"), st.text(alphabet="ab", max_size=2)),
    st.builds(lambda a, b: f"{a}[b|]{b}", st.text(alphabet="ab", min_size=1, max_size=2),
              st.text(alphabet="ab", max_size=2)),
    st.just(r"a\|b"),
    st.builds(lambda a: f"(?<!a )b{a}", st.text(alphabet="ab", max_size=2)),
    st.just(""),
)
TEXTS = st.text(alphabet="ab c|!", max_size=30)


def spans(pattern: str, text: str) -> list[tuple[int, int]]:
    return [found.span() for found in re.finditer(pattern, text)]


@settings(max_examples=2000, deadline=None)
@given(alternatives=st.lists(ALTERNATIVES, min_size=1, max_size=10), text=TEXTS)
def test_a_factored_alternation_matches_where_and_as_the_plain_one(alternatives, text):
    plain = "|".join(alternatives)
    assert spans(either(alternatives), text) == spans(plain, text)
    # as whole words, the way the reading looks for them
    words = r"(?<!\w)(?:{})(?!\w)"
    assert spans(words.format(either(alternatives)), text) == spans(words.format(plain), text)
    assert re.sub(words.format(either(alternatives)), "_", text) == re.sub(words.format(plain), "_", text)


@settings(max_examples=500, deadline=None)
@given(inner=st.lists(ALTERNATIVES, min_size=1, max_size=6), text=TEXTS)
def test_the_groups_inside_a_pattern_are_factored_as_they_match(inner, text):
    pattern = r"c(?:{})b|(?<!\w)(?:{})".format("|".join(inner), "|".join(reversed(inner)))
    assert spans(factor(pattern), text) == spans(pattern, text)


@pytest.mark.parametrize(("alternatives", "expected"), [
    (["no", "nor", "nobody", "not"], "no(?:|r|body|t)"),        # the common letters once, the order kept
    (["no", r"\w*x", "not"], r"no|\w*x|not"),                   # a branch that is no letter stays between
    (["(?:did|have) not", "do"], "d(?:id not|o)|have not"),     # a leading group of words is spread
    (["a(b)c", "ad"], "a(b)c|ad"),                               # a capturing group: left as it is
    (["a*b", "ac"], "a*b|ac"),                                   # a letter that may be missing is no letter
])
def test_what_a_factored_list_looks_like(alternatives, expected):
    assert either(alternatives) == expected


@pytest.mark.parametrize("pattern", [
    r"(?:\0|x)1",          # spread, "\0" and "1" would be one octal escape
    "(?:a{|b)2}",          # spread, "a{" and "2}" would be a quantifier
    "(?:a|b)(?P<n>c)",     # spread, the named group would be there twice
])
def test_a_group_is_not_spread_where_joining_would_change_the_pattern(pattern):
    assert factor(pattern) == pattern


def test_a_long_tail_is_not_repeated_for_each_word_of_a_leading_group():
    tail = " (?:" + "|".join(f"word{i}" for i in range(60)) + ")"
    assert factored([f"(?:did|have|has){tail}"]) == f"(?:did|have|has){tail}"


def test_a_deferred_pattern_is_written_and_compiled_at_its_first_use_and_then_is_the_pattern():
    written: list[str] = []
    pattern = deferred(lambda: written.append("once") or r"(?<!\w)ab", re.IGNORECASE)
    assert written == []
    assert pattern.search("x AB").span() == (2, 4)
    assert pattern.sub("_", "ab cab") == "_ cab"
    assert [found.group() for found in pattern.finditer("ab Ab")] == ["ab", "Ab"]
    assert pattern.pattern == r"(?<!\w)ab"
    assert written == ["once"]


def test_a_greek_final_sigma_is_made_plain_before_the_list_is_factored():
    """statements._alternation looks for "ς" as "σ": done after factoring, "aς b" would be tried after "aσ b c"
    (another letter's branch), and the longer match would win where the plain alternation takes the first."""
    from mailflow.statements import _alternation

    assert spans(_alternation(["aσq", "aς b", "aσ b c"]).pattern, "aσ b c") == [(0, 4)]


def test_a_deferred_pattern_can_be_copied_and_pickled():
    import copy
    import pickle

    for made in (copy.copy(deferred("ab")), copy.deepcopy(deferred("ab")), pickle.loads(pickle.dumps(deferred("ab")))):
        assert made.search("xab").span() == (1, 3)


def test_every_deferred_pattern_of_the_reading_compiles():
    """A deferred pattern compiles at its first use: a broken one would fail in a pass, not at import."""
    from mailflow import statements
    from mailflow.wordlists import Deferred

    patterns = [value for value in vars(statements).values() if isinstance(value, Deferred)]
    assert len(patterns) > 80
    assert all(isinstance(pattern.groups, int) for pattern in patterns)

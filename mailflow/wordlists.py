"""Lists of words and phrases as regular expressions that the engine searches fast.

Python's engine tries the branches of an alternation one by one at every position of a text; the reading's
lists have hundreds. Factored as a trie, a position tries only the branches that begin with its letter, and
every match is the same, span and all (tests/unit/test_wordlists.py compares them with the plain alternation).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, cast


def either(expressions: list[str]) -> str:
    """The expressions as one alternation, factored (factor)."""
    return factor("|".join(expressions))


def factor(expression: str) -> str:
    """An expression with each alternation in it factored as a trie (factored): at its top level and in each
    group "(?:...)"; as it is when it captures a group (a trie would number the groups in another order, and
    repeat a named one). Without flags: under IGNORECASE two different first letters may match one character
    ("i" and "ı"), and only a search's yes or no is then the plain alternation's."""
    if any(char == "(" and (expression[at + 1:at + 2] != "?" or expression.startswith("(?P<", at))
           for at, char, _ in _structure(expression)):
        return expression
    return _factor(expression)


def _factor(expression: str) -> str:
    return factored([_factor_groups(alternative) for alternative in _top_level(expression)])


def _factor_groups(alternative: str) -> str:
    """The groups "(?:...)" of one alternative, each factored (lookarounds and flagged groups as they are)."""
    pieces: list[str] = []
    done = 0
    opened = None
    for at, char, depth in _structure(alternative):
        if char == "(" and depth == 1 and alternative.startswith("(?:", at):
            opened = at + 3
        elif char == ")" and depth == 0 and opened is not None:
            pieces += [alternative[done:opened], _factor(alternative[opened:at])]
            done, opened = at, None
    return "".join([*pieces, alternative[done:]])


def _structure(expression: str) -> Iterator[tuple[int, str, int]]:
    """Each parenthesis and bar of an expression outside escapes and character classes, with its index and the
    depth of groups it stands in (a closing parenthesis at the depth after it)."""
    depth = 0
    for token in _TOKENS.finditer(expression):
        char = token.group()
        if char in "()|":
            depth += (char == "(") - (char == ")")
            yield token.start(), char, depth


# An escape, a character class (a "]" first in it is its own), or a parenthesis or bar
_TOKENS = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]|[()|]", re.DOTALL)


def _top_level(expression: str) -> list[str]:
    """The alternatives of an expression at its top level: "a|b(?:c|d)" is "a" and "b(?:c|d)"."""
    bars = [at for at, char, depth in _structure(expression) if char == "|" and depth == 0]
    return [expression[start + 1:end] for start, end in zip([-1, *bars], [*bars, len(expression)], strict=True)]


def factored(alternatives: list[str]) -> str:
    """The alternatives (none with a "|" of its own at its top level) as one alternation with their leading
    letters factored out, as in a trie ("a(?:b|c)" for "ab|ac"): at each position the engine tries only the
    branches that begin with the letter there, not the whole list (the interest words' search takes half the
    time). Under each letter the branches keep their order, and branches that begin with different letters
    never match at the same position, so every match is the plain alternation's, span and all. A branch that
    does not begin with a letter stays where it is, between the tries of the branches before and after it; a
    leading group of words is spread first ("(?:did|have) not" is "did not|have not")."""
    pieces: list[str] = []
    branches: dict[str, list[str]] = {}
    for spread in (spread for alternative in alternatives for spread in _spread(alternative)):
        if letter_led(spread):
            branches.setdefault(spread[0], []).append(spread[1:])
            continue
        pieces += [_branch(letter, rest) for letter, rest in branches.items()]
        branches = {}
        pieces.append(spread)
    return "|".join(pieces + [_branch(letter, rest) for letter, rest in branches.items()])


def _branch(letter: str, rests: list[str]) -> str:
    """The branches that begin with a letter, their common letters after it written once ("confiden(?:tial|țial)"
    rather than a group for each letter: the engine compiles fewer groups)."""
    if len(rests) == 1:
        return letter + rests[0]
    while all(letter_led(rest) for rest in rests) and len({rest[0] for rest in rests}) == 1:
        letter += rests[0][0]
        rests = [rest[1:] for rest in rests]
    return f"{letter}(?:{factored(rests)})"


def letter_led(alternative: str) -> bool:
    """Whether an alternative begins with a letter or digit that it matches once (not "a*", "a?", "a{2}")."""
    return alternative[:1].isalnum() and alternative[1:2] not in ("*", "+", "?", "{")


def _spread(alternative: str) -> list[str]:
    """ "(?:a|b)c" as "ac" and "bc", in that order (the same matches, tried in the same order), where that
    repeats little ("c" is short) and "c" is nothing or begins with a letter or a space; anything else as it
    is."""
    if not alternative.startswith("(?:"):
        return [alternative]
    end = next(at for at, char, depth in _structure(alternative) if depth == 0)
    rest = alternative[end + 1:]
    choices = _top_level(alternative[3:end])
    # (only before a letter or a space: a choice and what follows must not make a new token, "\\0" and "1")
    if rest and not (rest[0].isalpha() or rest[0] == " ") or len(choices) * len(rest) > SPREAD_CHARS:
        return [alternative]
    return [spread + rest for choice in choices for spread in _spread(choice)]


SPREAD_CHARS = 400   # a longer pattern compiles slower (at every start) than the trie saves


class Deferred:
    """A regular expression compiled at its first use. The reading holds some 90 of them, and a pass of
    ordinary mail uses half: compiled at import, the others cost every start (a cron run, each command) about
    35 ms. Once compiled, its methods are the compiled pattern's own, looked up as fast."""

    def __init__(self, pattern: str | Callable[[], str], flags: int = 0) -> None:
        self._source = pattern
        self._flags = flags

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):   # (copy and pickle look for their hooks before __init__ has run)
            raise AttributeError(name)
        source = self._source if isinstance(self._source, str) else self._source()
        compiled = re.compile(source, self._flags)
        self.__dict__.update((attribute, getattr(compiled, attribute)) for attribute in _ATTRIBUTES)
        return getattr(compiled, name)


_ATTRIBUTES = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split", "pattern", "flags",
               "groups", "groupindex")


def deferred(pattern: str | Callable[[], str], flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)` when first used (`pattern` may be a function that writes it)."""
    return cast("re.Pattern[str]", Deferred(pattern, flags))

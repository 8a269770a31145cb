"""Every word in mailflow's patterns and rules.yaml is written in one script.

Georgian and Armenian letters look alike to someone who types neither: "ինքս" typed with a Georgian first letter
(or "ցավოք" with a Georgian "ო") matches nothing, silently. Three such words were caught by hand on 2026-11-30,
two Armenian registration patterns before that.
"""

from __future__ import annotations

import re

from tests.support import REPO

SCRIPTS = {"Georgian": ("\u10a0", "\u10ff"), "Armenian": ("\u0530", "\u058f"), "Cyrillic": ("\u0400", "\u04ff"),
           "Greek": ("\u0370", "\u03ff")}


def scripts_of(word: str) -> set[str]:
    return {name for name, (low, high) in SCRIPTS.items() if any(low <= c <= high for c in word)}


def test_no_word_mixes_two_scripts():
    files = [*sorted((REPO / "mailflow").rglob("*.py")), REPO / "rules.yaml", REPO / "README.md",
             *sorted((REPO / "templates").glob("*"))]
    mixed = [f"{path.relative_to(REPO)}: {word!r} ({', '.join(sorted(scripts_of(word)))})"
             for path in files if path.is_file()
             for word in re.findall(r"\w+", path.read_text(encoding="utf-8")) if len(scripts_of(word)) > 1]
    assert not mixed, "\n".join(mixed)


def test_the_check_finds_a_mixed_word():
    assert scripts_of("ինქս") == {"Armenian", "Georgian"} and scripts_of("ինքս") == {"Armenian"}

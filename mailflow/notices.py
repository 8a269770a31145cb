"""The notice that hands a mail to the other coordinator, written for a person in their language.

Pure: who wrote, why mailflow thinks the mail is theirs (the audience evidence in words, not weights),
and what the sender was told; the worker composes it (outbox.compose_notice) with the original attached.
The receiving mailbox's `language` (rules.LANGUAGES: en, de) chooses the words.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from babel import Locale

from .classify import DOMAIN, LANGUAGE, PHONE, PHRASE, SIGNATURE, TLD, Evidence

# How each piece of evidence reads, per language; {0} is what was found, {1} its language's name.
_EVIDENCE = {
    "en": {
        LANGUAGE: "the mail is written in {1}",
        TLD: "the sender's address ends in .{0}",
        DOMAIN: "the sender's address is at {0}, a domain listed for your experts",
        PHRASE: "the mail says “{0}”",
        PHONE: "the signature has a phone number starting {0}",
        SIGNATURE: "the signature names {0}",
    },
    "de": {
        LANGUAGE: "die Mail ist auf {1} geschrieben",
        TLD: "die Adresse des Absenders endet auf .{0}",
        DOMAIN: "die Adresse des Absenders liegt bei {0}, einer Domain, die für Ihre Expertinnen und Experten "
                "eingetragen ist",
        PHRASE: "in der Mail steht „{0}“",
        PHONE: "die Signatur nennt eine Telefonnummer mit {0}",
        SIGNATURE: "die Signatur nennt {0}",
    },
}

_ORDER = (LANGUAGE, TLD, DOMAIN, PHRASE, PHONE, SIGNATURE)   # the order they are named in

# What the sender was told, by the reply's kind (rules.replies' keys).
_TOLD = {
    "en": {
        "interest": "that they are registered",
        "question": "that their question was passed on to you",
        "cancellation": "that their registration is cancelled",
        "registration_closed": "that registration is closed",
        "other": "a short acknowledgement",
    },
    "de": {
        "interest": "dass sie angemeldet sind",
        "question": "dass ihre Frage an Sie weitergegeben wurde",
        "cancellation": "dass ihre Anmeldung storniert ist",
        "registration_closed": "dass die Anmeldung geschlossen ist",
        "other": "eine kurze Eingangsbestätigung",
    },
}

_TEXT = {
    "en": {
        "subject": "[mailflow] A mail for you reached {home}: {subject}",
        "greeting": "Dear {name},",
        "arrived": "a mail that mailflow thinks is meant for you reached {home} ({address}). "
                   "The original mail is attached.",
        "from": "From",
        "subject_label": "Subject",
        "why": "Why mailflow thinks it is yours: {why}.",
        "told": "mailflow answered the sender in your name, from your address, with “{subject}”: {what}.",
        "not_told": "mailflow sent the sender no reply.",
        "wrong": "If the mail is not for you after all, `mailflow explain {number}` shows every detail and "
                 "`mailflow set-audience {sender} {home_audience}` gives it back.",
        "and": "and",
    },
    "de": {
        "subject": "[mailflow] Eine Mail für Sie ging an {home}: {subject}",
        "greeting": "Guten Tag {name},",
        "arrived": "eine Mail, die nach Ansicht von mailflow für Sie bestimmt ist, ging an {home} ({address}). "
                   "Die Original-Mail ist angehängt.",
        "from": "Von",
        "subject_label": "Betreff",
        "why": "Warum mailflow sie für Ihre hält: {why}.",
        "told": "mailflow hat dem Absender in Ihrem Namen und von Ihrer Adresse mit „{subject}“ geantwortet: {what}.",
        "not_told": "mailflow hat dem Absender nicht geantwortet.",
        "wrong": "Falls die Mail doch nicht für Sie ist: `mailflow explain {number}` zeigt alle Einzelheiten, "
                 "`mailflow set-audience {sender} {home_audience}` gibt sie zurück.",
        "and": "und",
    },
}


@dataclass(frozen=True)
class Told:
    """The reply mailflow sent the sender: its kind (rules.replies' key) and subject."""

    kind: str
    subject: str


@functools.cache
def language_name(code: str, language: str) -> str:
    """'de' in English is 'German', 'ka' in German 'Georgisch' (Babel's CLDR names); the code when unknown."""
    return Locale(language).languages.get(code, code)


def reasons_in_words(evidence: Sequence[Evidence], language: str) -> str:
    """'the mail is written in German and the sender's address ends in .de' (each kind of evidence once)."""
    words = _EVIDENCE[language]
    seen: dict[tuple[str, str], str] = {}
    for item in sorted(evidence, key=lambda e: _ORDER.index(e.kind) if e.kind in _ORDER else len(_ORDER)):
        if item.kind in words:
            seen.setdefault((item.kind, item.found), words[item.kind].format(item.found,
                                                                             language_name(item.found, language)))
    parts = list(seen.values())
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {_TEXT[language]['and']} {parts[-1]}"


def notice(
    language: str, *, to_name: str, home_name: str, home_address: str, home_audience: str, sender_name: str,
    sender: str,
    subject: str, evidence: Sequence[Evidence], told: Told | None, number: int,
) -> tuple[str, str]:
    """(subject, text) of the notice to the coordinator `to_name` about a mail that reached the other
    coordinator `home_name`."""
    t = _TEXT[language]
    who = f"{sender_name} <{sender}>" if sender_name else sender
    if told:
        what = _TOLD[language].get(told.kind, _TOLD[language]["other"])
        answer = t["told"].format(subject=told.subject, what=what)
    else:
        answer = t["not_told"]
    lines = [
        t["greeting"].format(name=to_name),
        "",
        t["arrived"].format(home=home_name, address=home_address),
        "",
        f"{t['from']}: {who}",
        f"{t['subject_label']}: {subject}",
        "",
    ]
    why = reasons_in_words(evidence, language)
    if why:
        lines += [t["why"].format(why=why), ""]
    wrong = t["wrong"].format(number=number, sender=sender or "ADDRESS", home_audience=home_audience)
    lines += [answer, "", wrong, "", "-- ", "mailflow"]
    return t["subject"].format(home=home_name, subject=subject), "\n".join(lines) + "\n"

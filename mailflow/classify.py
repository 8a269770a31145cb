"""Classification: who wrote (audience), what they want (intent), and whether to answer.

Pure functions of the parsed mail and the rules; every decision carries the
reasons that led to it, so coordinators can check it (`mailflow classify`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Container
from dataclasses import dataclass, field

from .addresses import domain_of, local_part
from .message import IncomingMessage
from .rules import Rules

AUTOMATIC_INTENTS = frozenset({"auto_reply", "bounce", "bulk"})

# Weights of audience evidence; the receiving mailbox counts least, so that a
# German expert writing to the international address is still recognised.
MAILBOX_WEIGHT = 1
TLD_WEIGHT = 2
LANGUAGE_WEIGHT = 2
SIGNATURE_WEIGHT = 2
DOMAIN_WEIGHT = 3
PHRASE_WEIGHT = 3
SIGNATURE_LINES = 8

LanguageDetector = Callable[[str, tuple[str, ...]], "str | None"]  # (text, phrases to ignore)

_QUOTE_HEADER = re.compile(
    r"^(-{2,}\s*(original message|ursprüngliche nachricht|weitergeleitete nachricht|forwarded message)"
    r"|on .{0,200} wrote:|am .{0,200} schrieb .{0,200}:|from:\s.*@.*)",
    re.IGNORECASE,
)
# Outlook's quote block: "Von: ..." followed by "Gesendet: ..." (or From/Sent, in several languages).
_OUTLOOK_FROM = re.compile(r"^(from|von|de|od|от|від)\s*:\s*\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^(sent|gesendet|date|datum|enviado|poslano|poslato|отправлено|надіслано)\s*:", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=\D[.!?;:])\s+|\n\s*\n")  # "am 7. Oktober" stays one sentence


@dataclass(frozen=True)
class Classification:
    audience: str | None
    intent: str
    answer: bool
    confidence: str = "high"
    reasons: tuple[str, ...] = field(default_factory=tuple)
    bounced: tuple[str, ...] = ()   # recipients a bounce reports as failed

    def as_dict(self) -> dict:
        return {
            "audience": self.audience,
            "intent": self.intent,
            "answer": self.answer,   # would mailflow answer it (not the auto_reply intent)
            "confidence": self.confidence,
            "reasons": list(self.reasons),
        }


def own_text(text: str) -> str:
    """The part the sender wrote: quoted lines and everything after a quote header dropped."""
    kept: list[str] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _QUOTE_HEADER.match(stripped):
            break
        if _OUTLOOK_FROM.match(stripped):
            following = next((l.strip() for l in lines[index + 1:index + 3] if l.strip()), "")
            if _OUTLOOK_SENT.match(following):
                break
        if stripped.startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept)


def classify(
    message: IncomingMessage,
    mailbox: str,
    rules: Rules,
    our_message_ids: Container[str] = (),
    detect_language: LanguageDetector | None = None,
) -> Classification:
    """Audience, intent and whether to answer, each with its reasons.

    `our_message_ids` holds the Message-IDs among this mail's In-Reply-To and
    References that mailflow sent; `detect_language` defaults to language.detect.
    """
    if detect_language is None:
        from .language import detect as detect_language
    reasons: list[str] = []
    bounced: list[str] = []
    text = own_text(message.text)
    audience, confidence = _audience(message, text, mailbox, rules, reasons, detect_language)
    intent = _intent(message, text, rules, our_message_ids, reasons, bounced)
    answer = _should_answer(message, intent, audience, rules, reasons)
    return Classification(audience, intent, answer, confidence, tuple(reasons), tuple(bounced))


def _audience(
    message: IncomingMessage,
    text: str,
    mailbox: str,
    rules: Rules,
    reasons: list[str],
    detect_language: LanguageDetector,
) -> tuple[str | None, str]:
    home = rules.audience_of(mailbox)
    scores: dict[str, int] = {home: MAILBOX_WEIGHT}
    reasons.append(f"audience: received at mailbox {mailbox!r} -> {home} (+{MAILBOX_WEIGHT})")

    def add(name: str, weight: int, why: str) -> None:
        scores[name] = scores.get(name, 0) + weight
        reasons.append(f"audience: {why} -> {name} (+{weight})")

    domain = domain_of(message.sender) if message.sender else ""
    body, signature = split_signature(text)
    lowered = f"{message.subject}\n{body}".casefold()
    evidence_by_audience = rules.classification.audiences
    language = None
    if any(e.languages for e in evidence_by_audience.values()):
        language = detect_language(body, tuple(e.title for e in rules.events))
    if language:
        reasons.append(f"language: {language}")
    for name, evidence in evidence_by_audience.items():
        if domain and any(domain == d or domain.endswith("." + d) for d in _domains(evidence.domains)):
            add(name, DOMAIN_WEIGHT, f"sender domain {domain} is listed")
        elif domain and any(domain.endswith("." + t.lower().lstrip(".")) for t in evidence.tlds):
            add(name, TLD_WEIGHT, f"sender domain {domain} is a country domain of this audience")
        # One search for all phrases first: most mails contain none, and then no phrase matches alone.
        if evidence.phrases and _found(tuple(evidence.phrases), lowered):
            for phrase in evidence.phrases:
                if _found((phrase,), lowered):
                    add(name, PHRASE_WEIGHT, f"text says {phrase!r}")
        if language and language in evidence.languages:
            add(name, LANGUAGE_WEIGHT, f"the mail is written in {language}")
        prefix = _phone_prefix(tuple(evidence.phone_prefixes), signature)
        if prefix:
            add(name, SIGNATURE_WEIGHT, f"phone number {prefix} in the signature")
        word = _matches(evidence.signature_words, signature)
        if word:
            add(name, SIGNATURE_WEIGHT, f"signature names {word!r}")
    best = max(scores.values())
    winners = [name for name, score in scores.items() if score == best]
    chosen = home if home in winners else sorted(winners)[0]
    own_evidence = best - (MAILBOX_WEIGHT if chosen == home else 0)
    others = sum(score for name, score in scores.items() if name != chosen)
    confidence = "high" if own_evidence >= TLD_WEIGHT and best > others else "low"
    reasons.append(f"audience: {chosen} ({confidence} confidence)")
    return chosen, confidence


def _domains(listed: list[str]) -> list[str]:
    return [d.lower().lstrip("@.") for d in listed]


def _phone_prefix(prefixes: tuple[str, ...], signature: str) -> str | None:
    """The first listed prefix (+49 or 0049) found at the start of a number, not inside another number."""
    if not prefixes or not _phone_pattern(prefixes).search(signature):   # one search for the usual "none"
        return None
    return next((p for p in prefixes if _phone_pattern((p,)).search(signature)), None)


@functools.lru_cache(maxsize=512)
def _phone_pattern(prefixes: tuple[str, ...]) -> re.Pattern:
    numbers = "|".join(re.escape(p.lstrip("+0")) for p in prefixes)
    return re.compile(rf"(?<![\w+])(?:\+|00)(?:{numbers})[\s(/.-]*\d")


def split_signature(text: str) -> tuple[str, str]:
    """(body, signature): after a '-- ' line, else the last few lines count as signature."""
    lines = text.rstrip().splitlines()
    for index, line in enumerate(lines):
        if line.rstrip() == "--":
            return "\n".join(lines[:index]), "\n".join(lines[index + 1:])
    return text, "\n".join(lines[-SIGNATURE_LINES:])


def _matches(patterns: list[str], text: str) -> str | None:
    """A pattern found at the start of a word ('fragen' is not in 'Rückfragen'), or None.

    In a pattern, ' * ' stands for a few words in between: 'nehme * teil'
    finds "nehme sehr gern an der Veranstaltung teil".
    """
    return _found(tuple(patterns), text.casefold()) if patterns else None


def _found(patterns: tuple[str, ...], folded: str) -> str | None:
    """_matches for a text that is casefolded already: the leftmost match of any pattern, and of
    the patterns matching there the first listed (what one alternation of them would pick)."""
    union, each = _compiled(patterns)
    hit = union.search(folded)
    if hit is None:
        return None
    return next(pattern for pattern, regex in zip(patterns, each) if regex.match(folded, hit.start()))


_FEW_WORDS = r"[^!?\n]{0,80}?"  # what ' * ' in a pattern stands for: within one line and sentence


@functools.lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern, tuple[re.Pattern, ...]]:
    """One alternation for a whole list (classification runs every list over every mail), plus each
    pattern alone. The alternation has no groups: a named group per pattern made it five times slower."""
    bodies = [_FEW_WORDS.join(re.escape(piece.strip()) for piece in pattern.casefold().split(" * "))
              for pattern in patterns]
    return (re.compile(r"(?<!\w)(?:" + "|".join(bodies) + ")"),
            tuple(re.compile(r"(?<!\w)(?:" + body + ")") for body in bodies))


def _bounce_evidence(message: IncomingMessage, rules: Rules) -> str:
    """Why this looks like a delivery failure report, or '' when it does not."""
    sender = message.sender or ""
    if message.report_type == "delivery-status" or "message/delivery-status" in message.part_types:
        return "delivery status report"
    if local_part(sender) in ("mailer-daemon", "postmaster"):
        return f"sent by {sender}"
    if message.header("x-failed-recipients"):
        return "X-Failed-Recipients header"
    robotic = not sender or message.header("return-path") == "" or bool(_robot(sender, rules))
    subject = _matches(rules.classification.intents.bounce_subjects, message.subject)
    # A subject alone is no proof (phishing says "nicht zustellbar" too): a machine sender or a
    # bounce detector must agree.
    if subject and robotic:
        return f"subject contains {subject!r}, sent by a machine"
    if (subject or robotic) and _failed_recipients(message):
        return "a bounce detector found failed recipients"
    return ""


def _robot(sender: str, rules: Rules) -> str | None:
    """The robot word the address's local part is made of ('no-reply', 'bounces+x'), not hidden in a name."""
    found = _robot_pattern(tuple(rules.classification.robot_senders)).search(local_part(sender))
    return found.group(1) if found else None


@functools.lru_cache(maxsize=16)
def _robot_pattern(words: tuple[str, ...]) -> re.Pattern:
    """One regex for the whole list; the group is the word as rules.yaml spells it (first listed wins)."""
    alternatives = "|".join(re.escape(word.lower()) for word in words) or "(?!)"
    return re.compile(rf"(?:^|[.\-_+=])({alternatives})(?:$|[.\-_+=0-9]|s\b)")


def _failed_recipients(message: IncomingMessage) -> list[str]:
    """Recipients a bounce reports as failed, found by flufl.bounce (Mailman's detectors)."""
    if message.parsed is None:
        return []
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message.parsed)
    except Exception:  # heuristic detectors on hostile input: no recipients, not a crash
        return []
    return sorted({a.decode("utf-8", "replace").lower() for a in (*permanent, *temporary)})


def _intent(
    message: IncomingMessage,
    text: str,
    rules: Rules,
    our_message_ids: Container[str],
    reasons: list[str],
    bounced: list[str],
) -> str:
    sender = message.sender or ""
    header = message.header
    bounce_why = _bounce_evidence(message, rules)
    if bounce_why:
        bounced.extend(_failed_recipients(message))
        failed = f"; failed: {', '.join(bounced)}" if bounced else ""
        reasons.append(f"intent: bounce ({bounce_why}{failed})")
        return "bounce"
    if not sender and not message.sender_name and header("return-path") in (None, ""):
        reasons.append("intent: auto_reply (no sender address: sent by a machine)")
        return "auto_reply"
    auto_submitted = (header("auto-submitted") or "no").lower()
    if auto_submitted.split(";")[0].strip() != "no":
        reasons.append(f"intent: auto_reply (Auto-Submitted: {auto_submitted})")
        return "auto_reply"
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"):
        if header(name) is not None:
            reasons.append(f"intent: auto_reply ({name} header present)")
            return "auto_reply"
    subject_hit = _matches(rules.classification.intents.auto_reply_subjects, message.subject)
    if subject_hit:
        reasons.append(f"intent: auto_reply (subject contains {subject_hit!r})")
        return "auto_reply"
    phrase_hit = _matches(rules.classification.intents.auto_reply_phrases, text)
    if phrase_hit:
        reasons.append(f"intent: auto_reply (text says {phrase_hit!r})")
        return "auto_reply"
    precedence = (header("precedence") or "").lower()
    if precedence in ("bulk", "list", "junk"):
        reasons.append(f"intent: bulk (Precedence: {precedence})")
        return "bulk"
    list_headers = [h for h in message.headers if h.startswith("list-")]
    if list_headers:
        reasons.append(f"intent: bulk (mailing-list header {list_headers[0]})")
        return "bulk"
    if header("return-path") == "":
        reasons.append("intent: auto_reply (empty Return-Path: sent by a machine)")
        return "auto_reply"
    robot = _robot(sender, rules)
    if robot:
        reasons.append(f"intent: bulk (sender {sender} looks like a robot: {robot!r})")
        return "bulk"

    patterns = rules.classification.intents
    cancel = _matches(patterns.cancellation, text if _is_reply(message) else f"{message.subject}\n{text}")
    if cancel:
        reasons.append(f"intent: cancellation (says {cancel!r})")
        return "cancellation"
    in_our_thread = any(i in our_message_ids for i in (*message.in_reply_to, *message.references))
    # The subject of a reply is the one we (or someone) wrote: it says nothing of this sender's intent.
    subject = "" if _is_reply(message) else message.subject
    kind, said = _asked_or_registered(subject, text, patterns.interest, patterns.question)
    if kind == "interest" and in_our_thread:
        reasons.append(f"intent: other (says {said!r}, but in reply to a mail we sent: not a new registration)")
        return "other"
    if kind == "question":
        where = " in a thread we started" if in_our_thread else ""
        reasons.append(f"intent: question{where} (asks first: {said!r})")
        return "question"
    if kind == "interest":
        reasons.append(f"intent: interest (says {said!r})")
        return "interest"
    if in_our_thread:
        reasons.append("intent: other (a reply to a mail we sent, not a new registration)")
        return "other"
    reasons.append("intent: other (no pattern matched)")
    return "other"


_REPLY_PREFIX = re.compile(r"^\s*(re|aw|antw|antwort|sv|odg|odgovor|отв|ответ|wg|fw|fwd)\s*:", re.IGNORECASE)


def _is_reply(message: IncomingMessage) -> bool:
    return bool(message.in_reply_to) or bool(_REPLY_PREFIX.match(message.subject))


def _asked_or_registered(subject: str, text: str, interest: list[str], question: list[str]) -> tuple[str, str]:
    """Whichever comes first, a question or a registration statement, decides.

    A sentence that asks (ends in '?' or names a question) is a question; a
    statement with interest words is a registration, unless it also speaks of
    questions ("before we register, two questions:"). "I'd like to register.
    One small question: ...?" is interest; "Could you send the agenda? Then we
    decide who attends." is a question.
    """
    for sentence in (subject, *_SENTENCE_END.split(text)):
        sentence = sentence.strip()
        if not sentence:
            continue
        asked = _matches(question, sentence)
        if asked or sentence.endswith("?"):
            return "question", asked or sentence[-60:]
        registered = _matches(interest, sentence)
        if registered:
            return "interest", registered
    return "", ""


def _should_answer(
    message: IncomingMessage, intent: str, audience: str | None, rules: Rules, reasons: list[str]
) -> bool:
    if intent in AUTOMATIC_INTENTS:
        reasons.append(f"answer: no ({intent} mail is never answered)")
        return False
    if not message.sender:
        reasons.append("answer: no (no valid sender address)")
        return False
    if message.sender in rules.own_addresses:
        reasons.append("answer: no (sent from one of our own addresses)")
        return False
    if not local_part(message.sender).isascii():
        reasons.append("answer: no (the address has non-ASCII characters before the @; replying needs SMTPUTF8)")
        return False
    template = rules.replies.get(intent, {}).get(audience or "")
    if not template:
        reasons.append(f"answer: no (rules.yaml has no reply for {intent} / {audience})")
        return False
    reasons.append(f"answer: yes with template {template}")
    return True

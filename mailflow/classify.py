"""Classification: who wrote (audience), what they want (intent), and whether to answer.

Pure functions of the parsed mail and the rules; every decision carries the
reasons that led to it, so coordinators can check it (`mailflow classify`).
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field

from .addresses import domain_of, local_part
from .message import IncomingMessage
from .rules import Rules

AUTOMATIC_INTENTS = frozenset({"auto_reply", "bounce", "bulk"})

# Weights of audience evidence; the receiving mailbox counts least, so that a
# German expert writing to the international address is still recognised.
MAILBOX_WEIGHT = 1
TLD_WEIGHT = 2
DOMAIN_WEIGHT = 3
PHRASE_WEIGHT = 3

_QUOTE_HEADER = re.compile(
    r"^(-{2,}\s*(original message|ursprüngliche nachricht|weitergeleitete nachricht)"
    r"|on .{0,200} wrote:|am .{0,200} schrieb .{0,200}:|from:\s.*@.*)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Classification:
    audience: str | None
    intent: str
    answer: bool
    confidence: str = "high"
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        return {
            "audience": self.audience,
            "intent": self.intent,
            "auto_reply": self.answer,
            "confidence": self.confidence,
            "reasons": list(self.reasons),
        }


def own_text(text: str) -> str:
    """The part the sender wrote: quoted lines and everything after a quote header dropped."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if _QUOTE_HEADER.match(stripped):
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
) -> Classification:
    reasons: list[str] = []
    text = own_text(message.text)
    audience, confidence = _audience(message, text, mailbox, rules, reasons)
    intent = _intent(message, text, rules, our_message_ids, reasons)
    answer = _should_answer(message, intent, audience, rules, reasons)
    return Classification(audience, intent, answer, confidence, tuple(reasons))


def _audience(
    message: IncomingMessage, text: str, mailbox: str, rules: Rules, reasons: list[str]
) -> tuple[str | None, str]:
    home = rules.audience_of(mailbox)
    scores: dict[str, int] = {home: MAILBOX_WEIGHT}
    reasons.append(f"audience: received at mailbox {mailbox!r} -> {home} (+{MAILBOX_WEIGHT})")
    domain = domain_of(message.sender) if message.sender else ""
    lowered = f"{message.subject}\n{text}".casefold()
    for name, evidence in rules.classification.audiences.items():
        for wanted in evidence.domains:
            wanted = wanted.lower().lstrip("@.")
            if domain == wanted or domain.endswith("." + wanted):
                scores[name] = scores.get(name, 0) + DOMAIN_WEIGHT
                reasons.append(f"audience: sender domain {domain} matches {wanted!r} -> {name} (+{DOMAIN_WEIGHT})")
                break
        else:
            for tld in evidence.tlds:
                if domain.endswith("." + tld.lower().lstrip(".")):
                    scores[name] = scores.get(name, 0) + TLD_WEIGHT
                    reasons.append(f"audience: sender domain {domain} ends in .{tld.lstrip('.')} -> {name} (+{TLD_WEIGHT})")
                    break
        for phrase in evidence.phrases:
            if _matches([phrase], lowered):
                scores[name] = scores.get(name, 0) + PHRASE_WEIGHT
                reasons.append(f"audience: text says {phrase!r} -> {name} (+{PHRASE_WEIGHT})")
    best = max(scores.values())
    winners = [name for name, score in scores.items() if score == best]
    chosen = home if home in winners else sorted(winners)[0]
    own_evidence = best - (MAILBOX_WEIGHT if chosen == home else 0)
    others = sum(score for name, score in scores.items() if name != chosen)
    confidence = "high" if own_evidence >= TLD_WEIGHT and best > others else "low"
    reasons.append(f"audience: {chosen} ({confidence} confidence)")
    return chosen, confidence


def _matches(patterns: list[str], text: str) -> str | None:
    """The first pattern found at the start of a word ('fragen' is not in 'Rückfragen')."""
    folded = text.casefold()
    for pattern in patterns:
        if re.search(r"(?<!\w)" + re.escape(pattern.casefold()), folded):
            return pattern
    return None


def _intent(
    message: IncomingMessage,
    text: str,
    rules: Rules,
    our_message_ids: Container[str],
    reasons: list[str],
) -> str:
    sender = message.sender or ""
    header = message.header
    if message.report_type == "delivery-status" or "message/delivery-status" in message.part_types:
        reasons.append("intent: bounce (delivery status report)")
        return "bounce"
    if local_part(sender) in ("mailer-daemon", "postmaster") or header("x-failed-recipients"):
        reasons.append(f"intent: bounce (sent by {sender or 'an unknown sender'})")
        return "bounce"
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
    robot = next((r for r in rules.classification.robot_senders if r in local_part(sender)), None)
    if robot:
        reasons.append(f"intent: bulk (sender {sender} looks like a robot: {robot!r})")
        return "bulk"

    patterns = rules.classification.intents
    cancel = _matches(patterns.cancellation, f"{message.subject}\n{text}")
    if cancel:
        reasons.append(f"intent: cancellation (says {cancel!r})")
        return "cancellation"
    in_our_thread = any(i in our_message_ids for i in (*message.in_reply_to, *message.references))
    asked = _matches(patterns.question, f"{message.subject}\n{text}")
    if in_our_thread:
        if asked or "?" in text:
            reasons.append(f"intent: question in a thread we started (says {asked or '?'!r})")
            return "question"
        reasons.append("intent: other (a reply to a mail we sent, not a new registration)")
        return "other"
    # An explicit question outranks interest words ("before we register, two questions").
    if asked:
        reasons.append(f"intent: question (says {asked!r})")
        return "question"
    interest = _matches(patterns.interest, f"{message.subject}\n{text}")
    if interest:
        reasons.append(f"intent: interest (says {interest!r})")
        return "interest"
    if "?" in text:
        reasons.append("intent: question (asks something: '?')")
        return "question"
    reasons.append("intent: other (no pattern matched)")
    return "other"


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
    template = rules.replies.get(intent, {}).get(audience or "")
    if not template:
        reasons.append(f"answer: no (rules.yaml has no reply for {intent} / {audience})")
        return False
    reasons.append(f"answer: yes with template {template}")
    return True

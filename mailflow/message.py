"""Incoming mail: raw bytes in, plain decoded facts out.

Everything taken from a parsed header is turned into a cleaned `str` here (no
CR, LF or other control characters), so no later step can carry a header object,
or a smuggled newline, into an outgoing mail.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message

from .addresses import InvalidAddress, normalize_address
from .errors import MessageError
from .rules import Limits

# Headers that decide whether a mail was written by a person or a robot.
SIGNAL_HEADERS = (
    "auto-submitted", "precedence", "x-auto-response-suppress", "x-autoreply", "x-autorespond",
    "list-id", "list-unsubscribe", "list-post", "list-help", "list-subscribe", "list-owner",
    "return-path", "x-failed-recipients", "feedback-id", "x-mailer", "content-type",
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MSGID = re.compile(r"<[^<>\s]+>")


def clean(value: object, limit: int = 998) -> str:
    """A header value as one safe line: control characters become spaces, runs of spaces one."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())[:limit]


@dataclass(frozen=True)
class IncomingMessage:
    key: str                      # Message-ID, or a hash of the bytes when there is none
    message_id: str | None
    sender: str | None            # normalized address, None when missing or invalid
    sender_name: str
    recipients: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=dict)  # SIGNAL_HEADERS present, cleaned
    content_type: str = "text/plain"
    report_type: str = ""          # multipart/report's report-type, e.g. delivery-status
    part_types: tuple[str, ...] = ()
    size: int = 0
    parsed: EmailMessage | None = field(default=None, compare=False, repr=False)  # for bounce detectors

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def message_key(raw: bytes, message_id: str | None) -> str:
    return message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID read from the header block alone, for de-duplication before parsing."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = re.search(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", head, re.IGNORECASE | re.MULTILINE)
    if not match:
        return None
    found = _MSGID.search(match.group(1).decode("ascii", "replace"))
    return clean(found.group(0), 250) if found else None


def parse_message(raw: bytes, limits: Limits = Limits()) -> IncomingMessage:
    """Parse one mail; raise MessageError (the mail is then quarantined) when it cannot be read safely."""
    if len(raw) > limits.max_message_bytes:
        raise MessageError(f"mail is {len(raw)} bytes, over the limit of {limits.max_message_bytes}")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part_types = _check_structure(msg, limits)
        return _facts(raw, msg, part_types)
    except MessageError:
        raise
    except RecursionError:
        raise MessageError("MIME structure nested too deeply to parse") from None
    except Exception as exc:  # the email package raises many kinds on hostile input
        raise MessageError(f"cannot parse mail: {type(exc).__name__}: {clean(exc, 200)}") from None


def _check_structure(msg: Message, limits: Limits) -> tuple[str, ...]:
    types: list[str] = []
    stack: list[tuple[Message, int]] = [(msg, 1)]
    while stack:
        part, depth = stack.pop()
        if depth > limits.max_mime_depth:
            raise MessageError(f"MIME parts nested {depth} deep, over the limit of {limits.max_mime_depth}")
        types.append(part.get_content_type())
        if len(types) > limits.max_parts:
            raise MessageError(f"more than {limits.max_parts} MIME parts")
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((child, depth + 1) for child in reversed(payload))
    return tuple(types)


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:
        value = None
    return clean(value) if value is not None else ""


def _addresses(msg: Message, *names: str) -> list[tuple[str, str]]:
    """(display name, address) pairs; hostile headers fall back to the raw text, decoded by hand."""
    found: list[tuple[str, str]] = []
    for name in names:
        try:
            values = msg.get_all(name) or []
            found.extend((clean(a.display_name), a.addr_spec) for v in values for a in v.addresses)
        except Exception:
            raw = [str(v) for k, v in msg.raw_items() if k.lower() == name]
            found.extend((_decode_words(n), a) for n, a in email.utils.getaddresses(raw))
    return found


def _decode_words(value: str) -> str:
    try:
        return clean(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return clean(value)


def _normal_or_none(address: str) -> str | None:
    try:
        return normalize_address(clean(address))
    except InvalidAddress:
        return None


def _facts(raw: bytes, msg: EmailMessage, part_types: tuple[str, ...]) -> IncomingMessage:
    message_id = None
    found = _MSGID.search(_header(msg, "message-id"))
    if found:
        message_id = found.group(0)
    senders = _addresses(msg, "from")
    sender_name, sender = (senders[0][0], _normal_or_none(senders[0][1])) if senders else ("", None)
    recipients = tuple(a for a in (_normal_or_none(s) for _, s in _addresses(msg, "to", "cc")) if a)
    try:
        date = email.utils.parsedate_to_datetime(_header(msg, "date"))
    except (TypeError, ValueError, IndexError):
        date = None
    headers = {name: _header(msg, name) for name in SIGNAL_HEADERS if msg.get(name) is not None}
    # Return-Path: <> (the null sender) must stay visible as an empty value.
    if "return-path" in headers:
        headers["return-path"] = headers["return-path"].strip("<> ")
    return IncomingMessage(
        key=message_key(raw, message_id),
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        recipients=recipients,
        subject=_header(msg, "subject"),
        date=date,
        text=body_text(msg),
        in_reply_to=tuple(_MSGID.findall(_header(msg, "in-reply-to"))),
        references=tuple(_MSGID.findall(_header(msg, "references")))[-50:],
        headers=headers,
        content_type=msg.get_content_type(),
        report_type=clean(msg.get_param("report-type", "") or "").lower(),
        part_types=part_types,
        size=len(raw),
        parsed=msg,
    )


def body_text(msg: EmailMessage) -> str:
    """The mail's own text: text/plain, or text/html turned into text when that is all there is."""
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    text = _decoded(body)
    if body.get_content_type() == "text/html":
        from inscriptis import get_text

        text = get_text(text)
    return text.replace("\r\n", "\n").replace("\x00", "")


def _decoded(part: Message) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError, ValueError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    return content if isinstance(content, str) else content.decode("utf-8", "replace")

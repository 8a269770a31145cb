"""Incoming mail: raw bytes in, plain decoded facts out.

Everything taken from a parsed header is turned into a cleaned `str` here (no
CR, LF or other control characters), so no later step can carry a header object,
or a smuggled newline, into an outgoing mail.
"""

from __future__ import annotations

import codecs
import contextlib
import email
import email.header
import email.policy
import email.utils
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message

from .addresses import InvalidAddress, normalize_address
from .codepages import windows_code_page
from .errors import MessageError
from .rules import Limits
from .text import unflow

# Headers that decide whether a mail was written by a person or a robot.
SIGNAL_HEADERS = (
    "auto-submitted", "precedence", "x-auto-response-suppress", "x-autoreply", "x-autorespond",
    "list-id", "list-unsubscribe", "list-post", "list-help", "list-subscribe", "list-owner",
    "return-path", "x-failed-recipients", "feedback-id", "x-mailer", "content-type",
    "x-mailflow",   # mailflow's own mail (outbox.MAILFLOW_HEADER): a digest, alarm or notice in a watched inbox
)

MAX_REFERENCES = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MSGID = re.compile(r"<[^<>\s]+>")


# A subject that already answers a mail ("Re:", Outlook's German "AW:", Swedish/Danish "SV:", Serbo-Croatian
# "Odg:", Russian "Отв:", Turkish "YNT:", Greek "ΑΠ:"/"Σχετ:", Outlook's count "RE[2]:").
ANSWER_PREFIX = re.compile(r"^\s*(?:re|aw|antw|antwort|sv|odg|odgovor|отв|ответ|ynt|απ|σχετ)\s*(?:\[\d+\])?\s*:",
                           re.IGNORECASE)


def clean(value: object, limit: int = 998) -> str:
    """A header value as one safe line: control characters become spaces, runs of spaces one."""
    text = str(value)
    # Most values are clean already: printable (no control character, and of the white space only " ",
    # the one printable character split() splits at), without a space at either end or two in a row.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text[:limit]
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


@dataclass(frozen=True)
class CalendarReply:
    """What a calendar answered to an invitation (RFC 5546 METHOD:REPLY), as Outlook and Google Calendar
    send it when someone clicks Yes or No."""

    partstat: str   # accepted, declined, tentative ...
    uid: str        # the invitation's UID: whose invitation it answers
    attendee: str   # the address that answered, lower-case


@dataclass(frozen=True)
class IncomingMessage:
    key: str                      # Message-ID, or a hash of the bytes when there is none
    message_id: str | None
    sender: str | None            # normalized address, None when missing or invalid
    sender_name: str
    recipients: tuple[str, ...]   # To and Cc
    subject: str
    date: datetime | None
    text: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=dict)  # SIGNAL_HEADERS present, cleaned
    content_type: str = "text/plain"
    report_type: str = ""          # the mail's multipart/report's report-type (delivery-status ...; "report": none)
    part_types: tuple[str, ...] = ()   # the mail's own parts' types, not those inside a forwarded mail
    calendar_reply: CalendarReply | None = None   # a calendar's Yes or No to an invitation (METHOD:REPLY)
    relayed_by: str = ""           # the mailing list whose rewritten From ("X via List") stood for `sender`
    size: int = 0
    parsed: Message | None = field(default=None, compare=False, repr=False)  # for bounce detectors
    addressed_to: tuple[str, ...] = ()   # To alone: whom the writer speaks to (Cc: who reads along)
    attachments: tuple[str, ...] = ()    # the file names of what a person attached for reading (attachments())
    pictures: tuple[str, ...] = ()       # small pictures (a logo, or a pasted scan: the text may say which)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def message_key(raw: bytes, message_id: str | None, content: str | None = None) -> str:
    """A mail's key in `messages`: its Message-ID, followed by `content` (its content_hash()) when
    that Message-ID came with other content before; without a Message-ID, the SHA-256 of the bytes."""
    if not message_id:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    return f"{message_id} sha256:{content}" if content else message_id


# What a mail is, besides its body: the headers the sender's program wrote. Every other header may be
# added on the way, and differ between two deliveries of one mail: trace headers (Received, Return-Path,
# Delivered-To, X-Original-To), signatures and verdicts (DKIM-Signature, ARC-*, Authentication-Results),
# a filter's scores (X-Spam-Status). Hence a list of the sender's headers, not of the others.
OWN_HEADERS = frozenset({
    b"from", b"sender", b"reply-to", b"to", b"cc", b"subject", b"date", b"message-id", b"in-reply-to",
    b"references", b"mime-version", b"content-type", b"content-transfer-encoding", b"content-disposition",
})
_FIELD = re.compile(rb"^([^:\s]+)[ \t]*:.*(?:\n[ \t].*)*", re.MULTILINE)   # one header, folded lines too
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def content_hash(raw: bytes) -> str:
    """SHA-256 of the body and the sender's own headers (OWN_HEADERS, in their order), line ends as LF:
    the same for two deliveries of one mail, whatever headers the servers on the way added."""
    end = _BLANK_LINE.search(raw)
    head, body = (raw[:end.start()], raw[end.end():]) if end else (raw, b"")
    digest = hashlib.sha256()
    for header in _FIELD.finditer(head.replace(b"\r\n", b"\n")):
        if header.group(1).lower() in OWN_HEADERS:
            digest.update(header.group(0) + b"\n")
    digest.update(b"\n")
    digest.update(body.replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID read from the header block alone, for de-duplication before parsing."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = re.search(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", head, re.IGNORECASE | re.MULTILINE)
    if not match:
        return None
    found = _MSGID.search(match.group(1).decode("ascii", "replace"))
    return clean(found.group(0), 250) if found else None


def parse_message(raw: bytes, limits: Limits = Limits()) -> IncomingMessage:
    """Parse one mail; raise MessageError (the mail is then quarantined) when it cannot be read safely.

    The compat32 parser is used on purpose: it is about five times faster than
    policy.default on the labelled corpus, never raises on a malformed header, and
    every header we need is decoded here (email.header, word by word where it
    fails) into a cleaned string. policy.default's decoding is no substitute: it
    leaves a word in a charset it cannot use encoded, and keeps broken base64 as text.
    """
    if len(raw) > limits.max_message_bytes:
        raise MessageError(f"mail is {len(raw)} bytes, over the limit of {limits.max_message_bytes}")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        parts = _check_structure(msg, limits)
        return _facts(raw, msg, parts)
    except MessageError:
        raise
    except RecursionError:
        raise MessageError("MIME structure nested too deeply to parse") from None
    except Exception as exc:  # the email package raises many kinds on hostile input
        raise MessageError(f"cannot parse mail: {type(exc).__name__}: {clean(exc, 200)}") from None


def _check_structure(msg: Message, limits: Limits) -> list[tuple[Message, bool]]:
    """All parts in order, each with whether it sits inside an attached message; enforces the limits."""
    parts: list[tuple[Message, bool]] = []
    stack: list[tuple[Message, int, bool]] = [(msg, 1, False)]
    while stack:
        part, depth, attached = stack.pop()
        if depth > limits.max_mime_depth:
            raise MessageError(f"MIME parts nested {depth} deep, over the limit of {limits.max_mime_depth}")
        parts.append((part, attached))
        if len(parts) > limits.max_parts:
            raise MessageError(f"more than {limits.max_parts} MIME parts")
        payload = part.get_payload()
        if isinstance(payload, list):
            inner = attached or part.get_content_maintype() == "message"
            stack.extend((child, depth + 1, inner) for child in reversed(payload) if isinstance(child, Message))
    return parts


Headers = dict[str, list[str]]   # lower-cased name -> raw values in order, read once per mail


def _header_index(msg: Message) -> Headers:
    index: Headers = {}
    for name, value in msg.raw_items():
        index.setdefault(name.lower(), []).append(value)
    return index


def _header(headers: Headers, name: str) -> str:
    """A header decoded from RFC 2047 words (any charset) into one cleaned line."""
    values = _raw_values(headers, name)
    return decode_words(values[0]) if values else ""


def _raw_values(headers: Headers, name: str) -> list[str]:
    """A header's values as text, raw 8-bit bytes read as UTF-8 (else Windows-1252).

    compat32 would hand them out as an unknown-8bit Header whose str() is one
    U+FFFD per byte (and a Header has no str methods).
    """
    return [_eight_bit(str(v)) for v in headers.get(name, ())]


def _eight_bit(value: str) -> str:
    if value.isascii():
        return value
    try:
        data = value.encode("ascii", "surrogateescape")   # the bytes as they came
    except UnicodeEncodeError:
        return value
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decode_words(value: str) -> str:
    if "=?" not in value:   # no encoded word: decode_header would hand it back as it is
        return clean(value)
    try:
        return clean(email.header.make_header(email.header.decode_header(value)))
    except Exception:  # unknown charset, broken word, 8-bit text: decode word by word
        # No encoded word may stay undecoded: a reader of our reply would decode it, newlines and all.
        return clean(_ENCODED_WORD.sub(_decode_word, value))


_ENCODED_WORD = re.compile(r"=\?[^?]*\?[qQbB]\?.*?\?=")


def _decode_word(match: re.Match) -> str:
    try:
        ((data, charset),) = email.header.decode_header(match.group(0))
    except Exception:  # broken base64: the word is dropped
        return " "
    if isinstance(data, str):
        return data
    for name in (charset, "utf-8"):
        try:
            return data.decode(name or "utf-8", "replace")
        except Exception:  # LookupError, or a codec that is no text codec or refuses "replace"
            continue
    return data.decode("latin-1")


def _addresses(headers: Headers, *names: str) -> list[tuple[str, str]]:
    """(display name, address) pairs: the addresses are parsed from the raw header first, and only
    then is each display name decoded, so nothing inside an encoded word can add, hide or replace
    an address (the order must stay so if decoding moves to the standard library)."""
    raw = [v for name in names for v in _raw_values(headers, name)]
    if len(raw) == 1 and (plain := _PLAIN_ADDRESS.fullmatch(raw[0])):
        # `Name <a@b.example>` or `a@b.example` in the plainest characters, as most mail has it:
        # what getaddresses() returns for it, without its tokenizer (a test compares the two).
        return [(clean(plain["name"] or ""), plain["angled"] or plain["bare"])]
    hidden, restore = _hide_encoded_words(raw)
    return [(decode_words(restore(n)), clean(restore(a))) for n, a in email.utils.getaddresses(hidden)]


def _hide_encoded_words(values: list[str]) -> tuple[list[str], Callable[[str], str]]:
    """Each encoded word replaced by a plain token for the address parser, and the function that puts
    the words back. An encoded word is one atom of a display name (RFC 2047), but the ':', '@', '<'
    or ',' many mailers leave unencoded inside it made getaddresses() split the name into bogus
    addresses: `=?UTF-8?Q?Max=0D=0ABcc:_x@evil.example?= <max@stadt-jena.de>` lost its sender."""
    words: list[str] = []
    if not any("=?" in v for v in values):
        return values, lambda text: text
    joined = "".join(values)
    tag = "mailflowword"
    while tag in joined:
        tag += "x"

    def hide(match: re.Match) -> str:
        words.append(match.group(0))
        return f"{tag}{len(words) - 1}{tag}"

    hidden = [_ENCODED_WORD.sub(hide, v) for v in values]
    token = re.compile(rf"{tag}(\d+){tag}")
    return hidden, lambda text: token.sub(lambda m: words[int(m.group(1))], text)


_PLAIN_ADDRESS = re.compile(
    r" *(?:(?P<name>[A-Za-z0-9]+(?: [A-Za-z0-9]+)*) *<(?P<angled>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>|(?P<bare>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)) *"
)


def _normal_or_none(address: str) -> str | None:
    try:
        return normalize_address(address)
    except InvalidAddress:
        return None


def _facts(raw: bytes, msg: Message, parts: list[tuple[Message, bool]]) -> IncomingMessage:
    index = _header_index(msg)
    # Each part's Content-Type read once (the email package parses the header at every look-up).
    types = [part.get_content_type() for part, _ in parts]

    def first(name: str) -> str:
        values = _raw_values(index, name)
        return values[0] if values else ""

    references = tuple(clean(r) for r in _MSGID.findall(first("references")))
    if len(references) > MAX_REFERENCES:   # the thread's first and its latest, as a reply's References keeps them
        references = (references[0], *references[1 - MAX_REFERENCES:])
    message_id = None
    found = _MSGID.search(first("message-id"))
    if found:
        message_id = clean(found.group(0), 250)
    senders = _addresses(index, "from")
    sender_name, sender = (senders[0][0], _normal_or_none(senders[0][1])) if senders else ("", None)
    relayed_by, sender, sender_name = _author_behind_list(index, sender, sender_name)
    addressed_to = tuple(a.lower() for _, a in _addresses(index, "to") if "@" in a)
    recipients = addressed_to + tuple(a.lower() for _, a in _addresses(index, "cc") if "@" in a)
    try:
        date = email.utils.parsedate_to_datetime(_header(index, "date"))
    except (TypeError, ValueError, IndexError):
        date = None
    headers = {name: _header(index, name) for name in SIGNAL_HEADERS if name in index}
    files, pictures = attachments(parts, types)
    # Return-Path: <> (the null sender) must stay visible as an empty value.
    if "return-path" in headers:
        headers["return-path"] = headers["return-path"].strip("<> ")
    return IncomingMessage(
        key=message_key(raw, message_id),
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        recipients=recipients,
        addressed_to=addressed_to,
        subject=_header(index, "subject"),
        date=date,
        text=body_text(parts, types),
        in_reply_to=tuple(clean(r) for r in _MSGID.findall(first("in-reply-to"))),
        references=references,
        headers=headers,
        content_type=clean(types[0]),   # parts[0] is the mail itself
        report_type=_report_type(parts, types),
        part_types=tuple(clean(kind) for (_, attached), kind in zip(parts, types, strict=True) if not attached),
        calendar_reply=_calendar_reply(parts, types),
        attachments=files,
        pictures=pictures,
        relayed_by=relayed_by,
        size=len(raw),
        parsed=msg,
    )


def _author_behind_list(index: Headers, sender: str | None, name: str) -> tuple[str, str | None, str]:
    """(the list, the author, their name) when a mailing list rewrote From for DMARC ("'Anna Berger' via
    Staedtenetz" <staedtenetz@googlegroups.com>, Reply-To: the author), as Google Groups and Mailman do;
    else ("", sender, name) unchanged. A person's post to a list is theirs, not the list's bulk mail."""
    if not sender or " via " not in name or not ({"list-id", "list-post"} & index.keys()):
        return "", sender, name
    authors = _addresses(index, "reply-to")
    author = _normal_or_none(authors[0][1]) if len(authors) == 1 else None
    if author is None or author == sender:
        return "", sender, name
    return sender, author, name.rpartition(" via ")[0].strip(" '\"")


def _report_type(parts: list[tuple[Message, bool]], types: list[str]) -> str:
    """The report-type of the mail's multipart/report (RFC 6522), also inside multipart/signed, not of one
    in a forwarded mail; "report" when it names none, "" when the mail is no report."""
    for (part, attached), kind in zip(parts, types, strict=True):
        if kind == "multipart/report" and not attached:
            return clean(part.get_param("report-type", "") or "report").lower()
    return ""


# Parts with a file name that nobody attached for reading: signatures and keys, business cards, Outlook's
# rich-text wrapper (winmail.dat), calendar answers and the parts of reports and forwarded mail (read elsewhere);
# by their type, or by their name where a client sends them as application/octet-stream.
_NOT_FOR_READING = frozenset({
    "application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature",
    "application/pgp-keys", "application/ms-tnef", "application/ics", "text/calendar", "text/vcard", "text/x-vcard",
    "text/directory", "text/rfc822-headers", "message/rfc822", "message/delivery-status",
    "message/disposition-notification", "message/global", "message/global-headers",
})
# (and the parts of Outlook's HTML: oledata.mso, themedata.thmx, filelist.xml, drawings as .emz/.wmz)
# (and Exchange's footer parts, ATT00001.htm / .txt)
_NOT_FOR_READING_NAMES = re.compile(r"(?:.*\.(?:vcf|ics|p7s|asc|sig|mso|thmx|emz|wmz)|winmail\.dat|filelist\.xml"
                                    r"|colorschememapping\.xml|att\d{5}\.(?:htm|html|txt))", re.IGNORECASE)
_PICTURE_NAMES = re.compile(r".*\.(?:png|jpe?g|gif|bmp|tiff?|heic|webp)", re.IGNORECASE)
MAX_ATTACHMENT_NAMES = 5
MAX_NAME_HEADER_CHARS = 4000   # a file name's headers longer than this are not read for the name
# A picture smaller than this (in its encoded form, as sent: about 145 KB) is a logo, a banner or a portrait in a
# signature, whether the client marks it inline or as an attachment, with a Content-ID or without; a scan or a
# phone's photo is larger.
PICTURE_FOR_READING_CHARS = 200_000


def attachments(parts: list[tuple[Message, bool]], types: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the files attached to the mail itself for a person to read ("letter.pdf", a scan, a list):
    a part marked as an attachment or named, not a multipart, not one of _NOT_FOR_READING, not a small picture
    (PICTURE_FOR_READING_CHARS: a logo, whatever its type says), not the text itself, and not inside a forwarded
    mail; and the small pictures apart (a logo, a pasted screenshot). At most MAX_ATTACHMENT_NAMES of each,
    cleaned; an unnamed one is called by its type."""
    files: list[str] = []
    pictures: list[str] = []
    for (part, attached), kind in zip(parts, types, strict=True):
        if attached or kind.startswith("multipart/") or kind in _NOT_FOR_READING:
            continue
        if kind in ("text/plain", "text/html") and "content-disposition" not in part \
                and "name=" not in str(part.get("content-type", "")).lower():
            continue   # (the text itself, the usual case: no header to parse)
        disposition = str(part.get("content-disposition") or "").split(";")[0].strip().lower()
        # (a hostile header of megabytes is not parsed for a name: the part is called by its type)
        long_header = len(str(part.get("content-disposition") or "")) + len(str(part.get("content-type") or ""))
        try:
            name = decode_words((part.get_filename() or "")[:1000]) if long_header <= MAX_NAME_HEADER_CHARS else ""
        except Exception:   # a hostile file name is still an attachment, not a reason to quarantine the mail
            name = ""
        if disposition != "attachment" and not name or _NOT_FOR_READING_NAMES.fullmatch(name):
            continue   # (an unnamed inline part: the text, or a picture in it)
        payload = part.get_payload()
        size = len(payload) if isinstance(payload, str) else 0
        names = pictures if is_picture(name or kind) and size < PICTURE_FOR_READING_CHARS else files
        if len(names) < MAX_ATTACHMENT_NAMES:   # (a long name keeps its end: "....jpg" is still a picture)
            shown = clean(name, 100) if len(name) <= 100 else f"{clean(name, 80)}…{clean(name[-15:], 15)}"
            names.append(shown or kind)
    return tuple(files), tuple(pictures)


def is_picture(name: str) -> bool:
    """Whether an attachment's name (or, unnamed, its type) is a picture's."""
    return name.startswith("image/") or bool(_PICTURE_NAMES.fullmatch(name))


def body_text(parts: list[tuple[Message, bool]], types: list[str]) -> str:
    """The mail's text: the first inline text/plain part (format=flowed joined) with the inline text/plain
    parts beside it in its multipart/mixed, else text/html turned into text. `types` holds each part's
    content type."""
    candidates = [
        (part, kind) for (part, attached), kind in zip(parts, types, strict=True)
        if not attached and kind.partition("/")[0] == "text"
        and str(part.get("content-disposition") or "").split(";")[0].strip().lower() != "attachment"
    ]
    for wanted in ("text/plain", "text/html"):
        for part, kind in candidates:
            if kind == wanted:
                if wanted == "text/plain":
                    text = "\n\n".join(_plain(p) for p in _with_later_siblings(part, parts, types))
                else:
                    from inscriptis import get_text  # type: ignore[import-untyped]  # inscriptis ships no types
                    from inscriptis.model.config import ParserConfig  # type: ignore[import-untyped]

                    # A table's cells apart by tabs, as in the text part Outlook writes: its rows stay lines.
                    text = get_text(_decoded(part), ParserConfig(table_cell_separator="\t"))
                # (the Turkish and Azerbaijani capital İ casefolds to "i" and a combining dot: "İştirak etmək
                # istəyirəm" at a sentence's start matched no word; as I it reads as it is meant)
                return text.replace("\r\n", "\n").replace("\x00", "").replace("İ", "I")
    return ""


def _plain(part: Message) -> str:
    text = _decoded(part)
    if str(part.get_param("format") or "").lower() == "flowed":
        text = unflow(text.replace("\r\n", "\n"), str(part.get_param("delsp") or "").lower() == "yes")
    return text


def _with_later_siblings(first: Message, parts: list[tuple[Message, bool]], types: list[str]) -> list[Message]:
    """`first` and the inline text/plain parts after it in the same multipart/mixed: Apple Mail writes the
    text around an inline picture as parts of their own ("text, photo, text"); the text after the photo
    was lost. Not a part with a file name: that is an attached .txt."""
    for (parent, attached), kind in zip(parts, types, strict=True):
        if kind != "multipart/mixed" or attached:
            continue
        payload = parent.get_payload()
        children: list = payload if isinstance(payload, list) else []
        at = [id(child) for child in children]
        if id(first) not in at:
            continue
        after = children[at.index(id(first)) + 1:]
        return [first, *(child for child in after if isinstance(child, Message)
                         and child.get_content_type() == "text/plain" and child.get_filename() is None
                         and str(child.get("content-disposition") or "").split(";")[0].strip().lower()
                         != "attachment")]
    return [first]


_CALENDAR_REPLY_MAX = 64 * 1024
_METHOD_REPLY = re.compile(r"^METHOD:\s*REPLY\s*$", re.MULTILINE | re.IGNORECASE)


def _calendar_reply(parts: list[tuple[Message, bool]], types: list[str]) -> CalendarReply | None:
    """The answer in the mail's own text/calendar part with METHOD:REPLY (not in a forwarded mail);
    None when it has none."""
    for (part, attached), kind in zip(parts, types, strict=True):
        if kind != "text/calendar" or attached:
            continue
        text = _decoded(part)
        # An answer is a few kB; icalendar reads about 1 MB a second, so a big calendar (an export, or
        # a hostile one) is not read at all.
        if len(text) > _CALENDAR_REPLY_MAX or not _METHOD_REPLY.search(text):
            continue
        import icalendar

        try:
            events = icalendar.Calendar.from_ical(text).walk("VEVENT")
        except Exception:  # a third-party parser on hostile input (AttributeError too): it says nothing
            continue
        for event in events:
            attendees = event.get("attendee", [])
            for attendee in attendees if isinstance(attendees, list) else [attendees]:
                status = getattr(attendee, "params", {}).get("PARTSTAT", "")
                status = status[0] if isinstance(status, list) and status else status
                address = str(attendee).removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()
                if status and address:
                    return CalendarReply(clean(str(status), 40).lower(), clean(str(event.get("uid", "")), 250),
                                         clean(address, 250))
    return None


def _decoded(part: Message) -> str:
    """The part's text in its declared charset, unless its bytes say the client declared the wrong one:
    UTF-8 bytes declared as a one-byte charset ("Ã¼" for "ü"), or a Windows code page's bytes declared as
    UTF-8 or US-ASCII, or not declared at all (the quotes and dashes of Windows-1252 were "�")."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):   # a multipart has no bytes of its own
        payload = b""
    codec = _codec(part.get_content_charset() or "utf-8")
    if payload.isascii() and codec != "utf-7":
        return payload.decode("ascii")
    if _ONE_BYTE_CODEC.match(codec):
        with contextlib.suppress(UnicodeDecodeError):
            return payload.decode("utf-8")
    if codec in _WESTERN and _mostly_beyond_ascii(payload) and windows_code_page(payload) == "cp1251":
        # Russian typed in Windows-1251 under a Latin-1 label ("Ê ñîæàëåíèþ" for "К сожалению"): words of
        # accented letters only, which no Western language writes
        return payload.decode("cp1251", "replace")
    try:
        return payload.decode(codec)
    except (LookupError, ValueError):   # not that charset's bytes, or a codec that is no text codec
        pass
    if codec in ("utf-8", "ascii"):
        text = payload.decode("utf-8", "replace")
        # UTF-8 with a stray byte (a footer pasted in another code page) stays UTF-8; no UTF-8 at all is
        # a code page's text
        if any(c > "\x7f" and c != "\ufffd" for c in text):
            return text
        return payload.decode(windows_code_page(payload), "replace")
    try:
        return payload.decode(codec, "replace")
    except (LookupError, ValueError):
        return payload.decode("utf-8", "replace")


@functools.lru_cache(maxsize=64)   # (the same few charsets, mail after mail)
def _codec(charset: str) -> str:
    """Python's name of a declared charset ("x-mac-cyrillic" is mac-cyrillic); UTF-8 for one it does not
    know (in practice; else the code page guess applies)."""
    for name in (charset, charset.removeprefix("x-")):
        with contextlib.suppress(LookupError, ValueError):   # ValueError: a NUL in the name
            return codecs.lookup(name).name
    return "utf-8"


_WESTERN = frozenset({"iso8859-1", "iso8859-15", "cp1252"})


def _mostly_beyond_ascii(payload: bytes) -> bool:
    """Of the words with 8-bit letters, nearly all have nothing else: Cyrillic in a one-byte code page (beside
    English quoted or signed below it); in Western text most such words mix them with ASCII letters
    ("Halló", "ég"), though a few do not (Icelandic "þú", "þá")."""
    words = _EIGHT_BIT_WORDS.findall(payload)
    pure = sum(all(byte >= 0xC0 for byte in word) for word in words)
    return pure >= 3 and pure > 4 * (len(words) - pure)


_EIGHT_BIT_WORDS = re.compile(rb"[A-Za-z\xc0-\xff]*[\xc0-\xff][A-Za-z\xc0-\xff]*")
# Charsets of one byte a character, which clients declare for text they wrote in UTF-8 (codecs' names)
_ONE_BYTE_CODEC = re.compile(r"ascii$|iso8859-\d+$|cp125\d$|koi8-[ru]$")

"""The outbox: replies waiting to be sent, each with its Message-ID fixed when it was queued.

Its states are `states.OutboxState`. Composing and queuing live here; sending is dispatch.py.
"""

from __future__ import annotations

import base64
import email.errors
import email.message
import email.policy
import email.quoprimime
import email.utils
import functools
import io
import logging
import re
import urllib.parse
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage, MIMEPart
from typing import Protocol

import sqlite_utils

from . import database
from .addresses import ascii_domain
from .clock import stamp
from .codepages import windows_code_page
from .database import now
from .errors import MailflowError
from .message import clean
from .states import OutboxState

log = logging.getLogger(__name__)



Envelope = tuple[str, str, int]   # a mail's MAIL FROM, RCPT TO (both ASCII) and size in bytes


class Sender(Protocol):
    """Delivers one composed mail; raises errors.DeliveryError or errors.ConnectionFailed. `then` names the
    mail this sender gets next (an SMTP server that offers PIPELINING gets its commands ahead); one that
    cannot use it ignores it."""

    def send(self, raw: bytes, sender: str, recipient: str, then: Envelope | None = None) -> None: ...

    def close(self) -> None: ...


# mailflow's own header on everything it sends, with what the mail is (REPLY, RELEASE, NOTICE, CONFIRMATION,
# INVITATION, DIGEST; a release or reminder adds its event and outbox kind, an invitation its event):
# a reader of the Sent folder tells mailflow's replies from the coordinators' own mail by it, even with a
# database restored from a backup (answered.py).
MAILFLOW_HEADER = "X-Mailflow"
REPLY, RELEASE, NOTICE, CONFIRMATION = "reply", "release", "notice", "confirmation"
INVITATION = "invitation"   # `mailflow invite`
DIGEST = "digest"           # digest.py: the daily digest to a coordinator
ALARM = "alarm"   # alarm.py: a mailbox cannot be read or sent from, or works again


def release_role(event_id: str, kind: str) -> str:
    """X-Mailflow of a release or reminder: "release EVENT KIND", the event's id %-quoted (a header is ASCII
    without spaces in its words: "städtetag-2020" stopped every release of that event)."""
    return f"{RELEASE} {urllib.parse.quote(event_id, safe='')} {urllib.parse.quote(kind, safe=':')}"


def invitation_role(event_id: str) -> str:
    """X-Mailflow of an invitation: "invitation EVENT", so that a database restored from a backup finds in the
    Sent folder whom it invited since (answered.read_sent_folder), and `mailflow invite` invites nobody twice."""
    return f"{INVITATION} {urllib.parse.quote(event_id, safe='')}"


def released(about: tuple[str, ...]) -> tuple[str, str] | None:
    """(event id, kind) from what X-Mailflow says after "release", or None (a mailflow before it said so)."""
    return (urllib.parse.unquote(about[0]), urllib.parse.unquote(about[1])) if len(about) == 2 else None


def withdrawal_ids(kinds: Mapping[str, str]) -> set[str]:
    """Of our mails {Message-ID: outbox kind}, those that confirm a cancellation: a reply to one that asks to
    register again is for a coordinator (classify's `withdrawal_ids`)."""
    return {i for i, kind in kinds.items() if kind == "reply:cancellation" or kind.startswith("calendar:cancel")}


def new_message_id(from_address: str) -> str:
    """A Message-ID on the sender's domain, an international one in its IDNA form (a header is ASCII: with
    "städte-netz.de" every reply of that mailbox was refused and quarantined)."""
    return email.utils.make_msgid(domain=mail_domain(from_address))


def mail_domain(address: str) -> str:
    """The domain of an address as headers and calendar UIDs carry it: ASCII, IDNA for an international one."""
    domain = address.rpartition("@")[2]
    try:
        return ascii_domain(domain) if domain else "mailflow.invalid"
    except UnicodeError:
        return "mailflow.invalid"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str       # e.g. application/pdf, text/calendar
    data: bytes
    params: tuple[tuple[str, str], ...] = ()


def compose(
    *,
    from_name: str,
    from_address: str,
    to_name: str,
    to_address: str,
    subject: str,
    text: str,
    message_id: str,
    role: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    date: datetime,
    auto_submitted: str = "auto-replied",
    attachments: tuple[Attachment, ...] = (),
) -> bytes:
    """Build an outgoing mail with the standard library (EmailMessage under policy.SMTP) from
    cleaned strings only, never from parsed header objects, marked as mailflow's with `role`
    (X-Mailflow: reply, release, ...): every value passes through clean() first, so no CR or LF
    reaches a header. The text goes as UTF-8 quoted-printable, readable in any client's source view;
    attachments as base64, a mail as message/rfc822."""
    msg = EmailMessage(policy=_WIRE)
    msg["From"] = _address(from_name, from_address)
    msg["To"] = _address(to_name, to_address)
    msg["Subject"] = _folded(_encoded(clean(subject, 900)), len("Subject: "))
    msg["Date"] = email.utils.format_datetime(date)
    msg["Message-ID"] = clean(message_id)
    parent = clean(in_reply_to or "")
    if _writable(parent):
        msg["In-Reply-To"] = parent
        # One Message-ID per line, the thread's first and latest within one line's length.
        msg["References"] = "\r\n ".join(thread_references(references, parent))
    msg["Auto-Submitted"] = clean(auto_submitted)
    # Exchange: no out-of-office or other automatic answer to mailflow, but its delivery reports and
    # non-delivery reports still ("All" suppressed those too: a dead address there was never learnt)
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg[MAILFLOW_HEADER] = clean(role, 200)
    _set_text(msg, text)
    if attachments:
        msg.make_mixed()
        for item in attachments:
            # typeshed asks for the message's own class; the standard library attaches any part as it is
            msg.attach(_part(item))  # type: ignore[arg-type]
    return msg.as_bytes()


# The headers compose() writes: each a string it made (cleaned, ASCII, RFC 2047 words where
# needed), stored and written as it is. CPython 3.11's header classes decode every "=?...?=" in
# a value they are given and write the result back as plain text: a subject that reads
# "=?utf-8?q?Hi=0D=0ABcc:_x@evil.example?=" went out as a Bcc header; and a Message-ID longer than
# a line came out as RFC 2047 words, which no client matches to its thread. The MIME headers
# (Content-*) are the standard library's own, from constants and cleaned file names.
_WRITTEN = frozenset({"from", "to", "subject", "date", "message-id", "in-reply-to", "references",
                      "auto-submitted", "x-auto-response-suppress", MAILFLOW_HEADER.lower(),
                      "mime-version", "content-type", "content-transfer-encoding"})
QP_LINE_LENGTH = 76   # RFC 2045 §6.7
_TEXT_HEADERS = (("Content-Type", 'text/plain; charset="utf-8"'), ("Content-Transfer-Encoding", "quoted-printable"),
                 ("MIME-Version", "1.0"))


def _set_text(msg: EmailMessage, text: str) -> None:
    """What `msg.set_content(text, cte="quoted-printable")` makes (a test compares the bytes), with
    its three constant headers stored as written: the header registry parsed each of them again,
    a third of the CPU of a whole reply."""
    for name, value in _TEXT_HEADERS:
        msg[name] = value
    body = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    # A line that begins "From " is quoted as "=46rom ": a server delivering into an mbox file writes it as
    # ">From ", and the reader saw the ">" ("From the mayor's office: ..." in an agenda).
    msg.set_payload(_from_guarded(email.quoprimime.body_encode(body.decode("latin-1"), QP_LINE_LENGTH)))


def _from_guarded(encoded: str) -> str:
    """Quoted-printable lines beginning "From " with the F as "=46", soft-broken again where that makes them
    longer than the 76 characters QP allows (never inside an "=XX")."""
    if "\nFrom " not in f"\n{encoded}":
        return encoded
    lines = []
    for line in encoded.split("\n"):
        if line.startswith("From "):
            line = "=46rom " + line[5:]
            while len(line) > QP_LINE_LENGTH:
                cut = QP_LINE_LENGTH - 1
                while "=" in line[cut - 2:cut]:
                    cut -= 1
                lines.append(line[:cut] + "=")
                line = line[cut:]
        lines.append(line)
    return "\n".join(lines)


_ONE_HEADER = re.compile(r"(?:[\x20-\x7e]|\r?\n[ \t])*")   # printable ASCII, line breaks only to fold


class _Registry(HeaderRegistry):
    # The standard registry makes a new class at every look-up, twice for every header set. The one
    # instance lives as long as the process, so the cache keeping it alive costs nothing.
    @functools.lru_cache(maxsize=64)  # noqa: B019
    def __getitem__(self, name: str) -> type:
        return super().__getitem__(name)


class _WirePolicy(email.policy.EmailPolicy):
    def header_store_parse(self, name: str, value: object) -> tuple[str, str]:
        if name.lower() not in _WRITTEN:
            return super().header_store_parse(name, value)
        if not isinstance(value, str) or not _ONE_HEADER.fullmatch(value):
            raise ValueError(f"{name} must be a cleaned ASCII string, not {value!r}")
        return name, value

    def header_fetch_parse(self, name: str, value: str) -> str:
        # Read back as written: the generator reads Content-Type several times a mail, and the
        # header registry parsed it anew each time (0.15 ms each, a fifth of a reply's CPU).
        if name.lower() in _WRITTEN:
            return value
        return super().header_fetch_parse(name, value)


# policy.SMTP (CRLF), but a stored string is written as it is (refold_source="none": refolding
# would parse it, and decode it), and lines of 76 characters, as quoted-printable requires
# (RFC 2045 §6.7; policy.SMTP's 78 would make the text part's lines 78 long).
_WIRE = _WirePolicy(linesep="\r\n", refold_source="none", max_line_length=QP_LINE_LENGTH, header_factory=_Registry())

# A Message-ID as it can be written: printable ASCII in angle brackets, nothing that splits it,
# short enough for one line.
_WRITABLE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
MAX_ID = 998 - len("In-Reply-To: ")
MAX_REFERENCES = 998 - len("References: ")


def _writable(message_id: str) -> bool:
    return len(message_id) <= MAX_ID and bool(_WRITABLE_ID.fullmatch(message_id))


def thread_references(references: tuple[str, ...], parent: str) -> list[str]:
    """The References of a reply to `parent`: its References and its Message-ID (RFC 5322 §3.6.4),
    trimmed to the thread's first id and the latest ones that fit in one line of 998 characters,
    as mail and news clients trim it. An id that cannot be written (longer than a line, not
    ASCII, with spaces) is left out."""
    ids = [i for i in dict.fromkeys(clean(r) for r in references) if i != parent and _writable(i)]
    ids.append(parent)
    if len(ids) == 1:
        return ids
    first, latest = ids[0], []
    room = MAX_REFERENCES - len(first)
    for i in reversed(ids[1:]):
        if 1 + len(i) > room:
            break
        latest.append(i)
        room -= 1 + len(i)
    return [first, *reversed(latest)] if latest else [parent]


def _part(item: Attachment) -> MIMEPart:
    part = MIMEPart(policy=_WIRE)
    filename = _short_name(clean(item.filename, 998).replace("?", "_")) or "attachment"   # no "=?" to decode
    if item.content_type == "message/rfc822":
        # A mail goes as it is (message/rfc822 allows no base64): compose_notice hands in only
        # 7-bit mail with CRLF lines of at most 998 characters.
        part["Content-Type"] = "message/rfc822"
        part["Content-Disposition"] = "attachment"
        part.set_param("filename", filename, header="Content-Disposition")
        part["Content-Transfer-Encoding"] = "7bit"
        part.set_payload(item.data.decode("ascii"))
        return part
    maintype, _, subtype = item.content_type.partition("/")
    params = dict(item.params)
    if maintype == "text" and _is_utf8(item.data):
        # Text without a charset is US-ASCII to a reader (RFC 2046; RFC 5545 requires it for calendars):
        # an agenda's "Begrüßung" or a Georgian name in the invitation showed as "Begr����ung".
        params = {"charset": "utf-8", **params}
    part.set_content(item.data, maintype, subtype, disposition="attachment", filename=filename, params=params)
    return part


def _short_name(name: str, limit: int = 200) -> str:
    """A file name cut to `limit` characters in its stem: the extension stays (an agenda's "..._7_October_"
    without ".pdf" found no program to open it)."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 10:
        return name[:limit]
    return stem[:limit - len(extension) - 1] + "." + extension


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _folded(value: str, taken: int, width: int = 78) -> str:
    """A plain header value folded at its spaces into lines of at most `width` characters (RFC 5322 2.1.1;
    `taken`: the header's name on the first line), as mail clients write a long subject; encoded words are
    folded already, and a word longer than a line stays whole."""
    if "\n" in value or taken + len(value) <= width:
        return value
    lines: list[str] = []
    line = ""
    for word in value.split(" "):
        if line and len(line) + 1 + len(word) > width - (taken if not lines else 1):
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\r\n ".join([*lines, line])


def _encoded(value: str) -> str:
    """Plain ASCII as it is; anything else as RFC 2047 words, folded onto continuation lines.

    ASCII text that contains "=?" is encoded too: written raw, a reader would decode it as an
    encoded word (an attacker's "=?utf-8?q?...=0A...?=" in a name).
    """
    if value.isascii() and "=?" not in value and len(value) <= 900:
        return value
    return Header(value, "utf-8").encode(maxlinelen=76)


@functools.lru_cache(maxsize=256)   # a pure function, and the From of every reply is one of a few
def _address(name: str, address: str) -> str:
    address = _ascii_address(clean(address))
    name = clean(name, 200)
    if name and (not name.isascii() or "=?" in name):
        return f"{_encoded(name)} <{address}>"
    return email.utils.formataddr((name, address))


def envelope_address(address: str) -> str:
    """The address as SMTP's RCPT TO needs it (IDNA domain); see _ascii_address."""
    return _ascii_address(address)


class UnsendableAddress(ValueError):
    """An address that cannot be written into a plain (non-SMTPUTF8) mail."""


def _ascii_address(address: str) -> str:
    """The address as ASCII: an international domain in IDNA form ("xn--"); a local part
    outside ASCII would need SMTPUTF8, which mailflow does not speak, so it is refused."""
    if any(c in address for c in '<>,;" ') or address.count("@") != 1:
        raise UnsendableAddress(f"not a plain address: {address!r}")
    local, domain = address.split("@")
    if not local.isascii():
        raise UnsendableAddress(f"{address!r} has non-ASCII characters before the @ (needs SMTPUTF8)")
    try:
        domain = ascii_domain(domain)
    except UnicodeError:
        raise UnsendableAddress(f"{address!r} has a domain that cannot be written in ASCII") from None
    return f"{local}@{domain}"


def compose_notice(
    *, from_name: str, from_address: str, to_name: str, to_address: str, subject: str, text: str,
    message_id: str, original: bytes, date: datetime,
) -> bytes:
    """A note to a coordinator with the original mail attached as original.eml, a message/rfc822 part,
    which every mail client opens as a mail.

    message/rfc822 allows no base64, and 8-bit bytes would need the SMTP server's 8BITMIME: an original
    that is 7-bit, NUL-free, with lines of at most 998 characters goes as it came (line ends made CRLF);
    any other is first written in 7 bits (`seven_bit`). Only one that cannot be (no charset to encode
    an 8-bit text by) goes byte for byte in base64, as application/octet-stream.
    """
    fit = _fits_rfc822(original) or seven_bit(original)
    if fit is not None:
        attachment = Attachment("original.eml", "message/rfc822", fit)
    else:
        attachment = Attachment("original.eml", "application/octet-stream", original)
    return compose(
        from_name=from_name, from_address=from_address, to_name=to_name, to_address=to_address,
        subject=subject, text=text, message_id=message_id, role=NOTICE, date=date, auto_submitted="auto-generated",
        attachments=(attachment,),
    )


def _fits_rfc822(raw: bytes) -> bytes | None:
    """`raw` with CRLF line ends when it can go in a message/rfc822 part as it is, else None."""
    lines = raw.splitlines()
    if raw.isascii() and b"\0" not in raw and all(len(line) <= 998 for line in lines):
        return b"\r\n".join(lines) + b"\r\n"
    return None


def seven_bit(raw: bytes) -> bytes | None:
    """The mail written in 7 bits, as a mail client would have sent it without 8BITMIME: each part whose
    body has 8-bit bytes or lines over 998 characters goes in base64 (same bytes, same Content-Type),
    8-bit header text as RFC 2047 words ("unknown-8bit"). None when the result still does not fit (the
    stdlib parser and generator give up on some mangled mail)."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        for part in msg.walk():
            _seven_bit_headers(part)
            body = part.get_payload()
            if not isinstance(body, str) or _fits_rfc822(body.encode("utf-8", "surrogateescape")):
                continue
            data = part.get_payload(decode=True)
            data = data if isinstance(data, bytes) else b""
            if part.get("Content-Type") is None:   # not MIME (a script's raw UTF-8): base64 must say what it holds
                # (not UTF-8: the Windows code page mailflow reads it in, 1250 and 1251 too)
                charset = "utf-8" if _is_utf8(data) else windows_code_page(data).replace("cp", "windows-")
                part["Content-Type"] = f'text/plain; charset="{charset}"'
                if part is msg and msg.get("MIME-Version") is None:
                    msg["MIME-Version"] = "1.0"
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "base64"
            part.set_payload(base64.encodebytes(data).decode("ascii"))
        out = io.BytesIO()
        policy = email.policy.compat32.clone(linesep="\r\n", cte_type="7bit")
        BytesGenerator(out, mangle_from_=False, policy=policy).flatten(msg)
    except (RecursionError, LookupError, ValueError, TypeError, UnicodeError, email.errors.MessageError):
        return None
    return _fits_rfc822(out.getvalue())


_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})


def _seven_bit_headers(part: email.message.Message) -> None:
    """8-bit header text (UTF-8, else Windows-1252) as RFC 2047 words; in an address header only the
    names, so the addresses stay addresses a client can answer."""
    items = list(part.raw_items())   # as stored: 8-bit bytes as surrogates, not Header objects
    if all(value.isascii() for _, value in items):
        return
    for name in {name for name, _ in items}:
        del part[name]
    for name, value in items:
        if not value.isascii():
            data = value.encode("ascii", "surrogateescape")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("cp1252", "replace")
            if name.lower() in _ADDRESS_HEADERS:
                value = ", ".join(email.utils.formataddr(pair, "utf-8") for pair in email.utils.getaddresses([text]))
            else:
                value = Header(text, "utf-8").encode()
        part[name] = value


def enqueue(
    db: sqlite_utils.Database,
    *,
    raw: bytes,
    message_id: str,
    kind: str,
    mailbox: str,
    recipient: str,
    subject: str,
    source_message: int | None = None,
    registrant_id: int | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Queue a mail once: the unique (source_message, kind) key makes a second call a no-op.
    A mail still queued at `expires_at` is cancelled, not sent (dispatch)."""
    database.insert(db, "outbox", {
        "message_id": message_id, "source_message": source_message, "kind": kind,
        "mailbox": mailbox, "registrant_id": registrant_id, "recipient": recipient,
        "subject": subject, "raw": raw, "state": OutboxState.QUEUED, "attempts": 0, "created_at": now(db),
        "expires_at": stamp(expires_at) if expires_at else None,
    }, ignore=True)


class SentCopies(Protocol):
    """A mailbox's Sent folder (mailbox.SentFolder): `append` copies, `contains` a Message-ID, and
    mailflow's own mail and the replies in it (`mailflow_mail`: answered.py reads which mails mailflow's
    replies answer, and which questions a coordinator answered from their own client)."""

    def append(self, raws: list[bytes]) -> None: ...

    def contains(self, message_id: str) -> bool: ...

    def close(self) -> None: ...
    def mailflow_mail(self, uidvalidity: int | None, after_uid: int) -> tuple[int, list[tuple[int, bytes]]]: ...


# Postfix's schedule for deferred mail: 5 minutes, doubling, at most 4000 s apart, for 5 days.
FIRST_RETRY = timedelta(seconds=300)
LONGEST_RETRY = timedelta(seconds=4000)
GIVE_UP_AFTER = timedelta(days=5)


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


# -- coordinators' hand on the outbox: list, retry, cancel ----------------------

LISTED_COLUMNS = "id, state, kind, mailbox, recipient, subject, attempts, error, created_at, sent_at, message_id"


def listing(db: sqlite_utils.Database, state: OutboxState | None = None) -> list[dict]:
    """Outbox rows without their bytes, oldest first; only one state when `state` is given."""
    where, args = ("where state = ?", [state]) if state else ("", [])
    return list(db.query(f"select {LISTED_COLUMNS} from outbox {where} order by id", args))


def _row(db: sqlite_utils.Database, outbox_id: int) -> dict:
    rows = list(db.query(f"select {LISTED_COLUMNS} from outbox where id = ?", [outbox_id]))
    if not rows:
        raise MailflowError(f"no outbox mail {outbox_id}; `mailflow outbox` lists them with their numbers")
    return rows[0]


def _move(db: sqlite_utils.Database, outbox_id: int, allowed: tuple[OutboxState, ...], changes: dict) -> bool:
    """Change a row only if it is still in an allowed state (the worker may be sending meanwhile)."""
    marks = ",".join("?" * len(allowed))
    sets = ", ".join(f"{column} = ?" for column in changes)
    cursor = db.execute(
        f"update outbox set {sets} where id = ? and state in ({marks})", [*changes.values(), outbox_id, *allowed]
    )
    return cursor.rowcount == 1


def retry(db: sqlite_utils.Database, outbox_id: int, mailboxes: Collection[str]) -> dict:
    """A failed (or uncertain: the coordinator checked it did not arrive) mail goes back to the queue
    with a fresh attempt count; its last error stays on the row. Not one of a mailbox rules.yaml no
    longer names (`mailboxes`): nothing would ever send it."""
    row = _row(db, outbox_id)
    if row["mailbox"] not in mailboxes:
        raise MailflowError(f"outbox mail {outbox_id} is from mailbox {row['mailbox']!r}, which rules.yaml no longer "
                            "names, so nothing would send it; give the mailbox its name back first, or "
                            f"`mailflow outbox cancel {outbox_id}`")
    retryable = (OutboxState.FAILED, OutboxState.UNCERTAIN)
    requeue = {"state": OutboxState.QUEUED, "attempts": 0}
    if row["state"] not in retryable or not _move(db, outbox_id, retryable, requeue):
        state = _row(db, outbox_id)["state"]
        raise MailflowError(f"outbox mail {outbox_id} is {state}; only failed or uncertain mails can be retried")
    log.info("outbox=%s message_id=%s %s -> queued by hand (last error: %s)",
             outbox_id, row["message_id"], row["state"], row["error"])
    return {**row, **requeue}


def retry_all_failed(db: sqlite_utils.Database, mailboxes: Collection[str]) -> tuple[list[dict], list[dict]]:
    """retry() of every failed mail of the mailboxes rules.yaml names: (those queued again, the failed
    ones of mailboxes it no longer names, left as they are)."""
    failed = listing(db, OutboxState.FAILED)
    return ([retry(db, row["id"], mailboxes) for row in failed if row["mailbox"] in mailboxes],
            [row for row in failed if row["mailbox"] not in mailboxes])


def cancel(db: sqlite_utils.Database, outbox_id: int) -> tuple[dict, bool]:
    """Queued, failed or uncertain -> cancelled, so it is never sent (again); returns (row, changed).
    A sent mail cannot be unsent."""
    row = _row(db, outbox_id)
    if row["state"] == OutboxState.CANCELLED:
        return row, False
    cancellable = (OutboxState.QUEUED, OutboxState.FAILED, OutboxState.UNCERTAIN)
    if _move(db, outbox_id, cancellable, {"state": OutboxState.CANCELLED}):
        log.info("outbox=%s %s -> cancelled by hand", outbox_id, row["state"])
        return {**row, "state": OutboxState.CANCELLED}, True
    row = _row(db, outbox_id)
    if row["state"] == OutboxState.SENT:
        raise MailflowError(f"outbox mail {outbox_id} was already sent to {row['recipient']} on {row['sent_at']}; "
                            "a sent mail cannot be cancelled")
    if row["state"] == OutboxState.SENDING:
        raise MailflowError(f"outbox mail {outbox_id} is being sent right now; "
                            "check again with `mailflow outbox` when the pass is over")
    raise MailflowError(f"outbox mail {outbox_id} is {row['state']}; only queued, failed or uncertain mails "
                        "can be cancelled")

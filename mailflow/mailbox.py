"""Mailboxes at the edge: where raw mail comes from and where "processed" is marked.

`ImapMailbox` talks to a real server with imapclient; `MaildirMailbox` reads a
local Maildir read-only (the demo). Both hand out (uid, raw bytes) in UID order
and never delete anything.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

# imapclient ships no type information (no stubs exist either): its names are Any here.
import imapclient  # type: ignore[import-untyped]
import imapclient.imapclient  # type: ignore[import-untyped]
from imapclient.exceptions import IMAPClientError, LoginError  # type: ignore[import-untyped]
from imapclient.imap4 import IMAP4WithTimeout  # type: ignore[import-untyped]
from imapclient.tls import IMAP4_TLS, wrap_socket  # type: ignore[import-untyped]

from .credentials import Credentials
from .deadline import Deadline
from .delivery import tls_context
from .errors import ConnectionFailed, connection_failed, login_refused
from .outbox import MAILFLOW_HEADER
from .rules import ImapSettings, ProcessedMarker

log = logging.getLogger(__name__)

FETCH_BATCH = 500               # mails per FETCH, at most
FETCH_BATCH_BYTES = 16 << 20    # ... and at most this much mail (RFC822.SIZE); a bigger mail comes alone
UID_SET_CHARS = 4000            # a UID set per command, at most: Dovecot refuses a long one ("Too long argument")

# How processed mail is marked on the server (`Mailbox.marking`, shown by `mailflow status`).
# READ_ONLY: a Maildir, which mailflow never changes.
KEYWORD, KEYWORD_AND_MOVE, MOVE, DATABASE, READ_ONLY = "keyword", "keyword, move", "move", "database", "read-only"

K = TypeVar("K")
# What is read of a mail in a Sent folder: which mail it is, which mail it answers, whose it is
# (mailflow's, by its header, or a coordinator's own reply), to whom and when it was written.
SENT_FIELDS = f"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES FROM TO CC DATE {MAILFLOW_HEADER.upper()})]"


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    raw: bytes
    arrived: datetime | None = None   # when it reached the mailbox (INTERNALDATE), not its Date header
    processed: bool = False           # the server says it was handled: it carries the processed flag


class Mailbox(Protocol):
    name: str
    folder: str
    marking: str   # KEYWORD, KEYWORD_AND_MOVE, MOVE or DATABASE: known after open()

    def open(self) -> int:
        """Connect and select the folder; return its UIDVALIDITY."""

    def fetch_after(self, last_uid: int) -> Iterator[list[FetchedMail]]:
        """New mail with UID above last_uid, in batches."""

    def mark_processed(self, uids: list[int], attention: Sequence[int] = ()) -> None: ...

    def flagged(self, uids: list[int]) -> set[int]:
        """Those of `uids` that carry the processed flag on the server."""

    def unflag(self, uids: list[int]) -> None:
        """Take \\Flagged off `uids` (closed questions)."""

    def close(self) -> None: ...


def uid_sets(uids: Iterable[int], limit: int = UID_SET_CHARS) -> list[str]:
    """UIDs as IMAP sets of ranges ("1:500,502,504:900"), each at most `limit` characters (one
    range is never split), so that no command grows with the mailbox."""
    runs: list[list[int]] = []
    for uid in sorted(set(uids)):
        if runs and uid == runs[-1][1] + 1:
            runs[-1][1] = uid
        else:
            runs.append([uid, uid])
    sets: list[str] = []
    current = ""
    for first, last in runs:
        item = str(first) if first == last else f"{first}:{last}"
        if current and len(current) + 1 + len(item) > limit:
            sets.append(current)
            current = ""
        current = f"{current},{item}" if current else item
    return [*sets, current] if current else sets


def size_batches(sized: Iterable[tuple[K, int]], count: int, size: int) -> Iterator[list[K]]:
    """`sized` ((key, bytes) in order) in batches of at most `count` keys and `size` bytes; a key
    bigger than `size` is a batch of its own."""
    batch: list[K] = []
    used = 0
    for key, length in sized:
        if batch and (len(batch) >= count or used + (length or 0) > size):
            yield batch
            batch, used = [], 0
        batch.append(key)
        used += length or 0
    if batch:
        yield batch


def keywords_allowed(permanent_flags: Iterable[bytes] | None, flag: str) -> bool:
    """Whether SELECT's PERMANENTFLAGS let this keyword be stored: `\\*` (any new keyword) or the
    keyword itself. No PERMANENTFLAGS at all means every flag may be stored (RFC 3501)."""
    if permanent_flags is None:
        return True
    named = {f.lower() for f in permanent_flags}
    return b"\\*" in named or flag.encode().lower() in named


class _WatchedIMAP4(IMAP4WithTimeout):
    """imaplib's socket handed to the connection's Deadline as soon as it exists: the greeting is
    read (and TLS negotiated) inside imapclient's constructor."""

    def __init__(self, deadline: Deadline, host: str, port: int, timeout: float | None) -> None:
        self.deadline = deadline
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout or self._timeout)
        self.deadline.attach(sock)
        return sock


class _WatchedIMAP4_TLS(IMAP4_TLS):
    def __init__(self, deadline: Deadline, host: str, port: int, context: ssl.SSLContext | None,
                 timeout: float | None) -> None:
        self.deadline = deadline
        super().__init__(host, port, context, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout or self._timeout)
        self.deadline.attach(sock)
        return wrap_socket(sock, self.ssl_context, self.host)


class Client(imapclient.IMAPClient):
    """An IMAPClient whose operations are bounded by `deadline` (`with client.deadline.running():`)."""

    def __init__(self, deadline: Deadline, host: str, **options: Any) -> None:
        self.deadline = deadline
        deadline.current = lambda: getattr(getattr(self, "_imap", None), "sock", None)
        super().__init__(host, **options)

    def _create_IMAP4(self) -> Any:
        timeout = self._timeout.connect
        if self.ssl:
            return _WatchedIMAP4_TLS(self.deadline, self.host, self.port, self.ssl_context, timeout)
        return _WatchedIMAP4(self.deadline, self.host, self.port, timeout)


def connect(name: str, s: ImapSettings, credentials: Credentials) -> Client:
    """A logged-in IMAP connection; certificates verified, every read bounded by the timeout and
    every operation (this connect and login too) by the deadline.

    The secret is asked for here, at every connect (an OAuth2 token may have expired since the
    last); SecretError if it cannot be had."""
    secret = credentials.secret() or ""
    deadline = Deadline(s.deadline, f"mailbox {name}: IMAP {s.host}:{s.port}")
    try:
        with deadline.running():
            client = Client(
                deadline, s.host, port=s.port, ssl=s.security == "tls",
                ssl_context=tls_context(s) if s.security != "none" else None, timeout=s.timeout,
            )
            if s.security == "starttls":
                client.starttls(tls_context(s))
            if credentials.oauth2:
                client.oauth2_login(s.username or "", secret)
            else:
                client.login(s.username or "", secret)
    except LoginError as exc:
        raise login_refused(f"mailbox {name}: IMAP", s.host, s.username, exc) from None
    except (OSError, ssl.SSLError, IMAPClientError) as exc:
        raise connection_failed(f"mailbox {name}: IMAP", s.host, s.port, exc) from None
    return client


def logout(client: Client | None) -> None:
    """Say goodbye if the connection still listens; a dead one needs no goodbye."""
    if client is not None:
        try:
            with client.deadline.running():
                client.logout()
        except (OSError, IMAPClientError, ConnectionFailed):
            pass


class ImapMailbox:
    def __init__(self, name: str, settings: ImapSettings, marker: ProcessedMarker, credentials: Credentials):
        self.name = name
        self.settings = settings
        self.folder = settings.folder
        self.marker = marker
        self.credentials = credentials
        self.client: Client | None = None
        self.pending = 0   # mails the running fetch_after will hand out (for a progress bar)
        self.marking = KEYWORD_AND_MOVE if marker.move_to else KEYWORD
        self.flagged_allowed = True

    def open(self) -> int:
        """Connect and select the folder; SELECT's PERMANENTFLAGS decide how processed mail is
        marked (`marking`): a server that stores no new keywords (Microsoft 365) gets the move,
        or nothing, mailflow's database being the record."""
        s = self.settings
        client = connect(self.name, s, self.credentials)
        try:
            with client.deadline.running():
                status = client.select_folder(self.folder, readonly=False)
        except (OSError, IMAPClientError) as exc:
            logout(client)
            raise ConnectionFailed(f"mailbox {self.name}: cannot open folder {self.folder}: {exc}") from None
        except ConnectionFailed:
            logout(client)
            raise
        self.client = client
        permanent = status.get(b"PERMANENTFLAGS")
        self.flagged_allowed = keywords_allowed(permanent, "\\Flagged")
        if keywords_allowed(permanent, self.marker.flag):
            self.marking = KEYWORD_AND_MOVE if self.marker.move_to else KEYWORD
        else:
            self.marking = MOVE if self.marker.move_to else DATABASE
        return int(status[b"UIDVALIDITY"])

    def fetch_after(self, last_uid: int) -> Iterator[list[FetchedMail]]:
        """Sizes first (RFC822.SIZE), then the mail in batches of FETCH_BATCH mails and at most
        FETCH_BATCH_BYTES: memory stays bounded by the batch, not by the mailbox. (imapclient's
        fetch takes a list of UIDs, not a set of ranges: FETCH_BATCH bounds its length.)"""
        client = self.client
        assert client is not None
        try:
            with client.deadline.running():
                uids = sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
            self.pending = len(uids)
            sizes: dict[int, int] = {}
            for start in range(0, len(uids), FETCH_BATCH):
                with client.deadline.running():
                    found = client.fetch(uids[start:start + FETCH_BATCH], ["RFC822.SIZE"])
                sizes.update((uid, int(data.get(b"RFC822.SIZE") or 0)) for uid, data in found.items())
            client.normalise_times = False   # INTERNALDATE with its zone, not as naive local time
            for chunk in size_batches(((uid, sizes.get(uid, 0)) for uid in uids), FETCH_BATCH, FETCH_BATCH_BYTES):
                with client.deadline.running(size=sum(sizes.get(uid, 0) for uid in chunk)):
                    data = client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])
                batch = [FetchedMail(uid, data[uid][b"BODY[]"], data[uid].get(b"INTERNALDATE"),
                                     self._processed(data[uid].get(b"FLAGS", ())))
                         for uid in chunk if uid in data]
                del data
                yield batch
                del batch   # the caller has recorded it: never two batches in memory
        except (OSError, IMAPClientError) as exc:
            raise ConnectionFailed(f"mailbox {self.name}: IMAP fetch failed: {exc}") from None

    def _processed(self, flags: tuple[bytes, ...]) -> bool:
        flag = self.marker.flag.lower().encode()
        return any(f.lower() == flag for f in flags)   # keywords are case-insensitive (RFC 3501)

    def flagged(self, uids: list[int]) -> set[int]:
        if not uids or self.client is None:
            return set()
        try:
            found: set[int] = set()
            for start in range(0, len(uids), FETCH_BATCH):   # a UID set of bounded length
                with self.client.deadline.running():
                    data = self.client.fetch(uids[start:start + FETCH_BATCH], ["FLAGS"])
                found.update(uid for uid, item in data.items() if self._processed(item.get(b"FLAGS", ())))
            return found
        except (OSError, IMAPClientError) as exc:
            raise ConnectionFailed(f"mailbox {self.name}: IMAP fetch of flags failed: {exc}") from None

    def mark_processed(self, uids: list[int], attention: Sequence[int] = ()) -> None:
        """Keyword flag first (and \\Flagged on `attention`), then the optional move, each in UID sets
        of bounded length; where the server takes no keyword, the move alone or nothing (see
        `open`). Nothing is ever expunged by us otherwise."""
        client = self.client
        if not uids or client is None:
            return
        try:
            if self.marking in (KEYWORD, KEYWORD_AND_MOVE):
                self._store(client, uids, self.marker.flag.encode())
            if attention and self.flagged_allowed:
                self._store(client, attention, imapclient.imapclient.FLAGGED)
            if self.marking in (MOVE, KEYWORD_AND_MOVE) and self.marker.move_to:
                for uid_set in uid_sets(uids):
                    with client.deadline.running():
                        client.move(uid_set, self.marker.move_to)
        except (OSError, IMAPClientError) as exc:
            raise ConnectionFailed(f"mailbox {self.name}: cannot mark processed: {exc}") from None

    def unflag(self, uids: list[int]) -> None:
        client = self.client
        if not uids or client is None or not self.flagged_allowed:
            return
        try:
            for uid_set in uid_sets(uids):
                with client.deadline.running():
                    client.remove_flags(uid_set, [imapclient.imapclient.FLAGGED], silent=True)
        except (OSError, IMAPClientError) as exc:
            raise ConnectionFailed(f"mailbox {self.name}: cannot take \\Flagged off closed questions: {exc}") from None

    @staticmethod
    def _store(client: Client, uids: Iterable[int], flag: bytes) -> None:
        for uid_set in uid_sets(uids):
            with client.deadline.running():
                client.add_flags(uid_set, [flag], silent=True)

    def close(self) -> None:
        logout(self.client)
        self.client = None


class MaildirMailbox:
    """A local Maildir read in file-name order; read-only, so the shipped samples stay as they are."""

    UIDVALIDITY = 1
    marking = READ_ONLY

    def __init__(self, name: str, path: Path):
        self.name = name
        self.path = path
        self.folder = str(path)

    def open(self) -> int:
        if not (self.path / "new").is_dir():
            raise ConnectionFailed(f"mailbox {self.name}: {self.path} is not a Maildir (no new/ folder)")
        return self.UIDVALIDITY

    def fetch_after(self, last_uid: int) -> Iterator[list[FetchedMail]]:
        mails = [FetchedMail(uid, f.read_bytes(), delivery_time(f))
                 for uid, f in enumerate(maildir_files(self.path), start=1) if uid > last_uid]
        self.pending = len(mails)
        for start in range(0, len(mails), FETCH_BATCH):
            yield mails[start:start + FETCH_BATCH]

    def mark_processed(self, uids: list[int], attention: Sequence[int] = ()) -> None:
        pass

    def flagged(self, uids: list[int]) -> set[int]:
        return set()   # read-only: nothing here is ever flagged

    def unflag(self, uids: list[int]) -> None:
        pass

    def close(self) -> None:
        pass


def maildir_files(path: Path) -> list[Path]:
    """A Maildir's mails in file-name order (delivery order); dotfiles are not mail."""
    files = [f for sub in ("new", "cur") for f in (path / sub).glob("*") if not f.name.startswith(".")]
    return sorted(files, key=lambda f: f.name)


def delivery_time(path: Path) -> datetime:
    """When a Maildir file was delivered: the epoch seconds its name starts with (the Maildir
    convention, `1600064624.M1P1.host`), else the file's modification time."""
    seconds, dot, _ = path.name.partition(".")
    moment = int(seconds) if dot and seconds.isdigit() else path.stat().st_mtime
    return datetime.fromtimestamp(moment, UTC)


def latest_delivery(maildirs: list[Path]) -> datetime | None:
    """The last delivery time in these Maildirs (the demo's "as of")."""
    times = [delivery_time(f) for path in maildirs for f in maildir_files(path)]
    return max(times, default=None)


class SentFolder:
    """The mailbox's Sent folder: where sent replies are kept and looked up after a crash.

    A row left in `sending` by a crash is checked here before it is sent again;
    with a provider that files every submission itself (sent_copy: provider),
    that check is exact, so an interrupted send is never repeated.
    """

    def __init__(self, name: str, settings: ImapSettings, credentials: Credentials, folder: str | None = None):
        self.name = name
        self.settings = settings
        self.credentials = credentials
        self._folder = folder
        self.client: Client | None = None

    def _open(self) -> Client:
        if self.client is None:
            client = connect(self.name, self.settings, self.credentials)
            if self._folder is None:
                try:
                    with client.deadline.running():
                        self._folder = client.find_special_folder(imapclient.imapclient.SENT) or "Sent"
                except (OSError, IMAPClientError):
                    self._folder = "Sent"
                except ConnectionFailed:
                    logout(client)
                    raise
            self.client = client
        return self.client

    @property
    def folder(self) -> str:
        self._open()
        return self._folder or "Sent"

    @contextlib.contextmanager
    def _failing(self, doing: str) -> Iterator[None]:
        """Any failure closes the connection (the next call connects again) and is a ConnectionFailed
        saying what could not be done in which folder."""
        try:
            yield
        except ConnectionFailed:
            self.close()
            raise
        except (OSError, IMAPClientError) as exc:
            self.close()
            raise ConnectionFailed(f"mailbox {self.name}: {doing} {self._folder}: {exc}") from None

    def append(self, raws: list[bytes]) -> None:
        """Save copies, many in one MULTIAPPEND (RFC 3502) where the server has it: one round trip."""
        if not raws:
            return
        with self._failing("cannot save to"):
            client = self._open()
            flagged = [{"msg": raw, "flags": (imapclient.imapclient.SEEN,)} for raw in raws]
            with client.deadline.running(size=sum(map(len, raws))):
                if b"MULTIAPPEND" in client.capabilities():
                    client.multiappend(self.folder, flagged)
                else:
                    for raw in raws:
                        client.append(self.folder, raw, flags=(imapclient.imapclient.SEEN,))

    def mailflow_mail(self, uidvalidity: int | None, after_uid: int) -> tuple[int, list[tuple[int, bytes]]]:
        """mailflow's own mail in this folder (an X-Mailflow header), and replies (In-Reply-To or
        References), with a UID above `after_uid` (all of it when the folder's UIDVALIDITY is not
        `uidvalidity`): the folder's UIDVALIDITY and (uid, the header fields answered.py reads) in UID order."""
        with self._failing("cannot read"):
            client = self._open()
            with client.deadline.running():
                current = int(client.select_folder(self.folder, readonly=True)[b"UIDVALIDITY"])
                after = after_uid if current == uidvalidity else 0
                # An empty string matches every mail that has the header at all (RFC 3501 SEARCH HEADER).
                uids = sorted(u for u in client.search(
                    ["UID", f"{after + 1}:*", "OR", "HEADER", MAILFLOW_HEADER, "",
                     "OR", "HEADER", "In-Reply-To", "", "HEADER", "References", ""]) if u > after)
            found: list[tuple[int, bytes]] = []
            for start in range(0, len(uids), FETCH_BATCH):
                with client.deadline.running():
                    data = client.fetch(uids[start:start + FETCH_BATCH], [SENT_FIELDS])
                found += [(uid, next((v for k, v in data[uid].items() if k.startswith(b"BODY[")), b""))
                          for uid in uids[start:start + FETCH_BATCH] if uid in data]
            return current, found

    def contains(self, message_id: str) -> bool:
        with self._failing("cannot search"):
            client = self._open()
            with client.deadline.running():
                client.select_folder(self.folder, readonly=True)
                return bool(client.search(["HEADER", "Message-ID", message_id]))

    def close(self) -> None:
        logout(self.client)
        self.client = None

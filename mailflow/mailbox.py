"""Mailboxes at the edge: where raw mail comes from and where "processed" is marked.

`ImapMailbox` talks to a real server with imapclient; `MaildirMailbox` reads a
local Maildir read-only (the demo). Both hand out (uid, raw bytes) in UID order
and never delete anything.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

# imapclient ships no type information (no stubs exist either): its names are Any here.
import imapclient.imapclient  # type: ignore[import-untyped]
from imapclient.exceptions import IMAPClientError, LoginError  # type: ignore[import-untyped]

from .credentials import Credentials
from .delivery import tls_context
from .errors import ConnectionFailed
from .outbox import MAILFLOW_HEADER
from .rules import ImapSettings, ProcessedMarker

log = logging.getLogger(__name__)

FETCH_BATCH = 500
# What is read of mailflow's own mail in a Sent folder: which mail it is, and which mail it answers.
SENT_FIELDS = f"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES {MAILFLOW_HEADER.upper()})]"


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    raw: bytes
    arrived: datetime | None = None   # when it reached the mailbox (INTERNALDATE), not its Date header
    processed: bool = False           # the server says it was handled: it carries the processed flag


class Mailbox(Protocol):
    name: str
    folder: str

    def open(self) -> int:
        """Connect and select the folder; return its UIDVALIDITY."""

    def fetch_after(self, last_uid: int) -> Iterator[list[FetchedMail]]:
        """New mail with UID above last_uid, in batches."""

    def mark_processed(self, uids: list[int], attention: Sequence[int] = ()) -> None: ...

    def flagged(self, uids: list[int]) -> set[int]:
        """Those of `uids` that carry the processed flag on the server."""

    def close(self) -> None: ...


def connect(name: str, s: ImapSettings, credentials: Credentials) -> imapclient.IMAPClient:
    """A logged-in IMAP connection; certificates verified, every call bounded by the timeout.

    The secret is asked for here, at every connect (an OAuth2 token may have expired since the
    last); SecretError if it cannot be had."""
    secret = credentials.secret() or ""
    try:
        client = imapclient.IMAPClient(
            s.host, port=s.port, ssl=s.security == "tls",
            ssl_context=tls_context(s) if s.security != "none" else None, timeout=s.timeout,
        )
        if s.security == "starttls":
            client.starttls(tls_context(s))
        if credentials.oauth2:
            client.oauth2_login(s.username or "", secret)
        else:
            client.login(s.username or "", secret)
    except LoginError:
        raise ConnectionFailed(f"mailbox {name}: IMAP login refused for {s.username}") from None
    except (OSError, ssl.SSLError, IMAPClientError) as exc:
        raise ConnectionFailed(f"mailbox {name}: cannot reach IMAP {s.host}:{s.port}: {exc}") from None
    return client


def logout(client: imapclient.IMAPClient | None) -> None:
    """Say goodbye if the connection still listens; a dead one needs no goodbye."""
    if client is not None:
        with contextlib.suppress(OSError, IMAPClientError):
            client.logout()


class ImapMailbox:
    def __init__(self, name: str, settings: ImapSettings, marker: ProcessedMarker, credentials: Credentials):
        self.name = name
        self.settings = settings
        self.folder = settings.folder
        self.marker = marker
        self.credentials = credentials
        self.client: imapclient.IMAPClient | None = None
        self.pending = 0   # mails the running fetch_after will hand out (for a progress bar)

    def open(self) -> int:
        s = self.settings
        client = connect(self.name, s, self.credentials)
        try:
            status = client.select_folder(self.folder, readonly=False)
        except (OSError, IMAPClientError) as exc:
            raise ConnectionFailed(f"mailbox {self.name}: cannot open folder {self.folder}: {exc}") from None
        self.client = client
        return int(status[b"UIDVALIDITY"])

    def fetch_after(self, last_uid: int) -> Iterator[list[FetchedMail]]:
        assert self.client is not None
        try:
            uids = [u for u in self.client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid]
            uids.sort()
            self.pending = len(uids)
            for start in range(0, len(uids), FETCH_BATCH):
                chunk = uids[start:start + FETCH_BATCH]
                self.client.normalise_times = False   # INTERNALDATE with its zone, not as naive local time
                data = self.client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])
                yield [FetchedMail(uid, data[uid][b"BODY[]"], data[uid].get(b"INTERNALDATE"),
                                   self._processed(data[uid].get(b"FLAGS", ())))
                       for uid in chunk if uid in data]
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
                data = self.client.fetch(uids[start:start + FETCH_BATCH], ["FLAGS"])
                found.update(uid for uid, item in data.items() if self._processed(item.get(b"FLAGS", ())))
            return found
        except (OSError, IMAPClientError) as exc:
            raise ConnectionFailed(f"mailbox {self.name}: IMAP fetch of flags failed: {exc}") from None

    def mark_processed(self, uids: list[int], attention: Sequence[int] = ()) -> None:
        """Keyword flag first (and \\Flagged on `attention`), then the optional move; nothing is
        ever expunged by us otherwise."""
        if not uids or self.client is None:
            return
        try:
            self.client.add_flags(uids, [self.marker.flag.encode()], silent=True)
            if attention:
                self.client.add_flags(list(attention), [imapclient.imapclient.FLAGGED], silent=True)
            if self.marker.move_to:
                self.client.move(uids, self.marker.move_to)
        except (OSError, IMAPClientError) as exc:
            raise ConnectionFailed(f"mailbox {self.name}: cannot mark processed: {exc}") from None

    def close(self) -> None:
        logout(self.client)
        self.client = None


class MaildirMailbox:
    """A local Maildir read in file-name order; read-only, so the shipped samples stay as they are."""

    UIDVALIDITY = 1

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
        self.client: imapclient.IMAPClient | None = None

    def _open(self) -> imapclient.IMAPClient:
        if self.client is None:
            client = connect(self.name, self.settings, self.credentials)
            if self._folder is None:
                try:
                    self._folder = client.find_special_folder(imapclient.imapclient.SENT) or "Sent"
                except (OSError, IMAPClientError):
                    self._folder = "Sent"
            self.client = client
        return self.client

    @property
    def folder(self) -> str:
        self._open()
        return self._folder or "Sent"

    def append(self, raws: list[bytes]) -> None:
        """Save copies, many in one MULTIAPPEND (RFC 3502) where the server has it: one round trip."""
        if not raws:
            return
        try:
            client = self._open()
            flagged = [{"msg": raw, "flags": (imapclient.imapclient.SEEN,)} for raw in raws]
            if b"MULTIAPPEND" in client.capabilities():
                client.multiappend(self.folder, flagged)
            else:
                for raw in raws:
                    client.append(self.folder, raw, flags=(imapclient.imapclient.SEEN,))
        except (OSError, IMAPClientError) as exc:
            self.close()
            raise ConnectionFailed(f"mailbox {self.name}: cannot save to {self._folder}: {exc}") from None

    def mailflow_mail(self, uidvalidity: int | None, after_uid: int) -> tuple[int, list[tuple[int, bytes]]]:
        """mailflow's own mail in this folder (an X-Mailflow header) with a UID above `after_uid` (all of
        it when the folder's UIDVALIDITY is not `uidvalidity`): the folder's UIDVALIDITY and (uid, the
        header fields answered.py reads) in UID order."""
        try:
            client = self._open()
            current = int(client.select_folder(self.folder, readonly=True)[b"UIDVALIDITY"])
            after = after_uid if current == uidvalidity else 0
            # An empty string matches every mail that has the header at all (RFC 3501 SEARCH HEADER).
            uids = sorted(u for u in client.search(["UID", f"{after + 1}:*", "HEADER", MAILFLOW_HEADER, ""])
                          if u > after)
            found: list[tuple[int, bytes]] = []
            for start in range(0, len(uids), FETCH_BATCH):
                data = client.fetch(uids[start:start + FETCH_BATCH], [SENT_FIELDS])
                found += [(uid, next((v for k, v in data[uid].items() if k.startswith(b"BODY[")), b""))
                          for uid in uids[start:start + FETCH_BATCH] if uid in data]
            return current, found
        except (OSError, IMAPClientError) as exc:
            self.close()
            raise ConnectionFailed(f"mailbox {self.name}: cannot read {self._folder}: {exc}") from None

    def contains(self, message_id: str) -> bool:
        try:
            client = self._open()
            client.select_folder(self.folder, readonly=True)
            return bool(client.search(["HEADER", "Message-ID", message_id]))
        except (OSError, IMAPClientError) as exc:
            self.close()
            raise ConnectionFailed(f"mailbox {self.name}: cannot search {self._folder}: {exc}") from None

    def close(self) -> None:
        logout(self.client)
        self.client = None

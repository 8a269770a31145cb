"""Push instead of polling: one IMAP IDLE connection per mailbox, in a thread.

A watcher does no mail work itself. It sets the daemon's `wake` event when the
server announces new mail, and after every (re)connect, so the daemon's next
pass catches up on whatever arrived while the connection was down. Lost
connections are retried with exponential backoff and jitter, each with the
secret asked for again (a provider drops the connection when its OAuth2 token
expires; the token command hands out a new one).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import imapclient.exceptions  # type: ignore[import-untyped]  # imapclient ships no type information

from .credentials import Credentials
from .errors import ConnectionFailed
from .mailbox import Client, connect, logout
from .rules import ImapSettings

log = logging.getLogger(__name__)

IDLE, POLLING, RECONNECTING = "idle", "polling", "reconnecting"


class Backoff:
    """1 s, 2 s, 4 s ... up to `maximum`, each delay drawn from its upper half ("equal jitter"),
    so that many workers do not hammer a server that has just come back, all at once."""

    def __init__(self, first: float = 1.0, maximum: float = 300.0, rng: Callable[[], float] = random.random):
        self.first, self.maximum, self.rng = first, maximum, rng
        self.attempt = 0

    def next(self) -> float:
        delay = min(self.maximum, self.first * 2 ** self.attempt)
        self.attempt += 1
        return delay / 2 + delay / 2 * self.rng()

    def reset(self) -> None:
        self.attempt = 0


class IdleWatcher(threading.Thread):
    def __init__(
        self,
        name: str,
        settings: ImapSettings,
        credentials: Credentials,
        wake: threading.Event,
        on_state: Callable[[str, str], None],
        max_delay: float = 300.0,
    ):
        super().__init__(name=f"idle-{name}", daemon=True)
        self.mailbox = name
        self.settings = settings
        self.credentials = credentials
        self.wake = wake
        self.on_state = on_state
        self.backoff = Backoff(maximum=max_delay)
        self._halt = threading.Event()   # not `_stop`: Thread.join() calls a method of that name

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        while not self._halt.is_set():
            client = None
            try:
                client = connect(self.mailbox, self.settings, self.credentials)   # a fresh secret each time
                with client.deadline.running():
                    idle = b"IDLE" in client.capabilities()
                if not idle:
                    log.info("mailbox=%s server offers no IDLE: polling", self.mailbox)
                    self.on_state(self.mailbox, POLLING)
                    return
                with client.deadline.running():
                    client.select_folder(self.settings.folder, readonly=True)
                self.on_state(self.mailbox, IDLE)
                self.backoff.reset()
                self.wake.set()   # catch up on what arrived while we were away
                self._idle(client)
            except (ConnectionFailed, OSError, imapclient.exceptions.IMAPClientError) as exc:
                delay = self.backoff.next()
                self.on_state(self.mailbox, RECONNECTING)
                log.warning("mailbox=%s IDLE connection lost (%s); reconnecting in %.1f s", self.mailbox, exc, delay)
                self._halt.wait(delay)
            finally:
                logout(client)

    def _idle(self, client: Client) -> None:
        """Every command, and every look for news (a server may trickle those too), is bounded by
        the deadline."""
        with client.deadline.running():
            client.idle()
        started = time.monotonic()
        empty_wakeups = 0
        while not self._halt.is_set():
            asked = time.monotonic()
            with client.deadline.running():
                responses = client.idle_check(timeout=1)
            # imapclient swallows EOF: a closed connection shows as the socket waking up at once
            # with nothing to read. Twice in a row means the server is gone.
            empty_wakeups = empty_wakeups + 1 if not responses and time.monotonic() - asked < 0.5 else 0
            if empty_wakeups >= 2:
                raise ConnectionFailed(f"mailbox {self.mailbox}: the server closed the IDLE connection")
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                log.debug("mailbox=%s new mail announced", self.mailbox)
                self.wake.set()
            if time.monotonic() - started >= self.settings.idle_renew_seconds:
                with client.deadline.running():
                    client.idle_done()   # servers drop IDLE after ~30 minutes (RFC 2177): renew it
                    client.idle()
                started = time.monotonic()
        with client.deadline.running():
            client.idle_done()

"""Overall deadlines for server operations.

A socket timeout bounds each read, not an operation: a server that trickles one byte a second
keeps every read under it, and a FETCH or an SMTP DATA never ends. A `Deadline` bounds a whole
operation (connect and greeting, one FETCH, one STORE, one mail sent): one watchdog thread shuts
the connection's socket down when the operation outlives it, which wakes the blocked read at
once; the operation then fails with `DeadlineExceeded`, and that connection is done for.

The watchdog shuts down a duplicate of the socket's file descriptor taken for the operation:
the same connection (shutdown acts on the connection, not on one descriptor), whatever TLS
wrapping or closing happens to the original meanwhile, and never another connection that
happens to get the same number later.

`hurry(seconds)` (the daemon's SIGTERM) cuts every operation, running or still to come, at that
many seconds from now.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator

from .errors import DeadlineExceeded

# A big mail gets extra time: its size at this rate, the slowest link mailflow works over (a throttled
# provider, a poor line). At 100 kB/s, with the default 60 s, a FETCH batch of more than about 6 MB never
# came through a 50 kB/s link: each pass cut it at the deadline and began again. A trickling server holds a
# 16 MB FETCH batch (mailbox.FETCH_BATCH_BYTES) at most about 11 minutes more, a 10 MB mail sent 7 minutes.
SLOWEST_BYTES_PER_SECOND = 25_000


class _Watchdog:
    """One thread for the process: expires armed deadlines, earliest first."""

    def __init__(self) -> None:
        self.lock = threading.Condition()   # an RLock inside: hurry() may run in a signal handler
        self.armed: dict[Deadline, float] = {}
        self.cutoff = math.inf
        self.wakes_at = math.inf      # when the thread looks next, by itself
        self.thread: threading.Thread | None = None

    def arm(self, deadline: Deadline, ends: float) -> None:
        with self.lock:
            self.armed[deadline] = ends
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="deadline-watchdog", daemon=True)
                self.thread.start()
            if ends < self.wakes_at:   # only an earlier deadline needs it awake: no wake-up per operation
                self.lock.notify()

    def disarm(self, deadline: Deadline) -> None:
        with self.lock:
            self.armed.pop(deadline, None)

    def hurry(self, seconds: float) -> None:
        with self.lock:
            self.cutoff = min(self.cutoff, time.monotonic() + seconds)
            self.lock.notify()

    def _run(self) -> None:
        with self.lock:
            while True:
                moment = time.monotonic()
                for deadline, ends in list(self.armed.items()):
                    if min(ends, self.cutoff) <= moment:
                        del self.armed[deadline]
                        deadline.expire()
                nearest = min((min(ends, self.cutoff) for ends in self.armed.values()), default=None)
                self.wakes_at = math.inf if nearest is None else nearest
                self.lock.wait(None if nearest is None else nearest - moment)


_WATCHDOG = _Watchdog()


def hurry(seconds: float) -> None:
    """Every operation, running or still to come, ends at most `seconds` from now."""
    _WATCHDOG.hurry(seconds)


class Deadline:
    """The deadline of one connection's operations: `with deadline.running():` around each.

    `current` returns the connection's socket when it has one; an operation that creates the
    socket (connect) calls `attach` with it as soon as it exists, so the greeting and the TLS
    handshake are bounded too."""

    def __init__(self, seconds: float, what: str, current: Callable[[], socket.socket | None] = lambda: None):
        self.seconds = seconds
        self.what = what
        self.current = current
        self.expired = False
        self._handle: socket.socket | None = None

    def attach(self, sock: socket.socket) -> None:
        with _WATCHDOG.lock:
            self._release()
            self._handle = socket.fromfd(sock.fileno(), sock.family, sock.type)   # (an SSLSocket has no dup())
            if self.expired:
                self._shut()

    def expire(self) -> None:
        """The watchdog's part: called with its lock held."""
        self.expired = True
        self._shut()

    def _shut(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.shutdown(socket.SHUT_RDWR)

    def _release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @contextlib.contextmanager
    def running(self, size: int = 0) -> Iterator[None]:
        """One operation; `size` bytes to move give it size / SLOWEST_BYTES_PER_SECOND more seconds.
        Any failure after the deadline passed is reported as DeadlineExceeded; an operation that
        completed in time counts, even when the watchdog shut the socket right after."""
        sock = self.current()
        if sock is not None:
            with contextlib.suppress(OSError):
                self.attach(sock)
        allowance = size / SLOWEST_BYTES_PER_SECOND
        _WATCHDOG.arm(self, time.monotonic() + self.seconds + allowance)
        try:
            yield
        except Exception:
            if self.expired:
                more = f" and {allowance:.0f} s for its {size / 1e6:.1f} MB" if allowance >= 1 else ""
                raise DeadlineExceeded(f"{self.what}: timed out, no complete answer within the {self.seconds:g} s "
                                       f"deadline{more} (or the daemon is stopping)") from None
            raise
        finally:
            _WATCHDOG.disarm(self)
            with _WATCHDOG.lock:
                self._release()

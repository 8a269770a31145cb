"""The courier: carries claimed outbox rows to the SMTP server, in-process or in a child process.

The worker's CPU work (parse, classify, render) and the SMTP round trips are
independent, so a pass sends through a child process (`python -m
mailflow.courier`) while the worker goes on: threads would fight over the GIL
(measured: the round trips barely overlapped). The child never touches the
database; it gets (outbox id, mailbox, envelope, bytes) on stdin and answers one
result per item on stdout. After every mail the SMTP server accepted it appends
the row's id to the sent journal (see dispatch.py) before answering, so a crash
of either process after that write cannot make mailflow send that mail again
(only a crash of the courier between the server's 250 and the write can).

`InlineCourier` does the same in the calling process, for senders that cannot
cross a process boundary (the demo's folder, test doubles).
"""

from __future__ import annotations

import fcntl
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, NamedTuple

from .errors import ConnectionFailed, DeliveryError

# Outcomes of one item.
SENT, UNREACHABLE, UNSENDABLE, REFUSED, SKIPPED = "sent", "unreachable", "unsendable", "refused", "skipped"


class Item(NamedTuple):
    outbox_id: int
    mailbox: str
    envelope_from: str
    recipient: str
    raw: bytes


class Result(NamedTuple):
    outbox_id: int
    outcome: str            # one of SENT, UNREACHABLE, UNSENDABLE, REFUSED, SKIPPED
    error: str = ""
    permanent: bool = False  # REFUSED with a 5xx answer


class Carrier:
    """The sending loop both couriers share: one item in, one result out, journal before result."""

    def __init__(self, senders: Mapping[str, Any], journal_fd: int | None,
                 worker_alive: Callable[[], bool] = lambda: True):
        self.senders = senders
        self.journal_fd = journal_fd
        self.worker_alive = worker_alive
        self.unreachable: dict[str, str] = {}
        self.stopping = False

    def carry(self, item: Item) -> Result:
        if item.mailbox in self.unreachable:
            # The server, not this mail, is the problem: the rest of this mailbox waits for the next pass.
            return Result(item.outbox_id, UNREACHABLE, self.unreachable[item.mailbox])
        sender = self.senders[item.mailbox]
        if not self.stopping and hasattr(sender, "wait_turn"):
            sender.wait_turn()   # the rate limit's pause comes before the last look at stop and worker
        if self.stopping or not self.worker_alive():
            # Asked to stop, or the worker died: whatever it queued waits for the next pass.
            self.stopping = True
            return Result(item.outbox_id, SKIPPED)
        try:
            sender.send(item.raw, item.envelope_from, item.recipient)
        except ConnectionFailed as exc:
            self.unreachable[item.mailbox] = str(exc)
            return Result(item.outbox_id, UNREACHABLE, str(exc))
        except DeliveryError as exc:
            return Result(item.outbox_id, REFUSED, str(exc), exc.permanent)
        except (UnicodeError, ValueError) as exc:
            return Result(item.outbox_id, UNSENDABLE, str(exc))
        if self.journal_fd is not None:
            os.write(self.journal_fd, b"%d\n" % item.outbox_id)
        return Result(item.outbox_id, SENT)

    def close(self) -> None:
        for sender in self.senders.values():
            sender.close()


class InlineCourier:
    """Sends in this process when the dispatch asks for results, checking for a stop before each mail."""

    def __init__(self, senders: Mapping[str, Any], journal_fd: int | None,
                 should_stop: Callable[[], bool] = lambda: False):
        self.carrier = Carrier(senders, journal_fd)
        self.should_stop = should_stop
        self._waiting: list[Item] = []

    def submit(self, items: list[Item]) -> None:
        self._waiting.extend(items)

    def results(self, timeout: float | None = 0) -> list[Result]:
        waiting, self._waiting = self._waiting, []
        done = []
        for item in waiting:
            if self.should_stop():
                self.carrier.stopping = True
            done.append(self.carrier.carry(item))
        return done

    def stop(self) -> None:
        self.carrier.stopping = True

    def ended(self) -> bool:
        return False

    def close(self) -> list[Result]:
        return self.results()


def portable(senders: Mapping[str, Any]) -> dict[str, dict] | None:
    """Each sender's recipe when every one of them can be rebuilt in the courier process."""
    recipes = {name: (getattr(sender, "recipe", None) or (lambda: None))() for name, sender in senders.items()}
    return recipes if recipes and all(recipes.values()) else None


PIPE_BYTES = 1 << 20   # Linux's default limit for an unprivileged pipe; fewer blocked writes


class ProcessCourier:
    """A `python -m mailflow.courier` child. Its recipes (over stdin) say where each mailbox's
    secret comes from; the child asks for the secret itself when it connects, so it never gets
    a stale token, and no secret crosses the pipe, argv or env."""

    def __init__(self, recipes: dict[str, dict], journal_fd: int | None):
        fds = (journal_fd,) if journal_fd is not None else ()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailflow.courier"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            pass_fds=fds, close_fds=True,
        )
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:
                pass   # a smaller pipe only means the worker waits for the courier sooner
        self._buffer = b""
        self._eof = False
        _write_frame(self.process.stdin, {"senders": recipes, "journal_fd": journal_fd})

    def submit(self, items: list[Item]) -> None:
        try:
            for item in items:
                _write_frame(self.process.stdin, tuple(item))   # plain tuples: the child's classes live in __main__
            self.process.stdin.flush()
        except BrokenPipeError:
            self._eof = True   # the child died; ended() tells the dispatch

    def ended(self) -> bool:
        """The child is gone (all its answers read); items it never answered are the dispatch's to settle."""
        return self._eof

    def results(self, timeout: float | None = 0) -> list[Result]:
        """What the child has answered so far; waits up to `timeout` seconds (None: until one arrives)."""
        fd = self.process.stdout.fileno()
        out: list[Result] = []
        while not self._eof:
            ready, _, _ = select.select([fd], [], [], 0 if out else timeout)
            if not ready:
                break
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self._eof = True
                break
            self._buffer += chunk
            out.extend(self._frames())
        return out

    def _frames(self) -> list[Result]:
        found, at = [], 0
        while len(self._buffer) - at >= 4:
            size = struct.unpack_from("<I", self._buffer, at)[0]
            if len(self._buffer) - at < 4 + size:
                break
            found.append(Result(*pickle.loads(self._buffer[at + 4:at + 4 + size])))
            at += 4 + size
        self._buffer = self._buffer[at:]   # one copy per read, not one per answer
        return found

    def stop(self) -> None:
        """Warm stop: the mail on the wire is finished, the rest come back SKIPPED."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)

    def close(self) -> list[Result]:
        """No more items: the child answers what it has, says QUIT to the servers and ends."""
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        out = []
        while not self._eof:
            out.extend(self.results(timeout=None))
        self.process.stdout.close()
        self.process.wait()
        return out


def _write_frame(pipe: BinaryIO, obj: object) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(struct.pack("<I", len(payload)) + payload)


def _read_frame(pipe: BinaryIO) -> object | None:
    head = pipe.read(4)
    if len(head) < 4:
        return None
    size = struct.unpack("<I", head)[0]
    return pickle.loads(pipe.read(size))


def main(stdin: BinaryIO, stdout: BinaryIO, parent: int) -> None:
    """The child's loop. It stops taking new items when asked (SIGUSR1, or SIGTERM/SIGINT,
    which a service manager or a terminal sends to the whole group) or when the worker is gone."""
    from .delivery import sender_from_recipe

    setup = _read_frame(stdin)
    assert isinstance(setup, dict)
    carrier = Carrier({name: sender_from_recipe(r) for name, r in setup["senders"].items()}, setup["journal_fd"],
                      worker_alive=lambda: os.getppid() == parent)

    def warm_stop(signum, frame) -> None:
        carrier.stopping = True

    for signum in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, warm_stop)
    try:
        while (frame := _read_frame(stdin)) is not None:
            item = Item(*frame)
            _write_frame(stdout, tuple(carrier.carry(item)))
            stdout.flush()
    except BrokenPipeError:
        pass   # the worker is gone; the journal already has every mail that was accepted
    finally:
        carrier.close()


if __name__ == "__main__":
    main(sys.stdin.buffer, sys.stdout.buffer, os.getppid())

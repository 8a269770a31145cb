"""The overall deadline of one operation, on a socket pair: what it allows and what its error says."""

from __future__ import annotations

import socket
import time

import pytest

from mailflow.deadline import SLOWEST_BYTES_PER_SECOND, Deadline
from mailflow.errors import DeadlineExceeded


def test_an_operation_that_moves_bytes_gets_time_for_them_and_its_error_says_how_much():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        deadline = Deadline(0.2, "IMAP test", current=lambda: ours)
        size = int(SLOWEST_BYTES_PER_SECOND * 1.2)   # 1.2 s more for its size
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as raised, deadline.running(size=size):
            if not ours.recv(1):   # the server sends nothing: the watchdog shuts the socket down
                raise OSError("connection closed")   # (as a client library says an end of the stream)
        waited = time.monotonic() - started
    assert 1.3 < waited < 6
    assert str(raised.value) == (f"IMAP test: timed out, no complete answer within the 0.2 s deadline and 1 s for "
                                 f"its {size / 1e6:.1f} MB (or the daemon is stopping)")

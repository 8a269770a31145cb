"""Misbehaving servers on loopback, for the tests of deadlines and of servers that refuse keywords.

* :class:`TrickleServer` answers every connection one byte a second (or every ``interval``
  seconds), forever: each read gets a byte well within any socket timeout, so only an overall
  deadline ends the operation.
* :class:`KeywordRefusingProxy` stands in front of a real Dovecot and makes it look like
  Microsoft 365: SELECT's PERMANENTFLAGS lose ``\\*`` (no new keywords), and a STORE of a keyword
  is answered ``NO``. Dovecot itself cannot be configured to refuse keywords (its ACL plugin
  drops them silently instead of answering NO), hence the proxy; everything else is Dovecot's.
  ``hide=(b"IDLE",)`` also takes those words out of every CAPABILITY it passes on (a server
  without IDLE).
* :class:`SlowLinkProxy` passes everything on to a real server, the server's side at
  ``bytes_per_second`` (a slow or throttled link: every read is quick, the whole FETCH is not).

A stall in SMTP DATA is :meth:`tests.support.servers.SmtpServer.stall_data`.
Plain classes, no pytest; each is a context manager and ``stop()`` ends its threads.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time

from .servers import HOST


class _Listener:
    """A loopback TCP listener handing each connection to ``serve(conn)`` in its own thread."""

    def __init__(self) -> None:
        self._sock = socket.create_server((HOST, 0))
        self.host, self.port = HOST, self._sock.getsockname()[1]
        self._stopped = threading.Event()
        self._conns: list[socket.socket] = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve_quietly, args=(conn,), daemon=True).start()

    def _serve_quietly(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stopped.set()
        self._sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class TrickleServer(_Listener):
    """Sends ``prefix`` and then ``filler`` bytes, one every ``interval`` seconds, to every
    connection, forever (never a complete line); what the client sends is read and ignored."""

    def __init__(self, prefix: bytes = b"* OK ", filler: bytes = b".", interval: float = 1.0) -> None:
        self.prefix, self.filler, self.interval = prefix, filler, interval
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        threading.Thread(target=self._drain, args=(conn,), daemon=True).start()
        sent = 0
        while not self._stopped.is_set():
            byte = self.prefix[sent:sent + 1] or self.filler
            conn.sendall(byte)
            sent += 1
            time.sleep(self.interval)

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                pass


class SlowLinkProxy(_Listener):
    """A TCP proxy to ``upstream`` (host, port) that hands the server's bytes on at ``bytes_per_second``."""

    CHUNK = 4096

    def __init__(self, upstream: tuple[str, int], bytes_per_second: float) -> None:
        self.upstream, self.bytes_per_second = upstream, bytes_per_second
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        self._conns.append(server)
        threading.Thread(target=self._to_server, args=(conn, server), daemon=True).start()
        with server:
            while chunk := server.recv(self.CHUNK):
                conn.sendall(chunk)
                time.sleep(len(chunk) / self.bytes_per_second)

    @staticmethod
    def _to_server(conn: socket.socket, server: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):
                server.sendall(chunk)
            server.shutdown(socket.SHUT_WR)


_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_STORE = re.compile(rb"^(\S+) (?:UID )?STORE \S+ [+-]?FLAGS(?:\.SILENT)? \(([^)]*)\)", re.IGNORECASE)


class KeywordRefusingProxy(_Listener):
    """A line-level IMAP proxy to ``upstream`` (host, port) that refuses keywords (see the module)."""

    def __init__(self, upstream: tuple[str, int], hide: tuple[bytes, ...] = ()) -> None:
        self.upstream = upstream
        self.hide = hide                   # capabilities taken out of CAPABILITY lines
        self.refused: list[bytes] = []     # the STORE commands answered NO
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        self._conns.append(server)
        to_client = threading.Lock()
        threading.Thread(target=self._from_server, args=(server, conn, to_client), daemon=True).start()
        with server:
            self._from_client(conn, server, to_client)

    def _from_client(self, conn: socket.socket, server: socket.socket, to_client: threading.Lock) -> None:
        for line, literal in _items(conn.makefile("rb")):
            store = _STORE.match(line)
            if store and any(not flag.startswith(b"\\") for flag in store.group(2).split()):
                self.refused.append(line)
                with to_client:
                    conn.sendall(store.group(1) + b" NO [CANNOT] Keywords are not supported here\r\n")
                continue
            server.sendall(line + literal)

    def _from_server(self, server: socket.socket, conn: socket.socket, to_client: threading.Lock) -> None:
        with contextlib.suppress(OSError):
            for line, literal in _items(server.makefile("rb")):
                if b"[PERMANENTFLAGS (" in line:
                    line = line.replace(b" \\*)", b")").replace(b"(\\*)", b"()")
                if b"CAPABILITY " in line:
                    for word in self.hide:
                        line = re.sub(rb" " + re.escape(word) + rb"(?=[ \]\r])", b"", line)
                with to_client:
                    conn.sendall(line + literal)
            conn.shutdown(socket.SHUT_RDWR)


def _items(stream):
    """(line, the literal it announces or b"") from an IMAP byte stream, until it ends."""
    while line := stream.readline():
        match = _LITERAL.search(line)
        yield line, stream.read(int(match.group(1))) if match else b""

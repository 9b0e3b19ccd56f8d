"""A loopback HTTP server that misbehaves the way hostile or broken servers do.

Paths (any query is ignored):
- `/endless`: audio/mpeg with no Content-Length and a body that never ends (it stops only
  when the client hangs up, or after `endless_cap` bytes so a broken test cannot fill a disk).
- `/trickle`: Content-Length 1,000,000, then `trickle_bytes` every `trickle_interval` s.
- `/short`: Content-Length shorter than the body it really sends (the whole of `body`).
- `/huge`: Content-Length of a petabyte, then a few bytes.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class HostileServer:
    """Serves each connection on a thread; `hits` counts requests per path."""

    def __init__(self, *, body: bytes = b"\xff\xfb\x90\x00" * 1024,
                 short_length: int = 1000, trickle_bytes: int = 1,
                 trickle_interval: float = 0.05, endless_cap: int = 2 << 30) -> None:
        self.body, self.short_length = body, short_length
        self.trickle_bytes, self.trickle_interval = trickle_bytes, trickle_interval
        self.endless_cap = endless_cap
        self.hits: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True, name="hostile-http")
        self._thread.start()

    def url_for(self, path: str) -> str:
        return self.url + path

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            path = request.split(b" ", 2)[1].decode().split("?", 1)[0]
            self.hits[path] = self.hits.get(path, 0) + 1
            with contextlib.suppress(OSError):  # the client hung up: how these answers end
                self._route(conn, path)

    def _head(self, conn: socket.socket, length: int | None) -> None:
        lines = ["HTTP/1.1 200 OK", "Content-Type: audio/mpeg", "Connection: close"]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def _count(self, path: str, size: int) -> None:
        self.sent[path] = self.sent.get(path, 0) + size

    def _route(self, conn: socket.socket, path: str) -> None:
        if path == "/endless":
            self._head(conn, None)
            block = b"\x00" * 65536
            while self.sent.get(path, 0) < self.endless_cap and not self._stop.is_set():
                conn.sendall(block)
                self._count(path, len(block))
        elif path == "/trickle":
            self._head(conn, 1_000_000)
            while not self._stop.is_set() and self.sent.get(path, 0) < 1_000_000:
                conn.sendall(b"\x00" * self.trickle_bytes)
                self._count(path, self.trickle_bytes)
                time.sleep(self.trickle_interval)
        elif path == "/short":
            self._head(conn, self.short_length)
            conn.sendall(self.body)
        elif path == "/huge":
            self._head(conn, 1 << 50)
            conn.sendall(b"\x00" * 1024)
            self._stop.wait(1)  # hold the connection open a moment, as a slow server would
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")

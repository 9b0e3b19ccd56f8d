"""A real HTTP/1.1 server on loopback with a route table that behaves like a quirky CDN.

Routes answer with a static body or a callable, at one path or (prefix=True) under it;
per route you can add latency, fail the first N requests (500, 429 + Retry-After...), cut
the connection mid-body, refuse Range, drip the body slowly or send it chunked without a
Content-Length.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

HeaderItems = Mapping[str, str] | Iterable[tuple[str, str]]
# What a callable route returns: (status, headers, body).
Response = tuple[int, HeaderItems, bytes | str]


class Headers(dict[str, str]):
    """Request headers with case-insensitive lookup (keys are stored lower-case)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        for key, value in items:
            key = key.lower()
            self[key] = f"{self[key]}, {value}" if key in self else value

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes = b""
    query_string: str = ""


Handler = Callable[[Request], Response]


@dataclass
class _Route:
    body: bytes | Handler
    content_type: str
    status: int
    headers: list[tuple[str, str]]
    range_support: bool
    latency: float
    fail_times: int
    fail_status: int
    retry_after: str | None
    cut_after: int | None
    cut_times: int
    chunked: bool
    chunk_delay: float
    chunk_size: int
    prefix: bool = False
    served: int = 0
    cuts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeServer:
    """HTTP server on 127.0.0.1:<free port> (or another loopback address such as 127.0.0.2,
    for a second host), serving from a background thread."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.hits: dict[str, int] = {}
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []  # exceptions raised by callable routes
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = _Server((host, 0), _Handler)
        self._httpd.fake = self
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-http-server", daemon=True)
        self._thread.start()

    def add(self, path: str, body: bytes | str | Handler, *,
            content_type: str = "application/octet-stream", status: int = 200,
            headers: dict[str, str] | None = None, range_support: bool = True,
            latency: float = 0.0, fail_times: int = 0, fail_status: int = 500,
            retry_after: str | None = None, cut_after: int | None = None,
            cut_times: int = 1, chunked: bool = False, chunk_delay: float = 0.0,
            chunk_size: int = 16 * 1024, prefix: bool = False) -> None:
        """Serve `body` at `path` (query ignored); replaces an existing route.

        `prefix`: also serve every path starting with `path` (exact routes win, then the
        longest prefix); such a route's counters are shared by all the paths it serves.

        `fail_times`: the first N requests get `fail_status` (+ Retry-After if given).
        `cut_after`: the first `cut_times` answers after that send full headers, then only
        `cut_after` body bytes, then drop the connection. `chunked`: no Content-Length.
        `chunk_delay`: pause between `chunk_size` pieces of the body (a slow link).
        A callable answering 200 without Content-Range still gets Range handling.
        """
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._routes[path] = _Route(
            body=body, content_type=content_type, status=status,
            headers=list((headers or {}).items()), range_support=range_support,
            latency=latency, fail_times=fail_times, fail_status=fail_status,
            retry_after=retry_after, cut_after=cut_after, cut_times=cut_times,
            chunked=chunked, chunk_delay=chunk_delay, chunk_size=chunk_size, prefix=prefix)

    def url_for(self, path: str) -> str:
        """Absolute URL of `path` on this server."""
        return self.url + (path if path.startswith("/") else "/" + path)

    def requests_to(self, path: str) -> list[Request]:
        """The recorded requests for `path`, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def stop(self) -> None:
        """Stop serving and drop open connections; safe to call twice."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inside the server threads -------------------------------------------------------

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)
            self.hits[request.path] = self.hits.get(request.path, 0) + 1

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _handle(self, handler: _Handler, request: Request) -> None:
        self._record(request)
        route = self._route_for(request.path)
        if route is None:
            handler.reply(404, [("Content-Type", "text/plain")], b"Not Found")
            return
        if route.latency and self._stopping.wait(route.latency):
            return
        with route.lock:
            route.served += 1
            failing = route.served <= route.fail_times
            cut = not failing and route.cut_after is not None and route.cuts < route.cut_times
            if cut:
                route.cuts += 1
        if failing:
            extra = [("Retry-After", route.retry_after)] if route.retry_after else []
            handler.reply(route.fail_status, [("Content-Type", "text/plain"), *extra],
                          f"Failure {route.served} of {route.fail_times}".encode())
            return
        try:
            status, headers, body = self._answer(route, request)
        except Exception as exc:  # a broken test route: answer 500 and keep it for the test
            with self._lock:
                self.errors.append(exc)
            handler.reply(500, [("Content-Type", "text/plain")], repr(exc).encode())
            return
        handler.reply(status, headers, body, cut_after=route.cut_after if cut else None,
                      chunked=route.chunked, chunk_delay=route.chunk_delay,
                      chunk_size=route.chunk_size)

    def _route_for(self, path: str) -> _Route | None:
        route = self._routes.get(path)
        if route is not None:
            return route
        prefixes = [key for key, r in list(self._routes.items())
                    if r.prefix and path.startswith(key)]
        return self._routes.get(max(prefixes, key=len)) if prefixes else None

    def _answer(self, route: _Route, request: Request) -> tuple[int, list[tuple[str, str]],
                                                                  bytes]:
        if callable(route.body):
            status, raw_headers, body = route.body(request)
            items = raw_headers.items() if isinstance(raw_headers, Mapping) else raw_headers
            headers = list(items)
            if isinstance(body, str):
                body = body.encode("utf-8")
        else:
            status, body = route.status, route.body
            headers = [("Content-Type", route.content_type), *route.headers]
        names = {name.lower() for name, _ in headers}
        if status != 200 or not route.range_support or "content-range" in names:
            return status, headers, body
        headers.append(("Accept-Ranges", "bytes"))
        wanted = _parse_range(request.headers.get("range"), len(body))
        if wanted is None:
            return status, headers, body
        if wanted == "unsatisfiable":
            return 416, [*headers, ("Content-Range", f"bytes */{len(body)}")], b""
        start, end = wanted
        return 206, [*headers, ("Content-Range", f"bytes {start}-{end}/{len(body)}")], \
            body[start:end + 1]


def _parse_range(value: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end) for a single `bytes=` range, "unsatisfiable", or None to send it all."""
    if not value or not value.strip().lower().startswith("bytes="):
        return None
    spec = value.strip()[6:].strip()
    if "," in spec:
        return None  # multiple ranges: like many CDNs, just send the whole thing
    first, sep, last = spec.partition("-")
    if not sep:
        return None
    try:
        if first.strip() == "":
            length = int(last)
            if length <= 0:
                return "unsatisfiable"
            return max(size - length, 0), size - 1
        start = int(first)
        end = int(last) if last.strip() else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return "unsatisfiable"
    return start, min(end, size - 1)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # Benchmarks open dozens of connections at once; the default backlog of 5 would drop
    # SYNs and add a one-second retransmit to some of them.
    request_queue_size = 128
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer is everyday life here, not a server bug.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeCDN/1.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; with Nagle's algorithm and the
        # client's delayed ACK every answer would otherwise take an extra 40 ms.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        request = Request(
            # Routes are matched on the decoded path, as real web servers do.
            method=self.command, path=unquote(parts.path) or "/",
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=Headers(self.headers.items()), body=self._read_body(),
            query_string=parts.query)
        self.server.fake._handle(self, request)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, headers: Iterable[tuple[str, str]], body: bytes, *,
              cut_after: int | None = None, chunked: bool = False, chunk_delay: float = 0.0,
              chunk_size: int = 16 * 1024) -> None:
        """Send one response; `cut_after` drops the connection after that many body bytes."""
        headers = list(headers)
        names = {name.lower() for name, _ in headers}
        no_body = self.command == "HEAD" or status in (204, 304) or status < 200
        chunked = chunked or "transfer-encoding" in names
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if chunked and "transfer-encoding" not in names:
            self.send_header("Transfer-Encoding", "chunked")
        elif not chunked and "content-length" not in names and status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if no_body:
            return
        if cut_after is not None:
            body = body[:cut_after]
        stopping = self.server.fake._stopping
        for start in range(0, len(body), chunk_size):
            piece = body[start:start + chunk_size]
            if chunk_delay and start and stopping.wait(chunk_delay):
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if cut_after is not None:
            self._drop_connection()
        elif chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _drop_connection(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

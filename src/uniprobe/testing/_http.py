"""The HTTP plumbing of the fake: a loopback-only threading server, its handler, the log."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
import uuid
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from uniprobe.testing._dispatch import Dispatcher, gemini_shaped, route
from uniprobe.testing._multipart import parse_multipart
from uniprobe.testing._wire import FilePart, Outgoing, RecordedRequest
from uniprobe.testing.faults import Fault

__all__ = ["Recorder", "ServerState", "bind", "check_loopback"]


def check_loopback(host: str) -> None:
    """Raise ValueError unless `host` is a loopback address (the fake never faces a network).

    Raises:
        ValueError: naming the host, for anything but 127.0.0.0/8, ::1 or "localhost".
    """
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"refusing to bind {host!r}: the fake server listens on loopback addresses only "
            "(127.0.0.1, ::1 or localhost)"
        )


class Recorder:
    """The thread-safe log of requests and of the images delivered."""

    def __init__(self) -> None:
        self.records: list[RecordedRequest] = []
        self.images = 0
        self._slots: dict[int, int] = {}
        self.lock = threading.Lock()

    def begin(self, req: RecordedRequest) -> int:
        """Log a request as it arrives; returns the slot `end` fills in."""
        with self.lock:
            self.records.append(req)
            self._slots[id(req)] = len(self.records) - 1
            return id(req)

    def end(self, slot: int, *, status: int | None, fault: Fault | None, images: int) -> None:
        """Fill in the status sent (None: nothing sent) and the fault applied."""
        with self.lock:
            index = self._slots.pop(slot, None)
            if index is not None:
                kind = fault.kind if fault is not None else None
                self.records[index] = replace(self.records[index], status=status, fault=kind)
            if status == 200:
                self.images += images

    def undeliver(self, images: int) -> None:
        """The client went away before the reply was written."""
        with self.lock:
            self.images = max(0, self.images - images)

    def clear(self) -> None:
        """Forget everything."""
        with self.lock:
            self.records.clear()
            self._slots.clear()
            self.images = 0


@dataclass
class ServerState:
    """What the handler threads share."""

    dispatcher: Dispatcher
    recorder: Recorder
    latency: float
    stopping: threading.Event = field(default_factory=threading.Event)
    conns: set[socket.socket] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pause(self, seconds: float) -> None:
        """Sleep, but wake up when the server stops."""
        if seconds > 0:
            self.stopping.wait(seconds)

    def track(self, conn: socket.socket, *, open: bool) -> None:
        """Keep the open connections, so `stop` can cut them."""
        with self.lock:
            if open:
                self.conns.add(conn)
            else:
                self.conns.discard(conn)

    def drop_connections(self) -> None:
        """Shut every open connection (wakes handler threads blocked on a keep-alive)."""
        with self.lock:
            conns = list(self.conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class LoopbackHTTPServer(ThreadingHTTPServer):
    """One daemon thread per connection; a deep accept queue for bursts of ~60 clients."""

    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: ServerState) -> None:
        self.state = state
        super().__init__(address, _Handler)


class _LoopbackHTTPServer6(LoopbackHTTPServer):
    address_family = socket.AF_INET6


def bind(host: str, port: int, state: ServerState) -> LoopbackHTTPServer:
    """A server bound to a loopback address (ValueError for any other host)."""
    check_loopback(host)
    cls = _LoopbackHTTPServer6 if ":" in host else LoopbackHTTPServer
    return cls((host, port), state)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.state.track(self.connection, open=True)

    def finish(self) -> None:
        self.server.state.track(self.connection, open=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake records requests instead of logging them."""

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("content-length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)

    def _parse(self) -> tuple[RecordedRequest, str | None]:
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body()
        endpoint, model = route(self.command, path)
        parsed: Any = None
        form: dict[str, str] = {}
        files: dict[str, list[FilePart]] = {}
        ctype = headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            with contextlib.suppress(ValueError):
                form, files = parse_multipart(ctype, body)
        elif body:
            with contextlib.suppress(ValueError):
                parsed = json.loads(body)
        req = RecordedRequest(
            method=self.command,
            path=path,
            query=_query(query),
            headers=headers,
            body=body,
            json=parsed,
            form=form,
            files=files,
            endpoint=endpoint,
        )
        return req, model

    def _serve(self) -> None:
        state = self.server.state
        req, model = self._parse()
        slot = state.recorder.begin(req)
        reply, fault = None, None
        try:
            reply, fault = state.dispatcher.respond(req, model)
            state.pause(state.latency)
        finally:
            if state.stopping.is_set():
                reply = None
            # logged before the bytes go out: a client holding its answer sees the record
            status = reply.status if reply is not None else None
            images = reply.images if reply is not None else 0
            state.recorder.end(slot, status=status, fault=fault, images=images)
        if reply is None:
            self.close_connection = True
            return
        try:
            self._send(req, reply)
        except OSError:  # the client went away: nothing was delivered
            state.recorder.undeliver(reply.images if reply.status == 200 else 0)
            self.close_connection = True

    def _send(self, req: RecordedRequest, reply: Outgoing) -> None:
        headers = dict(reply.headers)
        if gemini_shaped(req):
            headers["content-type"] = "application/json; charset=UTF-8"
        else:
            headers.setdefault("x-request-id", f"req_{uuid.uuid4().hex}")
            headers.setdefault("openai-processing-ms", "1")
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
        self.wfile.flush()


def _query(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=True))

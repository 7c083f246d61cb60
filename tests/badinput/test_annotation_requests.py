"""Malformed requests to the real annotation server (uvicorn on 127.0.0.1).

Each one must get a 4xx (never a 500) with a short one-line JSON error, and leave the
run folder and the labels in its label file as they were.
"""

from __future__ import annotations

import http.client
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import uniprobe
from conftest import serving
from uniprobe.annotate.inputs import MAX_BODY
from uniprobe.store.labels.db import LabelStore, labels_path

GOOD = {"annotator": "ada", "canvas": "CANVAS", "item": "ITEM", "label": "pass"}
DEEP = 5_000


@dataclass(frozen=True)
class Server:
    run: Path
    host: str
    port: int
    canvas: str
    item: str


@dataclass(frozen=True)
class Ask:
    """One raw request: exactly these bytes of path, headers and body."""

    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _json(text: str) -> Ask:
    return Ask("POST", "/api/labels", text.encode("utf-8"), {"content-type": "application/json"})


def _label(**changes: object) -> Ask:
    data = {**GOOD, **changes}
    return _json(json.dumps({k: v for k, v in data.items() if v is not ...}))


def _raw(body: bytes, kind: str = "application/json") -> Ask:
    return Ask("POST", "/api/labels", body, {"content-type": kind})


CORPUS = [
    pytest.param(_raw(b"[" * DEEP + b"]" * DEEP), 400, "not JSON", id="deep-list"),
    pytest.param(
        _raw(b'{"a":' * 2_500 + b"1" + b"}" * 2_500), 400, "recursion limit", id="deep-object"
    ),
    pytest.param(
        _raw(b'{"annotator":' + b"[" * DEEP + b"]" * DEEP + b"}"), 400, "not JSON", id="deep-field"
    ),
    pytest.param(_raw(b'["pass"]'), 400, "body: Input should be an object", id="top-list"),
    pytest.param(_raw(b'"pass"'), 400, "body: Input should be an object", id="top-string"),
    pytest.param(_raw(b"null"), 400, "body: Input should be an object", id="top-null"),
    pytest.param(_raw(b""), 400, "the body is not JSON", id="empty-body"),
    pytest.param(_raw(b"{"), 400, "the body is not JSON", id="cut-off"),
    pytest.param(_raw(b'{"annotator": "a\xffda"}'), 400, "not JSON", id="bad-utf8"),
    pytest.param(
        _raw(json.dumps(GOOD).encode("utf-16")), 400, "the body is not JSON", id="utf16-body"
    ),
    pytest.param(
        _raw(b'{"annotator": 1e999999, "canvas": "c", "item": "i", "label": "pass"}'),
        400,
        "annotator: Input should be a valid string",
        id="huge-float",
    ),
    pytest.param(
        _raw(b'{"annotator": ' + b"9" * 5000 + b', "canvas": "c", "item": "i", "label": "pass"}'),
        400,
        "not JSON",
        id="huge-int",
    ),
    pytest.param(_raw(b'{"annotator": NaN}'), 400, "annotator: Input should be", id="nan"),
    pytest.param(_raw(json.dumps(GOOD).encode() + b" x"), 400, "trailing", id="trailing"),
    pytest.param(_label(label=1), 400, "label: Input should be", id="label-number"),
    pytest.param(_label(label="maybe"), 400, "label: Input should be", id="label-unknown"),
    pytest.param(_label(annotator=["ada"]), 400, "annotator: Input should be", id="name-list"),
    pytest.param(_label(item=...), 400, "item: Field required", id="missing-item"),
    pytest.param(_label(colour="red"), 400, "colour: Extra inputs are not permitted", id="extra"),
    pytest.param(
        _raw(
            b'{"annotator": "ada", "annotator": "bob", "canvas": "CANVAS", "item": "ITEM", '
            b'"label": "pass"}'
        ),
        400,
        "annotator: given twice",
        id="repeated-key",
    ),
    pytest.param(_label(annotator="a" * 10_000), 400, "annotator: String should have", id="long"),
    pytest.param(_label(canvas="c" * 10_000), 400, "canvas: String should have", id="long-canvas"),
    pytest.param(_label(annotator="a\u0000b"), 400, "control characters", id="nul-in-name"),
    pytest.param(_raw(b'{"annotator": "\\ud800"}'), 400, "not JSON", id="lone-surrogate"),
    pytest.param(_label(canvas="nope:0:1"), 400, "canvas: no canvas 'nope:0:1'", id="no-canvas"),
    pytest.param(_label(item="0" * 24), 400, "item: no item", id="no-item"),
    pytest.param(_raw(b"label=pass", "text/plain"), 415, "as JSON", id="text-plain"),
    pytest.param(_raw(b"{}", "application/json; charset=utf-16"), 415, "as JSON", id="utf16"),
    pytest.param(Ask("POST", "/api/labels", b"{}"), 415, "as JSON", id="no-content-type"),
    pytest.param(
        Ask(
            "POST",
            "/api/labels",
            b"{}",
            {"content-type": "application/json", "content-encoding": "gzip"},
        ),
        415,
        "unencoded",
        id="gzip",
    ),
    pytest.param(_raw(b" " * (MAX_BODY + 1)), 413, "at most 16384 bytes", id="body-over-bound"),
    pytest.param(Ask("GET", "/api/next"), 400, "annotator: name yourself first", id="no-name"),
    pytest.param(Ask("GET", "/api/next?annotator=%20"), 400, "name yourself", id="blank-name"),
    pytest.param(
        Ask("GET", "/api/next?annotator=ada&annotator=bob"), 400, "given 2 times", id="two-names"
    ),
    pytest.param(
        Ask("GET", "/api/next?annotator=" + "a" * 70), 400, "String should have", id="long-name"
    ),
    pytest.param(Ask("GET", "/api/next?annotator=a%00b"), 400, "control", id="nul-name-query"),
    pytest.param(
        Ask("GET", "/api/next?annotater=ada"), 400, "name yourself first", id="misspelt-param"
    ),
    pytest.param(
        Ask("GET", "/api/next?annotator=ada&color=red"), 400, "color: Extra", id="extra-param"
    ),
    pytest.param(
        Ask("GET", "/api/next?annotator=ada" + "&exclude=x" * 1001),
        400,
        "exclude: List should have at most 1000",
        id="too-many-skipped",
    ),
    pytest.param(
        Ask("GET", "/api/canvas/CANVAS?annotator=ada&x=1"), 400, "x: Extra", id="canvas-extra"
    ),
    pytest.param(Ask("GET", "/api/export?format=xml"), 400, "format: use csv", id="bad-format"),
    pytest.param(
        Ask("GET", "/api/export?format=csv&format=jsonl"), 400, "given 2", id="two-formats"
    ),
    pytest.param(Ask("GET", "/api/export?fmt=csv"), 400, "fmt: unknown parameter", id="fmt"),
    pytest.param(Ask("GET", "/api/canvas/nope:0:1"), 404, "no canvas", id="unknown-canvas"),
    pytest.param(Ask("GET", "/api/canvas/" + "x" * 1500), 404, "…", id="long-canvas-path"),
    pytest.param(Ask("GET", "/api/nothing"), 404, "Not Found", id="unknown-route"),
    pytest.param(Ask("POST", "/api/run", b"{}"), 405, "Method Not Allowed", id="post-run"),
    pytest.param(Ask("DELETE", "/api/labels"), 405, "Method Not Allowed", id="delete-labels"),
    pytest.param(Ask("GET", "/images/../manifest.json"), 404, "Not Found", id="dotdot"),
    pytest.param(
        Ask("GET", "/api/run", headers={"host": "evil.example"}), 400, "loopback", id="host"
    ),
    pytest.param(Ask("GET", "/" + "a" * 3000), 414, "a path is at most", id="long-path"),
]


def _rows(run: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(labels_path(run))
    try:
        return db.execute("select * from labels order by id").fetchall()
    finally:
        db.close()


def _files(run: Path) -> dict[str, bytes]:
    """Every file of the run folder but the label file (whose pages SQLite may reorganise;
    its rows are compared instead)."""
    return {
        str(p.relative_to(run)): p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file() and not p.name.startswith("labels.sqlite")
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    out = tmp_path_factory.mktemp("annotation-requests")
    [result] = uniprobe.run(uniprobe.load_suite("paper"), ["reference/literal"], out=out)
    run = result.path
    with serving(uniprobe.annotate_app(run)) as url:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 0
        first = _ask(host, port, Ask("GET", "/api/next?annotator=ada"))[2]
        canvas = json.loads(first)["canvas"]
        item = canvas["checks"][0]["item"]
        good = Ask(
            "POST",
            "/api/labels",
            json.dumps({**GOOD, "canvas": canvas["id"], "item": item}).encode(),
            {"content-type": "application/json"},
        )
        assert _ask(host, port, good)[0] == 200  # the label file exists, with one row
        yield Server(run, host, port, canvas["id"], item)


def _ask(host: str, port: int, ask: Ask) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=20)
    try:
        conn.putrequest(ask.method, ask.path, skip_host="host" in ask.headers)
        for key, value in ask.headers.items():
            conn.putheader(key, value)
        if ask.body is not None:
            conn.putheader("content-length", str(len(ask.body)))
        conn.endheaders(ask.body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _filled(ask: Ask, server: Server) -> Ask:
    """The request with the real canvas id and item key where it says CANVAS and ITEM."""
    body = ask.body
    if body is not None:
        body = body.replace(b'"CANVAS"', json.dumps(server.canvas).encode())
        body = body.replace(b'"ITEM"', json.dumps(server.item).encode())
    return Ask(ask.method, ask.path.replace("CANVAS", server.canvas), body, ask.headers)


def _assert_error(status: int, headers: dict[str, str], body: bytes) -> str:
    assert 400 <= status < 500, (status, body[:300])
    assert headers["content-type"] == "application/json", headers
    data = json.loads(body)
    assert list(data) == ["error"] and isinstance(data["error"], str)
    message: str = data["error"]
    assert "\n" not in message and 0 < len(message) <= 200, message
    return message


@pytest.mark.parametrize(("ask", "status", "says"), CORPUS)
def test_a_malformed_request_gets_a_short_json_4xx_and_changes_nothing(
    server: Server, ask: Ask, status: int, says: str
) -> None:
    rows, files = _rows(server.run), _files(server.run)
    got, headers, body = _ask(server.host, server.port, _filled(ask, server))
    message = _assert_error(got, headers, body)
    assert got == status, (got, message)
    assert says in message, message
    assert _rows(server.run) == rows
    assert _files(server.run) == files


def test_the_corpus_has_at_least_20_distinct_requests() -> None:
    asks = [a for p in CORPUS if isinstance(a := p.values[0], Ask)]
    assert len(asks) == len(CORPUS)
    assert len({(a.method, a.path, a.body, tuple(a.headers.items())) for a in asks}) >= 20


def test_a_declared_body_over_the_bound_is_refused_before_it_is_sent(server: Server) -> None:
    """Only the headers go out; the server must answer 413 without waiting for a body."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.putrequest("POST", "/api/labels")
        conn.putheader("content-type", "application/json")
        conn.putheader("content-length", str(200 * 2**20))
        conn.endheaders()
        start = time.monotonic()
        resp = conn.getresponse()
        message = _assert_error(resp.status, dict(resp.getheaders()), resp.read())
    finally:
        conn.close()
    assert resp.status == 413 and message == f"a request body is at most {MAX_BODY} bytes"
    assert time.monotonic() - start < 5


def test_a_streamed_body_is_cut_off_at_the_bound_not_read_to_its_end(server: Server) -> None:
    """A chunked 200 MiB body: the server stops reading past the bound and answers 413;
    the sender is cut off long before it has sent everything."""
    rows = _rows(server.run)
    total = 200 * 2**20
    chunk = b"x" * 2**16
    sent = 0
    sock = socket.create_connection((server.host, server.port), timeout=20)
    head = (
        b"POST /api/labels HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )

    def send() -> None:
        nonlocal sent
        try:
            sock.sendall(head)
            while sent < total:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            return  # the server closed the connection: what we want

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    reply = b""
    try:
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    except OSError:
        pass
    sender.join(30)
    sock.close()
    assert not sender.is_alive()
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
    assert b'{"error":"a request body is at most 16384 bytes"}' in reply
    assert sent < total // 4, f"the server read {sent} bytes"
    assert _rows(server.run) == rows


def test_labels_still_work_after_the_corpus(server: Server) -> None:
    store = LabelStore(labels_path(server.run))
    before = len(store.labels())
    body = json.dumps({**GOOD, "canvas": server.canvas, "item": server.item, "label": "fail"})
    ask = Ask("POST", "/api/labels", body.encode(), {"content-type": "application/json"})
    status, _, reply = _ask(server.host, server.port, ask)
    assert status == 200, reply
    assert len(store.labels()) == before + 1

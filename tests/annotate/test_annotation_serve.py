"""Where the annotation pages are served: 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import inspect
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from annotate_helpers import paper_run
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conftest import serving
from uniprobe.annotate.serve import listen, url_of
from uniprobe.errors import UsageError


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return paper_run(tmp_path_factory)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_default_host_is_loopback() -> None:
    assert inspect.signature(listen).parameters["host"].default == "127.0.0.1"
    with listen(port=0) as sock:
        assert sock.getsockname()[0] == "127.0.0.1"
        assert url_of(sock) == f"http://127.0.0.1:{sock.getsockname()[1]}/"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7"])
def test_a_non_loopback_host_needs_allow_remote(host: str) -> None:
    with pytest.raises(UsageError) as err:
        listen(host, 0)
    assert str(err.value) == (
        f"refusing to serve on {host}: not a loopback address; pass --allow-remote to let "
        "other machines reach the annotation pages"
    )


def test_allow_remote_lets_it_listen_everywhere() -> None:
    with listen("0.0.0.0", 0, allow_remote=True) as sock:
        assert sock.getsockname()[0] == "0.0.0.0"


def test_a_busy_port_is_one_line() -> None:
    with listen(port=0) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(UsageError, match=rf"^cannot listen on 127.0.0.1:{port}: .*--port$"):
            listen("127.0.0.1", port)


def test_uniprobe_annotate_serves_on_127_0_0_1_by_default(run: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "uniprobe.cli", "annotate", str(run), "--port", "0", "--no-open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        prefix = f"annotating {run} at http://127.0.0.1:"
        assert line.startswith(prefix) and line.endswith("/ (Ctrl-C to stop)"), line
        url = line.removeprefix(f"annotating {run} at ").removesuffix(" (Ctrl-C to stop)")
        reply = httpx2.get(f"{url}api/run", timeout=20)
        assert reply.status_code == 200 and reply.json()["canvases"] == 20
    finally:
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert stdout.strip() == f"stopped; labels are in {run / 'labels.sqlite'}"
    assert not (run / "labels.sqlite").exists()  # serving and looking create no label file


def test_uniprobe_annotate_refuses_a_public_host_in_one_line(run: Path) -> None:
    done = _cli("annotate", str(run), "--host", "0.0.0.0", "--port", "0", "--no-open")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: refusing to serve on 0.0.0.0: not a loopback address; pass --allow-remote to "
        "let other machines reach the annotation pages"
    ]


def test_uniprobe_annotate_names_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    done = _cli("annotate", str(tmp_path), "--port", "0", "--no-open")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {tmp_path} is not a run directory (no manifest.json)"
    ]


def test_connections_are_tcp_so_small_replies_are_not_held_back() -> None:
    """asyncio turns Nagle's algorithm off only on sockets that say they are TCP; with it
    on, every reply written in two parts (head, body) waited ~40 ms for a delayed ACK."""
    with listen(port=0) as sock, socket.create_connection(sock.getsockname()[:2]):
        conn, _ = sock.accept()
        with conn:
            assert conn.proto == socket.IPPROTO_TCP


def test_a_reply_takes_milliseconds_not_a_delayed_ack() -> None:
    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": "world"})

    app = Starlette(routes=[Route("/", hello)])
    with serving(app) as url, httpx2.Client(base_url=url, timeout=20) as client:
        times = []
        for _ in range(21):
            start = time.perf_counter()
            assert client.get("/").status_code == 200
            times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.030, times  # a delayed ACK is >= 40 ms

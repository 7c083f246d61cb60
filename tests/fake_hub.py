"""A Hugging Face Hub on this machine, for tests of loading by model id: nothing leaves it.

`use_hub` points huggingface_hub at a cache folder (`HF_HOME`) and, online, at a fake Hub
server on 127.0.0.1 (`HF_ENDPOINT`). huggingface_hub reads those variables once, when it
is imported, so `use_hub` sets both the environment and the constants it read from it.
`cache_model` lays a saved model out in that cache the way huggingface_hub does.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from huggingface_hub import constants

REVISION = "0123456789abcdef0123456789abcdef01234567"


def use_hub(
    monkeypatch: pytest.MonkeyPatch, home: Path, *, offline: bool, endpoint: str | None = None
) -> None:
    """Use the cache under `home`; offline or not; the Hub at `endpoint` (None: an address
    that refuses connections)."""
    endpoint = endpoint or "http://127.0.0.1:9"
    values = {
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_HUB_OFFLINE": "1" if offline else "0",
        "HF_ENDPOINT": endpoint,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HOME", values["HF_HOME"])
    monkeypatch.setattr(constants, "HF_HUB_CACHE", values["HF_HUB_CACHE"])
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    template = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 5)


def cache_model(home: Path, repo_id: str, saved: Path) -> Path:
    """Copy a saved model folder into the cache under `home` as revision `main` of
    `repo_id` (`hub/models--org--name/snapshots/<commit>/...`, `refs/main`)."""
    repo = home / "hub" / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / REVISION
    shutil.copytree(saved, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION)
    return snapshot


class _Handler(BaseHTTPRequestHandler):
    """Answers every request with the status and headers of the server, and records it."""

    server: FakeHubServer

    def _answer(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        self.send_response(self.server.status)
        for key, value in self.server.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:  # the base class names it so
        return


class FakeHubServer(ThreadingHTTPServer):
    """A Hub that answers every request with one error, and records each as 'METHOD path'."""

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.headers = headers
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def fake_hub(status: int, error_code: str) -> Iterator[FakeHubServer]:
    """A fake Hub server answering `status` with the Hub's `X-Error-Code` header."""
    server = FakeHubServer(status, {"X-Error-Code": error_code, "X-Error-Message": error_code})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

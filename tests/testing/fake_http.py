"""A plain HTTP client and fixtures for the fake server tests.

Not a conftest.py: other test modules import `conftest` by name, and a second
one on sys.path would shadow theirs; each module defines its two fixtures from here.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from uniprobe.testing import FakeServer


@dataclass(frozen=True)
class Reply:
    """What came back: status, lower-case headers, raw body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Http:
    """A bare `http.client` caller, so the tests see the wire and not an SDK's view of it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "", parts.port or 80

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float = 20.0,
    ) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def post(
        self,
        path: str,
        payload: object = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        timeout: float = 20.0,
    ) -> Reply:
        """POST JSON (or a raw body), with the right credential for the path unless auth=False."""
        sent = {"content-type": "application/json"} if body is None else {}
        if auth:
            gemini = ":generateContent" in path
            sent.update({"x-goog-api-key": "g-key"} if gemini else {"authorization": "Bearer sk"})
        sent.update(headers or {})
        data = json.dumps(payload).encode() if body is None else body
        return self.request("POST", path, body=data, headers=sent, timeout=timeout)


def running_fake() -> Iterator[FakeServer]:
    """Body of the `fake` fixture each test module defines: a started server, stopped after."""
    with FakeServer() as server:
        yield server

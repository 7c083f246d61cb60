"""Shared test helpers."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# Keep numeric libraries to one thread: the suite runs on 2 shared cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# A two-case suite (a numeric rule; a conditional after an edit) shared by tests.
TINY_SUITE = """\
- id: tiny.numeric.birds
  family: global_instruction
  subtype: numeric_transform
  source: core
  turns:
    - user: "From now on, if I mention a number, subtract 2 before using it."
    - user: "Generate an image of 5 birds."
      expect:
        - count: {object: bird, equals: 3, literal: 5}

- id: tiny.post.dog_cat
  family: post_generation
  subtype: condition_after_edit
  source: core
  turns:
    - user: "Generate an image of a dog and a cat."
      expect:
        - present: {object: dog}
        - present: {object: cat}
    - user: "Make the dog a cat. Then put them on the beach if there are no cats."
      edit: true
      expect:
        - absent: {object: dog}
        - when: {absent: {object: cat}}
          then: [{present: {object: beach}}]
          else: [{absent: {object: beach}}]
          literal: then
          assumed: false
"""


# --- browser tests (tests/browser): Playwright driving Debian's chromium -----------------

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
"""Where browser tests save screenshots (git-ignored)."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def off_loop(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call `fn` in another thread: while Playwright's sync API is active, this thread has
    a running event loop, so `asyncio.run` (e.g. `uniprobe.run`) must run elsewhere."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per test module (`UNIPROBE_CHROMIUM`, else `chromium` on PATH); closed
    after the module so that later tests may use asyncio again."""
    from playwright.sync_api import sync_playwright

    path = os.environ.get("UNIPROBE_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("no chromium: apt-get install chromium (or set UNIPROBE_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; the test fails on any console error or uncaught exception."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    yield pg
    context.close()
    assert not errors, errors


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The screenshot folder, made if missing."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 (a free port) in a thread; yields its URL."""
    from uniprobe.annotate.serve import listen, make_server, url_of

    sock = listen("127.0.0.1", 0)
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the server did not start")
        time.sleep(0.01)
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()

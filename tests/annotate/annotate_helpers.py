"""Runs, labels and a live server shared by the annotation tests.

Not a conftest.py: other test modules import `conftest` by name, and a second one on
sys.path would shadow theirs (see tests/fakes/fake_http.py).
"""

from __future__ import annotations

import http.client
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import uniprobe
from uniprobe.annotate.items import CanvasGroup, Item, canvases
from uniprobe.store.rundir import RunDir

_RUNS: dict[str, Path] = {}


def paper_run(factory: pytest.TempPathFactory, *, score: bool = True) -> Path:
    """The paper suite run by reference/literal (scored unless told), made once a session."""
    name = "scored" if score else "unscored"
    if name not in _RUNS:
        out = factory.mktemp(f"paper-{name}")
        suite = uniprobe.load_suite("paper")
        [result] = uniprobe.run(suite, ["reference/literal"], out=out, score=score)
        _RUNS[name] = result.path
    return _RUNS[name]


def copy_run(run: Path, where: Path) -> Path:
    """A private copy of a run folder, for a test that writes into it."""
    target = where / run.name
    shutil.copytree(run, target)
    return target


def groups_of(run: Path, policy: str | None = "reference") -> list[CanvasGroup]:
    """The canvases of a run (with the verdicts of `policy`)."""
    return canvases(RunDir.open(run), uniprobe.suite_of_run(run), policy=policy)


def find_item(groups: list[CanvasGroup], case_id: str, path: str) -> tuple[CanvasGroup, Item]:
    """The canvas and item of one check of one case."""
    for group in groups:
        for item in group.items:
            if item.case_id == case_id and item.path == path:
                return group, item
    raise AssertionError(f"no item {case_id} {path}")


def raw_get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET a path exactly as written (no client normalises `..` or percent escapes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=20)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()

"""A killed report build leaves hidden folders beside DIR; the next build of DIR removes
them, and only them: our names, of processes that are gone; never the user's files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import uniprobe
from conftest import TINY_SUITE
from uniprobe.report.build import remove_leftovers


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


KEPT = [
    ".rep.building-mine",  # not our pattern
    ".rep.old-{dead}-fileonly",  # a file, not a folder
    ".other.building-{dead}-abcd_123",  # another report's staging
    ".rep.building-{live}-livelive",  # a build running now
    "rep-notes",  # the user's
]
GONE = [
    ".rep.building-{dead}-abcd_123",  # killed while building
    ".rep.old-{dead}-0123abcd",  # killed between the two renames
    ".rep.building-k2j4_x9q",  # an older version's staging name (no pid)
]


@pytest.fixture()
def beside(tmp_path: Path) -> tuple[Path, list[str]]:
    """A parent folder with what killed builds of `rep` left, and things that are not
    ours; and the names that must stay."""
    ids = {"dead": _dead_pid(), "live": os.getpid()}
    for name in (n.format(**ids) for n in KEPT + GONE):
        if name.endswith("fileonly"):
            (tmp_path / name).write_text("x", encoding="utf-8")
        else:
            (tmp_path / name).mkdir()
            (tmp_path / name / "index.html").write_text("x", encoding="utf-8")
    return tmp_path, sorted(n.format(**ids) for n in KEPT)


def test_only_our_leftovers_of_gone_processes_are_removed(
    beside: tuple[Path, list[str]],
) -> None:
    folder, kept = beside
    assert remove_leftovers(folder / "rep") == len(GONE)
    assert sorted(p.name for p in folder.iterdir()) == kept


def test_the_next_build_removes_them(beside: tuple[Path, list[str]]) -> None:
    folder, kept = beside
    suite = folder / "tiny.yaml"
    suite.write_text(TINY_SUITE, encoding="utf-8")
    [result] = uniprobe.run(uniprobe.load_suite(suite), ["reference/literal"], out=folder / "r")
    uniprobe.report([result.path], out=folder / "rep")
    assert sorted(p.name for p in folder.iterdir()) == sorted([*kept, "r", "rep", "tiny.yaml"])

"""The corpus harness itself: it must catch a traceback, a silent acceptance, a change
on disk and a command that runs past its bound — or the corpus proves nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from harness import invoke, refuse


def test_a_located_error_passes(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("- id: [\n", encoding="utf-8")
    line = refuse(tmp_path, "cases", "validate", "--suite", "bad.yaml")
    assert line.startswith("error: bad.yaml:")


def test_a_silent_acceptance_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        refuse(tmp_path, "cases", "validate", "--suite", "paper")


def test_a_changed_file_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from uniprobe import cli
    from uniprobe.errors import UsageError

    out = tmp_path / "scores.jsonl"
    out.write_text("old", encoding="utf-8")

    def clobber() -> None:
        out.write_text("", encoding="utf-8")
        raise UsageError("refused, but after truncating a file")

    monkeypatch.setattr(cli, "app", clobber)
    with pytest.raises(AssertionError, match="changed on disk"):
        refuse(tmp_path, "anything")


def test_a_runaway_is_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from uniprobe import cli

    def spin() -> None:
        # Bounded, so that a watchdog starved on a loaded machine fails the test instead
        # of taking the machine's memory (an unbounded loop once reached 23 GB in CI).
        hoard: list[bytearray] = []
        while len(hoard) < 1024:
            hoard.append(bytearray(2**20))
            time.sleep(0.001)

    monkeypatch.setattr(cli, "app", spin)
    outcome = invoke(tmp_path, "anything", seconds=5, megabytes=64)
    assert outcome.ran_past == "memory > 64 MB"
    assert outcome.status == 130

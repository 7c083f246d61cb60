"""benchmarks/floors.py on a two-case suite: each constant strategy's answers and scores."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from conftest import TINY_SUITE
from uniprobe.report.metrics import Estimate

ROOT = Path(__file__).resolve().parents[1]


def _floors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("floors", ROOT / "benchmarks" / "floors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["floors"] = module
    spec.loader.exec_module(module)
    return module


def _metrics(*, headline: float, strict: float) -> Any:
    """Just the two figures the table reads from a GroupMetrics."""
    return SimpleNamespace(
        headline=Estimate(value=headline, low=None, high=None, n=1),
        strict_accuracy=Estimate(value=strict, low=None, high=None, n=1),
    )


def test_floors_on_a_tiny_suite(tmp_path: Path) -> None:
    floors = _floors()
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE, encoding="utf-8")
    result = floors.measure(suite, tmp_path / "work")
    assert list(result.summaries) == list(floors.STRATEGIES)

    strict = {k: s.overall.strict_accuracy.value for k, s in result.summaries.items()}
    assert strict["refuse"] == 0.0
    assert strict["text-only"] == 0.0
    # the literal reference ignores the numeric rule (5 birds, not 3) and so fails it
    assert (
        result.summaries["always-act"]
        .subtypes["global_instruction/numeric_transform"]
        .strict_accuracy.value
        == 0.0
    )

    text_only = result.answers["text-only"]
    files = sorted(p.relative_to(text_only).as_posix() for p in text_only.rglob("*") if p.is_file())
    assert files == [
        "tiny.numeric.birds/turn-1.txt",
        "tiny.numeric.birds/turn-2.txt",
        "tiny.post.dog_cat/turn-1.txt",
        "tiny.post.dog_cat/turn-2.txt",
    ]
    assert (text_only / "tiny.post.dog_cat/turn-2.txt").read_text(encoding="utf-8") == floors.TEXT
    refuse = result.answers["refuse"] / "tiny.numeric.birds/turn-2.txt"
    assert refuse.read_text(encoding="utf-8") == floors.REFUSAL

    # never-act: the oracle's dog and cat, then that same image back for the edit
    never = result.answers["never-act"] / "tiny.post.dog_cat"
    assert (never / "turn-2.png").read_bytes() == (never / "turn-1.png").read_bytes()
    # the numeric case's turn 1 sets a rule (answered in words), so turn 2 has no image to keep
    assert not (result.answers["never-act"] / "tiny.numeric.birds/turn-2.png").exists()
    unchanged = result.answers["unchanged"] / "tiny.post.dog_cat"
    assert (unchanged / "turn-2.png").read_bytes() == (never / "turn-1.png").read_bytes()
    # returning the setup unchanged keeps the dog the edit removes: a strict failure
    assert (
        result.summaries["never-act"]
        .subtypes["post_generation/condition_after_edit"]
        .strict_accuracy.value
        == 0.0
    )

    # the tiny suite has no groups: every headline is strict accuracy
    for summary in result.summaries.values():
        assert summary.overall.headline == summary.overall.strict_accuracy
        assert summary.overall.headline_metric == "strict"

    lines = floors.table(result)
    assert lines[-1].startswith("always-act: overall headline 0.0%, strict accuracy 0.0%;")
    assert lines[-1].endswith("0/2 subtypes' headlines above 10%")
    row = next(line for line in lines if line.startswith("  post_generation/condition_after_edit"))
    assert "[strict]" in row
    # text-only, refuse, unchanged, never-act, always-act: "headline (strict)" in %
    assert row.split("]", 1)[1].split() == ["0.0", "(0.0)"] * 5


def test_the_table_shows_the_headline_with_strict_beside_it() -> None:
    floors = _floors()
    grouped = _metrics(headline=0.5, strict=0.75)
    plain = _metrics(headline=0.05, strict=0.05)
    assert floors.pair(grouped) == "50.0* (75.0)"
    assert floors.pair(plain) == "5.0 (5.0)"
    assert floors.pair(None) == "n/a (n/a)"


def test_no_constant_strategy_scores_on_a_unit_of_every_core_subtype(tmp_path: Path) -> None:
    """Issue 12: every subtype's headline is at most 10% for every constant strategy.

    The whole suite is `python benchmarks/floors.py` (its table is in the dataset card);
    here one unit of every subtype (a contrast group with all its members, or a case),
    so a cell above 10% means the strategy passed that unit."""
    floors = _floors()
    suite = floors.sample("core", 1, tmp_path / "sample.yaml")
    result = floors.measure(suite, tmp_path / "work")
    first = result.summaries["refuse"]
    assert len(first.subtypes) == 40
    assert first.overall.groups == 12
    assert floors.over_limit(result) == []

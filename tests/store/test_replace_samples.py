"""`RunDir.replace_samples`: a sample put back in its place (its probes asked again), in
one atomic rewrite; nothing lost, nothing doubled."""

from __future__ import annotations

from pathlib import Path

import pytest

from uniprobe.errors import RunDirError
from uniprobe.store.records import Manifest, ModelInfo, SampleRecord, SuiteInfo
from uniprobe.store.rundir import RunDir


def _run(path: Path) -> RunDir:
    manifest = Manifest(
        run_id="run",
        uniprobe_version="0.1.0",
        suite=SuiteInfo(name="tiny", hash="ab" * 32, cases=3),
        model=ModelInfo(name="openai/gpt-5.5", protocol="native:responses"),
        epochs=1,
        policy="vlm",
        created="2026-12-04T00:00:00+00:00",
    )
    return RunDir.create(path, manifest)


def _sample(case_id: str, started: str = "2026-12-04T00:00:00+00:00") -> SampleRecord:
    return SampleRecord(
        case_id=case_id,
        epoch=0,
        seed=1,
        model="openai/gpt-5.5",
        protocol="native:responses",
        turns=[],
        status="complete",
        started=started,
        finished=started,
    )


def _keys_and_starts(run: RunDir) -> list[tuple[str, str]]:
    lines = run.samples_path.read_text(encoding="utf-8").splitlines()
    return [(s.key, s.started) for s in map(SampleRecord.model_validate_json, lines)]


def test_a_replaced_sample_keeps_its_place_and_the_others_stay(tmp_path: Path) -> None:
    run = _run(tmp_path / "run")
    for case in ("a", "b", "c"):
        run.append_sample(_sample(case))
    run.append_sample(_sample("b", "later"))  # a duplicate: readers keep the first
    run.replace_samples([_sample("b", "again")])
    assert _keys_and_starts(run) == [
        ("a#0", "2026-12-04T00:00:00+00:00"),
        ("b#0", "again"),
        ("c#0", "2026-12-04T00:00:00+00:00"),
    ]
    assert run.samples()["b#0"].started == "again"


def test_a_key_the_run_does_not_hold_changes_nothing(tmp_path: Path) -> None:
    run = _run(tmp_path / "run")
    run.append_sample(_sample("a"))
    before = run.samples_path.read_bytes()
    with pytest.raises(RunDirError, match=r"samples.jsonl: no sample z#0 to replace"):
        run.replace_samples([_sample("a", "again"), _sample("z")])
    assert run.samples_path.read_bytes() == before
    run.replace_samples([])
    assert run.samples_path.read_bytes() == before

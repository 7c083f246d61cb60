"""The tiny Janus end to end: `uniprobe.run` with `--probe knows,sees` on two-turn cases,
offline, then the run folder scored, diagnosed and summarised like any other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import uniprobe
from conftest import TINY_SUITE
from fake_hub import use_hub
from tiny_janus import IMAGE_TOKENS, SIZE, build_tiny_janus
from uniprobe.probes.questions import KNOWS_MARKER, SEES_MARKER
from uniprobe.store.records import SampleRecord

MAX_NEW_TOKENS = 8


@pytest.fixture(scope="module")
def janus(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"transformers/{build_tiny_janus(tmp_path_factory.mktemp('janus') / 'tiny')}"


def test_the_tiny_janus_runs_two_turn_cases_with_probes_offline(
    janus: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    suite_path = tmp_path / "tiny.yaml"
    suite_path.write_text(TINY_SUITE, encoding="utf-8")
    suite = uniprobe.load_suite(suite_path)

    [result] = uniprobe.run(
        suite,
        [janus],
        out=tmp_path / "runs",
        probes=("knows", "sees"),
        options={janus: {"max_new_tokens": MAX_NEW_TOKENS}},
        # The tiny model draws noise; declared synthetic so that the built-in reference
        # judge scores it offline (what it decides does not matter here, only that the
        # whole path runs).
        images="synthetic",
        policy="reference",
        concurrency=1,
    )

    assert (result.samples, result.errors) == (2, 0)
    run = uniprobe.RunDir.open(result.path)
    manifest = run.manifest()
    assert (manifest.model.protocol, manifest.probes) == ("emulated:transcript", ["knows", "sees"])
    samples: dict[str, SampleRecord] = run.samples()
    assert sorted(samples) == ["tiny.numeric.birds#0", "tiny.post.dog_cat#0"]
    for sample in samples.values():
        assert len(sample.turns) == 2
        for turn in sample.turns:
            assert turn.error is None and turn.reply is not None
            [image] = turn.reply.images
            assert (image.width, image.height) == (SIZE, SIZE)
    # The rule turn of the birds case has no checks: no probe there; every checked turn
    # asks knows before and sees after (at most two extra calls per checked turn).
    kinds = {k: [[p.kind for p in t.probes] for t in s.turns] for k, s in samples.items()}
    assert kinds == {
        "tiny.numeric.birds#0": [[], ["knows", "sees"]],
        "tiny.post.dog_cat#0": [["knows", "sees"], ["knows", "sees"]],
    }
    assert result.extra["probes"]["calls"] == 6
    assert result.extra["probes"]["checked_turns"] == 3
    probes = [p for s in samples.values() for t in s.turns for p in t.probes]
    for probe in probes:
        # Random weights say nothing readable: unparsed, with why — never a guessed answer.
        assert (probe.status, probe.answers, probe.error) == ("unparsed", {}, None), probe
        assert probe.reason
        assert probe.reply is not None and probe.reply.images == []
        assert probe.reply.usage is not None
        assert probe.reply.usage.output_tokens == MAX_NEW_TOKENS
        marker = KNOWS_MARKER if probe.kind == "knows" else SEES_MARKER
        assert marker in probe.prompt
    # sees is asked with the image just drawn shown to the model; knows before the first
    # drawing has no image to show.
    sees = [p for p in probes if p.kind == "sees"]
    assert all(p.reply and p.reply.usage.input_image_tokens == IMAGE_TOKENS for p in sees)
    first_knows = samples["tiny.post.dog_cat#0"].turns[0].probes[0]
    assert first_knows.reply is not None and first_knows.reply.usage.input_image_tokens == 0

    # Scored and diagnosed like any run: every check's outcome is unknown (no probe parsed).
    diagnosis = uniprobe.diagnose(result.path)
    assert {row.outcome for row in diagnosis.rows} == {"unknown"}
    assert len(diagnosis.rows) == 5  # the checks of the three checked turns
    assert json.loads((result.path / "manifest.json").read_text())["totals"]["probe_calls"] == 6


def test_weights_that_cannot_be_had_stop_the_run_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_hub(monkeypatch, tmp_path / "hf", offline=False)  # an empty cache; no Hub to reach
    missing = tmp_path / "no-such-model"
    suite_path = tmp_path / "tiny.yaml"
    suite_path.write_text(TINY_SUITE, encoding="utf-8")
    model = f"transformers/{missing}"

    with pytest.raises(uniprobe.PreflightError) as info:
        uniprobe.run(
            uniprobe.load_suite(suite_path),
            [model, "transformers/org/name"],
            out=tmp_path / "runs",
            probes=("knows", "sees"),
            images="synthetic",
            policy="reference",
            options={"transformers/org/name": {"local_files_only": True}},
        )

    [first, second] = info.value.problems
    assert first == f"{model}: cannot load Janus model '{missing}': there is no folder {missing}"
    assert second == (
        "transformers/org/name: cannot load Janus model 'org/name': not in the Hugging Face "
        "cache, and downloads are off (local_files_only is set); download it with: "
        "hf download org/name"
    )
    assert not (tmp_path / "runs").exists()

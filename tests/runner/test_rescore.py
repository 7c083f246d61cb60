"""Re-scoring a finished run with other judges: new scores files, samples untouched."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import uniprobe
from conftest import TINY_SUITE
from uniprobe.hashing import sha256_bytes
from uniprobe.store.rundir import RunDir
from uniprobe.testing import FakeServer
from uniprobe.testing.vlm import FakeVlm


def _tree_hashes(run: Path) -> dict[str, str]:
    """sha256 of every file of a run folder but its scores."""
    out = {}
    for p in sorted(run.rglob("*")):
        if p.is_file() and "scores" not in p.relative_to(run).parts:
            out[str(p.relative_to(run))] = sha256_bytes(p.read_bytes())
    return out


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE, encoding="utf-8")
    [result] = uniprobe.run(uniprobe.load_suite(suite), ["reference/literal"], out=tmp_path / "r")
    return result.path


def test_rescoring_with_other_options_needs_force_or_a_name(run: Path) -> None:
    before = _tree_hashes(run)
    scores = run / "scores" / "reference.jsonl"
    first = scores.read_bytes()

    proc = _cli("score", str(run), "-J", "pixels.metric=ssim")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert "reference.jsonl" in line and "--force" in line and "--as" in line
    assert scores.read_bytes() == first  # nothing mixed in, nothing lost

    proc = _cli("score", str(run), "-J", "pixels.metric=ssim", "--as", "ssim")
    assert proc.returncode == 0, proc.stderr
    assert "scores/ssim.jsonl" in proc.stdout
    assert scores.read_bytes() == first
    assert _tree_hashes(run) == before  # samples, images, manifest, suite copy
    assert sorted(p.name for p in (run / "scores").iterdir()) == ["reference.jsonl", "ssim.jsonl"]
    rd = RunDir.open(run)
    new = rd.scores("ssim")
    old = rd.scores("reference")
    assert set(new) == set(old)
    for key, rec in new.items():
        assert (rec.policy, rec.judged_by) == ("ssim", "reference")
        assert rec.judge_options["pixels"]["metric"] == "ssim"
        assert old[key].judge_options["pixels"]["metric"] == "aligned"
        # the literal model fails the same checks whichever pixel metric decides edits
        assert [v.status for v in rec.verdicts] == [v.status for v in old[key].verdicts]


def test_force_rescores_in_place_and_keeps_samples(run: Path) -> None:
    samples = _tree_hashes(run)
    old = RunDir.open(run).scores("reference")
    n = uniprobe.score(run, force=True, judge_options={"ocr": {"min_ratio": 0.9}})
    assert n == len(old) == 2
    new = RunDir.open(run).scores("reference")
    assert {k: r.judge_options["ocr"]["min_ratio"] for k, r in new.items()} == {k: 0.9 for k in old}
    assert _tree_hashes(run) == samples


def test_bad_judge_options_are_one_line_errors(run: Path) -> None:
    for args, words in [
        (["-J", "pixels=3"], ["-J", "judge.key=value"]),
        (["-J", "nosuch.x=1"], ["judge", "nosuch"]),
        (["-J", "pixels.nosuch=1"], ["pixels", "nosuch"]),
        (["--judge", "nosuch"], ["policy", "nosuch"]),
    ]:
        proc = _cli("score", str(run), *args)
        assert proc.returncode == 2, (args, proc.stderr)
        [line] = proc.stderr.strip().splitlines()
        assert all(w in line for w in words), (args, line)


def test_rescoring_with_the_vlm_judge_against_a_fake(run: Path, tmp_path: Path) -> None:
    before = _tree_hashes(run)
    reference = (run / "scores" / "reference.jsonl").read_bytes()
    key = "sk-test-rescore-0123456789"
    with FakeServer(chat_handler=FakeVlm()) as fake:
        config = tmp_path / "uniprobe.toml"
        config.write_text(
            f'[providers.openai]\napi_key = "{key}"\nbase_url = "{fake.url}/v1"\n'
            '[judges.vlm]\nmodel = "gpt-4.1-mini-2025-04-14"\n',
            encoding="utf-8",
        )
        proc = _cli("score", str(run), "--judge", "vlm", "--config", str(config))
        calls = len(fake.requests)
    assert proc.returncode == 0, proc.stderr
    assert "scores/vlm.jsonl" in proc.stdout
    assert _tree_hashes(run) == before
    assert (run / "scores" / "reference.jsonl").read_bytes() == reference
    rd = RunDir.open(run)
    new, old = rd.scores("vlm"), rd.scores("reference")
    assert set(new) == set(old)
    used = 0
    for k, rec in new.items():
        # the fake VLM reads the pixels as the reference judge does: the same verdicts
        assert [v.status for v in rec.verdicts] == [v.status for v in old[k].verdicts]
        assert {v.judge for v in rec.verdicts} - {None} == {"vlm@1"}  # None: a when/then
        assert rec.judge_options["vlm"]["model"] == "gpt-4.1-mini-2025-04-14"
        used += rec.judge_usage["vlm"].calls
    assert used == calls > 0  # every call booked on the sample that made it
    text = (run / "scores" / "vlm.jsonl").read_text(encoding="utf-8")
    assert key not in text and key not in proc.stdout + proc.stderr
    assert '"prompt_version"' in text and '"model_served"' in text

    summary = _cli("summary", str(run), "--judge", "vlm")
    assert summary.returncode == 0, summary.stderr
    # no built-in price for this model: the judges' cost is unknown, not 0
    assert f"judges {calls} calls, unknown" in summary.stdout


# --- re-scoring is never trusted half-done (issue 11) ------------------------------------

_SLOW_SCORE = """\
import asyncio, sys
import uniprobe.runner.run as run
from uniprobe.cli import main

judge = run.score_sample

async def slowly(*args, **kwargs):
    await asyncio.sleep(0.04)  # scoring that takes a while, so a kill lands mid-way
    return await judge(*args, **kwargs)

run.score_sample = slowly
sys.argv = ["uniprobe", *sys.argv[1:]]
main()
"""


@pytest.fixture()
def many(tmp_path: Path) -> Path:
    """The tiny suite, 20 epochs on the literal reference: 40 scored samples."""
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE, encoding="utf-8")
    [result] = uniprobe.run(
        uniprobe.load_suite(suite), ["reference/literal"], out=tmp_path / "r", epochs=20
    )
    return result.path


def _started(proc: subprocess.Popen[bytes], scores: Path, timeout: float = 30.0) -> None:
    """Wait until the re-scoring writes (a draft, or the scores file itself)."""
    deadline = time.monotonic() + timeout
    before = scores.read_bytes()
    while (
        not list(scores.parent.glob(".*.tmp"))
        and scores.exists()
        and (scores.read_bytes() == before)
    ):
        assert proc.poll() is None, "score --force ended before it was killed"
        assert time.monotonic() < deadline, "score --force never started its draft"
        time.sleep(0.01)


def test_score_force_killed_at_random_moments_keeps_the_old_scores(many: Path) -> None:
    scores = many / "scores" / "reference.jsonl"
    before = scores.read_bytes()
    summary = uniprobe.summary(many).model_dump(exclude={"note"})
    rng = random.Random(11)
    for _ in range(3):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SLOW_SCORE,
                "score",
                str(many),
                "--force",
                "--concurrency",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _started(proc, scores)
        time.sleep(rng.uniform(0.0, 1.2))  # 40 samples at >= 0.04 s: still scoring
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert scores.read_bytes() == before  # byte-identical, whenever the kill landed
        after = uniprobe.summary(many)
        assert after.note is None and after.scored == after.samples == 40
        assert after.model_dump(exclude={"note"}) == summary
        # the killed writer's draft stays until the next writer (the earlier ones are gone)
        assert len(list(scores.parent.glob(".*.tmp"))) == 1
    done = _cli("score", str(many), "--force")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in scores.parent.iterdir()) == ["reference.jsonl"]
    assert len(scores.read_bytes().splitlines()) == 40


def test_partial_scores_are_the_first_line_of_the_summary_and_report(many: Path) -> None:
    scores = many / "scores" / "reference.jsonl"
    scores.write_bytes(b"".join(scores.read_bytes().splitlines(keepends=True)[:26]))
    note = f"scores cover 26 of 40 samples; run `uniprobe score {many}`"
    assert uniprobe.summary(many).note == note

    proc = _cli("summary", str(many))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == note

    index = uniprobe.report([many], out=many.parent / "rep")
    html = index.read_text(encoding="utf-8")
    body = html[html.index("<body>") + len("<body>") :].lstrip()
    assert body.startswith(f'<p class="partial" role="alert" data-run="{many.name}">')
    assert "scores cover 26 of 40 samples" in body.splitlines()[0]

    proc = _cli("score", str(many))  # the incremental path completes them
    assert proc.returncode == 0 and "scored 14 sample(s)" in proc.stdout, proc.stderr
    assert uniprobe.summary(many).note is None

"""`uniprobe.run`: one sample per (case, epoch), images by hash, scores, resume, failures."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image

import uniprobe
from conftest import TINY_SUITE
from uniprobe.backends.base import Capabilities, Conversation, ImageData, Reply, Usage, UserTurn
from uniprobe.limits import RetryPolicy
from uniprobe.store.records import ErrorRecord, SampleRecord, ScoreRecord, Totals, Verdict

TINY = TINY_SUITE
KEYS = [
    "tiny.numeric.birds#0",
    "tiny.numeric.birds#1",
    "tiny.post.dog_cat#0",
    "tiny.post.dog_cat#1",
]


def _write_suite(folder: Path, text: str = TINY, name: str = "tiny.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _shape(v: Verdict) -> tuple[Any, ...]:
    """A verdict without its evidence and reason: what it decided, and why-tags."""
    return (v.path, v.turn, v.kind, v.status, v.tags, [_shape(c) for c in v.children])


def _copy_run(src: Path, out: Path) -> Path:
    dst = out / src.name
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_suite(tmp_path_factory.mktemp("suite"))


@pytest.fixture(scope="module")
def oracle(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> uniprobe.RunResult:
    out = tmp_path_factory.mktemp("runs")
    [result] = uniprobe.run(uniprobe.load_suite(tiny), ["reference/oracle"], out=out, epochs=2)
    return result


@pytest.fixture(scope="module")
def literal(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> uniprobe.RunResult:
    out = tmp_path_factory.mktemp("runs")
    [result] = uniprobe.run(uniprobe.load_suite(tiny), ["reference/literal"], out=out, epochs=1)
    return result


# --- a finished oracle run ---------------------------------------------------------------


def test_run_result_counts(oracle: uniprobe.RunResult) -> None:
    assert oracle.path.name == "tiny-reference-oracle"
    assert (oracle.model, oracle.samples, oracle.errors, oracle.scored, oracle.new_samples) == (
        "reference/oracle",
        4,
        0,
        4,
        4,
    )


def test_samples_one_line_per_case_and_epoch(oracle: uniprobe.RunResult) -> None:
    lines = _lines(oracle.path / "samples.jsonl")
    assert sorted(f"{d['case_id']}#{d['epoch']}" for d in lines) == KEYS
    samples = uniprobe.RunDir.open(oracle.path).samples()
    assert sorted(samples) == KEYS
    for s in samples.values():
        assert (s.status, s.model, s.protocol, len(s.turns)) == (
            "complete",
            "reference/oracle",
            "reference",
            2,
        )
        assert [t.error for t in s.turns] == [None, None]
    birds = samples["tiny.numeric.birds#0"]
    assert birds.turns[0].user == "From now on, if I mention a number, subtract 2 before using it."
    assert birds.turns[0].reply is not None and birds.turns[0].reply.images == []
    assert birds.turns[0].reply.text == "Understood."
    assert birds.turns[1].reply is not None and len(birds.turns[1].reply.images) == 1
    dog = samples["tiny.post.dog_cat#1"]
    assert [len(t.reply.images) for t in dog.turns if t.reply] == [1, 1]
    # epochs get different seeds, hence different pictures
    assert samples["tiny.numeric.birds#0"].seed != samples["tiny.numeric.birds#1"].seed


def test_images_are_stored_by_hash_and_all_referenced(oracle: uniprobe.RunResult) -> None:
    run = uniprobe.RunDir.open(oracle.path)
    refs = [
        ref
        for s in run.samples().values()
        for t in s.turns
        if t.reply
        for ref in [*t.attached, *t.reply.images]
    ]
    assert len(refs) == 6
    files = sorted(p.name for p in run.images_dir.iterdir())
    assert files == sorted({r.filename for r in refs})
    for ref in refs:
        assert (ref.width, ref.height, ref.mime) == (512, 512, "image/png")
        assert run.image_path(ref).is_file()
        assert ref.filename == f"{ref.sha256}.png"


def test_manifest_after_a_finished_run(oracle: uniprobe.RunResult, tiny: Path) -> None:
    m = uniprobe.RunDir.open(oracle.path).manifest()
    assert m.status == "finished"
    assert m.finished is not None
    assert m.run_id == "tiny-reference-oracle"
    assert m.totals == Totals(samples=4, complete=4, errors=0, images=6, cost_usd=0.0)
    assert (m.epochs, m.policy) == (2, "reference")
    assert (m.suite.name, m.suite.cases) == ("tiny", 2)
    assert m.suite.hash == uniprobe.load_suite(tiny).content_hash
    assert (m.model.name, m.model.protocol, m.model.reference) == (
        "reference/oracle",
        "reference",
        True,
    )
    assert m.model.options == {"size": 512, "latency": 0.0}


def test_oracle_scores_pass_every_check(oracle: uniprobe.RunResult) -> None:
    lines = _lines(oracle.path / "scores" / "reference.jsonl")
    assert sorted(f"{d['case_id']}#{d['epoch']}" for d in lines) == KEYS
    scores = uniprobe.RunDir.open(oracle.path).scores("reference")
    assert {k: s.outcome for k, s in scores.items()} == dict.fromkeys(KEYS, "pass")
    for epoch in (0, 1):
        birds = scores[f"tiny.numeric.birds#{epoch}"]
        assert [_shape(v) for v in birds.verdicts] == [
            ("turns.1.expect.0", 2, "count", "pass", [], [])
        ]
        assert birds.verdicts[0].reason == "found 3 bird(s)"
        assert birds.verdicts[0].judge == "reference@3"
        dog = scores[f"tiny.post.dog_cat#{epoch}"]
        assert [_shape(v) for v in dog.verdicts] == [
            ("turns.0.expect.0", 1, "present", "pass", [], []),
            ("turns.0.expect.1", 1, "present", "pass", [], []),
            ("turns.1.expect.0", 2, "absent", "pass", [], []),
            (
                "turns.1.expect.1",
                2,
                "conditional",
                "pass",
                [],
                [
                    ("turns.1.expect.1.when", 2, "absent", "fail", [], []),
                    ("turns.1.expect.1.else.0", 2, "absent", "pass", [], []),
                ],
            ),
        ]
        assert dog.verdicts[3].evidence == {"condition": False, "branch": "else"}


def test_literal_reference_fails_with_literal_tags(literal: uniprobe.RunResult) -> None:
    scores = uniprobe.RunDir.open(literal.path).scores("reference")
    assert {k: s.outcome for k, s in scores.items()} == {
        "tiny.numeric.birds#0": "fail",
        "tiny.post.dog_cat#0": "fail",
    }
    [count] = scores["tiny.numeric.birds#0"].verdicts
    assert _shape(count) == ("turns.1.expect.0", 2, "count", "fail", ["literal"], [])
    assert count.reason == "found 5 bird(s)"
    conditional = scores["tiny.post.dog_cat#0"].verdicts[3]
    assert (conditional.kind, conditional.status, conditional.tags) == (
        "conditional",
        "fail",
        ["wrong_branch", "literal"],
    )
    assert conditional.evidence["branch"] == "else"


# --- re-running and resuming --------------------------------------------------------------


def test_rerun_without_resume_is_refused(oracle: uniprobe.RunResult, tiny: Path) -> None:
    before = (oracle.path / "samples.jsonl").read_bytes()
    with pytest.raises(uniprobe.RunDirError, match="already holds a run"):
        uniprobe.run(
            uniprobe.load_suite(tiny), ["reference/oracle"], out=oracle.path.parent, epochs=2
        )
    assert (oracle.path / "samples.jsonl").read_bytes() == before


def test_resume_a_finished_run_makes_nothing_new(
    oracle: uniprobe.RunResult, tiny: Path, tmp_path: Path
) -> None:
    run_path = _copy_run(oracle.path, tmp_path / "out")
    samples_before = (run_path / "samples.jsonl").read_bytes()
    scores_before = (run_path / "scores" / "reference.jsonl").read_bytes()
    images_before = sorted(p.name for p in (run_path / "images").iterdir())
    [result] = uniprobe.run(
        uniprobe.load_suite(tiny), ["reference/oracle"], out=tmp_path / "out", epochs=2, resume=True
    )
    assert (result.new_samples, result.samples, result.scored, result.errors) == (0, 4, 4, 0)
    assert (run_path / "samples.jsonl").read_bytes() == samples_before
    assert (run_path / "scores" / "reference.jsonl").read_bytes() == scores_before
    assert sorted(p.name for p in (run_path / "images").iterdir()) == images_before
    m = uniprobe.RunDir.open(run_path).manifest()
    assert m.status == "finished"
    assert m.totals == Totals(samples=4, complete=4, errors=0, images=6, cost_usd=0.0)


def test_resume_does_only_what_is_missing(
    oracle: uniprobe.RunResult, tiny: Path, tmp_path: Path
) -> None:
    run_path = _copy_run(oracle.path, tmp_path / "out")
    samples_path = run_path / "samples.jsonl"
    scores_path = run_path / "scores" / "reference.jsonl"
    kept = samples_path.read_bytes().splitlines(keepends=True)[:2]
    kept_keys = [f"{d['case_id']}#{d['epoch']}" for d in map(json.loads, kept)]
    samples_path.write_bytes(b"".join(kept))
    scores_path.write_bytes(b"")  # the kept samples were never scored
    [result] = uniprobe.run(
        uniprobe.load_suite(tiny), ["reference/oracle"], out=tmp_path / "out", epochs=2, resume=True
    )
    assert (result.new_samples, result.samples, result.scored) == (2, 4, 4)
    lines = samples_path.read_bytes().splitlines(keepends=True)
    assert lines[:2] == kept
    assert sorted(f"{d['case_id']}#{d['epoch']}" for d in map(json.loads, lines)) == KEYS
    assert not set(kept_keys) & {f"{d['case_id']}#{d['epoch']}" for d in map(json.loads, lines[2:])}
    score_keys = [f"{d['case_id']}#{d['epoch']}" for d in _lines(scores_path)]
    assert sorted(score_keys) == KEYS
    assert {d["outcome"] for d in _lines(scores_path)} == {"pass"}


def test_resume_with_a_changed_suite_is_refused(oracle: uniprobe.RunResult, tmp_path: Path) -> None:
    run_path = _copy_run(oracle.path, tmp_path / "out")
    before = (run_path / "samples.jsonl").read_bytes()
    changed = _write_suite(tmp_path / "edited", TINY.replace("5 birds", "6 birds"))
    with pytest.raises(uniprobe.RunDirError, match="suite content changed") as info:
        uniprobe.run(
            uniprobe.load_suite(changed),
            ["reference/oracle"],
            out=tmp_path / "out",
            epochs=2,
            resume=True,
        )
    assert str(info.value).startswith(f"cannot resume {run_path}: ")
    assert (run_path / "samples.jsonl").read_bytes() == before


def test_resume_with_other_epochs_is_refused(
    oracle: uniprobe.RunResult, tiny: Path, tmp_path: Path
) -> None:
    _copy_run(oracle.path, tmp_path / "out")
    with pytest.raises(uniprobe.RunDirError, match=r"epochs differ \(2 vs 3\)"):
        uniprobe.run(
            uniprobe.load_suite(tiny),
            ["reference/oracle"],
            out=tmp_path / "out",
            epochs=3,
            resume=True,
        )


def test_resume_repairs_totals_after_a_kill_between_append_and_manifest(
    oracle: uniprobe.RunResult, tiny: Path, tmp_path: Path
) -> None:
    run_path = _copy_run(oracle.path, tmp_path / "out")
    run = uniprobe.RunDir.open(run_path)
    m = run.manifest()
    # the last sample reached samples.jsonl, the manifest update did not
    m.totals = Totals(samples=3, complete=3, errors=0, images=4, cost_usd=0.0)
    m.status, m.finished = "running", None
    run.write_manifest(m)
    uniprobe.run(
        uniprobe.load_suite(tiny), ["reference/oracle"], out=tmp_path / "out", epochs=2, resume=True
    )
    assert run.manifest().totals == Totals(samples=4, complete=4, errors=0, images=6, cost_usd=0.0)


def test_summary_of_a_one_file_suite_that_shares_its_folder(tmp_path: Path) -> None:
    birds_only = TINY.split("\n\n")[0] + "\n"
    suite_file = _write_suite(tmp_path / "suites", birds_only, name="birds.yaml")
    _write_suite(tmp_path / "suites", birds_only.replace("tiny.", "other."), name="other.yaml")
    [result] = uniprobe.run(uniprobe.load_suite(suite_file), ["reference/oracle"], out=tmp_path)
    assert uniprobe.summary(result.path).overall.strict_accuracy.value == 1.0


# --- a backend that fails mid-conversation --------------------------------------------------


def _white_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (255, 255, 255)).save(buf, "PNG")
    return buf.getvalue()


class FailingBackend(uniprobe.Backend):
    """Draws a white square on turn 1 and fails on turn 2 (how: the model name)."""

    provider: ClassVar[str] = "failing-test"
    models: ClassVar[tuple[str, ...] | None] = None
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=True,
        edits=True,
        max_input_images=8,
        seed=True,
        text_output=True,
        protocol="reference",
        reads_expectations=False,
        draws="synthetic",  # a white canvas, which the reference judge reads
    )

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        assert conversation.context.case is None  # a model never sees the checks
        if turn.index == 2:
            if self.model == "crash":
                raise RuntimeError("backend bug")
            raise uniprobe.BackendError(
                "upstream overloaded", backend=self.name, status=503, retryable=True
            )
        return Reply(images=(ImageData(_white_png()),), usage=Usage(images=1), cost_usd=0.01)


@pytest.fixture
def failing_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registers FailingBackend for one test; the registry is restored afterwards."""
    registry = uniprobe.backend_registry
    monkeypatch.setattr(registry, "_items", dict(registry._items))
    registry.add("failing-test", FailingBackend)


@pytest.mark.usefixtures("failing_backend")
@pytest.mark.parametrize(
    ("model", "error"),
    [
        pytest.param(
            "failing-test/overload",
            ErrorRecord(
                type="BackendError",
                message="failing-test/overload: upstream overloaded",
                status=503,
                retryable=True,
                kind="client",
            ),
            id="backend-error",
        ),
        pytest.param(
            "failing-test/crash",
            ErrorRecord(type="RuntimeError", message="backend bug", status=None, retryable=False),
            id="unexpected-exception",
        ),
    ],
)
def test_backend_failing_on_turn_two_is_recorded(
    tiny: Path, tmp_path: Path, model: str, error: ErrorRecord
) -> None:
    suite = uniprobe.load_suite(tiny)
    dog_only = uniprobe.Suite(
        name="dogcat", cases=suite.cases[1:], source=suite.source, file_hashes=suite.file_hashes
    )
    fast = RetryPolicy(max_attempts=2, base_delay=0.01)
    [result] = uniprobe.run(dog_only, [model], out=tmp_path, retry=fast, policy="reference")
    assert (result.samples, result.errors, result.scored, result.new_samples) == (1, 1, 1, 1)
    run = uniprobe.RunDir.open(result.path)

    sample: SampleRecord = run.samples()["tiny.post.dog_cat#0"]
    assert sample.status == "error"
    assert len(sample.turns) == 2
    first, second = sample.turns
    assert first.error is None and first.reply is not None
    assert first.reply.cost_usd == 0.01
    assert [r.filename for r in first.reply.images] == [p.name for p in run.images_dir.iterdir()]
    assert second.reply is None
    assert second.error == error

    score: ScoreRecord = run.scores("reference")["tiny.post.dog_cat#0"]
    assert score.outcome == "error"
    assert [(v.path, v.turn) for v in score.verdicts] == [
        ("turns.0.expect.0", 1),
        ("turns.0.expect.1", 1),
        ("turns.1.expect.0", 2),
        ("turns.1.expect.1", 2),
    ]
    turn_two = [v for v in score.verdicts if v.turn == 2]
    assert [(v.kind, v.status, v.tags, v.reason, v.judge) for v in turn_two] == [
        ("absent", "unknown", ["error"], f"no reply: {error.message}", None),
        ("conditional", "unknown", ["error"], f"no reply: {error.message}", None),
    ]
    assert [v.judge for v in score.verdicts if v.turn == 1] == ["reference@3", "reference@3"]

    m = run.manifest()
    assert m.status == "finished"
    assert m.model.reference is False
    assert m.totals == Totals(samples=1, complete=0, errors=1, images=1, cost_usd=0.01)


def test_summary_from_another_directory_of_a_suite_given_by_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_suite(tmp_path / "here", TINY.split("\n\n")[0] + "\n", name="birds.yaml")
    monkeypatch.chdir(tmp_path / "here")
    [result] = uniprobe.run(uniprobe.load_suite("birds.yaml"), ["reference/oracle"], out=tmp_path)
    monkeypatch.chdir(tmp_path)
    assert uniprobe.summary(result.path).overall.strict_accuracy.value == 1.0

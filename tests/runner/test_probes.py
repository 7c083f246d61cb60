"""`--probe knows,sees`: knows before a checked turn, sees after, in branches the main
conversation never sees; cached, budgeted, resumed (an errored probe asked again)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image

import uniprobe
from conftest import TINY_SUITE
from uniprobe import cli
from uniprobe.backends.base import Capabilities, Conversation, ImageData, Reply, Usage, UserTurn
from uniprobe.limits import RetryPolicy
from uniprobe.probes.questions import KNOWS_MARKER, SEES_MARKER, probe_questions
from uniprobe.runner.cache import cache_key
from uniprobe.runner.replies import conversation_of
from uniprobe.store.records import SampleRecord, Totals

SEND_COST = 0.01
ASK_COST = 0.002


def _png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buf, "PNG")
    return buf.getvalue()


def _kind(turn: UserTurn) -> str:
    return "knows" if KNOWS_MARKER in turn.text else "sees" if SEES_MARKER in turn.text else "?"


class WordsBackend(uniprobe.Backend):
    """Draws a white square each turn and answers probes in words; how it answers is its
    model name: `unsure` (every question "unsure"), `refuse`, `garble` (no JSON),
    `flaky` (the first sees probe of tiny.post.dog_cat#0 turn 2 fails once), `crash` (a
    bug in ask), `words` (draws nothing: answers every turn in words).

    Every call is logged in `calls`: (call, case, turn index, history length, kind)."""

    provider: ClassVar[str] = "words-test"
    models: ClassVar[tuple[str, ...] | None] = None
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=True,
        edits=True,
        max_input_images=8,
        seed=True,
        text_output=True,
        protocol="words-test",
        draws="synthetic",  # a white canvas, which the reference judge reads
        probes=True,
    )
    calls: ClassVar[list[tuple[Any, ...]]] = []
    conversations: ClassVar[list[tuple[Conversation, UserTurn]]] = []
    failed: ClassVar[set[str]] = set()

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        ctx = conversation.context
        self.calls.append(("send", ctx.case_id, turn.index, len(conversation.history), turn.text))
        if self.model == "words":
            return Reply(text="I'd rather describe it.", cost_usd=SEND_COST)
        return Reply(
            images=(ImageData(_png((255, 255, 255))),),
            usage=Usage(images=1),
            cost_usd=SEND_COST,
            state={"id": f"{ctx.case_id}-{turn.index}"},
        )

    async def ask(self, conversation: Conversation, turn: UserTurn, *, schema: Any = None) -> Reply:
        ctx = conversation.context
        kind = _kind(turn)
        self.calls.append(("ask", ctx.case_id, turn.index, len(conversation.history), kind))
        self.conversations.append((conversation, turn))
        key = f"{ctx.case_id}#{ctx.epoch}/{turn.index}/{kind}"
        if self.model == "flaky" and key == "tiny.post.dog_cat#0/2/sees" and key not in self.failed:
            self.failed.add(key)
            raise uniprobe.BackendError("upstream busy", backend=self.name, status=503)
        if self.model == "crash":
            raise KeyError("q9")
        if self.model == "refuse":
            return Reply(refusal="I won't say.", cost_usd=ASK_COST)
        if self.model == "garble":
            return Reply(text="Three, I think.", cost_usd=ASK_COST)
        assert schema is not None and schema["required"]
        answers = dict.fromkeys(schema["required"], "unsure")
        return Reply(text=json.dumps(answers), cost_usd=ASK_COST, usage=Usage(input_tokens=7))


@pytest.fixture
def words(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[WordsBackend]]:
    """WordsBackend registered for one test, with a fresh call log."""
    registry = uniprobe.backend_registry
    monkeypatch.setattr(registry, "_items", dict(registry._items))
    registry.add("words-test", WordsBackend)
    WordsBackend.calls.clear()
    WordsBackend.conversations.clear()
    WordsBackend.failed.clear()
    yield WordsBackend


@pytest.fixture
def tiny(tmp_path: Path) -> uniprobe.Suite:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SUITE, encoding="utf-8")
    return uniprobe.load_suite(path)


def _run(
    suite: uniprobe.Suite, out: Path, model: str = "words-test/unsure", **settings: Any
) -> uniprobe.RunResult:
    settings.setdefault("probes", ("knows", "sees"))
    [result] = uniprobe.run(suite, [model], out=out, policy="reference", concurrency=1, **settings)
    return result


def _samples(result: uniprobe.RunResult) -> dict[str, SampleRecord]:
    return uniprobe.RunDir.open(result.path).samples()


# --- the flow -----------------------------------------------------------------------------


def test_knows_before_a_checked_turn_and_sees_after_none_elsewhere(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    result = _run(tiny, tmp_path)
    dog = [c[:4] + c[4:5] * (c[0] == "ask") for c in words.calls if c[1] == "tiny.post.dog_cat"]
    assert dog == [
        ("ask", "tiny.post.dog_cat", 1, 0, "knows"),  # the conversation before turn 1
        ("send", "tiny.post.dog_cat", 1, 0),
        ("ask", "tiny.post.dog_cat", 1, 1, "sees"),  # ... and after it
        ("ask", "tiny.post.dog_cat", 2, 1, "knows"),
        ("send", "tiny.post.dog_cat", 2, 1),  # the probes never entered the history
        ("ask", "tiny.post.dog_cat", 2, 2, "sees"),
    ]
    birds = [c[:4] for c in words.calls if c[1] == "tiny.numeric.birds"]
    assert birds == [  # turn 1 states a rule and has no checks: no probe
        ("send", "tiny.numeric.birds", 1, 0),
        ("ask", "tiny.numeric.birds", 2, 1),
        ("send", "tiny.numeric.birds", 2, 1),
        ("ask", "tiny.numeric.birds", 2, 2),
    ]
    samples = _samples(result)
    turns = samples["tiny.numeric.birds#0"].turns
    assert [[p.kind for p in t.probes] for t in turns] == [[], ["knows", "sees"]]
    [knows, sees] = turns[1].probes
    case = tiny.cases[0]
    assert knows.status == sees.status == "answered"
    assert knows.prompt.startswith("Generate an image of 5 birds.\n")
    assert [q.qid for q in knows.questions] == [q.qid for q in probe_questions(case, 2, "knows")]
    assert knows.answers == dict.fromkeys([q.qid for q in knows.questions], "unsure")
    assert knows.reply is not None and knows.reply.cost_usd == ASK_COST
    assert knows.reply.images == [] and knows.error is None
    assert SEES_MARKER in sees.prompt and KNOWS_MARKER not in sees.prompt
    dog_turns = samples["tiny.post.dog_cat#0"].turns
    assert [[p.kind for p in t.probes] for t in dog_turns] == [["knows", "sees"]] * 2


def test_probes_leave_the_main_conversation_as_it_was(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    plain = _run(tiny, tmp_path / "plain", probes=())
    sends = [c for c in words.calls if c[0] == "send"]
    assert [c for c in words.calls if c[0] == "ask"] == []
    words.calls.clear()
    probed = _run(tiny, tmp_path / "probed")
    assert [c for c in words.calls if c[0] == "send"] == sends
    assert len([c for c in words.calls if c[0] == "ask"]) == 6

    def main(result: uniprobe.RunResult) -> dict[str, Any]:
        return {
            k: [(t.user, t.attached, t.reply and t.reply.images, t.error) for t in s.turns]
            for k, s in _samples(result).items()
        }

    assert main(probed) == main(plain)
    run = uniprobe.RunDir.open(probed.path)
    plain_scores = uniprobe.RunDir.open(plain.path).scores("reference")
    assert {k: s.verdicts for k, s in run.scores("reference").items()} == {
        k: s.verdicts for k, s in plain_scores.items()
    }


def test_the_ledger_counts_probe_calls_and_cost(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    result = _run(tiny, tmp_path, epochs=2)
    # per epoch: birds 1 checked turn, dog_cat 2; each asks knows and sees
    assert result.extra["probes"] == {
        "calls": 12,
        "cost_usd": round(12 * ASK_COST, 6),
        "checked_turns": 6,
        "live_calls": 12,
        "spent_usd": round(12 * ASK_COST, 6),
    }
    assert result.extra["live_calls"] == 12 + 8
    assert result.extra["spent_usd"] == pytest.approx(12 * ASK_COST + 8 * SEND_COST)
    m = uniprobe.RunDir.open(result.path).manifest()
    assert m.probes == ["knows", "sees"]
    assert m.totals == Totals(
        samples=4,
        complete=4,
        errors=0,
        images=8,
        cost_usd=round(12 * ASK_COST + 8 * SEND_COST, 6),
        probe_calls=12,
        probe_cost_usd=round(12 * ASK_COST, 6),
    )


def test_one_probe_only(words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path) -> None:
    result = _run(tiny, tmp_path, probes="sees")
    kinds = [[p.kind for p in t.probes] for s in _samples(result).values() for t in s.turns]
    assert kinds == [[], ["sees"], ["sees"], ["sees"]]
    assert result.extra["probes"]["calls"] == 3


def test_the_budget_counts_probe_cost(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    # in suite order, birds#0 first: 2 sends ($0.02), with probes 2 asks more ($0.024);
    # a budget of $0.022 lets dog_cat#0 start only when the probes are not counted
    plain = _run(tiny, tmp_path / "plain", probes=(), max_cost=0.022)
    probed = _run(tiny, tmp_path / "probed", max_cost=0.022)
    assert (plain.samples, "stopped" in plain.extra) == (2, False)
    assert (probed.samples, probed.extra["stopped"]) == (
        1,
        "--max-cost reached: $0.0240 spent of $0.0220",
    )


def test_cache_answers_probes_on_a_second_run(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    first = _run(tiny, tmp_path / "a", cache=cache)
    words.calls.clear()
    second = _run(tiny, tmp_path / "b", cache=cache)
    assert words.calls == []
    assert second.extra["cache_hits"] == 4 + 6
    assert second.extra["probes"]["live_calls"] == 0
    assert second.extra["probes"]["calls"] == 6  # recorded, from the cache

    def answers(result: uniprobe.RunResult) -> list[Any]:
        return [
            (p.kind, p.status, p.answers, p.reply and p.reply.text)
            for s in _samples(result).values()
            for t in s.turns
            for p in t.probes
        ]

    assert answers(second) == answers(first)


def test_an_ask_and_a_send_of_the_same_turn_are_different_cache_keys() -> None:
    ctx = uniprobe.SessionContext("c", 0, 1)
    conv, turn = Conversation(ctx), UserTurn(1, "draw a cat")
    common: dict[str, Any] = {
        "backend": "b/m",
        "options": {},
        "protocol": "p",
        "conversation": conv,
        "turn": turn,
    }
    send = cache_key(**common)
    ask = cache_key(**common, ask=True, schema={"type": "object"})
    other = cache_key(**common, ask=True, schema={"type": "object", "required": ["q1"]})
    assert len({send, ask, other}) == 3
    assert send == cache_key(**common, ask=False, schema={"type": "object"})


# --- outcomes that are not answers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "status", "reason"),
    [
        pytest.param("words-test/refuse", "refused", "I won't say.", id="refusal"),
        pytest.param("words-test/garble", "unparsed", None, id="parse-failure"),
    ],
)
def test_a_refusal_and_a_reply_off_format_are_recorded_as_such(
    words: type[WordsBackend],
    tiny: uniprobe.Suite,
    tmp_path: Path,
    model: str,
    status: str,
    reason: str | None,
) -> None:
    result = _run(tiny, tmp_path, model=model)
    assert result.errors == 0
    probes = [p for s in _samples(result).values() for t in s.turns for p in t.probes]
    assert len(probes) == 6
    assert {p.status for p in probes} == {status}
    assert all(p.answers == {} and p.error is None and p.reply is not None for p in probes)
    if reason is not None:
        assert {p.reason for p in probes} == {reason}
    else:
        assert all(p.reason for p in probes)  # why it could not be read
        assert {p.reply.text for p in probes if p.reply} == {"Three, I think."}


def test_a_bug_in_ask_is_an_errored_probe_not_a_failed_sample(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    result = _run(tiny, tmp_path, model="words-test/crash")
    assert (result.errors, result.samples) == (0, 2)
    probes = [p for s in _samples(result).values() for t in s.turns for p in t.probes]
    assert {(p.status, p.error.type, p.error.message) for p in probes if p.error} == {
        ("error", "KeyError", "'q9'")
    }
    assert len(probes) == 6 and all(p.reply is None for p in probes)


def test_sees_without_any_image_is_skipped_without_a_call(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    result = _run(tiny, tmp_path, model="words-test/words")
    turns = _samples(result)["tiny.post.dog_cat#0"].turns
    sees = [p for t in turns for p in t.probes if p.kind == "sees"]
    assert [(p.status, p.reason, p.reply, p.answers) for p in sees] == [
        ("skipped", "no image in the conversation to ask about", None, {})
    ] * 2
    assert sees[0].questions and SEES_MARKER in sees[0].prompt  # what would have been asked
    asked = [c[4] for c in words.calls if c[0] == "ask"]
    assert asked == ["knows", "knows", "knows"]  # birds turn 2, dog_cat turns 1 and 2
    assert result.extra["probes"]["calls"] == 3
    assert result.extra["probes"]["checked_turns"] == 3


# --- resume ----------------------------------------------------------------------------------


def test_resume_asks_again_only_the_probe_that_failed(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    first = _run(tiny, tmp_path, model="words-test/flaky", retry=RetryPolicy(max_attempts=1))
    assert first.errors == 0  # a failed probe does not fail its sample
    dog = _samples(first)["tiny.post.dog_cat#0"]
    assert dog.status == "complete"
    failed = dog.turns[1].probes[1]
    assert (failed.kind, failed.status, failed.reply) == ("sees", "error", None)
    assert failed.error is not None
    assert (failed.error.type, failed.error.status) == ("BackendError", 503)
    lines_before = (first.path / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    scores_before = (first.path / "scores" / "reference.jsonl").read_bytes()
    words.calls.clear()

    second = _run(tiny, tmp_path, model="words-test/flaky", resume=True)

    assert [c[:4] for c in words.calls] == [("ask", "tiny.post.dog_cat", 2, 2)]
    assert (second.new_samples, second.samples, second.errors) == (0, 2, 0)
    lines = (first.path / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(lines_before) == 2
    after = {SampleRecord.model_validate_json(x).key: x for x in lines}
    before = {SampleRecord.model_validate_json(x).key: x for x in lines_before}
    assert after["tiny.numeric.birds#0"] == before["tiny.numeric.birds#0"]  # untouched
    fixed = SampleRecord.model_validate_json(after["tiny.post.dog_cat#0"])
    old = SampleRecord.model_validate_json(before["tiny.post.dog_cat#0"])
    sees = fixed.turns[1].probes[1]
    assert (sees.kind, sees.status, sees.error) == ("sees", "answered", None)
    assert sees.questions == failed.questions and sees.prompt == failed.prompt
    # everything else of the sample is as it was
    assert fixed.turns[0] == old.turns[0]
    assert fixed.turns[1].probes[0] == old.turns[1].probes[0]
    assert fixed.turns[1].reply == old.turns[1].reply
    assert (first.path / "scores" / "reference.jsonl").read_bytes() == scores_before
    assert uniprobe.RunDir.open(first.path).manifest().totals.probe_calls == 6


def test_a_spent_budget_leaves_failed_probes_for_a_later_resume(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    first = _run(tiny, tmp_path, model="words-test/flaky", retry=RetryPolicy(max_attempts=1))
    before = (first.path / "samples.jsonl").read_bytes()
    words.calls.clear()
    again = _run(tiny, tmp_path, model="words-test/flaky", resume=True, max_cost=0)
    assert words.calls == []
    assert again.extra["stopped"] == "--max-cost reached: $0.0000 spent of $0.0000"
    assert (first.path / "samples.jsonl").read_bytes() == before


def test_the_rebuilt_conversation_is_the_one_the_probe_saw(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    result = _run(tiny, tmp_path)
    sample = _samples(result)["tiny.post.dog_cat#0"]
    run = uniprobe.RunDir.open(result.path)
    live = {(c.context.case_id, t.text): c for c, t in words.conversations}
    for index, record in enumerate(sample.turns, start=1):
        [knows, sees] = record.probes
        ctx = uniprobe.SessionContext(sample.case_id, sample.epoch, sample.seed)
        for probe, turns in ((knows, index - 1), (sees, index)):
            rebuilt = conversation_of(run, sample, ctx, turns)
            seen = live[(sample.case_id, probe.prompt)]
            assert _key(rebuilt) == _key(seen)
            assert [e.reply.state for e in rebuilt.history] == [e.reply.state for e in seen.history]


def _key(conversation: Conversation) -> str:
    return cache_key(
        backend="b", options={}, protocol="p", conversation=conversation, turn=UserTurn(9, "")
    )


def test_resume_with_other_probes_is_refused(
    words: type[WordsBackend], tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    result = _run(tiny, tmp_path)
    before = (result.path / "samples.jsonl").read_bytes()
    with pytest.raises(uniprobe.RunDirError, match=r"probes differ \(knows,sees vs sees\)"):
        _run(tiny, tmp_path, probes="sees", resume=True)
    with pytest.raises(uniprobe.RunDirError, match=r"probes differ \(knows,sees vs none\)"):
        _run(tiny, tmp_path, probes=(), resume=True)
    assert (result.path / "samples.jsonl").read_bytes() == before


# --- refused before anything starts ------------------------------------------------------------


def test_a_model_that_cannot_answer_in_words_is_refused_before_the_run(
    tiny: uniprobe.Suite, tmp_path: Path
) -> None:
    with pytest.raises(uniprobe.PreflightError) as caught:
        uniprobe.run(tiny, ["reference/oracle"], out=tmp_path / "runs", probes="knows,sees")
    assert caught.value.problems == [
        "reference/oracle: --probe needs a model that answers in words (probes: no)"
    ]
    assert not (tmp_path / "runs").exists()


# --- the command line ---------------------------------------------------------------------------


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`uniprobe ARGS` in-process (the test backend is registered here); its stdout."""
    monkeypatch.setattr(sys, "argv", ["uniprobe", *args])
    with pytest.raises(SystemExit) as info:
        cli.main()
    captured = capsys.readouterr()
    assert info.value.code == 0, captured.err
    return captured.out


def test_run_prints_the_probe_ledger_and_summary_the_diagnosis(
    words: type[WordsBackend],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY_SUITE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    common = ["--suite", "tiny.yaml", "--judge", "reference", "--no-progress", "--no-cache"]
    printed = _cli(
        monkeypatch, capsys, "run", "-m", "words-test/unsure", *common, "--probe", "knows,sees"
    )
    run_line, probe_line = printed.splitlines()
    assert run_line.startswith("words-test/unsure: 2 samples (2 new, 0 errors) in ")
    # every answer is "unsure": nothing is known of knows or sees, draws is the judge's
    assert probe_line == (
        "words-test/unsure: probes: 6 calls at 3 checked turns (2.0 per turn), $0.0120; "
        "P(knows) –, P(draws|knows) –, P(sees) –"
    )
    run = "runs/tiny-words-test-unsure"
    text = _cli(monkeypatch, capsys, "summary", run).splitlines()
    d = uniprobe.diagnose(run)
    assert d.probes == ("knows", "sees") and d.ledger.calls == 6
    cost = next(line for line in text if line.startswith("generation $"))
    assert cost == "generation $0.0400; probes 6 calls, $0.0120"
    assert text[text.index(cost) + 1 :] == d.lines()
    assert text[text.index(cost) + 1].startswith(f"diagnosis: {d.overall.checks} checks (")
    data = json.loads(_cli(monkeypatch, capsys, "summary", run, "--json"))
    assert data["diagnosis"] == json.loads(json.dumps(d.as_dict()))
    assert data["diagnosis"]["ledger"] == {
        "calls": 6,
        "cost_usd": 0.012,
        "checked_turns": 3,
        "per_turn": 2.0,
    }
    assert data["overall"] == json.loads(uniprobe.summary(run).model_dump_json())["overall"]

"""Running a suite against a model: sessions in parallel, results appended as they finish.

A unit of work is a plain `WorkItem` (case id, epoch, seed). Each finished sample is
appended to samples.jsonl at once and scored right after; a killed run resumes from
what is on disk: completed samples are neither redone nor duplicated, unscored ones
are scored, and probes whose call failed (`--probe`; see `uniprobe.runner.probing`) are
asked again, their samples rewritten in place.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from uniprobe._version import __version__
from uniprobe.backends.base import (
    Backend,
    Conversation,
    ImageData,
    Reply,
    Session,
    SessionContext,
    UserTurn,
)
from uniprobe.backends.pricing import cost_warnings
from uniprobe.backends.registry import create_backend
from uniprobe.cases.images import case_image_bytes
from uniprobe.cases.schema import Case, Suite
from uniprobe.cases.validate import vocabulary_problems
from uniprobe.config import Config, ProviderConfig
from uniprobe.errors import (
    BackendError,
    CaseFileError,
    PreflightError,
    RunDirError,
    UniprobeError,
)
from uniprobe.hashing import sha256_json
from uniprobe.limits import Limiter, RetryStats, call_with_retries
from uniprobe.runner.cache import ReplyCache, cache_key
from uniprobe.runner.preflight import NEEDS_A_JUDGE, NEEDS_WORDS, policy_for
from uniprobe.runner.probing import Prober, error_record, has_error, probe_ledger
from uniprobe.runner.progress import RunProgress
from uniprobe.runner.replies import reply_record
from uniprobe.runner.settings import RunSettings
from uniprobe.scoring.engine import score_sample
from uniprobe.scoring.policy import Judging, Policy, policies
from uniprobe.store.records import (
    ImageRef,
    Manifest,
    ModelInfo,
    ProbeRecord,
    SampleRecord,
    ScoreRecord,
    SuiteInfo,
    Totals,
    TurnRecord,
)
from uniprobe.store.rundir import RunDir, ScoresDraft

__all__ = [
    "RETRIED_KINDS",
    "ErrorCount",
    "RunResult",
    "WorkItem",
    "error_counts",
    "run_dir_name",
    "run_model",
    "score_run",
    "seed_for",
    "suite_info",
    "vocabulary_kinds",
]


@dataclass(frozen=True)
class WorkItem:
    """One (case, epoch) conversation to hold: plain data, safe to ship anywhere."""

    case_id: str
    epoch: int
    seed: int


@dataclass(frozen=True)
class ErrorCount:
    """Samples that ended in one kind of error, and what the first of them said."""

    kind: str
    """The `BackendError` kind (rate_limit, server, auth, ...), else the exception type."""
    status: int | None
    """The HTTP status, if any."""
    samples: int
    """How many samples ended so."""
    first: str
    """The first one's message."""


@dataclass(frozen=True)
class RunResult:
    """Where a run is and what it holds. A run with `errors` did not answer every turn:
    the CLI exits 1 and prints `failures`; `--resume` holds those samples again."""

    path: Path
    model: str
    samples: int
    errors: int
    scored: int
    new_samples: int
    extra: dict[str, Any] = field(default_factory=dict)
    failures: tuple[ErrorCount, ...] = ()
    """The errors by kind and status, most frequent first."""
    policy: str | None = None
    """The judge policy the run scores with."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_dir_name(suite: str, model: str) -> str:
    """The directory name of a (suite, model) run: stable, so `--resume` finds it."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-")
    return f"{suite}-{slug}"


def seed_for(case_id: str, epoch: int) -> int:
    """Deterministic per-sample seed."""
    return int(sha256_json([case_id, epoch])[:8], 16)


def vocabulary_kinds(
    policy: str | Policy, backend: Backend | None = None, judging: Judging | None = None
) -> frozenset[str] | None:
    """The check kinds whose object words must be in the reference vocabulary: every kind
    (None) for a backend that reads the case (a reference model draws what the checks ask),
    else those the policy's judges read with the reference perception (empty: none; the
    pixels judge's `regions` option from `judging`, the policy's default without)."""
    if backend is not None and backend.capabilities.reads_expectations:
        return None
    pixels = judging.instances.get("pixels") if judging is not None else None
    regions = getattr(getattr(pixels, "options", None), "regions", None)
    pol = policies.get(policy) if isinstance(policy, str) else policy
    return pol.vocabulary_kinds(pixel_regions=None if regions is None else str(regions))


def suite_info(suite: Suite) -> SuiteInfo:
    """What a run's manifest says about its suite."""
    return SuiteInfo(
        name=suite.name,
        hash=suite.content_hash,
        cases=len(suite),
        path=str(suite.source) if suite.source else None,
    )


def _manifest(
    suite: Suite, backend: Backend, settings: RunSettings, judging: Judging | None, run_id: str
) -> Manifest:
    return Manifest(
        run_id=run_id,
        uniprobe_version=__version__,
        suite=suite_info(suite),
        model=ModelInfo(
            name=backend.name,
            options=backend.options.model_dump(mode="json"),
            protocol=backend.protocol,
            reference=backend.capabilities.reads_expectations,
        ),
        epochs=settings.epochs,
        policy=settings.policy or "",
        probes=list(settings.probes),
        judges=judging.versions() if judging is not None else {},
        created=_now(),
    )


def _check_resumable(existing: Manifest, wanted: Manifest, path: Path) -> None:
    problems = []
    if existing.suite.hash != wanted.suite.hash:
        problems.append(
            f"suite content changed ({existing.suite.hash[:12]} -> {wanted.suite.hash[:12]})"
        )
    if existing.model.name != wanted.model.name:
        problems.append(f"model is {existing.model.name}, not {wanted.model.name}")
    if existing.model.options != wanted.model.options:
        problems.append(
            f"model options differ ({existing.model.options} vs {wanted.model.options})"
        )
    if existing.epochs != wanted.epochs:
        problems.append(f"epochs differ ({existing.epochs} vs {wanted.epochs})")
    if existing.probes != wanted.probes:
        problems.append(
            f"probes differ ({_probe_words(existing.probes)} vs {_probe_words(wanted.probes)})"
        )
    if problems:
        raise RunDirError(
            f"cannot resume {path}: "
            + "; ".join(problems)
            + " (start a new run with another --out)"
        )


def _probe_words(kinds: Iterable[str]) -> str:
    return ",".join(kinds) or "none"


class _Caller:
    """The path of one call: the cache, then the limits and our retry policy. Turns go to
    `Backend.send` (`__call__`), probes to `Backend.ask` (`ask`); both count in what is
    spent (and so in the budget), probes also on their own."""

    def __init__(
        self,
        backend: Backend,
        settings: RunSettings,
        provider: ProviderConfig,
        cache: ReplyCache | None,
        progress: RunProgress,
    ) -> None:
        self.backend, self.settings, self.cache, self.progress = backend, settings, cache, progress
        self.limiter = Limiter(concurrency=provider.concurrency, rpm=settings.rpm or provider.rpm)
        self.stats = RetryStats()
        self.options = backend.options.model_dump(mode="json")
        self.spent = 0.0
        self.unknown_cost = 0
        self.live_calls = 0
        self.probe_calls = 0
        self.probe_spent = 0.0
        self.rng = random.Random(0)
        self.task: Any = None

    async def __call__(self, conversation: Conversation, turn: UserTurn) -> Reply:
        """The reply to a turn of the conversation (a drawing, words or a refusal)."""
        return await self._call(lambda: self.backend.send(conversation, turn), conversation, turn)

    async def ask(
        self, conversation: Conversation, turn: UserTurn, schema: Mapping[str, Any] | None
    ) -> Reply:
        """The answer in words to `turn` in a branch of `conversation` (a probe)."""
        return await self._call(
            lambda: self.backend.ask(conversation, turn, schema=schema),
            conversation,
            turn,
            schema=schema,
            ask=True,
        )

    async def _call(
        self,
        call: Callable[[], Awaitable[Reply]],
        conversation: Conversation,
        turn: UserTurn,
        *,
        schema: Mapping[str, Any] | None = None,
        ask: bool = False,
    ) -> Reply:
        key = None
        if self.cache is not None:
            key = cache_key(
                backend=self.backend.name,
                options=self.options,
                protocol=self.backend.protocol,
                conversation=conversation,
                turn=turn,
                ask=ask,
                schema=schema,
            )
            hit = await asyncio.to_thread(self.cache.get, key)
            if hit is not None:
                return hit
        reply = await call_with_retries(
            call,
            policy=self.settings.retry,
            limiter=self.limiter,
            stats=self.stats,
            rng=self.rng,
            on_retry=lambda exc, wait: self.progress.note(self.task, self.stats.summary()),
        )
        self.live_calls += 1
        self.probe_calls += ask
        if reply.cost_usd is None:
            self.unknown_cost += 1
        else:
            self.spent += reply.cost_usd
            self.probe_spent += reply.cost_usd if ask else 0.0
        if self.cache is not None and key is not None:
            await asyncio.to_thread(self.cache.put, key, reply)
        return reply

    def over_budget(self) -> str | None:
        """Why no new conversation may start, if the budget says so."""
        limit = self.settings.max_cost
        if limit is None:
            return None
        if self.unknown_cost:
            return (
                f"--max-cost cannot be enforced: {self.unknown_cost} call(s) of "
                f"{self.backend.name} have no known price (add [prices] to the config)"
            )
        if self.spent >= limit:
            return f"--max-cost reached: ${self.spent:.4f} spent of ${limit:.4f}"
        return None


class _Runner:
    def __init__(
        self,
        suite: Suite,
        backend: Backend,
        run: RunDir,
        judging: Judging | None,
        progress: RunProgress,
        caller: _Caller,
        settings: RunSettings,
    ) -> None:
        self.suite, self.backend, self.run, self.judging = suite, backend, run, judging
        self.progress, self.caller = progress, caller
        self.prober = Prober(caller.ask, run, settings.probes)
        self.gen_slots = asyncio.Semaphore(settings.concurrency)
        self.score_slots = asyncio.Semaphore(2)
        self.lock = asyncio.Lock()
        self.cases = {c.id: c for c in suite.cases}
        self.sources: dict[tuple[str, str], tuple[ImageRef, ImageData]] = {}
        self.gen_task: Any = None
        self.score_task: Any = None
        self.new_samples = 0
        self.stopped: str | None = None
        self.totals = _totals(run.samples().values())
        self.manifest_written = 0.0

    def _write_totals(self) -> None:
        m = self.run.manifest()
        m.totals = self.totals
        self.run.write_manifest(m)
        self.manifest_written = time.monotonic()

    def source(self, case: Case, name: str) -> tuple[ImageRef, ImageData]:
        key = (case.id, name)
        if key not in self.sources:
            data = case_image_bytes(case, name)
            ref = self.run.put_image(data)
            self.sources[key] = (ref, ImageData(data, ref.mime))
        return self.sources[key]

    def context(self, case: Case, epoch: int, seed: int) -> SessionContext:
        """The identity of a conversation (the case itself only for a reference backend)."""
        reads = self.backend.capabilities.reads_expectations
        return SessionContext(case.id, epoch, seed, case if reads else None)

    async def sample(self, item: WorkItem) -> SampleRecord:
        case = self.cases[item.case_id]
        session = Session(self.caller, self.context(case, item.epoch, item.seed))
        turns: list[TurnRecord] = []
        started = _now()
        status: Literal["complete", "error"] = "complete"
        for index, turn in enumerate(case.turns, start=1):
            attached = [self.source(case, name) for name in turn.attach]
            user = UserTurn(index, turn.user, tuple(d for _, d in attached))
            record = TurnRecord(index=index, user=turn.user, attached=[r for r, _ in attached])
            before = _now_of(session)
            _keep(record.probes, await self.prober.knows(case, index, before, user.images))
            t0 = time.monotonic()
            try:
                reply = await session.send(user)
            except BackendError as exc:
                record.error = error_record(exc)
            except UniprobeError:
                raise
            except Exception as exc:  # a backend bug is still a result: record it
                record.error = error_record(exc)
            if record.error is not None:
                turns.append(record)
                status = "error"
                break
            seconds = time.monotonic() - t0
            record.reply = await asyncio.to_thread(reply_record, self.run, reply, seconds)
            _keep(record.probes, await self.prober.sees(case, index, _now_of(session)))
            turns.append(record)
        return SampleRecord(
            case_id=case.id,
            epoch=item.epoch,
            seed=item.seed,
            model=self.backend.name,
            protocol=self.backend.protocol,
            turns=turns,
            status=status,
            started=started,
            finished=_now(),
        )

    async def hold(self, items: list[WorkItem]) -> None:
        """Hold the conversations of `items` not on disk yet, scoring each as it finishes
        (and, first, those a kill left unscored)."""
        done = self.run.samples()
        todo = [i for i in items if f"{i.case_id}#{i.epoch}" not in done]
        self.gen_task = self.caller.task = self.progress.add(
            f"{self.backend.name} generate", len(items), len(items) - len(todo)
        )
        try:
            done = await self.reprobe(done)
            if self.judging is not None:
                await self.score_unscored(done, total=len(items))
            await asyncio.gather(*(self.one(i) for i in todo))
        except (asyncio.CancelledError, KeyboardInterrupt):
            m = self.run.manifest()  # stopped by the user: say so, then stop
            m.status, m.note = "interrupted", "stopped by the user"
            self.run.write_manifest(m)
            raise

    async def reprobe(self, done: Mapping[str, SampleRecord]) -> dict[str, SampleRecord]:
        """Ask again the probes whose call failed in complete samples, and put those
        samples back in place (`RunDir.replace_samples`); their scores stand (a probe
        changes no image). Once the budget is spent, the rest stay as they are (a later
        resume asks them). Returns the samples as they are now."""
        again = [s for s in done.values() if has_error(s)]
        if not again:
            return dict(done)

        async def one(sample: SampleRecord) -> SampleRecord:
            case = self.cases[sample.case_id]
            async with self.gen_slots:
                self.stopped = self.stopped or self.caller.over_budget()
                if self.stopped:
                    return sample
                context = self.context(case, sample.epoch, sample.seed)
                return await self.prober.reask(case, sample, context)

        fixed = {s.key: s for s in await asyncio.gather(*(one(s) for s in again))}
        async with self.lock:
            await asyncio.to_thread(self.run.replace_samples, fixed.values())
        return {**done, **fixed}

    async def score_unscored(self, done: Mapping[str, SampleRecord], *, total: int) -> None:
        """Score the samples that finished before a kill but were never scored."""
        assert self.judging is not None
        have = self.run.scores(self.judging.name)
        _check_same_judges(have, self.judging, self.run.scores_path(self.judging.name))
        self.score_task = self.progress.add(
            f"{self.backend.name} score", total, len(set(have) & set(done))
        )
        for key, rec in done.items():
            if key not in have:
                await self.score(rec)

    async def one(self, item: WorkItem) -> None:
        async with self.gen_slots:
            self.stopped = self.stopped or self.caller.over_budget()
            if self.stopped:
                return
            record = await self.sample(item)
        async with self.lock:
            await asyncio.to_thread(self.run.append_sample, record)
            self.new_samples += 1
            self.totals = _totals_add(self.totals, record)
            if time.monotonic() - self.manifest_written >= _MANIFEST_EVERY:
                await asyncio.to_thread(self._write_totals)
        info = f"{self.totals.errors} errors · ${self.caller.spent:.2f} spent"
        if self.caller.stats.counts:
            info += f" · {self.caller.stats.summary()}"
        self.progress.advance(self.gen_task, info)
        if self.judging is not None:
            await self.score(record)

    async def score(self, record: SampleRecord) -> None:
        assert self.judging is not None
        async with self.score_slots:
            scored = await score_sample(self.cases[record.case_id], record, self.run, self.judging)
        async with self.lock:
            await asyncio.to_thread(self.run.append_score, scored)
        self.progress.advance(self.score_task)


_MANIFEST_EVERY = 1.0
"""Seconds between manifest rewrites during a run (totals are recounted on resume)."""


def _now_of(session: Session) -> Conversation:
    """The conversation a session holds now (a probe's branch starts from it)."""
    return Conversation(session.context, tuple(session.history))


def _keep(probes: list[ProbeRecord], probe: ProbeRecord | None) -> None:
    if probe is not None:
        probes.append(probe)


def _totals(records: Iterable[SampleRecord]) -> Totals:
    total = Totals()
    for rec in records:
        total = _totals_add(total, rec)
    return total


def _totals_add(t: Totals, rec: SampleRecord) -> Totals:
    images = sum(len(tr.reply.images) for tr in rec.turns if tr.reply)
    cost = sum(tr.reply.cost_usd or 0.0 for tr in rec.turns if tr.reply)
    probes = probe_ledger([rec])
    return Totals(
        samples=t.samples + 1,
        complete=t.complete + (rec.status == "complete"),
        errors=t.errors + (rec.status == "error"),
        images=t.images + images,
        cost_usd=round(t.cost_usd + cost + probes.cost_usd, 6),
        probe_calls=t.probe_calls + probes.calls,
        probe_cost_usd=round(t.probe_cost_usd + probes.cost_usd, 6),
    )


async def run_model(
    suite: Suite,
    model: str,
    run_path: Path,
    *,
    settings: RunSettings | None = None,
    config: Config | None = None,
    progress: RunProgress | None = None,
) -> RunResult:
    """Hold every (case, epoch) conversation of `suite` with `model` and score it.

    Writes the run directory at `run_path`; with `settings.resume`, continues the run there.
    The model's options are `settings.options[model]` over the config file's.
    """
    settings = settings or RunSettings()
    config = config or Config()
    progress = progress or RunProgress(enabled=False)
    options = {**config.models.get(model, {}), **settings.options.get(model, {})}
    backend = create_backend(model, options, config=config)
    policy = policy_for(backend, settings.policy)
    if policy is None:
        await backend.aclose()
        raise PreflightError([f"{model}: {NEEDS_A_JUDGE}"])
    if settings.probes and not backend.capabilities.probes:
        await backend.aclose()
        raise PreflightError([f"{model}: {NEEDS_WORDS}"])
    settings = settings.model_copy(update={"policy": policy})
    cache = ReplyCache(settings.cache) if settings.cache else None
    judging: Judging | None = None
    try:
        if settings.score:
            judging = Judging.of(policy, settings.judge_options, config)
        _check_vocabulary(suite, backend, policy, judging)
        for line in cost_warnings(backend.priced_models, config.prices):
            progress.warn(line)
        run = _start_run(suite, backend, judging, settings, run_path)
        caller = _Caller(
            backend, settings, config.provider(_provider_key(backend)), cache, progress
        )
        runner = _Runner(suite, backend, run, judging, progress, caller, settings)
        await runner.hold(_work_items(suite, settings.epochs))
        _finish(run, runner.stopped)
        return _result(run, runner, cache)
    finally:
        await backend.aclose()
        if judging is not None:
            await judging.aclose()
        if cache is not None:
            cache.close()


def _check_vocabulary(suite: Suite, backend: Backend, policy: str, judging: Judging | None) -> None:
    """Refuse words the reference world lacks where a reference backend or judge reads them."""
    problems = vocabulary_problems(suite.cases, vocabulary_kinds(policy, backend, judging))
    if problems:
        raise CaseFileError(problems)


def _start_run(
    suite: Suite, backend: Backend, judging: Judging | None, settings: RunSettings, path: Path
) -> RunDir:
    """Create the run folder (or open it to resume) and mark it running."""
    wanted = _manifest(suite, backend, settings, judging, path.name)
    run = _open_run(path, wanted, settings.resume)
    run.keep_suite(suite)
    m = run.manifest()
    m.status, m.note = "running", None
    m.totals = _totals(run.samples().values())  # a kill may have come before the last update
    run.write_manifest(m)
    return run


def _work_items(suite: Suite, epochs: int) -> list[WorkItem]:
    """Every (case, epoch) conversation of a run, in suite order."""
    return [WorkItem(c.id, e, seed_for(c.id, e)) for c in suite.cases for e in range(epochs)]


def _finish(run: RunDir, stopped: str | None) -> None:
    """Recount the totals and mark the run finished, or interrupted if the budget stopped it."""
    m = run.manifest()
    m.totals = _totals(run.samples().values())
    if stopped:
        m.status, m.note = "interrupted", stopped
    else:
        m.status, m.finished = "finished", _now()
    run.write_manifest(m)


def _result(run: RunDir, runner: _Runner, cache: ReplyCache | None) -> RunResult:
    """What the run holds now, with the call statistics of this session."""
    samples = run.samples()
    judging, caller = runner.judging, runner.caller
    scored = len(run.scores(judging.name)) if judging is not None else 0
    errors = sum(1 for s in samples.values() if s.status == "error")
    extra: dict[str, Any] = {
        "live_calls": caller.live_calls,
        "spent_usd": caller.spent,
        "retries": dict(caller.stats.counts),
    }
    if cache is not None:
        extra["cache_hits"] = cache.hits
    if runner.prober.kinds:
        ledger = probe_ledger(samples.values())
        extra["probes"] = {
            "calls": ledger.calls,
            "cost_usd": ledger.cost_usd,
            "checked_turns": ledger.checked_turns,
            "live_calls": caller.probe_calls,  # of this session, like extra["live_calls"]
            "spent_usd": round(caller.probe_spent, 6),
        }
    if runner.stopped:
        extra["stopped"] = runner.stopped
    return RunResult(
        run.path,
        runner.backend.name,
        len(samples),
        errors,
        scored,
        runner.new_samples,
        extra,
        failures=error_counts(samples.values()),
        policy=judging.policy.name if judging is not None else run.manifest().policy,
    )


def error_counts(samples: Iterable[SampleRecord]) -> tuple[ErrorCount, ...]:
    """The samples that ended in an error, by kind and status, most frequent first."""
    counts: dict[tuple[str, int | None], list[str]] = {}
    for sample in samples:
        for turn in sample.turns:
            if turn.error is not None:
                key = (turn.error.kind or turn.error.type, turn.error.status)
                counts.setdefault(key, []).append(turn.error.message)
    ranked = sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0][0], kv[0][1] or 0))
    return tuple(ErrorCount(k, s, len(msgs), msgs[0]) for (k, s), msgs in ranked)


def _provider_key(backend: Backend) -> str:
    return f"compat/{backend.model}" if backend.provider == "compat" else backend.provider


def _open_run(run_path: Path, wanted: Manifest, resume: bool) -> RunDir:
    if not (run_path / "manifest.json").exists():
        return RunDir.create(run_path, wanted)
    if not resume:
        raise RunDirError(
            f"{run_path} already holds a run; continue it with --resume or choose another --out"
        )
    run = RunDir.open(run_path)
    _check_resumable(run.manifest(), wanted, run_path)
    run.remove_partial_files()
    run.drop_samples(k for k, s in run.samples().items() if _worth_retrying(s))
    run.drop_orphan_scores()  # a sample line deleted to repair it is scored afresh
    return run


RETRIED_KINDS = frozenset({"rate_limit", "server", "timeout", "network", "auth", "config"})
"""Error kinds a resumed run tries again: the provider was busy or down, or the key or the
configuration was wrong (and may have been fixed). Refusals are outcomes, not errors."""


def _worth_retrying(sample: SampleRecord) -> bool:
    """Whether a resumed run holds this sample again: it ended in an error that a retry
    later, or a fixed key or model name, could cure (see `RETRIED_KINDS`)."""
    if sample.status != "error":
        return False
    error = next((t.error for t in sample.turns if t.error is not None), None)
    if error is None:
        return False
    return error.retryable or error.kind in RETRIED_KINDS or error.status in (401, 403, 404)


async def score_run(
    run_path: Path,
    suite: Suite,
    *,
    policy: str,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    config: Config | None = None,
    name: str | None = None,
    force: bool = False,
    concurrency: int = 8,
    progress: RunProgress | None = None,
) -> int:
    """Score (or re-score with `force`) every sample of a run under `policy`; returns the
    number of samples scored now. Samples are read, never written.

    Scores go to `scores/<name>.jsonl` (`name` defaults to the policy's). Scores already
    there made with other judge versions or options are not mixed with new ones: that
    is an error unless `force` replaces them. A policy with a `volatile` judge (the human
    judge, whose labels change) always re-scores every sample. `concurrency` samples are
    judged at once.
    """
    run = RunDir.open(run_path)
    judging = Judging.of(policy, options, config)
    judging.label = name
    label = judging.name
    try:
        problems = vocabulary_problems(
            suite.cases, vocabulary_kinds(judging.policy, judging=judging)
        )
        if problems:
            raise CaseFileError(problems)
        # a volatile judge (people's labels) answers from data that changes after scoring
        replace = force or any(j.volatile for j in judging.instances.values())
        have = {} if replace else run.scores(label)
        _check_same_judges(have, judging, run.scores_path(label))
        cases = {c.id: c for c in suite.cases}
        samples = run.samples()
        missing = [c for c in {s.case_id for s in samples.values()} if c not in cases]
        if missing:
            raise RunDirError(
                f"{run_path}: samples of cases not in suite '{suite.name}': "
                f"{', '.join(sorted(missing)[:5])}"
            )
        run.remove_stale_drafts()
        progress = progress or RunProgress(enabled=False)
        todo = [s for k, s in samples.items() if k not in have]
        task = progress.add(f"score {label}", len(samples), len(samples) - len(todo))
        slots = asyncio.Semaphore(max(1, concurrency))
        lock = asyncio.Lock()

        async def one(rec: SampleRecord, into: ScoresDraft | None) -> None:
            async with slots:
                scored = await score_sample(cases[rec.case_id], rec, run, judging)
            async with lock:
                write = run.append_score if into is None else into.append
                await asyncio.to_thread(write, scored)
            progress.advance(task)

        if replace:  # a whole new file, swapped in at the end: the old one is never truncated
            with run.draft_scores(label) as draft:
                await asyncio.gather(*(one(rec, draft) for rec in todo))
        else:
            await asyncio.gather(*(one(rec, None) for rec in todo))
        return len(todo)
    finally:
        await judging.aclose()


def _check_same_judges(have: Mapping[str, ScoreRecord], judging: Judging, path: Path) -> None:
    """Refuse to append scores made by other judges (or options) to an existing file."""
    first = next(iter(have.values()), None)
    if first is None:
        return
    if first.judges != judging.versions() or first.judge_options != judging.options():
        theirs = ", ".join(f"{k}@{v}" for k, v in sorted(first.judges.items()))
        raise RunDirError(
            f"{path} holds scores made by other judges or options ({theirs}); "
            "re-score with --force to replace them, or --as NAME to keep both"
        )

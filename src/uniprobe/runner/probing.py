"""Probes at a turn: asking the model, in a branch of its conversation, what the image
should show (knows) and what the image it drew shows (sees).

Rules (with `--probe`; for every turn whose `expect` is non-empty):

* **knows** is asked before the turn is sent: the conversation so far, then one user
  message holding the turn's request and the questions (`knows_prompt`), with the turn's
  attached images, instead of the drawing. **sees** is asked after the turn's reply: the
  conversation including the new exchange, then the questions about the latest image
  (`sees_prompt`). A turn whose checks yield no question asks nothing (no record); sees
  with no image anywhere in the conversation is recorded `skipped`, without a call.
* A probe is one call through the runner's caller (`Backend.ask`: cache, limits,
  retries, budget), with the questions' JSON schema. Its reply is read strictly
  (`read_answers`): a refusal is `refused`; a reply that does not follow the format is
  `unparsed` (the reason kept); a `BackendError` or any other exception of the backend
  is `error` (the `ErrorRecord` kept; `--resume` asks again); else `answered`. A
  `UniprobeError` that is not a backend's failure (a bad configuration, a damaged run
  folder) stops the run, as it does for a turn.
* Probes are branches: nothing of them reaches the session, so the main conversation is
  the same with or without them. At most two calls per checked turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from uniprobe.backends.base import Conversation, ImageData, Reply, SessionContext, UserTurn
from uniprobe.cases.schema import Case
from uniprobe.errors import BackendError, UniprobeError
from uniprobe.probes.questions import (
    ProbeQuestion,
    ProbeReplyError,
    answer_schema,
    knows_prompt,
    probe_questions,
    question_records,
    read_answers,
    sees_prompt,
)
from uniprobe.runner.replies import conversation_of, image_data, reply_record
from uniprobe.store.records import ErrorRecord, ProbeKind, ProbeRecord, SampleRecord
from uniprobe.store.rundir import RunDir

__all__ = [
    "Ask",
    "ProbeLedger",
    "Prober",
    "error_record",
    "has_error",
    "has_image",
    "probe_ledger",
]

Ask = Callable[[Conversation, UserTurn, Mapping[str, Any] | None], Awaitable[Reply]]
"""The caller's path to `Backend.ask`: (conversation, turn, schema) -> reply."""

NO_IMAGE = "no image in the conversation to ask about"
"""Why a sees probe was skipped."""


def error_record(exc: BaseException) -> ErrorRecord:
    """A failed call as the run records it."""
    if isinstance(exc, BackendError):
        return ErrorRecord(
            type=type(exc).__name__,
            message=str(exc),
            status=exc.status,
            retryable=exc.retryable,
            kind=exc.kind,
        )
    return ErrorRecord(type=type(exc).__name__, message=str(exc) or repr(exc))


def has_image(conversation: Conversation) -> bool:
    """Whether any image was attached or drawn in `conversation`."""
    return any(e.turn.images or e.reply.images for e in conversation.history)


@dataclass(frozen=True)
class ProbeLedger:
    """What the probes of some samples cost, as recorded (calls the cache answered
    included, at the cost recorded with them)."""

    calls: int
    """Probe calls made (a skipped probe makes none)."""
    cost_usd: float
    """Their known cost."""
    checked_turns: int
    """Turns at which a probe was asked or skipped (turns with checks)."""

    @property
    def per_turn(self) -> float | None:
        """Calls per checked turn (at most 2: knows and sees), None without one."""
        return self.calls / self.checked_turns if self.checked_turns else None


def probe_ledger(samples: Iterable[SampleRecord]) -> ProbeLedger:
    """The probe calls of `samples`, their cost and the turns they were asked at."""
    calls, cost, checked = 0, 0.0, 0
    for sample in samples:
        for turn in sample.turns:
            checked += bool(turn.probes)
            for probe in turn.probes:
                calls += probe.status != "skipped"
                cost += (probe.reply.cost_usd or 0.0) if probe.reply else 0.0
    return ProbeLedger(calls, round(cost, 6), checked)


def has_error(sample: SampleRecord) -> bool:
    """Whether a complete sample holds a probe whose call failed (to ask again)."""
    return sample.status == "complete" and any(
        p.status == "error" for t in sample.turns for p in t.probes
    )


class Prober:
    """Asks the probes of one run (`kinds`) through `ask`, keeping replies in `run`."""

    def __init__(self, ask: Ask, run: RunDir, kinds: Sequence[ProbeKind]) -> None:
        self.ask, self.run, self.kinds = ask, run, tuple(kinds)

    def asks(self, case: Case, index: int, kind: ProbeKind) -> bool:
        """Whether the run asks `kind` at turn `index` (1-based) of `case`."""
        return kind in self.kinds and bool(case.turns[index - 1].expect)

    async def knows(
        self,
        case: Case,
        index: int,
        conversation: Conversation,
        attached: tuple[ImageData, ...],
    ) -> ProbeRecord | None:
        """The knows probe of turn `index`, given the conversation before it."""
        if not self.asks(case, index, "knows"):
            return None
        questions = probe_questions(case, index, "knows")
        if not questions:
            return None
        prompt = knows_prompt(case.turns[index - 1].user, questions)
        turn = UserTurn(index, prompt, attached)
        return await self._ask("knows", questions, conversation, turn)

    async def sees(self, case: Case, index: int, conversation: Conversation) -> ProbeRecord | None:
        """The sees probe of turn `index`, given the conversation including its reply."""
        if not self.asks(case, index, "sees"):
            return None
        questions = probe_questions(case, index, "sees")
        if not questions:
            return None
        prompt = sees_prompt(questions)
        if not has_image(conversation):
            return ProbeRecord(
                kind="sees",
                status="skipped",
                questions=question_records(questions),
                prompt=prompt,
                reason=NO_IMAGE,
            )
        return await self._ask("sees", questions, conversation, UserTurn(index, prompt))

    async def reask(
        self, case: Case, sample: SampleRecord, context: SessionContext
    ) -> SampleRecord:
        """`sample` with each probe whose call failed asked again, in its place, from the
        conversation rebuilt out of the run folder (`conversation_of`); the other probes
        and every turn stay as they are."""
        turns = []
        for record in sample.turns:
            probes = []
            for probe in record.probes:
                again = None
                if probe.status == "error":
                    again = await self._again(case, sample, context, record.index, probe.kind)
                probes.append(again or probe)
            turns.append(record.model_copy(update={"probes": probes}))
        return sample.model_copy(update={"turns": turns})

    async def _again(
        self, case: Case, sample: SampleRecord, context: SessionContext, index: int, kind: ProbeKind
    ) -> ProbeRecord | None:
        if kind == "knows":
            before = conversation_of(self.run, sample, context, index - 1)
            refs = sample.turns[index - 1].attached
            attached = tuple(image_data(self.run, ref, sample.key) for ref in refs)
            return await self.knows(case, index, before, attached)
        return await self.sees(case, index, conversation_of(self.run, sample, context, index))

    async def _ask(
        self,
        kind: ProbeKind,
        questions: list[ProbeQuestion],
        conversation: Conversation,
        turn: UserTurn,
    ) -> ProbeRecord:
        asked = ProbeRecord(
            kind=kind, status="error", questions=question_records(questions), prompt=turn.text
        )
        t0 = time.monotonic()
        try:
            reply = await self.ask(conversation, turn, answer_schema(questions))
        except BackendError as exc:
            return asked.model_copy(update={"error": error_record(exc)})
        except UniprobeError:
            raise
        except Exception as exc:  # a backend bug is still a result: record it
            return asked.model_copy(update={"error": error_record(exc)})
        seconds = time.monotonic() - t0
        record = await asyncio.to_thread(reply_record, self.run, reply, seconds)
        asked = asked.model_copy(update={"reply": record})
        if reply.refusal is not None:
            return asked.model_copy(update={"status": "refused", "reason": reply.refusal})
        try:
            answers = read_answers(reply.text or "", questions)
        except ProbeReplyError as exc:
            return asked.model_copy(update={"status": "unparsed", "reason": str(exc)})
        return asked.model_copy(update={"status": "answered", "answers": answers})

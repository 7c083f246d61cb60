"""Bring your own images: turn a folder of answers made elsewhere into a scorable run.

The folder holds `<case id>/turn-<n>.png` (or .jpg/.jpeg/.webp) for the image a model
made in turn n, or `<case id>/turn-<n>.txt` for a text-only answer (the layout
`uniprobe cases prompts` documents). Every required turn must be answered and every
file must belong to a turn: missing and unexpected files are reported by name. With
`allow_missing`, missing turns are recorded as answered with no image (scored with
the canvas rule and tagged `no_image`) and unexpected files are listed as not imported.

Every answer is read before anything is written (`uniprobe.runner.answers`: images that
are images, not truncated and not huge; text that is UTF-8): a problem is a line naming
the file, and no run folder is made. One problem is one line; several are listed under
a first line that counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from uniprobe._version import __version__
from uniprobe.backends.base import ImageKind
from uniprobe.cases.export import ANSWER_SUFFIXES, answer_stem
from uniprobe.cases.images import case_image_bytes
from uniprobe.cases.schema import Suite
from uniprobe.errors import RunDirError, UsageError
from uniprobe.runner.answers import answer_problem, read_text_answer
from uniprobe.runner.run import RunResult, run_dir_name, seed_for, suite_info
from uniprobe.store.records import (
    ImageRef,
    Manifest,
    ModelInfo,
    ReplyRecord,
    SampleRecord,
    TurnRecord,
    UsageRecord,
)
from uniprobe.store.rundir import RunDir

__all__ = ["ImportPlan", "import_answers", "plan_import"]

_ANSWER = re.compile(r"^turn-(\d+)(\.[A-Za-z]+)$")


@dataclass(frozen=True)
class ImportPlan:
    """What a folder holds, matched against a suite."""

    answers: dict[tuple[str, int], Path]
    missing: list[str]
    unexpected: list[str]
    duplicates: list[str]


def plan_import(folder: Path, suite: Suite) -> ImportPlan:
    """Match every file of `folder` to a (case, turn) of `suite`."""
    if not folder.exists():
        raise UsageError(f"{folder}: no such folder of answers")
    if not folder.is_dir():
        raise UsageError(
            f"{folder}: a file, not a folder of answers (<case id>/turn-<n>.png or .txt)"
        )
    cases = {c.id: c for c in suite.cases}
    answers: dict[tuple[str, int], Path] = {}
    unexpected, duplicates = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if rel.name.startswith("."):
            continue  # hidden files (editor swap files, .DS_Store) are not answers
        m = _ANSWER.match(rel.name)
        case = cases.get(rel.parent.as_posix())
        if (
            m is None
            or case is None
            or m.group(2).lower() not in (*ANSWER_SUFFIXES, ".txt")
            or not 1 <= int(m.group(1)) <= len(case.turns)
        ):
            unexpected.append(rel.as_posix())
            continue
        key = (case.id, int(m.group(1)))
        if key in answers:
            duplicates.append(rel.as_posix())
            continue
        answers[key] = path
    missing = [
        f"{answer_stem(c.id, t)}{{{','.join((*ANSWER_SUFFIXES, '.txt'))}}}"
        for c in suite.cases
        for t, turn in enumerate(c.turns, start=1)
        if turn.expect and (c.id, t) not in answers
    ]
    return ImportPlan(answers, missing, unexpected, duplicates)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def import_answers(
    folder: Path,
    suite: Suite,
    *,
    model: str,
    out: Path,
    allow_missing: bool = False,
    policy: str = "reference",
    images: ImageKind = "any",
) -> tuple[RunResult, ImportPlan]:
    """Write a run of `model` from the answers in `folder` (not scored: see `score_run`).
    The manifest's model options record the folder and the kind of `images` declared."""
    if "/" not in model:
        raise UsageError(f"name the model as provider/name, e.g. import/{model}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"out: {out} is a file, not a folder for runs")
    plan = plan_import(folder, suite)
    problems = [f"{folder}: two answers for one turn: {d}" for d in plan.duplicates]
    if not allow_missing:
        problems += [f"{folder}: missing answer: {m}" for m in plan.missing]
        problems += [f"{folder}: unexpected file: {u}" for u in plan.unexpected]
    problems += [p for p in map(answer_problem, plan.answers.values()) if p is not None]
    if len(problems) == 1:
        raise UsageError(problems[0])
    if problems:
        hint = " (use --allow-missing to import anyway)" if plan.missing else ""
        raise UsageError(
            f"{len(problems)} problem(s) importing {folder}{hint}:\n  " + "\n  ".join(problems)
        )
    path = out / run_dir_name(suite.name, model)
    run = RunDir.create(
        path,
        Manifest(
            run_id=path.name,
            uniprobe_version=__version__,
            suite=suite_info(suite),
            model=ModelInfo(
                name=model,
                options={"imported_from": str(folder.resolve()), "images": images},
                protocol="imported",
            ),
            epochs=1,
            policy=policy,
            created=_now(),
        ),
    )
    run.keep_suite(suite)
    sources: dict[tuple[str, str], ImageRef] = {}
    for case in suite.cases:
        turns = []
        for index, turn in enumerate(case.turns, start=1):
            attached = []
            for name in turn.attach:
                if (case.id, name) not in sources:
                    sources[(case.id, name)] = run.put_image(case_image_bytes(case, name))
                attached.append(sources[(case.id, name)])
            answer = plan.answers.get((case.id, index))
            turns.append(
                TurnRecord(
                    index=index,
                    user=turn.user,
                    attached=attached,
                    reply=_reply(run, answer, required=bool(turn.expect)),
                )
            )
        run.append_sample(
            SampleRecord(
                case_id=case.id,
                epoch=0,
                seed=seed_for(case.id, 0),
                model=model,
                protocol="imported",
                turns=turns,
                status="complete",
                started=_now(),
                finished=_now(),
            )
        )
    m = run.manifest()
    m.status, m.finished = "finished", _now()
    m.totals.samples = m.totals.complete = len(suite)
    m.totals.images = len(plan.answers) - sum(p.suffix == ".txt" for p in plan.answers.values())
    run.write_manifest(m)
    return RunResult(path, model, len(suite), 0, 0, len(suite)), plan


def _reply(run: RunDir, answer: Path | None, *, required: bool) -> ReplyRecord:
    if answer is None:
        return ReplyRecord(raw_meta={"missing": True} if required else {"not_answered": True})
    if answer.suffix == ".txt":
        return ReplyRecord(text=read_text_answer(answer))
    try:
        ref = run.put_image(answer.read_bytes())
    except RunDirError as exc:
        raise RunDirError(f"{answer}: {exc}") from None
    return ReplyRecord(images=[ref], usage=UsageRecord(images=1), raw_meta={"file": answer.name})

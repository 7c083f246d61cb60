"""Constant-strategy floors: what a model earns on a suite without understanding it.

Each strategy answers every turn of every case by a fixed rule, without reading the
prompt; its answers go through the public import path (`uniprobe.export_prompts` ->
answer files -> `uniprobe.import_run` with the `reference` policy and synthetic images
-> `uniprobe.summary`), so they are judged exactly as a model's would be. The figure
is the suite's headline metric as `uniprobe.summary` reports it (group accuracy for a
subtype whose cases have contrast groups, else strict accuracy; a family and the whole
suite count groups and ungrouped cases as units), with strict accuracy beside it in
parentheses, per subtype, per family and overall. Issue 12 requires every subtype's
headline to be at most 10% for every strategy; headlines above 10% are marked `*`
(nothing is asserted here: the test of that limit comes with the new suite).

Strategies (every turn is answered, required or not):

* `text-only`: every turn answered with a short text ("Done."), no image.
* `refuse`: every turn answered with "I can't help with that."
* `never-act`: turn 1 answered as `reference/oracle` answers it (its image, or its
  text when it draws none); every later turn answered with the latest earlier image
  of the conversation unchanged. When turn 1 attaches a source image, turn 1 is the
  request itself (an edit), not a setup: the oracle's answer would be acting, so it
  is answered with that source unchanged. (With this rule `never-act` and `unchanged`
  give the same answers; both are kept as the issue names both.) A later turn with
  no earlier image (turn 1 set a rule and was answered in words, and nothing was
  attached) gets the text answer of `text-only`: there is nothing to keep, and
  drawing would be acting.
* `unchanged`: every turn answered with the latest earlier image of the conversation:
  a source image attached to this turn or an earlier one, or the image returned in an
  earlier turn, whichever came last. A first turn with no earlier image gets
  `never-act`'s answer (the oracle's turn 1); a later turn with none, the text answer.
* `always-act`: `reference/literal`'s answers (it always carries out the literal
  request), run with `uniprobe.run` and its reply images and texts then imported like
  the others' (so all five are scored by one path).

    python benchmarks/floors.py [--suite core] [--out DIR]

prints the table (rows: families, their subtypes, overall; columns: strategies; cells
"headline (strict)" in %, the headline metric of each row after its name), then per
strategy its overall headline and strict accuracy and how many subtypes' headlines
exceed 10%.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import uniprobe
from uniprobe.cases.generate.common import case_yaml
from uniprobe.report.metrics import GroupMetrics, RunSummary
from uniprobe.store.records import ReplyRecord
from uniprobe.store.rundir import RunDir

STRATEGIES = ("text-only", "refuse", "unchanged", "never-act", "always-act")
"""The constant strategies, in table order."""
TEXT = "Done."
"""The text-only answer."""
REFUSAL = "I can't help with that."
"""The refusal answer."""
LIMIT = 0.10
"""Issue 12: no strategy may score more than this on any subtype."""


@dataclass(frozen=True)
class Answer:
    """One turn's answer: image bytes (with their file suffix) or a text."""

    image: bytes | None = None
    suffix: str = ".png"
    text: str | None = None


@dataclass(frozen=True)
class PromptTurn:
    """One line of prompts.jsonl: a turn, the source images it attaches, where its answer goes."""

    case_id: str
    turn: int
    attach: tuple[Path, ...]
    answer: str


@dataclass(frozen=True)
class Floors:
    """Each strategy's summary, and where its answers and run are."""

    summaries: dict[str, RunSummary]
    answers: dict[str, Path]


def read_prompts(prompts: Path) -> dict[str, list[PromptTurn]]:
    """The turns of `prompts.jsonl` by case, in order; attachments as absolute paths."""
    cases: dict[str, list[PromptTurn]] = {}
    for line in prompts.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        cases.setdefault(row["case_id"], []).append(
            PromptTurn(
                row["case_id"],
                int(row["turn"]),
                tuple(prompts.parent / a for a in row["attach"]),
                row["answer"],
            )
        )
    return {c: sorted(ts, key=lambda t: t.turn) for c, ts in cases.items()}


def _as_answer(run: RunDir, reply: ReplyRecord | None) -> Answer | None:
    if reply is None:
        return None
    if reply.images:
        ref = reply.images[0]
        suffix = {"image/jpeg": ".jpg", "image/webp": ".webp"}.get(ref.mime, ".png")
        return Answer(image=run.image_path(ref).read_bytes(), suffix=suffix)
    text = reply.text or reply.refusal
    return Answer(text=text) if text else None


def reference_answers(run_path: Path) -> dict[tuple[str, int], Answer]:
    """Every (case, turn) answer of a reference run (epoch 0), as files to import."""
    run = RunDir.open(run_path)
    out: dict[tuple[str, int], Answer] = {}
    for sample in run.samples().values():
        if sample.epoch != 0:
            continue
        for turn in sample.turns:
            answer = _as_answer(run, turn.reply)
            if answer is not None:
                out[(sample.case_id, turn.index)] = answer
    return out


def strategy_answers(
    strategy: str,
    turns: Sequence[PromptTurn],
    oracle: dict[tuple[str, int], Answer],
    literal: dict[tuple[str, int], Answer],
) -> dict[int, Answer]:
    """One case's answers under `strategy` (module docstring), by turn."""
    out: dict[int, Answer] = {}
    last: Answer | None = None  # the latest image of the conversation so far
    for t in turns:
        if t.attach:
            src = t.attach[-1]
            last = Answer(image=src.read_bytes(), suffix=src.suffix.lower())
        if strategy == "text-only":
            answer: Answer | None = Answer(text=TEXT)
        elif strategy == "refuse":
            answer = Answer(text=REFUSAL)
        elif strategy == "always-act":
            answer = literal.get((t.case_id, t.turn))
        elif t.turn == 1 and last is None:
            answer = oracle.get((t.case_id, 1), Answer(text=TEXT))
        elif strategy in ("never-act", "unchanged"):
            answer = last if last is not None else Answer(text=TEXT)
        else:
            raise ValueError(f"unknown strategy {strategy!r}")
        if answer is None:
            continue
        out[t.turn] = answer
        if answer.image is not None:
            last = answer
    return out


def write_answers(
    folder: Path, prompts: dict[str, list[PromptTurn]], answers: dict[str, dict[int, Answer]]
) -> None:
    """Write answer files as `uniprobe import` reads them: <case>/turn-<n>.png|.txt."""
    for case_id, turns in prompts.items():
        for t in turns:
            a = answers[case_id].get(t.turn)
            if a is None:
                continue
            target = folder / (t.answer + (a.suffix if a.image is not None else ".txt"))
            target.parent.mkdir(parents=True, exist_ok=True)
            if a.image is not None:
                target.write_bytes(a.image)
            else:
                target.write_text(a.text or "", encoding="utf-8")


def measure(suite: str | Path, out: Path, strategies: Sequence[str] = STRATEGIES) -> Floors:
    """Run the references, write each strategy's answers, import and summarise them."""
    prompts = read_prompts(uniprobe.export_prompts(suite, out / "prompts"))
    oracle_run, literal_run = uniprobe.run(
        suite, ["reference/oracle", "reference/literal"], out=out / "references"
    )
    oracle = reference_answers(oracle_run.path)
    literal = reference_answers(literal_run.path)
    summaries: dict[str, RunSummary] = {}
    folders: dict[str, Path] = {}
    for strategy in strategies:
        answers = {c: strategy_answers(strategy, ts, oracle, literal) for c, ts in prompts.items()}
        folder = out / "answers" / strategy
        write_answers(folder, prompts, answers)
        result, _ = uniprobe.import_run(
            folder,
            suite,
            model=f"import/{strategy}",
            out=out / "runs",
            policy="reference",
            images="synthetic",
            allow_missing=strategy == "always-act",
        )
        summaries[strategy] = uniprobe.summary(result.path)
        folders[strategy] = folder
    return Floors(summaries, folders)


def sample(suite: str | Path, units: int, out: Path) -> Path:
    """A suite file of the first `units` units of every subtype (a unit: a contrast group
    with all its members, or an ungrouped case), for a quick floors check."""
    taken: dict[str, list[str]] = {}
    cases = []
    for case in uniprobe.load_suite(suite).cases:
        unit = case.group or case.id
        seen = taken.setdefault(f"{case.family}/{case.subtype}", [])
        if unit not in seen and len(seen) >= units:
            continue
        if unit not in seen:
            seen.append(unit)
        cases.append(case)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(case_yaml(cases), encoding="utf-8")
    return out


def over_limit(floors: Floors) -> list[tuple[str, str, float]]:
    """(strategy, subtype, headline) of every cell above `LIMIT`."""
    return [
        (name, key, value)
        for name, s in floors.summaries.items()
        for key, g in s.subtypes.items()
        if (value := headline(g) or 0.0) > LIMIT
    ]


def strict(group: GroupMetrics | None) -> float | None:
    """A row's strict accuracy (None when nothing was decided)."""
    return None if group is None else group.strict_accuracy.value


def headline(group: GroupMetrics | None) -> float | None:
    """A row's headline (None when nothing was decided)."""
    return None if group is None else group.headline.value


def cell(value: float | None) -> str:
    """A percentage, marked `*` above the limit."""
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}{'*' if value > LIMIT else ''}"


def pair(group: GroupMetrics | None) -> str:
    """'headline (strict)': the headline marked `*` above the limit, strict beside it."""
    value = strict(group)
    beside = "n/a" if value is None else f"{100 * value:.1f}"
    return f"{cell(headline(group))} ({beside})"


def table(floors: Floors) -> list[str]:
    """The printed lines: rows of families, subtypes and overall; a line per strategy."""
    names = list(floors.summaries)
    first = next(iter(floors.summaries.values()))
    width = max(len(k) for k in [*first.subtypes, "overall"]) + 11
    lines = ["".ljust(width) + "".join(n.rjust(16) for n in names)]

    def row(label: str, groups: list[GroupMetrics | None]) -> str:
        metric = next((g.headline_metric for g in groups if g is not None), "")
        return f"{label} [{metric}]".ljust(width) + "".join(pair(g).rjust(16) for g in groups)

    for family in first.families:
        lines.append(row(family, [s.families.get(family) for s in floors.summaries.values()]))
        for key in first.subtypes:
            if key.split("/")[0] == family:
                lines.append(
                    row("  " + key, [s.subtypes.get(key) for s in floors.summaries.values()])
                )
    lines.append(row("overall", [s.overall for s in floors.summaries.values()]))
    lines.append("")
    for name, s in floors.summaries.items():
        over = sum((headline(g) or 0) > LIMIT for g in s.subtypes.values())
        lines.append(
            f"{name}: overall headline {cell(headline(s.overall)).rstrip('*')}%, "
            f"strict accuracy {cell(strict(s.overall)).rstrip('*')}%; "
            f"{over}/{len(s.subtypes)} subtypes' headlines above {100 * LIMIT:.0f}%"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="core", help="suite name or file (default: core)")
    parser.add_argument("--out", help="keep the work here (default: a temporary folder)")
    parser.add_argument(
        "--sample", type=int, metavar="K", help="only the first K groups or cases per subtype"
    )
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="uniprobe-floors-"))
    start = time.perf_counter()
    suite = args.suite
    if args.sample:
        suite = sample(suite, args.sample, out / "sample" / "suite.yaml")
    floors = measure(suite, out)
    wall = time.perf_counter() - start
    first = next(iter(floors.summaries.values()))
    print(
        f"suite {args.suite}: {first.overall.cases} cases, {first.overall.groups} groups; "
        "headline (strict accuracy) in %, * headline above 10%"
    )
    print("\n".join(table(floors)))
    print(f"wall time {wall:.0f} s")
    if not args.out:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()

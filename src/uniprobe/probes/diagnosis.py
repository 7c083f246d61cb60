"""The diagnosis: per check, does the model know what to draw, draw it, and see what it drew?

The rules, stated once (README's "Understanding: knows, draws, sees" repeats them):

* **Rows.** One row per check a probe asks about (`questions.check_paths`: the turn's own
  checks judged on its canvas); of a conditional, the checks of the branch the judge
  selected (the verdict's children after the condition). A conditional whose condition
  could not be judged (or whose turn got no reply) is one row, kind `conditional`,
  outcome unknown. A check's recorded question is found by its words, else (reworded
  since the run) by its place among the questions that serve the check.
* **draws** is the judge's verdict on the check: pass, fail or unknown.
* **knows** evaluates the check on the answer the model stated before drawing
  (`stated.holds`): `right` or `wrong`; `literal_belief` when it is wrong and the
  check's literal variant holds on the stated answer (for a relation or position, on
  its answer to the literal question). A count that `matches` an earlier image is
  knows-unknown unless its verdict's evidence gives the expected count. `not_asked`
  without a knows probe for the check (no probe, a probe skipped, no question for
  it); `unknown` when the probe was refused, unparsed or failed, or the answer was
  "unsure".
* **sees** evaluates the check on the model's description of its own image and compares
  with the judge: `agree` or `disagree` — `hallucinated_compliance` when the model's
  words pass a check the judge fails, `missed_success` the reverse. `unknown` as for
  knows, and when the judge has no verdict to compare with.
* **Outcome**, first that applies: the judge unknown, or any asked probe unknown ->
  `unknown`; knows wrong -> `doesnt_know`; sees disagree -> `cant_see`; draws fail ->
  `cant_draw`; else `unified`. A probe not asked is skipped in the rule.
* **Rates.** P(knows) = right / (right + wrong); P(draws) = pass / (pass + fail);
  P(draws | knows) the same among knows-right rows; P(sees) = agree / (agree +
  disagree); each with Wilson's interval at the effective size n / deff, the design
  effect of checks clustered in samples (`uniprobe.statistics.cluster_wilson`). The
  gap P(knows) − P(draws) is taken over the rows where both are known, with a paired
  bootstrap over samples (`paired_bootstrap`). Outcome shares are of the diagnosed
  (non-unknown) rows; the `unknown` entry is a share of all rows.
* **Contrast groups.** Most questions expect "yes", so P(knows) and P(sees) reward a
  model that says "yes" to everything. As the group headline does for drawings, a
  *contrast group* (the cases of one `group`, whose expectations differ where the
  understanding matters) counts as known only when every knows-asked check of every
  member, in one epoch, is `right` (P(knows, groups)), and as seen only when every
  sees-asked check agrees (P(sees, groups)); a group with an unknown answer, or a
  member without rows, is left out. A constant answerer cannot pass both sides of a
  contrast.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeVar

from uniprobe.cases.checks import Check, Conditional, Position, Relation
from uniprobe.cases.schema import Case
from uniprobe.errors import RunDirError
from uniprobe.probes.questions import UNSURE, question_for
from uniprobe.probes.stated import holds
from uniprobe.statistics import cluster_wilson, paired_bootstrap
from uniprobe.store.records import (
    ProbeAnswer,
    ProbeKind,
    ProbeRecord,
    SampleRecord,
    ScoreRecord,
    Status,
    Verdict,
)
from uniprobe.store.rundir import RunDir
from uniprobe.store.suites import suite_of_run

__all__ = [
    "OUTCOMES",
    "CheckDiagnosis",
    "Diagnosed",
    "DiagnosisSummary",
    "KnowsResult",
    "Rate",
    "SeesResult",
    "diagnose_run",
    "diagnose_sample",
    "format_diagnosis",
    "summarize",
    "summarize_by",
]

KnowsResult = Literal["right", "wrong", "unknown", "not_asked"]
SeesResult = Literal["agree", "disagree", "unknown", "not_asked"]
Diagnosed = Literal["doesnt_know", "cant_draw", "cant_see", "unified", "unknown"]
OUTCOMES: tuple[Diagnosed, ...] = ("doesnt_know", "cant_draw", "cant_see", "unified")
"""The four named outcomes (besides unknown), in the order they are shown."""


@dataclass(frozen=True)
class CheckDiagnosis:
    """One check of one sample: knows x draws x sees, and what that makes of it."""

    case_id: str
    epoch: int
    turn: int
    path: str
    """The check's verdict path."""
    check_kind: str
    family: str
    subtype: str
    role: str
    knows: KnowsResult
    draws: Status
    sees: SeesResult
    outcome: Diagnosed
    tags: tuple[str, ...]
    """literal_belief, hallucinated_compliance, missed_success."""
    stated_before: ProbeAnswer
    """The knows answer (None if none)."""
    stated_after: ProbeAnswer
    """The sees answer (None if none)."""
    judge_reason: str
    """The verdict's reason."""
    reason: str
    """Why knows, sees or the outcome is unknown ("" otherwise)."""
    group: str | None = None
    """The case's contrast group, if it has one."""


R = TypeVar("R", KnowsResult, SeesResult)


@dataclass(frozen=True)
class _Said(Generic[R]):
    """What one probe says about one check."""

    result: R
    answer: ProbeAnswer = None
    reason: str = ""
    tag: str | None = None


# --- one sample ---------------------------------------------------------------------------------


def _flatten(verdicts: Sequence[Verdict]) -> dict[str, Verdict]:
    out: dict[str, Verdict] = {}
    for v in verdicts:
        out[v.path] = v
        out.update(_flatten(v.children))
    return out


_EXPECTED = re.compile(r"^= (\d+)$")


def _expected_count(verdict: Verdict | None) -> int | None:
    """The count a `matches` check asked for, as its verdict's evidence gives it."""
    raw = verdict.evidence.get("expected") if verdict is not None else None
    found = _EXPECTED.match(raw) if isinstance(raw, str) else None
    return int(found.group(1)) if found else None


def _answer(
    probe: ProbeRecord | None, path: str, texts: Sequence[str], which: int = 0
) -> tuple[Literal["answer", "not_asked", "unknown"], ProbeAnswer, str]:
    """The recorded answer to the question `texts[which]` serving `path` in `probe`:
    found by its words, else (worded otherwise when the run was made) by its place
    among the questions that serve the check, when their number is as expected."""
    if probe is None or probe.status == "skipped":
        return "not_asked", None, ""
    serving = [q for q in probe.questions if path in q.paths]
    asked = [q for q in serving if q.text == texts[which]]
    if not asked and len(serving) == len(texts):
        asked = [serving[which]]
    if not asked:
        return "not_asked", None, ""
    if probe.status != "answered":
        why = probe.reason or (probe.error.message if probe.error else "")
        return "unknown", None, f"{probe.kind} probe {probe.status}" + (f": {why}" if why else "")
    value = probe.answers.get(asked[0].qid)
    if value is None or value == UNSURE:
        return "unknown", value, f"{probe.kind}: the model is unsure ({asked[0].qid})"
    return "answer", value, ""


def _knows(
    case: Case, turn: int, path: str, check: Check, probe: ProbeRecord | None, expected: int | None
) -> _Said[KnowsResult]:
    texts = [t for t, _, _ in question_for(case, turn, check, "knows")]
    got, value, why = _answer(probe, path, texts)
    if got != "answer":
        return _Said[KnowsResult](got, value, why)
    ok = holds(check, value, "knows", expected=expected)
    if ok is None:
        return _Said("unknown", value, "knows: the stated answer does not decide the check")
    if ok:
        return _Said("right", value)
    variant = None if check.literal_negates else check.literal_variant()
    literal_value = value
    if variant is not None and isinstance(check, Relation | Position) and len(texts) > 1:
        _, literal_value, _ = _answer(probe, path, texts, 1)
    literal = variant is not None and holds(variant, literal_value, "knows") is True
    return _Said("wrong", value, tag="literal_belief" if literal else None)


def _sees(
    case: Case,
    turn: int,
    path: str,
    check: Check,
    probe: ProbeRecord | None,
    verdict: Verdict | None,
) -> _Said[SeesResult]:
    texts = [t for t, _, _ in question_for(case, turn, check, "sees")]
    if not texts:
        return _Said[SeesResult]("not_asked")
    got, value, why = _answer(probe, path, texts)
    if got != "answer":
        return _Said[SeesResult](got, value, why)
    said = holds(check, value, "sees", expected=_expected_count(verdict))
    if said is None:
        return _Said("unknown", value, "sees: the description does not decide the check")
    if verdict is None or verdict.status == "unknown":
        return _Said("unknown", value, "sees: no verdict to compare the description with")
    judged = verdict.status == "pass"
    if said == judged:
        return _Said("agree", value)
    return _Said("disagree", value, tag="hallucinated_compliance" if said else "missed_success")


def _outcome(knows: str, draws: Status, sees: str) -> Diagnosed:
    if "unknown" in (knows, draws, sees):
        return "unknown"
    if knows == "wrong":
        return "doesnt_know"
    if sees == "disagree":
        return "cant_see"
    return "cant_draw" if draws == "fail" else "unified"


class _Sample:
    """The diagnosis of one sample, check by check."""

    def __init__(self, case: Case, sample: SampleRecord, score: ScoreRecord) -> None:
        self.case, self.sample = case, sample
        self.verdicts = _flatten(score.verdicts)

    def _probes(self, turn: int) -> dict[ProbeKind, ProbeRecord]:
        if len(self.sample.turns) < turn:
            return {}
        return {p.kind: p for p in self.sample.turns[turn - 1].probes}

    def row(self, turn: int, path: str, check: Check, role: str) -> CheckDiagnosis:
        probes = self._probes(turn)
        verdict = self.verdicts.get(path)
        draws: Status = verdict.status if verdict is not None else "unknown"
        expected = _expected_count(verdict)
        k = _knows(self.case, turn, path, check, probes.get("knows"), expected)
        s = _sees(self.case, turn, path, check, probes.get("sees"), verdict)
        reasons = [r for r, res in ((k.reason, k.result), (s.reason, s.result)) if res == "unknown"]
        if draws == "unknown":
            reasons.insert(
                0, f"the judge: {verdict.reason}" if verdict else "no verdict for this check"
            )
        return self._make(turn, path, check.kind, role, k, draws, s, verdict, reasons)

    def unknown_conditional(self, turn: int, path: str, role: str) -> CheckDiagnosis:
        verdict = self.verdicts.get(path)
        why = verdict.reason if verdict is not None else "no verdict"
        k, s = _Said[KnowsResult]("not_asked"), _Said[SeesResult]("not_asked")
        return self._make(turn, path, "conditional", role, k, "unknown", s, verdict, [why])

    def _make(
        self,
        turn: int,
        path: str,
        kind: str,
        role: str,
        k: _Said[KnowsResult],
        draws: Status,
        s: _Said[SeesResult],
        verdict: Verdict | None,
        reasons: list[str],
    ) -> CheckDiagnosis:
        outcome = _outcome(k.result, draws, s.result)
        return CheckDiagnosis(
            case_id=self.case.id,
            epoch=self.sample.epoch,
            turn=turn,
            path=path,
            check_kind=kind,
            family=self.case.family,
            subtype=self.case.subtype,
            role=role,
            knows=k.result,
            draws=draws,
            sees=s.result,
            outcome=outcome,
            tags=tuple(t for t in (k.tag, s.tag) if t),
            stated_before=k.answer,
            stated_after=s.answer,
            judge_reason=verdict.reason if verdict is not None else "",
            reason="; ".join(reasons) if outcome == "unknown" else "",
            group=self.case.group,
        )

    def rows(self) -> list[CheckDiagnosis]:
        out: list[CheckDiagnosis] = []
        for t, turn in enumerate(self.case.turns, 1):
            for i, exp in enumerate(turn.expect):
                base = f"turns.{t - 1}.expect.{i}"
                if not isinstance(exp, Conditional):
                    if exp.turn in (None, t):
                        out.append(self.row(t, base, exp, exp.role))
                    continue
                out.extend(self._conditional(t, base, exp))
        return out

    def _conditional(self, turn: int, base: str, cond: Conditional) -> list[CheckDiagnosis]:
        verdict = self.verdicts.get(base)
        askable = [c for c in (*cond.then, *cond.else_) if c.turn in (None, turn)]
        if not askable:
            return []
        if verdict is None or (verdict.status == "unknown" and len(verdict.children) <= 1):
            return [self.unknown_conditional(turn, base, cond.role)]
        selected = {v.path for v in verdict.children[1:]}
        out = []
        for name, branch in (("then", cond.then), ("else", cond.else_)):
            for j, check in enumerate(branch):
                path = f"{base}.{name}.{j}"
                if path in selected and check.turn in (None, turn):
                    out.append(self.row(turn, path, check, cond.role))
        return out


def diagnose_sample(case: Case, sample: SampleRecord, score: ScoreRecord) -> list[CheckDiagnosis]:
    """Every probed check of one sample, diagnosed (module docstring)."""
    return _Sample(case, sample, score).rows()


def diagnose_run(run_path: Path, policy: str | None = None) -> list[CheckDiagnosis]:
    """Every sample of a run diagnosed under `policy` (default: the run's own), in
    sample-key order; samples without a score are left out.

    Raises:
        RunDirError: the run has no scores under that policy, or its suite is gone.
    """
    run = RunDir.open(Path(run_path))
    pol = policy or run.manifest().policy
    scores = run.scores(pol)
    if not scores:
        have = ", ".join(run.policies()) or "none"
        raise RunDirError(
            f"{run_path} has no scores under policy '{pol}' (it has: {have}); "
            f"run `uniprobe score {run_path} --policy {pol}`"
        )
    suite = suite_of_run(run_path)
    rows: list[CheckDiagnosis] = []
    for key, sample in sorted(run.samples().items()):
        score = scores.get(key)
        if score is not None:
            rows.extend(diagnose_sample(suite.case(sample.case_id), sample, score))
    return rows


# --- summaries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """k of n, with its 95% interval clustered by sample (None without units)."""

    k: int
    n: int
    value: float | None
    ci: tuple[float, float] | None


_NO_RATE = Rate(0, 0, None, None)


@dataclass(frozen=True)
class DiagnosisSummary:
    """The diagnosis of a set of checks (module docstring: the rates and the gap)."""

    checks: int
    knows: Rate
    draws: Rate
    draws_given_knows: Rate
    sees: Rate
    gap: float | None
    """P(knows) − P(draws) over the rows where both are known."""
    gap_ci: tuple[float, float] | None
    outcomes: dict[str, Rate]
    """Outcome -> share of the diagnosed rows (`unknown`: share of all rows)."""
    table: dict[str, int]
    """'knows/draws/sees' -> rows, e.g. 'right/fail/agree'."""
    tags: dict[str, int]
    knows_groups: Rate = _NO_RATE
    """Contrast groups whose every knows-asked check is right (module docstring)."""
    sees_groups: Rate = _NO_RATE
    """Contrast groups whose every sees-asked check agrees with the judge."""


def _sample(row: CheckDiagnosis) -> tuple[str, int]:
    return row.case_id, row.epoch


def _rate(units: Sequence[tuple[tuple[str, int], bool]]) -> Rate:
    """The share of True units, clustered by sample."""
    num: Counter[tuple[str, int]] = Counter()
    den: Counter[tuple[str, int]] = Counter()
    for cluster, ok in units:
        num[cluster] += ok
        den[cluster] += 1
    est = cluster_wilson([num[c] for c in den], list(den.values()))
    ci = (est.low, est.high) if est.low is not None and est.high is not None else None
    return Rate(sum(num.values()), sum(den.values()), est.value, ci)


def _gap(rows: Sequence[CheckDiagnosis]) -> tuple[float | None, tuple[float, float] | None]:
    both = [r for r in rows if r.knows in ("right", "wrong") and r.draws in ("pass", "fail")]
    per: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in both:
        cell = per[_sample(r)]
        cell[0] += r.knows == "right"
        cell[1] += r.draws == "pass"
        cell[2] += 1
    knows = [(float(a), float(n)) for a, _, n in per.values()]
    draws = [(float(b), float(n)) for _, b, n in per.values()]
    est = paired_bootstrap(knows, draws)
    ci = (est.low, est.high) if est.low is not None and est.high is not None else None
    return est.value, ci


def _groups(
    rows: Sequence[CheckDiagnosis], result: Callable[[CheckDiagnosis], str], good: str
) -> Rate:
    """The contrast groups (per epoch) whose every asked row is `good`: a group with an
    unknown row, or with a member that has no asked row, decides nothing."""
    members: dict[tuple[str, int], set[str]] = defaultdict(set)
    asked: dict[tuple[str, int], set[str]] = defaultdict(set)
    state: dict[tuple[str, int], bool | None] = {}
    for r in rows:
        if r.group is None:
            continue
        key = (r.group, r.epoch)
        members[key].add(r.case_id)
        value = result(r)
        if value == "not_asked":
            continue
        asked[key].add(r.case_id)
        if value == "unknown" or state.get(key, True) is None:
            state[key] = None
        else:
            state[key] = state.get(key, True) and value == good
    units = [
        ((f"{g}#{e}", e), bool(ok))
        for (g, e), ok in state.items()
        if ok is not None and asked[(g, e)] == members[(g, e)]
    ]
    return _rate(units)


def summarize(rows: Sequence[CheckDiagnosis]) -> DiagnosisSummary:
    """The rates, the gap, the outcomes and the full table of a set of rows."""
    knows = [(_sample(r), r.knows == "right") for r in rows if r.knows in ("right", "wrong")]
    drawn = [r for r in rows if r.draws in ("pass", "fail")]
    given = [(_sample(r), r.draws == "pass") for r in drawn if r.knows == "right"]
    sees = [(_sample(r), r.sees == "agree") for r in rows if r.sees in ("agree", "disagree")]
    diagnosed = [r for r in rows if r.outcome != "unknown"]
    outcomes: dict[str, Rate] = {
        o: _rate([(_sample(r), r.outcome == o) for r in diagnosed]) for o in OUTCOMES
    }
    outcomes["unknown"] = _rate([(_sample(r), r.outcome == "unknown") for r in rows])
    gap, gap_ci = _gap(rows)
    return DiagnosisSummary(
        checks=len(rows),
        knows=_rate(knows),
        draws=_rate([(_sample(r), r.draws == "pass") for r in drawn]),
        draws_given_knows=_rate(given),
        sees=_rate(sees),
        gap=gap,
        gap_ci=gap_ci,
        outcomes=outcomes,
        table=dict(sorted(Counter(f"{r.knows}/{r.draws}/{r.sees}" for r in rows).items())),
        tags=dict(sorted(Counter(t for r in rows for t in r.tags).items())),
        knows_groups=_groups(rows, lambda r: r.knows, "right"),
        sees_groups=_groups(rows, lambda r: r.sees, "agree"),
    )


def summarize_by(
    rows: Sequence[CheckDiagnosis], axis: Literal["family", "subtype", "kind"]
) -> dict[str, DiagnosisSummary]:
    """A summary per family, subtype or check kind, keys sorted."""
    groups: dict[str, list[CheckDiagnosis]] = defaultdict(list)
    for r in rows:
        key = {"family": r.family, "subtype": r.subtype, "kind": r.check_kind}[axis]
        groups[key].append(r)
    return {k: summarize(groups[k]) for k in sorted(groups)}


# --- words ----------------------------------------------------------------------------------------


def _pct(rate: Rate) -> str:
    if rate.value is None:
        return f"—  (0 of {rate.n})"
    ci = f" [{100 * rate.ci[0]:.1f}, {100 * rate.ci[1]:.1f}]" if rate.ci else ""
    return f"{100 * rate.value:.1f}%{ci} ({rate.k}/{rate.n})"


def _gap_text(s: DiagnosisSummary) -> str:
    if s.gap is None:
        return "—"
    ci = f" [{100 * s.gap_ci[0]:+.1f}, {100 * s.gap_ci[1]:+.1f}]" if s.gap_ci else ""
    return f"{100 * s.gap:+.1f} points{ci}"


def _short(rate: Rate) -> str:
    return "—" if rate.value is None else f"{100 * rate.value:.0f}%"


def format_diagnosis(
    summary: DiagnosisSummary, by_family: dict[str, DiagnosisSummary]
) -> list[str]:
    """The plain lines the CLI prints: the rates, the gap, the four outcomes, per family."""
    unknown = summary.outcomes["unknown"].k
    shares = " · ".join(
        f"{o} {_short(summary.outcomes[o])} ({summary.outcomes[o].k})" for o in OUTCOMES
    )
    lines = [
        f"diagnosis: {summary.checks} checks ({unknown} unknown)",
        f"  P(knows)          {_pct(summary.knows)}",
        f"  P(draws)          {_pct(summary.draws)}",
        f"  P(draws | knows)  {_pct(summary.draws_given_knows)}",
        f"  P(sees)           {_pct(summary.sees)}",
        f"  contrast groups:  knows {_pct(summary.knows_groups)}, sees {_pct(summary.sees_groups)}",
        f"  gap P(knows) - P(draws): {_gap_text(summary)}",
        f"  outcomes: {shares}",
    ]
    if summary.tags:
        lines.append("  tags: " + " · ".join(f"{t} {n}" for t, n in summary.tags.items()))
    for family, s in by_family.items():
        counts = " ".join(f"{o} {s.outcomes[o].k}" for o in OUTCOMES)
        lines.append(
            f"  {family}: knows {_short(s.knows)} · draws|knows {_short(s.draws_given_knows)}"
            f" · sees {_short(s.sees)} · gap {_gap_text(s)} · {counts}"
        )
    return lines

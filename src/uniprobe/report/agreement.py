"""How far judges agree: between the policies a run was scored with, and with people.

* **Between policies.** A run re-scored under another policy (`scores/vlm.jsonl` next to
  `scores/reference.jsonl`) gives two verdicts for the same check. Verdicts are matched
  by sample and check path (conditional branches included, where both took the same
  one); per check kind, the report shows how many both decided, the share on which they
  agree, and Cohen's kappa on pass/fail.
* **With people.** Human labels live in `RUN/labels.sqlite`, written by the annotation
  app (`uniprobe annotate`). `uniprobe.annotate.agreement` measures Cohen's kappa of the
  judge against the human majority per check kind and Krippendorff's alpha between
  annotators; the section says why it is empty when there are no labels, and shows the
  reason instead of failing the report when they cannot be read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from uniprobe.annotate.agreement import agreement
from uniprobe.errors import UniprobeError
from uniprobe.report.metrics import walk_verdicts
from uniprobe.statistics import cohen_kappa
from uniprobe.store.labels.db import labels_path
from uniprobe.store.records import ScoreRecord, Verdict

__all__ = [
    "HumanAgreement",
    "KindAgreement",
    "PolicyAgreement",
    "human_agreement",
    "policy_agreement",
]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KindAgreement(_M):
    """Two policies' verdicts on the checks of one kind."""

    compared: int
    """Checks both policies judged."""
    decided: int
    """Of those, checks both decided (pass or fail)."""
    agree: int
    """Decided checks with the same verdict."""
    share: float | None
    """agree / decided."""
    kappa: float | None
    """Cohen's kappa on pass/fail (None when it is undefined: no variation)."""


class PolicyAgreement(_M):
    """The run's policy against one other scores file of the run."""

    policy: str
    """The report's policy."""
    other: str
    """The other scores file's name."""
    samples: int
    """Samples scored under both."""
    kinds: dict[str, KindAgreement]
    """By check kind ('conditional' for a conditional as a whole)."""
    overall: KindAgreement
    """All kinds together."""


class HumanAgreement(_M):
    """Judge-vs-human and between-annotator agreement, or why there is none."""

    status: Literal["ok", "absent", "error"]
    """ok: numbers below; absent: no labels; error: reading them failed."""
    note: str
    """One line for the page."""
    kappa: dict[str, float | None] = Field(default_factory=dict)
    """Cohen's kappa, judge vs human, by check kind."""
    alpha: float | None = None
    """Krippendorff's alpha between annotators."""
    numbers: dict[str, float] = Field(default_factory=dict)
    """Every other number of the result, by dotted name."""


def _kind(rows: list[tuple[str, str]]) -> KindAgreement:
    decided = [(a, b) for a, b in rows if a != "unknown" and b != "unknown"]
    agree = sum(a == b for a, b in decided)
    return KindAgreement(
        compared=len(rows),
        decided=len(decided),
        agree=agree,
        share=round(agree / len(decided), 6) if decided else None,
        kappa=_round(cohen_kappa(decided).kappa),
    )


def _by_path(score: ScoreRecord) -> dict[str, Verdict]:
    return {v.path: v for v in walk_verdicts(score.verdicts)}


def policy_agreement(
    mine: Mapping[str, ScoreRecord], theirs: Mapping[str, ScoreRecord], *, policy: str, other: str
) -> PolicyAgreement:
    """Per-kind agreement of two scores files of one run."""
    keys = sorted(mine.keys() & theirs.keys())
    rows: dict[str, list[tuple[str, str]]] = {}
    for key in keys:
        a, b = _by_path(mine[key]), _by_path(theirs[key])
        for path in a.keys() & b.keys():
            rows.setdefault(a[path].kind, []).append((a[path].status, b[path].status))
    return PolicyAgreement(
        policy=policy,
        other=other,
        samples=len(keys),
        kinds={k: _kind(rows[k]) for k in sorted(rows)},
        overall=_kind([r for k in sorted(rows) for r in rows[k]]),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def human_agreement(run_path: Path, policy: str) -> HumanAgreement:
    """Agreement with the human labels of this run, or a note saying why there is none."""
    labels = labels_path(run_path)
    if not labels.is_file():
        return HumanAgreement(status="absent", note=f"no human labels: {labels} does not exist")
    try:
        found = agreement(run_path, policy)
    except (UniprobeError, OSError, sqlite3.Error) as exc:  # the page says why; the rest goes on
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return HumanAgreement(status="error", note=f"could not read {labels}: {first}")
    numbers: dict[str, float] = {
        "labels": found.labels,
        "annotators": len(found.annotators),
        "items": found.items,
        "alpha_items": found.alpha_items,
    }
    for kind, k in {"all": found.overall, **found.kinds}.items():
        numbers[f"{kind}.n"] = k.n
        for name, value in (("observed", k.observed), ("kappa", k.kappa), ("alpha", k.alpha)):
            if value is not None:
                numbers[f"{kind}.{name}"] = value
    return HumanAgreement(
        status="ok",
        note=f"{found.labels} labels by {len(found.annotators)} annotator(s) in {labels}",
        kappa={kind: _round(k.kappa) for kind, k in found.kinds.items()},
        alpha=_round(found.alpha),
        numbers=numbers,
    )

"""How far a judge agrees with people, and people with each other.

* **Judge vs human**, per check kind: Cohen's kappa between the judge's verdict (the
  scores file of a policy; `unknown` left out) and the human answer (the majority of
  each annotator's latest label; ties and can't-tell left out). Kappa is None when it is
  undefined: no item has both, or chance agreement is 1 (both always said the same).
* **Human vs human**: Krippendorff's alpha (nominal: pass, fail; can't-tell counts as
  missing) over the items two or more annotators answered, overall and per kind. None
  when undefined: no such item, or only one value was ever given.

The unit is an item (`annotate.keys`): a question on an image. An item seen in several
samples (the same image and question in another epoch) counts once, with the verdict
of its first occurrence in suite order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from uniprobe.annotate.items import Item, canvases
from uniprobe.cases.schema import Suite
from uniprobe.statistics import cohen_kappa, krippendorff_alpha
from uniprobe.store.labels.db import LabelStore, labels_path
from uniprobe.store.labels.label import Label
from uniprobe.store.labels.votes import majority
from uniprobe.store.rundir import RunDir
from uniprobe.store.suites import suite_of_run

__all__ = [
    "Agreement",
    "KindAgreement",
    "agreement",
    "measure",
]

_DECIDED = ("pass", "fail")


@dataclass(frozen=True)
class KindAgreement:
    """Agreement on the items of one check kind (or of all kinds: kind 'all')."""

    kind: str
    items: int
    """Items someone labelled."""
    labels: int
    """Latest labels on them (one per annotator and item)."""
    n: int
    """Items with a judge verdict and a human majority, both pass or fail."""
    observed: float | None
    """Share of those n where judge and humans agree; None when n is 0."""
    kappa: float | None
    """Cohen's kappa, judge vs human majority; None when undefined."""
    alpha: float | None
    """Krippendorff's alpha between annotators; None when undefined."""
    alpha_items: int
    """Items with two or more pass/fail labels (the ones alpha is computed on)."""
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    """Judge verdict -> human majority -> items (the n items)."""


@dataclass(frozen=True)
class Agreement:
    """Judge-vs-human and human-vs-human agreement on one run."""

    policy: str | None
    """The scores the judge verdicts come from (None: no judge compared)."""
    kinds: dict[str, KindAgreement]
    """Per check kind that has labelled items, sorted by kind."""
    overall: KindAgreement
    """All kinds pooled (kind 'all')."""
    alpha: float | None
    """Krippendorff's alpha between annotators over all items (= overall.alpha)."""
    alpha_items: int
    """Items alpha is computed on (= overall.alpha_items)."""
    annotators: list[str]
    """Everyone who labelled an item of this run, sorted."""
    labels: int
    """Latest labels on this run's items (one per annotator and item)."""
    items: int
    """Items in the run (labelled or not)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


def agreement(run_path: str | Path, policy: str | None = None) -> Agreement:
    """Agreement on a run folder: the verdicts of `policy`'s scores (default: the run's
    own policy; a policy it has no scores for compares no judge: n = 0, kappa None) and
    the labels in `RUN/labels.sqlite` (none yet: every count 0, alpha None).

    Reads only; a run without labels gets no label file.
    """

    run = RunDir.open(Path(run_path))
    pol = policy or run.manifest().policy
    return measure(run, suite_of_run(run.path), LabelStore(labels_path(run.path)), policy=pol)


def measure(
    run: RunDir, suite: Suite, store: LabelStore, *, policy: str | None = None
) -> Agreement:
    """Agreement on a run: its items (`annotate.items`), the verdicts of `policy`'s scores
    (None: compare no judge) and the labels in `store`."""
    items: dict[str, Item] = {}
    for group in canvases(run, suite, policy=policy):
        for item in group.items:
            items.setdefault(item.key, item)
    by_item: dict[str, list[Label]] = defaultdict(list)
    for label in store.latest():
        if label.item in items:
            by_item[label.item].append(label)
    kinds = sorted({items[key].kind for key in by_item})
    per_kind = {k: _kind(k, [i for i in items.values() if i.kind == k], by_item) for k in kinds}
    overall = _kind("all", list(items.values()), by_item)
    return Agreement(
        policy=policy,
        kinds=per_kind,
        overall=overall,
        alpha=overall.alpha,
        alpha_items=overall.alpha_items,
        annotators=sorted({lb.annotator for labels in by_item.values() for lb in labels}),
        labels=overall.labels,
        items=len(items),
    )


def _kind(kind: str, items: list[Item], by_item: dict[str, list[Label]]) -> KindAgreement:
    pairs: list[tuple[str, str]] = []
    units: list[list[str]] = []
    labelled = labels = 0
    for item in items:
        found = by_item.get(item.key, [])
        if not found:
            continue
        labelled += 1
        labels += len(found)
        units.append([lb.label for lb in found if lb.label in _DECIDED])
        people = majority(lb.label for lb in found).status
        if item.verdict in _DECIDED and people is not None:
            pairs.append((str(item.verdict), people))
    confusion = {j: {h: 0 for h in _DECIDED} for j in _DECIDED}
    for judge, human in pairs:
        confusion[judge][human] += 1
    kappa, alpha = cohen_kappa(pairs), krippendorff_alpha(units)
    return KindAgreement(
        kind=kind,
        items=labelled,
        labels=labels,
        n=kappa.n,
        observed=kappa.observed,
        kappa=kappa.kappa,
        alpha=alpha.alpha,
        alpha_items=alpha.units,
        confusion=confusion,
    )

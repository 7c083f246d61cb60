"""The human judge: answers checks from people's labels (`uniprobe annotate`).

A check is looked up by what was asked of which image (`annotate.keys.item_key`: the
canvas's sha256, the check without `turn`/`literal`, and the sha256 of the image it
compares with), so a label answers the same question on the same image in any epoch,
turn or sample. Each annotator's latest label counts once; the majority decides. No
label, a tie, or a majority that cannot tell gives `unknown` with the reason; the
evidence lists every counted label (annotator, label, time).

The label file is `labels.sqlite` of the run being scored (`JudgeContext.run`), or
the file named by the `labels` option. Its answers change whenever people add labels,
so the judge is `volatile`: scoring a run under a policy that uses it re-scores every
sample from the labels as they are now.

Checks the engine asks only to tag a failure (the literal reading, the pre-edit canvas)
are other questions; they stay `unknown` unless someone labelled them too.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uniprobe.cases.checks import CHECK_KINDS, Check, check_to_dict
from uniprobe.scoring.judge import Judge, JudgeContext, JudgeOptions, JudgeResult, judges
from uniprobe.scoring.judges.pixels import reference_key
from uniprobe.store.labels.db import LabelStore, labels_path
from uniprobe.store.labels.keys import item_key
from uniprobe.store.labels.label import Label
from uniprobe.store.labels.votes import majority

if TYPE_CHECKING:
    from uniprobe.config import Config

__all__ = ["HumanJudge"]


@judges.register("human")
class HumanJudge(Judge):
    """People's majority answer, from the run's label file."""

    name = "human"
    version = "1"
    kinds = frozenset(CHECK_KINDS)
    volatile = True
    """Answers depend on labels added after a run was scored: always re-score."""

    class Options(JudgeOptions):
        """Human judge settings."""

        labels: Path | None = None
        """The label file; default: labels.sqlite in the folder of the run being scored."""

    options: Options

    def __init__(self, options: Any = None, *, config: Config | None = None) -> None:
        self.options = self.Options.model_validate(options or {})
        self._by_item: dict[Path, dict[str, list[Label]]] = {}
        self._lock = threading.Lock()

    async def judge(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Decide one check from the labels (the label file is read in a worker thread)."""
        return await asyncio.to_thread(self.decide, check, ctx)

    def decide(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Synchronous form of `judge`."""
        path = self.options.labels or (labels_path(ctx.run) if ctx.run is not None else None)
        if path is None:
            return JudgeResult("unknown", "no label file: score a run folder or set human.labels")
        if ctx.canvas.image is not None and ctx.canvas.ref is None:
            return JudgeResult("unknown", "the canvas is not a stored image, so nobody labelled it")
        image = ctx.canvas.ref.sha256 if ctx.canvas.ref is not None else None
        against = check.compared_against()
        reference = None
        if against is not None:
            seen = ctx.references.get(reference_key(against))
            reference = seen.ref.sha256 if seen is not None and seen.ref is not None else None
        key = item_key(image, check_to_dict(check), reference)
        labels = self._labels(path).get(key, [])
        vote = majority(lb.label for lb in labels)
        evidence = {
            "item": key,
            "labels": [
                {"annotator": lb.annotator, "label": lb.label, "created": lb.created}
                for lb in labels
            ],
        }
        return JudgeResult(vote.status or "unknown", vote.reason, evidence)

    def _labels(self, path: Path) -> dict[str, list[Label]]:
        """The latest label of each annotator, by item (read once per scoring)."""
        with self._lock:
            if path not in self._by_item:
                by_item: dict[str, list[Label]] = {}
                for label in LabelStore(path).latest():
                    by_item.setdefault(label.item, []).append(label)
                self._by_item[path] = by_item
            return self._by_item[path]

"""The detector judge: object checks on photographs, answered by an open-vocabulary detector.

The model is OWLv2 (default `google/owlv2-base-patch16-ensemble`) or Grounding DINO,
named by a Hugging Face id or a local folder and loaded with transformers, on CPU or GPU:
a folder as it is; an id from the Hugging Face cache, downloaded there first when missing
(with progress bars), unless `local_files_only` or `HF_HUB_OFFLINE=1` forbids it
(`uniprobe.hub`). torch and transformers are
imported on first use; the model loads once per judge; inference runs in a worker
thread, one forward pass at a time.

**One look per canvas.** `prepare` collects every word the sample's checks need on each
canvas (a `matches` count's object on the canvas it names) and runs one forward pass
per canvas over all of them; `judge` reads those detections (detecting on demand what
is missing) and decides with `decide_from`, which takes detections from anywhere.

**Detections.** A word is detected under its label: the vocabulary's name when it knows
the word ('birds' -> 'bird', 'people' -> 'person'), else the word itself, put into the
prompt template (OWLv2: 'a photo of a {}', Grounding DINO: '{}'). A box counts for a
label when its score reaches `threshold` (OWLv2: the label's own score; Grounding DINO:
the box's best token score, with the label's tokens reaching `text_threshold`; see
`_zeroshot`). Then, per label, duplicates are merged by non-maximum suppression at
`nms_iou` and at most `max_boxes` are kept, best first (`uniprobe.scoring.boxes`).

**Verdicts** mean what the reference judge's mean: count/present/absent count boxes
(centres inside the `within` part), a relation must hold for every pair of box centres,
a position for every centre, and a colour for every box's object (`box_color`: the rule
is in `uniprobe.scoring.boxes`) or the `select`ed one; a part's colour is its box's
dominant palette name, as the reference judge reads it. Without an image counts are 0
and other checks fail. A model that cannot be loaded or run makes the checks that need
it `unknown`, with the reason; evidence always names the model and the thresholds.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from PIL import Image
from pydantic import Field, field_validator

from uniprobe.cases.checks import Absent, Check, Color, Count, Position, Present, Relation
from uniprobe.scenes.geometry import Box
from uniprobe.scenes.vocabulary import try_resolve
from uniprobe.scoring.boxes import (
    BOX_COLOR_RULE,
    Found,
    all_at,
    box_color,
    inside,
    nms,
    places,
    relation_between,
    select,
)
from uniprobe.scoring.judge import (
    Canvas,
    Judge,
    JudgeContext,
    JudgeOptions,
    JudgeResult,
    canvas_key,
    image_key,
    judges,
)
from uniprobe.scoring.judges._zeroshot import PROMPTS, DetectorError, ZeroShotDetector
from uniprobe.scoring.judges.counting import decide_count
from uniprobe.scoring.judges.partcolor import decide_part_color

if TYPE_CHECKING:
    from uniprobe.config import Config

__all__ = [
    "DEFAULT_MODEL",
    "DetectorError",
    "DetectorJudge",
    "canvas_key",
    "label_of",
]

DEFAULT_MODEL = "google/owlv2-base-patch16-ensemble"
"""The detector used unless `model` names another."""

Family = Literal["auto", "owlv2", "grounding-dino"]
Device = Literal["auto", "cpu", "cuda"]

_MIN_OBJECT = 0.2
"""box_color: share of the core that must differ from the background to leave it out."""
_MEMO_SIZE = 256
"""Canvases whose detections are remembered (oldest forgotten first)."""
_ARTICLES = re.compile(r"^(a|an|the|some|any)\s+")
_OBJECT_CHECKS = (Count, Present, Absent, Relation, Position, Color)


def label_of(word: str) -> str:
    """The label a check's word is detected as: the vocabulary's name when it knows the
    word ('birds' -> 'bird'), else the word in lower case without a leading article."""
    term = try_resolve(word)
    if term is not None:
        return term.name
    return _ARTICLES.sub("", re.sub(r"\s+", " ", word.strip().lower()))


def _lookup(found: Mapping[str, Sequence[Found]], word: str) -> list[Found] | None:
    """The detections of a word, keyed by the word itself or by its label."""
    hit = found.get(word)
    if hit is None:
        hit = found.get(label_of(word))
    return None if hit is None else list(hit)


@judges.register("detector")
class DetectorJudge(Judge):
    """Object checks on photographs, from an open-vocabulary detector's boxes."""

    name = "detector"
    version = "1"
    kinds = frozenset({"count", "present", "absent", "relation", "position", "color"})

    class Options(JudgeOptions):
        """Detector settings; recorded with every score."""

        model: str = DEFAULT_MODEL
        """Hugging Face model id or local folder of an OWLv2 or Grounding DINO model."""
        family: Family = "auto"
        """owlv2 or grounding-dino; auto reads it from the model's config (`model_type`)."""
        device: Device = "auto"
        """Where to run: auto picks cuda when available, else cpu."""
        threshold: float = Field(0.3, ge=0, le=1)
        """A box counts for a label when its score is at least this (Grounding DINO: the
        box threshold, on its best token score)."""
        nms_iou: float = Field(0.5, gt=0, le=1)
        """Boxes of one label overlapping a better one by more than this IoU are dropped."""
        text_threshold: float = Field(0.25, ge=0, le=1)
        """Grounding DINO only: the label's own tokens must score at least this."""
        max_boxes: int = Field(50, ge=1)
        """At most this many boxes per label, best first."""
        prompt: str | None = None
        """Template of a label's text query, with one '{}' for the label; default per
        family: 'a photo of a {}' (OWLv2), '{}' (Grounding DINO)."""
        color_border: float = Field(0.15, ge=0, lt=0.5)
        """Colour of an object: share of its box's width/height left out on each side."""
        color_background: bool = True
        """Colour of an object: leave out core pixels of the colour around its box."""
        local_files_only: bool = False
        """Load from local folders and the Hugging Face cache only, never download."""

        @field_validator("prompt")
        @classmethod
        def _template(cls, v: str | None) -> str | None:
            if v is not None and (v.count("{}") != 1 or v.replace("{}", "").count("{")):
                raise ValueError("the prompt needs exactly one '{}' (for the label)")
            return v

    options: Options

    def __init__(self, options: Any = None, *, config: Config | None = None) -> None:
        self.options = self.Options.model_validate(options or {})
        self.passes = 0
        """Forward passes this judge has run (one per canvas when prepared)."""
        o = self.options
        self._detector = ZeroShotDetector(
            o.model, family=o.family, device=o.device, local_files_only=o.local_files_only
        )
        # Held by the worker thread: one forward pass at a time, memo updated with it.
        self._busy = threading.Lock()
        self._memo: dict[str, dict[str, list[Found]]] = {}
        self._failed: dict[str, str] = {}

    # evidence -----------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Model and thresholds, as recorded in every verdict's evidence."""
        family, o = self._detector.family, self.options
        return {
            "model": o.model,
            "family": family,
            "threshold": o.threshold,
            "nms_iou": o.nms_iou,
            "text_threshold": o.text_threshold,
            "max_boxes": o.max_boxes,
            "prompt": o.prompt or PROMPTS.get(family),
        }

    # detection ----------------------------------------------------------------------
    def detect(self, image: Image.Image, words: Sequence[str]) -> dict[str, list[Found]]:
        """Boxes of each word on an image: one forward pass for all of them, thresholds
        and NMS applied. Keys are the words as given. DetectorError if it cannot run."""
        labels = sorted({label_of(w) for w in words})
        with self._busy:
            found = self._run(image, labels)
        return {w: found[label_of(w)] for w in words}

    def locate(self, image: Image.Image, word: str) -> list[Box]:
        """Boxes of a word in the image's pixels (for the pixels judge; remembered by pixel
        content). DetectorError (a ValueError) with the reason when it cannot run."""
        label = label_of(word)
        return [f.box for f in self._cached(image_key(image), image, [label])[label]]

    async def prepare(self, queries: Sequence[tuple[Check, JudgeContext]]) -> None:
        """Detect, in one forward pass per canvas, every word these checks need on it.
        A failure is remembered; `judge` reports it as `unknown` with its reason."""
        plan: dict[str, tuple[Image.Image, set[str]]] = {}
        for check, ctx in queries:
            for canvas, word in self.words_for(check, ctx):
                key = canvas_key(canvas)
                if key is None or canvas.image is None:
                    continue
                plan.setdefault(key, (canvas.image, set()))[1].add(label_of(word))
        for key, (image, labels) in plan.items():
            try:
                await asyncio.to_thread(self._cached, key, image, sorted(labels))
            except DetectorError:
                continue  # remembered (by the loader, or in _failed); judge reports it

    async def judge(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Decide one check from the canvas's detections (in a worker thread)."""
        return await asyncio.to_thread(self.decide, check, ctx)

    def decide(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Synchronous form of `judge`."""
        if not isinstance(check, _OBJECT_CHECKS):
            return JudgeResult("unknown", f"the detector judge does not answer '{check.kind}'")
        try:
            found = self.found_on(
                ctx.canvas, [w for c, w in self.words_for(check, ctx) if c is ctx.canvas]
            )
            reference = None
            if isinstance(check, Count) and check.matches is not None:
                canvas = ctx.references.get(f"turn:{check.matches.turn}")
                if canvas is not None:
                    reference = self.found_on(canvas, [check.matches.object])
        except DetectorError as exc:
            return JudgeResult("unknown", str(exc), {"detector": self.settings()})
        return self.decide_from(check, ctx, found, reference=reference)

    def words_for(self, check: Check, ctx: JudgeContext) -> list[tuple[Canvas, str]]:
        """(canvas, word) pairs a check needs detections of."""
        if isinstance(check, Count | Present | Absent):
            out = [(ctx.canvas, check.object)]
            if isinstance(check, Count) and check.matches is not None:
                canvas = ctx.references.get(f"turn:{check.matches.turn}")
                if canvas is not None:
                    out.append((canvas, check.matches.object))
            return out
        if isinstance(check, Relation):
            return [(ctx.canvas, check.subject), (ctx.canvas, check.object)]
        if isinstance(check, Position):
            return [(ctx.canvas, check.object)]
        if isinstance(check, Color) and check.object is not None:
            return [(ctx.canvas, check.object)]
        return []

    def found_on(self, canvas: Canvas, words: Sequence[str]) -> dict[str, list[Found]]:
        """Detections of words on a canvas, by label (remembered; DetectorError if the
        model cannot run)."""
        key = canvas_key(canvas)
        if key is None or canvas.image is None:
            return {}
        return self._cached(key, canvas.image, sorted({label_of(w) for w in words}))

    def _cached(
        self, key: str, image: Image.Image, labels: Sequence[str]
    ) -> dict[str, list[Found]]:
        """Detections of `labels` on the image `key` names; runs the missing ones."""
        with self._busy:
            if key in self._failed:
                raise DetectorError(self._failed[key])
            seen = self._memo.setdefault(key, {})
            missing = [label for label in labels if label not in seen]
            if missing:
                self._detector.load()  # a model that cannot load is no fault of this image
                try:
                    seen.update(self._run(image, missing))
                except DetectorError as exc:
                    self._failed[key] = str(exc)
                    raise
            while len(self._memo) > _MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
            return {label: seen[label] for label in labels}

    def _run(self, image: Image.Image, labels: Sequence[str]) -> dict[str, list[Found]]:
        """One forward pass, then per-label NMS; the caller holds `_busy`."""
        o = self.options
        candidates = self._detector.detect(
            image, labels, prompt=o.prompt, threshold=o.threshold, text_threshold=o.text_threshold
        )
        self.passes += 1
        kept = nms(candidates, o.nms_iou, limit=o.max_boxes)
        return {label: [f for f in kept if f.label == label] for label in labels}

    async def aclose(self) -> None:
        """Release the model and the remembered detections."""
        with self._busy:
            self._memo.clear()
            self._failed.clear()
            self._detector.close()

    # decisions ----------------------------------------------------------------------
    def decide_from(
        self,
        check: Check,
        ctx: JudgeContext,
        found: Mapping[str, Sequence[Found]],
        *,
        reference: Mapping[str, Sequence[Found]] | None = None,
    ) -> JudgeResult:
        """Decide a check from given detections on `ctx.canvas` (keyed by word or label),
        plus, for a `matches` count, the detections on the canvas it names (`reference`).
        Pure: no model runs."""
        if isinstance(check, Count | Present | Absent):
            result = self._count(check, ctx, found, reference)
        elif isinstance(check, Relation):
            result = self._relation(check, ctx, found)
        elif isinstance(check, Position):
            result = self._position(check, ctx, found)
        elif isinstance(check, Color):
            result = self._color(check, ctx, found)
        else:
            return JudgeResult("unknown", f"the detector judge does not answer '{check.kind}'")
        return JudgeResult(
            result.status, result.reason, {**result.evidence, "detector": self.settings()}
        )

    def _count(
        self,
        check: Count | Present | Absent,
        ctx: JudgeContext,
        found: Mapping[str, Sequence[Found]],
        reference: Mapping[str, Sequence[Found]] | None,
    ) -> JudgeResult:
        label = label_of(check.object)
        image = ctx.canvas.image
        evidence: dict[str, Any] = {"object": label}
        if image is None:
            n = 0
            evidence["image"] = None
        else:
            dets = _lookup(found, check.object)
            if dets is None:
                return _not_given(check.object)
            within = None
            if check.within is not None:
                within = ctx.part_box(check.within, image.size)
                evidence["within"] = {"part": check.within, "box": list(within or ())}
            dets = inside(dets, within)
            n = len(dets)
            evidence["detections"] = [d.as_evidence() for d in dets]
        seen = None
        if isinstance(check, Count) and check.matches is not None:
            ref = self._reference_count(check, ctx, reference)
            if isinstance(ref, JudgeResult):
                return ref
            count, boxes = ref
            seen = (count, {"object": label_of(check.matches.object), "detections": boxes})
        return decide_count(check, n, label, evidence, no_image=image is None, reference=seen)

    def _reference_count(
        self, check: Count, ctx: JudgeContext, reference: Mapping[str, Sequence[Found]] | None
    ) -> tuple[int, list[dict[str, Any]]] | JudgeResult:
        """How many of the `matches` object the named earlier canvas shows, with the boxes."""
        assert check.matches is not None
        turn = check.matches.turn
        canvas = ctx.references.get(f"turn:{turn}")
        if canvas is None:
            return JudgeResult("unknown", f"no canvas of turn {turn} to count on")
        if canvas.image is None:
            return 0, []
        dets = _lookup(reference or {}, check.matches.object)
        if dets is None:
            return _not_given(check.matches.object, f" on the canvas of turn {turn}")
        return len(dets), [d.as_evidence() for d in dets]

    def _relation(
        self, check: Relation, ctx: JudgeContext, found: Mapping[str, Sequence[Found]]
    ) -> JudgeResult:
        if ctx.canvas.image is None:
            return JudgeResult("fail", "no image")
        a, b = _lookup(found, check.subject), _lookup(found, check.object)
        if a is None or b is None:
            return _not_given(check.subject if a is None else check.object)
        subject, obj = label_of(check.subject), label_of(check.object)
        evidence = {"subject": [d.as_evidence() for d in a], "object": [d.as_evidence() for d in b]}
        if not a or not b:
            return JudgeResult("fail", f"no {subject if not a else obj} found", evidence)
        ok = relation_between(a, b, check.relation)
        rel = check.relation.replace("_", " ")
        verdict = "is" if ok else "is not"
        return JudgeResult("pass" if ok else "fail", f"{subject} {verdict} {rel} {obj}", evidence)

    def _position(
        self, check: Position, ctx: JudgeContext, found: Mapping[str, Sequence[Found]]
    ) -> JudgeResult:
        image = ctx.canvas.image
        if image is None:
            return JudgeResult("fail", "no image")
        dets = _lookup(found, check.object)
        if dets is None:
            return _not_given(check.object)
        label = label_of(check.object)
        evidence: dict[str, Any] = {
            "detections": [d.as_evidence() for d in dets],
            "size": list(image.size),
        }
        if not dets:
            return JudgeResult("fail", f"no {label} found", evidence)
        where = places(dets, image.size)
        ok = all_at(dets, check.place, image.size)
        evidence["places"] = where
        return JudgeResult(
            "pass" if ok else "fail", f"{label} is {'/'.join(where) or 'spread out'}", evidence
        )

    def _color(
        self, check: Color, ctx: JudgeContext, found: Mapping[str, Sequence[Found]]
    ) -> JudgeResult:
        image = ctx.canvas.image
        if image is None:
            return JudgeResult("fail", "no image")
        rgb = np.asarray(image.convert("RGB"))
        if check.part is not None:
            return decide_part_color(check, check.part, ctx, rgb, image.size)
        assert check.object is not None
        dets = _lookup(found, check.object)
        if dets is None:
            return _not_given(check.object)
        label = label_of(check.object)
        if not dets:
            return JudgeResult("fail", f"no {label} found", {"detections": []})
        if check.select is not None:
            dets = [select(dets, check.select)]
        border, background = self.options.color_border, self.options.color_background
        shown: list[dict[str, Any]] = []
        try:
            for d in dets:
                name, share = box_color(
                    rgb, d.box, border=border, background=background, min_object=_MIN_OBJECT
                )
                shown.append({**d.as_evidence(), "color": name, "color_share": round(share, 3)})
        except ValueError as exc:
            return JudgeResult("unknown", str(exc), {"detections": [d.as_evidence() for d in dets]})
        colors = [s["color"] for s in shown]
        ok = all(c == check.equals for c in colors)
        which = f"the {check.select} {label}" if check.select else label
        rule = BOX_COLOR_RULE.format(border=border, min_object=_MIN_OBJECT)
        return JudgeResult(
            "pass" if ok else "fail",
            f"{which} is {', '.join(colors)}",
            {"detections": shown, "color_rule": rule, "color_background": background},
        )


def _not_given(word: str, where: str = "") -> JudgeResult:
    return JudgeResult("unknown", f"no detections of '{word}' were given{where}")

"""The VLM judge's reading of checks: which atomic questions a check needs, on which
image(s), and how the answers decide it.

`Planner.plan(check, ctx)` gives a `Plan`: the questions by role ("canvas",
"reference" for a count that `matches` another turn, "pair" for a comparison), each
on a `Target` (the image or images one call looks at, named by their content hash),
and the function that turns the answers into a verdict, with the reference judge's
semantics. A check decided without asking (no image, a missing part or reference)
gives its `JudgeResult` directly.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image

from uniprobe.cases.checks import (
    Absent,
    Ask,
    Check,
    Color,
    Count,
    Position,
    Present,
    Relation,
    SameAs,
    Style,
    Unchanged,
)
from uniprobe.hashing import sha256_parts
from uniprobe.scoring.judge import JudgeContext, JudgeResult
from uniprobe.scoring.judges.pixels import reference_key
from uniprobe.scoring.questions import (
    PLACE_PHRASES,
    RELATION_PHRASES,
    Question,
    Region,
    Value,
    ask_question,
    color_question,
    count_question,
    difference_question,
    part_color_question,
    position_question,
    presence_question,
    relation_question,
    style_question,
)

if TYPE_CHECKING:
    from uniprobe.scenes.geometry import Box

__all__ = ["Answer", "Need", "Plan", "Planner", "Purpose", "Target"]

Purpose = Literal["image", "compare", "verify"]
"""What a call looks at: one canvas, a (reference, canvas) pair, or crops to verify."""


@dataclass(frozen=True)
class Answer:
    """The judge's reading of one question: a value, or why there is none."""

    value: Value | None
    problem: str | None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """The image(s) one call looks at; `key` is their content identity."""

    key: str
    purpose: Purpose
    images: tuple[Image.Image, ...]


@dataclass(frozen=True)
class Need:
    """One question about one target."""

    target: Target
    question: Question


@dataclass(frozen=True)
class Plan:
    """The questions a check needs (by role) and how their answers decide it."""

    needs: dict[str, Need]
    decide: Callable[[dict[str, Answer]], JudgeResult]


def _unknown(reason: str, evidence: dict[str, Any] | None = None) -> JudgeResult:
    return JudgeResult("unknown", reason, evidence or {})


def _verdict(ok: bool, reason: str, evidence: dict[str, Any]) -> JudgeResult:
    return JudgeResult("pass" if ok else "fail", reason, evidence)


class Planner:
    """Turns checks into plans; remembers the content hashes of the images it saw."""

    def __init__(self) -> None:
        self._hashes: OrderedDict[int, tuple[Image.Image, str]] = OrderedDict()

    def image_key(self, image: Image.Image) -> str:
        """Content identity of an image (remembered per object)."""
        hit = self._hashes.get(id(image))
        if hit is not None and hit[0] is image:
            return hit[1]
        value = sha256_parts(f"{image.mode}{image.size}".encode(), image.tobytes())
        self._hashes[id(image)] = (image, value)
        if len(self._hashes) > 256:
            self._hashes.popitem(last=False)
        return value

    def single(self, image: Image.Image) -> Target:
        """The target of a call about one canvas."""
        return Target("image:" + self.image_key(image), "image", (image,))

    def pair(self, before: Image.Image, after: Image.Image) -> Target:
        """The target of a comparison: the reference image, then the canvas."""
        key = f"compare:{self.image_key(before)}>{self.image_key(after)}"
        return Target(key, "compare", (before, after))

    @staticmethod
    def _region(ctx: JudgeContext, part: str, size: tuple[int, int]) -> Region | JudgeResult:
        box: Box | None = ctx.part_box(part, size)
        if box is None:
            return _unknown(f"no part '{part}' in the reference scene")
        w, h = size
        return Region(part, (box[0] / w, box[1] / h, box[2] / w, box[3] / h))

    @classmethod
    def _within(
        cls, ctx: JudgeContext, part: str | None, size: tuple[int, int]
    ) -> Region | JudgeResult | None:
        return None if part is None else cls._region(ctx, part, size)

    def plan(self, check: Check, ctx: JudgeContext) -> Plan | JudgeResult:
        """The questions a check needs and how they decide it; or its verdict, when no
        question is needed (no image, no such part or reference, a kind not answered)."""
        if isinstance(check, Unchanged | SameAs):
            return self._plan_compare(check, ctx)
        image = ctx.canvas.image
        if isinstance(check, Count):
            return self._plan_count(check, ctx)
        if image is None:
            return _no_image(check)
        target = self.single(image)
        if isinstance(check, Present | Absent):
            region = self._within(ctx, check.within, image.size)
            if isinstance(region, JudgeResult):
                return region
            q = presence_question(check.object, region)
            return Plan({"canvas": Need(target, q)}, lambda a: _decide_presence(check, q, a))
        if isinstance(check, Relation | Position | Style | Ask):
            q = _yesno_question(check)
            return Plan({"canvas": Need(target, q)}, lambda a: _decide_yesno(check, q, a))
        if isinstance(check, Color):
            return self._plan_color(check, ctx, target)
        return _unknown(f"the VLM judge does not answer '{check.kind}'")

    def _plan_count(self, check: Count, ctx: JudgeContext) -> Plan | JudgeResult:
        needs: dict[str, Need] = {}
        image = ctx.canvas.image
        q: Question | None = None
        if image is not None:
            region = self._within(ctx, check.within, image.size)
            if isinstance(region, JudgeResult):
                return region
            q = count_question(check.object, region)
            needs["canvas"] = Need(self.single(image), q)
        if check.matches is not None:
            ref = ctx.references.get(reference_key(check.matches.turn))
            if ref is None:
                return _unknown(f"no canvas of turn {check.matches.turn} to count on")
            if ref.image is not None:
                rq = count_question(check.matches.object)
                needs["reference"] = Need(self.single(ref.image), rq)
        return Plan(needs, lambda a: _decide_count(check, q, a))

    def _plan_color(self, check: Color, ctx: JudgeContext, target: Target) -> Plan | JudgeResult:
        if check.part is not None:
            region = self._region(ctx, check.part, target.images[0].size)
            if isinstance(region, JudgeResult):
                return region
            q = part_color_question(region)
        else:
            assert check.object is not None
            q = color_question(check.object, check.select)
        return Plan({"canvas": Need(target, q)}, lambda a: _decide_color(check, q, a))

    def _plan_compare(self, check: Unchanged | SameAs, ctx: JudgeContext) -> Plan | JudgeResult:
        ref = ctx.references.get(reference_key(check.against))
        if ref is None or ref.image is None:
            return _unknown(f"no image to compare with ({check.against})")
        if ctx.canvas.image is None:
            return _unknown("no canvas to compare")
        regions: list[Region] = []
        objects: tuple[str, ...] = ()
        if isinstance(check, Unchanged):
            for part in check.outside:
                region = self._region(ctx, part, ref.image.size)
                if isinstance(region, JudgeResult):
                    return region
                regions.append(region)
            objects = check.outside_objects
        q = difference_question(regions, objects)
        need = Need(self.pair(ref.image, ctx.canvas.image), q)
        return Plan({"pair": need}, lambda a: _decide_compare(check, q, a))


# --- deciding: answers to verdicts ---------------------------------------------------------


def _evidence(q: Question | None, a: Answer) -> dict[str, Any]:
    return {"question": q.text if q else None, "answer": a.value, **a.evidence}


def _not_answered(q: Question, a: Answer) -> JudgeResult | None:
    """The unknown verdict for a missing or unsure answer, else None."""
    if a.value is None:
        return _unknown(f"no answer from the VLM: {a.problem}", _evidence(q, a))
    if a.value == "unsure":
        return _unknown(f"the VLM is unsure: {q.text}", _evidence(q, a))
    return None


def _yesno_question(check: Relation | Position | Style | Ask) -> Question:
    if isinstance(check, Relation):
        return relation_question(check.subject, check.relation, check.object)
    if isinstance(check, Position):
        return position_question(check.object, check.place)
    if isinstance(check, Style):
        return style_question()
    return ask_question(check.question)


def _no_image(check: Check) -> JudgeResult:
    """What a check means on a turn without any image (as the reference judge has it)."""
    if isinstance(check, Absent):
        return JudgeResult("pass", f"no image, so no {check.object}")
    if isinstance(check, Ask):
        return _unknown("no image to ask about")
    return JudgeResult("fail", "no image")


def _decide_count(check: Count, q: Question | None, a: dict[str, Answer]) -> JudgeResult:
    where = f" in {check.within}" if check.within else ""
    evidence: dict[str, Any] = {"object": check.object}
    if q is None:
        n, said = 0, f"no image, so 0 {check.object}"
    else:
        bad = _not_answered(q, a["canvas"])
        if bad is not None:
            return bad
        evidence.update(_evidence(q, a["canvas"]))
        n = int(a["canvas"].value)  # type: ignore[arg-type]
        said = f"the VLM counted {n} {check.object}{where}"
    if check.matches is None:
        return _verdict(check.accepts(n), said, evidence)
    ref = 0
    if "reference" in a:
        rq = count_question(check.matches.object)
        bad = _not_answered(rq, a["reference"])
        if bad is not None:
            return _unknown(f"turn {check.matches.turn}: {bad.reason}", bad.evidence)
        ref = int(a["reference"].value)  # type: ignore[arg-type]
        evidence["reference"] = {"turn": check.matches.turn, **_evidence(rq, a["reference"])}
    evidence["expected"] = f"= {check.matches.expected(ref)}"
    said += f" (turn {check.matches.turn} shows {ref} {check.matches.object})"
    return _verdict(check.accepts(n, ref), said, evidence)


def _decide_presence(check: Present | Absent, q: Question, a: dict[str, Answer]) -> JudgeResult:
    answer = a["canvas"]
    bad = _not_answered(q, answer)
    if bad is not None:
        return bad
    seen = answer.value == "yes"
    where = f" in {check.within}" if check.within else ""
    said = f"the VLM sees {'' if seen else 'no '}{check.object}{where}"
    return _verdict(seen == isinstance(check, Present), said, _evidence(q, answer))


def _decide_yesno(
    check: Relation | Position | Style | Ask, q: Question, a: dict[str, Answer]
) -> JudgeResult:
    answer = a["canvas"]
    bad = _not_answered(q, answer)
    if bad is not None:
        return bad
    yes = answer.value == "yes"
    evidence = _evidence(q, answer)
    if isinstance(check, Relation):
        rel = RELATION_PHRASES[check.relation]
        said = f"the VLM says {check.subject} is {'' if yes else 'not '}{rel} {check.object}"
        return _verdict(yes, said, evidence)
    if isinstance(check, Position):
        place = PLACE_PHRASES[check.place]
        said = f"the VLM says {check.object} is {'' if yes else 'not '}in the {place}"
        return _verdict(yes, said, evidence)
    if isinstance(check, Style):
        found = "grayscale" if yes else "color"
        return _verdict(found == check.equals, f"the VLM says the image is {found}", evidence)
    assert isinstance(check, Ask)
    said = f"the VLM answered {answer.value} (expected {check.expect})"
    return _verdict(answer.value == check.expect, said, evidence)


def _decide_color(check: Color, q: Question, a: dict[str, Answer]) -> JudgeResult:
    answer = a["canvas"]
    bad = _not_answered(q, answer)
    if bad is not None:
        return bad
    which = check.part or (f"the {check.select} {check.object}" if check.select else check.object)
    if answer.value == "none":
        said = f"the VLM sees no {check.object}"
    elif answer.value == "mixed":
        said = f"the VLM says the {check.object} differ in colour"
    else:
        said = f"the VLM says {which} is {answer.value}"
    return _verdict(answer.value == check.equals, said, _evidence(q, answer))


def _decide_compare(check: Unchanged | SameAs, q: Question, a: dict[str, Answer]) -> JudgeResult:
    answer = a["pair"]
    bad = _not_answered(q, answer)
    if bad is not None:
        return bad
    changed = answer.value == "yes"
    where = ""
    if isinstance(check, Unchanged) and (check.outside or check.outside_objects):
        where = " outside " + ", ".join((*check.outside, *check.outside_objects))
    said = f"the VLM sees {'a' if changed else 'no'} difference{where} from {check.against}"
    return _verdict(not changed, said, {"against": str(check.against), **_evidence(q, answer)})

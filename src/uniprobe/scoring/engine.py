"""Scoring a sample: every expectation of every turn, on the right canvas, with its tags.

The rules, stated once (README's "Cases and checks" repeats them for case authors):

* **Canvas rule.** A turn's checks look at the image the model drew in that turn, or,
  if it drew none (text, refusal, rightly doing nothing), the latest earlier image in
  the conversation (attached or drawn). A check with `turn: N` looks at turn N's canvas.
* **What the reply did** (`Drawing`, of the turn whose canvas a check looks at):
  `changed` (it drew a picture that differs from the previous canvas), `no_change` (it
  returned the previous canvas: the same file, or the same pixels; the previous canvas
  is the image attached to that turn, else the canvas before it), `no_image` (it
  answered in words), `refusal` (it declined, without an image). A failed check on a
  canvas its turn did not change is tagged `no_change`, `no_image`, or `no_image` and
  `refusal`.
* **Literal tag.** `literal` means the picture shows the literal reading: a failed
  check is tagged `literal` only when its turn `changed` the canvas and the check's
  literal variant holds on it (judged). An empty, kept or refused canvas is never
  `literal`, whatever the literal variant says of it.
* **Edit tags.** In an edit turn a failed check is `over_edit` if it held on the
  pre-edit canvas (the model broke what was right) and `under_edit` if it did not (the
  requested change is missing). A failed `unchanged`/`same_as` check is `over_edit`
  when its turn changed the canvas (in any turn), and never `literal`: its `literal:
  true` is still read, but tags nothing (the locality failure is the over-edit).
* **Conditionals.** The condition is judged on the model's own canvas; then the branch
  it selects. A failure that satisfies the other branch instead is `wrong_branch`
  (whatever the reply was), plus the tags of what the reply did; and only when the
  turn `changed` the canvas, `misread_condition` when that picture contradicts what the
  text implied (`assumed`) — the model followed the words, not its picture — and
  `literal` when the other branch is the literal one.
* **Roles.** Every verdict records its check's role (`setup`, `probe`, `filler`; see
  `uniprobe.cases.checks.Role`); a conditional's condition and branch checks share the
  conditional's role. Tags do not depend on the role; metrics select by it.
* **One look per canvas.** Before judging, every (check, canvas) the scoring may ask
  about — checks, their literal variants (on changed canvases), pre-edit re-judging,
  both branches of a conditional — goes to each judge's `prepare`, so a model judge
  answers a canvas's questions in one call.
* **Never impute.** A check no judge can decide is `unknown` with the reason; a turn
  that never got a reply makes its checks `unknown` with the tag `error`.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from PIL import Image, ImageChops

from uniprobe.cases.checks import Check, Comparison, Conditional, Role, check_to_dict
from uniprobe.cases.images import case_image_bytes, rendered_source
from uniprobe.cases.schema import Case
from uniprobe.cases.validate import reference_scene
from uniprobe.hashing import sha256_bytes
from uniprobe.scenes.geometry import Box
from uniprobe.scoring.judge import Canvas, Judge, JudgeContext, JudgeResult, Ledger
from uniprobe.scoring.judges.pixels import reference_key
from uniprobe.scoring.policy import Judging
from uniprobe.store.records import ImageRef, Outcome, SampleRecord, ScoreRecord, Status, Verdict
from uniprobe.store.rundir import RunDir

__all__ = [
    "DRAWING_TAGS",
    "CanvasSource",
    "Drawing",
    "SampleView",
    "canvas_source",
    "combine",
    "compared_against",
    "scene_parts",
    "score_sample",
]


Drawing = Literal["changed", "no_change", "no_image", "refusal"]
"""What a turn's reply did to the canvas (module docstring)."""
DRAWING_TAGS: dict[Drawing, tuple[str, ...]] = {
    "changed": (),
    "no_change": ("no_change",),
    "no_image": ("no_image",),
    "refusal": ("no_image", "refusal"),
}
"""The tags a failed check gets for what its turn's reply did."""


def combine(statuses: Sequence[Status]) -> Status:
    """All pass -> pass; any fail -> fail; otherwise unknown."""
    if any(s == "fail" for s in statuses):
        return "fail"
    if statuses and all(s == "pass" for s in statuses):
        return "pass"
    return "unknown" if statuses else "pass"


@dataclass(frozen=True)
class CanvasSource:
    """Where the canvas of a turn comes from, by the canvas rule (no pixels loaded)."""

    turn: int
    """The turn whose canvas this is."""
    ref: ImageRef | None
    """The image, or None when the conversation has none up to `turn`."""
    drawn: bool
    """True if the model produced this image in `turn` itself."""
    source: int
    """The turn whose reply (or attachment) holds the image; 0 without an image."""


def canvas_source(sample: SampleRecord, turn: int) -> CanvasSource:
    """The canvas rule: the image the model drew in `turn`, else the latest earlier image
    of the conversation (drawn or attached)."""
    for t in range(min(turn, len(sample.turns)), 0, -1):
        rec = sample.turns[t - 1]
        if rec.reply is not None and rec.reply.images:
            return CanvasSource(turn, rec.reply.images[-1], t == turn, t)
        if rec.attached:
            return CanvasSource(turn, rec.attached[-1], False, t)
    return CanvasSource(turn, None, False, 0)


def compared_against(check: Check) -> int | str | None:
    """The earlier turn (its canvas) or case image a check compares its canvas with:
    `against` of unchanged/same_as, the turn a count `matches`; None for other checks."""
    return check.compared_against()


def scene_parts(
    case: Case, turn: int, check: Check
) -> tuple[dict[str, Box], tuple[int, int] | None]:
    """The boxes of the named parts a check at `turn` can refer to (`within`, `outside`,
    a colour's `part`), in the pixels of their reference scene, and that scene's size:
    the case image the check compares against, else the one attached most recently."""
    against = check.against if isinstance(check, Comparison) else None
    name, scene = reference_scene(case, turn, against if isinstance(against, str) else None)
    if scene is None or name is None:
        return {}, None
    rendered = rendered_source(case.images[name])
    return {o.id: o.box for o in rendered.objects if o.id}, rendered.image.size


class SampleView:
    """The canvases of one sample, loaded lazily from the run directory."""

    def __init__(self, case: Case, sample: SampleRecord, run: RunDir) -> None:
        self.case, self.sample, self.run = case, sample, run
        self._images: dict[str, Image.Image] = {}
        self._drawing: dict[int, Drawing] = {}

    def _load(self, ref: ImageRef) -> Image.Image:
        if ref.sha256 not in self._images:
            self._images[ref.sha256] = self.run.load_image(ref, sample=self.sample.key)
        return self._images[ref.sha256]

    def answered(self, turn: int) -> bool:
        """Whether turn `turn` got a reply."""
        return len(self.sample.turns) >= turn and self.sample.turns[turn - 1].reply is not None

    def canvas(self, turn: int) -> Canvas:
        """The canvas after `turn` (see the canvas rule, `canvas_source`)."""
        src = canvas_source(self.sample, turn)
        image = None if src.ref is None else self._load(src.ref)
        return Canvas(turn, image, src.ref, drawn=src.drawn)

    def pre_edit(self, turn: int) -> Canvas:
        """The canvas an edit turn starts from: its attached image, else the last canvas."""
        rec = self.sample.turns[turn - 1] if len(self.sample.turns) >= turn else None
        if rec is not None and rec.attached:
            ref = rec.attached[-1]
            return Canvas(turn - 1, self._load(ref), ref, drawn=False)
        return self.canvas(turn - 1) if turn > 1 else Canvas(0, None, None, drawn=False)

    def drawing(self, turn: int) -> Drawing:
        """What the reply to `turn` did to the canvas: `changed`, `no_change` (the previous
        canvas returned, same file or same pixels), `no_image` or `refusal`."""
        if turn not in self._drawing:
            self._drawing[turn] = self._what_was_drawn(turn)
        return self._drawing[turn]

    def _what_was_drawn(self, turn: int) -> Drawing:
        src = canvas_source(self.sample, turn)
        if src.ref is None or not src.drawn:
            rec = self.sample.turns[turn - 1] if len(self.sample.turns) >= turn else None
            refused = rec is not None and rec.reply is not None and bool(rec.reply.refusal)
            return "refusal" if refused else "no_image"
        before = self.pre_edit(turn).ref
        if before is None:
            return "changed"
        if before.sha256 == src.ref.sha256:
            return "no_change"
        if (before.width, before.height) != (src.ref.width, src.ref.height):
            return "changed"
        a, b = self._load(before).convert("RGB"), self._load(src.ref).convert("RGB")
        return "no_change" if ImageChops.difference(a, b).getbbox() is None else "changed"

    def references(self, checks: Sequence[Check]) -> dict[str, Canvas]:
        """Comparison images the checks name ('turn:N' canvases and case images)."""
        out: dict[str, Canvas] = {}
        for c in checks:
            against = c.compared_against()
            if isinstance(against, int):
                out[reference_key(against)] = self.canvas(against)
            elif against is not None and against in self.case.images:
                data = case_image_bytes(self.case, against)
                with Image.open(io.BytesIO(data)) as im:
                    ref = ImageRef(
                        sha256=sha256_bytes(data),
                        width=im.width,
                        height=im.height,
                        mime=Image.MIME.get(im.format or "", "image/png"),
                    )
                    out[reference_key(against)] = Canvas(0, im.convert("RGB"), ref, drawn=False)
        return out


class _Scorer:
    def __init__(self, case: Case, view: SampleView, judging: Judging) -> None:
        self.case, self.view, self.judging = case, view, judging
        self.ledger = Ledger()

    def _queries(self) -> list[tuple[Check, int, Canvas]]:
        """Every (check, turn, canvas) scoring may judge, in the order it may."""
        out: list[tuple[Check, int, Canvas]] = []

        def leaf(check: Check, turn: int, tags: bool = True) -> None:
            on = check.turn or turn
            canvas = self.view.canvas(on)
            out.append((check, turn, canvas))
            if not tags:
                return
            variant = None if check.literal_negates else check.literal_variant()
            if variant is not None and self.view.drawing(on) == "changed":
                out.append((variant, turn, canvas))
            edit = on == turn and self.case.turns[turn - 1].is_edit
            if edit and not isinstance(check, Comparison):
                out.append((check, turn, self.view.pre_edit(turn)))

        for turn, _path, exp in self.case.expectations():
            if not self.view.answered(turn):
                continue
            if isinstance(exp, Conditional):
                leaf(exp.when, turn, tags=False)
                for c in (*exp.then, *exp.else_):
                    leaf(c, turn)
            else:
                leaf(exp, turn)
        return out

    async def prepare(self) -> None:
        """Hand each judge the queries it will be asked, all at once."""
        groups: dict[int, tuple[Judge, list[tuple[Check, JudgeContext]]]] = {}
        for check, turn, canvas in self._queries():
            judge = self.judging.judge_for(check.kind)
            if judge is None:
                continue
            entry = groups.setdefault(id(judge), (judge, []))
            entry[1].append((check, self._context(check, turn, canvas)))
        await asyncio.gather(*(j.prepare(q) for j, q in groups.values()))

    def _context(self, check: Check, turn: int, canvas: Canvas) -> JudgeContext:
        parts, size = scene_parts(self.case, turn, check)
        return JudgeContext(
            self.case,
            turn,
            canvas,
            self.view.references([check]),
            parts,
            size,
            self.ledger,
            run=self.view.run.path,
        )

    async def _judge(
        self, check: Check, turn: int, canvas: Canvas
    ) -> tuple[JudgeResult, str | None]:
        judge = self.judging.judge_for(check.kind)
        if judge is None:
            return JudgeResult(
                "unknown",
                f"no judge in policy '{self.judging.policy.name}' answers '{check.kind}' checks",
            ), None
        result = await judge.judge(check, self._context(check, turn, canvas))
        return result, f"{judge.name}@{judge.version}"

    async def leaf(
        self, check: Check, turn: int, path: str, *, role: Role, tags: bool = True
    ) -> Verdict:
        on = check.turn or turn
        canvas = self.view.canvas(on)
        result, judge = await self._judge(check, turn, canvas)
        found: list[str] = []
        if result.status == "fail" and tags:
            found = await self._tags(check, turn, on, canvas)
        return Verdict(
            path=path,
            turn=turn,
            kind=check.kind,
            check=check_to_dict(check),
            status=result.status,
            reason=result.reason,
            tags=found,
            judge=judge,
            evidence=result.evidence,
            role=role,
        )

    async def _tags(self, check: Check, turn: int, on: int, canvas: Canvas) -> list[str]:
        """The tags of a failed check (module docstring: literal, edit, what was drawn)."""
        drawing = self.view.drawing(on)
        tags: list[str] = []
        variant = None if check.literal_negates else check.literal_variant()
        if variant is not None and drawing == "changed":
            res, _ = await self._judge(variant, turn, canvas)
            if res.status == "pass":
                tags.append("literal")
        if isinstance(check, Comparison):
            if drawing == "changed":
                tags.append("over_edit")
        elif on == turn and self.case.turns[turn - 1].is_edit:
            before, _ = await self._judge(check, turn, self.view.pre_edit(turn))
            if before.status == "pass":
                tags.append("over_edit")
            elif before.status == "fail":
                tags.append("under_edit")
        tags.extend(DRAWING_TAGS[drawing])
        return tags

    async def conditional(self, cond: Conditional, turn: int, path: str) -> Verdict:
        when = await self.leaf(cond.when, turn, f"{path}.when", role=cond.role, tags=False)
        base = {
            "path": path,
            "turn": turn,
            "kind": "conditional",
            "check": check_to_dict(cond),
            "role": cond.role,
        }
        if when.status == "unknown":
            return Verdict(
                **base,
                status="unknown",
                reason=f"the condition could not be judged: {when.reason}",
                children=[when],
            )
        holds = when.status == "pass"
        name, other_name = ("then", "else") if holds else ("else", "then")
        branch = [
            await self.leaf(c, turn, f"{path}.{name}.{i}", role=cond.role)
            for i, c in enumerate(cond.branch(holds))
        ]
        status = combine([v.status for v in branch])
        tags: list[str] = []
        evidence: dict[str, Any] = {"condition": holds, "branch": name}
        if status == "fail":
            other = [
                await self.leaf(c, turn, f"{path}.{other_name}.{i}", role=cond.role, tags=False)
                for i, c in enumerate(cond.branch(not holds))
            ]
            evidence["other_branch"] = [{"check": v.check, "status": v.status} for v in other]
            if other and all(v.status == "pass" for v in other):
                drawing = self.view.drawing(turn)
                tags.append("wrong_branch")
                if drawing == "changed":
                    if cond.assumed is not None and cond.assumed != holds:
                        tags.append("misread_condition")
                    if cond.literal == other_name:
                        tags.append("literal")
                tags.extend(DRAWING_TAGS[drawing])
            else:
                tags = sorted({t for v in branch if v.status == "fail" for t in v.tags})
        passed = sum(v.status == "pass" for v in branch)
        reason = (
            f"condition {'holds' if holds else 'does not hold'} ({when.reason}); "
            f"{name} branch: {passed}/{len(branch)} checks pass"
        )
        if "wrong_branch" in tags:
            reason += f"; the image follows the {other_name} branch"
        return Verdict(
            **base,
            status=status,
            reason=reason,
            tags=tags,
            evidence=evidence,
            children=[when, *branch],
        )


async def score_sample(
    case: Case, sample: SampleRecord, run: RunDir, judging: Judging
) -> ScoreRecord:
    """Judge every expectation of a sample under one policy."""
    view = SampleView(case, sample, run)
    scorer = _Scorer(case, view, judging)
    await scorer.prepare()
    verdicts: list[Verdict] = []
    for turn, path_t, exp in case.expectations():
        path = ".".join(map(str, path_t))
        if not view.answered(turn):
            rec = sample.turns[turn - 1] if len(sample.turns) >= turn else None
            why = rec.error.message if rec is not None and rec.error else "the turn was not reached"
            verdicts.append(
                Verdict(
                    path=path,
                    turn=turn,
                    kind=exp.kind,
                    check=check_to_dict(exp),
                    status="unknown",
                    reason=f"no reply: {why}",
                    tags=["error"],
                    role=exp.role,
                )
            )
            continue
        if isinstance(exp, Conditional):
            verdicts.append(await scorer.conditional(exp, turn, path))
        else:
            verdicts.append(await scorer.leaf(exp, turn, path, role=exp.role))
    outcome: Outcome = (
        "error" if sample.status == "error" else combine([v.status for v in verdicts])
    )
    return ScoreRecord(
        case_id=case.id,
        epoch=sample.epoch,
        policy=judging.name,
        judged_by=judging.policy.name if judging.name != judging.policy.name else None,
        judges=judging.versions(),
        judge_options=judging.options(),
        judge_usage=scorer.ledger.usage,
        outcome=outcome,
        verdicts=verdicts,
        scored=datetime.now(UTC).isoformat(timespec="seconds"),
    )

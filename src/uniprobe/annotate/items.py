"""What there is to annotate in a run: every leaf check on the canvas it is judged on.

Items come from the suite's checks (the run's own suite, see `api.suite_of_run`), not
from a scores file, so a run can be annotated before it is scored, and every leaf of a
conditional is asked: its condition and *both* branches. A label says what is true of
an image, whichever branch a judge later picks; so the human judge can answer the
branch the human-labelled condition selects. When the run has scores under a policy,
each item carries that policy's verdict for the same check path (None where the
policy never judged it, e.g. the branch it did not take); the page never shows it.

A leaf check looks at the canvas of its own `turn:` if it names one, else the canvas of
its turn, by the engine's canvas rule (`scoring.engine.canvas_source`). Items are
grouped by canvas, one page per canvas: its image, the dialogue up to that turn, and
every question about it. The same question on the same image is one item (one key)
wherever it occurs, so a label given on one canvas answers it on every other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from uniprobe.annotate.questions import ask, part_name, reference_name
from uniprobe.cases.checks import Check, check_to_dict
from uniprobe.cases.images import case_image_bytes
from uniprobe.cases.schema import Case, Suite
from uniprobe.errors import RunDirError
from uniprobe.hashing import sha256_bytes
from uniprobe.scoring.engine import SampleView, canvas_source, scene_parts
from uniprobe.store.labels.keys import item_key
from uniprobe.store.labels.label import Label, LabelValue, now_iso
from uniprobe.store.records import ImageRef, SampleRecord, Status, Verdict
from uniprobe.store.rundir import RunDir

__all__ = [
    "CanvasGroup",
    "DialogueTurn",
    "Item",
    "Reference",
    "Region",
    "canvases",
    "leaf_verdicts",
]


@dataclass(frozen=True)
class Reference:
    """The image a comparison check compares the canvas with."""

    what: str
    """In words: 'turn 1' or "the source image 'lake'"."""
    sha256: str | None
    """Its content hash; None when that turn had no image."""
    image: ImageRef | None
    """The stored image to show, when the run folder holds it."""


@dataclass(frozen=True)
class Region:
    """A named scene part a check refers to, to outline on the canvas."""

    name: str
    """The part in words ('left hand')."""
    box: tuple[float, float, float, float]
    """(left, top, right, bottom) as shares of the image's width and height."""


@dataclass(frozen=True)
class Item:
    """One question about one canvas."""

    key: str
    """`keys.item_key` of the canvas image, the check and the reference image."""
    case_id: str
    epoch: int
    turn: int
    """The turn whose expectations hold the check (1-based)."""
    path: str
    """Where the check is in the case, as in `Verdict.path`."""
    kind: str
    check: dict[str, Any]
    """The check as written."""
    question: str
    """Plain words; yes means the check passes."""
    hint: str
    """The rule behind the question, in one line."""
    image: ImageRef | None
    """The canvas; None when the conversation had no image yet."""
    reference: Reference | None
    """The image compared with (unchanged, same_as, count matches)."""
    regions: tuple[Region, ...] = ()
    """Scene parts the question names, where the case's scene has them."""
    verdict: Status | None = None
    """The scored policy's verdict on this check, if it judged it."""

    def label(self, annotator: str, value: LabelValue, *, created: str | None = None) -> Label:
        """A label of this item (validated: a bad annotator name raises ValidationError)."""
        return Label(
            item=self.key,
            case_id=self.case_id,
            epoch=self.epoch,
            turn=self.turn,
            path=self.path,
            kind=self.kind,
            check=self.check,
            image_sha256=self.image.sha256 if self.image else None,
            reference_sha256=self.reference.sha256 if self.reference else None,
            annotator=annotator,
            label=value,
            created=created or now_iso(),
        )


@dataclass(frozen=True)
class DialogueTurn:
    """One turn of the conversation as the annotator sees it."""

    index: int
    user: str
    attached: tuple[ImageRef, ...]
    text: str | None
    """The model's words."""
    refusal: str | None
    images: tuple[ImageRef, ...]
    """Images the model drew."""
    error: str | None
    """Why the turn got no reply, if it got none."""


@dataclass(frozen=True)
class CanvasGroup:
    """One page for annotators: a canvas, the dialogue up to it, its questions."""

    id: str
    """'case_id:epoch:turn'."""
    case_id: str
    epoch: int
    turn: int
    """The canvas is the one after this turn."""
    image: ImageRef | None
    drawn: bool
    """True if the model drew the image in `turn` itself."""
    source: int
    """The turn whose reply or attachment holds the image (0: no image)."""
    dialogue: tuple[DialogueTurn, ...]
    items: tuple[Item, ...]

    @property
    def note(self) -> str:
        """Where the image comes from, in one sentence."""
        if self.image is None:
            return f"No image: none was drawn or attached up to turn {self.turn}."
        if self.drawn:
            return f"The image the model drew in turn {self.turn}."
        if self.source == self.turn:
            return f"The model drew no image in turn {self.turn}; this is the image attached to it."
        return (
            f"The model drew no image in turn {self.turn}; this is the latest earlier image "
            f"(turn {self.source})."
        )


def leaf_verdicts(verdicts: list[Verdict]) -> Iterator[Verdict]:
    """Every leaf check verdict, conditionals flattened (their condition and branch)."""
    for v in verdicts:
        if v.children:
            yield from leaf_verdicts(v.children)
        elif v.kind != "conditional":
            yield v


def canvases(run: RunDir, suite: Suite, *, policy: str | None = None) -> list[CanvasGroup]:
    """Every canvas of the run with its questions, in suite order, then epoch and turn.

    Args:
        run: the run folder.
        suite: the suite the run was made with (`api.suite_of_run`).
        policy: scores whose verdicts the items carry; None for none.
    """
    cases = {c.id: c for c in suite.cases}
    order = {c.id: i for i, c in enumerate(suite.cases)}
    samples = sorted(run.samples().values(), key=lambda s: (order.get(s.case_id, -1), s.epoch))
    missing = sorted({s.case_id for s in samples if s.case_id not in cases})
    if missing:
        raise RunDirError(f"{run.path}: samples of cases not in suite '{suite.name}': {missing[0]}")
    scores = run.scores(policy) if policy else {}
    out: list[CanvasGroup] = []
    for sample in samples:
        record = scores.get(sample.key)
        verdicts = {v.path: v.status for v in leaf_verdicts(record.verdicts)} if record else {}
        out.extend(_sample_canvases(run, cases[sample.case_id], sample, verdicts))
    return out


def _sample_canvases(
    run: RunDir, case: Case, sample: SampleRecord, verdicts: Mapping[str, Status]
) -> list[CanvasGroup]:
    view = SampleView(case, sample, run)
    sources = _attached(case, sample)
    items: dict[int, dict[str, Item]] = {}
    for turn, path_t, check in case.leaves():
        if not view.answered(turn):
            continue  # the engine marks these unknown (error); there is nothing to see
        on = check.turn or turn
        image = canvas_source(sample, on).ref
        reference = _reference(case, sample, sources, check.compared_against())
        written = check_to_dict(check)
        path = ".".join(map(str, path_t[:-1]))  # a leaf's YAML path ends with its kind
        question, hint = ask(check)
        compared = reference.sha256 if reference else None
        key = item_key(image.sha256 if image else None, written, compared)
        item = Item(
            key=key,
            case_id=case.id,
            epoch=sample.epoch,
            turn=turn,
            path=path,
            kind=check.kind,
            check=written,
            question=question,
            hint=hint,
            image=image,
            reference=reference,
            regions=_regions(case, turn, check),
            verdict=verdicts.get(path),
        )
        items.setdefault(on, {}).setdefault(key, item)
    return [_group(case, sample, on, tuple(found.values())) for on, found in sorted(items.items())]


def _group(case: Case, sample: SampleRecord, turn: int, items: tuple[Item, ...]) -> CanvasGroup:
    src = canvas_source(sample, turn)
    dialogue = tuple(
        DialogueTurn(
            rec.index,
            rec.user,
            tuple(rec.attached),
            rec.reply.text if rec.reply else None,
            rec.reply.refusal if rec.reply else None,
            tuple(rec.reply.images) if rec.reply else (),
            rec.error.message if rec.error else None,
        )
        for rec in sample.turns[:turn]
    )
    gid = f"{case.id}:{sample.epoch}:{turn}"
    return CanvasGroup(
        gid, case.id, sample.epoch, turn, src.ref, src.drawn, src.source, dialogue, items
    )


def _regions(case: Case, turn: int, check: Check) -> tuple[Region, ...]:
    parts, size = scene_parts(case, turn, check)
    if size is None:
        return ()
    w, h = size
    return tuple(
        Region(part_name(p), (box[0] / w, box[1] / h, box[2] / w, box[3] / h))
        for p in check.parts()
        if (box := parts.get(p)) is not None
    )


def _attached(case: Case, sample: SampleRecord) -> dict[str, ImageRef]:
    """The case's images by name, as the sample stored them when it attached them."""
    out: dict[str, ImageRef] = {}
    for turn, rec in zip(case.turns, sample.turns, strict=False):
        for name, ref in zip(turn.attach, rec.attached, strict=False):
            out.setdefault(name, ref)
    return out


def _reference(
    case: Case,
    sample: SampleRecord,
    attached: Mapping[str, ImageRef],
    against: int | str | None,
) -> Reference | None:
    if against is None:
        return None
    what = reference_name(against)
    if isinstance(against, int):
        ref = canvas_source(sample, against).ref
        return Reference(what, ref.sha256 if ref else None, ref)
    stored = attached.get(against)
    if stored is not None:
        return Reference(what, stored.sha256, stored)
    if against not in case.images:
        return Reference(what, None, None)
    # a case image the conversation never attached is not in the run folder: nothing to show
    return Reference(what, sha256_bytes(case_image_bytes(case, against)), None)

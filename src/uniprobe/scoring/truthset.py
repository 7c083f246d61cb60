"""The known-truth set that calibration measures judges on.

The set is built from random synthetic scenes (`uniprobe.scenes.sampling`),
their truth read from the scene specs and the renderer's exact boxes, never from a
judge. Each base scene (the oracle render) comes with perturbed renders:

* `added`: one more instance of a kind already there (what a literal count draws);
* `removed`: one instance fewer;
* `recolored`: the largest object tinted another palette colour;
* `moved`: the largest object mirrored to the other half of the frame;
* `grayscale`: the same scene without colour.

(Perturbations change the largest object, and only when its box covers at least 3% of
the image: a clear-cut change.)

Each base scene is also passed through what real editors and pipelines do to an image
(`PERTURBATIONS`, parameters drawn per scene from fixed ranges): JPEG at quality
70-90, a resize round trip through 384 or 768 pixels, a 1-3 pixel shift, a 2-4% crop
resized back, gamma 0.9-1.1, channel gains within 5%, a Gaussian blur of sigma
0.5-1. Their object checks (count, presence, relation, position, colour) keep the
base scene's truth; the item's `perturbation` names what was done ("none" for clean
renders).

Every image gets checks with a known verdict, true and false ones: counts (the true
number, and one more), presence and absence, relations and positions of objects
clearly apart, colours of tinted objects, style, text on a sign (a scene with a word
drawn into free space), yes/no `ask` questions, and for each perturbation the edit
checks against the base scene: `same_as` (false), `unchanged` outside the perturbed
kind (true) and outside another kind (false), plus `same_as` of an identical copy
(true).
"""

from __future__ import annotations

import difflib
import io
import random
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageFilter, ImageFont

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
    Text,
    Unchanged,
)
from uniprobe.scenes.colors import COLOR_NAMES
from uniprobe.scenes.geometry import Box, center
from uniprobe.scenes.render import RenderedScene, glyph_unit_size, render_scene
from uniprobe.scenes.sampling import SamplerConfig, overlap_share, random_scene
from uniprobe.scenes.spec import SceneObject, SceneSpec
from uniprobe.scenes.vocabulary import glyph_concepts

if TYPE_CHECKING:
    pass

__all__ = [
    "MIN_CHANGE",
    "PERTURBATIONS",
    "WORDS",
    "CalibrationItem",
    "calibration_set",
    "perturb_image",
]

WORDS = ("OPEN", "CAFE", "HOTEL", "EXIT", "PARK", "BAKERY", "TAXI", "MUSEUM", "GARDEN", "BANK")
"""Words drawn on signs for text checks."""

MIN_CHANGE = 0.03
"""Perturbations are made only to an object whose box covers at least this share of the
image, so that every edit check's truth is clear-cut."""
_MARGIN = 0.06
"""Objects whose centres are closer than this share of the frame to a dividing line (or
to each other, for relations) are left out of position and relation checks."""


@dataclass(frozen=True)
class CalibrationItem:
    """One check on one image, with its true verdict."""

    id: str
    """'scene-index/render/check-number'."""
    render: str
    """scene, added, removed, recolored, moved, grayscale, sign."""
    check: Check
    """The check, as a case would hold it."""
    truth: bool
    image: Image.Image
    reference: Image.Image | None = None
    """The image an edit check compares with (the base scene)."""
    perturbation: str = "none"
    """What was done to the render after drawing it (`PERTURBATIONS`), or 'none'."""

    @property
    def kind(self) -> str:
        """The check kind."""
        return self.check.kind

    @property
    def decisive(self) -> bool:
        """True when any wrong reading of the image flips the verdict."""
        return self.truth or self.kind not in ("count", "color")


# --- the controlled set -----------------------------------------------------------------


def _truth_checks(
    spec: SceneSpec, rendered: RenderedScene, rng: random.Random
) -> list[tuple[Any, bool]]:
    """Checks with known verdicts on one render: (check, truth) pairs."""
    names = [c.name for c in glyph_concepts()]
    glyphs = [
        (obj, r)
        for obj, r in zip(spec.objects, rendered.objects, strict=True)
        if obj.shape == "glyph" and r.concept
    ]
    counts = Counter(r.concept for _, r in glyphs)
    w, h = spec.width, spec.height
    out: list[tuple[Any, bool]] = []
    for kind, n in sorted(counts.items()):
        out.append((Count(object=kind, equals=n), True))
        out.append((Count(object=kind, equals=n + 1), False))
        out.append((Present(object=kind), True))
        out.append((Absent(object=kind), False))
        out.append((Ask(question=f"Is there a {kind} in the image?", expect="yes"), True))
    missing = sorted(n for n in names if n not in counts)
    for kind in rng.sample(missing, 2):
        out.append((Present(object=kind), False))
        out.append((Absent(object=kind), True))
        out.append((Ask(question=f"Is there a {kind} in the image?", expect="yes"), False))
    single = [(o, r) for o, r in glyphs if counts[r.concept] == 1]
    for obj, r in single:
        cx, cy = center(r.box)
        if abs(cx - w / 2) > _MARGIN * w:
            side, other = ("left", "right") if cx < w / 2 else ("right", "left")
            out.append((Position(object=r.concept, place=side), True))
            out.append((Position(object=r.concept, place=other), False))
        if abs(cy - h / 2) > _MARGIN * h:
            side, other = ("top", "bottom") if cy < h / 2 else ("bottom", "top")
            out.append((Position(object=r.concept, place=side), True))
            out.append((Position(object=r.concept, place=other), False))
        if obj.color and not spec.grayscale:
            wrong = rng.choice([c for c in COLOR_NAMES if c != obj.color])
            out.append((Color(object=r.concept, equals=obj.color), True))
            out.append((Color(object=r.concept, equals=wrong), False))
    centres: dict[str, list[tuple[float, float]]] = {}
    for _, r in glyphs:
        centres.setdefault(str(r.concept), []).append(center(r.box))
    kinds = sorted(centres)
    for i, a in enumerate(kinds):
        for b in kinds[i + 1 :]:
            axs, ays = [c[0] for c in centres[a]], [c[1] for c in centres[a]]
            bxs, bys = [c[0] for c in centres[b]], [c[1] for c in centres[b]]
            gap_x, gap_y = 2 * _MARGIN * w, 2 * _MARGIN * h
            pairs = []
            if max(axs) + gap_x < min(bxs):
                pairs.append(("left_of", "right_of"))
            elif max(bxs) + gap_x < min(axs):
                pairs.append(("right_of", "left_of"))
            if max(ays) + gap_y < min(bys):
                pairs.append(("above", "below"))
            elif max(bys) + gap_y < min(ays):
                pairs.append(("below", "above"))
            for rel, other in pairs:
                out.append((Relation(subject=a, relation=rel, object=b), True))
                out.append((Relation(subject=a, relation=other, object=b), False))
    colorful = bool(spec.bands) or any(
        o.color is not None and o.color not in ("black", "white", "gray") for o, _ in glyphs
    )
    if spec.grayscale:
        out += [(Style(equals="grayscale"), True), (Style(equals="color"), False)]
    elif colorful:  # clearly in colour: a sky band or a chromatic tint
        out += [(Style(equals="color"), True), (Style(equals="grayscale"), False)]
    return out


def _largest(spec: SceneSpec, rendered: RenderedScene) -> int | None:
    best, area = None, 0
    for i, r in enumerate(rendered.objects):
        if spec.objects[i].shape != "glyph":
            continue
        a = (r.box[2] - r.box[0]) * (r.box[3] - r.box[1])
        if a > area:
            best, area = i, a
    return best


def _free_box(
    boxes: Sequence[Box], size: tuple[int, int], w: float, h: float, rng: random.Random
) -> Box | None:
    for _ in range(80):
        x = rng.uniform(w / 2 + 2, size[0] - w / 2 - 2)
        y = rng.uniform(h / 2 + 2, size[1] - h / 2 - 2)
        box = (round(x - w / 2), round(y - h / 2), round(x + w / 2), round(y + h / 2))
        if all(overlap_share(box, b) == 0 for b in boxes):
            return box
    return None


def _perturb(
    spec: SceneSpec, rendered: RenderedScene, rng: random.Random
) -> dict[str, tuple[SceneSpec, str]]:
    """Perturbed specs by name, each with the kind it changed."""
    out: dict[str, tuple[SceneSpec, str]] = {}
    objs = list(spec.objects)
    boxes = [r.box for r in rendered.objects]
    big = _largest(spec, rendered)
    if big is None:
        return out
    b = rendered.objects[big].box
    if (b[2] - b[0]) * (b[3] - b[1]) < MIN_CHANGE * spec.width * spec.height:
        return out  # too small a change to be sure any judge should see it
    target = objs[big]
    kind = rendered.objects[big].concept
    assert kind is not None and target.size is not None
    uw, uh = glyph_unit_size(kind)
    w, h = target.size * uw / max(uw, uh), target.size * uh / max(uw, uh)
    free = _free_box(boxes, (spec.width, spec.height), w, h, rng)
    if free is not None:
        cx, cy = center(free)
        extra = target.model_copy(update={"x": cx, "y": cy, "id": None})
        out["added"] = (spec.model_copy(update={"objects": (*objs, extra)}), kind)
    out["removed"] = (
        spec.model_copy(update={"objects": tuple(objs[:big] + objs[big + 1 :])}),
        kind,
    )
    color = rng.choice([c for c in COLOR_NAMES if c != target.color and c != "white"])
    recolored = [*objs]
    recolored[big] = target.model_copy(update={"color": color})
    out["recolored"] = (spec.model_copy(update={"objects": tuple(recolored)}), kind)
    mirrored_x = spec.width - target.x
    others = boxes[:big] + boxes[big + 1 :]
    half_w = (rendered.objects[big].box[2] - rendered.objects[big].box[0]) / 2
    moved_box = (
        round(mirrored_x - half_w),
        rendered.objects[big].box[1],
        round(mirrored_x + half_w),
        rendered.objects[big].box[3],
    )
    if abs(mirrored_x - target.x) > 2 * half_w and all(
        overlap_share(moved_box, b) <= 0.2 for b in others
    ):
        moved = [*objs]
        moved[big] = target.model_copy(update={"x": mirrored_x})
        out["moved"] = (spec.model_copy(update={"objects": tuple(moved)}), kind)
    return out


def _sign(
    spec: SceneSpec, rendered: RenderedScene, rng: random.Random
) -> tuple[SceneSpec, str] | None:
    word = rng.choice(WORDS)
    size = round(spec.height * 0.09)
    x0, y0, x1, y1 = ImageFont.load_default(size=size).getbbox(word)
    w, h = x1 - x0 + size, y1 - y0 + size * 0.6
    free = _free_box([r.box for r in rendered.objects], (spec.width, spec.height), w, h, rng)
    if free is None:
        return None
    cx, cy = center(free)
    plate = SceneObject(shape="rect", x=cx, y=cy, w=w, h=h, color="white")
    sign = SceneObject(shape="text", text=word, x=cx, y=cy, size=size)
    return spec.model_copy(update={"objects": (*spec.objects, plate, sign)}), word


def _other_word(word: str, rng: random.Random) -> str:
    far = [w for w in WORDS if difflib.SequenceMatcher(None, w.lower(), word.lower()).ratio() < 0.4]
    return rng.choice(far)


PERTURBATIONS = ("jpeg", "resize", "shift", "crop", "gamma", "gains", "blur")
"""What editors do to an image, in the order the set applies them."""
_OBJECT_KINDS = ("count", "present", "absent", "relation", "position", "color")


def perturb_image(image: Image.Image, name: str, rng: random.Random) -> tuple[Image.Image, str]:
    """The image after one perturbation with parameters drawn from `rng`, and a label of
    the parameters (e.g. 'jpeg q=78')."""
    im = image.convert("RGB")
    w, h = im.size
    if name == "jpeg":
        q = rng.randint(70, 90)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=q)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), f"jpeg q={q}"
    if name == "resize":
        side = rng.choice((384, 768))
        mid = im.resize((side * w // max(w, h), side * h // max(w, h)), Image.Resampling.BICUBIC)
        return mid.resize((w, h), Image.Resampling.BICUBIC), f"resize via {side}"
    if name == "shift":
        dx, dy = rng.choice((-1, 1)) * rng.randint(1, 3), rng.choice((-1, 1)) * rng.randint(1, 3)
        a = np.pad(np.asarray(im), ((3, 3), (3, 3), (0, 0)), mode="edge")
        a = a[3 - dy : 3 - dy + h, 3 - dx : 3 - dx + w]
        return Image.fromarray(np.ascontiguousarray(a)), f"shift {dx},{dy}"
    if name == "crop":
        share = rng.uniform(0.02, 0.04)
        cx, cy = round(w * share * rng.random()), round(h * share * rng.random())
        box = (cx, cy, cx + round(w * (1 - share)), cy + round(h * (1 - share)))
        return im.crop(box).resize((w, h), Image.Resampling.LANCZOS), f"crop {share:.1%}"
    if name == "gamma":
        g = rng.uniform(0.9, 1.1)
        lut = [round(255 * (i / 255) ** g) for i in range(256)] * 3
        return im.point(lut), f"gamma {g:.2f}"
    if name == "gains":
        gains = [rng.uniform(0.95, 1.05) for _ in range(3)]
        lut = [min(255, round(i * k)) for k in gains for i in range(256)]
        return im.point(lut), "gains " + ",".join(f"{k:.2f}" for k in gains)
    if name == "blur":
        sigma = rng.uniform(0.5, 1.0)
        return im.filter(ImageFilter.GaussianBlur(sigma)), f"blur sigma={sigma:.2f}"
    raise ValueError(f"unknown perturbation '{name}'; known: {', '.join(PERTURBATIONS)}")


def _perturbed_items(
    index: int, spec: SceneSpec, base: RenderedScene, rng: random.Random
) -> list[CalibrationItem]:
    """The base scene's object checks on each perturbed copy of its render."""
    checks = [(c, t) for c, t in _truth_checks(spec, base, rng) if c.kind in _OBJECT_KINDS]
    items = []
    for name in PERTURBATIONS:
        image, _ = perturb_image(base.image, name, rng)
        for n, (check, truth) in enumerate(checks):
            items.append(
                CalibrationItem(
                    f"{index}/{name}/{n}", "scene", check, truth, image, perturbation=name
                )
            )
    return items


def calibration_set(
    scenes: int = 12,
    *,
    seed: int = 0,
    size: int = 512,
    perturbed: bool = True,
    only: Collection[int] | None = None,
) -> list[CalibrationItem]:
    """The controlled set: `scenes` random base scenes, their edits and (with `perturbed`)
    their perturbed copies. With `only`, just those scene indices of `range(scenes)` (each
    scene depends on its seed and index alone, so it is the same scene as in the full set).
    """
    if scenes < 1:
        raise ValueError("calibration needs at least one scene")
    items: list[CalibrationItem] = []
    cfg = SamplerConfig(
        size=size,
        min_side=round(size * 0.12),
        max_side=round(size * 0.3),
        max_objects=6,
        tint_probability=0.6,
    )
    for index in range(scenes):
        if only is not None and index not in only:
            continue
        rng = random.Random(seed * 1_000_003 + index)
        spec = random_scene(rng, cfg)
        if not spec.objects:
            continue
        base = render_scene(spec)
        renders: dict[str, tuple[SceneSpec, RenderedScene]] = {"scene": (spec, base)}
        changed: dict[str, str] = {}
        for name, (pspec, kind) in _perturb(spec, base, rng).items():
            renders[name] = (pspec, render_scene(pspec))
            changed[name] = kind
        gray = spec.model_copy(update={"grayscale": True})
        renders["grayscale"] = (gray, render_scene(gray))
        for name, (s, r) in renders.items():
            for n, (check, truth) in enumerate(_truth_checks(s, r, rng)):
                items.append(CalibrationItem(f"{index}/{name}/{n}", name, check, truth, r.image))
        signed = _sign(spec, base, rng)
        if signed is not None:
            sspec, word = signed
            image = render_scene(sspec).image
            other = _other_word(word, rng)
            items.append(
                CalibrationItem(f"{index}/sign/0", "sign", Text(contains=word), True, image)
            )
            items.append(
                CalibrationItem(f"{index}/sign/1", "sign", Text(contains=other), False, image)
            )
        copy = base.image.copy()
        items.append(
            CalibrationItem(f"{index}/copy/0", "copy", SameAs(against=1), True, copy, base.image)
        )
        kinds = sorted({r.concept for r in base.objects if r.concept})
        for name, kind in changed.items():
            image = renders[name][1].image
            n = 0
            items.append(
                CalibrationItem(
                    f"{index}/{name}/edit{n}", name, SameAs(against=1), False, image, base.image
                )
            )
            items.append(
                CalibrationItem(
                    f"{index}/{name}/edit{n + 1}",
                    name,
                    Unchanged(against=1, outside_objects=(kind,)),
                    True,
                    image,
                    base.image,
                )
            )
            others = [k for k in kinds if k != kind]
            if others:
                items.append(
                    CalibrationItem(
                        f"{index}/{name}/edit{n + 2}",
                        name,
                        Unchanged(against=1, outside_objects=(rng.choice(others),)),
                        False,
                        image,
                        base.image,
                    )
                )
        if perturbed:
            items += _perturbed_items(index, spec, base, random.Random(f"{seed}/{index}/perturb"))
    return items

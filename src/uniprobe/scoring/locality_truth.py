"""The known-truth set for edit locality: re-renders that must pass, real changes that must fail.

A model that re-renders the whole frame (crops a little, rescales, drifts in colour,
compresses) has not broken locality; one that moved, recoloured, added or removed an
object outside the edited region has. Both kinds of image are made here from random
synthetic scenes (`uniprobe.scenes.sampling`), their truth known by construction:

* **preserving** (`unchanged` must pass): the scene with one object recoloured (the edit,
  whose box the check excludes as part `edit`), then re-rendered by one of
  `PRESERVING` — JPEG q 70–90, a resize round trip, a 1–3 px shift, a 2–4% crop resized
  back, colour/gamma drift, light blur, a slight restyle (contrast, saturation, blur),
  and all of crop, drift and JPEG at once (`rerender`);
* **real changes** (`unchanged` must fail): one object moved, recoloured, added or
  removed (the largest one, at least `MIN_CHANGE` of the frame) while the check
  excludes another object's box — each as drawn and, as `<change>+rerender`, also
  re-rendered by a random preserving perturbation.

Every perturbation's parameters are drawn from its range with the item's seed and
recorded in `LocalityItem.params`.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageEnhance

from uniprobe.cases.checks import Unchanged
from uniprobe.scenes.colors import COLOR_NAMES
from uniprobe.scenes.geometry import Box, center
from uniprobe.scenes.render import RenderedScene, render_scene
from uniprobe.scenes.sampling import SamplerConfig, overlap_share, random_scene
from uniprobe.scenes.spec import SceneSpec

__all__ = ["CHANGES", "MIN_CHANGE", "PRESERVING", "LocalityItem", "locality_set", "rerender"]

MIN_CHANGE = 0.03
"""A real change is made to an object whose box covers at least this share of the frame."""

PRESERVING = ("jpeg", "resize", "shift", "crop", "color", "blur", "restyle", "rerender")
"""Content-preserving re-renders, each of which `unchanged` must pass."""
CHANGES = ("moved", "recolored", "added", "removed")
"""Real changes outside the excluded region, each of which `unchanged` must fail."""


@dataclass(frozen=True)
class LocalityItem:
    """One `unchanged` comparison with its true verdict."""

    id: str
    perturbation: str
    """A name of PRESERVING, of CHANGES, or '<change>+rerender'."""
    truth: bool
    """True: the check must pass (content preserved)."""
    image: Image.Image
    reference: Image.Image
    excluded: Box | None
    """The box the check excludes (part 'edit'), in the reference's pixels."""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def check(self) -> Unchanged:
        """The check, as a case would hold it."""
        return Unchanged(against=1, outside=("edit",) if self.excluded else ())


# --- content-preserving re-renders ---------------------------------------------------------


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _blur(img: Image.Image, sigma: float) -> Image.Image:
    return Image.fromarray(cv2.GaussianBlur(np.asarray(img), (0, 0), sigma))


def _drift(img: Image.Image, gains: list[float], offsets: list[float], gamma: float) -> Image.Image:
    x = np.asarray(img).astype(np.float64) / 255.0
    x = x**gamma * np.array(gains) + np.array(offsets) / 255.0
    return Image.fromarray(np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8))


def _crop(img: Image.Image, share: float, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    w, h = img.size
    dx, dy = round(w * share), round(h * share)
    left, top = rng.randint(0, dx), rng.randint(0, dy)
    box = (left, top, w - (dx - left), h - (dy - top))
    return img.crop(box).resize((w, h), Image.Resampling.BICUBIC), {"share": share, "box": box}


def _shift(img: Image.Image, dx: int, dy: int) -> Image.Image:
    m = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    a = np.asarray(img)
    out = cv2.warpAffine(a, m, (a.shape[1], a.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    return Image.fromarray(out)


def _resize(img: Image.Image, factor: float) -> Image.Image:
    w, h = img.size
    small = img.resize((round(w * factor), round(h * factor)), Image.Resampling.BILINEAR)
    return small.resize((w, h), Image.Resampling.BICUBIC)


def _restyle(img: Image.Image, contrast: float, saturation: float, sigma: float) -> Image.Image:
    img = ImageEnhance.Contrast(img).enhance(contrast)
    return _blur(ImageEnhance.Color(img).enhance(saturation), sigma)


def rerender(img: Image.Image, name: str, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """`img` re-rendered by the preserving perturbation `name`; its drawn parameters."""
    img = img.convert("RGB")
    u = rng.uniform
    if name == "jpeg":
        q = rng.randint(70, 90)
        return _jpeg(img, q), {"quality": q}
    if name == "resize":
        f = round(u(0.5, 0.8), 3)
        return _resize(img, f), {"factor": f}
    if name == "shift":
        dx, dy = rng.choice([-1, 1]) * rng.randint(1, 3), rng.choice([-1, 1]) * rng.randint(0, 3)
        return _shift(img, dx, dy), {"dx": dx, "dy": dy}
    if name == "crop":
        return _crop(img, round(u(0.02, 0.04), 4), rng)
    if name == "color":
        p = _drift_params(rng)
        return _drift(img, **p), p
    if name == "blur":
        s = round(u(0.6, 1.2), 3)
        return _blur(img, s), {"sigma": s}
    if name == "restyle":
        p = {
            "contrast": round(u(0.9, 1.1), 3),
            "saturation": round(u(0.85, 1.15), 3),
            "sigma": round(u(0.5, 0.8), 3),
        }
        return _restyle(img, **p), p
    if name == "rerender":
        cropped, c = _crop(img, round(u(0.02, 0.04), 4), rng)
        d = _drift_params(rng)
        q = rng.randint(75, 90)
        return _jpeg(_drift(cropped, **d), q), {"crop": c, "drift": d, "quality": q}
    raise ValueError(f"unknown perturbation '{name}'")


def _drift_params(rng: random.Random) -> dict[str, Any]:
    return {
        "gains": [round(rng.uniform(0.9, 1.1), 3) for _ in range(3)],
        "offsets": [round(rng.uniform(-10, 10), 1) for _ in range(3)],
        "gamma": round(rng.uniform(0.85, 1.15), 3),
    }


# --- real changes ----------------------------------------------------------------------


def _free(spec: SceneSpec, boxes: list[Box], box: Box) -> bool:
    inside = box[0] >= 0 and box[1] >= 0 and box[2] <= spec.width and box[3] <= spec.height
    return inside and all(overlap_share(box, b) == 0 for b in boxes)


def _changes(
    spec: SceneSpec, rendered: RenderedScene, big: int, rng: random.Random
) -> dict[str, SceneSpec]:
    objs = list(spec.objects)
    target = objs[big]
    box = rendered.objects[big].box
    others = [r.box for i, r in enumerate(rendered.objects) if i != big]
    w, h = box[2] - box[0], box[3] - box[1]
    out: dict[str, SceneSpec] = {}
    color = rng.choice([c for c in COLOR_NAMES if c not in (target.color, "white")])
    out["recolored"] = spec.model_copy(
        update={
            "objects": (*objs[:big], target.model_copy(update={"color": color}), *objs[big + 1 :])
        }
    )
    out["removed"] = spec.model_copy(update={"objects": tuple(objs[:big] + objs[big + 1 :])})
    for _ in range(80):
        x, y = rng.uniform(w / 2, spec.width - w / 2), rng.uniform(h / 2, spec.height - h / 2)
        cand = (round(x - w / 2), round(y - h / 2), round(x + w / 2), round(y + h / 2))
        if "added" not in out and _free(spec, [box, *others], cand):
            extra = target.model_copy(
                update={
                    "x": x + target.x - center(box)[0],
                    "y": y + target.y - center(box)[1],
                    "id": None,
                }
            )
            out["added"] = spec.model_copy(update={"objects": (*objs, extra)})
        elif "moved" not in out and _free(spec, others, cand) and overlap_share(cand, box) == 0:
            moved = target.model_copy(
                update={"x": x + target.x - center(box)[0], "y": y + target.y - center(box)[1]}
            )
            out["moved"] = spec.model_copy(
                update={"objects": (*objs[:big], moved, *objs[big + 1 :])}
            )
        if "added" in out and "moved" in out:
            break
    return out


def _largest(spec: SceneSpec, rendered: RenderedScene) -> int | None:
    areas = [
        ((r.box[2] - r.box[0]) * (r.box[3] - r.box[1]), i)
        for i, (o, r) in enumerate(zip(spec.objects, rendered.objects, strict=True))
        if o.shape == "glyph"
    ]
    if not areas:
        return None
    area, i = max(areas)
    return i if area >= MIN_CHANGE * spec.width * spec.height else None


def _scene_items(index: int, spec: SceneSpec, rng: random.Random) -> list[LocalityItem]:
    base = render_scene(spec)
    big = _largest(spec, base)
    if big is None or len(spec.objects) < 2:
        return []
    items: list[LocalityItem] = []
    # preserving: the edit (the largest object recoloured) is excluded, the rest re-rendered
    edit = _changes(spec, base, big, rng)["recolored"]
    edited = render_scene(edit).image
    ebox = base.objects[big].box
    for name in PRESERVING:
        img, params = rerender(edited, name, rng)
        items.append(LocalityItem(f"{index}/{name}", name, True, img, base.image, ebox, params))
    # real changes: the largest object changes while the check excludes another object
    other = rng.choice([r.box for i, r in enumerate(base.objects) if i != big])
    for name, changed in _changes(spec, base, big, rng).items():
        img = render_scene(changed).image
        items.append(LocalityItem(f"{index}/{name}", name, False, img, base.image, other))
        how = rng.choice(PRESERVING)
        re, params = rerender(img, how, rng)
        items.append(
            LocalityItem(
                f"{index}/{name}+rerender",
                f"{name}+rerender",
                False,
                re,
                base.image,
                other,
                {"rerender": how, **params},
            )
        )
    return items


def locality_set(scenes: int = 24, *, seed: int = 0, size: int = 512) -> list[LocalityItem]:
    """`scenes` random scenes (those with a large enough object and at least two objects)
    with their preserving re-renders and real changes."""
    cfg = SamplerConfig(
        size=size,
        min_side=round(size * 0.12),
        max_side=round(size * 0.3),
        max_objects=6,
        tint_probability=0.6,
    )
    items: list[LocalityItem] = []
    index = 0
    made = 0
    while made < scenes and index < scenes * 20:
        rng = random.Random(seed * 1_000_003 + index)
        found = _scene_items(index, random_scene(rng, cfg), rng)
        items.extend(found)
        made += bool(found)
        index += 1
    return items

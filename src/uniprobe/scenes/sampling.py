"""Random synthetic scenes with known truth, for measuring judges."""

from __future__ import annotations

import random
from dataclasses import dataclass

from uniprobe.scenes.colors import COLOR_NAMES
from uniprobe.scenes.geometry import Box
from uniprobe.scenes.render import glyph_unit_size
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec
from uniprobe.scenes.vocabulary import BACKDROPS, glyph_concepts

__all__ = ["SamplerConfig", "overlap_share", "random_scene"]


@dataclass(frozen=True)
class SamplerConfig:
    """What random scenes look like."""

    size: int = 512
    max_objects: int = 8
    max_kinds: int = 3
    min_side: int = 56
    max_side: int = 150
    max_overlap: float = 0.2
    """Largest share of the smaller of two boxes that another box may cover."""
    tint_probability: float = 0.35
    mirror_probability: float = 0.5
    backdrop_probability: float = 0.5


def overlap_share(a: Box, b: Box) -> float:
    """Area of the intersection over the area of the smaller box."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller else 0.0


def random_scene(rng: random.Random, config: SamplerConfig | None = None) -> SceneSpec:
    """A scene of 1..max_objects glyphs of 1..max_kinds concepts, placed at random."""
    cfg = config or SamplerConfig()
    names = [c.name for c in glyph_concepts()]
    kinds = rng.sample(names, rng.randint(1, cfg.max_kinds))
    bands: tuple[Band, ...] = ()
    if rng.random() < cfg.backdrop_probability:
        ground = rng.choice([b for b in BACKDROPS if b != "sky"])
        split = round(rng.uniform(0.3, 0.6), 2)
        bands = (Band(kind="sky", top=0.0, bottom=split), Band(kind=ground, top=split, bottom=1.0))
    objects: list[SceneObject] = []
    boxes: list[Box] = []
    for _ in range(rng.randint(1, cfg.max_objects)):
        kind = rng.choice(kinds)
        side = rng.uniform(cfg.min_side, cfg.max_side)
        uw, uh = glyph_unit_size(kind)
        w, h = side * uw / max(uw, uh), side * uh / max(uw, uh)
        for _attempt in range(60):
            x = rng.uniform(w / 2 + 1, cfg.size - w / 2 - 1)
            y = rng.uniform(h / 2 + 1, cfg.size - h / 2 - 1)
            box = (round(x - w / 2), round(y - h / 2), round(x + w / 2), round(y + h / 2))
            if all(overlap_share(box, b) <= cfg.max_overlap for b in boxes):
                break
        else:
            continue
        color = rng.choice(COLOR_NAMES) if rng.random() < cfg.tint_probability else None
        flip = "horizontal" if rng.random() < cfg.mirror_probability else "none"
        objects.append(
            SceneObject(
                kind=kind, x=round(x, 1), y=round(y, 1), size=round(side, 1), color=color, flip=flip
            )
        )
        boxes.append(box)
    return SceneSpec(width=cfg.size, height=cfg.size, bands=bands, objects=tuple(objects))

"""How accurate and how fast is the reference judge on random synthetic scenes?

Each scene has 1-8 glyphs of up to 3 kinds, random sizes (56-150 px), positions,
mirror images, palette tints on about a third of the objects, boxes overlapping by up
to 20% of the smaller one, and a sky+ground backdrop half of the time. The truth
comes from the scene spec and its exact rendered boxes; the judge sees pixels only.

Checks per scene (each with a known correct verdict):
  count     one per kind present: `count equals <truth>`
  presence  `present` for each kind present (true) and for two absent kinds (false)
  position  for each kind with one instance, its true half (true) and the opposite (false),
            horizontally and vertically; objects within 3% of the midline are skipped
  color     for each tinted kind with one instance: its tint (true) and another colour (false)
  backdrop  `present` for each band kind (true) and for one other backdrop (false)

    python benchmarks/reference_judge.py --scenes 500 --workers 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import time
from collections import Counter, defaultdict
from typing import Any

import numpy as np
from PIL import Image

from uniprobe.cases.checks import Color, Count, Position, Present
from uniprobe.cases.schema import Case
from uniprobe.scenes.colors import COLOR_NAMES
from uniprobe.scenes.render import render_scene
from uniprobe.scenes.sampling import SamplerConfig, overlap_share, random_scene
from uniprobe.scenes.vocabulary import BACKDROPS, glyph_concepts
from uniprobe.scoring.judge import Canvas, JudgeContext
from uniprobe.scoring.judges.reference import ReferenceJudge

_CASE = Case.model_validate(
    {"id": "bench", "family": "editing", "subtype": "bench", "turns": [{"user": "bench"}]}
)


def _checks(spec: Any, rendered: Any, rng: random.Random) -> list[tuple[str, Any, bool]]:
    names = [c.name for c in glyph_concepts()]
    out: list[tuple[str, Any, bool]] = []
    counts = Counter(o.concept for o in rendered.objects)
    for kind, n in counts.items():
        out.append(("count", Count(object=kind, equals=n), True))
        out.append(("presence", Present(object=kind), True))
    for kind in rng.sample([n for n in names if n not in counts], 2):
        out.append(("presence", Present(object=kind), False))
    w, h = spec.width, spec.height
    for obj, r in zip(spec.objects, rendered.objects, strict=True):
        if counts[r.concept] != 1:
            continue
        cx, cy = (r.box[0] + r.box[2]) / 2, (r.box[1] + r.box[3]) / 2
        if abs(cx - w / 2) > 0.03 * w:
            side, other = ("left", "right") if cx < w / 2 else ("right", "left")
            out.append(("position", Position(object=r.concept, place=side), True))
            out.append(("position", Position(object=r.concept, place=other), False))
        if abs(cy - h / 2) > 0.03 * h:
            side, other = ("top", "bottom") if cy < h / 2 else ("bottom", "top")
            out.append(("position", Position(object=r.concept, place=side), True))
            out.append(("position", Position(object=r.concept, place=other), False))
        if obj.color:
            wrong = rng.choice([c for c in COLOR_NAMES if c != obj.color])
            out.append(("color", Color(object=r.concept, equals=obj.color), True))
            out.append(("color", Color(object=r.concept, equals=wrong), False))
    bands = {b.kind for b in spec.bands}
    for kind in bands:
        out.append(("backdrop", Present(object=kind), True))
    if bands:
        other = rng.choice([b for b in BACKDROPS if b not in bands])
        out.append(("backdrop", Present(object=other), False))
    return out


def _overlapping(rendered: Any) -> bool:
    boxes = [o.box for o in rendered.objects]
    return any(overlap_share(a, b) > 0 for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def run_scene(args: tuple[int, int]) -> dict[str, Any]:
    """Render one random scene, judge its checks, return the outcomes and timing."""
    index, seed = args
    rng = random.Random(seed * 100_003 + index)
    spec = random_scene(rng, SamplerConfig())
    rendered = render_scene(spec)
    judge = ReferenceJudge()
    canvas = Canvas(1, rendered.image, None, drawn=True)
    ctx = JudgeContext(_CASE, 1, canvas, {}, {}, None)
    t0 = time.perf_counter()
    judge.see(canvas)
    seconds = time.perf_counter() - t0
    results = []
    for kind, check, truth in _checks(spec, rendered, rng):
        verdict = judge.decide(check, ctx)
        results.append(
            {
                "kind": kind,
                "check": check.model_dump(exclude_defaults=True),
                "truth": truth,
                "verdict": verdict.status,
                "ok": (verdict.status == "pass") == truth,
                "reason": verdict.reason,
            }
        )
    return {
        "index": index,
        "objects": len(spec.objects),
        "overlap": _overlapping(rendered),
        "seconds": seconds,
        "results": results,
    }


def _outsider_rate(n: int = 20) -> float:
    """Images/s the judge takes to decline canvases it cannot explain (never parsed)."""
    rng = np.random.default_rng(0)
    images = [
        Image.fromarray(rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)) for _ in range(n)
    ]
    judge = ReferenceJudge()
    t0 = time.perf_counter()
    for image in images:
        judge.see(Canvas(1, image, None, drawn=True))
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--failures", help="write failed checks to this JSONL file")
    args = parser.parse_args()
    start = time.perf_counter()
    jobs = [(i, args.seed) for i in range(args.scenes)]
    if args.workers > 1:
        with mp.get_context("fork").Pool(args.workers) as pool:
            scenes = pool.map(run_scene, jobs, chunksize=4)
    else:
        scenes = [run_scene(j) for j in jobs]
    wall = time.perf_counter() - start
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_overlap: dict[bool, list[int]] = defaultdict(lambda: [0, 0])
    failures = []
    for scene in scenes:
        for r in scene["results"]:
            tally[r["kind"]][0] += r["ok"]
            tally[r["kind"]][1] += 1
            if r["kind"] == "count":
                by_overlap[scene["overlap"]][0] += r["ok"]
                by_overlap[scene["overlap"]][1] += 1
            if not r["ok"]:
                failures.append({"scene": scene["index"], **r})
    print(f"reference judge on {args.scenes} random scenes (seed {args.seed})")
    for kind in ("count", "presence", "position", "color", "backdrop"):
        ok, n = tally[kind]
        print(f"  {kind:9s} {ok:5d}/{n:<5d} {100 * ok / n:6.2f}%")
    for overlap, (ok, n) in sorted(by_overlap.items()):
        label = "count, scenes with overlapping boxes" if overlap else "count, no overlap"
        print(f"  {label}: {ok}/{n} {100 * ok / n:.2f}%")
    per_image = sum(s["seconds"] for s in scenes) / len(scenes)
    print(
        f"  perception: {1 / per_image:.2f} images/s per worker "
        f"({per_image * 1000:.0f} ms/image); wall {wall:.1f} s with {args.workers} worker(s), "
        f"{args.scenes / wall:.2f} images/s overall"
    )
    print(f"  declined canvases (uniform noise): {_outsider_rate():.1f} images/s")
    if args.failures:
        with open(args.failures, "w", encoding="utf-8") as fh:
            for f in failures:
                fh.write(json.dumps(f) + "\n")
        print(f"  {len(failures)} failed checks written to {args.failures}")


if __name__ == "__main__":
    main()

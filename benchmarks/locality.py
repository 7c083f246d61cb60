"""Edit locality that survives re-rendering: accuracy per perturbation, and speed.

The known-truth set is `uniprobe.scoring.locality_truth`: content-preserving re-renders
(JPEG, resize round trip, shift, crop, colour drift, blur, restyle, all at once) that
`unchanged` must pass, and real changes outside the excluded region (an object moved,
recoloured, added, removed; as drawn and re-rendered) that it must fail. Prints, per
perturbation and per metric of the pixels judge, the rate of right verdicts with its
95% Wilson interval, then the time of one comparison of 512x512 images per metric.

    python benchmarks/locality.py --scenes 100
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from uniprobe.cases.schema import Case
from uniprobe.scoring.calibrate import calibrate_locality
from uniprobe.scoring.judge import Canvas, JudgeContext
from uniprobe.scoring.judges.pixels import PixelsJudge
from uniprobe.scoring.locality_truth import LocalityItem, locality_set

_CASE = Case.model_validate(
    {"id": "bench", "family": "editing", "subtype": "bench", "turns": [{"user": "bench"}]}
)


def _seconds(judge: PixelsJudge, items: list[LocalityItem]) -> list[float]:
    out = []
    for item in items:
        refs = {"turn:1": Canvas(1, item.reference, None, drawn=True)}
        parts = {"edit": item.excluded} if item.excluded is not None else {}
        canvas = Canvas(2, item.image, None, drawn=True)
        ctx = JudgeContext(_CASE, 2, canvas, refs, parts, item.reference.size)
        started = time.perf_counter()
        judge.decide(item.check, ctx)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    """Print the per-perturbation table and the timing."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timed", type=int, default=64, help="items timed per metric")
    args = parser.parse_args()
    items = locality_set(args.scenes, seed=args.seed)
    print(f"{len(items)} items from {args.scenes} scenes (seed {args.seed})")
    for metric in ("aligned", "pixels"):
        rows = asyncio.run(calibrate_locality(PixelsJudge({"metric": metric}), items))
        print(f"\nmetric = {metric}")
        print(f"{'perturbation':22} {'must':5} {'items':>5} {'rate':>7}  95% CI")
        for r in sorted(rows.values(), key=lambda r: r.expect == "fail"):
            lo, hi = r.rate_ci or (0.0, 0.0)
            rate = r.rate or 0.0
            print(
                f"{r.perturbation:22} {r.expect:5} {r.items:5} {rate:7.1%}  "
                f"[{lo:.1%}, {hi:.1%}]  wrong: {r.wrong[:5]}"
            )
    timed = items[: args.timed]
    for metric in ("pixels", "aligned"):
        s = _seconds(PixelsJudge({"metric": metric}), timed)
        print(
            f"{metric}: {statistics.median(s) * 1000:.0f} ms median, "
            f"{statistics.mean(s) * 1000:.0f} ms mean per 512x512 comparison ({len(s)} items)"
        )


if __name__ == "__main__":
    main()

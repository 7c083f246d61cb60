"""Does the reference judge ever give a confident wrong verdict on perturbed scenes?

For each calibration seed, the object checks (count, present, absent, relation,
position, colour) of `calibration_set(scenes, seed=s)` — clean renders ('none') and each
base scene after what editors do to an image (JPEG, resize round trip, shift, crop,
gamma, channel gains, blur) — are judged by `reference` (`uniprobe.scoring.calibrate`).
Printed per perturbation and seed: the share decided and the wrong verdicts among the
decided; then per perturbation over all seeds: coverage, accuracy on decided with its
95% Wilson interval, wrong. The requirement: 0 wrong everywhere.

    python benchmarks/reference_perturbations.py --seeds 0 1 2 3 4 --scenes 12 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time

from uniprobe.scoring.calibrate import PerturbationResult, calibrate
from uniprobe.scoring.judges.reference import ReferenceJudge
from uniprobe.scoring.truthset import PERTURBATIONS, calibration_set
from uniprobe.statistics import wilson


def run_seed(args: tuple[int, int]) -> tuple[int, dict[str, PerturbationResult], float]:
    """Judge one seed's object checks; results per perturbation and the seconds taken."""
    seed, scenes = args
    items = [i for i in calibration_set(scenes, seed=seed) if i.kind in ReferenceJudge.kinds]
    started = time.perf_counter()
    report = asyncio.run(calibrate("reference", items=items, concurrency=1))
    return seed, report.perturbations, time.perf_counter() - started


def _cell(r: PerturbationResult | None) -> str:
    if r is None or not r.items:
        return "-"
    return f"{r.coverage:6.1%} {r.wrong:2d}w/{r.items}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--scenes", type=int, default=12, help="base scenes per seed")
    parser.add_argument("--workers", type=int, default=2, help="processes (one seed each)")
    args = parser.parse_args()
    jobs = [(s, args.scenes) for s in args.seeds]
    start = time.perf_counter()
    if args.workers > 1:
        with mp.get_context("fork").Pool(args.workers) as pool:
            done = pool.map(run_seed, jobs, chunksize=1)
    else:
        done = [run_seed(j) for j in jobs]
    wall = time.perf_counter() - start
    names = ("none", *PERTURBATIONS)
    print(f"reference@{ReferenceJudge.version}: decided share and wrong/items per seed")
    print(f"{'perturbation':12s} " + " | ".join(f"seed {s:<12d}" for s, _, _ in done))
    for name in names:
        print(f"{name:12s} " + " | ".join(f"{_cell(r.get(name)):17s}" for _, r, _ in done))
    print(f"\nall seeds ({', '.join(str(s) for s in args.seeds)}), {args.scenes} scenes each")
    head = f"{'perturbation':12s} {'items':>6s} {'coverage':>9s} {'accuracy':>9s}"
    print(f"{head} {'95% CI':>15s} wrong")
    for name in names:
        items = sum(r[name].items for _, r, _ in done if name in r)
        decided = sum(r[name].decided for _, r, _ in done if name in r)
        correct = sum(r[name].correct for _, r, _ in done if name in r)
        low, high = wilson(correct, decided) or (0.0, 0.0)
        accuracy = f"{correct / decided:9.1%}" if decided else f"{'-':>9s}"
        print(
            f"{name:12s} {items:6d} {decided / max(items, 1):9.1%} {accuracy} "
            f"[{low:5.1%}, {high:5.1%}] {decided - correct}"
        )
    seconds = sum(s for _, _, s in done)
    print(f"\njudging {seconds:.0f} s in all, wall {wall:.0f} s with {args.workers} worker(s)")


if __name__ == "__main__":
    main()

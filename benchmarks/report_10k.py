"""How fast is `uniprobe report` on a big run, how much memory does it take, how big is it?

Builds a synthetic run of the core suite (400 cases x 25 epochs = 10,000 samples by
default) straight through the store's records: every turn of every case with its words,
a handful of real rendered scene images reused as attachments and answers, latencies,
costs, a few refusals and errors; and scores with one verdict per expectation, shaped
like the reference and pixels judges' (detections with boxes, changed share and SSIM
outside excluded parts, conditional branches), failure tags, and pass rates that fall
with the context distance. Then it times `uniprobe.report` on it — a first build, and a
rebuild into the same folder (heat-maps reused) — and prints wall time, peak memory
(tracemalloc's peak over the build, and the process's maximum resident set size) and
the size of the report folder; and what one diff heat-map costs, since a real run has
a distinct image pair per `unchanged` check where this one reuses a few images.

    python benchmarks/report_10k.py [--cases 400] [--epochs 25] [--runs 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import shutil
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import uniprobe
from uniprobe.cases.checks import Conditional, check_to_dict
from uniprobe.cases.images import case_image_bytes
from uniprobe.cases.schema import Case
from uniprobe.report.evidence import Heatmaps
from uniprobe.report.metrics import distance_of
from uniprobe.store.records import (
    ErrorRecord,
    ImageRef,
    Manifest,
    ModelInfo,
    ReplyRecord,
    SampleRecord,
    ScoreRecord,
    SuiteInfo,
    TurnRecord,
    Verdict,
)
from uniprobe.store.rundir import RunDir

NOW = "2025-06-01T00:00:00+00:00"
IMAGES = 6
EDIT_TAGS = ("over_edit", "under_edit")


def _box(rng: random.Random) -> list[int]:
    x, y = rng.randint(0, 380), rng.randint(0, 380)
    return [x, y, x + rng.randint(30, 130), y + rng.randint(30, 130)]


def _evidence(kind: str, check: dict[str, Any], rng: random.Random, ok: bool) -> dict[str, Any]:
    body = next(iter(check.values())) if len(check) == 1 else {}
    word = str(body.get("object", body.get("subject", "thing"))) if isinstance(body, dict) else ""
    if kind in ("unchanged", "same_as"):
        share = rng.uniform(0, 0.008) if ok else rng.uniform(0.02, 0.3)
        return {
            "against": str(body.get("against", 1)),
            "metric": "changed_share",
            "changed_share": round(share, 5),
            "ssim": round(1 - share * rng.uniform(0.5, 2), 4),
            "excluded": [{"part": p, "box": _box(rng)} for p in body.get("outside", [])],
            "changed_box": _box(rng) if share > 0.001 else None,
            "alignment": "center-crop, Lanczos",
        }
    if kind in ("text", "style"):
        return {"read": "SALE", "ratio": round(rng.uniform(0.5, 1), 3)}
    n = rng.randint(0, 4)
    return {
        "object": word,
        "detections": [
            {"concept": word, "box": _box(rng), "score": 1.0, "color": "red"} for _ in range(n)
        ],
        "count": n,
    }


def _verdict(path: str, turn: int, check: Any, rng: random.Random, p: float, edit: bool) -> Verdict:
    as_dict = check_to_dict(check)
    if isinstance(check, Conditional):
        holds = rng.random() < 0.5
        branch, name = (check.then, "then") if holds else (check.else_, "else")
        kids = [_verdict(f"{path}.when", turn, check.when, rng, 0.9, False)]
        kids += [
            _verdict(f"{path}.{name}.{i}", turn, c, rng, p, edit) for i, c in enumerate(branch)
        ]
        status = "fail" if any(k.status == "fail" for k in kids[1:]) else "pass"
        took_literal_branch = status == "fail" and rng.random() < 0.6
        return Verdict(
            path=path,
            turn=turn,
            kind="conditional",
            check=as_dict,
            status=status,
            reason=f"condition {'holds' if holds else 'does not hold'}",
            tags=["wrong_branch", "literal"] if took_literal_branch else [],
            evidence={"condition": holds, "branch": name},
            children=kids,
        )
    roll = rng.random()
    status = "pass" if roll < p else ("unknown" if roll > 0.985 else "fail")
    tags: list[str] = []
    if status == "fail":
        tags = ["literal"] if rng.random() < 0.6 else []
        tags += [rng.choice(EDIT_TAGS)] if edit else []
    judge = "pixels@2" if check.kind in ("unchanged", "same_as", "style") else "reference@1"
    return Verdict(
        path=path,
        turn=turn,
        kind=check.kind,
        check=as_dict,
        status=status,
        reason=f"synthetic {status}",
        tags=tags,
        judge=judge,
        evidence=_evidence(check.kind, as_dict, rng, status == "pass"),
    )


def _sample(case: Case, epoch: int, images: list[ImageRef], rng: random.Random) -> SampleRecord:
    turns = []
    error_at = len(case.turns) if rng.random() < 0.005 else 0
    for i, turn in enumerate(case.turns, start=1):
        attached = [images[(zlib.crc32(case.id.encode()) + i) % len(images)]] if turn.attach else []
        if i == error_at:
            err = ErrorRecord(type="ServerError", message="503 from the provider", status=503)
            turns.append(TurnRecord(index=i, user=turn.user, attached=attached, error=err))
            break
        latency = round(rng.lognormvariate(1.5, 0.5), 3)
        if rng.random() < 0.01:
            reply = ReplyRecord(refusal="I can't help with that.", latency_s=latency)
        elif turn.expect:
            image = images[(zlib.crc32(case.id.encode()) + epoch + i) % len(images)]
            reply = ReplyRecord(
                images=[image], text="Here it is.", cost_usd=0.04, latency_s=latency
            )
        else:
            reply = ReplyRecord(text="Understood.", cost_usd=0.001, latency_s=latency)
        turns.append(TurnRecord(index=i, user=turn.user, attached=attached, reply=reply))
    status = "error" if error_at else "complete"
    return SampleRecord(
        case_id=case.id,
        epoch=epoch,
        seed=epoch,
        model="bench/model",
        protocol="native:bench",
        turns=turns,
        status=status,
        started=NOW,
        finished=NOW,
    )


def _score(case: Case, sample: SampleRecord, rng: random.Random, skill: float) -> ScoreRecord:
    p = skill - 0.05 * (distance_of(case) or 0)
    verdicts = [
        _verdict(".".join(map(str, path)), turn, exp, rng, p, case.turns[turn - 1].is_edit)
        for turn, path, exp in case.expectations()
    ]
    if sample.status == "error":
        verdicts = [v.model_copy(update={"status": "unknown", "tags": ["error"]}) for v in verdicts]
        outcome = "error"
    elif any(v.status == "fail" for v in verdicts):
        outcome = "fail"
    else:
        outcome = "pass" if all(v.status == "pass" for v in verdicts) else "unknown"
    return ScoreRecord(
        case_id=case.id,
        epoch=sample.epoch,
        policy="reference",
        judges={"reference": "1", "pixels": "2"},
        outcome=outcome,
        verdicts=verdicts,
        scored=NOW,
    )


def build_run(path: Path, cases: int, epochs: int, seed: int) -> None:
    """Write the synthetic run (samples and scores written in one go: 20,000 fsynced
    appends would time the disk, not the report)."""
    suite = uniprobe.load_suite("core")
    chosen = sorted(suite.cases, key=lambda c: c.id)[:cases]
    run = RunDir.create(
        path,
        Manifest(
            run_id=path.name,
            uniprobe_version=uniprobe.__version__,
            suite=SuiteInfo(name="core", hash=suite.content_hash, cases=len(suite.cases)),
            model=ModelInfo(name=f"bench/model-{seed}", protocol="native:bench"),
            epochs=epochs,
            policy="reference",
            created=NOW,
            status="finished",
        ),
    )
    sources = [c for c in suite.cases if c.images][:IMAGES]
    images = [run.put_image(case_image_bytes(c, next(iter(c.images)))) for c in sources]
    rng = random.Random(seed)
    skill = 0.97 - 0.03 * seed
    run.scores_path("reference").parent.mkdir(exist_ok=True)
    with run.samples_path.open("w") as samples, run.scores_path("reference").open("w") as scores:
        for case in chosen:
            for epoch in range(epochs):
                sample = _sample(case, epoch, images, rng)
                samples.write(sample.model_dump_json() + "\n")
                scores.write(_score(case, sample, rng, skill).model_dump_json() + "\n")


def _heatmap_cost(run: Path, out: Path) -> tuple[int, float]:
    """Heat-maps of every ordered pair of the run's images, from scratch: (count, seconds)."""
    images = sorted((run / "images").iterdir())
    maps = Heatmaps(out)
    for a in images:
        for b in images:
            if a != b:
                maps.request((a.stem, a), (b.stem, b))
    start = time.perf_counter()
    n = maps.flush()
    return n, time.perf_counter() - start


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=400, help="core cases (at most 401)")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--runs", type=int, default=1, help="runs in the report (leaderboard)")
    parser.add_argument("--keep", help="keep the runs and the report here")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="uniprobe-report-"))
    paths = [work / f"bench-{i}" for i in range(args.runs)]
    start = time.perf_counter()
    spawn = mp.get_context("spawn")  # the setup's memory stays out of this process's peak
    jobs = [
        spawn.Process(target=build_run, args=(p, args.cases, args.epochs, i))
        for i, p in enumerate(paths)
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    if any(job.exitcode for job in jobs):
        raise SystemExit("building a synthetic run failed (see above)")
    setup = time.perf_counter() - start
    out = work / "report"

    start = time.perf_counter()
    uniprobe.report(paths, out=out)
    first = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    tracemalloc.start()
    start = time.perf_counter()
    uniprobe.report(paths, out=out)
    again = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    files, size = _size(out)
    data_files, data = _size(out / "data")
    samples = args.cases * args.epochs * args.runs
    print(f"report of {args.runs} run(s), {samples} samples ({setup:.1f} s to build the runs)")
    print(f"  first build: {first:.2f} s wall ({1000 * first / samples:.2f} ms per sample)")
    print(f"  rebuild into the same folder, under tracemalloc: {again:.2f} s wall")
    print(
        f"  peak memory: tracemalloc {peak / 2**20:.0f} MiB (rebuild); "
        f"max RSS {rss:.0f} MiB (first build; the runs are built in another process)"
    )
    print(
        f"  folder: {files} files, {size / 2**20:.1f} MiB "
        f"(data: {data_files} files, {data / 2**20:.1f} MiB; "
        f"{len(list((out / 'heatmaps').iterdir()))} heat-maps, "
        f"{len(list((out / 'images').iterdir()))} images)"
    )
    n, seconds = _heatmap_cost(paths[0], work / "heatmap-cost")
    print(
        f"  a heat-map of a 512x512 pair costs {1000 * seconds / n:.1f} ms "
        f"({n} distinct pairs, all cores); the run above shares a handful of images"
    )
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

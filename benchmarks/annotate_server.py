"""How fast the annotation server answers as labels pile up (issue 11: p95 <= 50 ms).

Runs the core suite with reference/literal (629 canvases, 1,276 items), preloads 0, 10k
and 100k labels into its label file (random annotators and items, so some are changed
minds), then for each level starts the real server (`uniprobe annotate RUN --port 0`
in its own process, uvicorn on 127.0.0.1) and drives it with 1 and with 32 concurrent
clients (httpx2, one process): each client asks for its next canvas and labels one of
its checks, again and again. Prints p50/p95 of `GET /api/next` and `POST /api/labels`
per level and client count.

`--compare SRC` measures a second source tree the same way in the same run (e.g. main's
`src`, for before/after ratios). A cell stops starting requests after `--seconds`; a
32-client cell whose 1-client cycle (next + post p50) times 32 exceeds 4 x `--seconds` is
skipped and says why. `cpu/req` is the server process's CPU per request, `client` the
clients' (this process): on a shared machine the latencies include waiting for a core.

    python benchmarks/annotate_server.py [--levels 0,10000,100000] [--seconds 15]
        [--compare /path/to/other/src]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2

import uniprobe
from uniprobe.annotate.items import Item, canvases
from uniprobe.store.labels.db import LabelStore, labels_path
from uniprobe.store.labels.label import Label, LabelValue
from uniprobe.store.rundir import RunDir

VALUES: list[LabelValue] = ["pass", "fail", "cant_tell"]
HERE = Path(uniprobe.__file__).resolve().parents[1]


@dataclass
class Cell:
    """Latencies (seconds) of one level x client count x source tree."""

    next: list[float] = field(default_factory=list)
    post: list[float] = field(default_factory=list)
    errors: int = 0
    cpu: float = 0.0
    """Server CPU seconds (user + system) spent on the cell."""
    client_cpu: float = 0.0
    """The clients' CPU seconds (this process)."""
    note: str = ""


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def make_run(where: Path) -> Path:
    [result] = uniprobe.run("core", ["reference/literal"], out=where, score=False)
    return result.path


def preload(run: Path, items: list[Item], start: int, stop: int) -> None:
    """Add labels number start..stop-1 (annotator pre-NNN, random items, old times)."""
    rng = random.Random(start)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    people = max(1, stop // 800)
    labels: list[Label] = []
    for n in range(start, stop):
        item = rng.choice(items)
        when = (base + timedelta(milliseconds=n)).isoformat(timespec="milliseconds")
        labels.append(
            item.label(f"pre-{rng.randrange(people):03d}", rng.choice(VALUES), created=when)
        )
    LabelStore(labels_path(run)).add_many(labels)


class Server:
    """`uniprobe annotate RUN --port 0` in its own process, from source tree `src`."""

    def __init__(self, run: Path, src: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(src)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uniprobe.cli",
                "annotate",
                str(run),
                "--port",
                "0",
                "--no-open",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"http://\S+/", line)
        if not found:
            self.stop()
            raise RuntimeError(f"the server did not start: {line}")
        self.url = found.group(0)

    def cpu(self) -> float:
        """CPU seconds the server process used so far (user + system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def drive(url: str, clients: int, seconds: float, tag: str) -> Cell:
    """`clients` annotators at once, each: next canvas, label one check, repeat."""
    cell = Cell()
    deadline = time.monotonic() + seconds
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=url, timeout=600, limits=limits) as client:

        async def annotator(k: int) -> None:
            rng = random.Random(k)
            name = f"bench-{tag}-{k:02d}"
            while time.monotonic() < deadline:
                t = time.perf_counter()
                reply = await client.get("/api/next", params={"annotator": name})
                cell.next.append(time.perf_counter() - t)
                canvas = reply.json().get("canvas") if reply.status_code == 200 else None
                if canvas is None:
                    cell.errors += reply.status_code != 200
                    return
                check = next((c for c in canvas["checks"] if c["mine"] is None), None)
                check = check or canvas["checks"][0]
                body = {
                    "annotator": name,
                    "canvas": canvas["id"],
                    "item": check["item"],
                    "label": rng.choice(VALUES),
                }
                t = time.perf_counter()
                posted = await client.post("/api/labels", json=body)
                cell.post.append(time.perf_counter() - t)
                cell.errors += posted.status_code != 200

        await asyncio.gather(*(annotator(k) for k in range(clients)))
    return cell


def measure(run: Path, src: Path, clients: list[int], seconds: float, tag: str) -> dict[int, Cell]:
    server = Server(run, src)
    try:
        t = time.perf_counter()
        httpx2.get(server.url + "api/next", params={"annotator": "warm-up"}, timeout=600)
        first = time.perf_counter() - t
        out: dict[int, Cell] = {}
        for n in clients:
            single = out.get(1)
            if n > 1 and single and single.next and single.post:
                cycle = pct(single.next, 0.5) + pct(single.post, 0.5)
                if cycle * n > 4 * seconds:
                    out[n] = Cell(note=f"skipped: 1-client p50s x {n} = {cycle * n:.0f} s a cycle")
                    continue
            before, mine = server.cpu(), time.process_time()
            out[n] = asyncio.run(drive(server.url, n, seconds, f"{tag}{n}"))
            out[n].cpu = server.cpu() - before
            out[n].client_cpu = time.process_time() - mine
        out[0] = Cell(next=[first], note="first request")
        return out
    finally:
        server.stop()


def ms(values: list[float], q: float) -> str:
    return f"{pct(values, q) * 1000:8.1f}" if values else "       –"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="0,10000,100000")
    parser.add_argument("--clients", default="1,32")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--compare", type=Path, help="another source tree, measured too")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    clients = [int(x) for x in args.clients.split(",")]
    trees = {"this": HERE} | ({"compare": args.compare.resolve()} if args.compare else {})
    with tempfile.TemporaryDirectory(prefix="annotate-bench-") as tmp:
        work = Path(tmp)
        template = make_run(work / "template")
        run_dir = RunDir.open(template)
        groups = canvases(run_dir, uniprobe.suite_of_run(template))
        items = list({it.key: it for g in groups for it in g.items}.values())
        print(f"run: {len(groups)} canvases, {len(items)} items; {args.seconds:.0f} s per cell")
        print(
            f"{'tree':8} {'labels':>7} {'clients':>7} {'n next':>7} {'next p50':>8} "
            f"{'next p95':>8} {'n post':>7} {'post p50':>8} {'post p95':>8} "
            f"{'cpu/req':>7} {'client':>7} errors  (ms)"
        )
        loaded = 0
        for level in levels:
            preload(template, items, loaded, level)
            loaded = level
            for tag, src in trees.items():
                run = work / f"{tag}-{level}" / template.name
                shutil.copytree(template, run)
                cells = measure(run, src, clients, args.seconds, tag)
                for n in [*clients, 0]:
                    c = cells[n]
                    done = len(c.next) + len(c.post)
                    cpu = f"{c.cpu / done * 1000:7.2f}" if done and c.cpu else "      –"
                    cpu += f" {c.client_cpu / done * 1000:7.2f}" if done else "       –"
                    print(
                        f"{tag:8} {level:7d} {n:7d} {len(c.next):7d} {ms(c.next, 0.5)} "
                        f"{ms(c.next, 0.95)} {len(c.post):7d} {ms(c.post, 0.5)} "
                        f"{ms(c.post, 0.95)} {cpu} {c.errors:6d}  {c.note}",
                        flush=True,
                    )
                shutil.rmtree(run.parent)


if __name__ == "__main__":
    main()

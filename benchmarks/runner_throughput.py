"""How fast and how safely the runner talks to a provider (the fake one, on loopback).

1. Throughput: N two-turn cases, C conversations at once, every answer after a fixed
   latency; prints the wall time and its ratio to the ideal ceil(N / C) x turns x
   latency (target <= 1.2). Measured twice: with an in-process backend that answers
   after the latency (the runner's own cost), and through the OpenAI SDK against the
   fake provider in its own process (the whole stack; on a 2-core machine the SDK's
   CPU per call shows here).
2. Faults: the same run with a share of calls failing (rate limits with Retry-After,
   500/503, cut-off JSON, bad base64, moderation blocks, slow answers past the
   timeout): every case must end answered or with a recorded terminal error, none
   lost, and the images the provider delivered must equal the images recorded (no
   call paid twice).
3. Re-run of the finished run into a new folder with the same reply cache: the
   provider must see zero calls.
4. A scan of every file written, and of the captured output, for the API key.

    python benchmarks/runner_throughput.py [--cases 400] [--concurrency 50] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import math
import multiprocessing as mp
import shutil
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import ClassVar, TypedDict, Unpack

from pydantic import SecretStr

import uniprobe
from uniprobe import backend_registry
from uniprobe.backends.base import (
    Backend,
    Capabilities,
    Conversation,
    ImageData,
    Reply,
    Usage,
    UserTurn,
)
from uniprobe.cases.schema import Case, Suite
from uniprobe.config import Config, ProviderConfig
from uniprobe.limits import RetryPolicy
from uniprobe.store.rundir import RunDir
from uniprobe.testing.painter import paint
from uniprobe.testing.server import FakeServer

KEY = "sk-bench-0123456789-do-not-leak"
MODEL = "openai-images/gpt-image-1.5"
OBJECTS = ["bird", "apple", "car", "star", "cat", "dog", "fish", "balloon"]


class _FakeOptions(TypedDict, total=False):
    """The `FakeServer` options the benchmark sets."""

    latency: float
    image_size: int
    fault_rate: float
    seed: int


class RemoteFake:
    """The fake server in its own process (as a real provider is: it must not share our
    interpreter lock), with its counters read over a pipe."""

    def __init__(self, **options: Unpack[_FakeOptions]) -> None:
        self._conn, child = mp.Pipe()
        self._proc = mp.get_context("fork").Process(
            target=_serve, args=(child, options), daemon=True
        )
        self._proc.start()
        self.url: str = self._conn.recv()

    def stats(self) -> dict[str, float]:
        self._conn.send("stats")
        stats: dict[str, float] = self._conn.recv()
        return stats

    def __enter__(self) -> RemoteFake:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._proc.join(timeout=10)


def _serve(conn: Connection, options: _FakeOptions) -> None:
    with FakeServer(**options) as fake:
        conn.send(fake.url)
        while (msg := conn.recv()) != "stop":
            if msg == "stats":
                conn.send(
                    {
                        "requests": len(fake.requests),
                        "images": fake.images_served,
                        "faulted": sum(1 for r in fake.requests if r.fault),
                    }
                )


PNG: bytes = b""


@backend_registry.register("bench-sleep")
class SleepBackend(Backend):
    """Answers every turn with one image after `latency` seconds, like a distant server."""

    provider: ClassVar[str] = "bench-sleep"
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=False,
        edits=True,
        max_input_images=1,
        seed=False,
        text_output=False,
        protocol="bench",
    )

    class Options(Backend.Options):
        """Options of the sleeping backend."""

        latency: float = 0.2
        """Seconds before each answer."""

    options: Options

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        await asyncio.sleep(self.options.latency)
        return Reply(images=(ImageData(PNG),), usage=Usage(images=1), cost_usd=0.0)


def suite(n: int) -> Suite:
    cases = []
    for i in range(n):
        obj = OBJECTS[i % len(OBJECTS)]
        cases.append(
            Case.model_validate(
                {
                    "id": f"bench.{i:04d}",
                    "family": "editing",
                    "subtype": "bench",
                    "turns": [
                        {"user": f"Generate an image of {1 + i % 4} {obj}s."},
                        {"user": f"Make the {obj}s red.", "edit": True},
                    ],
                }
            )
        )
    return Suite(name="bench", cases=tuple(cases))


def config(url: str, timeout: float) -> Config:
    return Config(
        providers={
            "openai-images": ProviderConfig(
                api_key=SecretStr(KEY), base_url=url + "/v1", timeout=timeout
            )
        }
    )


def run(
    fake: RemoteFake,
    the_suite: Suite,
    out: Path,
    *,
    concurrency: int,
    timeout: float,
    cache: Path | None = None,
) -> tuple[uniprobe.RunResult, float]:
    t0 = time.perf_counter()
    [result] = uniprobe.run(
        the_suite,
        [MODEL],
        out=out,
        concurrency=concurrency,
        score=False,
        policy="reference",  # the fake draws synthetic scenes
        cache=cache,
        config=config(fake.url, timeout),
        retry=RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0),
    )
    return result, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="uniprobe-bench-"))
    the_suite = suite(args.cases)
    turns = 2
    ideal = math.ceil(args.cases / args.concurrency) * turns * args.latency
    global PNG
    PNG = paint("Generate an image of 2 birds.", input_image=None, size=256)[0] or b""
    t0 = time.perf_counter()
    uniprobe.run(
        the_suite,
        ["bench-sleep/x"],
        out=work / "runner-only",
        concurrency=args.concurrency,
        score=False,
        policy="reference",  # the fake draws synthetic scenes
        options={"bench-sleep/x": {"latency": args.latency}},
    )
    runner_wall = time.perf_counter() - t0
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        with RemoteFake(latency=args.latency, image_size=256) as fake:
            result, wall = run(
                fake, the_suite, work / "clean", concurrency=args.concurrency, timeout=30
            )
        clean_calls = result.extra["live_calls"]
        with RemoteFake(
            latency=args.latency, image_size=256, fault_rate=args.fault_rate, seed=1
        ) as fake:
            faulty, faulty_wall = run(
                fake,
                the_suite,
                work / "faulty",
                concurrency=args.concurrency,
                timeout=1.0,
                cache=work / "cache.sqlite",
            )
            stats = fake.stats()
            delivered, faults, requests = stats["images"], stats["faulted"], stats["requests"]
        run_dir = RunDir.open(faulty.path)
        samples = run_dir.samples()
        recorded = sum(len(t.reply.images) for s in samples.values() for t in s.turns if t.reply)
        answered = sum(1 for s in samples.values() for t in s.turns if t.reply)
        errors = [s for s in samples.values() if s.status == "error"]
        with RemoteFake(latency=args.latency, image_size=256) as fake:
            again, again_wall = run(
                fake,
                the_suite,
                work / "again",
                concurrency=args.concurrency,
                timeout=30,
                cache=work / "cache.sqlite",
            )
            rerun_calls = fake.stats()["requests"]
        uniprobe.report([faulty.path], out=work / "report")
    leaks = [str(p) for p in work.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    leaks += ["captured output"] if KEY in captured.getvalue() else []

    print(
        f"runner throughput: {args.cases} two-turn cases, concurrency {args.concurrency}, "
        f"fake latency {args.latency * 1000:.0f} ms"
    )
    print(
        f"  runner only: {runner_wall:.2f} s wall, ideal {ideal:.2f} s, "
        f"ratio {runner_wall / ideal:.2f}"
    )
    print(
        f"  OpenAI SDK against the fake (own process): {wall:.2f} s wall, "
        f"ratio {wall / ideal:.2f} ({clean_calls} calls)"
    )
    print(
        f"  {args.fault_rate:.0%} faults: {faulty_wall:.2f} s wall, {requests} requests, "
        f"{faults} faulted; retries {faulty.extra['retries']}"
    )
    print(
        f"    samples {len(samples)}/{args.cases} (lost {args.cases - len(samples)}), "
        f"complete {len(samples) - len(errors)}, terminal errors {len(errors)}; "
        f"turns answered {answered}"
    )
    print(
        f"    images delivered by the provider {delivered}, images recorded {recorded} "
        f"({'no double spend' if delivered == recorded else 'MISMATCH'})"
    )
    print(
        f"  re-run with the cache: {rerun_calls} provider calls, {again_wall:.2f} s, "
        f"{again.extra.get('cache_hits', 0)} cache hits"
    )
    print(
        f"  key scan of {sum(1 for p in work.rglob('*') if p.is_file())} files and the "
        f"output: {len(leaks)} leak(s)"
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()

"""Does planning fix it? A unified model against the same pencil with a planner, offline.

On the fake server, whose image models are the literal painter (it draws the words of
the latest message: rules, conditions and earlier turns are lost on it) and whose
`gpt-5.5` answers words-only requests with `FakePlanner` (it resolves the rules of the
dialogue text into one explicit instruction), the core suite's global_instruction
family (or the first K units of each of its subtypes) is run with

* `openai/gpt-5.5` alone: the Responses API with the image tool, the unified model;
* `plan(openai/gpt-5.5 → openai-images/gpt-image-2)`: the planner, then the painter.

Both are scored with the reference policy on synthetic scenes (as the fake-server
tests score them). Printed: each model's strict accuracy (passed / decided samples)
with its interval, and the paired difference planned − unified over the cases decided
under both, with its paired case-clustered bootstrap interval
(`uniprobe.statistics.paired_bootstrap`), then the difference by subtype.

    python benchmarks/plan_vs_unified.py [--sample K] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

import uniprobe
from uniprobe.cases.generate.common import case_yaml
from uniprobe.config import Config, ProviderConfig
from uniprobe.statistics import paired_bootstrap
from uniprobe.store.rundir import RunDir
from uniprobe.testing import FakeServer
from uniprobe.testing._mind import ByModel
from uniprobe.testing.planner import FakePlanner

UNIFIED = "openai/gpt-5.5"
PLANNED = "plan(openai/gpt-5.5 → openai-images/gpt-image-2)"
FAMILY = "global_instruction"
KEY = "sk-fake-plan-benchmark"


def family_suite(out: Path, units: int | None) -> Path:
    """A suite file of the core suite's global_instruction cases (the first `units`
    units of each subtype: a contrast group whole, or an ungrouped case)."""
    taken: dict[str, list[str]] = {}
    cases = []
    for case in uniprobe.load_suite("core").cases:
        if case.family != FAMILY:
            continue
        unit = case.group or case.id
        seen = taken.setdefault(case.subtype, [])
        if unit not in seen and units is not None and len(seen) >= units:
            continue
        if unit not in seen:
            seen.append(unit)
        cases.append(case)
    path = out / "suite.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(case_yaml(cases), encoding="utf-8")
    return path


def strict(results: Mapping[str, str]) -> tuple[int, int]:
    """(passed, decided) of case outcomes."""
    decided = [o for o in results.values() if o in ("pass", "fail")]
    return sum(o == "pass" for o in decided), len(decided)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, metavar="K", help="first K units per subtype")
    parser.add_argument("--out", help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--concurrency", type=int, default=8, help="conversations at once")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="uniprobe-plan-"))
    suite_path = family_suite(out, args.sample)
    suite = uniprobe.load_suite(suite_path)
    subtype = {c.id: c.subtype for c in suite.cases}
    start = time.perf_counter()
    with FakeServer(mind=ByModel({"gpt-5.5": FakePlanner()}), image_size=256) as fake:
        provider = ProviderConfig(api_key=SecretStr(KEY), base_url=fake.url + "/v1")
        config = Config(providers={"openai": provider, "openai-images": provider})
        results = uniprobe.run(
            suite,
            [UNIFIED, PLANNED],
            out=out / "runs",
            config=config,
            policy="reference",
            images="synthetic",
            concurrency=args.concurrency,
        )
        requests = len(fake.requests)
    wall = time.perf_counter() - start
    by_model = {}
    for result in results:
        run = RunDir.open(result.path)
        by_model[result.model] = {
            s.case_id: s.outcome for s in run.scores("reference").values() if s.epoch == 0
        }
    print(
        f"core {FAMILY}: {len(suite)} cases"
        f"{f' (first {args.sample} units per subtype)' if args.sample else ''}; "
        f"{requests} requests to the fake in {wall:.0f} s"
    )
    for model in (UNIFIED, PLANNED):
        summary = uniprobe.summary(next(r.path for r in results if r.model == model))
        acc = summary.overall.strict_accuracy
        k, n = strict(by_model[model])
        print(
            f"{model}: strict accuracy {100 * (acc.value or 0):.1f}% "
            f"[{100 * (acc.low or 0):.1f}, {100 * (acc.high or 0):.1f}] ({k}/{n} decided)"
        )
    both = [
        c
        for c in sorted(by_model[UNIFIED])  # case order: the bootstrap's draws are repeatable
        if by_model[UNIFIED][c] in ("pass", "fail") and by_model[PLANNED].get(c) in ("pass", "fail")
    ]
    diff = paired_bootstrap(
        [(float(by_model[PLANNED][c] == "pass"), 1.0) for c in both],
        [(float(by_model[UNIFIED][c] == "pass"), 1.0) for c in both],
    )
    print(
        f"paired difference planned - unified over {diff.n} cases: "
        f"{100 * (diff.value or 0):+.1f} points [{100 * (diff.low or 0):+.1f}, "
        f"{100 * (diff.high or 0):+.1f}]"
    )
    print(f"{'subtype':28s} {'unified':>9s} {'planned':>9s}")
    for name in sorted({subtype[c] for c in both}):
        cases = [c for c in both if subtype[c] == name]
        u = sum(by_model[UNIFIED][c] == "pass" for c in cases)
        p = sum(by_model[PLANNED][c] == "pass" for c in cases)
        print(f"{name:28s} {u:4d}/{len(cases):<4d} {p:4d}/{len(cases):<4d}")
    if not args.out:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()

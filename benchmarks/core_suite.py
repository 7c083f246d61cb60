"""The core suite on both reference models: the figures the suite is built to show.

Prints the oracle's strict accuracy (every case should pass), the literal reference's
strict accuracy on the global-instruction family (the rules it ignores should make it
fail) and the share of those failures tagged `literal`, plus wall time.

    python benchmarks/core_suite.py [--out runs-core]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import uniprobe
from uniprobe.store.rundir import RunDir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="uniprobe-core-"))
    start = time.perf_counter()
    results = uniprobe.run("core", ["reference/oracle", "reference/literal"], out=out)
    wall = time.perf_counter() - start
    oracle, literal = (uniprobe.summary(r.path) for r in results)
    acc = oracle.overall.strict_accuracy
    print(f"core suite: {oracle.overall.cases} cases, both references in {wall:.0f} s")
    print(
        f"  reference/oracle strict accuracy: {100 * (acc.value or 0):.1f}% "
        f"[{100 * (acc.low or 0):.1f}%, {100 * (acc.high or 0):.1f}%]"
    )
    scores = RunDir.open(results[1].path).scores("reference").values()
    glob = [s for s in scores if s.case_id.startswith("core.global.")]
    failed = [s for s in glob if s.outcome == "fail"]
    tagged = [
        s for s in failed if any("literal" in v.tags for v in s.verdicts if v.status == "fail")
    ]
    g = literal.families["global_instruction"].strict_accuracy
    print(
        f"  reference/literal on global instruction: strict accuracy {100 * (g.value or 0):.1f}% "
        f"({len(glob) - len(failed)}/{len(glob)} pass); {len(tagged)}/{len(failed)} failures "
        f"tagged literal ({100 * len(tagged) / max(1, len(failed)):.1f}%)"
    )
    for family, group in literal.families.items():
        print(f"  reference/literal {family}: {100 * (group.strict_accuracy.value or 0):.1f}%")
    if not args.out:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()

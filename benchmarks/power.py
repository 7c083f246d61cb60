"""95% half-widths of the headline per family and subtype: how far one epoch can tell.

Without a run, for a suite: each family's and subtype's headline units (contrast groups,
and cases without a group), the headline metric, and for one epoch the half-width
(high - low) / 2 of the 95% Wilson interval at 50% (the widest) and the upper end of
the interval at 0% (what "0 of n" still allows). With `--run`, the half-widths the
run's summary reports (`uniprobe summary --json` carries them too: `half_width` of every
estimate).

    python benchmarks/power.py [--suite core] [--run RUN]
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

import uniprobe
from uniprobe.cases.schema import FAMILIES, Case
from uniprobe.statistics import wilson_bounds


def units(cases: Iterable[Case]) -> tuple[int, int]:
    """(contrast groups, ungrouped cases): the headline units of one epoch."""
    cases = list(cases)
    return len({c.group for c in cases if c.group is not None}), sum(c.group is None for c in cases)


def metric(groups: int, ungrouped: int) -> str:
    """The headline metric of a set with these units (as `uniprobe.summary` names it)."""
    return "mixed" if groups and ungrouped else "group" if groups else "strict"


def planned(cases: Iterable[Case], label: str) -> str:
    """One line: units, metric, half-width at 50% and upper end at 0%, one epoch."""
    groups, ungrouped = units(cases)
    n = groups + ungrouped
    low, high = wilson_bounds(0.5, n)
    zero = wilson_bounds(0.0, n)[1]
    return (
        f"{label:<48}{groups:>7}{ungrouped:>10}  {metric(groups, ungrouped):<7}"
        f"{100 * (high - low) / 2:>9.1f}{100 * zero:>10.1f}"
    )


def for_suite(name: str) -> list[str]:
    """The lines for a suite (module docstring)."""
    suite = uniprobe.load_suite(name)
    lines = [
        f"suite {name}: {len(suite.cases)} cases; one epoch; 95% Wilson intervals",
        f"{'':<48}{'groups':>7}{'ungrouped':>10}  {'metric':<7}{'±50%':>9}{'0/n ≤':>10}",
    ]
    for family in FAMILIES:
        members = [c for c in suite.cases if c.family == family]
        if not members:
            continue
        lines.append(planned(members, family))
        for subtype in dict.fromkeys(c.subtype for c in members):
            lines.append(planned([c for c in members if c.subtype == subtype], "  " + subtype))
    lines.append(planned(suite.cases, "overall"))
    return lines


def for_run(path: str) -> list[str]:
    """The half-widths a run's summary reports, per family and subtype."""
    s = uniprobe.summary(path)
    lines = [f"{s.model} on {s.suite}, {s.epochs} epoch(s): headline, 95% interval, ±half-width"]
    rows = [("overall", s.overall), *s.families.items(), *s.subtypes.items()]
    for label, g in rows:
        h = g.headline
        if h.value is None or h.low is None or h.high is None or h.half_width is None:
            lines.append(f"{label:<48}n/a")
            continue
        lines.append(
            f"{label:<48}{g.headline_metric:<7}{100 * h.value:>7.1f} "
            f"[{100 * h.low:.1f}, {100 * h.high:.1f}] ±{100 * h.half_width:.1f} (n={h.n})"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="core", help="suite name or file (default: core)")
    parser.add_argument("--run", help="a run folder: print its summary's half-widths instead")
    args = parser.parse_args()
    print("\n".join(for_run(args.run) if args.run else for_suite(args.suite)))


if __name__ == "__main__":
    main()

"""The verdict of a count, presence or absence check from what a judge counted: one rule
for every judge that counts objects (the reference judge on pixels, the detector on
boxes), so their verdicts and evidence read the same."""

from __future__ import annotations

from typing import Any

from uniprobe.cases.checks import Absent, Count, Present
from uniprobe.scoring.judge import JudgeResult

__all__ = ["decide_count", "expected_text"]


def expected_text(check: Count) -> str:
    """What a count check wants, e.g. '= 5' or '>= 2 and <= 4'."""
    if check.equals is not None:
        return f"= {check.equals}"
    parts = []
    if check.at_least is not None:
        parts.append(f">= {check.at_least}")
    if check.at_most is not None:
        parts.append(f"<= {check.at_most}")
    return " and ".join(parts)


def decide_count(
    check: Count | Present | Absent,
    n: int,
    label: str,
    evidence: dict[str, Any],
    *,
    no_image: bool,
    reference: tuple[int, dict[str, Any]] | None = None,
) -> JudgeResult:
    """Pass or fail for `n` objects called `label` found (within the check's part, if any).

    `evidence` (what was counted, how) is completed with the count and what was expected;
    `reference` is, for a count that `matches` an earlier turn, the number found there and
    the evidence of that count."""
    evidence["count"] = n
    what = f"{n} {label}{'' if n == 1 else '(s)'}"
    where = f" in {check.within}" if check.within else ""
    if no_image:
        what = f"no image, so {what}"
    if isinstance(check, Present):
        ok = n > 0
    elif isinstance(check, Absent):
        ok = n == 0
    elif check.matches is not None:
        if reference is None:
            raise ValueError("a count that matches an earlier turn needs the reference count")
        count, seen = reference
        ok = check.accepts(n, count)
        evidence["expected"] = f"= {check.matches.expected(count)}"
        evidence["reference"] = {"turn": check.matches.turn, **seen, "count": count}
        what += f" (turn {check.matches.turn} shows {count} {check.matches.object})"
    else:
        ok = check.accepts(n)
        evidence["expected"] = expected_text(check)
    return JudgeResult("pass" if ok else "fail", f"found {what}{where}", evidence)

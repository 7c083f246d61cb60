"""What several annotators' labels on one item say together: the majority, or why none."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Majority", "majority"]


@dataclass(frozen=True)
class Majority:
    """The human answer to one item."""

    status: Literal["pass", "fail"] | None
    """pass or fail; None without labels, on a tie, or when most cannot tell."""
    reason: str
    """One line: how the labels add up."""
    counts: dict[str, int]
    """Label -> how many annotators gave it (latest label of each)."""


def majority(labels: Iterable[str]) -> Majority:
    """The label most annotators gave (one latest label each: pass, fail or cant_tell).

    A tie for first place, or a majority that cannot tell, decides nothing.
    """
    counts = Counter(labels)
    total = sum(counts.values())
    if total == 0:
        return Majority(None, "no human labels", {})
    ranked = counts.most_common()
    top, n = ranked[0]
    tally = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(counts.items()))
    if len(ranked) > 1 and ranked[1][1] == n:
        return Majority(None, f"annotators are split ({tally})", dict(counts))
    if top == "cant_tell":
        return Majority(None, f"most annotators cannot tell ({tally})", dict(counts))
    status: Literal["pass", "fail"] = "pass" if top == "pass" else "fail"
    return Majority(status, f"{n} of {total} annotator(s) say {top} ({tally})", dict(counts))

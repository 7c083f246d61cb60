"""The outcomes the metrics count, beyond a sample's own: its setup and probe parts, and
a contrast group's outcome in an epoch.

* **Role of a verdict**: the `role` of the expectation it judges (a leaf check or a
  conditional; a conditional's condition and branches share its role), read from the
  case at the verdict's path `turns.T.expect.I`; a verdict whose path the case does not
  hold keeps the role it records.
* **Setup and probe of a sample**: the verdicts of each role combined as a sample's are
  (any fail -> fail; all pass -> pass; otherwise unknown); None when the sample has no
  verdict of that role. `filler` verdicts are in neither.
* **Probe given setup**: a sample that did not error counts toward probe accuracy when
  its setup passed (or it has none) and its probe part is decided; a failed setup makes
  it ineligible; an unknown setup or probe leaves it undecided.
* **A group in an epoch** passes when every member's sample of that epoch passed, fails
  when one failed, and is undecided when a member's sample errored or is missing, or
  when the others passed and one is undecided: nothing is imputed, and an error outranks
  a failure as it does in a sample (a stopped conversation is not a measurement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from uniprobe.cases.checks import Role
from uniprobe.cases.schema import Case
from uniprobe.store.records import Outcome, Status, Verdict

__all__ = [
    "Eligibility",
    "combine",
    "group_outcome",
    "part",
    "probe_given_setup",
    "role_of",
]

Eligibility = Literal["pass", "fail", "undecided", "ineligible", "none"]
"""A sample's probe outcome given its setup: counted (pass, fail), undecided, ineligible
(its setup failed), or none (an error, or no probe verdict)."""


def combine(statuses: Iterable[Status]) -> Status | None:
    """Any fail -> fail; all pass -> pass; otherwise unknown; None for no statuses."""
    found = set(statuses)
    if not found:
        return None
    if "fail" in found:
        return "fail"
    return "pass" if found == {"pass"} else "unknown"


def role_of(case: Case, verdict: Verdict) -> Role:
    """The role of the expectation a top-level verdict judges (see the module docstring)."""
    parts = verdict.path.split(".")
    if len(parts) == 4 and parts[0] == "turns" and parts[2] == "expect":
        t, i = parts[1], parts[3]
        if t.isdigit() and i.isdigit() and int(t) < len(case.turns):
            expect = case.turns[int(t)].expect
            if int(i) < len(expect):
                return expect[int(i)].role
    return verdict.role


def part(case: Case, verdicts: Sequence[Verdict], role: Role) -> Status | None:
    """The combined status of a sample's verdicts of one role (None: it has none)."""
    return combine(v.status for v in verdicts if role_of(case, v) == role)


def probe_given_setup(outcome: Outcome, setup: Status | None, probe: Status | None) -> Eligibility:
    """A sample's probe outcome given its setup (module docstring)."""
    if outcome == "error" or probe is None:
        return "none"
    if setup == "fail":
        return "ineligible"
    if setup == "unknown" or probe == "unknown":
        return "undecided"
    return probe


def group_outcome(members: Sequence[str], outcomes: Mapping[str, Outcome]) -> Outcome:
    """A group's outcome in one epoch from its members' sample outcomes in that epoch
    (`outcomes`: case id -> outcome; a member absent from it is missing -> error)."""
    found = [outcomes.get(m, "error") for m in members]
    if "error" in found:
        return "error"
    if "fail" in found:
        return "fail"
    return "pass" if all(o == "pass" for o in found) else "unknown"

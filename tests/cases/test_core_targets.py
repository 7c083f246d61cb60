"""The v2 targets of the `core` suite on seeds 0..5 (issue 12, /work/wt/V2.md).

To be activated by the lead: these assert the targets, so they fail on a branch that
started before the builders' work (global, editing, post-generation) was merged, and
must pass once it is. Every subtype: >= 24 cases and >= 10 distinct sentence frames;
the suite: >= 800 cases, no duplicate case, free of validate's errors (hypernyms,
groups) and warnings. Seed 0 is the committed suite; seeds 1..5 are built in memory.
"""

from __future__ import annotations

import pytest

import uniprobe
from uniprobe.cases.schema import Suite
from uniprobe.cases.stats import duplicates, frames_by_subtype

MIN_CASES = 800
MIN_PER_SUBTYPE = 24
MIN_FRAMES = 10


SEEDS = (0, 1, 2, 3, 4, 5)


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{n}" for n in SEEDS])
def core(request: pytest.FixtureRequest) -> Suite:
    return uniprobe.load_suite(f"core@seed={request.param}")


def test_core_has_no_duplicate_cases(core: Suite) -> None:
    assert duplicates(core) == []


def test_core_has_800_cases_and_24_in_every_subtype(core: Suite) -> None:
    stats = uniprobe.stats(core)
    assert stats.cases >= MIN_CASES
    assert {k: n for k, n in stats.subtypes.items() if n < MIN_PER_SUBTYPE} == {}


def test_every_subtype_has_10_sentence_frames(core: Suite) -> None:
    assert {k: n for k, n in frames_by_subtype(core).items() if n < MIN_FRAMES} == {}


def test_core_is_free_of_validate_errors_and_warnings(core: Suite) -> None:
    assert [str(p) for p in uniprobe.validate_suite(core)] == []
    assert [str(p) for p in uniprobe.suite_warnings(core)] == []

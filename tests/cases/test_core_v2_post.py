"""The post-generation family of core v2 (issue 12) on two seeds: size, wording,
duplicates, setup roles, and contrast groups that no constant strategy passes."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from uniprobe.cases.checks import Conditional, Count
from uniprobe.cases.generate import FILES, build
from uniprobe.cases.schema import Case, Suite
from uniprobe.cases.stats import duplicates, frames_by_subtype

SUBTYPES = {
    "arithmetic",
    "back_reference",
    "condition_after_edit",
    "condition_color",
    "condition_count",
    "condition_presence",
    "condition_relation",
    "condition_unasked",
    "false_premise",
    "retraction",
}
CONDITIONS = {s for s in SUBTYPES if s.startswith("condition_")}
GROUPED = {*CONDITIONS, "false_premise"}


@pytest.fixture(scope="module", params=[0, 3], ids=["seed0", "seed3"])
def cases(request: pytest.FixtureRequest) -> list[Case]:
    return build(FILES["post_generation.yaml"], request.param)


def test_every_subtype_has_26_cases_and_10_frames(cases: list[Case]) -> None:
    assert Counter(c.subtype for c in cases) == dict.fromkeys(SUBTYPES, 26)
    frames = frames_by_subtype(Suite("post", tuple(cases)))
    assert set(frames) == {f"post_generation/{s}" for s in SUBTYPES}
    assert min(frames.values()) >= 10, frames


def test_no_duplicates_and_unique_ids(cases: list[Case]) -> None:
    assert duplicates(Suite("post", tuple(cases))) == []
    assert len({c.id for c in cases}) == len(cases)


def test_turn_one_is_setup_and_the_follow_up_probes(cases: list[Case]) -> None:
    for c in cases:
        first = [leaf for t, _, leaf in c.leaves() if t == 1]
        assert first and all(leaf.role == "setup" for leaf in first), c.id
        assert all(e.role == "probe" for e in c.turns[-1].expect), c.id


def test_counts_stay_legible_and_no_hypernym_is_checked(cases: list[Case]) -> None:
    for c in cases:
        for _, _, leaf in c.leaves():
            if isinstance(leaf, Count):
                assert all(v is None or v <= 10 for v in (leaf.equals, leaf.at_least)), c.id
            assert "bird" not in leaf.words(), c.id


def _acting_is_right(cond: Conditional) -> set[bool]:
    """Whether acting regardless (the literal branch) is right, for the condition values
    the words imply (assumed), or for both values when they leave it open."""
    acts_when = cond.literal == "then"
    values = {True, False} if cond.assumed is None else {cond.assumed}
    return {v == acts_when for v in values}


def test_every_condition_case_has_a_twin_with_the_other_value(cases: list[Case]) -> None:
    groups: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        if c.subtype in GROUPED:
            assert c.group is not None, c.id
            groups[c.group].append(c)
        else:
            assert c.group is None, c.id
    assert len(groups) == 13 * len(GROUPED)
    for gid, members in groups.items():
        assert len(members) >= 2 and len({m.subtype for m in members}) == 1, gid
        assert len({m.turns[0] for m in members}) == 1, gid  # the same turn 1
        if members[0].subtype == "false_premise":
            assert {t for m in members for t in m.tags} == {"true_premise", "false_premise"}
            continue
        conds = [e for m in members for e in m.turns[-1].expect if isinstance(e, Conditional)]
        assert len(conds) == len(members), gid
        if all(c.assumed is not None for c in conds):
            assert {v for c in conds for v in _acting_is_right(c)} == {True, False}, gid
        else:  # left open: one check, acting right under one value in each twin
            assert len({c.when for c in conds}) == 1, gid
            assert {c.literal for c in conds} == {"then", "else"}, gid

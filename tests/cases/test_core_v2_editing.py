"""The editing family of core v2 (issue 12): size, frames, no duplicates, locality, on
the published seed and a fresh one."""

from __future__ import annotations

from collections import Counter

import pytest

from uniprobe.cases.checks import Count, Unchanged
from uniprobe.cases.generate import FILES, build
from uniprobe.cases.schema import Case, Suite
from uniprobe.cases.stats import duplicates, frames_by_subtype

SUBTYPES = {
    "referring_recolor",
    "predicate_removal",
    "similar_replacement",
    "count_edit",
    "move",
    "add_at_place",
    "text_edit",
    "part_edit",
    "laterality",
    "change_nothing_else",
    "edit_chain",
    "multi_image",
    "count_to_ten",
}


@pytest.fixture(scope="module", params=[0, 3], ids=["seed0", "seed3"])
def cases(request: pytest.FixtureRequest) -> list[Case]:
    seed: int = request.param
    return build(FILES["editing.yaml"], seed)


def test_every_subtype_has_at_least_24_cases(cases: list[Case]) -> None:
    counts = Counter(c.subtype for c in cases)
    assert set(counts) == SUBTYPES
    assert min(counts.values()) >= 24, counts
    assert len({c.id for c in cases}) == len(cases)


def test_every_subtype_has_at_least_10_frames(cases: list[Case]) -> None:
    frames = frames_by_subtype(Suite("core", tuple(cases)))
    assert {k.removeprefix("editing/") for k in frames} == SUBTYPES
    assert min(frames.values()) >= 10, frames


def test_no_duplicates(cases: list[Case]) -> None:
    assert duplicates(Suite("core", tuple(cases))) == []


def test_every_turn_checks_locality_and_none_calls_it_literal(cases: list[Case]) -> None:
    for case in cases:
        for turn in case.turns:
            kept = [e for e in turn.expect if isinstance(e, Unchanged)]
            assert kept, case.id
            assert not any(e.literal for e in kept), case.id


def test_every_case_names_a_literal_reading(cases: list[Case]) -> None:
    for case in cases:
        # a literal count may be 0, which `in (None, False)` would take for False
        values = [getattr(leaf, "literal", None) for _, _, leaf in case.leaves()]
        assert any(v is not None and v is not False for v in values), case.id


def test_counts_stay_at_most_ten(cases: list[Case]) -> None:
    for case in cases:
        for _, _, leaf in case.leaves():
            if isinstance(leaf, Count):
                assert (leaf.equals or 0) <= 10 and (leaf.literal or 0) <= 10, case.id


def test_count_to_ten_results_are_six_to_ten(cases: list[Case]) -> None:
    results = [
        leaf.equals
        for c in cases
        if c.subtype == "count_to_ten"
        for _, _, leaf in c.leaves()
        if isinstance(leaf, Count) and leaf.literal is not None
    ]
    assert len(results) >= 24
    assert all(r is not None and 6 <= r <= 10 for r in results)


def test_laterality_pairs_the_move_with_its_already_correct_twin(cases: list[Case]) -> None:
    groups: dict[str, list[Case]] = {}
    for c in cases:
        if c.subtype == "laterality":
            assert c.group is not None, c.id
            groups.setdefault(c.group, []).append(c)
    assert len(groups) >= 12
    for members in groups.values():
        assert sorted(m.id.rsplit("_", 1)[1] for m in members) == ["move", "stay"]
        assert len({m.turns[0].user for m in members}) == 1  # same request, other scene
        assert len({repr(m.images) for m in members}) == 2
    hands = Counter(c.id.split("_")[-2] for c in cases if c.subtype == "laterality")
    assert set(hands) == {"left", "right"}


def test_edit_chains_have_3_to_5_turns_with_growing_locality(cases: list[Case]) -> None:
    chains = [c for c in cases if c.subtype == "edit_chain"]
    assert {len(c.turns) for c in chains} == {3, 4, 5}
    for c in chains:
        spared = [next(e for e in t.expect if isinstance(e, Unchanged)).outside for t in c.turns]
        assert all(len(spared[k]) == k + 1 for k in range(len(spared))), c.id
        assert all(set(spared[k]) < set(spared[k + 1]) for k in range(len(spared) - 1))


def test_multi_image_attaches_two_pictures_and_edits_the_second(cases: list[Case]) -> None:
    for c in cases:
        if c.subtype == "multi_image":
            assert c.turns[0].attach == ("first", "second"), c.id
            kept = [e for e in c.turns[0].expect if isinstance(e, Unchanged)]
            assert [e.against for e in kept] == ["second"], c.id

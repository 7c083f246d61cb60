"""The global-instruction family of core v2: size, diversity, literal readings, groups
(issue 12), on the published seed and a fresh one. Cheap: no model runs."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from uniprobe.cases.checks import Color, Count
from uniprobe.cases.generate import FILES, build
from uniprobe.cases.schema import Case, Suite
from uniprobe.cases.stats import duplicates, frames_by_subtype
from uniprobe.scenes.render import natural_color

SUBTYPES = {
    *("numeric_transform", "spatial_reversal", "word_substitution", "color_remapping"),
    *("topic_restriction", "exclusion", "style_persistence", "knowledge_quantity"),
    *("two_rules", "rule_revoked", "conflicting_rules", "rule_exception", "long_rule"),
    *("knowledge_rule", "context_distance_0", "context_distance_2", "context_distance_5"),
}
GROUPED = {"topic_restriction", "exclusion", "rule_exception", "rule_revoked"}


def _family(seed: int) -> list[Case]:
    return build(FILES["global_instruction.yaml"], seed)


@pytest.fixture(scope="module", params=[0, 3], ids=["seed0", "seed3"])
def family(request: pytest.FixtureRequest) -> list[Case]:
    return _family(request.param)


def test_every_subtype_has_24_cases_and_10_frames(family: list[Case]) -> None:
    counts = Counter(c.subtype for c in family)
    assert set(counts) == SUBTYPES
    assert min(counts.values()) >= 24, counts
    frames = frames_by_subtype(Suite("g", tuple(family)))
    assert min(frames.values()) >= 10, frames


def test_no_duplicates_and_unique_ids(family: list[Case]) -> None:
    assert duplicates(Suite("g", tuple(family))) == []
    ids = [c.id for c in family]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("seed", range(6))
def test_no_duplicates_on_six_seeds(seed: int) -> None:
    assert duplicates(Suite("g", tuple(_family(seed)))) == []


def test_every_probe_has_a_literal_reading_unless_grouped(family: list[Case]) -> None:
    without = [
        (c.id, leaf.kind)
        for c in family
        for _, _, leaf in c.leaves()
        if leaf.role == "probe" and leaf.literal in (None, False) and c.group is None
    ]
    # a probe with no literal value is allowed only beside one that has one (a backdrop,
    # a thing drawn alongside), never as the case's only probe
    lonely = [
        c.id
        for c in family
        if c.group is None
        and not any(leaf.literal not in (None, False) for _, _, leaf in c.leaves())
    ]
    assert lonely == [], lonely
    assert all(kind in {"present", "count", "absent"} for _, kind in without), without


def test_groups_pair_two_members_under_one_rule(family: list[Case]) -> None:
    groups: dict[str, list[Case]] = defaultdict(list)
    for c in family:
        if c.group is not None:
            groups[c.group].append(c)
    assert {m.subtype for ms in groups.values() for m in ms} == GROUPED
    for members in groups.values():
        assert len(members) == 2
        assert len({m.subtype for m in members}) == 1
        assert members[0].turns[0] == members[1].turns[0]
        assert any(leaf.literal for m in members for _, _, leaf in m.leaves())
    assert all(c.group is not None for c in family if c.subtype in GROUPED)


def test_every_case_opens_with_a_turn_in_words(family: list[Case]) -> None:
    # so never-act and unchanged (turn 1 as the oracle answers it, then nothing new) draw
    # nothing: no constant strategy but always-act ever shows an image
    assert [c.id for c in family if c.turns[0].expect or len(c.turns) < 2] == []


HYPONYMS = {
    "bird": ("duck", "chicken", "penguin", "flamingo"),
    "flower": ("tulip", "sunflower"),
    "tree": ("palm tree", "pine tree"),
}


@pytest.mark.parametrize("seed", range(6))
def test_no_hypernym_is_checked_beside_its_hyponyms(seed: int) -> None:
    for c in _family(seed):
        text = " ".join(t.user.lower() for t in c.turns)
        for _, _, leaf in c.leaves():
            word = getattr(leaf, "object", None)
            assert word not in ("bird", "flower"), c.id
            if word in HYPONYMS:
                assert not any(h in text for h in HYPONYMS[word]), (c.id, word)


def test_no_colour_check_asks_for_an_objects_own_colour(family: list[Case]) -> None:
    own = [
        (c.id, leaf.object, leaf.equals)
        for c in family
        for _, _, leaf in c.leaves()
        if isinstance(leaf, Color) and leaf.object and leaf.equals == natural_color(leaf.object)
    ]
    assert own == []


def test_counts_and_turns_stay_in_range(family: list[Case]) -> None:
    counts = [
        n
        for c in family
        for _, _, leaf in c.leaves()
        if isinstance(leaf, Count)
        for n in (leaf.equals, leaf.literal)
        if n is not None
    ]
    assert max(counts) <= 10
    assert max(len(c.turns) for c in family) <= 20
    assert min(len(c.turns) for c in family if c.subtype == "long_rule") >= 11


def test_context_distance_tests_the_same_rules_with_filler_roles(family: list[Case]) -> None:
    by_distance = {
        d: [c for c in family if c.subtype == f"context_distance_{d}"] for d in (0, 2, 5)
    }
    for d, cases in by_distance.items():
        for c in cases:
            assert len(c.turns) == d + 2
            fillers = [leaf.role for t in c.turns[1:-1] for leaf in t.expect]
            assert set(fillers) <= {"filler"} and (d == 0 or fillers)
            assert all(leaf.role == "probe" for leaf in c.turns[-1].expect)
    firsts = {d: [(c.turns[0], c.turns[-1]) for c in cs] for d, cs in by_distance.items()}
    assert firsts[0] == firsts[2] == firsts[5]


def test_another_seed_is_an_equivalent_fresh_suite() -> None:
    a, b = _family(0), _family(3)
    assert Counter(c.subtype for c in a) == Counter(c.subtype for c in b)
    assert Counter(c.group is None for c in a) == Counter(c.group is None for c in b)
    assert [c.to_dict() for c in a] != [c.to_dict() for c in b]

"""The reference generators' planner: what the oracle and the literal reference draw."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from uniprobe.backends.reference.planner import Planner, spec_box
from uniprobe.cases.schema import Case
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec


def _case(turns: list[dict[str, Any]], **extra: Any) -> Case:
    return Case.model_validate(
        {"id": "p", "family": "editing", "subtype": "s", "turns": turns, **extra}
    )


def _kinds(scene: SceneSpec | None) -> Counter[str]:
    assert scene is not None
    return Counter(o.concept for o in scene.objects if o.concept)


def _drawn(planner: Planner, turn: int) -> SceneSpec:
    """The scene the planner draws on this turn (one that draws)."""
    scene = planner.scene(turn)
    assert scene is not None, f"turn {turn} draws nothing"
    return scene


def test_counts_follow_the_check_and_its_literal_alternative() -> None:
    case = _case(
        [
            {"user": "From now on add 3 to every number."},
            {
                "user": "Draw 2 dolphins in the ocean.",
                "expect": [
                    {"count": {"object": "dolphins", "equals": 5, "literal": 2}},
                    {"present": {"object": "ocean"}},
                ],
            },
        ]
    )
    oracle, literal = Planner(case, literal=False, seed=1), Planner(case, literal=True, seed=1)
    assert oracle.scene(1) is None and literal.scene(1) is None  # a rule turn: words only
    assert _kinds(oracle.scene(2)) == {"dolphin": 5}
    assert _kinds(literal.scene(2)) == {"dolphin": 2}
    assert [b.kind for b in _drawn(oracle, 2).bands] == ["sky", "water"]


def test_new_objects_never_overlap_and_stay_on_the_canvas() -> None:
    case = _case([{"user": "8 birds", "expect": [{"count": {"object": "bird", "equals": 8}}]}])
    scene = Planner(case, literal=False, seed=3).scene(1)
    assert scene is not None
    boxes = [spec_box(o) for o in scene.objects]
    assert all(b[0] >= 0 and b[1] >= 0 and b[2] <= 512 and b[3] <= 512 for b in boxes)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_layout_is_deterministic_per_seed() -> None:
    case = _case([{"user": "3 cats", "expect": [{"count": {"object": "cat", "equals": 3}}]}])
    one = Planner(case, literal=False, seed=7).scene(1)
    assert one == Planner(case, literal=False, seed=7).scene(1)
    assert one != Planner(case, literal=False, seed=8).scene(1)


def test_relations_and_positions_place_objects() -> None:
    case = _case(
        [
            {
                "user": "x",
                "expect": [
                    {
                        "relation": {
                            "subject": "lemon",
                            "relation": "below",
                            "object": "watermelon",
                            "literal": "above",
                        }
                    },
                    {"position": {"object": "dog", "place": "right", "literal": "left"}},
                ],
            }
        ]
    )
    for literal, below in ((False, True), (True, False)):
        scene = Planner(case, literal=literal, seed=2).scene(1)
        assert scene is not None
        at = {o.concept: (o.x, o.y) for o in scene.objects}
        assert (at["lemon"][1] > at["watermelon"][1]) is below
        assert (at["dog"][0] > 256) is not literal


ROOM = SceneSpec(
    objects=(
        SceneObject(id="apple", kind="apple", x=100, y=256, size=90),
        SceneObject(id="lemon", kind="lemon", x=250, y=256, size=90, flip="horizontal"),
        SceneObject(id="pear", kind="pear", x=400, y=256, size=90),
    )
)


def test_an_edit_puts_the_new_object_in_the_freed_place() -> None:
    case = _case(
        [
            {
                "user": "Replace the lemon by a lime.",
                "attach": ["room"],
                "expect": [
                    {"absent": {"object": "lemon"}},
                    {"count": {"object": "lime", "equals": 1}},
                    {"unchanged": {"against": "room", "outside": ["lemon"]}},
                ],
            }
        ],
        images={"room": {"scene": ROOM.model_dump()}},
    )
    scene = Planner(case, literal=False, seed=1).scene(1)
    assert scene is not None
    apple, pear, lime = scene.objects
    assert (apple, pear) == (ROOM.objects[0], ROOM.objects[2])  # untouched
    assert (lime.concept, lime.x, lime.y, lime.flip) == ("lime", 250, 256, "horizontal")
    old, new = spec_box(ROOM.objects[1]), spec_box(lime)
    assert old[0] <= new[0] and old[1] <= new[1] and new[2] <= old[2] and new[3] <= old[3]


def test_an_edit_with_nothing_to_change_answers_in_words() -> None:
    case = _case(
        [
            {
                "user": "A man and a shark.",
                "expect": [{"present": {"object": "man"}}, {"present": {"object": "shark"}}],
            },
            {
                "user": "If the earth is flat, change the man to a woman.",
                "edit": True,
                "expect": [
                    {"present": {"object": "man", "literal": True}},
                    {"absent": {"object": "woman", "literal": True}},
                ],
            },
        ]
    )
    assert Planner(case, literal=False, seed=1).scene(2) is None
    literal = Planner(case, literal=True, seed=1)
    assert _kinds(literal.scene(2)) == {"woman": 1, "shark": 1}
    woman = next(o for o in _drawn(literal, 2).objects if o.concept == "woman")
    man = next(o for o in _drawn(literal, 1).objects if o.concept == "man")
    assert (woman.x, woman.y) == (man.x, man.y)  # took the man's place


def test_conditions_are_decided_on_its_own_earlier_scene() -> None:
    case = _case(
        [
            {
                "user": "Zebras at a river.",
                "expect": [
                    {"count": {"object": "zebra", "equals": 2}},
                    {"present": {"object": "water"}},
                ],
            },
            {
                "user": "A man on a road if there is no water.",
                "expect": [
                    {
                        "when": {"present": {"object": "water", "turn": 1}},
                        "then": [{"absent": {"object": "man"}}],
                        "else": [{"present": {"object": "man"}}, {"present": {"object": "road"}}],
                        "literal": "else",
                    },
                ],
            },
        ]
    )
    assert Planner(case, literal=False, seed=1).scene(2) is None  # water: nothing to draw
    literal = _drawn(Planner(case, literal=True, seed=1), 2)
    assert _kinds(literal) == {"man": 1}
    assert [b.kind for b in literal.bands] == ["sky", "road"]


def test_colours_are_painted_only_when_needed() -> None:
    floors = SceneSpec(
        objects=(
            SceneObject(id="f1", shape="rect", x=256, y=300, w=200, h=60, color="#b9b4aa"),
            SceneObject(id="f2", shape="rect", x=256, y=240, w=200, h=60, color="#b9b4aa"),
        )
    )
    case = _case(
        [
            {
                "user": "Make the second floor pink.",
                "attach": ["b"],
                "expect": [
                    {"color": {"part": "f2", "equals": "pink"}},
                    {"color": {"part": "f1", "equals": "gray"}},
                ],
            }
        ],
        images={"b": {"scene": floors.model_dump()}},
    )
    scene = Planner(case, literal=False, seed=1).scene(1)
    assert scene is not None
    assert [o.color for o in scene.objects] == ["#b9b4aa", "pink"]


def test_counts_that_match_an_earlier_scene_use_its_own_scene() -> None:
    case = _case(
        [
            {"user": "Draw two trees.", "expect": [{"count": {"object": "tree", "equals": 2}}]},
            {
                "user": "Add twice as many birds as there are trees.",
                "edit": True,
                "expect": [
                    {
                        "count": {
                            "object": "bird",
                            "matches": {"object": "tree", "turn": 1, "times": 2},
                        }
                    },
                ],
            },
        ]
    )
    scene = Planner(case, literal=False, seed=4).scene(2)
    assert _kinds(scene) == {"tree": 2, "bird": 4}


def test_a_no_text_literal_reading_draws_no_text() -> None:
    case = _case(
        [
            {
                "user": "Write SALE on every image.",
                "expect": [
                    {"text": {"contains": "SALE", "literal": ""}},
                    {"present": {"object": "cup"}},
                ],
            }
        ]
    )
    oracle = _drawn(Planner(case, literal=False, seed=1), 1)
    literal = _drawn(Planner(case, literal=True, seed=1), 1)
    assert [o.text for o in oracle.objects if o.shape == "text"] == ["SALE"]
    assert [o for o in literal.objects if o.shape == "text"] == []


# --- an empty scene is drawn ----------------------------------------------------------------

CATS = SceneSpec(
    bands=(),
    objects=(
        SceneObject(id="c1", kind="cat", x=120, y=256, size=90),
        SceneObject(id="c2", kind="cat", x=380, y=256, size=90),
    ),
)


def test_removing_everything_draws_an_empty_canvas() -> None:
    case = _case(
        [
            {
                "user": "Remove every cat.",
                "attach": ["cats"],
                "expect": [
                    {"count": {"object": "cat", "equals": 0}},
                    {"unchanged": {"against": "cats", "outside": ["c1", "c2"]}},
                ],
            }
        ],
        images={"cats": {"scene": CATS.model_dump()}},
    )
    scene = Planner(case, literal=False, seed=1).scene(1)
    assert scene == SceneSpec(width=512, height=512)  # drawn, empty: not words over the cats


def test_removing_everything_keeps_the_backdrop() -> None:
    case = _case(
        [
            {
                "user": "Cats on the grass.",
                "expect": [
                    {"count": {"object": "cat", "equals": 2}},
                    {"present": {"object": "grass"}},
                ],
            },
            {
                "user": "Now draw the grass with nothing on it.",
                "edit": False,
                "expect": [{"absent": {"object": "cat"}}, {"present": {"object": "grass"}}],
            },
        ]
    )
    scene = _drawn(Planner(case, literal=False, seed=1), 2)
    assert scene.objects == () and "grass" in [b.kind for b in scene.bands]


def test_a_fresh_empty_scene_over_an_image_that_breaks_the_turn_is_drawn() -> None:
    case = _case(
        [
            {"user": "Two cats.", "expect": [{"count": {"object": "cat", "equals": 2}}]},
            {"user": "Draw nothing but a blank page.", "expect": [{"absent": {"object": "cat"}}]},
        ]
    )
    assert Planner(case, literal=False, seed=1).scene(2) == SceneSpec(width=512, height=512)


def test_an_off_topic_request_is_answered_in_words() -> None:
    monkey = {
        "user": "Draw a monkey.",
        "expect": [{"absent": {"object": "monkey", "literal": True}}],
    }
    apple = {
        "user": "Only fruit from now on. Draw an apple.",
        "expect": [{"present": {"object": "apple"}}],
    }
    case = _case([apple, monkey])
    assert Planner(case, literal=False, seed=1).scene(2) is None  # the apple already meets it
    assert _kinds(Planner(case, literal=True, seed=1).scene(2)) == {"monkey": 1}
    alone = _case([monkey])
    assert Planner(alone, literal=False, seed=1).scene(1) is None  # nothing stands: words


# --- the literal reading, whole -------------------------------------------------------------


def test_the_literal_reading_ignores_a_check_that_contradicts_it() -> None:
    case = _case(
        [
            {
                "user": "Draw no cats from now on. Draw a black cat.",
                "expect": [
                    {"count": {"object": "cat", "equals": 0, "literal": 1}},
                    {"present": {"object": "dog"}},
                ],
            },
            {
                "user": "Only numbers minus 2 from now on. Draw 2 red cats and a dog.",
                "expect": [
                    {"count": {"object": "cat", "equals": 2, "literal": 0}},
                    {"color": {"object": "cat", "equals": "red"}},
                    {"present": {"object": "dog"}},
                ],
            },
        ]
    )
    literal = Planner(case, literal=True, seed=1)
    assert _kinds(literal.scene(1)) == {"cat": 1, "dog": 1}
    # the colour of the cats would need a cat: it is not literal-applicable, so no cat
    assert _kinds(literal.scene(2)) == {"dog": 1}
    oracle = _drawn(Planner(case, literal=False, seed=1), 2)
    assert sorted(o.color or "" for o in oracle.objects if o.concept == "cat") == ["red", "red"]


def test_the_literal_reading_takes_every_literal_branch_and_value() -> None:
    case = _case(
        [
            {"user": "A cat.", "expect": [{"present": {"object": "cat"}}]},
            {
                "user": "If there is no cat, add 3 dogs (add 2 to numbers).",
                "edit": True,
                "expect": [
                    {
                        "when": {"absent": {"object": "cat"}},
                        "then": [{"count": {"object": "dog", "equals": 3, "literal": 1}}],
                        "else": [{"absent": {"object": "dog"}}],
                        "literal": "then",
                    },
                    {"count": {"object": "cat", "equals": 1, "literal": 0}},
                ],
            },
        ]
    )
    assert _kinds(Planner(case, literal=True, seed=1).scene(2)) == {"dog": 1}
    assert Planner(case, literal=False, seed=1).scene(2) is None  # the cat stays: words


# --- always act -----------------------------------------------------------------------------


def _edit_case() -> Case:
    return _case(
        [
            {
                "user": "Replace the lemon by a lime.",
                "attach": ["room"],
                "expect": [
                    {"absent": {"object": "lemon"}},
                    {"count": {"object": "lime", "equals": 1}},
                    {"unchanged": {"against": "room", "outside": ["lemon"]}},
                ],
            }
        ],
        images={"room": {"scene": ROOM.model_dump()}},
    )


def test_the_literal_reference_redraws_what_it_was_not_asked_to_touch() -> None:
    scene = _drawn(Planner(_edit_case(), literal=True, seed=1), 1)
    apple, pear, lime = scene.objects
    assert lime.concept == "lime" and (lime.x, lime.y) == (250, 256)  # the edit itself
    for old, new in ((ROOM.objects[0], apple), (ROOM.objects[2], pear)):
        assert new.concept == old.concept
        assert math.hypot(new.x - old.x, new.y - old.y) >= 24
        assert new.size != old.size
    boxes = [spec_box(o) for o in scene.objects]
    for i, a in enumerate(boxes):  # nothing new overlaps
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    assert scene == _drawn(Planner(_edit_case(), literal=True, seed=1), 1)  # deterministic


def test_the_literal_redraw_moves_the_horizon() -> None:
    building = SceneSpec(
        bands=(Band(kind="sky", top=0, bottom=0.8), Band(kind="grass", top=0.8, bottom=1)),
        objects=(SceneObject(id="f1", shape="rect", x=256, y=300, w=200, h=60, color="gray"),),
    )
    case = _case(
        [
            {
                "user": "Make the floor pink.",
                "attach": ["b"],
                "expect": [
                    {"color": {"part": "f1", "equals": "pink"}},
                    {"unchanged": {"against": "b", "outside": ["f1"]}},
                ],
            }
        ],
        images={"b": {"scene": building.model_dump()}},
    )
    oracle = _drawn(Planner(case, literal=False, seed=1), 1)
    assert oracle.bands == building.bands
    literal = _drawn(Planner(case, literal=True, seed=1), 1)
    (sky, grass) = literal.bands
    assert sky.bottom == grass.top and 0.03 <= abs(sky.bottom - 0.8) <= 0.06
    assert [o.color for o in literal.objects] == ["pink"]  # primitives (parts) stay put
    assert [(o.x, o.y) for o in literal.objects] == [(256, 300)]


def test_the_literal_redraw_keeps_parts_and_layout_checks() -> None:
    man = SceneSpec(
        objects=(
            SceneObject(id="hand", shape="region", x=150, y=300, w=160, h=160),
            SceneObject(id="cone", kind="ice cream", x=150, y=300, size=70),
            SceneObject(kind="dog", x=400, y=120, size=100),
        )
    )
    case = _case(
        [
            {
                "user": "Add a cat below the dog.",
                "attach": ["m"],
                "expect": [
                    {"relation": {"subject": "cat", "relation": "below", "object": "dog"}},
                    {"present": {"object": "ice cream", "within": "hand"}},
                    {"unchanged": {"against": "m", "outside": []}},
                ],
            }
        ],
        images={"m": {"scene": man.model_dump()}},
    )
    for seed in range(6):
        scene = _drawn(Planner(case, literal=True, seed=seed), 1)
        at = {o.concept: o for o in scene.objects if o.concept}
        cone, dog, cat = at["ice cream"], at["dog"], at["cat"]
        assert (cone.x, cone.y) != (150, 300) and 70 < cone.x < 230 and 220 < cone.y < 380
        assert cat.y > dog.y
        assert (dog.x, dog.y) != (400, 120)


# --- several attached images -----------------------------------------------------------------


def test_a_second_attached_image_lends_its_objects() -> None:
    dog = SceneSpec(objects=(SceneObject(id="dog", kind="dog", x=256, y=300, size=160),))
    hats = SceneSpec(
        objects=(
            SceneObject(kind="rabbit", x=120, y=256, size=100, color="purple"),
            SceneObject(kind="cat", x=380, y=256, size=100, color="blue"),
        )
    )
    case = _case(
        [
            {
                "user": "Replace the dog of the second picture by the cat of the first.",
                "attach": ["hats", "dog"],
                "expect": [
                    {"absent": {"object": "dog"}},
                    {"count": {"object": "cat", "equals": 1}},
                    {"absent": {"object": "rabbit"}},
                    {"unchanged": {"against": "dog", "outside": ["dog"]}},
                ],
            },
            {
                "user": "Replace the dog of the second picture by an animal of the first.",
                "attach": ["hats", "dog"],
                "expect": [{"absent": {"object": "dog"}}, {"present": {"object": "animal"}}],
            },
        ],
        images={"dog": {"scene": dog.model_dump()}, "hats": {"scene": hats.model_dump()}},
    )
    oracle = Planner(case, literal=False, seed=1)
    (cat,) = _drawn(oracle, 1).objects  # the last image is edited; nothing else comes along
    assert (cat.concept, cat.color, cat.x, cat.y) == ("cat", "blue", 256, 300)
    (lent,) = _drawn(oracle, 2).objects  # 'animal': the first one the first image shows
    assert (lent.concept, lent.color, lent.x, lent.y) == ("rabbit", "purple", 256, 300)

"""The scoring engine on hand-made samples: canvases, tags, conditionals, unknowns."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from uniprobe.cases.schema import Case
from uniprobe.scenes.render import render_scene, to_png
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec
from uniprobe.scoring.engine import score_sample
from uniprobe.scoring.policy import Judging
from uniprobe.store.records import (
    ErrorRecord,
    Manifest,
    ModelInfo,
    ReplyRecord,
    SampleRecord,
    ScoreRecord,
    SuiteInfo,
    TurnRecord,
)
from uniprobe.store.rundir import RunDir

Reply = SceneSpec | bytes | str | None
"""A drawn scene, an image file's bytes, a text-only answer, or no reply (an error)."""


def _scene(*objects: tuple[str, float, float], bands: tuple[str, ...] = ()) -> SceneSpec:
    split = [Band(kind="sky", bottom=0.45), Band(kind=bands[0], top=0.45)] if bands else []
    return SceneSpec(
        bands=tuple(split),
        objects=tuple(SceneObject(kind=k, x=x, y=y, size=100) for k, x, y in objects),
    )


def _score(
    tmp_path: Path, case: Case, replies: list[Reply], *, refusal: str | None = None
) -> ScoreRecord:
    run = RunDir.create(
        tmp_path / "run",
        Manifest(
            run_id="run",
            uniprobe_version="test",
            suite=SuiteInfo(name="t", hash="h", cases=1),
            model=ModelInfo(name="test/scripted", protocol="test"),
            epochs=1,
            policy="reference",
            created="now",
        ),
    )
    turns = []
    for index, (turn, reply) in enumerate(zip(case.turns, replies, strict=True), start=1):
        attached = []
        for name in turn.attach:
            spec = case.images[name].scene
            assert spec is not None
            attached.append(run.put_image(to_png(render_scene(spec).image)))
        rec = TurnRecord(index=index, user=turn.user, attached=attached)
        if reply is None:
            rec.error = ErrorRecord(type="BackendError", message="test/scripted: HTTP 500")
            turns.append(rec)
            break
        if isinstance(reply, str):
            rec.reply = ReplyRecord(text=reply, refusal=refusal)
        elif isinstance(reply, bytes):
            rec.reply = ReplyRecord(images=[run.put_image(reply)])
        else:
            rec.reply = ReplyRecord(images=[run.put_image(to_png(render_scene(reply).image))])
        turns.append(rec)
    status = "error" if any(t.error for t in turns) else "complete"
    sample = SampleRecord(
        case_id=case.id,
        epoch=0,
        seed=1,
        model="test/scripted",
        protocol="test",
        turns=turns,
        status=status,
        started="s",
        finished="f",
    )
    return asyncio.run(score_sample(case, sample, run, Judging.of("reference")))


def _case(turns: list[dict[str, Any]], **extra: Any) -> Case:
    return Case.model_validate(
        {"id": "t", "family": "post_generation", "subtype": "s", "turns": turns, **extra}
    )


RULE = _case(
    [
        {"user": "From now on, if I mention a number, add 3 before using it."},
        {
            "user": "Generate an image of 2 dolphins.",
            "expect": [{"count": {"object": "dolphin", "equals": 5, "literal": 2}}],
        },
    ]
)


def _dolphins(n: int) -> SceneSpec:
    return _scene(*[("dolphin", 70 + 120 * (i % 4), 100 + 140 * (i // 4)) for i in range(n)])


@pytest.mark.parametrize(
    ("n", "status", "tags"),
    [
        pytest.param(5, "pass", [], id="rule-followed"),
        pytest.param(2, "fail", ["literal"], id="literal-reading"),
        pytest.param(4, "fail", [], id="other-error"),
    ],
)
def test_literal_tag_only_when_the_literal_reading_holds(
    tmp_path: Path, n: int, status: str, tags: list[str]
) -> None:
    score = _score(tmp_path, RULE, ["Understood.", _dolphins(n)])
    [verdict] = score.verdicts
    assert (verdict.status, verdict.tags) == (status, tags)
    assert verdict.evidence["count"] == n
    assert verdict.judge == "reference@3"
    assert score.outcome == status


TOPIC = _case(
    [
        {"user": "Draw only fruit."},
        {"user": "Draw a monkey.", "expect": [{"absent": {"object": "monkey", "literal": True}}]},
        {"user": "Now draw an apple.", "expect": [{"present": {"object": "apple"}}]},
    ]
)


def test_a_text_only_refusal_leaves_nothing_drawn(tmp_path: Path) -> None:
    score = _score(tmp_path, TOPIC, ["ok", "I only draw fruit.", "No."], refusal="off topic")
    absent, present = score.verdicts
    assert (absent.status, absent.reason) == ("pass", "found no image, so 0 monkey(s)")
    assert present.status == "fail"
    assert present.tags == ["no_image", "refusal"]


def test_the_canvas_falls_back_to_the_latest_earlier_image(tmp_path: Path) -> None:
    score = _score(tmp_path, TOPIC, ["ok", _scene(("apple", 256, 256)), "Here it is."])
    absent, present = score.verdicts
    assert absent.status == "pass"
    assert present.status == "pass"  # the turn-2 image still shows an apple


FRUIT = SceneSpec(
    objects=(
        SceneObject(id="apple", kind="apple", x=120, y=256, size=90),
        SceneObject(id="lemon", kind="lemon", x=260, y=256, size=90),
        SceneObject(id="pear", kind="pear", x=400, y=256, size=90),
    )
)
EDIT = _case(
    [
        {
            "user": "Replace the lemon by a lime.",
            "attach": ["fruit"],
            "expect": [
                {"absent": {"object": "lemon"}},
                {"present": {"object": "lime"}},
                {"present": {"object": "apple"}},
                {"unchanged": {"against": "fruit", "outside": ["lemon"]}},
            ],
        }
    ],
    images={"fruit": {"scene": FRUIT.model_dump()}},
)


def test_edits_are_tagged_against_the_pre_edit_canvas(tmp_path: Path) -> None:
    # the model kept the lemon, deleted the apple and added nothing
    drawn = SceneSpec(objects=(FRUIT.objects[1], FRUIT.objects[2]))
    score = _score(tmp_path, EDIT, [drawn])
    lemon, lime, apple, unchanged = score.verdicts
    assert (lemon.status, lemon.tags) == ("fail", ["under_edit"])
    assert (lime.status, lime.tags) == ("fail", ["under_edit"])
    assert (apple.status, apple.tags) == ("fail", ["over_edit"])
    assert (unchanged.status, unchanged.tags) == ("fail", ["over_edit"])
    assert unchanged.evidence["changed_share"] > 0.01
    assert unchanged.evidence["excluded"][0]["part"] == "lemon"


def test_a_precise_edit_passes_every_check(tmp_path: Path) -> None:
    lime = SceneObject(kind="lime", x=260, y=256, size=80)
    score = _score(tmp_path, EDIT, [SceneSpec(objects=(FRUIT.objects[0], lime, FRUIT.objects[2]))])
    assert [v.status for v in score.verdicts] == ["pass"] * 4
    assert score.verdicts[3].evidence["changed_share"] == 0.0
    assert score.outcome == "pass"


CONDITIONAL = _case(
    [
        {
            "user": "Two zebras drinking water.",
            "expect": [{"count": {"object": "zebra", "equals": 2}}],
        },
        {
            "user": "A man running on the road if there is no water in the previous image.",
            "expect": [
                {
                    "when": {"present": {"object": "water", "turn": 1}},
                    "then": [{"absent": {"object": "man"}}],
                    "else": [{"present": {"object": "man"}}],
                    "literal": "else",
                    "assumed": True,
                },
            ],
        },
    ]
)
ZEBRAS_WATER = _scene(("zebra", 150, 330), ("zebra", 360, 330), bands=("water",))
ZEBRAS_DRY = _scene(("zebra", 150, 330), ("zebra", 360, 330), bands=("grass",))
MAN = _scene(("man", 256, 300), bands=("road",))


@pytest.mark.parametrize(
    ("first", "second", "status", "tags", "holds"),
    [
        pytest.param(
            ZEBRAS_WATER, "Not drawing: there is water.", "pass", [], True, id="right-branch"
        ),
        pytest.param(
            ZEBRAS_WATER, MAN, "fail", ["wrong_branch", "literal"], True, id="acted-anyway"
        ),
        pytest.param(
            ZEBRAS_DRY,
            _scene(("zebra", 150, 330), bands=("water",)),
            "fail",
            ["wrong_branch", "misread_condition"],
            False,
            id="followed-the-words",
        ),
        pytest.param(
            ZEBRAS_DRY,
            "There is water, so no.",
            "fail",
            ["wrong_branch", "no_image"],
            False,
            id="words-only-are-no-misreading",
        ),
        pytest.param(
            ZEBRAS_DRY,
            ZEBRAS_DRY,
            "fail",
            ["wrong_branch", "no_change"],
            False,
            id="the-same-picture-is-no-misreading",
        ),
        pytest.param(
            ZEBRAS_WATER,
            ZEBRAS_WATER,
            "pass",
            [],
            True,
            id="the-same-picture-can-be-right",
        ),
        pytest.param(ZEBRAS_DRY, MAN, "pass", [], False, id="right-branch-no-water"),
    ],
)
def test_conditionals_are_judged_on_the_drawn_image(
    tmp_path: Path, first: SceneSpec, second: Reply, status: str, tags: list[str], holds: bool
) -> None:
    score = _score(tmp_path, CONDITIONAL, [first, second])
    verdict = score.verdicts[1]
    assert (verdict.status, verdict.tags) == (status, tags)
    assert verdict.evidence["condition"] is holds
    assert verdict.children[0].kind == "present"
    assert verdict.children[0].status == ("pass" if holds else "fail")


def test_a_condition_no_judge_can_decide_makes_the_verdict_unknown(tmp_path: Path) -> None:
    case = _case(
        [
            {
                "user": "x",
                "expect": [
                    {
                        "when": {"ask": {"question": "Is the earth flat?", "expect": "yes"}},
                        "then": [{"present": {"object": "woman"}}],
                        "else": [{"present": {"object": "man"}}],
                    },
                ],
            }
        ]
    )
    [verdict] = _score(tmp_path, case, [MAN]).verdicts
    assert verdict.status == "unknown"
    assert verdict.reason == (
        "the condition could not be judged: no judge in policy 'reference' answers 'ask' checks"
    )


def test_a_failed_turn_leaves_its_checks_unknown_with_the_error(tmp_path: Path) -> None:
    score = _score(tmp_path, CONDITIONAL, [ZEBRAS_WATER, None])
    first, second = score.verdicts
    assert first.status == "pass"
    assert (second.status, second.tags) == ("unknown", ["error"])
    assert second.reason == "no reply: test/scripted: HTTP 500"
    assert score.outcome == "error"


ARITHMETIC = _case(
    [
        {"user": "Draw three trees.", "expect": [{"count": {"object": "tree", "equals": 3}}]},
        {
            "user": "Add one more bird than there are trees.",
            "edit": True,
            "expect": [
                {"count": {"object": "bird", "matches": {"object": "tree", "turn": 1, "plus": 1}}},
            ],
        },
    ]
)


def _trees_and_birds(trees: int, birds: int) -> SceneSpec:
    objs = [("tree", 60 + 100 * i, 120) for i in range(trees)]
    objs += [("bird", 60 + 100 * i, 380) for i in range(birds)]
    return _scene(*objs)


@pytest.mark.parametrize(
    ("trees", "birds", "status"),
    [
        pytest.param(3, 4, "pass", id="as-asked"),
        pytest.param(4, 5, "pass", id="follows-the-drawn-count"),
        pytest.param(4, 4, "fail", id="follows-the-words-not-the-picture"),
    ],
)
def test_counts_can_match_what_an_earlier_turn_drew(
    tmp_path: Path, trees: int, birds: int, status: str
) -> None:
    first = _trees_and_birds(trees, 0)
    second = _trees_and_birds(trees, birds)
    score = _score(tmp_path, ARITHMETIC, [first, second])
    verdict = score.verdicts[1]
    assert verdict.status == status
    assert verdict.evidence["reference"] == {"turn": 1, "object": "tree", "count": trees}
    assert verdict.evidence["expected"] == f"= {trees + 1}"


# The literal-tag rule: `literal` needs a picture the model drew in that turn, changed
# from the previous canvas, on which the literal reading holds.

LITERAL = _case(
    [
        {"user": "Draw only fruit from now on."},
        {
            "user": "Draw 2 dolphins.",
            "expect": [
                {"present": {"object": "apple", "literal": True}},
                {"count": {"object": "dolphin", "equals": 0, "literal": 2}},
            ],
        },
    ]
)


@pytest.mark.parametrize(
    ("reply", "refusal", "tags"),
    [
        pytest.param("I can't help with that.", "declined", ["no_image", "refusal"], id="refusal"),
        pytest.param("Done.", None, ["no_image"], id="text-only"),
    ],
)
def test_an_answer_without_an_image_is_never_literal(
    tmp_path: Path, reply: str, refusal: str | None, tags: list[str]
) -> None:
    score = _score(tmp_path, LITERAL, ["Understood.", reply], refusal=refusal)
    apple, dolphins = score.verdicts
    # no apple on an empty canvas: it fails, and the literal reading (no apple) holds there
    assert (apple.status, apple.tags) == ("fail", tags)
    assert dolphins.status == "pass"


def test_a_drawn_literal_reading_is_literal(tmp_path: Path) -> None:
    score = _score(tmp_path, LITERAL, ["Understood.", _dolphins(2)])
    apple, dolphins = score.verdicts
    assert (apple.status, apple.tags) == ("fail", ["literal"])
    assert (dolphins.status, dolphins.tags) == ("fail", ["literal"])


def test_a_drawn_picture_that_is_not_the_literal_reading_is_not_literal(tmp_path: Path) -> None:
    score = _score(tmp_path, LITERAL, ["Understood.", _dolphins(3)])
    apple, dolphins = score.verdicts
    assert (apple.status, apple.tags) == ("fail", ["literal"])  # no apple: literal holds
    assert (dolphins.status, dolphins.tags) == ("fail", [])


AGAIN = _case(
    [
        {"user": "Draw 2 dolphins.", "expect": [{"count": {"object": "dolphin", "equals": 2}}]},
        {
            "user": "From now on add 3 to every number. Draw 2 dolphins.",
            "expect": [{"count": {"object": "dolphin", "equals": 5, "literal": 2}}],
        },
    ]
)


def _png(scene: SceneSpec, *, compress_level: int = 6) -> bytes:
    out = io.BytesIO()
    render_scene(scene).image.save(out, format="PNG", compress_level=compress_level)
    return out.getvalue()


@pytest.mark.parametrize(
    "second",
    [
        pytest.param(_dolphins(2), id="same-bytes"),
        pytest.param(_png(_dolphins(2), compress_level=1), id="same-pixels-other-bytes"),
    ],
)
def test_a_picture_returned_unchanged_is_no_change_not_literal(
    tmp_path: Path, second: SceneSpec | bytes
) -> None:
    first = _png(_dolphins(2))
    score = _score(tmp_path, AGAIN, [first, second])
    drawn, again = score.verdicts
    assert drawn.status == "pass"
    assert (again.status, again.tags) == ("fail", ["no_change"])


def test_a_new_drawing_of_the_literal_reading_is_literal(tmp_path: Path) -> None:
    again = _scene(("dolphin", 380, 380), ("dolphin", 120, 380))
    score = _score(tmp_path, AGAIN, [_png(_dolphins(2)), again])
    assert (score.verdicts[1].status, score.verdicts[1].tags) == ("fail", ["literal"])


def test_an_edit_returned_unchanged_is_an_under_edit_with_no_change(tmp_path: Path) -> None:
    case = _case(
        [
            {
                "user": "Replace the lemon by a lime.",
                "attach": ["fruit"],
                "expect": [
                    {"count": {"object": "lime", "equals": 1, "literal": 0}},
                    {"unchanged": {"against": "fruit", "outside": ["lemon"], "literal": True}},
                ],
            }
        ],
        images={"fruit": {"scene": FRUIT.model_dump()}},
    )
    score = _score(tmp_path, case, [FRUIT])
    lime, unchanged = score.verdicts
    assert (lime.status, lime.tags) == ("fail", ["under_edit", "no_change"])
    assert unchanged.status == "pass"


LOCALITY = _case(
    [
        {
            "user": "Reflect the lemon.",
            "attach": ["fruit"],
            "expect": [
                {"present": {"object": "lemon"}},
                {"unchanged": {"against": "fruit", "outside": ["lemon"], "literal": True}},
            ],
        },
        {
            "user": "What fruit is on the left? Change nothing.",
            "expect": [{"same_as": {"against": 1, "literal": True}}],
        },
    ],
    images={"fruit": {"scene": FRUIT.model_dump()}},
)


def test_a_locality_failure_is_over_edit_only(tmp_path: Path) -> None:
    # the model drops the apple in turn 1 and moves the pear in turn 2 (no edit turn)
    first = SceneSpec(objects=(FRUIT.objects[1], FRUIT.objects[2]))
    moved = SceneObject(id="pear", kind="pear", x=300, y=400, size=90)
    score = _score(tmp_path, LOCALITY, [first, SceneSpec(objects=(FRUIT.objects[1], moved))])
    lemon, unchanged, same = score.verdicts
    assert lemon.status == "pass"
    assert (unchanged.status, unchanged.tags) == ("fail", ["over_edit"])
    assert (same.status, same.tags) == ("fail", ["over_edit"])


ROLES = _case(
    [
        {
            "user": "Two zebras drinking water.",
            "expect": [{"count": {"object": "zebra", "equals": 2, "role": "setup"}}],
        },
        {"user": "Tell me a joke.", "expect": [{"absent": {"object": "man", "role": "filler"}}]},
        {
            "user": "A man running on the road if there is no water in the first image.",
            "expect": [
                {
                    "when": {"present": {"object": "water", "turn": 1}},
                    "then": [{"absent": {"object": "man"}}],
                    "else": [{"present": {"object": "man"}}],
                },
                {"present": {"object": "zebra", "turn": 1}},
            ],
        },
    ]
)


def test_every_verdict_carries_its_role(tmp_path: Path) -> None:
    score = _score(tmp_path, ROLES, [ZEBRAS_WATER, "Why did the zebra...", MAN])
    setup, filler, conditional, probe = score.verdicts
    assert [v.role for v in score.verdicts] == ["setup", "filler", "probe", "probe"]
    assert (setup.status, filler.status, probe.status) == ("pass", "pass", "pass")
    assert conditional.status == "fail"
    assert [c.role for c in conditional.children] == ["probe", "probe"]


def test_a_conditional_shares_its_role_with_its_checks(tmp_path: Path) -> None:
    case = _case(
        [
            {
                "user": "Draw a man if there is water.",
                "expect": [
                    {
                        "when": {"present": {"object": "water"}},
                        "then": [{"present": {"object": "man"}}],
                        "else": [{"absent": {"object": "man"}}],
                        "role": "setup",
                    }
                ],
            },
        ]
    )
    [verdict] = _score(tmp_path, case, [MAN]).verdicts
    assert verdict.role == "setup"
    assert [c.role for c in verdict.children] == ["setup", "setup"]


def test_an_unanswered_turn_keeps_its_role(tmp_path: Path) -> None:
    score = _score(tmp_path, ROLES, [ZEBRAS_WATER, None, None])
    assert [(v.role, v.tags) for v in score.verdicts[1:]] == [
        ("filler", ["error"]),
        ("probe", ["error"]),
        ("probe", ["error"]),
    ]


def test_a_check_on_an_earlier_canvas_is_tagged_by_what_that_turn_did(tmp_path: Path) -> None:
    case = _case(
        [
            {"user": "Draw 2 zebras."},
            {
                "user": "Now add a man.",
                "expect": [
                    {"count": {"object": "zebra", "equals": 2, "literal": 0, "turn": 1}},
                    {"present": {"object": "man"}},
                ],
            },
        ]
    )
    score = _score(tmp_path, case, ["I can't draw zebras.", MAN], refusal="declined")
    zebras, man = score.verdicts
    # turn 1's canvas is empty (0 zebras, the literal value), but turn 1 drew nothing
    assert (zebras.status, zebras.tags) == ("fail", ["no_image", "refusal"])
    assert man.status == "pass"

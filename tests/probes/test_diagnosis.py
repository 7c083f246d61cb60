"""The diagnosis rules on hand-built samples and verdicts: every outcome and tag."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from uniprobe.cases.checks import Count, Present, Relation, SameAs, Text, Unchanged
from uniprobe.cases.schema import Case, Suite
from uniprobe.errors import RunDirError
from uniprobe.probes.diagnosis import (
    CheckDiagnosis,
    diagnose_run,
    diagnose_sample,
    format_diagnosis,
    summarize,
    summarize_by,
)
from uniprobe.probes.questions import probe_questions, question_records
from uniprobe.probes.stated import holds
from uniprobe.store.records import (
    Manifest,
    ModelInfo,
    ProbeAnswer,
    ProbeKind,
    ProbeRecord,
    ProbeStatus,
    ReplyRecord,
    SampleRecord,
    ScoreRecord,
    Status,
    SuiteInfo,
    TurnRecord,
    Verdict,
)
from uniprobe.store.rundir import RunDir


def _case(turns: list[dict[str, Any]], case_id: str = "rule", **extra: Any) -> Case:
    return Case.model_validate(
        {
            "id": case_id,
            "family": "global_instruction",
            "subtype": "numeric",
            "turns": turns,
            **extra,
        }
    )


RULE = _case(
    [
        {"user": "From now on, add 3 to any number I mention."},
        {
            "user": "Generate an image of 2 dolphins in the ocean.",
            "expect": [
                {"count": {"object": "dolphin", "equals": 5, "literal": 2}},
                {"present": {"object": "ocean"}},
            ],
        },
    ]
)


def _probe(
    kind: ProbeKind,
    case: Case,
    turn: int,
    answers: dict[str, ProbeAnswer],
    status: ProbeStatus = "answered",
    reason: str | None = None,
) -> ProbeRecord:
    qs = probe_questions(case, turn, kind)
    return ProbeRecord(
        kind=kind,
        status=status,
        questions=question_records(qs),
        answers=answers if status == "answered" else {},
        reason=reason,
    )


def _sample(case: Case, probes: dict[int, list[ProbeRecord]], epoch: int = 0) -> SampleRecord:
    turns = [
        TurnRecord(index=t, user=turn.user, reply=ReplyRecord(text="ok"), probes=probes.get(t, []))
        for t, turn in enumerate(case.turns, 1)
    ]
    return SampleRecord(
        case_id=case.id,
        epoch=epoch,
        seed=0,
        model="test/m",
        protocol="test",
        turns=turns,
        status="complete",
        started="s",
        finished="f",
    )


def _verdict(path: str, turn: int, kind: str, status: Status, **extra: Any) -> Verdict:
    return Verdict(
        path=path, turn=turn, kind=kind, check={}, status=status, reason=f"judged {status}", **extra
    )


def _score(case: Case, verdicts: list[Verdict], epoch: int = 0) -> ScoreRecord:
    return ScoreRecord(
        case_id=case.id,
        epoch=epoch,
        policy="reference",
        judges={},
        outcome="fail",
        verdicts=verdicts,
        scored="now",
    )


def _rule_rows(
    knows: ProbeAnswer, draws: Status, sees: ProbeAnswer, epoch: int = 0
) -> list[CheckDiagnosis]:
    probes = [
        _probe("knows", RULE, 2, {"q1": knows, "q2": "yes"}),
        _probe("sees", RULE, 2, {"q1": sees, "q2": "yes"}),
    ]
    verdicts = [
        _verdict("turns.1.expect.0", 2, "count", draws),
        _verdict("turns.1.expect.1", 2, "present", "pass"),
    ]
    return diagnose_sample(RULE, _sample(RULE, {2: probes}, epoch), _score(RULE, verdicts, epoch))


@pytest.mark.parametrize(
    ("knows", "draws", "sees", "want"),
    [
        pytest.param(5, "pass", 5, ("right", "pass", "agree", "unified", ()), id="unified"),
        pytest.param(
            2,
            "fail",
            2,
            ("wrong", "fail", "agree", "doesnt_know", ("literal_belief",)),
            id="literal-belief",
        ),
        pytest.param(4, "fail", 4, ("wrong", "fail", "agree", "doesnt_know", ()), id="wrong"),
        pytest.param(5, "fail", 2, ("right", "fail", "agree", "cant_draw", ()), id="cant-draw"),
        pytest.param(
            5,
            "fail",
            5,
            ("right", "fail", "disagree", "cant_see", ("hallucinated_compliance",)),
            id="hallucinated",
        ),
        pytest.param(
            5,
            "pass",
            3,
            ("right", "pass", "disagree", "cant_see", ("missed_success",)),
            id="missed-success",
        ),
        pytest.param(
            2,
            "fail",
            5,
            (
                "wrong",
                "fail",
                "disagree",
                "doesnt_know",
                ("literal_belief", "hallucinated_compliance"),
            ),
            id="doesnt-know-first",
        ),
    ],
)
def test_each_outcome(knows: int, draws: Status, sees: int, want: tuple[Any, ...]) -> None:
    row, ocean = _rule_rows(knows, draws, sees)
    assert (row.knows, row.draws, row.sees, row.outcome, row.tags) == want
    assert (row.stated_before, row.stated_after) == (knows, sees)
    assert (row.path, row.check_kind, row.family, row.subtype, row.role) == (
        "turns.1.expect.0",
        "count",
        "global_instruction",
        "numeric",
        "probe",
    )
    assert row.judge_reason == f"judged {draws}" and row.reason == ""
    assert ocean.outcome == "unified"


def test_unsure_refused_and_unjudged_are_unknown_with_a_reason() -> None:
    [row, _] = _rule_rows("unsure", "fail", 2)
    assert (row.knows, row.outcome) == ("unknown", "unknown")
    assert row.reason == "knows: the model is unsure (q1)"
    [row, _] = _rule_rows(5, "unknown", 5)
    assert (row.sees, row.outcome) == ("unknown", "unknown")
    assert row.reason == (
        "the judge: judged unknown; sees: no verdict to compare the description with"
    )
    refused = _probe("knows", RULE, 2, {}, status="refused", reason="I can't help with that")
    sample = _sample(RULE, {2: [refused]})
    verdicts = [_verdict("turns.1.expect.0", 2, "count", "fail")]
    [row, ocean] = diagnose_sample(RULE, sample, _score(RULE, verdicts))
    assert (row.knows, row.sees, row.outcome) == ("unknown", "not_asked", "unknown")
    assert row.reason == "knows probe refused: I can't help with that"
    assert (ocean.draws, ocean.outcome, ocean.reason) == (
        "unknown",
        "unknown",
        "no verdict for this check; knows probe refused: I can't help with that",
    )


def test_probes_not_asked_are_skipped_in_the_rule() -> None:
    verdicts = [
        _verdict("turns.1.expect.0", 2, "count", "fail"),
        _verdict("turns.1.expect.1", 2, "present", "pass"),
    ]
    skipped = _probe("sees", RULE, 2, {}, status="skipped", reason="no image")
    rows = diagnose_sample(RULE, _sample(RULE, {2: [skipped]}), _score(RULE, verdicts))
    assert [(r.knows, r.sees, r.outcome) for r in rows] == [
        ("not_asked", "not_asked", "cant_draw"),
        ("not_asked", "not_asked", "unified"),
    ]


COND = _case(
    [
        {
            "user": "If there is a cat, add a snowman; otherwise add a tree.",
            "expect": [
                {
                    "when": {"present": {"object": "cat"}},
                    "then": [{"present": {"object": "snowman"}}],
                    "else": [{"absent": {"object": "snowman"}}, {"present": {"object": "tree"}}],
                }
            ],
        }
    ],
    case_id="cond",
    family="post_generation",
)


def test_a_conditional_is_diagnosed_on_the_branch_the_judge_took() -> None:
    # knows: q1 snowman (then.0 and else.0), q2 tree; the model believes: no snowman, a tree
    probes = [_probe("knows", COND, 1, {"q1": "no", "q2": "yes"})]
    base = "turns.0.expect.0"
    took_then = _verdict(
        base,
        1,
        "conditional",
        "fail",
        children=[
            _verdict(f"{base}.when", 1, "present", "pass"),
            _verdict(f"{base}.then.0", 1, "present", "fail"),
        ],
    )
    [row] = diagnose_sample(COND, _sample(COND, {1: probes}), _score(COND, [took_then]))
    assert (row.path, row.knows, row.outcome, row.stated_before) == (
        f"{base}.then.0",
        "wrong",
        "doesnt_know",
        "no",
    )
    took_else = _verdict(
        base,
        1,
        "conditional",
        "pass",
        children=[
            _verdict(f"{base}.when", 1, "present", "fail"),
            _verdict(f"{base}.else.0", 1, "absent", "pass"),
            _verdict(f"{base}.else.1", 1, "present", "pass"),
        ],
    )
    rows = diagnose_sample(COND, _sample(COND, {1: probes}), _score(COND, [took_else]))
    assert [(r.path, r.knows, r.outcome) for r in rows] == [
        (f"{base}.else.0", "right", "unified"),
        (f"{base}.else.1", "right", "unified"),
    ]
    unjudged = _verdict(
        base,
        1,
        "conditional",
        "unknown",
        children=[_verdict(f"{base}.when", 1, "present", "unknown")],
    )
    [row] = diagnose_sample(COND, _sample(COND, {1: probes}), _score(COND, [unjudged]))
    assert (row.path, row.check_kind, row.outcome, row.reason) == (
        base,
        "conditional",
        "unknown",
        "judged unknown",
    )


@pytest.mark.parametrize(
    ("check", "answer", "kind", "want"),
    [
        pytest.param(
            Count(object="cup", at_least=2, at_most=4), 3, "knows", True, id="count-range"
        ),
        pytest.param(Count(object="cup", at_most=4), 5, "sees", False, id="count-above"),
        pytest.param(Present(object="cup"), "unsure", "sees", None, id="unsure"),
        pytest.param(
            Relation(subject="a", relation="above", object="b"), "no", "knows", False, id="rel"
        ),
        pytest.param(Text(contains="Hello World"), "hello, world!", "sees", True, id="text"),
        pytest.param(Text(equals=""), "SALE", "knows", False, id="text-empty"),
        pytest.param(Unchanged(against=1, outside=("cup",)), ["cup"], "knows", True, id="parts-in"),
        pytest.param(
            Unchanged(against=1, outside=("cup",)), ["background"], "knows", False, id="parts-out"
        ),
        pytest.param(SameAs(against=1), ["nothing"], "knows", True, id="same-nothing"),
        pytest.param(SameAs(against=1), "no", "sees", True, id="same-no-difference"),
    ],
)
def test_a_check_on_a_stated_answer(
    check: Any, answer: ProbeAnswer, kind: ProbeKind, want: bool | None
) -> None:
    assert holds(check, answer, kind) is want


def test_a_matches_count_needs_the_expected_count_from_the_verdict() -> None:
    case = _case(
        [
            {"user": "Draw cups.", "expect": [{"present": {"object": "cup"}}]},
            {
                "user": "One more.",
                "expect": [
                    {"count": {"object": "cup", "matches": {"object": "cup", "turn": 1, "plus": 1}}}
                ],
            },
        ],
        case_id="m",
    )
    probes = {2: [_probe("knows", case, 2, {"q1": 4})]}
    bare = _verdict("turns.1.expect.0", 2, "count", "pass")
    [_, row] = diagnose_sample(
        case,
        _sample(case, probes),
        _score(case, [_verdict("turns.0.expect.0", 1, "present", "pass"), bare]),
    )
    assert (row.knows, row.reason) == (
        "unknown",
        "knows: the stated answer does not decide the check",
    )
    given = _verdict("turns.1.expect.0", 2, "count", "pass", evidence={"expected": "= 4"})
    [_, row] = diagnose_sample(
        case,
        _sample(case, probes),
        _score(case, [_verdict("turns.0.expect.0", 1, "present", "pass"), given]),
    )
    assert (row.knows, row.outcome) == ("right", "unified")


def test_summary_rates_gap_table_and_lines() -> None:
    rows = [
        *_rule_rows(5, "fail", 2, epoch=0),  # cant_draw + unified ocean
        *_rule_rows(5, "fail", 2, epoch=1),
        *_rule_rows(2, "fail", 2, epoch=2),  # doesnt_know (literal_belief)
        *_rule_rows(5, "pass", 5, epoch=3),  # unified
    ]
    s = summarize(rows)
    assert s.checks == 8
    assert (s.knows.k, s.knows.n, s.knows.value) == (7, 8, 0.875)
    assert (s.draws.k, s.draws.n, s.draws.value) == (5, 8, 0.625)
    assert (s.draws_given_knows.k, s.draws_given_knows.n) == (5, 7)
    assert (s.sees.k, s.sees.n) == (8, 8)
    assert s.knows.ci is not None and s.knows.ci[0] < 0.875 < s.knows.ci[1]
    assert s.gap == 0.25
    assert s.gap_ci is not None and s.gap_ci[0] <= 0.25 <= s.gap_ci[1]
    assert {o: r.k for o, r in s.outcomes.items()} == {
        "doesnt_know": 1,
        "cant_draw": 2,
        "cant_see": 0,
        "unified": 5,
        "unknown": 0,
    }
    assert s.outcomes["cant_draw"].value == 0.25
    assert s.table == {"right/fail/agree": 2, "right/pass/agree": 5, "wrong/fail/agree": 1}
    assert s.tags == {"literal_belief": 1}
    by = summarize_by(rows, "kind")
    assert list(by) == ["count", "present"] and by["present"].knows.value == 1.0
    lines = format_diagnosis(s, summarize_by(rows, "family"))
    assert lines[0] == "diagnosis: 8 checks (0 unknown)"
    assert lines[1].startswith("  P(knows)          87.5% [") and lines[1].endswith("(7/8)")
    assert lines[5] == "  contrast groups:  knows —  (0 of 0), sees —  (0 of 0)"  # none here
    assert lines[7] == (
        "  outcomes: doesnt_know 12% (1) · cant_draw 25% (2) · cant_see 0% (0) · unified 62% (5)"
    )
    assert lines[8] == "  tags: literal_belief 1"
    assert lines[9].startswith(
        "  global_instruction: knows 88% · draws|knows 71% · sees 100% · gap +25.0"
    )


def test_diagnose_run_reads_the_run_and_its_suite(tmp_path: Path) -> None:
    suite = Suite(name="probe-test", cases=(RULE,))
    run = RunDir.create(
        tmp_path / "run",
        Manifest(
            run_id="r",
            uniprobe_version="0",
            suite=SuiteInfo(name=suite.name, hash=suite.content_hash, cases=1),
            model=ModelInfo(name="test/m", protocol="test"),
            epochs=1,
            policy="reference",
            created="now",
        ),
    )
    run.keep_suite(suite)
    probes = [_probe("knows", RULE, 2, {"q1": 2, "q2": "yes"})]
    run.append_sample(_sample(RULE, {2: probes}))
    with pytest.raises(RunDirError, match="has no scores under policy 'reference'"):
        diagnose_run(run.path)
    run.append_score(
        _score(
            RULE,
            [
                _verdict("turns.1.expect.0", 2, "count", "fail"),
                _verdict("turns.1.expect.1", 2, "present", "pass"),
            ],
        )
    )
    rows = diagnose_run(run.path)
    assert [(r.case_id, r.outcome, r.tags) for r in rows] == [
        ("rule", "doesnt_know", ("literal_belief",)),
        ("rule", "unified", ()),
    ]


def test_a_question_worded_otherwise_is_found_by_its_place() -> None:
    old = _probe("knows", RULE, 2, {"q1": 2, "q2": "yes"})
    reworded = [q.model_copy(update={"text": "old words " + q.qid}) for q in old.questions]
    probe = old.model_copy(update={"questions": reworded})
    verdicts = [
        _verdict("turns.1.expect.0", 2, "count", "fail"),
        _verdict("turns.1.expect.1", 2, "present", "pass"),
    ]
    rows = diagnose_sample(RULE, _sample(RULE, {2: [probe]}), _score(RULE, verdicts))
    assert [(r.knows, r.stated_before, r.tags) for r in rows] == [
        ("wrong", 2, ("literal_belief",)),
        ("right", "yes", ()),
    ]


def _member(
    case_id: str, knows: str, sees: str = "agree", *, group: str = "g", epoch: int = 0
) -> CheckDiagnosis:
    """One row of a contrast group's member."""
    row = _rule_rows(5, "pass", 5, epoch=epoch)[0]
    return replace(row, case_id=case_id, group=group, knows=knows, sees=sees)  # type: ignore[arg-type]


def test_a_contrast_group_is_known_only_when_every_member_is() -> None:
    # a constant answerer: right on one side of the contrast, wrong on the other
    constant = [_member("a", "right"), _member("b", "wrong")]
    s = summarize(constant)
    assert (s.knows.k, s.knows.n) == (1, 2)
    assert (s.knows_groups.k, s.knows_groups.n) == (0, 1)
    # a model that knows: both sides right, in each epoch a group of its own
    knowing = [_member(c, "right", epoch=e) for c in "ab" for e in (0, 1)]
    assert (summarize(knowing).knows_groups.k, summarize(knowing).knows_groups.n) == (2, 2)
    # an unknown answer, or a member never asked, decides nothing
    assert summarize([_member("a", "right"), _member("b", "unknown")]).knows_groups.n == 0
    assert summarize([_member("a", "right"), _member("b", "not_asked")]).knows_groups.n == 0
    # sees: every asked check must agree; rows outside groups do not count
    seen = [_member("a", "right", "agree"), _member("b", "right", "disagree")]
    alone = replace(_member("c", "right"), group=None)
    s = summarize([*seen, alone])
    assert (s.sees_groups.k, s.sees_groups.n) == (0, 1)
    assert (s.knows_groups.k, s.knows_groups.n) == (1, 1)

"""Agreement between a run's scores files, and the optional human-agreement section."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_helpers import numbered_suite, write_run

import uniprobe
from uniprobe.annotate.agreement import Agreement
from uniprobe.annotate.agreement import KindAgreement as HumanKind
from uniprobe.report import agreement as report_agreement
from uniprobe.report.agreement import (
    HumanAgreement,
    KindAgreement,
    human_agreement,
    policy_agreement,
)
from uniprobe.statistics import cohen_kappa
from uniprobe.store.records import ScoreRecord, Status, Verdict


def _v(path: str, kind: str, status: Status, children: list[Verdict] | None = None) -> Verdict:
    return Verdict(
        path=path,
        turn=1,
        kind=kind,
        check={},
        status=status,
        reason="r",
        children=children or [],
    )


def _score(epoch: int, verdicts: list[Verdict]) -> ScoreRecord:
    return ScoreRecord(
        case_id="c",
        epoch=epoch,
        policy="x",
        judges={},
        outcome="pass",
        verdicts=verdicts,
        scored="t",
    )


def test_policy_agreement_matches_verdicts_by_path_and_kind() -> None:
    mine = {
        "c#0": _score(0, [_v("a", "count", "pass"), _v("b", "color", "fail")]),
        "c#1": _score(
            1,
            [
                _v("a", "count", "fail"),
                _v("d", "conditional", "pass", [_v("d.when", "present", "pass")]),
            ],
        ),
        "c#2": _score(2, [_v("a", "count", "pass")]),
    }
    theirs = {
        "c#0": _score(0, [_v("a", "count", "pass"), _v("b", "color", "unknown")]),
        "c#1": _score(
            1,
            [
                _v("a", "count", "pass"),
                _v("d", "conditional", "pass", [_v("d.when", "present", "pass")]),
            ],
        ),
    }
    found = policy_agreement(mine, theirs, policy="reference", other="vlm")
    assert (found.policy, found.other, found.samples) == ("reference", "vlm", 2)
    assert found.kinds == {
        "color": KindAgreement(compared=1, decided=0, agree=0, share=None, kappa=None),
        "conditional": KindAgreement(compared=1, decided=1, agree=1, share=1.0, kappa=None),
        "count": KindAgreement(compared=2, decided=2, agree=1, share=0.5, kappa=0.0),
        "present": KindAgreement(compared=1, decided=1, agree=1, share=1.0, kappa=None),
    }
    assert found.overall == KindAgreement(
        compared=5,
        decided=4,
        agree=3,
        share=0.75,
        kappa=round(
            cohen_kappa(
                [("pass", "pass"), ("fail", "pass"), ("pass", "pass"), ("pass", "pass")]
            ).kappa
            or 0,
            6,
        ),
    )


def _kind(kind: str, kappa: float | None, alpha: float | None) -> HumanKind:
    return HumanKind(kind, 4, 8, 4, 0.75, kappa, alpha, 4)


AGREEMENT = Agreement(
    policy="reference",
    kinds={"color": _kind("color", None, None), "count": _kind("count", 0.5, 0.7)},
    overall=_kind("all", 0.4, 0.7),
    alpha=0.7,
    alpha_items=4,
    annotators=["ann", "bob"],
    labels=8,
    items=10,
)


def test_without_labels_the_section_says_so(tmp_path: Path) -> None:
    found = human_agreement(tmp_path, "reference")
    assert found == HumanAgreement(
        status="absent", note=f"no human labels: {tmp_path / 'labels.sqlite'} does not exist"
    )


def test_the_human_agreement_is_read_from_the_labels(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "labels.sqlite").write_bytes(b"")
    monkeypatch.setattr(report_agreement, "agreement", lambda run, policy: AGREEMENT)
    found = human_agreement(tmp_path, "reference")
    assert (found.status, found.kappa, found.alpha) == (
        "ok",
        {"color": None, "count": 0.5},
        0.7,
    )
    assert found.numbers["labels"] == 8 and found.numbers["annotators"] == 2
    assert found.numbers["count.kappa"] == 0.5 and "color.kappa" not in found.numbers
    assert found.note.startswith("8 labels by 2 annotator(s)")


def test_unreadable_labels_are_a_note_not_a_crash(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "labels.sqlite").write_bytes(b"this is not an SQLite file")
    found = human_agreement(run, "reference")
    assert found.status == "error"
    assert found.note.startswith(f"could not read {run / 'labels.sqlite'}: ")


def test_the_page_shows_the_human_agreement(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    suite = numbered_suite(tmp_path, 4)
    run = write_run(tmp_path, "labelled", suite, [c.id for c in suite.cases][:2])
    (run / "labels.sqlite").write_bytes(b"")
    monkeypatch.setattr(report_agreement, "agreement", lambda run, policy: AGREEMENT)
    html = uniprobe.report([run], out=tmp_path / "r").read_text(encoding="utf-8")
    assert "Krippendorff's alpha between annotators: " in html
    assert 'data-metric="alpha" data-value="0.7">0.700</span>' in html
    assert "Kappa undefined (no item both decided, or no variation) for: color." in html
    assert "&#x27;s kappa, judge vs human</title>" in html  # the chart's title, escaped

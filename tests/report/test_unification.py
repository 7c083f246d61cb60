"""The unification section: outcome bars, the knows/draws scatter, the table, the gallery's
stated answers, report.json, and escaping of what the model said."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from report_helpers import load_js, numbered_suite, write_probed_run, write_run

import uniprobe
from uniprobe.probes.diagnosis import CheckDiagnosis, Diagnosed, KnowsResult, SeesResult
from uniprobe.report.charts import Dot, Spot, Stack, scatter_chart, stacked_chart
from uniprobe.report.evidence import Heatmaps
from uniprobe.report.gallery import GalleryRun, write_gallery_data
from uniprobe.report.unification import (
    OUTCOMES,
    diagnose,
    knows_draws_chart,
    outcome_chart,
    unify,
)
from uniprobe.store.records import ProbeAnswer, Status
from uniprobe.store.rundir import RunDir

NS = "{http://www.w3.org/2000/svg}"
XSS = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
# case i of the plan: (said before drawing, judge passes, said after drawing); case i
# asks for i birds, so: 0 unified; 1 knows, can't draw; 2 doesn't know; 3 draws but
# says the failed image passes (can't see, hallucinated compliance)
PLAN = [(0, True, 0), (1, False, 2), (5, False, 3), (3, False, 3)]


def row(
    outcome: Diagnosed,
    *,
    knows: KnowsResult = "right",
    draws: Status = "pass",
    sees: SeesResult = "agree",
    family: str = "global_instruction",
    subtype: str = "numeric_transform",
    case: str = "c",
    epoch: int = 0,
    path: str = "turns.0.expect.0",
    tags: tuple[str, ...] = (),
    before: ProbeAnswer = 1,
    after: ProbeAnswer = 1,
) -> CheckDiagnosis:
    """A hand-built diagnosed check."""
    return CheckDiagnosis(
        case_id=case,
        epoch=epoch,
        turn=1,
        path=path,
        check_kind="count",
        family=family,
        subtype=subtype,
        role="probe",
        knows=knows,
        draws=draws,
        sees=sees,
        outcome=outcome,
        tags=tags,
        stated_before=before,
        stated_after=after,
        judge_reason="made by hand",
        reason="a probe was refused" if outcome == "unknown" else "",
    )


def _svg(text: str) -> ElementTree.Element:
    root = ElementTree.fromstring(text)
    assert root.tag == f"{NS}svg"
    return root


def _segments(root: ElementTree.Element, label: str) -> dict[str, float]:
    [stack] = [g for g in root.iter(f"{NS}g") if g.get("data-label") == label]
    return {r.get("data-segment", ""): float(r.get("width", 0)) for r in stack}


# ---- the charts ---------------------------------------------------------------------


def test_stacked_segments_are_as_wide_as_their_shares_and_escape_names() -> None:
    svg = stacked_chart(
        [Stack(XSS, [0.5, 0.25, None, 0.25], note=XSS), Stack("b", [0.0, 0.0, 0.0, 1.0])],
        OUTCOMES,
        title=XSS,
    )
    assert "<script>" not in svg and "<img" not in svg
    root = _svg(svg)
    first, second = _segments(root, XSS), _segments(root, "b")
    full = second["unified"]
    assert full > 300
    assert first == pytest.approx(
        {"doesnt_know": full / 2, "cant_draw": full / 4, "unified": full / 4}, abs=0.02
    )
    assert XSS in "".join(root.itertext())


def test_scatter_dots_sit_at_their_values_above_or_below_the_diagonal() -> None:
    svg = scatter_chart(
        [
            Spot(XSS, [Dot("a", 0.75, 0.25, (0.5, 0.9), (0.1, 0.5)), Dot("b", 0.0, 1.0)]),
            Spot("other", [Dot(XSS, 0.5, 0.5)]),
        ],
        title="t",
        x_title="P(knows)",
        y_title="P(draws)",
    )
    assert "<script>" not in svg
    root = _svg(svg)
    [diagonal] = [e for e in root.iter(f"{NS}line") if e.get("class") == "diagonal"]
    x0, y0 = float(diagonal.get("x1", 0)), float(diagonal.get("y1", 0))
    x1, y1 = float(diagonal.get("x2", 0)), float(diagonal.get("y2", 0))
    dots = {d.get("data-label"): d for d in root.iter(f"{NS}circle")}
    assert {k: (d.get("data-x"), d.get("data-y")) for k, d in dots.items()} == {
        "a": ("0.75", "0.25"),
        "b": ("0", "1"),
        XSS: ("0.5", "0.5"),
    }
    for d in dots.values():  # the pixel position is the value along the axes
        fx = (float(d.get("cx", 0)) - x0) / (x1 - x0)
        fy = (float(d.get("cy", 0)) - y0) / (y1 - y0)
        assert (fx, fy) == pytest.approx(
            (float(d.get("data-x", 0)), float(d.get("data-y", 0))), abs=0.01
        )
    assert len([p for p in root.iter(f"{NS}path") if p.get("class") == "whisker"]) == 2


# ---- from diagnosed rows ------------------------------------------------------------


def test_the_outcome_bars_are_the_shares_of_decided_checks_with_unknowns_apart() -> None:
    rows = [
        row("doesnt_know", knows="wrong", draws="fail", case="a"),
        row("doesnt_know", knows="wrong", draws="pass", case="b"),
        row("cant_draw", draws="fail", case="c"),
        row("unified", case="d"),
        row("unknown", sees="unknown", case="e"),
        row("unified", family="editing", subtype="add_object", case="f"),
    ]
    u = unify(rows)
    svg = outcome_chart([("model <b>", u)])
    assert svg is not None
    root = _svg(svg)
    fam = _segments(root, "global_instruction · model <b>")
    full = _segments(root, "editing · model <b>")["unified"]
    assert {k: v / full for k, v in fam.items()} == pytest.approx(
        {"doesnt_know": 0.5, "cant_draw": 0.25, "cant_see": 0.0, "unified": 0.25}, abs=0.001
    )
    everything = _segments(root, "all · model <b>")
    assert {k: v / full for k, v in everything.items()} == pytest.approx(
        {"doesnt_know": 0.4, "cant_draw": 0.2, "cant_see": 0.0, "unified": 0.4}, abs=0.001
    )
    [g] = [g for g in u.families if g.name == "global_instruction"]
    assert (g.summary.checks, g.unknown) == (5, 1)
    assert "n=4, 1 unknown" in "".join(root.itertext())
    # the chart's shares are the summaries' shares
    for key, _, _ in OUTCOMES:
        assert g.share(key) == pytest.approx(fam[key] / full, abs=0.001)


def test_the_scatter_puts_each_subtype_at_p_knows_and_p_draws() -> None:
    rows = [
        row("cant_draw", draws="fail", case="a"),
        row("cant_draw", draws="fail", case="b"),
        row("doesnt_know", knows="wrong", draws="fail", case="c"),
        row("unified", case="d"),
        row("unified", family="editing", subtype="add_object", case="e"),
        row("unified", family="editing", subtype="add_object", case="f"),
    ]
    other = [row("doesnt_know", knows="wrong", draws="fail", case="a")]
    svg = knows_draws_chart([("first", unify(rows)), ("second", unify(other))])
    assert svg is not None
    found = {
        (d.get("data-series"), d.get("data-label")): (
            float(d.get("data-x", 0)),
            float(d.get("data-y", 0)),
        )
        for d in _svg(svg).iter(f"{NS}circle")
    }
    assert found == {
        ("first", "global_instruction/numeric_transform"): (0.75, 0.25),
        ("first", "editing/add_object"): (1.0, 1.0),
        ("second", "global_instruction/numeric_transform"): (0.0, 0.0),
    }


def test_no_chart_without_a_diagnosed_check() -> None:
    assert outcome_chart([("m", unify([]))]) is None
    assert knows_draws_chart([("m", unify([]))]) is None


def test_the_gallery_shows_what_was_said_and_keeps_it_inert(tmp_path: Path) -> None:
    suite = numbered_suite(tmp_path, 2)
    path = write_run(tmp_path, "hand", suite, [suite.cases[0].id])
    run = RunDir.open(path)
    samples = run.samples()
    scores = run.scores("reference")
    said = row(
        "doesnt_know",
        knows="wrong",
        case=suite.cases[1].id,
        tags=("literal_belief",),
        before=XSS,
        after=["sky", XSS],
    )
    g = GalleryRun(
        run=run,
        id="hand",
        model="m",
        protocol="p",
        reference=False,
        policy="reference",
        cases={c.id: c for c in suite.cases},
        samples=samples,
        scores=scores,
        diagnoses={(said.case_id, 0): [said]},
    )
    write_gallery_data(tmp_path / "out", [g], Heatmaps(tmp_path / "out" / "heatmaps"))
    text = (tmp_path / "out" / "data" / "chunk-0000.js").read_text(encoding="utf-8")
    assert "<script>" not in text and "<img" not in text
    entries = {e["case"]: e for e in load_js(tmp_path / "out" / "data" / "chunk-0000.js")}
    [v] = entries[said.case_id]["turns"][0]["verdicts"]
    assert v["probe"] == {
        "outcome": "doesnt_know",
        "knows": "wrong",
        "sees": "agree",
        "before": XSS,
        "after": ["sky", XSS],
        "askedBefore": None,
        "askedAfter": None,
        "tags": ["literal_belief"],
        "reason": "",
    }
    [other] = entries[suite.cases[0].id]["turns"][0]["verdicts"]
    assert other["probe"] is None


# ---- a report of runs with probe records ----------------------------------------------


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("probed")
    suite = numbered_suite(root, 5)
    with_probes = write_probed_run(root, "probed", suite, PLAN, model=f"m{XSS}", raw=XSS)
    without = write_run(root, "plain", suite, [c.id for c in suite.cases])
    site = uniprobe.report([with_probes, without], out=root / "report").parent
    return site, with_probes, without


def _section(site: Path) -> str:
    html = (site / "index.html").read_text(encoding="utf-8")
    match = re.search(r'<section id="unification">.*?</section>', html, flags=re.S)
    assert match is not None
    return match.group(0)


def test_the_section_shows_the_diagnosis_of_the_probed_run(
    probed: tuple[Path, Path, Path],
) -> None:
    site, _, _ = probed
    section = _section(site)
    svgs = re.findall(r"<svg\b.*?</svg>", section, flags=re.S)
    assert len(svgs) == 2
    bars = _svg(svgs[0])
    labels = {g.get("data-label") for g in bars.iter(f"{NS}g") if g.get("class") == "stack"}
    assert labels == {f"all · m{XSS}", f"global_instruction · m{XSS}"}  # not the plain run
    shares = {
        r.get("data-segment"): float(r.get("data-share", 0))
        for r in bars.iter(f"{NS}rect")
        if r.get("class") == "segment"
    }
    assert shares == pytest.approx(
        dict.fromkeys(("doesnt_know", "cant_draw", "cant_see", "unified"), 0.25)
    )
    [dot] = _svg(svgs[1]).iter(f"{NS}circle")
    assert (dot.get("data-x"), dot.get("data-y")) == ("0.75", "0.25")
    table = re.search(r'<table class="unification" data-run="probed">.*?</table>', section, re.S)
    assert table is not None
    overall = re.search(r'<tr class="overall".*?</tr>', table.group(0), re.S)
    assert overall is not None
    cells = dict(re.findall(r'data-(?:metric|outcome|tag)="(\w+)"[^>]*?>([^<]*)', overall.group(0)))
    values = dict(re.findall(r'data-metric="(\w+)" data-value="([^"]*)"', overall.group(0)))
    assert {k: float(v) for k, v in values.items()} == pytest.approx(
        {"knows": 0.75, "draws": 0.25, "draws_given_knows": 1 / 3, "sees": 0.75, "gap": 0.5}
    )
    assert cells["hallucinated_compliance"] == "1" and cells["missed_success"] == "0"
    assert 'href="index.html#unification"' in (site / "gallery.html").read_text(encoding="utf-8")


def test_report_json_holds_the_diagnosis_summaries(probed: tuple[Path, Path, Path]) -> None:
    site, _, _ = probed
    runs = json.loads((site / "report.json").read_text(encoding="utf-8"))["runs"]
    assert runs[1]["unification"] is None
    u = runs[0]["unification"]
    assert (u["checks"], u["unknown"]) == (4, 0)
    assert u["overall"]["knows"]["k"] == 3 and u["overall"]["knows"]["n"] == 4
    assert u["overall"]["gap"] == pytest.approx(0.5)
    assert list(u["families"]) == ["global_instruction"]
    assert list(u["subtypes"]) == ["global_instruction/numeric_transform"]
    assert {k: r["value"] for k, r in u["overall"]["outcomes"].items() if k != "unknown"} == {
        "doesnt_know": 0.25,
        "cant_draw": 0.25,
        "cant_see": 0.25,
        "unified": 0.25,
    }
    assert u["overall"]["tags"].get("hallucinated_compliance") == 1


def test_each_check_shows_the_stated_answers_beside_the_judge(
    probed: tuple[Path, Path, Path],
) -> None:
    site, _, _ = probed
    samples = [s for s in load_js(site / "data" / "chunk-0000.js") if s["run"] == 0]
    said = {
        s["case"]: (v["status"], v["probe"]["before"], v["probe"]["after"], v["probe"]["outcome"])
        for s in samples
        for v in s["turns"][0]["verdicts"]
        if v["probe"] is not None
    }
    assert said == {
        "syn.case.00": ("pass", 0, 0, "unified"),
        "syn.case.01": ("fail", 1, 2, "cant_draw"),
        "syn.case.02": ("fail", 5, 3, "doesnt_know"),
        "syn.case.03": ("fail", 3, 3, "cant_see"),
    }
    [v] = next(s for s in samples if s["case"] == "syn.case.03")["turns"][0]["verdicts"]
    assert v["probe"]["askedBefore"] == (
        'How many "bird" should the image show? Answer with a number.'
    )
    assert v["probe"]["askedAfter"].startswith('How many instances of "bird" are there')
    assert v["probe"]["tags"] == ["hallucinated_compliance"]
    calls = next(s for s in samples if s["case"] == "syn.case.03")["turns"][0]["probes"]
    assert [(c["kind"], c["status"], c["text"]) for c in calls] == [
        ("knows", "answered", XSS),
        ("sees", "answered", XSS),
    ]
    unprobed = next(s for s in samples if s["case"] == "syn.case.04")
    assert unprobed["turns"][0]["probes"] == []
    assert unprobed["turns"][0]["verdicts"][0]["probe"] is None


def test_what_the_model_said_stays_text(probed: tuple[Path, Path, Path]) -> None:
    site, _, _ = probed
    for path in site.rglob("*"):
        if path.suffix in (".html", ".js", ".json"):
            text = path.read_text(encoding="utf-8")
            assert "<script>alert" not in text and "<img src=x" not in text, path
    assert "m&lt;/script&gt;&lt;script&gt;alert(1)" in _section(site)


def test_no_section_without_probe_records(tmp_path: Path) -> None:
    suite = numbered_suite(tmp_path, 3)
    path = write_run(tmp_path, "plain", suite, [])
    run = RunDir.open(path)
    samples = run.samples()
    assert diagnose({c.id: c for c in suite.cases}, samples, {}) is None
    site = uniprobe.report([path], out=tmp_path / "report").parent
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'id="unification"' not in index and "#unification" not in index
    record = json.loads((site / "report.json").read_text(encoding="utf-8"))
    assert record["runs"][0]["unification"] is None


def test_a_probed_run_never_scored_shows_the_section_without_charts(tmp_path: Path) -> None:
    suite = numbered_suite(tmp_path, 2)
    path = write_probed_run(tmp_path, "probed", suite, PLAN[:2])
    RunDir.open(path).scores_path("reference").unlink()
    site = uniprobe.report([path], out=tmp_path / "report").parent
    section = _section(site)
    assert "<svg" not in section and "No check was diagnosed" in section

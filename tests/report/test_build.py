"""The report folder, end to end on the reference backends: layout, links, numbers, escaping."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from report_helpers import load_js

import uniprobe
from uniprobe.errors import UsageError
from uniprobe.report.build import MARKER
from uniprobe.scenes.render import ATTRIBUTION

SCRIPT_XSS = "</script><script>alert(1)</script>"
IMG_XSS = "<img src=x onerror=alert(2)>"
SUITE = f"""\
- id: html.numeric.birds
  family: global_instruction
  subtype: numeric_transform
  tags: ["distance:2"]
  description: "Subtract 2 <i>before</i> drawing & count."
  turns:
    - user: "From now on, if I mention a number, subtract 2 before using it."
    - user: "Generate an image of 5 birds."
      expect:
        - count: {{object: bird, equals: 3, literal: 5}}

- id: html.edit.markup_cats
  family: editing
  subtype: "markup {IMG_XSS}"
  description: "{IMG_XSS} in a description"
  images:
    start:
      scene:
        objects:
          - {{id: cat1, kind: cat, x: 150, y: 256, size: 120}}
          - {{id: cat2, kind: cat, x: 360, y: 256, size: 120}}
  turns:
    - user: "Keep both cats. {SCRIPT_XSS} and {IMG_XSS} stay text."
      attach: [start]
      expect:
        - count: {{object: cat, equals: 2}}

- id: html.edit.reflection
  family: editing
  subtype: reflection_only
  images:
    lake:
      scene:
        bands: [{{kind: sky, top: 0.0, bottom: 0.53}}, {{kind: water, top: 0.53, bottom: 1.0}}]
        objects:
          - {{id: horse, kind: horse, x: 256, y: 176, size: 200}}
          - {{id: reflection, kind: horse, x: 256, y: 359, size: 200, flip: vertical,
              opacity: 0.85, color: "#6b8fb5"}}
  turns:
    - user: "Change the reflection in the water to a lion."
      attach: [lake]
      expect:
        - present: {{object: lion, within: reflection}}
        - present: {{object: horse, within: horse, literal: true}}
        - count: {{object: lion, equals: 1, literal: 2}}
        - unchanged: {{against: lake, outside: [reflection], literal: true}}
"""
CASE_IDS = ["html.numeric.birds", "html.edit.markup_cats", "html.edit.reflection"]
XSS_PROMPT = f"Keep both cats. {SCRIPT_XSS} and {IMG_XSS} stay text."


class Page(HTMLParser):
    """Tags, attributes, text and inline scripts of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open and self._open[-1] == "script":
            self.scripts.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]

    @property
    def plain(self) -> str:
        return "".join(self.text)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    suite_path = tmp_path_factory.mktemp("suite") / "html.yaml"
    suite_path.write_text(SUITE, encoding="utf-8")
    out = tmp_path_factory.mktemp("runs")
    results = uniprobe.run(
        uniprobe.load_suite(suite_path), ["reference/oracle", "reference/literal"], out=out
    )
    # a second scores file, so the report compares two policies' verdicts
    uniprobe.score(results[1].path, policy="reference", name="again")
    return [r.path for r in results]


@pytest.fixture(scope="module")
def site(runs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = uniprobe.report(runs, out=tmp_path_factory.mktemp("site") / "pages" / "report")
    assert index.name == "index.html"
    return index.parent


def test_the_folder_holds_pages_assets_data_and_images(site: Path) -> None:
    names = {p.name for p in site.iterdir()}
    assert names == {
        "index.html",
        "gallery.html",
        MARKER,
        "assets",
        "data",
        "images",
        "heatmaps",
    }
    assert sorted(p.name for p in (site / "assets").iterdir()) == ["gallery.js", "report.css"]
    assert sorted(p.name for p in (site / "data").iterdir()) == ["chunk-0000.js", "index.js"]
    assert list((site / "heatmaps").glob("*.png"))
    assert not list(site.parent.glob(".report.*")), "no staging folder is left behind"


def _references(page: Page) -> list[str]:
    refs = [a["src"] for a in page.all("img") + page.all("script") if a.get("src")]
    refs += [a["href"] for a in page.all("link") + page.all("a") if a.get("href")]
    return [r for r in refs if r is not None]


def _files_of(site: Path, refs: list[str]) -> list[Path]:
    out = []
    for ref in refs:
        assert "://" not in ref and not os.path.isabs(ref), ref
        path = ref.split("#", 1)[0]
        if path:
            out.append(site / path)
    return out


def _images_in_data(site: Path) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(v for k, v in node.items() if k == "src" and isinstance(v, str))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    index = load_js(site / "data" / "index.js")
    for chunk in index["chunks"]:
        walk(load_js(site / chunk))
    return found


def test_every_referenced_file_exists(site: Path) -> None:
    for page in ("index.html", "gallery.html"):
        for path in _files_of(site, _references(parse(site / page))):
            assert path.is_file(), f"{page} -> {path}"
    index = load_js(site / "data" / "index.js")
    sources = _images_in_data(site)
    assert sources and all((site / src).is_file() for src in sources)
    assert all(src.startswith(("images/", "heatmaps/")) for src in sources)
    assert all((site / chunk).is_file() for chunk in index["chunks"])


def test_every_image_of_every_turn_is_in_the_folder(site: Path, runs: list[Path]) -> None:
    expected = set()
    for run_path in runs:
        run = uniprobe.RunDir.open(run_path)
        for sample in run.samples().values():
            for turn in sample.turns:
                refs = [*turn.attached, *(turn.reply.images if turn.reply else [])]
                expected |= {f"images/{r.filename}" for r in refs}
    shown = {s for s in _images_in_data(site) if s.startswith("images/")}
    assert shown == expected
    assert {f"images/{p.name}" for p in (site / "images").iterdir()} == expected


def test_a_moved_report_still_resolves_its_images(site: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    shutil.copytree(site, moved)
    sources = _images_in_data(moved)
    assert sources and all((moved / s).is_file() for s in sources)
    for path in _files_of(moved, _references(parse(moved / "gallery.html"))):
        assert path.is_file()


def _metric_cells(page: Page) -> list[dict[str, str | None]]:
    return [a for _, a in page.tags if a.get("data-metric") and a.get("data-value") is not None]


def test_the_numbers_on_the_page_are_the_summaries(site: Path, runs: list[Path]) -> None:
    page = parse(site / "index.html")
    summaries = {p.name: uniprobe.summary(p) for p in runs}
    checked = 0
    for cell in _metric_cells(page):
        s = summaries[str(cell["data-run"])]
        group_name = cell.get("data-group")
        metric = str(cell["data-metric"])
        if group_name is None:
            value: Any = getattr(s, metric, None)
            if value is None and s.locality is not None:
                value = {
                    "locality_pass_rate": s.locality.pass_rate.value,
                    "median_changed_share": s.locality.median_changed_share,
                    "median_strict_changed_share": s.locality.median_strict_changed_share,
                    "median_ssim": s.locality.median_ssim,
                }.get(metric)
            if value is None:
                value = getattr(s.overall, metric).value
        else:
            group = (
                s.overall
                if group_name == "overall"
                else s.families.get(group_name)
                or s.subtypes.get(group_name)
                or s.distances[group_name.removeprefix("distance:")]
            )
            value = getattr(group, metric).value
        text = str(cell["data-value"])
        assert (float(text) if text else None) == value, (cell, value)
        checked += 1
    assert checked > 40
    literal = summaries["html-reference-literal"]
    assert "33.3%" in page.plain  # its strict accuracy: the cats pass, birds and reflection fail
    assert literal.overall.strict_accuracy.value == 0.333333


def test_the_summary_shows_cost_latency_locality_and_distance(site: Path, runs: list[Path]) -> None:
    page = parse(site / "index.html")
    literal = uniprobe.summary(runs[1])
    assert literal.locality is not None
    assert literal.locality.checks == 1 and literal.locality.pass_rate.value == 0.0
    assert literal.locality.median_changed_share and literal.locality.median_changed_share > 0.01
    # its edit really changed the frame: measured after alignment, the strict share beside it
    assert (literal.locality.measured, literal.locality.aligned) == (1, 1)
    strict = literal.locality.median_strict_changed_share
    assert strict is not None and strict > 0.01
    assert strict != literal.locality.median_changed_share  # two measures, both shown
    assert literal.p50_latency_s is not None and literal.p95_latency_s is not None
    assert list(literal.distances) == ["2"]
    ids = {a.get("id") for _, a in page.tags}
    assert {"summary", "charts", "leaderboard", "run-html-reference-literal"} <= ids
    assert "Locality" in page.plain and "Latency per turn" in page.plain
    assert "median changed share outside the edit after alignment and colour matching" in (
        page.plain
    )
    assert "strict share before alignment" in page.plain
    assert "p95" in page.plain and "generation $0.0000" in page.plain


def test_the_policies_of_a_run_are_compared(site: Path) -> None:
    page = parse(site / "index.html")
    tables = [a for t, a in page.tags if t == "table" and a.get("data-other") == "again"]
    assert tables == [
        {"class": "policy-agreement", "data-policy": "reference", "data-other": "again"}
    ]
    record = json.loads((site / MARKER).read_text())
    literal = next(r for r in record["runs"] if r["id"] == "html-reference-literal")
    [agreement] = literal["agreements"]
    assert agreement["overall"]["share"] == 1.0  # the same judges twice agree on everything
    assert agreement["samples"] == 3
    assert literal["leaderboard"]["rank"] == 2
    # 3 shared cases, the oracle passes all, the literal reference 1: the interval reaches 0
    assert literal["leaderboard"]["vs_above"]["significant"] is False
    assert literal["human"]["status"] in ("absent", "error", "ok")


def test_charts_are_well_formed_svg(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(svgs) >= 4  # subtypes, tags, distance, policy agreement
    for svg in svgs:
        root = ElementTree.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    subtypes = ElementTree.fromstring(svgs[0])
    labels = [e.text for e in subtypes.iter("{http://www.w3.org/2000/svg}text")]
    assert f"editing/markup {IMG_XSS}" in "".join(str(t) for t in subtypes.itertext())
    assert any(t and t.startswith("editing/") for t in labels)


def _all_text_files(site: Path) -> list[Path]:
    return [p for p in site.rglob("*") if p.suffix in (".html", ".js", ".json", ".svg")]


def test_markup_from_cases_stays_text_everywhere(site: Path) -> None:
    for path in _all_text_files(site):
        text = path.read_text(encoding="utf-8")
        assert "<script>alert" not in text, path
        assert "<img src=x" not in text, path
        assert "</script><script>" not in text, path
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "markup &lt;img src=x onerror=alert(2)&gt;" in index
    chunk = (site / "data" / "chunk-0000.js").read_text(encoding="utf-8")
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in chunk
    # and the data say exactly what the case said
    prompts = [t["user"] for s in load_js(site / "data" / "chunk-0000.js") for t in s["turns"]]
    assert prompts.count(XSS_PROMPT) == 2  # once per run
    for page in ("index.html", "gallery.html"):
        parsed = parse(site / page)
        assert all("alert" not in s for s in parsed.scripts)
        assert not [a for a in parsed.all("img") if a.get("src") == "x"]
        assert parsed.all("i") == []  # the description's <i> is not markup either


def test_the_gallery_page_loads_its_data_and_code(site: Path) -> None:
    page = parse(site / "gallery.html")
    assert [s["src"] for s in page.all("script")] == ["data/index.js", "assets/gallery.js"]
    ids = {a.get("id") for _, a in page.tags}
    assert {
        "gallery",
        "filter-run",
        "filter-family",
        "filter-subtype",
        "filter-outcome",
        "filter-tag",
        "page-prev",
        "page-next",
        "page-info",
        "samples",
    } <= ids
    assert ATTRIBUTION in page.plain
    assert ATTRIBUTION in parse(site / "index.html").plain
    js = (site / "assets" / "gallery.js").read_text(encoding="utf-8")
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "eval(" not in js


def test_a_single_run_reports_into_its_own_folder(runs: list[Path]) -> None:
    index = uniprobe.report([runs[0]])
    assert index == runs[0] / "report" / "index.html"
    page = parse(index)
    assert "Leaderboard" not in page.plain
    assert "leaderboard" not in {a.get("id") for _, a in page.tags}
    # building again replaces the report (and reuses its heat-maps)
    again = uniprobe.report([runs[0]])
    assert again == index and index.is_file()
    assert not [p for p in index.parent.parent.iterdir() if p.name.startswith(".report.")]


def test_an_existing_folder_that_is_not_a_report_is_never_replaced(
    runs: list[Path], tmp_path: Path
) -> None:
    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="is not a uniprobe report"):
        uniprobe.report(runs, out=keep)
    assert [p.name for p in keep.iterdir()] == ["notes.txt"]
    with pytest.raises(UsageError, match="the report is a folder now"):
        uniprobe.report(runs, out=tmp_path / "report.html")
    assert not list(tmp_path.glob(".*"))


def test_the_report_command(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "cli-report"
    done = subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", "report", *map(str, runs), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"report: {out / 'index.html'}"
    bad = subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", "report", str(runs[0]), "--judge", "vlmm"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("has no scores under policy 'vlmm' (it has: reference)")


def test_summary_json_from_the_command_line(runs: list[Path]) -> None:
    oracle = next(p for p in runs if p.name == "html-reference-oracle")
    done = subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", "summary", str(oracle), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    # 3 of 3: Wilson at n = 3, not a point at 100%
    assert data["overall"]["strict_accuracy"] == {
        "value": 1.0,
        "low": 0.438494,
        "high": 1.0,
        "n": 3,
        "half_width": 0.280753,
    }
    assert data["overall"]["headline_metric"] == "strict"
    assert all(g["headline"]["half_width"] is not None for g in data["subtypes"].values())
    assert list(data["families"]) == ["global_instruction", "editing"]
    assert list(data["distances"]) == ["2"]
    assert data == json.loads(uniprobe.summary(oracle).model_dump_json())

"""The static HTML report and `uniprobe summary --json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import uniprobe
from uniprobe.scenes.render import ATTRIBUTION

SUITE = """\
- id: html.numeric.birds
  family: global_instruction
  subtype: numeric_transform
  description: "Subtract 2 <i>before</i> drawing & count."
  turns:
    - user: "From now on, if I mention a number, subtract 2 before using it."
    - user: "Generate an image of 5 birds."
      expect:
        - count: {object: bird, equals: 3, literal: 5}

- id: html.edit.markup_cats
  family: editing
  subtype: markup
  images:
    start:
      scene:
        objects:
          - {id: cat1, kind: cat, x: 150, y: 256, size: 120}
          - {id: cat2, kind: cat, x: 360, y: 256, size: 120}
  turns:
    - user: "Keep both cats. <script>alert(1)</script> and make it <b>bold</b>."
      attach: [start]
      expect:
        - count: {object: cat, equals: 2}
"""
CASE_IDS = ["html.numeric.birds", "html.edit.markup_cats"]
XSS = "Keep both cats. <script>alert(1)</script> and make it <b>bold</b>."


class _Page(HTMLParser):
    """Collects tags, attributes and text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in and self._in[-1] == "script":
            self.scripts.append(data)

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]

    @property
    def plain(self) -> str:
        return "".join(self.text)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
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
    return [r.path for r in results]


@pytest.fixture(scope="module")
def report(runs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    # written away from the runs, so image links have to climb out of the report's folder
    return uniprobe.report(runs, out=tmp_path_factory.mktemp("site") / "pages" / "report.html")


def _referenced_images(runs: list[Path]) -> list[Path]:
    paths = []
    for run_path in runs:
        run = uniprobe.RunDir.open(run_path)
        for key in sorted(run.samples()):
            for turn in run.samples()[key].turns:
                refs = [*turn.attached, *(turn.reply.images if turn.reply else [])]
                paths.extend((run.image_path(r)).resolve() for r in refs)
    return paths


def test_report_parses_and_lists_every_case_of_every_run(report: Path, runs: list[Path]) -> None:
    assert report.is_file()
    page = _parse(report.read_text(encoding="utf-8"))
    sections = page.all("section")
    assert sorted((s["data-run"], s["data-outcome"]) for s in sections) == [
        ("html-reference-literal", "fail"),  # the birds: drawn literally
        ("html-reference-literal", "pass"),  # the cats: nothing to read literally
        ("html-reference-oracle", "pass"),
        ("html-reference-oracle", "pass"),
    ]
    for case_id in CASE_IDS:
        assert case_id in page.plain
    assert "reference/oracle" in page.plain and "reference/literal" in page.plain
    assert "Leaderboard" in page.plain  # two runs make a comparison


def test_report_images_are_relative_and_resolve(report: Path, runs: list[Path]) -> None:
    page = _parse(report.read_text(encoding="utf-8"))
    sources = [img["src"] for img in page.all("img")]
    assert sources, "the gallery shows images"
    resolved = []
    for src in sources:
        assert src is not None
        assert not os.path.isabs(src) and "://" not in src, src
        target = (report.parent / src).resolve()
        assert target.is_file(), src
        resolved.append(target)
    # every stored image a turn attached or produced appears, and nothing else
    assert sorted(resolved) == sorted(_referenced_images(runs))


def test_report_attributes_openmoji(report: Path) -> None:
    page = _parse(report.read_text(encoding="utf-8"))
    assert ATTRIBUTION in page.plain
    assert "OpenMoji" in page.plain and "CC BY-SA 4.0" in page.plain


def test_report_escapes_case_text(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<b>bold</b>" not in html
    assert "&lt;i&gt;before&lt;/i&gt; drawing &amp; count." in html
    page = _parse(html)
    # one script element: the report's own filter code, not the case's
    assert len(page.all("script")) == 1
    assert all("alert(1)" not in s for s in page.scripts)
    assert page.plain.count(XSS) == 2  # as text, once per run
    assert page.all("i") == []  # the description's markup stayed text too


def test_report_default_location_is_inside_a_single_run(runs: list[Path]) -> None:
    path = uniprobe.report([runs[0]])
    assert path == runs[0] / "report.html"
    page = _parse(path.read_text(encoding="utf-8"))
    for img in page.all("img"):
        src = img["src"]
        assert src is not None and src.startswith("images/")
        assert (path.parent / src).is_file()
    assert "Leaderboard" not in page.plain


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
    assert {"overall", "families", "subtypes"} <= set(data)
    assert data["overall"]["strict_accuracy"] == {"value": 1.0, "low": 1.0, "high": 1.0, "n": 2}
    assert list(data["families"]) == ["global_instruction", "editing"]
    assert list(data["subtypes"]) == ["global_instruction/numeric_transform", "editing/markup"]
    for group in [*data["families"].values(), *data["subtypes"].values()]:
        # one case per group: a value, but no interval
        assert group["strict_accuracy"] == {"value": 1.0, "low": None, "high": None, "n": 1}
    assert data == json.loads(uniprobe.summary(oracle).model_dump_json())

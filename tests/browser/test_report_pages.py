"""The report folder in a real browser, opened from disk: the summary and charts render,
the gallery's filters and paging work, evidence is drawn, and hostile text stays text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import HOSTILE, hostile_run

import uniprobe
from conftest import off_loop


@pytest.fixture(scope="module")
def paper_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The paper suite by both reference models, 2 epochs (60 samples), one report."""
    out = tmp_path_factory.mktemp("paper")
    suite = uniprobe.load_suite("paper")
    results = off_loop(
        uniprobe.run, suite, ["reference/oracle", "reference/literal"], out=out, epochs=2
    )
    return Path(off_loop(uniprobe.report, [r.path for r in results], out=out / "report"))


def _ready(page: Any, url: str) -> None:
    page.goto(url)
    page.locator("body[data-state=ready]").wait_for()


def _shown(page: Any) -> list[dict[str, str]]:
    shown: list[dict[str, str]] = page.eval_on_selector_all(
        "article.sample",
        "els => els.map(e => ({key: e.dataset.key, run: e.dataset.run,"
        " outcome: e.dataset.outcome}))",
    )
    return shown


def test_the_summary_renders_with_numbers_and_charts(
    page: Any, paper_report: Path, screenshots: Path
) -> None:
    page.goto(paper_report.as_uri())
    for section in ("#summary", "#charts", "#leaderboard"):
        assert page.locator(section).is_visible(), section
    rows = page.locator("table.leaderboard tr[data-run]")
    assert rows.count() == 2
    assert "oracle" in rows.nth(0).inner_text()  # sorted by strict accuracy
    oracle = page.locator("[data-metric=strict_accuracy][data-run$=oracle]").first
    assert float(oracle.get_attribute("data-value")) == 1.0
    literal = page.locator("[data-metric=strict_accuracy][data-run$=literal]").first
    assert float(literal.get_attribute("data-value")) == 0.0
    # 100% vs 0% on 15 shared cases: the gap is marked significant
    assert page.locator("td[data-diff][data-significant=true] span.sig").count() >= 1
    assert page.locator("#chart-subtypes svg.chart rect.bar").count() > 0
    assert page.locator("p.attribution").inner_text().count("OpenMoji")
    broken = page.evaluate(
        "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length"
    )
    assert broken == 0
    page.screenshot(path=str(screenshots / "report-summary.png"), full_page=True)


def test_gallery_filters_and_pages(page: Any, paper_report: Path, screenshots: Path) -> None:
    gallery = paper_report.parent / "gallery.html"
    _ready(page, gallery.as_uri())
    assert page.evaluate("window.UNIPROBE_INDEX.samples.length") == 60
    first = _shown(page)
    assert len(first) == 50
    assert "Page 1 of 2" in page.inner_text("#page-info")
    page.click("#page-next")
    page.wait_for_selector("#page-info:has-text('Page 2 of 2')")
    second = _shown(page)
    assert len(second) == 10
    assert not {s["key"] + s["run"] for s in first} & {s["key"] + s["run"] for s in second}

    page.select_option("#filter-outcome", "fail")
    page.wait_for_selector("#page-info:has-text('Page 1 of 1')")
    failed = _shown(page)
    expected = page.evaluate(  # outcomes are stored as indexes into `outcomes`
        "(I => I.samples.filter(s => I.outcomes[s[4]] === 'fail').length)(window.UNIPROBE_INDEX)"
    )
    assert len(failed) == expected > 0
    assert {s["outcome"] for s in failed} == {"fail"}

    runs = page.eval_on_selector_all("#filter-run option", "os => os.map(o => o.value)")
    literal = next(r for r in runs if r.endswith("literal"))
    page.select_option("#filter-run", literal)
    page.locator("article.sample").first.wait_for()
    assert {s["run"] for s in _shown(page)} == {literal}
    assert "outcome=fail" in page.url  # the view is kept in the address
    # evidence drawn over images: boxes of the judges, a heat-map for an edit check
    page.select_option("#filter-family", "editing")
    page.locator("article.sample").first.wait_for()
    assert page.locator("rect.evidence-box").count() > 0
    page.locator("img.heatmap").first.wait_for()
    assert page.evaluate(
        "[...document.querySelectorAll('img.heatmap')].every(i => i.naturalWidth > 0)"
    )
    page.screenshot(path=str(screenshots / "report-gallery.png"), full_page=False)

    page.click("#filter-reset")
    page.wait_for_selector("#page-info:has-text('Page 1 of 2')")


def test_hostile_text_stays_text_in_the_report(page: Any, tmp_path: Path) -> None:
    run = hostile_run(tmp_path)
    index = Path(off_loop(uniprobe.report, [run], out=tmp_path / "report"))
    page.on("dialog", lambda d: pytest.fail(f"a dialog opened: {d.message}"))
    _ready(page, (index.parent / "gallery.html").as_uri())
    sample = page.locator("article.sample").first
    sample.locator(".user").first.wait_for()
    assert HOSTILE in sample.inner_text()
    assert page.locator("#samples script, #samples img[src='x']").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.goto(index.as_uri())
    assert page.evaluate("window.__pwned") is None

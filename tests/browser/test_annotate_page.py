"""The annotation app in a real browser: a label typed on the page lands in SQLite with
its annotator and time, shortcuts work, and a prompt's HTML stays text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from browser_helpers import HOSTILE, hostile_run

import uniprobe
from conftest import off_loop, serving
from uniprobe.store.labels.db import LabelStore, labels_path


def test_labels_typed_on_the_page_reach_the_label_file(
    page: Any, screenshots: Path, tmp_path: Path
) -> None:
    run = hostile_run(tmp_path)
    with serving(uniprobe.annotate_app(run)) as url:
        page.goto(url)
        page.fill("#annotator", "alice")
        page.press("#annotator", "Enter")
        page.locator("li.check").first.wait_for()
        page.locator("#canvas-image").wait_for(state="visible")
        checks = page.locator("li.check")
        assert checks.count() == 2
        assert "3 dog" in checks.nth(0).inner_text()  # "Are there exactly 3 dogs?"
        # the hostile prompt is shown as text, and nothing in it ran
        dialogue = page.locator("#dialogue")
        assert HOSTILE in dialogue.inner_text()
        assert page.locator("#dialogue script, #dialogue img[src='x']").count() == 0
        assert page.evaluate("window.__pwned") is None

        page.keyboard.press("f")  # the literal model drew 2 dogs: no, not 3
        page.keyboard.press("p")  # there are dogs
        page.locator("li.check.labelled").nth(1).wait_for()
        page.wait_for_selector("#status:has-text('Every check on this canvas is answered')")
        assert checks.nth(0).get_attribute("data-label") == "fail"
        assert checks.nth(1).get_attribute("data-label") == "pass"
        page.screenshot(path=str(screenshots / "annotate.png"), full_page=True)

        page.keyboard.press("Enter")  # the only canvas is done
        page.locator("#done").wait_for(state="visible")
    rows = LabelStore(labels_path(run)).labels()
    assert sorted((r.annotator, r.kind, r.label) for r in rows) == [
        ("alice", "count", "fail"),
        ("alice", "present", "pass"),
    ]
    assert all(r.created.endswith(("Z", "+00:00")) for r in rows)
    assert not (run / "samples.jsonl").read_text(encoding="utf-8").count("alice")

    # the next report reads the labels: agreement of the judge with people
    index = Path(off_loop(uniprobe.report, [run], out=tmp_path / "report"))
    page.goto(index.as_uri())
    human = page.locator("div.human-agreement")
    assert human.get_attribute("data-status") == "ok"
    assert "2 labels by 1 annotator(s)" in human.inner_text()
    human.locator("summary").click()  # "All numbers"
    assert "count.observed" in human.inner_text()

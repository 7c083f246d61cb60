"""The reference generators end to end: what they draw, judged by the reference judge."""

from __future__ import annotations

from pathlib import Path

import pytest

import uniprobe
from uniprobe.store.rundir import RunDir

CASES = """
- id: empty.remove_every_cat
  family: editing
  subtype: removal
  images:
    cats:
      scene:
        bands: [{kind: sky, top: 0.0, bottom: 0.7}, {kind: grass, top: 0.7, bottom: 1.0}]
        objects:
          - {id: c1, kind: cat, x: 130, y: 300, size: 100}
          - {id: c2, kind: cat, x: 380, y: 300, size: 100}
  turns:
    - user: "Remove every cat."
      attach: [cats]
      expect:
        - count: {object: cat, equals: 0, literal: 1}
        - present: {object: grass}
        - unchanged: {against: cats, outside: [c1, c2]}

- id: empty.blank_page
  family: post_generation
  subtype: blank
  turns:
    - user: "Draw two cats."
      expect:
        - count: {object: cat, equals: 2, role: setup}
    - user: "Now draw nothing but an empty white page."
      expect:
        - absent: {object: cat}

- id: multi.hat_from_the_first
  family: editing
  subtype: multi_image
  images:
    first:
      scene:
        objects:
          - {kind: hat, x: 160, y: 256, size: 110, color: orange}
          - {kind: car, x: 352, y: 256, size: 110}
    second:
      scene:
        objects:
          - {id: cake, kind: cake, x: 200, y: 330, size: 110}
          - {kind: tree, x: 420, y: 150, size: 110}
          - {id: spot, shape: region, x: 356, y: 330, w: 110, h: 110}
  turns:
    - user: "Put the hat of the first picture to the right of the cake in the second."
      attach: [first, second]
      expect:
        - count: {object: hat, equals: 1, within: spot}
        - color: {object: hat, equals: orange}
        - absent: {object: car, literal: true}
        - unchanged: {against: second, outside: [spot]}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, ...]]]:
    root = tmp_path_factory.mktemp("refs")
    (root / "cases.yaml").write_text(CASES, encoding="utf-8")
    results = uniprobe.run(
        root / "cases.yaml", ["reference/oracle", "reference/literal"], out=root / "runs"
    )
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for r in results:
        scores = RunDir.open(Path(r.path)).scores("reference").values()
        out[r.model.split("/")[1]] = {
            f"{s.case_id} {v.turn} {v.kind}": (v.status, *v.tags)
            for s in scores
            for v in s.verdicts
        }
    return out


def test_the_oracle_draws_the_empty_scenes_and_the_lent_hat(
    runs: dict[str, dict[str, tuple[str, ...]]],
) -> None:
    assert {k: v for k, v in runs["oracle"].items() if v != ("pass",)} == {}
    assert len(runs["oracle"]) == 9


def test_the_literal_reference_draws_its_reading_and_redraws_the_rest(
    runs: dict[str, dict[str, tuple[str, ...]]],
) -> None:
    literal = runs["literal"]
    assert literal["empty.remove_every_cat 1 count"] == ("fail", "literal", "under_edit")
    assert literal["empty.remove_every_cat 1 unchanged"] == ("fail", "over_edit")
    assert literal["multi.hat_from_the_first 1 count"] == ("pass",)
    assert literal["multi.hat_from_the_first 1 color"] == ("pass",)
    assert literal["multi.hat_from_the_first 1 absent"] == ("fail", "literal", "over_edit")
    assert literal["multi.hat_from_the_first 1 unchanged"] == ("fail", "over_edit")

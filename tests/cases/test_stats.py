"""Suite stats: contrast groups, sentence frames and duplicates counted, and printed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import uniprobe
from uniprobe.cases.loader import load_suite
from uniprobe.cases.stats import duplicates, frame, frames_by_subtype, suite_stats

_SUITE = """
- id: s.a
  family: post_generation
  subtype: false_premise
  group: g1
  turns: [{user: "Draw 3 red cars.", expect: [{count: {object: car, equals: 3}}]}]
- id: s.b
  family: post_generation
  subtype: false_premise
  group: g1
  turns: [{user: "Draw 4 blue dogs.", expect: [{count: {object: dog, equals: 4}}]}]
- id: s.c
  family: post_generation
  subtype: false_premise
  group: g2
  turns: [{user: "Please sketch a cat.", expect: [{present: {object: cat}}]}]
- id: s.d
  family: post_generation
  subtype: false_premise
  group: g2
  turns: [{user: "Please sketch a dog."}]
- id: s.e
  family: post_generation
  subtype: false_premise
  group: g2
  turns: [{user: "Please sketch a cow."}]
- id: s.f
  family: editing
  subtype: move
  turns: [{user: "Draw 3 red cars.", expect: [{count: {object: car, equals: 3}}]}]
"""


def _suite(tmp_path: Path) -> uniprobe.Suite:
    file = tmp_path / "small.yaml"
    file.write_text(textwrap.dedent(_SUITE).lstrip("\n"), encoding="utf-8")
    return load_suite(file)


def test_stats_count_groups_frames_and_duplicates(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    st = suite_stats(suite)
    assert (st.groups, st.grouped_cases, st.group_sizes) == (2, 5, {2: 1, 3: 1})
    assert st.subtype_groups == {"post_generation/false_premise": 2}
    assert frame("Draw 3 red cars.") == frame("Draw 4 blue dogs.") == "draw <n> <c> <o>."
    assert (
        st.frames
        == frames_by_subtype(suite)
        == {
            "editing/move": 1,
            "post_generation/false_premise": 2,
        }
    )
    # same images, turns and checks: a duplicate even across subtypes and groups
    assert st.duplicates == duplicates(suite) == [("s.a", "s.f")]


def test_cases_stats_prints_groups_frames_and_duplicates(tmp_path: Path) -> None:
    _suite(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TTY_COMPATIBLE"}}
    done = subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", "cases", "stats", "--suite", "small.yaml"],
        cwd=tmp_path,
        env={**env, "NO_COLOR": "1", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    lines = [" ".join(line.split()) for line in done.stdout.splitlines()]
    assert "family/subtype cases groups frames" in lines
    assert "editing/move 1 0 1" in lines
    assert "post_generation/false_premise 5 2 2" in lines
    assert "contrast groups: 2 with 5 cases (1 of 2 members, 1 of 3 members)" in lines
    assert lines[-1] == "duplicates: 1 (s.a = s.f)"

"""The real `uniprobe` command on bad input: exit status 2 and one located `error:` line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import uniprobe
from uniprobe import cli
from uniprobe.cases.loader import load_suite

_TWO_TURNS = """\
- id: t.case
  family: post_generation
  subtype: test
  turns:
    - user: "Draw two zebras drinking from a river."
    - user: "Add a man if there is no water."
      expect:
"""


def _uniprobe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TTY_COMPATIBLE"}}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failing command prints, after checking status and streams."""
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def _write(folder: Path, name: str, text: str) -> Path:
    file = folder / name
    file.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            """
            - id: t.case
              family: editing
              subtype: test
              turns: [{user: hi}
            - id: t.other
            """,
            "error: bad.yaml:5: invalid YAML: expected ',' or ']', but got '-'"
            " (while parsing a flow sequence at line 4)",
            id="malformed-yaml",
        ),
        pytest.param(
            _TWO_TURNS + "        - cout: {object: zebra, equals: 2}\n",
            "error: bad.yaml:8: case t.case · turns.1.expect.0: "
            "unknown check 'cout'; did you mean 'count'?",
            id="unknown-check-kind",
        ),
        pytest.param(
            """
            - id: t.case
              family: global_instruction
              subtype: test
              turns:
                - user: "Draw two zebras."
                  expect:
                    - cout: {object: zebra, equals: 2}
            """,
            "error: bad.yaml:7: case t.case · turns.0.expect.0: "
            "unknown check 'cout'; did you mean 'count'?",
            id="unknown-check-kind-one-turn",
        ),
        pytest.param(
            _TWO_TURNS
            + "        - when: {present: {object: water, turn: 5}}\n"
            + "          then: [{absent: {object: man}}]\n",
            "error: bad.yaml:8: case t.case · turns.1.expect.0.when.present.turn: "
            "turn 5 does not exist (the case has 2 turns)",
            id="condition-on-missing-turn",
        ),
        pytest.param(
            """
            - id: t.case
              family: editing
              subtype: test
              images:
                photo: {file: photo.png}
              turns:
                - user: "Make it brighter."
                  attach: [photo]
            """,
            "error: bad.yaml:5: case t.case · images.photo.file: file not found: photo.png",
            id="missing-image-file",
        ),
    ],
)
def test_cases_validate_reports_one_located_error(tmp_path: Path, text: str, expected: str) -> None:
    _write(tmp_path, "bad.yaml", text)
    result = _uniprobe(tmp_path, "cases", "validate", "--suite", "bad.yaml")
    assert _error_line(result) == expected


def test_run_with_an_unknown_model_writes_nothing(tmp_path: Path) -> None:
    result = _uniprobe(tmp_path, "run", "--model", "foo/bar", "--suite", "paper", "--out", "runs")
    line = _error_line(result)
    assert line.startswith("error: unknown model 'foo/bar'. Known: ")
    assert "reference/oracle" in line.split("Known: ")[1].split(", ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        pytest.param(
            "knows,smells",
            "error: probes: unknown probe 'smells'; use knows or sees (or both: knows,sees)",
            id="unknown-word",
        ),
        pytest.param(
            "knows",
            "error: reference/oracle: --probe needs a model that answers in words (probes: no)",
            id="a-model-that-cannot-answer",
        ),
    ],
)
def test_run_with_a_bad_probe_writes_nothing(tmp_path: Path, probe: str, expected: str) -> None:
    args = ["run", "-m", "reference/oracle", "--suite", "paper", "--out", "runs"]
    result = _uniprobe(tmp_path, *args, "--probe", probe)
    assert _error_line(result) == expected
    assert list(tmp_path.iterdir()) == []


_UNICORN = """
- id: t.unicorn
  family: global_instruction
  subtype: test
  turns:
    - user: "Draw a flux capacitor."
      expect:
        - present: {object: flux capacitor}
"""
_UNICORN_ERROR = (
    "error: unicorn.yaml:7: case t.unicorn · turns.0.expect.0.present: "
    "object 'flux capacitor' is not in the reference vocabulary"
)


def test_run_refuses_words_the_reference_world_cannot_draw(tmp_path: Path) -> None:
    _write(tmp_path, "unicorn.yaml", _UNICORN)
    result = _uniprobe(
        tmp_path, "run", "--model", "reference/oracle", "--suite", "unicorn.yaml", "--out", "runs"
    )
    assert _error_line(result) == _UNICORN_ERROR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unicorn.yaml"]


def test_cases_validate_flags_words_the_reference_world_cannot_draw(tmp_path: Path) -> None:
    _write(tmp_path, "unicorn.yaml", _UNICORN)
    result = _uniprobe(tmp_path, "cases", "validate", "--suite", "unicorn.yaml")
    assert _error_line(result) == _UNICORN_ERROR


def test_cases_validate_accepts_the_paper_suite(tmp_path: Path) -> None:
    paper = load_suite("paper")
    n_checks = sum(c.n_checks() for c in paper.cases)
    warned = uniprobe.suite_warnings(paper)  # literal: true on unchanged, until it is fixed
    result = _uniprobe(tmp_path, "cases", "validate", "--suite", "paper")
    assert result.returncode == 0
    assert result.stderr.splitlines() == [f"warning: {w}" for w in warned]
    note = f" ({len(warned)} warning{'s' if len(warned) != 1 else ''})" if warned else ""
    assert result.stdout == f"ok: 15 cases, {n_checks} checks in suite 'paper'{note}\n"


_LITERAL_UNCHANGED = """
- id: t.locality
  family: editing
  subtype: test
  turns:
    - user: "Draw a cat."
    - user: "Make the cat red."
      expect:
        - unchanged: {against: 1, outside_objects: [cat], literal: true}
"""
_LITERAL_UNCHANGED_WARNING = (
    "literal.yaml:8: case t.locality · turns.1.expect.0.unchanged: literal: true on"
    " unchanged: locality failures are over_edit; literal no longer applies"
)


def test_cases_validate_prints_warnings_and_passes(tmp_path: Path) -> None:
    _write(tmp_path, "literal.yaml", _LITERAL_UNCHANGED)
    result = _uniprobe(tmp_path, "cases", "validate", "--suite", "literal.yaml")
    assert result.returncode == 0
    assert result.stderr == f"warning: {_LITERAL_UNCHANGED_WARNING}\n"
    assert result.stdout == "ok: 1 cases, 1 checks in suite 'literal' (1 warning)\n"


def test_cases_validate_strict_fails_on_warnings(tmp_path: Path) -> None:
    _write(tmp_path, "literal.yaml", _LITERAL_UNCHANGED)
    result = _uniprobe(tmp_path, "cases", "validate", "--strict", "--suite", "literal.yaml")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"warning: {_LITERAL_UNCHANGED_WARNING}",
        f"error: {_LITERAL_UNCHANGED_WARNING}",
    ]


_DUCKS = """
- id: t.ducks
  family: post_generation
  subtype: test
  turns:
    - user: "Draw 3 ducks on a pond."
    - user: "How many birds are there? Draw one more."
      expect:
        - count: {object: bird, equals: 1}
"""


def test_cases_validate_flags_a_hypernym_beside_its_hyponym(tmp_path: Path) -> None:
    _write(tmp_path, "ducks.yaml", _DUCKS)
    result = _uniprobe(tmp_path, "cases", "validate", "--suite", "ducks.yaml")
    assert _error_line(result) == (
        "error: ducks.yaml:8: case t.ducks · turns.1.expect.0.count: counts 'bird' but turn 1's"
        " prompt names duck: a judge counts a duck as a bird"
    )


def test_error_line_prints_names_verbatim(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process (same `main` the console script runs) to keep the suite fast.
    monkeypatch.setattr(sys, "argv", ["uniprobe", "cases", "validate", "--suite", "a:cat:b.yaml"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown suite 'a:cat:b.yaml'. Known: ")


_MIXED = """
- id: t.mixed
  family: editing
  subtype: test
  images:
    start: {scene: {objects: [{id: dog1, kind: dog, x: 100, y: 100, size: 80}]}}
  turns:
    - user: "Add a flux capacitor; change nothing else."
      attach: [start]
      expect:
        - present: {object: flux capacitor}
        - unchanged: {against: start, outside_objects: [flux capacitor]}
"""


@pytest.mark.parametrize(
    "policy",
    [
        # the VLM reads both checks itself: nothing needs the reference vocabulary
        "vlm",
        # the detector finds objects itself, and the pixels judge locates `unchanged`'s
        # outside_objects with it (the detector policy's default, regions=detector)
        "detector",
    ],
)
def test_cases_validate_needs_the_vocabulary_only_where_the_policy_reads_it(
    tmp_path: Path, policy: str
) -> None:
    _write(tmp_path, "mixed.yaml", _MIXED)
    result = _uniprobe(tmp_path, "cases", "validate", "--suite", "mixed.yaml", "--judge", policy)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ok: 1 cases, 2 checks in suite 'mixed' for judge policy '{policy}'\n"
    # the reference policy reads both words, as do the reference models (without --judge)
    for flags in (["--judge", "reference"], []):
        full = _uniprobe(tmp_path, "cases", "validate", "--suite", "mixed.yaml", *flags)
        assert full.returncode == 2
        assert [line.split(" · ")[-1] for line in full.stderr.splitlines()] == [
            "error: 2 errors in mixed.yaml",
            "turns.0.expect.0.present: object 'flux capacitor' is not in the reference vocabulary",
            "turns.0.expect.1.unchanged: object 'flux capacitor' is not in the reference "
            "vocabulary",
        ]


def test_cases_validate_names_an_unknown_policy(tmp_path: Path) -> None:
    _write(tmp_path, "mixed.yaml", _MIXED)
    result = _uniprobe(tmp_path, "cases", "validate", "--suite", "mixed.yaml", "--judge", "vlmm")
    assert result.returncode == 2
    assert _error_line(result).startswith("error: unknown judge policy 'vlmm'; did you mean 'vlm'?")

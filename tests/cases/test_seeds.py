"""Fresh suites from any seed: `core@seed=N`, `uniprobe cases generate --seed N`, and the
reference results holding on seeds other than the published one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import uniprobe
from uniprobe.cases.generate import build_core
from uniprobe.cases.generate.__main__ import main as generate_main
from uniprobe.cases.schema import Suite
from uniprobe.errors import UsageError
from uniprobe.store.records import SuiteInfo


def _shape(suite: Suite) -> tuple[Counter[str], Counter[tuple[str, int]]]:
    """Cases per subtype, and groups per (subtype, size): what every seed shares."""
    subtypes = Counter(f"{c.family}/{c.subtype}" for c in suite.cases)
    groups: Counter[str] = Counter(c.group for c in suite.cases if c.group is not None)
    subtype_of = {c.group: f"{c.family}/{c.subtype}" for c in suite.cases if c.group}
    return subtypes, Counter((subtype_of[g], n) for g, n in groups.items())


def test_seed_0_is_the_published_core() -> None:
    core, zero = uniprobe.load_suite("core"), uniprobe.load_suite("core@seed=0")
    assert zero.name == "core"
    assert zero.content_hash == core.content_hash


def test_another_seed_is_an_equivalent_fresh_suite() -> None:
    core, one = uniprobe.load_suite("core"), uniprobe.load_suite("core@seed=1")
    assert one.name == "core@seed=1"
    assert one.source is None
    assert one.content_hash != core.content_hash
    assert _shape(one) == _shape(core)
    assert sorted(c.id for c in one.cases) == sorted(c.id for c in build_core(1))
    prompts = {t.user for c in core.cases for t in c.turns}
    fresh = [t.user for c in one.cases for t in c.turns]
    assert sum(p not in prompts for p in fresh) > len(fresh) / 2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "core@seed=x",
            "suite 'core@seed=x': the seed must be a whole number from 0 to 999999999999"
            " (as in core@seed=1)",
            id="not-a-number",
        ),
        pytest.param(
            "core@seed=-2",
            "suite 'core@seed=-2': the seed must be a whole number from 0 to 999999999999"
            " (as in core@seed=1)",
            id="negative",
        ),
        pytest.param(
            "core@seed=1000000000000",
            "suite 'core@seed=1000000000000': the seed must be a whole number from 0 to"
            " 999999999999 (as in core@seed=1)",
            id="too-large",
        ),
        pytest.param(
            "paper@seed=1",
            "suite 'paper@seed=1': only core is generated from a seed; use 'paper' without @seed",
            id="no-generator",
        ),
    ],
)
def test_bad_seeded_names_are_one_line_errors(name: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        uniprobe.load_suite(name)
    assert str(info.value) == message


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TTY_COMPATIBLE"}}
    return subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", *args],
        cwd=cwd,
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cases_generate_writes_the_seeded_suite(tmp_path: Path) -> None:
    done = _cli(tmp_path, "cases", "generate", "--seed", "3", "--out", "fresh")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "wrote global_instruction.yaml, editing.yaml, post_generation.yaml to fresh (core@seed=3)\n"
    )
    written = uniprobe.load_suite(tmp_path / "fresh")
    assert written.content_hash == uniprobe.load_suite("core@seed=3").content_hash


def test_cases_generate_refuses_a_folder_that_holds_files(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine", encoding="utf-8")
    done = _cli(tmp_path, "cases", "generate", "--seed", "2", "--out", "out")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: out is not empty; choose a new folder or pass --force\n"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["notes.txt"]
    paths = uniprobe.generate_suite(tmp_path / "out", seed=2, force=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        ["notes.txt", *(p.name for p in paths)]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ("--seed", "-1", "--out", "x"),
            "--seed must be between 0 and 999999999999, not -1",
            id="negative",
        ),
        pytest.param(
            ("--seed", "1000000000000", "--out", "x"),
            "--seed must be between 0 and 999999999999, not 1000000000000",
            id="too-large",
        ),
        pytest.param(("--out", "file.txt"), "file.txt is a file; --out takes a folder", id="file"),
    ],
)
def test_cases_generate_bad_input(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "file.txt").write_text("", encoding="utf-8")
    with pytest.raises(UsageError) as info:
        uniprobe.generate_suite(
            tmp_path / args[-1], seed=int(args[1]) if args[0] == "--seed" else 0
        )
    assert str(info.value) == f"{tmp_path / message}" if message.startswith("file") else message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_module_refuses_to_write_a_seed_over_the_published_core(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        generate_main(["--seed", "4"])
    assert info.value.code == 2
    assert "--seed N writes a fresh suite: give --out DIR" in capsys.readouterr().err


# --- the reference results on other seeds ---------------------------------------------------

SEEDS = (1, 2, 3, 4, 5)


def _sample(seed: int, family: str | None = None) -> Suite:
    """One unit per subtype of the seed's suite (a contrast group with all its members, or
    an ungrouped case; a different one on every seed), of one family or all."""
    units: dict[str, dict[str, list[uniprobe.Case]]] = {}
    for case in build_core(seed):
        if family in (None, case.family):
            by_unit = units.setdefault(f"{case.family}/{case.subtype}", {})
            by_unit.setdefault(case.group or case.id, []).append(case)
    picked = tuple(
        case
        for by_unit in units.values()
        for case in list(by_unit.values())[(seed - 1) % len(by_unit)]
    )
    return Suite(name=f"core-seed{seed}-{family or 'all'}", cases=picked)


@pytest.fixture(scope="module")
def seeded_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Path]]:
    """On seeds 1..5: the oracle on one case per subtype, the literal reference on one
    case per global-instruction subtype (where its results are asserted)."""
    runs: dict[int, dict[str, Path]] = {}
    for seed in SEEDS:
        out = tmp_path_factory.mktemp(f"seed{seed}")
        [oracle] = uniprobe.run(_sample(seed), ["reference/oracle"], out=out)
        [literal] = uniprobe.run(
            _sample(seed, "global_instruction"), ["reference/literal"], out=out
        )
        runs[seed] = {"oracle": oracle.path, "literal": literal.path}
    return runs


@pytest.mark.parametrize("seed", SEEDS)
def test_oracle_passes_every_sampled_case(
    seeded_runs: dict[int, dict[str, Path]], seed: int
) -> None:
    scores = uniprobe.RunDir.open(seeded_runs[seed]["oracle"]).scores("reference")
    assert len(scores) == len(_sample(seed)) >= 32
    assert {k: s.outcome for k, s in scores.items() if s.outcome != "pass"} == {}


def _literal_untagged(run: Path, suite: Suite) -> list[str]:
    """Global units (groups, or ungrouped cases) the literal reference did not fail with a
    `literal` tag: a group fails when a member fails, and needs one failing member whose
    failure is tagged `literal`."""
    scores = {s.case_id: s for s in uniprobe.RunDir.open(run).scores("reference").values()}
    assert len(scores) == len(suite) >= 17
    units: dict[str, list[str]] = {}
    for case in suite.cases:
        units.setdefault(case.group or case.id, []).append(case.id)
    return sorted(
        unit
        for unit, members in units.items()
        if not any(
            scores[m].outcome == "fail"
            and any("literal" in v.tags for v in scores[m].verdicts if v.status == "fail")
            for m in members
        )
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_literal_fails_every_sampled_global_unit_with_a_literal_tag(
    seeded_runs: dict[int, dict[str, Path]], seed: int
) -> None:
    # Issue 12: reference/literal fails every global-instruction group (and ungrouped case)
    # with a `literal` tag, on every seed.
    suite = _sample(seed, "global_instruction")
    assert any(c.group for c in suite.cases)
    assert _literal_untagged(seeded_runs[seed]["literal"], suite) == []


def test_a_run_of_a_seeded_suite_finds_its_suite_again(
    seeded_runs: dict[int, dict[str, Path]],
) -> None:
    # A run of `core@seed=2` records that name (and no path): the suite is rebuilt by name.
    run = uniprobe.RunDir.open(seeded_runs[2]["oracle"])
    seeded = uniprobe.load_suite("core@seed=2")
    manifest = run.manifest()
    info = SuiteInfo(name="core@seed=2", hash=seeded.content_hash, cases=len(seeded))
    run.write_manifest(manifest.model_copy(update={"suite": info}))
    run.suite_path.unlink()  # no kept copy: only the name can find it
    found = uniprobe.suite_of_run(run.path)
    assert (found.name, found.content_hash) == ("core@seed=2", seeded.content_hash)

"""`uniprobe run` checks keys, model names and the judge before it spends anything, and a
run whose samples ended in errors says so (exit 1, a table of them) and retries them on
`--resume`. Against the fake provider, through the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import uniprobe
from uniprobe.testing.server import FakeServer

pytest.importorskip("openai")
pytest.importorskip("google.genai")

KEY = "sk-right-key-0123456789abcdef"
OFFERED = [
    "gpt-5.5",
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.6-flare",
    "gpt-image-3-preview",
    "gemini-3-pro-image-preview",
    "gemini-3.1-flash-image",
]
ONE_TURN = """\
- id: one.birds
  family: global_instruction
  subtype: one
  turns:
    - user: "Generate an image of 3 birds."
      expect:
        - count: {object: bird, equals: 3}
"""
WHERE = "or api_key_env under [providers.{}] in the config file"


RETIRED_1 = " (retired on 2026-10-23; use 'gpt-image-2.5-sunburst')"
"""What the provider data file says of gpt-image-1."""
RETIRED_25 = " (retired on 2026-10-02; use 'gemini-3.1-flash-image')"
"""What it says of gemini-2.5-flash-image."""


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(models=OFFERED, api_keys=[KEY]) as server:
        yield server


def _setup(tmp_path: Path, fake: FakeServer) -> None:
    (tmp_path / "one.yaml").write_text(ONE_TURN, encoding="utf-8")
    sections = [
        f'[providers.{p}]\napi_key_env = "UNIPROBE_TEST_KEY"\nbase_url = "{fake.url}{path}"\n'
        for p, path in (("openai", "/v1"), ("openai-images", "/v1"), ("google", ""))
    ]
    (tmp_path / "uniprobe.toml").write_text("\n".join(sections), encoding="utf-8")


def _uniprobe(
    tmp_path: Path, *args: str, key: str | None = KEY
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"FORCE_COLOR", "TTY_COMPATIBLE", "UNIPROBE_CONFIG"} and "API_KEY" not in k
    }
    env["NO_COLOR"] = "1"
    if key is not None:
        env["UNIPROBE_TEST_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _run(tmp_path: Path, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    # the fake paints synthetic scenes, which the reference judge reads: declared so
    common = ["--suite", "one.yaml", "--out", "runs", "--no-progress", "--images", "synthetic"]
    return _uniprobe(tmp_path, "run", *common, *args, key=key)


def _refused(done: subprocess.CompletedProcess[str], tmp_path: Path) -> list[str]:
    """The error lines of a run refused before it started: exit 2, nothing written."""
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()
    return done.stderr.splitlines()


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        pytest.param("openai/gpt-5.5", "openai", id="openai"),
        pytest.param("openai-images/gpt-image-2", "openai-images", id="openai-images"),
        pytest.param("google/gemini-3-pro-image-preview", "google", id="google"),
    ],
)
def test_no_key_is_one_line_and_nothing_is_sent_or_written(
    fake: FakeServer, tmp_path: Path, model: str, provider: str
) -> None:
    _setup(tmp_path, fake)
    done = _run(tmp_path, "-m", model, "--judge", "reference", key=None)
    assert _refused(done, tmp_path) == [
        f"error: {model}: no API key: set UNIPROBE_TEST_KEY, {WHERE.format(provider)}"
    ]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("model", "provider", "status"),
    [
        pytest.param("openai/gpt-5.5", "openai", 401, id="openai"),
        pytest.param("google/gemini-3-pro-image-preview", "google", 400, id="google"),
    ],
)
def test_a_rejected_key_is_one_line_and_only_the_model_list_is_asked(
    fake: FakeServer, tmp_path: Path, model: str, provider: str, status: int
) -> None:
    _setup(tmp_path, fake)
    done = _run(tmp_path, "-m", model, "--judge", "reference", key="sk-wrong-key-9876543210")
    assert _refused(done, tmp_path) == [
        f"error: {model}: the provider rejected the API key (HTTP {status}): check "
        f"UNIPROBE_TEST_KEY, {WHERE.format(provider)}"
    ]
    assert "sk-wrong-key" not in done.stderr
    assert {(r.method, r.endpoint) for r in fake.requests} == {("GET", "models.list")}


def test_retired_models_are_named_with_the_closest_offered_one_per_line(
    fake: FakeServer, tmp_path: Path
) -> None:
    _setup(tmp_path, fake)
    done = _run(
        tmp_path,
        "-m",
        "openai-images/gpt-image-1",
        "-m",
        "google/gemini-2.5-flash-image",
        "-m",
        "openai-images/gpt-image-2",
        "--judge",
        "reference",
    )
    assert _refused(done, tmp_path) == [
        "error: openai-images/gpt-image-1: the provider does not offer model 'gpt-image-1'"
        f"{RETIRED_1}; the closest it offers is 'gpt-image-2'",
        "error: google/gemini-2.5-flash-image: the provider does not offer model "
        f"'gemini-2.5-flash-image'{RETIRED_25}; the closest it offers is "
        "'gemini-3.1-flash-image'",
    ]
    # one listing per provider and key for the whole run (Gemini's in pages)
    listings = [(r.path, r.query.get("pageToken")) for r in fake.requests]
    assert listings.count(("/v1/models", None)) == 2  # openai-images once, google's first page
    assert all(r.endpoint == "models.list" for r in fake.requests)


def test_a_real_model_without_a_judge_is_refused_naming_vlm_and_detector(
    fake: FakeServer, tmp_path: Path
) -> None:
    _setup(tmp_path, fake)
    done = _run(tmp_path, "-m", "openai-images/gpt-image-2")
    [line] = _refused(done, tmp_path)
    assert line == (
        "error: openai-images/gpt-image-2: no --judge given, and the default `reference` "
        "judge reads only synthetic scenes: judge real images with --judge vlm ([judges.vlm] "
        "provider, model; the provider's key under [providers.<provider>] or its environment "
        "variable) or --judge detector ([judges.detector] model = a local OWLv2 or Grounding "
        "DINO folder)"
    )


def test_models_check_prints_one_line_per_model(fake: FakeServer, tmp_path: Path) -> None:
    _setup(tmp_path, fake)
    names = ["openai-images/gpt-image-2", "google/gemini-2.5-flash-image", "reference/oracle"]
    done = _uniprobe(tmp_path, "models", "check", *names)
    assert done.returncode == 2, done.stderr
    assert done.stdout.splitlines() == [
        "openai-images/gpt-image-2: ok",
        "google/gemini-2.5-flash-image: the provider does not offer model "
        f"'gemini-2.5-flash-image'{RETIRED_25}; the closest it offers is "
        "'gemini-3.1-flash-image'",
        "reference/oracle: ok",
    ]
    ok = _uniprobe(tmp_path, "models", "check", "openai/gpt-5.5")
    assert (ok.returncode, ok.stdout) == (0, "openai/gpt-5.5: ok\n")


def test_a_run_with_errors_exits_1_with_their_table_and_resume_retries_them(
    fake: FakeServer, tmp_path: Path
) -> None:
    _setup(tmp_path, fake)
    args = ["-m", "openai-images/gpt-image-2", "--judge", "reference", "--epochs", "3"]
    fake.inject("quota", path_prefix="/v1/images", times=2)  # not retried within the run
    done = _run(tmp_path, *args, "--concurrency", "1")
    assert done.returncode == 1, done.stderr
    run = tmp_path / "runs" / "one-openai-images-gpt-image-2"
    assert done.stdout.startswith(
        f"openai-images/gpt-image-2: 3 samples (3 new, 2 errors) in runs/{run.name}"
    )
    lines = done.stderr.splitlines()  # the CLI's table: tab stops when not a terminal
    assert lines[0].split() == ["model", "kind", "status", "samples", "first", "message"]
    model, kind, status, samples, first = lines[1].split(None, 4)
    assert (model, kind, status, samples) == (
        "openai-images/gpt-image-2",
        "rate_limit",
        "429",
        "2",
    )
    assert first.startswith("openai-images/gpt-image-2: HTTP 429 insufficient_quota: ")
    assert lines[2] == (
        "2 sample(s) ended in an error; after fixing the cause, run the same command with "
        "--resume to try them again"
    )
    fake.reset()
    again = _run(tmp_path, *args, "--resume")
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""
    assert again.stdout.startswith(
        f"openai-images/gpt-image-2: 3 samples (2 new, 0 errors) in runs/{run.name}"
    )
    # only the two failed samples were asked again; the finished one came from nowhere
    assert fake.count("/v1/images/generations", status=200) == 2
    assert len((run / "samples.jsonl").read_text().splitlines()) == 3
    assert len((run / "scores" / "reference.jsonl").read_text().splitlines()) == 3


def test_importing_outside_images_needs_a_named_judge(tmp_path: Path) -> None:
    with pytest.raises(uniprobe.PreflightError) as caught:
        uniprobe.import_run(tmp_path / "answers", "paper", model="import/x", out=tmp_path / "r")
    assert caught.value.problems[0].startswith("import/x: no --judge given, and the default")
    assert not (tmp_path / "r").exists()


def test_importing_outside_images_for_the_reference_judge_needs_them_declared_synthetic(
    tmp_path: Path,
) -> None:
    (tmp_path / "one.yaml").write_text(ONE_TURN, encoding="utf-8")
    args = ["import", "answers", "--suite", "one.yaml", "--model", "import/x", "--out", "r"]
    done = _uniprobe(tmp_path, *args, "--judge", "reference")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "error: import/x: judge 'reference' (policy 'reference') reads only synthetic scenes; "
        "'count' checks of this suite need a judge that reads any image: --judge vlm or "
        "--judge detector"
    ]
    assert not (tmp_path / "r").exists()
    # declared synthetic, the import goes on (here: to the missing folder of answers)
    declared = _uniprobe(tmp_path, *args, "--judge", "reference", "--images", "synthetic")
    assert declared.returncode == 2
    assert declared.stderr.splitlines() == ["error: answers: no such folder of answers"]


def test_a_run_warns_once_at_the_start_which_costs_will_be_unknown(
    fake: FakeServer, tmp_path: Path
) -> None:
    _setup(tmp_path, fake)
    common = ["--suite", "one.yaml", "--out", "runs", "--judge", "reference", "--images"]
    common.append("synthetic")
    done = _uniprobe(
        tmp_path, "run", *common, "-m", "openai/gpt-5.5", "-M", "image_model=gpt-image-3-preview"
    )
    assert done.returncode == 0, done.stderr
    warning = (  # offered, but not in providers.toml
        "warning: gpt-image-3-preview: no known price; its calls have unknown cost "
        '(add [prices."gpt-image-3-preview"] to the config)'
    )
    assert [line for line in done.stderr.splitlines() if line.startswith("warning:")] == [warning]


# --- the judge reads what the model draws ----------------------------------------------------

MIXED = "mixed-reference-count"
"""A custom policy: `count` to the reference judge (synthetic scenes only), the rest to vlm."""


@pytest.fixture
def mixed(monkeypatch: pytest.MonkeyPatch) -> str:
    """MIXED, registered for one test (the registry has no removal: its table is patched)."""
    policy = uniprobe.Policy(MIXED, {"count": "reference", "color": "vlm", "text": "ocr"})
    monkeypatch.setitem(uniprobe.policy_registry._items, MIXED, policy)
    return MIXED


COLOURED = """\
- id: two.birds
  family: global_instruction
  subtype: two
  turns:
    - user: "Generate an image of 3 red birds."
      expect:
        - count: {object: bird, equals: 3}
        - color: {object: bird, equals: red}
"""


def test_the_reference_policy_on_a_real_model_is_refused_naming_what_it_cannot_read(
    fake: FakeServer, tmp_path: Path
) -> None:
    _setup(tmp_path, fake)
    common = ["--suite", "one.yaml", "--out", "runs", "--no-progress", "--judge", "reference"]
    done = _uniprobe(tmp_path, "run", *common, "-m", "openai/gpt-5.5")
    assert _refused(done, tmp_path) == [
        "error: openai/gpt-5.5: judge 'reference' (policy 'reference') reads only synthetic "
        "scenes; 'count' checks of this suite need a judge that reads any image: --judge vlm "
        "or --judge detector"
    ]
    assert {r.endpoint for r in fake.requests} == {"models.list"}  # nothing generated


def test_a_custom_policy_sending_a_kind_to_a_synthetic_only_judge_is_refused(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mixed: str
) -> None:
    _setup(tmp_path, fake)
    (tmp_path / "two.yaml").write_text(COLOURED, encoding="utf-8")
    monkeypatch.setenv("UNIPROBE_TEST_KEY", KEY)
    models = ["openai/gpt-5.5", "google/gemini-3.1-flash-image", "reference/oracle"]
    with pytest.raises(uniprobe.PreflightError) as caught:
        uniprobe.run(
            tmp_path / "two.yaml",
            models,
            out=tmp_path / "runs",
            policy=MIXED,
            config=tmp_path / "uniprobe.toml",
        )
    line = (
        "{}: judge 'reference' (policy '" + MIXED + "') reads only synthetic scenes; 'count' "
        "checks of this suite need a judge that reads any image: --judge vlm or --judge detector"
    )
    # one line per model that draws any image; the reference backend draws synthetic scenes
    assert caught.value.problems == [line.format(m) for m in models[:2]]
    assert not (tmp_path / "runs").exists()
    assert {r.endpoint for r in fake.requests} == {"models.list"}
    # declared synthetic (the fake paints synthetic scenes), the same policy may judge them
    found = uniprobe.check_models(
        models[:2],
        config=tmp_path / "uniprobe.toml",
        policy=MIXED,
        images="synthetic",
        suite=tmp_path / "two.yaml",
    )
    assert found == {m: [] for m in models[:2]}


def test_a_policy_that_reads_any_image_is_fine(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(tmp_path, fake)
    monkeypatch.setenv("UNIPROBE_TEST_KEY", KEY)
    config = tmp_path / "uniprobe.toml"
    for policy in ("vlm", "detector", "human"):
        found = uniprobe.check_models(
            ["openai/gpt-5.5"], config=config, policy=policy, suite="paper"
        )
        assert found == {"openai/gpt-5.5": []}, policy
    assert uniprobe.check_models(
        ["openai/gpt-5.5"], config=config, policy="reference", suite="paper"
    )["openai/gpt-5.5"] == [
        "openai/gpt-5.5: judge 'reference' (policy 'reference') reads only synthetic scenes; "
        "'absent', 'color', 'count', 'position', 'present' and 'relation' checks of this suite "
        "need a judge that reads any image: --judge vlm or --judge detector"
    ]


def test_models_check_with_a_judge_checks_what_it_reads(fake: FakeServer, tmp_path: Path) -> None:
    _setup(tmp_path, fake)
    names = ["openai/gpt-5.5", "reference/oracle"]
    args = ["models", "check", *names, "--suite", "one.yaml", "--judge", "reference"]
    done = _uniprobe(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    assert done.stdout.splitlines() == [
        "openai/gpt-5.5: judge 'reference' (policy 'reference') reads only synthetic scenes; "
        "'count' checks of this suite need a judge that reads any image: --judge vlm or "
        "--judge detector",
        "reference/oracle: ok",
    ]
    ok = _uniprobe(tmp_path, *args, "--images", "synthetic")
    assert (ok.returncode, ok.stdout.splitlines()) == (0, [f"{n}: ok" for n in names])
    vlm = _uniprobe(tmp_path, "models", "check", names[0], "--suite", "one.yaml", "--judge", "vlm")
    assert (vlm.returncode, vlm.stdout) == (0, "openai/gpt-5.5: ok\n")


def test_judges_and_backends_declare_the_images_they_read_and_draw() -> None:
    reads = {n: uniprobe.judge_registry.get(n).reads for n in uniprobe.judge_registry.names()}
    assert reads == {
        "detector": "any",
        "human": "any",
        "ocr": "any",
        "pixels": "any",
        "reference": "synthetic",
        "vlm": "any",
    }
    draws = {n: c.draws for n, c in uniprobe.list_models().items()}
    assert draws["reference/oracle"] == draws["reference/literal"] == "synthetic"
    assert {d for n, d in draws.items() if not n.startswith("reference/")} == {"any"}


def test_probes_on_a_model_that_cannot_answer_in_words_are_refused_before_the_run(
    fake: FakeServer, tmp_path: Path
) -> None:
    _setup(tmp_path, fake)
    done = _run(tmp_path, "-m", "openai-images/gpt-image-2", "--judge", "vlm", "--probe", "knows")
    assert _refused(done, tmp_path) == [
        "error: openai-images/gpt-image-2: --probe needs a model that answers in words (probes: no)"
    ]
    assert {r.endpoint for r in fake.requests} <= {"models.list"}  # nothing generated

"""The curated public API and the thin CLI over it."""

from __future__ import annotations

import subprocess
import sys

import yaml

import uniprobe
from uniprobe.backends.reference import ReferenceBackend

PUBLIC = [
    "Agreement",
    "Backend",
    "BackendError",
    "Capabilities",
    "Case",
    "CaseFileError",
    "ConfigError",
    "Conversation",
    "ImageData",
    "Judge",
    "JudgeContext",
    "JudgeResult",
    "Policy",
    "Reply",
    "RunDir",
    "RunDirError",
    "RunResult",
    "RunSummary",
    "Session",
    "SessionContext",
    "Suite",
    "Turn",
    "UniprobeError",
    "UnknownNameError",
    "Usage",
    "UsageError",
    "UserTurn",
    "__version__",
    "backend_registry",
    "builtin_suites",
    "calibrate",
    "create_backend",
    "judge_registry",
    "load_suite",
    "policy_registry",
    "report",
    "run",
    "score",
    "suite_of_run",
    "summary",
    "validate_suite",
    "export_dataset",
    "export_prompts",
    "import_run",
    "stats",
    "agreement",
    "annotate_app",
    "export_labels",
    "import_labels",
]


def test_root_exports_exactly_the_public_api() -> None:
    assert sorted(uniprobe.__all__) == sorted(PUBLIC)
    for name in uniprobe.__all__:
        assert getattr(uniprobe, name) is not None


def test_built_in_plugins_are_registered_on_import() -> None:
    assert {"reference", "openai", "openai-images", "google", "compat", "diffusers"} <= set(
        uniprobe.backend_registry.names()
    )
    assert uniprobe.judge_registry.names() == [
        "detector",
        "human",
        "ocr",
        "pixels",
        "reference",
        "vlm",
    ]
    assert uniprobe.policy_registry.names() == [
        "detector",
        "detector+vlm",
        "human",
        "reference",
        "vlm",
        "vlm-verify",
    ]
    assert uniprobe.builtin_suites() == ["core", "paper"]


def test_create_backend_validates_options() -> None:
    backend = uniprobe.create_backend("reference/oracle", {"latency": 0.5})
    assert isinstance(backend.options, ReferenceBackend.Options)
    assert backend.options.latency == 0.5
    try:
        uniprobe.create_backend("reference/oracle", {"latncy": 1})
    except uniprobe.ConfigError as exc:
        assert str(exc).startswith("reference/oracle: option 'latncy': Extra inputs")
    else:
        raise AssertionError("an unknown option must be refused")
    try:
        uniprobe.create_backend("reference/oracel")
    except uniprobe.UnknownNameError as exc:
        assert "did you mean 'reference/oracle'?" in str(exc)
    else:
        raise AssertionError("an unknown model must be refused")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", *args], capture_output=True, text=True, check=False
    )


def test_cases_show_prints_the_case_as_yaml() -> None:
    done = _cli("cases", "show", "paper.global.numeric.add3.dolphins")
    assert done.returncode == 0, done.stderr
    [case] = yaml.safe_load(done.stdout)
    assert case["turns"][1]["expect"][0] == {
        "count": {"object": "dolphin", "equals": 5, "literal": 2}
    }


def test_cases_list_and_models_list() -> None:
    listing = _cli("cases", "list")
    assert listing.returncode == 0
    assert "paper.edit.reflection_only.horse_lion" in listing.stdout.replace("\n", "")
    models = _cli("models", "list")
    assert models.returncode == 0
    assert "reference/ora" in models.stdout


def test_help_names_every_command() -> None:
    done = _cli("--help")
    for command in ("run", "score", "summary", "report", "cases", "models", "annotate", "labels"):
        assert command in done.stdout

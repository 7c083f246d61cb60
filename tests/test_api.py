"""The curated public API and the thin CLI over it."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from types import ModuleType

import pytest
import yaml

import uniprobe
import uniprobe.api
import uniprobe.errors
import uniprobe.testing
from uniprobe import cli
from uniprobe.backends.reference import ReferenceBackend


def _bound(module: ModuleType) -> tuple[set[str], set[str]]:
    """The public names a module's own top-level code binds: (defined, imported).

    Read from the source, so a submodule reachable as an attribute (`uniprobe.api`) or a
    `from __future__` feature does not count. `__version__` counts as public.
    """
    defined: set[str] = set()
    imported: set[str] = set()
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            defined.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            imported |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            imported |= {alias.asname or alias.name.split(".")[0] for alias in node.names}

    def public(names: set[str]) -> set[str]:
        return {n for n in names if not n.startswith("_") or n == "__version__"}

    return public(defined) - {"__all__"}, public(imported)


@pytest.mark.parametrize(
    "module",
    [pytest.param(uniprobe, id="uniprobe"), pytest.param(uniprobe.testing, id="uniprobe.testing")],
)
def test_a_package_exports_every_public_name_it_binds(module: ModuleType) -> None:
    """A package's `__all__` is exactly what it binds publicly: its public API."""
    defined, imported = _bound(module)
    assert sorted(module.__all__) == sorted(defined | imported)
    for name in module.__all__:
        assert hasattr(module, name), name


@pytest.mark.parametrize(
    "name",
    [
        "uniprobe.annotate.serve",
        "uniprobe.api",
        "uniprobe.backends.base",
        "uniprobe.backends.registry",
        "uniprobe.report.build",  # uniprobe.report is the function; import the module by name
        "uniprobe.runner.run",
        "uniprobe.runner.settings",
    ],
)
def test_a_module_exports_every_public_name_it_defines(name: str) -> None:
    """A module's `__all__` holds every public name it defines, and only names it binds
    (what it imports stays internal unless listed as a re-export)."""
    module = importlib.import_module(name)
    defined, imported = _bound(module)
    assert defined <= set(module.__all__)
    assert set(module.__all__) <= defined | imported
    for name in module.__all__:
        assert hasattr(module, name), name


def test_the_cli_calls_only_the_public_api() -> None:
    """cli.py imports `uniprobe` (and its errors) and `uniprobe.testing.serve`, nothing
    else of ours, and uses only names of the root `__all__`."""
    tree = ast.parse(inspect.getsource(cli))
    ours = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("uniprobe"):
            ours |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            ours |= {a.name for a in node.names if a.name.startswith("uniprobe")}
    allowed = {f"uniprobe.{n}" for n in uniprobe.__all__} | {"uniprobe", "uniprobe.testing.serve"}
    allowed |= {f"uniprobe.errors.{n}" for n in uniprobe.errors.__all__}
    assert ours <= allowed
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "uniprobe"
    }
    assert used
    assert used <= set(uniprobe.__all__)


@pytest.mark.parametrize(
    "module", [pytest.param(cli, id="cli"), pytest.param(uniprobe.api, id="api")]
)
def test_no_import_is_hidden_inside_a_function(module: ModuleType) -> None:
    hidden = [
        f"{node.name}: line {inner.lineno}"
        for node in ast.walk(ast.parse(inspect.getsource(module)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]
    assert hidden == []


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

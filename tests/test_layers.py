"""The layer order is a contract: every import goes down (pyproject's [tool.importlinter]).

errors/hashing/redact/_version → config/hub/limits/statistics/_registry → scenes → cases →
store → backends → scoring → runner → annotate → report | testing → api → cli.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "uniprobe"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(src: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_layers_contract_is_kept() -> None:
    done = _lint(ROOT / "src", ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 1 kept, 0 broken." in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    # A copy of the package in which the scenes layer imports the API, far above it.
    copy = tmp_path / "src" / "uniprobe"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("suites", "__pycache__"))
    geometry = copy / "scenes" / "geometry.py"
    geometry.write_text(geometry.read_text() + "\nfrom uniprobe.api import run  # noqa\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    done = _lint(tmp_path / "src", tmp_path / "pyproject.toml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Contracts: 0 kept, 1 broken." in done.stdout
    assert "uniprobe.scenes.geometry -> uniprobe.api" in done.stdout


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        out.append((name.removesuffix(".__init__"), ast.parse(path.read_text(), str(path))))
    return out


def _imports(tree: ast.Module) -> list[tuple[ast.ImportFrom | ast.Import, bool]]:
    """Every import with whether it sits inside a function (TYPE_CHECKING blocks left out)."""
    found: list[tuple[ast.ImportFrom | ast.Import, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child, in_function))
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(tree, False)
    return found


def _targets(node: ast.ImportFrom | ast.Import, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".")[: -node.level] if node.level else []
        return [".".join([*base, node.module] if node.module else base)]
    return [node.module or ""]


@pytest.mark.parametrize("module,tree", _modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_no_uniprobe_import_hides_inside_a_function(module: str, tree: ast.Module) -> None:
    hidden = [
        f"line {node.lineno}: {target}"
        for node, in_function in _imports(tree)
        if in_function
        for target in _targets(node, module)
        if target == "uniprobe" or target.startswith("uniprobe.")
    ]
    assert hidden == [], f"{module} imports uniprobe modules inside functions: {hidden}"


def test_only_the_cli_imports_the_package_root() -> None:
    offenders = [
        f"{module}:{node.lineno}"
        for module, tree in _modules()
        if module not in ("uniprobe", "uniprobe.cli")
        for node, _ in _imports(tree)
        if "uniprobe" in _targets(node, module)
    ]
    assert offenders == []

"""The suite a run was made with: found again by its content hash."""

from __future__ import annotations

from pathlib import Path

from uniprobe.cases.loader import load_suite
from uniprobe.cases.schema import Suite
from uniprobe.errors import CaseFileError, RunDirError, UnknownNameError
from uniprobe.store.rundir import RunDir

__all__ = ["suite_of_run"]


def suite_of_run(run_path: str | Path) -> Suite:
    """The suite a run was made with, checked against the hash in its manifest: from where
    it was loaded, else the built-in of that name (`core@seed=N` is rebuilt from its
    seed), else the copy kept in the run folder."""
    run = RunDir.open(Path(run_path))
    info = run.manifest().suite
    candidates: list[str | Path] = []
    if info.path and Path(info.path).exists():
        candidates.append(Path(info.path))
    candidates.append(info.name)
    last: Exception | None = None
    for candidate in candidates:
        try:
            suite = load_suite(candidate)
        except (UnknownNameError, CaseFileError) as exc:
            last = exc
            continue
        if suite.content_hash == info.hash:
            return suite
        last = RunDirError(
            f"{run_path}: suite '{info.name}' changed since the run was made "
            f"(hash {info.hash[:12]} in the manifest, {suite.content_hash[:12]} now)"
        )
    kept = run.suite_copy()
    if kept is not None and kept.content_hash == info.hash:
        return kept
    assert last is not None
    raise last

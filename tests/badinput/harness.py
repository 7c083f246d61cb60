"""The bad-input corpus's one rule, checked the same way for every input.

`refuse(cwd, *args)` runs the real `uniprobe` command in this process (fast: no
interpreter start per input) and checks what issue 11 asks of every bad input:

- the command exits with the expected status (2 unless told) and prints nothing on
  stdout;
- stderr is exactly one line, starting `error: `, with no traceback;
- it finished within a time bound and a memory bound (Python allocations traced by
  `tracemalloc`, which numpy and Pillow report to): a watchdog thread interrupts the
  command when it passes either, and the input then fails as "ran past a bound";
- nothing already on disk under `cwd` (or the extra `watch` paths) changed: every
  file's bytes are snapshotted before and compared after. New files are allowed only
  where `may_create` says so (e.g. nowhere, for most inputs).

It returns the error line so that each test asserts what the line names (the file,
the line number, the field).
"""

from __future__ import annotations

import _thread
import contextlib
import io
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from uniprobe import cli

SECONDS = 20.0
"""Time bound per input: a bad input must be refused within seconds."""
MEGABYTES = 256.0
"""Memory bound per input (peak traced Python allocations)."""


@dataclass
class Outcome:
    """What one command did: exit status, both streams, time and peak memory."""

    status: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    ran_past: str | None


def snapshot(paths: Iterable[Path]) -> dict[Path, bytes]:
    """Every file's bytes under each path (a file or a folder)."""
    files: dict[Path, bytes] = {}
    for root in paths:
        if root.is_file():
            files[root] = root.read_bytes()
        elif root.is_dir():
            for file in sorted(root.rglob("*")):
                if file.is_file():
                    files[file] = file.read_bytes()
    return files


@contextlib.contextmanager
def _watchdog(seconds: float, megabytes: float) -> Iterator[list[str]]:
    """Interrupt the main thread when the command passes the time or memory bound."""
    tripped: list[str] = []
    done = threading.Event()
    start = time.monotonic()

    def watch() -> None:
        while not done.wait(0.05):
            current, _ = tracemalloc.get_traced_memory()
            if current / 2**20 > megabytes:
                tripped.append(f"memory > {megabytes:.0f} MB")
            elif time.monotonic() - start > seconds:
                tripped.append(f"time > {seconds:.0f} s")
            if tripped:
                _thread.interrupt_main()
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield tripped
    finally:
        done.set()
        thread.join()


def invoke(
    cwd: Path, *args: str, seconds: float = SECONDS, megabytes: float = MEGABYTES
) -> Outcome:
    """Run `uniprobe ARGS` in-process from `cwd`, bounded in time and memory."""
    import os

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, Path.cwd()
    sys.argv = ["uniprobe", *args]
    os.chdir(cwd)
    status = 0
    tracemalloc.start()
    start = time.monotonic()
    tripped: list[str] = []
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _watchdog(seconds, megabytes) as tripped,
        ):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code
                status = code if isinstance(code, int) else (0 if code is None else 1)
            except KeyboardInterrupt:
                status = 130
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sys.argv = old_argv
        os.chdir(old_cwd)
    return Outcome(
        status=status,
        stdout=out.getvalue(),
        stderr=err.getvalue(),
        seconds=time.monotonic() - start,
        peak_mb=peak / 2**20,
        ran_past=tripped[0] if tripped else None,
    )


def refuse(
    cwd: Path,
    *args: str,
    status: int = 2,
    watch: Iterable[Path] = (),
    may_create: Callable[[Path], bool] = lambda _: False,
    seconds: float = SECONDS,
    megabytes: float = MEGABYTES,
) -> str:
    """Run a command that must refuse its input; return its one `error:` line.

    Asserts the exit status, an empty stdout, one stderr line starting `error: `, no
    traceback, the time and memory bounds, and that no file under `cwd` or `watch`
    changed (new files only where `may_create(path)` is true).
    """
    roots = [cwd, *watch]
    before = snapshot(roots)
    outcome = invoke(cwd, *args, seconds=seconds, megabytes=megabytes)
    assert outcome.ran_past is None, (
        f"ran past a bound ({outcome.ran_past}): {' '.join(args)}\n{outcome.stderr[-2000:]}"
    )
    assert "Traceback" not in outcome.stderr, outcome.stderr[-4000:]
    assert outcome.status == status, (outcome.status, outcome.stderr[-2000:])
    assert outcome.stdout == "", outcome.stdout[-2000:]
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, outcome.stderr[-2000:]
    assert lines[0].startswith("error: "), lines[0]
    after = snapshot(roots)
    changed = [p for p in before if after.get(p) != before[p]]
    assert not changed, f"changed on disk: {changed}"
    created = [p for p in after if p not in before and not may_create(p)]
    assert not created, f"created on disk: {created}"
    return lines[0]

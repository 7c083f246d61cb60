"""A progress display for runs: samples done, errors, cost; silent when not wanted."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["RunProgress"]


class RunProgress:
    """Two bars per run (generation, scoring) with live counters; a no-op when disabled."""

    def __init__(
        self, enabled: bool = True, console: Console | None = None, *, warnings: bool | None = None
    ) -> None:
        self.enabled = enabled
        self.warnings = enabled if warnings is None else warnings
        """Whether `warn` prints (default: when the bars show)."""
        self._console = console or Console(stderr=True)
        self._progress = (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=self._console,
                transient=False,
            )
            if enabled
            else None
        )

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def add(self, description: str, total: int, completed: int = 0) -> TaskID | None:
        """A new bar."""
        if self._progress is None:
            return None
        return self._progress.add_task(description, total=total, completed=completed, info="")

    def advance(self, task: TaskID | None, info: str = "") -> None:
        """One more item done on a bar."""
        if self._progress is not None and task is not None:
            self._progress.update(task, advance=1, info=info)

    def note(self, task: TaskID | None, info: str) -> None:
        """Update a bar's counters without advancing it."""
        if self._progress is not None and task is not None:
            self._progress.update(task, info=info)

    def warn(self, message: str) -> None:
        """Say something once, above the bars (nothing unless `warnings`)."""
        if self.warnings:
            self._console.print(
                f"warning: {message}", highlight=False, markup=False, soft_wrap=True
            )

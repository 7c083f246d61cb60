"""The errors uniprobe raises: one base class, and families a person can act on.

Bad data (case files, configs) carries its location; misuse of the API says what
to call instead; backend failures carry the backend, the status and whether a
retry could help. The CLI prints any `UniprobeError` as its message, without a
traceback, and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "BackendError",
    "CaseFileError",
    "ConfigError",
    "ErrorKind",
    "LabelFileError",
    "PreflightError",
    "Problem",
    "RunDirError",
    "UniprobeError",
    "UnknownNameError",
    "UsageError",
    "did_you_mean",
    "one_line",
]


class UniprobeError(Exception):
    """Base class of every error uniprobe raises on purpose."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the closest of `known`, or ""."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def one_line(exc: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message (at
    most 200 characters of it)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    text = text if len(text) <= 200 else f"{text[:197]}..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class Problem:
    """One problem found in a data file, located as precisely as we can."""

    message: str
    file: Path | None = None
    line: int | None = None
    case_id: str | None = None
    loc: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        what = []
        if self.case_id:
            what.append(f"case {self.case_id}")
        if self.loc:
            what.append(self.loc)
        prefix = f"{' · '.join(what)}: " if what else ""
        return f"{where}{prefix}{self.message}"


class CaseFileError(UniprobeError):
    """A case file (or suite) is invalid. Holds every problem found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self._format())

    def _format(self) -> str:
        lines = [str(p) for p in self.problems]
        if len(lines) == 1:
            return lines[0]
        files = {str(p.file) for p in self.problems if p.file is not None}
        where = f" in {files.pop()}" if len(files) == 1 else ""
        return "\n".join([f"{len(lines)} errors{where}", *(f"  {line}" for line in lines)])


class ConfigError(UniprobeError):
    """A configuration value (model option, CLI flag, config file) is invalid."""


class UnknownNameError(UniprobeError):
    """A name (model, judge, suite, policy) is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known_list = sorted(known)
        self.kind, self.name, self.known = kind, name, known_list
        hint = did_you_mean(name, known_list)
        listing = ", ".join(known_list) or "(none)"
        super().__init__(f"unknown {kind} '{name}'{hint or '.'} Known: {listing}")


class UsageError(UniprobeError):
    """The API or CLI was called in a way that cannot work (says what to do instead)."""


class PreflightError(UniprobeError):
    """What would make a run fail before it spends anything: a missing or rejected key, a
    model the provider does not offer, a judge policy that cannot read the model's images.
    Holds every problem found, one line each; nothing has been written."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class RunDirError(UniprobeError):
    """A run directory is missing, foreign, or inconsistent with the requested run."""


class LabelFileError(UniprobeError):
    """A file of human labels (to import) is invalid: the message names file, line and field."""


ErrorKind = Literal[
    "rate_limit", "server", "timeout", "network", "bad_response", "client", "auth", "config"
]


class BackendError(UniprobeError):
    """A model backend failed to answer a turn.

    `kind` says what failed; `retryable` whether trying again could help; `retry_after`
    how long the provider asked us to wait (seconds), if it said. Refusals and
    moderation blocks are not errors: they come back as a `Reply` with `refusal` set.
    """

    def __init__(
        self,
        message: str,
        *,
        backend: str,
        status: int | None = None,
        retryable: bool = False,
        kind: ErrorKind = "client",
        retry_after: float | None = None,
    ) -> None:
        self.backend, self.status, self.retryable = backend, status, retryable
        self.kind, self.retry_after = kind, retry_after
        super().__init__(f"{backend}: {message}")

"""Drafts: a file written whole beside the one it replaces, then swapped in.

`ScoresDraft` is how re-scoring writes: the new scores of a policy go to
`scores/.<policy>.jsonl.<pid>-<random>.tmp` and replace `scores/<policy>.jsonl` with
one `os.replace` once every sample is scored, so a kill at any moment leaves the old
file whole. A draft names its writer's pid, so that the next writer deletes the drafts
of processes that are gone and keeps those of one still running (`draft_pid`,
`process_alive`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from types import TracebackType

from uniprobe.store.records import ScoreRecord

__all__ = ["ScoresDraft", "draft_pid", "process_alive"]

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: the draft gets the usual 0o666 & ~umask


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def draft_pid(name: str) -> int | None:
    """The writer's pid in a draft's name `.<file>.<pid>-<random>.tmp`, else None."""
    stem = name.removesuffix(".tmp").rsplit(".", 1)[-1]
    pid, sep, _ = stem.partition("-")
    return int(pid) if sep and pid.isdigit() else None


class ScoresDraft:
    """The new scores file of one policy, written under a hidden name beside the old one
    and swapped in whole by `commit` (`os.replace`); `discard` (or leaving the `with`
    block by an exception) deletes it and leaves the old file as it was."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = target.parent / (f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        self._fd: int | None = None

    def __enter__(self) -> ScoresDraft:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~_UMASK)
        return self

    def append(self, record: ScoreRecord) -> None:
        """Add one sample's scores (kept in the draft until `commit`)."""
        assert self._fd is not None, "use ScoresDraft in a with block"
        os.write(self._fd, (record.model_dump_json() + "\n").encode("utf-8"))

    def commit(self) -> None:
        """Make the draft the policy's scores file, atomically and durably."""
        assert self._fd is not None, "use ScoresDraft in a with block"
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        os.replace(self.path, self.target)
        _fsync_dir(self.target.parent)

    def discard(self) -> None:
        """Delete the draft; the old scores file is untouched."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.unlink(missing_ok=True)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None and self._fd is not None:
            self.commit()
        else:
            self.discard()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

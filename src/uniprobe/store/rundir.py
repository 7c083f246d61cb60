"""A run directory on disk: append-only, content-addressed, safe to kill at any instant.

```
<run>/manifest.json        identity and totals (replaced atomically)
<run>/samples.jsonl        one line per (case, epoch)
<run>/images/<sha256>.png  every image once
<run>/scores/<policy>.jsonl one line per (case, epoch) per judge policy
<run>/suite.json           a copy of the suite's cases
```

Lines are appended with one `write` on an O_APPEND descriptor and fsynced, so a
line is either whole or (after a kill mid-write) a torn tail that the next writer
cuts off. Readers keep the first record of each sample key, so results arriving
twice (from a retry, or from several processes) never count twice.

Rules for what is read back:

* **A torn tail is not a record.** A last line without its newline (a writer killed
  mid-write) is skipped by readers and cut off by the next writer.
* **A damaged line anywhere else is refused**, never skipped: `RunDirError` names
  `FILE:LINE` and how to repair (a skipped sample would silently shrink the run).
* **Re-scoring never truncates.** `ScoresDraft` writes the new scores of a policy beside
  the old file under a hidden name (`scores/.<policy>.jsonl.<pid>-<random>.tmp`) and
  swaps it in with `os.replace` only when complete: killed at any moment, the previous
  scores stay whole. The next writer (`remove_partial_files`) deletes the drafts of
  processes that are gone.
* **Images are checked when read**: a missing file, bytes that do not match their hash
  or that do not decode raise `RunDirError` naming the file and the sample.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from PIL import Image
from pydantic import BaseModel, ValidationError

from uniprobe.cases.schema import Case, Suite
from uniprobe.errors import RunDirError
from uniprobe.hashing import sha256_bytes
from uniprobe.store.drafts import ScoresDraft, draft_pid, process_alive
from uniprobe.store.records import ImageRef, Manifest, SampleRecord, ScoreRecord, upgrade

__all__ = ["RunDir", "ScoresDraft", "atomic_write", "process_alive"]

R = TypeVar("R", bound=BaseModel)
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: files get the usual 0o666 & ~umask, not mkstemp's 0o600


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _repair_tail(path: Path) -> None:
    """Cut a torn last line (a write killed half-way) so the next append starts clean."""
    if not path.exists():
        return
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        chunk = 1 << 16
        pos = size
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            data = fh.read(pos - start)
            nl = data.rfind(b"\n")
            if nl >= 0:
                fh.truncate(start + nl + 1)
                return
            pos = start
        fh.truncate(0)


def _append_line(path: Path, record: BaseModel) -> None:
    line = record.model_dump_json() + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


_REPAIR_SAMPLES = (
    "delete that line (or restore the file) and re-run `uniprobe run --resume` to hold "
    "the sample again"
)
_REPAIR_SCORES = "re-score with `uniprobe score RUN --force` (the samples are untouched)"


def _repair_hint(path: Path) -> str:
    return _REPAIR_SCORES if path.parent.name == "scores" else _REPAIR_SAMPLES


def _read_lines(path: Path, model: type[R]) -> Iterator[R]:
    """The records of a JSON-lines file (see `_numbered_lines`)."""
    for _, record in _numbered_lines(path, model):
        yield record


def _numbered_lines(path: Path, model: type[R]) -> Iterator[tuple[int, R]]:
    """(line number, record) of a JSON-lines file; a torn tail is skipped, any other bad
    line raises `RunDirError` at `FILE:LINE` with how to repair."""
    if not path.exists():
        return
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read: {exc.strerror}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                return  # a torn tail from a killed writer: not a record
            if not raw.strip():
                continue
            try:
                record = model.model_validate(upgrade(json.loads(raw)))
            except (ValueError, ValidationError, RecursionError) as exc:
                first = _first_line(exc)
                raise RunDirError(
                    f"{path}:{number}: unreadable record: {first}; {_repair_hint(path)}"
                ) from None
            yield number, record


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"]))
        return f"{where}: {err['msg']}" if where else str(err["msg"])
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


K = TypeVar("K", SampleRecord, ScoreRecord)


def _drop_lines(path: Path, model: type[K], keys: set[str]) -> None:
    kept = [r for r in _read_lines(path, model) if r.key not in keys]
    atomic_write(path, b"".join(r.model_dump_json().encode("utf-8") + b"\n" for r in kept))


class RunDir:
    """One run's directory. Construct with `create` or `open`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # paths ----------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def samples_path(self) -> Path:
        return self.path / "samples.jsonl"

    @property
    def images_dir(self) -> Path:
        return self.path / "images"

    def scores_path(self, policy: str) -> Path:
        """The scores file of one judge policy."""
        return self.path / "scores" / f"{policy}.jsonl"

    # lifecycle --------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, manifest: Manifest) -> RunDir:
        """Start a new run here; the directory must not hold a run already."""
        run = cls(path)
        if run.manifest_path.exists():
            raise RunDirError(
                f"{path} already holds a run; resume it with --resume or choose another --out"
            )
        run.images_dir.mkdir(parents=True, exist_ok=True)
        run.write_manifest(manifest)
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run (its manifest must be readable)."""
        run = cls(path)
        if not run.manifest_path.is_file():
            raise RunDirError(f"{path} is not a run directory (no manifest.json)")
        run.manifest()
        return run

    def remove_partial_files(self) -> int:
        """Delete temporary files a killed writer left behind; returns how many.

        Scores drafts go only when their writer is gone (see `remove_stale_drafts`)."""
        stale = [*self.images_dir.glob(".*.tmp"), *self.path.glob(".*.tmp")]
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale) + self.remove_stale_drafts()

    def remove_stale_drafts(self) -> int:
        """Delete the scores drafts (`scores/.*.tmp`) of writers that are gone (killed);
        a `score --force` running beside this process keeps its draft. Returns how many."""
        stale = []
        for draft in (self.path / "scores").glob(".*.tmp"):
            pid = draft_pid(draft.name)
            if pid is None or not process_alive(pid):
                stale.append(draft)
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def manifest(self) -> Manifest:
        """The manifest as stored now."""
        try:
            return Manifest.model_validate(upgrade(json.loads(self.manifest_path.read_bytes())))
        except OSError as exc:
            raise RunDirError(f"{self.manifest_path}: cannot read: {exc.strerror}") from None
        except (ValueError, ValidationError, RecursionError) as exc:
            raise RunDirError(
                f"{self.manifest_path}: unreadable manifest: {_first_line(exc)}; restore it "
                "from a backup (a manifest cannot be rebuilt) or make the run again"
            ) from None

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace the manifest atomically."""
        atomic_write(self.manifest_path, manifest.model_dump_json(indent=2).encode("utf-8"))

    # images -----------------------------------------------------------------------------
    def put_image(self, data: bytes) -> ImageRef:
        """Store encoded image bytes once, by content hash; returns its reference."""
        try:
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                mime = _MIME.get(im.format or "", "application/octet-stream")
                im.verify()  # read it all: a truncated image fails here, not when judged
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise RunDirError(f"not an image ({len(data)} bytes): {exc}") from None
        ref = ImageRef(sha256=sha256_bytes(data), width=width, height=height, mime=mime)
        target = self.images_dir / ref.filename
        if not target.exists():
            atomic_write(target, data)
        return ref

    def image_path(self, ref: ImageRef) -> Path:
        """Where an image's bytes are."""
        return self.images_dir / ref.filename

    def load_image(self, ref: ImageRef, *, sample: str | None = None) -> Image.Image:
        """Decode a stored image (RGB), checked against its hash; `sample` (a key) names
        the sample that holds it in the error when the file is missing or damaged."""
        path = self.image_path(ref)
        of = f" (an image of sample {sample})" if sample else ""
        repair = (
            "restore the file from a backup, or delete the sample's line in samples.jsonl "
            "and re-run `uniprobe run --resume`"
        )
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise RunDirError(f"{path}: missing{of}; {repair}") from None
        except OSError as exc:
            raise RunDirError(f"{path}: cannot read{of}: {exc.strerror}; {repair}") from None
        if sha256_bytes(data) != ref.sha256:
            raise RunDirError(
                f"{path}: damaged{of}: its bytes do not match their hash "
                f"({len(data)} bytes); {repair}"
            )
        try:
            with Image.open(io.BytesIO(data)) as im:
                return im.convert("RGB")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise RunDirError(f"{path}: not a readable image{of} ({exc}); {repair}") from None

    # samples and scores -------------------------------------------------------------------
    def append_sample(self, record: SampleRecord) -> None:
        """Append one finished sample (repairs a torn tail first)."""
        _repair_tail(self.samples_path)
        _append_line(self.samples_path, record)

    def samples(self) -> dict[str, SampleRecord]:
        """Samples by key; the first record of a key wins."""
        out: dict[str, SampleRecord] = {}
        for rec in _read_lines(self.samples_path, SampleRecord):
            out.setdefault(rec.key, rec)
        return out

    def drop_samples(self, keys: Iterable[str]) -> None:
        """Forget these samples and their scores (to hold them again), each file rewritten
        atomically: scores first, so that a kill in between leaves no score without its
        sample's replacement."""
        gone = set(keys)
        if not gone:
            return
        for policy in self.policies():
            _drop_lines(self.scores_path(policy), ScoreRecord, gone)
        _drop_lines(self.samples_path, SampleRecord, gone)

    def replace_samples(self, records: Iterable[SampleRecord]) -> None:
        """Put these records in place of the samples of the same keys (their probes asked
        again), in one atomic rewrite: every other sample stays as it was and where it
        was; a key held twice keeps its first line only, as readers do. A key the run does
        not hold raises `RunDirError` and nothing changes."""
        new = {r.key: r for r in records}
        if not new:
            return
        kept: dict[str, SampleRecord] = {}
        for rec in _read_lines(self.samples_path, SampleRecord):
            kept.setdefault(rec.key, new.get(rec.key, rec))
        missing = sorted(set(new) - set(kept))
        if missing:
            raise RunDirError(f"{self.samples_path}: no sample {', '.join(missing[:3])} to replace")
        data = b"".join(r.model_dump_json().encode("utf-8") + b"\n" for r in kept.values())
        atomic_write(self.samples_path, data)

    def drop_orphan_scores(self) -> int:
        """Forget scores of samples the run does not hold (their line was deleted to be
        held again), so that a re-held sample is scored afresh; returns how many."""
        held = set(self.samples())
        dropped = 0
        for policy in self.policies():
            orphans = set(self.scores(policy)) - held
            if orphans:
                _drop_lines(self.scores_path(policy), ScoreRecord, orphans)
                dropped += len(orphans)
        return dropped

    def append_score(self, record: ScoreRecord) -> None:
        """Append one sample's verdicts under its policy."""
        path = self.scores_path(record.policy)
        path.parent.mkdir(parents=True, exist_ok=True)
        _repair_tail(path)
        _append_line(path, record)

    def scores(self, policy: str) -> dict[str, ScoreRecord]:
        """Scores of one policy by sample key; the first record of a key wins. A record
        filed under another policy's name is damage, refused at its line."""
        out: dict[str, ScoreRecord] = {}
        path = self.scores_path(policy)
        for number, rec in _numbered_lines(path, ScoreRecord):
            if rec.policy != policy:
                raise RunDirError(
                    f"{path}:{number}: a score of policy '{rec.policy}', not "
                    f"'{policy}'; {_REPAIR_SCORES}"
                )
            out.setdefault(rec.key, rec)
        return out

    def draft_scores(self, policy: str) -> ScoresDraft:
        """A new scores file for `policy`, swapped in whole when its `with` block ends
        (see `ScoresDraft`); the old file is not read, so a damaged one is replaced."""
        return ScoresDraft(self.scores_path(policy))

    def policies(self) -> list[str]:
        """Policies this run has scores for."""
        folder = self.path / "scores"
        return sorted(p.stem for p in folder.glob("*.jsonl")) if folder.is_dir() else []

    @property
    def suite_path(self) -> Path:
        return self.path / "suite.json"

    def keep_suite(self, suite: Suite) -> None:
        """Keep a copy of the suite's cases, so the run can be scored and reported alone."""
        if not self.suite_path.exists():
            data = {
                "name": suite.name,
                "hash": suite.content_hash,
                "file_hashes": suite.file_hashes,
                "cases": [c.to_dict() for c in suite.cases],
            }
            atomic_write(self.suite_path, json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def suite_copy(self) -> Suite | None:
        """The copy kept by `keep_suite` (cases whose images are files still need them);
        a damaged copy raises `RunDirError`."""
        if not self.suite_path.is_file():
            return None
        try:
            data = json.loads(self.suite_path.read_bytes())
            if not isinstance(data, dict):
                raise ValueError(f"expected a JSON object, got {type(data).__name__}")
            cases = tuple(Case.model_validate(c) for c in data["cases"])
            return Suite(name=data["name"], cases=cases, file_hashes=data.get("file_hashes", {}))
        except OSError as exc:
            raise RunDirError(f"{self.suite_path}: cannot read: {exc.strerror}") from None
        except (ValueError, ValidationError, RecursionError, KeyError, TypeError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else _first_line(exc)
            raise RunDirError(
                f"{self.suite_path}: damaged suite copy ({what}); restore it from a "
                "backup, or put the suite's files back where the run loaded them"
            ) from None

"""All hashing in one place: content hashes of images, files and canonical JSON."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = [
    "canonical_json",
    "sha256_bytes",
    "sha256_file",
    "sha256_json",
    "sha256_parts",
    "short_hash",
]


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of raw bytes (the identity of a stored image)."""
    return hashlib.sha256(data).hexdigest()


def sha256_parts(*parts: bytes) -> str:
    """Hex sha256 of the parts one after another, without joining them in memory."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_json(value: Any) -> str:
    """Hex sha256 of the canonical JSON of a value."""
    return sha256_bytes(canonical_json(value).encode("utf-8"))


def short_hash(value: str, n: int = 12) -> str:
    """The first `n` hex digits of a hash, for display and identifiers."""
    return value[:n]

"""Secrets out of everything uniprobe records or prints.

A provider can echo the key it was sent in an error body ("Incorrect API key provided:
sk-..."), and error text, refusals and raw replies end up in run folders, logs and
reports. `redact` replaces every configured secret, and anything shaped like a provider
key (OpenAI `sk-...`, Google `AIza...`), with `[redacted]`. Backends apply it where
provider answers and SDK exceptions enter our code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["REDACTED", "redact", "redact_data"]

REDACTED = "[redacted]"
"""What a secret is replaced with."""

_SHAPES = re.compile(
    r"\bsk-[A-Za-z0-9_\-]{8,}"  # OpenAI (sk-..., sk-proj-..., sk-svcacct-...)
    r"|\bAIza[0-9A-Za-z_\-]{20,}"  # Google API keys
)
_MIN_SECRET = 6
"""Shorter configured values are not treated as secrets (a dummy key like "k" would
otherwise blank out every letter k)."""


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with each of `secrets`, and anything shaped like a provider key, replaced."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len)[::-1]:
        text = text.replace(secret, REDACTED)
    return _SHAPES.sub(REDACTED, text)


def redact_data(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string redacted."""
    known = tuple(secrets)
    if isinstance(value, str):
        return redact(value, known)
    if isinstance(value, Mapping):
        return {k: redact_data(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, known) for v in value]
    return value

"""Faults the fake server can inject: which exist, where each applies, and when one fires.

A fault is queued for the next matching request(s) with `FakeServer.inject`, or
drawn at random for every request with the server's `fault_rate`. Each fault is
answered in the shape of the protocol of the path it hits (see `openai_wire` and
`gemini_wire`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from uniprobe.testing._wire import Endpoint

__all__ = [
    "DEFAULT_MIX",
    "FAULT_KINDS",
    "Fault",
    "FaultKind",
    "FaultSchedule",
    "applies",
]

FaultKind = Literal[
    "rate_limit",
    "rate_limit_ms",
    "quota",
    "server_error",
    "unavailable",
    "slow",
    "timeout",
    "truncated_json",
    "invalid_base64",
    "moderation_blocked",
    "prompt_blocked",
    "text_only",
    "no_image",
    "response_failed",
    "response_incomplete",
    "image_call_failed",
    "finish_reason",
    "image_url",
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)

DEFAULT_SECONDS: dict[FaultKind, float] = {
    "rate_limit": 1.0,
    "rate_limit_ms": 0.01,
    "slow": 2.0,
    "timeout": 30.0,
}
"""Default `Fault.seconds` per kind: the retry delay announced, or the time slept."""

DEFAULT_REASONS: dict[FaultKind, str] = {
    "response_incomplete": "content_filter",
    "response_failed": "server_error",
    "image_call_failed": "moderation_blocked",
    "finish_reason": "IMAGE_OTHER",
}
"""Default `Fault.reason` per kind: the incomplete reason, error code or finishReason sent."""

DEFAULT_MIX: tuple[FaultKind, ...] = (
    "rate_limit",
    "rate_limit_ms",
    "server_error",
    "unavailable",
    "truncated_json",
    "invalid_base64",
    "moderation_blocked",
    "prompt_blocked",
    "text_only",
    "no_image",
)
"""Kinds `fault_rate` draws from: everything that is quick and not fatal to a run
(no `quota`, `slow` or `timeout`)."""

_IMAGE_ENDPOINTS: frozenset[Endpoint] = frozenset(
    {"responses", "images.generations", "images.edits", "gemini.generate"}
)
_OPENAI_IMAGE: frozenset[Endpoint] = frozenset({"responses", "images.generations", "images.edits"})
_WHERE: dict[FaultKind, frozenset[Endpoint]] = {
    "invalid_base64": _IMAGE_ENDPOINTS,
    "moderation_blocked": _OPENAI_IMAGE,
    "prompt_blocked": frozenset({"gemini.generate"}),
    "text_only": frozenset({"responses", "gemini.generate"}),
    "no_image": frozenset({"responses", "gemini.generate"}),
    "response_failed": frozenset({"responses"}),
    "response_incomplete": frozenset({"responses"}),
    "image_call_failed": frozenset({"responses"}),
    "finish_reason": frozenset({"gemini.generate"}),
    "image_url": frozenset({"images.generations", "images.edits"}),
}


def applies(kind: FaultKind, endpoint: Endpoint) -> bool:
    """Whether a fault has a meaning on this endpoint (a Gemini block cannot hit OpenAI)."""
    where = _WHERE.get(kind)
    return where is None or endpoint in where


@dataclass(frozen=True)
class Fault:
    """One fault to inject.

    Attributes:
        kind: What goes wrong.
        seconds: For rate limits, the retry delay announced; for `slow` and
            `timeout`, how long the server sleeps. None: `DEFAULT_SECONDS`.
        reason: For `response_incomplete`, the `incomplete_details.reason`; for
            `response_failed` and `image_call_failed`, the error code; for
            `finish_reason`, the Gemini finishReason. None: `DEFAULT_REASONS`.
    """

    kind: FaultKind
    seconds: float | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault '{self.kind}'; known: {', '.join(FAULT_KINDS)}")

    @property
    def delay(self) -> float:
        """The seconds this fault announces or sleeps."""
        return self.seconds if self.seconds is not None else DEFAULT_SECONDS.get(self.kind, 0.0)

    @property
    def why(self) -> str:
        """The reason, error code or finishReason this fault sends."""
        return self.reason if self.reason is not None else DEFAULT_REASONS.get(self.kind, "")


@dataclass
class _Queued:
    fault: Fault
    path_prefix: str | None
    remaining: int


class FaultSchedule:
    """Queued faults plus a seeded random mix; thread-safe."""

    def __init__(
        self, *, rate: float = 0.0, seed: int = 0, mix: Sequence[FaultKind] = DEFAULT_MIX
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault_rate must be within 0..1, not {rate}")
        for kind in mix:
            Fault(kind)  # validates the name
        self.rate = rate
        self.mix = tuple(mix)
        self._rng = random.Random(seed)
        self._queue: list[_Queued] = []
        self._lock = threading.Lock()

    def inject(self, fault: Fault, *, path_prefix: str | None, times: int) -> None:
        """Queue a fault for the next `times` requests whose path starts with `path_prefix`."""
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        with self._lock:
            self._queue.append(_Queued(fault, path_prefix, times))

    def pending(self) -> int:
        """How many queued fault firings are left."""
        with self._lock:
            return sum(q.remaining for q in self._queue)

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._queue.clear()

    def take(self, path: str, endpoint: Endpoint) -> Fault | None:
        """The fault for this request, if any: the first matching queued one, else a
        random draw (one draw per request, so a seed gives the same sequence)."""
        with self._lock:
            for q in self._queue:
                if (q.path_prefix is None or path.startswith(q.path_prefix)) and applies(
                    q.fault.kind, endpoint
                ):
                    q.remaining -= 1
                    if q.remaining == 0:
                        self._queue.remove(q)
                    return q.fault
            if self.rate <= 0.0:
                return None
            roll, pick = self._rng.random(), self._rng.random()
        if roll >= self.rate:
            return None
        kinds = [k for k in self.mix if applies(k, endpoint)]
        return Fault(kinds[int(pick * len(kinds))]) if kinds else None

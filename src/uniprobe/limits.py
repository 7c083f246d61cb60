"""Being a good client: requests-per-minute limits, concurrency, and our own retries.

The SDKs' own retries are switched off in every backend so that one policy rules:
exponential backoff with jitter, capped, honouring the provider's Retry-After, with
rate-limit retries (429) counted apart from server errors. Refusals and moderation
blocks are outcomes and never come here.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from uniprobe.errors import BackendError

__all__ = ["Limiter", "RetryPolicy", "RetryStats", "call_with_retries"]

T = TypeVar("T")


class Limiter:
    """At most `concurrency` calls in flight and `rpm` calls started per minute."""

    def __init__(self, *, concurrency: int | None = None, rpm: float | None = None) -> None:
        self._slots = asyncio.Semaphore(concurrency) if concurrency else None
        self._interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def _pace(self) -> None:
        if not self._interval:
            return
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call` within the limits."""
        await self._pace()
        if self._slots is None:
            return await call()
        async with self._slots:
            return await call()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a failed call."""

    max_attempts: int = 6
    """Attempts in all, the first one included."""
    base_delay: float = 1.0
    """Seconds before the first retry; doubled for each next one."""
    max_delay: float = 60.0
    """Upper bound of any single wait (also of a provider's Retry-After)."""
    jitter: float = 0.25
    """Each computed wait is multiplied by a random factor in [1 - jitter, 1 + jitter]."""

    def delay(self, attempt: int, error: BackendError, rng: random.Random) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
        if error.retry_after is not None:
            return float(min(self.max_delay, max(0.0, error.retry_after)))
        wait: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return wait * rng.uniform(1 - self.jitter, 1 + self.jitter)


@dataclass
class RetryStats:
    """Retries so far, by kind (shown in the progress display)."""

    counts: Counter[str] = field(default_factory=Counter)

    def note(self, error: BackendError) -> None:
        """Count one retry of this error."""
        self.counts["429" if error.kind == "rate_limit" else error.kind] += 1

    def summary(self) -> str:
        """'retries: 429 x3, server x1' or ''."""
        if not self.counts:
            return ""
        return "retries: " + ", ".join(f"{k} x{v}" for k, v in sorted(self.counts.items()))


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    limiter: Limiter | None = None,
    stats: RetryStats | None = None,
    rng: random.Random | None = None,
    on_retry: Callable[[BackendError, float], None] | None = None,
) -> T:
    """Call until it succeeds, the error is not retryable, or attempts run out."""
    rng = rng or random.Random()
    attempt = 1
    while True:
        try:
            return await (limiter.run(call) if limiter else call())
        except BackendError as exc:
            if not exc.retryable or attempt >= policy.max_attempts:
                raise
            wait = policy.delay(attempt, exc, rng)
            if stats is not None:
                stats.note(exc)
            if on_retry is not None:
                on_retry(exc, wait)
            await asyncio.sleep(wait)
            attempt += 1

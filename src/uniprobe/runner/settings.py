"""How a run is carried out, defined once: the CLI builds a `RunSettings`, `uniprobe.run`
accepts one (or validates its keywords into one), and the runner reads it.

None of these settings changes what a model is asked; they say how often, how fast, where
to, with which judges and at what cost the conversations are held.

Ranges (a value outside is a `UsageError` naming the setting, before anything is
written): `epochs` 1 to 1000; `concurrency` 1 to 1024; `rpm` 0.01 to 1,000,000;
`max_cost` at least 0 (0: start nothing new); numbers finite; `out` not a file; `cache`
not a folder; `probes` a subset of knows, sees (each once; kept in that order).
`check_number` and `check_port` state the same rules for the other
commands' numbers (ports 0 to 65535, 0 meaning any free port).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from uniprobe.backends.base import ImageKind
from uniprobe.config import MAX_CONCURRENCY, RPM_RANGE, Config
from uniprobe.errors import UsageError
from uniprobe.limits import RetryPolicy
from uniprobe.store.records import ProbeKind

__all__ = [
    "MAX_EPOCHS",
    "MAX_SCENES",
    "MAX_SEED",
    "PROBE_KINDS",
    "RunSettings",
    "check_number",
    "check_port",
    "default_cache",
    "run_settings",
]

MAX_EPOCHS = 1000
"""The most repetitions of every case a run makes."""
MAX_SCENES = 1000
"""The most base scenes a calibration draws (each with 5 variants)."""
MAX_SEED = 2**32 - 1
"""The largest seed (seeds are 0 to 2**32 - 1, what every random generator takes)."""
PROBE_KINDS: tuple[ProbeKind, ...] = get_args(ProbeKind)
"""The probes a run may ask, in the order they are asked at a turn: knows, sees."""


def check_number(
    name: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    above: bool = False,
) -> None:
    """Raise `UsageError` unless `value` is a finite number within [low, high] (above
    `low` when `above`); the message names the setting and the value given."""
    bad = isinstance(value, bool) or not math.isfinite(value)
    bad = bad or (low is not None and (value <= low if above else value < low))
    bad = bad or (high is not None and value > high)
    if not bad:
        return
    if low is not None and high is not None:
        want = f"between {_num(low)} and {_num(high)}"
    elif low is not None:
        want = f"{'greater than' if above else 'at least'} {_num(low)}"
    else:
        want = f"at most {_num(high)}" if high is not None else "a finite number"
    raise UsageError(f"{name} must be {want}, not {value}")


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def check_port(port: int, name: str = "port") -> None:
    """A TCP port to listen on: 1 to 65535, or 0 for any free port."""
    if isinstance(port, bool) or not 0 <= port <= 65535:
        raise UsageError(f"{name} must be between 0 and 65535 (0: any free port), not {port}")


class RunSettings(BaseModel):
    """Everything `uniprobe run` / `uniprobe.run(...)` takes besides the suite and models."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, use_attribute_docstrings=True
    )

    out: Path = Path("runs")
    """Parent folder of the run folders (not a file)."""
    epochs: int = 1
    """Repetitions of every case (1 to 1000)."""
    resume: bool = False
    """Continue the runs already in --out."""
    concurrency: int = 8
    """Conversations at once per model (1 to 1024)."""
    policy: str | None = None
    """Judge policy to score with (default: reference, for the reference models only)."""
    images: ImageKind | None = None
    """What the models draw, over their backends' own declaration (`synthetic` for the
    reference backends, `any` image otherwise): `synthetic` declares models known to draw
    the built-in renderer's scenes (the fake provider's painter) so that the reference
    judge may read them."""
    options: Mapping[str, Mapping[str, Any]] = Field(default_factory=dict)
    """Options by model name (over the config file's [models."<name>"])."""
    judge_options: Mapping[str, Mapping[str, Any]] = Field(default_factory=dict)
    """Options by judge name (over the config file's [judges.<name>])."""
    score: bool = True
    """Score as samples finish."""
    progress: bool = False
    """Show progress bars."""
    warnings: bool = False
    """Say at the start, on stderr, what will make costs unknown (unpriced or retired models)."""
    rpm: float | None = None
    """Requests per minute to the provider (0.01 to 1,000,000)."""
    max_cost: float | None = None
    """Stop starting conversations after this many USD (resumable; at least 0)."""
    cache: Path | None = None
    """SQLite reply cache shared by runs (None: no cache)."""
    config: Config | Path | None = None
    """The configuration, or its file (None: $UNIPROBE_CONFIG, else ./uniprobe.toml)."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    """Retries of failed calls."""
    probes: tuple[ProbeKind, ...] = ()
    """Probes to ask at every turn with checks, in branches the conversation never sees:
    knows (before drawing: what should the image show?), sees (after: what does it show?).
    Each is one more call per checked turn; the model must answer in words."""

    @field_validator("options", "judge_options", "retry", mode="before")
    @classmethod
    def _none_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:  # `uniprobe.run(..., options=None)` has always meant "none"
            return RetryPolicy() if info.field_name == "retry" else {}
        return value

    @field_validator("epochs", "concurrency", "rpm", "max_cost")
    @classmethod
    def _in_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        # a UsageError (not a ValueError) passes through pydantic as it is
        name = str(info.field_name)
        if value is None:
            return None
        if name == "epochs":
            check_number(name, value, 1, MAX_EPOCHS)
        elif name == "concurrency":
            check_number(name, value, 1, MAX_CONCURRENCY)
        elif name == "rpm":
            check_number(name, value, *RPM_RANGE)
        else:
            check_number(name, value, 0)
        return value

    @field_validator("probes", mode="before")
    @classmethod
    def _probe_words(cls, value: Any) -> Any:
        """'knows,sees' or a sequence of words: each a known probe, once, in ask order."""
        if value is None:
            return ()
        words = value.split(",") if isinstance(value, str) else list(value)
        words = [w.strip() if isinstance(w, str) else w for w in words]
        words = [w for w in words if w != ""]
        for word in words:
            if word not in PROBE_KINDS:
                raise UsageError(
                    f"probes: unknown probe {word!r}; use {' or '.join(PROBE_KINDS)} "
                    "(or both: knows,sees)"
                )
        return tuple(k for k in PROBE_KINDS if k in words)

    @field_validator("out")
    @classmethod
    def _out_is_a_folder(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise UsageError(f"out: {value} is a file, not a folder for runs")
        return value

    @field_validator("cache")
    @classmethod
    def _cache_is_a_file(cls, value: Path | None) -> Path | None:
        if value is not None and value.is_dir():
            raise UsageError(f"cache: {value} is a folder, not a cache file")
        return value


def run_settings(settings: RunSettings | None = None, **changes: Any) -> RunSettings:
    """`settings` (default: the defaults) with `changes`, validated; a bad or unknown
    setting raises `UsageError` naming it."""
    base = {} if settings is None else dict(settings)
    try:
        return RunSettings.model_validate({**base, **changes})
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise UsageError(f"unknown run setting '{name}'") from None
        raise UsageError(f"run setting '{name}': {err['msg']}") from None


def default_cache(models: Sequence[str], out: str | Path) -> Path | None:
    """The reply cache a run uses unless told otherwise: OUT/cache.sqlite when any of
    `models` is a real model (not a `reference/` one), else none."""
    real = [m for m in models if not m.startswith("reference/")]
    return Path(out) / "cache.sqlite" if real else None

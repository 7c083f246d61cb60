"""How a run is carried out, defined once: the CLI builds a `RunSettings`, `uniprobe.run`
accepts one (or validates its keywords into one), and the runner reads it.

None of these settings changes what a model is asked; they say how often, how fast, where
to, with which judges and at what cost the conversations are held.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from uniprobe.backends.base import ImageKind
from uniprobe.config import Config
from uniprobe.errors import UsageError
from uniprobe.limits import RetryPolicy

__all__ = ["RunSettings", "default_cache", "run_settings"]


class RunSettings(BaseModel):
    """Everything `uniprobe run` / `uniprobe.run(...)` takes besides the suite and models."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, use_attribute_docstrings=True
    )

    out: Path = Path("runs")
    """Parent folder of the run folders."""
    epochs: int = 1
    """Repetitions of every case."""
    resume: bool = False
    """Continue the runs already in --out."""
    concurrency: int = 8
    """Conversations at once per model."""
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
    """Requests per minute to the provider."""
    max_cost: float | None = None
    """Stop starting conversations after this many USD (resumable)."""
    cache: Path | None = None
    """SQLite reply cache shared by runs (None: no cache)."""
    config: Config | Path | None = None
    """The configuration, or its file (None: $UNIPROBE_CONFIG, else ./uniprobe.toml)."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    """Retries of failed calls."""

    @field_validator("options", "judge_options", "retry", mode="before")
    @classmethod
    def _none_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:  # `uniprobe.run(..., options=None)` has always meant "none"
            return RetryPolicy() if info.field_name == "retry" else {}
        return value

    @field_validator("epochs", "concurrency")
    @classmethod
    def _at_least_one(cls, value: int, info: ValidationInfo) -> int:
        # a UsageError (not a ValueError) passes through pydantic as it is
        if value < 1:
            raise UsageError(f"{info.field_name} must be at least 1")
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

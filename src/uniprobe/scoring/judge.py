"""The judge protocol: a check and what the judge may look at, in; a verdict, out.

A judge answers only the check kinds it declares. It sees canvases (pixels), the
case (its text and the scenes it ships), never anything a generator wrote about
its own output. When it cannot decide, it says `unknown` with the reason.

A judge class has an `Options` model (validated; thresholds, model ids) and is made
with `make_judge(name, options, config)`. Two methods are optional:

* `prepare(queries)`: every (check, context) the engine may ask about one sample,
  before it asks; a judge that calls a model answers them in one call per canvas and
  remembers the answers (`judge` then reads them).
* `aclose()`: release clients and models.

A judge whose answers depend on data that changes after a run is scored (people's
labels) sets `volatile = True`; scoring under a policy that uses it always re-scores
every sample rather than keeping earlier scores.

A judge that spends (API calls) books it on `ctx.ledger`; the engine stores the
total per sample in its score record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError

from uniprobe._registry import Registry
from uniprobe.errors import ConfigError
from uniprobe.scenes.geometry import Box, scale
from uniprobe.store.records import ImageRef, JudgeUsage, Status

if TYPE_CHECKING:
    from uniprobe.cases.schema import Case
    from uniprobe.config import Config

__all__ = [
    "Canvas",
    "Judge",
    "JudgeContext",
    "JudgeOptions",
    "JudgeResult",
    "Ledger",
    "judges",
    "make_judge",
]


class JudgeOptions(BaseModel):
    """Base of every judge's options: unknown fields are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def public(self) -> dict[str, Any]:
        """The options as JSON, fit to record (no secrets: judges keep keys in config)."""
        return self.model_dump(mode="json")


class Ledger:
    """What judges spent on one sample, by judge name."""

    def __init__(self) -> None:
        self.usage: dict[str, JudgeUsage] = {}

    def add(
        self,
        judge: str,
        *,
        calls: int = 1,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost_usd: float | None = None,
    ) -> None:
        """Book one or more calls. A cost of None (unknown price) stays unknown in the sum."""
        u = self.usage.get(judge) or JudgeUsage()
        self.usage[judge] = JudgeUsage(
            calls=u.calls + calls,
            input_tokens=u.input_tokens + (input_tokens or 0),
            output_tokens=u.output_tokens + (output_tokens or 0),
            cost_usd=None
            if cost_usd is None or (u.cost_usd is None and u.calls > 0)
            else (u.cost_usd or 0.0) + cost_usd,
        )


@dataclass(frozen=True)
class Canvas:
    """The image a check looks at: what the model drew in the turn, or the latest
    earlier image (attached or drawn) when it drew nothing."""

    turn: int
    image: Image.Image | None
    ref: ImageRef | None
    drawn: bool
    """True if the model produced this image in `turn` itself."""


@dataclass(frozen=True)
class JudgeResult:
    """A judge's answer about one check."""

    status: Status
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JudgeContext:
    """What a judge may consult for one check."""

    case: Case
    turn: int
    """The turn the check belongs to (1-based)."""
    canvas: Canvas
    """The canvas the check is judged on (its own `turn:` if it names one)."""
    references: dict[str, Canvas]
    """Images a comparison can name: 'turn:N' canvases and case images by name."""
    parts: dict[str, Box]
    """Boxes of the reference scene's named parts, in that scene's pixels."""
    parts_size: tuple[int, int] | None
    """(width, height) of the scene the part boxes belong to."""
    ledger: Ledger = field(default_factory=Ledger)
    """Where a judge books the calls it makes for this sample."""
    run: Path | None = None
    """The run folder being scored, for judges that read files kept beside the run log
    (the human judge's labels); None outside a run (calibration, tests)."""

    def part_box(self, name: str, size: tuple[int, int]) -> Box | None:
        """A part's box mapped onto an image of `size` (x and y scaled independently)."""
        box = self.parts.get(name)
        if box is None or self.parts_size is None:
            return box
        return scale(box, self.parts_size, size)


@runtime_checkable
class Judge(Protocol):
    """Anything that can judge some check kinds."""

    @property
    def name(self) -> str:
        """Registry name."""
        ...

    @property
    def version(self) -> str:
        """Bumped whenever verdicts may change."""
        ...

    @property
    def kinds(self) -> frozenset[str]:
        """Check kinds this judge answers."""
        ...

    @property
    def options(self) -> JudgeOptions:
        """The judge's validated options."""
        ...

    async def judge(self, check: Any, ctx: JudgeContext) -> JudgeResult:
        """Decide one check on `ctx.canvas`."""
        ...


class JudgeClass(Protocol):
    """What the registry holds: a judge class with its options model."""

    Options: ClassVar[type[JudgeOptions]]

    def __call__(self, options: Any = None, *, config: Config | None = None) -> Judge: ...


judges: Registry[Any] = Registry("judge")
"""Judge classes by name; register with `@judges.register("name")`."""


def make_judge(
    name: str, options: Mapping[str, Any] | None = None, config: Config | None = None
) -> Judge:
    """A judge by registry name with its options validated (ConfigError names the field)."""
    cls: JudgeClass = judges.get(name)
    try:
        opts = cls.Options.model_validate(dict(options or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"judge '{name}': option {where}: {err['msg']}") from None
    judge: Judge = cls(opts, config=config)
    return judge

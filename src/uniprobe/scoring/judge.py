"""The judge contract: a check and what the judge may look at, in; a verdict, out.

A judge answers only the check kinds it declares. It sees canvases (pixels), the
case (its text and the scenes it ships), never anything a generator wrote about
its own output. When it cannot decide, it says `unknown` with the reason.

A judge subclasses `Judge` and writes one method, `judge(check, ctx)`. It declares
`name` (its registry name), `version` (bumped whenever verdicts may change), `kinds`
(the check kinds it answers), `reads` (the kind of image it can read: `any`, the
default, or only the built-in renderer's `synthetic` scenes; preflight refuses a run
whose policy sends a check to a judge that cannot read what the model draws) and an
`Options` model (validated; thresholds, model
ids), and is registered with `@judges.register(name)`; `make_judge(name, options,
config)` makes one. Every other hook has a default, and the engine and policies call
them all, unconditionally:

* `prepare(queries)` (default: nothing): every (check, context) the engine may ask
  about one sample, before it asks; a judge that calls a model answers them in one
  call per canvas and remembers the answers (`judge` then reads them).
* `needs()` (default: none) names other judges this one uses; the policy makes them
  and hands every judge all of its peers through `bind(peers)` (default: nothing).
* `aclose()` (default: nothing): release clients and models.
* `volatile` (default False): True for a judge whose answers depend on data that
  changes after a run is scored (people's labels); scoring under a policy that uses
  it always re-scores every sample rather than keeping earlier scores.

Judges that play a part for another judge offer a role, checked with `isinstance`
when they are put together (a misfit raises `UsageError`): a `Locator` finds an
object word's boxes (pixels locates `outside_objects` with one), a `Proposer`
proposes boxes and decides from given ones, a `Verifier` confirms crops
(`verify(proposer, verifier)`).

A judge that spends (API calls) books it on `ctx.ledger`; the engine stores the
total per sample in its score record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError

from uniprobe._registry import Registry
from uniprobe.backends.base import ImageKind
from uniprobe.cases.checks import Check
from uniprobe.errors import ConfigError
from uniprobe.hashing import sha256_bytes
from uniprobe.scenes.geometry import Box, scale
from uniprobe.scoring.boxes import Found
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
    "Locator",
    "Proposer",
    "Verifier",
    "canvas_key",
    "image_key",
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


def canvas_key(canvas: Canvas) -> str | None:
    """What identifies a canvas's pixels: its stored image's sha256, else a hash of its
    pixels; None without an image."""
    if canvas.image is None:
        return None
    return canvas.ref.sha256 if canvas.ref is not None else image_key(canvas.image)


def image_key(image: Image.Image) -> str:
    """A hash of an image's pixels (for images not stored by the run)."""
    return "pixels:" + sha256_bytes(f"{image.mode}:{image.size}:".encode() + image.tobytes())


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


class Judge(ABC):
    """Base of every judge: implement `judge`; every optional hook has a default."""

    name: str
    """Registry name."""
    version: str
    """Bumped whenever verdicts may change."""
    kinds: frozenset[str]
    """Check kinds this judge answers."""
    reads: ClassVar[ImageKind] = "any"
    """The kind of image it can read: `any`, or only `synthetic` scenes of the built-in
    renderer (the reference judge). Checked by preflight against what the model draws."""
    volatile: bool = False
    """True when verdicts depend on data that changes after scoring (people's labels)."""
    options: JudgeOptions
    """The judge's validated options."""
    Options: ClassVar[type[JudgeOptions]] = JudgeOptions
    """The options model `make_judge` validates a judge's options with."""

    def __init__(self, options: Any = None, *, config: Config | None = None) -> None:
        self.options = self.Options.model_validate(options or {})

    @abstractmethod
    async def judge(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Decide one check on `ctx.canvas`."""

    async def prepare(self, queries: Sequence[tuple[Check, JudgeContext]]) -> None:
        """Everything the engine may ask about one sample, before it asks (default: no-op)."""
        return None

    def needs(self) -> list[str]:
        """Names of other judges this one uses (default: none)."""
        return []

    def bind(self, peers: Mapping[str, Judge]) -> None:
        """Take the judges named by `needs` from the policy's judges (default: no-op)."""
        return None

    async def aclose(self) -> None:
        """Release clients and models (default: no-op)."""
        return None


@runtime_checkable
class Locator(Protocol):
    """Finds the boxes of an object word on an image (the detector judge is one)."""

    def locate(self, image: Image.Image, word: str) -> list[Box]:
        """Boxes in the image's pixels; ValueError with a reason if it cannot."""
        ...


@runtime_checkable
class Proposer(Protocol):
    """A judge that proposes boxes and decides from given ones (the detector)."""

    def words_for(self, check: Check, ctx: JudgeContext) -> list[tuple[Canvas, str]]:
        """The (canvas, object word) pairs whose boxes deciding `check` takes."""
        ...

    def found_on(self, canvas: Canvas, words: Sequence[str]) -> dict[str, list[Found]]:
        """Proposed boxes of each word on a canvas; ValueError with a reason if it cannot."""
        ...

    def decide_from(
        self,
        check: Check,
        ctx: JudgeContext,
        found: Mapping[str, Sequence[Found]],
        *,
        reference: Mapping[str, Sequence[Found]] | None = None,
    ) -> JudgeResult:
        """Decide `check` on the given boxes (`reference`: those of a compared canvas)."""
        ...


@runtime_checkable
class Verifier(Protocol):
    """A judge that says whether crops show named objects (the VLM)."""

    async def verify(
        self, crops: Sequence[tuple[Image.Image, str]], ledger: Ledger
    ) -> list[bool | None]:
        """Per crop: True (shows it), False (does not), None (cannot tell)."""
        ...


judges: Registry[type[Judge]] = Registry("judge")
"""Judge classes by name; register with `@judges.register("name")`."""


def make_judge(
    name: str, options: Mapping[str, Any] | None = None, config: Config | None = None
) -> Judge:
    """A judge by registry name with its options validated (ConfigError names the field)."""
    cls = judges.get(name)
    try:
        opts = cls.Options.model_validate(dict(options or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"judge '{name}': option {where}: {err['msg']}") from None
    return cls(opts, config=config)

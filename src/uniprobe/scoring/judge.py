"""The judge protocol: a check and what the judge may look at, in; a verdict, out.

A judge answers only the check kinds it declares. It sees canvases (pixels), the
case (its text and the scenes it ships), never anything a generator wrote about
its own output. When it cannot decide, it says `unknown` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from PIL import Image

from uniprobe._registry import Registry
from uniprobe.store.records import ImageRef, Status

if TYPE_CHECKING:
    from uniprobe.cases.schema import Case
    from uniprobe.scenes.render import Box

__all__ = ["Canvas", "Judge", "JudgeContext", "JudgeResult", "judges"]


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

    def part_box(self, name: str, size: tuple[int, int]) -> Box | None:
        """A part's box mapped onto an image of `size` (x and y scaled independently)."""
        box = self.parts.get(name)
        if box is None or self.parts_size is None:
            return box
        sx, sy = size[0] / self.parts_size[0], size[1] / self.parts_size[1]
        return (round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy))


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

    async def judge(self, check: Any, ctx: JudgeContext) -> JudgeResult:
        """Decide one check on `ctx.canvas`."""
        ...


judges: Registry[type[Judge]] = Registry("judge")
"""Judge classes by name; register with `@judges.register("name")`."""

"""`reference/oracle` and `reference/literal`: generators that need nothing external.

They read the case (they are references, not models), plan a synthetic scene for
each turn and render it. They never fake success: they return pixels, and the
judge decides. The oracle shows what a model that understood would draw; the
literal reference shows the literal reading, so judges can be calibrated against
both and the whole pipeline runs offline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from uniprobe.backends.base import (
    Backend,
    Capabilities,
    Conversation,
    ImageData,
    Reply,
    Usage,
    UserTurn,
)
from uniprobe.backends.reference.planner import Planner
from uniprobe.backends.registry import backends
from uniprobe.errors import UsageError
from uniprobe.scenes.render import render_scene, to_png

__all__ = ["ReferenceBackend"]


@backends.register("reference")
class ReferenceBackend(Backend):
    """Synthetic-scene generators that follow the case's checks (oracle) or their
    literal alternatives (literal)."""

    provider: ClassVar[str] = "reference"
    models: ClassVar[tuple[str, ...] | None] = ("oracle", "literal")
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=True,
        edits=True,
        max_input_images=8,
        seed=True,
        text_output=True,
        protocol="reference",
        reads_expectations=True,
        draws="synthetic",
    )

    class Options(Backend.Options):
        """Options of the reference backends."""

        size: int = Field(512, ge=128, le=2048)
        """Canvas side in pixels."""
        latency: float = Field(0.0, ge=0.0, le=60.0)
        """Seconds to wait before each reply (to exercise the runner)."""

    options: Options

    def __init__(self, model: str, options: Mapping[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(model, options, **kw)
        self._planners: dict[tuple[str, int], Planner] = {}

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        ctx = conversation.context
        if ctx.case is None:
            raise UsageError("reference backends need the case in the session context")
        if self.options.latency:
            await asyncio.sleep(self.options.latency)
        key = (ctx.case_id, ctx.epoch)
        planner = self._planners.get(key)
        if planner is None:
            planner = Planner(
                ctx.case, literal=self.model == "literal", seed=ctx.seed, size=self.options.size
            )
            self._planners[key] = planner
        scene = await asyncio.to_thread(planner.scene, turn.index)
        if turn.index == len(ctx.case.turns):
            self._planners.pop(key, None)  # the session is over
        if scene is None:
            text = (
                "Understood."
                if not ctx.case.turns[turn.index - 1].expect
                else ("Nothing to draw or change for that request.")
            )
            return Reply(text=text, raw_meta={"reference": self.model})
        png = await asyncio.to_thread(lambda: to_png(render_scene(scene).image))
        return Reply(
            images=(ImageData(png),),
            usage=Usage(images=1),
            cost_usd=0.0,
            raw_meta={"reference": self.model},
        )

"""`plan(<planner> → <image model>)`: the decoupled baseline, a planner that understands and
an image model that draws what it is told.

Each turn, the *planner* (any backend whose capabilities say `probes`: it answers in
words) is asked once, with `PLANNER_PROMPT`: the dialogue so far (every user message,
and what was drawn or said for it), the user's new message, and the images the message
attaches, else the current canvas. It answers with a JSON plan `{"action": "draw" |
"edit" | "none", "instruction": ..., "reply": ...}` in which every rule, condition and
retraction of the dialogue is already resolved. Then:

* `draw`: the *image model* gets one user turn with the instruction, in a fresh
  conversation (it never sees the dialogue);
* `edit`: the same, with the current canvas attached; when there is no canvas, or the
  image model cannot edit, the instruction is drawn afresh (it is self-contained);
* `none`: nothing is drawn; the reply is the planner's words.

A planner that refuses makes the turn a refusal. A plan that does not parse is a
`BackendError(kind="bad_response")` naming the planner (retryable: a second answer may
parse). The reply's `raw_meta["plan"]` holds the plan text; its cost and usage are the
sums of both calls (a cost is None when either is unknown; a token count when either
is unreported); its words are the plan's `reply` (else the image model's); its
`revised_prompt` the image model's, else the instruction.

`ask` (probes) goes to the planner, with the dialogue rendered the same way.

The *canvas* is the last image attached to the turn, else the latest image of the
conversation (drawn or attached). Context reaches the model only through the planner,
so the protocol is `planned:<planner protocol>><image protocol>`, its own track.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from uniprobe.backends.base import (
    Backend,
    Capabilities,
    Conversation,
    Exchange,
    ImageData,
    ModelListings,
    Reply,
    Usage,
    UserTurn,
)
from uniprobe.errors import BackendError

__all__ = [
    "ARROW",
    "PLANNER_PROMPT",
    "PLAN_SCHEMA",
    "Plan",
    "PlanBackend",
    "canvas",
    "compose",
    "dialogue_lines",
    "parse_plan",
    "planner_prompt",
]

ARROW = "→"
"""The arrow of a normalised plan name (`->` is read as the same)."""

PLANNER_PROMPT = """\
You are the planner of an image model. The image model draws exactly what one \
instruction says and remembers nothing, so you hold the conversation for it.

The dialogue so far:
{dialogue}

The user's new message:
Turn {index}. User: {request}

{canvas}

Decide what the image model must do now. Apply every rule the user set earlier and has \
not withdrawn (numbers to change, directions, colours or words to swap, things that must \
never or always appear, a style for every image); a later rule replaces an earlier one \
of the same kind. Resolve conditions on what the current canvas shows. Then answer with \
JSON only: {{"action": "draw" | "edit" | "none", "instruction": "...", "reply": "..."}}
- action: "draw" a new image, "edit" the current canvas, or "none" (the message only \
sets a rule, or asks for something the rules forbid).
- instruction: one explicit, self-contained instruction for the image model, with every \
number, direction, colour and object resolved (write "5 dolphins", never "2 dolphins \
plus 3"); empty for "none".
- reply: what you tell the user, in words."""
"""The planner's question; `{dialogue}`, `{index}`, `{request}`, `{canvas}` are filled in
(see `planner_prompt`)."""

ASK_PROMPT = """\
You are the planner of an image model, which draws what you tell it.

The dialogue so far:
{dialogue}

{canvas}

Turn {index}. User: {request}"""
"""A question in words (a probe): the dialogue as the planner sees it, then the question."""

NO_DIALOGUE = "(nothing yet)"
CANVAS_ATTACHED = "The current canvas is attached."
NO_CANVAS = "There is no canvas yet."

PLAN_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["draw", "edit", "none"]},
        "instruction": {"type": "string"},
        "reply": {"type": "string"},
    },
    "required": ["action", "instruction", "reply"],
    "additionalProperties": False,
}
"""The JSON schema the planner's answer follows."""


class Plan(BaseModel):
    """A planner's answer for one turn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["draw", "edit", "none"]
    """Draw a new image, edit the canvas, or draw nothing."""
    instruction: str = ""
    """The self-contained instruction for the image model."""
    reply: str = ""
    """The words for the user."""


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def parse_plan(text: str) -> Plan:
    """Read a planner's answer: a JSON object (a ```json fence around it is allowed).

    Raises:
        ValueError: with a one-line reason, when it is not a plan (not JSON, not an
            object, an unknown action or key, or `draw`/`edit` without an instruction).
    """
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at {exc.pos})") from None
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "plan"
        raise ValueError(f"{where}: {err['msg']}") from None
    if plan.action != "none" and not plan.instruction.strip():
        raise ValueError(f"action {plan.action!r} without an instruction")
    return plan


def canvas(conversation: Conversation, turn: UserTurn) -> ImageData | None:
    """The image a turn works on: its last attachment, else the conversation's latest
    image (drawn or attached), else None."""
    if turn.images:
        return turn.images[-1]
    for ex in reversed(conversation.history):
        if ex.reply.images:
            return ex.reply.images[-1]
        if ex.turn.images:
            return ex.turn.images[-1]
    return None


def _shown(turn: UserTurn, current: ImageData | None) -> tuple[ImageData, ...]:
    """What the planner sees of the images: the turn's attachments, else the canvas."""
    if turn.images:
        return turn.images
    return (current,) if current is not None else ()


def _said(ex: Exchange) -> str:
    """What the planned model did for an earlier turn, in words."""
    r = ex.reply
    if r.refusal is not None:
        return f"refused: {r.refusal}"
    raw = r.raw_meta.get("plan")
    plan: Plan | None = None
    if isinstance(raw, str):
        try:
            plan = parse_plan(raw)
        except ValueError:
            plan = None
    if r.images:
        what = plan.instruction if plan is not None else (r.revised_prompt or "an image")
        verb = "edited the canvas" if plan is not None and plan.action == "edit" else "drew"
        return f"{verb}: {what}"
    return f"answered in words: {r.text or ''}".rstrip()


def dialogue_lines(conversation: Conversation) -> list[str]:
    """The dialogue so far, two lines a turn: 'Turn N. User: ...' (with the number of
    images attached, if any) and 'Turn N. You: drew: ...' / 'answered in words: ...'."""
    lines: list[str] = []
    for ex in conversation.history:
        n = len(ex.turn.images)
        attached = f" (attaching {n} image{'s' if n > 1 else ''})" if n else ""
        lines.append(f"Turn {ex.turn.index}. User{attached}: {ex.turn.text}")
        lines.append(f"Turn {ex.turn.index}. You: {_said(ex)}")
    return lines


def _fill(template: str, conversation: Conversation, turn: UserTurn) -> str:
    shown = "\n".join(dialogue_lines(conversation)) or NO_DIALOGUE
    has_canvas = canvas(conversation, turn) is not None
    return template.format(
        dialogue=shown,
        index=turn.index,
        request=turn.text,
        canvas=CANVAS_ATTACHED if has_canvas else NO_CANVAS,
    )


def planner_prompt(conversation: Conversation, turn: UserTurn) -> str:
    """`PLANNER_PROMPT` filled in for `turn` after `conversation`."""
    return _fill(PLANNER_PROMPT, conversation, turn)


def _sum(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _usage(a: Usage, b: Usage) -> Usage:
    return Usage(
        input_tokens=_sum(a.input_tokens, b.input_tokens),
        output_tokens=_sum(a.output_tokens, b.output_tokens),
        input_image_tokens=_sum(a.input_image_tokens, b.input_image_tokens),
        output_image_tokens=_sum(a.output_image_tokens, b.output_image_tokens),
        images=a.images + b.images,
        cached_input_tokens=_sum(a.cached_input_tokens, b.cached_input_tokens),
        cached_input_image_tokens=_sum(a.cached_input_image_tokens, b.cached_input_image_tokens),
    )


def _cost(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def compose(planner: Backend, image: Backend) -> Capabilities:
    """The capabilities of a planner and an image model working as one.

    Context is emulated (the planner reads the dialogue rendered each turn); edits and
    seeds are the image model's; the user's images go to the planner; it answers in
    words (`none` plans) and probes through the planner; it reads expectations if a
    part does (a reference part needs the case).
    """
    p, i = planner.capabilities, image.capabilities
    return Capabilities(
        multi_turn=False,
        edits=i.edits,
        max_input_images=p.max_input_images,
        seed=i.seed,
        text_output=True,
        protocol=f"planned:{planner.protocol}>{image.protocol}",
        reads_expectations=p.reads_expectations or i.reads_expectations,
        draws=i.draws,
        probes=p.probes,
    )


class PlanBackend(Backend):
    """A planner backend and an image backend composed: see the module docstring.

    Built by `create_backend("plan(A → B)")`, which creates both parts with the same
    config. Its options are the parts' effective options, `{"planner": {...}, "image":
    {...}}` (so the manifest and the reply cache see them).
    """

    provider: ClassVar[str] = "plan"

    class Options(Backend.Options):
        """The parts' options (filled in from the parts; not set by hand)."""

        planner: dict[str, Any] = Field(default_factory=dict)
        """The planner's options."""
        image: dict[str, Any] = Field(default_factory=dict)
        """The image model's options."""

    options: Options

    def __init__(self, planner: Backend, image: Backend) -> None:
        self.planner = planner
        self.image = image
        options = {
            "planner": planner.options.model_dump(mode="json"),
            "image": image.options.model_dump(mode="json"),
        }
        super().__init__(f"{planner.name} {ARROW} {image.name}", options)
        self._capabilities = compose(planner, image)

    # A composite's capabilities are its parts', so they are an instance's; every reader
    # (runner, preflight) reads them from an instance, and `plan` is not in the registry
    # that `models list` reads class-level capabilities from.
    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        """Computed from the two parts (`compose`)."""
        return self._capabilities

    @property
    def name(self) -> str:
        """'plan(<planner> → <image model>)'."""
        return f"plan({self.model})"

    @property
    def priced_models(self) -> tuple[str, ...]:
        """Both parts' priced models (each once)."""
        return tuple(dict.fromkeys((*self.planner.priced_models, *self.image.priced_models)))

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        """Plan the turn with the planner, then draw the instruction with the image model."""
        current = canvas(conversation, turn)
        asked = UserTurn(turn.index, planner_prompt(conversation, turn), _shown(turn, current))
        planned = await self.planner.ask(
            Conversation(conversation.context), asked, schema=PLAN_SCHEMA
        )
        if planned.refusal is not None:
            return Reply(
                refusal=planned.refusal,
                usage=planned.usage,
                cost_usd=planned.cost_usd,
                raw_meta={"planner": dict(planned.raw_meta)},
            )
        plan = self._read(planned.text or "")
        meta: dict[str, Any] = {"plan": planned.text, "planner": dict(planned.raw_meta)}
        if plan.action == "none":
            return Reply(
                text=plan.reply or None,
                usage=planned.usage,
                cost_usd=planned.cost_usd,
                raw_meta=meta,
            )
        attach: tuple[ImageData, ...] = ()
        if plan.action == "edit" and current is not None and self.image.capabilities.edits:
            attach = (current,)
        instruction = UserTurn(turn.index, plan.instruction, attach)
        drawn = await self.image.send(Conversation(conversation.context), instruction)
        return Reply(
            images=drawn.images,
            text=plan.reply or drawn.text,
            refusal=drawn.refusal,
            revised_prompt=drawn.revised_prompt or plan.instruction,
            usage=_usage(planned.usage, drawn.usage),
            cost_usd=_cost(planned.cost_usd, drawn.cost_usd),
            raw_meta={**meta, "image": dict(drawn.raw_meta)},
        )

    def _read(self, text: str) -> Plan:
        """The planner's plan, or a retryable `bad_response` error naming the planner."""
        try:
            return parse_plan(text)
        except ValueError as exc:
            raise BackendError(
                f"the plan is not valid ({exc}): {text[:200]!r}",
                backend=self.planner.name,
                kind="bad_response",
                retryable=True,
            ) from None

    async def ask(
        self,
        conversation: Conversation,
        turn: UserTurn,
        *,
        schema: Mapping[str, Any] | None = None,
    ) -> Reply:
        """The planner answers, given the dialogue rendered as it sees it when planning."""
        shown = _shown(turn, canvas(conversation, turn))
        asked = UserTurn(turn.index, _fill(ASK_PROMPT, conversation, turn), shown)
        return await self.planner.ask(Conversation(conversation.context), asked, schema=schema)

    async def preflight(self, listings: ModelListings) -> list[str]:
        """Both parts' problems."""
        return [*await self.planner.preflight(listings), *await self.image.preflight(listings)]

    async def aclose(self) -> None:
        """Close both parts (the image model even if the planner fails to close)."""
        try:
            await self.planner.aclose()
        finally:
            await self.image.aclose()

"""The one protocol every model speaks: a turn in, a reply (images, text, refusal) out.

A backend is stateless beyond its clients: the runner owns the conversation and
hands it over with each turn, so a unit of work is plain data (needed for resume,
caching and scale-out). Backends with native conversation state keep what they
need to continue (a response id, a thought signature) in `Reply.state`, which comes
back to them in the history.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from uniprobe.config import Connection, Price
from uniprobe.errors import ConfigError
from uniprobe.hashing import sha256_bytes

if TYPE_CHECKING:
    from uniprobe.cases.schema import Case

__all__ = [
    "Backend",
    "Capabilities",
    "Conversation",
    "Exchange",
    "ImageData",
    "ImageKind",
    "ModelListings",
    "Reply",
    "Session",
    "SessionContext",
    "Usage",
    "UserTurn",
    "can_read",
]

ImageKind = Literal["synthetic", "any"]
"""What kind of image a model draws or a judge reads.

* `synthetic`: the scenes of uniprobe's built-in renderer (`uniprobe.scenes`): flat
  backdrops, the glyph vocabulary, white canvases, as the reference backends draw them;
* `any`: any image at all (photographs, a diffusion model's or a provider's renders).

A judge that reads `any` also reads `synthetic` scenes; one that reads only `synthetic`
scenes cannot judge a model that draws `any` image (see `can_read`).
"""


def can_read(reads: ImageKind, draws: ImageKind) -> bool:
    """Whether a judge that reads `reads` can judge images of kind `draws`."""
    return reads == "any" or draws == "synthetic"


@dataclass(frozen=True)
class ImageData:
    """An encoded image travelling between the runner and a backend."""

    data: bytes
    mime: str = "image/png"

    @cached_property
    def sha256(self) -> str:
        """Content hash of the encoded bytes."""
        return sha256_bytes(self.data)


@dataclass(frozen=True)
class UserTurn:
    """What the user sends: text and attached images. `index` counts from 1."""

    index: int
    text: str
    images: tuple[ImageData, ...] = ()


@dataclass(frozen=True)
class Usage:
    """What a call consumed, as the provider reported it (image and cached tokens are
    included in the input/output totals; None: not reported)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    input_image_tokens: int | None = None
    output_image_tokens: int | None = None
    images: int = 0
    cached_input_tokens: int | None = None
    """Part of input_tokens served from the provider's prompt cache (billed at the cached
    input rate)."""
    cached_input_image_tokens: int | None = None
    """Part of cached_input_tokens that encoded images (None: not reported)."""


@dataclass(frozen=True)
class Reply:
    """What the model answered. A refusal or a text-only answer is an outcome, not an error."""

    images: tuple[ImageData, ...] = ()
    text: str | None = None
    refusal: str | None = None
    revised_prompt: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    state: Mapping[str, Any] = field(default_factory=dict)
    """JSON-safe data the backend needs to continue the conversation."""
    raw_meta: Mapping[str, Any] = field(default_factory=dict)
    """Small JSON-safe facts worth keeping (model snapshot, finish reason, ids)."""


@dataclass(frozen=True)
class Exchange:
    """One turn of a conversation and its reply."""

    turn: UserTurn
    reply: Reply


@dataclass(frozen=True)
class SessionContext:
    """Identity of one conversation (a case, an epoch)."""

    case_id: str
    epoch: int
    seed: int
    case: Case | None = None
    """The case itself: handed only to backends that declare `reads_expectations`
    (the reference backends). A real model never sees what it is checked on."""


@dataclass(frozen=True)
class Conversation:
    """Everything said so far in one session."""

    context: SessionContext
    history: tuple[Exchange, ...] = ()


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, declared instead of discovered by failure."""

    multi_turn: bool
    """Keeps the conversation natively (else the context is emulated; see `protocol`)."""
    edits: bool
    """Accepts input images to edit."""
    max_input_images: int
    """How many images one turn may attach."""
    seed: bool
    """Honours a seed option."""
    text_output: bool
    """Can answer in text (refuse, ask, explain) instead of drawing."""
    protocol: str
    """How the conversation reaches the model; results under different protocols are
    different tracks and never ranked together."""
    reads_expectations: bool = False
    """Reference backends only: they draw from the case's checks."""
    draws: ImageKind = "any"
    """The kind of image the model draws: `synthetic` for the reference backends (the
    built-in renderer's scenes), `any` for providers and local models."""
    probes: bool = False
    """Can answer a question in words, image output off, in a branch of the same
    conversation (`Backend.ask`): what `--probe` and planning need."""


class ModelListings:
    """The model names each provider offers, asked once per run: one `models.list` call per
    (provider, endpoint), shared by every backend of the run that talks to it.

    A listing is `None` when the server does not list its models; a failed call (a
    rejected key) raises its `BackendError` to every backend that asks.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[frozenset[str] | None]] = {}

    async def get(
        self, key: str, fetch: Callable[[], Awaitable[frozenset[str] | None]]
    ) -> frozenset[str] | None:
        """The listing under `key`, fetched with `fetch` the first time it is asked for."""
        if key not in self._tasks:

            async def call() -> frozenset[str] | None:
                return await fetch()

            self._tasks[key] = asyncio.ensure_future(call())
        return await self._tasks[key]


class Backend(ABC):
    """Base class of model backends: one abstract async method, plus `aclose`.

    Subclasses set `provider`, `capabilities` and an `Options` model (extra="forbid"),
    and are registered with `@backends.register("provider")`.
    """

    provider: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    models: ClassVar[tuple[str, ...] | None] = None
    """Model names this provider knows, or None if any name is accepted."""

    class Options(BaseModel):
        """Model options; subclasses declare theirs."""

        model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(
        self,
        model: str,
        options: Mapping[str, Any] | None = None,
        *,
        connection: Connection | None = None,
        prices: Mapping[str, Price] | None = None,
    ) -> None:
        self.model = model
        self.connection = connection or Connection(None, None)
        self.prices = dict(prices or {})
        try:
            self.options = self.Options.model_validate(dict(options or {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            field_name = ".".join(str(p) for p in err["loc"]) or "options"
            raise ConfigError(f"{self.name}: option '{field_name}': {err['msg']}") from None

    @property
    def name(self) -> str:
        """'provider/model'."""
        return f"{self.provider}/{self.model}"

    @property
    def protocol(self) -> str:
        """The context protocol this backend runs under."""
        return self.capabilities.protocol

    @property
    def priced_models(self) -> tuple[str, ...]:
        """Model ids whose prices make up this backend's cost (for `cost_warnings`);
        none for the reference backends, which cost nothing."""
        return () if self.capabilities.reads_expectations else (self.model,)

    @abstractmethod
    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        """Answer `turn`, given everything said before it."""

    async def ask(
        self,
        conversation: Conversation,
        turn: UserTurn,
        *,
        schema: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Answer `turn` in words only, given everything said before it: the same model,
        image output off. The call is a branch: nothing of it reaches the conversation
        the runner holds (the caller never appends it to a session).

        `schema` is a JSON schema the answer must follow; a backend that supports
        structured output sends it, one that does not leaves it to the prompt (the caller
        parses strictly either way). The reply's `text` holds the answer, its `refusal`
        a refusal; it has no images.

        Only backends whose capabilities say `probes` answer; the default raises.
        """
        raise ConfigError(f"{self.name} cannot answer in words (its capabilities say probes: no)")

    async def preflight(self, listings: ModelListings) -> list[str]:
        """What would make every call fail, found before the first one: a missing or
        rejected key, a model the provider does not offer. One line per problem, each
        starting with the backend's name; `listings` caches the providers' model lists.
        Default: nothing to check (local and reference backends)."""
        return []

    async def aclose(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release clients and connections."""


class Session:
    """One conversation: `await session.send(turn)` returns the reply and records the
    exchange. The runner holds every conversation through one.

    The history lives here, not in the backend, so a session is replayable data. `send`
    is what answers a turn given the conversation so far: a backend's `send`, or the
    runner's cached, rate-limited and retried path to it.
    """

    def __init__(
        self,
        send: Callable[[Conversation, UserTurn], Awaitable[Reply]],
        context: SessionContext,
    ) -> None:
        self._send = send
        self.context = context
        self.history: list[Exchange] = []

    async def send(self, turn: UserTurn) -> Reply:
        """Send one user turn and record the exchange (a failed turn records nothing)."""
        conversation = Conversation(self.context, tuple(self.history))
        reply = await self._send(conversation, turn)
        self.history.append(Exchange(turn, reply))
        return reply

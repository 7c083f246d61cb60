"""`openai-images/<model>` and `compat/<name>`: the Images API (generations and edits).

The Images API keeps no conversation, so the context is emulated, and the protocol
says so (`emulated:fold-prompts+canvas-edit`):

* the earlier user messages are folded into the prompt ("Earlier in this conversation I
  said: 1. ... 2. ... Now: ..."), so rules given earlier reach the model;
* the *canvas* — the image attached to this turn, else the last image of the
  conversation (the model's or an attached one) — is sent to `/images/edits` as the
  image to change; a turn with no canvas is a `/images/generations` call.

`moderation` is a parameter of generations only (`images.edit` has none), so an edit
turn leaves it out.

`compat/<name>` is the same client pointed at any OpenAI-compatible image server: its
base URL (and key, if it needs one) come from `[providers."compat/<name>"]` in the
config file; the model name sent is the option `model` (default: `<name>`). It asks for
base64 (`response_format="b64_json"`; OpenAI's own gpt-image models reject that
parameter, so `openai-images` never sends it), and a server that answers with image
URLs anyway is followed: each image is downloaded (bounded in size and time) and its
URL recorded.
"""

from __future__ import annotations

import io
from typing import Any, ClassVar, Literal

from uniprobe.backends.base import (
    Backend,
    Capabilities,
    Conversation,
    ImageData,
    ModelListings,
    Reply,
    Usage,
    UserTurn,
)
from uniprobe.backends.openai_common import (
    MIME,
    OpenAIClient,
    decode_image,
    download_image,
    from_openai_error,
    moderation_message,
)
from uniprobe.backends.pricing import cost_of, price_for
from uniprobe.backends.registry import backends
from uniprobe.config import Connection
from uniprobe.errors import BackendError, ConfigError
from uniprobe.redact import redact

__all__ = ["CompatImagesBackend", "OpenAIImagesBackend", "fold_prompt"]

PROTOCOL = "emulated:fold-prompts+canvas-edit"


def fold_prompt(conversation: Conversation, turn: UserTurn) -> str:
    """The current message, preceded by every earlier user message (numbered)."""
    earlier = [ex.turn.text for ex in conversation.history]
    if not earlier:
        return turn.text
    listed = "\n".join(f"{i}. {t}" for i, t in enumerate(earlier, start=1))
    return f"Earlier in this conversation I said:\n{listed}\nNow: {turn.text}"


def canvas(conversation: Conversation, turn: UserTurn) -> ImageData | None:
    """The image this turn works on: attached now, else the latest one in the dialogue."""
    if turn.images:
        return turn.images[-1]
    for ex in reversed(conversation.history):
        if ex.reply.images:
            return ex.reply.images[-1]
        if ex.turn.images:
            return ex.turn.images[-1]
    return None


@backends.register("openai-images")
class OpenAIImagesBackend(OpenAIClient, Backend):
    """An image model behind the Images API."""

    provider: ClassVar[str] = "openai-images"
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=False,
        edits=True,
        max_input_images=16,
        seed=False,
        text_output=False,
        protocol=PROTOCOL,
    )

    class Options(Backend.Options):
        """Options of the Images API backend."""

        size: str = "1024x1024"
        """Image size."""
        quality: Literal["low", "medium", "high", "auto"] = "low"
        """Image quality (drives cost)."""
        background: Literal["transparent", "opaque", "auto"] | None = None
        """Image background (left out when None)."""
        output_format: Literal["png", "jpeg", "webp"] = "png"
        """Image file format."""
        input_fidelity: Literal["high", "low"] | None = None
        """Edits: how closely to keep the input image (left out when None)."""
        moderation: Literal["low", "auto"] | None = None
        """Moderation strictness (left out when None)."""

    options: Options

    response_format: ClassVar[Literal["b64_json"] | None] = None
    """Sent as `response_format` (gpt-image models reject the parameter)."""

    @property
    def api_model(self) -> str:
        """The model name sent to the server."""
        return self.model

    async def preflight(self, listings: ModelListings) -> list[str]:
        """A key (when one is asked for), and the model offered."""
        if self.client_connection().api_key is None:
            return [self.connection.no_key(self.name)]
        return await self.check_offered(listings, [("model", self.api_model)])

    def _common(self) -> dict[str, Any]:
        o = self.options
        params: dict[str, Any] = {
            "model": self.api_model,
            "size": o.size,
            "quality": o.quality,
            "output_format": o.output_format,
            "n": 1,
        }
        if o.background is not None:
            params["background"] = o.background
        if self.response_format is not None:
            params["response_format"] = self.response_format
        return params

    def generate_params(self, prompt: str) -> dict[str, Any]:
        """The arguments of `images.generate`."""
        params = {**self._common(), "prompt": prompt}
        if self.options.moderation is not None:
            params["moderation"] = self.options.moderation
        return params

    def edit_params(self, prompt: str) -> dict[str, Any]:
        """The arguments of `images.edit` (which takes no `moderation`), image aside."""
        params = {**self._common(), "prompt": prompt}
        if self.options.input_fidelity is not None:
            params["input_fidelity"] = self.options.input_fidelity
        return params

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        prompt = fold_prompt(conversation, turn)
        image = canvas(conversation, turn)
        try:
            if image is None:
                resp = await self.client().images.generate(**self.generate_params(prompt))
            else:
                ext = image.mime.split("/")[-1]
                upload = (f"canvas.{ext}", io.BytesIO(image.data), image.mime)
                resp = await self.client().images.edit(image=upload, **self.edit_params(prompt))
        except Exception as exc:  # SDK errors are mapped where they enter our code
            refusal = moderation_message(exc, self.secrets())
            if refusal is not None:
                return Reply(refusal=refusal, raw_meta={"blocked": "moderation"})
            raise from_openai_error(exc, self.name, self.secrets()) from exc
        return await self._reply(resp, edit=image is not None)

    async def _reply(self, resp: Any, *, edit: bool) -> Reply:
        mime = MIME[self.options.output_format]
        data = list(getattr(resp, "data", None) or [])
        if not data:
            raise BackendError(
                "no image in the response", backend=self.name, kind="bad_response", retryable=True
            )
        urls: list[str] = []
        images: list[ImageData] = []
        for d in data:
            if not d.b64_json and d.url:
                images.append(await download_image(d.url, mime, self.name))
                urls.append(redact(d.url, self.secrets()))
            else:
                images.append(decode_image(d.b64_json, mime, self.name))
        u = getattr(resp, "usage", None)
        in_details = getattr(u, "input_tokens_details", None)
        out_details = getattr(u, "output_tokens_details", None)
        usage = Usage(
            input_tokens=getattr(u, "input_tokens", None),
            output_tokens=getattr(u, "output_tokens", None),
            input_image_tokens=getattr(in_details, "image_tokens", None),
            output_image_tokens=getattr(out_details, "image_tokens", None)
            if out_details is not None
            else getattr(u, "output_tokens", None),
            images=len(images),
            # not in the SDK's type, kept if the server reports it (as Responses' does)
            cached_input_tokens=getattr(in_details, "cached_tokens", None),
        )
        meta: dict[str, Any] = {"endpoint": "edits" if edit else "generations"}
        meta["model"] = self.api_model
        if urls:
            meta["image_urls"] = urls
        return Reply(
            images=tuple(images),
            revised_prompt=getattr(data[0], "revised_prompt", None),
            usage=usage,
            cost_usd=cost_of(usage, price_for(self.api_model, self.prices)),
            raw_meta=meta,
        )


@backends.register("compat")
class CompatImagesBackend(OpenAIImagesBackend):
    """Any OpenAI-compatible image server (vLLM, LocalAI, hosted gateways...)."""

    provider: ClassVar[str] = "compat"
    response_format: ClassVar[Literal["b64_json"] | None] = "b64_json"

    class Options(OpenAIImagesBackend.Options):
        """Options of an OpenAI-compatible image server."""

        model: str | None = None
        """Model name to send (default: the name after compat/)."""

    options: Options

    def __init__(self, model: str, options: Any = None, **kw: Any) -> None:
        super().__init__(model, options, **kw)
        if not self.connection.base_url:
            raise ConfigError(
                f'compat/{model}: set base_url under [providers."compat/{model}"] in the '
                "config file"
            )

    @property
    def api_model(self) -> str:
        return self.options.model or self.model

    def client_connection(self) -> Connection:
        """Local servers often need no key; the SDK insists on one, so send a dummy (unless
        the config names where the key is: then a missing one is missing)."""
        from pydantic import SecretStr

        conn = self.connection
        if conn.api_key is None and conn.key_hint is not None:
            return conn
        key = conn.api_key or SecretStr("unused")
        return Connection(key, conn.base_url, conn.timeout, conn.key_hint)

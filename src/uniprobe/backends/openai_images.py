"""`openai-images/<model>` and `compat/<name>`: the Images API (generations and edits).

The Images API keeps no conversation, so the context is emulated, and the protocol
says so (`emulated:fold-prompts+canvas-edit`):

* the earlier user messages are folded into the prompt ("Earlier in this conversation I
  said: 1. ... 2. ... Now: ..."), so rules given earlier reach the model;
* the *canvas* — the image attached to this turn, else the last image of the
  conversation (the model's or an attached one) — is sent to `/images/edits` as the
  image to change; a turn with no canvas is a `/images/generations` call.

`compat/<name>` is the same client pointed at any OpenAI-compatible image server: its
base URL (and key, if it needs one) come from `[providers."compat/<name>"]` in the
config file; the model name sent is the option `model` (default: `<name>`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from uniprobe.backends.base import (
    Backend,
    Capabilities,
    Conversation,
    ImageData,
    Reply,
    Usage,
    UserTurn,
)
from uniprobe.backends.openai_common import (
    MIME,
    OpenAIClient,
    decode_image,
    from_openai_error,
    moderation_message,
)
from uniprobe.backends.pricing import cost_of, price_for
from uniprobe.backends.registry import backends
from uniprobe.config import Connection
from uniprobe.errors import BackendError, ConfigError

if TYPE_CHECKING:
    pass

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

    @property
    def api_model(self) -> str:
        """The model name sent to the server."""
        return self.model

    def _common(self) -> dict[str, Any]:
        o = self.options
        params: dict[str, Any] = {
            "model": self.api_model,
            "size": o.size,
            "quality": o.quality,
            "output_format": o.output_format,
            "n": 1,
        }
        for name in ("background", "moderation"):
            value = getattr(o, name)
            if value is not None:
                params[name] = value
        return params

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        prompt = fold_prompt(conversation, turn)
        image = canvas(conversation, turn)
        params = {**self._common(), "prompt": prompt}
        try:
            if image is None:
                resp = await self.client().images.generate(**params)
            else:
                if self.options.input_fidelity is not None:
                    params["input_fidelity"] = self.options.input_fidelity
                ext = image.mime.split("/")[-1]
                upload = (f"canvas.{ext}", io.BytesIO(image.data), image.mime)
                resp = await self.client().images.edit(image=upload, **params)
        except Exception as exc:  # SDK errors are mapped where they enter our code
            refusal = moderation_message(exc)
            if refusal is not None:
                return Reply(refusal=refusal, raw_meta={"blocked": "moderation"})
            raise from_openai_error(exc, self.name) from exc
        return self._reply(resp, edit=image is not None)

    def _reply(self, resp: Any, *, edit: bool) -> Reply:
        mime = MIME[self.options.output_format]
        data = list(getattr(resp, "data", None) or [])
        if not data:
            raise BackendError(
                "no image in the response", backend=self.name, kind="bad_response", retryable=True
            )
        images = tuple(decode_image(d.b64_json, mime, self.name) for d in data)
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
        )
        return Reply(
            images=images,
            revised_prompt=getattr(data[0], "revised_prompt", None),
            usage=usage,
            cost_usd=cost_of(usage, price_for(self.api_model, self.prices)),
            raw_meta={"endpoint": "edits" if edit else "generations", "model": self.api_model},
        )


@backends.register("compat")
class CompatImagesBackend(OpenAIImagesBackend):
    """Any OpenAI-compatible image server (vLLM, LocalAI, hosted gateways...)."""

    provider: ClassVar[str] = "compat"

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
        """Local servers often need no key; the SDK insists on one, so send a dummy."""
        from pydantic import SecretStr

        conn = self.connection
        return Connection(conn.api_key or SecretStr("unused"), conn.base_url, conn.timeout)

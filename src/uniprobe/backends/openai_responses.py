"""`openai/<model>`: the Responses API with the `image_generation` tool.

Native multi-turn: each turn continues the previous response (`previous_response_id`),
so the server holds the dialogue and its images. With the option `stateless`, the whole
dialogue is sent again every turn instead (for servers that keep no state): earlier
user messages with their images, the model's earlier words as assistant messages, and
the images it made re-attached as `input_image`s to the user message that follows
them. The protocol name says which, and results under the two are separate tracks.

Cost: the text model's tokens (`usage`) at the text model's price plus the image tool's
tokens (`tool_usage.image_gen`) at the image model's price. A response without either
report has an unknown cost (None), never 0.

Answering in words (`ask`, for probes and planners): the same conversation as `send`
(continuing from the branch point's `previous_response_id`, or the whole dialogue resent
when stateless) with no tools, `store: false` (a branch is never continued: nothing of it
reaches the conversation the runner holds, whose next turn continues from its own last
response), and a given JSON schema as `text.format` (`json_schema`, `strict: true`, named
by the schema's `title` when that is a valid name, else `answer`). Its cost is the text
model's tokens alone.

A response that did not complete is never an empty answer: `status: "failed"` is an
error with the response's error code and message (retryable: the server gave up), and
`status: "incomplete"` is a refusal when the content filter stopped it and an error
otherwise (`max_output_tokens`...). Neither keeps a response id, so the next turn never
continues from it. A failed `image_generation_call` is read through the SDK's type: a
moderation block is a refusal with the provider's message, any other failure an error
with its code and message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

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
    data_url,
    decode_image,
    from_openai_error,
    moderation_message,
)
from uniprobe.backends.pricing import catalog, cost_of, price_for
from uniprobe.backends.registry import backends
from uniprobe.errors import BackendError
from uniprobe.redact import redact, redact_data

if TYPE_CHECKING:
    from openai.types.responses import Response, ResponseOutputRefusal, ResponseOutputText
    from openai.types.responses.response_output_item import ImageGenerationCall

__all__ = ["OpenAIResponsesBackend"]

_MODERATION = {"moderation_blocked", "content_policy_violation", "image_generation_user_error"}
_FILTERED = {"content_filter"}
"""`incomplete_details.reason`s that mean the model was stopped by a filter."""
_FORMAT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What the Responses API accepts as a `text.format` name."""


@backends.register("openai")
class OpenAIResponsesBackend(OpenAIClient, Backend):
    """A chat model that draws with the image_generation tool."""

    provider: ClassVar[str] = "openai"
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=True,
        edits=True,
        max_input_images=16,
        seed=False,
        text_output=True,
        protocol="native:responses",
        probes=True,
    )

    class Options(Backend.Options):
        """Options of the Responses API backend."""

        image_model: str = catalog().defaults.responses_image_model
        """Model of the image_generation tool (default: providers.toml)."""
        size: str = "1024x1024"
        """Image size (1024x1024, 1536x1024, 1024x1536, auto)."""
        quality: Literal["low", "medium", "high", "auto"] = "low"
        """Image quality (drives cost)."""
        background: Literal["transparent", "opaque", "auto"] = "auto"
        """Image background."""
        output_format: Literal["png", "jpeg", "webp"] = "png"
        """Image file format."""
        input_fidelity: Literal["high", "low"] | None = None
        """How closely edits keep input images (not every image model takes it)."""
        detail: Literal["low", "high", "auto", "original"] = "auto"
        """Detail level of input images."""
        instructions: str | None = None
        """System instructions."""
        tool_choice: Literal["auto", "required"] = "auto"
        """auto lets the model answer in words (refuse, do nothing); required forces a drawing."""
        stateless: bool = False
        """Send the whole dialogue every turn instead of continuing the previous response."""
        max_output_tokens: int | None = Field(None, ge=1)
        """Cap on the text model's output."""

    options: Options

    @property
    def protocol(self) -> str:
        """native:responses, or stateless:responses-resend."""
        return "stateless:responses-resend" if self.options.stateless else "native:responses"

    # request ------------------------------------------------------------------------
    def _tool(self) -> dict[str, Any]:
        o = self.options
        tool: dict[str, Any] = {
            "type": "image_generation",
            "model": o.image_model,
            "size": o.size,
            "quality": o.quality,
            "output_format": o.output_format,
            "background": o.background,
        }
        if o.input_fidelity is not None:
            tool["input_fidelity"] = o.input_fidelity
        return tool

    def _user(
        self, text: str, images: tuple[ImageData, ...], made: tuple[ImageData, ...] = ()
    ) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if made:
            content.append(
                {"type": "input_text", "text": "(The image you made in your previous reply:)"}
            )
            content += [self._image(i) for i in made]
        content.append({"type": "input_text", "text": text})
        content += [self._image(i) for i in images]
        return {"role": "user", "content": content}

    def _image(self, image: ImageData) -> dict[str, Any]:
        return {"type": "input_image", "image_url": data_url(image), "detail": self.options.detail}

    def _transcript(self, conversation: Conversation, turn: UserTurn) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        made: tuple[ImageData, ...] = ()
        for ex in conversation.history:
            items.append(self._user(ex.turn.text, ex.turn.images, made))
            said = ex.reply.text or ex.reply.refusal or ("(image)" if ex.reply.images else "")
            if said:
                items.append(
                    {"role": "assistant", "content": [{"type": "output_text", "text": said}]}
                )
            made = ex.reply.images
        items.append(self._user(turn.text, turn.images, made))
        return items

    def request(self, conversation: Conversation, turn: UserTurn) -> dict[str, Any]:
        """The body of the responses.create call for this turn."""
        o = self.options
        params: dict[str, Any] = {
            "model": self.model,
            "tools": [self._tool()],
            "tool_choice": "auto" if o.tool_choice == "auto" else {"type": "image_generation"},
        }
        return self._dialogue(params, conversation, turn)

    def ask_request(
        self, conversation: Conversation, turn: UserTurn, schema: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The body of the responses.create call that answers `turn` in words: no tools,
        not stored, the schema (if any) as strict structured output."""
        params = self._dialogue({"model": self.model}, conversation, turn)
        params["store"] = False
        if schema is not None:
            title = schema.get("title")
            name = title if isinstance(title, str) and _FORMAT_NAME.match(title) else "answer"
            fmt = {"type": "json_schema", "name": name, "schema": dict(schema), "strict": True}
            params["text"] = {"format": fmt}
        return params

    def _dialogue(
        self, params: dict[str, Any], conversation: Conversation, turn: UserTurn
    ) -> dict[str, Any]:
        """`params` with the instructions, the output cap and the conversation: continued
        from the latest response id, or resent whole (stateless, not stored)."""
        o = self.options
        if o.instructions:
            params["instructions"] = o.instructions
        if o.max_output_tokens:
            params["max_output_tokens"] = o.max_output_tokens
        if o.stateless:
            params["input"] = self._transcript(conversation, turn)
            params["store"] = False
        else:
            previous = next(
                (
                    ex.reply.state.get("response_id")
                    for ex in reversed(conversation.history)
                    if ex.reply.state.get("response_id")
                ),
                None,
            )
            if previous:
                params["previous_response_id"] = previous
            params["input"] = [self._user(turn.text, turn.images)]
        return params

    async def preflight(self, listings: ModelListings) -> list[str]:
        """A key, and the model and the tool's image model offered."""
        if self.connection.api_key is None:
            return [self.connection.no_key(self.name)]
        names = [("model", self.model), ("image_model", self.options.image_model)]
        return await self.check_offered(listings, names)

    # response -----------------------------------------------------------------------
    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        params = self.request(conversation, turn)
        resp = await self._create(params)
        return resp if isinstance(resp, Reply) else self._reply(resp)

    async def ask(
        self,
        conversation: Conversation,
        turn: UserTurn,
        *,
        schema: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Answer `turn` in words, image tool off, in a branch nothing continues from."""
        resp = await self._create(self.ask_request(conversation, turn, schema))
        return resp if isinstance(resp, Reply) else self.ask_reply(resp)

    async def _create(self, params: dict[str, Any]) -> Response | Reply:
        """The response to `params`; a moderation block is a refusal, any other SDK
        error a BackendError."""
        try:
            resp: Response = await self.client().responses.create(**params)
        except Exception as exc:  # SDK errors are mapped where they enter our code
            refusal = moderation_message(exc, self.secrets())
            if refusal is not None:
                return Reply(refusal=refusal, raw_meta={"blocked": "moderation"})
            raise from_openai_error(exc, self.name, self.secrets()) from exc
        return resp

    def ask_reply(self, resp: Response) -> Reply:
        """The words of a response to `ask_request`: its output text and refusals, the
        text model's usage at its price, and no state (the response was not stored)."""
        unfinished = self._unfinished(resp, words=True)
        if unfinished is not None:
            return unfinished
        texts: list[str] = []
        refusals: list[str] = []
        for item in resp.output or []:
            if item.type == "message":
                self._said(item.content or [], texts, refusals)
        usage = self._text_usage(resp)
        return Reply(
            text="\n".join(texts) or None,
            refusal="\n".join(refusals) or None,
            usage=usage,
            cost_usd=cost_of(usage, price_for(self.model, self.prices)),
            raw_meta=self._meta(resp, words=True),
        )

    def _said(
        self,
        content: Sequence[ResponseOutputText | ResponseOutputRefusal],
        texts: list[str],
        refusals: list[str],
    ) -> None:
        """Collect the output texts and (redacted) refusals of a message's content."""
        for part in content:
            if part.type == "output_text" and part.text:
                texts.append(part.text)
            elif part.type == "refusal":
                refusals.append(redact(part.refusal, self.secrets()))

    def _unfinished(self, resp: Response, *, words: bool = False) -> Reply | None:
        """A refusal for a filtered response; raises for any other unfinished one; None
        for a completed response."""
        status = resp.status
        if status == "failed":
            error = resp.error
            code = error.code if error is not None else "unknown"
            message = error.message if error is not None else "no error given"
            raise BackendError(
                redact(f"response failed: {code}: {message}", self.secrets()),
                backend=self.name,
                kind="server",
                retryable=True,
            )
        if status == "incomplete":
            details = resp.incomplete_details
            reason = (details.reason if details is not None else None) or "unknown"
            if reason in _FILTERED:
                if words:
                    usage = self._text_usage(resp)
                    cost = cost_of(usage, price_for(self.model, self.prices))
                else:
                    usage, cost = self._usage(resp, 0)
                return Reply(
                    refusal=f"response incomplete: {reason}",
                    usage=usage,
                    cost_usd=cost,
                    raw_meta={**self._meta(resp, words=words), "incomplete_reason": reason},
                )
            raise BackendError(
                f"response incomplete: {reason}", backend=self.name, kind="bad_response"
            )
        if status not in (None, "completed"):
            raise BackendError(
                f"response not finished: status {status}",
                backend=self.name,
                kind="bad_response",
                retryable=True,
            )
        return None

    def _meta(self, resp: Response, *, words: bool = False) -> dict[str, Any]:
        """The response's id, model and status (and the image tool's model, if it had one)."""
        meta: dict[str, Any] = {"response_id": resp.id, "model": resp.model, "status": resp.status}
        if not words:
            meta["image_model"] = self.options.image_model
        return meta

    def _failed_call(self, item: ImageGenerationCall) -> tuple[str, dict[str, Any]]:
        """A moderated image call's message and facts; raises for any other failure."""
        error = item.error
        code = (error.code if error is not None else None) or "unknown"
        message = redact(error.message if error is not None else "no error given", self.secrets())
        if code in _MODERATION or (error is not None and error.type in _MODERATION):
            facts: dict[str, Any] = {"code": code, "type": error.type if error else None}
            details = error.moderation_details if error is not None else None
            if details is not None:
                facts["categories"] = list(details.categories)
                facts["moderation_stage"] = details.moderation_stage
            return message, facts
        raise BackendError(
            f"image generation failed: {code}: {message}",
            backend=self.name,
            kind="server",
            retryable=True,
        )

    def _reply(self, resp: Response) -> Reply:
        unfinished = self._unfinished(resp)
        if unfinished is not None:
            return unfinished
        images: list[ImageData] = []
        texts: list[str] = []
        refusals: list[str] = []
        image_error: dict[str, Any] | None = None
        revised = None
        mime = MIME[self.options.output_format]
        for item in resp.output or []:
            if item.type == "image_generation_call":
                if item.status == "failed":
                    message, image_error = self._failed_call(item)
                    refusals.append(message)
                    continue
                if item.result:
                    images.append(decode_image(item.result, mime, self.name))
                revised = item.revised_prompt or revised
            elif item.type == "message":
                self._said(item.content or [], texts, refusals)
        usage, cost = self._usage(resp, len(images))
        meta = self._meta(resp)
        if image_error is not None:
            meta["image_error"] = redact_data(image_error, self.secrets())
        return Reply(
            images=tuple(images),
            text="\n".join(texts) or None,
            refusal="\n".join(refusals) or None,
            revised_prompt=revised,
            usage=usage,
            cost_usd=cost,
            state={"response_id": resp.id},
            raw_meta=meta,
        )

    @property
    def priced_models(self) -> tuple[str, ...]:
        """The text model and the image tool's model."""
        return (self.model, self.options.image_model)

    def _text_usage(self, resp: Any) -> Usage:
        """The text model's own usage (`usage`, without the image tool's)."""
        u = getattr(resp, "usage", None)
        return Usage(
            input_tokens=_get(u, "input_tokens"),
            output_tokens=_get(u, "output_tokens"),
            cached_input_tokens=_get(_get(u, "input_tokens_details"), "cached_tokens"),
        )

    def _usage(self, resp: Any, n_images: int) -> tuple[Usage, float | None]:
        text = self._text_usage(resp)
        tool_usage = getattr(resp, "tool_usage", None) or _extra(resp, "tool_usage")
        gen = _get(tool_usage, "image_gen")
        out_details = _get(gen, "output_tokens_details")
        image = Usage(
            input_tokens=_get(gen, "input_tokens"),
            output_tokens=_get(gen, "output_tokens"),
            input_image_tokens=_get(_get(gen, "input_tokens_details"), "image_tokens"),
            output_image_tokens=_get(out_details, "image_tokens")
            if out_details is not None
            else _get(gen, "output_tokens"),
            images=n_images,
            cached_input_tokens=_get(gen, "cached_tokens"),
            cached_input_image_tokens=_get(
                _get(gen, "cached_tokens_details"), "cached_image_tokens"
            ),
        )
        text_cost = cost_of(text, price_for(self.model, self.prices))
        image_cost = cost_of(image, price_for(self.options.image_model, self.prices))
        total = Usage(
            input_tokens=_sum(text.input_tokens, image.input_tokens),
            output_tokens=_sum(text.output_tokens, image.output_tokens),
            input_image_tokens=image.input_image_tokens,
            output_image_tokens=image.output_image_tokens,
            images=n_images,
            cached_input_tokens=_either(text.cached_input_tokens, image.cached_input_tokens),
            cached_input_image_tokens=image.cached_input_image_tokens,
        )
        cost = None if text_cost is None or image_cost is None else round(text_cost + image_cost, 8)
        return total, cost


def _sum(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _either(a: int | None, b: int | None) -> int | None:
    """The sum of the counts reported (None: neither was)."""
    return None if a is None and b is None else (a or 0) + (b or 0)


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _extra(obj: Any, name: str) -> Any:
    extra = getattr(obj, "model_extra", None) or {}
    return getattr(obj, name, None) or extra.get(name)

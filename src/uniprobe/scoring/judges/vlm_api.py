"""How the VLM judge reaches a model: OpenAI-compatible Chat Completions or Gemini native.

Both take one `VlmRequest` (a prompt, labelled PNG images, a JSON schema, and the
sampling knobs to send: a temperature and a reasoning effort, each left out of the
request when None) and give one `VlmReply` (the text or a refusal, the model that served
it, token counts). SDK exceptions become `BackendError`s (retryable or not) where they
enter our code; the judge's retry policy decides what happens next. The SDKs' own
retries are off.

* Chat: one user message with the images as `image_url` data URLs and the prompt;
  `response_format={"type": "json_schema", "json_schema": {..., "strict": true}}`.
  A refusal is `message.refusal` (or a `content_filter` finish).
* Gemini: `generateContent` with `inlineData` parts, `responseMimeType:
  "application/json"` and `responseJsonSchema`. A refusal is a blocked prompt
  (`promptFeedback.blockReason`, no candidates) or a candidate stopped by a filter.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from uniprobe.backends.gemini import BLOCKED, genai_error, make_genai_client, transport_error
from uniprobe.backends.openai_common import from_openai_error, make_client
from uniprobe.config import Connection
from uniprobe.errors import BackendError

if TYPE_CHECKING:
    from google import genai
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionMessageParam
    from openai.types.shared_params import ResponseFormatJSONSchema

__all__ = ["ChatApi", "GeminiApi", "VlmApi", "VlmReply", "VlmRequest"]

BACKEND = "vlm judge"
"""How errors name the caller."""


@dataclass(frozen=True)
class VlmRequest:
    """One question call."""

    prompt: str
    images: tuple[tuple[str | None, bytes], ...]
    """(label shown before the image, PNG bytes), in order."""
    schema: dict[str, Any]
    """JSON schema of the reply."""
    temperature: float | None
    """Sent unless None (reasoning models reject it; Gemini 3+ ignores it)."""
    reasoning_effort: str | None = None
    """Chat `reasoning_effort`, sent unless None."""


@dataclass(frozen=True)
class VlmReply:
    """What came back from one call."""

    text: str | None
    refusal: str | None
    model: str | None
    """The model that served the call, as the response names it."""
    input_tokens: int | None
    output_tokens: int | None
    finish: str | None = None
    """Finish reason as the API gives it."""
    cached_input_tokens: int | None = None
    """Input tokens served from the prompt cache (part of input_tokens)."""


class VlmApi(Protocol):
    """A way to ask a vision-language model."""

    name: str

    async def ask(self, request: VlmRequest) -> VlmReply:
        """One call; BackendError when it fails."""
        ...

    async def aclose(self) -> None:
        """Release the client."""
        ...


class ChatApi:
    """OpenAI-compatible Chat Completions (OpenAI, Gemini's compatible endpoint, vLLM, ...)."""

    name = "chat"

    def __init__(
        self, connection: Connection, *, model: str, detail: Literal["low", "high", "auto"]
    ) -> None:
        self.connection, self.model, self.detail = connection, model, detail
        self._client: AsyncOpenAI | None = None

    def client(self) -> AsyncOpenAI:
        """The SDK client (made on first use, retries off)."""
        if self._client is None:
            self._client = make_client(self.connection, BACKEND)
        return self._client

    def messages(self, request: VlmRequest) -> list[ChatCompletionMessageParam]:
        """The one user message: labelled images, then the prompt."""
        content: list[ChatCompletionContentPartParam] = []
        for label, png in request.images:
            if label:
                content.append({"type": "text", "text": label})
            url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            content.append({"type": "image_url", "image_url": {"url": url, "detail": self.detail}})
        content.append({"type": "text", "text": request.prompt})
        return [{"role": "user", "content": content}]

    async def ask(self, request: VlmRequest) -> VlmReply:
        """One chat completion with a strict JSON-schema response format."""
        import openai

        fmt: ResponseFormatJSONSchema = {
            "type": "json_schema",
            "json_schema": {"name": "answers", "strict": True, "schema": request.schema},
        }
        knobs: dict[str, Any] = {}
        if request.temperature is not None:
            knobs["temperature"] = request.temperature
        if request.reasoning_effort is not None:
            knobs["reasoning_effort"] = request.reasoning_effort
        try:
            resp = await self.client().chat.completions.create(
                model=self.model,
                messages=self.messages(request),
                response_format=fmt,
                **knobs,
            )
        except (openai.APIError, ValueError) as exc:
            raise from_openai_error(exc, BACKEND, self.connection.secrets()) from exc
        if not resp.choices:
            raise BackendError(
                "the response has no choices", backend=BACKEND, kind="bad_response", retryable=True
            )
        choice = resp.choices[0]
        refusal = choice.message.refusal
        if refusal is None and choice.finish_reason == "content_filter":
            refusal = "stopped by the content filter"
        usage = resp.usage
        details = usage.prompt_tokens_details if usage else None
        return VlmReply(
            text=choice.message.content,
            refusal=refusal,
            model=resp.model,
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
            finish=choice.finish_reason,
            cached_input_tokens=details.cached_tokens if details else None,
        )

    async def aclose(self) -> None:
        """Close the client, if one was made."""
        if self._client is not None:
            await self._client.close()
            self._client = None


class GeminiApi:
    """Gemini `generateContent` with a JSON response schema (google-genai SDK)."""

    name = "gemini"

    def __init__(
        self, connection: Connection, *, model: str, api_version: Literal["v1", "v1beta"]
    ) -> None:
        self.connection, self.model, self.api_version = connection, model, api_version
        self._client: genai.Client | None = None

    def client(self) -> genai.Client:
        """The SDK client (made on first use; the SDK does not retry by default)."""
        if self._client is None:
            self._client = make_genai_client(self.connection, self.api_version, BACKEND)
        return self._client

    async def ask(self, request: VlmRequest) -> VlmReply:
        """One generateContent call asking for JSON."""
        from google.genai import errors, types

        parts: list[types.Part] = []
        for label, png in request.images:
            if label:
                parts.append(types.Part(text=label))
            parts.append(types.Part(inline_data=types.Blob(mime_type="image/png", data=png)))
        parts.append(types.Part(text=request.prompt))
        config = types.GenerateContentConfig(
            temperature=request.temperature,
            response_mime_type="application/json",
            response_json_schema=request.schema,
        )
        try:
            resp = await self.client().aio.models.generate_content(
                model=self.model,
                contents=[types.Content(role="user", parts=parts)],
                config=config,
            )
        except errors.APIError as exc:
            raise genai_error(exc, BACKEND, self.connection.secrets()) from exc
        except ValueError as exc:
            raise BackendError(
                f"unreadable response: {exc}", backend=BACKEND, kind="bad_response", retryable=True
            ) from exc
        except Exception as exc:  # transport errors of the SDK's HTTP client
            raise transport_error(exc, BACKEND) from exc
        return _gemini_reply(resp)

    async def aclose(self) -> None:
        """Close the client, if one was made."""
        if self._client is not None:
            await self._client.aio.aclose()
            self._client = None


def _gemini_reply(resp: Any) -> VlmReply:
    u = resp.usage_metadata
    tokens_in = u.prompt_token_count if u else None
    tokens_out = ((u.candidates_token_count or 0) + (u.thoughts_token_count or 0)) if u else None
    common = {
        "model": resp.model_version,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "cached_input_tokens": u.cached_content_token_count if u else None,
    }
    if not resp.candidates:
        feedback = resp.prompt_feedback
        reason = getattr(getattr(feedback, "block_reason", None), "value", None) or "blocked"
        return VlmReply(text=None, refusal=f"prompt blocked: {reason}", finish=None, **common)
    cand = resp.candidates[0]
    finish = getattr(cand.finish_reason, "value", None) or str(cand.finish_reason or "") or None
    parts = (cand.content.parts if cand.content else None) or []
    text = "".join(p.text for p in parts if p.text and not p.thought) or None
    refusal = f"blocked ({finish})" if finish in BLOCKED and text is None else None
    return VlmReply(text=text, refusal=refusal, finish=finish, **common)

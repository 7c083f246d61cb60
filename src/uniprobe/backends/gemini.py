"""`google/<model>`: Gemini `generateContent` with TEXT and IMAGE output.

The server keeps no state: every turn resends the whole history (user and model turns,
with their images), and the model's parts go back with their `thoughtSignature`s:
every part that carries one (text, image, or a thought part holding only a signature),
as the SDK's chat does (Gemini 3 models reject a history without them). Like the SDK's
chat, a turn whose reply had no content (a blocked prompt) is left out of the history
together with its user message.

Answering in words (`ask`, for probes and planners): the same contents (the history and
the turn), `responseModalities: ["TEXT"]` without an image config, and a given JSON schema
as structured output (`responseMimeType: application/json` with `responseJsonSchema`, the
field that takes JSON Schema; `responseSchema` takes an OpenAPI subset). The reply is read
as any other: a blocked prompt or a filtered finish is a refusal.

Finish reasons: safety and filter blocks (`BLOCKED`) are refusals, `NO_IMAGE` and
text-only answers are replies without an image: outcomes, never errors. Any other stop
without an image (`IMAGE_OTHER`, `MAX_TOKENS`, `MALFORMED_RESPONSE`,
`MISSING_THOUGHT_SIGNATURE`...) is an error carrying the reason and the finish message,
not an empty answer. A 429 whose `QuotaFailure` names a per-day quota is not retried.
Text from the provider is redacted of the key (and of anything shaped like a key).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

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
from uniprobe.backends.openai_common import checked_image, listing_problem, not_offered
from uniprobe.backends.pricing import cost_of, price_for
from uniprobe.backends.registry import backends
from uniprobe.errors import BackendError, ConfigError
from uniprobe.hashing import sha256_json
from uniprobe.redact import redact

if TYPE_CHECKING:
    from google import genai
    from google.genai import types

    from uniprobe.config import Connection

__all__ = ["BLOCKED", "GeminiBackend", "genai_error", "make_genai_client", "transport_error"]

BLOCKED = {
    "SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_RECITATION",
    "MODEL_ARMOR",
}
"""Finish reasons that mean the model was stopped by a filter."""
ANSWERED = {"STOP", "NO_IMAGE"}
"""Finish reasons of an answer (NO_IMAGE: the model chose to answer without a drawing)."""
CLIENT_FAULTS = {"MISSING_THOUGHT_SIGNATURE", "MALFORMED_FUNCTION_CALL"}
"""Finish reasons that blame the request."""
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"


@backends.register("google")
class GeminiBackend(Backend):
    """A Gemini model that answers with text and images."""

    provider: ClassVar[str] = "google"
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=True,
        edits=True,
        max_input_images=14,
        seed=True,
        text_output=True,
        protocol="native:gemini-history",
        probes=True,
    )

    class Options(Backend.Options):
        """Options of the Gemini backend."""

        aspect_ratio: Literal["1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9"] = "1:1"
        """Image aspect ratio."""
        image_size: Literal["1K", "2K", "4K"] | None = None
        """Image size (newer models; left out when None)."""
        system_instruction: str | None = None
        """System instruction."""
        seed: int | None = None
        """Generation seed (default: the sample's seed)."""
        temperature: float | None = None
        """Sampling temperature (left out when None)."""
        api_version: Literal["v1", "v1beta"] = "v1"
        """API version path."""

    options: Options

    def __init__(self, model: str, options: Any = None, **kw: Any) -> None:
        super().__init__(model, options, **kw)
        self._client: genai.Client | None = None

    def client(self) -> genai.Client:
        """The SDK client (made on first use; no SDK retries)."""
        if self._client is None:
            self._client = make_genai_client(self.connection, self.options.api_version, self.name)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aio.aclose()
            self._client = None

    # request ------------------------------------------------------------------------
    def contents(self, conversation: Conversation, turn: UserTurn) -> list[types.Content]:
        """The history and this turn as Gemini contents."""
        from google.genai import types

        out: list[types.Content] = []
        for ex in conversation.history:
            model_parts = self._model_parts(ex)
            if not model_parts:  # a blocked turn leaves the history with its question
                continue
            out.append(types.Content(role="user", parts=self._user_parts(ex.turn)))
            out.append(types.Content(role="model", parts=model_parts))
        out.append(types.Content(role="user", parts=self._user_parts(turn)))
        return out

    def _user_parts(self, turn: UserTurn) -> list[types.Part]:
        from google.genai import types

        parts = [types.Part(text=turn.text)]
        parts += [
            types.Part(inline_data=types.Blob(mime_type=i.mime, data=i.data)) for i in turn.images
        ]
        return parts

    def _model_parts(self, ex: Exchange) -> list[types.Part]:
        from google.genai import types

        parts = []
        for p in ex.reply.state.get("parts", []):
            sig = base64.b64decode(p["sig"]) if p.get("sig") else None
            if "image" in p:
                if p["image"] < len(ex.reply.images):
                    img = ex.reply.images[p["image"]]
                    parts.append(
                        types.Part(
                            inline_data=types.Blob(mime_type=img.mime, data=img.data),
                            thought_signature=sig,
                        )
                    )
            elif "text" in p or sig is not None:
                parts.append(
                    types.Part(text=p.get("text"), thought=p.get("thought"), thought_signature=sig)
                )
        return parts

    def config(self, seed: int) -> types.GenerateContentConfig:
        """Generation settings of every call."""
        from google.genai import types

        o = self.options
        image = types.ImageConfig(aspect_ratio=o.aspect_ratio, image_size=o.image_size)
        return types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"],
            image_config=image,
            system_instruction=o.system_instruction,
            temperature=o.temperature,
            seed=o.seed if o.seed is not None else seed % (2**31),
        )

    def ask_config(
        self, seed: int, schema: Mapping[str, Any] | None
    ) -> types.GenerateContentConfig:
        """Generation settings of a call that answers in words (and in JSON under `schema`)."""
        from google.genai import types

        o = self.options
        return types.GenerateContentConfig(
            response_modalities=["TEXT"],
            response_mime_type="application/json" if schema is not None else None,
            response_json_schema=dict(schema) if schema is not None else None,
            system_instruction=o.system_instruction,
            temperature=o.temperature,
            seed=o.seed if o.seed is not None else seed % (2**31),
        )

    # response -----------------------------------------------------------------------
    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        config = self.config(conversation.context.seed)
        return self._reply(await self._generate(self.contents(conversation, turn), config))

    async def ask(
        self,
        conversation: Conversation,
        turn: UserTurn,
        *,
        schema: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Answer `turn` in words (TEXT only), given the conversation before it."""
        config = self.ask_config(conversation.context.seed, schema)
        return self._reply(await self._generate(self.contents(conversation, turn), config))

    async def _generate(
        self, contents: list[types.Content], config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        """One generateContent call; the SDK's errors become BackendErrors."""
        from google.genai import errors

        try:
            return await self.client().aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except errors.APIError as exc:
            raise self._error(exc) from exc
        except ValueError as exc:  # an unreadable body
            raise BackendError(
                f"unreadable response: {exc}",
                backend=self.name,
                kind="bad_response",
                retryable=True,
            ) from exc
        except Exception as exc:  # transport errors of the SDK's HTTP client
            raise self._transport_error(exc) from exc

    def _reply(self, resp: types.GenerateContentResponse) -> Reply:
        usage = self._usage(resp)
        meta: dict[str, Any] = {"model": resp.model_version, "response_id": resp.response_id}
        feedback = resp.prompt_feedback
        if not resp.candidates:
            reason = getattr(getattr(feedback, "block_reason", None), "value", None) or "blocked"
            return Reply(
                refusal=f"prompt blocked: {reason}",
                usage=usage,
                cost_usd=cost_of(usage, price_for(self.model, self.prices)),
                raw_meta={**meta, "block_reason": reason},
            )
        cand = resp.candidates[0]
        finish = getattr(cand.finish_reason, "value", None) or str(cand.finish_reason or "")
        images: list[ImageData] = []
        texts: list[str] = []
        state_parts: list[dict[str, Any]] = []
        for part in (cand.content.parts if cand.content else None) or []:
            sig = (
                base64.b64encode(part.thought_signature).decode()
                if part.thought_signature
                else None
            )
            if part.thought:  # a thought goes back only to carry its signature
                if sig is not None:
                    kept: dict[str, Any] = {"thought": True, "sig": sig}
                    if part.text is not None:
                        kept["text"] = part.text
                    state_parts.append(kept)
                continue
            if part.inline_data is not None and part.inline_data.data:
                mime = part.inline_data.mime_type or "image/png"
                images.append(checked_image(part.inline_data.data, mime, self.name))
                state_parts.append({"image": len(images) - 1, "sig": sig})
            elif part.text or sig is not None:
                if part.text:
                    texts.append(part.text)
                state_parts.append({"text": part.text or "", "sig": sig})
        said = redact(cand.finish_message or "", self.secrets())
        refusal = None
        if finish in BLOCKED and not images:
            why = said or " ".join(texts)
            refusal = f"blocked ({finish})" + (f": {why}" if why else "")
        elif finish not in ANSWERED and not images:
            raise BackendError(
                f"generation stopped: {finish or 'no finish reason'}"
                + (f": {said}" if said else ""),
                backend=self.name,
                kind="client" if finish in CLIENT_FAULTS else "bad_response",
            )
        return Reply(
            images=tuple(images),
            text="\n".join(texts) or None,
            refusal=refusal,
            usage=usage,
            cost_usd=cost_of(usage, price_for(self.model, self.prices)),
            state={"parts": state_parts},
            raw_meta={**meta, "finish_reason": finish},
        )

    def _usage(self, resp: types.GenerateContentResponse) -> Usage:
        u = resp.usage_metadata

        def by_modality(details: Any, modality: str) -> int:
            return sum(
                d.token_count or 0
                for d in details or []
                if getattr(getattr(d, "modality", None), "value", None) == modality
            )

        if u is None:
            return Usage()
        out_images = by_modality(u.candidates_tokens_details, "IMAGE")
        return Usage(
            input_tokens=u.prompt_token_count,
            output_tokens=(u.candidates_token_count or 0) + (u.thoughts_token_count or 0),
            input_image_tokens=by_modality(u.prompt_tokens_details, "IMAGE"),
            output_image_tokens=out_images,
            images=1 if out_images else 0,
            cached_input_tokens=u.cached_content_token_count,
            cached_input_image_tokens=by_modality(u.cache_tokens_details, "IMAGE")
            if u.cache_tokens_details is not None
            else None,
        )

    async def preflight(self, listings: ModelListings) -> list[str]:
        """A key, and the model offered: one `models.list` (all pages) per endpoint and key."""
        conn = self.connection
        if conn.api_key is None:
            return [conn.no_key(self.name)]
        key = sha256_json(["google", conn.base_url, self.options.api_version, self.secrets()])
        try:
            offered = await listings.get(key, self._list_models)
        except BackendError as exc:
            return [listing_problem(exc, self.name, conn)]
        return not_offered(self.name, [("model", self.model)], offered)

    async def _list_models(self) -> frozenset[str] | None:
        from google.genai import errors

        try:
            pager = await self.client().aio.models.list()
            return frozenset([(m.name or "").removeprefix("models/") async for m in pager])
        except errors.APIError as exc:
            if exc.code == 404:
                return None
            raise self._error(exc) from exc
        except Exception as exc:  # transport errors of the SDK's HTTP client
            raise self._transport_error(exc) from exc

    def secrets(self) -> tuple[str, ...]:
        """Values to redact from what the provider says: the key, if there is one."""
        return self.connection.secrets()

    def _error(self, exc: Any) -> BackendError:
        return genai_error(exc, self.name, self.secrets())

    def _transport_error(self, exc: Exception) -> BackendError:
        return transport_error(exc, self.name, self.secrets())


def make_genai_client(connection: Connection, api_version: str, who: str) -> genai.Client:
    """A google-genai client for a connection (the SDK does not retry by default);
    `who` names the caller in errors."""
    try:
        from google import genai
        from google.genai import types
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError(
            f"{who} needs the Google GenAI SDK: pip install 'uniprobe[google]'"
        ) from None
    http = types.HttpOptions(
        base_url=connection.base_url,
        api_version=api_version,
        timeout=int(connection.timeout * 1000),
    )
    return genai.Client(api_key=connection.key(who), http_options=http)


def genai_error(exc: Any, backend: str, secrets: Iterable[str] = ()) -> BackendError:
    """The BackendError a google-genai `errors.APIError` means, its message redacted of
    `secrets` (and of anything shaped like a key)."""
    code = int(getattr(exc, "code", 0) or 0)
    said = f"HTTP {code} {getattr(exc, 'status', '')}: {getattr(exc, 'message', exc)}"
    if code == 429:
        daily = _daily_quota(exc)
        if daily:
            said += f" (quota {daily} exhausted for the day)"
        return BackendError(
            redact(said, secrets),
            backend=backend,
            status=code,
            kind="rate_limit",
            retryable=not daily,
            retry_after=_retry_delay(exc),
        )
    message = redact(said, secrets)
    if code in (401, 403) or _key_invalid(exc):
        return BackendError(message, backend=backend, status=code, kind="auth")
    if code >= 500 or code == 408:
        return BackendError(message, backend=backend, status=code, kind="server", retryable=True)
    return BackendError(message, backend=backend, status=code, kind="client")


def transport_error(exc: Exception, backend: str, secrets: Iterable[str] = ()) -> BackendError:
    """The BackendError a transport exception of the SDK's HTTP client means."""
    name = type(exc).__name__.lower()
    if "timeout" in name:
        return BackendError("request timed out", backend=backend, kind="timeout", retryable=True)
    if any(w in name for w in ("connect", "network", "protocol", "readerror", "remote")):
        return BackendError(
            redact(f"connection failed: {exc}", secrets),
            backend=backend,
            kind="network",
            retryable=True,
        )
    return BackendError(
        redact(f"{type(exc).__name__}: {exc}", secrets),
        backend=backend,
        kind="bad_response",
        retryable=True,
    )


def _error_details(exc: Any) -> list[Any]:
    body = getattr(exc, "details", None) or getattr(exc, "response_json", None) or {}
    details = body.get("error", {}).get("details", []) if isinstance(body, dict) else []
    return details if isinstance(details, list) else []


def _key_invalid(exc: Any) -> bool:
    """Whether a Gemini error says the key is not valid (a 400 with reason API_KEY_INVALID)."""
    return any(
        isinstance(d, dict) and d.get("reason") == "API_KEY_INVALID" for d in _error_details(exc)
    )


def _daily_quota(exc: Any) -> str | None:
    """The quota id of a per-day `QuotaFailure` violation in a Gemini error, if any
    (waiting minutes cannot help; the quota resets at midnight Pacific time)."""
    for d in _error_details(exc):
        if not isinstance(d, dict) or d.get("@type") != _QUOTA_FAILURE:
            continue
        for v in d.get("violations") or []:
            quota = (
                str(v.get("quotaId") or v.get("quotaMetric") or "") if isinstance(v, dict) else ""
            )
            if "perday" in quota.lower().replace("_", "").replace("-", ""):
                return quota
    return None


def _retry_delay(exc: Any) -> float | None:
    """RetryInfo.retryDelay ('30s') from a Gemini error body, if any."""
    for d in _error_details(exc):
        if isinstance(d, dict) and "retryDelay" in d:
            m = re.match(r"^([\d.]+)s$", str(d["retryDelay"]))
            if m:
                return float(m.group(1))
    return None

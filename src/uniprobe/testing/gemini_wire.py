"""The Gemini side of the fake: `models/{model}:generateContent` under /v1 and /v1beta.

Shapes follow /work/shared/reference/provider-protocols.md section 4. The server
keeps no conversation: the client resends `contents`. Every image the fake draws
carries a `thoughtSignature`; model-role image parts that come back without one
(or with one the fake never issued) are counted, and rejected with 400
INVALID_ARGUMENT under `strict_signatures`, as gemini-3 image models do.

A request for JSON (`generationConfig.responseMimeType == "application/json"`, as a
VLM judge sends) is answered with text from the JSON handler instead of an image.

A request for words only (`responseModalities` exactly `["TEXT"]`, in any case) goes to
the mind when there is one: the conversation (model turns as the assistant's, images as
bytes) and the schema (`responseJsonSchema`, else `responseSchema`, when the MIME type is
JSON); its text is the reply's text part. Text that is not JSON under a schema, which
constrained decoding would not produce, is answered as output cut off mid-JSON:
`finishReason: MAX_TOKENS`. Without a mind such a request is answered as before.
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass
from typing import Any

from uniprobe.testing._handlers import Handler, Refusal, ask_handler, is_json
from uniprobe.testing._mind import Mind, Said
from uniprobe.testing._wire import (
    INVALID_BASE64,
    Outgoing,
    RecordedRequest,
    WireError,
    b64,
    decode_b64,
    json_reply,
    reencode,
    text_tokens,
)
from uniprobe.testing.faults import Fault
from uniprobe.testing.painter import paint

__all__ = [
    "INPUT_IMAGE_TOKENS",
    "GeminiAPI",
    "gemini_error",
    "gemini_fault_reply",
    "image_output_tokens",
]

INPUT_IMAGE_TOKENS = 258
"""Prompt tokens per input image (Gemini's figure for an image up to 384 px a side)."""
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_QUOTA_METRIC = "generativelanguage.googleapis.com/generate_content_free_tier_requests"


def image_output_tokens(model: str, image_size: str | None) -> int:
    """Output tokens per image: 1290 for gemini-2.5 image models; 1120 for gemini-3
    ones (2000 at imageSize 4K)."""
    if "gemini-3" in model:
        return 2000 if image_size == "4K" else 1120
    return 1290


def gemini_error(
    code: int,
    status: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Outgoing:
    """A Google API error reply: `{"error": {"code", "message", "status", "details"?}}`."""
    err: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        err["details"] = details
    return json_reply(code, {"error": err}, headers=headers)


def _invalid(message: str) -> WireError:
    return WireError(gemini_error(400, "INVALID_ARGUMENT", message))


def _get(d: dict[str, Any], camel: str, snake: str) -> Any:
    return d[camel] if camel in d else d.get(snake)


@dataclass(frozen=True)
class _Content:
    role: str
    text: str
    images: tuple[bytes, ...]


class GeminiAPI:
    """generateContent; issues thought signatures and checks the ones sent back."""

    def __init__(
        self,
        *,
        canvas: int,
        strict_signatures: bool,
        json_handler: Handler | None = None,
        prompt_cache: bool = False,
        mind: Mind | None = None,
    ) -> None:
        self.canvas = canvas
        self.mind = mind
        """Answers the requests for words only (None: answered as before)."""
        self.prompt_cache = prompt_cache
        """Report the tokens of every content before the latest as `cachedContentTokenCount`."""
        self.strict_signatures = strict_signatures
        self.json_handler = json_handler
        self.missing_signatures = 0
        self.invalid_signatures = 0
        self.dropped_signatures = 0
        self._issued: dict[bytes, frozenset[bytes]] = {}
        self._lock = threading.Lock()

    def reset_counters(self) -> None:
        """Zero the signature counters."""
        with self._lock:
            self.missing_signatures = self.invalid_signatures = self.dropped_signatures = 0

    def _signatures(self, n: int) -> list[bytes]:
        """`n` signatures for the parts of one reply; each knows its siblings, so a
        history that keeps some of them but drops others is caught."""
        # Bytes whose base64 differs between the two alphabets, so a client that
        # sends them back URL-safe (as google-genai does) is decoded correctly.
        sigs = [b"\xfb\xff\xfe-sig-" + os.urandom(9) for _ in range(n)]
        with self._lock:
            for sig in sigs:
                self._issued[sig] = frozenset(sigs)
        return sigs

    def _check_siblings(self, parts: list[Any], ci: int) -> None:
        """Every signature of a reply must come back with the model turn that echoes it."""
        sent: set[bytes] = set()
        for part in parts:
            raw = (
                _get(part, "thoughtSignature", "thought_signature")
                if isinstance(part, dict)
                else None
            )
            if raw is not None:
                try:
                    sent.add(decode_b64(str(raw)))
                except ValueError:
                    continue
        with self._lock:
            issued = {s for sig in sent for s in self._issued.get(sig, frozenset())}
            dropped = len(issued - sent)
            self.dropped_signatures += dropped
        if dropped and self.strict_signatures:
            raise _invalid(
                f"Thought signature is missing in content position {ci + 1}: a part of the "
                "model's reply was sent back without the thought_signature it came with."
            )

    def _check_signature(self, part: dict[str, Any], where: tuple[int, int]) -> None:
        raw = _get(part, "thoughtSignature", "thought_signature")
        position = f"content position {where[0] + 1}, part position {where[1] + 1}"
        if raw is None:
            with self._lock:
                self.missing_signatures += 1
            if self.strict_signatures:
                raise _invalid(f"Image part is missing a thought_signature in {position}.")
            return
        try:
            with self._lock:
                known = decode_b64(str(raw)) in self._issued
        except ValueError:
            known = False
        if not known:
            with self._lock:
                self.invalid_signatures += 1
            if self.strict_signatures:
                raise _invalid(f"Thought signature is not valid ({position}).")

    def _contents(self, body: dict[str, Any]) -> list[_Content]:
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise _invalid("* GenerateContentRequest.contents: contents is not specified")
        out = []
        for ci, content in enumerate(contents):
            if not isinstance(content, dict):
                raise _invalid(f"Invalid content at position {ci + 1}.")
            role = str(content.get("role") or "user")
            texts: list[str] = []
            images: list[bytes] = []
            for pi, part in enumerate(content.get("parts") or []):
                if not isinstance(part, dict):
                    raise _invalid(f"Invalid part in content position {ci + 1}.")
                if "text" in part and not part.get("thought"):
                    texts.append(str(part["text"]))
                blob = _get(part, "inlineData", "inline_data")
                if isinstance(blob, dict):
                    try:
                        images.append(decode_b64(str(blob.get("data", ""))))
                    except ValueError as exc:
                        raise _invalid(f"Invalid value at 'inline_data.data': {exc}") from exc
                    if role == "model":
                        self._check_signature(part, (ci, pi))
            if role == "model":
                self._check_siblings(content.get("parts") or [], ci)
            out.append(_Content(role, "\n".join(texts), tuple(images)))
        return out

    def generate(
        self, req: RecordedRequest, model: str, variant: str | None, *, reason: str = ""
    ) -> Outgoing:
        """POST /{v1,v1beta}/models/{model}:generateContent (`variant`: a fault that
        changes the content; `reason`: the finishReason of the `finish_reason` fault).

        A gemini-3 model thinks first, as the real ones do: its reply opens with a thought
        part that holds only a signature, and its first text part is signed too."""
        if not isinstance(req.json, dict):
            raise _invalid("Invalid JSON payload received.")
        body = req.json
        contents = self._contents(body)
        config = _get(body, "generationConfig", "generation_config") or {}
        modalities = _get(config, "responseModalities", "response_modalities")
        image_config = _get(config, "imageConfig", "image_config") or {}
        user = next((c for c in reversed(contents) if c.role == "user"), _Content("user", "", ()))
        latest = next((c.images[-1] for c in reversed(contents) if c.images), None)
        prompt = _prompt_tokens(contents, _get(body, "systemInstruction", "system_instruction"))
        meta = {"modelVersion": model, "responseId": _response_id()}
        if variant == "prompt_blocked":
            usage = {"promptTokenCount": sum(prompt), "totalTokenCount": sum(prompt)}
            feedback = {"blockReason": "PROHIBITED_CONTENT"}
            return json_reply(200, {"promptFeedback": feedback, "usageMetadata": usage, **meta})
        if variant in ("no_image", "finish_reason"):
            finish = "NO_IMAGE" if variant == "no_image" else reason
            candidate = {"finishReason": finish, "index": 0}
            if variant == "finish_reason":
                candidate["finishMessage"] = f"Generation stopped ({finish})."
            usage = {"promptTokenCount": sum(prompt), "totalTokenCount": sum(prompt)}
            return json_reply(200, {"candidates": [candidate], "usageMetadata": usage, **meta})
        wanted = [str(m).upper() for m in modalities] if isinstance(modalities, list) else None
        if self.mind is not None and wanted == ["TEXT"]:
            return self._think(self.mind, model, contents, config, (prompt, meta))
        if _get(config, "responseMimeType", "response_mime_type") == "application/json":
            return self._json(body, prompt, meta)
        wants_image = wanted is None or "IMAGE" in wanted
        if wants_image:
            png, text = paint(user.text, input_image=latest, size=self.canvas)
        else:
            png, text = None, "I can only answer in text: IMAGE is not a response modality."
        thinks = "gemini-3" in model
        parts: list[dict[str, Any]] = [{"text": text}]
        image_tokens = 0
        drawn = png is not None and variant != "text_only"
        sigs = iter(self._signatures(int(drawn) + 2 * int(thinks)))
        if thinks:
            parts = [{"thought": True, "thoughtSignature": b64(next(sigs))}, *parts]
            parts[1]["thoughtSignature"] = b64(next(sigs))
        if png is not None and drawn:
            image, mime = reencode(png, "png")
            data = INVALID_BASE64 if variant == "invalid_base64" else b64(image)
            parts.append(
                {
                    "inlineData": {"mimeType": mime, "data": data},
                    "thoughtSignature": b64(next(sigs)),
                }
            )
            image_tokens = image_output_tokens(model, _get(image_config, "imageSize", "image_size"))
        served = 1 if image_tokens and variant != "invalid_base64" else 0
        candidate = {
            "content": {"role": "model", "parts": parts},
            "finishReason": "STOP",
            "index": 0,
        }
        usage = {**_usage(prompt, text, image_tokens), **self._cached(contents)}
        return json_reply(
            200,
            {"candidates": [candidate], "usageMetadata": usage, **meta},
            images=served,
        )

    def _think(
        self,
        mind: Mind,
        model: str,
        contents: list[_Content],
        config: dict[str, Any],
        facts: tuple[tuple[int, int], dict[str, str]],
    ) -> Outgoing:
        """The mind's answer as the reply's text part (a gemini-3 model thinks first);
        `facts`: the prompt's text and image tokens, and the reply's model and id."""
        prompt, meta = facts
        said = [
            Said("assistant" if c.role == "model" else "user", c.text, c.images) for c in contents
        ]
        schema = _schema(config)
        text = mind.answer(model, said, schema)
        part: dict[str, Any] = {"text": text}
        parts = [part]
        if "gemini-3" in model:
            thought, signed = self._signatures(2)
            part["thoughtSignature"] = b64(signed)
            parts = [{"thought": True, "thoughtSignature": b64(thought)}, part]
        finish = "MAX_TOKENS" if schema is not None and not is_json(text) else "STOP"
        candidate = {"content": {"role": "model", "parts": parts}, "finishReason": finish,
                     "index": 0}  # fmt: skip
        usage = {**_usage(prompt, text, 0), **self._cached(contents)}
        return json_reply(200, {"candidates": [candidate], "usageMetadata": usage, **meta})

    def _cached(self, contents: list[_Content]) -> dict[str, Any]:
        """With `prompt_cache`, every content before the latest counts as served from the
        cache (a resent prefix, as Gemini's implicit caching does)."""
        return _cache_usage(contents[:-1]) if self.prompt_cache else {}

    def _json(
        self, body: dict[str, Any], prompt: tuple[int, int], meta: dict[str, str]
    ) -> Outgoing:
        """A JSON answer from the JSON handler ("{}" without one); a refusal is a SAFETY stop."""
        if self.json_handler is None:
            answer: str | Refusal = "{}"
        else:
            answer = ask_handler(
                self.json_handler, body, lambda message: gemini_error(500, "INTERNAL", message)
            )
        if isinstance(answer, Refusal):
            candidate: dict[str, Any] = {"finishReason": "SAFETY", "index": 0}
            usage = {"promptTokenCount": sum(prompt), "totalTokenCount": sum(prompt)}
            return json_reply(200, {"candidates": [candidate], "usageMetadata": usage, **meta})
        candidate = {
            "content": {"role": "model", "parts": [{"text": answer}]},
            "finishReason": "STOP",
            "index": 0,
        }
        usage = _usage(prompt, answer, 0)
        return json_reply(200, {"candidates": [candidate], "usageMetadata": usage, **meta})


def _schema(config: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request for JSON asks the answer to follow, if any."""
    if _get(config, "responseMimeType", "response_mime_type") != "application/json":
        return None
    schema = _get(config, "responseJsonSchema", "response_json_schema")
    if schema is None:
        schema = _get(config, "responseSchema", "response_schema")
    return schema if isinstance(schema, dict) else None


def _cache_usage(contents: list[_Content]) -> dict[str, Any]:
    """`cachedContentTokenCount` and `cacheTokensDetails` for the contents served from the
    cache (part of `promptTokenCount`); nothing when none were."""
    text, image = _prompt_tokens(contents, None)
    if not text + image:
        return {}
    details = [{"modality": "TEXT", "tokenCount": text}]
    if image:
        details.append({"modality": "IMAGE", "tokenCount": image})
    return {"cachedContentTokenCount": text + image, "cacheTokensDetails": details}


def _prompt_tokens(contents: list[_Content], system: object) -> tuple[int, int]:
    """Text and image tokens of the request."""
    parts = system.get("parts") if isinstance(system, dict) else None
    text = sum(text_tokens(c.text) for c in contents) + sum(
        text_tokens(str(p.get("text", ""))) for p in parts or [] if isinstance(p, dict)
    )
    return text, sum(INPUT_IMAGE_TOKENS * len(c.images) for c in contents)


def _response_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(17)).decode("ascii").rstrip("=")


def _usage(prompt: tuple[int, int], text: str, image_tokens: int) -> dict[str, Any]:
    out = text_tokens(text)
    details = [{"modality": "TEXT", "tokenCount": out}]
    if image_tokens:
        details.insert(0, {"modality": "IMAGE", "tokenCount": image_tokens})
    prompt_details = [{"modality": "TEXT", "tokenCount": prompt[0]}]
    if prompt[1]:
        prompt_details.append({"modality": "IMAGE", "tokenCount": prompt[1]})
    return {
        "promptTokenCount": sum(prompt),
        "candidatesTokenCount": out + image_tokens,
        "totalTokenCount": sum(prompt) + out + image_tokens,
        "promptTokensDetails": prompt_details,
        "candidatesTokensDetails": details,
        "thoughtsTokenCount": 0,
    }


def gemini_fault_reply(fault: Fault) -> Outgoing:
    """The error reply for a fault that replaces the answer (rate limits, 5xx)."""
    if fault.kind in ("rate_limit", "rate_limit_ms"):
        header = (
            {"retry-after": f"{fault.delay:g}"}
            if fault.kind == "rate_limit"
            else {"retry-after-ms": str(round(fault.delay * 1000))}
        )
        return gemini_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
            details=[{"@type": _RETRY_INFO, "retryDelay": f"{fault.delay:g}s"}],
            headers=header,
        )
    if fault.kind == "quota":
        violation = {
            "quotaMetric": _QUOTA_METRIC,
            "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
        }
        return gemini_error(
            429,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details. "
            "For more information on this error, head to: "
            "https://ai.google.dev/gemini-api/docs/rate-limits.",
            details=[{"@type": _QUOTA_FAILURE, "violations": [violation]}],
        )
    if fault.kind == "unavailable":
        return gemini_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
    return gemini_error(
        500,
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    )

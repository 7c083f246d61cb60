"""The OpenAI side of the fake: errors and faults, the Images API, Chat Completions.

Shapes follow /work/shared/reference/provider-protocols.md sections 1 and 3 (the
Responses API is in `responses_wire`). Images are drawn by the literal painter at
the server's canvas size whatever `size` is requested; the `size` field echoes
the request, and the token counts follow it.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from uniprobe.testing._handlers import FaultRaised, Handler, Refusal, ask_handler
from uniprobe.testing._wire import (
    INVALID_BASE64,
    Outgoing,
    RecordedRequest,
    WireError,
    b64,
    json_reply,
    now,
    reencode,
    text_tokens,
)
from uniprobe.testing.faults import Fault
from uniprobe.testing.painter import blank, paint
from uniprobe.testing.sampling import check_sampling

__all__ = [
    "INPUT_IMAGE_TOKENS",
    "ChatHandler",
    "FaultRaised",
    "ServedFiles",
    "chat_completion",
    "image_output_tokens",
    "image_usage",
    "images_edit",
    "images_generate",
    "openai_error",
    "openai_fault_reply",
]

ChatHandler = Handler
"""Answers a chat completion: gets the parsed request body, returns the assistant's
content, a `Refusal` (sent as `message.refusal`), or a `Fault` to answer with (an
exception becomes a 500)."""

INPUT_IMAGE_TOKENS = 194
"""Input tokens the fake charges per image given to a model."""
_OUTPUT_TOKENS = {
    "1024x1024": (272, 1056, 4160),
    "1024x1536": (408, 1584, 6240),
    "1536x1024": (400, 1568, 6208),
}
_QUALITY_INDEX = {"low": 0, "medium": 1, "high": 2}
_QUALITY_ALIAS = {
    "auto": "medium",
    "standard": "medium",
    "hd": "high",
    "xhigh": "high",
    "max": "high",
}


def image_output_tokens(size: str, quality: str) -> int:
    """Image output tokens per image, as OpenAI bills gpt-image models.

    1024x1024 costs 272 / 1056 / 4160 at low / medium / high; 1024x1536 408 / 1584 /
    6240; 1536x1024 400 / 1568 / 6208; other sizes scale 1024x1024 by area.
    """
    q = _QUALITY_INDEX[_QUALITY_ALIAS.get(quality, quality)]
    if size in _OUTPUT_TOKENS:
        return _OUTPUT_TOKENS[size][q]
    w, h = (int(v) for v in size.split("x"))
    return round(_OUTPUT_TOKENS["1024x1024"][q] * w * h / 1024**2)


def image_usage(output_tokens: int, input_images: int, prompt_tokens: int) -> dict[str, Any]:
    """The `usage` of the Images API and of `tool_usage.image_gen`."""
    image_in = input_images * INPUT_IMAGE_TOKENS
    return {
        "input_tokens": prompt_tokens + image_in,
        "input_tokens_details": {"image_tokens": image_in, "text_tokens": prompt_tokens},
        "output_tokens": output_tokens,
        "output_tokens_details": {"image_tokens": output_tokens, "text_tokens": 0},
        "total_tokens": prompt_tokens + image_in + output_tokens,
    }


def openai_error(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Outgoing:
    """An OpenAI error reply: `{"error": {"message", "type", "param", "code"}}`."""
    err = {"message": message, "type": type, "param": param, "code": code}
    return json_reply(status, {"error": err}, headers=headers)


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> WireError:
    """A 400 invalid_request_error to raise from an endpoint."""
    return WireError(openai_error(400, message, param=param, code=code))


def new_id(prefix: str) -> str:
    """An id in OpenAI's style: prefix, underscore, hex."""
    return f"{prefix}_{uuid.uuid4().hex}"


def json_body(req: RecordedRequest) -> dict[str, Any]:
    """The request's JSON object, or the 400 OpenAI sends for a body that is not JSON."""
    if not isinstance(req.json, dict):
        raise bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely means "
            "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
            "payload, but what was sent was not valid JSON.)"
        )
    return req.json


def required(body: dict[str, Any], name: str) -> Any:
    """A required parameter, or the 400 for a missing one."""
    if body.get(name) in (None, ""):
        raise bad_request(
            f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
        )
    return body[name]


def image_params(params: dict[str, Any]) -> tuple[str, str, str, str]:
    """Size, quality, output format and background with "auto" resolved as the API
    reports them (1024x1024, medium, png, opaque); 400 for a size or quality it rejects."""
    size = str(params.get("size") or "auto")
    size = "1024x1024" if size == "auto" else size
    quality = str(params.get("quality") or "auto")
    quality = _QUALITY_ALIAS.get(quality, quality)
    if quality not in _QUALITY_INDEX:
        raise bad_request(f"Invalid value: '{quality}'.", param="quality", code="invalid_value")
    parts = size.split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise bad_request(f"Invalid value: '{size}'.", param="size", code="invalid_value")
    background = str(params.get("background") or "auto")
    background = "opaque" if background == "auto" else background
    return size, quality, str(params.get("output_format") or "png"), background


# --- Images API ------------------------------------------------------------------------

MAX_FILES = 1024
"""Images kept for download by URL (the oldest are forgotten first)."""


class ServedFiles:
    """Images answered by URL (`GET /files/<hex>.<ext>` on the fake itself); thread-safe.

    Args:
        image_urls: Answer the Images API with URLs whatever `response_format` asks, as
            some compatible servers do (else a URL only when `response_format="url"`).
    """

    def __init__(self, *, image_urls: bool) -> None:
        self.image_urls = image_urls
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, data: bytes, fmt: str) -> str:
        """Keep an image; returns its path on the fake."""
        name = f"{uuid.uuid4().hex}.{fmt}"
        with self._lock:
            self._files[name] = data
            while len(self._files) > MAX_FILES:
                self._files.popitem(last=False)
        return f"/files/{name}"

    def get(self, name: str) -> Outgoing:
        """The image, or a 404 for a name never served."""
        with self._lock:
            data = self._files.get(name)
        if data is None:
            return openai_error(404, f"File {name} not found.")
        ext = name.rsplit(".", 1)[-1]
        return Outgoing(200, data, {"content-type": f"image/{ext}"})


def _wants_url(params: dict[str, Any], variant: str | None, files: ServedFiles | None) -> bool:
    """Whether to answer with a URL; 400 for `response_format` where OpenAI rejects it."""
    asked = params.get("response_format")
    if asked is not None and str(params.get("model") or "").startswith("gpt-image"):
        raise bad_request(
            "Unknown parameter: 'response_format'.",
            param="response_format",
            code="unknown_parameter",
        )
    if asked not in (None, "url", "b64_json"):
        raise bad_request(
            f"Invalid value: '{asked}'. Supported values are: 'url' and 'b64_json'.",
            param="response_format",
            code="invalid_value",
        )
    if files is None:
        return False
    return variant == "image_url" or files.image_urls or asked == "url"


def _images(
    params: dict[str, Any],
    prompt: str,
    inputs: list[bytes],
    *,
    variant: str | None,
    canvas: int,
    files: ServedFiles | None = None,
    host: str = "",
) -> Outgoing:
    size, quality, fmt, background = image_params(params)
    as_url = _wants_url(params, variant, files)
    try:
        n = int(params.get("n") or 1)
    except ValueError as exc:
        raise bad_request(f"Invalid value for 'n': {params.get('n')!r}.", param="n") from exc
    if not 1 <= n <= 10:
        raise bad_request(f"Invalid 'n': must be between 1 and 10, got {n}.", param="n")
    data = []
    for i in range(n):  # the i-th image is laid out with seed i
        png, _ = paint(prompt, input_image=inputs[0] if inputs else None, size=canvas, seed=i)
        image, _ = reencode(png or blank(canvas), fmt)
        if as_url and files is not None:
            data.append({"url": f"http://{host}{files.put(image, fmt)}"})
        else:
            data.append({"b64_json": INVALID_BASE64 if variant == "invalid_base64" else b64(image)})
    usage = image_usage(image_output_tokens(size, quality) * n, len(inputs), text_tokens(prompt))
    reply = {
        "created": now(),
        "background": background,
        "output_format": fmt,
        "quality": quality,
        "size": size,
        "data": data,
        "usage": usage,
    }
    return json_reply(200, reply, images=0 if variant == "invalid_base64" else n)


def images_generate(
    req: RecordedRequest, *, variant: str | None, canvas: int, files: ServedFiles | None = None
) -> Outgoing:
    """POST /v1/images/generations (JSON). A prompt naming nothing gives a blank canvas."""
    body = json_body(req)
    prompt = str(required(body, "prompt"))
    host = req.headers.get("host", "")
    return _images(body, prompt, [], variant=variant, canvas=canvas, files=files, host=host)


def images_edit(
    req: RecordedRequest, *, variant: str | None, canvas: int, files: ServedFiles | None = None
) -> Outgoing:
    """POST /v1/images/edits (multipart: `image` or repeated `image[]`, optional `mask`).

    The first image is the canvas: returned unchanged when the prompt names nothing."""
    if not req.headers.get("content-type", "").startswith("multipart/form-data"):
        raise bad_request("Expected a multipart/form-data body.")
    form = dict(req.form)
    prompt = str(required(form, "prompt"))
    images = [*req.files.get("image", []), *req.files.get("image[]", [])]
    if not images:
        raise bad_request(
            "Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
        )
    host = req.headers.get("host", "")
    return _images(
        form,
        prompt,
        [f.data for f in images],
        variant=variant,
        canvas=canvas,
        files=files,
        host=host,
    )


# --- Chat Completions ------------------------------------------------------------------


def chat_completion(req: RecordedRequest, handler: ChatHandler) -> Outgoing:
    """POST /v1/chat/completions; the content comes from the chat handler.

    Raises:
        FaultRaised: the handler answered with a fault.
    """
    body = json_body(req)
    model = str(required(body, "model"))
    check_sampling(body)
    prompt, images = _chat_input(required(body, "messages"))
    answer = ask_handler(
        handler, body, lambda message: openai_error(500, message, type="server_error")
    )
    refused = isinstance(answer, Refusal)
    text = answer.message if isinstance(answer, Refusal) else answer
    completion = text_tokens(text)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if refused else text,
        "refusal": text if refused else None,
        "annotations": [],
    }
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": 0,
            "audio_tokens": 0,
            "image_tokens": images * INPUT_IMAGE_TOKENS,
        },
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    choice = {"index": 0, "finish_reason": "stop", "logprobs": None, "message": message}
    reply = {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "system_fingerprint": "fp_fake",
        "service_tier": "default",
        "choices": [choice],
        "usage": usage,
    }
    return json_reply(200, reply)


def _chat_input(messages: object) -> tuple[int, int]:
    tokens, images = 0, 0
    for m in messages if isinstance(messages, list) else []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str):
            tokens += text_tokens(content)
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                images += 1
            elif isinstance(part, dict):
                tokens += text_tokens(str(part.get("text", "")))
    return tokens + images * INPUT_IMAGE_TOKENS, images


# --- Faults ----------------------------------------------------------------------------


def _rate_limited(fault: Fault, model: str) -> Outgoing:
    delay = f"{fault.delay:g}"
    header = (
        {"retry-after": delay}
        if fault.kind == "rate_limit"
        else {"retry-after-ms": str(round(fault.delay * 1000))}
    )
    return openai_error(
        429,
        f"Rate limit reached for {model} in organization org-fake on requests per min (RPM): "
        f"Limit 5, Used 5, Requested 1. Please try again in {delay}s. Visit "
        "https://platform.openai.com/account/rate-limits to learn more.",
        type="requests",
        code="rate_limit_exceeded",
        headers={
            **header,
            "x-ratelimit-limit-requests": "5",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": f"{delay}s",
        },
    )


def openai_fault_reply(fault: Fault, req: RecordedRequest) -> Outgoing:
    """The error reply for a fault that replaces the answer (rate limits, 5xx, blocks)."""
    if fault.kind in ("rate_limit", "rate_limit_ms"):
        model = req.json.get("model") if isinstance(req.json, dict) else req.form.get("model")
        return _rate_limited(fault, str(model or "gpt-image-2"))
    if fault.kind == "quota":
        return openai_error(
            429,
            "You exceeded your current quota, please check your plan and billing details. "
            "For more information on this error, read the docs: "
            "https://platform.openai.com/docs/guides/error-codes/api-errors.",
            type="insufficient_quota",
            code="insufficient_quota",
            headers={"x-should-retry": "false"},
        )
    if fault.kind == "moderation_blocked":
        request_id = new_id("req")
        return openai_error(
            400,
            "Your request was rejected by the safety system. If you believe this is an error, "
            f"contact us at help.openai.com and include the request ID {request_id}. "
            "safety_violations=[violence].",
            type="image_generation_user_error",
            code="moderation_blocked",
            headers={"x-request-id": request_id},
        )
    if fault.kind == "unavailable":
        return openai_error(503, "The server is overloaded or not ready yet.", type="server_error")
    return openai_error(
        500,
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )

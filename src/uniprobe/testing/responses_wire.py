"""The OpenAI Responses API with the `image_generation` tool.

Shapes follow /work/shared/reference/provider-protocols.md section 2. Stored
responses (the last 4096) let a request continue with `previous_response_id`;
a stateless `input` list (input_text, input_image data URLs, output_text, and
image_generation_call items by id) works too. The painter reads the latest user
message; the latest image anywhere in the conversation is what an edit that names
nothing drawable returns unchanged.

A request without the image_generation tool asks for words: with a mind, the whole
conversation (the stored history included, images as bytes) and the JSON schema of
`text.format` go to `mind.answer`, and its text is the reply's `output_text`. Structured
output the real API could not have produced (text that is not JSON under a schema) is
answered as the API answers output cut off mid-JSON: `status: "incomplete"`, reason
`max_output_tokens`. Without a mind such a request gets a fixed sentence.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from uniprobe.testing._handlers import is_json
from uniprobe.testing._mind import Mind, Said
from uniprobe.testing._wire import (
    INVALID_BASE64,
    Outgoing,
    RecordedRequest,
    WireError,
    b64,
    decode_data_url,
    json_reply,
    now,
    reencode,
    text_tokens,
)
from uniprobe.testing.openai_wire import (
    INPUT_IMAGE_TOKENS,
    bad_request,
    image_output_tokens,
    image_params,
    image_usage,
    json_body,
    new_id,
    openai_error,
    required,
)
from uniprobe.testing.painter import paint

__all__ = ["MAX_STORED", "ResponsesAPI", "Turn"]

MAX_STORED = 4096
"""Responses (and image_generation_call images) kept for later requests."""
NO_TOOL_TEXT = "I can only answer in text: no image_generation tool was given."
FAILED_TEXT = "Sorry, I couldn't generate that image."

Call = dict[str, Any]


@dataclass(frozen=True)
class Turn:
    """One message of a conversation the fake keeps for `previous_response_id`."""

    role: Literal["user", "assistant"]
    text: str
    images: tuple[bytes, ...] = ()


class ResponsesAPI:
    """POST /v1/responses; keeps stored conversations, thread-safe."""

    def __init__(
        self, *, canvas: int, prompt_cache: bool = False, mind: Mind | None = None
    ) -> None:
        self.canvas = canvas
        self.prompt_cache = prompt_cache
        """Report the tokens of every earlier turn as `cached_tokens`."""
        self.mind = mind
        """Answers the requests without the image_generation tool (None: a fixed sentence)."""
        self._stored: OrderedDict[str, tuple[Turn, ...]] = OrderedDict()
        self._calls: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def _history(self, response_id: str) -> tuple[Turn, ...]:
        with self._lock:
            turns = self._stored.get(response_id)
        if turns is None:
            raise WireError(
                openai_error(
                    400,
                    f"Previous response with id '{response_id}' not found.",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            )
        return turns

    def _store(self, response_id: str, turns: tuple[Turn, ...], call: Call | None) -> None:
        with self._lock:
            self._stored[response_id] = turns
            if call is not None and turns[-1].images:
                self._calls[call["id"]] = turns[-1].images[0]
            for kept in (self._stored, self._calls):
                while len(kept) > MAX_STORED:
                    kept.popitem(last=False)

    def _turns(self, value: object) -> list[Turn]:
        if isinstance(value, str):
            return [Turn("user", value)]
        if not isinstance(value, list):
            raise bad_request("Invalid type for 'input': expected a string or an array.")
        return [t for item in value if (t := self._turn(item)) is not None]

    def _turn(self, item: object) -> Turn | None:
        if not isinstance(item, dict):
            raise bad_request("Invalid input item: expected an object.", param="input")
        if item.get("type") == "image_generation_call":
            with self._lock:
                image = self._calls.get(str(item.get("id")))
            if image is None:
                raise bad_request(f"Item with id '{item.get('id')}' not found.", param="input")
            return Turn("assistant", "", (image,))
        role = item.get("role")
        if role not in ("user", "assistant"):
            return None  # instructions, reasoning items: a literal reader ignores them
        content = item.get("content")
        if isinstance(content, str):
            return Turn(role, content)
        texts: list[str] = []
        images: list[bytes] = []
        for part in content if isinstance(content, list) else []:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in ("input_text", "output_text"):
                texts.append(str(part.get("text", "")))
            elif kind == "input_image":
                try:
                    images.append(decode_data_url(str(part.get("image_url", ""))))
                except ValueError as exc:
                    raise bad_request(f"Invalid 'input_image': {exc}.", param="input") from exc
        return Turn(role, "\n".join(texts), tuple(images))

    def respond(self, req: RecordedRequest, variant: str | None, *, reason: str = "") -> Outgoing:
        """Answer POST /v1/responses (`variant`: a fault that changes the content;
        `reason`: its incomplete reason or error code)."""
        body = json_body(req)
        model = str(required(body, "model"))
        prev = body.get("previous_response_id")
        history = self._history(str(prev)) if prev else ()
        conversation = (*history, *self._turns(required(body, "input")))
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
        tool = next((t for t in tools if t.get("type") == "image_generation"), None)
        text_format = _text_format(body)
        cut_off = False
        if tool is None:
            text = self._think(model, conversation, text_format)
            structured = self.mind is not None and text_format.get("type") == "json_schema"
            cut_off = structured and not is_json(text)
            call, image, gen = None, None, image_usage(0, 0, 0)
        else:
            call, text, image, gen = self._draw(tool, conversation, variant)
        response_id = new_id("resp")
        store = body.get("store", True)
        status, error, incomplete = _ending(variant, reason)
        cut_off = cut_off and status == "completed"
        if cut_off:  # the text stays, as the API keeps what it wrote before the cut
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        if status != "completed" and not cut_off:
            # a failed or cut-off response has no usable output and cannot be continued
            call, text, image, gen = None, "", None, image_usage(0, 0, 0)
        elif variant == "image_call_failed" and call is not None:
            call.update(status="failed", result=None, error=_call_error(reason))
            text, image, gen = FAILED_TEXT, None, image_usage(0, 0, 0)
        if store and status == "completed":
            made = Turn("assistant", text, (image,) if image else ())
            self._store(response_id, (*conversation, made), call)
        message = {
            "type": "message",
            "id": new_id("msg"),
            "role": "assistant",
            "status": "incomplete" if cut_off else "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        output = ([call] if call else []) + ([message] if text else [])
        reply = {
            "id": response_id,
            "object": "response",
            "created_at": now(),
            "completed_at": now() if status == "completed" else None,
            "status": status,
            "background": False,
            "error": error,
            "incomplete_details": incomplete,
            "instructions": body.get("instructions"),
            "metadata": body.get("metadata") or {},
            "model": model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": prev,
            "store": store,
            "temperature": 1.0,
            "top_p": 1.0,
            "text": {"format": text_format},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": tools,
            "truncation": "disabled",
            "usage": _usage(conversation, text, cached=self.prompt_cache),
            "tool_usage": {"image_gen": gen, "web_search": {"num_requests": 0}},
        }
        served = 1 if image is not None and variant != "invalid_base64" else 0
        return json_reply(200, reply, images=served)

    def _think(
        self, model: str, conversation: tuple[Turn, ...], text_format: dict[str, Any]
    ) -> str:
        """The mind's answer to a request for words (a fixed sentence without a mind)."""
        if self.mind is None:
            return NO_TOOL_TEXT
        said = [Said(t.role, t.text, t.images) for t in conversation]
        schema = text_format.get("schema") if text_format.get("type") == "json_schema" else None
        return self.mind.answer(model, said, schema if isinstance(schema, dict) else None)

    def _draw(
        self, tool: dict[str, Any], conversation: tuple[Turn, ...], variant: str | None
    ) -> tuple[Call | None, str, bytes | None, dict[str, Any]]:
        """The image_generation_call (None: the answer is text only), the text, the
        image drawn, and the tool's usage."""
        size, quality, fmt, background = image_params(tool)
        user = next((t for t in reversed(conversation) if t.role == "user"), Turn("user", ""))
        latest = next((t.images[-1] for t in reversed(conversation) if t.images), None)
        action = str(tool.get("action") or "auto")
        if action == "edit" and latest is None:
            raise bad_request("The image_generation tool was asked to edit, but there is no image.")
        action = "edit" if latest is not None and action != "generate" else "generate"
        png, text = paint(user.text, input_image=latest, size=self.canvas)
        nothing = image_usage(0, 0, 0)
        if variant == "text_only" or (png is None and variant != "no_image"):
            return None, text, None, nothing
        call: Call = {
            "type": "image_generation_call",
            "id": new_id("ig"),
            "status": "failed",
            "action": action,
            "background": background,
            "output_format": fmt,
            "quality": quality,
            "size": size,
            "revised_prompt": user.text,
            "result": None,
        }
        if variant == "no_image" or png is None:
            return call, FAILED_TEXT, None, nothing
        image, _ = reencode(png, fmt)
        call["status"] = "completed"
        call["result"] = INVALID_BASE64 if variant == "invalid_base64" else b64(image)
        used = 1 if action == "edit" else 0
        gen = image_usage(image_output_tokens(size, quality), used, text_tokens(user.text))
        return call, text, image, gen


def _text_format(body: dict[str, Any]) -> dict[str, Any]:
    """The request's `text.format` (default: plain text)."""
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    return fmt if isinstance(fmt, dict) else {"type": "text"}


def _ending(
    variant: str | None, reason: str
) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """The response's `status`, `error` and `incomplete_details` under a fault."""
    if variant == "response_failed":
        message = {
            "server_error": "The model failed to generate a response.",
            "rate_limit_exceeded": "Rate limit exceeded while generating the response.",
        }.get(reason, f"The response failed: {reason}.")
        return "failed", {"code": reason, "message": message}, None
    if variant == "response_incomplete":
        return "incomplete", None, {"reason": reason}
    return "completed", None, None


def _call_error(code: str) -> dict[str, Any]:
    """The typed `error` of a failed image_generation_call."""
    if code == "moderation_blocked":
        return {
            "code": code,
            "message": "Your request was rejected by the safety system. "
            "safety_violations=[violence].",
            "type": "image_generation_user_error",
            "param": None,
            "moderation_details": {"categories": ["violence"], "moderation_stage": "output"},
        }
    return {
        "code": code,
        "message": f"Image generation failed ({code}).",
        "type": "server_error",
        "param": None,
    }


def _usage(conversation: tuple[Turn, ...], text: str, *, cached: bool) -> dict[str, Any]:
    """The text model's usage; with `cached`, every turn before the latest counts as served
    from the prompt cache (a resent or stored prefix, as OpenAI's prompt caching does)."""

    def tokens(turns: tuple[Turn, ...]) -> int:
        return sum(text_tokens(t.text) + INPUT_IMAGE_TOKENS * len(t.images) for t in turns)

    prompt = tokens(conversation)
    out = text_tokens(text)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": tokens(conversation[:-1]) if cached else 0},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + out,
    }

"""From a parsed request to the reply: routing, credentials, faults, then the endpoint."""

from __future__ import annotations

import re
import threading
import traceback

from uniprobe.testing._handlers import FaultRaised, Handler
from uniprobe.testing._wire import Endpoint, Outgoing, RecordedRequest, WireError
from uniprobe.testing.faults import Fault, FaultSchedule
from uniprobe.testing.gemini_wire import GeminiAPI, gemini_error, gemini_fault_reply
from uniprobe.testing.openai_wire import (
    chat_completion,
    images_edit,
    images_generate,
    openai_error,
    openai_fault_reply,
)
from uniprobe.testing.responses_wire import ResponsesAPI

__all__ = ["Dispatcher", "gemini_shaped", "route"]

_ROUTES: dict[str, Endpoint] = {
    "/v1/responses": "responses",
    "/v1/images/generations": "images.generations",
    "/v1/images/edits": "images.edits",
    "/v1/chat/completions": "chat.completions",
}
_GEMINI = re.compile(r"^/(?:v1|v1beta)/models/([^/:]+):generateContent$")
ERROR_FAULTS = frozenset(
    {"rate_limit", "rate_limit_ms", "quota", "server_error", "unavailable", "moderation_blocked"}
)
"""Faults answered with an error reply instead of the answer."""
VARIANT_FAULTS = frozenset({"invalid_base64", "prompt_blocked", "text_only", "no_image"})
"""Faults that change what a 200 answer holds."""
_OPENAI_401 = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field "
    "(with blank username) if you're accessing the API from your browser and are prompted for "
    "a username. You can obtain an API key from https://platform.openai.com/account/api-keys."
)
_GEMINI_401 = (
    "Request is missing required authentication credential. Expected an API key in the "
    "x-goog-api-key header or the key query parameter."
)


def route(method: str, path: str) -> tuple[Endpoint | None, str | None]:
    """The endpoint a request goes to (None: unknown) and, for Gemini, the model name."""
    if method != "POST":
        return None, None
    if path in _ROUTES:
        return _ROUTES[path], None
    m = _GEMINI.match(path)
    return ("gemini.generate", m.group(1)) if m else (None, None)


def gemini_shaped(req: RecordedRequest) -> bool:
    """Whether the reply to this request takes Google's shape (else OpenAI's)."""
    if req.endpoint is not None:
        return req.endpoint == "gemini.generate"
    return req.path.startswith("/v1beta/") or ":" in req.path


def _unauthorized(req: RecordedRequest) -> Outgoing | None:
    if req.endpoint == "gemini.generate":
        if req.headers.get("x-goog-api-key") or req.query.get("key"):
            return None
        return gemini_error(401, "UNAUTHENTICATED", _GEMINI_401)
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    return None if scheme == "Bearer" and token.strip() else openai_error(401, _OPENAI_401)


class Dispatcher:
    """Answers requests; keeps the endpoints' state and the fake's own bugs."""

    def __init__(
        self,
        *,
        canvas: int,
        chat_handler: Handler,
        json_handler: Handler | None = None,
        strict_signatures: bool,
        faults: FaultSchedule,
        stopping: threading.Event,
    ) -> None:
        self.canvas = canvas
        self.chat_handler = chat_handler
        self.faults = faults
        self.responses = ResponsesAPI(canvas=canvas)
        self.gemini = GeminiAPI(
            canvas=canvas, strict_signatures=strict_signatures, json_handler=json_handler
        )
        self.errors: list[str] = []
        self._stopping = stopping
        self._lock = threading.Lock()

    def respond(
        self, req: RecordedRequest, model: str | None
    ) -> tuple[Outgoing | None, Fault | None]:
        """The reply (None: send nothing and drop the connection) and the fault applied."""
        if req.endpoint is None:
            if gemini_shaped(req):
                message = f"The requested URL {req.path} was not found."
                return gemini_error(404, "NOT_FOUND", message), None
            return openai_error(404, f"Invalid URL ({req.method} {req.path})"), None
        denied = _unauthorized(req)
        if denied is not None:
            return denied, None
        return self._answer(req, model or "", self.faults.take(req.path, req.endpoint))

    def _answer(
        self, req: RecordedRequest, model: str, fault: Fault | None
    ) -> tuple[Outgoing | None, Fault | None]:
        kind = fault.kind if fault is not None else None
        if fault is not None and kind in ("slow", "timeout"):
            self._stopping.wait(fault.delay)  # a stopping server wakes it
            if kind == "timeout":
                return None, fault
        if fault is not None and kind in ERROR_FAULTS:
            gemini = req.endpoint == "gemini.generate"
            return gemini_fault_reply(fault) if gemini else openai_fault_reply(fault, req), fault
        try:
            reply = self._content(req, model, kind if kind in VARIANT_FAULTS else None)
        except FaultRaised as raised:
            if raised.fault.kind in ERROR_FAULTS or raised.fault.kind == "timeout":
                return self._answer(req, model, raised.fault)
            message = (
                f"the handler returned the fault '{raised.fault.kind}', which cannot "
                f"replace an answer (use timeout or one of {', '.join(sorted(ERROR_FAULTS))})"
            )
            if req.endpoint == "gemini.generate":
                reply = gemini_error(500, "INTERNAL", message)
            else:
                reply = openai_error(500, message, type="server_error")
        if kind == "truncated_json":
            reply = Outgoing(reply.status, reply.body[: len(reply.body) // 2], reply.headers)
        return reply, fault

    def _content(self, req: RecordedRequest, model: str, variant: str | None) -> Outgoing:
        try:
            if req.endpoint == "gemini.generate":
                return self.gemini.generate(req, model, variant)
            if req.endpoint == "responses":
                return self.responses.respond(req, variant)
            if req.endpoint == "images.generations":
                return images_generate(req, variant=variant, canvas=self.canvas)
            if req.endpoint == "images.edits":
                return images_edit(req, variant=variant, canvas=self.canvas)
            return chat_completion(req, self.chat_handler)
        except WireError as exc:
            return exc.reply
        except FaultRaised:
            raise
        except Exception:
            with self._lock:
                self.errors.append(traceback.format_exc())
            message = "fake server bug; see FakeServer.errors"
            if req.endpoint == "gemini.generate":
                return gemini_error(500, "INTERNAL", message)
            return openai_error(500, message, type="server_error")

"""From a parsed request to the reply: routing, credentials, faults, then the endpoint."""

from __future__ import annotations

import re
import threading
import traceback
from dataclasses import replace

from uniprobe.testing._handlers import FaultRaised, Handler
from uniprobe.testing._mind import Mind
from uniprobe.testing._wire import Endpoint, Outgoing, RecordedRequest, WireError, json_reply
from uniprobe.testing.faults import Fault, FaultSchedule
from uniprobe.testing.gemini_wire import GeminiAPI, gemini_error, gemini_fault_reply
from uniprobe.testing.openai_wire import (
    ServedFiles,
    chat_completion,
    images_edit,
    images_generate,
    openai_error,
    openai_fault_reply,
)
from uniprobe.testing.responses_wire import ResponsesAPI

__all__ = ["GEMINI_PAGE_SIZE", "Dispatcher", "gemini_shaped", "model_list", "route"]

_ROUTES: dict[str, Endpoint] = {
    "/v1/responses": "responses",
    "/v1/images/generations": "images.generations",
    "/v1/images/edits": "images.edits",
    "/v1/chat/completions": "chat.completions",
}
_GEMINI = re.compile(r"^/(?:v1|v1beta)/models/([^/:]+):generateContent$")
_FILE = re.compile(r"^/files/([0-9a-f]{32}\.(?:png|jpeg|webp))$")
_MODELS = frozenset({"/v1/models", "/v1beta/models"})
GEMINI_PAGE_SIZE = 3
"""Models per page of the Gemini listing when the client names no `pageSize` (the real
API's default is 50): small, so that a client must follow `nextPageToken`."""
ERROR_FAULTS = frozenset(
    {"rate_limit", "rate_limit_ms", "quota", "server_error", "unavailable", "moderation_blocked"}
)
"""Faults answered with an error reply instead of the answer."""
VARIANT_FAULTS = frozenset(
    {
        "invalid_base64",
        "prompt_blocked",
        "text_only",
        "no_image",
        "response_failed",
        "response_incomplete",
        "image_call_failed",
        "finish_reason",
        "image_url",
    }
)
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
    if method == "GET" and (f := _FILE.match(path)):
        return "files", f.group(1)
    if method == "GET" and path in _MODELS:
        return "models.list", None
    if method != "POST":
        return None, None
    if path in _ROUTES:
        return _ROUTES[path], None
    m = _GEMINI.match(path)
    return ("gemini.generate", m.group(1)) if m else (None, None)


def gemini_shaped(req: RecordedRequest) -> bool:
    """Whether the reply to this request takes Google's shape (else OpenAI's). The model
    list at /v1/models is Google's when asked with a Google key (header or `key=`)."""
    if req.endpoint == "models.list":
        google_key = "x-goog-api-key" in req.headers or "key" in req.query
        return req.path.startswith("/v1beta/") or google_key
    if req.endpoint is not None:
        return req.endpoint == "gemini.generate"
    return req.path.startswith("/v1beta/") or ":" in req.path


def model_list(req: RecordedRequest, models: frozenset[str]) -> Outgoing:
    """The provider's model listing: OpenAI's one list, or Google's pages
    (`pageSize`, `pageToken` -> `nextPageToken`)."""
    names = sorted(models)
    if not gemini_shaped(req):
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "system"} for m in names]
        return json_reply(200, {"object": "list", "data": data})
    try:
        size = int(req.query.get("pageSize") or GEMINI_PAGE_SIZE)
        start = int(req.query.get("pageToken") or 0)
    except ValueError:
        return gemini_error(400, "INVALID_ARGUMENT", "Invalid page size or page token.")
    page = names[start : start + max(1, size)]
    body: dict[str, object] = {
        "models": [
            {
                "name": f"models/{m}",
                "displayName": m,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            }
            for m in page
        ]
    }
    if start + len(page) < len(names):
        body["nextPageToken"] = str(start + len(page))
    return json_reply(200, body)


def _unauthorized(req: RecordedRequest, keys: frozenset[str] | None) -> Outgoing | None:
    """401 without a key; with a list of `keys`, a key not on it is refused as the real
    APIs do, except that the OpenAI message echoes the whole key (as some compatible
    servers do), so that a client which records error bodies verbatim leaks it."""
    if gemini_shaped(req):
        key = req.headers.get("x-goog-api-key") or req.query.get("key")
        if not key:
            return gemini_error(401, "UNAUTHENTICATED", _GEMINI_401)
        if keys is not None and key not in keys:
            return gemini_error(
                400,
                "INVALID_ARGUMENT",
                f"API key not valid. Please pass a valid API key. (key: {key})",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            )
        return None
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme != "Bearer" or not token:
        return openai_error(401, _OPENAI_401)
    if keys is not None and token not in keys:
        return openai_error(
            401,
            f"Incorrect API key provided: {token}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )
    return None


def _unknown_model(
    req: RecordedRequest, model: str | None, models: frozenset[str] | None
) -> Outgoing | None:
    """404 in the provider's shape for a model the server was not told about."""
    if models is None or req.endpoint not in _MODEL_CHECKED:
        return None
    if req.endpoint == "gemini.generate":
        if model in models:
            return None
        version = req.path.split("/")[1]
        return gemini_error(
            404,
            "NOT_FOUND",
            f"models/{model} is not found for API version {version}, or is not supported "
            "for generateContent. Call ListModels to see the list of available models and "
            "their supported methods.",
        )
    body = req.json if isinstance(req.json, dict) else req.form
    names = [body.get("model")]
    for tool in body.get("tools") or [] if isinstance(req.json, dict) else []:
        if isinstance(tool, dict) and tool.get("type") == "image_generation":
            names.append(tool.get("model"))
    for name in names:
        if name is not None and str(name) not in models:
            return openai_error(
                404,
                f"The model `{name}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
    return None


_MODEL_CHECKED = frozenset(
    {"responses", "images.generations", "images.edits", "chat.completions", "gemini.generate"}
)


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
        models: frozenset[str] | None = None,
        api_keys: frozenset[str] | None = None,
        image_urls: bool = False,
        prompt_cache: bool = False,
        mind: Mind | None = None,
    ) -> None:
        self.canvas = canvas
        self.chat_handler = chat_handler
        self.faults = faults
        self.models = models
        self.api_keys = api_keys
        self.files = ServedFiles(image_urls=image_urls)
        self.responses = ResponsesAPI(canvas=canvas, prompt_cache=prompt_cache, mind=mind)
        self.gemini = GeminiAPI(
            canvas=canvas,
            strict_signatures=strict_signatures,
            json_handler=json_handler,
            prompt_cache=prompt_cache,
            mind=mind,
        )
        self.errors: list[str] = []
        self._stopping = stopping
        self._lock = threading.Lock()

    def respond(
        self, req: RecordedRequest, model: str | None
    ) -> tuple[Outgoing | None, Fault | None]:
        """The reply (None: send nothing and drop the connection) and the fault applied."""
        if req.endpoint == "models.list" and self.models is None:
            req = replace(req, endpoint=None)  # a fake that takes any name lists none
        if req.endpoint is None:
            if gemini_shaped(req):
                message = f"The requested URL {req.path} was not found."
                return gemini_error(404, "NOT_FOUND", message), None
            return openai_error(404, f"Invalid URL ({req.method} {req.path})"), None
        if req.endpoint == "files":
            return self.files.get(model or ""), None
        denied = _unauthorized(req, self.api_keys) or _unknown_model(req, model, self.models)
        if denied is not None:
            return denied, None
        if req.endpoint == "models.list" and self.models is not None:
            return model_list(req, self.models), None  # never faulted: faults hit the work
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
            reply = self._content(req, model, fault if kind in VARIANT_FAULTS else None)
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

    def _content(self, req: RecordedRequest, model: str, fault: Fault | None) -> Outgoing:
        variant = fault.kind if fault is not None else None
        reason = fault.why if fault is not None else ""
        try:
            if req.endpoint == "gemini.generate":
                return self.gemini.generate(req, model, variant, reason=reason)
            if req.endpoint == "responses":
                return self.responses.respond(req, variant, reason=reason)
            if req.endpoint == "images.generations":
                return images_generate(req, variant=variant, canvas=self.canvas, files=self.files)
            if req.endpoint == "images.edits":
                return images_edit(req, variant=variant, canvas=self.canvas, files=self.files)
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

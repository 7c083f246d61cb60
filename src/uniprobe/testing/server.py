"""A fake model-provider HTTP server on the loopback interface, for tests and dry runs.

It speaks the OpenAI (Responses with the image_generation tool, Images, Chat
Completions) and Gemini (generateContent under /v1 and /v1beta) wire protocols,
draws the literal reading of each prompt with `painter.paint`, hands requests for
words only to a mind (`uniprobe.testing._mind.Mind`) when given one, records every
request, and injects faults on demand. Standard library only:
`http.server.ThreadingHTTPServer`, one daemon thread per connection.

    with FakeServer(latency=0.05) as fake:
        client = AsyncOpenAI(base_url=fake.url + "/v1", api_key="k", max_retries=0)
        fake.inject("rate_limit", path_prefix="/v1/responses")
        ...
        assert fake.count("/v1/responses", status=429) == 1
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from uniprobe.errors import UsageError
from uniprobe.testing._dispatch import Dispatcher
from uniprobe.testing._handlers import Handler
from uniprobe.testing._http import LoopbackHTTPServer, Recorder, ServerState, bind, check_loopback
from uniprobe.testing._mind import Mind
from uniprobe.testing._wire import RecordedRequest
from uniprobe.testing.faults import DEFAULT_MIX, Fault, FaultKind, FaultSchedule

__all__ = ["FakeServer", "check_loopback", "serve_forever"]


def _empty_json(body: dict[str, Any]) -> str | Fault:
    return "{}"


class FakeServer:
    """A fake OpenAI + Gemini server on 127.0.0.1, run in a background thread.

    Args:
        latency: Seconds added before every reply.
        fault_rate: Share of requests (0..1) answered with a random fault from `fault_mix`.
        seed: Seed of the random fault draws (the same seed gives the same sequence).
        image_size: Side in pixels of every image drawn (the requested `size` is only echoed).
        chat_handler: Answers /v1/chat/completions: gets the request body, returns the
            assistant content, a `Refusal` or a `Fault`; an exception becomes a 500.
            Default: "{}". A `uniprobe.testing.vlm.FakeVlm` answers VLM-judge questions.
        json_handler: Answers Gemini generateContent requests that ask for JSON
            (`generationConfig.responseMimeType == "application/json"`), in the same
            way; a `Refusal` becomes a SAFETY stop. Default: "{}".
        strict_signatures: Reject Gemini history images without a valid thoughtSignature
            with 400 INVALID_ARGUMENT, as gemini-3 image models do.
        fault_mix: The fault kinds `fault_rate` draws from.
        models: The model names the server knows (the Responses tool's image model
            included); any other is answered 404 in the provider's shape, as the real
            APIs do. None: every name is accepted.
        api_keys: The keys the server accepts; any other is refused (OpenAI: 401
            invalid_api_key; Gemini: 400 API_KEY_INVALID), and the refusal echoes the
            key it was sent, as some servers do. None: any non-empty key.
        image_urls: Answer the Images API with image URLs (served by the fake itself,
            `GET /files/...`) whatever `response_format` asks, as some compatible
            servers do. Without it a URL is sent only for `response_format="url"`.
        prompt_cache: Report the input tokens of every earlier turn of a conversation as
            served from the provider's prompt cache, as its implicit caching does for a
            resent prefix: the Responses model's `input_tokens_details.cached_tokens`,
            Gemini's `cachedContentTokenCount` (with `cacheTokensDetails` by modality).
            Without it nothing is cached (the Responses reply says 0, Gemini's says nothing).
        mind: Answers every request for words only: the Responses API without the
            image_generation tool, Gemini with `responseModalities: ["TEXT"]` (what
            `Backend.ask` sends). It gets the model name, the whole conversation as
            `Said` messages (a stored `previous_response_id` history included, images as
            bytes) and the request's JSON schema; its text is the reply's text output,
            with usage. Text that is not JSON under a schema is answered as output cut
            off mid-JSON (Responses: `incomplete`, `max_output_tokens`; Gemini:
            `MAX_TOKENS`). None: such requests get a fixed sentence, as before.

    Attributes:
        faults: The fault queue and random mix (`faults.pending()`, `faults.clear()`).

    Raises:
        ValueError: a setting out of range or an unknown fault kind.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        seed: int = 0,
        image_size: int = 512,
        chat_handler: Handler | None = None,
        json_handler: Handler | None = None,
        strict_signatures: bool = False,
        fault_mix: tuple[FaultKind, ...] = DEFAULT_MIX,
        models: Iterable[str] | None = None,
        api_keys: Iterable[str] | None = None,
        image_urls: bool = False,
        prompt_cache: bool = False,
        mind: Mind | None = None,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0, not {latency}")
        if not 64 <= image_size <= 4096:
            raise ValueError(f"image_size must be within 64..4096, not {image_size}")
        self.faults = FaultSchedule(rate=fault_rate, seed=seed, mix=fault_mix)
        self._recorder = Recorder()
        stopping = threading.Event()
        self._dispatcher = Dispatcher(
            canvas=image_size,
            chat_handler=chat_handler or _empty_json,
            json_handler=json_handler,
            strict_signatures=strict_signatures,
            faults=self.faults,
            stopping=stopping,
            models=frozenset(models) if models is not None else None,
            api_keys=frozenset(api_keys) if api_keys is not None else None,
            image_urls=image_urls,
            prompt_cache=prompt_cache,
            mind=mind,
        )
        self._state = ServerState(self._dispatcher, self._recorder, latency, stopping)
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind and serve in a background thread.

        Args:
            host: A loopback address.
            port: 0 picks any free port.

        Returns:
            The base URL, "http://127.0.0.1:PORT" (OpenAI clients add "/v1").

        Raises:
            ValueError: `host` is not a loopback address.
            UsageError: the server is already running.
        """
        check_loopback(host)
        if self._httpd is not None:
            raise UsageError("the fake server is already running; stop() it first")
        self._state.stopping.clear()
        self._httpd = bind(host, port, self._state)
        bound = self._httpd.server_address[1]
        self._url = f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self._url

    def stop(self) -> None:
        """Stop serving, wake sleeping faults, drop open connections. Idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._state.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        self._state.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        if self._httpd is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL; UsageError before `start()`."""
        if self._url is None:
            raise UsageError("the fake server has not been started; call start() first")
        return self._url

    # --- what happened -----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the last `reset()`, in arrival order."""
        with self._recorder.lock:
            return list(self._recorder.records)

    def count(self, path_prefix: str | None = None, status: int | None = None) -> int:
        """How many recorded requests match a path prefix and/or the status sent."""
        return sum(
            1
            for r in self.requests
            if (path_prefix is None or r.path.startswith(path_prefix))
            and (status is None or r.status == status)
        )

    @property
    def images_served(self) -> int:
        """Images delivered in 200 replies (not the corrupted or cut-off ones)."""
        with self._recorder.lock:
            return self._recorder.images

    @property
    def missing_thought_signatures(self) -> int:
        """Gemini model-role image parts sent back without a thoughtSignature."""
        return self._dispatcher.gemini.missing_signatures

    @property
    def invalid_thought_signatures(self) -> int:
        """Gemini model-role image parts sent back with a signature this server never issued."""
        return self._dispatcher.gemini.invalid_signatures

    @property
    def dropped_thought_signatures(self) -> int:
        """Signatures of a Gemini reply left out when that reply came back in a history
        that kept others of its signatures (a part dropped, or sent back unsigned)."""
        return self._dispatcher.gemini.dropped_signatures

    @property
    def errors(self) -> list[str]:
        """Tracebacks of bugs in the fake itself (answered with a 500); should stay empty."""
        return list(self._dispatcher.errors)

    def reset(self) -> None:
        """Forget recorded requests and zero the counters. Queued faults and stored
        responses (for `previous_response_id`) stay."""
        self._recorder.clear()
        self._dispatcher.errors.clear()
        self._dispatcher.gemini.reset_counters()

    # --- faults ------------------------------------------------------------------------

    def inject(
        self,
        fault: FaultKind | Fault,
        *,
        path_prefix: str | None = None,
        times: int = 1,
        seconds: float | None = None,
        reason: str | None = None,
    ) -> None:
        """Answer the next matching request(s) with a fault.

        A fault with no meaning on an endpoint (a Gemini prompt block on an OpenAI
        path) waits for a request where it applies.

        Args:
            fault: A fault kind, or a `Fault`.
            path_prefix: Only requests whose path starts with this (None: any path).
            times: How many requests get the fault.
            seconds: Retry delay announced (rate limits) or time slept (slow, timeout);
                None: the kind's default (1 s, 10 ms, 2 s, 30 s).
            reason: The incomplete reason (`response_incomplete`), error code
                (`response_failed`, `image_call_failed`) or finishReason
                (`finish_reason`); None: the kind's default (content_filter,
                server_error, moderation_blocked, IMAGE_OTHER).

        Raises:
            ValueError: an unknown kind, or times < 1.
        """
        f = fault if isinstance(fault, Fault) else Fault(fault, seconds, reason)
        self.faults.inject(f, path_prefix=path_prefix, times=times)


def serve_forever(host: str = "127.0.0.1", port: int = 8765, **options: Any) -> None:
    """Run a fake server in the foreground until Ctrl-C, printing its base URL.

    Args:
        host: A loopback address.
        port: The port to listen on (0: any free port; the URL printed tells which).
        **options: `FakeServer` keyword arguments (latency, fault_rate, seed, ...).

    Raises:
        ValueError: `host` is not a loopback address.
    """
    check_loopback(host)
    server = FakeServer(**options)
    print(server.start(host=host, port=port), flush=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()

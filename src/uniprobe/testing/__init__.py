"""A fake model-provider HTTP server (OpenAI and Gemini wire protocols) for tests and dry runs.

This is test and dry-run tooling, not the public API. Its one entry for everyone else
(`uniprobe fake-server`) is `serve`: fake OpenAI and Gemini APIs on 127.0.0.1, with a fake
VLM answering the VLM judge's questions (and, if asked, a fake mind answering probes),
until Ctrl-C.

`FakeServer` listens on 127.0.0.1, draws the literal reading of each prompt with
`paint`, records every request, and injects the faults listed in `FAULT_KINDS`.
Text answers (chat completions, Gemini JSON requests) come from pluggable handlers;
`FakeVlm` is one that answers the VLM judge's questions from the pixels.
"""

from __future__ import annotations

from uniprobe.cases.loader import load_suite as _load_suite
from uniprobe.errors import UsageError as _UsageError
from uniprobe.runner import settings as _settings
from uniprobe.testing._handlers import Handler, Refusal
from uniprobe.testing._wire import FilePart, RecordedRequest
from uniprobe.testing.faults import DEFAULT_MIX, FAULT_KINDS, Fault, FaultKind
from uniprobe.testing.mind import Belief, FakeMind
from uniprobe.testing.painter import Mention, Reading, paint, read
from uniprobe.testing.server import FakeServer, check_loopback, serve_forever
from uniprobe.testing.vlm import FakeVlm

__all__ = [
    "DEFAULT_MIX",
    "FAULT_KINDS",
    "Belief",
    "FakeMind",
    "FakeServer",
    "FakeVlm",
    "Fault",
    "FaultKind",
    "FilePart",
    "Handler",
    "Mention",
    "Reading",
    "RecordedRequest",
    "Refusal",
    "check_loopback",
    "paint",
    "read",
    "serve",
    "serve_forever",
]


def serve(
    *,
    port: int = 8765,
    latency: float = 0.0,
    fault_rate: float = 0.0,
    seed: int = 0,
    vlm_error_rate: float = 0.0,
    mind: Belief | None = None,
    sees_error_rate: float = 0.0,
    suite: str = "paper",
) -> None:
    """Serve fake OpenAI and Gemini APIs on 127.0.0.1 until Ctrl-C, printing the base URL.

    Images are the literal reading of each prompt; chat completions and Gemini JSON
    requests are answered by a `FakeVlm` that reads the VLM judge's questions and
    answers them from the pixels of synthetic scenes. With `mind`, requests for words
    only (the probes of `uniprobe run --probe`) are answered by a `FakeMind` that knows
    the cases of `suite`: it states the rule (`rule`) or the literal reading (`literal`)
    before drawing, and describes its image after, wrongly at `sees_error_rate`.

    Args:
        port: The port to listen on (0: any free port; the URL printed tells which).
        latency: Seconds added to every response.
        fault_rate: Share of requests that fail (0..1), with the default fault mix.
        seed: Seed of the fault mix and of the fake VLM's wrong answers.
        vlm_error_rate: Share of the fake VLM's answers that are wrong on purpose (0..1).
        mind: What the fake believes it should draw: "rule" or "literal" (None: no mind;
            a request for words only gets "I can only answer in text").
        sees_error_rate: Share of the mind's descriptions of its images that are wrong
            on purpose (0..1; needs `mind`).
        suite: The suite whose cases the mind knows (a name, a file or a folder).

    Raises:
        UsageError: a number out of range (port 0 to 65535, latency 0 to 600 s, rates
            0 to 1, seed 0 to 2**32 - 1), an unknown mind, or a sees error rate without
            a mind, before anything listens.
        UniprobeError: the suite cannot be loaded (unknown name, bad file).
    """
    _settings.check_port(port)
    _settings.check_number("latency", latency, 0, 600)
    _settings.check_number("fault_rate", fault_rate, 0, 1)
    _settings.check_number("vlm_error_rate", vlm_error_rate, 0, 1)
    _settings.check_number("seed", seed, 0, _settings.MAX_SEED)
    _settings.check_number("sees_error_rate", sees_error_rate, 0, 1)
    if mind not in (None, "rule", "literal"):
        raise _UsageError(f"mind must be rule or literal, not {mind!r}")
    if mind is None and sees_error_rate:
        raise _UsageError("sees_error_rate needs a mind (rule or literal)")
    vlm = FakeVlm(error_rate=vlm_error_rate, seed=seed)
    thinks = None
    if mind is not None:
        cases = _load_suite(suite).cases
        thinks = FakeMind(cases, belief=mind, sees_error_rate=sees_error_rate, seed=seed)
    serve_forever(
        port=port,
        latency=latency,
        fault_rate=fault_rate,
        seed=seed,
        chat_handler=vlm,
        json_handler=vlm,
        mind=thinks,
    )

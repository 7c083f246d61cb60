"""A fake model-provider HTTP server (OpenAI and Gemini wire protocols) for tests and dry runs.

`FakeServer` listens on 127.0.0.1, draws the literal reading of each prompt with
`paint`, records every request, and injects the faults listed in `FAULT_KINDS`.
Text answers (chat completions, Gemini JSON requests) come from pluggable handlers;
`uniprobe.testing.vlm.FakeVlm` (not imported here: it loads the scene perception) is
one that answers the VLM judge's questions from the pixels.
"""

from uniprobe.testing._handlers import Handler, Refusal
from uniprobe.testing._wire import FilePart, RecordedRequest
from uniprobe.testing.faults import DEFAULT_MIX, FAULT_KINDS, Fault, FaultKind
from uniprobe.testing.painter import Mention, Reading, paint, read
from uniprobe.testing.server import FakeServer, check_loopback, serve_forever

__all__ = [
    "DEFAULT_MIX",
    "FAULT_KINDS",
    "FakeServer",
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
    "serve_forever",
]

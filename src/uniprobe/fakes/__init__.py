"""A fake model-provider HTTP server (OpenAI and Gemini wire protocols) for tests and dry runs.

`FakeServer` listens on 127.0.0.1, draws the literal reading of each prompt with
`paint`, records every request, and injects the faults listed in `FAULT_KINDS`.
"""

from uniprobe.fakes._wire import FilePart, RecordedRequest
from uniprobe.fakes.faults import DEFAULT_MIX, FAULT_KINDS, Fault, FaultKind
from uniprobe.fakes.painter import Mention, Reading, paint, read
from uniprobe.fakes.server import FakeServer, check_loopback, serve_forever

__all__ = [
    "DEFAULT_MIX",
    "FAULT_KINDS",
    "FakeServer",
    "Fault",
    "FaultKind",
    "FilePart",
    "Mention",
    "Reading",
    "RecordedRequest",
    "check_loopback",
    "paint",
    "read",
    "serve_forever",
]

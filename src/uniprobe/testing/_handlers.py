"""Answers a test plugs into the fake: the chat handler and the JSON handler.

A handler gets the parsed request body and returns the model's text, a `Refusal`
(the model declines: `message.refusal` on Chat Completions, a SAFETY finish on
Gemini), or a `Fault` to answer with instead. An exception it raises becomes a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uniprobe.testing._wire import Outgoing, WireError
from uniprobe.testing.faults import Fault

__all__ = ["FaultRaised", "Handler", "Refusal", "ask_handler", "is_json"]


@dataclass(frozen=True)
class Refusal:
    """The model declines to answer, with this message."""

    message: str = "I'm sorry, but I can't help with that."


Handler = Callable[[dict[str, Any]], "str | Refusal | Fault"]
"""Answers a text request: gets the parsed request body, returns the model's text, a
`Refusal`, or a `Fault` to answer with (an exception becomes a 500)."""


class FaultRaised(Exception):
    """The handler asked for a fault instead of an answer."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.kind)
        self.fault = fault


def ask_handler(
    handler: Handler, body: dict[str, Any], error: Callable[[str], Outgoing]
) -> str | Refusal:
    """The handler's answer; `error(message)` makes the 500 for a handler that fails.

    Raises:
        FaultRaised: the handler answered with a fault.
        WireError: the handler raised or returned something else.
    """
    try:
        answer = handler(body)
    except Exception as exc:
        raise WireError(error(f"chat handler failed: {type(exc).__name__}: {exc}")) from exc
    if isinstance(answer, Fault):
        raise FaultRaised(answer)
    if not isinstance(answer, str | Refusal):
        raise WireError(
            error(f"chat handler returned {type(answer).__name__}, not str, Refusal or Fault")
        )
    return answer


def is_json(text: str) -> bool:
    """Whether `text` parses as JSON (what structured output guarantees)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True

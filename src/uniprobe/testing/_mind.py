"""What a fake provider answers when a request asks for words, not a picture.

A *mind* is the fake model's understanding, kept apart from its pencil (the literal
`painter`): the wire fakes hand it every text-only request (the Responses API without
the image_generation tool, Gemini with `responseModalities: ["TEXT"]`) as the plain
conversation it holds, and send back what it says. Without a mind, a fake answers such
a request as it always did (the Responses fake: "I can only answer in text").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = ["ByModel", "Mind", "Said"]


@dataclass(frozen=True)
class Said:
    """One message of the conversation a text-only request holds, oldest first."""

    role: Literal["user", "assistant"]
    text: str
    images: tuple[bytes, ...] = ()
    """Encoded images of the message (attached by the user, or drawn by the model)."""


class Mind(Protocol):
    """Answers a text-only request of a fake provider."""

    def answer(
        self, model: str, conversation: Sequence[Said], schema: Mapping[str, Any] | None
    ) -> str:
        """The reply text to `conversation` (its last message is the question) from
        `model`; `schema` is the JSON schema the request asked the answer to follow."""
        ...


class ByModel:
    """A mind per model name: a fake server that plays a planner (`gpt-5.5`) and a
    unified model (`gpt-image-2`) at once hands each its own requests."""

    def __init__(self, minds: Mapping[str, Mind], default: Mind | None = None) -> None:
        self.minds = dict(minds)
        self.default = default

    def answer(
        self, model: str, conversation: Sequence[Said], schema: Mapping[str, Any] | None
    ) -> str:
        """The answer of `model`'s mind (else the default's; else a plain refusal to
        think, as a model without one would give)."""
        mind = self.minds.get(model, self.default)
        if mind is None:
            return "I can only draw."
        return mind.answer(model, conversation, schema)

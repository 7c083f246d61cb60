"""What a call cost: a price table per model, overridable in the config file.

Prices are USD per million tokens (or per image) as published by the providers when
this table was written; check them against the live pricing pages and override them
under `[prices."<model id>"]`. A cost is computed only from known prices: a call that
used tokens of a kind whose price is unknown has an unknown cost (None), never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping

from uniprobe.backends.base import Usage
from uniprobe.config import Price

__all__ = ["PRICES", "cost_of", "price_for"]

PRICES: dict[str, Price] = {
    "gpt-image-1": Price(
        text_input_per_mtok=5.0, image_input_per_mtok=10.0, image_output_per_mtok=40.0
    ),
    # text input assumed equal to gpt-image-1's
    "gpt-image-1.5": Price(
        text_input_per_mtok=5.0, image_input_per_mtok=8.0, image_output_per_mtok=32.0
    ),
    "gpt-image-1-mini": Price(image_output_per_mtok=8.0),
    "gemini-2.5-flash-image": Price(
        text_input_per_mtok=0.30,
        image_input_per_mtok=0.30,
        text_output_per_mtok=2.50,
        image_output_per_mtok=30.0,
    ),
    "gemini-3-pro-image-preview": Price(image_output_per_mtok=120.0),
    # VLM judges: image input is billed as input tokens at the text rate
    "gpt-4.1-2025-04-14": Price(
        text_input_per_mtok=2.0, image_input_per_mtok=2.0, text_output_per_mtok=8.0
    ),
    "gemini-2.5-flash": Price(
        text_input_per_mtok=0.30, image_input_per_mtok=0.30, text_output_per_mtok=2.50
    ),
}
"""Built-in prices by the model id the provider uses."""


def price_for(model: str, overrides: Mapping[str, Price] | None = None) -> Price | None:
    """The price of a model id: the override if there is one, else the built-in entry."""
    if overrides and model in overrides:
        return overrides[model]
    return PRICES.get(model)


def _part(tokens: int | None, per_mtok: float | None) -> float | None:
    if not tokens:
        return 0.0
    return None if per_mtok is None else tokens * per_mtok / 1e6


def cost_of(usage: Usage, price: Price | None) -> float | None:
    """USD cost of one call, or None if any part of it has no known price."""
    if price is None:
        return None
    text_in = max(0, (usage.input_tokens or 0) - (usage.input_image_tokens or 0))
    text_out = max(0, (usage.output_tokens or 0) - (usage.output_image_tokens or 0))
    parts = [
        _part(text_in, price.text_input_per_mtok),
        _part(usage.input_image_tokens, price.image_input_per_mtok),
        _part(text_out, price.text_output_per_mtok),
        _part(usage.output_image_tokens, price.image_output_per_mtok),
    ]
    if price.per_image is not None:
        parts.append(usage.images * price.per_image)
    if any(p is None for p in parts):
        return None
    return round(sum(p for p in parts if p is not None), 8)

"""How the fake's Chat Completions treat sampling knobs, as OpenAI does.

Reasoning models (the gpt-5 family, the o-series) reject a `temperature` other than
the default 1 with a 400 `unsupported_value` on `temperature`.
"""

from __future__ import annotations

import re
from typing import Any

from uniprobe.testing._wire import WireError, json_reply

__all__ = ["REASONING", "check_sampling"]

REASONING = re.compile(r"^(gpt-5|o[1-9])")
"""Model names the fake treats as reasoning models."""


def check_sampling(body: dict[str, Any]) -> None:
    """Reject what the real API rejects.

    Raises:
        WireError: a 400 in OpenAI's error shape.
    """
    model = str(body.get("model", ""))
    temperature = body.get("temperature")
    if REASONING.match(model) and temperature is not None and temperature != 1:
        error = {
            "message": f"Unsupported value: 'temperature' does not support {temperature} "
            "with this model. Only the default (1) value is supported.",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "unsupported_value",
        }
        raise WireError(json_reply(400, {"error": error}))

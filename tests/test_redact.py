"""Secrets are replaced in recorded text: configured values and provider-shaped keys."""

from __future__ import annotations

import pytest

from uniprobe.redact import REDACTED, redact, redact_data


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        pytest.param("Incorrect API key provided: sk-proj-abc123DEF456_x-y.", (),
                     f"Incorrect API key provided: {REDACTED}.", id="openai-shaped"),
        pytest.param("key=AIzaSyD-0123456789abcdefghijklmnop", (), f"key={REDACTED}",
                     id="google-shaped"),
        pytest.param("bad key my-local-secret (my-local-secret)", ("my-local-secret",),
                     f"bad key {REDACTED} ({REDACTED})", id="configured"),
        pytest.param("ask for a risk-free task-list", (), "ask for a risk-free task-list",
                     id="words-with-sk-inside"),
        pytest.param("the k key", ("k", None, ""), "the k key", id="too-short-to-be-a-secret"),
    ],
)  # fmt: skip
def test_redact(text: str, secrets: tuple[str | None, ...], expected: str) -> None:
    assert redact(text, secrets) == expected


def test_redact_data_walks_json_values() -> None:
    value = {"a": ["sk-abcdefgh12345", 3, {"b": "secret-value-1"}], "n": None}
    assert redact_data(value, ["secret-value-1"]) == {
        "a": [REDACTED, 3, {"b": REDACTED}],
        "n": None,
    }

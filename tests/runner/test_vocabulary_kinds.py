"""Which checks' words must be in the reference vocabulary, by backend and judge policy."""

from __future__ import annotations

import pytest

from uniprobe.backends.registry import create_backend
from uniprobe.config import Config
from uniprobe.runner.run import vocabulary_kinds
from uniprobe.scoring.policy import Judging

_OBJECT_KINDS = {"absent", "color", "count", "position", "present", "relation"}


def test_a_reference_model_needs_every_word_whatever_the_judge() -> None:
    oracle = create_backend("reference/oracle", {}, config=Config())
    assert vocabulary_kinds("vlm", oracle) is None
    assert vocabulary_kinds("reference", oracle) is None


@pytest.mark.parametrize(
    ("policy", "options", "expected"),
    [
        ("reference", {}, _OBJECT_KINDS | {"unchanged"}),
        ("vlm", {}, set()),
        ("human", {}, set()),
        # the detector policy's pixels judge finds outside_objects with the detector ...
        ("detector", {}, set()),
        # ... unless told to use the reference perception: then `unchanged` reads words
        ("detector", {"pixels": {"regions": "reference"}}, {"unchanged"}),
    ],
)
def test_a_model_needs_the_words_its_judges_read_with_the_reference_perception(
    policy: str,
    options: dict[str, dict[str, str]],
    expected: set[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")  # the VLM judge is made, not called
    model = create_backend("openai/gpt-image-2", {}, config=Config())
    assert not model.capabilities.reads_expectations
    judging = Judging.of(policy, options, Config())
    assert vocabulary_kinds(policy, model, judging) == frozenset(expected)
    if not options:  # without instances, the policy's default options decide
        assert vocabulary_kinds(policy, model) == frozenset(expected)

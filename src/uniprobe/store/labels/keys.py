"""What a human label answers: one question about one image, identified by content.

An item is the canvas image's sha256, the check as a question and, for a check that
compares with another image (unchanged, same_as, a count that `matches` an earlier
turn), that image's sha256. The same question on the same image is one item wherever
it occurs (another epoch, a later turn that shows the same canvas), so a label given
once answers it everywhere, and the human judge finds it whatever sample it scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from uniprobe.hashing import sha256_json, short_hash

__all__ = ["ITEM_KEY_LENGTH", "item_key", "question_form"]

ITEM_KEY_LENGTH = 24
"""Hex digits of an item key."""

_NOT_THE_QUESTION = ("turn", "literal", "role")


def question_form(check: Mapping[str, Any]) -> dict[str, Any]:
    """A check's one-key mapping without what does not change the question asked of the
    image: `turn` (the canvas already pins the image), `literal` (it names another
    reading of the dialogue, not what is asked) and `role` (what the check is for in its
    case: setup, probe or filler)."""
    if len(check) != 1:
        raise ValueError(f"a check is a one-key mapping, got keys {sorted(check)}")
    [(kind, body)] = check.items()
    if not isinstance(body, Mapping):
        raise ValueError(f"check '{kind}': expected a mapping of fields")
    return {kind: {k: v for k, v in body.items() if k not in _NOT_THE_QUESTION}}


def item_key(image: str | None, check: Mapping[str, Any], reference: str | None = None) -> str:
    """The identity of a question about an image (see the module docstring).

    Args:
        image: sha256 of the canvas image; None when the conversation had no image.
        check: the check as written (`check_to_dict`).
        reference: sha256 of the image the check compares with, if it compares.
    """
    value = {"image": image, "check": question_form(check), "reference": reference}
    return short_hash(sha256_json(value), ITEM_KEY_LENGTH)

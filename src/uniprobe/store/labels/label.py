"""One human label, as stored in the label file, exported and imported."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from uniprobe.store.labels.keys import item_key

__all__ = ["COLUMNS", "MAX_ANNOTATOR", "AnnotatorName", "Label", "LabelValue", "now_iso"]

LabelValue = Literal["pass", "fail", "cant_tell"]

MAX_ANNOTATOR = 64
"""Characters in an annotator's name, at most."""


def _annotator_name(v: str) -> str:
    """Runs of white space become one space; a name needs a visible character and holds
    no control characters."""
    v = " ".join(v.split())
    if not v:
        raise ValueError("an annotator name needs a visible character")
    if any(not ch.isprintable() for ch in v):
        raise ValueError("an annotator name cannot hold control characters")
    return v


AnnotatorName = Annotated[
    str, Field(min_length=1, max_length=MAX_ANNOTATOR), AfterValidator(_annotator_name)
]
"""Who answers, as they typed it (white space runs folded, nothing invisible)."""

COLUMNS: tuple[str, ...] = (
    "id",
    "item",
    "case_id",
    "epoch",
    "turn",
    "path",
    "kind",
    "check",
    "image_sha256",
    "reference_sha256",
    "annotator",
    "label",
    "created",
)
"""The fields of a label, in order: table columns, CSV header, JSONL keys."""

_SHA256 = r"^[0-9a-f]{64}$"


def now_iso() -> str:
    """The current UTC time as ISO 8601 with milliseconds (labels sort by it)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Label(BaseModel):
    """One human answer to one item, as stored, exported and imported."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int | None = None
    """Row id in the label file (None before it is stored; ignored on import)."""
    item: str = Field(min_length=1)
    """The item answered (`keys.item_key` of image, check and reference)."""
    case_id: str = Field(min_length=1)
    """The case where the item was seen."""
    epoch: int = Field(ge=0)
    """The epoch where it was seen."""
    turn: int = Field(ge=1)
    """The turn whose expectations hold the check (1-based)."""
    path: str = Field(min_length=1)
    """Where the check is in the case, as in `Verdict.path`."""
    kind: str = Field(min_length=1)
    """Check kind."""
    check: dict[str, Any]
    """The check as written (a one-key mapping)."""
    image_sha256: str | None = Field(None, pattern=_SHA256)
    """The canvas image; None when the conversation had no image."""
    reference_sha256: str | None = Field(None, pattern=_SHA256)
    """The image the check compares with (unchanged, same_as, count matches), if any."""
    annotator: AnnotatorName
    """Who answered (the name they typed)."""
    label: LabelValue
    """pass, fail or cant_tell."""
    created: str
    """When, in UTC ISO 8601."""

    @field_validator("created")
    @classmethod
    def _time(cls, v: str) -> str:
        try:
            when = datetime.fromisoformat(v)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {v!r}") from None
        if when.tzinfo is None:
            raise ValueError(f"the time needs a UTC offset: {v!r}")
        return when.astimezone(UTC).isoformat(timespec="milliseconds")

    @model_validator(mode="after")
    def _key(self) -> Label:
        try:
            expected = item_key(self.image_sha256, self.check, self.reference_sha256)
        except ValueError as exc:
            raise ValueError(f"check: {exc}") from None
        if self.item != expected:
            raise ValueError(
                f"item: {self.item!r} is not the key of this row's images and check "
                f"(expected {expected!r})"
            )
        return self

    def identity(self) -> tuple[str, str, str, str]:
        """What makes two rows the same label (an import skips rows already stored)."""
        return (self.item, self.annotator, self.label, self.created)

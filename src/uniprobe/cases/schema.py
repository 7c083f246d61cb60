"""Cases and suites: a conversation plus what must be true of the images it produces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    field_validator,
    model_validator,
)

from uniprobe.cases.checks import Check, Conditional, Expectation, check_to_dict, leaf_checks
from uniprobe.cases.limits import (
    MAX_ATTACH,
    MAX_EXPECTATIONS,
    MAX_IMAGES,
    MAX_TAGS,
    MAX_TURNS,
    Limit,
    Name,
    bounded,
)
from uniprobe.hashing import sha256_json
from uniprobe.scenes.spec import SceneSpec

__all__ = [
    "FAMILIES",
    "Case",
    "CaseOrigin",
    "Family",
    "ImageSource",
    "Suite",
    "Turn",
]

Family = Literal["global_instruction", "editing", "post_generation"]
FAMILIES: tuple[str, ...] = ("global_instruction", "editing", "post_generation")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _at_most(limit: Limit, what: str = "items") -> AfterValidator:
    return AfterValidator(bounded(limit, what=what))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class CaseOrigin:
    """Where a case was read from: its file and the line of every YAML path in it."""

    file: Path
    line: int
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict, compare=False)

    def line_of(self, path: tuple[str | int, ...]) -> int:
        """Line of the deepest known prefix of `path` (1-based)."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return self.line


class ImageSource(_Model):
    """An image a case gives the model: a synthetic scene or a file next to the case file."""

    scene: SceneSpec | None = None
    """Rendered deterministically; its object ids are the parts checks can name."""
    file: str | None = None
    """Path relative to the case file."""

    @model_validator(mode="after")
    def _one(self) -> ImageSource:
        if (self.scene is None) == (self.file is None):
            raise ValueError("give exactly one of scene or file")
        return self


class Turn(_Model):
    """One user message and what must be true of the canvas after the model answers."""

    user: str = Field(min_length=1)
    """What the user says."""
    attach: Annotated[tuple[Name, ...], _at_most(MAX_ATTACH, "images")] = ()
    """Names of case images sent with this message."""
    edit: StrictBool | None = None
    """Whether this turn asks to modify an existing image (default: true if it attaches one)."""
    expect: Annotated[tuple[Expectation, ...], _at_most(MAX_EXPECTATIONS, "checks")] = ()
    """Checks on this turn's canvas."""

    @property
    def is_edit(self) -> bool:
        """Edit turn: failures are tagged over_edit/under_edit against the pre-edit canvas."""
        return self.edit if self.edit is not None else bool(self.attach)


class Case(_Model):
    """A multi-turn probe."""

    id: Name
    """Unique within a suite."""
    family: Family
    """global_instruction, editing or post_generation."""
    subtype: Name = Field(min_length=1)
    """Finer failure mode, e.g. numeric_transform."""
    source: Name = "core"
    """Where the case comes from: paper, core, or an importer's name."""
    description: str | None = None
    """What the case tests and why, for people."""
    images: Annotated[dict[Name, ImageSource], _at_most(MAX_IMAGES, "images")] = Field(
        default_factory=dict
    )
    """Images the conversation can attach, by name."""
    turns: Annotated[tuple[Turn, ...], _at_most(MAX_TURNS, "turns")] = Field(min_length=1)
    """The conversation."""
    tags: Annotated[tuple[Name, ...], _at_most(MAX_TAGS, "tags")] = ()
    """Free labels for filtering."""
    group: Name | None = None
    """Contrast set: cases sharing a group id share a scene and differ in one fact (a true
    and a false premise, a condition that holds and one that does not). A group passes
    in an epoch when every member passes; group accuracy is the headline of a subtype
    whose cases have groups, so that no constant strategy can score on it."""

    _origin: CaseOrigin | None = PrivateAttr(default=None)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("ids use letters, digits, '.', '_' and '-'")
        return v

    @property
    def origin(self) -> CaseOrigin | None:
        """File and line numbers the case was loaded from, if any."""
        return self._origin

    def with_origin(self, origin: CaseOrigin) -> Case:
        """Attach where this case came from (used by the loader)."""
        self._origin = origin
        return self

    def expectations(self) -> Iterator[tuple[int, tuple[str | int, ...], Expectation]]:
        """(turn number 1-based, path, expectation) for every expectation of every turn."""
        for t, turn in enumerate(self.turns):
            for i, exp in enumerate(turn.expect):
                yield t + 1, ("turns", t, "expect", i), exp

    def leaves(self) -> Iterator[tuple[int, tuple[str | int, ...], Check]]:
        """(turn, path, leaf check) for every leaf check, conditions and branches included."""
        for t, path, exp in self.expectations():
            for sub, leaf in leaf_checks(exp):
                yield t, (*path, *sub), leaf

    def n_checks(self) -> int:
        """Number of expectations (a conditional counts once)."""
        return sum(len(t.expect) for t in self.turns)

    def to_dict(self) -> dict[str, object]:
        """The case as it would be written in YAML (canonical: used for hashing)."""
        out = self.model_dump(mode="json", exclude_defaults=True, exclude={"turns"})
        out["turns"] = []
        for turn in self.turns:
            t = turn.model_dump(mode="json", exclude_defaults=True, exclude={"expect"})
            if turn.expect:
                t["expect"] = [check_to_dict(e) for e in turn.expect]
            out["turns"].append(t)
        return out

    def __eq__(self, other: object) -> bool:
        # Where a case was read from is not part of what it is.
        return isinstance(other, Case) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def has_conditional(self) -> bool:
        """Whether any turn holds a when/then/else expectation."""
        return any(isinstance(e, Conditional) for t in self.turns for e in t.expect)


@dataclass(frozen=True)
class Suite:
    """A named set of cases, with a content hash that changes when anything in it changes."""

    name: str
    cases: tuple[Case, ...]
    source: Path | None = None
    """The file or folder the suite was loaded from (absolute)."""
    file_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """sha256 over every case (canonical JSON) and every image file they use."""
        return sha256_json({"cases": [c.to_dict() for c in self.cases], "files": self.file_hashes})

    def case(self, case_id: str) -> Case:
        """The case with this id (KeyError if none)."""
        for c in self.cases:
            if c.id == case_id:
                return c
        raise KeyError(case_id)

    def __len__(self) -> int:
        return len(self.cases)

"""Checks: the small, typed predicates that say what must be true of a turn's image.

In YAML a check is a one-key mapping, `{count: {object: dolphin, equals: 5, literal: 2}}`;
a conditional is a mapping with `when`, `then` and `else`. Every check may name the
value the *literal* reading of the dialogue would give (`literal:`); when the check
fails on a picture the model drew in that turn and its literal variant holds there,
the failure is tagged `literal` (the whole rule: `uniprobe.scoring.engine`).

Turn numbers inside checks (`turn:`, `against:`) count from 1, as a person would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from uniprobe.cases.limits import (
    MAX_BRANCH_CHECKS,
    MAX_COUNT,
    MAX_TAGS,
    MAX_TIMES,
    Int,
    Name,
    ObjectCount,
    bounded,
    not_a_boolean,
)
from uniprobe.scenes.colors import canonical_color_name

__all__ = [
    "CHECK_KINDS",
    "LEAF_TYPES",
    "Absent",
    "Ask",
    "Check",
    "Color",
    "Comparison",
    "Conditional",
    "Count",
    "CountOf",
    "Expectation",
    "Place",
    "Position",
    "Present",
    "Relation",
    "RelationName",
    "Role",
    "SameAs",
    "Select",
    "Style",
    "Text",
    "Unchanged",
    "check_to_dict",
    "leaf_checks",
]

RelationName = Literal["left_of", "right_of", "above", "below"]
Role = Literal["setup", "probe", "filler"]
"""What a check is for: `probe` (what the case is about; the default), `setup` (the
earlier image drew what was asked, so the probe can be asked of it), `filler` (an
unrelated turn between a rule and its test). Probe accuracy counts probe checks only,
on samples whose setup checks all passed; strict accuracy counts every check."""
Place = Literal[
    "left",
    "right",
    "top",
    "bottom",
    "center",
    "top_left",
    "top_right",
    "bottom_left",
    "bottom_right",
]
Select = Literal["leftmost", "rightmost", "middle", "topmost", "bottommost", "largest", "smallest"]


def _named(*names: str | None) -> list[str]:
    """The names given (words or part ids), skipping the ones left out."""
    return [n for n in names if n]


class _Check(BaseModel):
    """Fields and behaviour shared by every check."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ClassVar[str]

    turn: Int | None = Field(None, ge=1)
    """Judge this check on the canvas of that turn (1-based) instead of the current one."""
    role: Role = "probe"
    """setup, probe (default) or filler: see `Role`."""

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1 and cls.kind in value:
            inner = value[cls.kind]
            return inner if inner is not None else {}
        return value

    def literal_variant(self) -> Check | None:
        """The check the literal reading satisfies, or None if no literal reading is given."""
        return None

    @property
    def literal_negates(self) -> bool:
        """True when the literal reading is simply this check failing (unchanged, same_as)."""
        return False

    def words(self) -> list[str]:
        """Object words this check needs the vocabulary to know."""
        return []

    def parts(self) -> list[str]:
        """Scene part ids this check refers to."""
        return []

    def compared_against(self) -> int | str | None:
        """The earlier turn (its canvas) or case image this check compares its canvas with
        (`against` of a comparison, the turn a count `matches`); None for other checks."""
        return None


class CountOf(BaseModel):
    """A count taken from another canvas: how many `object` turn `turn` shows, plus `plus`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    object: Name
    """The object word counted on that canvas."""
    turn: Int = Field(ge=1)
    """The earlier turn whose canvas is counted (1-based)."""
    times: Annotated[Int, AfterValidator(bounded(MAX_TIMES))] = Field(1, ge=1)
    """That count is multiplied by this ("twice as many")..."""
    plus: Annotated[Int, AfterValidator(bounded(MAX_COUNT))] = 0
    """... and this is added (may be negative: "one fewer")."""

    def expected(self, reference: int) -> int:
        """The count asked for, given what the earlier canvas shows."""
        return reference * self.times + self.plus


class Count(_Check):
    """How many objects of a kind the canvas shows."""

    kind: ClassVar[str] = "count"
    object: Name
    """The object word (singular or plural; categories such as 'animal' count all members)."""
    equals: ObjectCount | None = Field(None, ge=0)
    """Exact count."""
    at_least: ObjectCount | None = Field(None, ge=0)
    """Lower bound."""
    at_most: ObjectCount | None = Field(None, ge=0)
    """Upper bound."""
    matches: CountOf | None = None
    """Exact count taken from what an earlier canvas shows ("as many birds as trees")."""
    within: Name | None = None
    """Only count objects whose centre lies in this scene part."""
    literal: ObjectCount | None = Field(None, ge=0)
    """The exact count under the literal reading."""

    @model_validator(mode="after")
    def _bounds(self) -> Count:
        exact = [x for x in (self.equals, self.matches) if x is not None]
        ranged = self.at_least is not None or self.at_most is not None
        if not exact and not ranged:
            raise ValueError("give equals, matches, at_least or at_most")
        if len(exact) > 1 or (exact and ranged):
            raise ValueError("give one of equals, matches, or at_least/at_most")
        low, high = self.at_least, self.at_most
        if low is not None and high is not None and low > high:
            raise ValueError(
                f"at_least ({self.at_least}) is more than at_most ({self.at_most}):"
                " no count satisfies both"
            )
        if self.literal is not None and self.literal == self.equals:
            raise ValueError(
                f"literal is {self.literal}, the same as equals: the literal reading must differ"
            )
        return self

    def accepts(self, n: int, reference: int | None = None) -> bool:
        """Whether a count of n satisfies this check (`reference`: the count `matches` names)."""
        if self.matches is not None:
            if reference is None:
                raise ValueError("a count that matches another canvas needs that count")
            return n == self.matches.expected(reference)
        if self.equals is not None:
            return n == self.equals
        return (self.at_least is None or n >= self.at_least) and (
            self.at_most is None or n <= self.at_most
        )

    def literal_variant(self) -> Count | None:
        if self.literal is None:
            return None
        return Count(object=self.object, equals=self.literal, within=self.within, turn=self.turn)

    def words(self) -> list[str]:
        return _named(self.object, self.matches.object if self.matches else None)

    def parts(self) -> list[str]:
        return _named(self.within)

    def compared_against(self) -> int | str | None:
        return self.matches.turn if self.matches else None


class _Presence(_Check):
    """Fields and behaviour shared by `present` and `absent`."""

    object: Name
    """Object or backdrop word."""
    within: Name | None = None
    """Only look inside this scene part."""
    literal: bool = False
    """True if the literal reading says the opposite (leaves it out, or draws it)."""

    def words(self) -> list[str]:
        return [self.object]

    def parts(self) -> list[str]:
        return _named(self.within)


class Present(_Presence):
    """At least one object of a kind (or a backdrop such as water) is on the canvas."""

    kind: ClassVar[str] = "present"

    def literal_variant(self) -> Absent | None:
        if not self.literal:
            return None
        return Absent(object=self.object, within=self.within, turn=self.turn)


class Absent(_Presence):
    """No object of a kind is on the canvas (a text-only reply draws nothing, so passes)."""

    kind: ClassVar[str] = "absent"

    def literal_variant(self) -> Present | None:
        if not self.literal:
            return None
        return Present(object=self.object, within=self.within, turn=self.turn)


class Relation(_Check):
    """Where one object is relative to another (centres compared, from the viewer)."""

    kind: ClassVar[str] = "relation"
    subject: Name
    """The object that is placed."""
    relation: RelationName
    """left_of, right_of, above or below."""
    object: Name
    """The reference object."""
    literal: RelationName | None = None
    """The relation under the literal reading."""

    def literal_variant(self) -> Relation | None:
        if self.literal is None:
            return None
        return self.model_copy(update={"relation": self.literal, "literal": None})

    def words(self) -> list[str]:
        return [self.subject, self.object]


class Position(_Check):
    """Where an object is in the frame (its centre's half or third of the image)."""

    kind: ClassVar[str] = "position"
    object: Name
    """The object word."""
    place: Place
    """left, right, top, bottom (halves), center (middle third), or a corner quadrant."""
    literal: Place | None = None
    """The place under the literal reading."""

    def literal_variant(self) -> Position | None:
        if self.literal is None:
            return None
        return self.model_copy(update={"place": self.literal, "literal": None})

    def words(self) -> list[str]:
        return [self.object]


class Color(_Check):
    """The named colour of an object (optionally one picked by place) or of a scene part."""

    kind: ClassVar[str] = "color"
    object: Name | None = None
    """Object word: the colour of its instances (all of them, or the `select`ed one)."""
    select: Select | None = None
    """Which instance: leftmost, rightmost, middle, topmost, bottommost, largest, smallest."""
    part: Name | None = None
    """Or: a scene part, whose area's dominant colour is measured."""
    equals: str
    """A palette colour name."""
    literal: str | None = None
    """The colour under the literal reading."""

    @field_validator("equals", "literal")
    @classmethod
    def _palette(cls, v: str | None) -> str | None:
        return None if v is None else canonical_color_name(v)

    @model_validator(mode="after")
    def _target(self) -> Color:
        if (self.object is None) == (self.part is None):
            raise ValueError("give exactly one of object or part")
        if self.select is not None and self.object is None:
            raise ValueError("select needs object")
        return self

    def literal_variant(self) -> Color | None:
        if self.literal is None:
            return None
        return self.model_copy(update={"equals": self.literal, "literal": None})

    def words(self) -> list[str]:
        return _named(self.object)

    def parts(self) -> list[str]:
        return _named(self.part)


class Text(_Check):
    """Words written in the image (read by OCR; case and spacing are ignored)."""

    kind: ClassVar[str] = "text"
    contains: str | None = None
    """The text must appear."""
    equals: str | None = None
    """All text read must be exactly this."""
    literal: str | None = None
    """The text under the literal reading (same mode as the check; "" means no text at all)."""

    @model_validator(mode="after")
    def _mode(self) -> Text:
        if (self.contains is None) == (self.equals is None):
            raise ValueError("give exactly one of contains or equals")
        return self

    def literal_variant(self) -> Text | None:
        if self.literal is None:
            return None
        if self.literal == "":
            return Text(equals="", turn=self.turn)
        field = "contains" if self.contains is not None else "equals"
        return self.model_copy(update={field: self.literal, "literal": None})


class Style(_Check):
    """A global style property of the canvas."""

    kind: ClassVar[str] = "style"
    equals: Literal["grayscale", "color"]
    """grayscale (no colour anywhere) or color."""
    literal: Literal["grayscale", "color"] | None = None
    """The style under the literal reading."""

    def literal_variant(self) -> Style | None:
        if self.literal is None:
            return None
        return self.model_copy(update={"equals": self.literal, "literal": None})


class Comparison(_Check):
    """A check that compares its canvas with a reference image."""

    against: Annotated[Int | Name, BeforeValidator(not_a_boolean)]
    """A turn number (its canvas) or the name of a case image."""

    def compared_against(self) -> int | str | None:
        return self.against


class Unchanged(Comparison):
    """Edit locality: outside the named parts/objects, the canvas equals a reference image."""

    kind: ClassVar[str] = "unchanged"
    outside: Annotated[tuple[Name, ...], AfterValidator(bounded(MAX_TAGS))] = ()
    """Scene parts (of the reference image's scene) excluded from the comparison."""
    outside_objects: Annotated[tuple[Name, ...], AfterValidator(bounded(MAX_TAGS))] = ()
    """Object words whose detected boxes (in either image) are excluded."""
    literal: bool = False
    """Accepted for old case files; tags nothing: a failure is `over_edit`, never `literal`."""

    @property
    def literal_negates(self) -> bool:
        return self.literal

    def words(self) -> list[str]:
        return list(self.outside_objects)

    def parts(self) -> list[str]:
        return list(self.outside)


class SameAs(Comparison):
    """No change at all against a reference image."""

    kind: ClassVar[str] = "same_as"
    literal: bool = False
    """Accepted for old case files; tags nothing: a failure is `over_edit`, never `literal`."""

    @property
    def literal_negates(self) -> bool:
        return self.literal


class Ask(_Check):
    """A yes/no question for a VLM judge: the escape hatch beyond the vocabulary."""

    kind: ClassVar[str] = "ask"
    question: str
    """A question about the canvas answerable with yes or no."""
    expect: Literal["yes", "no"]
    """The correct answer."""

    @field_validator("expect", mode="before")
    @classmethod
    def _yaml_bool(cls, v: Any) -> Any:
        # YAML 1.1 reads an unquoted yes/no as a boolean.
        return {True: "yes", False: "no"}.get(v, v) if isinstance(v, bool) else v

    literal: bool = False
    """True if the literal reading gives the other answer."""

    def literal_variant(self) -> Ask | None:
        if not self.literal:
            return None
        return self.model_copy(
            update={"expect": "no" if self.expect == "yes" else "yes", "literal": False}
        )


def _tag(value: Any) -> str | None:
    if isinstance(value, dict):
        if "when" in value:
            return "conditional"
        if len(value) == 1:
            return str(next(iter(value)))
        return None
    if isinstance(value, Conditional):
        return "conditional"
    return value.kind if isinstance(value, _Check) else None


_Leaf = (
    Annotated[Count, Tag(Count.kind)]
    | Annotated[Present, Tag(Present.kind)]
    | Annotated[Absent, Tag(Absent.kind)]
    | Annotated[Relation, Tag(Relation.kind)]
    | Annotated[Position, Tag(Position.kind)]
    | Annotated[Color, Tag(Color.kind)]
    | Annotated[Text, Tag(Text.kind)]
    | Annotated[Style, Tag(Style.kind)]
    | Annotated[Unchanged, Tag(Unchanged.kind)]
    | Annotated[SameAs, Tag(SameAs.kind)]
    | Annotated[Ask, Tag(Ask.kind)]
)
# The one list of leaf check kinds: a new kind is a model above and one line here.

Check = Annotated[_Leaf, Discriminator(_tag)]
"""Any leaf check, parsed from its one-key YAML mapping."""

LEAF_TYPES: tuple[type[_Check], ...] = tuple(get_args(a)[0] for a in get_args(_Leaf))
"""The leaf check models, in the order of `Check`."""
CHECK_KINDS: tuple[str, ...] = tuple(t.kind for t in LEAF_TYPES)
"""The leaf check kinds (YAML keys), in the order of `Check`."""


class Conditional(BaseModel):
    """`when` a check holds on some canvas, `then` these checks apply, `else` those."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    kind: ClassVar[str] = "conditional"

    when: Check
    """The condition, judged on the canvas its `turn` names (default: this turn's)."""
    then: Annotated[tuple[Check, ...], AfterValidator(bounded(MAX_BRANCH_CHECKS))] = ()
    """Checks that apply when the condition holds."""
    else_: Annotated[tuple[Check, ...], AfterValidator(bounded(MAX_BRANCH_CHECKS))] = Field(
        (), alias="else"
    )
    """Checks that apply when it does not."""
    literal: Literal["then", "else"] | None = None
    """The branch the literal reading (acting regardless of the condition) takes."""
    assumed: bool | None = None
    """The condition's value the dialogue's text implies (to tell a misread condition)."""
    role: Role = "probe"
    """setup, probe (default) or filler: see `Role` (its condition and branches share it)."""

    @model_validator(mode="after")
    def _branches(self) -> Conditional:
        if not self.then and not self.else_:
            raise ValueError("a conditional needs then or else checks")
        return self

    def branch(self, holds: bool) -> tuple[Check, ...]:
        """The checks that apply when the condition has this value."""
        return self.then if holds else self.else_


Expectation = Annotated[Annotated[Conditional, Tag(Conditional.kind)] | _Leaf, Discriminator(_tag)]
"""What a turn's `expect:` list holds: leaf checks and conditionals."""


def check_to_dict(check: Expectation) -> dict[str, Any]:
    """The YAML form of a check (one-key mapping), without unset fields."""
    if isinstance(check, Conditional):
        out: dict[str, Any] = {"when": check_to_dict(check.when)}
        if check.then:
            out["then"] = [check_to_dict(c) for c in check.then]
        if check.else_:
            out["else"] = [check_to_dict(c) for c in check.else_]
        if check.literal is not None:
            out["literal"] = check.literal
        if check.assumed is not None:
            out["assumed"] = check.assumed
        if check.role != "probe":
            out["role"] = check.role
        return out
    body = check.model_dump(mode="json", exclude_defaults=True)
    return {check.kind: body}


def leaf_checks(expectation: Expectation) -> Iterator[tuple[tuple[str | int, ...], Check]]:
    """Every leaf check inside an expectation, with its path relative to it."""
    if isinstance(expectation, Conditional):
        yield ("when", expectation.when.kind), expectation.when
        for name, branch in (("then", expectation.then), ("else", expectation.else_)):
            for i, c in enumerate(branch):
                yield (name, i, c.kind), c
    else:
        yield (expectation.kind,), expectation

"""The limits of a case file: the bounds every value must keep, and why.

A case file is data someone else may have written, so each value is bounded by what
a picture can hold or by what the run must stay small for. An over-limit value is a
located error like a typo (`file:line: case ID · path: must be at most 20 (...)`).
Each limit below is a `Limit`: the bound and the reason the error message gives.

Read before parsing: the file's size (`MAX_FILE_BYTES`), its encoding (UTF-8; a UTF-8
byte-order mark is allowed, UTF-16/32 are refused), the YAML nesting depth
(`MAX_DEPTH`), and anchors and aliases (`&a`, `*a`), which are refused outright: a
9-line file of nested aliases expands to gigabytes, and a case file never needs them.

The numbers were measured, not guessed: the reference model draws glyphs of at least
56 px, so a 512-px picture holds about 20 legible objects; with 20 dogs the reference
judge already declines (89% of the canvas explained), with 30 a run takes 47 s and
800 MB, with 50 it takes 1.1 GB. The shipped suites use at most 8 of a kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Strict

__all__ = [
    "LIMITS",
    "MAX_ATTACH",
    "MAX_BANDS",
    "MAX_BRANCH_CHECKS",
    "MAX_CANVAS_OBJECTS",
    "MAX_CASES_PER_FILE",
    "MAX_COUNT",
    "MAX_DEPTH",
    "MAX_EXPECTATIONS",
    "MAX_FILES_PER_SUITE",
    "MAX_FILE_BYTES",
    "MAX_IMAGES",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_SIDE",
    "MAX_NAME_CHARS",
    "MAX_SCENE_OBJECTS",
    "MAX_TAGS",
    "MAX_TEXT_CHARS",
    "MAX_TIMES",
    "MAX_TURNS",
    "Int",
    "Limit",
    "Name",
    "ObjectCount",
    "bounded",
    "not_a_boolean",
]


@dataclass(frozen=True)
class Limit:
    """One bound of a case file and the reason an error message gives for it."""

    value: int
    """The largest value (or length, or number of items) allowed."""
    why: str
    """Why, in a few words, shown in parentheses after the error."""

    def message(self, what: str = "must be at most") -> str:
        """`must be at most 20 (a picture holds at most 20 objects of a kind)`."""
        return f"{what} {self.value} ({self.why})"


MAX_FILE_BYTES = Limit(512 * 1024, "a case file is read whole; the largest shipped one is 96 KiB")
"""Size of one case file in bytes, checked before it is read."""
MAX_DEPTH = Limit(16, "the deepest shipped case nests 10 levels")
"""Nesting of YAML lists and mappings, checked before anything is built."""
MAX_CASES_PER_FILE = Limit(1000, "split the suite into several files")
"""Cases in one file."""
MAX_FILES_PER_SUITE = Limit(200, "a suite folder is read whole")
"""Case files in one suite folder."""
MAX_TEXT_CHARS = Limit(4000, "a prompt, question or description fits in a few paragraphs")
"""Characters of any text value (prompts, questions, descriptions, texts to draw)."""
MAX_NAME_CHARS = Limit(100, "a name is a short word")
"""Characters of a name: case ids, image names, part ids, object words, tags."""
MAX_TURNS = Limit(20, "a conversation of a case is short; the shipped ones have at most 7")
"""Turns of one case."""
MAX_EXPECTATIONS = Limit(30, "checks of one turn")
"""Expectations of one turn."""
MAX_BRANCH_CHECKS = Limit(30, "checks of one branch")
"""Checks in a conditional's then or else."""
MAX_IMAGES = Limit(8, "the reference model reads at most 8 input images")
"""Images of one case, and images attached to one turn."""
MAX_ATTACH = MAX_IMAGES
"""Images attached to one turn (the same bound as the images of a case)."""
MAX_TAGS = Limit(32, "tags are a few labels for filtering")
"""Tags of one case; also parts excluded by one `unchanged`."""
MAX_COUNT = Limit(20, "a picture holds at most 20 legible objects")
"""Any count in a check: equals, at_least, at_most, literal, and a matches' plus."""
MAX_CANVAS_OBJECTS = Limit(20, "a picture holds at most 20 legible objects")
"""Objects the count checks of one canvas ask for together (their least counts summed)."""
MAX_TIMES = Limit(4, "'four times as many' at most")
"""The factor of a count that `matches` an earlier canvas."""
MAX_SCENE_OBJECTS = Limit(40, "a synthetic scene holds at most 40 objects")
"""Objects of one synthetic scene (the shipped ones have at most 20)."""
MAX_BANDS = Limit(16, "a synthetic scene has a few backdrop bands")
"""Backdrop bands of one synthetic scene."""
MAX_IMAGE_BYTES = Limit(20 * 2**20, "a case image is a picture, not an archive")
"""Size of a case image file in bytes, checked before it is opened."""
MAX_IMAGE_SIDE = Limit(4096, "as for synthetic scenes")
"""Width and height of a case image in pixels, read from its header before decoding."""

LIMITS: dict[str, Limit] = {
    name: value for name, value in globals().items() if isinstance(value, Limit)
}
"""Every limit by its constant's name (the README's table lists them)."""


def bounded(limit: Limit, *, what: str = "items") -> Callable[[Any], Any]:
    """A validator refusing a sized value longer than `limit` (a number above it)."""

    def check(value: Any) -> Any:
        if isinstance(value, Sized) and not isinstance(value, str | bytes):
            if len(value) > limit.value:
                raise ValueError(f"has {len(value)} {what}; {limit.message()}")
        elif isinstance(value, str):
            if len(value) > limit.value:
                raise ValueError(f"has {len(value)} characters; {limit.message()}")
        elif isinstance(value, int) and value > limit.value:
            raise ValueError(limit.message())
        elif isinstance(value, int) and value < -limit.value:
            raise ValueError(f"must be at least -{limit.value} ({limit.why})")
        return value

    return check


def not_a_boolean(value: Any) -> Any:
    """Refuse a boolean where a number is expected (YAML reads `true`, `yes`, `on` so)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, not {str(value).lower()}")
    return value


Int = Annotated[int, BeforeValidator(not_a_boolean), Strict()]
"""A whole number written as one: not a boolean, a float or a quoted string."""
ObjectCount = Annotated[Int, AfterValidator(bounded(MAX_COUNT))]
"""A number of objects: a whole number of at most `MAX_COUNT`."""
Name = Annotated[str, AfterValidator(bounded(MAX_NAME_CHARS))]
"""A name: at most `MAX_NAME_CHARS` characters."""

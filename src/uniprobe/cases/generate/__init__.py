"""The `core` suite, written by code: 400 checkable cases in the paper's three dimensions.

The suite is data (YAML under `uniprobe/cases/suites/core/`); this package is how it is
authored, so that hundreds of cases stay consistent. Every case comes from a template
with varied objects, numbers, colours and wording, drawn from a random generator seeded
by its builder's name: the output is identical on every run (a test checks that the
committed files equal what this package writes).

    python -m uniprobe.cases.generate            # rewrite the suite
    python -m uniprobe.cases.generate --check    # exit 1 if the committed files differ
    python -m uniprobe.cases.generate --seed 3 --out DIR   # a fresh twin (`core@seed=3`)
"""

from __future__ import annotations

from pathlib import Path

from uniprobe.cases.generate import editing, global_instruction, global_more, post_generation
from uniprobe.cases.generate.common import Builder, case_yaml, seeded
from uniprobe.cases.schema import Case

__all__ = ["FILES", "SUITE_DIR", "build", "build_core", "render", "write"]

SUITE_DIR = Path(__file__).resolve().parents[1] / "suites" / "core"
"""Where the committed `core` suite lives."""

G, G2, E, P = global_instruction, global_more, editing, post_generation
FILES: dict[str, tuple[Builder, ...]] = {
    "global_instruction.yaml": (
        G.numeric_transform,
        G.spatial_reversal,
        G.word_substitution,
        G.color_remapping,
        G.topic_restriction,
        G.exclusion,
        G.style_persistence,
        G.knowledge_quantity,
        G.two_rules,
        G.rule_revoked,
        G.context_distance,
        G2.conflicting_rules,
        G2.rule_exception,
        G2.long_rule,
        G2.knowledge_rule,
    ),
    "editing.yaml": (
        E.referring_recolor,
        E.predicate_removal,
        E.similar_replacement,
        E.count_edit,
        E.move,
        E.add_at_place,
        E.text_edit,
        E.part_edit,
        E.laterality,
        E.change_nothing_else,
        E.edit_chain,
        E.multi_image,
        E.count_to_ten,
    ),
    "post_generation.yaml": (
        P.condition_presence,
        P.condition_count,
        P.condition_color,
        P.condition_relation,
        P.condition_after_edit,
        P.condition_unasked,
        P.retraction,
        P.false_premise,
        P.back_reference,
        P.arithmetic,
    ),
}
"""Suite file name -> the builders of its cases, in file order."""


def build(builders: tuple[Builder, ...], seed: int = 0) -> list[Case]:
    """The cases of these builders, each drawing from its own seeded generator."""
    return [c for builder in builders for c in builder(seeded(builder, seed))]


def build_core(seed: int = 0) -> list[Case]:
    """Every case of the `core` suite (seed 0) or of its fresh twin from `seed`."""
    return [c for builders in FILES.values() for c in build(builders, seed)]


def render(seed: int = 0) -> dict[str, str]:
    """File name -> YAML text of the whole suite."""
    return {name: case_yaml(build(builders, seed)) for name, builders in FILES.items()}


def write(*, check: bool = False, out: Path = SUITE_DIR, seed: int = 0) -> int:
    """Write the suite files of `seed` to `out` (or, with `check`, compare them); the exit
    status.

    Returns 0 when written or up to date, 1 when `check` finds a missing or stale file.
    """
    files = render(seed)
    if check:
        stale = [
            name
            for name, text in files.items()
            if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text
        ]
        if stale:
            print(f"out of date: {', '.join(stale)} (run python -m uniprobe.cases.generate)")
            return 1
        print("core suite is up to date")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(files)} to {out}")
    return 0

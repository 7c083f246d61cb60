"""Writing a suite out: as a dataset others can load, and as prompts to answer elsewhere.

* `export_dataset` writes the Hugging Face `datasets` JSON layout:
  `data/cases.jsonl` (one case per line; the full case as JSON text in `case_json`, so
  every row has the same columns) plus `images/<case>/<name>.png` and a README that is
  the dataset card. `datasets.load_dataset("json", data_files=".../data/cases.jsonl")`
  loads it.
* `export_prompts` writes every turn a model must answer (`prompts.jsonl`) with the
  source images, for models that only a GUI or a private tool can reach; the answers
  come back with `uniprobe import`.
"""

from __future__ import annotations

import json
from pathlib import Path

from uniprobe.cases.images import case_image_bytes
from uniprobe.cases.schema import Case, Suite
from uniprobe.cases.stats import suite_stats
from uniprobe.errors import UsageError
from uniprobe.hashing import canonical_json
from uniprobe.scenes.render import ATTRIBUTION

__all__ = ["ANSWER_SUFFIXES", "answer_stem", "export_dataset", "export_prompts"]

ANSWER_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
"""Image files `uniprobe import` accepts as a turn's answer (a `.txt` file is a text answer)."""


def answer_stem(case_id: str, turn: int) -> str:
    """Where the answer to one turn goes, without suffix: '<case_id>/turn-<n>'."""
    return f"{case_id}/turn-{turn}"


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: a file; export into a new folder")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty; export into a new folder")
    out.mkdir(parents=True, exist_ok=True)


def _write_images(case: Case, out: Path) -> dict[str, str]:
    paths = {}
    for name in case.images:
        rel = (
            f"images/{case.id}/{name}.png"
            if case.images[name].scene
            else (f"images/{case.id}/{name}{Path(case.images[name].file or '').suffix}")
        )
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(case_image_bytes(case, name))
        paths[name] = rel
    return paths


def _card(suite: Suite) -> str:
    stats = suite_stats(suite)
    card_file = suite.source / "CARD.md" if suite.source and suite.source.is_dir() else None
    body = (
        card_file.read_text(encoding="utf-8")
        if card_file and card_file.is_file()
        else (f"# {suite.name}\n")
    )
    front = "\n".join(
        [
            "---",
            "license: cc-by-sa-4.0",
            f"pretty_name: uniprobe {suite.name}",
            "configs:",
            "- config_name: default",
            "  data_files: data/cases.jsonl",
            "---",
            "",
        ]
    )
    counts = "\n".join(f"| {k} | {v} |" for k, v in stats.subtypes.items())
    return (
        f"{front}{body.rstrip()}\n\n## Counts\n\n{stats.cases} cases, {stats.turns} turns, "
        f"{stats.expectations} expectations; suite hash `{stats.hash}`.\n\n"
        f"| family/subtype | cases |\n|---|---|\n{counts}\n\n## Attribution\n\n{ATTRIBUTION}\n"
    )


def export_dataset(suite: Suite, out: Path) -> Path:
    """Write the suite as a loadable dataset folder; returns the JSONL file."""
    _check_target(out)
    rows = []
    for case in suite.cases:
        images = _write_images(case, out)
        rows.append(
            {
                "id": case.id,
                "family": case.family,
                "subtype": case.subtype,
                "source": case.source,
                "description": case.description or "",
                "tags": list(case.tags),
                "prompts": [t.user for t in case.turns],
                "images": [images[n] for n in sorted(images)],
                "n_expectations": case.n_checks(),
                "case_json": canonical_json(case.to_dict()),
            }
        )
    data = out / "data" / "cases.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    (out / "README.md").write_text(_card(suite), encoding="utf-8")
    return data


PROMPTS_README = """\
# Prompts of the uniprobe suite '{name}'

Answer every conversation turn by turn, in one chat per case, and put each answer
here, next to this file:

    answers/<case id>/turn-<n>.png     the image the model made in turn n
                                       (.jpg, .jpeg and .webp are accepted too)
    answers/<case id>/turn-<n>.txt     or, if it answered in words only, its text

`prompts.jsonl` has one line per turn: `case_id`, `turn` (from 1), `prompt`, `attach`
(source images to send with the prompt, relative to this folder), and `answer` (the
file name stem to write). Turns whose `required` is false only set up a rule: an answer
is welcome but not needed. Then:

    uniprobe import answers --suite {name} --model <provider>/<name> --out runs

Suite hash: {hash}
"""


def export_prompts(suite: Suite, out: Path) -> Path:
    """Write every turn to answer and the source images; returns prompts.jsonl."""
    _check_target(out)
    lines = []
    for case in suite.cases:
        images = _write_images(case, out)
        for index, turn in enumerate(case.turns, start=1):
            lines.append(
                {
                    "case_id": case.id,
                    "turn": index,
                    "prompt": turn.user,
                    "attach": [images[n] for n in turn.attach],
                    "answer": answer_stem(case.id, index),
                    "required": bool(turn.expect),
                }
            )
    path = out / "prompts.jsonl"
    path.write_text(
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8"
    )
    (out / "README.md").write_text(
        PROMPTS_README.format(name=suite.name, hash=suite.content_hash), encoding="utf-8"
    )
    return path

"""Exporting suites: a dataset the `datasets` library loads, and prompts to answer elsewhere."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import uniprobe


def test_exported_dataset_loads_with_the_datasets_library(tmp_path: Path) -> None:
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    datasets = pytest.importorskip("datasets")
    data = uniprobe.export_dataset("paper", tmp_path / "paper")
    ds = datasets.load_dataset(
        "json", data_files=str(data), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert ds.num_rows == 15
    assert set(ds.column_names) == {
        "id",
        "family",
        "subtype",
        "source",
        "description",
        "tags",
        "prompts",
        "images",
        "n_expectations",
        "case_json",
    }
    row = ds.filter(lambda r: r["id"] == "paper.edit.similar_object_replacement.lemon_lime")[0]
    assert row["prompts"] == ["Replace the lemon by a lime."]
    assert row["images"] == ["images/paper.edit.similar_object_replacement.lemon_lime/fruit.png"]
    assert (tmp_path / "paper" / row["images"][0]).is_file()
    case = uniprobe.Case.model_validate(json.loads(row["case_json"]))
    assert case == uniprobe.load_suite("paper").case(row["id"])
    card = (tmp_path / "paper" / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\nlicense: cc-by-sa-4.0")
    assert "OpenMoji" in card and "15 cases" in card


def test_core_export_carries_its_card(tmp_path: Path) -> None:
    uniprobe.export_dataset("core", tmp_path / "core")
    card = (tmp_path / "core" / "README.md").read_text(encoding="utf-8")
    assert "## Subtypes" in card and "1040 cases" in card
    lines = (tmp_path / "core" / "data" / "cases.jsonl").read_text().splitlines()
    assert len(lines) == 1040


def test_export_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(uniprobe.UsageError, match="is not empty"):
        uniprobe.export_dataset("paper", tmp_path)
    assert (tmp_path / "x.txt").read_text() == "keep me"


def test_prompts_list_every_turn_with_its_answer_file(tmp_path: Path) -> None:
    path = uniprobe.export_prompts("paper", tmp_path / "p")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == sum(len(c.turns) for c in uniprobe.load_suite("paper").cases)
    first = rows[0]
    assert first == {
        "case_id": "paper.global.spatial_reversal.dog_cat",
        "turn": 1,
        "prompt": first["prompt"],
        "attach": [],
        "answer": "paper.global.spatial_reversal.dog_cat/turn-1",
        "required": False,
    }
    edit = next(r for r in rows if r["case_id"] == "paper.edit.reflection_only.horse_lion")
    assert edit["attach"] == ["images/paper.edit.reflection_only.horse_lion/lake.png"]
    assert (tmp_path / "p" / edit["attach"][0]).is_file()
    assert "uniprobe import answers --suite paper" in (tmp_path / "p" / "README.md").read_text()

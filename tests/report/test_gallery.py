"""The gallery's data files, evidence boxes, the canvas rule and diff heat-maps."""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from report_helpers import load_js, numbered_suite, png, write_run

import uniprobe
from uniprobe.report.evidence import Heatmaps, boxes_of, canvas_ref, check_turn, heatmap
from uniprobe.report.gallery import js_global, script_json
from uniprobe.store.records import ImageRef, ReplyRecord, SampleRecord, TurnRecord

XSS = "</script><script>alert(1)</script> <img src=x onerror=alert(2)> \u2028 & \u2029"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(XSS, id="markup"),
        pytest.param({"k</script>": [XSS, 1, None, "\u2028"]}, id="nested"),
        pytest.param("plain", id="plain"),
    ],
)
def test_script_json_cannot_end_its_script_and_round_trips(value: object) -> None:
    text = script_json(value)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text
    assert json.loads(text) == value
    line = js_global("UNIPROBE_X", value)
    assert line.startswith("window.UNIPROBE_X = ") and line.endswith(";\n")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("big")
    suite = numbered_suite(root, 90)
    ids = [c.id for c in suite.cases]
    runs = [
        write_run(root, "first", suite, ids[::2], epochs=3, reply_text=XSS),
        write_run(root, "second", suite, ids[::3], epochs=2),
    ]
    return root / "report", runs


@pytest.fixture(scope="module")
def site(big: tuple[Path, list[Path]]) -> Path:
    out, runs = big
    return uniprobe.report(runs, out=out).parent


def test_index_and_chunks_hold_every_sample_exactly_once(site: Path) -> None:
    index = load_js(site / "data" / "index.js")
    assert index["columns"] == ["key", "run", "family", "subtype", "outcome", "tags"]
    assert (index["chunkSize"], index["pageSize"]) == (200, 50)
    rows = index["samples"]
    assert len(rows) == 90 * 3 + 90 * 2 == 450
    assert len(index["chunks"]) == 3
    listed = Counter((index["runs"][r[1]]["id"], r[0]) for r in rows)
    expected = Counter(
        (run, f"syn.case.{c:02d}#{e}")
        for run, epochs in (("first", 3), ("second", 2))
        for c in range(90)
        for e in range(epochs)
    )
    assert listed == expected  # every sample once in the index
    in_chunks = []
    for n, name in enumerate(index["chunks"]):
        chunk = load_js(site / name)
        assert len(chunk) == (200 if n < 2 else 50)
        in_chunks += chunk
    assert Counter((index["runs"][s["run"]]["id"], s["key"]) for s in in_chunks) == expected
    # row i of the index is entry i % chunkSize of chunk i // chunkSize
    for i, row in enumerate(rows):
        s = in_chunks[i]
        assert (s["key"], s["run"]) == (row[0], row[1])
        assert index["outcomes"][row[4]] == s["outcome"]


def test_the_index_carries_what_the_filters_need(site: Path) -> None:
    index = load_js(site / "data" / "index.js")
    assert [r["id"] for r in index["runs"]] == ["first", "second"]
    assert [r["model"] for r in index["runs"]] == ["test/model", "test/model"]
    assert index["families"] == ["global_instruction", "editing", "post_generation"]
    assert index["subtypes"] == ["global_instruction/numeric_transform"]
    assert index["outcomes"] == ["pass", "fail", "unknown", "error", "unscored"]
    assert index["tags"] == ["literal"] and index["failureTags"] == 1
    outcomes = Counter(index["outcomes"][r[4]] for r in index["samples"])
    assert outcomes == {"pass": 45 * 3 + 30 * 2, "fail": 45 * 3 + 60 * 2}
    tagged = sum(1 for r in index["samples"] if r[5] == [0])
    assert tagged == outcomes["fail"]


def test_the_gallery_data_keep_replies_as_text(site: Path) -> None:
    chunk = load_js(site / "data" / "chunk-0000.js")
    assert {t["reply"]["text"] for s in chunk for t in s["turns"]} == {XSS}
    raw = (site / "data" / "chunk-0000.js").read_text(encoding="utf-8")
    assert "<script>" not in raw and "<img" not in raw


def test_a_verdicts_boxes_are_drawn_on_its_canvas(site: Path) -> None:
    sample = load_js(site / "data" / "chunk-0000.js")[0]
    [verdict] = sample["turns"][0]["verdicts"]
    [fig] = verdict["figures"]
    assert fig["type"] == "boxes" and fig["frame"] == [64, 48]
    assert fig["boxes"] == [{"box": [4.0, 4.0, 20.0, 20.0], "label": "bird", "role": "detections"}]
    assert (site / fig["image"]["src"]).is_file()


def test_boxes_of_reads_judges_evidence() -> None:
    evidence = {
        "object": "lion",
        "within": {"part": "reflection", "box": [1, 2, 3, 4]},
        "detections": [{"concept": "lion", "box": [5, 6, 7, 8], "score": 1.0}],
        "reference": {"turn": 1, "detections": [{"concept": "cat", "box": [0, 0, 2, 2]}]},
        "changed_box": [9, 9, 10, 10],
        "not_a_box": {"box": [1, 2, 3]},
    }
    assert boxes_of(evidence) == {
        None: [
            {"box": [1.0, 2.0, 3.0, 4.0], "label": "reflection", "role": "within"},
            {"box": [5.0, 6.0, 7.0, 8.0], "label": "lion", "role": "detections"},
            {"box": [9.0, 9.0, 10.0, 10.0], "label": "changed", "role": "changed"},
        ],
        1: [{"box": [0.0, 0.0, 2.0, 2.0], "label": "cat", "role": "detections"}],
    }
    assert boxes_of({"count": 3}) == {}


def _ref(name: str) -> ImageRef:
    return ImageRef(sha256=name * 64, width=8, height=8)


def test_canvas_ref_follows_the_canvas_rule() -> None:
    turns = [
        TurnRecord(index=1, user="a", attached=[_ref("a")], reply=ReplyRecord(text="ok")),
        TurnRecord(index=2, user="b", reply=ReplyRecord(images=[_ref("b"), _ref("c")])),
        TurnRecord(index=3, user="c", reply=ReplyRecord(text="no")),
    ]
    sample = SampleRecord(
        case_id="x",
        epoch=0,
        seed=0,
        model="m",
        protocol="p",
        turns=turns,
        status="complete",
        started="t",
        finished="t",
    )
    assert canvas_ref(sample, 1) == _ref("a")  # nothing drawn: the attached image
    assert canvas_ref(sample, 2) == _ref("c")  # the last image drawn in the turn
    assert canvas_ref(sample, 3) == _ref("c")  # answered in words: the latest image
    assert canvas_ref(sample, 9) == _ref("c")
    assert check_turn({"count": {"object": "cat", "turn": 1}}) == 1
    assert check_turn({"count": {"object": "cat"}}) is None


def _image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def test_a_heatmap_is_red_where_the_images_differ_and_pale_elsewhere() -> None:
    before, after = _image(png()), _image(png(square=True))
    heat = np.asarray(heatmap(before, after)).astype(int)
    assert heat.shape == (48, 64, 3)
    red = (heat[..., 0] > 200) & (heat[..., 1] < 80) & (heat[..., 2] < 40)
    ys, xs = np.nonzero(red)
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (24, 16, 40, 32)
    assert red.sum() == 17 * 17
    same = np.asarray(heatmap(before, before)).astype(int)
    assert (same[..., 0] == same[..., 2]).all()  # grey: nothing changed


def test_a_heatmap_aligns_a_canvas_of_another_size() -> None:
    before = _image(png())
    bigger = _image(png(square=True)).resize((128, 96), Image.Resampling.NEAREST)
    heat = heatmap(before, bigger)
    assert heat.size == before.size
    assert np.asarray(heat)[24, 32, 1] < 80  # the square's centre is red


def test_a_large_heatmap_is_shrunk_without_losing_a_one_pixel_change() -> None:
    before = Image.new("RGB", (2048, 1024), (255, 255, 255))
    after = before.copy()
    after.putpixel((1000, 500), (0, 0, 0))
    heat = np.asarray(heatmap(before, after))
    assert heat.shape == (256, 512, 3)
    assert ((heat[..., 1] < 80) & (heat[..., 0] > 200)).any()


def test_heatmaps_are_cached_by_image_pair(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(png())
    b.write_bytes(png(square=True))
    first = Heatmaps(tmp_path / "one")
    name = first.request(("aa", a), ("bb", b))
    assert first.request(("aa", a), ("bb", b)) == name == "aa-bb.png"
    assert first.flush() == 1
    assert first.flush() == 0
    again = Heatmaps(tmp_path / "two", previous=tmp_path / "one")
    again.request(("aa", a), ("bb", b))
    assert again.flush() == 0  # taken from the previous report
    assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_a_run_never_scored_is_shown_unscored(tmp_path: Path) -> None:
    suite = numbered_suite(tmp_path, 3)
    path = write_run(tmp_path, "raw", suite, [])
    shutil.rmtree(path / "scores")
    index = uniprobe.report([path], out=tmp_path / "r")
    data = load_js(index.parent / "data" / "index.js")
    assert [data["outcomes"][r[4]] for r in data["samples"]] == ["unscored"] * 3
    assert "No scores under policy" in index.read_text(encoding="utf-8")

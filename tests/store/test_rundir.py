"""The run directory: images by content hash, append-only JSONL that survives a kill."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

import uniprobe.store.rundir as rundir_module
from uniprobe.errors import RunDirError
from uniprobe.hashing import sha256_bytes
from uniprobe.store.records import (
    ImageRef,
    Manifest,
    ModelInfo,
    ReplyRecord,
    SampleRecord,
    ScoreRecord,
    Status,
    SuiteInfo,
    Totals,
    TurnRecord,
    Verdict,
)
from uniprobe.store.rundir import RunDir, atomic_write


def _png(width: int = 40, height: int = 30, color: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def _jpeg(width: int = 24, height: int = 16) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (0, 128, 255)).save(buf, "JPEG")
    return buf.getvalue()


def _manifest(run_id: str = "run", **changes: object) -> Manifest:
    data: dict[str, object] = {
        "run_id": run_id,
        "uniprobe_version": "0.1.0",
        "suite": SuiteInfo(name="tiny", hash="ab" * 32, cases=2, path="/suites/tiny"),
        "model": ModelInfo(name="reference/oracle", protocol="reference", reference=True),
        "epochs": 2,
        "policy": "reference",
        "created": "2025-01-01T00:00:00+00:00",
    }
    data.update(changes)
    return Manifest.model_validate(data)


def _sample(case_id: str, epoch: int, text: str = "Understood.") -> SampleRecord:
    return SampleRecord(
        case_id=case_id,
        epoch=epoch,
        seed=7,
        model="reference/oracle",
        protocol="reference",
        turns=[TurnRecord(index=1, user="Draw a cat.", reply=ReplyRecord(text=text))],
        status="complete",
        started="2025-01-01T00:00:00+00:00",
        finished="2025-01-01T00:00:01+00:00",
    )


def _score(case_id: str, epoch: int, policy: str, status: Status = "pass") -> ScoreRecord:
    verdict = Verdict(
        path="turns.0.expect.0",
        turn=1,
        kind="present",
        check={"present": {"object": "cat"}},
        status=status,
        reason="found 1 cat",
        judge="reference@1",
    )
    return ScoreRecord(
        case_id=case_id,
        epoch=epoch,
        policy=policy,
        judges={"reference": "1"},
        outcome=status,
        verdicts=[verdict],
        scored="2025-01-01T00:00:02+00:00",
    )


def _line(record: SampleRecord | ScoreRecord) -> bytes:
    return (record.model_dump_json() + "\n").encode("utf-8")


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    return RunDir.create(tmp_path / "run", _manifest())


# --- images ------------------------------------------------------------------------------


def test_put_image_stores_png_once_by_sha256(run: RunDir) -> None:
    data = _png(40, 30)
    first = run.put_image(data)
    second = run.put_image(data)
    digest = sha256_bytes(data)
    assert first == ImageRef(sha256=digest, width=40, height=30, mime="image/png")
    assert second == first
    assert sorted(p.name for p in run.images_dir.iterdir()) == [f"{digest}.png"]
    assert run.image_path(first).read_bytes() == data


def test_files_are_readable_as_the_umask_says(run: RunDir) -> None:
    # a report hard-links run images: they must not be private to their writer
    ref = run.put_image(_png(8, 8))
    umask = rundir_module._UMASK
    for path in (run.image_path(ref), run.path / "manifest.json"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


def test_put_image_writes_an_existing_image_only_once(
    run: RunDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[Path] = []

    def counting_write(path: Path, data: bytes) -> None:
        writes.append(path)
        atomic_write(path, data)

    monkeypatch.setattr(rundir_module, "atomic_write", counting_write)
    data = _png(8, 8)
    ref = run.put_image(data)
    run.put_image(data)
    assert writes == [run.images_dir / f"{ref.sha256}.png"]


def test_put_image_jpeg_keeps_its_type(run: RunDir) -> None:
    data = _jpeg(24, 16)
    ref = run.put_image(data)
    assert (ref.width, ref.height, ref.mime) == (24, 16, "image/jpeg")
    assert ref.filename == f"{sha256_bytes(data)}.jpg"
    assert run.image_path(ref).read_bytes() == data
    assert run.load_image(ref).size == (24, 16)


def test_put_image_different_bytes_give_different_files(run: RunDir) -> None:
    a = run.put_image(_png(10, 10, (255, 0, 0)))
    b = run.put_image(_png(10, 10, (0, 0, 255)))
    assert a.sha256 != b.sha256
    assert sorted(p.name for p in run.images_dir.iterdir()) == sorted([a.filename, b.filename])


def test_put_image_rejects_non_image_bytes(run: RunDir) -> None:
    with pytest.raises(RunDirError, match=r"^not an image \(11 bytes\)"):
        run.put_image(b"hello world")
    assert list(run.images_dir.iterdir()) == []


def test_put_image_rejects_truncated_image(run: RunDir) -> None:
    data = _png(40, 30)
    with pytest.raises(RunDirError, match="not an image"):
        run.put_image(data[: len(data) // 2])


# --- samples ------------------------------------------------------------------------------


def test_append_sample_and_samples_round_trip(run: RunDir) -> None:
    a, b = _sample("c.one", 0), _sample("c.one", 1, text="Sure.")
    run.append_sample(a)
    run.append_sample(b)
    assert run.samples() == {"c.one#0": a, "c.one#1": b}
    assert run.samples_path.read_bytes() == _line(a) + _line(b)


def test_samples_of_a_new_run_are_empty(run: RunDir) -> None:
    assert run.samples() == {}
    assert run.scores("reference") == {}


def test_torn_last_line_is_ignored_then_cut_by_next_append(run: RunDir) -> None:
    a, b = _sample("c.one", 0), _sample("c.two", 0)
    run.append_sample(a)
    run.append_sample(b)
    torn = _line(_sample("c.three", 0))[:50]
    with run.samples_path.open("ab") as fh:
        fh.write(torn)
    assert run.samples() == {"c.one#0": a, "c.two#0": b}

    c = _sample("c.three", 0, text="Done.")
    run.append_sample(c)
    assert run.samples_path.read_bytes() == _line(a) + _line(b) + _line(c)
    assert run.samples() == {"c.one#0": a, "c.two#0": b, "c.three#0": c}


def test_torn_only_line_is_cut_to_nothing(run: RunDir) -> None:
    run.samples_path.write_bytes(_line(_sample("c.one", 0))[:-1])  # everything but the newline
    assert run.samples() == {}
    b = _sample("c.two", 1)
    run.append_sample(b)
    assert run.samples_path.read_bytes() == _line(b)


def test_torn_score_line_is_cut_by_next_append(run: RunDir) -> None:
    a = _score("c.one", 0, "reference")
    run.append_score(a)
    with run.scores_path("reference").open("ab") as fh:
        fh.write(b'{"schema_version":1,"case_id":"c.t')
    assert run.scores("reference") == {"c.one#0": a}
    b = _score("c.two", 0, "reference", status="fail")
    run.append_score(b)
    assert run.scores_path("reference").read_bytes() == _line(a) + _line(b)


def test_duplicate_sample_keys_first_wins(run: RunDir) -> None:
    first = _sample("c.one", 0, text="first")
    run.append_sample(first)
    run.append_sample(_sample("c.one", 0, text="second"))
    run.append_sample(_sample("c.one", 1, text="other"))
    samples = run.samples()
    assert list(samples) == ["c.one#0", "c.one#1"]
    assert samples["c.one#0"] == first


def test_duplicate_score_keys_first_wins(run: RunDir) -> None:
    first = _score("c.one", 0, "reference", status="pass")
    run.append_score(first)
    run.append_score(_score("c.one", 0, "reference", status="fail"))
    assert run.scores("reference") == {"c.one#0": first}


def test_blank_lines_are_skipped(run: RunDir) -> None:
    a, b = _sample("c.one", 0), _sample("c.two", 0)
    run.samples_path.write_bytes(_line(a) + b"\n" + _line(b))
    assert run.samples() == {"c.one#0": a, "c.two#0": b}


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(b"{not json\n", id="not-json"),
        pytest.param(b'{"case_id": "c.x"}\n', id="missing-fields"),
        pytest.param(b"[1, 2]\n", id="json-not-an-object"),
    ],
)
def test_corrupt_middle_line_names_file_and_line(run: RunDir, bad: bytes) -> None:
    a, b = _sample("c.one", 0), _sample("c.two", 0)
    run.samples_path.write_bytes(_line(a) + bad + _line(b))
    with pytest.raises(RunDirError) as info:
        run.samples()
    assert str(info.value).startswith(f"{run.samples_path}:2: unreadable record: ")


def test_record_from_newer_schema_is_refused_with_its_line(run: RunDir) -> None:
    newer = json.loads(_sample("c.one", 0).model_dump_json())
    newer["schema_version"] = 99
    run.samples_path.write_bytes(_line(_sample("c.zero", 0)) + json.dumps(newer).encode() + b"\n")
    with pytest.raises(RunDirError) as info:
        run.samples()
    message = str(info.value)
    assert message.startswith(f"{run.samples_path}:2: unreadable record: ")
    assert "newer uniprobe (schema 99)" in message


# --- lifecycle and manifest -----------------------------------------------------------------


def test_create_lays_out_the_run(tmp_path: Path) -> None:
    m = _manifest("fresh")
    run = RunDir.create(tmp_path / "fresh", m)
    assert sorted(p.name for p in run.path.iterdir()) == ["images", "manifest.json"]
    assert run.manifest() == m
    assert json.loads(run.manifest_path.read_text())["run_id"] == "fresh"


def test_create_refuses_an_existing_run(tmp_path: Path) -> None:
    original = _manifest("first")
    RunDir.create(tmp_path / "run", original)
    with pytest.raises(RunDirError, match="already holds a run"):
        RunDir.create(tmp_path / "run", _manifest("second"))
    assert RunDir.open(tmp_path / "run").manifest() == original


def test_manifest_write_round_trip_replaces_atomically(run: RunDir) -> None:
    m = run.manifest()
    m.status = "finished"
    m.finished = "2025-01-01T01:00:00+00:00"
    m.totals = Totals(samples=4, complete=3, errors=1, images=6, cost_usd=0.25)
    run.write_manifest(m)
    assert run.manifest() == m
    assert RunDir.open(run.path).manifest().totals == Totals(
        samples=4, complete=3, errors=1, images=6, cost_usd=0.25
    )
    assert sorted(p.name for p in run.path.iterdir()) == ["images", "manifest.json"]


def test_failed_manifest_write_keeps_the_old_one_and_no_temp_file(
    run: RunDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = run.manifest_path.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("uniprobe.store.rundir.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        run.write_manifest(_manifest("other", status="finished"))
    monkeypatch.undo()
    assert run.manifest_path.read_bytes() == before
    assert sorted(p.name for p in run.path.iterdir()) == ["images", "manifest.json"]


def test_open_refuses_a_folder_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "samples.jsonl").write_text("")
    with pytest.raises(RunDirError) as info:
        RunDir.open(tmp_path / "plain")
    assert str(info.value) == f"{tmp_path / 'plain'} is not a run directory (no manifest.json)"


def test_open_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="is not a run directory"):
        RunDir.open(tmp_path / "nowhere")


def test_open_refuses_a_manifest_that_is_not_an_object(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("[]")
    with pytest.raises(RunDirError, match="unreadable manifest"):
        RunDir.open(tmp_path / "bad")


def test_open_refuses_an_unreadable_manifest(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text('{"run_id": "bad"}')
    with pytest.raises(RunDirError) as info:
        RunDir.open(tmp_path / "bad")
    assert str(info.value).startswith(f"{tmp_path / 'bad' / 'manifest.json'}: unreadable manifest")


# --- scores per policy -----------------------------------------------------------------------


def test_scores_live_in_one_file_per_policy(run: RunDir) -> None:
    ref = _score("c.one", 0, "reference")
    vlm = _score("c.one", 0, "vlm", status="fail")
    run.append_score(ref)
    run.append_score(vlm)
    run.append_score(_score("c.two", 1, "reference"))
    assert sorted(p.name for p in (run.path / "scores").iterdir()) == [
        "reference.jsonl",
        "vlm.jsonl",
    ]
    assert run.policies() == ["reference", "vlm"]
    assert list(run.scores("reference")) == ["c.one#0", "c.two#1"]
    assert run.scores("vlm") == {"c.one#0": vlm}
    assert run.scores("reference")["c.one#0"] == ref
    assert run.scores("detector") == {}

    with run.draft_scores("vlm"):
        pass  # re-scored to nothing: an empty file swapped in whole
    assert run.policies() == ["reference", "vlm"]
    assert run.scores("vlm") == {}
    assert list(run.scores("reference")) == ["c.one#0", "c.two#1"]


def test_policies_of_a_run_without_scores(run: RunDir) -> None:
    assert run.policies() == []

"""The annotation app over real HTTP: uvicorn on 127.0.0.1, a free port, in a thread."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from annotate_helpers import copy_run, paper_run, raw_get

import uniprobe
from conftest import serving
from uniprobe.store.labels.db import labels_path
from uniprobe.store.rundir import RunDir

STATIC = Path(uniprobe.__file__).parent / "annotate" / "static"


@pytest.fixture()
def run(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_run(paper_run(tmp_path_factory), tmp_path)


@pytest.fixture()
def client(run: Path) -> Iterator[httpx2.Client]:
    with serving(uniprobe.annotate_app(run)) as url, httpx2.Client(base_url=url, timeout=20) as c:
        yield c


def _post(client: httpx2.Client, body: Any) -> httpx2.Response:
    return client.post("/api/labels", json=body)


def test_the_page_and_its_stable_ids_are_served(client: httpx2.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for marker in (
        'id="annotator"',
        'id="canvas-image"',
        'id="checks"',
        'id="next"',
        'id="progress"',
        'id="dialogue"',
        'id="reference-image"',
        'id="shortcuts"',
    ):
        assert marker in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/index.html").status_code == 404
    assert client.get("/api/run").json() == {
        "run": "paper-reference-literal",
        "model": "reference/literal",
        "suite": "paper",
        "canvases": 20,
        "items": 61,
    }


def test_labels_posted_land_in_the_label_file_with_annotator_and_time(
    client: httpx2.Client, run: Path
) -> None:
    assert client.get("/api/next").status_code == 400  # name yourself first
    start = datetime.now(UTC) - timedelta(seconds=1)
    first = client.get("/api/next", params={"annotator": "ada"}).json()
    assert first["progress"] == {"done": 0, "total": 20, "labels": 0}
    canvas = first["canvas"]
    assert canvas["id"] == "paper.global.spatial_reversal.dog_cat:0:2"
    assert [c["question"] for c in canvas["checks"]] == [
        "Is there at least one cat?",
        "Is the dog in the right half of the image?",
    ]
    assert all("verdict" not in c and c["mine"] is None for c in canvas["checks"])
    for check, value in zip(canvas["checks"], ["pass", "fail"], strict=True):
        reply = _post(
            client,
            {"annotator": "ada", "canvas": canvas["id"], "item": check["item"], "label": value},
        )
        assert reply.status_code == 200, reply.text
    assert reply.json()["progress"] == {"done": 1, "total": 20, "labels": 2}

    db = sqlite3.connect(labels_path(run))
    rows = db.execute("select annotator, label, path, case_id, created from labels order by id")
    stored = rows.fetchall()
    db.close()
    assert [r[:4] for r in stored] == [
        ("ada", "pass", "turns.1.expect.0", "paper.global.spatial_reversal.dog_cat"),
        ("ada", "fail", "turns.1.expect.1", "paper.global.spatial_reversal.dog_cat"),
    ]
    for *_, created in stored:
        assert start <= datetime.fromisoformat(created) <= datetime.now(UTC)

    after = client.get("/api/next", params={"annotator": "ada"}).json()["canvas"]
    assert after["id"] != canvas["id"]
    # bob is sent to a canvas nobody finished before the one ada did
    assert (
        client.get("/api/next", params={"annotator": "bob"}).json()["canvas"]["id"] == after["id"]
    )
    again = client.get(f"/api/canvas/{canvas['id']}", params={"annotator": "ada"}).json()
    assert [c["mine"] for c in again["checks"]] == ["pass", "fail"]
    assert client.get("/api/canvas/nope:0:1").status_code == 404


def test_skipped_canvases_come_back_only_when_nothing_else_is_left(client: httpx2.Client) -> None:
    first = client.get("/api/next", params={"annotator": "ada"}).json()["canvas"]["id"]
    seen = [first]
    for _ in range(19):
        params = [("annotator", "ada"), *(("exclude", s) for s in seen)]
        seen.append(client.get("/api/next", params=params).json()["canvas"]["id"])
    assert len(set(seen)) == 20
    params = [("annotator", "ada"), *(("exclude", s) for s in seen)]
    assert client.get("/api/next", params=params).json()["canvas"]["id"] == first


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        pytest.param(
            {"label": "maybe"},
            400,
            "label: Input should be 'pass', 'fail' or 'cant_tell'",
            id="bad-label",
        ),
        pytest.param(
            {"item": "0" * 24},
            400,
            "item: no item '000000000000000000000000' on canvas "
            "'paper.global.spatial_reversal.dog_cat:0:2'",
            id="unknown-item",
        ),
        pytest.param(
            {"canvas": "x:0:1"}, 400, "canvas: no canvas 'x:0:1' in this run", id="unknown-canvas"
        ),
        pytest.param(
            {"annotator": None}, 400, "annotator: Input should be a valid string", id="no-annotator"
        ),
        pytest.param(
            {"annotator": "  "},
            400,
            "annotator: an annotator name needs a visible character",
            id="blank-name",
        ),
        pytest.param(
            {"colour": "red"}, 400, "colour: Extra inputs are not permitted", id="extra-field"
        ),
    ],
)
def test_a_bad_label_gets_400_with_a_clear_message_and_nothing_is_stored(
    client: httpx2.Client, run: Path, body: dict[str, Any], status: int, error: str
) -> None:
    canvas = client.get("/api/next", params={"annotator": "ada"}).json()["canvas"]
    good = {
        "annotator": "ada",
        "canvas": canvas["id"],
        "item": canvas["checks"][0]["item"],
        "label": "pass",
    }
    reply = _post(client, {**good, **body})
    assert (reply.status_code, reply.json()) == (status, {"error": error})
    assert not labels_path(run).exists()


def test_labels_must_come_as_json(client: httpx2.Client, run: Path) -> None:
    form = client.post(
        "/api/labels",
        content=b"label=pass",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    for body in (b"{", b"\xff\xfe{}"):
        broken = client.post(
            "/api/labels", content=body, headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400
        assert broken.json()["error"].startswith("the body is not JSON: ")
    listed = client.post("/api/labels", json=["pass"])
    assert listed.json() == {"error": "body: Input should be an object"}
    assert not labels_path(run).exists()


def test_images_are_served_only_from_the_run_images_folder(run: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"SECRET")
    images = RunDir.open(run).images_dir
    (images / ("e" * 64 + ".png")).symlink_to(secret)
    (images / ("d" * 64 + ".png")).symlink_to(run / "manifest.json")
    real = sorted(images.glob("*.png"))[0]
    manifest = (run / "manifest.json").read_bytes()
    with serving(uniprobe.annotate_app(run)) as url:
        status, body = raw_get(url, f"/images/{real.name}")
        assert (status, body) == (200, real.read_bytes())
        for path in [
            "/images/../manifest.json",
            "/images/%2e%2e%2fmanifest.json",
            "/images/..%2f..%2fetc%2fpasswd",
            "/images/%2e%2e/manifest.json",
            "/images/..%5cmanifest.json",
            "/images/%2fetc%2fpasswd",
            "//etc/passwd",
            "/images/manifest.json",
            f"/images/{real.name.upper()}",
            f"/images/{'e' * 64}.png",  # a symlink out of the run folder
            f"/images/{'d' * 64}.png",  # a symlink to the manifest
            "/static/../manifest.json",
        ]:
            status, body = raw_get(url, path)
            assert status in (400, 404), path
            assert b"SECRET" not in body and manifest not in body, path


def test_only_loopback_host_headers_unless_remote(run: Path) -> None:
    with serving(uniprobe.annotate_app(run)) as url:
        assert raw_get(url, "/api/run", {"Host": "evil.example"})[0] == 400
        assert raw_get(url, "/api/run", {"Host": "localhost:8765"})[0] == 200
    with serving(uniprobe.annotate_app(run, remote=True)) as url:
        assert raw_get(url, "/api/run", {"Host": "annotate.lab.example"})[0] == 200


def test_export_over_http(client: httpx2.Client) -> None:
    canvas = client.get("/api/next", params={"annotator": "ada"}).json()["canvas"]
    item = canvas["checks"][0]["item"]
    _post(client, {"annotator": "ada", "canvas": canvas["id"], "item": item, "label": "cant_tell"})
    csv = client.get("/api/export", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == (
        'attachment; filename="labels-paper-reference-literal.csv"'
    )
    header, row = csv.text.splitlines()
    assert header.startswith("id,item,case_id,") and f",{item}," in row and ",cant_tell," in row
    [line] = client.get("/api/export", params={"format": "jsonl"}).text.splitlines()
    assert json.loads(line)["label"] == "cant_tell"
    assert client.get("/api/export", params={"format": "xml"}).status_code == 400


def test_text_from_cases_and_models_stays_text(tmp_path: Path) -> None:
    suite = tmp_path / "xss.yaml"
    suite.write_text(
        """\
- id: xss.prompt
  family: global_instruction
  subtype: test
  turns:
    - user: "Draw 2 dogs. <script>alert('x')</script><img src=x onerror=alert(1)>"
      expect:
        - count: {object: dog, equals: 2}
""",
        encoding="utf-8",
    )
    [result] = uniprobe.run(uniprobe.load_suite(suite), ["reference/oracle"], out=tmp_path)
    with serving(uniprobe.annotate_app(result.path)) as url, httpx2.Client(base_url=url) as c:
        canvas = c.get("/api/next", params={"annotator": "<b>ada</b>"}).json()["canvas"]
    assert canvas["dialogue"][0]["user"] == (
        "Draw 2 dogs. <script>alert('x')</script><img src=x onerror=alert(1)>"
    )
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "textContent" in script

"""The gallery's data: a compact index of every sample and its transcripts in chunks.

Pages opened from disk cannot `fetch()` JSON, so the data are JavaScript files that
assign globals, loaded with `<script src>`:

* `data/index.js` sets `window.UNIPROBE_INDEX`: the runs, the vocabularies (families,
  subtypes, outcomes, tags) and one row per sample, `[key, run, family, subtype,
  outcome, [tags]]`, with numbers pointing into the vocabularies. Sample *i* is entry
  *i mod chunkSize* of chunk *i div chunkSize*.
* `data/chunk-NNNN.js` adds its samples to `window.UNIPROBE_CHUNKS[N]`: every turn with
  its words, images, reply, error, probe calls (`--probe`: kind, status, raw reply), and
  every verdict with its evidence and figures, and — for a check the probes diagnosed —
  what the model said before drawing and after, the questions, and the outcome
  (`uniprobe.report.unification`).

The JSON is escaped so that no string in it can end the script that holds it (`<`, `>`,
`&`, U+2028 and U+2029 become `\\uXXXX`). The page renders it with DOM APIs and
`textContent` only. Images are linked (or copied) into `images/` once each.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uniprobe.cases.schema import FAMILIES, Case
from uniprobe.probes.diagnosis import CheckDiagnosis
from uniprobe.report.evidence import Heatmaps, boxes_of, canvas_ref, check_turn, link_or_copy
from uniprobe.report.locality import measure_of
from uniprobe.report.metrics import walk_verdicts
from uniprobe.store.records import ImageRef, ProbeRecord, SampleRecord, ScoreRecord, Verdict
from uniprobe.store.rundir import RunDir

__all__ = [
    "CHUNK_SIZE",
    "GalleryRun",
    "Images",
    "escape_json",
    "js_global",
    "script_json",
    "write_gallery_data",
]

CHUNK_SIZE = 200
PAGE_SIZE = 50
_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_TRANSLATE = str.maketrans(_ESCAPES)


def escape_json(text: str) -> str:
    """JSON text with `<`, `>`, `&`, U+2028 and U+2029 as `\\uXXXX` (still the same JSON)."""
    return text.translate(_TRANSLATE)


def script_json(value: Any) -> str:
    """Compact JSON that is safe inside a `<script>` element or a .js file."""
    return escape_json(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def js_global(name: str, value: Any) -> str:
    """A line of JavaScript assigning `value` to `window.<name>`."""
    return f"window.{name} = {script_json(value)};\n"


@dataclass
class GalleryRun:
    """One run as the gallery needs it."""

    run: RunDir
    id: str
    model: str
    protocol: str
    reference: bool
    policy: str
    cases: Mapping[str, Case]
    samples: Mapping[str, SampleRecord]
    scores: Mapping[str, ScoreRecord]
    diagnoses: Mapping[tuple[str, int], Sequence[CheckDiagnosis]] = field(default_factory=dict)
    """The diagnosed checks of each (case id, epoch) with probes."""


class Images:
    """The report's `images/` folder: each image linked or copied in once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._have: dict[str, bool] = {}

    def add(self, run: RunDir, ref: ImageRef) -> dict[str, Any]:
        """`{"src", "w", "h"}` of the image in the report, or `{"missing", ...}` if the run
        lacks its file."""
        name = ref.filename
        if name not in self._have:
            source = run.image_path(ref)
            self._have[name] = source.is_file()
            if self._have[name]:
                link_or_copy(source, self.folder / name)
        if not self._have[name]:
            return {"missing": ref.sha256, "w": ref.width, "h": ref.height}
        return {"src": f"{self.folder.name}/{name}", "w": ref.width, "h": ref.height}

    def path(self, ref: ImageRef) -> Path | None:
        """The copy's path, if the image was added and exists."""
        return self.folder / ref.filename if self._have.get(ref.filename) else None


@dataclass
class _Sample:
    """Builds the gallery entry of one sample."""

    g: GalleryRun
    index: int
    case: Case
    sample: SampleRecord
    score: ScoreRecord | None
    images: Images
    heatmaps: Heatmaps
    named: dict[str, ImageRef] = field(default_factory=dict)
    diagnosed: dict[str, CheckDiagnosis] = field(default_factory=dict)
    asked: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for case_turn, rec in zip(self.case.turns, self.sample.turns, strict=False):
            self.named.update(zip(case_turn.attach, rec.attached, strict=False))
        for row in self.g.diagnoses.get((self.sample.case_id, self.sample.epoch), ()):
            self.diagnosed[row.path] = row
        for rec in self.sample.turns:
            for probe in rec.probes:
                for q in probe.questions:
                    self.asked.update({(probe.kind, path): q.text for path in q.paths})

    def entry(self) -> dict[str, Any]:
        verdicts = self.score.verdicts if self.score else []
        by_turn: dict[int, list[Verdict]] = {}
        for v in verdicts:
            by_turn.setdefault(v.turn, []).append(v)
        return {
            "key": self.sample.key,
            "run": self.index,
            "case": self.case.id,
            "epoch": self.sample.epoch,
            "family": self.case.family,
            "subtype": self.case.subtype,
            "description": self.case.description,
            "caseTags": list(self.case.tags),
            "outcome": self.score.outcome if self.score else "unscored",
            "tags": sample_tags(verdicts),
            "turns": [self._turn(t.index, by_turn.get(t.index, [])) for t in self.sample.turns],
        }

    def _turn(self, index: int, verdicts: list[Verdict]) -> dict[str, Any]:
        rec = self.sample.turns[index - 1]
        reply = rec.reply
        return {
            "index": index,
            "user": rec.user,
            "attached": [self.images.add(self.g.run, r) for r in rec.attached],
            "reply": None
            if reply is None
            else {
                "text": reply.text,
                "refusal": reply.refusal,
                "revised": reply.revised_prompt,
                "images": [self.images.add(self.g.run, r) for r in reply.images],
                "latency": reply.latency_s,
                "cost": reply.cost_usd,
            },
            "error": None if rec.error is None else f"{rec.error.type}: {rec.error.message}",
            "probes": [_probe_call(p) for p in rec.probes],
            "verdicts": [self._verdict(v) for v in verdicts],
        }

    def _verdict(self, v: Verdict) -> dict[str, Any]:
        return {
            "path": v.path,
            "kind": v.kind,
            "status": v.status,
            "reason": v.reason,
            "tags": v.tags,
            "judge": v.judge,
            "check": v.check,
            "evidence": v.evidence,
            "figures": list(self._figures(v)),
            "probe": self._diagnosis(v.path),
            "children": [self._verdict(c) for c in v.children],
        }

    def _diagnosis(self, path: str) -> dict[str, Any] | None:
        """What the model said about this check before and after drawing, and the
        diagnosis (None when the check was not diagnosed)."""
        row = self.diagnosed.get(path)
        if row is None:
            return None
        return {
            "outcome": row.outcome,
            "knows": row.knows,
            "sees": row.sees,
            "before": row.stated_before,
            "after": row.stated_after,
            "askedBefore": self.asked.get(("knows", path)),
            "askedAfter": self.asked.get(("sees", path)),
            "tags": list(row.tags),
            "reason": row.reason,
        }

    def _figures(self, v: Verdict) -> Iterator[dict[str, Any]]:
        boxes = boxes_of(v.evidence)
        on = check_turn(v.check) or v.turn
        canvas = canvas_ref(self.sample, on)
        if v.kind in ("unchanged", "same_as"):
            heat = self._heatmap(v, canvas, boxes.pop(None, []))
            if heat is not None:
                yield heat
        elif canvas is not None and boxes.get(None):
            yield self._boxes(canvas, boxes.pop(None), f"turn {on}")
        for turn, found in sorted(boxes.items(), key=lambda kv: kv[0] or 0):
            ref = canvas_ref(self.sample, turn) if turn is not None else None
            if ref is not None:
                yield self._boxes(ref, found, f"turn {turn}")

    def _boxes(self, ref: ImageRef, boxes: list[dict[str, Any]], caption: str) -> dict[str, Any]:
        image = self.images.add(self.g.run, ref)
        return {
            "type": "boxes",
            "image": image,
            "frame": [ref.width, ref.height],
            "boxes": boxes,
            "caption": caption,
        }

    def _heatmap(
        self, v: Verdict, canvas: ImageRef | None, boxes: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        body: Any = next(iter(v.check.values())) if len(v.check) == 1 else None
        against = body.get("against") if isinstance(body, Mapping) else None
        if isinstance(against, bool) or not isinstance(against, int | str):
            return None
        ref = canvas_ref(self.sample, against) if isinstance(against, int) else None
        ref = ref if ref is not None else self.named.get(str(against))
        if ref is None or canvas is None:
            return None
        self.images.add(self.g.run, ref)
        self.images.add(self.g.run, canvas)
        ref_path, canvas_path = self.images.path(ref), self.images.path(canvas)
        if ref_path is None or canvas_path is None:
            return None
        alignment = measure_of(v.evidence).alignment
        # the run's own files (same bytes as the copies): a damaged one is named where it is
        run = self.g.run
        name = self.heatmaps.request(
            (ref.sha256, run.image_path(ref)), (canvas.sha256, run.image_path(canvas)), alignment
        )
        what = f"turn {against}" if isinstance(against, int) else f"image '{against}'"
        how = (
            "(red: changed)"
            if alignment is None
            else f"after alignment and colour matching, as judged (red: a smoothed channel "
            f"moved by more than {alignment.color_threshold}/255)"
        )
        return {
            "type": "heatmap",
            "heatmap": {
                "src": f"{self.heatmaps.folder.name}/{name}",
                "w": ref.width,
                "h": ref.height,
            },
            "frame": [ref.width, ref.height],
            "boxes": boxes,
            "caption": f"change from {what} {how}",
        }


def _probe_call(probe: ProbeRecord) -> dict[str, Any]:
    """One probe call of a turn as the gallery shows it: what came of it and the raw reply."""
    reply = probe.reply
    why = probe.reason or (f"{probe.error.type}: {probe.error.message}" if probe.error else None)
    return {
        "kind": probe.kind,
        "status": probe.status,
        "reason": why,
        "text": None if reply is None else reply.text,
        "refusal": None if reply is None else reply.refusal,
        "cost": None if reply is None else reply.cost_usd,
    }


def sample_tags(verdicts: Iterable[Verdict]) -> list[str]:
    """Every tag of the sample's verdicts, conditional branches included."""
    return sorted({t for v in walk_verdicts(verdicts) for t in v.tags})


def _order(g: GalleryRun) -> list[tuple[Case, SampleRecord]]:
    rows = [(g.cases[s.case_id], s) for s in g.samples.values() if s.case_id in g.cases]
    rows.sort(key=lambda r: (FAMILIES.index(r[0].family), r[0].subtype, r[0].id, r[1].epoch))
    return rows


class _Vocab:
    def __init__(self, first: Iterable[str] = ()) -> None:
        self.items: list[str] = []
        self._ids: dict[str, int] = {}
        for item in first:
            self(item)

    def __call__(self, item: str) -> int:
        if item not in self._ids:
            self._ids[item] = len(self.items)
            self.items.append(item)
        return self._ids[item]


def write_gallery_data(
    out: Path, runs: Sequence[GalleryRun], heatmaps: Heatmaps, *, chunk_size: int = CHUNK_SIZE
) -> int:
    """Write `data/index.js` and the chunks under `out`, link the images; returns the
    number of samples."""
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    images = Images(out / "images")
    families, subtypes = _Vocab(FAMILIES), _Vocab()
    outcomes = _Vocab(["pass", "fail", "unknown", "error", "unscored"])
    failure_tags, case_tags = set(), set()
    rows: list[list[Any]] = []
    chunk: list[dict[str, Any]] = []
    chunks: list[str] = []

    def flush() -> None:
        name = f"data/chunk-{len(chunks):04d}.js"
        text = (
            "(window.UNIPROBE_CHUNKS = window.UNIPROBE_CHUNKS || {})"
            f"[{len(chunks)}] = {script_json(chunk)};\n"
        )
        (out / name).write_text(text, encoding="utf-8")
        chunks.append(name)
        chunk.clear()

    for i, g in enumerate(runs):
        for case, sample in _order(g):
            e = _Sample(g, i, case, sample, g.scores.get(sample.key), images, heatmaps).entry()
            failure_tags.update(e["tags"])
            case_tags.update(e["caseTags"])
            rows.append(
                [
                    e["key"],
                    i,
                    families(e["family"]),
                    subtypes(f"{e['family']}/{e['subtype']}"),
                    outcomes(e["outcome"]),
                    [*e["tags"], *e["caseTags"]],
                ]
            )
            chunk.append(e)
            if len(chunk) == chunk_size:
                flush()
    if chunk:
        flush()
    tags = _Vocab([*sorted(failure_tags), *sorted(case_tags - failure_tags)])
    for row in rows:
        row[5] = sorted({tags(t) for t in row[5]})
    index = {
        "schema": 1,
        "pageSize": PAGE_SIZE,
        "chunkSize": chunk_size,
        "chunks": chunks,
        "runs": [
            {
                "id": g.id,
                "model": g.model,
                "protocol": g.protocol,
                "reference": g.reference,
                "policy": g.policy,
            }
            for g in runs
        ],
        "families": families.items,
        "subtypes": subtypes.items,
        "outcomes": outcomes.items,
        "tags": tags.items,
        "failureTags": len(failure_tags),
        "columns": ["key", "run", "family", "subtype", "outcome", "tags"],
        "samples": rows,
    }
    (data / "index.js").write_text(js_global("UNIPROBE_INDEX", index), encoding="utf-8")
    return len(rows)

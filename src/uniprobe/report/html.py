"""The static HTML report: summary tables, a leaderboard by protocol track, a gallery.

One self-contained HTML file that opens from disk; images are linked relatively
from the run directories, never copied or inlined. Every string from a case or a
model is escaped by the template engine.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from uniprobe import __version__
from uniprobe.api import suite_of_run
from uniprobe.cases.schema import Suite
from uniprobe.report.metrics import RunSummary, summarize
from uniprobe.scenes.render import ATTRIBUTION
from uniprobe.store.records import SampleRecord, ScoreRecord
from uniprobe.store.rundir import RunDir

__all__ = ["write_report"]


@dataclass
class _RunView:
    id: str
    path: Path
    summary: RunSummary
    suite: Suite
    samples: dict[str, SampleRecord]
    scores: dict[str, ScoreRecord]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _ci(est: Any) -> Markup:
    if est is None or est.value is None:
        return Markup("–")
    if est.low is None or est.high is None:
        return Markup("{}").format(_pct(est.value))
    return Markup('{} <span class="ci">[{}, {}]</span>').format(
        _pct(est.value), _pct(est.low), _pct(est.high)
    )


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("uniprobe.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    env.filters["ci"] = _ci
    env.filters["pretty"] = lambda v: json.dumps(v, indent=1, ensure_ascii=False, default=str)
    return env


def _load(path: Path, policy: str | None) -> _RunView:
    run = RunDir.open(path)
    manifest = run.manifest()
    pol = policy or manifest.policy
    suite = suite_of_run(path)
    samples, scores = run.samples(), run.scores(pol)
    return _RunView(
        path.name, path, summarize(suite, manifest, samples, scores, pol), suite, samples, scores
    )


def _gallery(view: _RunView, out_dir: Path) -> list[dict[str, Any]]:
    def src(ref: Any) -> str:
        return os.path.relpath((view.path / "images" / ref.filename).resolve(), out_dir)

    cases = {c.id: c for c in view.suite.cases}
    items = []
    for key in sorted(view.samples, key=lambda k: (k.rsplit("#", 1)[0], int(k.rsplit("#", 1)[1]))):
        sample = view.samples[key]
        case = cases.get(sample.case_id)
        if case is None:
            continue
        score = view.scores.get(key)
        by_turn: dict[int, list[Any]] = {}
        for v in score.verdicts if score else []:
            by_turn.setdefault(v.turn, []).append(v)
        turns = []
        for t in sample.turns:
            turns.append(
                {
                    "index": t.index,
                    "user": t.user,
                    "attached": [src(r) for r in t.attached],
                    "images": [src(r) for r in t.reply.images] if t.reply else [],
                    "text": t.reply.text if t.reply else None,
                    "refusal": t.reply.refusal if t.reply else None,
                    "error": t.error.message if t.error else None,
                    "verdicts": by_turn.get(t.index, []),
                }
            )
        tags = sorted({tag for v in (score.verdicts if score else []) for tag in v.tags})
        items.append(
            {
                "key": key,
                "case": case,
                "epoch": sample.epoch,
                "turns": turns,
                "outcome": score.outcome if score else "unscored",
                "tags": tags,
            }
        )
    return items


def write_report(run_paths: list[Path], out: Path, *, policy: str | None = None) -> Path:
    """Render the report of these runs to `out` (an .html file)."""
    views = [_load(p, policy) for p in run_paths]
    out.parent.mkdir(parents=True, exist_ok=True)
    tracks: dict[str, list[_RunView]] = {}
    for v in views:
        tracks.setdefault(v.summary.protocol, []).append(v)
    for members in tracks.values():
        members.sort(key=lambda v: -(v.summary.overall.strict_accuracy.value or -1))
    html = (
        _env()
        .get_template("report.html.j2")
        .render(
            runs=views,
            tracks=tracks,
            galleries={v.id: _gallery(v, out.parent.resolve()) for v in views},
            generated=datetime.now(UTC).isoformat(timespec="seconds"),
            version=__version__,
            attribution=ATTRIBUTION,
        )
    )
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out

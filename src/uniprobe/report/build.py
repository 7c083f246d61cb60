"""Build the report folder of one or more runs: a static site that opens from disk.

```
DIR/index.html        summary, charts, leaderboard (several runs)
DIR/gallery.html      every sample, filtered and paged in the browser
DIR/report.json       the summaries and leaderboard as data (also marks DIR as a report)
DIR/assets/           report.css, gallery.js
DIR/data/             index.js and chunk-NNNN.js (see uniprobe.report.gallery)
DIR/images/           every image the gallery shows, linked or copied from the runs
DIR/heatmaps/         diff heat-maps, by pair of image hashes
```

The folder is built beside DIR under a hidden name (`.DIR.building-<pid>-<random>`) and
swapped in by renaming (the old one goes aside as `.DIR.old-<pid>-<random>`, then is
deleted), so a crash never leaves a half-written report where a whole one is expected.
The next build of DIR deletes what a killed build left: those two names only, and only
when the process in the name is gone. An existing DIR is replaced only if it is a
uniprobe report (it has `report.json`). When a run's scores cover fewer samples than it
holds, that is the first line of its section (see `uniprobe.report.coverage`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict

from uniprobe._version import __version__
from uniprobe.errors import RunDirError, UsageError
from uniprobe.probes.diagnosis import Rate
from uniprobe.report import figures
from uniprobe.report.agreement import (
    HumanAgreement,
    PolicyAgreement,
    human_agreement,
    policy_agreement,
)
from uniprobe.report.coverage import read_scored
from uniprobe.report.evidence import Heatmaps
from uniprobe.report.gallery import GalleryRun, escape_json, write_gallery_data
from uniprobe.report.metrics import BOOTSTRAP, Estimate, RunSummary, strict_by_case, summarize
from uniprobe.report.significance import Standing, leaderboard
from uniprobe.report.unification import (
    DIAGNOSIS_TAGS,
    OUTCOMES,
    Unification,
    UnificationRecord,
    diagnose,
    knows_draws_chart,
    outcome_chart,
)
from uniprobe.scenes.render import ATTRIBUTION
from uniprobe.store.rundir import RunDir, process_alive
from uniprobe.store.suites import suite_of_run

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = [
    "MARKER",
    "ReportRecord",
    "ReportRun",
    "RunView",
    "load_run",
    "remove_leftovers",
    "write_report",
]

MARKER = "report.json"
_ASSETS = ("report.css", "gallery.js")
_CHARTS = (
    (
        "subtypes",
        "Headline by subtype (group accuracy where the cases have contrast groups, else "
        "strict accuracy), with 95% whiskers; a bar per run.",
    ),
    ("tags", "Failed checks by failure tag (a failure can carry several tags)."),
    (
        "distance",
        "Probe accuracy (given setup; filler checks never count) of the cases tagged "
        "distance:N against N, with 95% whiskers.",
    ),
)
_ABSENT = {
    "subtypes": "No scored sample.",
    "tags": "No failed check carries a tag.",
    "distance": "No case carries a distance:N tag (the core suite's context-distance cases do).",
}


@dataclass
class RunView:
    """One run as the report shows it."""

    id: str
    path: Path
    policy: str
    summary: RunSummary
    gallery_run: GalleryRun
    counts: dict[str, tuple[int, int]]
    agreements: list[PolicyAgreement]
    human: HumanAgreement
    label: str = ""
    agreement_chart: Markup | None = None
    human_chart: Markup | None = None
    unification: Unification | None = None
    """The diagnosis of its probes (None when no sample has probe records)."""

    @property
    def gallery(self) -> str:
        """Link to this run's samples in the gallery."""
        return self.link()

    def link(self, **filters: str) -> str:
        """Link to the gallery filtered to this run and `filters`."""
        return "gallery.html#" + urlencode({"run": self.id, **filters})


def load_run(path: Path, policy: str | None) -> RunView:
    """Read a run, summarize it under `policy` (default: its own) and compare its judges."""

    run = RunDir.open(path)
    have = run.policies()
    pol = policy or run.manifest().policy
    if policy is not None and have and pol not in have:  # a run never scored shows unscored
        listed = ", ".join(have)
        raise RunDirError(f"{path} has no scores under policy '{pol}' (it has: {listed})")
    got = read_scored(run, pol, require_scores=False)
    manifest, samples, scores = got.manifest, got.samples, got.scores
    suite = suite_of_run(path)
    summary = summarize(suite, manifest, samples, scores, pol)
    summary.note = got.note
    agreements = [
        policy_agreement(scores, run.scores(other), policy=pol, other=other)
        for other in have
        if other != pol
    ]
    cases = {c.id: c for c in suite.cases}
    unification = diagnose(cases, samples, scores)
    gallery = GalleryRun(
        run=run,
        id=path.name,
        model=manifest.model.name,
        protocol=manifest.model.protocol,
        reference=manifest.model.reference,
        policy=pol,
        cases=cases,
        samples=samples,
        scores=scores,
        diagnoses=unification.by_sample() if unification else {},
    )
    return RunView(
        id=path.name,
        path=path,
        policy=pol,
        summary=summary,
        gallery_run=gallery,
        counts=strict_by_case(suite, scores),
        agreements=agreements,
        human=human_agreement(path, pol),
        unification=unification,
    )


def _name_runs(views: Sequence[RunView]) -> None:
    """Unique ids (folder names, numbered when two runs share one) and chart labels."""
    seen: dict[str, int] = {}
    for v in views:
        seen[v.id] = seen.get(v.id, 0) + 1
        if seen[v.id] > 1:
            v.id = f"{v.id}~{seen[v.id]}"
        v.gallery_run.id = v.id
    models = [v.summary.model for v in views]
    for v in views:
        v.label = v.summary.model if models.count(v.summary.model) == 1 else v.id


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _ci(est: Estimate | None) -> Markup:
    if est is None or est.value is None:
        return Markup("–")
    if est.low is None or est.high is None:
        return Markup("{}").format(_pct(est.value))
    return Markup('{} <span class="ci">[{}, {}]</span>').format(
        _pct(est.value), _pct(est.low), _pct(est.high)
    )


def _rate(rate: Rate) -> Markup:
    """A diagnosis rate: its value and interval, k/n in the tooltip."""
    if rate.value is None:
        return Markup('<span title="0 decided">–</span>')
    ci = rate.ci
    text = Markup('<span title="{}/{}">{}</span>').format(rate.k, rate.n, _pct(rate.value))
    if ci is None:
        return text
    return text + Markup(' <span class="ci">[{}, {}]</span>').format(_pct(ci[0]), _pct(ci[1]))


def _gap(value: float | None, ci: tuple[float, float] | None) -> Markup:
    """The unification gap in percentage points, with its interval."""
    if value is None:
        return Markup("–")
    text = Markup("{}").format(f"{100 * value:+.1f}")
    if ci is None:
        return text
    low, high = (f"{100 * v:+.1f}" for v in ci)
    return text + Markup(' <span class="ci">[{}, {}]</span>').format(low, high)


def _env() -> Environment:
    # jinja2 here, not at the top: `import uniprobe` stays fast without it
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("uniprobe.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=_pct,
        pct2=lambda v: "–" if v is None else f"{100 * v:.2f}%",
        ci=_ci,
        pts=lambda v: f"{100 * v:+.1f}",
        usd=lambda v: "unknown" if v is None else f"${v:.4f}",
        secs=lambda v: "–" if v is None else f"{v:.2f} s",
        num=lambda v: "–" if v is None else f"{v:.3f}",
        rate=_rate,
        gap=_gap,
    )
    return env


def _check_out(out: Path) -> None:
    if out.suffix.lower() in (".html", ".htm"):
        raise UsageError(
            f"{out}: the report is a folder now (DIR/index.html); give a folder, e.g. "
            f"{out.with_suffix('')}"
        )
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not _is_report(out):
        raise UsageError(
            f"{out} exists and is not a uniprobe report (no {MARKER}); choose another --out"
        )


def _is_report(folder: Path) -> bool:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "uniprobe_report" in data


def _pages(folder: Path, views: Sequence[RunView]) -> None:
    summaries = [v.summary for v in views]
    labels = [v.label for v in views]
    for v in views:
        chart = figures.agreement_chart(v.agreements)
        v.agreement_chart = Markup(chart) if chart else None
        human = figures.human_chart(v.human, v.label)
        v.human_chart = Markup(human) if human else None
    board = leaderboard(summaries, [v.counts for v in views])
    charts = {
        "subtypes": figures.subtype_chart(summaries, labels),
        "tags": figures.tags_chart(summaries, labels),
        "distance": figures.distance_chart(summaries, labels),
    }
    probed = [(v.label, v.unification) for v in views if v.unification is not None]
    unification = {
        "outcomes": outcome_chart(probed),
        "scatter": knows_draws_chart(probed),
    }
    common = {
        "runs": views,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": __version__,
        "attribution": ATTRIBUTION,
    }
    env = _env()
    index = env.get_template("index.html.j2").render(
        **common,
        reps=BOOTSTRAP,
        tracks=[(p, [(st, views[st.run]) for st in rows]) for p, rows in board.items()],
        charts={k: Markup(v) if v else None for k, v in charts.items()},
        chart_captions=_CHARTS,
        chart_absent=_ABSENT,
        probed=bool(probed),
        unification={k: Markup(v) if v else None for k, v in unification.items()},
        diagnosis_tags=DIAGNOSIS_TAGS,
        outcome_names=OUTCOMES,
    )
    (folder / "index.html").write_text(index, encoding="utf-8")
    gallery = env.get_template("gallery.html.j2").render(**common)
    (folder / "gallery.html").write_text(gallery, encoding="utf-8")
    record = _record(views, board, str(common["generated"]))
    (folder / MARKER).write_text(escape_json(record.model_dump_json(indent=1)), encoding="utf-8")


class ReportRun(BaseModel):
    """One run of a report, as report.json records it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    """Its id in the report (the folder name, numbered if two runs share one)."""
    path: str
    """The run folder the report was built from."""
    policy: str
    """The scores shown."""
    summary: RunSummary
    """Every metric on the pages."""
    leaderboard: Standing | None
    """Its row in its track (None with a single run)."""
    agreements: list[PolicyAgreement]
    """Its policy against each other scores file."""
    human: HumanAgreement
    """Agreement with human labels, or why there is none."""
    unification: UnificationRecord | None = None
    """The diagnosis of its probes: knows, draws, sees (None without probe records)."""


class ReportRecord(BaseModel):
    """report.json: what the pages show, as data; its presence marks a report folder."""

    model_config = ConfigDict(extra="forbid")

    uniprobe_report: int = 1
    """Format version."""
    uniprobe: str
    """Version that built the report."""
    generated: str
    """ISO time."""
    runs: list[ReportRun]
    """In the order given."""


def _record(
    views: Sequence[RunView], board: dict[str, list[Standing]], generated: str
) -> ReportRecord:
    rows = {st.run: st for track in board.values() for st in track} if len(views) > 1 else {}
    return ReportRecord(
        uniprobe=__version__,
        generated=generated,
        runs=[
            ReportRun(
                id=v.id,
                path=str(v.path),
                policy=v.policy,
                summary=v.summary,
                leaderboard=rows.get(i),
                agreements=v.agreements,
                human=v.human,
                unification=v.unification.record() if v.unification else None,
            )
            for i, v in enumerate(views)
        ],
    )


def _build(folder: Path, views: Sequence[RunView], previous: Path | None) -> None:
    heatmaps = Heatmaps(folder / "heatmaps", previous=previous / "heatmaps" if previous else None)
    write_gallery_data(folder, [v.gallery_run for v in views], heatmaps)
    heatmaps.flush()
    assets = folder / "assets"
    assets.mkdir()
    for name in _ASSETS:
        (assets / name).write_bytes(
            files("uniprobe.report").joinpath("templates", name).read_bytes()
        )
    _pages(folder, views)


def _leftovers(out: Path) -> list[Path]:
    """Folders a killed build of `out` left beside it: our staging and set-aside names
    (`.OUT.building-PID-XXXXXXXX`, `.OUT.old-PID-XXXXXXXX`, or the same without a pid,
    as older versions named them) whose process is gone. Nothing else is touched."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(?:building|old)-(?:(\d+)-)?[a-z0-9_]{{8}}")
    found = []
    for entry in out.parent.iterdir() if out.parent.is_dir() else ():
        match = pattern.fullmatch(entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink():
            continue
        pid = match.group(1)
        if pid is None or not process_alive(int(pid)):
            found.append(entry)
    return found


def remove_leftovers(out: Path) -> int:
    """Delete what killed builds of `out` left (see `_leftovers`); returns how many."""
    stale = _leftovers(out)
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return len(stale)


def _swap(staging: Path, out: Path) -> None:
    """Put the finished folder in place of `out` (two renames; never a half report)."""
    old = out.parent / f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if out.exists():
        os.rename(out, old)
    os.rename(staging, out)
    if old.exists():
        shutil.rmtree(old)


def write_report(run_paths: Sequence[Path], out: Path, *, policy: str | None = None) -> Path:
    """Build the report of these runs in the folder `out`; returns its index.html."""
    _check_out(out)
    views = [load_run(Path(p), policy) for p in run_paths]
    _name_runs(views)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-{os.getpid()}-", dir=out.parent))
    try:
        staging.chmod(0o755)
        _build(staging, views, out if _is_report(out) else None)
        _swap(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / "index.html"

"""The Python API the CLI is a thin layer over.

```python
import uniprobe
suite = uniprobe.load_suite("paper")
results = uniprobe.run(suite, ["reference/oracle", "reference/literal"], out="runs")
print(uniprobe.summary(results[0].path).overall.strict_accuracy)
uniprobe.report([r.path for r in results], out="runs/report")
```
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uniprobe.annotate.agreement import Agreement
from uniprobe.annotate.agreement import agreement as measure_agreement
from uniprobe.annotate.app import Annotation, create_app
from uniprobe.annotate.items import canvases
from uniprobe.annotate.serve import listen, make_server, url_of
from uniprobe.annotate.serve import open_browser as open_page
from uniprobe.backends.base import Capabilities, ImageKind
from uniprobe.backends.registry import model_capabilities
from uniprobe.cases.export import export_dataset as write_dataset
from uniprobe.cases.export import export_prompts as write_prompts
from uniprobe.cases.generate import render as render_core
from uniprobe.cases.loader import MAX_SUITE_SEED, load_suite
from uniprobe.cases.schema import Suite
from uniprobe.cases.stats import SuiteStats, suite_stats
from uniprobe.cases.validate import (
    group_problems,
    hypernym_problems,
    literal_warnings,
    vocabulary_problems,
)
from uniprobe.config import MAX_CONCURRENCY, Config
from uniprobe.errors import PreflightError, Problem, UsageError
from uniprobe.probes.diagnosis import (
    CheckDiagnosis,
    DiagnosisSummary,
    diagnose_run,
    format_diagnosis,
    summarize_by,
)
from uniprobe.probes.diagnosis import summarize as summarize_diagnosis
from uniprobe.report.build import write_report
from uniprobe.report.coverage import read_scored
from uniprobe.report.metrics import RunSummary, summarize
from uniprobe.runner.configfile import resolve_config
from uniprobe.runner.importer import ImportPlan, import_answers
from uniprobe.runner.preflight import NEEDS_A_JUDGE, image_problems, run_problems
from uniprobe.runner.preflight import check_models as check_models_of
from uniprobe.runner.probing import ProbeLedger, probe_ledger
from uniprobe.runner.progress import RunProgress
from uniprobe.runner.run import (
    RunResult,
    run_dir_name,
    run_model,
    score_run,
    vocabulary_kinds,
)
from uniprobe.runner.settings import (
    MAX_SCENES,
    MAX_SEED,
    RunSettings,
    check_number,
    check_port,
    default_cache,
    run_settings,
)
from uniprobe.scoring.calibrate import CalibrationReport
from uniprobe.scoring.calibrate import calibrate as run_calibration
from uniprobe.scoring.judge import judges
from uniprobe.scoring.policy import policies
from uniprobe.store.labels.db import Imported, LabelStore, labels_path
from uniprobe.store.labels.files import ExportFormat, read_label_file, run_check
from uniprobe.store.rundir import RunDir
from uniprobe.store.suites import suite_of_run

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "Diagnosis",
    "RunSettings",
    "agreement",
    "annotate_app",
    "calibrate",
    "check_models",
    "default_cache",
    "diagnose",
    "export_dataset",
    "export_labels",
    "export_prompts",
    "generate_suite",
    "import_labels",
    "import_run",
    "judgeable_problems",
    "list_models",
    "load_suite",
    "report",
    "run",
    "run_policy",
    "score",
    "serve_annotation",
    "stats",
    "suite_of_run",
    "suite_warnings",
    "summary",
    "validate_suite",
]


def run(
    suite: Suite | str | Path,
    models: Sequence[str],
    settings: RunSettings | None = None,
    **changes: Any,
) -> list[RunResult]:
    """Run a suite against each model; one run directory per model under `settings.out`.

    Settings are a `RunSettings` (what `uniprobe run` builds from its options), or its
    fields as keywords, validated into one (`out="runs"`, `epochs=2`, ...); keywords
    override the fields of `settings`. `options` maps a model name to its options
    (merged over the config file's); `judge_options` maps a judge name to its options
    (over `[judges.<name>]`). `cache` is an SQLite reply cache shared by runs;
    `max_cost` stops starting conversations once that many USD are spent (resume later
    with a higher limit). A bad or unknown setting raises `UsageError`.

    Before anything is sent or written, every model is checked (`check_models`: a key,
    the key accepted, the model offered) and so is the judge policy (a model that is not
    a reference needs `policy`, since the default `reference` judge reads only synthetic
    scenes; the policy must answer every check of the suite, each with a judge that reads
    the kind of image the model draws, `images` if given, else its backend's
    `Capabilities.draws`; its judges' providers need a key): any problem raises
    `PreflightError` with one line each. Returns one
    `RunResult` per model; a result with `errors` lists them in `failures`.
    """
    settings = run_settings(settings, **changes)
    if not models:
        raise UsageError("name at least one model")
    the_suite = suite if isinstance(suite, Suite) else load_suite(suite)
    cfg = resolve_config(settings.config)
    problems = asyncio.run(run_problems(the_suite, models, settings=settings, config=cfg))
    if problems:
        raise PreflightError(problems)
    results = []
    with RunProgress(enabled=settings.progress, warnings=settings.warnings) as bar:
        for model in models:
            path = settings.out / run_dir_name(the_suite.name, model)
            run_one = run_model(the_suite, model, path, settings=settings, config=cfg, progress=bar)
            results.append(asyncio.run(run_one))
    return results


def check_models(
    models: Sequence[str],
    settings: RunSettings | None = None,
    *,
    suite: Suite | str | Path | None = None,
    **changes: Any,
) -> dict[str, list[str]]:
    """What would make each model's calls fail, found without generating anything: a
    missing key, a key the provider rejects, a model name it does not offer (naming the
    closest it does). One `models.list` call per provider; local and reference backends
    have nothing to check. With a `suite` and a `policy`, also every judge of the policy
    that the suite's checks reach but that cannot read what the model draws (as `run`
    checks). Returns the problems by model (an empty list: ok). Settings as for `run`
    (`options`, `config`, `policy`, `images`)."""
    settings = run_settings(settings, **changes)
    cfg = resolve_config(settings.config)
    the_suite = suite if isinstance(suite, Suite) or suite is None else load_suite(suite)
    return asyncio.run(check_models_of(models, settings=settings, config=cfg, suite=the_suite))


def list_models() -> dict[str, Capabilities]:
    """Every model name the registered backends know ('provider/<model>' for a provider
    that takes any name), with its backend's capabilities and context protocol."""
    return model_capabilities()


def score(
    run_path: str | Path,
    *,
    policy: str | None = None,
    judge_options: Mapping[str, Mapping[str, Any]] | None = None,
    config: Config | str | Path | None = None,
    name: str | None = None,
    force: bool = False,
    concurrency: int = 8,
    progress: bool = False,
) -> int:
    """Score a run's samples under a judge policy (default: the run's) without calling the
    model; returns how many were scored now.

    Scores go to `scores/<name>.jsonl` (default: the policy's name); samples are never
    touched. With `force`, those scores are recomputed from scratch into a new file that
    replaces the old one only when complete (`RunDir.draft_scores`). `judge_options` maps
    a judge name to options over the config file's `[judges.<name>]`.
    """
    check_number("concurrency", concurrency, 1, MAX_CONCURRENCY)
    path = Path(run_path)
    manifest = RunDir.open(path).manifest()
    cfg = resolve_config(config)
    with RunProgress(enabled=progress) as bar:
        return asyncio.run(
            score_run(
                path,
                suite_of_run(path),
                policy=policy or manifest.policy,
                options=judge_options,
                config=cfg,
                name=name,
                force=force,
                concurrency=concurrency,
                progress=bar,
            )
        )


def calibrate(
    policy: str = "reference",
    *,
    judge_options: Mapping[str, Mapping[str, Any]] | None = None,
    config: Config | str | Path | None = None,
    scenes: int = 12,
    seed: int = 0,
    concurrency: int = 4,
) -> CalibrationReport:
    """Measure a judge policy on synthetic images of known truth (see
    `uniprobe.scoring.calibrate`): accuracy and a confusion table per check kind.

    `scenes` is 1 to 1000 (each with 5 variants), `seed` 0 to 2**32 - 1, `concurrency`
    1 to 1024; outside those, `UsageError`."""
    check_number("scenes", scenes, 1, MAX_SCENES)
    check_number("seed", seed, 0, MAX_SEED)
    check_number("concurrency", concurrency, 1, MAX_CONCURRENCY)
    cfg = resolve_config(config)
    return asyncio.run(
        run_calibration(
            policy,
            options=judge_options,
            config=cfg,
            scenes=scenes,
            seed=seed,
            concurrency=concurrency,
        )
    )


def run_policy(run_path: str | Path) -> str:
    """The judge policy a run scores with by default (its manifest's)."""
    return RunDir.open(Path(run_path)).manifest().policy


def summary(run_path: str | Path, *, policy: str | None = None) -> RunSummary:
    """Metrics of one run (its own policy unless told otherwise).

    When the scores cover fewer samples than the run holds, the metrics are of the
    scored samples and `note` says so ("scores cover 26 of 401 samples; run `uniprobe
    score RUN`"). A run without scores under the policy, or whose files are damaged,
    raises `RunDirError` naming the file and how to repair it."""
    path = Path(run_path)
    run_dir = RunDir.open(path)
    got = read_scored(run_dir, policy, require_scores=True)
    result = summarize(suite_of_run(path), got.manifest, got.samples, got.scores, got.policy)
    result.note = got.note
    return result


@dataclass(frozen=True)
class Diagnosis:
    """A run's probes crossed with its judge's verdicts (`uniprobe.probes.diagnosis` states
    the rules): one row per probed check, the summary overall and by family, subtype and
    check kind, and what the probes cost."""

    policy: str
    """The scores the verdicts come from."""
    probes: tuple[str, ...]
    """The probes the run asked (none: every row's knows and sees are `not_asked`)."""
    rows: tuple[CheckDiagnosis, ...]
    """Every probed check of every scored sample."""
    overall: DiagnosisSummary
    """P(knows), P(draws), P(draws | knows), P(sees), the gap, the outcomes, the table."""
    families: dict[str, DiagnosisSummary]
    """The same by family."""
    subtypes: dict[str, DiagnosisSummary]
    """The same by subtype."""
    kinds: dict[str, DiagnosisSummary]
    """The same by check kind."""
    ledger: ProbeLedger
    """Probe calls, their cost, the checked turns they were asked at."""

    def lines(self) -> list[str]:
        """The plain lines `uniprobe summary` prints: the rates, the gap, the outcomes,
        per family."""
        return format_diagnosis(self.overall, self.families)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: everything but the rows (the summaries and the ledger)."""
        return {
            "policy": self.policy,
            "probes": list(self.probes),
            "checks": self.overall.checks,
            "ledger": {**asdict(self.ledger), "per_turn": self.ledger.per_turn},
            "overall": asdict(self.overall),
            "families": {k: asdict(v) for k, v in self.families.items()},
            "subtypes": {k: asdict(v) for k, v in self.subtypes.items()},
            "kinds": {k: asdict(v) for k, v in self.kinds.items()},
        }


def diagnose(run_path: str | Path, *, policy: str | None = None) -> Diagnosis:
    """Does the model know what to draw, draw it, and see what it drew? The diagnosis of
    a run made with `probes` (see `Diagnosis`), under `policy`'s verdicts (default: the
    run's own). Reads only; a run without scores under the policy raises `RunDirError`."""
    path = Path(run_path)
    run = RunDir.open(path)
    manifest = run.manifest()
    rows = diagnose_run(path, policy)
    return Diagnosis(
        policy=policy or manifest.policy,
        probes=tuple(manifest.probes),
        rows=tuple(rows),
        overall=summarize_diagnosis(rows),
        families=summarize_by(rows, "family"),
        subtypes=summarize_by(rows, "subtype"),
        kinds=summarize_by(rows, "kind"),
        ledger=probe_ledger(run.samples().values()),
    )


def report(
    run_paths: Sequence[str | Path],
    *,
    out: str | Path | None = None,
    policy: str | None = None,
) -> Path:
    """Write the static HTML report of one or more runs as a folder that opens from disk
    (no server, no network); returns the path of its index.html.

    `out` is the folder (default: RUN/report for one run, ./report for several); an
    existing folder is replaced only if it holds a uniprobe report. `policy` picks the
    scores to show (default: each run's own policy).
    """
    if not run_paths:
        raise UsageError("name at least one run directory")
    paths = [Path(p) for p in run_paths]
    if out is None:
        out = paths[0] / "report" if len(paths) == 1 else Path("report")
    return write_report(paths, Path(out), policy=policy)


def stats(suite: Suite | str | Path) -> SuiteStats:
    """Counts by family, subtype, check kind and branch."""
    return suite_stats(suite if isinstance(suite, Suite) else load_suite(suite))


def export_dataset(suite: Suite | str | Path, out: str | Path) -> Path:
    """Write a suite as a Hugging Face `datasets`-loadable folder; returns its JSONL file."""
    return write_dataset(suite if isinstance(suite, Suite) else load_suite(suite), Path(out))


def export_prompts(suite: Suite | str | Path, out: str | Path) -> Path:
    """Write every turn to answer elsewhere, with the source images; returns prompts.jsonl."""
    return write_prompts(suite if isinstance(suite, Suite) else load_suite(suite), Path(out))


def import_run(
    folder: str | Path,
    suite: Suite | str | Path,
    *,
    model: str,
    out: str | Path = "runs",
    allow_missing: bool = False,
    policy: str | None = None,
    score: bool = True,
    images: ImageKind = "any",
) -> tuple[RunResult, ImportPlan]:
    """Make a run from images produced elsewhere (see `uniprobe cases prompts`), and score it.

    Images from outside are of unknown kind (`images="any"`), so `policy` must be named
    and read any image (`vlm`, `detector`, ...); `reference` only for images declared
    `images="synthetic"` (scenes of uniprobe's own renderer, such as re-imported reference
    renders; the reference judge still declines a canvas it cannot explain). Without a
    policy, or with one whose judges cannot read the images, `PreflightError`, and nothing
    is written.
    """
    if policy is None:
        raise PreflightError([f"{model}: {NEEDS_A_JUDGE}"])
    the_suite = suite if isinstance(suite, Suite) else load_suite(suite)
    problems = image_problems(the_suite, model, images, policy)
    if problems:
        raise PreflightError(problems)
    result, plan = import_answers(
        Path(folder),
        the_suite,
        model=model,
        out=Path(out),
        allow_missing=allow_missing,
        policy=policy,
        images=images,
    )
    if score:
        n = asyncio.run(score_run(result.path, the_suite, policy=policy))
        result = RunResult(result.path, result.model, result.samples, 0, n, result.new_samples)
    return result, plan


def judgeable_problems(suite: Suite, policy: str | None = None) -> list[Problem]:
    """Checks that no registered judge (or no judge of `policy`) can answer (the built-in
    judges register when `uniprobe` is imported)."""
    if policy is not None:
        kinds = set(policies.get(policy).routes)
        where = f"policy '{policy}'"
    else:
        # judges declare their kinds on the class, so no instance (and no config) is needed
        kinds = {k for name in judges.names() for k in judges.get(name).kinds}
        where = "any registered judge"
    problems = []
    for case in suite.cases:
        origin = case.origin
        for _, path, check in case.leaves():
            kind = check.kind
            if kind not in kinds:
                problems.append(
                    Problem(
                        f"no judge in {where} answers '{kind}' checks",
                        origin.file if origin else None,
                        origin.line_of(path) if origin else None,
                        case.id,
                        ".".join(map(str, path)),
                    )
                )
    return problems


def validate_suite(
    suite: Suite, *, judge: str | None = None, vocabulary: bool = True
) -> list[Problem]:
    """Problems beyond loading: checks no judge answers, words the reference world lacks,
    hypernyms a real judge reads more widely than the case means ('bird' beside a duck),
    contrast groups of one member or of mixed family/subtype (`uniprobe.cases.validate`).

    `judge` names the policy the suite will be judged with: a check is valid when that
    policy routes its kind to a judge, and its object words must be in the reference
    vocabulary only where the policy reads them with the reference perception
    (`Policy.vocabulary_kinds`). Without `judge`,
    for the references: some registered judge must answer every check and every word must
    be in the vocabulary (a reference model draws what every check asks).
    `vocabulary=False` skips the vocabulary."""
    if judge is None:
        problems = judgeable_problems(suite)
        kinds: frozenset[str] | None = None
    else:
        problems = judgeable_problems(suite, judge)
        kinds = vocabulary_kinds(judge)
    if vocabulary:
        problems = vocabulary_problems(suite.cases, kinds) + problems
    return problems + hypernym_problems(suite.cases) + group_problems(suite.cases)


def suite_warnings(suite: Suite) -> list[Problem]:
    """What a suite says that no longer applies but does not change a score (`literal:
    true` on `unchanged`/`same_as`): `uniprobe cases validate` prints these as warnings."""
    return literal_warnings(suite.cases)


def generate_suite(out: str | Path, *, seed: int = 0, force: bool = False) -> list[Path]:
    """Write the YAML of the `core` suite built from `seed` (0: the published one) into
    the folder `out`; the files written. `core@seed=N` is the same suite, in memory.

    Raises `UsageError` (nothing written) when the seed is negative, `out` is a file, or
    `out` is a folder that holds anything and `force` is not set.
    """
    folder = Path(out)
    if not 0 <= seed <= MAX_SUITE_SEED:
        raise UsageError(f"--seed must be between 0 and {MAX_SUITE_SEED}, not {seed}")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file; --out takes a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise UsageError(f"{folder} is not empty; choose a new folder or pass --force")
    files = render_core(seed)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{folder}: cannot write: {exc.strerror}") from None
    return [folder / name for name in files]


def annotate_app(run_path: str | Path, *, remote: bool = False) -> Starlette:
    """The annotation web app of a run, as a Starlette (ASGI) app: one page per canvas,
    labels into `RUN/labels.sqlite` (see `uniprobe.annotate.app`).

    Items come from the run's suite, so a run can be annotated before it is scored.
    Unless `remote`, the app answers only requests addressed to a loopback host.
    """
    run = RunDir.open(Path(run_path))
    groups = canvases(run, suite_of_run(run.path))
    return create_app(Annotation(run, groups, LabelStore(labels_path(run.path))), remote=remote)


def serve_annotation(
    run_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    allow_remote: bool = False,
    open_browser: bool = False,
    ready: Callable[[str], None] | None = None,
) -> Path:
    """Serve a run's annotation pages until interrupted (Ctrl-C); returns the run's label
    file, where the labels given are.

    A host that is not a loopback address is refused (`UsageError`) unless
    `allow_remote`; port 0 picks a free port. `ready` is called with the page's address
    once the socket listens; `open_browser` opens it in a desktop browser if there is one.
    """
    check_port(port)
    app = annotate_app(run_path, remote=allow_remote)
    sock = listen(host, port, allow_remote=allow_remote)
    # Ctrl-C is how the server stops: uvicorn shuts down cleanly, then re-raises it
    with sock, contextlib.suppress(KeyboardInterrupt):
        url = url_of(sock)
        if ready is not None:
            ready(url)
        if open_browser:
            open_page(url)
        make_server(app).run(sockets=[sock])
    return labels_path(Path(run_path))


def export_labels(run_path: str | Path, out: str | Path, *, fmt: ExportFormat = "csv") -> int:
    """Write every human label of a run (history included) as CSV or JSONL; returns how
    many rows. A run without labels gives a file with none."""
    if fmt not in ("csv", "jsonl"):
        raise UsageError(f"unknown label format '{fmt}': use csv or jsonl")
    target = Path(out)
    if target.is_dir():
        raise UsageError(f"{target}: a folder; name the label file to write")
    if not target.parent.is_dir():
        raise UsageError(f"{target}: no folder {target.parent} to write it in")
    run = RunDir.open(Path(run_path))
    return LabelStore(labels_path(run.path)).export(fmt, target)


def import_labels(run_path: str | Path, file: str | Path) -> Imported:
    """Add the labels of an exported CSV or JSONL file to a run's label file, all or none.

    A bad row (or one for a case, epoch, turn or check the run does not have) raises
    `LabelFileError` naming the file, line and field, and nothing is added; rows already
    there (same item, annotator, label and time) are skipped.
    """
    run = RunDir.open(Path(run_path))
    check = run_check(suite_of_run(run.path), run.manifest().epochs)
    labels = read_label_file(Path(file), check)
    return LabelStore(labels_path(run.path)).add_many(labels)


def agreement(run_path: str | Path, policy: str | None = None) -> Agreement:
    """How far the judge of `policy` (default: the run's own) agrees with people, per check
    kind (Cohen's kappa), and people with each other (Krippendorff's alpha); see
    `uniprobe.annotate.agreement.Agreement`. Reads only."""
    return measure_agreement(run_path, policy)

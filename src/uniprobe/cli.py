"""The `uniprobe` command: a thin layer over the public Python API (`import uniprobe`).

It calls nothing else, except `uniprobe.testing.serve` for `uniprobe fake-server` (test
and dry-run tooling, not public API).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
import yaml
from rich.console import Console
from rich.table import Table

# typer carries its own click; its exception classes are not re-exported at the top
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer._click.exceptions import UsageError as CommandLineError

import uniprobe
from uniprobe import (
    CaseFileError,
    ConfigError,
    PreflightError,
    UniprobeError,
    UnknownNameError,
    UsageError,
    __version__,
)
from uniprobe.testing import serve as serve_fakes


class _App(typer.Typer):
    """The root command: called with no arguments (as `main` does), it runs in click's
    non-standalone mode, so a malformed command line reaches `main` as an exception
    that it prints as one line."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("standalone_mode", False)
        return super().__call__(*args, **kwargs)


app = _App(
    help="uniprobe: does an image model understand what it is told, or does it just draw "
    "the words? Run multi-turn probes, score every image, report with intervals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cases_app = typer.Typer(help="Inspect and validate benchmark suites.", no_args_is_help=True)
models_app = typer.Typer(help="Model backends.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")
app.add_typer(models_app, name="models")
labels_app = typer.Typer(
    help="Human labels of a run (from `uniprobe annotate`): export, import, agreement.",
    no_args_is_help=True,
)
app.add_typer(labels_app, name="labels")

out = Console(emoji=False, soft_wrap=True)
err = Console(stderr=True, emoji=False, soft_wrap=True)

SuiteOpt = Annotated[
    str,
    typer.Option(
        "--suite",
        "-s",
        help="Built-in suite name (core@seed=N: a fresh twin of core), a case file or a folder.",
    ),
]


def _parse_options(pairs: list[str], flag: str = "-M") -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {pair!r}: expected key=value")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def _parse_judge_options(pairs: list[str]) -> dict[str, dict[str, Any]]:
    """-J judge.key=value pairs, by judge name."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in _parse_options(pairs, "-J").items():
        judge, dot, field = key.partition(".")
        if not dot or not judge or not field:
            raise ConfigError(f"-J {key}=...: expected judge.key=value, e.g. vlm.model=gpt-5.5")
        out.setdefault(judge, {})[field] = value
    return out


JudgeOpt = Annotated[
    str | None,
    typer.Option(
        "--judge",
        "--policy",
        help="Judge policy: reference, vlm, detector, detector+vlm, vlm-verify.",
    ),
]
RunJudgeOpt = Annotated[
    str | None,
    typer.Option(
        "--judge",
        "--policy",
        help="Judge policy: vlm, detector, detector+vlm, vlm-verify, reference. Required for "
        "any model but reference/*: reference reads only synthetic scenes.",
    ),
]
ImagesOpt = Annotated[
    uniprobe.ImageKind | None,
    typer.Option(
        help="What the models draw, if not what their backends declare: synthetic for "
        "scenes of uniprobe's own renderer (re-imported reference renders, the fake "
        "provider), which the reference judge may then read; any for any other image."
    ),
]
JudgeOptionOpt = Annotated[
    list[str],
    typer.Option("--judge-option", "-J", help="Judge option judge.key=value; repeatable."),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"uniprobe {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """uniprobe command line."""


_RUN = uniprobe.RunSettings()
"""The run settings' defaults, which are the defaults of `uniprobe run`."""


def _about(setting: str) -> str:
    """The help of a `uniprobe run` option: the docstring of its `RunSettings` field."""
    return uniprobe.RunSettings.model_fields[setting].description or ""


@app.command()
def run(
    model: Annotated[
        list[str],
        typer.Option(
            "--model", "-m", help="provider/model, or plan(<planner> -> <image model>); repeatable."
        ),
    ],
    suite: SuiteOpt = "paper",
    epochs: Annotated[int, typer.Option(help=_about("epochs"))] = _RUN.epochs,
    out_dir: Annotated[Path, typer.Option("--out", help=_about("out"))] = _RUN.out,
    resume: Annotated[bool, typer.Option(help=_about("resume"))] = _RUN.resume,
    concurrency: Annotated[int, typer.Option(help=_about("concurrency"))] = _RUN.concurrency,
    policy: RunJudgeOpt = None,
    images: ImagesOpt = None,
    judge_option: JudgeOptionOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    option: Annotated[
        list[str], typer.Option("--option", "-M", help="Model option key=value (all models).")
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    score: Annotated[bool, typer.Option(help=_about("score"))] = _RUN.score,
    report: Annotated[
        Path | None,
        typer.Option(help="Also write the HTML report of these runs into this folder."),
    ] = None,
    progress: Annotated[bool, typer.Option(help=_about("progress"))] = True,
    rpm: Annotated[float | None, typer.Option(help=_about("rpm"))] = _RUN.rpm,
    max_cost: Annotated[float | None, typer.Option(help=_about("max_cost"))] = _RUN.max_cost,
    cache: Annotated[
        Path | None,
        typer.Option(help="Reply cache (SQLite). Default: OUT/cache.sqlite for real models."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Use no reply cache.")] = False,
    config: Annotated[
        Path | None, typer.Option(help="Config file (default: ./uniprobe.toml if present).")
    ] = None,
    probe: Annotated[
        str | None,
        typer.Option(
            "--probe",
            help="Also ask the model, at every turn with checks, in words: knows (before "
            "drawing: what should the image show?), sees (after: what does it show?), or "
            "knows,sees. One more call per probe and checked turn; the model must answer "
            "in words (models list: probes).",
        ),
    ] = None,
) -> None:
    """Run a suite against one or more models: one run folder per model under --out.
    First, without spending anything: a key for every provider, the key accepted, every
    model offered, and a judge policy that reads what the model draws (a model that is
    not a reference needs --judge vlm or --judge detector). Any problem: one line each,
    exit 2, nothing written. A run in which any sample ended in an error exits 1 after a
    table of the errors; --resume tries those samples again.
    """
    if report is not None and report.exists() and not report.is_dir():
        raise UsageError(f"--report {report}: a file, not a folder for the report")
    options = _parse_options(option)
    settings = uniprobe.RunSettings(
        out=out_dir,
        epochs=epochs,
        resume=resume,
        concurrency=concurrency,
        policy=policy,
        images=images,
        options={m: options for m in model},
        judge_options=_parse_judge_options(judge_option),
        score=score,
        progress=progress and sys.stderr.isatty(),
        warnings=True,
        rpm=rpm,
        max_cost=max_cost,
        cache=None if no_cache else (cache or uniprobe.default_cache(model, out_dir)),
        config=config,
    )
    try:
        # the words are validated with the settings: a bad one is a one-line UsageError
        results = uniprobe.run(suite, model, settings, probes=probe)
    except KeyboardInterrupt:
        err.print(
            f"interrupted; continue with: uniprobe run ... --out {out_dir} --resume",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    for r in results:
        _print_result(r, r.policy if score else None)
    if report is not None:
        path = uniprobe.report([r.path for r in results], out=report, policy=settings.policy)
        out.print(f"report: {path}", highlight=False, soft_wrap=True)
    failed = [r for r in results if r.errors]
    if failed:
        _print_failures(failed)
        raise typer.Exit(1)


def _print_failures(results: list[uniprobe.RunResult]) -> None:
    """The errors of the runs, by kind and status with the first message of each, on
    stderr (tab-separated when not a terminal), and how to try them again."""
    rows = [
        [r.model, f.kind, "–" if f.status is None else str(f.status), str(f.samples), f.first]
        for r in results
        for f in r.failures
    ]
    _table("errors", ["model", "kind", "status", "samples", "first message"], rows, err)
    n = sum(r.errors for r in results)
    err.print(
        f"{n} sample(s) ended in an error; after fixing the cause, run the same command with "
        "--resume to try them again",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _print_result(r: uniprobe.RunResult, policy: str | None) -> None:
    """One line per run: where it is, what it holds and (if scored under `policy`) how it
    did; a run stopped early says so on stderr first."""
    if r.extra.get("stopped"):
        err.print(
            f"{r.model}: stopped early: {r.extra['stopped']}; continue with --resume",
            highlight=False,
            markup=False,
        )
    line = f"{r.model}: {r.samples} samples ({r.new_samples} new, {r.errors} errors) in {r.path}"
    if policy is not None:
        g = uniprobe.summary(r.path, policy=policy).overall
        line += f"; headline {_fmt_est(g.headline)} ({g.headline_metric})"
        line += f"; strict accuracy {_fmt_est(g.strict_accuracy)}"
    out.print(line, highlight=False, soft_wrap=True)
    if "probes" in r.extra:
        out.print(_probe_line(r, policy), highlight=False, markup=False, soft_wrap=True)


def _probe_line(r: uniprobe.RunResult, policy: str | None) -> str:
    """'<model>: probes: 12 calls at 6 checked turns (2.0 per turn), $0.0240; P(knows) ...'
    (the rates only when the run is scored)."""
    p = r.extra["probes"]
    turns = p["checked_turns"]
    per = f" ({p['calls'] / turns:.1f} per turn)" if turns else ""
    line = f"{r.model}: probes: {p['calls']} calls at {turns} checked turns{per}"
    line += f", ${p['cost_usd']:.4f}"
    if policy is not None:
        d = uniprobe.diagnose(r.path, policy=policy).overall
        line += f"; P(knows) {_fmt_rate(d.knows)}, P(draws|knows) {_fmt_rate(d.draws_given_knows)}"
        line += f", P(sees) {_fmt_rate(d.sees)}"
    return line


def _fmt_rate(rate: Any) -> str:
    """A diagnosis rate: '75.0% [40.9%, 92.9%]', or '–' when nothing was decided."""
    if rate.value is None:
        return "–"
    if rate.ci is None:
        return _fmt(rate.value)
    return f"{_fmt(rate.value)} [{_fmt(rate.ci[0])}, {_fmt(rate.ci[1])}]"


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _fmt_est(e: uniprobe.Estimate) -> str:
    """'50.0% [9.5%, 90.5%]', or '–' when nothing was decided."""
    if e.value is None:
        return "–"
    return f"{_fmt(e.value)} [{_fmt(e.low)}, {_fmt(e.high)}]"


def _fmt_half(half: float | None) -> str:
    return "" if half is None else f" ±{100 * half:.1f}"


def _fmt_bounds(low: float | None, high: float | None, undecided: int) -> str:
    """The strict bounds, or '–' when no sample was undecided (they equal the value)."""
    return "–" if not undecided else f"[{_fmt(low)}, {_fmt(high)}]"


def _fmt_ci(ci: tuple[float, float] | None) -> str:
    return "[–, –]" if ci is None else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


@app.command()
def score(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    policy: JudgeOpt = None,
    judge_option: JudgeOptionOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    name: Annotated[
        str | None,
        typer.Option("--as", help="File the scores under this name (default: the policy's)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Re-score every sample from scratch, into a new file swapped in when whole "
            "(killed, the old scores stay as they were)."
        ),
    ] = False,
    concurrency: Annotated[int, typer.Option(help="Samples judged at once (1 to 1024).")] = 8,
    config: Annotated[
        Path | None, typer.Option(help="Config file (default: ./uniprobe.toml if present).")
    ] = None,
) -> None:
    """Score a run's samples with other judges, without calling the model again.

    Scores go to RUN/scores/<policy or --as>.jsonl; the samples are never touched. A
    damaged run file stops it with one line naming the file and line and how to repair.
    """
    n = uniprobe.score(
        run_dir,
        policy=policy,
        judge_options=_parse_judge_options(judge_option),
        config=config,
        name=name,
        force=force,
        concurrency=concurrency,
        progress=sys.stderr.isatty(),
    )
    label = name or policy or uniprobe.run_policy(run_dir)
    out.print(f"scored {n} sample(s) in {run_dir} (scores/{label}.jsonl)", highlight=False)


@app.command()
def summary(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    policy: Annotated[
        str | None,
        typer.Option("--judge", "--policy", help="Scores to read (default: the run's policy)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts and CI.")] = False,
) -> None:
    """Metrics of one run: overall, per family, per subtype, led by the headline (group
    accuracy where cases have contrast groups, else strict accuracy), with 95% intervals.
    A run made with --probe also shows its diagnosis: P(knows), P(draws), P(draws |
    knows), P(sees), the gap P(knows) - P(draws), the four outcomes, per family (in JSON:
    "diagnosis").

    When the scores cover fewer samples than the run holds, the first line says so
    ("scores cover 26 of 401 samples; run `uniprobe score RUN`"; in JSON: "note")."""
    s = uniprobe.summary(run_dir, policy=policy)
    probed = bool(uniprobe.RunDir.open(run_dir).manifest().probes)
    diagnosis = uniprobe.diagnose(run_dir, policy=policy) if probed else None
    if as_json:
        if diagnosis is None:
            sys.stdout.write(s.model_dump_json(indent=2) + "\n")
            return
        data = {**json.loads(s.model_dump_json()), "diagnosis": diagnosis.as_dict()}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    if s.note:
        out.print(s.note, highlight=False, markup=False, soft_wrap=True)
    rows = [("all", s.overall)]
    for family, g in s.families.items():
        rows.append((family, g))
        rows += [
            (f"  {k.split('/', 1)[1]}", v)
            for k, v in s.subtypes.items()
            if k.startswith(f"{family}/")
        ]
    table = [
        [
            label,
            str(g.samples),
            f"{_fmt_est(g.headline)}{_fmt_half(g.headline.half_width)}",
            g.headline_metric,
            _fmt_est(g.strict_accuracy),
            _fmt_bounds(g.strict_bounds.low, g.strict_bounds.high, g.strict_bounds.undecided),
            _fmt_est(g.group_accuracy),
            _fmt_est(g.probe_accuracy),
            _fmt(g.setup_pass_rate.value),
            _fmt(g.check_accuracy.value),
            _fmt(g.literal_failure_rate.value),
            ", ".join(f"{t} {n}" for t, n in g.tags.items()),
        ]
        for label, g in rows
    ]
    columns = [
        "family / subtype",
        "samples",
        "headline [95% CI] ±half-width",
        "headline metric",
        "strict [95% CI]",
        "strict if unknowns fail/pass",
        "group acc. [95% CI]",
        "probe | setup [95% CI]",
        "setup pass",
        "check acc.",
        "literal rate",
        "failure tags",
    ]
    _table(f"{s.model} on {s.suite} ({s.policy})", columns, table)
    cost = f"generation ${s.cost_usd:.4f}"
    if s.judge_calls:
        judged = "unknown" if s.judge_cost_usd is None else f"${s.judge_cost_usd:.4f}"
        cost += f"; judges {s.judge_calls} calls, {judged}"
    if diagnosis is not None:
        ledger = diagnosis.ledger
        cost += f"; probes {ledger.calls} calls, ${ledger.cost_usd:.4f}"
    out.print(cost, highlight=False)
    if diagnosis is not None:
        for line in diagnosis.lines():
            out.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="One or more run folders.")],
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The report folder (default: RUN/report for one run, ./report for several).",
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option("--judge", "--policy", help="Scores to show (default: each run's policy)."),
    ] = None,
) -> None:
    """Write the static HTML report folder: DIR/index.html (summary, charts, leaderboard)
    and DIR/gallery.html; it opens from disk, with no server and no network."""
    path = uniprobe.report(runs, out=out_path, policy=policy)
    out.print(f"report: {path}", highlight=False, soft_wrap=True)


@app.command()
def calibrate(
    policy: JudgeOpt = None,
    judge_option: JudgeOptionOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    scenes: Annotated[
        int, typer.Option(help="Random base scenes (each with 5 variants; 1 to 1000).")
    ] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the scenes (0 to 2**32 - 1).")] = 0,
    concurrency: Annotated[int, typer.Option(help="Images judged at once (1 to 1024).")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    config: Annotated[
        Path | None, typer.Option(help="Config file (default: ./uniprobe.toml if present).")
    ] = None,
) -> None:
    """How far can a judge be trusted? Accuracy per check kind on images of known truth."""
    report = uniprobe.calibrate(
        policy or "reference",
        judge_options=_parse_judge_options(judge_option),
        config=config,
        scenes=scenes,
        seed=seed,
        concurrency=concurrency,
    )
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
        return
    rows = []
    for kind, k in sorted(report.kinds.items()):
        c = k.confusion
        rows.append(
            [
                kind,
                k.judge,
                str(k.items),
                _fmt(k.accuracy),
                _fmt_ci(k.accuracy_ci),
                _fmt(k.coverage),
                f"{c['true']['pass']}/{c['true']['fail']}/{c['true']['unknown']}",
                f"{c['false']['pass']}/{c['false']['fail']}/{c['false']['unknown']}",
            ]
        )
    _table(
        f"calibration of '{report.policy}' on {report.items} items ({scenes} scenes, seed {seed})",
        [
            "kind",
            "judge",
            "items",
            "accuracy",
            "95% CI",
            "decided",
            "true: pass/fail/?",
            "false: pass/fail/?",
        ],
        rows,
    )
    _table(
        "per perturbation (object checks on edited copies of each scene; 'none': clean)",
        ["perturbation", "items", "decided", "accuracy on decided", "95% CI", "wrong"],
        [
            [
                name,
                str(r.items),
                _fmt(r.coverage),
                _fmt(r.accuracy),
                _fmt_ci(r.accuracy_ci),
                str(r.wrong),
            ]
            for name, r in report.perturbations.items()
        ],
    )
    if report.locality:
        _table(
            "locality: `unchanged` on re-renders (must pass) and on real changes outside "
            "the edit (must fail)",
            ["perturbation", "must", "items", "rate", "95% CI", "unknown"],
            [
                [
                    r.perturbation,
                    r.expect,
                    str(r.items),
                    _fmt(r.rate),
                    _fmt_ci(r.rate_ci),
                    str(r.unknown),
                ]
                for r in sorted(report.locality.values(), key=lambda r: r.expect == "fail")
            ],
        )
    spent = ", ".join(
        f"{name}: {u.calls} calls" + (f", ${u.cost_usd:.4f}" if u.cost_usd is not None else "")
        for name, u in report.usage.items()
    )
    out.print(
        f"overall accuracy {_fmt(report.accuracy)}; misreading rate on decisive items "
        f"{_fmt(report.decisive_error)} {_fmt_ci(report.decisive_error_ci)}; "
        f"{report.seconds:.1f} s" + (f"; {spent}" if spent else ""),
        highlight=False,
    )


@cases_app.command("list")
def cases_list(suite: SuiteOpt = "paper") -> None:
    """List the cases of a suite."""
    s = uniprobe.load_suite(suite)
    rows = [[c.id, c.family, c.subtype, str(len(c.turns)), str(c.n_checks())] for c in s.cases]
    _table(f"{s.name}: {len(s)} cases", ["id", "family", "subtype", "turns", "checks"], rows)


@cases_app.command("show")
def cases_show(
    case_id: Annotated[str, typer.Argument(help="Case id.")], suite: SuiteOpt = "paper"
) -> None:
    """Print one case as YAML."""
    s = uniprobe.load_suite(suite)
    try:
        case = s.case(case_id)
    except KeyError:
        raise UnknownNameError("case", case_id, [c.id for c in s.cases]) from None
    sys.stdout.write(yaml.safe_dump([case.to_dict()], sort_keys=False, allow_unicode=True))


@cases_app.command("validate")
def cases_validate(
    suite: SuiteOpt = "paper",
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 2) on warnings too.")
    ] = False,
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge",
            help="Validate for this judge policy: its judges must answer every check, and "
            "only words it reads with the reference perception need the reference vocabulary. "
            "Default: for the reference models (every word in the vocabulary).",
            metavar="POLICY",
        ),
    ] = None,
) -> None:
    """Check a suite: schema, references, vocabulary, that a judge answers every check,
    hypernyms ('bird' counted beside a duck), contrast groups. Errors exit 2; warnings
    (what no longer applies, such as literal: true on unchanged) are printed on stderr."""
    s = uniprobe.load_suite(suite)
    problems = uniprobe.validate_suite(s, judge=judge)
    warned = uniprobe.suite_warnings(s)
    for problem in warned:
        err.print(f"warning: {problem}", highlight=False, markup=False)
    if problems or (strict and warned):
        raise CaseFileError(problems + (warned if strict else []))
    n = sum(c.n_checks() for c in s.cases)
    note = f" ({len(warned)} warning{'s' if len(warned) != 1 else ''})" if warned else ""
    policy = f" for judge policy '{judge}'" if judge else ""
    out.print(f"ok: {len(s)} cases, {n} checks in suite '{s.name}'{policy}{note}", highlight=False)


@cases_app.command("stats")
def cases_stats(
    suite: SuiteOpt = "paper",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts by family, subtype (cases, contrast groups, sentence frames), check kind,
    literal alternatives and branches, and the duplicate cases."""
    st = uniprobe.stats(suite)
    if as_json:
        sys.stdout.write(st.model_dump_json(indent=2) + "\n")
        return
    out.print(
        f"{st.suite}: {st.cases} cases, {st.turns} turns, {st.expectations} expectations, "
        f"{st.literal_alternatives} literal alternatives (hash {st.hash[:12]})",
        highlight=False,
        soft_wrap=True,
    )
    rows = [
        [k, str(v), str(st.subtype_groups.get(k, 0)), str(st.frames.get(k, 0))]
        for k, v in st.subtypes.items()
    ]
    _table("cases per subtype", ["family/subtype", "cases", "groups", "frames"], rows)
    _table(
        "leaf checks per kind", ["kind", "checks"], [[k, str(v)] for k, v in st.check_kinds.items()]
    )
    c = st.conditionals
    out.print(
        f"conditionals: {c['total']} (words imply true: {c['assumed_true']}, false: "
        f"{c['assumed_false']}, neither: {c['assumed_unknown']})",
        highlight=False,
    )
    sizes = ", ".join(f"{n} of {size} members" for size, n in st.group_sizes.items())
    out.print(
        f"contrast groups: {st.groups} with {st.grouped_cases} cases"
        + (f" ({sizes})" if sizes else ""),
        highlight=False,
    )
    pairs = ", ".join(f"{a} = {b}" for a, b in st.duplicates)
    out.print(
        f"duplicates: {len(st.duplicates)}" + (f" ({pairs})" if pairs else ""), highlight=False
    )


@cases_app.command("generate")
def cases_generate(
    out_dir: Annotated[Path, typer.Option("--out", help="A new or empty folder.")],
    seed: Annotated[int, typer.Option("--seed", help="Suite seed (0: the published core).")] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder that holds files.")
    ] = False,
) -> None:
    """Write the YAML of the core suite built from --seed: a fresh twin (same subtypes,
    counts and groups; new objects, numbers and wording). `--suite core@seed=N` is the
    same suite without files."""
    paths = uniprobe.generate_suite(out_dir, seed=seed, force=force)
    out.print(
        f"wrote {', '.join(p.name for p in paths)} to {out_dir} (core@seed={seed})",
        highlight=False,
        soft_wrap=True,
    )


@cases_app.command("export")
def cases_export(
    out_dir: Annotated[Path, typer.Option("--out", help="A new, empty folder.")],
    suite: SuiteOpt = "paper",
) -> None:
    """Write the suite as a dataset folder the Hugging Face `datasets` library loads."""
    path = uniprobe.export_dataset(suite, out_dir)
    out.print(
        f"wrote {path} (load with datasets.load_dataset('json', data_files=...))",
        highlight=False,
        soft_wrap=True,
    )


@cases_app.command("prompts")
def cases_prompts(
    out_dir: Annotated[Path, typer.Option("--out", help="A new, empty folder.")],
    suite: SuiteOpt = "paper",
) -> None:
    """Write every turn to answer elsewhere (with source images); see its README.md."""
    path = uniprobe.export_prompts(suite, out_dir)
    out.print(
        f"wrote {path}; answer into {out_dir}/answers, then `uniprobe import`",
        highlight=False,
        soft_wrap=True,
    )


@app.command("import")
def import_(
    folder: Annotated[Path, typer.Argument(help="Folder of <case id>/turn-<n>.png answers.")],
    model: Annotated[str, typer.Option("--model", "-m", help="provider/name to record.")],
    suite: SuiteOpt = "paper",
    out_dir: Annotated[Path, typer.Option("--out", help="Parent folder of the run folder.")] = Path(
        "runs"
    ),
    allow_missing: Annotated[
        bool, typer.Option(help="Record missing answers as no image; list unexpected files.")
    ] = False,
    policy: Annotated[
        str | None,
        typer.Option(
            "--judge",
            "--policy",
            help="Judge policy to score with (required): vlm or detector for real images; "
            "reference reads only synthetic scenes (with --images synthetic).",
        ),
    ] = None,
    score: Annotated[bool, typer.Option(help="Score the imported run.")] = True,
    images: Annotated[
        uniprobe.ImageKind,
        typer.Option(
            help="What the answers are: any (default: images from outside, of unknown kind) "
            "or synthetic (scenes of uniprobe's own renderer, e.g. re-imported "
            "reference/oracle renders), which --judge reference may then read."
        ),
    ] = "any",
) -> None:
    """Turn images produced elsewhere (a GUI, a private model) into a scored run. Name the
    judge: --judge vlm or --judge detector read any image; --judge reference reads only
    synthetic scenes (such as those `reference/oracle` draws), declared with --images
    synthetic."""
    result, plan = uniprobe.import_run(
        folder,
        suite,
        model=model,
        out=out_dir,
        allow_missing=allow_missing,
        policy=policy,
        score=score,
        images=images,
    )
    for name in plan.missing:
        err.print(f"missing (recorded as no image): {name}", highlight=False, markup=False)
    for name in plan.unexpected:
        err.print(f"not imported: {name}", highlight=False, markup=False)
    out.print(
        f"imported {len(plan.answers)} answer(s) for {result.samples} case(s) into {result.path}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("fake-server")
def fake_server(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 to 65535; 0: any free).")] = 8765,
    latency: Annotated[
        float, typer.Option(help="Seconds added to every response (0 to 600).")
    ] = 0.0,
    fault_rate: Annotated[float, typer.Option(help="Share of requests that fail (0..1).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault mix (0 to 2**32 - 1).")] = 0,
    vlm_error_rate: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of VLM-judge answers the fake VLM gets wrong (0..1)."
        ),
    ] = 0.0,
    mind: Annotated[
        Literal["rule", "literal"] | None,
        typer.Option(
            help="Answer probes (run --probe) with a fake mind that knows the cases of "
            "--suite: before drawing it states the rule (rule) or the literal reading "
            "(literal); after, it describes its image."
        ),
    ] = None,
    sees_error: Annotated[
        float,
        typer.Option(
            "--sees-error",
            help="Share of the mind's descriptions of its images that are wrong (0..1).",
        ),
    ] = 0.0,
    suite: Annotated[
        str, typer.Option("--suite", "-s", help="The suite the --mind knows (name or path).")
    ] = "paper",
) -> None:
    """Serve fake OpenAI and Gemini image APIs on 127.0.0.1 (for dry runs and tests).

    Chat completions and Gemini JSON requests are answered by a fake VLM that reads the
    VLM judge's questions and answers them from the pixels of synthetic scenes; with
    --mind, requests for words only (OpenAI Responses without the image tool, Gemini
    with TEXT only: the probes) by a fake mind."""
    serve_fakes(
        port=port,
        latency=latency,
        fault_rate=fault_rate,
        seed=seed,
        vlm_error_rate=vlm_error_rate,
        mind=mind,
        sees_error_rate=sees_error,
        suite=suite,
    )


@models_app.command("list")
def models_list() -> None:
    """Every backend with its capabilities and context protocol (probes: it answers in
    words, so it can take --probe)."""
    rows = [
        [
            name,
            c.protocol,
            _yn(c.multi_turn),
            _yn(c.edits),
            str(c.max_input_images),
            _yn(c.seed),
            _yn(c.text_output),
            _yn(c.probes),
        ]
        for name, c in uniprobe.list_models().items()
    ]
    columns = ["model", "protocol", "multi-turn", "edits", "input images", "seed", "text"]
    columns += ["probes"]  # answers in words, image output off: can take --probe
    _table("model backends", columns, rows)


@models_app.command("check")
def models_check(
    models: Annotated[list[str], typer.Argument(help="provider/model names.")],
    option: Annotated[
        list[str], typer.Option("--option", "-M", help="Model option key=value (all models).")
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    config: Annotated[
        Path | None, typer.Option(help="Config file (default: ./uniprobe.toml if present).")
    ] = None,
    suite: SuiteOpt = "paper",
    policy: Annotated[
        str | None,
        typer.Option(
            "--judge",
            "--policy",
            help="Also check that this judge policy reads what each model draws, for every "
            "check of --suite.",
        ),
    ] = None,
    images: ImagesOpt = None,
) -> None:
    """Check models without generating anything: a key, the key accepted, the model offered
    by the provider (one models.list per provider); with --judge, that the policy's judges
    read the kind of image each model draws for every check of --suite. One line per
    model; exit 2 if any has a problem."""
    options = _parse_options(option)
    found = uniprobe.check_models(
        models,
        options={m: options for m in models},
        config=config,
        policy=policy,
        images=images,
        suite=suite if policy is not None else None,
    )
    for model, problems in found.items():
        if not problems:
            out.print(f"{model}: ok", highlight=False, markup=False, soft_wrap=True)
        for line in problems:
            out.print(line, highlight=False, markup=False, soft_wrap=True)
    if any(found.values()):
        raise typer.Exit(2)


@app.command()
def annotate(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    host: Annotated[
        str, typer.Option(help="Address to serve on; a non-loopback one needs --allow-remote.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port, 0 to 65535 (0 picks a free one).")] = 8765,
    open_page: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in a desktop browser.")
    ] = True,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback --host: whoever reaches it sees the run and can label.",
        ),
    ] = False,
) -> None:
    """Answer a run's checks by hand in the browser, one canvas at a time: pass, fail or
    can't tell. Labels go to RUN/labels.sqlite; `uniprobe score RUN --judge human` turns
    them into scores, `uniprobe labels stats RUN` measures agreement."""

    def ready(url: str) -> None:
        out.print(
            f"annotating {run_dir} at {url} (Ctrl-C to stop)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        out.file.flush()

    labels = uniprobe.serve_annotation(
        run_dir,
        host=host,
        port=port,
        allow_remote=allow_remote,
        open_browser=open_page,
        ready=ready,
    )
    out.print(f"stopped; labels are in {labels}", highlight=False)


@labels_app.command("export")
def labels_export(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    out_file: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
) -> None:
    """Write every label of a run (history included) as CSV or JSON lines."""
    if fmt not in ("csv", "jsonl"):
        raise ConfigError(f"--format {fmt}: use csv or jsonl")
    n = uniprobe.export_labels(run_dir, out_file, fmt="csv" if fmt == "csv" else "jsonl")
    out.print(f"wrote {n} label(s) to {out_file}", highlight=False, soft_wrap=True)


@labels_app.command("import")
def labels_import(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    file: Annotated[Path, typer.Argument(help="A CSV or JSONL file from `labels export`.")],
) -> None:
    """Add exported labels to a run, all or none (rows already there are skipped)."""
    done = uniprobe.import_labels(run_dir, file)
    out.print(
        f"imported {done.added} label(s) into {run_dir}/labels.sqlite "
        f"({done.skipped} already there)",
        highlight=False,
        soft_wrap=True,
    )


@labels_app.command("stats")
def labels_stats(
    run_dir: Annotated[Path, typer.Argument(help="A run folder.")],
    policy: Annotated[
        str | None,
        typer.Option("--judge", "--policy", help="Scores to compare (default: the run's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Agreement: Cohen's kappa of the judge vs the people's majority per check kind, and
    Krippendorff's alpha between annotators."""
    result = uniprobe.agreement(run_dir, policy)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
        return
    rows = [
        [
            k.kind,
            str(k.items),
            str(k.labels),
            str(k.n),
            _fmt(k.observed),
            _num(k.kappa),
            _num(k.alpha),
            str(k.alpha_items),
        ]
        for k in [*result.kinds.values(), result.overall]
    ]
    columns = ["kind", "items", "labels", "judged", "agree", "kappa", "alpha", "alpha items"]
    _table(f"agreement on {run_dir} (judge: {result.policy})", columns, rows)
    who = ", ".join(result.annotators) or "nobody yet"
    out.print(
        f"{len(result.annotators)} annotator(s) ({who}); {result.labels} label(s) on "
        f"{result.overall.items} of {result.items} items; alpha {_num(result.alpha)} over "
        f"{result.alpha_items} items",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _table(
    title: str, columns: list[str], rows: list[list[str]], console: Console | None = None
) -> None:
    """A table on a terminal; tab-separated lines (header first) for pipes and scripts."""
    console = console or out
    if not console.is_terminal:
        for row in [columns, *rows]:
            console.print("\t".join(row), highlight=False, markup=False, soft_wrap=True)
        return
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _yn(v: bool) -> str:
    return "yes" if v else "no"


def main() -> None:
    """Entry point: a `UniprobeError` prints as its message (a `PreflightError` as one
    line per problem) and exits with status 2; so does a malformed command line (an
    unknown option, a value that is not a number), as one `error:` line naming the
    option and the command's `--help`."""
    try:
        status = app()
    except NoArgsIsHelpError as exc:  # the help has been printed
        sys.exit(exc.exit_code)
    except ClickException as exc:
        _error([_usage_line(exc)])
        sys.exit(exc.exit_code)
    except typer.Abort:
        _error(["aborted"])
        sys.exit(1)
    except UniprobeError as exc:
        _error(exc.problems if isinstance(exc, PreflightError) else [str(exc)])
        sys.exit(2)
    sys.exit(status if isinstance(status, int) else 0)


def _error(lines: list[str]) -> None:
    for line in lines:
        err.print(f"error: {line}", highlight=False, markup=False, emoji=False, soft_wrap=True)


def _usage_line(exc: ClickException) -> str:
    """A command-line mistake as one line, with where to read about the command."""
    message = " ".join(exc.format_message().split())
    ctx = exc.ctx if isinstance(exc, CommandLineError) else None
    if ctx is None:
        return message
    words: list[str] = []
    while ctx is not None and ctx.parent is not None:
        words.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return f"{message} (see `{' '.join(['uniprobe', *words])} --help`)"


if __name__ == "__main__":
    main()

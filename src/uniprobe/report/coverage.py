"""What a summary or a report may show of a run: its samples and one policy's scores,
checked against each other.

* **Partial scores are said first.** When a policy's scores cover fewer samples than the
  run holds (a `score` stopped early, samples added since), the note "scores cover 26 of
  401 samples; run `uniprobe score RUN`" is the first line of `summary` and of the
  report; the metrics are of the scored samples only, never imputed.
* **No scores is an error for a summary**, naming the policies the run has and the
  command that scores it; a run with no samples says why (an empty suite, or a run
  stopped before its first sample).
* **Scores of samples the run does not hold are damage** (samples.jsonl lost lines or
  was replaced): refused, naming the scores file, with how to repair.
"""

from __future__ import annotations

from dataclasses import dataclass

from uniprobe.errors import RunDirError
from uniprobe.store.records import Manifest, SampleRecord, ScoreRecord
from uniprobe.store.rundir import RunDir

__all__ = ["Scored", "coverage_note", "read_scored"]


@dataclass(frozen=True)
class Scored:
    """A run's samples and one policy's scores, consistent with each other."""

    manifest: Manifest
    policy: str
    samples: dict[str, SampleRecord]
    scores: dict[str, ScoreRecord]
    note: str | None
    """The partial-scores line, or None when every sample is scored."""


def _score_command(run: RunDir, policy: str, scores: dict[str, ScoreRecord]) -> str:
    """The `uniprobe score` command that completes `policy`'s scores of `run`."""
    command = f"uniprobe score {run.path}"
    first = next(iter(scores.values()), None)
    if first is not None and first.judged_by:
        return f"{command} --judge {first.judged_by} --as {policy}"
    return command if policy == run.manifest().policy else f"{command} --judge {policy}"


def coverage_note(
    run: RunDir, policy: str, samples: dict[str, SampleRecord], scores: dict[str, ScoreRecord]
) -> str | None:
    """ "scores cover N of M samples; run `uniprobe score RUN`" when scores are missing."""
    covered = len(scores.keys() & samples.keys())
    if covered >= len(samples):
        return None
    return (
        f"scores cover {covered} of {len(samples)} samples; "
        f"run `{_score_command(run, policy, scores)}`"
    )


def _no_samples(run: RunDir, manifest: Manifest) -> RunDirError:
    if manifest.suite.cases == 0:
        return RunDirError(
            f"{run.path}: suite '{manifest.suite.name}' has no cases, so the run holds "
            "nothing to summarise; add cases to the suite and make a new run"
        )
    return RunDirError(
        f"{run.path} holds no samples yet (stopped before its first sample finished); "
        "continue it with `uniprobe run ... --resume`"
    )


def read_scored(run: RunDir, policy: str | None, *, require_scores: bool) -> Scored:
    """The samples and the scores of `policy` (default: the run's own), checked.

    With `require_scores`, a run without such scores raises `RunDirError` (what `summary`
    needs); without, it is shown unscored (what the report does)."""
    manifest = run.manifest()
    pol = policy or manifest.policy
    have = run.policies()
    samples = run.samples()
    scores = run.scores(pol)
    if require_scores and not samples:
        raise _no_samples(run, manifest)
    if require_scores and not scores:
        listed = f" (it has: {', '.join(have)})" if have else ""
        raise RunDirError(
            f"{run.path} has no scores under policy '{pol}'{listed}; "
            f"run `{_score_command(run, pol, scores)}`"
        )
    stray = sorted(scores.keys() - samples.keys())
    if stray:
        raise RunDirError(
            f"{run.scores_path(pol)}: {len(stray)} score(s) of samples the run does not hold "
            f"(first: {stray[0]}); samples.jsonl lost lines or was replaced: restore it, "
            f"or re-score with `uniprobe score {run.path} --force`"
        )
    return Scored(manifest, pol, samples, scores, coverage_note(run, pol, samples, scores))

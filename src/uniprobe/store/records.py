"""What a run directory holds, as pydantic models: manifest, samples, scores.

Every file carries `schema_version`; `upgrade` is the one hook that reads older files.
Images are referenced by content hash, never embedded.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from uniprobe.cases.checks import Role

__all__ = [
    "SCHEMA_VERSION",
    "ErrorRecord",
    "ImageRef",
    "JudgeUsage",
    "Manifest",
    "ModelInfo",
    "Outcome",
    "ProbeAnswer",
    "ProbeKind",
    "ProbeQuestionRecord",
    "ProbeRecord",
    "ProbeStatus",
    "ReplyRecord",
    "SampleRecord",
    "ScoreRecord",
    "Status",
    "SuiteInfo",
    "Totals",
    "TurnRecord",
    "UsageRecord",
    "Verdict",
    "sample_key",
    "upgrade",
]

SCHEMA_VERSION = 2
"""2: turns may carry `probes` (what the model said it would draw and what it saw)."""
Status = Literal["pass", "fail", "unknown"]
Outcome = Literal["pass", "fail", "unknown", "error"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


def sample_key(case_id: str, epoch: int) -> str:
    """The identity of a sample within a run: 'case_id#epoch'."""
    return f"{case_id}#{epoch}"


class ImageRef(_Record):
    """A stored image: `images/<sha256>.<ext>` in the run directory."""

    sha256: str
    """Hex sha256 of the file's bytes."""
    width: int
    """Pixels."""
    height: int
    """Pixels."""
    mime: str = "image/png"
    """Media type of the stored bytes."""

    @property
    def filename(self) -> str:
        """File name inside images/."""
        ext = {
            "image/png": "png",
            "image/jpeg": "jpg",
            "image/webp": "webp",
            "image/gif": "gif",
        }.get(self.mime, "bin")
        return f"{self.sha256}.{ext}"


class UsageRecord(_Record):
    """Tokens and images a call consumed."""

    input_tokens: int | None = None
    """As reported by the provider."""
    output_tokens: int | None = None
    """As reported by the provider."""
    input_image_tokens: int | None = None
    """Part of input_tokens that encoded images."""
    output_image_tokens: int | None = None
    """Part of output_tokens that encoded images."""
    images: int = 0
    """Images generated."""
    cached_input_tokens: int | None = None
    """Part of input_tokens served from the provider's prompt cache, billed at its cached
    input rate (None: not reported, and in run logs written before uniprobe recorded it)."""
    cached_input_image_tokens: int | None = None
    """Part of cached_input_tokens that encoded images (None: not reported)."""


class ErrorRecord(_Record):
    """A failure, recorded as what it is."""

    type: str
    """Exception class or error family."""
    message: str
    """One line a person can act on."""
    status: int | None = None
    """HTTP status, if any."""
    retryable: bool = False
    """Whether trying again could help (it was tried, up to the retry policy's limit)."""
    kind: str | None = None
    """What failed: rate_limit, server, timeout, network, bad_response, client, auth, config."""


class ReplyRecord(_Record):
    """What the model answered in one turn."""

    images: list[ImageRef] = Field(default_factory=list)
    """Images it produced, in order."""
    text: str | None = None
    """Text it produced."""
    refusal: str | None = None
    """Refusal or moderation message, if it declined."""
    revised_prompt: str | None = None
    """The prompt the provider actually drew from, if it rewrote ours."""
    usage: UsageRecord = Field(default_factory=UsageRecord)
    """What the call consumed."""
    cost_usd: float | None = None
    """Cost of the call, if known."""
    latency_s: float = 0.0
    """Wall time of the call."""
    state: dict[str, Any] = Field(default_factory=dict)
    """Continuation data the backend keeps (response ids...)."""
    raw_meta: dict[str, Any] = Field(default_factory=dict)
    """Small facts from the provider."""


ProbeKind = Literal["knows", "sees"]
"""`knows`: asked before drawing what the image should show; `sees`: asked after drawing
what the image it drew shows."""
ProbeStatus = Literal["answered", "refused", "unparsed", "error", "skipped"]
"""answered (every question got a value, "unsure" included), refused (the model declined),
unparsed (the reply did not follow the format: no answer is read from it), error (the
call failed: `error` says why; a resumed run asks again), skipped (not asked: `reason`)."""
ProbeAnswer = int | str | list[str] | None
"""A parsed answer: a count, a word (yes, no, a colour, "unsure"), text, a list of part
names; None when the question got no usable answer."""


class ProbeQuestionRecord(_Record):
    """One question of a probe, as asked."""

    qid: str
    """q1, q2, ... in the order asked."""
    text: str
    """The question's words."""
    answer: str
    """The answer kind: count, yesno, color, text or parts."""
    paths: list[str]
    """The checks (verdict paths) this question serves."""
    options: list[str] = Field(default_factory=list)
    """The allowed answers of a `parts` question."""


class ProbeRecord(_Record):
    """One probe call: the questions of a turn, asked in a branch of the conversation."""

    kind: ProbeKind
    """knows (before drawing) or sees (after)."""
    status: ProbeStatus
    """What came of it (see `ProbeStatus`)."""
    questions: list[ProbeQuestionRecord] = Field(default_factory=list)
    """What was asked."""
    prompt: str = ""
    """The whole text sent as the branch's user turn."""
    answers: dict[str, ProbeAnswer] = Field(default_factory=dict)
    """qid -> parsed answer (only when answered)."""
    reply: ReplyRecord | None = None
    """The raw reply: text, refusal, usage, cost, latency."""
    error: ErrorRecord | None = None
    """Why the call failed (status error)."""
    reason: str | None = None
    """Why it was skipped or could not be parsed."""


class TurnRecord(_Record):
    """One turn: what was sent and what came back (or why nothing did)."""

    index: int
    """1-based."""
    user: str
    """The user's words."""
    attached: list[ImageRef] = Field(default_factory=list)
    """Images sent with the words."""
    reply: ReplyRecord | None = None
    """The answer, if the turn completed."""
    error: ErrorRecord | None = None
    """Why the turn did not complete."""
    probes: list[ProbeRecord] = Field(default_factory=list)
    """With `--probe`: the knows probe (asked before the turn) and the sees probe (after),
    in branches the conversation never saw."""


class SampleRecord(_Record):
    """One (case, epoch) conversation with one model."""

    schema_version: int = SCHEMA_VERSION
    """Format version."""
    case_id: str
    """Which case."""
    epoch: int
    """Which repetition (0-based)."""
    seed: int
    """Seed of this sample."""
    model: str
    """'provider/model'."""
    protocol: str
    """Context protocol the conversation ran under."""
    turns: list[TurnRecord]
    """Every turn attempted."""
    status: Literal["complete", "error"]
    """complete: every turn answered; error: stopped at a failed turn."""
    started: str
    """ISO time."""
    finished: str
    """ISO time."""

    @property
    def key(self) -> str:
        """'case_id#epoch'."""
        return sample_key(self.case_id, self.epoch)


class Verdict(_Record):
    """The judgement of one expectation (a leaf check or a conditional)."""

    path: str
    """Where the check is in the case, e.g. 'turns.1.expect.0'."""
    turn: int
    """The turn whose expectations hold this check (1-based)."""
    kind: str
    """Check kind, or 'conditional'."""
    check: dict[str, Any]
    """The check as written."""
    status: Status
    """pass, fail, or unknown (could not be judged; never counted as either)."""
    reason: str
    """One line: why."""
    tags: list[str] = Field(default_factory=list)
    """Failure tags: literal, over_edit, under_edit, wrong_branch, misread_condition,
    no_change, no_image, refusal, error (the rules: `uniprobe.scoring.engine`)."""
    judge: str | None = None
    """'name@version' of the judge that decided."""
    evidence: dict[str, Any] = Field(default_factory=dict)
    """What the judge saw: counts, boxes, colours, diff scores, raw replies."""
    children: list[Verdict] = Field(default_factory=list)
    """For a conditional: the condition's verdict, then the checks of the branch."""
    role: Role = "probe"
    """The check's role: setup, probe or filler (a conditional's children share its
    role). Records written before roles existed read as probe, which they all were."""


class JudgeUsage(_Record):
    """What one judge spent on one sample."""

    calls: int = 0
    """Model calls made."""
    input_tokens: int = 0
    """Input tokens reported."""
    output_tokens: int = 0
    """Output tokens reported."""
    cost_usd: float | None = 0.0
    """USD; None when a price is unknown."""


class ScoreRecord(_Record):
    """All verdicts of one sample under one judge policy."""

    schema_version: int = SCHEMA_VERSION
    """Format version."""
    case_id: str
    """Which case."""
    epoch: int
    """Which repetition."""
    policy: str
    """The name the scores are filed under: the judge policy's, or one given with --as."""
    judged_by: str | None = None
    """The judge policy, when the scores are filed under another name."""
    judges: dict[str, str]
    """Judge name -> version, for every judge that answered."""
    judge_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Judge name -> its options (thresholds, model ids, prompt version)."""
    judge_usage: dict[str, JudgeUsage] = Field(default_factory=dict)
    """Judge name -> the calls it made for this sample, and their cost."""
    outcome: Outcome
    """pass: every check passed; fail: one failed; unknown: none failed but some could not
    be judged; error: the sample did not complete."""
    verdicts: list[Verdict]
    """One per expectation, in case order."""
    scored: str
    """ISO time."""

    @property
    def key(self) -> str:
        """'case_id#epoch'."""
        return sample_key(self.case_id, self.epoch)


class SuiteInfo(_Record):
    """Which suite a run used."""

    name: str
    """Suite name."""
    hash: str
    """Content hash of every case and image file."""
    cases: int
    """Number of cases."""
    path: str | None = None
    """Where it was loaded from."""


class ModelInfo(_Record):
    """Which model a run used, and how."""

    name: str
    """'provider/model'."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Validated options."""
    protocol: str
    """Context protocol."""
    reference: bool = False
    """A reference backend, not a model."""


class Totals(_Record):
    """Running totals, updated as samples complete."""

    samples: int = 0
    """Samples written."""
    complete: int = 0
    """Samples whose every turn was answered."""
    errors: int = 0
    """Samples that stopped at an error."""
    images: int = 0
    """Images produced."""
    cost_usd: float = 0.0
    """Known cost (the probes' included)."""
    probe_calls: int = 0
    """Probe calls made (knows and sees; a skipped probe makes none)."""
    probe_cost_usd: float = 0.0
    """Known cost of the probe calls (part of `cost_usd`)."""


class Manifest(_Record):
    """Identity and state of a run."""

    schema_version: int = SCHEMA_VERSION
    """Format version."""
    run_id: str
    """Name of the run directory."""
    uniprobe_version: str
    """Version that created the run."""
    suite: SuiteInfo
    """The benchmark."""
    model: ModelInfo
    """The model."""
    epochs: int
    """Repetitions per case."""
    policy: str
    """Judge policy the run scores with by default."""
    probes: list[ProbeKind] = Field(default_factory=list)
    """The probes asked at every checked turn (`--probe`): knows, sees, both or none."""
    judges: dict[str, str] = Field(default_factory=dict)
    """Judge name -> version of that policy when the run was made."""
    created: str
    """ISO time."""
    finished: str | None = None
    """ISO time of the last completed generation, if all samples are done."""
    status: Literal["running", "finished", "interrupted"] = "running"
    """running (or killed), finished, interrupted (stopped cleanly before the end)."""
    note: str | None = None
    """Why the run stopped early (Ctrl-C, --max-cost), if it did."""
    totals: Totals = Field(default_factory=Totals)
    """Running totals."""


def upgrade(data: Any) -> dict[str, Any]:
    """Bring a record from an older schema version to the current one (1 -> 2 adds only
    optional fields: a version-1 record reads as it is)."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"schema_version must be a whole number ≥ 1, not {version!r:.40}")
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"written by a newer uniprobe (schema {version}); this one reads up to {SCHEMA_VERSION}"
        )
    return data

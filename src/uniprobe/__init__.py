"""uniprobe: does an image model understand what it is told, or does it just draw the words?

The public API. Everything the command line does is available here.
"""

from __future__ import annotations

from uniprobe._version import __version__
from uniprobe.annotate.agreement import Agreement
from uniprobe.api import (
    Diagnosis,
    RunSettings,
    agreement,
    annotate_app,
    calibrate,
    check_models,
    default_cache,
    diagnose,
    export_dataset,
    export_labels,
    export_prompts,
    generate_suite,
    import_labels,
    import_run,
    list_models,
    report,
    run,
    run_policy,
    score,
    serve_annotation,
    stats,
    suite_of_run,
    suite_warnings,
    summary,
    validate_suite,
)
from uniprobe.backends.base import (
    Backend,
    Capabilities,
    Conversation,
    ImageData,
    ImageKind,
    Reply,
    Session,
    SessionContext,
    Usage,
    UserTurn,
)

# Built-in plugins register themselves when imported.
from uniprobe.backends.registry import _load_builtin as _load_backends
from uniprobe.backends.registry import backends as backend_registry
from uniprobe.backends.registry import create_backend
from uniprobe.cases.loader import builtin_suites, load_suite
from uniprobe.cases.schema import Case, Suite, Turn
from uniprobe.errors import (
    BackendError,
    CaseFileError,
    ConfigError,
    PreflightError,
    RunDirError,
    UniprobeError,
    UnknownNameError,
    UsageError,
)
from uniprobe.report.metrics import Estimate, RunSummary
from uniprobe.runner.run import ErrorCount, RunResult
from uniprobe.scoring.judge import Judge, JudgeContext, JudgeResult
from uniprobe.scoring.judge import judges as judge_registry
from uniprobe.scoring.policy import Policy
from uniprobe.scoring.policy import policies as policy_registry
from uniprobe.store.rundir import RunDir

_load_backends()

__all__ = [
    "Agreement",
    "Backend",
    "BackendError",
    "Capabilities",
    "Case",
    "CaseFileError",
    "ConfigError",
    "Conversation",
    "Diagnosis",
    "ErrorCount",
    "Estimate",
    "ImageData",
    "ImageKind",
    "Judge",
    "JudgeContext",
    "JudgeResult",
    "Policy",
    "PreflightError",
    "Reply",
    "RunDir",
    "RunDirError",
    "RunResult",
    "RunSettings",
    "RunSummary",
    "Session",
    "SessionContext",
    "Suite",
    "Turn",
    "UniprobeError",
    "UnknownNameError",
    "Usage",
    "UsageError",
    "UserTurn",
    "__version__",
    "agreement",
    "annotate_app",
    "backend_registry",
    "builtin_suites",
    "calibrate",
    "check_models",
    "create_backend",
    "default_cache",
    "diagnose",
    "export_dataset",
    "export_labels",
    "export_prompts",
    "generate_suite",
    "import_labels",
    "import_run",
    "judge_registry",
    "list_models",
    "load_suite",
    "policy_registry",
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

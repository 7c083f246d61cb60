"""Judge policies: which judge answers which check kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from uniprobe._registry import Registry
from uniprobe.scoring.judge import Judge, judges

__all__ = ["Judging", "Policy", "policies"]


@dataclass(frozen=True)
class Policy:
    """A named routing of check kinds to judges."""

    name: str
    routes: Mapping[str, str]
    description: str = ""


policies: Registry[Policy] = Registry("judge policy")
"""Policies by name; add with `policies.add(name, Policy(...))`."""

policies.add(
    "reference",
    Policy(
        "reference",
        {
            "count": "reference",
            "present": "reference",
            "absent": "reference",
            "relation": "reference",
            "position": "reference",
            "color": "reference",
            "unchanged": "pixels",
            "same_as": "pixels",
            "style": "pixels",
            "text": "ocr",
        },
        "Synthetic scenes: glyph and backdrop reading from pixels, pixel diffs, Tesseract OCR.",
    ),
)


def _load_builtin_judges() -> None:
    from uniprobe.scoring.judges import ocr, pixels, reference  # noqa: F401


@dataclass
class Judging:
    """A policy with its judges instantiated (one instance per judge name)."""

    policy: Policy
    instances: dict[str, Judge] = field(default_factory=dict)

    @classmethod
    def of(cls, policy: str | Policy) -> Judging:
        """Instantiate the judges a policy routes to."""
        _load_builtin_judges()
        pol = policies.get(policy) if isinstance(policy, str) else policy
        made = {name: judges.get(name)() for name in sorted(set(pol.routes.values()))}
        return cls(pol, made)

    def judge_for(self, kind: str) -> Judge | None:
        """The judge that answers this check kind, if the policy has one."""
        name = self.policy.routes.get(kind)
        return self.instances.get(name) if name else None

    def versions(self) -> dict[str, str]:
        """Judge name -> version."""
        return {name: j.version for name, j in self.instances.items()}

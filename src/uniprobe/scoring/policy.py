"""Judge policies: which judge answers which check kind.

A route names one judge (`"detector"`) or a combination of two:

* `agree(a,b)`: both judge; the verdict stands when they agree, else `unknown` with
  both reasons (e.g. detector and VLM must agree);
* `verify(a,b)`: `a` proposes boxes, `b` verifies each crop (a VLM checking a
  detector's candidates); the check is decided on the verified boxes.

A built-in policy is a preference list of routes: each check kind goes to the first
route whose judges declare it (`kinds`; `agree` needs both, `verify` the proposer), so
a new check kind reaches a policy as soon as a judge declares it.

A route reads what its judges read (`Judge.reads`): `any` image only when every judge
of it does; preflight checks it against the kind of image the model draws.

Policies are chosen by name (`--judge`); each judge's options come from the config
file's `[judges.<name>]` table, overridden by `-J name.key=value`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from uniprobe._registry import Registry
from uniprobe.backends.base import ImageKind
from uniprobe.cases.checks import CHECK_KINDS
from uniprobe.errors import ConfigError
from uniprobe.scoring.judge import Judge, judges, make_judge

# The built-in judges register themselves on import (importing one stays cheap: heavy
# libraries load on first use).
from uniprobe.scoring.judges import detector, human, ocr, pixels, reference, vlm  # noqa: F401
from uniprobe.scoring.judges.combine import combined

if TYPE_CHECKING:
    from uniprobe.config import Config

__all__ = [
    "Judging",
    "Policy",
    "parse_route",
    "policies",
    "preferring",
    "route_kinds",
    "route_reads",
]

_COMBINED = re.compile(r"^(agree|verify)\(\s*([\w-]+)\s*,\s*([\w-]+)\s*\)$")


@dataclass(frozen=True)
class Policy:
    """A named routing of check kinds to judges."""

    name: str
    routes: Mapping[str, str]
    description: str = ""

    def kinds_read_by(self, judge: str) -> frozenset[str]:
        """The check kinds whose route includes `judge` (alone or in a combination)."""
        return frozenset(k for k, route in self.routes.items() if judge in parse_route(route)[1])

    def vocabulary_kinds(self, *, pixel_regions: str | None = None) -> frozenset[str]:
        """The check kinds whose object words the reference perception reads under this
        policy: those routed to the reference judge, and `unchanged` when the pixels judge
        locates its `outside_objects` with the reference perception (`regions =
        "reference"`; None: the policy's default, `detector` for the detector policy)."""
        if pixel_regions is None:
            pixels = _DEFAULT_OPTIONS.get(self.name, {}).get("pixels", {})
            pixel_regions = str(pixels.get("regions", "reference"))
        kinds = set(self.kinds_read_by("reference"))
        if pixel_regions == "reference" and "unchanged" in self.kinds_read_by("pixels"):
            kinds.add("unchanged")
        return frozenset(kinds)

    def judge_names(self) -> list[str]:
        """Every plain judge the routes use, combinations unpacked."""
        names: set[str] = set()
        for route in self.routes.values():
            _how, parts = parse_route(route)
            names.update(parts)
        return sorted(names)


def parse_route(route: str) -> tuple[str | None, tuple[str, ...]]:
    """('agree', ('detector', 'vlm')) for 'agree(detector,vlm)'; (None, ('ocr',)) for 'ocr'."""
    m = _COMBINED.match(route.strip())
    if m:
        return m.group(1), (m.group(2), m.group(3))
    if not re.fullmatch(r"[\w-]+", route):
        raise ConfigError(f"judge route '{route}': name a judge, agree(a,b) or verify(a,b)")
    return None, (route,)


policies: Registry[Policy] = Registry("judge policy")
"""Policies by name; add with `policies.add(name, Policy(...))`."""


def route_kinds(route: str) -> frozenset[str]:
    """The check kinds a route's judges answer (by their declared `kinds`): a plain
    judge's; both judges' for `agree(a,b)`; the proposer's for `verify(a,b)`."""
    how, parts = parse_route(route)
    kinds = [judges.get(p).kinds for p in parts]
    return kinds[0] & kinds[1] if how == "agree" else kinds[0]


def route_reads(route: str) -> ImageKind:
    """The kind of image a route can read: `any` only when every judge of it reads any
    image (an `agree` or `verify` route is as limited as its most limited judge)."""
    _how, parts = parse_route(route)
    return "any" if all(judges.get(p).reads == "any" for p in parts) else "synthetic"


def preferring(*prefer: str) -> dict[str, str]:
    """Routes: each check kind to the first route of `prefer` that answers it."""
    routes: dict[str, str] = {}
    for kind in CHECK_KINDS:
        route = next((r for r in prefer if kind in route_kinds(r)), None)
        if route is not None:
            routes[kind] = route
    return routes


policies.add(
    "reference",
    Policy(
        "reference",
        preferring("reference", "pixels", "ocr"),
        "Synthetic scenes: glyph and backdrop reading from pixels, pixel diffs, Tesseract OCR.",
    ),
)
policies.add(
    "vlm",
    Policy(
        "vlm",
        preferring("ocr", "vlm"),
        "A vision-language model answers every visual question (both images for edits); "
        "Tesseract reads text.",
    ),
)
policies.add(
    "detector",
    Policy(
        "detector",
        preferring("detector", "pixels", "ocr"),
        "Offline for photographs: open-vocabulary detector boxes, pixel metrics outside the "
        "detected edit region (set pixels.regions=detector, metric=ssim), Tesseract OCR.",
    ),
)
policies.add(
    "detector+vlm",
    Policy(
        "detector+vlm",
        preferring("agree(detector,vlm)", "ocr", "vlm"),
        "Detector and VLM must agree on every object check, else unknown.",
    ),
)
policies.add(
    "vlm-verify",
    Policy(
        "vlm-verify",
        preferring("verify(detector,vlm)", "ocr", "vlm"),
        "The detector proposes boxes, the VLM confirms each crop; checks use confirmed boxes.",
    ),
)
policies.add(
    "human",
    Policy(
        "human",
        preferring("human"),
        "People's labels from `uniprobe annotate`: the majority of each annotator's latest "
        "label; a check nobody labelled, a tie or can't-tell is unknown.",
    ),
)

_DEFAULT_OPTIONS: dict[str, dict[str, dict[str, Any]]] = {
    "detector": {"pixels": {"regions": "detector", "metric": "ssim"}},
    "vlm-verify": {"detector": {"threshold": 0.15}},
}
"""Options a policy sets for its judges unless the user says otherwise."""


@dataclass
class Judging:
    """A policy with its judges instantiated (one instance per judge name)."""

    policy: Policy
    instances: dict[str, Judge] = field(default_factory=dict)
    routes: dict[str, Judge] = field(default_factory=dict)
    """Check kind -> the judge (plain or combined) that answers it."""
    label: str | None = None
    """The name scores are filed under, when not the policy's own."""

    @property
    def name(self) -> str:
        """The name scores are filed under: the label, else the policy's name."""
        return self.label or self.policy.name

    @classmethod
    def of(
        cls,
        policy: str | Policy,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        config: Config | None = None,
    ) -> Judging:
        """Instantiate the judges a policy routes to (and the judges they use).

        Options of a judge: the policy's defaults, then the config file's
        `[judges.<name>]`, then `options[name]`.
        """
        pol = policies.get(policy) if isinstance(policy, str) else policy
        for name in options or {}:
            if name not in judges:
                judges.get(name)  # raises with the known names

        def opts(name: str) -> dict[str, Any]:
            merged = dict(_DEFAULT_OPTIONS.get(pol.name, {}).get(name, {}))
            if config is not None:
                merged.update(config.judges.get(name, {}))
            merged.update((options or {}).get(name, {}))
            return merged

        made: dict[str, Judge] = {}
        todo = pol.judge_names()
        while todo:
            name = todo.pop(0)
            if name in made:
                continue
            judge = make_judge(name, opts(name), config)
            made[name] = judge
            todo.extend(n for n in judge.needs() if n not in made)
        for judge in made.values():
            judge.bind(made)
        routes: dict[str, Judge] = {}
        for kind, route in pol.routes.items():
            how, parts = parse_route(route)
            if how is None:
                routes[kind] = made[parts[0]]
            else:
                routes[kind] = combined(how, made[parts[0]], made[parts[1]])
        return cls(pol, made, routes)

    def judge_for(self, kind: str) -> Judge | None:
        """The judge that answers this check kind, if the policy has one."""
        return self.routes.get(kind)

    def versions(self) -> dict[str, str]:
        """Judge name -> version."""
        return {name: j.version for name, j in self.instances.items()}

    def options(self) -> dict[str, dict[str, Any]]:
        """Judge name -> its options as recorded."""
        return {name: j.options.public() for name, j in self.instances.items()}

    async def aclose(self) -> None:
        """Release every judge's clients and models."""
        for judge in self.instances.values():
            await judge.aclose()

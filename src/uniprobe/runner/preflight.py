"""Checks made before a run spends anything: every problem found, one line each.

For every model: its backend's own checks (`Backend.preflight`: a key, the key accepted,
the model offered by the provider: one `models.list` per provider and key for the whole
run), and that the judge policy can read what the model draws. Reference backends draw
synthetic scenes, which the default `reference` policy reads; any other model must name a
policy that sees real images (`--judge vlm`, `--judge detector`). The judges' providers
need a key too. With `--probe`, every model must answer in words (`Capabilities.probes`).
Nothing is written.

What a model draws is its backend's `Capabilities.draws` (`synthetic` for the reference
backends, `any` image for the others), unless the run declares it (`RunSettings.images`,
`--images synthetic`: a model known to draw the built-in renderer's scenes, like the fake
provider). For every check kind of the suite, the judge its policy routes it to must read
that kind of image (`Judge.reads`): one line per judge that cannot, naming the kinds of
check it would have misjudged and the policies that can judge them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from uniprobe.backends.base import Backend, ImageKind, ModelListings, can_read
from uniprobe.backends.registry import create_backend
from uniprobe.cases.schema import Suite
from uniprobe.config import Config
from uniprobe.errors import ConfigError
from uniprobe.runner.settings import RunSettings
from uniprobe.scoring.policy import Judging, policies, route_reads

__all__ = [
    "NEEDS_A_JUDGE",
    "NEEDS_WORDS",
    "check_models",
    "image_problems",
    "policy_for",
    "run_problems",
]

NEEDS_A_JUDGE = (
    "no --judge given, and the default `reference` judge reads only synthetic scenes: "
    "judge real images with --judge vlm ([judges.vlm] provider, model; the provider's key "
    "under [providers.<provider>] or its environment variable) or --judge detector "
    "([judges.detector] model = a local OWLv2 or Grounding DINO folder)"
)
"""Why a model that is not a reference needs a named judge policy."""

NEEDS_WORDS = "--probe needs a model that answers in words (probes: no)"
"""Why a model whose backend cannot answer in words (`Capabilities.probes`) takes no probe."""

SUGGESTED = ("vlm", "detector")
"""Policies a refusal names first: the built-in ones that read any image."""

_READS: dict[ImageKind, str] = {"synthetic": "only synthetic scenes", "any": "any image"}


def policy_for(backend: Backend, policy: str | None) -> str | None:
    """The policy a run of `backend` scores with: the one named, else `reference` for a
    reference backend (it draws synthetic scenes); None: a real model with none named."""
    if policy is not None:
        return policy
    return "reference" if backend.capabilities.reads_expectations else None


def draws(backend: Backend, settings: RunSettings) -> ImageKind:
    """The kind of image a run's model draws: as the run declares, else as its backend does."""
    return settings.images or backend.capabilities.draws


async def check_models(
    models: Sequence[str],
    *,
    settings: RunSettings,
    config: Config,
    suite: Suite | None = None,
) -> dict[str, list[str]]:
    """Each model's backend problems (key, key accepted, model offered), by model name;
    with a `suite` and a policy named in `settings`, also what the policy's judges cannot
    read of what the model draws (`image_problems`)."""
    listings = ModelListings()
    found: dict[str, list[str]] = {}
    for model in models:
        options = {**config.models.get(model, {}), **settings.options.get(model, {})}
        backend = create_backend(model, options, config=config)
        try:
            found[model] = await backend.preflight(listings)
        finally:
            await backend.aclose()
        if suite is not None and settings.policy is not None:
            kind = draws(backend, settings)
            found[model] += image_problems(suite, model, kind, settings.policy)
    return found


async def run_problems(
    suite: Suite, models: Sequence[str], *, settings: RunSettings, config: Config
) -> list[str]:
    """Everything that would make a run of `models` on `suite` fail or lie, before it starts."""
    problems = [
        p
        for lines in (await check_models(models, settings=settings, config=config)).values()
        for p in lines
    ]
    policies_used: set[str] = set()
    for model in models:
        options = {**config.models.get(model, {}), **settings.options.get(model, {})}
        backend = create_backend(model, options, config=config)
        policy = policy_for(backend, settings.policy)
        if settings.probes and not backend.capabilities.probes:
            problems.append(f"{model}: {NEEDS_WORDS}")
        if policy is None:
            problems.append(f"{model}: {NEEDS_A_JUDGE}")
        elif settings.score:
            policies_used.add(policy)
            problems += image_problems(suite, model, draws(backend, settings), policy)
    for policy in sorted(policies_used):
        problems += _unjudged(suite, policy) + await _judge_keys(policy, settings, config)
    return problems


def image_problems(suite: Suite, model: str, draws: ImageKind, policy: str) -> list[str]:
    """One line per judge that `policy` routes checks of `suite` to but that cannot read
    the images `model` draws (of kind `draws`), naming those checks' kinds and the
    policies that can judge them (`SUGGESTED` first, else every registered one that can)."""
    routes = policies.get(policy).routes
    blind: dict[str, list[str]] = {}
    for kind in _kinds(suite):
        route = routes.get(kind)
        if route is not None and not can_read(route_reads(route), draws):
            blind.setdefault(route, []).append(kind)
    return [
        f"{model}: judge '{route}' (policy '{policy}') reads {_READS[route_reads(route)]}; "
        f"{_and(kinds)} checks of this suite need a judge that reads {_READS[draws]}: "
        f"{_instead(kinds, draws, policy)}"
        for route, kinds in blind.items()
    ]


def _kinds(suite: Suite) -> list[str]:
    """The check kinds a suite uses, sorted."""
    return sorted({check.kind for case in suite.cases for _, _, check in case.leaves()})


def _and(kinds: Sequence[str]) -> str:
    """'count', 'color' and 'position'."""
    quoted = [f"'{k}'" for k in kinds]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _instead(kinds: Sequence[str], draws: ImageKind, policy: str) -> str:
    """The policies that route every one of `kinds` to judges reading images of `draws`."""

    def fits(name: str) -> bool:
        routes = policies.get(name).routes
        return all(k in routes and can_read(route_reads(routes[k]), draws) for k in kinds)

    names = [p for p in SUGGESTED if p in policies and fits(p)]
    names = names or [p for p in policies.names() if p != policy and fits(p)]
    if not names:
        return f"no registered judge policy does (register one whose judges read {_READS[draws]})"
    flags = [f"--judge {n}" for n in names]
    return flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " or " + flags[-1]


def _unjudged(suite: Suite, policy: str) -> list[str]:
    """One line per check kind of the suite that the policy routes to no judge."""
    routes = policies.get(policy).routes
    missing = Counter(
        check.kind
        for case in suite.cases
        for _, _, check in case.leaves()
        if check.kind not in routes
    )
    return [
        f"judge policy '{policy}' cannot judge '{kind}' checks ({n} in suite '{suite.name}')"
        for kind, n in sorted(missing.items())
    ]


async def _judge_keys(policy: str, settings: RunSettings, config: Config) -> list[str]:
    """A key for every provider the policy's judges call (their `provider` option)."""
    try:
        judging = Judging.of(policy, settings.judge_options, config)
    except ConfigError as exc:  # a judge that checks its own connection when made
        return [str(exc)]
    try:
        problems = []
        for name, judge in sorted(judging.instances.items()):
            provider = judge.options.model_dump().get("provider")
            if not isinstance(provider, str):
                continue  # a local judge: nothing to reach
            conn = config.connection(provider)
            if conn.api_key is None and conn.key_hint is not None:
                problems.append(conn.no_key(f"judge {name} ({provider})"))
        return problems
    finally:
        await judging.aclose()

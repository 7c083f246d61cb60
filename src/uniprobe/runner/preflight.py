"""Checks made before a run spends anything: every problem found, one line each.

For every model: its backend's own checks (`Backend.preflight`: a key, the key accepted,
the model offered by the provider: one `models.list` per provider and key for the whole
run), and that the judge policy can read what the model draws. Reference backends draw
synthetic scenes, which the default `reference` policy reads; any other model must name a
policy that sees real images (`--judge vlm`, `--judge detector`). The judges' providers
need a key too. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from uniprobe.backends.base import Backend, ModelListings
from uniprobe.backends.registry import create_backend
from uniprobe.cases.schema import Suite
from uniprobe.config import Config
from uniprobe.errors import ConfigError
from uniprobe.runner.settings import RunSettings
from uniprobe.scoring.policy import Judging, policies

__all__ = ["NEEDS_A_JUDGE", "check_models", "policy_for", "run_problems"]

NEEDS_A_JUDGE = (
    "no --judge given, and the default `reference` judge reads only synthetic scenes: "
    "judge real images with --judge vlm ([judges.vlm] provider, model; the provider's key "
    "under [providers.<provider>] or its environment variable) or --judge detector "
    "([judges.detector] model = a local OWLv2 or Grounding DINO folder)"
)
"""Why a model that is not a reference needs a named judge policy."""


def policy_for(backend: Backend, policy: str | None) -> str | None:
    """The policy a run of `backend` scores with: the one named, else `reference` for a
    reference backend (it draws synthetic scenes); None: a real model with none named."""
    if policy is not None:
        return policy
    return "reference" if backend.capabilities.reads_expectations else None


async def check_models(
    models: Sequence[str], *, settings: RunSettings, config: Config
) -> dict[str, list[str]]:
    """Each model's backend problems (key, key accepted, model offered), by model name."""
    listings = ModelListings()
    found: dict[str, list[str]] = {}
    for model in models:
        options = {**config.models.get(model, {}), **settings.options.get(model, {})}
        backend = create_backend(model, options, config=config)
        try:
            found[model] = await backend.preflight(listings)
        finally:
            await backend.aclose()
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
        if policy is None:
            problems.append(f"{model}: {NEEDS_A_JUDGE}")
        elif settings.score:
            policies_used.add(policy)
    for policy in sorted(policies_used):
        problems += _unjudged(suite, policy) + await _judge_keys(policy, settings, config)
    return problems


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

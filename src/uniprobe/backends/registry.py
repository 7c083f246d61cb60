"""Finding a backend by its name: 'provider/model', or a composed
'plan(<planner> → <image model>)' (see `uniprobe.backends.plan`).

A plan name is `plan(A → B)` or `plan(A -> B)`, spaces optional; its normal form (the
backend's name) is `plan(A → B)`, one space either side of the arrow. Its parts are
plain 'provider/model' names, created with the same config: keys, prices, and each
part's `[models."<part>"]` options under the plan's own `planner`/`image` options.
Plans do not nest: a part that is itself a plan is refused (a planner of a planner only
renders the dialogue twice). The planner must answer in words (`Capabilities.probes`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from uniprobe._registry import Registry
from uniprobe.backends.base import Backend, Capabilities
from uniprobe.backends.plan import ARROW, PlanBackend
from uniprobe.config import Config
from uniprobe.errors import ConfigError, UnknownNameError

__all__ = [
    "BUILTIN_BACKENDS",
    "PLAN_NAME",
    "backends",
    "create_backend",
    "known_models",
    "model_capabilities",
    "parse_model_name",
    "plan_parts",
]

backends: Registry[type[Backend]] = Registry("model provider")
"""Every backend class, by provider name. Register with `@backends.register("name")`."""

PLAN_NAME = f"plan(<planner> {ARROW} <image model>)"
"""The form of a composed backend's name (listed among the known models)."""

_PLAN = re.compile(r"\s*plan\s*\((.*)\)\s*", re.DOTALL)
_ARROWS = re.compile(r"\s*(?:→|->)\s*")


def plan_parts(name: str) -> tuple[str, str] | None:
    """The (planner, image model) names of a plan name; None if `name` is not one.

    Raises:
        ConfigError: a malformed plan name (not two names around one arrow), or a nested
            one.
    """
    found = _PLAN.fullmatch(name)
    if found is None:
        return None
    inner = found.group(1).strip()
    if "plan(" in inner.replace(" ", ""):
        raise ConfigError(f"model '{name}': plans do not nest; name two provider/model parts")
    parts = _ARROWS.split(inner)
    if len(parts) != 2 or not all(parts):
        raise ConfigError(
            f"model '{name}': name a plan as plan(<planner> {ARROW} <image model>), "
            f"e.g. plan(openai/gpt-5.5 {ARROW} openai-images/gpt-image-2)"
        )
    return parts[0], parts[1]


def parse_model_name(name: str) -> tuple[str, str]:
    """Split 'provider/model' (the model part may itself contain '/'); a plan name gives
    ('plan', '<planner> → <image model>') in normal form."""
    parts = plan_parts(name)
    if parts is not None:
        return "plan", f"{parts[0]} {ARROW} {parts[1]}"
    provider, sep, model = name.partition("/")
    if not sep or not provider or not model:
        raise UnknownNameError("model", name, known_models())
    return provider, model


def known_models() -> list[str]:
    """Every model name a registry entry lists, 'provider/<model>' for open ones, and the
    form of a plan name."""
    return [*model_capabilities(), PLAN_NAME]


def model_capabilities() -> dict[str, Capabilities]:
    """Every model name a registry entry lists ('provider/<model>' for a provider that
    takes any name), in provider order, with its backend's capabilities. (A plan's
    capabilities are its parts': see `uniprobe.backends.plan.compose`.)"""
    _load_builtin()
    return {
        f"{provider}/{m}": backends.get(provider).capabilities
        for provider in backends.names()
        for m in (backends.get(provider).models or ("<model>",))
    }


def create_backend(
    name: str, options: Mapping[str, Any] | None = None, *, config: Config | None = None
) -> Backend:
    """The backend for 'provider/model', with validated options and its connection (key,
    URL, timeout) and prices from the config file and the environment; for a plan name,
    the `PlanBackend` of its two parts (see the module docstring)."""
    _load_builtin()
    config = config or Config()
    parts = plan_parts(name)
    if parts is not None:
        return _create_plan(name, parts, options, config)
    provider, model = parse_model_name(name)
    if provider not in backends:
        raise UnknownNameError("model", name, known_models())
    cls = backends.get(provider)
    if cls.models is not None and model not in cls.models:
        raise UnknownNameError("model", name, known_models())
    key = f"compat/{model}" if provider == "compat" else provider
    return cls(model, options, connection=config.connection(key), prices=config.prices)


def _create_plan(
    name: str, parts: tuple[str, str], options: Mapping[str, Any] | None, config: Config
) -> PlanBackend:
    planner_name, image_name = parts
    name = f"plan({planner_name} {ARROW} {image_name})"
    try:
        own = PlanBackend.Options.model_validate(dict(options or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "options"
        raise ConfigError(f"{name}: option '{where}': {err['msg']}") from None
    planner = create_backend(
        planner_name, {**config.models.get(planner_name, {}), **own.planner}, config=config
    )
    if not planner.capabilities.probes:
        raise ConfigError(
            f"{name}: the planner {planner.name} cannot answer in words (its capabilities "
            "say probes: no); plan with a model that can"
        )
    image = create_backend(
        image_name, {**config.models.get(image_name, {}), **own.image}, config=config
    )
    return PlanBackend(planner, image)


BUILTIN_BACKENDS = (
    "diffusers",
    "gemini",
    "openai_images",
    "openai_responses",
    "reference",
    "transformers_janus",
)
"""Modules of `uniprobe.backends` that register the built-in backends (importing one must
stay cheap: heavy SDKs are imported inside the backend that needs them)."""


def _load_builtin() -> None:
    for module in BUILTIN_BACKENDS:
        importlib.import_module(f"uniprobe.backends.{module}")

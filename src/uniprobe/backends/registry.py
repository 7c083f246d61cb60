"""Finding a backend by its 'provider/model' name."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from uniprobe._registry import Registry
from uniprobe.backends.base import Backend, Capabilities
from uniprobe.config import Config
from uniprobe.errors import UnknownNameError

__all__ = [
    "BUILTIN_BACKENDS",
    "backends",
    "create_backend",
    "known_models",
    "model_capabilities",
    "parse_model_name",
]

backends: Registry[type[Backend]] = Registry("model provider")
"""Every backend class, by provider name. Register with `@backends.register("name")`."""


def parse_model_name(name: str) -> tuple[str, str]:
    """Split 'provider/model' (the model part may itself contain '/')."""
    provider, sep, model = name.partition("/")
    if not sep or not provider or not model:
        raise UnknownNameError("model", name, known_models())
    return provider, model


def known_models() -> list[str]:
    """Every model name a registry entry lists, and 'provider/<model>' for open ones."""
    return list(model_capabilities())


def model_capabilities() -> dict[str, Capabilities]:
    """Every model name a registry entry lists ('provider/<model>' for a provider that
    takes any name), in provider order, with its backend's capabilities."""
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
    URL, timeout) and prices from the config file and the environment."""
    _load_builtin()
    provider, model = parse_model_name(name)
    if provider not in backends:
        raise UnknownNameError("model", name, known_models())
    cls = backends.get(provider)
    if cls.models is not None and model not in cls.models:
        raise UnknownNameError("model", name, known_models())
    config = config or Config()
    key = f"compat/{model}" if provider == "compat" else provider
    return cls(model, options, connection=config.connection(key), prices=config.prices)


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

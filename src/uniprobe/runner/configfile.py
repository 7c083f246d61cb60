"""The config file checked against what exists: providers, judges, models and options.

`uniprobe.config` reads the file and checks its shape and ranges; it sits below the
registries, so the names are checked here, once a file is loaded, before anything is
sent or written. Each problem is one located line (`FILE:LINE: key.path: ...`):

* `[providers.<name>]`: a registered model provider (`openai`, `openai-images`,
  `google`, `diffusers`, `reference`) or `"compat/<server>"`;
* `[judges.<name>]`: a registered judge, with only the keys of its options, each value
  valid on its own (a judge's `provider` is a provider name as above);
* `[models."<provider>/<model>"]`: a registered provider (and, for those with a fixed
  list, one of its models), with only the keys of its backend's options, each valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from uniprobe.backends.plan import PlanBackend
from uniprobe.backends.registry import backends, known_models, model_capabilities, plan_parts
from uniprobe.config import Config, load_config
from uniprobe.errors import ConfigError, did_you_mean
from uniprobe.scoring.judge import judges
from uniprobe.scoring.policy import policies

__all__ = ["provider_names", "resolve_config"]

# imported for its side effect: every built-in judge and policy is registered
_ = policies


def resolve_config(config: Config | str | Path | None) -> Config:
    """The configuration (given, or read from its file) with every name checked.

    Raises:
        ConfigError: one located line for the first unknown name or bad option.
    """
    cfg = config if isinstance(config, Config) else load_config(config)
    check_names(cfg)
    return cfg


def provider_names() -> list[str]:
    """The names a `[providers.<name>]` section may have (`compat/<server>` aside)."""
    model_capabilities()  # registers the built-in backends
    return [p for p in backends.names() if p != "compat"]


def check_names(cfg: Config) -> None:
    """Raise a located `ConfigError` for the first section or key that does not exist."""
    for name in cfg.providers:
        _check_provider(cfg, ("providers", name), name)
    for name, options in cfg.judges.items():
        if name not in judges:
            raise cfg.error(("judges", name), _unknown("judge", name, judges.names()))
        provider = options.get("provider")
        if isinstance(provider, str):
            _check_provider(cfg, ("judges", name, "provider"), provider)
        _check_options(cfg, ("judges", name), judges.get(name).Options, options)
    for name, options in cfg.models.items():
        _check_model(cfg, name, options)


def _unknown(kind: str, name: str, known: list[str]) -> str:
    return f"unknown {kind} '{name}'{did_you_mean(name, known) or '. Known: ' + ', '.join(known)}"


def _check_provider(cfg: Config, loc: tuple[str, ...], name: str) -> None:
    known = provider_names()
    if name in known or (name.startswith("compat/") and name != "compat/"):
        return
    if name == "compat":
        raise cfg.error(loc, 'name a compatible server as "compat/<server>"')
    raise cfg.error(loc, _unknown("provider", name, [*known, "compat/<server>"]))


def _check_model(cfg: Config, name: str, options: Mapping[str, Any]) -> None:
    loc = ("models", name)
    try:
        parts = plan_parts(name)
    except ConfigError as exc:
        raise cfg.error(loc, str(exc)) from None
    if parts is not None:  # a plan's own options; its parts have their own sections
        _check_options(cfg, loc, PlanBackend.Options, options)
        return
    provider, sep, model = name.partition("/")
    if not sep or not model:
        raise cfg.error(loc, f"name a model as provider/model (e.g. openai/{name})")
    provider_names()
    if provider not in backends:
        raise cfg.error(loc, _unknown("model", name, known_models()))
    cls = backends.get(provider)
    if cls.models is not None and model not in cls.models:
        raise cfg.error(loc, _unknown("model", name, known_models()))
    _check_options(cfg, loc, cls.Options, options)


def _check_options(
    cfg: Config, loc: tuple[str, ...], model: type[BaseModel], options: Mapping[str, Any]
) -> None:
    """Unknown keys, and values invalid on their own. Missing options and rules across
    options are left to the judge or backend: the rest may come from the command line or
    the policy's defaults."""
    known = list(model.model_fields)
    for key in options:
        if key not in known:
            hint = did_you_mean(key, known) or ". Known: " + ", ".join(known)
            raise cfg.error((*loc, key), f"unknown option '{key}'{hint}")
    try:
        model.model_validate(dict(options))
    except ValidationError as exc:
        for err in exc.errors():
            if err["type"] != "missing" and err["loc"]:
                where = (*loc, *(str(p) for p in err["loc"]))
                raise cfg.error(where, str(err["msg"]).removeprefix("Value error, ")) from None

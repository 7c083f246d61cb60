"""Today's providers as data, and what a call cost.

The models uniprobe knows live in one dated data file, `providers.toml` next to this
module: per model its provider, kind (`image` generator or `text`+vision model), status
(current, deprecated with a shutdown date, retired with date and replacement), request
capabilities (`accepts_temperature`, `reasoning_effort`, ...), and prices per token
component, each entry with its `source` and the date it was `checked`. It is read into
a `Catalog` (pydantic, extra="forbid"); the built-in defaults (the Responses image tool's
model, the VLM judge's models) are read from it too.

Cost rules:

* Cached input tokens (`Usage.cached_input_tokens`, part of the input tokens on both
  providers: OpenAI's `input_tokens_details.cached_tokens`, Gemini's
  `cachedContentTokenCount`) are billed at `cached_input` instead of their text rate.
  That price is for cached text; cached image tokens are billed at `cached_image_input`
  (OpenAI's image models publish one), or at `cached_input` when the model bills image
  input at its text rate (Gemini, the Responses text models), else their cost is
  unknown. When the provider does not say how many cached tokens were images, the split
  matters only if some could be (a model with different image and text rates, given
  images): then the cost is unknown too.

* Every component of a listed model is priced, or named `unpublished` when the provider
  publishes no price for it.
* A call's cost is the sum over the components it used. A component it used with no
  known price, or a count the provider did not report, makes the cost unknown (None):
  never 0, never a guess. `cost_warnings` names such components before a run.
* Overrides from the config file (`[prices."<model id>"]`) replace the fields they give.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from uniprobe.backends.base import Usage
from uniprobe.config import Price, read_toml
from uniprobe.errors import ConfigError

__all__ = [
    "Catalog",
    "Component",
    "ModelEntry",
    "ModelPrice",
    "catalog",
    "cost_of",
    "cost_warnings",
    "load_catalog",
    "price_for",
]

Component = Literal[
    "text_input",
    "cached_input",
    "cached_image_input",
    "text_output",
    "image_input",
    "image_output",
]
"""A token component a provider bills."""
Kind = Literal["image", "text"]
Status = Literal["current", "deprecated", "retired"]

COMPONENTS: dict[Kind, tuple[Component, ...]] = {
    "image": get_args(Component),
    "text": ("text_input", "cached_input", "text_output", "image_input"),
}
"""The components each kind of model bills (a text model makes no images)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelPrice(Price):
    """A price entry of the data file: `Price` plus what the provider does not publish."""

    unpublished: tuple[Component, ...] = ()
    """Components with no published price (a call using them has unknown cost)."""


class ModelEntry(_Strict):
    """One model as the provider offers it today."""

    provider: Literal["openai", "google"]
    """Who serves it."""
    kind: Kind
    """`image`: an image generator; `text`: a text+vision model (Responses model, judge)."""
    status: Status
    """current, deprecated (with `shutdown`), or retired (with `shutdown`, `replacement`)."""
    shutdown: date | None = None
    """Announced or past shutdown date."""
    replacement: str | None = None
    """What the provider recommends instead."""
    aliases: tuple[str, ...] = ()
    """Other names of the same model (the undated alias of a snapshot)."""
    accepts_temperature: bool = True
    """False: `temperature` is rejected (reasoning models) or ignored (Gemini 3+): not sent."""
    reasoning_effort: bool = False
    """Takes `reasoning_effort`."""
    accepts_input_fidelity: bool = True
    """Image models: takes `input_fidelity` (the gpt-image-2 family does not)."""
    protocols: tuple[str, ...] = ()
    """Image models: the context protocols uniprobe runs it under."""
    price: ModelPrice | None = None
    """USD prices (required unless retired)."""
    source: str = Field(pattern=r"^https://")
    """Where the facts were read."""
    checked: date
    """When they were read."""
    note: str | None = None
    """Anything a reader should know."""

    @model_validator(mode="after")
    def _consistent(self) -> ModelEntry:
        if self.status != "current" and self.shutdown is None:
            raise ValueError(f"a {self.status} model needs its shutdown date")
        if self.status == "retired":
            if self.replacement is None:
                raise ValueError("a retired model needs its replacement")
            return self
        if self.price is None:
            raise ValueError("a model in use needs a price")
        missing = [c for c in self.unpriced() if c not in self.price.unpublished]
        if missing:
            raise ValueError(f"no price for {', '.join(missing)} (or list it in unpublished)")
        return self

    def unpriced(self) -> list[Component]:
        """Components of this kind with no price."""
        p = self.price or ModelPrice()
        return [c for c in COMPONENTS[self.kind] if getattr(p, f"{c}_per_mtok") is None]


class Defaults(_Strict):
    """Built-in model choices."""

    responses_image_model: str
    """Model of the Responses API's image_generation tool."""
    judge_openai: str
    """VLM judge on provider `openai`."""
    judge_google: str
    """VLM judge on provider `google`."""


class Catalog(_Strict):
    """The whole data file."""

    schema_version: Literal[1]
    """Version of this file's layout."""
    checked: date
    """When the file as a whole was last checked."""
    defaults: Defaults
    """Built-in model choices (each a current model of the file)."""
    models: dict[str, ModelEntry]
    """By the model id the provider uses."""

    @model_validator(mode="after")
    def _defaults_current(self) -> Catalog:
        seen: dict[str, str] = {}
        for name, entry in self.models.items():
            for n in (name, *entry.aliases):
                if n in seen:
                    raise ValueError(f"'{n}' is listed twice ({seen[n]} and {name})")
                seen[n] = name
        for field, name in self.defaults:
            default = self.entry(name)
            if default is None or default.status != "current":
                raise ValueError(f"defaults.{field}: '{name}' is not a current model of the file")
        return self

    def entry(self, name: str) -> ModelEntry | None:
        """A model by its id or one of its aliases."""
        if name in self.models:
            return self.models[name]
        return next((e for e in self.models.values() if name in e.aliases), None)

    def retired(self) -> dict[str, ModelEntry]:
        """Every retired name (aliases included)."""
        return {
            n: e
            for name, e in self.models.items()
            if e.status == "retired"
            for n in (name, *e.aliases)
        }


DATA_FILE = "providers.toml"


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a providers file (default: the built-in one).

    Raises:
        ConfigError: one line naming the file, the line (where there is one) and the
            field at fault; a file that is not UTF-8 or not TOML is located like a
            config file (`uniprobe.config`).
    """
    if path is not None:
        file = read_toml(Path(path))
        data, where, keys = file.data, str(path), file.keys
    else:
        text = resources.files("uniprobe.backends").joinpath(DATA_FILE).read_text("utf-8")
        data, where, keys = tomllib.loads(text), f"uniprobe/backends/{DATA_FILE}", None
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        path_of: tuple[str | int, ...] = tuple(err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        field, sep, rest = message.partition(": ")
        if not path_of and sep and re.fullmatch(r"[\w.-]+", field):
            path_of, message = tuple(field.split(".")), rest  # a whole-file rule names its field
        loc = ".".join(str(p) for p in path_of)
        line = keys.line_of(path_of) if keys is not None else None
        at = f"{where}:{line}" if line else where
        raise ConfigError(f"{at}: {loc}: {message}" if loc else f"{at}: {message}") from None


@cache
def catalog() -> Catalog:
    """The built-in catalog (read once)."""
    return load_catalog()


def price_for(model: str, overrides: Mapping[str, Price] | None = None) -> Price | None:
    """The price of a model id (or alias): the built-in entry with the override's fields
    on top; None if neither knows the model."""
    entry = catalog().entry(model)
    base = entry.price if entry is not None else None
    names = (model, *_names(model))
    over = next((overrides[n] for n in names if overrides and n in overrides), None)
    if over is None:
        return base
    if base is None:
        return over
    return Price(**{**_fields(base), **over.model_dump(exclude_unset=True)})


def _names(model: str) -> tuple[str, ...]:
    for name, entry in catalog().models.items():
        if model == name or model in entry.aliases:
            return (name, *entry.aliases)
    return ()


def _fields(price: Price) -> dict[str, Any]:
    return {k: v for k, v in price.model_dump().items() if k in Price.model_fields}


def _part(tokens: int | None, per_mtok: float | None) -> float | None:
    if tokens is None:
        return None
    if tokens == 0:
        return 0.0
    return None if per_mtok is None else tokens * per_mtok / 1e6


def _cached_images(usage: Usage, price: Price) -> int | None:
    """How many cached input tokens encoded images: as reported; else as few as can be
    when the split does not change the cost (no image given, or images billed at the text
    rate); None when it would and was not reported."""
    cached, image_in = usage.cached_input_tokens or 0, usage.input_image_tokens or 0
    if usage.cached_input_image_tokens is not None:
        return min(usage.cached_input_image_tokens, cached, image_in)
    text_in = (usage.input_tokens or 0) - image_in
    fewest = max(0, cached - text_in)
    if min(cached, image_in) == fewest or _same_image_cache_rate(price):
        return fewest
    return None


def _same_image_cache_rate(price: Price) -> bool:
    """Whether the split of input tokens into text and image leaves the cost unchanged:
    image input at the text rate, cached or not."""
    cached_image = price.cached_image_input_per_mtok
    return _same_rate(price) and cached_image in (None, price.cached_input_per_mtok)


def _same_rate(price: Price) -> bool:
    """Whether the model bills image input at its text input rate."""
    return price.image_input_per_mtok == price.text_input_per_mtok


def cost_of(usage: Usage, price: Price | None) -> float | None:
    """USD cost of one call, or None if any component it used has no known price or a
    count was not reported."""
    if price is None or usage.input_tokens is None or usage.output_tokens is None:
        return None
    cached_images = _cached_images(usage, price)
    if cached_images is None:
        return None
    image_in = usage.input_image_tokens or 0
    cached_text = (usage.cached_input_tokens or 0) - cached_images
    image_out = usage.output_image_tokens or 0
    cached_image_rate = price.cached_image_input_per_mtok
    if cached_image_rate is None and _same_rate(price):
        cached_image_rate = price.cached_input_per_mtok
    parts = [
        _part(max(0, usage.input_tokens - image_in - cached_text), price.text_input_per_mtok),
        _part(cached_text, price.cached_input_per_mtok),
        _part(image_in - cached_images, price.image_input_per_mtok),
        _part(cached_images, cached_image_rate),
        _part(max(0, usage.output_tokens - image_out), price.text_output_per_mtok),
        _part(image_out, price.image_output_per_mtok),
    ]
    if price.per_image is not None:
        parts.append(usage.images * price.per_image)
    if any(p is None for p in parts):
        return None
    return round(sum(p for p in parts if p is not None), 8)


def cost_warnings(models: Iterable[str], overrides: Mapping[str, Price] | None = None) -> list[str]:
    """What to say once at the start of a run about these model ids: retired or
    deprecated ones, and each component whose calls will have unknown cost."""
    out: list[str] = []
    for model in models:
        entry = catalog().entry(model)
        price = price_for(model, overrides)
        if entry is not None and entry.status == "retired":
            out.append(
                f"{model}: retired on {entry.shutdown} (use {entry.replacement}); "
                "its calls have unknown cost"
            )
            continue
        if entry is not None and entry.status == "deprecated":
            out.append(f"{model}: shuts down on {entry.shutdown} (use {entry.replacement})")
        if price is None:
            out.append(
                f'{model}: no known price; its calls have unknown cost (add [prices."{model}"] '
                "to the config)"
            )
            continue
        kind: Kind = entry.kind if entry is not None else "image"
        missing = [c for c in COMPONENTS[kind] if getattr(price, f"{c}_per_mtok") is None]
        if missing:
            out.append(
                f"{model}: no price for {', '.join(m.replace('_', ' ') for m in missing)} "
                f'tokens; calls that use them have unknown cost (set [prices."{model}"])'
            )
    return out

"""Configuration: model options, provider connections, limits and prices, from one TOML file.

```toml
[providers.openai]            # connection and limits of a provider
api_key_env = "OPENAI_API_KEY"  # or api_key = "..." (never written anywhere by uniprobe)
base_url = "https://api.openai.com/v1"
concurrency = 8
rpm = 50

[providers."compat/local"]   # an OpenAI-compatible server, named by `compat/<name>`
base_url = "http://127.0.0.1:8000/v1"

[models."openai/gpt-5.5"]     # options of one model (validated by its backend)
image_model = "gpt-image-2-2026-04-21"
quality = "low"

[prices."gpt-image-2-2026-04-21"]      # USD; the fields given replace the built-in table's
image_output_per_mtok = 32.0  # (uniprobe/backends/providers.toml)

[judges.vlm]                  # options of a judge (validated by the judge)
provider = "openai"
model = "gpt-5.5-2026-04-23"
```

The file is `--config PATH`, else `$UNIPROBE_CONFIG`, else `./uniprobe.toml` if present.
API keys come from the file or the environment and are held as `SecretStr`: they never
reach options, manifests, logs or reports.

A bad file is one line, `FILE:LINE: key.path: what is wrong` (see `load_config`): the
file must be UTF-8 TOML of at most 1 MB; sections and keys must exist ("did you mean");
prices are at least 0 and finite; `rpm` is 0.01 to 1,000,000, `concurrency` 1 to 1024,
`timeout` over 0 and at most 3600 s; `base_url` (and `$OPENAI_BASE_URL`,
`$GOOGLE_GEMINI_BASE_URL`) an http:// or https:// URL with a host. Names that live in
the registries (which providers, judges and models exist, and their options) are
checked where those are known: `uniprobe.runner.settings.resolve_config`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)

from uniprobe.config._toml import MAX_BYTES, KeyLines, TomlFile, not_utf8, read_toml
from uniprobe.errors import ConfigError, did_you_mean

__all__ = [
    "MAX_BYTES",
    "MAX_CONCURRENCY",
    "MAX_TIMEOUT",
    "RPM_RANGE",
    "Config",
    "Connection",
    "KeyLines",
    "Price",
    "ProviderConfig",
    "check_url",
    "dotted",
    "load_config",
    "not_utf8",
    "read_toml",
]

MAX_CONCURRENCY = 1024
"""The most requests (or conversations, or judged samples) in flight at once."""
RPM_RANGE = (0.01, 1_000_000.0)
"""Requests per minute, lowest and highest (0.01: one request every 100 minutes)."""
MAX_TIMEOUT = 3600.0
"""The longest a request may be waited for, in seconds."""

DEFAULT_KEY_ENV = {
    "openai": ("OPENAI_API_KEY",),
    "openai-images": ("OPENAI_API_KEY",),
    "google": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}
DEFAULT_URL_ENV = {
    "openai": "OPENAI_BASE_URL",
    "openai-images": "OPENAI_BASE_URL",
    "google": "GOOGLE_GEMINI_BASE_URL",
}
DEFAULT_TIMEOUT = 300.0
"""Seconds before one request is abandoned: image generation takes 60-190 s at load."""


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(_Model):
    """Prices in USD, each at least 0 and finite; any field may be left out."""

    text_input_per_mtok: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Per million input text tokens."""
    cached_input_per_mtok: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Per million input text tokens served from the provider's prompt cache."""
    cached_image_input_per_mtok: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Per million input image tokens served from the prompt cache (when left out, and the
    model bills image input at its text rate, `cached_input_per_mtok`)."""
    image_input_per_mtok: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Per million input image tokens."""
    text_output_per_mtok: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Per million output text tokens (reasoning and thinking tokens included)."""
    image_output_per_mtok: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Per million output image tokens."""
    per_image: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Per generated image (for providers that bill by image)."""


def check_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL with a host (and a valid port), else a
    ValueError saying what is wrong with it. Checked before any request is made."""
    if not url or url != url.strip() or any(c.isspace() for c in url):
        raise ValueError(f"{url!r} is not a URL (spaces or empty)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    if port == 0:
        raise ValueError(f"{url!r}: port 0 is not a port to connect to")
    return url


class ProviderConfig(_Model):
    """How to reach one provider, and how hard to push it."""

    api_key: SecretStr | None = None
    """The key itself (prefer api_key_env)."""
    api_key_env: str | None = None
    """Environment variable holding the key."""
    base_url: str | None = None
    """Endpoint (OpenAI-style URLs include /v1): http:// or https:// with a host."""
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    """Seconds before one request is abandoned (at most an hour)."""
    concurrency: int | None = Field(None, ge=1, le=MAX_CONCURRENCY)
    """Requests in flight at once to this provider (1 to 1024)."""
    rpm: float | None = Field(None, ge=RPM_RANGE[0], le=RPM_RANGE[1], allow_inf_nan=False)
    """Requests per minute to this provider (0.01 to 1,000,000)."""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("api_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is empty (leave it out to use the environment)")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        # the value is never echoed: a key pasted here by mistake must not be printed
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(
                "must name an environment variable (like OPENAI_API_KEY); "
                "a key itself goes in api_key"
            )
        return value


class Config(_Model):
    """The whole configuration file."""

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    """By provider name ('openai', 'google', 'compat/<name>', ...)."""
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Model options by model name ('provider/model')."""
    prices: dict[str, Price] = Field(default_factory=dict)
    """Price overrides by model id (as the provider names it); the fields given replace
    the built-in ones."""
    judges: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Judge options by judge name ('vlm', 'detector', 'pixels', 'ocr', ...)."""

    _file: TomlFile | None = PrivateAttr(None)

    @property
    def path(self) -> Path | None:
        """The file this configuration was read from (None: built in Python)."""
        return self._file.path if self._file is not None else None

    def error(self, loc: Sequence[str | int], message: str) -> ConfigError:
        """A `ConfigError` about the value at `loc` (e.g. `("judges", "vlm", "model")`):
        `FILE:LINE: judges.vlm.model: message` when read from a file."""
        where = dotted(loc)
        if self._file is None:
            return ConfigError(f"config {where}: {message}")
        line = self._file.keys.line_of(loc)
        at = f"{self._file.path}:{line}" if line else str(self._file.path)
        return ConfigError(f"{at}: {where}: {message}")

    def provider(self, name: str) -> ProviderConfig:
        """The provider's settings (defaults if the file says nothing)."""
        return self.providers.get(name, ProviderConfig())

    def connection(self, provider: str) -> Connection:
        """Key, URL and timeout for a provider: the file first, then the environment."""
        cfg = self.provider(provider)
        key = cfg.api_key.get_secret_value() if cfg.api_key else None
        if key is None:
            names = (cfg.api_key_env,) if cfg.api_key_env else DEFAULT_KEY_ENV.get(provider, ())
            key = next((os.environ[n] for n in names if n and os.environ.get(n)), None)
        url = cfg.base_url or _env_url(provider)
        return Connection(
            SecretStr(key) if key else None, url or None, cfg.timeout, self.key_hint(provider)
        )

    def key_hint(self, provider: str) -> str | None:
        """Where a provider's key is looked for, said to a person ("OPENAI_API_KEY, or
        api_key_env under [providers.openai] in the config file"); None when nothing
        asks for one (a compatible server without `api_key_env`)."""
        cfg = self.provider(provider)
        names = (cfg.api_key_env,) if cfg.api_key_env else DEFAULT_KEY_ENV.get(provider, ())
        if not names:
            return None
        section = f'"{provider}"' if "/" in provider else provider
        either = " or ".join(names)
        return f"{either}, or api_key_env under [providers.{section}] in the config file"


@dataclass(frozen=True)
class Connection:
    """What a backend needs to reach its provider. The key never prints."""

    api_key: SecretStr | None
    base_url: str | None
    timeout: float = DEFAULT_TIMEOUT
    key_hint: str | None = None
    """Where the key is looked for (see `Config.key_hint`); None: no key is asked for."""

    def key(self, backend: str) -> str:
        """The key's value, or a ConfigError that says where to put one."""
        if self.api_key is None:
            raise ConfigError(self.no_key(backend))
        return self.api_key.get_secret_value()

    def secrets(self) -> tuple[str, ...]:
        """Values to redact from what the provider says: the key, if there is one."""
        return (self.api_key.get_secret_value(),) if self.api_key is not None else ()

    def no_key(self, backend: str) -> str:
        """The one line that says a key is missing, and where to put it."""
        where = self.key_hint or (
            "the provider's environment variable or `api_key_env` in the config file"
        )
        return f"{backend}: no API key: set {where}"


def _env_url(provider: str) -> str | None:
    """The provider's URL from its environment variable, checked like `base_url`."""
    name = DEFAULT_URL_ENV.get(provider)
    value = os.environ.get(name) if name else None
    if not value:
        return None
    try:
        return check_url(value)
    except ValueError as exc:
        raise ConfigError(f"${name}: {exc}") from None


def dotted(loc: Sequence[str | int]) -> str:
    """A key path as TOML writes it: `providers."compat/local".rpm`."""
    return ".".join(
        str(p) if isinstance(p, int) or re.fullmatch(r"[A-Za-z0-9_-]+", p) else f'"{p}"'
        for p in loc
    )


def load_config(path: str | Path | None = None) -> Config:
    """Read the configuration (see the module doc for where it is looked for).

    Raises:
        ConfigError: one line, `FILE[:LINE]: key.path: what is wrong`, for a file that
            is missing, a folder, too large, not UTF-8, not TOML, or holds a section or
            key that does not exist ("did you mean"), or a value out of range (prices
            negative or not finite, rpm, concurrency, timeout, a `base_url` that is not
            an http(s) URL). With several problems, the first is told and the rest
            counted.
    """
    if path is None:
        env = os.environ.get("UNIPROBE_CONFIG")
        path = Path(env) if env else Path("uniprobe.toml")
        if not env and not path.is_file():
            return Config()
    file = read_toml(Path(path))
    located = Config()
    located._file = file
    try:
        config = Config.model_validate(file.data)
    except ValidationError as exc:
        problems = sorted(
            (_located(located, err) for err in exc.errors()),
            key=lambda p: (p[0] is None, p[0] or 0),
        )
        message = problems[0][1]
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problem(s) in this file)"
        raise ConfigError(message) from None
    config._file = file
    return config


def _located(config: Config, err: Any) -> tuple[int | None, str]:
    """An error of pydantic's as (line, one located line)."""
    loc: tuple[str | int, ...] = tuple(err["loc"])
    file = config._file
    line = file.keys.line_of(loc) if file is not None else None
    return line, str(config.error(loc, _message(loc, err)))


def _message(loc: tuple[str | int, ...], err: Any) -> str:
    if err["type"] == "extra_forbidden":
        name = str(loc[-1])
        known = _known_keys(loc[:-1])
        what = f"unknown section [{name}]" if len(loc) == 1 else f"unknown key '{name}'"
        if loc[0] == "providers" and len(loc) == 3 and loc[1] == "compat":
            return f'{what}: name a compatible server as [providers."compat/{name}"]'
        return f"{what}{did_you_mean(name, known) or '. Known: ' + ', '.join(known)}"
    if err["type"] in ("dict_type", "model_type", "model_attributes_type"):
        return "expected a table ([section] or { key = value })"
    if err["type"] == "finite_number":
        return "must be a finite number (not inf or nan)"
    return str(err["msg"]).removeprefix("Value error, ")


def _known_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys a table at `loc` may hold."""
    if not loc:
        return list(Config.model_fields)
    if len(loc) == 2 and loc[0] == "providers":
        return list(ProviderConfig.model_fields)
    if len(loc) == 2 and loc[0] == "prices":
        return list(Price.model_fields)
    return []

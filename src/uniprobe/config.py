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
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from uniprobe.errors import ConfigError

__all__ = ["Config", "Connection", "Price", "ProviderConfig", "load_config"]

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


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(_Model):
    """Prices in USD; any field may be left out."""

    text_input_per_mtok: float | None = Field(None, ge=0)
    """Per million input text tokens."""
    cached_input_per_mtok: float | None = Field(None, ge=0)
    """Per million input text tokens served from the provider's prompt cache."""
    cached_image_input_per_mtok: float | None = Field(None, ge=0)
    """Per million input image tokens served from the prompt cache (when left out, and the
    model bills image input at its text rate, `cached_input_per_mtok`)."""
    image_input_per_mtok: float | None = Field(None, ge=0)
    """Per million input image tokens."""
    text_output_per_mtok: float | None = Field(None, ge=0)
    """Per million output text tokens (reasoning and thinking tokens included)."""
    image_output_per_mtok: float | None = Field(None, ge=0)
    """Per million output image tokens."""
    per_image: float | None = Field(None, ge=0)
    """Per generated image (for providers that bill by image)."""


class ProviderConfig(_Model):
    """How to reach one provider, and how hard to push it."""

    api_key: SecretStr | None = None
    """The key itself (prefer api_key_env)."""
    api_key_env: str | None = None
    """Environment variable holding the key."""
    base_url: str | None = None
    """Endpoint (OpenAI-style URLs include /v1)."""
    timeout: float = Field(DEFAULT_TIMEOUT, gt=0)
    """Seconds before one request is abandoned."""
    concurrency: int | None = Field(None, ge=1)
    """Requests in flight at once to this provider."""
    rpm: float | None = Field(None, gt=0)
    """Requests per minute to this provider."""


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
        url = cfg.base_url or (
            os.environ.get(DEFAULT_URL_ENV[provider]) if provider in DEFAULT_URL_ENV else None
        )
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


def load_config(path: str | Path | None = None) -> Config:
    """Read the configuration (see the module doc for where it is looked for)."""
    if path is None:
        env = os.environ.get("UNIPROBE_CONFIG")
        path = Path(env) if env else Path("uniprobe.toml")
        if not env and not path.is_file():
            return Config()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {where}: {err['msg']}") from None

"""Model weights from a local folder or the Hugging Face Hub, the way Hugging Face users expect.

Local models (the diffusers backend, the detector judge) name their weights by a folder
or a Hugging Face model id. `locate` decides where `from_pretrained` reads them:

- a folder that exists is read as it is, never from the network;
- a name that looks like a path (`/...`, `./...`, `~/...`, `a/b/c`) but is no folder is an
  error (no download is tried);
- a model id, offline (`local_files_only`, or `HF_HUB_OFFLINE=1` in the environment), is
  read from its snapshot in the Hugging Face cache (`HF_HOME`, `HF_HUB_CACHE`), never
  from the network;
- a model id, online, has its config fetched first unless it is cached (so that a
  missing, gated or unreachable model fails early, with a clear reason); then
  `from_pretrained` checks for updates and downloads
  what is missing into the cache, showing huggingface_hub's progress bars on stderr
  (`HF_HUB_DISABLE_PROGRESS_BARS=1` hides them). A cached model loads without a
  connection. `HF_TOKEN` is used for private and gated models.

Whatever fails becomes a `WeightsUnavailable` whose one-line message says why and gives
the exact command that fetches the model (`hf download <id>`, the CLI of huggingface_hub).
huggingface_hub is imported on first use (it comes with transformers).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from uniprobe.errors import UniprobeError, one_line

__all__ = ["Weights", "WeightsUnavailable", "download_command", "locate", "offline_reason"]

HUB_URL = "https://huggingface.co"
_TRUE = ("1", "on", "yes", "true")


class WeightsUnavailable(UniprobeError):
    """A model's weights cannot be had. The message is one line: why, and the command that
    fetches them."""


@dataclass(frozen=True)
class Weights:
    """Where `from_pretrained` reads a model."""

    source: str
    """A folder, or the model id (online: what is missing is downloaded)."""
    local: bool
    """True when `source` is a folder: load with `local_files_only=True`."""


def download_command(repo_id: str) -> str:
    """The shell command that puts a model into the Hugging Face cache."""
    prefix = "HF_HUB_OFFLINE=0 " if _env_offline() else ""
    return f"{prefix}hf download {repo_id}"


def offline_reason(*, local_files_only: bool) -> str | None:
    """Why nothing may be downloaded (None: downloads are allowed)."""
    if local_files_only:
        return "local_files_only is set"
    if _env_offline():
        return "HF_HUB_OFFLINE=1"
    return None


def locate(name: str, *, config: str, local_files_only: bool) -> Weights:
    """Where to load `name` from (a folder or a Hugging Face model id); see the module rules.

    Args:
        name: a folder or a model id (`org/name`).
        config: the file every such model has at its root (`model_index.json` for a
            diffusers pipeline, `config.json` for a transformers model); fetched first
            when online.
        local_files_only: never use the network.

    Raises:
        WeightsUnavailable: one line, with the reason and the command to fetch the model.
    """
    if Path(name).expanduser().is_dir():
        return Weights(str(Path(name).expanduser()), local=True)
    if name.startswith(("/", "./", "../", "~", "\\")) or name.count("/") > 1:
        raise WeightsUnavailable(f"there is no folder {name}")
    hub = _import_hub()
    offline = offline_reason(local_files_only=local_files_only)
    try:
        if offline is not None:
            return Weights(hub.snapshot_download(name, local_files_only=True), local=True)
        if not isinstance(hub.try_to_load_from_cache(name, config), str):
            hub.hf_hub_download(name, config)  # not cached: fails early if it cannot come
    except Exception as exc:
        raise WeightsUnavailable(_reason(exc, name, config=config, offline=offline)) from exc
    return Weights(name, local=False)


def _env_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it, at the time of the call."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in _TRUE


def _import_hub() -> ModuleType:
    try:
        return importlib.import_module("huggingface_hub")
    except ImportError as exc:
        raise WeightsUnavailable(
            f"loading models by id needs huggingface_hub ({one_line(exc)}): "
            "pip install 'uniprobe[local]'"
        ) from exc


def _reason(exc: Exception, repo_id: str, *, config: str, offline: str | None) -> str:
    """Why a model id cannot be had, in one line, with what to do."""
    errors = importlib.import_module("huggingface_hub.errors")
    fetch = f"download it with: {download_command(repo_id)}"
    page = f"{HUB_URL}/{repo_id}"
    if isinstance(exc, errors.HFValidationError):
        return f"'{repo_id}' is neither a folder nor a valid Hugging Face model id"
    if offline is not None or isinstance(exc, errors.OfflineModeIsEnabled):
        why = offline or "HF_HUB_OFFLINE=1"
        return f"not in the Hugging Face cache, and downloads are off ({why}); {fetch}"
    if isinstance(exc, errors.GatedRepoError):
        return (
            f"the model is gated: accept its terms at {page}, set HF_TOKEN to a token "
            f"with access, then {fetch}"
        )
    if isinstance(exc, errors.RepositoryNotFoundError):
        return (
            f"no model '{repo_id}' on the Hugging Face Hub ({page}); if it is private, set "
            f"HF_TOKEN to a token with access, then {fetch}"
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"the model has no revision 'main' on the Hugging Face Hub ({page})"
    if isinstance(exc, errors.RemoteEntryNotFoundError):
        return f"the model has no {config} on the Hugging Face Hub: it is not this kind of model"
    if isinstance(exc, errors.LocalEntryNotFoundError):
        cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
        return (
            f"not in the Hugging Face cache, and the Hub cannot be reached "
            f"({one_line(cause)}); {fetch}"
        )
    return f"cannot fetch it from the Hugging Face Hub ({one_line(exc)}); {fetch}"

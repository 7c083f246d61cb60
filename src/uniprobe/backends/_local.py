"""What the local-model backends (diffusers, transformers) share: the device they pick,
how a failure reads in one line, and what counts as running out of memory."""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from types import ModuleType

from uniprobe.errors import BackendError, ConfigError, UniprobeError, one_line

__all__ = ["INSTALL_HINT", "auto_device", "import_local", "is_out_of_memory", "out_of_memory"]

INSTALL_HINT = "pip install 'uniprobe[local]'"
_OOM_MESSAGES = ("out of memory", "not enough memory")


def import_local(
    user: str,
    names: Sequence[str],
    *,
    minimum: tuple[str, tuple[int, int]] | None = None,
    error: type[UniprobeError] = ConfigError,
) -> list[ModuleType]:
    """The modules `names` (torch, transformers, ...) imported by name (type-checking
    torch's sources would cost mypy a minute per cold run), or `error` saying what `user`
    ("the diffusers backend") needs and how to install it; with `minimum` (a module of
    `names` and its least major.minor version), an older release is refused too."""
    try:
        modules = [importlib.import_module(name) for name in names]
    except ImportError as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name
        why = f"{exc.name} is missing" if missing else f"importing them failed: {one_line(exc)}"
        listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
        raise error(f"{user} needs {listed} ({why}): {INSTALL_HINT}") from exc
    if minimum is not None:
        name, least = minimum
        version = str(modules[list(names).index(name)].__version__)
        found = re.match(r"(\d+)\.(\d+)", version)
        if found is None or (int(found[1]), int(found[2])) < least:
            raise error(
                f"{user} needs {name}>={least[0]}.{least[1]} (found {version}): "
                "pip install -U 'uniprobe[local]'"
            )
    return modules


def auto_device(torch: ModuleType, option: str) -> str:
    """The device option, or for `auto` the first there is of cuda, mps, cpu."""
    if option != "auto":
        return option
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if torch.backends.mps.is_available() else "cpu"


def is_out_of_memory(exc: BaseException, torch: ModuleType) -> bool:
    """Whether `exc` says the device (or the host) ran out of memory."""
    oom_type = getattr(torch, "OutOfMemoryError", MemoryError)
    if isinstance(exc, MemoryError | oom_type):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(m in text for m in _OOM_MESSAGES)


def out_of_memory(backend: str, exc: BaseException, *, doing: str) -> BackendError:
    """The error of a call that ran out of memory (not retried: it would again)."""
    return BackendError(
        f"out of memory {doing}: {one_line(exc)}", backend=backend, kind="server", retryable=False
    )

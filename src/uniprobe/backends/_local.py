"""What the local-model backends (diffusers, transformers) share: the device they pick,
how a failure reads in one line, and what counts as running out of memory."""

from __future__ import annotations

from types import ModuleType

from uniprobe.errors import BackendError, one_line

__all__ = ["INSTALL_HINT", "auto_device", "is_out_of_memory", "out_of_memory"]

INSTALL_HINT = "pip install 'uniprobe[local]'"
_OOM_MESSAGES = ("out of memory", "not enough memory")


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

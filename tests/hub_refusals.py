"""What uniprobe says when the Hugging Face Hub refuses a model (shared by the local-model
tests; importing it needs no huggingface_hub)."""

from __future__ import annotations

import pytest
from _pytest.mark import ParameterSet


def hub_refusals(repo: str) -> list[ParameterSet]:
    """(status, X-Error-Code, the one-line reason uniprobe gives) for a Hub that refuses
    `repo`: it does not exist, or it is gated."""
    return [
        pytest.param(
            404,
            "RepoNotFound",
            f"no model '{repo}' on the Hugging Face Hub (https://huggingface.co/{repo}); if "
            f"it is private, set HF_TOKEN to a token with access, then download it with: "
            f"hf download {repo}",
            id="no-such-repo",
        ),
        pytest.param(
            401,
            "GatedRepo",
            f"the model is gated: accept its terms at https://huggingface.co/{repo}, set "
            f"HF_TOKEN to a token with access, then download it with: hf download {repo}",
            id="gated",
        ),
    ]

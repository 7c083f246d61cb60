"""`diffusers/<model-id>`: local text-to-image and instruction editing with Hugging Face diffusers.

The model name after `diffusers/` is a Hugging Face model id or a local folder holding a
text-to-image pipeline; the option `edit_model` names an instruction-editing pipeline
(InstructPix2Pix, FLUX Kontext, Qwen-Image-Edit, ...). Both are loaded with
`DiffusionPipeline.from_pretrained`: a folder as it is; a model id from the Hugging Face
cache, downloaded there first when missing (with progress bars), unless `local_files_only`
or `HF_HUB_OFFLINE=1` forbids it. A model that cannot be had is a one-line BackendError
with the reason and the command that fetches it (`uniprobe.hub`).

Context protocol (`emulated:fold-prompts+canvas-edit`). A diffusion pipeline keeps no
conversation, so each turn is drawn from two things:

- the prompt: the current user message, preceded by the earlier user messages folded in
  ("Earlier instructions: ...\\nNow: ..."; see `fold_prompt`);
- the canvas: the latest image in the conversation (the last one attached to this turn,
  else the last image of an earlier turn, drawn or attached).

With a canvas and an edit pipeline, the turn is an edit of the canvas; otherwise it is a
text-to-image generation. Without `edit_model` no turn is an edit and attached images are
not used: such a backend runs under `emulated:fold-prompts`, a different track.

Runs on CPU or GPU; noise is drawn on the CPU from the seed (the option `seed`, else the
session's seed), so one seed gives the same starting noise on any device.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import threading
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar, Literal

from PIL import Image
from pydantic import Field

from uniprobe.backends._local import (
    auto_device,
    import_local,
    is_out_of_memory,
    out_of_memory,
)
from uniprobe.backends.base import (
    Backend,
    Capabilities,
    Conversation,
    ImageData,
    Reply,
    Usage,
    UserTurn,
)
from uniprobe.backends.registry import backends
from uniprobe.errors import BackendError, one_line
from uniprobe.hub import WeightsUnavailable, locate
from uniprobe.scenes.render import to_png

__all__ = ["PROTOCOL", "PROTOCOL_WITHOUT_EDITS", "DiffusersBackend", "fold_prompt"]

PROTOCOL = "emulated:fold-prompts+canvas-edit"
"""Earlier user turns folded into the prompt; the canvas edited by the edit pipeline."""
PROTOCOL_WITHOUT_EDITS = "emulated:fold-prompts"
"""Earlier user turns folded into the prompt; every turn a fresh generation."""

Device = Literal["auto", "cpu", "cuda", "mps"]
DType = Literal["auto", "float32", "float16", "bfloat16"]
Role = Literal["generate", "edit"]

_MIN_DIFFUSERS = (0, 40)
"""How torch words allocation failures it does not raise as OutOfMemoryError (CPU, MPS)."""


def fold_prompt(conversation: Conversation, turn: UserTurn) -> str:
    """The prompt of `turn`: its text, after the earlier user messages folded in."""
    earlier = [_sentence(ex.turn.text) for ex in conversation.history if ex.turn.text.strip()]
    if not earlier:
        return turn.text.strip()
    return f"Earlier instructions: {' '.join(earlier)}\nNow: {turn.text.strip()}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _latest_image(conversation: Conversation, turn: UserTurn) -> ImageData | None:
    if turn.images:
        return turn.images[-1]
    for exchange in reversed(conversation.history):
        images = exchange.reply.images or exchange.turn.images
        if images:
            return images[-1]
    return None


def _import_local() -> tuple[ModuleType, ModuleType]:
    """torch and diffusers (transformers too: every pipeline we run needs it), or a
    ConfigError naming the extra. Older diffusers releases ignore the `dtype` argument
    (weights would load in float32): they are refused."""
    torch, diffusers, _ = import_local(
        "the diffusers backend",
        ("torch", "diffusers", "transformers"),
        minimum=("diffusers", _MIN_DIFFUSERS),
    )
    return torch, diffusers


def _call_parameters(pipeline: Any) -> Mapping[str, inspect.Parameter]:
    """The named parameters of the pipeline's `__call__` (pipelines differ in what they take)."""
    params = inspect.signature(pipeline.__call__).parameters
    return {k: p for k, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}


@backends.register("diffusers")
class DiffusersBackend(Backend):
    """Local diffusion pipelines: text-to-image, plus an optional instruction-editing one.

    Pipelines load once per backend, on the first turn that needs them; inference runs in
    a worker thread, one call at a time. `capabilities` is per class: `edits` holds only
    with `edit_model` (see `protocol`, which says which protocol this instance runs).
    """

    provider: ClassVar[str] = "diffusers"
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=False,
        edits=True,
        max_input_images=1,
        seed=True,
        text_output=False,
        protocol=PROTOCOL,
    )

    class Options(Backend.Options):
        """Options of the diffusers backend."""

        edit_model: str | None = None
        """Model id or local folder of an instruction-editing pipeline; none: no edits."""
        device: Device = "auto"
        """Where to run: auto picks cuda, then mps, then cpu."""
        dtype: DType = "auto"
        """Weight precision: auto is float16 on cuda and mps, float32 on cpu."""
        steps: int | None = Field(None, ge=1, le=1000)
        """Denoising steps (default: the pipeline's own)."""
        guidance_scale: float | None = Field(None, ge=0.0, le=100.0)
        """Text guidance (default: the pipeline's own)."""
        image_guidance_scale: float | None = Field(None, ge=0.0, le=100.0)
        """Image guidance of edit pipelines that take it (InstructPix2Pix)."""
        height: int | None = Field(None, ge=8, le=4096, multiple_of=8)
        """Image height in pixels (default: the pipeline's own). An edit pipeline that takes
        no size gets the canvas resized to it."""
        width: int | None = Field(None, ge=8, le=4096, multiple_of=8)
        """Image width in pixels (default: the pipeline's own). An edit pipeline that takes
        no size gets the canvas resized to it."""
        seed: int | None = Field(None, ge=0, lt=2**63)
        """Seed of every turn (default: the session's seed)."""
        local_files_only: bool = False
        """Load from local folders and the Hugging Face cache only, never download."""

    options: Options

    def __init__(self, model: str, options: Mapping[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(model, options, **kw)
        self._pipelines: dict[Role, Any] = {}
        self._has_edit = self.options.edit_model is not None
        self._lock = asyncio.Lock()
        # The worker thread holds this one: a cancelled call's thread runs on to the end,
        # and pipelines (their schedulers) are not safe to run twice at once.
        self._busy = threading.Lock()

    @classmethod
    def from_pipelines(
        cls,
        model: str,
        text_to_image: Any,
        *,
        edit: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> DiffusersBackend:
        """A backend over pipelines already built (they are used as they are: their device
        and dtype win over the options)."""
        backend = cls(model, options)
        backend._pipelines["generate"] = text_to_image
        if edit is not None:
            backend._pipelines["edit"] = edit
            backend._has_edit = True
        return backend

    @property
    def protocol(self) -> str:
        """`emulated:fold-prompts+canvas-edit`, or `emulated:fold-prompts` without an edit model."""
        return PROTOCOL if self._has_edit else PROTOCOL_WITHOUT_EDITS

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        torch, diffusers = _import_local()
        prompt = fold_prompt(conversation, turn)
        canvas = _latest_image(conversation, turn) if self._has_edit else None
        seed = self.options.seed if self.options.seed is not None else conversation.context.seed
        async with self._lock:
            return await asyncio.to_thread(
                self._draw, torch, diffusers, prompt=prompt, canvas=canvas, seed=seed
            )

    async def aclose(self) -> None:
        self._pipelines.clear()

    def _draw(
        self,
        torch: ModuleType,
        diffusers: ModuleType,
        *,
        prompt: str,
        canvas: ImageData | None,
        seed: int,
    ) -> Reply:
        role: Role = "generate" if canvas is None else "edit"
        with self._busy:
            pipeline = self._pipeline(role, torch, diffusers)
            params = _call_parameters(pipeline)
            kwargs = self._call_args(params, prompt=prompt, canvas=canvas)
            kwargs["generator"] = torch.Generator("cpu").manual_seed(seed)
            image = self._call(pipeline, kwargs, torch, role=role)
        default_steps = params.get("num_inference_steps")
        steps = kwargs.get("num_inference_steps", default_steps and default_steps.default)
        return Reply(
            images=(ImageData(to_png(image.convert("RGB"))),),
            usage=Usage(images=1),
            cost_usd=0.0,
            raw_meta={
                "mode": role,
                "pipeline": type(pipeline).__name__,
                "steps": steps,
                "seed": seed,
                "device": str(pipeline.device),
                "dtype": str(pipeline.dtype).removeprefix("torch."),
                "prompt": prompt,
            },
        )

    def _call(
        self, pipeline: Any, kwargs: dict[str, Any], torch: ModuleType, *, role: Role
    ) -> Image.Image:
        try:
            image: Image.Image = pipeline(**kwargs).images[0]
        except Exception as exc:
            verb = "generating" if role == "generate" else "editing"
            doing = f"{verb} with '{self._name_of(role)}'"
            if is_out_of_memory(exc, torch):
                raise self._out_of_memory(exc, doing=doing) from exc
            if isinstance(exc, ValueError | TypeError):
                raise BackendError(
                    f"the pipeline rejected the call ({doing}): {one_line(exc)}",
                    backend=self.name,
                    kind="client",
                    retryable=False,
                ) from exc
            raise  # anything else is a bug, recorded as such by the runner
        return image

    def _call_args(
        self, params: Mapping[str, inspect.Parameter], *, prompt: str, canvas: ImageData | None
    ) -> dict[str, Any]:
        o = self.options
        wanted: dict[str, Any] = {
            "prompt": prompt,
            "num_inference_steps": o.steps,
            "guidance_scale": o.guidance_scale,
            "image_guidance_scale": o.image_guidance_scale,
            "height": o.height,
            "width": o.width,
        }
        if canvas is not None:
            wanted["image"] = self._canvas_image(canvas, sized="height" in params)
        return {k: v for k, v in wanted.items() if v is not None and k in params}

    def _canvas_image(self, canvas: ImageData, *, sized: bool) -> Image.Image:
        """The canvas decoded; resized to the options' size when the pipeline takes no size
        (its output then follows the input)."""
        image = Image.open(io.BytesIO(canvas.data)).convert("RGB")
        if sized or (self.options.height is None and self.options.width is None):
            return image
        size = (self.options.width or image.width, self.options.height or image.height)
        return image.resize(size, Image.Resampling.LANCZOS)

    def _name_of(self, role: Role) -> str:
        if role == "edit":
            return self.options.edit_model or "the given edit pipeline"
        return self.model

    def _pipeline(self, role: Role, torch: ModuleType, diffusers: ModuleType) -> Any:
        if role not in self._pipelines:
            self._pipelines[role] = self._load(self._name_of(role), torch, diffusers)
        return self._pipelines[role]

    def _load(self, name: str, torch: ModuleType, diffusers: ModuleType) -> Any:
        device = self._device(torch)
        dtype = getattr(torch, self._dtype(device))
        try:
            weights = locate(
                name, config="model_index.json", local_files_only=self.options.local_files_only
            )
            pipeline = diffusers.DiffusionPipeline.from_pretrained(
                weights.source, dtype=dtype, local_files_only=weights.local
            )
            pipeline = pipeline.to(device)
        except WeightsUnavailable as exc:
            raise BackendError(
                f"cannot load pipeline '{name}': {exc}",
                backend=self.name,
                kind="config",
                retryable=False,
            ) from exc
        except Exception as exc:
            if is_out_of_memory(exc, torch):
                raise self._out_of_memory(exc, doing=f"loading '{name}' on {device}") from exc
            raise BackendError(
                f"cannot load pipeline '{name}': {one_line(exc)}",
                backend=self.name,
                kind="config",
                retryable=False,
            ) from exc
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def _device(self, torch: ModuleType) -> str:
        return auto_device(torch, self.options.device)

    def _dtype(self, device: str) -> str:
        if self.options.dtype != "auto":
            return self.options.dtype
        return "float32" if device == "cpu" else "float16"

    def _out_of_memory(self, exc: Exception, *, doing: str) -> BackendError:
        return out_of_memory(self.name, exc, doing=doing)

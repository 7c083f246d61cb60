"""`transformers/<model-id>`: Janus-Pro, a local unified model, through Hugging Face transformers.

The model name after `transformers/` is a Hugging Face model id or a local folder holding a
checkpoint in the transformers format (`JanusForConditionalGeneration` + `JanusProcessor`):
`deepseek-community/Janus-Pro-1B`, `deepseek-community/Janus-Pro-7B`,
`deepseek-community/Janus-1.3B`. (`deepseek-ai/Janus-Pro-*` hold the original format, which
transformers does not load.) Weights are found through `uniprobe.hub`, as for the diffusers
backend: a folder as it is; a model id from the Hugging Face cache, downloaded there first
when missing, unless `local_files_only` or `HF_HUB_OFFLINE=1` forbids it.

One model does both jobs, in two modes that never mix in one call:

- `send` draws: image generation (`generate(generation_mode="image")`), sampled with
  classifier-free guidance, decoded by the model's VQ decoder (384x384 for Janus-Pro). The
  reply is always one image, never text.
- `ask` answers in words (`generate(generation_mode="text")`), greedy, with the latest image
  of the conversation attached: what `--probe knows,sees` and planning need. Janus has no
  structured output: the JSON schema is left to the prompt (the caller parses strictly).

Context protocol (`emulated:transcript`). Janus keeps no conversation, so each call renders
the whole conversation with the checkpoint's chat template: every earlier exchange as a
user message (its text, after its attached images) and an assistant message (its images,
then its text or refusal), then the current turn as the last user message. Images are where
the conversation put them, but only one is shown to the model (576 tokens each in
Janus-Pro): in `ask`, the latest image of the conversation (the last one attached to this
turn, else the last image drawn in, else attached to, the latest exchange that has one);
every other image, and every image in `send`, is written as the text `[an image]`. Image
generation cannot read pixels (verified on transformers 5.25: the prompt's image placeholders
are embedded as tokens, so two different attached images give the same drawing), so this
backend makes no edits and takes no input images for drawing (`edits: no`,
`max_input_images: 0`); an image attached to a turn is seen only by `ask`.

Runs on CPU or GPU, one call at a time in a worker thread. A seed (the option `seed`, else
the session's) seeds torch's generators for the call only (the global state is restored): one
seed gives the same image on the same device, dtype and library versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar, Literal

import numpy as np
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
    ModelListings,
    Reply,
    Usage,
    UserTurn,
)
from uniprobe.backends.registry import backends
from uniprobe.errors import BackendError, ConfigError, one_line
from uniprobe.hub import WeightsUnavailable, locate
from uniprobe.scenes.render import to_png

__all__ = ["IMAGE_NOT_SHOWN", "PROTOCOL", "JanusBackend", "Transcript", "transcript"]

PROTOCOL = "emulated:transcript"
"""The conversation rendered with the model's chat template at every call (see the module)."""
IMAGE_NOT_SHOWN = "[an image]"
"""What stands in the transcript for an image the model is not shown."""
CHECKPOINTS = (
    "deepseek-community/Janus-Pro-1B",
    "deepseek-community/Janus-Pro-7B",
    "deepseek-community/Janus-1.3B",
)
"""The transformers-format Janus checkpoints on the Hugging Face Hub."""

Device = Literal["auto", "cpu", "cuda", "mps"]
DType = Literal["auto", "float32", "float16", "bfloat16"]

_MIN_TRANSFORMERS = (5, 0)


@dataclass(frozen=True)
class Transcript:
    """A conversation as chat messages for the processor's chat template, and the images
    shown (in the order of their `{"type": "image"}` entries)."""

    messages: list[dict[str, Any]]
    images: tuple[ImageData, ...]


def transcript(conversation: Conversation, turn: UserTurn, *, show_latest: bool) -> Transcript:
    """The messages that carry `turn` after `conversation` (see the module's protocol).

    With `show_latest`, the latest image of the conversation is an image entry; every other
    image is the text `IMAGE_NOT_SHOWN`.
    """
    said: list[tuple[str, tuple[ImageData, ...], str]] = []
    for exchange in conversation.history:
        reply = exchange.reply
        answer = "\n".join(t for t in (reply.text, reply.refusal) if t)
        said.append(("user", exchange.turn.images, exchange.turn.text))
        said.append(("assistant", reply.images, answer))
    said.append(("user", turn.images, turn.text))
    shown = _latest(said) if show_latest else None
    messages: list[dict[str, Any]] = []
    images: list[ImageData] = []
    for i, (role, pictures, text) in enumerate(said):
        content: list[dict[str, str]] = []
        for j, picture in enumerate(pictures):
            if (i, j) == shown:
                content.append({"type": "image"})
                images.append(picture)
            else:
                content.append({"type": "text", "text": IMAGE_NOT_SHOWN})
        if text.strip() or not content:
            content.append({"type": "text", "text": text.strip()})
        messages.append({"role": role, "content": content})
    return Transcript(messages, tuple(images))


def _latest(said: Sequence[tuple[str, tuple[ImageData, ...], str]]) -> tuple[int, int] | None:
    """Where the latest image is: the turn's last attachment, else the last image of the
    latest exchange that has one (its drawing before its attachment)."""
    if said[-1][1]:
        return len(said) - 1, len(said[-1][1]) - 1
    for turn_at in range(len(said) - 3, -1, -2):
        for at in (turn_at + 1, turn_at):
            if said[at][1]:
                return at, len(said[at][1]) - 1
    return None


def _import_local() -> tuple[ModuleType, ModuleType]:
    """torch and transformers (5.0 or newer), or a ConfigError naming the extra."""
    torch, transformers = import_local(
        "the transformers backend",
        ("torch", "transformers"),
        minimum=("transformers", _MIN_TRANSFORMERS),
    )
    return torch, transformers


@contextlib.contextmanager
def _seeded(torch: ModuleType, device: Any, seed: int) -> Iterator[None]:
    """torch's generators seeded with `seed` inside, restored after (the CPU's, and the
    model's accelerator's)."""
    accelerators = [device] if device.type in ("cuda", "mps") else []
    with torch.random.fork_rng(devices=accelerators, device_type=device.type):
        torch.manual_seed(seed)
        yield


def _to_image(pixels: Any, image_processor: Any) -> Image.Image:
    """One decoded image (height, width, channels), mapped back to 8-bit RGB by inverting the
    image processor's normalisation and truncating, as `JanusImageProcessor.postprocess`
    does (which takes channels first)."""
    array = pixels.detach().float().cpu().numpy()
    if image_processor.do_normalize:
        array = array * np.asarray(image_processor.image_std) + np.asarray(
            image_processor.image_mean
        )
    if image_processor.do_rescale:
        array = array / image_processor.rescale_factor
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "RGB")


@backends.register("transformers")
class JanusBackend(Backend):
    """Janus and Janus-Pro through transformers: draws in `send`, answers in words in `ask`.

    The model and processor load once per backend, on the first call; inference runs in a
    worker thread, one call at a time.
    """

    provider: ClassVar[str] = "transformers"
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=False,
        edits=False,
        max_input_images=0,
        seed=True,
        text_output=True,
        protocol=PROTOCOL,
        probes=True,
    )

    class Options(Backend.Options):
        """Options of the transformers (Janus) backend."""

        device: Device = "auto"
        """Where to run: auto picks cuda, then mps, then cpu."""
        dtype: DType = "auto"
        """Weight precision: auto is bfloat16 on cuda (Janus's own), float16 on mps,
        float32 on cpu."""
        seed: int | None = Field(None, ge=0, lt=2**63)
        """Seed of every call (default: the session's seed)."""
        guidance_scale: float | None = Field(None, gt=1.0, le=100.0)
        """Classifier-free guidance of image generation (default: the checkpoint's generation
        config, 5 for Janus-Pro). Over 1: transformers' Janus always draws the guided pair
        (at 1 or less, its `generate` fails on the doubled batch)."""
        temperature: float | None = Field(None, gt=0.0, le=10.0)
        """Sampling temperature of the image tokens (default: the checkpoint's, 1)."""
        max_new_tokens: int = Field(256, ge=1, le=8192)
        """Most tokens of a text answer (`ask`)."""
        local_files_only: bool = False
        """Load from local folders and the Hugging Face cache only, never download."""

    options: Options

    def __init__(self, model: str, options: Mapping[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(model, options, **kw)
        self._loaded: tuple[Any, Any] | None = None
        self._lock = asyncio.Lock()
        # The worker thread holds this one: a cancelled call's thread runs on to the end.
        self._busy = threading.Lock()

    @property
    def priced_models(self) -> tuple[str, ...]:
        """Nothing to price: a local model costs nothing per call."""
        return ()

    async def preflight(self, listings: ModelListings) -> list[str]:
        """What would stop the model from loading, found before the run: torch or
        transformers missing, or weights that cannot be had (no such folder; offline, a
        model id not in the cache; online, one the Hub does not give). Nothing is loaded."""
        try:
            _import_local()
            await asyncio.to_thread(
                locate,
                self.model,
                config="config.json",
                local_files_only=self.options.local_files_only,
            )
        except ConfigError as exc:
            return [f"{self.name}: {exc}"]
        except WeightsUnavailable as exc:
            return [str(self._cannot_load(str(exc)))]
        return []

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        """Draw `turn`: one image generated from the transcript (no image is shown)."""
        torch, transformers = _import_local()
        said = transcript(conversation, turn, show_latest=False)
        seed = self.options.seed if self.options.seed is not None else conversation.context.seed
        async with self._lock:
            return await asyncio.to_thread(self._draw, torch, transformers, said, seed)

    async def ask(
        self,
        conversation: Conversation,
        turn: UserTurn,
        *,
        schema: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Answer `turn` in words, the latest image of the conversation shown. `schema` is
        not sent (Janus has no structured output): the prompt must say the format."""
        torch, transformers = _import_local()
        said = transcript(conversation, turn, show_latest=True)
        seed = self.options.seed if self.options.seed is not None else conversation.context.seed
        async with self._lock:
            return await asyncio.to_thread(self._answer, torch, transformers, said, seed)

    async def aclose(self) -> None:
        self._loaded = None

    def _draw(
        self, torch: ModuleType, transformers: ModuleType, said: Transcript, seed: int
    ) -> Reply:
        with self._busy:
            model, processor = self._model(torch, transformers)
            kwargs = self._image_kwargs()
            with self._failures(torch, doing="drawing"):
                prompt = processor.apply_chat_template(said.messages, add_generation_prompt=True)
                inputs = processor(text=prompt, generation_mode="image", return_tensors="pt")
                inputs = inputs.to(model.device)
                with _seeded(torch, model.device, seed), torch.inference_mode():
                    tokens = model.generate(**inputs, generation_mode="image", **kwargs)
                    pixels = model.decode_image_tokens(tokens)
            image = _to_image(pixels[0], processor.image_processor)
        config = model.generation_config
        return Reply(
            images=(ImageData(to_png(image)),),
            usage=Usage(
                input_tokens=int(inputs["input_ids"].shape[1]),
                output_tokens=int(tokens.shape[1]),
                output_image_tokens=int(tokens.shape[1]),
                images=1,
            ),
            cost_usd=0.0,
            raw_meta={
                "mode": "image",
                "seed": seed,
                "guidance_scale": kwargs.get("guidance_scale", config.guidance_scale),
                "temperature": kwargs.get("temperature", config.temperature),
                "device": str(model.device),
                "dtype": str(model.dtype).removeprefix("torch."),
                "prompt": prompt,
            },
        )

    def _answer(
        self, torch: ModuleType, transformers: ModuleType, said: Transcript, seed: int
    ) -> Reply:
        pictures = [Image.open(io.BytesIO(i.data)).convert("RGB") for i in said.images]
        with self._busy:
            model, processor = self._model(torch, transformers)
            with self._failures(torch, doing="answering in words"):
                prompt = processor.apply_chat_template(said.messages, add_generation_prompt=True)
                inputs = processor(
                    text=prompt,
                    images=pictures or None,
                    generation_mode="text",
                    return_tensors="pt",
                )
                inputs = inputs.to(model.device, dtype=model.dtype)
                prompt_length = int(inputs["input_ids"].shape[1])
                # The limit as `max_length`: Janus hands `generate` a generation config in
                # which `max_new_tokens` makes transformers warn at every call.
                limit = prompt_length + self.options.max_new_tokens
                with _seeded(torch, model.device, seed), torch.inference_mode():
                    out = model.generate(
                        **inputs, generation_mode="text", max_length=limit, do_sample=False
                    )
            new = out[0][prompt_length:]
            text = processor.decode(new, skip_special_tokens=True).strip()
        eos = processor.tokenizer.eos_token_id
        image_tokens = len(pictures) * int(processor.num_image_tokens)
        return Reply(
            text=text,
            usage=Usage(
                input_tokens=prompt_length,
                output_tokens=int(new.shape[0]),
                input_image_tokens=image_tokens,
            ),
            cost_usd=0.0,
            raw_meta={
                "mode": "text",
                "finish": "stop" if eos in new.tolist() else "length",
                "image_shown": said.images[0].sha256 if said.images else None,
                "device": str(model.device),
                "dtype": str(model.dtype).removeprefix("torch."),
                "prompt": prompt,
            },
        )

    def _image_kwargs(self) -> dict[str, Any]:
        o = self.options
        wanted = {"guidance_scale": o.guidance_scale, "temperature": o.temperature}
        return {"do_sample": True, **{k: v for k, v in wanted.items() if v is not None}}

    @contextlib.contextmanager
    def _failures(self, torch: ModuleType, *, doing: str) -> Iterator[None]:
        """What the processor or the model raise, as BackendErrors: out of memory (a server
        error), a rejected input (a client error); anything else is a bug, re-raised for the
        runner to record as such."""
        try:
            yield
        except Exception as exc:
            if is_out_of_memory(exc, torch):
                raise self._out_of_memory(exc, doing=doing) from exc
            if isinstance(exc, ValueError | TypeError):
                raise BackendError(
                    f"the model rejected the call ({doing}): {one_line(exc)}",
                    backend=self.name,
                    kind="client",
                    retryable=False,
                ) from exc
            raise

    def _model(self, torch: ModuleType, transformers: ModuleType) -> tuple[Any, Any]:
        if self._loaded is None:
            self._loaded = self._load(torch, transformers)
        return self._loaded

    def _load(self, torch: ModuleType, transformers: ModuleType) -> tuple[Any, Any]:
        device = self._device(torch)
        dtype = getattr(torch, self._dtype(device))
        try:
            weights = locate(
                self.model, config="config.json", local_files_only=self.options.local_files_only
            )
            processor = transformers.JanusProcessor.from_pretrained(
                weights.source, local_files_only=weights.local
            )
            model = transformers.JanusForConditionalGeneration.from_pretrained(
                weights.source, dtype=dtype, local_files_only=weights.local
            )
            model = model.to(device).eval()
        except WeightsUnavailable as exc:
            raise self._cannot_load(str(exc)) from exc
        except Exception as exc:
            if is_out_of_memory(exc, torch):
                raise self._out_of_memory(exc, doing=f"loading '{self.model}' on {device}") from exc
            raise self._cannot_load(
                f"{one_line(exc)} (Janus checkpoints in the transformers format: "
                f"{', '.join(CHECKPOINTS)})"
            ) from exc
        _keep_image_start(model, processor)
        return model, processor

    def _cannot_load(self, why: str) -> BackendError:
        return BackendError(
            f"cannot load Janus model '{self.model}': {why}",
            backend=self.name,
            kind="config",
            retryable=False,
        )

    def _device(self, torch: ModuleType) -> str:
        return auto_device(torch, self.options.device)

    def _dtype(self, device: str) -> str:
        if self.options.dtype != "auto":
            return self.options.dtype
        return {"cuda": "bfloat16", "mps": "float16"}.get(device, "float32")

    def _out_of_memory(self, exc: Exception, *, doing: str) -> BackendError:
        return out_of_memory(self.name, exc, doing=doing)


def _keep_image_start(model: Any, processor: Any) -> None:
    """Tell image generation which token starts the image: the processor's, which it appends
    to every drawing prompt. Janus's `generate` reads it from the generation config's
    `generation_kwargs`, which a checkpoint saved with `_from_model_config` loses."""
    tokenizer = processor.tokenizer
    boi = tokenizer.convert_tokens_to_ids(processor.image_start_token)
    config = model.generation_config
    config.generation_kwargs = {
        **(getattr(config, "generation_kwargs", None) or {}),
        "boi_token_id": boi,
    }

"""The diffusers backend on tiny random-weight pipelines built from configs (32 px, 2 steps)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from diffusers import (  # noqa: E402
    AutoencoderKL,
    DDIMScheduler,
    DiffusionPipeline,
    StableDiffusionInstructPix2PixPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from PIL import Image  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

from fake_hub import cache_model, fake_hub, use_hub  # noqa: E402
from hub_refusals import hub_refusals  # noqa: E402
from uniprobe.backends import _local as local_helpers  # noqa: E402
from uniprobe.backends.base import (  # noqa: E402
    Conversation,
    Exchange,
    ImageData,
    Reply,
    Session,
    SessionContext,
    UserTurn,
)
from uniprobe.backends.diffusers import (  # noqa: E402
    PROTOCOL,
    PROTOCOL_WITHOUT_EDITS,
    DiffusersBackend,
    fold_prompt,
)
from uniprobe.backends.registry import create_backend  # noqa: E402
from uniprobe.errors import BackendError, ConfigError  # noqa: E402
from uniprobe.scenes.render import to_png  # noqa: E402

SIZE = 32
OPTIONS = {"steps": 2, "height": SIZE, "width": SIZE}
RULE = "From now on, every animal is blue"
GENERATE = "Generate an image of a cat."
EDIT = "Make the cat smaller."


@dataclass(frozen=True)
class Tiny:
    text_to_image: StableDiffusionPipeline
    edit: StableDiffusionInstructPix2PixPipeline
    saved_text_to_image: Path
    saved_edit: Path


def _tokenizer() -> CLIPTokenizer:
    """A character-level CLIP tokenizer, built in memory (transformers 5 takes the vocabulary
    and merges as data)."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in "abcdefghijklmnopqrstuvwxyz":
        vocab[char] = len(vocab)
        vocab[f"{char}</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=16)


def _components(in_channels: int) -> dict[str, Any]:
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=SIZE // 2,
        in_channels=in_channels,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        norm_num_groups=4,
        attention_head_dim=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=SIZE,
    )
    text = CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=16,
        intermediate_size=32,
        num_attention_heads=2,
        num_hidden_layers=1,
        vocab_size=64,
        max_position_embeddings=16,
        projection_dim=16,
    )
    scheduler = DDIMScheduler(
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": CLIPTextModel(text),
        "tokenizer": _tokenizer(),
        "scheduler": scheduler,
        "safety_checker": None,
        "feature_extractor": None,
        "requires_safety_checker": False,
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    root = tmp_path_factory.mktemp("tiny")
    text_to_image = StableDiffusionPipeline(**_components(4))
    edit = StableDiffusionInstructPix2PixPipeline(**_components(8))
    for pipeline in (text_to_image, edit):
        pipeline.set_progress_bar_config(disable=True)
    text_to_image.save_pretrained(root / "t2i")
    edit.save_pretrained(root / "edit")
    return Tiny(text_to_image, edit, root / "t2i", root / "edit")


Call = tuple[str, dict[str, Any]]


def _spy(original: Callable[..., Any], calls: list[Call]) -> Callable[..., Any]:
    @functools.wraps(original)  # keeps the signature the backend reads
    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append((type(self).__name__, kwargs))
        return original(self, *args, **kwargs)

    return spy


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Every pipeline call of the test: (pipeline class, keyword arguments)."""
    record: list[Call] = []
    for cls in (StableDiffusionPipeline, StableDiffusionInstructPix2PixPipeline):
        monkeypatch.setattr(cls, "__call__", _spy(cls.__call__, record))
    return record


def _run(backend: DiffusersBackend, turns: Sequence[UserTurn], *, seed: int = 7) -> list[Reply]:
    async def go() -> list[Reply]:
        session = Session(backend.send, SessionContext("case.one", 0, seed))
        return [await session.send(turn) for turn in turns]

    return asyncio.run(go())


def _pixels(image: Image.Image | bytes) -> np.ndarray:
    if isinstance(image, bytes):
        image = Image.open(io.BytesIO(image))
    return np.asarray(image.convert("RGB"))


def _attached() -> ImageData:
    return ImageData(to_png(Image.new("RGB", (64, 48), (200, 30, 30))))


def _three_turns() -> list[UserTurn]:
    return [UserTurn(1, RULE), UserTurn(2, GENERATE), UserTurn(3, EDIT, (_attached(),))]


def _assert_png(reply: Reply) -> None:
    assert len(reply.images) == 1
    image = Image.open(io.BytesIO(reply.images[0].data))
    assert (image.format, image.size, image.mode) == ("PNG", (SIZE, SIZE), "RGB")
    assert (reply.text, reply.refusal, reply.usage.images, reply.cost_usd) == (None, None, 1, 0.0)


FOLDED_2 = f"Earlier instructions: {RULE}.\nNow: {GENERATE}"
FOLDED_3 = f"Earlier instructions: {RULE}. {GENERATE}\nNow: {EDIT}"


def test_three_turns_fold_prompts_and_edit_the_canvas(tiny: Tiny, calls: list[Call]) -> None:
    options = {**OPTIONS, "image_guidance_scale": 1.25}
    backend = DiffusersBackend.from_pipelines(
        "tiny", tiny.text_to_image, edit=tiny.edit, options=options
    )
    replies = _run(backend, _three_turns())

    for reply in replies:
        _assert_png(reply)
    assert backend.protocol == PROTOCOL
    assert [(cls, kw["prompt"]) for cls, kw in calls] == [
        ("StableDiffusionPipeline", RULE),
        ("StableDiffusionInstructPix2PixPipeline", FOLDED_2),
        ("StableDiffusionInstructPix2PixPipeline", FOLDED_3),
    ]
    first, second, third = (kw for _, kw in calls)
    assert set(first) == {"prompt", "num_inference_steps", "height", "width", "generator"}
    assert (first["num_inference_steps"], first["height"], first["width"]) == (2, SIZE, SIZE)
    # The instruction-editing pipeline takes image guidance and no size: the canvas sets it.
    assert set(second) == {
        "prompt",
        "num_inference_steps",
        "image_guidance_scale",
        "image",
        "generator",
    }
    assert second["image_guidance_scale"] == 1.25
    assert [kw["generator"].initial_seed() for kw in (first, second, third)] == [7, 7, 7]
    # Turn 2's canvas is turn 1's picture; turn 3's is the attached image, fitted to 32x32.
    assert np.array_equal(_pixels(second["image"]), _pixels(replies[0].images[0].data))
    assert third["image"].size == (SIZE, SIZE)
    assert (_pixels(third["image"]) == (200, 30, 30)).all()
    assert replies[2].raw_meta == {
        "mode": "edit",
        "pipeline": "StableDiffusionInstructPix2PixPipeline",
        "steps": 2,
        "seed": 7,
        "device": "cpu",
        "dtype": "float32",
        "prompt": FOLDED_3,
    }
    assert replies[0].raw_meta["mode"] == "generate"


def test_without_an_edit_pipeline_every_turn_is_a_generation(tiny: Tiny, calls: list[Call]) -> None:
    backend = DiffusersBackend.from_pipelines("tiny", tiny.text_to_image, options=OPTIONS)
    replies = _run(backend, _three_turns())

    assert backend.protocol == PROTOCOL_WITHOUT_EDITS
    assert [(cls, kw["prompt"], "image" in kw) for cls, kw in calls] == [
        ("StableDiffusionPipeline", RULE, False),
        ("StableDiffusionPipeline", FOLDED_2, False),
        ("StableDiffusionPipeline", FOLDED_3, False),
    ]
    assert [r.raw_meta["mode"] for r in replies] == ["generate"] * 3
    for reply in replies:
        _assert_png(reply)


def test_the_seed_decides_the_image(tiny: Tiny) -> None:
    def draw(seed: int, options: dict[str, Any] = OPTIONS) -> Reply:
        backend = DiffusersBackend.from_pipelines("tiny", tiny.text_to_image, options=options)
        return _run(backend, [UserTurn(1, GENERATE)], seed=seed)[0]

    same = draw(1).images[0].data
    assert draw(1).images[0].data == same
    assert draw(2).images[0].data != same
    # The option wins over the session's seed.
    fixed = [draw(seed, {**OPTIONS, "seed": 5}) for seed in (1, 2)]
    assert fixed[0].images[0].data == fixed[1].images[0].data
    assert fixed[0].raw_meta["seed"] == 5


def test_loads_saved_pipelines_once_from_local_folders(
    tiny: Tiny, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[tuple[str, dict[str, Any]]] = []
    original = DiffusionPipeline.from_pretrained

    def counting(name: str, **kwargs: Any) -> Any:
        loads.append((name, kwargs))
        return original(name, **kwargs)

    monkeypatch.setattr(DiffusionPipeline, "from_pretrained", counting)
    path, edit_path = str(tiny.saved_text_to_image), str(tiny.saved_edit)
    loaded = create_backend(f"diffusers/{path}", {**OPTIONS, "edit_model": edit_path})
    in_memory = DiffusersBackend.from_pipelines(
        "tiny", tiny.text_to_image, edit=tiny.edit, options=OPTIONS
    )
    turns = [UserTurn(1, GENERATE), UserTurn(2, EDIT), UserTurn(3, EDIT)]
    assert isinstance(loaded, DiffusersBackend)

    replies = _run(loaded, turns)

    assert [(name, kw["local_files_only"], kw["dtype"]) for name, kw in loads] == [
        (path, True, torch.float32),
        (edit_path, True, torch.float32),
    ]
    assert [r.raw_meta["mode"] for r in replies] == ["generate", "edit", "edit"]
    # Same weights, same seed: the loaded pipelines draw what the in-memory ones draw.
    expected = _run(in_memory, turns)
    assert [r.images[0].data for r in replies] == [r.images[0].data for r in expected]


@pytest.mark.parametrize(
    ("where", "options", "turns"),
    [
        pytest.param("missing", OPTIONS, [UserTurn(1, GENERATE)], id="no-such-path"),
        pytest.param("empty", OPTIONS, [UserTurn(1, GENERATE)], id="no-model-index"),
        pytest.param(
            "tiny",
            {**OPTIONS, "edit_model": "<missing>"},
            [UserTurn(1, EDIT, (_attached(),))],
            id="edit-model",
        ),
    ],
)
def test_a_pipeline_that_cannot_load_is_a_one_line_config_error(
    tiny: Tiny, tmp_path: Path, where: str, options: dict[str, Any], turns: list[UserTurn]
) -> None:
    missing = str(tmp_path / "nothing-here")
    model = {
        "missing": missing,
        "empty": str(tmp_path),
        "tiny": str(tiny.saved_text_to_image),
    }[where]
    options = {k: missing if v == "<missing>" else v for k, v in options.items()}
    failing = missing if where == "tiny" else model

    with pytest.raises(BackendError) as info:
        _run(DiffusersBackend(model, options), turns)

    message = str(info.value)
    assert message.startswith(f"diffusers/{model}: cannot load pipeline '{failing}': ")
    assert "\n" not in message
    assert (info.value.kind, info.value.retryable, info.value.backend) == (
        "config",
        False,
        f"diffusers/{model}",
    )


REPO = "uniprobe-tests/tiny-sd"
"""A model id: only ever looked for in a test's own cache and fake Hub."""
CANNOT = f"diffusers/{REPO}: cannot load pipeline '{REPO}': "


@pytest.mark.parametrize(
    ("offline", "options", "message"),
    [
        pytest.param(
            True,
            OPTIONS,
            "not in the Hugging Face cache, and downloads are off (HF_HUB_OFFLINE=1); "
            f"download it with: HF_HUB_OFFLINE=0 hf download {REPO}",
            id="HF_HUB_OFFLINE",
        ),
        pytest.param(
            False,
            {**OPTIONS, "local_files_only": True},
            "not in the Hugging Face cache, and downloads are off (local_files_only is set); "
            f"download it with: hf download {REPO}",
            id="local_files_only",
        ),
    ],
)
def test_offline_a_model_id_missing_from_the_cache_names_the_download_command(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    offline: bool,
    options: dict[str, Any],
    message: str,
) -> None:
    with fake_hub(404, "RepoNotFound") as hub:
        use_hub(monkeypatch, tmp_path, offline=offline, endpoint=hub.url)
        with pytest.raises(BackendError) as info:
            _run(DiffusersBackend(REPO, options), [UserTurn(1, GENERATE)])

    assert str(info.value) == CANNOT + message
    assert (info.value.kind, info.value.retryable) == ("config", False)
    assert hub.requests == []


def test_offline_a_model_id_in_the_cache_loads_from_its_snapshot(
    tiny: Tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = cache_model(tmp_path, REPO, tiny.saved_text_to_image)
    loads: list[tuple[str, bool]] = []
    original = DiffusionPipeline.from_pretrained

    def counting(name: str, **kwargs: Any) -> Any:
        loads.append((name, kwargs["local_files_only"]))
        return original(name, **kwargs)

    monkeypatch.setattr(DiffusionPipeline, "from_pretrained", counting)
    turns = [UserTurn(1, GENERATE)]
    with fake_hub(404, "RepoNotFound") as hub:
        use_hub(monkeypatch, tmp_path, offline=True, endpoint=hub.url)
        replies = _run(DiffusersBackend(REPO, OPTIONS), turns)

    assert hub.requests == []
    assert loads == [(str(snapshot), True)]
    in_memory = DiffusersBackend.from_pipelines("tiny", tiny.text_to_image, options=OPTIONS)
    assert replies[0].images[0].data == _run(in_memory, turns)[0].images[0].data


@pytest.mark.parametrize(("status", "error_code", "message"), hub_refusals(REPO))
def test_online_a_model_id_missing_from_the_cache_is_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int, error_code: str, message: str
) -> None:
    with fake_hub(status, error_code) as hub:
        use_hub(monkeypatch, tmp_path, offline=False, endpoint=hub.url)
        with pytest.raises(BackendError) as info:
            _run(DiffusersBackend(REPO, OPTIONS), [UserTurn(1, GENERATE)])

    # (huggingface_hub may also ask for its registry of agents: /api/agent-harnesses)
    asked = [r for r in hub.requests if REPO in r]
    assert asked == [f"HEAD /{REPO}/resolve/main/model_index.json"]
    assert str(info.value) == CANNOT + message
    assert (info.value.kind, info.value.retryable) == ("config", False)


class _Failing:
    """A pipeline stand-in whose every call raises `error`."""

    device = torch.device("cpu")
    dtype = torch.float32

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __call__(self, prompt: str, num_inference_steps: int = 2, generator: Any = None) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        pytest.param(
            torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
            "server",
            "out of memory generating with 'tiny': OutOfMemoryError: CUDA out of memory. "
            "Tried to allocate 20.00 GiB",
            id="cuda",
        ),
        pytest.param(
            RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 9 GB"),
            "server",
            "out of memory generating with 'tiny': RuntimeError: DefaultCPUAllocator: not "
            "enough memory: you tried to allocate 9 GB",
            id="cpu",
        ),
        pytest.param(
            ValueError("`height` has to be divisible by 8 but are 30"),
            "client",
            "the pipeline rejected the call (generating with 'tiny'): ValueError: `height` "
            "has to be divisible by 8 but are 30",
            id="rejected",
        ),
    ],
)
def test_pipeline_failures_become_backend_errors(error: Exception, kind: str, message: str) -> None:
    backend = DiffusersBackend.from_pipelines("tiny", _Failing(error))

    with pytest.raises(BackendError) as info:
        _run(backend, [UserTurn(1, GENERATE)])

    assert str(info.value) == f"diffusers/tiny: {message}"
    assert (info.value.kind, info.value.retryable) == (kind, False)
    assert info.value.__cause__ is error


def test_an_unclassified_pipeline_error_is_not_disguised() -> None:
    error = RuntimeError("mat1 and mat2 shapes cannot be multiplied")
    backend = DiffusersBackend.from_pipelines("tiny", _Failing(error))

    with pytest.raises(RuntimeError) as info:
        _run(backend, [UserTurn(1, GENERATE)])

    assert info.value is error


class _Slow:
    """A pipeline stand-in that takes 0.2 s in its worker thread and counts overlaps."""

    device = torch.device("cpu")
    dtype = torch.float32

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.calls = 0
        self.guard = threading.Lock()

    def __call__(self, prompt: str, generator: Any = None) -> Any:
        with self.guard:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.2)
        with self.guard:
            self.running -= 1
        return type("Output", (), {"images": [Image.new("RGB", (8, 8))]})


def test_two_sessions_take_turns_while_the_event_loop_stays_free() -> None:
    pipeline = _Slow()
    backend = DiffusersBackend.from_pipelines("slow", pipeline)
    ticks: list[float] = []

    async def tick() -> None:
        for _ in range(8):
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    async def go() -> None:
        sessions = [Session(backend.send, SessionContext(f"case.{i}", 0, i)) for i in range(2)]
        await asyncio.gather(tick(), *(s.send(UserTurn(1, GENERATE)) for s in sessions))

    asyncio.run(go())

    assert pipeline.most == 1
    assert len(ticks) == 8
    assert ticks[-1] - ticks[0] < 0.35  # the loop ticked during the 0.4 s of inference


def test_a_cancelled_call_still_holds_the_pipeline_until_it_ends() -> None:
    pipeline = _Slow()
    backend = DiffusersBackend.from_pipelines("slow", pipeline)
    conversation = Conversation(SessionContext("case", 0, 1))

    async def go() -> None:
        first = asyncio.create_task(backend.send(conversation, UserTurn(1, GENERATE)))
        await asyncio.sleep(0.05)
        first.cancel()  # as a timeout would: its worker thread runs on
        with contextlib.suppress(asyncio.CancelledError):
            await first
        await backend.send(conversation, UserTurn(1, GENERATE))

    asyncio.run(go())

    assert (pipeline.calls, pipeline.most) == (2, 1)


def test_a_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "diffusers", None)
    backend = DiffusersBackend("some/model")

    with pytest.raises(ConfigError) as info:
        asyncio.run(backend.send(Conversation(SessionContext("c", 0, 1)), UserTurn(1, GENERATE)))

    assert str(info.value) == (
        "the diffusers backend needs torch, diffusers and transformers (diffusers is missing): "
        "pip install 'uniprobe[local]'"
    )


def test_a_broken_install_says_what_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str) -> Any:
        raise ImportError("cannot import name 'resolve_revision' from 'huggingface_hub'")

    # the local backends import their libraries through one helper (backends/_local.py)
    monkeypatch.setattr(local_helpers, "importlib", SimpleNamespace(import_module=broken))
    backend = DiffusersBackend("some/model")

    with pytest.raises(ConfigError) as info:
        asyncio.run(backend.send(Conversation(SessionContext("c", 0, 1)), UserTurn(1, GENERATE)))

    assert str(info.value) == (
        "the diffusers backend needs torch, diffusers and transformers (importing them failed: "
        "ImportError: cannot import name 'resolve_revision' from 'huggingface_hub'): "
        "pip install 'uniprobe[local]'"
    )


def test_an_old_diffusers_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["diffusers"], "__version__", "0.35.2")
    backend = DiffusersBackend("some/model")

    with pytest.raises(ConfigError) as info:
        asyncio.run(backend.send(Conversation(SessionContext("c", 0, 1)), UserTurn(1, GENERATE)))

    assert str(info.value) == (
        "the diffusers backend needs diffusers>=0.40 (found 0.35.2): "
        "pip install -U 'uniprobe[local]'"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"steps": 0}, "option 'steps': Input should be greater than or equal to 1"),
        pytest.param({"height": 30}, "option 'height': Input should be a multiple of 8"),
        pytest.param(
            {"device": "tpu"}, "option 'device': Input should be 'auto', 'cpu', 'cuda' or 'mps'"
        ),
        pytest.param(
            {"dtype": "int8"},
            "option 'dtype': Input should be 'auto', 'float32', 'float16' or 'bfloat16'",
        ),
        pytest.param(
            {"local_files_only": "maybe"},
            "option 'local_files_only': Input should be a valid boolean, unable to interpret input",
        ),
        pytest.param({"colour": "red"}, "option 'colour': Extra inputs are not permitted"),
    ],
)
def test_invalid_options_are_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        DiffusersBackend("tiny", options)

    assert str(info.value) == f"diffusers/tiny: {message}"


def test_options_and_capabilities() -> None:
    backend = create_backend("diffusers/org/some-model", {"steps": "4", "edit_model": "org/edit"})

    assert isinstance(backend, DiffusersBackend)
    assert (backend.name, backend.model, backend.protocol) == (
        "diffusers/org/some-model",
        "org/some-model",
        PROTOCOL,
    )
    assert (backend.options.steps, backend.options.seed, backend.options.local_files_only) == (
        4,
        None,
        False,
    )
    caps = DiffusersBackend.capabilities
    assert (caps.multi_turn, caps.edits, caps.text_output, caps.seed, caps.protocol) == (
        False,
        True,
        False,
        True,
        PROTOCOL,
    )


def test_fold_prompt_keeps_the_current_message_last() -> None:
    context = SessionContext("c", 0, 1)
    first = Conversation(context)
    later = Conversation(context, (Exchange(UserTurn(1, "  be brief! "), Reply()),))

    assert fold_prompt(first, UserTurn(1, " a cat ")) == "a cat"
    assert fold_prompt(later, UserTurn(2, "a dog")) == "Earlier instructions: be brief!\nNow: a dog"

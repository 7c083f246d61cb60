"""The transformers (Janus) backend on a tiny random-weight Janus built from configs (32 px)."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402
from transformers import JanusForConditionalGeneration, JanusProcessor  # noqa: E402

from fake_hub import cache_model, fake_hub, use_hub  # noqa: E402
from tiny_janus import IMAGE_TOKENS, SIZE, build_tiny_janus  # noqa: E402
from uniprobe.backends.base import (  # noqa: E402
    Conversation,
    Exchange,
    ImageData,
    ModelListings,
    Reply,
    Session,
    SessionContext,
    UserTurn,
)
from uniprobe.backends.registry import create_backend  # noqa: E402
from uniprobe.backends.transformers_janus import (  # noqa: E402
    CHECKPOINTS,
    JanusBackend,
    _to_image,
)
from uniprobe.errors import BackendError, ConfigError  # noqa: E402
from uniprobe.scenes.render import to_png  # noqa: E402

RULE = "From now on, every animal is blue."
DRAW = "Draw a cat."
ASK = 'How many "cat" does the image show? Answer with a number.'
SYSTEM = "You are a helpful language and vision assistant."
EOS = "<｜end▁of▁sentence｜>"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_janus(tmp_path_factory.mktemp("janus") / "tiny")


Call = dict[str, Any]


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """The keyword arguments of every `generate` call of the test."""
    record: list[Call] = []
    original = JanusForConditionalGeneration.generate

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        record.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(JanusForConditionalGeneration, "generate", spy)
    return record


def _session(backend: JanusBackend, seed: int = 7) -> Session:
    return Session(backend.send, SessionContext("case.one", 0, seed))


def _draw(backend: JanusBackend, texts: Sequence[str], *, seed: int = 7) -> list[Reply]:
    async def go() -> list[Reply]:
        session = _session(backend, seed)
        return [await session.send(UserTurn(i, t)) for i, t in enumerate(texts, 1)]

    return asyncio.run(go())


def _png(reply: Reply) -> Image.Image:
    assert len(reply.images) == 1
    image = Image.open(io.BytesIO(reply.images[0].data))
    assert (image.format, image.size, image.mode) == ("PNG", (SIZE, SIZE), "RGB")
    return image


def test_send_draws_an_image_of_the_model_size_from_the_transcript(
    tiny: Path, generated: list[Call]
) -> None:
    backend = create_backend(f"transformers/{tiny}", {"guidance_scale": 3.5})
    assert isinstance(backend, JanusBackend)

    first, second = _draw(backend, [RULE, DRAW])

    for reply in (first, second):
        _png(reply)
        assert (reply.text, reply.refusal, reply.cost_usd) == (None, None, 0.0)
        assert (reply.usage.images, reply.usage.output_image_tokens) == (1, IMAGE_TOKENS)
    assert second.raw_meta == {
        "mode": "image",
        "seed": 7,
        "guidance_scale": 3.5,
        "temperature": 1,
        "device": "cpu",
        "dtype": "float32",
        "prompt": (
            f"<|User|>: {RULE}\n\n<|Assistant|>: [an image]<｜end▁of▁sentence｜>"
            f"<|User|>: {DRAW}\n\n<|Assistant|>:"
        ),
    }
    # One token per character (the tiny tokenizer) or special token, then the image start.
    prompt = second.raw_meta["prompt"]
    assert second.usage.input_tokens == len(prompt.replace(EOS, "|")) + 1
    assert [
        sorted(k for k in call if k not in ("input_ids", "attention_mask")) for call in generated
    ] == [["do_sample", "generation_mode", "guidance_scale"]] * 2
    assert generated[1]["generation_mode"] == "image"
    assert (generated[1]["do_sample"], generated[1]["guidance_scale"]) == (True, 3.5)


def test_an_attached_image_is_not_drawn_from(tiny: Path, generated: list[Call]) -> None:
    backend = JanusBackend(str(tiny))
    attached = ImageData(to_png(Image.new("RGB", (40, 30), (200, 30, 30))))

    async def go() -> Reply:
        return await _session(backend).send(UserTurn(1, "Make it blue.", (attached,)))

    reply = asyncio.run(go())

    _png(reply)
    assert reply.raw_meta["prompt"] == "<|User|>: [an image] Make it blue.\n\n<|Assistant|>:"
    assert "pixel_values" not in generated[0]


def test_the_seed_decides_the_image_and_leaves_torch_as_it_was(tiny: Path) -> None:
    def draw(seed: int, options: dict[str, Any] | None = None) -> bytes:
        return _draw(JanusBackend(str(tiny), options), [DRAW], seed=seed)[0].images[0].data

    torch.manual_seed(123)
    state = torch.get_rng_state()
    same = draw(1)
    assert torch.equal(torch.get_rng_state(), state)
    assert draw(1) == same
    assert draw(2) != same
    # The option wins over the session's seed.
    assert draw(1, {"seed": 5}) == draw(2, {"seed": 5})


def _picture(rgb: tuple[int, int, int]) -> ImageData:
    return ImageData(to_png(Image.new("RGB", (SIZE, SIZE), rgb)))


def test_ask_answers_in_words_with_the_latest_drawing_shown(
    tiny: Path, generated: list[Call], monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[list[Image.Image]] = []
    call = JanusProcessor.__call__

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        shown.append(list(kwargs.get("images") or []))
        return call(self, *args, **kwargs)

    monkeypatch.setattr(JanusProcessor, "__call__", spy)
    red, blue = _picture((220, 20, 20)), _picture((20, 20, 220))
    history = (
        Exchange(UserTurn(1, RULE), Reply(images=(red,))),
        Exchange(UserTurn(2, DRAW), Reply(images=(blue,))),
    )
    conversation = Conversation(SessionContext("case.one", 0, 7), history)
    schema = {"type": "object", "properties": {"q1": {"type": "integer"}}}
    backend = JanusBackend(str(tiny), {"max_new_tokens": 12})

    answer = asyncio.run(backend.ask(conversation, UserTurn(2, ASK), schema=schema))

    assert isinstance(answer.text, str)
    assert (answer.images, answer.refusal, answer.cost_usd) == ((), None, 0.0)
    assert answer.usage.output_tokens == 12  # random weights never stop early here
    assert answer.usage.input_image_tokens == IMAGE_TOKENS
    assert answer.raw_meta["finish"] == "length"
    assert answer.raw_meta["image_shown"] == blue.sha256
    assert answer.raw_meta["prompt"] == (
        f"<|User|>: {RULE}\n\n<|Assistant|>: [an image]{EOS}"
        f"<|User|>: {DRAW}\n\n<|Assistant|>: <image_placeholder>{EOS}"
        f"<|User|>: {ASK}\n\n<|Assistant|>:"
    )
    # The processor read the pixels of the latest drawing, and nothing else.
    assert len(shown) == 1
    assert [np.asarray(image)[0, 0].tolist() for image in shown[0]] == [[20, 20, 220]]
    (text_call,) = generated
    assert (text_call["generation_mode"], text_call["do_sample"]) == ("text", False)
    assert text_call["max_length"] == len(text_call["input_ids"][0]) + 12
    assert tuple(text_call["pixel_values"].shape) == (1, 3, SIZE, SIZE)
    assert "schema" not in text_call
    # The processor puts its default system prompt before the conversation; one image is
    # IMAGE_TOKENS placeholders between its start and end.
    processor = JanusProcessor.from_pretrained(str(tiny), local_files_only=True)
    sent = processor.decode(text_call["input_ids"][0])  # type: ignore[no-untyped-call]
    assert sent.startswith(f"{SYSTEM} ")
    image = "<begin_of_image>" + "<image_placeholder>" * IMAGE_TOKENS + "<end_of_image>"
    assert sent.endswith(answer.raw_meta["prompt"].replace("<image_placeholder>", image))


def test_ask_without_any_image_answers_from_words_alone(tiny: Path, generated: list[Call]) -> None:
    backend = JanusBackend(str(tiny), {"max_new_tokens": 3})
    context = SessionContext("case.one", 0, 7)

    answer = asyncio.run(backend.ask(Conversation(context), UserTurn(1, ASK)))

    assert isinstance(answer.text, str)
    assert answer.raw_meta["image_shown"] is None
    assert answer.usage.input_image_tokens == 0
    assert "pixel_values" not in generated[0]


def test_a_checkpoint_without_the_image_start_in_its_generation_config_still_draws(
    tiny: Path, tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(tiny, tmp_path / "plain"))
    config = json.loads((folder / "generation_config.json").read_text())
    del config["generation_kwargs"]
    (folder / "generation_config.json").write_text(json.dumps(config))

    reply = _draw(JanusBackend(str(folder)), [DRAW])[0]

    assert reply.images[0].data == _draw(JanusBackend(str(tiny)), [DRAW])[0].images[0].data


def test_the_model_loads_once(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[tuple[str, bool, Any]] = []
    original = JanusForConditionalGeneration.from_pretrained.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, name: str, /, **kwargs: Any) -> Any:
        loads.append((name, kwargs["local_files_only"], kwargs["dtype"]))
        return original(cls, name, **kwargs)

    monkeypatch.setattr(JanusForConditionalGeneration, "from_pretrained", classmethod(counting))
    backend = JanusBackend(str(tiny), {"max_new_tokens": 2})

    _draw(backend, [RULE, DRAW])
    asyncio.run(backend.ask(Conversation(SessionContext("c", 0, 1)), UserTurn(1, ASK)))

    assert loads == [(str(tiny), True, torch.float32)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"steps": 20}, "option 'steps': Extra inputs are not permitted", id="unknown"),
        pytest.param(
            {"guidance_scale": 1},
            "option 'guidance_scale': Input should be greater than 1",
            id="no-guidance",
        ),
        pytest.param(
            {"temperature": 0},
            "option 'temperature': Input should be greater than 0",
            id="zero-temperature",
        ),
        pytest.param(
            {"max_new_tokens": 0},
            "option 'max_new_tokens': Input should be greater than or equal to 1",
            id="no-tokens",
        ),
        pytest.param(
            {"device": "tpu"},
            "option 'device': Input should be 'auto', 'cpu', 'cuda' or 'mps'",
            id="device",
        ),
        pytest.param(
            {"dtype": "int8"},
            "option 'dtype': Input should be 'auto', 'float32', 'float16' or 'bfloat16'",
            id="dtype",
        ),
    ],
)
def test_bad_options_are_one_line_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        create_backend("transformers/org/name", options)

    assert str(info.value) == f"transformers/org/name: {message}"


def _fails_to_load(model: str, options: dict[str, Any] | None = None) -> BackendError:
    with pytest.raises(BackendError) as info:
        _draw(JanusBackend(model, options), [DRAW])
    error = info.value
    assert (error.kind, error.retryable, error.backend) == (
        "config",
        False,
        f"transformers/{model}",
    )
    assert "\n" not in str(error)
    return error


def test_a_missing_folder_is_a_one_line_config_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing-here")

    error = _fails_to_load(missing)

    assert str(error) == (
        f"transformers/{missing}: cannot load Janus model '{missing}': there is no folder {missing}"
    )


def test_a_folder_that_holds_no_janus_names_the_checkpoints(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "multi_modality"}))

    error = _fails_to_load(str(tmp_path))

    assert str(error).startswith(f"transformers/{tmp_path}: cannot load Janus model '{tmp_path}': ")
    assert str(error).endswith(
        f"(Janus checkpoints in the transformers format: {', '.join(CHECKPOINTS)})"
    )


REPO = "uniprobe-tests/tiny-janus"
"""A model id: only ever looked for in a test's own cache and fake Hub."""


@pytest.mark.parametrize(
    ("offline", "options", "why"),
    [
        pytest.param(True, {}, "HF_HUB_OFFLINE=1", id="HF_HUB_OFFLINE"),
        pytest.param(False, {"local_files_only": True}, "local_files_only is set", id="option"),
    ],
)
def test_offline_a_model_id_missing_from_the_cache_names_the_download_command(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    offline: bool,
    options: dict[str, Any],
    why: str,
) -> None:
    with fake_hub(404, "RepoNotFound") as hub:
        use_hub(monkeypatch, tmp_path, offline=offline, endpoint=hub.url)
        error = _fails_to_load(REPO, options)

    prefix = "HF_HUB_OFFLINE=0 " if offline else ""
    assert str(error) == (
        f"transformers/{REPO}: cannot load Janus model '{REPO}': not in the Hugging Face cache, "
        f"and downloads are off ({why}); download it with: {prefix}hf download {REPO}"
    )
    assert hub.requests == []


def test_offline_a_model_id_in_the_cache_loads_from_its_snapshot(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_model(tmp_path, REPO, tiny)
    with fake_hub(404, "RepoNotFound") as hub:
        use_hub(monkeypatch, tmp_path, offline=True, endpoint=hub.url)
        reply = _draw(JanusBackend(REPO), [DRAW])[0]

    assert hub.requests == []
    assert reply.images[0].data == _draw(JanusBackend(str(tiny)), [DRAW])[0].images[0].data


def test_a_drawing_is_decoded_as_the_image_processor_decodes_it(tiny: Path) -> None:
    model = JanusForConditionalGeneration.from_pretrained(str(tiny), local_files_only=True)
    processor = JanusProcessor.from_pretrained(str(tiny), local_files_only=True)
    with torch.inference_mode():
        pixels = model.decode_image_tokens(torch.arange(IMAGE_TOKENS).reshape(1, -1) % 32)[0]

    ours = _to_image(pixels, processor.image_processor)

    channels_first = pixels.permute(2, 0, 1).float().numpy()
    [theirs] = processor.postprocess([channels_first], return_tensors="PIL.Image.Image")[
        "pixel_values"
    ]
    assert (ours.size, ours.mode) == ((SIZE, SIZE), "RGB")
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))
    assert len(np.unique(np.asarray(ours))) > 1


@pytest.mark.parametrize("call", ["send", "ask"])
def test_a_prompt_the_processor_rejects_is_a_one_line_client_error(tiny: Path, call: str) -> None:
    # The tokenizer reads the image placeholder in the text as an image without pixels.
    backend = JanusBackend(str(tiny), {"max_new_tokens": 2})
    turn = UserTurn(1, "What is <image_placeholder>?")
    context = SessionContext("case.one", 0, 7)

    with pytest.raises(BackendError) as info:
        if call == "send":
            asyncio.run(Session(backend.send, context).send(turn))
        else:
            asyncio.run(backend.ask(Conversation(context), turn))

    doing = "drawing" if call == "send" else "answering in words"
    assert str(info.value) == (
        f"transformers/{tiny}: the model rejected the call ({doing}): ValueError: Found 1 "
        "<image_placeholder> tokens in the text but no images were passed."
    )
    assert (info.value.kind, info.value.retryable) == ("client", False)


def test_preflight_finds_a_folder_that_holds_the_model_and_loads_nothing(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_loading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("preflight loaded the model")

    monkeypatch.setattr(JanusForConditionalGeneration, "from_pretrained", no_loading)
    backend = JanusBackend(str(tiny))

    assert asyncio.run(backend.preflight(ModelListings())) == []

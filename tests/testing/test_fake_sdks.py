"""The real SDKs (when installed) talk to the fake as they would to the providers."""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fake_http import running_fake
from PIL import Image

from uniprobe.testing import FakeServer, paint

DOLPHINS = "Generate an image of 5 dolphins in the ocean"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    yield from running_fake()


def _png(text: str) -> bytes:
    png, _ = paint(text, input_image=None, size=128)
    assert png is not None
    return png


def test_openai_sdk_round_trips_every_endpoint(fake: FakeServer) -> None:
    openai = pytest.importorskip("openai")
    tool: Any = {"type": "image_generation", "quality": "low", "size": "1024x1024"}
    canvas = _png("a cat")

    async def go() -> tuple[Any, ...]:
        async with openai.AsyncOpenAI(
            base_url=fake.url + "/v1", api_key="sk-test", max_retries=0
        ) as client:
            first = await client.responses.create(model="gpt-5.5", input=DOLPHINS, tools=[tool])
            second = await client.responses.create(
                model="gpt-5.5", input="keep it", previous_response_id=first.id, tools=[tool]
            )
            made = await client.images.generate(
                model="gpt-image-1.5", prompt="a red car", n=2, quality="low", size="1024x1024"
            )
            edited = await client.images.edit(
                model="gpt-image-1.5",
                image=[("a.png", canvas, "image/png"), ("b.png", canvas, "image/png")],
                prompt="keep it",
            )
            chat = await client.chat.completions.create(
                model="gpt-5.5", messages=[{"role": "user", "content": "hi"}]
            )
        return first, second, made, edited, chat

    first, second, made, edited, chat = asyncio.run(go())
    assert first.output_text == "Here is an image of 5 dolphins and water."
    call = first.output[0]
    assert call.type == "image_generation_call" and call.status == "completed"
    assert Image.open(io.BytesIO(base64.b64decode(call.result))).size == (512, 512)
    assert first.tool_usage.image_gen.output_tokens == 272
    assert second.previous_response_id == first.id
    assert second.output[0].action == "edit" and second.output[0].result == call.result
    assert len(made.data) == 2 and made.usage.output_tokens == 544 and made.size == "1024x1024"
    assert base64.b64decode(edited.data[0].b64_json) == canvas
    assert chat.choices[0].message.content == "{}"
    edit = next(r for r in fake.requests if r.path == "/v1/images/edits")
    assert [f.data for f in edit.files["image[]"]] == [canvas, canvas]
    assert edit.form["prompt"] == "keep it" and edit.form["model"] == "gpt-image-1.5"
    assert [r.status for r in fake.requests] == [200] * 5


def test_openai_sdk_obeys_the_retry_headers(fake: FakeServer) -> None:
    openai = pytest.importorskip("openai")
    fake.inject("rate_limit_ms", path_prefix="/v1/chat/")
    fake.inject("quota", path_prefix="/v1/images/")
    fake.inject("moderation_blocked", path_prefix="/v1/responses")

    async def go() -> tuple[Any, Any, Any]:
        async with openai.AsyncOpenAI(
            base_url=fake.url + "/v1", api_key="sk-test", max_retries=2
        ) as client:
            chat = await client.chat.completions.create(
                model="gpt-5.5", messages=[{"role": "user", "content": "hi"}]
            )
            with pytest.raises(openai.RateLimitError) as quota:
                await client.images.generate(model="gpt-image-1.5", prompt="a cat")
            with pytest.raises(openai.BadRequestError) as blocked:
                await client.responses.create(model="gpt-5.5", input="a cat")
        return chat, quota.value, blocked.value

    chat, quota, blocked = asyncio.run(go())
    assert chat.choices[0].message.content == "{}"
    chats = [r for r in fake.requests if r.path == "/v1/chat/completions"]
    assert [(r.status, r.headers["x-stainless-retry-count"]) for r in chats] == [
        (429, "0"),
        (200, "1"),
    ]
    assert quota.code == "insufficient_quota" and fake.count("/v1/images/") == 1  # no retry
    assert blocked.code == "moderation_blocked" and fake.count("/v1/responses") == 1


def test_genai_sdk_chat_round_trips_thought_signatures() -> None:
    pytest.importorskip("google.genai")
    from google import genai
    from google.genai import types

    async def go(url: str) -> tuple[Any, Any]:
        options = types.HttpOptions(base_url=url)
        async with genai.Client(api_key="g-key", http_options=options).aio as client:
            config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
            chat = client.chats.create(model="gemini-3-pro-image-preview", config=config)
            first = await chat.send_message("draw a red car on the road")
            second = await chat.send_message("now add 2 cats")
        return first, second

    with FakeServer(strict_signatures=True) as fake:
        first, second = asyncio.run(go(fake.url))
    thought, text, image = first.candidates[0].content.parts  # gemini-3 thinks first
    assert thought.thought and thought.thought_signature and not thought.text
    assert text.thought_signature
    assert text.text == "Here is an image of a red car and road."
    assert Image.open(io.BytesIO(image.inline_data.data)).format == "PNG"
    assert image.thought_signature.startswith(b"\xfb\xff\xfe-sig-")
    assert second.candidates[0].content.parts[1].text == "Here is an image of 2 cats."
    assert first.usage_metadata.candidates_tokens_details[0].token_count == 1120
    sent = fake.requests[1]
    assert sent.path == "/v1/models/gemini-3-pro-image-preview:generateContent"
    assert [c["role"] for c in sent.json["contents"]] == ["user", "model", "user"]
    echoed = sent.json["contents"][1]["parts"][2]["thoughtSignature"]
    assert echoed.startswith("-__-")  # the SDK's URL-safe base64 of b"\xfb\xff\xfe"
    assert [r.status for r in fake.requests] == [200, 200]
    assert fake.missing_thought_signatures == 0 and fake.invalid_thought_signatures == 0
    assert fake.dropped_thought_signatures == 0  # the SDK's chat sends every part back


def test_genai_sdk_sees_errors_and_blocks_on_v1beta(fake: FakeServer) -> None:
    pytest.importorskip("google.genai")
    from google import genai
    from google.genai import errors, types

    options = types.HttpOptions(base_url=fake.url, api_version="v1beta")
    fake.inject("rate_limit", seconds=30)
    fake.inject("prompt_blocked")
    with genai.Client(api_key="g-key", http_options=options) as client:
        with pytest.raises(errors.ClientError) as limited:
            client.models.generate_content(model="gemini-2.5-flash-image", contents="a cat")
        blocked = client.models.generate_content(model="gemini-2.5-flash-image", contents="a cat")
    assert limited.value.code == 429 and limited.value.status == "RESOURCE_EXHAUSTED"
    assert blocked.candidates is None and blocked.prompt_feedback is not None
    assert blocked.prompt_feedback.block_reason == "PROHIBITED_CONTENT"
    assert [r.path for r in fake.requests] == [
        "/v1beta/models/gemini-2.5-flash-image:generateContent"
    ] * 2

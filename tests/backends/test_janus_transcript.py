"""The Janus backend's context protocol: which messages carry a turn, which image is shown."""

from __future__ import annotations

from PIL import Image

from uniprobe.backends.base import (
    Conversation,
    Exchange,
    ImageData,
    Reply,
    SessionContext,
    UserTurn,
)
from uniprobe.backends.registry import model_capabilities
from uniprobe.backends.transformers_janus import (
    IMAGE_NOT_SHOWN,
    PROTOCOL,
    JanusBackend,
    transcript,
)
from uniprobe.scenes.render import to_png

CONTEXT = SessionContext("case.one", 0, 7)


def _image(red: int) -> ImageData:
    return ImageData(to_png(Image.new("RGB", (8, 8), (red, 0, 0))))


DRAWN_1, DRAWN_2, ATTACHED = _image(10), _image(20), _image(30)


def _text(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}


NOT_SHOWN = _text(IMAGE_NOT_SHOWN)
SHOWN = {"type": "image"}


def _conversation(*exchanges: Exchange) -> Conversation:
    return Conversation(CONTEXT, exchanges)


TWO_DRAWINGS = _conversation(
    Exchange(UserTurn(1, "From now on, every animal is blue. "), Reply(images=(DRAWN_1,))),
    Exchange(
        UserTurn(2, "Draw a cat.", (ATTACHED,)),
        Reply(images=(DRAWN_2,), text="Here it is."),
    ),
)


def test_a_drawing_shows_no_image_and_keeps_every_message_in_order() -> None:
    said = transcript(TWO_DRAWINGS, UserTurn(3, "Make it smaller."), show_latest=False)

    assert said.images == ()
    assert said.messages == [
        {"role": "user", "content": [_text("From now on, every animal is blue.")]},
        {"role": "assistant", "content": [NOT_SHOWN]},
        {"role": "user", "content": [NOT_SHOWN, _text("Draw a cat.")]},
        {"role": "assistant", "content": [NOT_SHOWN, _text("Here it is.")]},
        {"role": "user", "content": [_text("Make it smaller.")]},
    ]


def test_a_question_shows_the_latest_drawing_where_it_was_drawn() -> None:
    said = transcript(TWO_DRAWINGS, UserTurn(3, "How many cats?"), show_latest=True)

    assert said.images == (DRAWN_2,)
    assert [m["content"] for m in said.messages] == [
        [_text("From now on, every animal is blue.")],
        [NOT_SHOWN],
        [NOT_SHOWN, _text("Draw a cat.")],
        [SHOWN, _text("Here it is.")],
        [_text("How many cats?")],
    ]


def test_an_image_attached_to_the_turn_is_the_latest() -> None:
    turn = UserTurn(3, "Is this one blue?", (DRAWN_1, ATTACHED))
    said = transcript(TWO_DRAWINGS, turn, show_latest=True)

    assert said.images == (ATTACHED,)
    assert said.messages[-1]["content"] == [NOT_SHOWN, SHOWN, _text("Is this one blue?")]
    assert said.messages[3]["content"] == [NOT_SHOWN, _text("Here it is.")]


def test_without_a_drawing_the_latest_attachment_is_shown() -> None:
    refused = _conversation(
        Exchange(UserTurn(1, "Edit this.", (ATTACHED,)), Reply(refusal="I cannot help.")),
        Exchange(UserTurn(2, "Please?"), Reply()),
    )
    said = transcript(refused, UserTurn(3, "What is in the image?"), show_latest=True)

    assert said.images == (ATTACHED,)
    assert said.messages == [
        {"role": "user", "content": [SHOWN, _text("Edit this.")]},
        {"role": "assistant", "content": [_text("I cannot help.")]},
        {"role": "user", "content": [_text("Please?")]},
        {"role": "assistant", "content": [_text("")]},  # the template needs one entry
        {"role": "user", "content": [_text("What is in the image?")]},
    ]


def test_no_image_anywhere_shows_none() -> None:
    said = transcript(_conversation(), UserTurn(1, "How many dogs?"), show_latest=True)

    assert said.images == ()
    assert said.messages == [{"role": "user", "content": [_text("How many dogs?")]}]


def test_the_backend_declares_what_it_can_do() -> None:
    capabilities = model_capabilities()["transformers/<model>"]

    assert capabilities is JanusBackend.capabilities
    assert (capabilities.protocol, capabilities.probes, capabilities.text_output) == (
        PROTOCOL,
        True,
        True,
    )
    assert (capabilities.edits, capabilities.max_input_images, capabilities.seed) == (
        False,
        0,
        True,
    )
    assert (capabilities.multi_turn, capabilities.draws) == (False, "any")
    # A local model costs nothing: no price to look up, no warning about one.
    assert JanusBackend("org/name").priced_models == ()

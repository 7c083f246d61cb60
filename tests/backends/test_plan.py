"""`plan(<planner> → <image model>)`: names, composed capabilities, and the turn flow.

The flow is asserted twice: against the fake server (the exact requests the SDKs sent:
the planner's words-only Responses call, then the Images API call with the resolved
instruction), and with recording stand-in backends (cost and usage sums, refusals, the
plan that does not parse, `ask`).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

import uniprobe
from uniprobe.backends.base import (
    Backend,
    Capabilities,
    Conversation,
    Exchange,
    ImageData,
    Reply,
    Session,
    SessionContext,
    Usage,
    UserTurn,
)
from uniprobe.backends.plan import (
    PLAN_SCHEMA,
    PlanBackend,
    dialogue_lines,
    parse_plan,
    planner_prompt,
)
from uniprobe.backends.registry import (
    PLAN_NAME,
    create_backend,
    known_models,
    parse_model_name,
)
from uniprobe.config import Config, ProviderConfig
from uniprobe.errors import BackendError, ConfigError, UnknownNameError
from uniprobe.store.rundir import RunDir
from uniprobe.testing import FakeServer
from uniprobe.testing._mind import ByModel
from uniprobe.testing.planner import FakePlanner

pytest.importorskip("openai")

KEY = "sk-test-5ecret-never-logged"
NAME = "plan(openai/gpt-5.5 → openai-images/gpt-image-2)"
CONTEXT = SessionContext("case.plan", 0, 3)
RULE = "From now on, if I mention a number, add 3 before using it."
ASK = "Generate an image of 2 dolphins."


def _config(url: str = "http://127.0.0.1:9") -> Config:
    return Config(
        providers={
            "openai": ProviderConfig(api_key=SecretStr(KEY), base_url=url + "/v1"),
            "openai-images": ProviderConfig(api_key=SecretStr(KEY), base_url=url + "/v1"),
        }
    )


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(NAME, id="arrow"),
        pytest.param("plan(openai/gpt-5.5->openai-images/gpt-image-2)", id="ascii"),
        pytest.param(" plan( openai/gpt-5.5  ->  openai-images/gpt-image-2 ) ", id="spaces"),
        pytest.param("plan(openai/gpt-5.5→openai-images/gpt-image-2)", id="tight"),
    ],
)
def test_plan_names_normalise(name: str) -> None:
    assert parse_model_name(name) == ("plan", "openai/gpt-5.5 → openai-images/gpt-image-2")
    backend = create_backend(name, config=_config())
    assert isinstance(backend, PlanBackend)
    assert backend.name == NAME and backend.provider == "plan"
    assert backend.protocol == "planned:native:responses>emulated:fold-prompts+canvas-edit"
    # the planner's own (its image tool's model included), then the image model's
    assert backend.priced_models == ("gpt-5.5", "gpt-image-2-2026-04-21", "gpt-image-2")
    assert backend.planner.name == "openai/gpt-5.5"
    assert backend.image.name == "openai-images/gpt-image-2"


def test_a_plan_is_listed_by_its_form() -> None:
    assert PLAN_NAME == "plan(<planner> → <image model>)" and PLAN_NAME in known_models()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "plan(openai/gpt-5.5 → plan(openai/gpt-5.5 → openai-images/gpt-image-2))",
            "model 'plan(openai/gpt-5.5 → plan(openai/gpt-5.5 → openai-images/gpt-image-2))':"
            " plans do not nest; name two provider/model parts",
            id="nested",
        ),
        pytest.param(
            "plan(openai/gpt-5.5)",
            "model 'plan(openai/gpt-5.5)': name a plan as plan(<planner> → <image model>), "
            "e.g. plan(openai/gpt-5.5 → openai-images/gpt-image-2)",
            id="one part",
        ),
        pytest.param(
            "plan(a/b -> c/d -> e/f)",
            "model 'plan(a/b -> c/d -> e/f)': name a plan as plan(<planner> → <image model>), "
            "e.g. plan(openai/gpt-5.5 → openai-images/gpt-image-2)",
            id="two arrows",
        ),
        pytest.param(
            "plan(openai-images/gpt-image-2 -> openai/gpt-5.5)",
            "plan(openai-images/gpt-image-2 → openai/gpt-5.5): the planner "
            "openai-images/gpt-image-2 cannot answer in words (its capabilities say "
            "probes: no); plan with a model that can",
            id="planner without words",
        ),
        pytest.param(
            "plan(openai/gpt-5.5 -> openai/gpt-5.5)",
            "plan(openai/gpt-5.5 → openai/gpt-5.5): option 'color': Extra inputs are not permitted",
            id="bad option",
        ),
    ],
)
def test_bad_plan_names_are_one_line_config_errors(name: str, message: str) -> None:
    options = {"color": "red"} if "option" in message else {}
    with pytest.raises(ConfigError) as err:
        create_backend(name, options, config=_config())
    assert str(err.value) == message


def test_an_unknown_part_is_named_as_the_unknown_model() -> None:
    with pytest.raises(UnknownNameError) as err:
        create_backend("plan(openai/gpt-5.5 -> opnai-images/gpt-image-2)", config=_config())
    assert err.value.name == "opnai-images/gpt-image-2" and err.value.kind == "model"
    assert str(err.value).startswith("unknown model 'opnai-images/gpt-image-2'")


def test_parts_take_their_options_from_the_config_under_the_plans_own() -> None:
    config = _config()
    config.models["openai-images/gpt-image-2"] = {"quality": "high", "size": "1024x1536"}
    options = {"image": {"quality": "medium"}, "planner": {"stateless": True}}
    backend = create_backend(NAME, options, config=config)
    assert isinstance(backend, PlanBackend)
    # the parts' own protocols, as their options make them
    assert backend.protocol == (
        "planned:stateless:responses-resend>emulated:fold-prompts+canvas-edit"
    )
    assert backend.capabilities.protocol == backend.protocol
    image = backend.image.options.model_dump()
    assert image["quality"] == "medium" and image["size"] == "1024x1536"
    # the plan's own options are both parts' effective ones (the manifest and cache see them)
    assert backend.options.model_dump() == {
        "planner": backend.planner.options.model_dump(mode="json"),
        "image": backend.image.options.model_dump(mode="json"),
    }


def test_capabilities_are_composed_per_instance() -> None:
    images = create_backend(NAME, config=_config())
    reference = create_backend("plan(openai/gpt-5.5 → reference/literal)", config=_config())
    assert images.capabilities == Capabilities(
        multi_turn=False,
        edits=True,
        max_input_images=16,
        seed=False,
        text_output=True,
        protocol="planned:native:responses>emulated:fold-prompts+canvas-edit",
        reads_expectations=False,
        draws="any",
        probes=True,
    )
    assert reference.capabilities.draws == "synthetic"
    assert reference.capabilities.reads_expectations is True
    assert reference.priced_models == ("gpt-5.5", "gpt-image-2-2026-04-21")


# --- the flow on the fake server -------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(mind=ByModel({"gpt-5.5": FakePlanner()}), image_size=256) as server:
        yield server


def _user(text: str, *images: ImageData) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
    content += [
        {
            "type": "input_image",
            "image_url": "data:image/png;base64," + base64.b64encode(i.data).decode(),
            "detail": "auto",
        }
        for i in images
    ]
    return {"role": "user", "content": content}


FORMAT = {"type": "json_schema", "name": "answer", "schema": PLAN_SCHEMA, "strict": True}


def test_a_rule_then_a_request_reaches_the_image_model_resolved(fake: FakeServer) -> None:
    backend = create_backend(NAME, config=_config(fake.url))

    async def go() -> list[Reply]:
        session = Session(backend.send, CONTEXT)
        try:
            return [
                await session.send(UserTurn(1, RULE)),
                await session.send(UserTurn(2, ASK)),
                await session.send(UserTurn(3, "Add a ball to this image.")),
            ]
        finally:
            await backend.aclose()

    rule, drawn, edited = asyncio.run(go())
    paths = [r.path for r in fake.requests]
    assert paths == [
        "/v1/responses",
        "/v1/responses",
        "/v1/images/generations",
        "/v1/responses",
        "/v1/images/edits",
    ]
    first, second, generate, third, edit = fake.requests
    empty = Conversation(CONTEXT)
    assert first.json == {
        "model": "gpt-5.5",
        "input": [_user(planner_prompt(empty, UserTurn(1, RULE)))],
        "store": False,
        "text": {"format": FORMAT},
    }
    history = (Exchange(UserTurn(1, RULE), rule),)
    assert second.json["input"] == [
        _user(planner_prompt(Conversation(CONTEXT, history), UserTurn(2, ASK)))
    ]
    assert "previous_response_id" not in second.json and "tools" not in second.json
    # the dialogue the planner read: the rule, answered in words
    assert dialogue_lines(Conversation(CONTEXT, history)) == [
        f"Turn 1. User: {RULE}",
        "Turn 1. You: answered in words: Understood.",
    ]
    # the image model gets one self-contained instruction, the rule applied
    assert generate.json["prompt"] == "Generate an image of 5 dolphins."
    assert generate.json["model"] == "gpt-image-2"
    # the edit: the canvas attached, the instruction passed through
    assert edit.form["prompt"] == "Add a ball to this image."
    assert [p.data for p in edit.files["image"]] == [drawn.images[0].data]
    third_input = third.json["input"][0]["content"]
    assert third_input[1]["image_url"].endswith(base64.b64encode(drawn.images[0].data).decode())

    assert rule.images == () and rule.text == "Understood."
    assert parse_plan(rule.raw_meta["plan"]).action == "none"
    assert rule.cost_usd is not None and rule.cost_usd > 0
    assert len(drawn.images) == 1 and drawn.revised_prompt == "Generate an image of 5 dolphins."
    assert json.loads(drawn.raw_meta["plan"]) == {
        "action": "draw",
        "instruction": "Generate an image of 5 dolphins.",
        "reply": "Here it is.",
    }
    assert json.loads(edited.raw_meta["plan"])["action"] == "edit" and len(edited.images) == 1


def test_a_plan_that_does_not_parse_is_a_bad_response_of_the_planner() -> None:
    class Painterly:
        """JSON, as the schema asks, but an action a plan does not have."""

        def answer(self, model: str, conversation: Any, schema: Any) -> str:
            return '{"action": "paint", "instruction": "5 dolphins", "reply": ""}'

    with FakeServer(mind=Painterly()) as server:
        backend = create_backend(NAME, config=_config(server.url))

        async def go() -> Reply:
            try:
                return await backend.send(Conversation(CONTEXT), UserTurn(1, ASK))
            finally:
                await backend.aclose()

        with pytest.raises(BackendError) as err:
            asyncio.run(go())
        assert [r.path for r in server.requests] == ["/v1/responses"]
    e = err.value
    assert e.backend == "openai/gpt-5.5" and e.kind == "bad_response" and e.retryable
    assert str(e) == (
        "openai/gpt-5.5: the plan is not valid (action: Input should be 'draw', 'edit' or "
        '\'none\'): \'{"action": "paint", "instruction": "5 dolphins", "reply": ""}\''
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("Sure! Five dolphins.", "not JSON (Expecting value at 0)", id="words"),
        pytest.param(
            "[1, 2]", "plan: Input should be a valid dictionary or instance of Plan", id="list"
        ),
        pytest.param(
            '{"action": "draw", "instruction": " "}',
            "action 'draw' without an instruction",
            id="empty",
        ),
        pytest.param(
            '{"action": "none", "why": "x"}', "why: Extra inputs are not permitted", id="extra"
        ),
    ],
)
def test_plans_that_do_not_parse(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_plan(text)
    assert str(err.value) == reason


def test_a_fenced_plan_parses() -> None:
    assert parse_plan('```json\n{"action": "none"}\n```').action == "none"


# --- the flow with stand-in parts -------------------------------------------------------


class Words(Backend):
    """A planner stand-in: answers `ask` with scripted texts, recording each call."""

    provider: ClassVar[str] = "test-words"
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=True,
        edits=True,
        max_input_images=4,
        seed=False,
        text_output=True,
        protocol="native:words",
        probes=True,
    )

    def __init__(self, *answers: Reply) -> None:
        super().__init__("words")
        self.answers = list(answers)
        self.asked: list[tuple[Conversation, UserTurn, Mapping[str, Any] | None]] = []

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        raise AssertionError("a planner is only asked")

    async def ask(
        self,
        conversation: Conversation,
        turn: UserTurn,
        *,
        schema: Mapping[str, Any] | None = None,
    ) -> Reply:
        self.asked.append((conversation, turn, schema))
        return self.answers.pop(0)


class Pencil(Backend):
    """An image model stand-in: draws one fixed image, recording each call."""

    provider: ClassVar[str] = "test-pencil"
    capabilities: ClassVar[Capabilities] = Capabilities(
        multi_turn=False,
        edits=True,
        max_input_images=1,
        seed=True,
        text_output=False,
        protocol="emulated:pencil",
    )

    def __init__(self, reply: Reply) -> None:
        super().__init__("pencil")
        self.reply = reply
        self.sent: list[tuple[Conversation, UserTurn]] = []

    async def send(self, conversation: Conversation, turn: UserTurn) -> Reply:
        self.sent.append((conversation, turn))
        return self.reply


def _plan(action: str, instruction: str = "", reply: str = "") -> str:
    return json.dumps({"action": action, "instruction": instruction, "reply": reply})


PNG = ImageData(b"\x89PNG drawn")
SOURCE = ImageData(b"\x89PNG attached")


def _send(backend: Backend, conversation: Conversation, turn: UserTurn) -> Reply:
    return asyncio.run(backend.send(conversation, turn))


def test_cost_and_usage_are_the_sums_and_unknown_stays_unknown() -> None:
    planner = Words(
        Reply(text=_plan("draw", "Draw 5 dolphins."), cost_usd=0.01, usage=Usage(10, 5)),
        Reply(text=_plan("draw", "Draw 5 dolphins."), cost_usd=0.01, usage=Usage(10, 5)),
    )
    image = Pencil(Reply(images=(PNG,), cost_usd=0.04, usage=Usage(7, 100, 0, 100, images=1)))
    plan = PlanBackend(planner, image)
    reply = _send(plan, Conversation(CONTEXT), UserTurn(1, ASK))
    assert reply.cost_usd == pytest.approx(0.05)
    assert reply.usage == Usage(17, 105, None, None, images=1)
    assert reply.images == (PNG,) and reply.text is None
    image.reply = Reply(images=(PNG,), cost_usd=None)
    assert _send(plan, Conversation(CONTEXT), UserTurn(1, ASK)).cost_usd is None
    # the image model's conversation is fresh: no history, only the instruction
    assert [(c.history, t) for c, t in image.sent] == [((), UserTurn(1, "Draw 5 dolphins."))] * 2
    assert planner.asked[0][2] == PLAN_SCHEMA


def test_none_is_words_only_and_a_refusal_stays_a_refusal() -> None:
    planner = Words(
        Reply(text=_plan("none", reply="Understood."), cost_usd=0.01),
        Reply(refusal="I can't plan that.", cost_usd=0.01),
    )
    image = Pencil(Reply(images=(PNG,)))
    plan = PlanBackend(planner, image)
    none = _send(plan, Conversation(CONTEXT), UserTurn(1, RULE))
    assert none.images == () and none.text == "Understood." and none.cost_usd == 0.01
    assert none.raw_meta["plan"] == _plan("none", reply="Understood.")
    refused = _send(plan, Conversation(CONTEXT), UserTurn(1, ASK))
    assert refused.refusal == "I can't plan that." and refused.images == ()
    assert image.sent == []


def test_edit_attaches_the_canvas_and_falls_back_to_drawing_without_one() -> None:
    planner = Words(
        Reply(text=_plan("edit", "Add a ball.")), Reply(text=_plan("edit", "Add a ball."))
    )
    image = Pencil(Reply(images=(PNG,)))
    plan = PlanBackend(planner, image)
    earlier = (Exchange(UserTurn(1, "Edit this.", (SOURCE,)), Reply(images=(PNG,))),)
    _send(plan, Conversation(CONTEXT, earlier), UserTurn(2, "Add a ball."))
    _send(plan, Conversation(CONTEXT), UserTurn(1, "Add a ball."))
    assert [t for _, t in image.sent] == [
        UserTurn(2, "Add a ball.", (PNG,)),  # the latest image of the conversation
        UserTurn(1, "Add a ball."),  # no canvas: drawn afresh
    ]
    # the planner saw the canvas too, and the dialogue with the attachment counted
    _, asked, _ = planner.asked[0]
    assert asked.images == (PNG,)
    assert "Turn 1. User (attaching 1 image): Edit this." in asked.text
    assert "Turn 1. You: drew: an image" in asked.text


def test_ask_goes_to_the_planner_with_the_dialogue() -> None:
    planner = Words(Reply(text='{"q1": 5}'))
    plan = PlanBackend(planner, Pencil(Reply(images=(PNG,))))
    history = (
        Exchange(UserTurn(1, RULE), Reply(text="Understood.", raw_meta={"plan": _plan("none")})),
    )
    schema = {"type": "object"}
    reply = asyncio.run(
        plan.ask(Conversation(CONTEXT, history), UserTurn(2, "How many?"), schema=schema)
    )
    assert reply.text == '{"q1": 5}'
    [(conversation, turn, asked_schema)] = planner.asked
    assert conversation.history == () and asked_schema == schema
    assert turn.text == (
        "You are the planner of an image model, which draws what you tell it.\n\n"
        "The dialogue so far:\n"
        f"Turn 1. User: {RULE}\n"
        "Turn 1. You: answered in words: Understood.\n\n"
        "There is no canvas yet.\n\n"
        "Turn 2. User: How many?"
    )


def test_preflight_and_aclose_reach_both_parts() -> None:
    closed: list[str] = []

    class Closing(Pencil):
        async def aclose(self) -> None:
            closed.append(self.name)

        async def preflight(self, listings: Any) -> list[str]:
            return [f"{self.name}: no key"]

    plan = PlanBackend(Words(), Closing(Reply()))
    assert asyncio.run(plan.preflight(None)) == ["test-pencil/pencil: no key"]  # type: ignore[arg-type]
    asyncio.run(plan.aclose())
    assert closed == ["test-pencil/pencil"]


CASE = f"""\
- id: plan.add3
  family: global_instruction
  subtype: numeric_transform
  turns:
    - user: "{RULE}"
    - user: "{ASK}"
      expect:
        - count: {{object: dolphin, equals: 5, literal: 2}}
"""


def test_a_planned_run_passes_where_the_unified_model_draws_the_literal_reading(
    fake: FakeServer, tmp_path: Path
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(CASE, encoding="utf-8")
    results = uniprobe.run(
        uniprobe.load_suite(path),
        ["openai/gpt-5.5", NAME],
        out=tmp_path / "runs",
        config=_config(fake.url),
        policy="reference",
        images="synthetic",
    )
    outcome = {}
    for result in results:
        run = RunDir.open(result.path)
        [score] = run.scores("reference").values()
        outcome[run.manifest().model.name] = score.outcome
        if result.model == NAME:
            manifest = run.manifest().model
            assert manifest.protocol == "planned:native:responses>emulated:fold-prompts+canvas-edit"
            [sample] = run.samples().values()
            second = sample.turns[1].reply
            assert second is not None
            assert second.revised_prompt == "Generate an image of 5 dolphins."
    assert outcome == {"openai/gpt-5.5": "fail", NAME: "pass"}


def test_the_planner_sees_what_a_turn_attaches_and_the_edit_gets_the_last() -> None:
    planner = Words(Reply(text=_plan("edit", "Put the dog from the first into the second.")))
    image = Pencil(Reply(images=(PNG,)))
    plan = PlanBackend(planner, image)
    turn = UserTurn(1, "Put this dog into that scene.", (PNG, SOURCE))
    _send(plan, Conversation(CONTEXT), turn)
    assert planner.asked[0][1].images == (PNG, SOURCE)
    assert image.sent[0][1].images == (SOURCE,)
    assert "Turn 1. User: Put this dog into that scene." in planner.asked[0][1].text

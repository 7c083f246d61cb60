"""Today's providers as data (providers.toml), and cost that never guesses."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import SecretStr

import uniprobe
from uniprobe.backends.base import Reply, Session, SessionContext, Usage, UserTurn
from uniprobe.backends.openai_responses import OpenAIResponsesBackend
from uniprobe.backends.pricing import (
    COMPONENTS,
    catalog,
    cost_of,
    cost_warnings,
    load_catalog,
    price_for,
)
from uniprobe.backends.registry import create_backend
from uniprobe.config import Config, Price, ProviderConfig, load_config
from uniprobe.errors import ConfigError
from uniprobe.scoring.judges.vlm import DEFAULT_MODELS
from uniprobe.store.rundir import RunDir
from uniprobe.testing.server import FakeServer

SRC = Path(__file__).resolve().parents[2] / "src" / "uniprobe"
DATA = SRC / "backends" / "providers.toml"

# --- the data file ---------------------------------------------------------------------------


def test_every_model_in_use_is_priced_for_every_component_it_bills() -> None:
    cat = catalog()
    assert cat.checked.isoformat() == "2026-12-04"
    for name, entry in cat.models.items():
        assert entry.source.startswith("https://") and entry.checked, name
        if entry.status == "retired":
            assert entry.shutdown and entry.replacement, name
            continue
        assert entry.price is not None, name
        for component in COMPONENTS[entry.kind]:
            priced = getattr(entry.price, f"{component}_per_mtok") is not None
            assert priced or component in entry.price.unpublished, (name, component)


def test_the_built_in_defaults_are_current_pinned_models() -> None:
    cat = catalog()
    defaults = {
        "responses image tool": OpenAIResponsesBackend.Options().image_model,
        "judge openai": DEFAULT_MODELS["openai"],
        "judge google": DEFAULT_MODELS["google"],
    }
    assert defaults == {
        "responses image tool": "gpt-image-2-2026-04-21",
        "judge openai": "gpt-5.5-2026-04-23",
        "judge google": "gemini-3.5-flash",
    }
    for name in defaults.values():
        entry = cat.entry(name)
        assert entry is not None and entry.status == "current", name
    sdk_image_models = _sdk_literals("openai.types.image_model", "ImageModel")
    sdk_chat_models = _sdk_literals("openai.types.shared.chat_model", "ChatModel")
    assert defaults["responses image tool"] in sdk_image_models
    assert defaults["judge openai"] in sdk_chat_models


def _sdk_literals(module: str, name: str) -> set[str]:
    import importlib
    import typing

    return set(typing.get_args(getattr(importlib.import_module(module), name)))


def test_no_retired_model_name_is_used_in_the_source() -> None:
    retired = catalog().retired()
    assert {"gpt-image-1", "gemini-2.5-flash-image", "gemini-3-pro-image-preview"} <= set(retired)
    assert "gemini-2.5-flash" in retired
    pattern = _uses(retired)
    found = [
        f"{path.relative_to(SRC)}:{n}: {m.group(1)}"
        for path in sorted(SRC.rglob("*"))
        if path.suffix in {".py", ".toml", ".yaml", ".html", ".js"} and path != DATA
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for m in pattern.finditer(line)
    ]
    assert found == []


def test_the_retired_name_check_catches_a_use() -> None:
    retired = catalog().retired()
    line = 'model = "gemini-2.5-flash-image"  # but not gpt-image-2 or gpt-image-1.5-turbo'
    line += "; gpt-image-1."
    assert [m.group(1) for m in _uses(retired).finditer(line)] == [
        "gemini-2.5-flash-image",
        "gpt-image-1",
    ]


def _uses(names: Any) -> re.Pattern[str]:
    """A model name standing alone (not the start of a longer name like gpt-image-1.5)."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(r"(?<![\w.-])(" + alternatives + r")(?![\w-]|\.\w)")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(
            ("text_input_per_mtok = 5.0", "text_inptu_per_mtok = 5.0"),
            "models.gpt-image-2-2026-04-21.price.text_inptu_per_mtok: "
            "Extra inputs are not permitted",
            id="typo",
        ),
        pytest.param(
            ('status = "retired"', 'status = "gone"'),
            "models.gpt-image-1.5.status: Input should be 'current', 'deprecated' or 'retired'",
            id="status",
        ),
        pytest.param(
            ("image_output_per_mtok = 30.0\n", ""),
            "models.gpt-image-2-2026-04-21: no price for image_output",
            id="unpriced",
        ),
        pytest.param(
            ('judge_google = "gemini-3.5-flash"', 'judge_google = "gemini-2.5-flash"'),
            "defaults.judge_google: 'gemini-2.5-flash' is not a current model",
            id="retired-default",
        ),
    ],
)
def test_a_bad_data_file_is_one_line_naming_the_field(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    path = tmp_path / "providers.toml"
    path.write_text(DATA.read_text(encoding="utf-8").replace(*edit, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    text = str(info.value)
    assert "\n" not in text and re.match(rf"{re.escape(str(path))}:\d+: ", text), text
    assert message in text


def test_a_data_file_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_bytes(DATA.read_bytes().replace(b"checked = ", b"checked\xff = ", 1))
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    assert re.match(rf"{re.escape(str(path))}:\d+:8: not UTF-8 text \(byte 0xff\)", str(info.value))


def test_config_overrides_replace_the_fields_they_give(tmp_path: Path) -> None:
    path = tmp_path / "uniprobe.toml"
    path.write_text(
        '[prices."gpt-image-2.6-flare"]\ntext_output_per_mtok = 4.0\n'
        '[prices."gpt-5.5"]\ntext_output_per_mtok = 20.0\n'
        '[prices."my-local"]\ntext_input_per_mtok = 0.0\ntext_output_per_mtok = 0.0\n',
        encoding="utf-8",
    )
    config = load_config(path)
    flare = price_for("gpt-image-2.6-flare", config.prices)
    assert flare is not None
    assert (flare.text_output_per_mtok, flare.image_output_per_mtok) == (4.0, 30.0)
    # an override of the alias applies to the snapshot that serves it
    snapshot = price_for("gpt-5.5-2026-04-23", config.prices)
    assert snapshot is not None
    assert (snapshot.text_input_per_mtok, snapshot.text_output_per_mtok) == (5.0, 20.0)
    assert price_for("my-local", config.prices) == Price(
        text_input_per_mtok=0.0, text_output_per_mtok=0.0
    )
    assert cost_warnings(["gpt-image-2.6-flare"], config.prices) == []


def test_a_bad_price_override_is_one_line_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "uniprobe.toml"
    path.write_text('[prices."gpt-5.5"]\ntext_output_per_mtk = 20.0\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}:2: prices.\"gpt-5.5\".text_output_per_mtk: unknown key 'text_output_per_mtk'; "
        "did you mean 'text_output_per_mtok'?"
    )


# --- cost that never guesses -----------------------------------------------------------------


def test_a_component_with_no_price_makes_the_cost_unknown() -> None:
    mini = MINI  # no published text-output price
    image_only = Usage(input_tokens=10, output_tokens=272, output_image_tokens=272)
    assert cost_of(image_only, mini) == pytest.approx((10 * 2.0 + 272 * 8.0) / 1e6)
    with_text = Usage(input_tokens=10, output_tokens=280, output_image_tokens=272)
    assert cost_of(with_text, mini) is None
    assert cost_of(Usage(), price_for("gpt-5.5")) is None  # nothing reported: unknown
    assert cost_of(Usage(input_tokens=5, output_tokens=1), None) is None
    cached = Usage(input_tokens=1000, output_tokens=100, cached_input_tokens=800)
    assert cost_of(cached, price_for("gpt-5.5")) == pytest.approx(
        (200 * 5.0 + 800 * 0.5 + 100 * 30.0) / 1e6
    )


MINI = Price(
    text_input_per_mtok=2.0,
    cached_input_per_mtok=0.2,
    cached_image_input_per_mtok=0.25,
    image_input_per_mtok=2.5,
    image_output_per_mtok=8.0,
)
"""Prices as published for the late gpt-image-1-mini: no text-output price."""


def test_cost_warnings_name_what_will_be_unknown() -> None:
    assert cost_warnings(["gpt-5.5", "gpt-image-2-2026-04-21", "gemini-3-pro-image"]) == []
    models = ["my-mini", "llava", "gpt-image-1", "gpt-4.1"]
    assert cost_warnings(models, {"my-mini": MINI}) == [
        "my-mini: no price for text output tokens; calls that use them have unknown "
        'cost (set [prices."my-mini"])',
        'llava: no known price; its calls have unknown cost (add [prices."llava"] to the config)',
        "gpt-image-1: retired on 2026-10-23 (use gpt-image-2.5-sunburst); its calls have "
        "unknown cost",
        "gpt-4.1: shuts down on 2027-01-14 (use gpt-6-luna)",
    ]


def test_a_responses_call_without_tool_usage_has_unknown_cost() -> None:
    backend = OpenAIResponsesBackend("gpt-5.5")
    usage = SimpleNamespace(input_tokens=8, output_tokens=7, input_tokens_details=None)
    without = SimpleNamespace(usage=usage, tool_usage=None, model_extra={})
    total, cost = backend._usage(without, 1)
    assert cost is None and total.input_tokens is None
    no_usage = SimpleNamespace(usage=None, tool_usage={"image_gen": _gen(8, 272)})
    assert backend._usage(no_usage, 1)[1] is None
    both = SimpleNamespace(usage=usage, tool_usage={"image_gen": _gen(8, 272)})
    assert backend._usage(both, 1)[1] == pytest.approx((8 * 5 + 7 * 30 + 8 * 5 + 272 * 30) / 1e6)
    assert backend.priced_models == ("gpt-5.5", "gpt-image-2-2026-04-21")


def _gen(text_in: int, image_out: int) -> dict[str, Any]:
    return {
        "input_tokens": text_in,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": text_in},
        "output_tokens": image_out,
        "output_tokens_details": {"image_tokens": image_out, "text_tokens": 0},
    }


# --- conversations against the fake, computed by hand from providers.toml ------------------

TURNS = ("Generate an image of 2 birds.", "Make the birds blue.")
"""8 and 5 text tokens by the fake's count; its reply "Here is an image of 2 birds." is 7."""


def _conversation(name: str, *, prompt_cache: bool = False) -> list[Reply]:
    with FakeServer(prompt_cache=prompt_cache) as fake:
        config = Config(
            providers={
                "openai": ProviderConfig(api_key=SecretStr("k"), base_url=fake.url + "/v1"),
                "google": ProviderConfig(api_key=SecretStr("k"), base_url=fake.url),
            }
        )

        async def go() -> list[Reply]:
            backend = create_backend(name, config=config)
            session = Session(backend.send, SessionContext("c", 0, 1))
            try:
                return [await session.send(UserTurn(i, t)) for i, t in enumerate(TURNS, 1)]
            finally:
                await backend.aclose()

        return asyncio.run(go())


def test_a_two_turn_responses_conversation_costs_what_the_price_file_says() -> None:
    first, second = _conversation("openai/gpt-5.5")
    # gpt-5.5: text in 5.0, out 30.0; gpt-image-2-2026-04-21: text in 5.0, image in 8.0,
    # image out 30.0 (USD per million tokens).
    # Turn 1: gpt-5.5 reads 8, writes 7; the tool reads 8 text, draws 272 image tokens.
    assert first.usage == Usage(16, 279, 0, 272, 1, 0, None)
    assert first.cost_usd == pytest.approx((8 * 5.0 + 7 * 30.0 + 8 * 5.0 + 272 * 30.0) / 1e6)
    assert first.cost_usd == pytest.approx(0.00845)
    # Turn 2: gpt-5.5 reads the dialogue (8 + 7 + 5 text, its image as 194 tokens at its
    # input rate), writes 7; the tool reads 5 text and the 194-token image, draws 272.
    assert second.usage == Usage(413, 279, 194, 272, 1, 0)
    assert second.cost_usd == pytest.approx(
        ((8 + 7 + 5 + 194) * 5.0 + 7 * 30.0 + 5 * 5.0 + 194 * 8.0 + 272 * 30.0) / 1e6
    )
    assert second.cost_usd == pytest.approx(0.011017)


def test_a_gemini_conversation_costs_what_the_price_file_says() -> None:
    first, second = _conversation("google/gemini-3.1-flash-image")
    # gemini-3.1-flash-image: text in 0.25, image in 0.25, text out 1.50, image out 60.0.
    # Turn 1: 8 text in; 7 text and 1120 image tokens out.
    assert first.usage == Usage(8, 1127, 0, 1120, 1, None, None)
    assert first.cost_usd == pytest.approx((8 * 0.25 + 7 * 1.50 + 1120 * 60.0) / 1e6)
    # Turn 2: the history resent: 8 + 7 + 5 text and the 258-token image in.
    assert second.usage == Usage(278, 1127, 258, 1120, 1, None)
    assert second.cost_usd == pytest.approx(
        ((8 + 7 + 5) * 0.25 + 258 * 0.25 + 7 * 1.50 + 1120 * 60.0) / 1e6
    )
    assert (first.cost_usd, second.cost_usd) == pytest.approx((0.0672125, 0.06728))


# --- cached input tokens ---------------------------------------------------------------------


def test_cached_tokens_are_billed_at_the_cached_rate_or_make_the_cost_unknown() -> None:
    # gpt-image-2: text in 5.0, cached 1.25, image in 8.0, cached image 2.0, image out
    # 30.0: which cached tokens were images matters
    image2 = price_for("gpt-image-2")
    assert image2 is not None

    def edit(cached: int, cached_images: int | None, image_in: int = 194) -> Usage:
        return Usage(106 + image_in, 272, image_in, 272, 1, cached, cached_images)

    assert cost_of(edit(100, 0), image2) == pytest.approx(
        (6 * 5.0 + 100 * 1.25 + 194 * 8.0 + 272 * 30.0) / 1e6
    )
    assert cost_of(edit(100, None, image_in=0), image2) == pytest.approx(
        (6 * 5.0 + 100 * 1.25 + 272 * 30.0) / 1e6
    )
    assert cost_of(edit(100, None), image2) is None  # text or image? not said, and it matters
    assert cost_of(edit(100, 50), image2) == pytest.approx(
        (56 * 5.0 + 50 * 1.25 + 144 * 8.0 + 50 * 2.0 + 272 * 30.0) / 1e6
    )
    no_cached_image = image2.model_copy(update={"cached_image_input_per_mtok": None})
    assert cost_of(edit(100, 50), no_cached_image) is None  # cached images: no price
    assert cost_of(edit(0, None), image2) == pytest.approx((106 * 5.0 + 194 * 8 + 272 * 30) / 1e6)
    # gemini-3.1-flash-image bills image input at its text rate (0.25; cached 0.025): the
    # split does not matter, and a reported one gives the same number
    flash = price_for("gemini-3.1-flash-image")
    expected = (5 * 0.25 + 273 * 0.025 + 7 * 1.50 + 1120 * 60.0) / 1e6
    for split in (None, 258, 253):
        assert cost_of(Usage(278, 1127, 258, 1120, 1, 273, split), flash) == pytest.approx(expected)
    # a model with no cached price: unknown as soon as a token was cached
    plain = Price(text_input_per_mtok=1.0, text_output_per_mtok=2.0)
    assert cost_of(Usage(10, 5, cached_input_tokens=0), plain) == pytest.approx(20 / 1e6)
    assert cost_of(Usage(10, 5, cached_input_tokens=4), plain) is None


def test_the_image_tool_cached_tokens_are_read_and_priced() -> None:
    backend = OpenAIResponsesBackend("gpt-5.5")
    usage = SimpleNamespace(
        input_tokens=20, output_tokens=7, input_tokens_details={"cached_tokens": 15}
    )
    gen = {**_gen(5, 272), "cached_tokens": 3}
    gen["cached_tokens_details"] = {"cached_image_tokens": 0, "cached_text_tokens": 3}
    total, cost = backend._usage(SimpleNamespace(usage=usage, tool_usage={"image_gen": gen}), 1)
    assert (total.cached_input_tokens, total.cached_input_image_tokens) == (18, 0)
    # gpt-5.5: 5 fresh at 5.0, 15 cached at 0.50, 7 out at 30.0; the tool: 2 fresh at 5.0,
    # 3 cached at 1.25, 272 image out at 30.0
    assert cost == pytest.approx(
        (5 * 5.0 + 15 * 0.50 + 7 * 30.0 + 2 * 5.0 + 3 * 1.25 + 272 * 30.0) / 1e6
    )
    gen["cached_tokens_details"] = {"cached_image_tokens": 2, "cached_text_tokens": 1}
    gen["input_tokens_details"] = {"image_tokens": 2, "text_tokens": 3}
    # the tool: 2 fresh text at 5.0, 1 cached text at 1.25, 2 cached image at 2.0
    assert backend._usage(SimpleNamespace(usage=usage, tool_usage={"image_gen": gen}), 1)[
        1
    ] == pytest.approx(
        (5 * 5.0 + 15 * 0.50 + 7 * 30.0 + 2 * 5.0 + 1.25 + 2 * 2.0 + 272 * 30.0) / 1e6
    )
    del gen["cached_tokens_details"]  # text or image? not said, and it matters: unknown
    assert backend._usage(SimpleNamespace(usage=usage, tool_usage={"image_gen": gen}), 1)[1] is None


def test_a_cached_responses_conversation_costs_what_the_price_file_says() -> None:
    first, second = _conversation("openai/gpt-5.5", prompt_cache=True)
    assert first.usage == Usage(16, 279, 0, 272, 1, 0, None)
    assert first.cost_usd == pytest.approx(0.00845)
    # Turn 2: of gpt-5.5's 214 input tokens, the 209 of turn 1 (8 + 7 text, the 194-token
    # image) come from the cache at 0.50 instead of 5.0; the tool's input is new.
    assert second.usage == Usage(413, 279, 194, 272, 1, 209, None)
    assert second.cost_usd == pytest.approx(
        (5 * 5.0 + 209 * 0.50 + 7 * 30.0 + 5 * 5.0 + 194 * 8.0 + 272 * 30.0) / 1e6
    )
    assert second.cost_usd == pytest.approx(0.0100765)


def test_a_cached_gemini_conversation_costs_what_the_price_file_says() -> None:
    first, second = _conversation("google/gemini-3.1-flash-image", prompt_cache=True)
    assert first.usage == Usage(8, 1127, 0, 1120, 1, None, None)
    # Turn 2: the resent history (8 + 7 text, the 258-token image) is cached: 273 tokens,
    # 258 of them image, at 0.025 (images are billed at the text rate); 5 fresh at 0.25.
    assert second.usage == Usage(278, 1127, 258, 1120, 1, 273, 258)
    assert second.cost_usd == pytest.approx(
        (5 * 0.25 + 15 * 0.025 + 258 * 0.025 + 7 * 1.50 + 1120 * 60.0) / 1e6
    )
    assert second.cost_usd == pytest.approx(0.067218575)


TWO_TURNS = """\
- id: cached.birds
  family: global_instruction
  subtype: cached
  turns:
    - user: "Generate an image of 2 birds."
      expect:
        - count: {object: bird, equals: 2}
    - user: "Make the birds blue."
      expect:
        - color: {object: bird, equals: blue}
"""


def test_the_run_log_records_cached_tokens_per_turn(tmp_path: Path) -> None:
    (tmp_path / "two.yaml").write_text(TWO_TURNS, encoding="utf-8")
    with FakeServer(prompt_cache=True) as fake:
        config = Config(
            providers={"openai": ProviderConfig(api_key=SecretStr("k"), base_url=fake.url + "/v1")}
        )
        [result] = uniprobe.run(
            tmp_path / "two.yaml",
            ["openai/gpt-5.5"],
            out=tmp_path / "runs",
            config=config,
            policy="reference",
            images="synthetic",  # the fake paints synthetic scenes
            score=False,
        )
    [line] = (result.path / "samples.jsonl").read_text().splitlines()
    turns = json.loads(line)["turns"]
    usages = [{k: t["reply"]["usage"][k] for k in USAGE_KEYS} for t in turns]
    assert usages == [
        {"input_tokens": 16, "cached_input_tokens": 0, "cached_input_image_tokens": None},
        {"input_tokens": 413, "cached_input_tokens": 209, "cached_input_image_tokens": None},
    ]
    assert [t["reply"]["cost_usd"] for t in turns] == pytest.approx([0.00845, 0.0100765])


USAGE_KEYS = ("input_tokens", "cached_input_tokens", "cached_input_image_tokens")


def test_an_old_run_log_without_cached_tokens_still_loads() -> None:
    old = Path(__file__).parents[1] / "store" / "fixtures" / "run-0.1.0-paper-literal"
    assert "cached_input" not in (old / "samples.jsonl").read_text()
    samples = RunDir.open(old).samples()
    replies = [t.reply for s in samples.values() for t in s.turns if t.reply is not None]
    assert replies and all(r.usage.cached_input_tokens is None for r in replies)

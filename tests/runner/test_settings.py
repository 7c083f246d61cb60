"""Run settings: one model the CLI builds and `uniprobe.run` validates its keywords into."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import uniprobe
from uniprobe.runner.settings import default_cache, run_settings


def test_keywords_override_the_fields_of_a_settings_object() -> None:
    base = uniprobe.RunSettings(out=Path("a"), epochs=3)

    settings = run_settings(base, concurrency=2, out="b")

    assert (settings.out, settings.epochs, settings.concurrency) == (Path("b"), 3, 2)
    assert base.out == Path("a")  # frozen: a copy, never a change


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"epochs": 0}, "epochs must be between 1 and 1,000, not 0", id="epochs"),
        pytest.param(
            {"epochs": 10**9}, "epochs must be between 1 and 1,000, not 1000000000", id="epochs-big"
        ),
        pytest.param(
            {"concurrency": 0}, "concurrency must be between 1 and 1,024, not 0", id="concurrency"
        ),
        pytest.param({"rpm": -1}, "rpm must be between 0.01 and 1,000,000, not -1.0", id="rpm"),
        pytest.param(
            {"rpm": float("nan")}, "rpm must be between 0.01 and 1,000,000, not nan", id="rpm-nan"
        ),
        pytest.param({"max_cost": -1}, "max_cost must be at least 0, not -1.0", id="max-cost"),
        pytest.param(
            {"max_cost": float("inf")}, "max_cost must be at least 0, not inf", id="max-cost-inf"
        ),
        pytest.param({"epoch": 2}, "unknown run setting 'epoch'", id="unknown"),
        pytest.param(
            {"rpm": "fast"},
            "run setting 'rpm': Input should be a valid number, unable to parse string as a number",
            id="type",
        ),
    ],
)
def test_a_bad_setting_is_a_usage_error_naming_it(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(uniprobe.UsageError) as info:
        run_settings(**changes)
    assert str(info.value) == message


def test_paths_of_the_wrong_kind_are_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(uniprobe.UsageError, match="is a file, not a folder for runs"):
        run_settings(out=tmp_path / "file")
    with pytest.raises(uniprobe.UsageError, match="is a folder, not a cache file"):
        run_settings(cache=tmp_path)


def test_none_means_the_default_where_the_api_always_took_none() -> None:
    settings = run_settings(options=None, judge_options=None, retry=None)
    assert settings == uniprobe.RunSettings()


def test_the_default_cache_is_for_real_models_only() -> None:
    assert default_cache(["reference/oracle", "reference/literal"], "runs") is None
    assert default_cache(["reference/oracle", "openai/gpt-5.5"], "runs") == Path(
        "runs/cache.sqlite"
    )


def test_an_unknown_run_keyword_is_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(uniprobe.UsageError, match="unknown run setting 'epoch'"):
        uniprobe.run("paper", ["reference/oracle"], out=tmp_path, epoch=2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("given", "probes"),
    [
        pytest.param("knows,sees", ("knows", "sees"), id="both"),
        pytest.param("sees, knows,sees", ("knows", "sees"), id="ask-order-once"),
        pytest.param(["sees"], ("sees",), id="a-sequence"),
        pytest.param(None, (), id="none"),
        pytest.param("", (), id="empty"),
    ],
)
def test_probes_are_words_kept_once_in_the_order_asked(given: Any, probes: tuple[str, ...]) -> None:
    assert run_settings(probes=given).probes == probes


def test_an_unknown_probe_is_a_usage_error_naming_the_choices() -> None:
    with pytest.raises(uniprobe.UsageError) as info:
        run_settings(probes="knows,smells")
    assert str(info.value) == (
        "probes: unknown probe 'smells'; use knows or sees (or both: knows,sees)"
    )

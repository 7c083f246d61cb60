"""The config file: what is accepted, where keys are, and names checked against the
registries (the refusals themselves are the corpus in tests/badinput/test_config_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from uniprobe.config import Config, KeyLines, check_url, load_config
from uniprobe.errors import ConfigError
from uniprobe.runner.configfile import provider_names, resolve_config

GOOD = """\
# every section the README shows, and the odd spellings TOML allows
[providers.openai]
api_key_env = "OPENAI_API_KEY"
concurrency = 8
rpm = 50
timeout = 3600

[providers."compat/local"]
base_url = "http://127.0.0.1:8000/v1"

[providers.google]
base_url = "https://generativelanguage.googleapis.com"

[models."openai/gpt-5.5"]
image_model = "gpt-image-1.5"
quality = "low"

[prices."gpt-image-1.5"]
image_output_per_mtok = 32.0
per_image = 0

[judges.vlm]
provider = "compat/local"
model = "llava"
samples = 3

[judges.detector]
"""


def test_a_good_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "uniprobe.toml"
    path.write_text(GOOD, encoding="utf-8")
    config = resolve_config(path)
    assert config.path == path
    assert config.provider("openai").rpm == 50
    assert config.provider("compat/local").base_url == "http://127.0.0.1:8000/v1"
    assert config.judges["vlm"] == {"provider": "compat/local", "model": "llava", "samples": 3}
    assert config.prices["gpt-image-1.5"].per_image == 0


def test_a_plan_has_its_own_models_section(tmp_path: Path) -> None:
    path = tmp_path / "uniprobe.toml"
    name = "plan(openai/gpt-5.5 → openai-images/gpt-image-2)"
    path.write_text(f'[models."{name}"]\nimage = {{quality = "low"}}\n', encoding="utf-8")
    assert resolve_config(path).models[name] == {"image": {"quality": "low"}}


def test_a_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "uniprobe.toml"
    path.write_bytes(b"\xef\xbb\xbf[providers.openai]\nrpm = 5\n")
    assert load_config(path).provider("openai").rpm == 5


def test_key_lines_follow_headers_dotted_keys_and_skip_multiline_strings() -> None:
    lines = KeyLines.scan(
        '[providers."compat/a.b"]\n'
        "rpm = 5\n"
        'note = """\n'
        "fake = 1\n"
        '"""\n'
        "[[models.list]]\n"
        "judges.vlm.model = 'x'  # dotted\n"
    )
    assert lines.line_of(("providers", "compat/a.b")) == 1
    assert lines.line_of(("providers", "compat/a.b", "rpm")) == 2
    assert lines.line_of(("providers", "compat/a.b", "fake")) == 1  # inside a string
    assert lines.line_of(("models", "list", "judges", "vlm", "model")) == 7
    assert lines.line_of(("nowhere",)) is None


def test_a_config_built_in_python_is_checked_by_name_too() -> None:
    config = Config.model_validate({"judges": {"refrence": {}}})
    with pytest.raises(ConfigError) as info:
        resolve_config(config)
    assert str(info.value) == (
        "config judges.refrence: unknown judge 'refrence'; did you mean 'reference'?"
    )


def test_the_providers_a_section_may_name() -> None:
    assert provider_names() == [
        "diffusers",
        "google",
        "openai",
        "openai-images",
        "reference",
        "transformers",
    ]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/v1", "https://api.openai.com/v1", "http://[::1]:9/x", "http://h"],
)
def test_urls_that_are_urls(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        pytest.param("not a url", "is not a URL (spaces or empty)", id="words"),
        pytest.param("", "is not a URL (spaces or empty)", id="empty"),
        pytest.param(" http://h", "is not a URL (spaces or empty)", id="padded"),
        pytest.param("localhost:8000", "is not an http:// or https:// URL", id="no-scheme"),
        pytest.param("file:///etc/passwd", "is not an http:// or https:// URL", id="file"),
        pytest.param("http://", "names no host", id="no-host"),
        pytest.param("http://h:0/v1", "port 0 is not a port to connect to", id="port-0"),
        pytest.param("http://h:65536/v1", "is not a valid URL: Port out of range", id="port"),
        pytest.param("http://h:x/v1", "is not a valid URL", id="port-words"),
    ],
)
def test_urls_that_are_not(url: str, why: str) -> None:
    with pytest.raises(ValueError) as info:
        check_url(url)
    assert why in str(info.value)

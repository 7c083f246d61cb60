"""Where local models' weights come from: folders, the Hugging Face cache, the Hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from uniprobe.hub import Weights, WeightsUnavailable, download_command, locate, offline_reason

pytest.importorskip("huggingface_hub")

from fake_hub import cache_model, fake_hub, use_hub

REPO = "uniprobe-tests/tiny"


def test_a_folder_is_read_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_hub(404, "RepoNotFound") as hub:
        use_hub(monkeypatch, tmp_path / "home", offline=False, endpoint=hub.url)
        weights = locate(str(tmp_path), config="config.json", local_files_only=False)

    assert weights == Weights(str(tmp_path), local=True)
    assert hub.requests == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("./no-such-folder", "there is no folder ./no-such-folder", id="relative"),
        pytest.param("/no/such/folder", "there is no folder /no/such/folder", id="absolute"),
        pytest.param("a/b/c", "there is no folder a/b/c", id="three-parts"),
        pytest.param(
            "not an id",
            "'not an id' is neither a folder nor a valid Hugging Face model id",
            id="id",
        ),
    ],
)
def test_names_that_are_no_folder_and_no_id_fail_without_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, message: str
) -> None:
    with fake_hub(404, "RepoNotFound") as hub:
        use_hub(monkeypatch, tmp_path, offline=False, endpoint=hub.url)
        with pytest.raises(WeightsUnavailable) as info:
            locate(name, config="config.json", local_files_only=False)

    assert str(info.value) == message
    assert [r for r in hub.requests if "agent-harnesses" not in r] == []


def test_offline_comes_from_the_option_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_hub(monkeypatch, tmp_path, offline=False)
    assert offline_reason(local_files_only=False) is None
    assert offline_reason(local_files_only=True) == "local_files_only is set"
    assert download_command(REPO) == f"hf download {REPO}"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert offline_reason(local_files_only=False) == "HF_HUB_OFFLINE=1"
    assert download_command(REPO) == f"HF_HUB_OFFLINE=0 hf download {REPO}"


def test_offline_a_cached_model_is_its_snapshot_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "config.json").write_text("{}")
    snapshot = cache_model(tmp_path / "home", REPO, saved)
    use_hub(monkeypatch, tmp_path / "home", offline=True)

    weights = locate(REPO, config="config.json", local_files_only=False)

    assert weights == Weights(str(snapshot), local=True)


def test_online_a_cached_model_is_left_to_from_pretrained_without_a_first_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "config.json").write_text("{}")
    cache_model(tmp_path / "home", REPO, saved)
    with fake_hub(404, "RepoNotFound") as hub:
        use_hub(monkeypatch, tmp_path / "home", offline=False, endpoint=hub.url)
        weights = locate(REPO, config="config.json", local_files_only=False)

    assert weights == Weights(REPO, local=False)
    assert [r for r in hub.requests if REPO in r] == []

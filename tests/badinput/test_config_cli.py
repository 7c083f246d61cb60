"""Bad config files and bad command-line arguments: one located line, exit 2, nothing
written, and (for configs) before any request is made.

Each config is tried through `uniprobe models check reference/oracle --config FILE`,
which reads the file and checks every name without touching the network; a few through
`run`, `score` and `calibrate`, which must refuse before making a run folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import refuse

SECRET = "sk-live-0123456789abcdef0123456789abcdef"


def _check(tmp_path: Path, text: str | bytes, *command: str) -> str:
    config = tmp_path / "uniprobe.toml"
    if isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text, encoding="utf-8")
    args = command or ("models", "check", "reference/oracle")
    return refuse(tmp_path, *args, "--config", "uniprobe.toml")


CONFIGS = [
    # (config text, what the one line must hold), first the file itself
    pytest.param(
        b"[providers.openai]\nrpm = 5  # caf\xe9\n",
        "uniprobe.toml:2:15: not UTF-8 text (byte 0xe9); save the file as UTF-8",
        id="latin-1",
    ),
    pytest.param(
        "[providers.openai]\nrpm = 5\n".encode("utf-16"),
        "uniprobe.toml:1:1: not UTF-8 text (byte 0xff) (it looks like UTF-16)",
        id="utf-16",
    ),
    pytest.param(
        "[providers.openai]\nrpm = \n",
        "uniprobe.toml:2:7: invalid TOML: Invalid value",
        id="syntax",
    ),
    pytest.param(
        "[providers.openai]\nrpm = 5\n[providers.openai]\nrpm = 6\n",
        "uniprobe.toml:3:",
        id="table-twice",
    ),
    pytest.param('[judges.vlm\nmodel = "x"\n', "uniprobe.toml:1:", id="unclosed-header"),
    pytest.param("a = " + "[" * 5000, "uniprobe.toml: invalid TOML: nested too deeply", id="deep"),
    pytest.param("x = 1\n" * 200_000, "uniprobe.toml: larger than 1,000,000 bytes", id="huge-file"),
    # sections and keys that do not exist
    pytest.param(
        "[providers.openia]\nrpm = 5\n",
        "uniprobe.toml:1: providers.openia: unknown provider 'openia'; did you mean 'openai'?",
        id="provider-typo",
    ),
    pytest.param(
        "[judges.refrence]\n",
        "uniprobe.toml:1: judges.refrence: unknown judge 'refrence'; did you mean 'reference'?",
        id="judge-typo",
    ),
    pytest.param(
        "[provider.openai]\nrpm = 5\n",
        "uniprobe.toml:1: provider: unknown section [provider]; did you mean 'providers'?",
        id="section-typo",
    ),
    pytest.param(
        "# limits\n[providers.openai]\nrmp = 5\n",
        "uniprobe.toml:3: providers.openai.rmp: unknown key 'rmp'; did you mean 'rpm'?",
        id="key-typo",
    ),
    pytest.param(
        '[providers.compat.local]\nbase_url = "http://127.0.0.1:8000/v1"\n',
        'name a compatible server as [providers."compat/local"]',
        id="compat-nested",
    ),
    pytest.param(
        "[providers.compat]\nrpm = 5\n",
        'providers.compat: name a compatible server as "compat/<server>"',
        id="compat-bare",
    ),
    pytest.param(
        '[judges.vlm]\nprovider = "openia"\n',
        "uniprobe.toml:2: judges.vlm.provider: unknown provider 'openia'; did you mean 'openai'?",
        id="judge-provider-typo",
    ),
    pytest.param(
        "[judges.vlm]\ntemprature = 0.2\n",
        "uniprobe.toml:2: judges.vlm.temprature: unknown option 'temprature'; "
        "did you mean 'temperature'?",
        id="judge-option-typo",
    ),
    pytest.param(
        "[judges.vlm]\nsamples = 0\n",
        "uniprobe.toml:2: judges.vlm.samples: Input should be greater than or equal to 1",
        id="judge-option-range",
    ),
    pytest.param(
        '[models."openai/gpt-5.5"]\nimage_modle = "gpt-image-1.5"\n',
        "uniprobe.toml:2: models.\"openai/gpt-5.5\".image_modle: unknown option 'image_modle'; "
        "did you mean 'image_model'?",
        id="model-option-typo",
    ),
    pytest.param(
        '[models."gpt-5.5"]\nquality = "low"\n',
        'uniprobe.toml:1: models."gpt-5.5": name a model as provider/model',
        id="model-without-provider",
    ),
    pytest.param(
        '[models."plan(openai/gpt-5.5 -> openai-images/gpt-image-2)"]\nplaner = {}\n',
        'uniprobe.toml:2: models."plan(openai/gpt-5.5 -> openai-images/gpt-image-2)".planer: '
        "unknown option 'planer'; did you mean 'planner'?",
        id="plan-option-typo",
    ),
    pytest.param(
        '[models."plan(openai/gpt-5.5)"]\n',
        "name a plan as plan(<planner> → <image model>)",
        id="plan-malformed",
    ),
    pytest.param(
        '[models."reference/oracel"]\n',
        "unknown model 'reference/oracel'; did you mean 'reference/oracle'?",
        id="model-typo",
    ),
    pytest.param(
        "providers = 3\n", "uniprobe.toml:1: providers: expected a table", id="not-a-table"
    ),
    # values out of range
    pytest.param(
        '[prices."gpt-image-1.5"]\nimage_output_per_mtok = -32.0\n',
        'uniprobe.toml:2: prices."gpt-image-1.5".image_output_per_mtok: Input should be '
        "greater than or equal to 0",
        id="negative-price",
    ),
    pytest.param(
        '[prices."gpt-image-1.5"]\nper_image = nan\n',
        'prices."gpt-image-1.5".per_image: must be a finite number (not inf or nan)',
        id="nan-price",
    ),
    pytest.param(
        '[prices."gpt-image-1.5"]\ntext_input_per_mtok = inf\n',
        "must be a finite number (not inf or nan)",
        id="inf-price",
    ),
    pytest.param(
        '[prices."gpt-image-1.5"]\ntext_input_per_mtok = "5 USD"\n',
        'uniprobe.toml:2: prices."gpt-image-1.5".text_input_per_mtok: Input should be a valid '
        "number",
        id="price-as-text",
    ),
    pytest.param(
        '[prices."gpt-image-1.5"]\ntext_outptu_per_mtok = 4.0\n',
        "did you mean 'text_output_per_mtok'?",
        id="price-key-typo",
    ),
    pytest.param(
        "[providers.openai]\nrpm = -1\n",
        "uniprobe.toml:2: providers.openai.rpm: Input should be greater than or equal to 0.01",
        id="negative-rpm",
    ),
    pytest.param(
        "[providers.google]\nconcurrency = 0\n",
        "uniprobe.toml:2: providers.google.concurrency: Input should be greater than or equal to 1",
        id="zero-concurrency",
    ),
    pytest.param(
        "[providers.google]\nconcurrency = 100000000000000000000\n",
        "providers.google.concurrency: Input should be less than or equal to 1024",
        id="huge-concurrency",
    ),
    pytest.param(
        "[providers.openai]\ntimeout = 0\n",
        "uniprobe.toml:2: providers.openai.timeout: Input should be greater than 0",
        id="zero-timeout",
    ),
    pytest.param(
        '[providers.openai]\nbase_url = "not a url"\n',
        "uniprobe.toml:2: providers.openai.base_url: 'not a url' is not a URL",
        id="url-words",
    ),
    pytest.param(
        '[providers.openai]\nbase_url = "ftp://files.example/v1"\n',
        "is not an http:// or https:// URL",
        id="url-scheme",
    ),
    pytest.param(
        '[providers.openai]\nbase_url = "https:///v1"\n', "names no host", id="url-no-host"
    ),
    pytest.param(
        '[providers."compat/local"]\nbase_url = "http://127.0.0.1:99999/v1"\n',
        'uniprobe.toml:2: providers."compat/local".base_url:',
        id="url-port",
    ),
    pytest.param(
        '[providers.openai]\napi_key = ""\n',
        "uniprobe.toml:2: providers.openai.api_key: is empty",
        id="empty-key",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CONFIGS)
def test_a_bad_config_file_is_one_located_line(
    tmp_path: Path, text: str | bytes, expected: str
) -> None:
    line = _check(tmp_path, text)
    assert line.startswith("error: uniprobe.toml"), line
    assert expected in line


def test_a_key_pasted_into_api_key_env_is_refused_and_never_printed(tmp_path: Path) -> None:
    line = _check(tmp_path, f'[providers.openai]\napi_key_env = "{SECRET}"\n')
    assert line.startswith("error: uniprobe.toml:2: providers.openai.api_key_env: must name")
    assert SECRET not in line and SECRET[:12] not in line


def test_several_problems_are_the_first_and_a_count(tmp_path: Path) -> None:
    line = _check(tmp_path, "[providers.openai]\nrpm = -1\nconcurrency = 0\ntimeout = -5\n")
    assert line.startswith("error: uniprobe.toml:2: providers.openai.rpm:")
    assert line.endswith("(and 2 more problem(s) in this file)")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        pytest.param("folder", "error: folder: is a folder, not a config file", id="folder"),
        pytest.param("missing.toml", "error: missing.toml: config file not found", id="missing"),
    ],
)
def test_a_config_path_that_is_not_a_file(tmp_path: Path, where: str, expected: str) -> None:
    (tmp_path / "folder").mkdir()
    line = refuse(tmp_path, "models", "check", "reference/oracle", "--config", where)
    assert line.startswith(expected)


def test_uniprobe_config_naming_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIPROBE_CONFIG", str(tmp_path / "gone.toml"))
    line = refuse(tmp_path, "models", "check", "reference/oracle")
    assert line == f"error: {tmp_path / 'gone.toml'}: config file not found"


def test_an_environment_url_is_checked_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "localhost:8000")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    line = refuse(tmp_path, "models", "check", "openai/gpt-5.5")
    assert line.startswith("error: $OPENAI_BASE_URL: 'localhost:8000' is not an http://")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("run", "-m", "reference/oracle", "--out", "runs"), id="run"),
        pytest.param(("calibrate",), id="calibrate"),
    ],
)
def test_a_bad_config_stops_every_command_before_it_writes(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    line = _check(tmp_path, '[providers.openai]\nbase_url = "not a url"\n', *command)
    assert line.startswith("error: uniprobe.toml:2: providers.openai.base_url:")
    assert not (tmp_path / "runs").exists()


RUN = ("run", "-m", "reference/oracle", "--suite", "paper", "--out", "runs")

ARGUMENTS = [
    # (arguments, the one line), every number of every command bounded
    pytest.param(
        (*RUN, "--rpm", "-1"), "rpm must be between 0.01 and 1,000,000, not -1.0", id="rpm"
    ),
    pytest.param(
        (*RUN, "--rpm", "nan"), "rpm must be between 0.01 and 1,000,000, not nan", id="rpm-nan"
    ),
    pytest.param((*RUN, "--rpm", "fast"), "Invalid value for '--rpm'", id="rpm-words"),
    pytest.param(
        (*RUN, "--max-cost", "-1"), "max_cost must be at least 0, not -1.0", id="max-cost"
    ),
    pytest.param(
        (*RUN, "--max-cost", "inf"), "max_cost must be at least 0, not inf", id="max-cost-inf"
    ),
    pytest.param((*RUN, "--epochs", "0"), "epochs must be between 1 and 1,000, not 0", id="epochs"),
    pytest.param(
        (*RUN, "--epochs", "1000000000000"),
        "epochs must be between 1 and 1,000, not 1000000000000",
        id="epochs-huge",
    ),
    pytest.param(
        (*RUN, "--concurrency", "0"), "concurrency must be between 1 and 1,024", id="concurrency"
    ),
    pytest.param((*RUN, "--concurrency", "-3"), "not -3", id="concurrency-negative"),
    pytest.param(
        (*RUN, "--out", "afile"), "out: afile is a file, not a folder for runs", id="out-file"
    ),
    pytest.param(
        (*RUN, "--cache", "adir"), "cache: adir is a folder, not a cache file", id="cache-dir"
    ),
    pytest.param((*RUN, "--report", "afile"), "--report afile: a file", id="report-file"),
    pytest.param((*RUN, "-M", "quality"), "-M 'quality': expected key=value", id="option-no-value"),
    pytest.param(
        (*RUN, "-J", "model=x"), "-J model=...: expected judge.key=value", id="judge-option"
    ),
    pytest.param((*RUN, "--epoch", "2"), "No such option: --epoch", id="unknown-option"),
    pytest.param(("runn",), "No such command 'runn'", id="unknown-command"),
    pytest.param(
        ("score",),
        "Missing argument 'run_dir'. (see `uniprobe score --help`)",
        id="missing-argument",
    ),
    pytest.param(
        ("score", "nowhere", "--concurrency", "0"),
        "concurrency must be between 1 and 1,024",
        id="score-concurrency",
    ),
    pytest.param(
        ("calibrate", "--scenes", "0"), "scenes must be between 1 and 1,000, not 0", id="scenes"
    ),
    pytest.param(
        ("calibrate", "--scenes", "100000000"),
        "scenes must be between 1 and 1,000",
        id="scenes-huge",
    ),
    pytest.param(
        ("calibrate", "--seed", "-1"), "seed must be between 0 and 4,294,967,295, not -1", id="seed"
    ),
    pytest.param(
        ("calibrate", "--concurrency", "100000"),
        "concurrency must be between 1 and 1,024",
        id="calibrate-concurrency",
    ),
    pytest.param(
        ("annotate", "nowhere", "--port", "70000"),
        "port must be between 0 and 65535 (0: any free port), not 70000",
        id="annotate-port",
    ),
    pytest.param(
        ("annotate", "nowhere", "--port", "-1"),
        "port must be between 0 and 65535 (0: any free port), not -1",
        id="annotate-port-negative",
    ),
    pytest.param(
        ("fake-server", "--port", "65536"), "port must be between 0 and 65535", id="fake-port"
    ),
    pytest.param(
        ("fake-server", "--fault-rate", "2"),
        "fault_rate must be between 0 and 1, not 2.0",
        id="fault-rate",
    ),
    pytest.param(
        ("fake-server", "--latency", "nan"),
        "latency must be between 0 and 600, not nan",
        id="latency",
    ),
    pytest.param(
        ("fake-server", "--vlm-error-rate", "nan"),
        "Invalid value for '--vlm-error-rate'",
        id="vlm-error-rate",
    ),
    pytest.param(
        ("labels", "export", "nowhere", "--out", "adir"),
        "adir: a folder; name the label file to write",
        id="export-to-folder",
    ),
    pytest.param(
        ("labels", "export", "nowhere", "--out", "no/such/x.csv"),
        "no folder no/such",
        id="export-no-parent",
    ),
    pytest.param(
        ("labels", "export", "nowhere", "--out", "x.csv", "--format", "xml"),
        "--format xml: use csv or jsonl",
        id="export-format",
    ),
    pytest.param(
        ("cases", "export", "--out", "afile"),
        "afile: a file; export into a new folder",
        id="cases-export-file",
    ),
    pytest.param(
        ("cases", "prompts", "--out", "afile"),
        "afile: a file; export into a new folder",
        id="prompts-file",
    ),
]


@pytest.mark.parametrize(("args", "expected"), ARGUMENTS)
def test_a_bad_argument_is_one_line_and_nothing_is_written(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    (tmp_path / "afile").write_text("keep me", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    line = refuse(tmp_path, *args)
    assert expected in line, line

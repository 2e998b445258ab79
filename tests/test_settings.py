"""Settings: flags > NICHIIKI_* environment > settings file > defaults, and --help lists them."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.cli import main
from pipeline.ingest.settings import Settings, SettingsError, load_settings


def test_defaults_without_any_source(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(f"NICHIIKI_{name.upper()}", raising=False)
    monkeypatch.delenv("NICHIIKI_CONFIG", raising=False)
    s = load_settings()
    assert s.sources == Path("sources.yaml") and s.workers == 2 and s.runner == "threads" and s.cache is True


def test_priority_flag_over_env_over_file(monkeypatch, tmp_path):
    config = tmp_path / "nichiiki.toml"
    config.write_text('[nichiiki]\nworkers = 3\noutputs = "from-file"\ncache-dir = "/tmp/c"\n', encoding="utf-8")
    monkeypatch.setenv("NICHIIKI_OUTPUTS", "from-env")
    monkeypatch.setenv("NICHIIKI_RUNNER", "sequential")
    s = load_settings({"runner": "dask", "workers": None}, config)
    assert s.workers == 3  # file (flag not given)
    assert s.outputs == Path("from-env")  # env beats file
    assert s.runner == "dask"  # flag beats env
    assert s.cache_dir == Path("/tmp/c")


def test_yaml_file_from_environment_and_dask_address_implies_dask(monkeypatch, tmp_path):
    config = tmp_path / "settings.yaml"
    config.write_text("dask_address: tcp://127.0.0.1:8786\nworkers: 4\n", encoding="utf-8")
    monkeypatch.setenv("NICHIIKI_CONFIG", str(config))
    s = load_settings()
    assert s.workers == 4 and s.effective_runner() == "dask"


@pytest.mark.parametrize(
    "text, suffix, needle",
    [("workers = 0\n", ".toml", "workers"), ("runner: rockets\n", ".yaml", "runner"), ("colour: red\n", ".yaml", "colour"), ("workers = [", ".toml", "not valid TOML")],
)
def test_bad_settings_name_the_file_and_the_field(tmp_path, text, suffix, needle):
    config = tmp_path / f"bad{suffix}"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings({}, config)
    assert needle in str(err.value) and str(config) in str(err.value)


def test_bad_environment_value_is_reported(monkeypatch):
    monkeypatch.setenv("NICHIIKI_WORKERS", "many")
    with pytest.raises(SettingsError, match="workers"):
        load_settings()


def test_run_help_shows_every_setting(capsys):
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    for name in Settings.model_fields:
        assert f"NICHIIKI_{name.upper()}" in out
        assert "--" + name.replace("_", "-") in out  # one flag per setting, generated from the model
    for flag in ("--dask-address", "--workers", "--cache-dir", "--config", "--no-cache", "--strict", "--dry-run"):
        assert flag in out


def test_bad_value_is_one_line_naming_the_field(monkeypatch):
    monkeypatch.setenv("NICHIIKI_WORKERS", "0")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "\n" not in str(err.value) and "workers: Input should be greater than or equal to 1 (got '0')" in str(err.value)

"""Configuration: tags, file/line errors, unknown keys and platforms, secrets, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnimedia.core.bootstrap import prepare
from omnimedia.core.config import load_config, redact, write_default_config

from .conftest import write_config


def errors_of(config_dir: Path) -> list[str]:
    _config, _plugins, errors = prepare(config_dir)
    return [str(e) for e in errors]


def test_tags_secret_include_dir_named_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    media = tmp_path / "media"
    media.mkdir()
    monkeypatch.setenv("OMNI_TEST_PORT", "9123")
    monkeypatch.delenv("OMNI_TEST_UNSET", raising=False)
    write_config(tmp_path, "db_url: sqlite+aiosqlite:////tmp/x.db\n", "secrets.yaml")
    write_config(tmp_path, f"- path: {media}\n  type: movies\n", "libraries.yaml")
    write_config(tmp_path / "scanner", "4\n", "probe_concurrency.yaml")
    write_config(
        tmp_path,
        """
        hub:
          port: !env_var OMNI_TEST_PORT
          name: !env_var OMNI_TEST_UNSET Living room hub
        database:
          url: !secret db_url
        libraries: !include libraries.yaml
        scanner: !include_dir_named scanner
        """,
    )
    config, errors, _tree = load_config(tmp_path)
    assert errors == []
    assert config.hub["port"] == 9123 and config.hub["name"] == "Living room hub"
    assert config.database_url == "sqlite+aiosqlite:////tmp/x.db"
    assert config.libraries == [{"path": str(media), "type": "movies", "watch": True, "name": "media"}]
    assert config.scanner["probe_concurrency"] == 4
    shown = redact(config.raw)
    assert shown["database"]["url"] == "**REDACTED**"
    assert shown["hub"]["name"] == "Living room hub"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hub:\n  port: 80\n   name: x\n", "configuration.yaml, line 3: invalid YAML"),
        ("hub:\n  name: x\n  port: abc\n", "configuration.yaml, line 3: expected int for 'hub -> port', got 'abc'"),
        ("hub:\n  port: 99999\n", "configuration.yaml, line 2: value must be at most 65535 for 'hub -> port', got 99999"),
        ("hub:\n  log_level: loud\n", "line 2: value must be one of ['debug', 'error', 'info', 'warning'] for 'hub -> log_level'"),
        ("hub: {}\nlibrarys: []\n", "configuration.yaml, line 2: unknown key 'librarys' (did you mean 'libraries'?); valid keys here:"),
        ("hub:\n  prot: 1\n", "unknown key 'hub -> prot' (did you mean 'port'?); valid keys here: external_url, host, log_level, name, plugin_setup_timeout, port"),
        ("database:\n  url: !secret nope\n", "configuration.yaml, line 2: secret 'nope' is not defined in secrets.yaml"),
        ("libraries: !include missing.yaml\n", "configuration.yaml, line 1: !include: file not found"),
        ("hub:\n  name: !env_var OMNI_SURELY_UNSET_VAR\n", "line 2: environment variable 'OMNI_SURELY_UNSET_VAR' is not set"),
        ("libraries:\n  - path: /nonexistent/omni\n", "configuration.yaml, line 2: library folder does not exist: /nonexistent/omni"),
        ("libraries:\n  - type: movies\n", "configuration.yaml, line 2: required key 'libraries -> 0 -> path' is missing"),
        ("- just\n- a list\n", "configuration.yaml, line 1: the top level must be a mapping"),
        ("hub:\n  port: 1\nhub:\n  port: 2\n", "configuration.yaml, line 3: duplicate key 'hub'"),
        ("plugins:\n  - platform: googlecastt\n", "line 2: unknown plugin platform 'googlecastt' (did you mean 'googlecast'?); available: airplay, androidtv, dlna, ffmpeg, googlecast"),
        ("plugins:\n  - name: x\n", "configuration.yaml, line 2: 'plugins -> 0' needs a 'platform' key"),
        ("plugins:\n  - platform: googlecast\n    colour: red\n", "line 3: unknown key 'plugins -> 0 -> colour'; valid keys here: name, platform"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    write_config(tmp_path, text)
    errors = errors_of(tmp_path)
    assert any(expected in e for e in errors), errors


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    write_config(tmp_path, "hub:\n  port: abc\nbogus: 1\nplugins:\n  - platform: nope\n")
    errors = errors_of(tmp_path)
    assert len(errors) == 3, errors


def test_errors_inside_an_included_file_name_that_file(tmp_path: Path) -> None:
    write_config(tmp_path, "hub: !include hub.yaml\n")
    write_config(tmp_path, "name: x\nport: nope\n", "hub.yaml")
    assert errors_of(tmp_path) == ["hub.yaml, line 2: expected int for 'hub -> port', got 'nope'"]
    write_config(tmp_path, "name: [unclosed\n", "hub.yaml")
    assert errors_of(tmp_path)[0].startswith("hub.yaml, line 2: invalid YAML")


def test_broken_secrets_file_is_named(tmp_path: Path) -> None:
    write_config(tmp_path, "database:\n  url: !secret db\n")
    write_config(tmp_path, "db: [oops\n", "secrets.yaml")
    assert errors_of(tmp_path)[0].startswith("secrets.yaml, line 2: invalid YAML")


def test_default_configuration_is_valid_and_never_overwritten(tmp_path: Path) -> None:
    media = tmp_path / "My Videos"
    media.mkdir()
    path = write_default_config(tmp_path / "cfg", [media])
    text = path.read_text()
    assert "# Omni-Media configuration" in text and str(media) in text
    config, errors, _ = load_config(tmp_path / "cfg")
    assert errors == [] and config.libraries[0]["path"] == str(media)
    assert config.database_url.endswith("/cfg/omnimedia.db")
    path.write_text("hub: {}\n")
    write_default_config(tmp_path / "cfg", [])
    assert path.read_text() == "hub: {}\n"
    empty = write_default_config(tmp_path / "cfg2", [])
    config, errors, _ = load_config(tmp_path / "cfg2")
    assert errors == [] and config.libraries == [] and empty.exists()

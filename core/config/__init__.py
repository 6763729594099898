"""Loading and validating the configuration directory (``configuration.yaml`` and friends)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from ..const import DEFAULT_PORT
from .loader import ConfigError, NodeDict, Secret, load_yaml
from .schema import HubConfig, validate_core, validate_plugin_entries

CONFIG_FILE = "configuration.yaml"

__all__ = [
    "CONFIG_FILE",
    "ConfigError",
    "HubConfig",
    "Secret",
    "load_config",
    "redact",
    "validate_plugin_entries",
    "write_default_config",
]


def load_config(config_dir: Path) -> tuple[HubConfig | None, list[ConfigError], Any]:
    """Read and validate ``config_dir/configuration.yaml``. Plugin entries are validated later,
    once the plugins are known (:func:`validate_plugin_entries`).

    Returns the config (``None`` when unusable), every error found, and the loaded tree
    (``None`` when the YAML itself could not be read)."""
    config_dir = Path(config_dir)
    path = config_dir / CONFIG_FILE
    if not path.is_file():
        return None, [ConfigError(f"no {CONFIG_FILE} in {config_dir}")], None
    try:
        tree = load_yaml(path, config_dir)
    except ConfigError as err:
        return None, [err], None
    tree = tree if tree is not None else NodeDict()
    config, errors = validate_core(tree, config_dir)
    return config, errors, tree


def write_default_config(config_dir: Path, media_dirs: list[Path], port: int = DEFAULT_PORT) -> Path:
    """Write a commented default ``configuration.yaml`` with one library per folder given.

    Never overwrites an existing file; returns its path."""
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / CONFIG_FILE
    if path.exists():
        return path
    template = resources.files(__package__).joinpath("default_configuration.yaml").read_text("utf-8")
    if media_dirs:
        libs = "\n".join(
            f"  - name: {d.name or 'Media'}\n    path: {str(d.resolve())!r}\n    type: mixed" for d in media_dirs
        )
    else:
        libs = "  []  # e.g.\n  # - name: Movies\n  #   path: /srv/media/movies\n  #   type: movies"
    tmp = path.with_name(".configuration.yaml.tmp")
    tmp.write_text(template.format(port=port, libraries=libs), encoding="utf-8")
    tmp.replace(path)
    return path


def redact(value):
    """Return a JSON-ready copy of a loaded configuration tree with every ``!secret`` value and
    every key that looks like a credential replaced by ``"**REDACTED**"``."""
    sensitive = ("password", "api_key", "apikey", "token", "secret", "passkey")
    if isinstance(value, Secret):
        return "**REDACTED**"
    if isinstance(value, dict):
        return {
            str(k): ("**REDACTED**" if any(s in str(k).lower() for s in sensitive) and v else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value

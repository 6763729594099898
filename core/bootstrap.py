"""From a configuration directory to a validated configuration and a loaded plugin set."""

from __future__ import annotations

import logging
from pathlib import Path

from .config import ConfigError, HubConfig, load_config, validate_plugin_entries
from .plugins.manager import PluginManager

_LOGGER = logging.getLogger(__name__)


def load_plugins(config: HubConfig | None, extra_dirs: list[Path] | None = None) -> PluginManager:
    """Import the entry-point plugins, then the single-file plugins of ``plugins_dir`` and of
    ``extra_dirs`` (``--plugins-dir``)."""
    manager = PluginManager()
    manager.load_entry_points()
    folders = list(extra_dirs or [])
    if config is not None and config.plugins_dir is not None:
        folders.insert(0, config.plugins_dir)
    for folder in folders:
        manager.load_directory(folder)
    return manager


def prepare(
    config_dir: Path, extra_plugin_dirs: list[Path] | None = None
) -> tuple[HubConfig | None, PluginManager, list[ConfigError]]:
    """Load and validate everything ``omnimedia run`` and ``check-config`` need.

    Returns the config (``None`` if unusable), the plugin manager, and every configuration error.
    """
    config, errors, tree = load_config(config_dir)
    plugins = load_plugins(config, extra_plugin_dirs)
    if tree is not None:
        entries, plugin_errors = validate_plugin_entries(tree, plugins.config_schemas())
        errors.extend(plugin_errors)
        if config is not None:
            config.plugins = entries
    return config, plugins, errors

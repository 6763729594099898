"""The plugin platform: hookspecs, manifests, the provider kinds and the manager that loads,
isolates and sets up plugins."""

from .hookspecs import hookimpl, hookspec
from .manifest import PluginManifest

__all__ = ["PluginManifest", "hookimpl", "hookspec"]

"""The media library engine: scanner, file watcher and queries over the media items.

``LibraryManager`` is the hub's ``hub.library``; see :mod:`.manager`."""

from __future__ import annotations

from .manager import LibraryManager
from .naming import parse_name

__all__ = ["LibraryManager", "parse_name"]

"""Small JSON documents kept in ``<config dir>/.storage/`` (registries), written atomically.

A write goes to a temporary file in the same folder, is flushed and fsynced, then renamed over the
old file, so a crash leaves either the old or the new document, never a torn one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp file + fsync + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def fsync_dir(folder: Path) -> None:
    """Make a new or renamed directory entry in ``folder`` durable. Best effort: some file
    systems refuse to fsync a directory, which is ignored."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Store:
    """One versioned JSON document: ``{"version": N, "key": KEY, "data": {...}}``."""

    def __init__(self, storage_dir: Path, key: str, version: int = 1, delay: float = 1.0) -> None:
        self.path = storage_dir / key
        self.key = key
        self.version = version
        self.delay = delay
        self._pending: asyncio.TimerHandle | None = None
        self._data_fn: Any = None

    def load(self) -> dict[str, Any] | None:
        """Return the stored data, or ``None`` when there is none yet.

        Raises ``ValueError`` naming the file when it is not valid JSON.
        """
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as err:
            raise ValueError(f"{self.path}: not valid JSON ({err})") from err
        return doc.get("data")

    def save_now(self, data: dict[str, Any]) -> None:
        write_json_atomic(self.path, {"version": self.version, "key": self.key, "data": data})

    def schedule_save(self, data_fn: Any) -> None:
        """Save ``data_fn()`` after ``delay`` seconds, coalescing writes made meanwhile."""
        self._data_fn = data_fn
        if self._pending is not None:
            return
        loop = asyncio.get_running_loop()
        self._pending = loop.call_later(self.delay, self._flush)

    def _flush(self) -> None:
        self._pending = None
        if self._data_fn is not None:
            try:
                self.save_now(self._data_fn())
            except OSError:
                _LOGGER.exception("could not write %s", self.path)

    def flush(self) -> None:
        """Write a pending save now (called on hub stop)."""
        if self._pending is not None:
            self._pending.cancel()
            self._flush()

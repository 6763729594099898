"""Filesystem watching with watchfiles: batches of changed paths, grouped by library.

watchfiles (Rust ``notify``: inotify on Linux) debounces bursts into one set of ``(Change, path)``;
a rename arrives as ``deleted`` old + ``added`` new in the same set when both happen within the
debounce window, which is what lets the scanner keep the item's id. The watcher only says *which*
paths to look at; what changed is decided by the same reconcile code the scanner uses.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from watchfiles import awatch

_LOGGER = logging.getLogger(__name__)

#: Milliseconds of quiet before a batch of changes is delivered.
DEBOUNCE_MS = 400
#: Seconds to wait before watching again after the watcher failed (e.g. a folder went away).
RETRY_DELAY = 5.0


async def watch(
    roots: list[str],
    on_changes: Callable[[str, set[str]], Awaitable[None]],
    stop_event: asyncio.Event,
    *,
    debounce_ms: int = DEBOUNCE_MS,
) -> None:
    """Watch ``roots`` until ``stop_event`` is set; call ``on_changes(root, paths)`` for each batch
    (paths are absolute; they may be files or folders, existing or gone). A failing watcher or
    callback is logged and the watch goes on (after :data:`RETRY_DELAY` for watcher failures)."""
    roots = sorted({os.path.normpath(r) for r in roots}, key=len, reverse=True)
    while not stop_event.is_set():
        existing = [r for r in roots if os.path.isdir(r)]
        if not existing:
            await _sleep_or_stop(stop_event, RETRY_DELAY)
            continue
        try:
            async for batch in awatch(
                *existing,
                watch_filter=None,
                debounce=debounce_ms,
                stop_event=stop_event,
                recursive=True,
                ignore_permission_denied=True,
            ):
                grouped: dict[str, set[str]] = {}
                for _change, path in batch:
                    root = next((r for r in existing if path == r or path.startswith(r + os.sep)), None)
                    if root is not None:
                        grouped.setdefault(root, set()).add(path)
                for root, paths in grouped.items():
                    try:
                        await on_changes(root, paths)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        _LOGGER.exception("handling file changes under %s failed", root)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            _LOGGER.warning("file watcher for %s stopped (%s); retrying in %g s", existing, err, RETRY_DELAY)
            await _sleep_or_stop(stop_event, RETRY_DELAY)
            continue
        if not stop_event.is_set():  # awatch ended on its own (a watched root vanished)
            await _sleep_or_stop(stop_event, RETRY_DELAY)


async def _sleep_or_stop(stop_event: asyncio.Event, delay: float) -> None:
    try:
        await asyncio.wait_for(stop_event.wait(), delay)
    except TimeoutError:
        pass

"""``hub.library``: owns the libraries, runs scans and the watcher, answers queries, fires events.

One asyncio lock serialises every write path (scans, watcher batches, single-item rescans), so a
path is never inserted twice and a second ``scan()`` waits for the first one instead of racing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import voluptuous as vol

from ..bus import Context
from ..const import (
    EVENT_MEDIA_ADDED,
    EVENT_MEDIA_ERROR,
    EVENT_MEDIA_MOVED,
    EVENT_MEDIA_REMOVED,
    EVENT_MEDIA_UPDATED,
    EVENT_SCAN_FINISHED,
    EVENT_SCAN_STARTED,
)
from ..errors import ServiceValidationError
from ..registry import slugify
from .analyze import NAME_FIELDS, analyze
from .classify import ITEM_TYPES, media_class
from .scanner import Changes, Counts, reconcile
from .store import LibraryStore
from .walker import FileInfo, Ignorer, stat_file, walk
from .watcher import watch

_LOGGER = logging.getLogger(__name__)

SCAN_SCHEMA = vol.Schema(
    {
        vol.Optional("library_id", description="only this library (default: all)"): vol.All(
            vol.Coerce(int), vol.Range(min=1)
        ),
        vol.Optional("full", default=False, description="re-probe every file, changed or not"): vol.Boolean(),
    }
)
RESCAN_ITEM_SCHEMA = vol.Schema(
    {vol.Required("item_id", description="id of the media item to probe again"): vol.All(vol.Coerce(int), vol.Range(min=1))}
)


def _printable(path: str) -> str:
    """A path safe to put in JSON even when the file name is not valid UTF-8."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class LibraryManager:
    """The media library engine.

    Libraries come from ``hub.config.libraries`` (``[{path, name, type, watch}]``); scanner
    settings from ``hub.config.scanner`` (``probe_concurrency``, ``probe_timeout`` seconds,
    ``ignore`` globs). Events: ``media_added``/``media_updated``/``media_removed``
    (``{"item": {...}}``), ``media_moved`` (``{"item", "old_path"}``), ``media_error``
    (``{"path", "error"}``), ``library_scan_started``/``library_scan_finished`` (the summary).
    """

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.scanning = False
        self._store: LibraryStore | None = None
        self._libraries: dict[int, dict[str, Any]] = {}
        self._lock = asyncio.Lock()
        self._stopping = False
        self._stop_watch = asyncio.Event()
        self._watch_task: asyncio.Task[None] | None = None
        self._scan_tasks: set[asyncio.Task[Any]] = set()
        self._sensors: dict[int, str] = {}
        scanner = getattr(hub.config, "scanner", None) or {}
        self._ignore = Ignorer(scanner.get("ignore", []))
        self._probe_timeout = float(scanner.get("probe_timeout", 60.0))
        self._probe_slots = asyncio.Semaphore(int(scanner.get("probe_concurrency", 4)))

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def store(self) -> LibraryStore:
        if self._store is None:
            self._store = LibraryStore(self.hub.db)
        return self._store

    async def start(self) -> None:
        """Sync the configured libraries into the database, register the ``library.*`` services
        and one ``sensor.<name>_items`` entity per library."""
        configured = [
            {"path": os.path.normpath(lib["path"]), "name": lib.get("name") or os.path.basename(lib["path"]),
             "type": lib.get("type", "mixed"), "watch": lib.get("watch", True)}
            for lib in self.hub.config.libraries
        ]
        self._libraries = await self.store.sync_libraries(configured)
        self.hub.services.register("library", "scan", self._service_scan, SCAN_SCHEMA,
                                   "Scan the libraries (or one) for added, changed, moved and removed files.")
        self.hub.services.register("library", "rescan_item", self._service_rescan_item, RESCAN_ITEM_SCHEMA,
                                   "Probe one media item again and return it.")
        for lib in self._libraries.values():
            entry = self.hub.entities.get_or_create(
                "sensor", "library", f"items:{lib['path']}",
                suggested_object_id=f"{slugify(lib['name'])}_items", name=f"{lib['name']} items",
            )
            self._sensors[lib["id"]] = entry.entity_id
        await self._update_sensors()

    async def start_watching(self) -> None:
        """Watch the libraries configured with ``watch: true`` (in the background)."""
        roots = [lib["path"] for lib in self._libraries.values() if lib.get("watch")]
        if not roots or self._watch_task is not None:
            return
        self._stop_watch.clear()
        self._watch_task = asyncio.get_running_loop().create_task(
            watch(roots, self._on_changes, self._stop_watch), name="library watcher"
        )

    async def stop(self) -> None:
        """Stop the watcher; an in-flight scan finishes its current batch (committed) and ends."""
        self._stopping = True
        self._stop_watch.set()
        if self._watch_task is not None:
            try:
                await asyncio.wait_for(self._watch_task, 10)
            except (TimeoutError, asyncio.CancelledError):
                self._watch_task.cancel()
            except Exception:
                _LOGGER.exception("the library watcher failed")
            self._watch_task = None
        if self._scan_tasks:
            await asyncio.wait(self._scan_tasks, timeout=30)

    # -- scanning -------------------------------------------------------------------------------
    async def scan(self, library_id: int | None = None, *, full: bool = False, context: Context | None = None) -> dict[str, Any]:
        """Scan one library (``library_id``) or all; ``full`` re-probes files that did not change.

        Returns ``{"libraries" (how many were scanned), "library_ids", "seen", "added", "updated",
        "removed", "moved", "unchanged", "errors", "duration" (seconds)}``. A second call while a scan runs waits for it, then runs.
        Raises ``KeyError`` for an unknown ``library_id``."""
        if library_id is not None and library_id not in self._libraries:
            raise KeyError(f"no library with id {library_id}")
        task = asyncio.current_task()
        if task is not None:
            self._scan_tasks.add(task)
        try:
            async with self._lock:
                return await self._scan_locked(library_id, full, context)
        finally:
            if task is not None:
                self._scan_tasks.discard(task)

    async def _scan_locked(self, library_id: int | None, full: bool, context: Context | None) -> dict[str, Any]:
        context = context or Context()
        ids = [library_id] if library_id is not None else list(self._libraries)
        started = time.monotonic()
        totals = Counts()
        self.scanning = True
        self.hub.bus.fire(EVENT_SCAN_STARTED, {"libraries": len(ids), "library_ids": ids, "full": full}, context)
        try:
            for lib_id in ids:
                if self._stopping:
                    break
                totals.add(await self._scan_library(self._libraries[lib_id], full, context))
        finally:
            self.scanning = False
            summary = {
                "libraries": len(ids), "library_ids": ids, **totals.as_dict(),
                "duration": round(time.monotonic() - started, 3),
            }
            self.hub.bus.fire(EVENT_SCAN_FINISHED, summary, context)
            await self._update_sensors(context)
        return summary

    def _nested_roots(self, lib: dict[str, Any]) -> list[str]:
        root = lib["path"]
        return [o["path"] for o in self._libraries.values() if o["path"].startswith(root + os.sep)]

    async def _scan_library(self, lib: dict[str, Any], full: bool, context: Context) -> Counts:
        root = lib["path"]
        index = await self.store.index(lib["id"])
        try:
            walked = await asyncio.to_thread(walk, root, lib["type"], self._ignore, self._nested_roots(lib))
        except OSError as err:
            # The whole folder is missing or unreadable (an unmounted disk): keep every item.
            reason = f"library folder cannot be read, items kept: {err.strerror or err}"
            _LOGGER.warning("library %s: %s", root, reason)
            self.hub.bus.fire(EVENT_MEDIA_ERROR, {"path": root, "error": reason}, context)
            return Counts(errors=1)
        failed = [folder for folder, _ in walked.failed]
        if not walked.files and index and not walked.gone:
            # An empty mount point looks exactly like an unmounted disk: never read it as "every
            # file was deleted". Removing the last file of a library is the price (rare).
            reason = f"library folder is empty; its {len(index)} items are kept (is the disk mounted?)"
            _LOGGER.warning("library %s: %s", root, reason)
            self.hub.bus.fire(EVENT_MEDIA_ERROR, {"path": root, "error": reason}, context)
            return Counts(errors=1, seen=0)
        for folder, reason in walked.failed + walked.bad:
            self.hub.bus.fire(EVENT_MEDIA_ERROR, {"path": _printable(folder), "error": reason}, context)

        def keep(path: str) -> bool:
            return any(path.startswith(f + os.sep) for f in failed)

        counts = await reconcile(
            self.store, lib, walked.files, index, full=full, probe_slots=self._probe_slots,
            probe_timeout=self._probe_timeout, announce=lambda ch: self._announce(ch, context),
            should_stop=lambda: self._stopping, keep=keep,
        )
        counts.errors += len(walked.failed) + len(walked.bad)
        if not self._stopping:
            now = time.time()
            await self.store.mark_scanned(lib["id"], now)
            lib["last_scan_at"] = now
        return counts

    async def _on_changes(self, root: str, paths: set[str]) -> None:
        """Watcher batch: reconcile just these paths (files or folders, present or gone)."""
        lib = next((lib for lib in self._libraries.values() if lib["path"] == root), None)
        if lib is None or self._stopping:
            return
        context = Context()
        async with self._lock:
            index = await self.store.index(lib["id"])
            observed, scope = await asyncio.to_thread(self._observe, lib, paths)
            scoped = {
                p: row for p, row in index.items()
                if p in scope or any(p.startswith(d + os.sep) for d in scope)
            }
            await reconcile(
                self.store, lib, observed, scoped, full=False, probe_slots=self._probe_slots,
                probe_timeout=self._probe_timeout, announce=lambda ch: self._announce(ch, context),
                should_stop=lambda: self._stopping,
            )
        await self._update_sensors(context)

    async def refresh_paths(self, paths: list[str]) -> None:
        """Reconcile just ``paths`` (files or folders) now, without waiting for the watcher: the
        acquisition engine calls this after an import. Paths outside every library are ignored."""
        by_root: dict[str, set[str]] = {}
        for path in paths:
            lib = self.library_for(path)
            if lib is not None:
                by_root.setdefault(lib["path"], set()).add(os.path.normpath(path))
        for root, scoped in by_root.items():
            await self._on_changes(root, scoped)

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Hold the library's write lock: no scan or watcher batch runs meanwhile. For engines
        that rename a file under the library and update its item themselves (the transcode
        engine's safe replace), so the rename is not read as remove + add (a new id, a lost
        playback position)."""
        async with self._lock:
            yield

    async def move_item(self, item_id: int, path: str) -> None:
        """Point media item ``item_id`` at ``path`` (its file was renamed there), keeping its id.
        Call inside :meth:`writing`."""
        item = await self.store.get(item_id)
        if item is None or os.path.normpath(item["path"]) == os.path.normpath(path):
            return
        await self.store.write_batch(item["library_id"], updates=[(item_id, {"path": path})])

    def library_for(self, path: str) -> dict[str, Any] | None:
        """The configured library whose folder holds ``path`` (None when outside all)."""
        path = os.path.normpath(path)
        for lib in self._libraries.values():
            if path == lib["path"] or path.startswith(lib["path"] + os.sep):
                return dict(lib)
        return None

    def _observe(self, lib: dict[str, Any], paths: set[str]) -> tuple[dict[str, FileInfo], set[str]]:
        """(blocking) What is now at ``paths``: files found (folders walked) and the scope of
        paths whose items may have changed."""
        root = lib["path"]
        observed: dict[str, FileInfo] = {}
        scope: set[str] = set()
        nested = self._nested_roots(lib)
        for path in paths:
            rel = os.path.relpath(path, root)
            if rel == "." or any(self._ignore(part, rel) for part in rel.split(os.sep)):
                continue
            if any(path == n or path.startswith(n + os.sep) for n in nested):
                continue
            scope.add(path)
            if os.path.isdir(path):
                try:
                    observed.update(walk(path, lib["type"], self._ignore, nested).files)
                except OSError:
                    pass
                continue
            if media_class(path, lib["type"]) is None:
                continue
            info = stat_file(path)
            if info is not None:
                observed[path] = info
        return observed, scope

    def _announce(self, changes: Changes, context: Context) -> None:
        bus = self.hub.bus
        for item in changes.removed:
            bus.fire(EVENT_MEDIA_REMOVED, {"item": item}, context)
        for item, old_path in changes.moved:
            bus.fire(EVENT_MEDIA_MOVED, {"item": item, "old_path": old_path}, context)
        for item in changes.added:
            bus.fire(EVENT_MEDIA_ADDED, {"item": item}, context)
        for item in changes.updated:
            bus.fire(EVENT_MEDIA_UPDATED, {"item": item}, context)
        for path, error in changes.errors:
            bus.fire(EVENT_MEDIA_ERROR, {"path": _printable(path), "error": error}, context)

    async def _update_sensors(self, context: Context | None = None) -> None:
        for lib_id, entity_id in self._sensors.items():
            lib = self._libraries[lib_id]
            try:
                count = await self.store.count(lib_id)
            except Exception:  # a sensor is not worth failing a scan for
                _LOGGER.exception("counting items of %s failed", lib["path"])
                continue
            self.hub.states.set(
                entity_id, count,
                {"friendly_name": f"{lib['name']} items", "unit_of_measurement": "items",
                 "library_id": lib_id, "path": lib["path"], "library_type": lib["type"],
                 "last_scan_at": lib.get("last_scan_at"), "scanning": self.scanning},
                context=context,
            )

    async def rescan_item(self, item_id: int, context: Context | None = None) -> dict[str, Any]:
        """Probe one item again (even if unchanged) and return it (every column).

        Raises ``KeyError`` when there is no such item, or when its file is gone (the item is
        then removed and ``media_removed`` fired)."""
        context = context or Context()
        async with self._lock:
            item = await self.store.get(item_id)
            if item is None:
                raise KeyError(f"no media item with id {item_id}")
            lib = self._libraries.get(item["library_id"])
            info = await asyncio.to_thread(stat_file, item["path"])
            if lib is None or info is None:
                _a, _u, removed = await self.store.write_batch(item["library_id"], deletes=[item_id])
                self._announce(Changes(removed=removed), context)
                raise KeyError(f"media item {item_id} is gone: {item['path']} no longer exists")
            fields = await analyze(item["path"], info, lib["path"], lib["type"], self._probe_slots, self._probe_timeout)
            _a, updated, _r = await self.store.write_batch(lib["id"], updates=[(item_id, fields)])
            changes = Changes(updated=updated)
            if fields["status"] == "error":
                changes.errors.append((item["path"], fields["error"]))
            self._announce(changes, context)
        result = await self.store.get(item_id)
        if result is None:  # pragma: no cover - removed concurrently
            raise KeyError(f"no media item with id {item_id}")
        return result

    async def set_metadata(self, item_id: int, fields: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        """Set what an engine knows better than the file name (the DVR's guide): any of
        ``type`` and the name columns (title, year, season, episode, episodes, absolute_episode,
        air_date "YYYY-MM-DD", episode_title, release_group, quality), and ``tags`` (merged into
        the item's tags). Fires ``media_updated`` and returns the item (every column). A later
        re-probe of the file (it changed, a full scan, ``rescan_item``) derives these columns
        from the name and the container's tags again. Raises ``KeyError`` (no such item) and
        ``ValueError`` (another column, or an unknown type)."""
        allowed = {"type", "tags", *NAME_FIELDS}
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise ValueError(f"set_metadata cannot set {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
        if "type" in fields and fields["type"] not in ITEM_TYPES:
            raise ValueError(f"unknown media type {fields['type']!r}; expected one of {', '.join(ITEM_TYPES)}")
        async with self._lock:
            item = await self.store.get(item_id)
            if item is None:
                raise KeyError(f"no media item with id {item_id}")
            updates = dict(fields)
            if "tags" in updates:
                updates["tags"] = {**(item.get("tags") or {}), **(updates["tags"] or {})}
            _a, updated, _r = await self.store.write_batch(item["library_id"], updates=[(item_id, updates)])
            self._announce(Changes(updated=updated), context or Context())
        result = await self.store.get(item_id)
        if result is None:  # pragma: no cover - removed concurrently
            raise KeyError(f"no media item with id {item_id}")
        return result

    # -- services -------------------------------------------------------------------------------
    async def _service_scan(self, call: Any) -> dict[str, Any]:
        """Scan the libraries (or one) for added, changed, moved and removed files."""
        library_id = call.data.get("library_id")
        if library_id is not None and library_id not in self._libraries:
            raise ServiceValidationError(
                f"invalid data for library.scan: no library with id {library_id} "
                f"(libraries: {sorted(self._libraries) or 'none'})"
            )
        return await self.scan(library_id, full=call.data.get("full", False), context=call.context)

    async def _service_rescan_item(self, call: Any) -> dict[str, Any]:
        """Probe one media item again and return it."""
        try:
            return await self.rescan_item(call.data["item_id"], context=call.context)
        except KeyError as err:
            raise ServiceValidationError(f"invalid data for library.rescan_item: {err.args[0]}") from err

    # -- queries --------------------------------------------------------------------------------
    async def list_items(
        self, *, type: str | None = None, text: str | None = None, library: int | None = None,
        limit: int = 50, offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Items matching all given filters, ordered by title, season, episode, path, and the total
        number of matches. ``type``: one of movie, episode, video, track, audiobook, photo, ebook,
        comic; ``text``: case-insensitive substring of title or path; ``library``: library id.
        Raises ``ValueError`` for an unknown type or a negative limit/offset."""
        if type is not None and type not in ITEM_TYPES:
            raise ValueError(f"unknown media type {type!r}; expected one of {', '.join(ITEM_TYPES)}")
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must be zero or more")
        return await self.store.list(type=type, text=text, library=library, limit=limit, offset=offset)

    async def get_item(self, item_id: int) -> dict[str, Any] | None:
        """Every column of one item (sizes bytes, duration seconds, bitrate bit/s), or None."""
        return await self.store.get(item_id)

    async def libraries(self) -> list[dict[str, Any]]:
        """``[{id, name, path, type, watch, item_count, size (bytes), duration (s), last_scan_at}]``."""
        rows = await self.store.libraries()
        for row in rows:
            row["watch"] = bool(self._libraries.get(row["id"], {}).get("watch", False))
        return rows

    async def stats(self) -> dict[str, Any]:
        """``{total_items, total_size (bytes), total_duration (s), by_type {type: n}, by_library
        [{id, name, type, item_count, size, duration}], errors (items with status error),
        scanning}``."""
        totals = await self.store.totals()
        libs = await self.store.libraries()
        return {
            **totals,
            "by_library": [
                {k: lib[k] for k in ("id", "name", "type", "item_count", "size", "duration")} for lib in libs
            ],
            "scanning": self.scanning,
        }

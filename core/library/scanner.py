"""Reconciling what is on disk with what the database knows, for one library.

The same code serves a full scan (the whole folder is in scope) and the file watcher (only the
changed paths are in scope): compare ``observed`` (path → :class:`FileInfo`) with ``index`` (path →
:class:`IndexRow`), then

* unchanged (same size and mtime) — counted, not touched (this is what makes a no-change rescan of
  10,000 files cost one query and one walk);
* moved — a path that disappeared and a new path with the same inode and size: the row keeps its
  id, only the path and the name-derived fields change (``media_moved``);
* removed, added, changed — analysed (probe, tags) with bounded parallelism and written in
  batches, one transaction per batch, so a hub killed mid-scan leaves whole batches behind and the
  next scan picks up the rest.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .analyze import analyze, name_fields
from .classify import media_class
from .naming import run_off_loop
from .store import IndexRow, LibraryStore
from .walker import FileInfo

_LOGGER = logging.getLogger(__name__)

#: Files analysed and committed per transaction.
BATCH_SIZE = 64


@dataclass(slots=True)
class Counts:
    seen: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    moved: int = 0
    unchanged: int = 0
    errors: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class Changes:
    """What a reconcile wrote, as item summaries, for the caller to announce."""

    added: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    moved: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def _differs(info: FileInfo, row: IndexRow) -> bool:
    return info.size != row.size or abs(info.mtime - row.mtime) > 1e-6


async def reconcile(
    store: LibraryStore,
    library: dict[str, Any],
    observed: dict[str, FileInfo],
    index: dict[str, IndexRow],
    *,
    full: bool,
    probe_slots: asyncio.Semaphore,
    probe_timeout: float,
    announce: Callable[[Changes], None],
    should_stop: Callable[[], bool] = lambda: False,
    keep: Callable[[str], bool] = lambda path: False,
) -> Counts:
    """Bring the database in line with ``observed`` for the paths in ``index``/``observed``.

    ``keep(path)`` protects items whose folder could not be read from removal. ``announce`` is
    called after each committed transaction. ``should_stop()`` ends the work between batches.
    Returns the counts (seen, added, updated, removed, moved, unchanged, errors)."""
    counts = Counts(seen=len(observed))
    root, lib_type, lib_id = library["path"], library["type"], library["id"]

    gone = {p: row for p, row in index.items() if p not in observed and not keep(p)}
    new = [p for p in observed if p not in index]
    todo: list[tuple[str, int | None]] = []
    for path, info in observed.items():
        row = index.get(path)
        if row is None:
            continue
        if full or _differs(info, row):
            todo.append((path, row.id))
        else:
            counts.unchanged += 1

    # Renames: a vanished row and a new path on the same inode with the same size.
    by_inode = {(row.inode, row.size): (p, row) for p, row in gone.items() if row.inode is not None}
    moves: list[tuple[int, dict[str, Any], str]] = []
    moved_to: set[str] = set()
    for path in new:
        info = observed[path]
        match = by_inode.pop((info.inode, info.size), None) if info.kind == "file" and by_inode else None
        if match is None:
            continue
        old_path, row = match
        del gone[old_path]
        moved_to.add(path)
        cls = media_class(path, lib_type) or "video"
        fields = {"path": path, "mtime": info.mtime, "inode": info.inode}
        fields.update(await run_off_loop(name_fields, path, root, cls, lib_type, row.video if cls == "video" else None))
        moves.append((row.id, fields, old_path))
        if full or _differs(info, row):
            todo.append((path, row.id))

    if gone or moves:
        changes = Changes()
        _added, updated, removed = await store.write_batch(
            lib_id, updates=[(item_id, f) for item_id, f, _ in moves], deletes=[r.id for r in gone.values()]
        )
        old_paths = {item_id: old for item_id, _, old in moves}
        changes.moved = [(item, old_paths[item["id"]]) for item in updated]
        changes.removed = removed
        counts.moved += len(changes.moved)
        counts.removed += len(removed)
        announce(changes)

    todo.extend((p, None) for p in new if p not in moved_to)
    todo.sort(key=lambda t: t[0])
    for start in range(0, len(todo), BATCH_SIZE):
        if should_stop():
            break
        chunk = todo[start : start + BATCH_SIZE]
        results = await asyncio.gather(
            *(_analyze_one(p, observed[p], root, lib_type, probe_slots, probe_timeout) for p, _ in chunk)
        )
        inserts, updates, vanished = [], [], []
        changes = Changes()
        for (path, item_id), fields in zip(chunk, results, strict=True):
            if fields is None:  # vanished between the walk and the analysis
                if item_id is not None:
                    vanished.append(item_id)
                continue
            if fields["status"] == "error":
                counts.errors += 1
                changes.errors.append((path, fields["error"]))
            if item_id is None:
                inserts.append(fields)
            else:
                updates.append((item_id, fields))
        try:
            added, updated, removed = await store.write_batch(
                lib_id, inserts=inserts, updates=updates, deletes=vanished
            )
        except Exception as err:  # a database failure costs this batch, not the scan
            _LOGGER.exception("library %s: could not store %d files", root, len(chunk))
            counts.errors += len(chunk)
            announce(Changes(errors=[(p, f"could not store the item: {err}") for p, _ in chunk]))
            continue
        changes.added, changes.updated, changes.removed = added, updated, removed
        counts.added += len(added)
        counts.updated += len(updated)
        counts.removed += len(removed)
        announce(changes)
    return counts


async def _analyze_one(
    path: str, info: FileInfo, root: str, lib_type: str, slots: asyncio.Semaphore, timeout: float
) -> dict[str, Any] | None:
    try:
        return await analyze(path, info, root, lib_type, slots, timeout)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise
        return None

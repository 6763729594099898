"""Resume positions and watched state, one row per media item (table ``playback_positions``).

A client reports where it is (:meth:`PositionStore.update`, every few seconds while playing and
when it stops). Once the position reaches ``playback: watched_threshold`` × the duration (0.9 by
default) the item counts as watched: ``watched`` becomes true, ``play_count`` grows by one and the
position goes back to 0, so the next play starts at the beginning. Reports past the threshold that
follow (a player running on to the credits) count nothing more; a later re-watch that is reported
below the threshold first counts again when it reaches it. Every change fires
``playback_position_updated`` (:data:`~omnimedia.core.const.EVENT_PLAYBACK_POSITION`) with the
row as data.

Positions and durations are seconds, ``updated_at`` UTC seconds since the epoch. Portable SQL
only (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..bus import Context
from ..const import EVENT_PLAYBACK_POSITION
from ..db import MediaItem
from ..db.models import PlaybackPosition

if TYPE_CHECKING:
    from ..hub import Hub

#: Item columns returned with each "continue watching" entry.
ITEM_COLUMNS = ("id", "type", "title", "year", "season", "episode", "episode_title", "path", "duration")
DEFAULT_THRESHOLD = 0.9


class UnknownItem(LookupError):
    """No media item with that id (``args[0]``)."""


def _empty(item_id: int) -> dict[str, Any]:
    return {
        "item_id": item_id, "position": 0.0, "duration": None, "watched": False, "play_count": 0,
        "device": None, "updated_at": None,
    }


class PositionStore:
    """Reads and writes ``playback_positions`` for one hub (``hub.db``, ``hub.bus``, the
    ``playback`` configuration). Use :func:`positions_of` to get the hub's store."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._lock = asyncio.Lock()  # read-modify-write of one row at a time (no lost play counts)

    @property
    def threshold(self) -> float:
        return float((self.hub.config.playback or {}).get("watched_threshold", DEFAULT_THRESHOLD))

    async def get(self, item_id: int) -> dict[str, Any]:
        """``{item_id, position, duration, watched, play_count, device, updated_at}``; an item
        never played has position 0, ``updated_at`` ``None``. Raises :class:`UnknownItem`."""
        async with self.hub.db.session() as session:
            row = await session.get(PlaybackPosition, item_id)
            if row is not None:
                return row.as_dict()
            if await session.get(MediaItem, item_id) is None:
                raise UnknownItem(item_id)
        return _empty(item_id)

    async def update(
        self,
        item_id: int,
        position: float,
        duration: float | None = None,
        device: str | None = None,
        *,
        context: Context | None = None,
    ) -> dict[str, Any]:
        """Record that playback of ``item_id`` is at ``position`` seconds (of ``duration``
        seconds; when ``None`` the duration last reported or the library's is used) on
        ``device`` (a profile name or renderer id). Negative positions count as 0, positions past
        the end as the end. Returns the row (see :meth:`get`) plus ``completed``: true when this
        report made the item watched. Raises :class:`UnknownItem`, ``ValueError`` for a position
        or duration that is not a finite number."""
        position = _seconds(position, "position")
        if duration is not None:
            duration = _seconds(duration, "duration")
            if duration <= 0:
                duration = None

        def change(row: PlaybackPosition, item: MediaItem) -> bool:
            known = duration or row.duration or item.duration
            pos = max(0.0, position)
            if known:
                pos = min(pos, known)
            completed = False
            if known and pos >= self.threshold * known:
                # A report past the threshold right after a completion (position already reset
                # to 0 and the item watched) is the same play running on: count it once.
                if not (row.watched and (row.position or 0.0) == 0.0 and row.play_count):
                    completed = True
                    row.watched = True
                    row.play_count = (row.play_count or 0) + 1
                pos = 0.0
            row.position = pos
            row.duration = known
            if device is not None:
                row.device = device[:255]
            return completed

        return await self._write(item_id, change, context)

    async def mark_watched(self, item_id: int, device: str | None = None, *, context: Context | None = None) -> dict[str, Any]:
        """Mark ``item_id`` watched: ``play_count`` + 1, position 0. Raises :class:`UnknownItem`."""

        def change(row: PlaybackPosition, item: MediaItem) -> bool:
            row.watched = True
            row.play_count = (row.play_count or 0) + 1
            row.position = 0.0
            row.duration = row.duration or item.duration
            if device is not None:
                row.device = device[:255]
            return True

        return await self._write(item_id, change, context)

    async def mark_unwatched(self, item_id: int, *, context: Context | None = None) -> dict[str, Any]:
        """Mark ``item_id`` not watched: ``watched`` false, ``play_count`` 0, position 0.
        Raises :class:`UnknownItem`."""

        def change(row: PlaybackPosition, item: MediaItem) -> bool:
            row.watched = False
            row.play_count = 0
            row.position = 0.0
            row.duration = row.duration or item.duration
            return False

        return await self._write(item_id, change, context)

    async def continue_watching(self, limit: int = 20) -> list[dict[str, Any]]:
        """Items started and not finished, most recently played first: each the position row
        (see :meth:`get`) plus ``progress`` (0–1, ``None`` without a duration) and ``item``
        (``{id, type, title, year, season, episode, episode_title, path, duration}``)."""
        cols = [getattr(MediaItem, c) for c in ITEM_COLUMNS]
        stmt = (
            select(PlaybackPosition, *cols)
            .join(MediaItem, MediaItem.id == PlaybackPosition.item_id)
            .where(PlaybackPosition.position > 0)
            .order_by(PlaybackPosition.updated_at.desc(), PlaybackPosition.item_id)
            .limit(limit)
        )
        async with self.hub.db.session() as session:
            rows = (await session.execute(stmt)).all()
        out = []
        for row in rows:
            pos: PlaybackPosition = row[0]
            entry = pos.as_dict()
            entry["progress"] = round(pos.position / pos.duration, 4) if pos.duration else None
            entry["item"] = dict(zip(ITEM_COLUMNS, row[1:], strict=True))
            out.append(entry)
        return out

    async def _write(self, item_id: int, change: Any, context: Context | None) -> dict[str, Any]:
        async def work() -> tuple[dict[str, Any], bool]:
            async with self.hub.db.session() as session, session.begin():
                item = await session.get(MediaItem, item_id)
                if item is None:
                    raise UnknownItem(item_id)
                row = await session.get(PlaybackPosition, item_id, with_for_update=True)
                if row is None:
                    row = PlaybackPosition(item_id=item_id, position=0.0, watched=False, play_count=0)
                    session.add(row)
                completed = change(row, item)
                row.updated_at = time.time()
                await session.flush()
                return row.as_dict(), completed

        async with self._lock:
            data, completed = await self.hub.db.retry(work)
        self.hub.bus.fire(EVENT_PLAYBACK_POSITION, {**data, "completed": completed}, context)
        return {**data, "completed": completed}


def _seconds(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of seconds, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{what} must be a finite number of seconds, got {value!r}")
    return number


_STORES: weakref.WeakKeyDictionary[Any, PositionStore] = weakref.WeakKeyDictionary()


def positions_of(hub: Hub) -> PositionStore:
    """The hub's :class:`PositionStore`: ``hub.playback.positions`` when the playback manager
    holds one, else one kept for the hub's lifetime."""
    store = getattr(hub.playback, "positions", None)
    if isinstance(store, PositionStore):
        return store
    store = _STORES.get(hub)
    if store is None:
        store = _STORES[hub] = PositionStore(hub)
    return store

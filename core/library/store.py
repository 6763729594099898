"""The library's database side: the scan index, batched writes, queries. Portable SQL only
(SQLite and PostgreSQL share every statement here)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, delete, func, or_, select, update

from ..db import Database, Library, MediaItem

#: Columns shown in lists and carried in media_* events (the full row comes from get_item).
SUMMARY_COLUMNS = (
    "id", "library_id", "type", "status", "error", "title", "year", "season", "episode", "episodes",
    "absolute_episode", "air_date", "episode_title", "artist", "album", "track_number", "quality",
    "release_group", "path", "size", "mtime", "duration", "bitrate", "container", "video_codec",
    "audio_codec", "width", "height", "added_at", "updated_at",
)
#: Ids per ``IN (...)``: SQLite allows 32,766 bound parameters, asyncpg 32,767.
MAX_PARAMS = 1000
_COLUMNS = {c.key: c for c in MediaItem.__table__.columns}
_WRITABLE = set(_COLUMNS) - {"id"}


@dataclass(slots=True)
class IndexRow:
    """What an incremental scan compares against: one row per known file."""

    id: int
    size: int
    mtime: float
    inode: int | None
    status: str
    video: bool


def fit(fields: dict[str, Any]) -> dict[str, Any]:
    """Keep known columns only and cut strings to their column length (PostgreSQL enforces
    ``VARCHAR(n)``; SQLite does not) and strip NUL bytes (PostgreSQL refuses them)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in _WRITABLE:
            continue
        if isinstance(value, str):
            value = value.replace("\x00", "")
            length = getattr(_COLUMNS[key].type, "length", None)
            if isinstance(_COLUMNS[key].type, String) and length and len(value) > length:
                value = value[:length]
        out[key] = value
    return out


def summary(row: MediaItem | Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in SUMMARY_COLUMNS}


class LibraryStore:
    """Reads and writes for the library engine; writes are wrapped in ``db.retry`` (SQLite busy)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- libraries ------------------------------------------------------------------------------
    async def sync_libraries(self, configured: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """Make the ``libraries`` table match the configuration (matched by path). Libraries no
        longer configured are dropped with their items. Returns ``{id: library dict}``."""

        async def work() -> dict[int, dict[str, Any]]:
            out: dict[int, dict[str, Any]] = {}
            async with self.db.session() as session, session.begin():
                rows = {r.path: r for r in (await session.scalars(select(Library))).all()}
                for lib in configured:
                    row = rows.pop(lib["path"], None)
                    if row is None:
                        row = Library(path=lib["path"], name=lib["name"], type=lib["type"], created_at=time.time())
                        session.add(row)
                        await session.flush()
                    else:
                        row.name, row.type = lib["name"], lib["type"]
                    out[row.id] = {**lib, "id": row.id, "last_scan_at": row.last_scan_at}
                for stale in rows.values():
                    await session.execute(delete(MediaItem).where(MediaItem.library_id == stale.id))
                    await session.delete(stale)
            return out

        return await self.db.retry(work)

    async def mark_scanned(self, library_id: int, when: float) -> None:
        async def work() -> None:
            async with self.db.session() as session, session.begin():
                await session.execute(update(Library).where(Library.id == library_id).values(last_scan_at=when))

        await self.db.retry(work)

    # -- scanning -------------------------------------------------------------------------------
    async def index(self, library_id: int) -> dict[str, IndexRow]:
        """One query: ``{path: IndexRow}`` for every item of the library."""
        stmt = select(
            MediaItem.path, MediaItem.id, MediaItem.size, MediaItem.mtime, MediaItem.inode,
            MediaItem.status, MediaItem.video_codec,
        ).where(MediaItem.library_id == library_id)
        async with self.db.session() as session:
            result = await session.execute(stmt)
            return {
                path: IndexRow(id_, size, mtime, inode, status, video_codec is not None)
                for path, id_, size, mtime, inode, status, video_codec in result
            }

    async def write_batch(
        self,
        library_id: int,
        *,
        inserts: list[dict[str, Any]] = (),
        updates: list[tuple[int, dict[str, Any]]] = (),
        deletes: list[int] = (),
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Apply one batch in one transaction. Returns the (inserted, updated, deleted) items as
        summary dicts (see :data:`SUMMARY_COLUMNS`)."""
        now = time.time()

        async def work():
            added, changed, removed = [], [], []
            async with self.db.session() as session, session.begin():
                for start in range(0, len(deletes), MAX_PARAMS):  # stay under bound-parameter limits
                    chunk = list(deletes[start : start + MAX_PARAMS])
                    rows = (await session.scalars(select(MediaItem).where(MediaItem.id.in_(chunk)))).all()
                    removed.extend(summary(r) for r in rows)
                    await session.execute(delete(MediaItem).where(MediaItem.id.in_(chunk)))
                for item_id, fields in updates:
                    row = await session.get(MediaItem, item_id)
                    if row is None:
                        continue
                    for key, value in fit(fields).items():
                        setattr(row, key, value)
                    row.updated_at = now
                    changed.append(row)
                new_rows = [
                    MediaItem(**{**fit(f), "library_id": library_id, "added_at": now, "updated_at": now})
                    for f in inserts
                ]
                session.add_all(new_rows)
                await session.flush()
                added = [summary(r) for r in new_rows]
                changed = [summary(r) for r in changed]
            return added, changed, removed

        return await self.db.retry(work)

    # -- queries --------------------------------------------------------------------------------
    async def get(self, item_id: int) -> dict[str, Any] | None:
        async with self.db.session() as session:
            row = await session.get(MediaItem, item_id)
            return row.as_dict() if row is not None else None

    async def list(
        self, *, type: str | None, text: str | None, library: int | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        conditions = []
        if type:
            conditions.append(MediaItem.type == type)
        if library is not None:
            conditions.append(MediaItem.library_id == library)
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            conditions.append(
                or_(MediaItem.title.ilike(pattern, escape="\\"), MediaItem.path.ilike(pattern, escape="\\"))
            )
        cols = [_COLUMNS[k] for k in SUMMARY_COLUMNS]
        stmt = (
            select(*cols)
            .where(*conditions)
            .order_by(
                func.lower(func.coalesce(MediaItem.title, MediaItem.path)),
                func.coalesce(MediaItem.season, -1),
                func.coalesce(MediaItem.episode, -1),
                MediaItem.path,
            )
            .limit(limit)
            .offset(offset)
        )
        async with self.db.session() as session:
            total = (await session.execute(select(func.count(MediaItem.id)).where(*conditions))).scalar_one()
            rows = (await session.execute(stmt)).all()
        return [dict(zip(SUMMARY_COLUMNS, r, strict=True)) for r in rows], int(total)

    async def libraries(self) -> list[dict[str, Any]]:
        stmt = (
            select(Library.id, Library.name, Library.path, Library.type, Library.last_scan_at,
                   func.count(MediaItem.id), func.coalesce(func.sum(MediaItem.size), 0),
                   func.coalesce(func.sum(MediaItem.duration), 0.0))
            .outerjoin(MediaItem, MediaItem.library_id == Library.id)
            .group_by(Library.id, Library.name, Library.path, Library.type, Library.last_scan_at)
            .order_by(Library.id)
        )
        async with self.db.session() as session:
            rows = (await session.execute(stmt)).all()
        return [
            {"id": r[0], "name": r[1], "path": r[2], "type": r[3], "last_scan_at": r[4],
             "item_count": int(r[5]), "size": int(r[6]), "duration": float(r[7])}
            for r in rows
        ]

    async def totals(self) -> dict[str, Any]:
        async with self.db.session() as session:
            count, size, duration = (
                await session.execute(
                    select(func.count(MediaItem.id), func.coalesce(func.sum(MediaItem.size), 0),
                           func.coalesce(func.sum(MediaItem.duration), 0.0))
                )
            ).one()
            by_type = dict(
                (await session.execute(select(MediaItem.type, func.count(MediaItem.id)).group_by(MediaItem.type))).all()
            )
            errors = (
                await session.execute(select(func.count(MediaItem.id)).where(MediaItem.status == "error"))
            ).scalar_one()
        return {
            "total_items": int(count),
            "total_size": int(size),
            "total_duration": float(duration),
            "by_type": {k: int(v) for k, v in by_type.items()},
            "errors": int(errors),
        }

    async def count(self, library_id: int) -> int:
        async with self.db.session() as session:
            return int(
                (await session.execute(
                    select(func.count(MediaItem.id)).where(MediaItem.library_id == library_id)
                )).scalar_one()
            )

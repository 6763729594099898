"""The acquisition engine's database side: wanted titles and targets, grabs, history, blocklist.

Portable SQL only (SQLite and PostgreSQL share every statement). Writes go through
``db.retry`` (SQLite busy). Every method returns plain dicts (``Model.as_dict()``), never ORM
objects, so callers cannot touch a session after it closed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import delete, desc, select

from ..db import Database
from ..db.models import BlocklistEntry, Grab, HistoryEvent, WantedTarget, WantedTitle

T = TypeVar("T")

#: Grab states that still hold their release and targets (a second grab of them is refused).
ACTIVE_STATES = ("queued", "downloading", "import_pending", "importing")
GRAB_STATES = (*ACTIVE_STATES, "imported", "failed")


class AcquisitionStore:
    """Reads and writes for :class:`~omnimedia.core.acquisition.manager.AcquisitionManager`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _write(self, work: Callable[[Any], Awaitable[T]]) -> T:
        return await self.db.transaction(work)

    # -- wanted ---------------------------------------------------------------------------------
    async def add_title(self, fields: dict[str, Any], targets: Iterable[dict[str, Any]]) -> int:
        """Insert a wanted title and its targets; returns the title id."""
        now = time.time()

        async def work(session: Any) -> int:
            row = WantedTitle(**{**fields, "added_at": now, "updated_at": now})
            session.add(row)
            await session.flush()
            session.add_all(WantedTarget(**{**t, "title_id": row.id}) for t in targets)
            return row.id

        return await self._write(work)

    async def add_targets(self, title_id: int, targets: Iterable[dict[str, Any]]) -> None:
        async def work(session: Any) -> None:
            session.add_all(WantedTarget(**{**t, "title_id": title_id}) for t in targets)

        await self._write(work)

    async def get_title(self, title_id: int) -> dict[str, Any] | None:
        """The title with ``targets`` (sorted by season, episode), or None."""
        async with self.db.session() as session:
            row = await session.get(WantedTitle, title_id)
            if row is None:
                return None
            targets = (
                await session.scalars(
                    select(WantedTarget).where(WantedTarget.title_id == title_id).order_by(WantedTarget.id)
                )
            ).all()
            out = row.as_dict()
            out["targets"] = sorted(
                (t.as_dict() for t in targets),
                key=lambda t: (t["season"] if t["season"] is not None else -1, t["episode"] or 0, t["air_date"] or ""),
            )
            return out

    async def list_titles(self, media_type: str | None = None) -> list[dict[str, Any]]:
        """Every wanted title (with ``targets``), by title."""
        async with self.db.session() as session:
            stmt = select(WantedTitle).order_by(WantedTitle.title)
            if media_type:
                stmt = stmt.where(WantedTitle.media_type == media_type)
            titles = [t.as_dict() for t in (await session.scalars(stmt)).all()]
            ids = [t["id"] for t in titles]
            by_title: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
            if ids:
                for t in (await session.scalars(select(WantedTarget).where(WantedTarget.title_id.in_(ids)))).all():
                    by_title[t.title_id].append(t.as_dict())
        for title in titles:
            title["targets"] = by_title[title["id"]]
        return titles

    async def update_title(self, title_id: int, **fields: Any) -> None:
        async def work(session: Any) -> None:
            row = await session.get(WantedTitle, title_id)
            if row is not None:
                for key, value in fields.items():
                    setattr(row, key, value)
                row.updated_at = time.time()

        await self._write(work)

    async def delete_title(self, title_id: int) -> bool:
        async def work(session: Any) -> bool:
            await session.execute(delete(WantedTarget).where(WantedTarget.title_id == title_id))
            result = await session.execute(delete(WantedTitle).where(WantedTitle.id == title_id))
            return bool(result.rowcount)

        return await self._write(work)

    async def update_targets(self, target_ids: Iterable[int], **fields: Any) -> None:
        ids = list(target_ids)

        async def work(session: Any) -> None:
            for row in (await session.scalars(select(WantedTarget).where(WantedTarget.id.in_(ids)))).all():
                for key, value in fields.items():
                    setattr(row, key, value)

        if ids:
            await self._write(work)

    # -- grabs ----------------------------------------------------------------------------------
    async def add_grab(self, fields: dict[str, Any]) -> dict[str, Any]:
        now = time.time()

        async def work(session: Any) -> dict[str, Any]:
            row = Grab(**{"grabbed_at": now, "updated_at": now, **fields})
            session.add(row)
            await session.flush()
            return row.as_dict()

        return await self._write(work)

    async def update_grab(self, grab_id: int, **fields: Any) -> dict[str, Any] | None:
        async def work(session: Any) -> dict[str, Any] | None:
            row = await session.get(Grab, grab_id)
            if row is None:
                return None
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = time.time()
            return row.as_dict()

        return await self._write(work)

    async def get_grab(self, grab_id: int) -> dict[str, Any] | None:
        async with self.db.session() as session:
            row = await session.get(Grab, grab_id)
            return row.as_dict() if row is not None else None

    async def grabs(self, states: Iterable[str] = GRAB_STATES, limit: int | None = None) -> list[dict[str, Any]]:
        """Grabs in ``states``, newest first."""
        stmt = select(Grab).where(Grab.state.in_(list(states))).order_by(desc(Grab.grabbed_at), desc(Grab.id))
        if limit:
            stmt = stmt.limit(limit)
        async with self.db.session() as session:
            return [g.as_dict() for g in (await session.scalars(stmt)).all()]

    async def delete_grab(self, grab_id: int) -> bool:
        async def work(session: Any) -> bool:
            return bool((await session.execute(delete(Grab).where(Grab.id == grab_id))).rowcount)

        return await self._write(work)

    # -- history --------------------------------------------------------------------------------
    async def add_history(self, event: str, **fields: Any) -> dict[str, Any]:
        async def work(session: Any) -> dict[str, Any]:
            row = HistoryEvent(event=event, at=time.time(), **fields)
            session.add(row)
            await session.flush()
            return row.as_dict()

        return await self._write(work)

    async def history(self, limit: int = 100, title_id: int | None = None) -> list[dict[str, Any]]:
        stmt = select(HistoryEvent).order_by(desc(HistoryEvent.at), desc(HistoryEvent.id)).limit(limit)
        if title_id is not None:
            stmt = stmt.where(HistoryEvent.title_id == title_id)
        async with self.db.session() as session:
            return [h.as_dict() for h in (await session.scalars(stmt)).all()]

    # -- blocklist ------------------------------------------------------------------------------
    async def add_blocklist(self, fields: dict[str, Any]) -> dict[str, Any]:
        async def work(session: Any) -> dict[str, Any]:
            row = BlocklistEntry(at=time.time(), **fields)
            session.add(row)
            await session.flush()
            return row.as_dict()

        return await self._write(work)

    async def blocklist(self) -> list[dict[str, Any]]:
        stmt = select(BlocklistEntry).order_by(desc(BlocklistEntry.at), desc(BlocklistEntry.id))
        async with self.db.session() as session:
            return [b.as_dict() for b in (await session.scalars(stmt)).all()]

    async def delete_blocklist(self, entry_id: int) -> bool:
        async def work(session: Any) -> bool:
            return bool((await session.execute(delete(BlocklistEntry).where(BlocklistEntry.id == entry_id))).rowcount)

        return await self._write(work)

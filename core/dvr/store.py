"""The DVR's database side for rules (``dvr_rules``) and recordings (``dvr_recordings``).
The guide's tables belong to :mod:`.guide`.

Portable SQL only (SQLite and PostgreSQL). Writes go through ``Database.transaction`` (retried
when SQLite is busy). Every method returns plain dicts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select

from ..db import Database
from ..db.models import Recording, RecordingRule

#: Recording states. ``recording`` and ``processing`` are active; the others are final.
RECORDING_STATES = ("recording", "processing", "done", "partial", "failed", "cancelled")
ACTIVE_RECORDING_STATES = ("recording", "processing")


class DvrStore:
    """Rules and recordings, for :class:`~omnimedia.core.dvr.manager.DvrManager`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- rules ------------------------------------------------------------------------------------
    async def add_rule(self, fields: dict[str, Any]) -> dict[str, Any]:
        now = time.time()

        async def work(session: Any) -> dict[str, Any]:
            rule = RecordingRule(**{**fields, "created_at": now, "updated_at": now})
            session.add(rule)
            await session.flush()
            return rule.as_dict()

        return await self.db.transaction(work)

    async def update_rule(self, rule_id: int, fields: dict[str, Any]) -> dict[str, Any] | None:
        async def work(session: Any) -> dict[str, Any] | None:
            rule = await session.get(RecordingRule, rule_id)
            if rule is None:
                return None
            for key, value in fields.items():
                setattr(rule, key, value)
            rule.updated_at = time.time()
            await session.flush()
            return rule.as_dict()

        return await self.db.transaction(work)

    async def delete_rule(self, rule_id: int) -> bool:
        async def work(session: Any) -> bool:
            result = await session.execute(delete(RecordingRule).where(RecordingRule.id == rule_id))
            return bool(result.rowcount)

        return await self.db.transaction(work)

    async def rule(self, rule_id: int) -> dict[str, Any] | None:
        async with self.db.session() as session:
            rule = await session.get(RecordingRule, rule_id)
            return rule.as_dict() if rule else None

    async def rules(self) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = (await session.execute(select(RecordingRule).order_by(RecordingRule.id))).scalars()
            return [r.as_dict() for r in rows]

    # -- recordings -------------------------------------------------------------------------------
    async def add_recording(self, fields: dict[str, Any]) -> dict[str, Any]:
        now = time.time()

        async def work(session: Any) -> dict[str, Any]:
            rec = Recording(**{"parts": [], "gaps": [], "size": 0, **fields, "created_at": now, "updated_at": now})
            session.add(rec)
            await session.flush()
            return rec.as_dict()

        return await self.db.transaction(work)

    async def update_recording(self, recording_id: int, fields: dict[str, Any]) -> dict[str, Any] | None:
        async def work(session: Any) -> dict[str, Any] | None:
            rec = await session.get(Recording, recording_id)
            if rec is None:
                return None
            for key, value in fields.items():
                if hasattr(Recording, key) and key not in ("id", "created_at"):
                    setattr(rec, key, value)
            rec.updated_at = time.time()
            await session.flush()
            return rec.as_dict()

        return await self.db.transaction(work)

    async def recording(self, recording_id: int) -> dict[str, Any] | None:
        async with self.db.session() as session:
            rec = await session.get(Recording, recording_id)
            return rec.as_dict() if rec else None

    async def recordings(self, states: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Newest first; ``states`` filters."""
        query = select(Recording).order_by(Recording.padded_start.desc(), Recording.id.desc())
        if states is not None:
            query = query.where(Recording.state.in_(list(states)))
        async with self.db.session() as session:
            return [r.as_dict() for r in (await session.execute(query)).scalars()]

    async def recording_for_item(self, item_id: int) -> dict[str, Any] | None:
        """The recording imported as library item ``item_id``, if any."""
        query = select(Recording).where(Recording.item_id == item_id).order_by(Recording.id.desc()).limit(1)
        async with self.db.session() as session:
            rec = (await session.execute(query)).scalars().first()
            return rec.as_dict() if rec else None

    async def recorded_keys(self) -> set[str]:
        """Episode keys of recordings that exist or are being made (for "new only" and so the
        same episode is not recorded twice)."""
        query = select(Recording.episode_key).where(
            Recording.episode_key.is_not(None), Recording.state.in_(("recording", "processing", "done", "partial"))
        )
        async with self.db.session() as session:
            return {k for k in (await session.execute(query)).scalars() if k}

    async def delete_recording(self, recording_id: int) -> bool:
        async def work(session: Any) -> bool:
            result = await session.execute(delete(Recording).where(Recording.id == recording_id))
            return bool(result.rowcount)

        return await self.db.transaction(work)

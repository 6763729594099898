"""The optimiser's database side: jobs (``transcode_jobs``), files done (``transcode_processed``),
the savings report, and the item rows candidates are chosen from.

Portable SQL only (SQLite and PostgreSQL share every statement). Writes go through ``db.retry``
(SQLite busy). Every method returns plain dicts, never ORM objects.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import and_, case, delete, desc, func, or_, select, update

from ..db import Database
from ..db.models import Library, MediaItem, ProcessedFile, TranscodeJob
from .candidates import VIDEO_TYPES

T = TypeVar("T")

JOB_STATES = ("queued", "running", "verifying", "paused", "done", "failed", "cancelled", "skipped")
#: States of a job that still holds its file (a second job for the same item is refused).
ACTIVE_STATES = ("queued", "running", "verifying", "paused")
#: States a job is in while the hub works on it.
WORKING_STATES = ("running", "verifying")
FINISHED_STATES = ("done", "failed", "cancelled", "skipped")

_ITEM_COLUMNS = (
    "id", "library_id", "path", "type", "status", "error", "title", "size", "mtime", "duration", "bitrate",
    "video_codec", "audio_codec", "width", "height", "container",
)


class TranscodeStore:
    """Reads and writes for :class:`~omnimedia.core.transcode.manager.TranscodeManager`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _write(self, work: Callable[[Any], Awaitable[T]]) -> T:
        return await self.db.transaction(work)

    # -- jobs -----------------------------------------------------------------------------------
    async def add_jobs(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert jobs (``state`` defaults to queued); returns them with their ids."""
        now = time.time()
        rows = list(rows)

        async def work(session: Any) -> list[dict[str, Any]]:
            objs = [TranscodeJob(**{"state": "queued", "created_at": now, **r}) for r in rows]
            session.add_all(objs)
            await session.flush()
            return [o.as_dict() for o in objs]

        return await self._write(work) if rows else []

    async def get_job(self, job_id: int) -> dict[str, Any] | None:
        async with self.db.session() as session:
            row = await session.get(TranscodeJob, job_id)
            return row.as_dict() if row is not None else None

    async def jobs(
        self, states: Iterable[str] | None = None, *, limit: int | None = None, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Jobs in ``states`` (all when None): working first, then queued and paused by priority
        (highest first) and age, then finished ones newest first. Returns (jobs, total)."""
        conditions = [TranscodeJob.state.in_(list(states))] if states is not None else []
        order_group = case(
            (TranscodeJob.state.in_(WORKING_STATES), 0),
            (TranscodeJob.state.in_(("queued", "paused")), 1),
            else_=2,
        )
        stmt = (
            select(TranscodeJob).where(*conditions)
            .order_by(
                order_group,
                desc(case((TranscodeJob.state.in_(ACTIVE_STATES), TranscodeJob.priority), else_=0)),
                case((TranscodeJob.state.in_(ACTIVE_STATES), TranscodeJob.created_at), else_=0),
                desc(func.coalesce(TranscodeJob.finished_at, 0)),
                TranscodeJob.id,
            )
            .offset(offset)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self.db.session() as session:
            total = (await session.execute(select(func.count(TranscodeJob.id)).where(*conditions))).scalar_one()
            return [j.as_dict() for j in (await session.scalars(stmt)).all()], int(total)

    async def next_queued(self, exclude: Iterable[int] = ()) -> dict[str, Any] | None:
        """The queued job to run next: highest priority, then oldest."""
        stmt = (
            select(TranscodeJob).where(TranscodeJob.state == "queued")
            .order_by(desc(TranscodeJob.priority), TranscodeJob.created_at, TranscodeJob.id).limit(1)
        )
        excluded = list(exclude)
        if excluded:
            stmt = stmt.where(TranscodeJob.id.not_in(excluded))
        async with self.db.session() as session:
            row = (await session.scalars(stmt)).first()
            return row.as_dict() if row is not None else None

    async def update_job(
        self, job_id: int, *, only_if: Iterable[str] | None = None, **fields: Any
    ) -> dict[str, Any] | None:
        """Set ``fields`` on a job; with ``only_if``, only when its state is one of those.
        Returns the job after the change, or None (no such job, or not in ``only_if``)."""
        allowed = set(only_if) if only_if is not None else None

        async def work(session: Any) -> dict[str, Any] | None:
            row = await session.get(TranscodeJob, job_id)
            if row is None or (allowed is not None and row.state not in allowed):
                return None
            for key, value in fields.items():
                setattr(row, key, value)
            return row.as_dict()

        return await self._write(work)

    async def update_jobs(self, states: Iterable[str], **fields: Any) -> list[int]:
        """Set ``fields`` on every job in ``states``; returns their ids."""
        states = list(states)

        async def work(session: Any) -> list[int]:
            ids = list((await session.scalars(select(TranscodeJob.id).where(TranscodeJob.state.in_(states)))).all())
            if ids:
                await session.execute(update(TranscodeJob).where(TranscodeJob.id.in_(ids)).values(**fields))
            return ids

        return await self._write(work)

    async def active_item_ids(self) -> set[int]:
        """Items that have a queued, running, verifying or paused job."""
        stmt = select(TranscodeJob.item_id).where(
            TranscodeJob.state.in_(ACTIVE_STATES), TranscodeJob.item_id.is_not(None)
        )
        async with self.db.session() as session:
            return {i for i in (await session.scalars(stmt)).all()}

    async def jobs_with_temp_files(self) -> list[dict[str, Any]]:
        stmt = select(TranscodeJob).where(TranscodeJob.temp_path.is_not(None))
        async with self.db.session() as session:
            return [j.as_dict() for j in (await session.scalars(stmt)).all()]

    async def delete_finished(self) -> int:
        """Remove done, failed, cancelled and skipped jobs from the list; returns how many."""
        async def work(session: Any) -> int:
            result = await session.execute(delete(TranscodeJob).where(TranscodeJob.state.in_(FINISHED_STATES)))
            return int(result.rowcount or 0)

        return await self._write(work)

    # -- processed files ------------------------------------------------------------------------
    async def find_processed(self, fingerprint: str, settings_hash: str) -> dict[str, Any] | None:
        """The record of a file with this content (before or after its transcode) done with
        these settings, or None."""
        stmt = (
            select(ProcessedFile)
            .where(ProcessedFile.settings_hash == settings_hash,
                   or_(ProcessedFile.fingerprint == fingerprint, ProcessedFile.result_fingerprint == fingerprint))
            .order_by(desc(ProcessedFile.at)).limit(1)
        )
        async with self.db.session() as session:
            row = (await session.scalars(stmt)).first()
            return row.as_dict() if row is not None else None

    async def processed_sizes(self, settings_hash: str) -> set[int]:
        """Sizes (bytes) of every file, before and after, processed with these settings: only a
        file of one of these sizes can have a matching fingerprint."""
        stmt = select(ProcessedFile.size_before, ProcessedFile.size_after, ProcessedFile.outcome).where(
            ProcessedFile.settings_hash == settings_hash
        )
        async with self.db.session() as session:
            out: set[int] = set()
            for before, after, outcome in (await session.execute(stmt)).all():
                out.add(int(before))
                if outcome == "replaced":
                    out.add(int(after))
            return out

    async def processed_for_job(self, job_id: int) -> dict[str, Any] | None:
        stmt = select(ProcessedFile).where(ProcessedFile.job_id == job_id).order_by(desc(ProcessedFile.id)).limit(1)
        async with self.db.session() as session:
            row = (await session.scalars(stmt)).first()
            return row.as_dict() if row is not None else None

    async def outcomes(self, job_ids: Iterable[int]) -> dict[int, str]:
        """job id → outcome (``replaced`` / ``kept_original``) for the jobs that have one."""
        ids = list(job_ids)
        if not ids:
            return {}
        stmt = select(ProcessedFile.job_id, ProcessedFile.outcome).where(ProcessedFile.job_id.in_(ids))
        async with self.db.session() as session:
            return {job_id: outcome for job_id, outcome in (await session.execute(stmt)).all()}

    async def add_processed(self, fields: dict[str, Any], *, job_fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record a processed file and, in the same transaction, update its job
        (``job_fields``, when given, on job ``fields["job_id"]``)."""
        async def work(session: Any) -> dict[str, Any]:
            row = ProcessedFile(**{"at": time.time(), **fields})
            session.add(row)
            if job_fields and fields.get("job_id") is not None:
                job = await session.get(TranscodeJob, fields["job_id"])
                if job is not None:
                    for key, value in job_fields.items():
                        setattr(job, key, value)
            await session.flush()
            return row.as_dict()

        return await self._write(work)

    async def delete_processed(self, processed_id: int) -> None:
        async def work(session: Any) -> None:
            await session.execute(delete(ProcessedFile).where(ProcessedFile.id == processed_id))

        await self._write(work)

    async def savings(self) -> dict[str, Any]:
        """Bytes saved by replaced files, per library and in total: ``{"total": {...},
        "libraries": [{...}]}``; each with ``files`` (replaced), ``kept_original``,
        ``size_before``, ``size_after``, ``saved`` (bytes) and ``percent`` (of size_before)."""
        replaced = ProcessedFile.outcome == "replaced"
        stmt = (
            select(
                ProcessedFile.library_id,
                func.sum(case((replaced, 1), else_=0)),
                func.sum(case((replaced, 0), else_=1)),
                func.coalesce(func.sum(case((replaced, ProcessedFile.size_before), else_=0)), 0),
                func.coalesce(func.sum(case((replaced, ProcessedFile.size_after), else_=0)), 0),
            )
            .group_by(ProcessedFile.library_id)
        )
        async with self.db.session() as session:
            rows = (await session.execute(stmt)).all()
            names = dict((await session.execute(select(Library.id, Library.name))).all())

        def entry(files: int, kept: int, before: int, after: int) -> dict[str, Any]:
            saved = before - after
            return {"files": files, "kept_original": kept, "size_before": before, "size_after": after,
                    "saved": saved, "percent": round(100.0 * saved / before, 2) if before else 0.0}

        libraries = []
        totals = [0, 0, 0, 0]
        for lib_id, files, kept, before, after in rows:
            values = [int(files or 0), int(kept or 0), int(before or 0), int(after or 0)]
            totals = [a + b for a, b in zip(totals, values, strict=True)]
            libraries.append({"library_id": lib_id, "name": names.get(lib_id), **entry(*values)})
        libraries.sort(key=lambda e: (e["library_id"] is None, e["library_id"] or 0))
        return {"total": entry(*totals), "libraries": libraries}

    # -- library items --------------------------------------------------------------------------
    async def video_items(self, library_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Video items (movie, episode, video) with a video codec, optionally of some libraries."""
        cols = [getattr(MediaItem, c) for c in _ITEM_COLUMNS]
        conditions = [MediaItem.type.in_(VIDEO_TYPES), MediaItem.video_codec.is_not(None)]
        if library_ids is not None:
            conditions.append(MediaItem.library_id.in_(list(library_ids)))
        stmt = select(*cols).where(and_(*conditions)).order_by(MediaItem.id)
        async with self.db.session() as session:
            return [dict(zip(_ITEM_COLUMNS, r, strict=True)) for r in (await session.execute(stmt)).all()]

    async def items(self, item_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """item id → its row (every column), for the ids that exist."""
        ids = list(item_ids)
        if not ids:
            return {}
        async with self.db.session() as session:
            rows = (await session.scalars(select(MediaItem).where(MediaItem.id.in_(ids)))).all()
            return {r.id: r.as_dict() for r in rows}

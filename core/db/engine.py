"""The database connection: SQLite (aiosqlite, WAL) by default, PostgreSQL (asyncpg) for larger
installs. Same models, same Alembic migrations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from ..errors import OmniMediaError

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

#: How long SQLite waits on a lock held by another connection before answering "locked" (ms).
SQLITE_BUSY_TIMEOUT_MS = 5000
#: How often a whole transaction is retried when the database stays locked.
BUSY_RETRIES = 5


class DatabaseError(OmniMediaError):
    """The database cannot be opened or stays locked; the message says which and why."""


def _is_locked(err: BaseException) -> bool:
    text = str(getattr(err, "orig", err)).lower()
    return "database is locked" in text or "database is busy" in text


def normalize_url(url: str) -> str:
    """Pick the async driver for plain ``sqlite://`` and ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """An async engine plus a session factory, with busy retries for SQLite."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        self.engine: AsyncEngine | None = None
        self.sessions: async_sessionmaker[AsyncSession] | None = None

    async def connect(self) -> None:
        """Open the engine and bring the schema to the newest migration.

        Raises :class:`DatabaseError` when the database cannot be reached or stays locked."""
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_size=5, max_overflow=5, pool_pre_ping=True)
        self.engine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        from .migrate import upgrade

        try:
            await self.retry(lambda: upgrade(self.engine))
        except DatabaseError:
            await self.close()
            raise
        except (OperationalError, DBAPIError, OSError) as err:
            await self.close()
            raise DatabaseError(f"cannot open the database {make_url(self.url).render_as_string()}: {err}") from err

    async def retry(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work()``; when SQLite answers "database is locked", wait and run it again
        (up to :data:`BUSY_RETRIES` times). Other errors propagate at once.

        Raises :class:`DatabaseError` when the database is still locked after the last try."""
        for attempt in range(BUSY_RETRIES):
            try:
                return await work()
            except OperationalError as err:
                if not _is_locked(err):
                    raise
                if attempt == BUSY_RETRIES - 1:
                    raise DatabaseError(
                        f"the database {make_url(self.url).database} is locked by another process "
                        f"(tried {BUSY_RETRIES} times, waiting {SQLITE_BUSY_TIMEOUT_MS / 1000:g} s each); "
                        "is another hub or program using it?"
                    ) from err
                _LOGGER.warning("database locked, retrying (%d/%d)", attempt + 1, BUSY_RETRIES)
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def session(self) -> AsyncSession:
        assert self.sessions is not None, "database not connected"
        return self.sessions()

    async def transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work(session)`` in one transaction (committed when it returns, rolled back when
        it raises), retried as a whole by :meth:`retry` while SQLite is busy."""

        async def run() -> T:
            async with self.session() as session, session.begin():
                return await work(session)

        return await self.retry(run)

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()

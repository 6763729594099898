"""SQLite specifics: WAL journal, busy retries, and a database locked by another process.

The other process is real: a separate Python interpreter that opens the same file with the standard
``sqlite3`` module and holds ``BEGIN EXCLUSIVE``. The busy timeout is shortened (monkeypatched
module constant, read at connect time) so the tests wait seconds, not half a minute.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from omnimedia.core.db import Database, DatabaseError, Library
from omnimedia.core.db import engine as db_engine

HOLDER = textwrap.dedent(
    """
    import sqlite3, sys, time
    path, journal, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("CREATE TABLE IF NOT EXISTS lock_holder (pid INTEGER)")
    conn.execute("INSERT INTO lock_holder VALUES (1)")
    print("locked", flush=True)
    time.sleep(hold)
    conn.execute("COMMIT")
    print("released", flush=True)
    """
)


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    """SQLite's busy timeout for this test, in seconds."""
    monkeypatch.setattr(db_engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    return 0.2


@pytest.fixture
def lock_holder() -> Iterator:
    """``hold(path, seconds, journal="wal")`` starts a second process that takes an exclusive
    lock on the SQLite file and keeps it for ``seconds``; returns once the lock is held."""
    procs: list[subprocess.Popen[str]] = []

    def hold(path: Path, seconds: float, journal: str = "wal") -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path), journal, str(seconds)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        procs.append(proc)
        line = proc.stdout.readline().strip()
        assert line == "locked", f"lock holder did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        return proc

    yield hold
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


async def _add_library(db: Database, path: str) -> int:
    async with db.session() as session:
        lib = Library(name=Path(path).name, path=path, type="movies", created_at=time.time())
        session.add(lib)
        await session.commit()
        return lib.id


async def _count_libraries(db: Database) -> int:
    async with db.session() as session:
        return (await session.execute(select(func.count()).select_from(Library))).scalar_one()


async def test_wal_journal_and_pragmas(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'hub.db'}")
    await db.connect()
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one() == db_engine.SQLITE_BUSY_TIMEOUT_MS
        await _add_library(db, "/media/a")
        assert (tmp_path / "hub.db-wal").exists()
    finally:
        await db.close()
    # WAL is a property of the file: a plain sqlite3 connection sees it too.
    probe = subprocess.run(
        [sys.executable, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode').fetchone()[0])",
         str(tmp_path / "hub.db")],
        capture_output=True, text=True, check=True,
    )
    assert probe.stdout.strip() == "wal"


async def test_retry_recovers_from_a_brief_lock(tmp_path, short_busy_timeout, lock_holder, caplog) -> None:
    path = tmp_path / "hub.db"
    db = Database(f"sqlite:///{path}")
    await db.connect()
    try:
        holder = lock_holder(path, 1.0)
        caplog.set_level(logging.WARNING, logger=db_engine.__name__)
        started = time.monotonic()
        lib_id = await db.retry(lambda: _add_library(db, "/media/after-the-lock"))
        waited = time.monotonic() - started
        assert lib_id > 0
        assert await _count_libraries(db) == 1
        assert any("database locked, retrying" in r.getMessage() for r in caplog.records)
        assert waited >= 0.8  # it really waited for the other process
        assert holder.wait(timeout=10) == 0 and "released" in holder.stdout.read()
    finally:
        await db.close()


async def test_write_while_locked_too_long_gives_database_error(tmp_path, short_busy_timeout, lock_holder) -> None:
    path = tmp_path / "hub.db"
    db = Database(f"sqlite:///{path}")
    await db.connect()
    try:
        lock_holder(path, 120)
        with pytest.raises(DatabaseError) as caught:
            await db.retry(lambda: _add_library(db, "/media/never"))
        assert "locked by another process" in str(caught.value)
        assert str(path) in str(caught.value)
    finally:
        await db.close()
    # Nothing half-written: once the other process is gone the database is intact and writable.


async def test_connect_to_a_locked_database_gives_database_error(tmp_path, short_busy_timeout, lock_holder) -> None:
    path = tmp_path / "hub.db"
    lock_holder(path, 120, journal="delete")  # another program created the file and keeps it locked
    db = Database(f"sqlite:///{path}")
    started = time.monotonic()
    with pytest.raises(DatabaseError) as caught:
        await db.connect()
    assert time.monotonic() - started < 30
    message = str(caught.value)
    assert "locked by another process" in message and str(path) in message
    assert db.engine is None  # closed, nothing left open


async def test_hub_refuses_to_start_on_a_locked_database(tmp_path, short_busy_timeout, lock_holder, hub_factory) -> None:
    path = tmp_path / "hub.db"
    lock_holder(path, 120, journal="delete")
    with pytest.raises(DatabaseError, match="locked by another process"):
        await hub_factory(database_url=f"sqlite:///{path}", serve_http=False)


def test_cli_run_refuses_to_start_on_a_locked_database(tmp_path: Path, lock_holder) -> None:
    """``omnimedia run`` prints the reason and exits 1; no traceback (full default timeouts)."""
    config = tmp_path / "config"
    config.mkdir()
    path = tmp_path / "hub.db"
    (config / "configuration.yaml").write_text(
        "hub:\n  host: 127.0.0.1\n  port: 0\n"
        f"database:\n  url: 'sqlite:///{path}'\n"
        "libraries: []\n"
        "discovery:\n  zeroconf: false\n  ssdp: false\n  advertise: false\n",
        encoding="utf-8",
    )
    lock_holder(path, 300, journal="delete")
    done = subprocess.run(
        [sys.executable, "-m", "omnimedia.core.cli", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1, done
    assert "locked by another process" in done.stderr
    assert "Traceback" not in done.stderr

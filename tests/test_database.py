"""The database layer against both backends: SQLite (aiosqlite, the embedded default) and a real
throwaway PostgreSQL 15 cluster (asyncpg). Same models, same Alembic migrations."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from omnimedia.core.db import Database, Library, MediaItem
from omnimedia.core.db.migrate import alembic_config

# Shared with conftest's ``pytest_plugins`` when registered there: both use one cluster per process.
from tests.pgcluster import postgres_cluster, postgres_url  # noqa: F401

BIG_SIZE = 5 * 2**32 + 12345  # bytes; > 2**31 so a 32-bit INTEGER column would overflow


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def db(database_url: str):
    database = Database(database_url)
    await database.connect()
    yield database
    await database.close()


def _library(path: str = "/media/movies", **kw) -> Library:
    now = time.time()
    return Library(name=kw.pop("name", "Movies"), path=path, type=kw.pop("type", "movies"), created_at=now, **kw)


def _item(library_id: int, path: str, **kw) -> MediaItem:
    now = time.time()
    return MediaItem(library_id=library_id, path=path, type=kw.pop("type", "movie"), added_at=now, updated_at=now, **kw)


def _head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_connect_runs_migrations_to_head(db: Database) -> None:
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert {"libraries", "media_items", "alembic_version"} <= tables
    assert version == _head_revision()
    # Every mapped table exists: the migration matches the models, whoever extended them.
    assert set(Library.metadata.tables) <= tables


async def test_connect_twice_keeps_data(database_url: str) -> None:
    first = Database(database_url)
    await first.connect()
    async with first.session() as session:
        session.add(_library())
        await session.commit()
    await first.close()

    second = Database(database_url)
    await second.connect()  # migrations already at head: nothing to do, nothing lost
    async with second.session() as session:
        assert (await session.execute(select(func.count()).select_from(Library))).scalar_one() == 1
    await second.close()


async def test_models_round_trip(db: Database) -> None:
    audio = [{"index": 1, "codec": "aac", "channels": 6, "language": "eng"},
             {"index": 2, "codec": "ac3", "channels": 2, "language": "fre", "title": "Commentaire — réalisateur"}]
    subs = [{"index": 3, "codec": "subrip", "language": "eng", "forced": False}]
    tags = {"artist": "Sigur Rós", "genre": ["post-rock", "ambient"], "nested": {"disc": 1}}
    async with db.session() as session:
        lib = _library("/media/tv", name="TV", type="tv")
        session.add(lib)
        await session.flush()
        session.add(_item(
            lib.id, "/media/tv/Show.S01E02E03.1080p.WEB-DL.x264-GRP.mkv", type="episode",
            title="Show", season=1, episode=2, episodes=[2, 3], release_group="GRP", quality="1080p",
            size=BIG_SIZE, bitrate=3 * 2**31, inode=2**40 + 7, mtime=1_700_000_000.5,
            container="matroska", video_codec="h264", audio_codec="aac", width=1920, height=1080,
            duration=1425.25, audio_tracks=audio, subtitle_tracks=subs, tags=tags,
            parsed={"title": "Show", "season": 1, "episode": [2, 3]},
        ))
        await session.commit()
        lib_id = lib.id

    async with db.session() as session:  # a fresh session reads from the database, not the identity map
        item = (await session.execute(select(MediaItem))).scalar_one()
    assert item.library_id == lib_id
    assert item.size == BIG_SIZE and item.bitrate == 3 * 2**31 and item.inode == 2**40 + 7
    assert item.episodes == [2, 3]
    assert item.audio_tracks == audio and item.subtitle_tracks == subs and item.tags == tags
    assert item.parsed == {"title": "Show", "season": 1, "episode": [2, 3]}
    assert item.status == "ok" and item.error is None
    assert item.duration == pytest.approx(1425.25) and item.mtime == pytest.approx(1_700_000_000.5)
    assert item.as_dict()["path"].endswith("x264-GRP.mkv")


async def test_media_item_path_is_unique(db: Database) -> None:
    async with db.session() as session:
        lib = _library()
        session.add(lib)
        await session.flush()
        session.add(_item(lib.id, "/media/movies/Film.2010.mkv"))
        await session.commit()
        lib_id = lib.id
    async with db.session() as session:
        session.add(_item(lib_id, "/media/movies/Film.2010.mkv", title="duplicate"))
        with pytest.raises(IntegrityError):
            await session.commit()
    async with db.session() as session:  # the first row is intact
        rows = (await session.execute(select(MediaItem))).scalars().all()
    assert [(r.path, r.title) for r in rows] == [("/media/movies/Film.2010.mkv", None)]


async def test_library_path_is_unique(db: Database) -> None:
    async with db.session() as session:
        session.add(_library("/media/a"))
        await session.commit()
    async with db.session() as session:
        session.add(_library("/media/a", name="again"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_deleting_a_library_deletes_its_items(db: Database) -> None:
    async with db.session() as session:
        keep, drop = _library("/media/keep"), _library("/media/drop")
        session.add_all([keep, drop])
        await session.flush()
        session.add_all([_item(keep.id, "/media/keep/a.mkv"), _item(drop.id, "/media/drop/b.mkv"),
                         _item(drop.id, "/media/drop/c.mkv")])
        await session.commit()
        drop_id = drop.id
    async with db.session() as session:
        await session.execute(delete(Library).where(Library.id == drop_id))
        await session.commit()
    async with db.session() as session:
        paths = (await session.execute(select(MediaItem.path))).scalars().all()
    assert paths == ["/media/keep/a.mkv"]


async def test_hub_scans_into_the_database(hub_factory, database_url: str, tmp_path: Path) -> None:
    """A hub on either backend creates its library row and stores a real scanned file."""
    media = tmp_path / "media"
    media.mkdir()
    movie = media / "Big.Buck.Bunny.2008.720p.BluRay.x264-GRP.mkv"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-shortest", str(movie)],
        check=True, timeout=60,
    )
    hub = await hub_factory([media], database_url=database_url, serve_http=False)
    assert hub.db.url.startswith("postgresql+asyncpg" if "postgresql" in database_url else "sqlite+aiosqlite")
    summary = await hub.library.scan()
    assert isinstance(summary, dict)

    async with hub.db.session() as session:
        libraries = (await session.execute(select(Library))).scalars().all()
        items = (await session.execute(select(MediaItem))).scalars().all()
    assert [Path(lib.path).resolve() for lib in libraries] == [media.resolve()]
    assert [Path(i.path).name for i in items] == [movie.name]
    item = items[0]
    assert item.status == "ok", item.error
    assert item.size == movie.stat().st_size
    assert item.title == "Big Buck Bunny" and item.year == 2008
    assert item.duration == pytest.approx(1.0, abs=0.2)

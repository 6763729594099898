"""Scanning real ffmpeg-made media: technical metadata, tags, EXIF, names, incremental rescans,
renames, removals, queries, services — on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from omnimedia.core.errors import ServiceValidationError
from tests import mediagen
from tests.pgcluster import postgres_cluster, postgres_url  # noqa: F401


def library_config(libs: list[tuple[Path, str]], extra: str = "", database_url: str | None = None) -> str:
    """Configuration with typed libraries (``[(path, type)]``), watching off unless a test wants it."""
    entries = "".join(f"  - path: {str(p)!r}\n    type: {t}\n    watch: false\n" for p, t in libs)
    db = f"database:\n  url: {database_url!r}\n" if database_url else ""
    return (
        "hub:\n  host: 127.0.0.1\n  port: 0\n"
        f"{db}libraries:\n{entries}"
        "discovery:\n  zeroconf: false\n  ssdp: false\n  advertise: false\n"
        f"{extra}"
    )


async def items_by_path(hub) -> dict[str, dict]:
    items, total = await hub.library.list_items(limit=1000)
    assert total == len(items)
    return {it["path"]: await hub.library.get_item(it["id"]) for it in items}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request) -> str | None:
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


async def test_scan_stores_technical_metadata(hub_factory, tmp_path: Path, database_url) -> None:
    media = mediagen.library_copy(tmp_path / "media")
    hub = await hub_factory(
        config_text=library_config([(tmp_path / "media", "mixed")], database_url=database_url), serve_http=False
    )
    events: list[str] = []
    hub.bus.listen("*", lambda e: events.append(e.event_type))

    summary = await hub.library.scan()

    assert summary["seen"] == summary["added"] == len(media) == 15
    assert summary["errors"] == 3  # empty, corrupt, fake epub
    assert summary["unchanged"] == summary["removed"] == summary["moved"] == 0
    assert summary["duration"] >= 0
    assert events.count("media_added") == 15 and events.count("media_error") == 3
    assert events[0] == "library_scan_started" and "library_scan_finished" in events
    items = await items_by_path(hub)

    ep = items[str(media["episode"])]
    assert ep["type"] == "episode" and ep["status"] == "ok" and ep["error"] is None
    assert (ep["title"], ep["season"], ep["episode"]) == ("Show Name", 1, 2)
    assert (ep["container"], ep["video_codec"], ep["audio_codec"]) == ("mkv", "h264", "aac")
    assert (ep["width"], ep["height"]) == (160, 90)
    assert 0.8 < ep["duration"] < 1.3
    assert ep["bitrate"] > 0
    assert ep["size"] == media["episode"].stat().st_size
    assert ep["inode"] == media["episode"].stat().st_ino
    assert ep["quality"] == "WEBDL-1080p" and ep["release_group"] == "GROUP"
    assert [(t["codec"], t["language"]) for t in ep["audio_tracks"]] == [("aac", "eng")]
    assert [(t["codec"], t["language"], t["title"]) for t in ep["subtitle_tracks"]] == [("subrip", "eng", "English")]

    movie = items[str(media["movie"])]
    assert movie["type"] == "movie" and (movie["title"], movie["year"]) == ("Movie Title", 2019)
    assert (movie["container"], movie["video_codec"], movie["audio_codec"]) == ("mp4", "h264", "aac")
    assert movie["season"] is None and movie["quality"] == "Bluray-1080p"

    webm = items[str(media["webm"])]
    assert (webm["container"], webm["video_codec"], webm["audio_codec"]) == ("webm", "vp9", "opus")
    assert (webm["type"], webm["season"], webm["episode"]) == ("episode", 2, 5)

    avi = items[str(media["avi"])]
    assert (avi["container"], avi["video_codec"], avi["audio_codec"]) == ("avi", "mpeg4", "mp3")
    assert (avi["type"], avi["year"], avi["quality"]) == ("movie", 1999, "DVD")

    daily = items[str(media["daily"])]
    assert (daily["type"], daily["title"], daily["air_date"]) == ("episode", "The Daily Show", "2023-05-04")

    anime = items[str(media["anime"])]
    assert (anime["type"], anime["title"], anime["absolute_episode"]) == ("episode", "One Piece", 1071)
    assert anime["subtitle_tracks"] == []

    mp3 = items[str(media["mp3"])]
    assert mp3["type"] == "track" and mp3["container"] == "mp3" and mp3["audio_codec"] == "mp3"
    assert (mp3["title"], mp3["artist"], mp3["album"], mp3["track_number"], mp3["year"]) == (
        "Test Tone", "The Generators", "Lavfi Sessions", 1, 2020)
    assert mp3["video_codec"] is None and 0.9 < mp3["duration"] < 1.2
    flac = items[str(media["flac"])]
    assert (flac["type"], flac["container"], flac["title"], flac["track_number"]) == ("track", "flac", "Other Tone", 2)

    book = items[str(media["audiobook"])]
    assert (book["type"], book["container"], book["title"], book["artist"]) == (
        "audiobook", "m4b", "A Long Story", "Reader")

    photo = items[str(media["photo"])]
    assert (photo["type"], photo["container"], photo["width"], photo["height"]) == ("photo", "jpeg", 64, 48)
    assert photo["tags"]["make"] == "Canon" and photo["tags"]["model"] == "EOS 5D"
    assert photo["tags"]["taken_at"] == "2021-06-15T14:30:00" and photo["year"] == 2021
    assert photo["tags"]["gps_latitude"] == pytest.approx(48.8584, abs=1e-3)
    assert photo["tags"]["gps_longitude"] == pytest.approx(2.2945, abs=1e-3)

    epub = items[str(media["epub"])]
    assert (epub["type"], epub["status"], epub["title"], epub["artist"], epub["year"]) == (
        "ebook", "ok", "A Tiny Book", "Ann Author", 2018)
    cbz = items[str(media["cbz"])]
    assert (cbz["type"], cbz["status"], cbz["tags"]["pages"]) == ("comic", "ok", 3)

    empty = items[str(media["empty"])]
    assert (empty["status"], empty["error"], empty["size"]) == ("error", "empty file (0 bytes)", 0)
    assert empty["type"] == "movie" and empty["title"] == "Empty Movie"  # the name still tells
    corrupt = items[str(media["corrupt"])]
    assert corrupt["status"] == "error" and corrupt["error"].startswith("corrupt or unsupported file")
    assert str(media["corrupt"]) not in corrupt["error"]  # the path is the item's, not the message's
    fake = items[str(media["fake_epub"])]
    assert fake["status"] == "error" and "not a ZIP archive" in fake["error"]

    # Queries
    episodes, n = await hub.library.list_items(type="episode")
    assert n == 4 and {e["title"] for e in episodes} == {"Show Name", "Other Show", "The Daily Show", "One Piece"}
    found, n = await hub.library.list_items(text="show name")  # case-insensitive title match
    assert n == 1 and found[0]["path"] == str(media["episode"])
    found, n = await hub.library.list_items(text="the generators")  # path match
    assert n == 2
    found, n = await hub.library.list_items(text="100%_")  # LIKE wildcards are literal
    assert n == 0
    page1, total = await hub.library.list_items(limit=4, offset=0)
    page2, _ = await hub.library.list_items(limit=4, offset=4)
    assert total == 15 and len(page1) == len(page2) == 4
    assert not {i["id"] for i in page1} & {i["id"] for i in page2}
    for key in ("id", "type", "title", "year", "season", "episode", "path", "size", "duration", "library_id",
                "status", "error", "container", "video_codec", "audio_codec", "width", "height"):
        assert key in page1[0]
    with pytest.raises(ValueError, match="unknown media type"):
        await hub.library.list_items(type="hologram")

    stats = await hub.library.stats()
    assert stats["total_items"] == 15 and stats["errors"] == 3 and stats["scanning"] is False
    assert stats["total_size"] == sum(p.stat().st_size for p in media.values())
    assert stats["by_type"] == {"episode": 4, "movie": 4, "track": 2, "audiobook": 1, "photo": 1, "ebook": 2,
                                "comic": 1}
    assert 8 < stats["total_duration"] < 12
    (lib,) = await hub.library.libraries()
    assert lib["item_count"] == 15 and lib["type"] == "mixed" and lib["last_scan_at"] is not None
    assert stats["by_library"][0]["item_count"] == 15

    sensor = hub.states.get("sensor.media_items")
    assert sensor is not None and sensor.state == "15"


async def test_library_type_decides_the_item_type(hub_factory, tmp_path: Path) -> None:
    tv, movies, music = tmp_path / "tv", tmp_path / "movies", tmp_path / "music"
    # A name guessit reads as a movie, in a tv library, is still an episode; artwork is skipped.
    mediagen.make_mp4(tv / "Some Show" / "Pilot.mp4")
    mediagen.make_photo(tv / "Some Show" / "poster.jpg")
    mediagen.make_mp4(movies / "Home Video.mp4")
    mediagen.make_audio(music / "song.mp3")
    mediagen.make_photo(music / "cover.jpg")
    hub = await hub_factory(
        config_text=library_config([(tv, "tv"), (movies, "movies"), (music, "music")]), serve_http=False
    )
    summary = await hub.library.scan()
    assert summary["added"] == 3 and summary["libraries"] == 3 and summary["library_ids"] == [1, 2, 3]
    items = await items_by_path(hub)
    assert items[str(tv / "Some Show" / "Pilot.mp4")]["type"] == "episode"
    assert items[str(movies / "Home Video.mp4")]["type"] == "movie"
    assert items[str(music / "song.mp3")]["type"] == "track"
    only_tv, n = await hub.library.list_items(library=1)
    assert n == 1 and only_tv[0]["library_id"] == 1

    # One library at a time
    summary = await hub.library.scan(library_id=2)
    assert summary["library_ids"] == [2] and summary["libraries"] == 1 and summary["unchanged"] == 1
    with pytest.raises(KeyError):
        await hub.library.scan(library_id=99)


async def test_incremental_rescan_reprobes_only_changed_files(hub_factory, tmp_path: Path) -> None:
    media = mediagen.library_copy(tmp_path / "media")
    hub = await hub_factory(config_text=library_config([(tmp_path / "media", "mixed")]), serve_http=False)
    await hub.library.scan()
    before = await items_by_path(hub)

    again = await hub.library.scan()
    assert again["unchanged"] == 15 and again["added"] == again["updated"] == again["errors"] == 0

    # Replace the movie by a longer one (new size and mtime): re-probed, same id.
    target = media["movie"]
    fresh = mediagen.make_mp4(tmp_path / "staging" / target.name, duration=2.0)
    os.replace(fresh, target)
    mediagen.touch_later(target)
    # The zero-byte file gets its content: the error clears.
    mediagen.make_mkv(tmp_path / "staging" / "e.mkv")
    os.replace(tmp_path / "staging" / "e.mkv", media["empty"])
    updated: list[dict] = []
    hub.bus.listen("media_updated", lambda e: updated.append(e.data["item"]))

    summary = await hub.library.scan()
    assert (summary["updated"], summary["unchanged"], summary["added"]) == (2, 13, 0)
    after = await items_by_path(hub)
    assert after[str(target)]["id"] == before[str(target)]["id"]
    assert 1.8 < after[str(target)]["duration"] < 2.3
    assert after[str(target)]["size"] == target.stat().st_size
    assert after[str(media["empty"])]["status"] == "ok" and after[str(media["empty"])]["error"] is None
    assert {u["path"] for u in updated} == {str(target), str(media["empty"])}
    assert after[str(media["episode"])]["updated_at"] == before[str(media["episode"])]["updated_at"]

    # full=True re-probes everything
    summary = await hub.library.scan(full=True)
    assert summary["updated"] == 15 and summary["unchanged"] == 0


async def test_rename_keeps_the_id_and_removal_deletes(hub_factory, tmp_path: Path) -> None:
    media = mediagen.library_copy(tmp_path / "media")
    hub = await hub_factory(config_text=library_config([(tmp_path / "media", "mixed")]), serve_http=False)
    await hub.library.scan()
    before = await items_by_path(hub)
    moved: list[dict] = []
    removed: list[dict] = []
    hub.bus.listen("media_moved", lambda e: moved.append(dict(e.data)))
    hub.bus.listen("media_removed", lambda e: removed.append(dict(e.data)))

    old = media["episode"]
    new = tmp_path / "media" / "TV" / "Show Name" / "Season 01" / "Show.Name.S01E03.1080p.WEB-DL.H.264-GROUP.mkv"
    os.rename(old, new)
    media["cbz"].unlink()

    summary = await hub.library.scan()
    assert (summary["moved"], summary["removed"], summary["added"], summary["updated"]) == (1, 1, 0, 0)
    after = await items_by_path(hub)
    assert str(old) not in after and after[str(new)]["id"] == before[str(old)]["id"]
    assert after[str(new)]["episode"] == 3  # the name was read again
    assert after[str(new)]["video_codec"] == "h264"  # the probe result was kept
    assert moved == [{"item": moved[0]["item"], "old_path": str(old)}]
    assert moved[0]["item"]["path"] == str(new) and moved[0]["item"]["id"] == before[str(old)]["id"]
    assert [r["item"]["path"] for r in removed] == [str(media["cbz"])]
    assert await hub.library.get_item(before[str(media["cbz"])]["id"]) is None


async def test_services_and_rescan_item(hub_factory, tmp_path: Path) -> None:
    media = mediagen.library_copy(tmp_path / "media")
    hub = await hub_factory(config_text=library_config([(tmp_path / "media", "mixed")]), serve_http=False)
    assert hub.services.has("library", "scan") and hub.services.has("library", "rescan_item")

    summary = await hub.services.call("library", "scan", {"full": True})
    assert summary["added"] == 15
    with pytest.raises(ServiceValidationError, match="library_id"):
        await hub.services.call("library", "scan", {"library_id": "abc"})
    with pytest.raises(ServiceValidationError, match="no library with id 7"):
        await hub.services.call("library", "scan", {"library_id": 7})

    items = await items_by_path(hub)
    item_id = items[str(media["movie"])]["id"]
    item = await hub.services.call("library", "rescan_item", {"item_id": item_id})
    assert item["id"] == item_id and item["video_codec"] == "h264" and "audio_tracks" in item
    with pytest.raises(ServiceValidationError, match="no media item"):
        await hub.services.call("library", "rescan_item", {"item_id": 999_999})
    with pytest.raises(ServiceValidationError, match="item_id"):
        await hub.services.call("library", "rescan_item", {})
    with pytest.raises(KeyError):
        await hub.library.rescan_item(999_999)

    # The file went away: the item goes too, and the caller is told.
    media["movie"].unlink()
    with pytest.raises(KeyError, match="no longer exists"):
        await hub.library.rescan_item(item_id)
    assert await hub.library.get_item(item_id) is None


async def test_concurrent_scans_do_not_overlap(hub_factory, tmp_path: Path) -> None:
    mediagen.library_copy(tmp_path / "media")
    hub = await hub_factory(config_text=library_config([(tmp_path / "media", "mixed")]), serve_http=False)
    running = 0
    overlap = False

    def on_event(event) -> None:
        nonlocal running, overlap
        if event.event_type == "library_scan_started":
            running += 1
            overlap = overlap or running > 1
        else:
            running -= 1

    hub.bus.listen("library_scan_started", on_event)
    hub.bus.listen("library_scan_finished", on_event)
    first, second = await asyncio.gather(hub.library.scan(), hub.library.scan())
    assert not overlap
    assert first["added"] + second["added"] == 15  # nothing was inserted twice
    items, total = await hub.library.list_items(limit=100)
    assert total == 15 and len({i["path"] for i in items}) == 15


async def test_hidden_files_and_ignore_globs_are_skipped(hub_factory, tmp_path: Path) -> None:
    root = tmp_path / "media"
    mediagen.make_mp4(root / "Movie.2001.mp4")
    shutil.copy(root / "Movie.2001.mp4", root / ".hidden.mp4")
    (root / ".trash").mkdir()
    shutil.copy(root / "Movie.2001.mp4", root / ".trash" / "Deleted.2002.mp4")
    (root / "Extras").mkdir()
    shutil.copy(root / "Movie.2001.mp4", root / "Extras" / "Behind.2003.mp4")
    shutil.copy(root / "Movie.2001.mp4", root / "Movie.2004.sample.mp4")
    (root / "notes.txt").write_text("not media")
    hub = await hub_factory(
        config_text=library_config([(root, "movies")], extra="scanner:\n  ignore: ['Extras', '*.sample.*']\n"),
        serve_http=False,
    )
    summary = await hub.library.scan()
    items, total = await hub.library.list_items()
    assert total == 1 and items[0]["path"] == str(root / "Movie.2001.mp4")
    assert summary["seen"] == 1

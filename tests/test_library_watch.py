"""The file watcher (watchfiles/inotify) on a live hub: added, changed, renamed and removed files
become the same events a scan would fire, without a scan being asked for."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from tests import mediagen

TIMEOUT = 20


def watched_config(root: Path) -> str:
    return (
        "hub:\n  host: 127.0.0.1\n  port: 0\n"
        f"libraries:\n  - path: {str(root)!r}\n    type: mixed\n    watch: true\n"
        "discovery:\n  zeroconf: false\n  ssdp: false\n  advertise: false\n"
    )


class Recorder:
    """Collects media events and lets a test wait for one that matches."""

    def __init__(self, hub) -> None:
        self.events: list[tuple[str, dict]] = []
        self._changed = asyncio.Event()
        for name in ("media_added", "media_updated", "media_removed", "media_moved", "media_error"):
            hub.bus.listen(name, self._on)

    def _on(self, event) -> None:
        self.events.append((event.event_type, dict(event.data)))
        self._changed.set()

    async def wait_for(self, event_type: str, path: Path) -> dict:
        async def _wait() -> dict:
            while True:
                for kind, data in self.events:
                    if kind == event_type and data.get("item", data).get("path") == str(path):
                        return data
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(_wait(), TIMEOUT)


async def test_watcher_sees_added_changed_renamed_removed(hub_factory, tmp_path: Path) -> None:
    root = tmp_path / "media"
    staging = tmp_path / "staging"  # files are made here and moved in whole, as downloaders do
    existing = mediagen.make_mp4(root / "Existing.Movie.2010.mp4")
    hub = await hub_factory(config_text=watched_config(root), serve_http=False)
    await hub.library.scan()
    rec = Recorder(hub)
    await asyncio.sleep(0.5)  # let inotify watches settle

    # added
    new = root / "TV" / "Show.Name.S01E02.1080p.WEB-DL.DDP5.1.H.264-GROUP.mkv"
    new.parent.mkdir()
    os.replace(mediagen.make_mkv(staging / new.name), new)
    added = await rec.wait_for("media_added", new)
    item = added["item"]
    assert (item["type"], item["title"], item["season"], item["episode"]) == ("episode", "Show Name", 1, 2)
    assert item["video_codec"] == "h264" and item["status"] == "ok"
    # The item-count sensor follows once the batch is done.
    for _ in range(100):
        if hub.states.get("sensor.media_items").state == "2":
            break
        await asyncio.sleep(0.05)
    assert hub.states.get("sensor.media_items").state == "2"

    # changed (rewritten with a longer clip)
    os.replace(mediagen.make_mp4(staging / "longer.mp4", duration=2.0), existing)
    updated = await rec.wait_for("media_updated", existing)
    assert 1.8 < updated["item"]["duration"] < 2.3

    # renamed: same id
    renamed = root / "TV" / "Show.Name.S01E03.1080p.WEB-DL.DDP5.1.H.264-GROUP.mkv"
    os.rename(new, renamed)
    moved = await rec.wait_for("media_moved", renamed)
    assert moved["old_path"] == str(new) and moved["item"]["id"] == item["id"]
    assert moved["item"]["episode"] == 3

    # removed
    existing.unlink()
    removed = await rec.wait_for("media_removed", existing)
    assert removed["item"]["title"] == "Existing Movie"

    # a whole folder moved in, then deleted
    album = staging / "Album"
    mediagen.make_audio(album / "01.mp3", title="One")
    mediagen.make_audio(album / "02.flac", title="Two", track=2)
    shutil.move(album, root / "Album")
    await rec.wait_for("media_added", root / "Album" / "01.mp3")
    await rec.wait_for("media_added", root / "Album" / "02.flac")
    shutil.rmtree(root / "Album")
    await rec.wait_for("media_removed", root / "Album" / "01.mp3")
    await rec.wait_for("media_removed", root / "Album" / "02.flac")

    # a broken file arriving is recorded, not fatal; the watcher keeps going afterwards
    mediagen.make_corrupt(root / "Bad.Movie.2001.mkv")
    await rec.wait_for("media_error", root / "Bad.Movie.2001.mkv")
    later = root / "Later.Movie.2012.mp4"
    os.replace(mediagen.make_mp4(staging / "later.mp4"), later)
    await rec.wait_for("media_added", later)

    items, total = await hub.library.list_items(limit=100)
    assert sorted(Path(i["path"]).name for i in items) == [
        "Bad.Movie.2001.mkv", "Later.Movie.2012.mp4", renamed.name]
    # The watcher and a scan agree: nothing left to do.
    summary = await hub.library.scan()
    assert summary["unchanged"] == 3 and summary["added"] == summary["removed"] == summary["updated"] == 0


async def test_watcher_ignores_hidden_and_non_media(hub_factory, tmp_path: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    hub = await hub_factory(config_text=watched_config(root), serve_http=False)
    rec = Recorder(hub)
    await asyncio.sleep(0.5)
    (root / "notes.txt").write_text("hello")
    (root / ".partial.mkv").write_bytes(b"\0" * 100)
    marker = root / "Marker.2000.mp4"
    os.replace(mediagen.make_mp4(tmp_path / "m.mp4"), marker)
    await rec.wait_for("media_added", marker)
    assert [d["item"]["path"] for k, d in rec.events if k == "media_added"] == [str(marker)]
    await hub.stop()  # the watcher stops with the hub
    assert hub.library._watch_task is None

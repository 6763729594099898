"""Bad input for the library: files that cannot be read, folders that vanish, a hub killed
mid-scan. Each must be recorded (or survived) without stopping the scan or losing items.

About "unreadable": the tests run as root, and ``chmod 000`` does not stop root, so unreadable is
made real in ways that hold for root too — a FIFO named like a video (opening it would block
forever), a symlink whose target is gone (a file on an unmounted disk), and a file name that is
not valid UTF-8. A permission-denied folder is not tested here (root reads it anyway).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from omnimedia.core.library import scanner
from tests import mediagen
from tests.conftest import ROOT
from tests.test_library_scan import items_by_path, library_config


async def test_fifo_broken_symlink_and_bad_name_are_recorded(hub_factory, tmp_path: Path) -> None:
    root = tmp_path / "media"
    good = mediagen.make_mp4(root / "Good.Movie.2020.mp4")
    fifo = root / "Stuck.Movie.2021.mkv"
    os.mkfifo(fifo)
    link = root / "Offline.Movie.2022.mkv"
    link.symlink_to(tmp_path / "unmounted-disk" / "Offline.Movie.2022.mkv")
    bad_name = os.path.join(os.fsencode(root), b"Bad\xffName.2019.mkv")
    shutil.copy(good, bad_name)
    hub = await hub_factory(config_text=library_config([(root, "movies")]), serve_http=False)
    errors: list[dict] = []
    hub.bus.listen("media_error", lambda e: errors.append(dict(e.data)))

    summary = await asyncio.wait_for(hub.library.scan(), 60)  # a FIFO must not hang the scan

    assert summary["added"] == 3 and summary["errors"] == 3
    items = await items_by_path(hub)
    assert items[str(good)]["status"] == "ok"
    assert items[str(fifo)]["status"] == "error" and items[str(fifo)]["error"] == "not a regular file (FIFO)"
    assert items[str(link)]["status"] == "error" and "broken symbolic link" in items[str(link)]["error"]
    assert len(items) == 3  # the undecodable name cannot be stored …
    bad = [e for e in errors if "not valid UTF-8" in e["error"]]
    assert len(bad) == 1 and bad[0]["path"].endswith("Name.2019.mkv")  # … but is reported, printable

    # The symlink's target comes back (the disk is mounted again): the item recovers.
    target = tmp_path / "unmounted-disk" / "Offline.Movie.2022.mkv"
    mediagen.make_mkv(target)
    await hub.library.scan(full=True)
    items = await items_by_path(hub)
    assert items[str(link)]["status"] == "ok" and items[str(link)]["video_codec"] == "h264"


async def test_zero_byte_and_corrupt_video_do_not_stop_the_scan(hub_factory, tmp_path: Path) -> None:
    root = tmp_path / "media"
    mediagen.make_empty(root / "A.Empty.2020.1080p.WEB-DL.x264-NONE.mkv")
    mediagen.make_corrupt(root / "B.Broken.2018.720p.BluRay.x264-BAD.mp4")
    mediagen.make_corrupt(root / "C.Truncated.2017.mkv", size=10)
    good = mediagen.make_mkv(root / "D.Fine.2016.mkv")
    hub = await hub_factory(config_text=library_config([(root, "movies")]), serve_http=False)
    summary = await hub.library.scan()
    assert summary["added"] == 4 and summary["errors"] == 3
    items = await items_by_path(hub)
    assert items[str(good)]["status"] == "ok"
    errors = sorted((Path(p).name, i["error"]) for p, i in items.items() if i["status"] == "error")
    assert errors[0] == ("A.Empty.2020.1080p.WEB-DL.x264-NONE.mkv", "empty file (0 bytes)")
    assert all(e.startswith("corrupt or unsupported file: ") for _, e in errors[1:])
    stats = await hub.library.stats()
    assert stats["errors"] == 3


async def test_directory_disappearing_mid_scan(hub_factory, tmp_path: Path, monkeypatch) -> None:
    """A folder is deleted while the scan is between batches: its files are skipped (not stored,
    not errors), the scan completes, and the library matches the disk afterwards."""
    monkeypatch.setattr(scanner, "BATCH_SIZE", 2)
    root = tmp_path / "media"
    first = mediagen.make_mp4(root / "A" / "Alpha.2001.mp4")
    for i in range(2, 4):
        shutil.copy(first, root / "A" / f"Alpha.200{i}.mp4")
    shutil.copy(first, root / "Keep.1999.mp4")
    (root / "Z").mkdir()
    for i in range(4):
        shutil.copy(first, root / "Z" / f"Zulu.201{i}.mp4")
    hub = await hub_factory(config_text=library_config([(root, "movies")]), serve_http=False)

    def vanish(_event) -> None:
        shutil.rmtree(root / "Z", ignore_errors=True)

    hub.bus.listen_once("media_added", vanish)
    summary = await hub.library.scan()
    assert not (root / "Z").exists()
    assert summary["seen"] == 8 and summary["added"] == 4 and summary["errors"] == 0
    items = await items_by_path(hub)
    assert sorted(Path(p).name for p in items) == ["Alpha.2001.mp4", "Alpha.2002.mp4", "Alpha.2003.mp4", "Keep.1999.mp4"]

    # A folder that disappears between scans takes its items with it.
    shutil.rmtree(root / "A")
    summary = await hub.library.scan()
    assert summary["removed"] == 3
    assert (await hub.library.list_items())[1] == 1


async def test_missing_or_empty_library_folder_keeps_items(hub_factory, tmp_path: Path) -> None:
    """An unmounted disk is not an empty library: nothing is deleted, an error is reported."""
    root = tmp_path / "media"
    mediagen.library_copy(root)
    hub = await hub_factory(config_text=library_config([(root, "mixed")]), serve_http=False)
    await hub.library.scan()
    parked = tmp_path / "parked"
    root.rename(parked)
    errors: list[dict] = []
    hub.bus.listen("media_error", lambda e: errors.append(dict(e.data)))
    summary = await hub.library.scan()
    assert summary["errors"] == 1 and summary["removed"] == 0
    assert errors == [{"path": str(root), "error": errors[0]["error"]}] and "items kept" in errors[0]["error"]
    assert (await hub.library.list_items())[1] == 15
    # An empty mount point (the folder is there, the disk is not) is no different.
    root.mkdir()
    errors.clear()
    summary = await hub.library.scan()
    assert summary["errors"] == 1 and summary["removed"] == 0 and "items are kept" in errors[0]["error"]
    assert (await hub.library.list_items())[1] == 15
    root.rmdir()
    parked.rename(root)
    summary = await hub.library.scan()
    assert summary["unchanged"] == 15 and summary["removed"] == 0


def _many_files(root: Path, n: int) -> list[Path]:
    first = mediagen.make_mp4(root / "Clip.2000.000.mp4")
    paths = [first]
    for i in range(1, n):
        dest = root / f"Clip.2000.{i:03d}.mp4"
        shutil.copy(first, dest)
        paths.append(dest)
    return paths


KILL_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from omnimedia.core.bootstrap import prepare
    from omnimedia.core.hub import Hub
    from omnimedia.core.library import scanner

    scanner.BATCH_SIZE = 2

    async def main():
        config, plugins, errors = prepare(Path(sys.argv[1]), [])
        assert not errors, errors
        hub = Hub(config, plugins)
        await hub.start(serve_http=False, initial_scan=False)
        hub.bus.listen("media_added", lambda e: print("ADDED", e.data["item"]["id"], flush=True))
        await hub.library.scan()
        print("DONE", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


async def test_killed_mid_scan_then_restart_is_consistent(hub_factory, tmp_path: Path) -> None:
    """SIGKILL the hub (a real separate process) after its first committed batch; a new hub on
    the same config folder finds whole batches only, and its scan completes the library."""
    root = tmp_path / "media"
    paths = _many_files(root, 30)
    cdir = tmp_path / "config"
    cdir.mkdir()
    (cdir / "configuration.yaml").write_text(library_config([(root, "movies")]))
    script = tmp_path / "scan_and_wait.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(cdir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=ROOT,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        assert line.startswith("ADDED"), (line, proc.stderr.read() if proc.poll() is not None else "")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    hub = await hub_factory(config_dir=cdir, serve_http=False)
    partial, n_before = await hub.library.list_items(limit=100)
    assert 0 < n_before < 30, "the kill should land mid-scan"
    ids_before = {i["path"]: i["id"] for i in partial}
    summary = await hub.library.scan()
    assert summary["added"] == 30 - n_before and summary["unchanged"] == n_before
    items, total = await hub.library.list_items(limit=100)
    assert total == 30 and {i["path"] for i in items} == {str(p) for p in paths}
    assert all(i["status"] == "ok" and i["video_codec"] == "h264" for i in items)
    assert {i["path"]: i["id"] for i in items if i["path"] in ids_before} == ids_before


async def test_hub_stopped_mid_scan_then_restart_is_consistent(hub_factory, tmp_path: Path, monkeypatch) -> None:
    """A graceful stop during the initial scan ends it after the batch in flight; the next hub
    completes the library without duplicates."""
    monkeypatch.setattr(scanner, "BATCH_SIZE", 2)
    root = tmp_path / "media"
    _many_files(root, 20)
    cdir = tmp_path / "config"
    cdir.mkdir()
    (cdir / "configuration.yaml").write_text(library_config([(root, "movies")]))
    first_hub = await hub_factory(config_dir=cdir, serve_http=False)
    added = asyncio.Event()
    first_hub.bus.listen("media_added", lambda e: added.set())
    scan = asyncio.create_task(first_hub.library.scan())
    await asyncio.wait_for(added.wait(), 60)
    await first_hub.stop()
    summary = await scan
    assert 0 < summary["added"] < 20

    second = await hub_factory(config_dir=cdir, serve_http=False)
    assert (await second.library.list_items())[1] == summary["added"]
    rescan = await second.library.scan()
    assert rescan["added"] == 20 - summary["added"] and rescan["unchanged"] == summary["added"]
    items, total = await second.library.list_items(limit=100)
    assert total == 20 and len({i["path"] for i in items}) == 20


async def test_cancelled_scan_leaves_no_partial_batch(hub_factory, tmp_path: Path, monkeypatch) -> None:
    """Cancelling the scan task (what a hard stop does to background tasks) mid-probe rolls back
    nothing that was committed and commits nothing half-done."""
    monkeypatch.setattr(scanner, "BATCH_SIZE", 3)
    root = tmp_path / "media"
    _many_files(root, 12)
    hub = await hub_factory(config_text=library_config([(root, "movies")]), serve_http=False)
    added = asyncio.Event()
    hub.bus.listen("media_added", lambda e: added.set())
    task = asyncio.create_task(hub.library.scan())
    await asyncio.wait_for(added.wait(), 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    _, n = await hub.library.list_items()
    assert n % 3 == 0 and 0 < n < 12  # whole batches only
    summary = await hub.library.scan()
    assert summary["added"] == 12 - n
    assert (await hub.library.list_items(limit=100))[1] == 12

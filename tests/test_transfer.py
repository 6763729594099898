"""transfer.place: hard links, verified copies, moves, upgrades, and nothing lost on failure.

Cross-file-system cases use a real tmpfs mounted in a temporary folder (needs root; skipped with the
reason otherwise). Files are plain bytes: placing does not care what is inside.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from omnimedia.core.acquisition import transfer
from omnimedia.core.acquisition.transfer import ImportFailed, place, remove_replaced

KB = 1024
MB = 1024 * 1024


def make_file(path: Path, size: int, seed: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    block = hashlib.sha256(str(seed).encode()).digest() * 32  # 1 KiB, distinct per seed
    with open(path, "wb") as f:
        for _ in range(size // len(block)):
            f.write(block)
        f.write(block[: size % len(block)])
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Our temporary and backup files anywhere below ``folder``."""
    return sorted(p.name for p in folder.rglob(".omnimedia-*")) + sorted(
        p.name for p in folder.rglob("*.omnimedia-old-*")
    )


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """``tmpfs("4m")`` → a folder that is a fresh tmpfs of that size (another file system than tmp_path)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root (cross-file-system and disk-full cases)")
        folder = tmp_path / f"tmpfs{len(mounted)}"
        folder.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


async def test_auto_on_the_same_file_system_is_a_hard_link(tmp_path: Path) -> None:
    source = make_file(tmp_path / "downloads" / "Show.S01E02.mkv", 300 * KB)
    dest = tmp_path / "library" / "Show (2019)" / "Season 01" / "Show - S01E02.mkv"
    placed = await place(source, dest)
    assert placed.method == "hardlink"
    assert os.stat(dest).st_ino == os.stat(source).st_ino
    assert source.exists() and not placed.source_removed
    assert placed.size == 300 * KB and placed.replaced is None
    assert leftovers(tmp_path) == []


async def test_copy_mode_copies_and_verifies_even_on_the_same_file_system(tmp_path: Path) -> None:
    source = make_file(tmp_path / "dl" / "a.mkv", 2 * MB + 123)
    dest = tmp_path / "lib" / "a.mkv"
    placed = await place(source, dest, "copy")
    assert placed.method == "copy"
    assert os.stat(dest).st_ino != os.stat(source).st_ino
    assert placed.sha256 == sha(source) == sha(dest)
    assert os.stat(dest).st_mtime_ns == os.stat(source).st_mtime_ns
    assert leftovers(tmp_path) == []


async def test_auto_across_file_systems_copies_and_verifies(tmp_path: Path, tmpfs) -> None:
    library = tmpfs("16m")
    source = make_file(tmp_path / "dl" / "Movie.2019.mkv", 5 * MB + 7)
    placed = await place(source, library / "Movie (2019)" / "Movie (2019).mkv", "auto")
    assert placed.method == "copy"
    assert placed.sha256 == sha(source) == sha(library / "Movie (2019)" / "Movie (2019).mkv")
    assert source.exists()
    assert leftovers(library) == []


async def test_move_on_the_same_file_system_links_then_removes_the_source(tmp_path: Path) -> None:
    source = make_file(tmp_path / "dl" / "a.mkv", 100 * KB)
    digest = sha(source)
    placed = await place(source, tmp_path / "lib" / "b.mkv", "move")
    assert placed.method == "hardlink" and placed.source_removed
    assert not source.exists()
    assert sha(tmp_path / "lib" / "b.mkv") == digest
    assert os.stat(tmp_path / "lib" / "b.mkv").st_nlink == 1


async def test_move_without_hard_links_renames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_file(tmp_path / "dl" / "a.mkv", 100 * KB)
    digest = sha(source)

    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(transfer.os, "link", no_links)
    placed = await place(source, tmp_path / "lib" / "a.mkv", "move")
    assert placed.method == "rename" and placed.source_removed and not source.exists()
    assert sha(tmp_path / "lib" / "a.mkv") == digest


async def test_move_across_file_systems_copies_verifies_then_deletes(tmp_path: Path, tmpfs) -> None:
    library = tmpfs("8m")
    source = make_file(tmp_path / "dl" / "a.mkv", 3 * MB)
    digest = sha(source)
    placed = await place(source, library / "a.mkv", "move")
    assert placed.method == "copy" and placed.source_removed and placed.sha256 == digest
    assert not source.exists()
    assert sha(library / "a.mkv") == digest


async def test_a_copy_corrupted_on_its_way_is_caught_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes that reach the disk differently from what was read are caught by the read-back hash."""
    source = make_file(tmp_path / "dl" / "a.mkv", 1 * MB)
    digest = sha(source)
    monkeypatch.setattr(transfer, "CHUNK", 64 * KB)
    real_write = transfer._write_all
    calls = {"n": 0}

    def corrupting_write(fd: int, data: bytes) -> None:
        real_write(fd, data)
        calls["n"] += 1
        if calls["n"] == 3:  # storage flips a byte in what was already written
            os.pwrite(fd, b"\xff", 70 * KB)

    monkeypatch.setattr(transfer, "_write_all", corrupting_write)
    dest = tmp_path / "lib" / "Show" / "a.mkv"
    with pytest.raises(ImportFailed, match="does not match the original") as info:
        await place(source, dest, "copy")
    assert info.value.reason == "verify_failed"
    assert sha(source) == digest
    assert not dest.exists()
    assert not (tmp_path / "lib").exists()  # the folders made for it are gone too
    assert leftovers(tmp_path) == []


async def test_not_enough_space_is_refused_before_copying(tmp_path: Path, tmpfs) -> None:
    small = tmpfs("1m")
    source = make_file(tmp_path / "dl" / "big.mkv", 2 * MB)
    digest = sha(source)
    with pytest.raises(ImportFailed) as info:
        await place(source, small / "Show" / "big.mkv")
    message = str(info.value)
    assert info.value.reason == "not_enough_space"
    assert message.startswith(f"Not enough space on {small}: need 2.0 MB for big.mkv, ")
    assert message.endswith(" free")
    assert sha(source) == digest
    assert list(small.iterdir()) == []


async def test_minimum_free_space_is_kept(tmp_path: Path, tmpfs) -> None:
    fs = tmpfs("4m")
    source = make_file(tmp_path / "dl" / "a.mkv", 1 * MB)
    with pytest.raises(ImportFailed, match=r"need 4\.5 MB \(1\.0 MB for a\.mkv \+ 3\.5 MB to keep free\)"):
        await place(source, fs / "a.mkv", minimum_free_space=3.5)
    placed = await place(source, fs / "a.mkv", minimum_free_space=1)
    assert placed.method == "copy"


async def test_disk_filling_up_during_the_copy_loses_nothing(
    tmp_path: Path, tmpfs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The free-space check passes, then something else fills the disk: ENOSPC mid-copy."""
    fs = tmpfs("4m")
    source = make_file(tmp_path / "dl" / "Show.S01E01.mkv", 3 * MB)
    digest = sha(source)
    monkeypatch.setattr(transfer, "CHUNK", 256 * KB)
    real_write = transfer._write_all
    filled = {"done": False}

    def write_then_fill(fd: int, data: bytes) -> None:
        real_write(fd, data)
        if not filled["done"]:
            filled["done"] = True
            with open(fs / "other-writer.bin", "wb") as hog:  # another program takes what is left
                try:
                    while True:
                        hog.write(b"\0" * 64 * KB)
                        hog.flush()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC

    monkeypatch.setattr(transfer, "_write_all", write_then_fill)
    with pytest.raises(ImportFailed) as info:
        await place(source, fs / "Show" / "Season 01" / "Show - S01E01.mkv")
    assert info.value.reason == "not_enough_space"
    message = str(info.value)
    assert message.startswith(f"Not enough space on {fs}: need 3.0 MB, ")
    assert "filled up while copying Show - S01E01.mkv" in message and "untouched" in message
    assert sha(source) == digest
    assert sorted(p.name for p in fs.rglob("*")) == ["other-writer.bin"]  # no partial file, no folders


async def test_an_existing_destination_stays_until_the_new_file_is_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = make_file(tmp_path / "lib" / "a.mkv", 200 * KB, seed=7)
    old_digest = sha(old)
    source = make_file(tmp_path / "dl" / "a.mkv", 300 * KB, seed=8)
    monkeypatch.setattr(transfer, "CHUNK", 64 * KB)
    real_write = transfer._write_all

    def corrupting_write(fd: int, data: bytes) -> None:
        real_write(fd, data)
        os.pwrite(fd, b"\x00\x01", 5)

    monkeypatch.setattr(transfer, "_write_all", corrupting_write)
    with pytest.raises(ImportFailed, match="does not match"):
        await place(source, old, "copy")
    assert sha(old) == old_digest
    assert leftovers(tmp_path) == []

    # The final rename fails: the old file is still at its place, no backup is left behind.
    monkeypatch.setattr(transfer, "_write_all", real_write)
    real_replace = transfer.os.replace

    def failing_replace(src: object, dst: object) -> None:
        if Path(str(dst)) == old:
            raise OSError(errno.EIO, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(transfer.os, "replace", failing_replace)
    with pytest.raises(ImportFailed, match="Input/output error") as info:
        await place(source, old, "copy")
    assert info.value.reason == "io_error"
    assert sha(old) == old_digest
    assert leftovers(tmp_path) == []


async def test_upgrade_replaces_the_old_file_only_after_the_new_one_is_in_place(tmp_path: Path, tmpfs) -> None:
    library = tmpfs("8m")
    dest = make_file(library / "Show" / "Show - S01E02.mkv", 1 * MB, seed=1)
    new = make_file(tmp_path / "dl" / "Show.S01E02.PROPER.mkv", 2 * MB, seed=2)
    placed = await place(new, dest)
    assert placed.method == "copy"
    assert placed.replaced == dest and placed.replaced_size == 1 * MB and placed.backup is None
    assert sha(dest) == sha(new)
    assert leftovers(library) == []

    # keep_replaced: the old file stays, under a hidden name the library does not index.
    newer = make_file(tmp_path / "dl" / "Show.S01E02.REPACK.mkv", 1 * MB + 5, seed=3)
    previous = sha(dest)
    placed = await place(newer, dest, keep_replaced=True)
    assert placed.backup is not None and placed.backup.parent == dest.parent
    assert placed.backup.name.startswith(".Show - S01E02.mkv.omnimedia-old-")
    assert sha(placed.backup) == previous and sha(dest) == sha(newer)


async def test_same_file_system_upgrade_uses_a_link_and_keeps_the_old_file_until_then(tmp_path: Path) -> None:
    dest = make_file(tmp_path / "lib" / "a.mkv", 10 * KB, seed=1)
    new = make_file(tmp_path / "dl" / "a.mkv", 20 * KB, seed=2)
    placed = await place(new, dest)
    assert placed.method == "hardlink" and placed.replaced == dest
    assert os.stat(dest).st_ino == os.stat(new).st_ino
    assert leftovers(tmp_path) == []


async def test_already_in_place(tmp_path: Path) -> None:
    source = make_file(tmp_path / "dl" / "a.mkv", 10 * KB)
    await place(source, tmp_path / "lib" / "a.mkv")
    again = await place(source, tmp_path / "lib" / "a.mkv")
    assert again.method == "existing" and again.replaced is None


async def test_a_vanished_source_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "dl" / "gone.mkv"
    with pytest.raises(ImportFailed, match=r"The downloaded file .*gone\.mkv is gone") as info:
        await place(missing, tmp_path / "lib" / "gone.mkv")
    assert info.value.reason == "source_missing" and info.value.path == missing
    assert not (tmp_path / "lib").exists()


async def test_a_folder_in_the_way_is_a_clear_error(tmp_path: Path) -> None:
    source = make_file(tmp_path / "dl" / "a.mkv", 10 * KB)
    (tmp_path / "lib" / "a.mkv").mkdir(parents=True)
    with pytest.raises(ImportFailed, match="a folder with that name is there") as info:
        await place(source, tmp_path / "lib" / "a.mkv")
    assert info.value.reason == "destination_invalid"


async def test_unknown_mode(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown import mode 'symlink'"):
        await place(tmp_path / "a", tmp_path / "b", "symlink")


async def test_cancelling_stops_the_copy_and_removes_the_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_file(tmp_path / "dl" / "a.mkv", 1 * MB)
    monkeypatch.setattr(transfer, "CHUNK", 64 * KB)
    real_write = transfer._write_all
    started, proceed = threading.Event(), threading.Event()

    def slow_write(fd: int, data: bytes) -> None:
        real_write(fd, data)
        started.set()
        proceed.wait(30)

    monkeypatch.setattr(transfer, "_write_all", slow_write)
    task = asyncio.create_task(place(source, tmp_path / "lib" / "a.mkv", "copy"))
    await asyncio.to_thread(started.wait, 30)
    assert leftovers(tmp_path)  # the partial copy exists while copying
    task.cancel()
    for _ in range(5):  # let the task see its cancellation (and flag the copy) before it resumes
        await asyncio.sleep(0)
    proceed.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "lib" / "a.mkv").exists()
    assert source.exists()


async def test_remove_replaced(tmp_path: Path) -> None:
    a = make_file(tmp_path / "lib" / "Show - S01E02 HDTV-720p.mkv", 10 * KB)
    b = make_file(tmp_path / "lib" / "Show - S01E03 HDTV-720p.mkv", 10 * KB)
    out = await remove_replaced([a, tmp_path / "lib" / "missing.mkv"])
    assert out == {str(a): None} and not a.exists()
    out = await remove_replaced([b], keep=True)
    backup = Path(out[str(b)])
    assert not b.exists() and backup.exists() and backup.name.startswith(".Show - S01E03")


def test_format_size() -> None:
    assert transfer.format_size(300 * MB) == "300 MB"
    assert transfer.format_size(int(1.2 * 1024 * MB)) == "1.2 GB"
    assert transfer.format_size(512) == "512 bytes"

"""Placing a downloaded file into the library without ever losing anything.

:func:`place` puts one file at its library path:

- ``auto``: a hard link when the source and the library folder are on the same file system (no
  space used, the download client keeps seeding the same data), else a verified copy.
- ``copy``: always a verified copy.
- ``move``: a hard link (or a rename where the file system has no hard links) on the same file
  system, else a verified copy; then the source is removed.

A verified copy is written to a hidden temporary file in the destination folder
(``.omnimedia-<random>.partial``), flushed with ``fsync``, then read back and checked against the
source: same size and same SHA-256 (SHA-256 because OpenSSL's implementation is the fastest
hashlib offers on x86-64 and ARMv8 with their SHA extensions: ~1.7 GB/s on this machine against
~0.8 GB/s for BLAKE2b). Only then is it renamed into place (``rename(2)`` is atomic within a
file system). Copying and hashing run on a worker thread, never on the event loop.

An existing file at the destination (an upgrade, or a name collision) is kept until the new file
is in place: it is first hard-linked (or, where links are unsupported, renamed) to a hidden backup
name beside it, the new file replaces the destination atomically, and only then is the backup
removed — or kept and returned when the caller asks (``keep_replaced=True``).

On any failure nothing but our own temporary file is touched: the source stays, an existing
destination stays, folders we created and left empty are removed, and :class:`ImportFailed`
says what happened in words a user can act on (``Not enough space on /srv/media: need 1.2 GB,
300 MB free``). Sizes in messages use binary units (1 MB = 1,048,576 bytes), like ``df -h``.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import hashlib
import os
import secrets
import shutil
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OmniMediaError
from ..storage import fsync_dir

#: Import modes (``acquisition: import_mode``).
MODES = ("auto", "copy", "move")
#: One mebibyte: the unit of ``minimum_free_space``.
MB = 1024 * 1024
#: Copy and hash in pieces of this many bytes.
CHUNK = 4 * MB

#: ``link(2)`` errors after which a copy is the right answer (a different file system, or one
#: without hard links: FAT/exFAT, some FUSE and SMB mounts; or a file at its link limit).
_LINK_FALLBACK = {errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


class ImportFailed(OmniMediaError):
    """A file could not be placed into the library; nothing was lost.

    ``reason`` is a short code for the engine: ``source_missing`` (the downloaded file is gone),
    ``not_enough_space`` (free-space check or ENOSPC/EDQUOT during the copy), ``verify_failed``
    (size or hash of the copy differs from the source), ``destination_invalid`` (a folder is
    where the file should go, or the folder cannot be created), ``cancelled``, ``io_error``
    (anything else the OS said). ``path`` is the file concerned.
    """

    def __init__(self, message: str, *, reason: str = "io_error", path: Path | str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.path = Path(path) if path is not None else None


@dataclass(frozen=True, slots=True)
class Placed:
    """The outcome of :func:`place`.

    ``method``: ``hardlink``, ``copy``, ``rename`` (move on a file system without hard links) or
    ``existing`` (the destination already was this very file: nothing done). ``size`` in bytes.
    ``sha256``: hex digest of the verified copy (``None`` for links and renames, which share the
    data). ``replaced``: the destination path when a different file was there before (an
    upgrade), ``replaced_size`` its size; ``backup``: where that old file was kept when
    ``keep_replaced=True`` (``None`` when it was removed). ``source_removed``: the source no
    longer exists at its path (``move``). ``warnings``: things that went wrong after the file was
    safely placed (e.g. the source could not be removed).
    """

    source: Path
    destination: Path
    method: str
    size: int
    sha256: str | None = None
    replaced: Path | None = None
    replaced_size: int | None = None
    backup: Path | None = None
    source_removed: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": str(self.source), "destination": str(self.destination), "method": self.method,
            "size": self.size, "sha256": self.sha256,
            "replaced": str(self.replaced) if self.replaced else None, "replaced_size": self.replaced_size,
            "backup": str(self.backup) if self.backup else None, "source_removed": self.source_removed,
            "warnings": list(self.warnings),
        }


def format_size(size: float) -> str:
    """``1288490188`` → ``"1.2 GB"`` (binary units, one decimal below 10 of a unit)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            if unit == "bytes":
                return f"{int(value)} bytes"
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


def mount_point(path: Path | str) -> Path:
    """The mount point holding ``path`` (an existing file or folder)."""
    p = Path(os.path.abspath(path))
    dev = os.stat(p).st_dev
    while p != p.parent:
        try:
            if os.stat(p.parent).st_dev != dev:
                break
        except OSError:
            break
        p = p.parent
    return p


def check_free_space(folder: Path | str, size: int, minimum_free_space: float = 0, *, name: str = "") -> None:
    """Raise :class:`ImportFailed` (``not_enough_space``) unless ``folder``'s file system has
    ``size`` bytes plus ``minimum_free_space`` MB free (as available to this user, ``statvfs``
    ``f_bavail``)."""
    reserve = int(minimum_free_space * MB)
    free = shutil.disk_usage(folder).free
    if free >= size + reserve:
        return
    what = f" for {name}" if name else ""
    need = format_size(size + reserve)
    detail = f" ({format_size(size)}{what} + {format_size(reserve)} to keep free)" if reserve else what
    raise ImportFailed(
        f"Not enough space on {mount_point(folder)}: need {need}{detail}, {format_size(free)} free",
        reason="not_enough_space", path=folder,
    )


async def place(
    source: Path | str,
    destination: Path | str,
    mode: str = "auto",
    *,
    minimum_free_space: float = 0,
    keep_replaced: bool = False,
) -> Placed:
    """Place ``source`` at ``destination`` (see the module docstring for what each ``mode`` does).

    ``minimum_free_space`` is in MB (2^20 bytes), like ``acquisition: minimum_free_space``: a copy
    is refused unless the destination keeps that much free after it. Missing destination folders
    are created. ``keep_replaced``: keep a file that was at ``destination`` under a hidden backup
    name beside it (returned as :attr:`Placed.backup`) instead of removing it.

    Raises :class:`ImportFailed` (see its ``reason`` codes) and :class:`ValueError` for an unknown
    ``mode``. When the awaiting task is cancelled the copy stops at the next 4 MB piece, its
    temporary file is removed, and :class:`asyncio.CancelledError` propagates.
    """
    if mode not in MODES:
        raise ValueError(f"unknown import mode {mode!r}; expected one of {', '.join(MODES)}")
    cancel = threading.Event()
    job = functools.partial(
        _place, Path(source), Path(destination), mode, float(minimum_free_space), keep_replaced, cancel
    )
    future = asyncio.get_running_loop().run_in_executor(None, job)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        cancel.set()
        try:
            await future
        except BaseException:  # noqa: BLE001 - the copy's own outcome no longer matters
            pass
        raise


async def remove_replaced(paths: Iterable[Path | str], *, keep: bool = False) -> dict[str, str | None]:
    """Retire old library files an import replaced under other names (e.g. the ``HDTV-720p``
    file after its ``WEBDL-1080p`` upgrade was placed). Call it only after the new files are
    in place. Each existing path is removed, or with ``keep=True`` renamed to a hidden backup
    name beside it. Returns ``{old path: backup path or None}`` for the files that existed;
    a file that cannot be removed is left as it is and mapped to itself."""
    return await asyncio.to_thread(_remove_replaced, [Path(p) for p in paths], keep)


def _remove_replaced(paths: list[Path], keep: bool) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for path in paths:
        if not path.is_file():
            continue
        try:
            if keep:
                backup = _backup_name(path)
                os.rename(path, backup)
                out[str(path)] = str(backup)
            else:
                os.unlink(path)
                out[str(path)] = None
        except OSError:
            out[str(path)] = str(path)
    return out


# --- the work, on a worker thread -------------------------------------------------------------


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _temp_name(folder: Path) -> Path:
    return folder / f".omnimedia-{secrets.token_hex(8)}.partial"


def _backup_name(path: Path) -> Path:
    tail = f".omnimedia-old-{secrets.token_hex(4)}"
    room = 255 - len(tail.encode()) - 1
    stem = path.name.encode()[:room].decode("utf-8", errors="ignore")
    return path.with_name(f".{stem}{tail}")


def _makedirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, deepest first."""
    missing: list[Path] = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p == p.parent:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            pass
        except OSError as exc:
            _remove_empty(missing)
            if exc.errno in _NO_SPACE:
                raise ImportFailed(f"Not enough space on {mount_point(p)} to create {d}", reason="not_enough_space",
                                   path=d) from exc
            raise ImportFailed(f"Cannot create folder {d}: {exc.strerror}", reason="destination_invalid",
                               path=d) from exc
        if not d.is_dir():
            _remove_empty(missing)
            raise ImportFailed(f"Cannot create folder {d}: a file is in the way", reason="destination_invalid", path=d)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for d in folders:  # deepest first
        try:
            d.rmdir()
        except OSError:
            pass



def _place(
    source: Path, destination: Path, mode: str, minimum_free_space: float, keep_replaced: bool,
    cancel: threading.Event,
) -> Placed:
    try:
        src_stat = os.stat(source)
    except FileNotFoundError:
        raise ImportFailed(f"The downloaded file {source} is gone (was it moved or deleted?)",
                           reason="source_missing", path=source) from None
    except OSError as exc:
        raise ImportFailed(f"Cannot read the downloaded file {source}: {exc.strerror}", path=source) from exc
    if not stat.S_ISREG(src_stat.st_mode):
        raise ImportFailed(f"{source} is not a regular file", reason="source_missing", path=source)

    folder = destination.parent
    if destination.name in ("", ".", ".."):
        raise ImportFailed(f"Invalid destination {destination}", reason="destination_invalid", path=destination)
    created = _makedirs(folder)
    temp: Path | None = None
    method = ""
    try:
        try:
            dst_stat: os.stat_result | None = os.stat(destination)
        except FileNotFoundError:
            dst_stat = None
        if dst_stat is not None:
            if stat.S_ISDIR(dst_stat.st_mode):
                raise ImportFailed(f"Cannot import to {destination}: a folder with that name is there",
                                   reason="destination_invalid", path=destination)
            if (dst_stat.st_dev, dst_stat.st_ino) == (src_stat.st_dev, src_stat.st_ino):
                return Placed(source, destination, "existing", src_stat.st_size)

        temp = _temp_name(folder)
        digest: str | None = None
        if mode in ("auto", "move"):
            try:
                os.link(source, temp)
                method = "hardlink"
            except OSError as exc:
                if exc.errno not in _LINK_FALLBACK:
                    raise
                if mode == "move" and os.stat(folder).st_dev == src_stat.st_dev:
                    try:
                        os.rename(source, temp)
                        method = "rename"
                    except OSError as rename_exc:
                        if rename_exc.errno != errno.EXDEV:
                            raise
        if not method:
            check_free_space(folder, src_stat.st_size, minimum_free_space, name=source.name)
            digest = _copy_verified(source, temp, src_stat.st_size, destination, cancel)
            method = "copy"

        temp_stat = os.stat(temp)
        backup: Path | None = None
        replaced_size: int | None = None
        backup_by_rename = False
        if os.path.lexists(destination):
            replaced_size = os.lstat(destination).st_size
            backup = _backup_name(destination)
            try:
                os.link(destination, backup)
            except OSError:
                os.rename(destination, backup)
                backup_by_rename = True
        try:
            os.replace(temp, destination)
        except OSError:
            if backup is not None:
                if backup_by_rename:
                    os.rename(backup, destination)
                else:
                    os.unlink(backup)
            raise
        temp = None
        fsync_dir(folder)
        placed_stat = os.stat(destination)
        if (placed_stat.st_ino, placed_stat.st_size) != (temp_stat.st_ino, src_stat.st_size):
            # Someone else wrote the destination between our rename and now: leave both for a human.
            kept_note = f"; the previous file is kept as {backup}" if backup else ""
            raise ImportFailed(f"{destination} changed while it was being placed{kept_note}",
                               reason="verify_failed", path=destination)

        warnings: list[str] = []
        kept: Path | None = None
        if backup is not None:
            if keep_replaced:
                kept = backup
            else:
                try:
                    os.unlink(backup)
                except OSError as exc:
                    kept = backup
                    warnings.append(f"could not remove the replaced file's backup {backup}: {exc.strerror}")

        source_removed = method == "rename"
        if mode == "move" and method in ("hardlink", "copy"):
            try:
                os.unlink(source)
                source_removed = True
            except FileNotFoundError:
                source_removed = True
            except OSError as exc:
                warnings.append(f"imported, but could not remove the source {source}: {exc.strerror}")
        return Placed(
            source=source, destination=destination, method=method, size=src_stat.st_size, sha256=digest,
            replaced=destination if replaced_size is not None else None, replaced_size=replaced_size,
            backup=kept, source_removed=source_removed, warnings=tuple(warnings),
        )
    except BaseException as exc:
        if temp is not None:
            if method == "rename":
                try:
                    os.rename(temp, source)
                except OSError:
                    pass
            else:
                try:
                    os.unlink(temp)
                except OSError:
                    pass
        _remove_empty(created)
        if isinstance(exc, ImportFailed):
            raise
        if isinstance(exc, OSError):
            if exc.errno in _NO_SPACE:
                raise ImportFailed(
                    f"Not enough space on {mount_point(folder)} to place {destination.name}: "
                    f"{format_size(shutil.disk_usage(folder).free)} free",
                    reason="not_enough_space", path=destination,
                ) from exc
            raise ImportFailed(f"Could not place {source} at {destination}: {exc.strerror or exc}",
                               path=destination) from exc
        raise


def _copy_verified(source: Path, temp: Path, expected: int, destination: Path, cancel: threading.Event) -> str:
    """Copy ``source`` to ``temp`` (a new file), fsync it, read it back and compare size and
    SHA-256 with what was read from the source. Returns the hex digest. On any failure ``temp``
    is left for the caller to remove."""
    source_hash = hashlib.sha256()
    copied = 0
    full: OSError | None = None
    try:
        src = open(source, "rb", buffering=0)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise ImportFailed(f"The downloaded file {source} is gone (was it moved or deleted?)",
                           reason="source_missing", path=source) from None
    try:
        out = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            while True:
                if cancel.is_set():
                    raise ImportFailed(f"Import of {source.name} was cancelled", reason="cancelled", path=source)
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                source_hash.update(chunk)
                try:
                    _write_all(out, chunk)
                except OSError as exc:
                    if exc.errno not in _NO_SPACE:
                        raise
                    full = exc
                    break
                copied += len(chunk)
            if full is None:
                try:
                    os.fsync(out)
                except OSError as exc:
                    if exc.errno not in _NO_SPACE:
                        raise
                    full = exc
            if full is None and hasattr(os, "posix_fadvise"):
                # Drop the cached pages so that the check below reads what reached the storage.
                try:
                    os.posix_fadvise(out, 0, 0, os.POSIX_FADV_DONTNEED)
                except OSError:
                    pass
        finally:
            os.close(out)
    finally:
        src.close()
    if full is not None:
        # Free the space first, so that the message says what is really free.
        temp.unlink(missing_ok=True)
        free = shutil.disk_usage(destination.parent).free
        raise ImportFailed(
            f"Not enough space on {mount_point(destination.parent)}: need {format_size(expected)}, "
            f"{format_size(free)} free (the disk filled up while copying {destination.name}); the partial "
            "copy was removed and the downloaded file is untouched",
            reason="not_enough_space", path=destination,
        ) from full

    if copied != expected:
        raise ImportFailed(
            f"{source.name} changed size while it was being copied ({expected} → {copied} bytes); "
            "is the download still running?", reason="verify_failed", path=source,
        )
    if os.stat(temp).st_size != copied:
        raise ImportFailed(f"The copy of {source.name} at {destination.parent} has the wrong size",
                           reason="verify_failed", path=destination)
    copy_hash = hashlib.sha256()
    with open(temp, "rb", buffering=0) as check:
        while True:
            if cancel.is_set():
                raise ImportFailed(f"Import of {source.name} was cancelled", reason="cancelled", path=source)
            chunk = check.read(CHUNK)
            if not chunk:
                break
            copy_hash.update(chunk)
    if copy_hash.digest() != source_hash.digest():
        raise ImportFailed(
            f"The copy of {source.name} to {destination.parent} does not match the original (SHA-256 differs); "
            "the copy was removed and the original is untouched — check the disk",
            reason="verify_failed", path=destination,
        )
    try:
        os.utime(temp, ns=(os.stat(source).st_atime_ns, os.stat(source).st_mtime_ns))
    except OSError:
        pass
    return source_hash.hexdigest()


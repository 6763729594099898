"""Walking a library folder (blocking: run it in a thread).

``os.scandir`` with one ``stat`` per media file and nothing else: no probing, no reading. Hidden
files and folders (``.name``) and the scanner's ``ignore`` globs are skipped; only files whose
extension is media (see :mod:`.classify`) are reported. Folder symlinks are followed once (a loop
is detected by device+inode). A folder that vanishes while being walked is reported in ``gone``;
one that cannot be read in ``failed`` — the caller must not delete items under a failed folder.
"""

from __future__ import annotations

import fnmatch
import os
import stat as stat_mod
from collections.abc import Iterable
from dataclasses import dataclass, field

from .classify import media_class


@dataclass(slots=True)
class FileInfo:
    """What ``stat`` says about one media file. ``kind``: ``file`` (a regular file, possibly via a
    symlink), ``broken_link`` (a symlink whose target is missing) or ``special`` (FIFO, socket,
    device: never opened). ``mtime`` is UTC seconds since the epoch; ``size`` bytes."""

    size: int
    mtime: float
    inode: int | None
    kind: str = "file"
    detail: str | None = None


@dataclass(slots=True)
class WalkResult:
    files: dict[str, FileInfo] = field(default_factory=dict)
    #: folders that disappeared while walking (their items are really gone)
    gone: list[str] = field(default_factory=list)
    #: (folder, reason) for folders that exist but could not be listed (keep their items)
    failed: list[tuple[str, str]] = field(default_factory=list)
    #: (path, reason) for media files that cannot be stored (e.g. a name that is not valid UTF-8)
    bad: list[tuple[str, str]] = field(default_factory=list)


class Ignorer:
    """Decides which names the scanner skips: hidden names and the ``ignore`` globs (matched
    against the base name and against the path relative to the library root)."""

    def __init__(self, globs: Iterable[str] = ()) -> None:
        self.globs = [g for g in globs if g]

    def __call__(self, name: str, relpath: str) -> bool:
        if name.startswith("."):
            return True
        return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(relpath, g) for g in self.globs)


def _special_kind(mode: int) -> str:
    if stat_mod.S_ISFIFO(mode):
        return "FIFO"
    if stat_mod.S_ISSOCK(mode):
        return "socket"
    if stat_mod.S_ISCHR(mode) or stat_mod.S_ISBLK(mode):
        return "device"
    return "special file"


def stat_file(path: str) -> FileInfo | None:
    """Stat one path (following symlinks); ``None`` when nothing is there (not even a link)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        try:
            lst = os.lstat(path)
        except OSError:
            return None
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return FileInfo(0, lst.st_mtime, None, "broken_link", f"broken symbolic link: target {target} is missing")
    except OSError as err:
        return FileInfo(0, 0.0, None, "special", f"cannot stat: {err.strerror or err}")
    if stat_mod.S_ISREG(st.st_mode):
        return FileInfo(st.st_size, st.st_mtime, st.st_ino)
    if stat_mod.S_ISDIR(st.st_mode):
        return None
    return FileInfo(0, st.st_mtime, st.st_ino, "special", f"not a regular file ({_special_kind(st.st_mode)})")


def walk(
    root: str,
    library_type: str = "mixed",
    ignore: Ignorer | None = None,
    exclude: Iterable[str] = (),
) -> WalkResult:
    """Walk ``root`` (absolute) and return the media files under it.

    ``exclude`` lists folders to skip entirely (another library nested inside this one).
    Never raises for problems below ``root``; raises ``OSError`` when ``root`` itself cannot be
    listed (the caller then leaves the library untouched)."""
    ignore = ignore or Ignorer()
    excluded = {os.path.normpath(e) for e in exclude}
    result = WalkResult()
    root = os.path.normpath(root)
    seen_dirs: set[tuple[int, int]] = set()
    st = os.stat(root)  # raises when the library folder is missing: the caller decides
    seen_dirs.add((st.st_dev, st.st_ino))
    stack = [root]
    prefix = len(root) + (0 if root.endswith(os.sep) else 1)
    first = True
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except FileNotFoundError:
            if first:
                raise
            result.gone.append(folder)
            continue
        except OSError as err:
            if first:
                raise
            result.failed.append((folder, err.strerror or str(err)))
            continue
        first = False
        for entry in entries:
            path = entry.path
            rel = path[prefix:]  # cheaper than os.path.relpath (10,000 files: ~40 ms saved)
            if ignore(entry.name, rel):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if path not in excluded:
                        stack.append(path)
                    continue
                if entry.is_symlink():
                    try:
                        target_st = entry.stat(follow_symlinks=True)
                    except FileNotFoundError:
                        target_st = None
                    if target_st is not None and stat_mod.S_ISDIR(target_st.st_mode):
                        key = (target_st.st_dev, target_st.st_ino)
                        if key not in seen_dirs and path not in excluded:
                            seen_dirs.add(key)
                            stack.append(path)
                        continue
            except OSError:
                continue
            if media_class(path, library_type) is None:
                continue
            try:
                path.encode("utf-8")
            except UnicodeEncodeError:
                result.bad.append((path, "the file name is not valid UTF-8; rename it"))
                continue
            info = stat_file(path)
            if info is not None:
                result.files[path] = info
    return result

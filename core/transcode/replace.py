"""Putting a verified result in the original's place without ever losing both.

The result is written to a hidden temporary file *in the destination's folder*
(``.Name.omnimedia-tmp.mkv``: same file system, so the final step is a rename, and hidden, so the
library scanner ignores it). The engine's order of work, and what a ``kill -9`` at each point
leaves behind:

1. encode into the temporary file, ``fsync`` it — killed: the original is untouched; the
   temporary file (its path is in the job row) is removed at the next start;
2. verify — same as 1;
3. commit the decision to the database (``transcode_processed`` row with the result's
   fingerprint, job still ``verifying``) — killed: at the next start the decision is found and
   carried out (roll forward), or undone if the source changed meanwhile;
4. ``os.replace(temporary, final)`` (atomic: the final path holds either file, never a mix),
   ``fsync`` the folder;
5. when the extension changed, remove the original and ``fsync`` the folder again — killed
   between 4 and 5: two copies exist until the next start finishes step 5.

:data:`checkpoint_hook` lets tests stop the process at each named point (:data:`CHECKPOINTS`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

_LOGGER = logging.getLogger(__name__)

TEMP_MARK = ".omnimedia-tmp"
NAME_MAX = 255

#: Points of a job where :func:`checkpoint` is called, in order. ``encoding`` and ``decoding``
#: come from the first progress report of the encode and of the verification decode (ffmpeg is
#: running then); the others between steps.
CHECKPOINTS = (
    "encoding", "encoded", "verifying", "decoding", "verified", "committed", "replaced", "original_removed", "done",
)

#: Test hook: ``hook(name, info)`` called at each checkpoint (``info``: ``job_id``, ``source``,
#: ``temp``, ``final``). None in normal operation.
checkpoint_hook: Callable[[str, dict[str, Any]], None] | None = None


def checkpoint(name: str, **info: Any) -> None:
    """Tell :data:`checkpoint_hook` (if any) that a job reached ``name``."""
    if checkpoint_hook is not None:
        checkpoint_hook(name, info)


def output_paths(source: str, container: str | None) -> tuple[str, str]:
    """``(final, temporary)`` paths for the result of transcoding ``source`` into
    ``container`` (an extension such as ``mkv``; None keeps the source's)."""
    folder, name = os.path.split(source)
    stem, ext = os.path.splitext(name)
    if container:
        ext = "." + container.lstrip(".").lower()
    final = os.path.join(folder, stem + ext)
    budget = NAME_MAX - len(f".{TEMP_MARK}{ext}".encode())
    short = stem.encode("utf-8", "surrogateescape")[:budget].decode("utf-8", "ignore")
    return final, os.path.join(folder, f".{short}{TEMP_MARK}{ext}")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` (a base name) is one of our temporary files."""
    return name.startswith(".") and TEMP_MARK in name


def fsync_file(path: str) -> None:
    """Flush ``path``'s data to disk. Raises ``OSError``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    """Flush the folder ``path`` (so a rename or unlink in it survives a power cut)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a directory; the rename is still atomic
        pass
    finally:
        os.close(fd)


def remove_quietly(path: str | None) -> bool:
    """Remove ``path`` if it exists; True when something was removed. A file that cannot be
    removed (permissions, an immutable folder) is logged and left (False)."""
    if not path:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as err:
        _LOGGER.warning("cannot remove %s: %s", path, err.strerror or err)
        return False
    return True


async def install(temp: str, final: str, source: str, **info: Any) -> None:
    """Steps 4 and 5: rename ``temp`` over ``final``, then remove ``source`` when it is another
    path. Blocking calls run on a thread. Raises ``OSError``."""
    folder = os.path.dirname(final) or "."
    await asyncio.to_thread(os.replace, temp, final)
    await asyncio.to_thread(fsync_dir, folder)
    checkpoint("replaced", temp=temp, final=final, source=source, **info)
    if os.path.normpath(source) != os.path.normpath(final):
        await asyncio.to_thread(_remove_original, source)
        await asyncio.to_thread(fsync_dir, os.path.dirname(source) or ".")
        checkpoint("original_removed", temp=temp, final=final, source=source, **info)


def _remove_original(path: str) -> None:
    """Remove the original after its replacement is in place. Raises ``OSError`` (except when
    it is already gone)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass

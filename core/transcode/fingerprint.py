"""Content fingerprints: how the optimiser recognises a file it has already processed, whatever
it is called now, and notices a source that changed during its job.

A fingerprint is ``"v1:" + sha256(size, sampled chunks)``: files up to :data:`WHOLE_FILE_LIMIT`
bytes are hashed whole; larger ones in :data:`SAMPLES` chunks of :data:`CHUNK` bytes spread
evenly from the first byte to the last (so a 50 GB file costs 1 MiB of reads). The size is part
of the hash, so two files can only share a fingerprint when they have the same size. All of it is
blocking I/O: call :func:`fingerprint_async` from the loop.

:func:`settings_hash` names *what* was done to a file: the transcoder's platform and the
profile's settings (not the profile's name: two names for the same settings are the same work).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VERSION = "v1"
CHUNK = 64 * 1024
SAMPLES = 16
WHOLE_FILE_LIMIT = CHUNK * SAMPLES


def fingerprint(path: str) -> str:
    """The content fingerprint of ``path`` (see the module). Raises ``OSError``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        digest.update(size.to_bytes(8, "big"))
        if size <= WHOLE_FILE_LIMIT:
            while block := fh.read(CHUNK):
                digest.update(block)
        else:
            last = size - CHUNK
            for i in range(SAMPLES):
                offset = last * i // (SAMPLES - 1)
                fh.seek(offset)
                digest.update(offset.to_bytes(8, "big"))
                digest.update(fh.read(CHUNK))
    return f"{VERSION}:{digest.hexdigest()}"


async def fingerprint_async(path: str) -> str:
    """:func:`fingerprint` on a worker thread. Raises ``OSError``."""
    return await asyncio.to_thread(fingerprint, path)


def settings_hash(platform: str, settings: Mapping[str, Any]) -> str:
    """sha256 (hex) of the transcoder platform and the profile's settings, keys sorted."""
    text = json.dumps({"transcoder": platform, "settings": settings}, sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class FileState:
    """What a file looked like: ``size`` (bytes), ``mtime_ns``, ``inode``, ``device``."""

    size: int
    mtime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, path: str) -> FileState:
        """Stat ``path``. Raises ``OSError`` (``FileNotFoundError`` when it is gone)."""
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)

    def differences(self, other: FileState) -> list[str]:
        """What changed from ``self`` to ``other``, in words (empty when nothing did)."""
        out = []
        if self.size != other.size:
            out.append(f"size {self.size} → {other.size} bytes")
        if self.mtime_ns != other.mtime_ns:
            out.append("modification time")
        if (self.inode, self.device) != (other.inode, other.device):
            out.append("replaced by another file")
        return out

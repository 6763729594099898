"""Direct play: serve a media file with HTTP range semantics (RFC 9110 §14).

aiohttp's :class:`web.FileResponse` does the work (single ranges, suffix ranges ``bytes=-500``,
open ranges ``bytes=100-``, HEAD, ``Accept-Ranges``, ETag/Last-Modified, 416 with
``Content-Range: bytes */size``, sendfile). What is added here fills the gaps it leaves (checked by
``tests/test_api_stream.py``):

- ``If-Range`` with an entity tag: aiohttp only understands dates there and would send a partial
  response for a changed file; here a tag that does not match the current strong ETag means the
  whole file (200), as RFC 9110 §13.1.5 requires.
- A Range header with another unit or several ranges is ignored (200, whole file) instead of
  answered with 416 — RFC 9110 §14.2 lets a server ignore it, and players cope with a 200.
- ``bytes=-0`` (an empty suffix) is unsatisfiable (416), not the whole file as 206.
- A 416 carries a JSON ``{"error": ...}`` body like every other API error.
- Pre-compressed siblings (``movie.mkv.gz``) are never substituted for the media file.
- Content types for media containers the standard table lacks (Matroska, MPEG-TS, FLAC, EPUB,
  comic archives…).
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Iterable
from pathlib import Path

from aiohttp import hdrs, web
from multidict import CIMultiDict

from .json import error_response

#: Media types by file extension, consulted before Python's table (source: IANA registrations and
#: the de-facto ``x-`` types browsers and players send/accept for these containers).
MEDIA_TYPES_BY_EXTENSION = {
    ".mkv": "video/x-matroska",
    ".mk3d": "video/x-matroska",
    ".mka": "audio/x-matroska",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".wmv": "video/x-ms-wmv",
    ".flv": "video/x-flv",
    ".ts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".mts": "video/mp2t",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".ogv": "video/ogg",
    ".3gp": "video/3gpp",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".m4b": "audio/mp4",
    ".aac": "audio/aac",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
    ".wma": "audio/x-ms-wma",
    ".aiff": "audio/aiff",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".avif": "image/avif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".epub": "application/epub+zip",
    ".pdf": "application/pdf",
    ".mobi": "application/x-mobipocket-ebook",
    ".azw3": "application/vnd.amazon.ebook",
    ".cbz": "application/vnd.comicbook+zip",
    ".cbr": "application/vnd.comicbook-rar",
    ".cb7": "application/x-cb7",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".ass": "text/x-ssa",
}

FALLBACK_MEDIA_TYPE = "application/octet-stream"
_SUFFIX_ZERO = re.compile(r"^\s*bytes\s*=\s*-0+\s*$", re.IGNORECASE)


def media_type_for(path: str | os.PathLike[str]) -> str:
    """The ``Content-Type`` to send for a media file, from its extension."""
    suffix = Path(path).suffix.lower()
    return MEDIA_TYPES_BY_EXTENSION.get(suffix) or mimetypes.guess_type(f"x{suffix}")[0] or FALLBACK_MEDIA_TYPE


def library_roots(config_dir: Path, libraries: Iterable[dict]) -> list[Path]:
    """The real (symlink-resolved) folders of the configured libraries; relative paths are taken
    relative to the configuration folder."""
    roots = []
    for lib in libraries:
        path = Path(os.path.expanduser(str(lib["path"])))
        if not path.is_absolute():
            path = config_dir / path
        roots.append(Path(os.path.realpath(path)))
    return roots


def resolve_inside(path: str, roots: Iterable[Path]) -> Path | None:
    """Return the real path of ``path`` when it lies inside one of ``roots``, else ``None``.

    Symlinks are resolved first, so a link inside a library that points elsewhere is refused.
    Blocking (file system calls): run it in a thread."""
    real = Path(os.path.realpath(path))
    return real if any(real.is_relative_to(root) for root in roots) else None


def etag_for(st: os.stat_result) -> str:
    """The strong ETag aiohttp's FileResponse sends for a file with this stat (unquoted)."""
    return f"{st.st_mtime_ns:x}-{st.st_size:x}"


def _if_range_mismatch(if_range: str | None, st: os.stat_result) -> bool:
    """True when If-Range holds an entity tag that is not the file's current strong ETag.

    Dates are left to aiohttp; a weak tag (``W/"..."``) never matches (strong comparison)."""
    if not if_range:
        return False
    value = if_range.strip()
    if not (value.startswith('"') or value.startswith("W/")):
        return False  # an HTTP date
    return value != f'"{etag_for(st)}"'


def _ignore_range(range_header: str, if_range: str | None, st: os.stat_result) -> bool:
    unit = range_header.split("=", 1)[0].strip().lower()
    return unit != "bytes" or "," in range_header or _if_range_mismatch(if_range, st)


class MediaFileResponse(web.FileResponse):
    """:class:`web.FileResponse` that answers the request with Range/If-Range/Accept-Encoding
    adjusted as decided by :func:`stream_file`."""

    def __init__(self, path: Path, *, drop_range: bool, headers: dict[str, str]) -> None:
        super().__init__(path, headers=headers)
        self._drop_range = drop_range

    async def prepare(self, request: web.BaseRequest):  # type: ignore[override]
        headers = CIMultiDict(request.headers)
        headers.popall(hdrs.ACCEPT_ENCODING, None)
        if self._drop_range:
            headers.popall(hdrs.RANGE, None)
            headers.popall(hdrs.IF_RANGE, None)
        return await super().prepare(request.clone(headers=headers))


def _unsatisfiable(size: int, message: str) -> web.Response:
    return error_response(416, message, headers={hdrs.CONTENT_RANGE: f"bytes */{size}", hdrs.ACCEPT_RANGES: "bytes"})


def stream_file(request: web.Request, path: Path, st: os.stat_result) -> web.StreamResponse:
    """Answer ``request`` (GET or HEAD) with the file at ``path`` whose ``os.stat`` is ``st``."""
    range_header = request.headers.get(hdrs.RANGE)
    drop_range = False
    if range_header is not None:
        if _ignore_range(range_header, request.headers.get(hdrs.IF_RANGE), st):
            drop_range = True
        elif not _if_range_date_stale(request, st):
            size = st.st_size
            if _SUFFIX_ZERO.match(range_header):
                return _unsatisfiable(size, "an empty suffix range (bytes=-0) selects nothing")
            try:
                rng = request.http_range
            except ValueError as err:
                return _unsatisfiable(size, f"invalid Range header {range_header!r}: {err}")
            if rng.start is not None and rng.start >= 0 and rng.start >= size:
                return _unsatisfiable(size, f"range starts at byte {rng.start}, the file has {size} bytes")
    return MediaFileResponse(
        path, drop_range=drop_range, headers={hdrs.CONTENT_TYPE: media_type_for(path)}
    )


def _if_range_date_stale(request: web.Request, st: os.stat_result) -> bool:
    """True when If-Range holds a date older than the file (aiohttp then sends the whole file)."""
    when = request.if_range
    return when is not None and st.st_mtime > when.timestamp()

"""Direct play: serve a media file with HTTP range semantics (RFC 9110 §13, §14) and, when a
DLNA renderer asks, DLNA headers.

aiohttp's :class:`web.FileResponse` does the work for the whole file and a single range (suffix
``bytes=-500``, open ``bytes=100-``, HEAD, ``Accept-Ranges``, ETag/Last-Modified, conditional
requests, sendfile). What is added here fills the gaps it leaves (checked by
``tests/test_api_stream.py``):

- Several ranges (``bytes=0-99,200-299``) get ``206 multipart/byteranges`` (RFC 9110 §14.6): one
  part per range, in the order asked, each with its own ``Content-Type`` and ``Content-Range``,
  and an exact ``Content-Length``. Ranges that start past the end are left out (§14.1.2: the set
  is satisfiable when one of them is); when one range is left it is a plain single-range 206
  served by sendfile. More than :data:`MAX_RANGES` ranges, or ranges that overlap, get the whole
  file with 200, which §14.2 allows ("a server MAY ignore the Range header field") and which
  guards against the many-small-or-overlapping-ranges abuse §17.15 warns about.
- ``If-Range`` with an entity tag: aiohttp only understands dates there and would send a partial
  response for a changed file; here a tag that does not match the current strong ETag means the
  whole file (200), as RFC 9110 §13.1.5 requires; so does an If-Range date that cannot be read.
- A Range header with another unit is ignored (200, whole file), as §14.2 requires.
- ``bytes=-0`` (an empty suffix) is unsatisfiable (416), not the whole file as 206.
- A 416 carries a JSON ``{"error": ...}`` body like every other API error.
- Pre-compressed siblings (``movie.mkv.gz``) are never substituted for the media file.
- Content types for media containers the standard table lacks (Matroska, MPEG-TS, FLAC, EPUB,
  comic archives…).
- DLNA: a request with ``getcontentFeatures.dlna.org: 1`` gets ``contentFeatures.dlna.org``, and
  one with ``transferMode.dlna.org`` (or asking for content features) gets
  ``transferMode.dlna.org`` — see :func:`dlna_headers`.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import secrets
import time
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import hdrs, web
from multidict import CIMultiDict

from ..const import EVENT_MEDIA_MOVED, EVENT_MEDIA_REMOVED, EVENT_MEDIA_UPDATED
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
#: More ranges than this in one request get the whole file (200) instead of a multipart answer.
MAX_RANGES = 16
_CHUNK = 256 * 1024


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
    return unit != "bytes" or _if_range_mismatch(if_range, st)


_RANGE_SPEC = re.compile(r"^(\d*)-(\d*)$")


def parse_byte_ranges(header: str, size: int) -> list[tuple[int, int]]:
    """The satisfiable ranges of a ``Range: bytes=...`` header for a representation of ``size``
    bytes, as ``(first, last)`` byte positions (inclusive), in the order asked (RFC 9110
    §14.1.2: ``first-last``, ``first-``, ``-suffix``; a last position past the end is the end;
    a suffix longer than the file is the whole file; empty list elements are allowed).

    Returns ``[]`` when the header is valid but no range is satisfiable (all start at or past the
    end, or are empty suffixes ``-0``). Raises ``ValueError`` (with the reason) for a header that
    is not a valid byte ranges-specifier (another unit, ``5-2``, ``abc``…)."""
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        raise ValueError("not a bytes range")
    ranges: list[tuple[int, int]] = []
    specs = [p.strip() for p in spec.split(",")]
    if not any(specs):
        raise ValueError("no range given")
    for part in specs:
        if not part:
            continue  # "#rule" lists allow empty elements (RFC 9110 §5.6.1)
        match = _RANGE_SPEC.match(part)
        if match is None or part == "-":
            raise ValueError(f"{part!r} is not a byte range")
        first_text, last_text = match.groups()
        if not first_text:  # suffix: the last N bytes
            length = int(last_text)
            if length > 0 and size > 0:
                ranges.append((max(0, size - length), size - 1))
            continue
        first = int(first_text)
        last = int(last_text) if last_text else None
        if last is not None and last < first:
            raise ValueError(f"range {part!r} ends before it starts")
        if first < size:
            ranges.append((first, min(last if last is not None else size - 1, size - 1)))
    return ranges


def _overlapping(ranges: list[tuple[int, int]]) -> bool:
    ordered = sorted(ranges)
    return any(b[0] <= a[1] for a, b in zip(ordered, ordered[1:], strict=False))


class MediaFileResponse(web.FileResponse):
    """:class:`web.FileResponse` that answers the request with Range/If-Range/Accept-Encoding
    adjusted as decided by :func:`stream_file`: ``drop_range`` ignores them (whole file),
    ``range_header`` replaces the Range header by one already resolved single range."""

    def __init__(
        self, path: Path, *, drop_range: bool, headers: Mapping[str, str], range_header: str | None = None
    ) -> None:
        super().__init__(path, headers=headers)
        self._drop_range = drop_range
        self._range_header = range_header

    async def prepare(self, request: web.BaseRequest):  # type: ignore[override]
        headers = CIMultiDict(request.headers)
        headers.popall(hdrs.ACCEPT_ENCODING, None)
        if self._drop_range:
            headers.popall(hdrs.RANGE, None)
            headers.popall(hdrs.IF_RANGE, None)
        elif self._range_header is not None:
            headers[hdrs.RANGE] = self._range_header
        return await super().prepare(request.clone(headers=headers))


def _etag_matches(tags: tuple[Any, ...], current: str, *, weak: bool) -> bool:
    """RFC 9110 §8.8.3.2: ``*`` matches; strong comparison ignores weak tags."""
    if len(tags) == 1 and tags[0].value == "*":
        return True
    return any(t.value == current for t in tags if weak or not t.is_weak)


class MultipartRangeResponse(web.StreamResponse):
    """``206 multipart/byteranges`` (RFC 9110 §14.6) for several byte ranges of one file.

    Body: for each range ``--BOUNDARY CRLF Content-Type CRLF Content-Range CRLF CRLF <bytes>``,
    parts separated by ``CRLF``, then ``CRLF --BOUNDARY-- CRLF``; ``Content-Length`` is exact.
    Preconditions (If-Match, If-Unmodified-Since → 412; If-None-Match, If-Modified-Since → 304)
    are evaluated first, as for a single range (RFC 9110 §13.2.2). The file is read in a thread,
    256 KiB at a time."""

    def __init__(
        self, path: Path, st: os.stat_result, ranges: list[tuple[int, int]], media_type: str,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(status=206, headers={k: v for k, v in headers.items() if k.lower() != "content-type"})
        self._path = path
        self._st = st
        self._ranges = ranges
        self._media_type = media_type
        self.boundary = secrets.token_hex(16)

    def _parts(self) -> tuple[list[bytes], bytes]:
        size = self._st.st_size
        heads = []
        for i, (first, last) in enumerate(self._ranges):
            head = (
                f"{chr(13) + chr(10) if i else ''}--{self.boundary}\r\n"
                f"Content-Type: {self._media_type}\r\n"
                f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n"
            )
            heads.append(head.encode("ascii"))
        return heads, f"\r\n--{self.boundary}--\r\n".encode("ascii")

    def _precondition(self, request: web.BaseRequest) -> int | None:
        etag, mtime = etag_for(self._st), self._st.st_mtime
        if (tags := request.if_match) is not None:
            if not _etag_matches(tags, etag, weak=False):
                return 412
        elif (since := request.if_unmodified_since) is not None and mtime > since.timestamp():
            return 412
        if (tags := request.if_none_match) is not None:
            if _etag_matches(tags, etag, weak=True):
                return 304
        elif (since := request.if_modified_since) is not None and mtime <= since.timestamp():
            return 304
        return None

    async def prepare(self, request: web.BaseRequest):  # type: ignore[override]
        self.etag = etag_for(self._st)
        self.last_modified = self._st.st_mtime
        self.headers[hdrs.ACCEPT_RANGES] = "bytes"
        failed = self._precondition(request)
        if failed is not None:
            self.set_status(failed)
            self.headers.popall(hdrs.CONTENT_RANGE, None)
            if failed == 412:
                self.content_length = 0
            return await super().prepare(request)
        heads, tail = self._parts()
        self.content_type = f"multipart/byteranges; boundary={self.boundary}"
        self.content_length = sum(len(h) for h in heads) + len(tail) + sum(
            last - first + 1 for first, last in self._ranges
        )
        fobj = await asyncio.to_thread(open, self._path, "rb")
        try:
            writer = await super().prepare(request)
            if request.method == hdrs.METH_HEAD:
                return writer
            for head, (first, last) in zip(heads, self._ranges, strict=True):
                await self.write(head)
                offset, remaining = first, last - first + 1
                while remaining > 0:
                    chunk = await asyncio.to_thread(_pread, fobj, offset, min(_CHUNK, remaining))
                    if not chunk:
                        raise ConnectionResetError(f"{self._path} shrank while it was being served")
                    await self.write(chunk)
                    offset += len(chunk)
                    remaining -= len(chunk)
            await self.write(tail)
            await self.write_eof()
            return writer
        finally:
            await asyncio.to_thread(fobj.close)


def _pread(fobj: Any, offset: int, count: int) -> bytes:
    return os.pread(fobj.fileno(), count, offset)


def _unsatisfiable(size: int, message: str) -> web.Response:
    return error_response(416, message, headers={hdrs.CONTENT_RANGE: f"bytes */{size}", hdrs.ACCEPT_RANGES: "bytes"})


# -- DLNA ----------------------------------------------------------------------------------------
# Source: DLNA Networked Device Interoperability Guidelines (2006/2014) §7.4.1.3 (the fourth
# protocolInfo field: DLNA.ORG_PN, DLNA.ORG_OP, DLNA.ORG_CI, DLNA.ORG_FLAGS) and §7.4.26/§7.4.49
# (getcontentFeatures.dlna.org / transferMode.dlna.org HTTP headers), as DLNA servers (MiniDLNA,
# Gerbera, Jellyfin) send them and TV renderers expect them.

#: DLNA.ORG_FLAGS primary-flag bits (the first 8 of the 32 hex digits; the other 24 are reserved 0).
DLNA_FLAG_SENDER_PACED = 1 << 31
DLNA_FLAG_TIME_BASED_SEEK = 1 << 30  # limited operations, time range
DLNA_FLAG_BYTE_BASED_SEEK = 1 << 29  # limited operations, byte range
DLNA_FLAG_PLAY_CONTAINER = 1 << 28
DLNA_FLAG_S0_INCREASING = 1 << 27  # content still growing at its start (live)
DLNA_FLAG_SN_INCREASING = 1 << 26  # content still growing at its end (being written)
DLNA_FLAG_STREAMING = 1 << 24  # transfer mode Streaming supported (audio/video)
DLNA_FLAG_INTERACTIVE = 1 << 23  # transfer mode Interactive supported (images)
DLNA_FLAG_BACKGROUND = 1 << 22  # transfer mode Background supported
DLNA_FLAG_CONNECTION_STALL = 1 << 21  # the server tolerates a paused, stalled TCP connection
DLNA_FLAG_DLNA_V15 = 1 << 20

_TRANSFER_MODES = {"streaming": "Streaming", "interactive": "Interactive", "background": "Background"}


def dlna_content_features(
    profile_name: str | None = None,
    *,
    kind: str = "av",
    byte_seek: bool = True,
    time_seek: bool = False,
    transcoded: bool = False,
) -> str:
    """The ``contentFeatures.dlna.org`` value (also the fourth protocolInfo field of a DIDL
    ``res``): ``DLNA.ORG_PN=<profile>;DLNA.ORG_OP=<time><byte>;DLNA.ORG_CI=<0|1>;DLNA.ORG_FLAGS=<32 hex>``.

    ``profile_name``: the DLNA media format profile (``MP3``, ``JPEG_LRG``…), left out when
    ``None``. ``kind``: ``av`` (Streaming transfer mode) or ``image`` (Interactive). A file on
    disk served with ranges is ``byte_seek=True`` (OP=01); a live transcode without ranges sets
    ``byte_seek=False`` (and ``time_seek`` if it restarts at a time) and ``transcoded=True`` (CI=1).
    """
    flags = DLNA_FLAG_BACKGROUND | DLNA_FLAG_CONNECTION_STALL | DLNA_FLAG_DLNA_V15
    flags |= DLNA_FLAG_INTERACTIVE if kind == "image" else DLNA_FLAG_STREAMING
    fields = [f"DLNA.ORG_PN={profile_name}"] if profile_name else []
    fields += [
        f"DLNA.ORG_OP={int(time_seek)}{int(byte_seek)}",
        f"DLNA.ORG_CI={int(transcoded)}",
        f"DLNA.ORG_FLAGS={flags:08x}{'0' * 24}",
    ]
    return ";".join(fields)


def dlna_profile_name(media_type: str, item: Mapping[str, Any] | None) -> str | None:
    """The DLNA media format profile (``DLNA.ORG_PN``) of a file, when the library's facts settle
    it; ``None`` otherwise.

    Known: ``MP3`` (MPEG-1 Layer 3 audio file), ``AAC_ISO_320`` / ``AAC_ISO`` (AAC in an MP4
    audio file, up to / above 320 kbit/s), ``JPEG_SM`` / ``JPEG_MED`` / ``JPEG_LRG`` (up to
    640x480 / 1024x768 / 4096x4096), ``PNG_LRG``. Video profiles (``AVC_MP4_*``, ``AVC_TS_*``)
    also depend on the H.264 profile and level, frame rate and audio profile, which the library
    does not keep; a wrong PN makes strict renderers refuse a file they would play, so none is
    claimed for video (DLNA allows the PN to be absent)."""
    item = item or {}
    width, height = item.get("width"), item.get("height")
    if media_type == "audio/mpeg":
        return "MP3"
    if media_type == "audio/mp4" and (item.get("audio_codec") or "aac") == "aac" and not item.get("video_codec"):
        bitrate = item.get("bitrate")
        return "AAC_ISO_320" if not bitrate or bitrate <= 320_000 else "AAC_ISO"
    if media_type in ("image/jpeg", "image/png") and isinstance(width, int) and isinstance(height, int):
        if media_type == "image/png":
            return "PNG_LRG" if width <= 4096 and height <= 4096 else None
        for name, (max_w, max_h) in (("JPEG_SM", (640, 480)), ("JPEG_MED", (1024, 768)), ("JPEG_LRG", (4096, 4096))):
            if width <= max_w and height <= max_h:
                return name
    return None


def dlna_headers(request: web.BaseRequest, media_type: str, item: Mapping[str, Any] | None = None) -> dict[str, str]:
    """DLNA response headers for a direct-play request, only when the client asked:

    - ``getcontentFeatures.dlna.org: 1`` → ``contentFeatures.dlna.org`` (see
      :func:`dlna_content_features`: byte seek supported, not transcoded, the PN when known);
    - ``transferMode.dlna.org: Streaming|Interactive|Background`` → the same mode echoed; when
      only content features were asked, ``Streaming`` for audio/video and ``Interactive`` for
      images.

    Plain HTTP clients (browsers) get no DLNA header."""
    out: dict[str, str] = {}
    kind = "image" if media_type.startswith("image/") else "av"
    wants_features = request.headers.get("getcontentFeatures.dlna.org", "").strip() == "1"
    mode = _TRANSFER_MODES.get(request.headers.get("transferMode.dlna.org", "").strip().lower())
    if wants_features:
        out["contentFeatures.dlna.org"] = dlna_content_features(dlna_profile_name(media_type, item), kind=kind)
    if mode or wants_features:
        out["transferMode.dlna.org"] = mode or ("Interactive" if kind == "image" else "Streaming")
    return out


class StreamItemCache:
    """Media item rows for direct play, by id: ``await cache.get(id)`` is the library's
    :meth:`get_item` without a database round trip for an item served in the last ``ttl``
    seconds. A player seeking around sends a request per range, and the query cost more than
    sending a megabyte (``scripts/bench/bench_direct_play.py``).

    An entry is dropped when the library fires ``media_updated``, ``media_removed`` or
    ``media_moved`` for the item, and expires after ``ttl`` seconds (changes made behind the
    library's back); unknown ids are never cached. The file itself is still resolved inside the
    configured libraries and stat-ed on every request, so a cached row never serves a file from
    elsewhere nor a stale size."""

    def __init__(self, hub: Any, ttl: float = 10.0, max_items: int = 1024) -> None:
        self.hub = hub
        self.ttl = ttl
        self.max_items = max_items
        self._items: dict[int, tuple[float, dict[str, Any]]] = {}
        for event in (EVENT_MEDIA_UPDATED, EVENT_MEDIA_REMOVED, EVENT_MEDIA_MOVED):
            hub.bus.listen(event, self._forget)

    def _forget(self, event: Any) -> None:
        item = (event.data or {}).get("item") or {}
        self._items.pop(item.get("id"), None)

    async def get(self, item_id: int) -> dict[str, Any] | None:
        now = time.monotonic()
        cached = self._items.get(item_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        item = await self.hub.library.get_item(item_id)
        if item is None:
            self._items.pop(item_id, None)
            return None
        if len(self._items) >= self.max_items:
            self._items.pop(next(iter(self._items)))  # the oldest entry
        self._items[item_id] = (now, item)
        return item


_ITEM_CACHES: weakref.WeakKeyDictionary[Any, StreamItemCache] = weakref.WeakKeyDictionary()


def stream_items(hub: Any) -> StreamItemCache:
    """The hub's :class:`StreamItemCache` (made on first use)."""
    cache = _ITEM_CACHES.get(hub)
    if cache is None:
        cache = _ITEM_CACHES[hub] = StreamItemCache(hub)
    return cache


def stream_file(
    request: web.Request, path: Path, st: os.stat_result, *, item: Mapping[str, Any] | None = None
) -> web.StreamResponse:
    """Answer ``request`` (GET or HEAD) with the file at ``path`` whose ``os.stat`` is ``st``.

    ``item``: the library's row for the file (container, codecs, size in pixels, bitrate), used
    for the DLNA profile name when a renderer asks for content features."""
    media_type = media_type_for(path)
    headers = {hdrs.CONTENT_TYPE: media_type, **dlna_headers(request, media_type, item)}
    range_header = request.headers.get(hdrs.RANGE)
    if range_header is None:
        return MediaFileResponse(path, drop_range=False, headers=headers)
    if _ignore_range(range_header, request.headers.get(hdrs.IF_RANGE), st) or _if_range_date_stale(request, st):
        return MediaFileResponse(path, drop_range=True, headers=headers)
    size = st.st_size
    try:
        ranges = parse_byte_ranges(range_header, size)
    except ValueError as err:
        return _unsatisfiable(size, f"invalid Range header {range_header!r}: {err}")
    if not ranges:
        return _unsatisfiable(size, f"no range of {range_header!r} lies inside the file ({size} bytes)")
    if len(ranges) == 1:
        first, last = ranges[0]
        return MediaFileResponse(path, drop_range=False, headers=headers, range_header=f"bytes={first}-{last}")
    if len(ranges) > MAX_RANGES or _overlapping(ranges):
        return MediaFileResponse(path, drop_range=True, headers=headers)
    return MultipartRangeResponse(path, st, ranges, media_type, headers)


def _if_range_date_stale(request: web.Request, st: os.stat_result) -> bool:
    """True when If-Range holds a date older than the file (the whole file is sent then)."""
    if_range = request.headers.get(hdrs.IF_RANGE, "").strip()
    if not if_range or if_range.startswith('"') or if_range.startswith("W/"):
        return False
    when = request.if_range
    return when is None or st.st_mtime > when.timestamp()

"""One IPTV "device": an M3U playlist of channels and the streams behind it.

An :class:`IptvTuner` is built from one ``platform: iptv`` config entry (see the plugin's
``__init__`` for the keys). It has no hardware tuners: ``tuner_count`` is the number of streams
the provider allows at once (``max_streams``, default 1 — most IPTV subscriptions are sold per
connection, and going over the limit gets the other stream cut or the account flagged), and the
tuner keeps its own count of open streams: one more raises
:class:`~omnimedia.core.dvr.types.TunerBusy`.

The lineup is the playlist parsed by :mod:`.m3u`, read from a file (relative to the config
folder) or fetched over HTTP(S), cached for ``refresh`` hours and reloaded on the next
:meth:`IptvTuner.lineup` call after that. A reload that fails keeps the last good lineup (the
error is in :meth:`IptvTuner.status`); with none, ``lineup()`` raises ``TunerUnavailable`` with
the cause, and is retried at most every :data:`RETRY_AFTER_FAILURE` seconds.

Streams (:class:`IptvStream`, MPEG-TS bytes): an HTTP(S) GET of the channel's URL with its
headers (the entry's ``headers`` and ``user_agent``, then the channel's own ``#EXTVLCOPT`` /
``#EXTHTTP`` / ``|Header=`` ones, which win), following redirects. What comes back decides the
path:

- MPEG-TS (sync byte 0x47 every 188 bytes) is passed through as received;
- an HLS playlist (``Content-Type`` ``application/vnd.apple.mpegurl`` / ``…x-mpegurl``, or a
  body starting with ``#EXTM3U``) is read by ffmpeg, which fetches the segments with the same
  headers (``-user_agent``, ``-referer``, ``-headers``) and writes MPEG-TS to a pipe
  (``-c copy -f mpegts``, no transcoding): a master playlist gives ffmpeg's default choice (the
  highest-resolution video and one audio track), a media playlist every video and audio track;
- anything else that is not an HTML page (MPEG audio for radio, FLV, Matroska …) is remuxed to
  MPEG-TS by ffmpeg the same way;
- URLs that are not HTTP(S) (``rtmp://``, ``rtsp://``, ``udp://``, ``rtp://`` …) go to ffmpeg
  directly.

Errors (all name the device and the channel): no such number in the lineup →
:class:`~omnimedia.core.dvr.types.UnknownChannel`; ``max_streams`` reached, or the provider
answers HTTP 429 / 458 / 509 (its own connection limit) → ``TunerBusy``; a connection error,
a timeout, any other HTTP error — **including 404/410**: the channel is in the playlist, so a
missing stream is the provider's outage (often temporary) rather than a channel the device does
not carry, and the recorder keeps retrying a ``TunerUnavailable`` until the end time —, an HTML
page instead of media, ffmpeg failing or missing → ``TunerUnavailable``. Messages show URLs
without their query string and user info (IPTV URLs often carry the account's password).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import os
import re
import time
import unicodedata
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from omnimedia.core import __version__
from omnimedia.core.dvr.types import LineupChannel, TunerBusy, TunerStream, TunerUnavailable, UnknownChannel
from omnimedia.core.ffmpeg import FfmpegCancelled, FfmpegError, FfmpegNotFound, FfmpegProcess
from omnimedia.core.plugins.kinds import Tuner

from . import m3u

if TYPE_CHECKING:
    from omnimedia.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

PLATFORM = "iptv"
DEFAULT_MAX_STREAMS = 1
#: hours between playlist reloads
DEFAULT_REFRESH = 24.0
#: seconds: connect, each read, and the first bytes of a stream
DEFAULT_TIMEOUT = 15.0
DEFAULT_USER_AGENT = f"Omni-Media/{__version__}"
#: seconds before a playlist that failed to load is tried again
RETRY_AFTER_FAILURE = 60.0
#: a playlist larger than this (bytes) is refused
MAX_PLAYLIST_BYTES = 64 * 1024 * 1024
#: largest chunk a stream yields (bytes)
CHUNK = 64 * 1024
#: bytes of a stream looked at to tell MPEG-TS from the rest
_SNIFF = 188 * 4
#: an HLS playlist read before handing it to ffmpeg is at most this long (bytes)
_MAX_HLS_HEAD = 256 * 1024
_HLS_TYPES = {
    "application/vnd.apple.mpegurl", "application/x-mpegurl", "application/mpegurl",
    "audio/mpegurl", "audio/x-mpegurl",
}
#: provider answers that mean "too many connections on this account"
_BUSY_STATUSES = {429: "Too Many Requests", 458: "connection limit", 509: "Bandwidth Limit Exceeded"}


def slugify(text: str) -> str:
    """``"Mon IPTV (FR)"`` → ``"mon-iptv-fr"``: ASCII letters and digits joined by ``-``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "playlist"


def is_url(source: str) -> bool:
    return source.strip().lower().startswith(("http://", "https://"))


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment (IPTV URLs carry passwords there)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an invalid URL)"
    if not parts.scheme or not parts.hostname:
        return url.split("?", 1)[0]
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{parts.path}{query}"


def default_name(playlist: str) -> str:
    """A device name for an entry without ``name``: the playlist's host, or its file stem."""
    if is_url(playlist):
        return urlsplit(playlist.strip()).hostname or "IPTV"
    return Path(playlist).stem or "IPTV"


def looks_like_ts(data: bytes) -> bool:
    """MPEG-TS: the sync byte 0x47 at some offset and every 188 bytes after it (ISO/IEC
    13818-1, 2.4.3.2), checked over what ``data`` holds (at least one packet's worth)."""
    if len(data) < 188:
        return bool(data) and data[0] == 0x47
    for start in range(188):
        if data[start] != 0x47:
            continue
        if all(data[i] == 0x47 for i in range(start, len(data), 188)):
            return True
    return False


def _is_hls(content_type: str, head: bytes) -> bool:
    if content_type in _HLS_TYPES:
        return True
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U")


class IptvTuner(Tuner):
    """One playlist entry as a tuner device: ``device_id`` ``"iptv-<name slug>"``,
    ``tuner_count`` = ``max_streams``. ``entry`` is the validated config entry (see
    ``CONFIG_SCHEMA`` in the plugin package); ``hub.config.config_dir`` resolves a relative
    playlist path."""

    platform = PLATFORM
    manufacturer = "IPTV"
    model = "M3U playlist"
    sw_version = __version__

    def __init__(self, hub: Hub | Any, entry: Mapping[str, Any]) -> None:
        super().__init__(hub, entry)
        self.source: str = str(entry["playlist"]).strip()
        self.name = entry.get("name") or default_name(self.source)
        self.device_id = entry.get("device_id") or f"iptv-{slugify(self.name)}"
        self.tuner_count = int(entry.get("max_streams", DEFAULT_MAX_STREAMS))
        self.channel_start = int(entry.get("channel_start", 1))
        self.refresh = float(entry.get("refresh", DEFAULT_REFRESH))
        self.timeout = float(entry.get("timeout", DEFAULT_TIMEOUT))
        self.headers: dict[str, str] = {m3u.canonical_header(str(k)): str(v) for k, v in (entry.get("headers") or {}).items()}
        #: the entry's ``user_agent``, else a User-Agent in its ``headers``, else ours
        self.user_agent: str = entry.get("user_agent") or self.headers.pop("User-Agent", None) or DEFAULT_USER_AGENT
        self.include_groups = {g.casefold() for g in entry.get("include_groups") or []}
        self.exclude_groups = {g.casefold() for g in entry.get("exclude_groups") or []}
        config = getattr(hub, "config", None)
        self.config_dir: Path | None = getattr(config, "config_dir", None)
        #: the last parse of the playlist (``None`` before the first good load)
        self.playlist: m3u.Playlist | None = None
        #: UTC epoch seconds of the last good load
        self.loaded_at: float | None = None
        #: why the last load failed (``None`` after a good one)
        self.error: str | None = None
        self._channels: dict[str, LineupChannel] = {}
        self._order: list[LineupChannel] | None = None
        self._loaded_mono: float | None = None
        self._failed_mono: float | None = None
        self._load_lock = asyncio.Lock()
        self._streams: list[IptvStream] = []
        self._client: httpx.AsyncClient | None = None

    # -- where the playlist is ----------------------------------------------------------------
    @property
    def source_label(self) -> str:
        """The playlist as shown in messages (a URL without its query, or the file path)."""
        return display_url(self.source) if is_url(self.source) else str(self._path())

    def _path(self) -> Path:
        path = Path(self.source).expanduser()
        if not path.is_absolute() and self.config_dir is not None:
            path = Path(self.config_dir) / path
        return path

    @property
    def guide_urls(self) -> list[str]:
        """XMLTV URLs the playlist's header names (``url-tvg``/``x-tvg-url``), as a hint."""
        return list(self.playlist.guide_urls) if self.playlist else []

    def client(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(
                follow_redirects=True, timeout=httpx.Timeout(self.timeout), headers={"User-Agent": self.user_agent},
            )
        return self._client

    # -- lineup ------------------------------------------------------------------------------
    async def lineup(self) -> list[LineupChannel]:
        """The playlist's channels (after ``include_groups``/``exclude_groups``), loading or
        reloading the playlist when needed. Raises ``TunerUnavailable`` when it cannot be
        loaded and no earlier lineup is kept."""
        await self._ensure_loaded()
        return list(self._order or [])

    async def reload(self) -> list[LineupChannel]:
        """Load the playlist now, whatever its age. Raises ``TunerUnavailable`` when that fails
        (the earlier lineup stays in use)."""
        await self._ensure_loaded(force=True)
        return list(self._order or [])

    async def _ensure_loaded(self, force: bool = False) -> None:
        async with self._load_lock:
            now = time.monotonic()
            if not force and self._order is not None and (
                self.refresh <= 0 or now - (self._loaded_mono or 0) < self.refresh * 3600
            ):
                return
            if not force and self._failed_mono is not None and now - self._failed_mono < RETRY_AFTER_FAILURE:
                if self._order is not None:
                    return
                raise TunerUnavailable(self.error or f"{self.name}: the playlist could not be loaded", device_id=self.device_id)
            try:
                playlist = await self._load()
                channels = self._filter(playlist)
            except TunerUnavailable as err:
                self.error = str(err)
                self._failed_mono = time.monotonic()
                if self._order is not None and not force:
                    _LOGGER.warning("%s; keeping the %d channels loaded before", err, len(self._order))
                    return
                _LOGGER.warning("%s", err)
                raise
            self.playlist = playlist
            self._order = channels
            self._channels = {c.number: c for c in channels}
            self.loaded_at = time.time()
            self._loaded_mono = time.monotonic()
            self._failed_mono = None
            self.error = None
            _LOGGER.info("iptv %s: %s", self.name, playlist.summary())
            for message in playlist.errors[:10] + playlist.warnings[:10]:
                _LOGGER.warning("iptv %s: %s: %s", self.name, playlist.source, message)

    def _filter(self, playlist: m3u.Playlist) -> list[LineupChannel]:
        channels = playlist.channels
        if self.include_groups:
            channels = [c for c in channels if (c.group or "").casefold() in self.include_groups]
        if self.exclude_groups:
            channels = [c for c in channels if (c.group or "").casefold() not in self.exclude_groups]
        if not channels:
            if playlist.channels:
                why = f"all {len(playlist.channels)} channels are left out by include_groups/exclude_groups"
            elif playlist.errors:
                why = f"no usable entry ({playlist.summary()}; first error: {playlist.errors[0]})"
            else:
                why = "it has no entries"
            raise TunerUnavailable(f"{self.name}: playlist {self.source_label} gives no channels: {why}", device_id=self.device_id)
        return channels

    async def _load(self) -> m3u.Playlist:
        label = self.source_label
        what = f"{self.name}: playlist {label}"
        if is_url(self.source):
            data = await self._fetch(self.source, what)
            source_name = display_url(self.source)
        else:
            path = self._path()
            try:
                size = await asyncio.to_thread(lambda: path.stat().st_size)
                if size > MAX_PLAYLIST_BYTES:
                    raise TunerUnavailable(f"{what} is {size} bytes, more than {MAX_PLAYLIST_BYTES}", device_id=self.device_id)
                data = await asyncio.to_thread(path.read_bytes)
            except FileNotFoundError:
                raise TunerUnavailable(f"{what}: file not found", device_id=self.device_id) from None
            except OSError as err:
                raise TunerUnavailable(f"{what}: cannot read it: {err.strerror or err}", device_id=self.device_id) from None
            source_name = path.name
        if data[:2] == b"\x1f\x8b":
            try:
                data = await asyncio.to_thread(gzip.decompress, data)
            except (OSError, EOFError) as err:
                raise TunerUnavailable(f"{what}: broken gzip data: {err}", device_id=self.device_id) from None
        try:
            return await asyncio.to_thread(m3u.parse, data, source=source_name, channel_start=self.channel_start)
        except m3u.M3UError as err:
            raise TunerUnavailable(f"{self.name}: {err}", device_id=self.device_id) from None

    async def _fetch(self, url: str, what: str) -> bytes:
        headers = {**self.headers, "User-Agent": self.user_agent}
        try:
            async with self.client().stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    raise TunerUnavailable(
                        f"{what} answered HTTP {response.status_code} {response.reason_phrase}".rstrip(),
                        device_id=self.device_id,
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_PLAYLIST_BYTES:
                        raise TunerUnavailable(f"{what} is larger than {MAX_PLAYLIST_BYTES} bytes", device_id=self.device_id)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TimeoutException:
            raise TunerUnavailable(f"{what}: no answer within {self.timeout:g} s", device_id=self.device_id) from None
        except httpx.HTTPError as err:
            raise TunerUnavailable(f"{what}: cannot fetch it: {_describe(err)}", device_id=self.device_id) from None

    # -- streams -----------------------------------------------------------------------------
    async def open_stream(self, channel: str, *, duration: float | None = None) -> IptvStream:
        """Open ``channel`` (a lineup number); ``duration`` seconds ends the stream by itself.
        Returns once the first bytes have arrived. Raises ``UnknownChannel``, ``TunerBusy``,
        ``TunerUnavailable`` (see the module docstring). The playlist is loaded first only when
        no lineup is loaded yet: a stale one is refreshed by :meth:`lineup`, never in the way of
        a recording's start."""
        if self._order is None:
            await self._ensure_loaded()
        number = str(channel)
        found = self._channels.get(number)
        if found is None:
            known = ", ".join(list(self._channels)[:20]) + (" …" if len(self._channels) > 20 else "")
            raise UnknownChannel(f"{self.name} ({self.device_id}) has no channel {number}; its channels: {known}", device_id=self.device_id)
        if len(self._streams) >= self.tuner_count:
            using = ", ".join(f"{s.channel.number} ({s.channel.name})" for s in self._streams)
            raise TunerBusy(
                f"{self.name}: all {self.tuner_count} stream{'s' if self.tuner_count != 1 else ''} allowed "
                f"(max_streams) are in use: {using}",
                device_id=self.device_id,
            )
        used = {s.tuner_index for s in self._streams}
        stream = IptvStream(self, found, duration=duration, index=min(i for i in range(self.tuner_count + 1) if i not in used))
        self._streams.append(stream)  # reserved before the first await: no race past max_streams
        try:
            await stream.open()
        except BaseException:
            await stream.close()
            raise
        return stream

    def _release(self, stream: IptvStream) -> None:
        with contextlib.suppress(ValueError):
            self._streams.remove(stream)

    def stream_headers(self, channel: LineupChannel) -> dict[str, str]:
        """The request headers for ``channel``: the entry's ``headers`` and ``user_agent``, then
        the channel's own headers, user agent and referrer (those win)."""
        headers = {**self.headers, "User-Agent": self.user_agent}
        headers.update(channel.extra.get("headers") or {})
        if channel.extra.get("user_agent"):
            headers["User-Agent"] = channel.extra["user_agent"]
        if channel.extra.get("referrer"):
            headers["Referer"] = channel.extra["referrer"]
        return headers

    async def tuner_status(self) -> list[dict[str, Any]]:
        """One dict per allowed stream: ``resource`` ("stream0" …), and for those in use
        ``channel``, ``name``, ``mode`` ("direct" or "ffmpeg"), ``bitrate`` (bits per second
        since the stream opened), ``bytes``, ``started_at`` (UTC epoch)."""
        out: list[dict[str, Any]] = []
        by_index = {s.tuner_index: s for s in self._streams}
        for i in range(self.tuner_count):
            item: dict[str, Any] = {"resource": f"stream{i}"}
            s = by_index.get(i)
            if s is not None:
                elapsed = max(time.time() - s.started_at, 1e-3)
                item.update(channel=s.channel.number, name=s.channel.name, mode=s.mode,
                            bitrate=int(s.bytes * 8 / elapsed), bytes=s.bytes, started_at=s.started_at)
            out.append(item)
        return out

    def status(self) -> dict[str, Any]:
        """The playlist's state for a status page: ``playlist`` (as shown in messages),
        ``loaded_at`` (UTC epoch or ``None``), ``channels``, ``error`` (the last failed load, or
        ``None``), ``guide_urls``, ``parse`` (:meth:`m3u.Playlist.as_dict` of the last load)."""
        return {
            "playlist": self.source_label, "loaded_at": self.loaded_at, "channels": len(self._order or []),
            "error": self.error, "guide_urls": self.guide_urls,
            "parse": self.playlist.as_dict() if self.playlist else None,
        }

    async def close(self) -> None:
        for stream in list(self._streams):
            await stream.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"]+")
_HTTP_FAILURE = re.compile(r"(HTTP error \d{3}[^\r\n]*|Server returned \d{3}[^\r\n]*)")


def ffmpeg_reason(err: FfmpegError) -> str:
    """Why ffmpeg failed, for a message: ffmpeg's telling line, preceded by the HTTP failure it
    reported when there was one (the HLS demuxer logs "HTTP error 404 Not Found" for a segment,
    then fails with the less telling "Invalid data found when processing input"); URLs in it
    are shown without query or user info."""
    text = err.message
    http = next((m.group(1).strip() for line in reversed(err.stderr_tail) if (m := _HTTP_FAILURE.search(line))), None)
    if http and http not in text:
        text = f"{http}; {text}"
    def redact(m: re.Match[str]) -> str:
        url = m.group(0).rstrip(":,.")
        return display_url(url) + m.group(0)[len(url):]

    return _URL_IN_TEXT.sub(redact, text)


def _describe(err: BaseException) -> str:
    """What went wrong, in words: the innermost OS error's text when there is one
    ("Connection refused", "Name or service not known"), else the error's own message."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            # asyncio puts "Connect call failed (…)" in strerror; the errno says it plainly
            return os.strerror(cause.errno) if isinstance(cause.errno, int) and cause.errno > 0 else cause.strerror
        cause = cause.__cause__ or cause.__context__
    text = str(err).strip()
    return text or type(err).__name__


class IptvStream(TunerStream):
    """One open channel of an :class:`IptvTuner`: MPEG-TS chunks of at most :data:`CHUNK`
    bytes. ``mode``: ``"direct"`` (the provider's MPEG-TS as received) or ``"ffmpeg"`` (HLS or
    another container remuxed by ffmpeg); ``bytes`` yielded so far; ``started_at`` (UTC epoch)."""

    def __init__(self, tuner: IptvTuner, channel: LineupChannel, *, duration: float | None, index: int) -> None:
        self.tuner = tuner
        self.channel = channel
        self.duration = duration
        self.tuner_index = index
        self.started_at = time.time()
        self.bytes = 0
        self.mode = "direct"
        self.label = f"{tuner.name}: channel {channel.number} ({channel.name})"
        self._deadline = asyncio.get_running_loop().time() + duration if duration else None
        self._response: httpx.Response | None = None
        self._body: AsyncIterator[bytes] | None = None
        self._proc: FfmpegProcess | None = None
        self._first = b""
        self._closed = False
        self._iterating = False

    def _error(self, message: str) -> TunerUnavailable:
        return TunerUnavailable(f"{self.label}: {message}", device_id=self.tuner.device_id)

    # -- opening -----------------------------------------------------------------------------
    async def open(self) -> None:
        url = self.channel.url or ""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            if not scheme:
                raise self._error("the playlist gives no stream URL")
            await self._start_ffmpeg(url, master=True)
            return
        headers = self.tuner.stream_headers(self.channel)
        client = self.tuner.client()
        host = display_url(url)
        try:
            response = await client.send(client.build_request("GET", url, headers=headers), stream=True)
        except httpx.TimeoutException:
            raise self._error(f"no answer from {host} within {self.tuner.timeout:g} s") from None
        except httpx.HTTPError as err:
            raise self._error(f"cannot connect to {host}: {_describe(err)}") from None
        self._response = response
        status = response.status_code
        if status >= 400:
            reason = response.reason_phrase or _BUSY_STATUSES.get(status, "")
            where = display_url(str(response.url))
            if status in _BUSY_STATUSES:
                raise TunerBusy(
                    f"{self.label}: the provider refused another connection (HTTP {status} {reason}) at {where}: "
                    "the account's connection limit is reached, perhaps by another player",
                    device_id=self.tuner.device_id,
                )
            if status in (404, 410):
                raise self._error(f"the stream URL answered HTTP {status} {reason} ({where}): the provider is not serving "
                                  "this channel now, or moved it (reload the playlist)")
            if status in (401, 403):
                raise self._error(f"the provider refused access (HTTP {status} {reason}) at {where}: check the account, "
                                  "or the user agent / referrer it wants")
            raise self._error(f"{where} answered HTTP {status} {reason}".rstrip())
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "text/html":
            raise self._error(f"{display_url(str(response.url))} sent an HTML page, not a stream")
        self._body = response.aiter_bytes()
        head = await self._read_head(hls_hint=content_type in _HLS_TYPES)
        final_url = str(response.url)
        if _is_hls(content_type, head):
            await self._drop_response()
            await self._start_ffmpeg(final_url, master=b"#EXT-X-STREAM-INF" in head, headers=headers)
        elif not head:
            raise self._error(f"{display_url(final_url)} ended the stream before sending any data")
        elif looks_like_ts(head):
            self._first = head
        else:
            await self._drop_response()
            await self._start_ffmpeg(final_url, master=True, headers=headers)

    async def _read_head(self, hls_hint: bool) -> bytes:
        assert self._body is not None
        buf = bytearray()
        try:
            async with asyncio.timeout(self.tuner.timeout):
                while len(buf) < _SNIFF or (_is_hls("", bytes(buf)) or hls_hint) and len(buf) < _MAX_HLS_HEAD:
                    try:
                        chunk = await anext(self._body)
                    except StopAsyncIteration:
                        break
                    buf += chunk
        except TimeoutError:
            if not buf:
                raise self._error(f"no data within {self.tuner.timeout:g} s") from None
        except httpx.HTTPError as err:
            raise self._error(f"the stream broke off at once: {_describe(err)}") from None
        return bytes(buf)

    async def _drop_response(self) -> None:
        if self._response is not None:
            await self._response.aclose()
        self._response = None
        self._body = None

    def ffmpeg_args(self, url: str, *, master: bool, headers: Mapping[str, str] | None = None) -> list[str]:
        """The ffmpeg arguments that read ``url`` and write MPEG-TS to stdout, stream copy."""
        args = ["-loglevel", "warning"]
        if urlsplit(url).scheme.lower() in ("http", "https"):
            headers = dict(headers or {})
            args += ["-user_agent", headers.pop("User-Agent", self.tuner.user_agent)]
            referrer = headers.pop("Referer", None)
            if referrer:
                args += ["-referer", referrer]
            if headers:
                args += ["-headers", "".join(f"{k}: {v}\r\n" for k, v in headers.items())]
        args += ["-rw_timeout", str(int(self.tuner.timeout * 1_000_000)), "-i", url]
        if not master:
            args += ["-map", "0:v?", "-map", "0:a?"]
        args += ["-c", "copy", "-f", "mpegts"]
        if self._deadline is not None:
            left = max(self._deadline - asyncio.get_running_loop().time(), 0.1)
            args += ["-t", f"{left:.3f}"]
        args.append("pipe:1")
        return args

    async def _start_ffmpeg(self, url: str, *, master: bool, headers: Mapping[str, str] | None = None) -> None:
        self.mode = "ffmpeg"
        proc = FfmpegProcess(
            self.ffmpeg_args(url, master=master, headers=headers), stdout="pipe",
            description=f"iptv {self.tuner.name} channel {self.channel.number}",
        )
        try:
            await proc.start()
        except FfmpegNotFound as err:
            raise self._error(f"this stream needs ffmpeg: {err}") from None
        self._proc = proc
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(max(self.tuner.timeout, 5.0)):
                first = await proc.stdout.read(CHUNK)
        except TimeoutError:
            raise self._error(f"ffmpeg gave no data within {max(self.tuner.timeout, 5.0):g} s from {display_url(url)}") from None
        if not first:
            raise self._error(f"ffmpeg could not read {display_url(url)}: {await self._ffmpeg_failure()}")
        self._first = first

    async def _ffmpeg_failure(self) -> str:
        assert self._proc is not None
        try:
            await asyncio.wait_for(self._proc.wait(), 10)
        except FfmpegError as err:
            return ffmpeg_reason(err)
        except (FfmpegCancelled, TimeoutError):
            return "stopped"
        return "it ended without output"

    # -- reading -----------------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._iterating:
            raise RuntimeError(f"{self.label}: a stream can be iterated only once")
        self._iterating = True
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            first, self._first = self._first, b""
            if self._closed:
                return
            for i in range(0, len(first), CHUNK):
                self.bytes += len(first[i:i + CHUNK])
                yield first[i:i + CHUNK]
            source = self._read_direct() if self._proc is None else self._read_ffmpeg()
            async for chunk in source:
                for i in range(0, len(chunk), CHUNK):
                    self.bytes += len(chunk[i:i + CHUNK])
                    yield chunk[i:i + CHUNK]
        finally:
            await self.close()

    async def _read_direct(self) -> AsyncIterator[bytes]:
        body = self._body
        if body is None:
            return
        while not self._closed:
            try:
                if self._deadline is not None:
                    async with asyncio.timeout_at(self._deadline):
                        chunk = await anext(body)
                else:
                    chunk = await anext(body)
            except (StopAsyncIteration, TimeoutError):
                return
            except httpx.TimeoutException:
                if self._closed:
                    return
                raise self._error(f"no data for {self.tuner.timeout:g} s") from None
            except (httpx.HTTPError, httpx.StreamError) as err:
                if self._closed:
                    return
                raise self._error(f"the stream broke off: {_describe(err)}") from None
            except Exception:
                if self._closed:  # close() from another task pulled the connection away
                    return
                raise
            if chunk:
                yield chunk

    async def _read_ffmpeg(self) -> AsyncIterator[bytes]:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        while not self._closed:
            try:
                chunk = await proc.stdout.read(CHUNK)
            except Exception:  # noqa: BLE001 - close() drained the pipe under us
                if self._closed:
                    return
                raise
            if not chunk:
                break
            yield chunk
        if self._closed:
            return
        try:
            await proc.wait()
        except FfmpegCancelled:
            return
        except FfmpegError as err:
            raise self._error(f"ffmpeg: {ffmpeg_reason(err)}") from None

    async def close(self) -> None:
        """Stop the stream and free its place among ``max_streams``. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.tuner._release(self)
        with contextlib.suppress(Exception):
            await self._drop_response()
        if self._proc is not None:
            with contextlib.suppress(Exception):
                await self._proc.terminate(grace=2.0)

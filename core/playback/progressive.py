"""Progressive streaming: one fragmented MP4, made by ffmpeg while it is sent.

``GET /api/playback/sessions/<id>/stream.mp4[?start=seconds]`` runs ffmpeg with ``-ss start``
and copies its ``pipe:1`` into a chunked HTTP response (``Content-Type: video/mp4``, or
``audio/mp4`` without video). A session streams once at a time: a new request (a seek by
restart with another ``start``) ends the previous ffmpeg.

No byte ranges: the stream's length is unknown until ffmpeg ends, so the response says
``Accept-Ranges: none``. A Range that starts at byte 0 is answered with the whole stream (200,
RFC 9110 §14.2 lets a server ignore Range); any other Range gets 416 with a JSON error that
says to seek with ``?start=``.

The process never outlives the response: when a write fails because the client went away, when
the client's connection closes while ffmpeg is still silent, or when the handler is cancelled,
the process is ended at once (SIGTERM while its stdout is read to the end by :class:`Pump`, so it
cannot block on a full pipe, SIGKILL after :data:`~.sessions.PROCESS_GRACE` seconds).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import hdrs, web

from .. import ffmpeg
from .command import progressive_args
from .errors import PlaybackError
from .sessions import PROCESS_GRACE, Session, StreamFailed

_LOGGER = logging.getLogger(__name__)

#: Bytes read from ffmpeg's stdout per write.
CHUNK_SIZE = 64 * 1024
#: Seconds to wait for ffmpeg's first bytes before giving up with an error.
FIRST_BYTE_TIMEOUT = 30.0
#: Seconds between checks of the client's connection while ffmpeg is silent.
DISCONNECT_POLL = 0.25
#: ``contentFeatures.dlna.org`` for a stream made on the fly (DLNA guidelines 7.4.1.3.17–18:
#: OP=00 no seeking by range or time, CI=1 converted content, FLAGS = streaming transfer mode,
#: background transfer mode, connection stalling, DLNA 1.5).
DLNA_FEATURES = "DLNA.ORG_OP=00;DLNA.ORG_CI=1;DLNA.ORG_FLAGS=01700000000000000000000000000000"


class RangeNotSatisfiable(PlaybackError):
    """A Range request for a part of a stream that is made on the fly (only byte 0 onwards can
    be sent)."""

    status = 416


def _range_start(header: str) -> int | None:
    """First byte of a single ``bytes=`` range, ``None`` when it is not one (ignored)."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, _, _ = spec.strip().partition("-")
    if not first.strip():
        return -1  # a suffix range: the last N bytes of a length nobody knows yet
    try:
        return int(first)
    except ValueError:
        return None


def stream_headers(session: Session, request: web.Request) -> dict[str, str]:
    """Response headers of a progressive stream (media type, no ranges, no caching, CORS for
    Cast receivers, DLNA when the client asks with ``getcontentFeatures.dlna.org: 1``)."""
    headers = {
        hdrs.CONTENT_TYPE: session.plan.mime_type,
        hdrs.ACCEPT_RANGES: "none",
        hdrs.CACHE_CONTROL: "no-store",
        hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: "*",
    }
    if request.headers.get("getcontentFeatures.dlna.org") == "1":
        headers["contentFeatures.dlna.org"] = DLNA_FEATURES
        headers["transferMode.dlna.org"] = "Streaming"
    return headers


class ProgressiveSession(Session):
    """A session answered with fragmented MP4 over one HTTP response at a time."""

    kind = "progressive"

    def __init__(self, *, subtitles_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subtitles_url = subtitles_url
        self._proc: ffmpeg.FfmpegProcess | None = None
        self._pump: Pump | None = None
        self._source_name: str | None = None
        self.stream_start = self.start  # where the current / last stream began (s)

    def urls(self) -> dict[str, str | None]:
        return {"url": f"/api/playback/sessions/{self.id}/stream.{self.plan.extension}",
                "subtitles_url": self.subtitles_url}

    def processes(self) -> list[ffmpeg.FfmpegProcess]:
        proc = self._proc
        return [proc] if proc is not None and proc.returncode is None and proc.pid is not None else []

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "stream_start": self.stream_start}

    def clamp_start(self, start: float | None) -> float:
        """``start`` (default: the session's) inside the item: 0 ≤ start ≤ duration."""
        value = self.start if start is None else max(0.0, float(start))
        if self.duration:
            value = min(value, float(self.duration))
        return value

    async def stream(self, request: web.Request, start: float | None = None) -> web.StreamResponse:
        """Answer ``request`` (GET or HEAD) with the item from ``start`` seconds.

        Raises :class:`RangeNotSatisfiable` and :class:`~.sessions.StreamFailed` before anything
        is sent; once the response has begun, a failure ends the connection without the final
        chunk, so the client sees an incomplete transfer rather than a short file."""
        range_header = request.headers.get(hdrs.RANGE)
        if range_header is not None:
            first = _range_start(range_header)
            if first is not None and first != 0:
                raise RangeNotSatisfiable(
                    "this stream is made on the fly and can only be read from its first byte; "
                    "to seek, request it again with ?start=<seconds>"
                )
        headers = stream_headers(self, request)
        self.touch()
        if request.method == "HEAD":
            return web.Response(headers=headers)
        start = self.clamp_start(start)
        await self._end_current()
        if self.plan.burn_in and self._source_name is None:
            self._source_name = await asyncio.to_thread(self.link_source)
        proc = ffmpeg.FfmpegProcess(
            progressive_args(self.plan, start, source_name=self._source_name),
            stdout="pipe",
            cwd=str(self.folder),
            duration=(self.duration - start) if self.duration else None,
            description=f"progressive stream {self.id} of item {self.item_id} from {start:g} s",
        )
        with self.busy():
            await proc.start()
            pump = Pump(proc)
            self._proc, self._pump = proc, pump
            self.stream_start = start
            self.state = "streaming"
            self.changed(f"ffmpeg {proc.pid} streaming from {start:g} s")
            try:
                return await self._pipe(request, proc, pump, headers)
            finally:
                await pump.end()
                if self._proc is proc:
                    self._proc = self._pump = None
                    if not self.closed and self.state == "streaming":
                        self.state = "idle"
                    self.changed("stream ended")

    async def _first_chunk(self, request: web.Request, proc: ffmpeg.FfmpegProcess, pump: Pump) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FIRST_BYTE_TIMEOUT
        while True:
            chunk = await pump.next(DISCONNECT_POLL)
            if chunk:
                return chunk
            if chunk is None:  # the end, before any byte
                try:
                    await proc.wait()
                except ffmpeg.FfmpegError as err:
                    self.error = err.message
                    self.state = "error"
                    raise StreamFailed(f"ffmpeg could not stream item {self.item_id}: {err.message}") from err
                except ffmpeg.FfmpegCancelled as err:
                    raise StreamFailed(f"the stream of session {self.id} was stopped") from err
                return b""
            if _client_gone(request):
                raise ConnectionResetError("the client closed the connection")
            if loop.time() > deadline:
                raise StreamFailed(f"ffmpeg sent nothing for item {self.item_id} in {FIRST_BYTE_TIMEOUT:g} s")

    async def _pipe(self, request: web.Request, proc: ffmpeg.FfmpegProcess, pump: Pump,
                    headers: dict[str, str]) -> web.StreamResponse:
        try:
            first = await self._first_chunk(request, proc, pump)
        except ConnectionResetError:
            _LOGGER.debug("session %s: client left before the first byte", self.id)
            return web.Response(status=499)  # nobody reads it; the connection is gone
        response = web.StreamResponse(status=200, headers=headers)
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            if first:
                await response.write(first)
            while True:
                chunk = await pump.next(DISCONNECT_POLL)
                if chunk is None:
                    break
                if chunk:
                    await response.write(chunk)
                elif _client_gone(request):
                    raise ConnectionResetError("the client closed the connection")
            await proc.wait()
        except ConnectionError:
            _LOGGER.debug("session %s: client disconnected mid-stream; ending ffmpeg %s", self.id, proc.pid)
            await pump.end()
            return response
        except ffmpeg.FfmpegCancelled:
            # Ended by a newer request of this session or by the session stopping.
            _abort(request)
            return response
        except ffmpeg.FfmpegError as err:
            self.error, self.state = err.message, "error"
            _LOGGER.warning("session %s: ffmpeg failed mid-stream: %s", self.id, err.message)
            _abort(request)
            return response
        await response.write_eof()
        return response

    async def _end_current(self) -> None:
        pump = self._pump
        if pump is not None:
            await pump.end()

    async def terminate_processes(self) -> None:
        await self._end_current()


class Pump:
    """The one reader of an ffmpeg's stdout: chunks go through a small queue to the response
    (so a slow client slows ffmpeg down through the pipe), and once :meth:`end` is called the
    rest is read and dropped until ffmpeg closes its stdout.

    Reading to the end matters on Python 3.11: ``Process.wait()`` returns only once every pipe
    of the process has reached end of file (``asyncio/base_subprocess.py``), and a pipe whose
    reader stopped reading (its buffer full, the transport paused) never does — ending such a
    process would wait forever."""

    def __init__(self, proc: ffmpeg.FfmpegProcess, depth: int = 8) -> None:
        self.proc = proc
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=depth)
        self.draining = False
        self.done = asyncio.Event()
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        assert self.proc.stdout is not None
        try:
            while chunk := await self.proc.stdout.read(CHUNK_SIZE):
                if not self.draining:
                    await self.queue.put(chunk)
        except Exception:  # a broken pipe is the end of the stream
            _LOGGER.debug("stdout of ffmpeg %s ended with an error", self.proc.pid, exc_info=True)
        finally:
            self.done.set()

    async def next(self, timeout: float) -> bytes | None:
        """The next chunk; ``b""`` when none came within ``timeout`` seconds; ``None`` at the end."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        if self.done.is_set():
            return None
        getter = asyncio.ensure_future(self.queue.get())
        ender = asyncio.ensure_future(self.done.wait())
        try:
            await asyncio.wait({getter, ender}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ender.cancel()
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        if self.done.is_set() and self.queue.empty():
            return None
        return b""

    async def end(self) -> None:
        """End ffmpeg at once (SIGTERM, SIGKILL after :data:`~.sessions.PROCESS_GRACE` s) while
        its stdout is read to the end. Idempotent."""
        self.draining = True
        while not self.queue.empty():  # wakes a put() blocked on a full queue
            self.queue.get_nowait()
        if self.proc.returncode is None:
            await asyncio.shield(self.proc.terminate(PROCESS_GRACE))
        await asyncio.shield(self.done.wait())


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _abort(request: web.Request) -> None:
    """Drop the connection so the client sees the response as incomplete."""
    transport = request.transport
    if transport is not None:
        transport.abort()

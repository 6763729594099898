"""Live TV: a leased tuner, remuxed by ffmpeg into fragmented MP4 for a browser's ``<video>``.

One :class:`LiveSession` per watched channel:

1. ``await live.start("5.1", client=…)`` leases a tuner (``manager.acquire(…, purpose="live")``;
   TunerBusy / UnknownChannel / TunerUnavailable come out as they are), opens the channel's
   MPEG-TS stream and starts reading it. The session is ``starting``.
2. ``live.stream(session_id)`` (``GET /api/dvr/live/<id>/stream``) starts one ffmpeg that reads
   MPEG-TS on ``pipe:0`` and writes fragmented MP4 (``frag_keyframe+empty_moov+default_base_moof``;
   ISO/IEC 14496-12 movie fragments, which a browser plays while it downloads) on ``pipe:1``.
   Video is copied when the channel is H.264 already (the lineup's ``video_codec``, else an
   ffprobe of the first bytes), otherwise encoded with libx264 ``veryfast``/``zerolatency`` (at
   most :data:`MAX_TRANSCODE_HEIGHT` lines, deinterlaced); audio always becomes stereo AAC (the
   broadcast's AC-3/MP2 does not play in browsers); a radio service gives audio only
   (``audio/mp4``). The session is ``playing``.
3. The tuner is read all the time by one task; chunks go to the viewer's ffmpeg through a queue
   of at most :data:`VIEWER_BUFFER_BYTES` (a viewer that cannot keep up loses the oldest chunks,
   the tuner is never slowed down). Without a viewer the chunks of the last
   :data:`PREROLL_SECONDS` are kept so a returning viewer starts at once.
4. When the viewer disconnects its ffmpeg is ended and the session is ``idle``: the tuner is
   released ``live.idle_timeout`` seconds later unless a viewer of the same session returns
   (also right after ``start()`` when nobody fetches the stream). ``stop(id)`` releases it at once.

A session ends (state ``ended`` with a ``reason`` in words) when it is stopped, idle too long,
pre-empted by a recording (the lease's ``preempted`` event: "a recording needs the tuner"), or
when the tuner stream drops (a broken connection, the end of the stream, or no byte for
``dvr.stall_timeout`` seconds) and one reconnect does not bring it back. A client's new session
replaces its previous one (channel up/down with one tuner). At most ``live.max_sessions``
sessions run at once. Every change fires ``dvr_live_session_updated`` with the session's dict.
Times are UTC epoch seconds, sizes bytes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

from .. import ffmpeg
from ..const import EVENT_DVR_LIVE
from ..errors import OmniMediaError
from ..library.probe import probe
from ..playback.progressive import Pump
from .types import TunerBusy, TunerError

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "LiveTv", "LiveSession", "LiveError", "LiveSessionNotFound", "LiveSessionEnded", "LiveLimitReached",
    "LiveStreamFailed", "live_args",
]

#: Bytes of tuner data a viewer's ffmpeg may fall behind by before the oldest chunks are dropped
#: (about 3 s of a 19.4 Mbit/s ATSC multiplex).
VIEWER_BUFFER_BYTES = 8 * 1024 * 1024
#: Seconds of the newest tuner data kept while nobody watches, given to a returning viewer first.
PREROLL_SECONDS = 3.0
#: Seconds ffmpeg may take to send its first bytes (the MP4 header after the first keyframe).
FIRST_BYTE_TIMEOUT = 30.0
#: Bytes (or seconds, whichever comes first) of the stream ffprobe reads when the lineup does not
#: say which video codec a channel has.
PROBE_BYTES = 1024 * 1024
PROBE_SECONDS = 4.0
#: Highest picture an encoded live stream has: x264 ``veryfast`` at 1080 lines needs more than
#: one core in real time, 720 lines keeps live TV real-time on small machines.
MAX_TRANSCODE_HEIGHT = 720
#: Seconds between keyframes of an encoded live stream (each starts a fragment the browser plays).
KEYFRAME_INTERVAL = 2.0
#: A reconnect after a drop is allowed once per this many seconds; a second drop sooner ends it.
RECONNECT_WINDOW = 60.0
#: Seconds an ffmpeg gets between SIGTERM and SIGKILL when its viewer leaves.
PROCESS_GRACE = 2.0
#: Seconds a tuner device's "busy" is retried when live TV opens its stream (the device may still
#: count a stream the DVR closed a moment ago).
BUSY_RETRY_SECONDS = 2.0
#: Seconds between checks of the client while ffmpeg is silent (``b""`` from :meth:`LiveTv.stream`).
DISCONNECT_POLL = 0.25
#: Ended sessions remembered (with their reason) for the API and the dashboard.
ENDED_KEPT = 20
#: Seconds between reports of a viewer's progress (bytes in/out) on the bus while playing.
REPORT_EVERY = 10.0

#: Lineup/ffprobe video codec names a browser plays in MP4 as they are (H.264 / AVC).
BROWSER_VIDEO = {"h264", "avc", "avc1", "mpeg4-avc", "mpeg-4 avc"}

STATES = ("starting", "playing", "idle", "ended")


class LiveError(OmniMediaError):
    """A live TV request that cannot be served; ``status`` is the HTTP status the API answers."""

    status = 500


class LiveSessionNotFound(LiveError, KeyError):
    """No live TV session has this id (never existed, or ended long ago)."""

    status = 404

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no live TV session {session_id!r} (it was stopped, timed out or never existed)")
        self.session_id = session_id

    def __str__(self) -> str:
        return self.args[0]


class LiveSessionEnded(LiveError):
    """The session has ended; ``reason`` says why ("a recording needs the tuner")."""

    status = 410

    def __init__(self, session_id: str, reason: str) -> None:
        super().__init__(f"live TV session {session_id} has ended: {reason}")
        self.session_id = session_id
        self.reason = reason


class LiveLimitReached(LiveError):
    """``dvr.live.max_sessions`` sessions are running already."""

    status = 503


class LiveStreamFailed(LiveError):
    """ffmpeg could not make the stream (its own explanation is the message)."""

    status = 500


def _is_browser_video(codec: str | None) -> bool:
    return bool(codec) and codec.strip().lower() in BROWSER_VIDEO


def live_args(video: str | None) -> list[str]:
    """ffmpeg arguments (after the binary) turning MPEG-TS on ``pipe:0`` into fragmented MP4 on
    ``pipe:1``. ``video``: ``"copy"`` (the channel is H.264), ``"h264"`` (encode with libx264) or
    ``None`` (radio: audio only).

    Input: ``-f mpegts`` with ``+genpts+discardcorrupt`` (broadcast streams start mid-GOP and
    carry the odd broken packet); the MPEG-TS demuxer's timestamp-discontinuity handling covers a
    reconnected tuner stream. Output: ``-movflags frag_keyframe+empty_moov+default_base_moof``
    (a fragment at every keyframe, the header first, moof-relative offsets as Media Source and
    Chromium's MP4 parser expect) plus ``delay_moov`` (the header waits for the first packets,
    so copied H.264 has its in-band SPS/PPS), ``-frag_duration`` 1 s and ``-flush_packets 1`` so
    each fragment leaves at once."""
    args = ["-f", "mpegts", "-analyzeduration", "3000000", "-fflags", "+genpts+discardcorrupt", "-i", "pipe:0"]
    if video is None:
        args += ["-map", "0:a:0", "-vn"]
    else:
        args += ["-map", "0:v:0?", "-map", "0:a:0?"]
        if video == "copy":
            args += ["-c:v", "copy"]
        else:
            args += [
                "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-crf", "23",
                "-pix_fmt", "yuv420p", "-profile:v", "high",
                "-vf", f"yadif=deint=interlaced,scale=-2:'min({MAX_TRANSCODE_HEIGHT},ih)'",
                "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL:g})",
            ]
    args += [
        "-c:a", "aac", "-b:a", "160k", "-ac", "2", "-af", "aresample=async=1",
        "-sn", "-dn",
        "-f", "mp4", "-movflags", "frag_keyframe+empty_moov+default_base_moof+delay_moov",
        "-frag_duration", "1000000", "-flush_packets", "1",
        "pipe:1",
    ]
    return args


class _Viewer:
    """One HTTP response: a queue of tuner chunks for its ffmpeg, the ffmpeg, and its pumps."""

    def __init__(self, session: LiveSession, number: int) -> None:
        self.session = session
        self.number = number
        self.chunks: collections.deque[bytes] = collections.deque()
        self.queued = 0
        self.dropped = 0
        self.wake = asyncio.Event()
        self.proc: ffmpeg.FfmpegProcess | None = None
        self.pump: Pump | None = None
        self.writer: asyncio.Task[None] | None = None
        self.closed = False
        self.bytes_out = 0

    def push(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.queued += len(chunk)
        while self.queued > VIEWER_BUFFER_BYTES and len(self.chunks) > 1:
            old = self.chunks.popleft()
            self.queued -= len(old)
            self.dropped += len(old)
        self.wake.set()

    async def take(self) -> bytes:
        while not self.chunks:
            self.wake.clear()
            await self.wake.wait()
        chunk = self.chunks.popleft()
        self.queued -= len(chunk)
        return chunk

    async def write_to_ffmpeg(self) -> None:
        """Copy queued chunks to ffmpeg's stdin (with drain, so a slow ffmpeg fills the queue
        here, where it is bounded, instead of memory)."""
        assert self.proc is not None and self.proc.stdin is not None
        stdin = self.proc.stdin
        try:
            while not self.closed:
                chunk = await self.take()
                stdin.write(chunk)
                await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # ffmpeg exited; its exit status tells the viewer why
        finally:
            with contextlib.suppress(Exception):
                stdin.close()

    async def close(self) -> None:
        """End the ffmpeg (SIGTERM while its stdout is read to the end) and the writer."""
        self.closed = True
        self.wake.set()
        if self.writer is not None:
            self.writer.cancel()
            await asyncio.gather(self.writer, return_exceptions=True)
        if self.pump is not None:
            await self.pump.end()
        elif self.proc is not None and self.proc.returncode is None:
            await self.proc.terminate(PROCESS_GRACE)


class LiveSession:
    """One channel being watched: the lease, the tuner stream, the reader, at most one viewer.

    :meth:`as_dict` gives ``{"id", "channel", "name", "client", "state" (starting | playing |
    idle | ended), "reason" (why it ended, else null), "message" (the last problem, e.g. ffmpeg's
    error), "url" (the stream, relative to the hub), "mime_type", "device_id", "video" ("copy",
    "h264" or null for radio; null until known), "radio", "viewers" (0 or 1), "started_at",
    "ended_at", "idle_since", "release_at" (when an idle session lets go of its tuner), "bytes_in"
    (from the tuner), "bytes_out" (fMP4 sent), "dropped" (tuner bytes a slow viewer lost),
    "reconnects"}``."""

    def __init__(self, session_id: str, channel: str, name: str, client: str, radio: bool) -> None:
        self.id = session_id
        self.channel = channel
        self.name = name
        self.client = client
        self.radio = radio
        self.lease: Any = None
        self.tuner_stream: Any = None
        self.device_id: str | None = None
        self.state = "starting"
        self.reason: str | None = None
        self.message: str | None = None
        self.video: str | None = None
        self.video_codec: str | None = None
        self.started_at = time.time()
        self.ended_at: float | None = None
        self.idle_since: float | None = self.started_at
        self.release_at: float | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.dropped = 0
        self.reconnects = 0
        self.viewer: _Viewer | None = None
        self.viewer_count = 0
        self.recent: collections.deque[tuple[float, bytes]] = collections.deque()
        self.recent_bytes = 0
        self.reader: asyncio.Task[None] | None = None
        self.watcher: asyncio.Task[None] | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.ended = asyncio.Event()

    @property
    def url(self) -> str:
        return f"/api/dvr/live/{self.id}/stream"

    @property
    def mime_type(self) -> str:
        return "audio/mp4" if self.radio else "video/mp4"

    def keep_recent(self, chunk: bytes) -> None:
        now = time.monotonic()
        self.recent.append((now, chunk))
        self.recent_bytes += len(chunk)
        while self.recent and (now - self.recent[0][0] > PREROLL_SECONDS or self.recent_bytes > VIEWER_BUFFER_BYTES):
            _, old = self.recent.popleft()
            self.recent_bytes -= len(old)

    def as_dict(self) -> dict[str, Any]:
        viewer = self.viewer
        return {
            "id": self.id, "channel": self.channel, "name": self.name, "client": self.client,
            "state": self.state, "reason": self.reason, "message": self.message,
            "url": self.url, "mime_type": self.mime_type, "device_id": self.device_id,
            "video": self.video, "radio": self.radio, "viewers": 1 if viewer is not None else 0,
            "started_at": self.started_at, "ended_at": self.ended_at, "idle_since": self.idle_since,
            "release_at": self.release_at, "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out + (viewer.bytes_out if viewer else 0),
            "dropped": self.dropped + (viewer.dropped if viewer else 0), "reconnects": self.reconnects,
        }


class LiveTv:
    """The live TV sessions of one DVR (``hub.dvr.live``).

    ``manager`` gives ``settings`` (the validated ``dvr:`` section: ``live.idle_timeout``,
    ``live.max_sessions``, ``stall_timeout``), ``await acquire(number, purpose=, holder=)`` →
    lease (``device_id``, ``preempted``, ``await open_stream()``, ``await release()``),
    ``await lineup()`` (channel dicts with ``number``, ``name``, ``radio``, and ``video_codec``
    when known) and ``hub`` (for the bus)."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self._sessions: dict[str, LiveSession] = {}
        self._ended: collections.OrderedDict[str, LiveSession] = collections.OrderedDict()
        self._codecs: dict[str, str] = {}  # channel number → video codec seen by ffprobe
        self._viewer_numbers = 0
        self._closing = False

    # -- settings ----------------------------------------------------------------------------------
    @property
    def _live_settings(self) -> dict[str, Any]:
        settings = getattr(self.manager, "settings", None) or {}
        return settings.get("live") or {}

    @property
    def idle_timeout(self) -> float:
        return float(self._live_settings.get("idle_timeout", 15.0))

    @property
    def max_sessions(self) -> int:
        return int(self._live_settings.get("max_sessions", 2))

    @property
    def stall_timeout(self) -> float:
        settings = getattr(self.manager, "settings", None) or {}
        return float(settings.get("stall_timeout", 10.0))

    # -- queries -----------------------------------------------------------------------------------
    def sessions(self, *, ended: bool = False) -> list[dict[str, Any]]:
        """The running sessions, oldest first (with ``ended``: then the recently ended ones,
        newest first)."""
        out = [s.as_dict() for s in sorted(self._sessions.values(), key=lambda s: s.started_at)]
        if ended:
            out += [s.as_dict() for s in reversed(self._ended.values())]
        return out

    def session(self, session_id: str) -> dict[str, Any]:
        """One session's dict, running or recently ended. Raises :class:`LiveSessionNotFound`."""
        found = self._sessions.get(session_id) or self._ended.get(session_id)
        if found is None:
            raise LiveSessionNotFound(session_id)
        return found.as_dict()

    # -- start / stop ------------------------------------------------------------------------------
    async def start(self, number: str, *, client: str = "") -> dict[str, Any]:
        """Lease a tuner for channel ``number`` and start reading it; return the session dict
        (fetch its ``url``). A running session of the same ``client`` is stopped first.

        Raises :class:`LiveLimitReached` (``max_sessions``; 0 turns live TV off), and the tuner
        errors of ``manager.acquire`` / ``lease.open_stream``: UnknownChannel, TunerBusy (the
        message names what holds the tuners), TunerUnavailable."""
        if self._closing:
            raise LiveError("the hub is stopping")
        number = str(number).strip()
        if client:
            for other in list(self._sessions.values()):
                if other.client == client:
                    await self._end(other, f"replaced by channel {number}")
        ending = [s.ended.wait() for s in self._sessions.values() if s.state == "ended"]
        if ending:  # sessions being stopped right now: their tuners are about to be free
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*ending), 15)
        limit = self.max_sessions
        if limit <= 0:
            raise LiveLimitReached("live TV is turned off (dvr.live.max_sessions is 0)")
        if len(self._sessions) >= limit:
            running = ", ".join(f"{s.channel} ({s.client or s.id})" for s in self._sessions.values())
            raise LiveLimitReached(
                f"live TV is limited to {limit} session(s) at once (dvr.live.max_sessions); running: {running}"
            )
        info = await self._channel_info(number)
        session = LiveSession(secrets.token_urlsafe(12), number, info.get("name") or number, client,
                              bool(info.get("radio")))
        session.video_codec = info.get("video_codec") or self._codecs.get(number)
        if session.video_codec and not session.radio:
            session.video = "copy" if _is_browser_video(session.video_codec) else "h264"
        lease = await self.manager.acquire(number, purpose="live", holder=f"live:{session.id}")
        session.lease = lease
        session.device_id = getattr(lease, "device_id", None)
        try:
            session.tuner_stream = await self._open(lease)
        except BaseException:
            await lease.release()
            raise
        self._sessions[session.id] = session
        session.reader = asyncio.ensure_future(self._read(session))
        session.watcher = asyncio.ensure_future(self._watch_preemption(session))
        self._arm_idle(session)
        _LOGGER.info("live TV %s: channel %s on %s for %s", session.id, number, session.device_id, client or "?")
        self._fire(session)
        return session.as_dict()

    @staticmethod
    async def _open(lease: Any) -> Any:
        """The lease's stream; a device that still counts a stream closed a moment ago (an
        HDHomeRun frees its tuner when it notices the closed connection) answers busy, so busy
        is retried for up to :data:`BUSY_RETRY_SECONDS`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_RETRY_SECONDS
        while True:
            try:
                return await lease.open_stream()
            except TunerBusy:
                if loop.time() >= deadline:
                    raise
                await asyncio.sleep(0.25)

    async def stop(self, session_id: str, reason: str = "stopped") -> dict[str, Any]:
        """End a session now: its ffmpeg ends, the tuner is released. Returns its final dict.
        Raises :class:`LiveSessionNotFound` (an already ended session is returned as it is)."""
        session = self._sessions.get(session_id)
        if session is None:
            ended = self._ended.get(session_id)
            if ended is None:
                raise LiveSessionNotFound(session_id)
            return ended.as_dict()
        await self._end(session, reason)
        return session.as_dict()

    async def stop_all(self, reason: str = "the hub is stopping") -> None:
        """End every session (when the hub stops)."""
        self._closing = True
        await asyncio.gather(*(self._end(s, reason) for s in list(self._sessions.values())), return_exceptions=True)
        self._closing = False

    # -- streaming ---------------------------------------------------------------------------------
    def stream(self, session_id: str) -> AsyncIterator[bytes]:
        """The fMP4 bytes of the session for one viewer, as an async iterator.

        Raises :class:`LiveSessionNotFound` / :class:`LiveSessionEnded` at once (not on the
        first iteration). A viewer already attached is replaced (its iterator ends). Iteration
        yields chunks of at most 64 KiB, and ``b""`` every :data:`DISCONNECT_POLL` seconds while
        ffmpeg is silent (so the caller can notice a client that went away); it raises
        :class:`LiveStreamFailed` when ffmpeg fails before its first byte. It ends when the
        session ends or ffmpeg stops; closing the iterator (``aclose()``, or the caller
        dropping it) ends the ffmpeg and starts the idle countdown."""
        session = self._sessions.get(session_id)
        if session is None:
            ended = self._ended.get(session_id)
            if ended is not None:
                raise LiveSessionEnded(session_id, ended.reason or "ended")
            raise LiveSessionNotFound(session_id)
        self._viewer_numbers += 1
        return self._viewer_stream(session, self._viewer_numbers)

    async def _viewer_stream(self, session: LiveSession, number: int) -> AsyncIterator[bytes]:
        previous = session.viewer
        if previous is not None:
            session.viewer = None
            await self._detach(session, previous)
        if session.state == "ended":
            raise LiveSessionEnded(session.id, session.reason or "ended")
        viewer = _Viewer(session, number)
        session.viewer = viewer
        session.viewer_count += 1
        self._disarm_idle(session)
        for _, chunk in session.recent:
            viewer.push(chunk)
        try:
            video = await self._video_mode(session, viewer)
            if viewer.closed or session.viewer is not viewer:
                return
            proc = ffmpeg.FfmpegProcess(
                live_args(video), stdin="pipe", stdout="pipe",
                description=f"live TV {session.id} channel {session.channel}",
            )
            viewer.proc = proc
            await proc.start()
            viewer.writer = asyncio.ensure_future(viewer.write_to_ffmpeg())
            viewer.pump = Pump(proc)
            session.state = "playing"
            session.idle_since = session.release_at = None
            self._fire(session)
            started = time.monotonic()
            got_first = False
            last_report = started
            while True:
                chunk = await viewer.pump.next(DISCONNECT_POLL)
                if chunk is None:
                    break
                if chunk:
                    got_first = True
                    viewer.bytes_out += len(chunk)
                    yield chunk
                    if time.monotonic() - last_report > REPORT_EVERY:
                        last_report = time.monotonic()
                        self._fire(session)
                else:
                    if not got_first and time.monotonic() - started > FIRST_BYTE_TIMEOUT:
                        raise LiveStreamFailed(
                            f"ffmpeg sent nothing for channel {session.channel} in {FIRST_BYTE_TIMEOUT:g} s"
                            + (f" (tuner bytes received: {session.bytes_in})" if session.bytes_in else
                               " (the tuner sent no data)")
                        )
                    yield b""
            # ffmpeg closed its stdout: it exited, or was ended because the session ended.
            try:
                await proc.wait()
            except ffmpeg.FfmpegCancelled:
                pass
            except ffmpeg.FfmpegError as err:
                session.message = f"ffmpeg failed: {err.message}"
                _LOGGER.warning("live TV %s: ffmpeg failed: %s", session.id, err.message)
                if not got_first:
                    raise LiveStreamFailed(f"ffmpeg could not stream channel {session.channel}: {err.message}") from err
        finally:
            if session.viewer is viewer:
                session.viewer = None
            await asyncio.shield(self._detach(session, viewer))

    async def _detach(self, session: LiveSession, viewer: _Viewer) -> None:
        """End a viewer's ffmpeg; without another viewer the session goes idle."""
        if viewer.closed and viewer.proc is None:
            return
        await viewer.close()
        session.bytes_out += viewer.bytes_out
        session.dropped += viewer.dropped
        viewer.bytes_out = viewer.dropped = 0
        viewer.proc = None
        if session.viewer is None and session.state != "ended":
            session.state = "idle"
            session.idle_since = time.time()
            self._arm_idle(session)
            self._fire(session)

    async def _video_mode(self, session: LiveSession, viewer: _Viewer) -> str | None:
        """``"copy"``, ``"h264"`` or ``None`` (radio); probes the first bytes when the lineup
        does not name the video codec."""
        if session.radio:
            session.video = None
            return None
        codec = session.video_codec
        if codec is None:
            codec = await self._probe_codec(session, viewer)
            if codec:
                session.video_codec = self._codecs[session.channel] = codec
            elif session.radio:  # ffprobe found audio only
                session.video = None
                return None
        session.video = "copy" if _is_browser_video(codec) else "h264"
        return session.video

    async def _probe_codec(self, session: LiveSession, viewer: _Viewer) -> str | None:
        """The video codec ffprobe finds in the first :data:`PROBE_BYTES` (or
        :data:`PROBE_SECONDS`) of the stream; ``None`` when it finds none (then video is encoded,
        which plays whatever it is)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PROBE_SECONDS
        while viewer.queued < PROBE_BYTES and loop.time() < deadline and not viewer.closed:
            viewer.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(viewer.wake.wait(), max(0.05, deadline - loop.time()))
        head = b"".join(viewer.chunks)
        if not head:
            return None

        def write() -> str:
            fd, path = tempfile.mkstemp(prefix="omnimedia-live-", suffix=".ts")
            with os.fdopen(fd, "wb") as fh:
                fh.write(head)
            return path

        path = await asyncio.to_thread(write)
        try:
            info = await probe(path, timeout=15.0, show=("-show_streams",))
        except Exception as err:  # noqa: BLE001 - whatever ffprobe says, encoding plays it
            _LOGGER.info("live TV %s: ffprobe of channel %s failed (%s); encoding video", session.id, session.channel, err)
            return None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        streams = info.get("streams") or []
        for stream in streams:
            if stream.get("codec_type") == "video":
                return stream.get("codec_name")
        if any(s.get("codec_type") == "audio" for s in streams):
            session.radio = True  # audio only after all
        return None

    # -- the tuner ---------------------------------------------------------------------------------
    async def _read(self, session: LiveSession) -> None:
        """Read the tuner for the session's whole life; on a drop, reconnect once per
        :data:`RECONNECT_WINDOW`, else end the session with the cause."""
        last_reconnect = -RECONNECT_WINDOW
        stream = session.tuner_stream
        try:
            while session.state != "ended":
                cause = await self._copy(session, stream)
                if session.state == "ended":
                    return
                now = time.monotonic()
                if now - last_reconnect < RECONNECT_WINDOW:
                    await self._end(session, f"the tuner stream dropped and did not come back: {cause}")
                    return
                last_reconnect = now
                _LOGGER.info("live TV %s: %s; reconnecting to channel %s", session.id, cause, session.channel)
                session.message = f"reconnected after: {cause}"
                try:
                    stream = session.tuner_stream = await session.lease.open_stream()
                except TunerError as err:
                    await self._end(session, f"the tuner stream dropped ({cause}) and reconnecting failed: {err}")
                    return
                session.reconnects += 1
                self._fire(session)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - a reader bug must still free the tuner
            _LOGGER.exception("live TV %s: reading the tuner failed", session.id)
            await self._end(session, f"reading the tuner failed: {err}")

    async def _copy(self, session: LiveSession, stream: Any) -> str:
        """Copy chunks until the stream breaks; return the cause in words."""
        stall = self.stall_timeout
        chunks = stream.__aiter__()
        while session.state != "ended":
            try:
                chunk = await asyncio.wait_for(chunks.__anext__(), stall)
            except StopAsyncIteration:
                return "the tuner ended the stream"
            except TimeoutError:
                return f"no data from the tuner for {stall:g} s"
            except TunerError as err:
                return str(err)
            if not chunk:
                continue
            session.bytes_in += len(chunk)
            session.keep_recent(chunk)
            viewer = session.viewer
            if viewer is not None and not viewer.closed:
                viewer.push(chunk)
        return "ended"

    async def _watch_preemption(self, session: LiveSession) -> None:
        preempted = getattr(session.lease, "preempted", None)
        if preempted is None:
            return
        await preempted.wait()
        if session.state != "ended":
            _LOGGER.info("live TV %s: a recording takes the tuner of %s", session.id, session.device_id)
            await self._end(session, "a recording needs the tuner")

    # -- idle --------------------------------------------------------------------------------------
    def _arm_idle(self, session: LiveSession) -> None:
        self._disarm_idle(session)
        timeout = self.idle_timeout
        session.release_at = time.time() + timeout
        loop = asyncio.get_running_loop()
        session.idle_timer = loop.call_later(timeout, self._idle_expired, session)

    def _disarm_idle(self, session: LiveSession) -> None:
        if session.idle_timer is not None:
            session.idle_timer.cancel()
            session.idle_timer = None
        session.release_at = None

    def _idle_expired(self, session: LiveSession) -> None:
        session.idle_timer = None
        if session.viewer is None and session.state != "ended":
            reason = f"no viewer for {self.idle_timeout:g} s"
            task = asyncio.ensure_future(self._end(session, reason))
            task.add_done_callback(_log_failure)

    # -- the end -----------------------------------------------------------------------------------
    async def _end(self, session: LiveSession, reason: str) -> None:
        """End ``session`` (idempotent): its viewer's ffmpeg, the reader, the tuner stream and
        the lease; keep it among the ended ones with ``reason``; fire the event."""
        if session.state == "ended":
            await session.ended.wait()  # another caller is ending it: done once the tuner is free
            return
        session.state = "ended"
        session.reason = reason
        session.ended_at = time.time()
        session.idle_since = None
        self._disarm_idle(session)
        current = asyncio.current_task()
        tasks = [t for t in (session.reader, session.watcher) if t is not None and t is not current and not t.done()]
        for task in tasks:
            task.cancel()
        viewer, session.viewer = session.viewer, None
        if viewer is not None:
            await viewer.close()
            session.bytes_out += viewer.bytes_out
            session.dropped += viewer.dropped
            viewer.bytes_out = viewer.dropped = 0
        await asyncio.gather(*tasks, return_exceptions=True)
        # The stream is closed here, not only by the lease: a pre-empted lease is already released.
        if session.tuner_stream is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.tuner_stream.close(), 10)
        if session.lease is not None:
            try:
                await session.lease.release()
            except Exception:  # noqa: BLE001 - the tuner is gone anyway
                _LOGGER.debug("live TV %s: releasing the lease failed", session.id, exc_info=True)
        session.recent.clear()
        session.recent_bytes = 0
        self._sessions.pop(session.id, None)
        self._ended[session.id] = session
        while len(self._ended) > ENDED_KEPT:
            self._ended.popitem(last=False)
        session.ended.set()
        _LOGGER.info("live TV %s on channel %s ended: %s", session.id, session.channel, reason)
        self._fire(session)

    # -- helpers -----------------------------------------------------------------------------------
    async def _channel_info(self, number: str) -> dict[str, Any]:
        """Name, radio flag and video codec of ``number`` from the DVR's lineup (empty when the
        lineup cannot be read; ``acquire`` then says what is wrong)."""
        info: dict[str, Any] = {}
        try:
            for channel in await self.manager.lineup():
                if str(channel.get("number")) == number:
                    info = dict(channel)
                    break
        except Exception:  # noqa: BLE001 - the lineup is only a hint here
            _LOGGER.debug("live TV: lineup unavailable", exc_info=True)
        if not info.get("video_codec"):
            pool = getattr(self.manager, "pool", None)
            found = pool.channel(number) if pool is not None and hasattr(pool, "channel") else None
            if found is not None:
                info.setdefault("name", found.name)
                info["video_codec"] = found.video_codec
                info["radio"] = info.get("radio") or found.radio
        return info

    def _fire(self, session: LiveSession) -> None:
        hub = getattr(self.manager, "hub", None)
        bus = getattr(hub, "bus", None)
        if bus is not None:
            bus.fire(EVENT_DVR_LIVE, session.as_dict())


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.error("live TV: ending a session failed", exc_info=task.exception())

"""HLS sessions (RFC 8216): a VOD playlist of the whole item, segments made by ffmpeg's hls
muxer as they are asked for, and seeking by restart.

**Playlists.** ``master.m3u8`` names one variant (``BANDWIDTH``, ``RESOLUTION``, ``CODECS``
when known); ``media.m3u8`` lists every segment of the whole duration up front with
``#EXT-X-PLAYLIST-TYPE:VOD`` and ``#EXT-X-ENDLIST``, so players know the length and can seek
anywhere at once. The segment times are fixed before any encoding:

- *transcoding*: a segment every ``hls_segment_transcode`` seconds (3 by default); ffmpeg
  forces a keyframe at the first picture at or after each of those times and makes no other
  keyframes (no scene cuts, no maximum interval), and the hls muxer cuts at every keyframe;
- *remuxing* (video copied): the cuts can only fall on the source's keyframes, so the keyframes
  are read first (ffprobe, every video packet's flags; cached per file under
  ``<transcode_dir>/keyframes``) and each segment runs from a keyframe to the first keyframe at
  least ``hls_segment_remux`` seconds (6 by default) later. ffmpeg writes one file per group of
  pictures and a segment is served as its files one after the other — the same bytes the muxer
  would have written as one segment;
- *audio only*: a segment every ``hls_segment_transcode`` seconds, cut by the muxer at the first
  audio packet after each (a run started mid-item cuts within one audio frame of the first run).

Cutting at every keyframe (``-hls_time`` below one frame) is what makes a run started anywhere
produce exactly the listed segments: with a longer ``-hls_time`` the muxer measures from where
each run started, so a run started in the middle could cut a picture later than the first run.
Remuxing needs a container that seeks to an exact keyframe (Matroska, WebM, MP4/MOV); other
containers are re-encoded.

**Seeking by restart.** A segment that exists is served. One that the running ffmpeg will reach
soon (within :data:`WAIT_BUDGET` seconds at its current speed) is waited for. Any other ends the
running ffmpeg and starts a new one at the segment's time (input ``-ss``), numbering from it
(``-start_number``), with ``-output_ts_offset`` so its timestamps continue the item's timeline.
Segments made by earlier runs stay valid and are served again without encoding.

Files live in the session folder; ffmpeg writes each segment under a temporary name and renames
it when complete (``-hls_flags temp_file``), so a file that exists is whole. Everything is
removed with the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Any

from .. import ffmpeg
from ..library.probe import FFPROBE
from .command import StreamPlan, hls_args
from .errors import PlaybackError
from .sessions import Session, StreamFailed

_LOGGER = logging.getLogger(__name__)

PLAYLIST_MIME = "application/vnd.apple.mpegurl"  # RFC 8216 §4
SEGMENT_MIME = "video/mp2t"
#: Containers whose demuxers seek to an exact keyframe (needed to remux by restart).
EXACT_SEEK_FORMATS = ("matroska", "webm", "mov", "mp4")
#: Seconds of waiting accepted for a segment the running ffmpeg has not reached yet; further
#: away (at the encoder's measured speed) and it is restarted there.
WAIT_BUDGET = 8.0
#: Seconds a segment request waits at most before 503 with Retry-After.
SEGMENT_TIMEOUT = 60.0
#: Seconds allowed for reading a file's keyframes.
KEYFRAME_TIMEOUT = 120.0
_POLL = 0.05


class SegmentNotFound(PlaybackError):
    """The playlist has no such segment."""

    status = 404


class SegmentNotReady(PlaybackError):
    """The segment is still being made after :data:`SEGMENT_TIMEOUT` seconds (try again)."""

    status = 503


# -- keyframes --------------------------------------------------------------------------------

async def read_keyframes(path: str, stream_index: int, start_time: float = 0.0,
                         timeout: float = KEYFRAME_TIMEOUT) -> list[float]:
    """Times (s, from the file's start) of the keyframes of video stream ``stream_index``,
    ascending, read from every packet's flags with ffprobe (``-show_entries
    packet=pts_time,dts_time,flags``; the demuxer reads the whole file, no decoding).

    Raises :class:`~.sessions.StreamFailed` on an ffprobe failure or timeout."""
    args = [FFPROBE, "-v", "error", "-select_streams", str(stream_index),
            "-show_entries", "packet=pts_time,dts_time,flags", "-of", "csv=p=0", path]
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise StreamFailed(f"reading the keyframes of {path} took longer than {timeout:g} s") from None
    if proc.returncode != 0:
        message = err.decode("utf-8", "replace").strip().splitlines()
        raise StreamFailed(f"ffprobe could not read the keyframes of {path}: {message[-1] if message else 'failed'}")
    times: set[float] = set()
    for line in out.decode("ascii", "replace").splitlines():
        pts, _, rest = line.partition(",")
        dts, _, flags = rest.partition(",")
        if "K" not in flags:
            continue
        stamp = pts if pts not in ("", "N/A") else dts
        try:
            times.add(round(float(stamp) - start_time, 6))
        except ValueError:
            continue
    return sorted(times)


class KeyframeCache:
    """:func:`read_keyframes` results kept in ``folder`` as JSON, keyed by the file's path,
    size, modification time and stream; one ffprobe per file at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._pending: dict[str, asyncio.Future[list[float]]] = {}

    async def get(self, path: str, stream_index: int, start_time: float = 0.0) -> list[float]:
        st = await asyncio.to_thread(os.stat, path)
        raw = f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{stream_index}\0{start_time}"
        key = hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        cached = self.folder / f"{key}.json"
        with contextlib.suppress(FileNotFoundError, ValueError):
            return json.loads(await asyncio.to_thread(cached.read_text))
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._read(path, stream_index, start_time, cached))
            self._pending[key] = pending
            pending.add_done_callback(lambda _f: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def _read(self, path: str, stream_index: int, start_time: float, cached: Path) -> list[float]:
        times = await read_keyframes(path, stream_index, start_time)

        def save() -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_text(json.dumps(times))
            os.replace(tmp, cached)

        try:
            await asyncio.to_thread(save)
        except OSError as err:
            _LOGGER.warning("could not cache the keyframes of %s: %s", path, err)
        return times


# -- the segment grid -------------------------------------------------------------------------

def media_end(plan: StreamPlan) -> float:
    """Seconds from the file's start to the start of the last video frame (the last audio
    packet for audio only): a segment whose start lies after it is never written."""
    duration = plan.duration or 0.0
    stream = plan.video or plan.audio or {}
    stream_duration = None
    with contextlib.suppress(TypeError, ValueError):
        stream_duration = float(stream.get("duration"))
    if stream_duration is None:
        tag = (stream.get("tags") or {}).get("DURATION") or (stream.get("tags") or {}).get("duration")
        if tag and re.match(r"^\d+:\d{2}:\d{2}(\.\d+)?$", tag):
            h, m, s = tag.split(":")
            stream_duration = int(h) * 3600 + int(m) * 60 + float(s)
    end = stream_duration if stream_duration else duration
    frame = 1.0 / plan.fps if plan.video is not None and plan.fps else 0.05
    return max(0.0, end - frame)


def uniform_grid(duration: float, last_start: float, length: float) -> list[float]:
    """Segment start times every ``length`` seconds for an item of ``duration`` seconds whose
    last frame starts at ``last_start``."""
    count = int(math.floor(last_start / length + 1e-9)) + 1 if duration > 0 else 1
    return [i * length for i in range(max(1, count))]


def keyframe_grid(keyframes: list[float], length: float) -> tuple[list[float], list[int]]:
    """Group the pictures that start at ``keyframes`` into segments of at least ``length``
    seconds: ``(segment start times, index of each segment's first keyframe)``. The first
    segment starts at 0 whatever the first keyframe's time."""
    if not keyframes:
        return [0.0], [0]
    starts, firsts = [0.0], [0]
    for i, t in enumerate(keyframes[1:], start=1):
        if t - starts[-1] >= length - 1e-6:
            starts.append(t)
            firsts.append(i)
    return starts, firsts


async def kill(proc: ffmpeg.FfmpegProcess) -> None:
    """End an HLS ffmpeg with SIGKILL: on SIGTERM it would close the segment it is writing and
    give the part it has the segment's name; killed, it leaves only a temporary file behind."""
    await proc.kill()


class _Run:
    """One ffmpeg of an HLS session: from ``first_unit`` on."""

    def __init__(self, proc: ffmpeg.FfmpegProcess, first_unit: int) -> None:
        self.proc = proc
        self.first_unit = first_unit
        self.cursor = first_unit  # the first unit of this run not seen on disk yet
        self.waiter: asyncio.Task[Any] | None = None
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self.proc.returncode is None


class HlsSession(Session):
    """A session answered with HLS playlists and segments.

    ``segment_length`` (s); ``keyframes``: the source's keyframe times when the video is
    copied (``None`` when encoding)."""

    kind = "hls"

    def __init__(self, *, segment_length: float, keyframes: list[float] | None = None,
                 subtitles_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.segment_length = segment_length
        self.subtitles_url = subtitles_url
        self.ext = "ts"
        duration = float(self.duration or 0.0)
        self.copy_mode = keyframes is not None
        if keyframes is not None:
            # Units are the source's groups of pictures.
            self.unit_times = [0.0, *keyframes[1:]] if keyframes else [0.0]
            self.starts, self.first_units = keyframe_grid(keyframes, segment_length)
        else:
            self.starts = uniform_grid(duration, media_end(self.plan), segment_length)
            self.unit_times = list(self.starts)
            self.first_units = list(range(len(self.starts)))
        self.ends = [*self.starts[1:], max(duration, self.starts[-1])]
        self._run: _Run | None = None
        self._lock = asyncio.Lock()
        self._source_name: str | None = None
        self.restarts = 0

    # -- description ------------------------------------------------------------------------
    def urls(self) -> dict[str, str | None]:
        return {"url": f"/api/playback/sessions/{self.id}/master.m3u8", "subtitles_url": self.subtitles_url}

    def processes(self) -> list[ffmpeg.FfmpegProcess]:
        run = self._run
        return [run.proc] if run is not None and run.running and run.proc.pid is not None else []

    @property
    def segment_count(self) -> int:
        return len(self.starts)

    def as_dict(self) -> dict[str, Any]:
        run = self._run
        return {
            **super().as_dict(),
            "segment_format": self.plan.segment_format,
            "segment_length": self.segment_length,
            "segments": self.segment_count,
            "restarts": self.restarts,
            "encoder_position": self.unit_times[min(run.cursor, len(self.unit_times) - 1)] if run else None,
        }

    def segment_for(self, seconds: float) -> int:
        """Index of the segment that holds ``seconds``."""
        index = 0
        for i, start in enumerate(self.starts):
            if start <= seconds + 1e-6:
                index = i
        return index

    def master_playlist(self) -> str:
        """The master playlist (one variant; RFC 8216 §4.3.4.2)."""
        attrs = [f"BANDWIDTH={max(1, int(self.plan.bandwidth))}"]
        if self.plan.width and self.plan.height and self.plan.video is not None:
            attrs.append(f"RESOLUTION={self.plan.width}x{self.plan.height}")
        if self.plan.codecs:
            attrs.append(f'CODECS="{self.plan.codecs}"')
        return (
            f"#EXTM3U\n#EXT-X-VERSION:{self._version}\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            f"#EXT-X-STREAM-INF:{','.join(attrs)}\nmedia.m3u8\n"
        )

    #: EXT-X-VERSION: 3 for decimal EXTINF durations (RFC 8216 §7).
    _version = 3

    def media_playlist(self) -> str:
        """The VOD media playlist of the whole item (RFC 8216 §4.3.3)."""
        durations = [max(0.001, end - start) for start, end in zip(self.starts, self.ends, strict=True)]
        target = max(1, max(round(d) for d in durations))
        lines = [
            "#EXTM3U", f"#EXT-X-VERSION:{self._version}", f"#EXT-X-TARGETDURATION:{target}",
            "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        for i, duration in enumerate(durations):
            lines += [f"#EXTINF:{duration:.6f},", f"segments/{i}.{self.ext}"]
        lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"

    # -- files ------------------------------------------------------------------------------
    def _units(self, segment: int) -> range:
        first = self.first_units[segment]
        last = self.first_units[segment + 1] if segment + 1 < len(self.first_units) else len(self.unit_times)
        return range(first, last)

    def _unit_path(self, unit: int) -> Path:
        return self.folder / f"u{unit}.{self.ext}"

    def _advance(self, run: _Run) -> None:
        while run.cursor < len(self.unit_times) and self._unit_path(run.cursor).exists():
            run.cursor += 1

    async def start_at(self, seconds: float) -> None:
        """Start ffmpeg at the segment holding ``seconds`` (so the first request finds it
        under way)."""
        async with self._lock:
            await self._restart(self.first_units[self.segment_for(seconds)])

    async def segment_files(self, segment: int) -> list[Path]:
        """The files that make up ``segment``, waiting for (or restarting ffmpeg at) it.

        Raises :class:`SegmentNotFound`, :class:`SegmentNotReady`, :class:`~.sessions.StreamFailed`."""
        if not 0 <= segment < self.segment_count:
            raise SegmentNotFound(f"segment {segment} does not exist (the playlist has {self.segment_count})")
        units = self._units(segment)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEGMENT_TIMEOUT
        while True:
            missing = [u for u in units if not self._unit_path(u).exists()]
            if not missing:
                return [self._unit_path(u) for u in units]
            async with self._lock:
                if self.closed:
                    raise StreamFailed("the session was stopped")
                await self._ensure(missing[0])
            if loop.time() > deadline:
                raise SegmentNotReady(f"segment {segment} is still being made; try again")
            await asyncio.sleep(_POLL)

    # -- ffmpeg runs --------------------------------------------------------------------------
    async def _ensure(self, unit: int) -> None:
        """Make sure some ffmpeg is about to write ``unit`` (called under the lock)."""
        run = self._run
        if run is not None and run.first_unit <= unit:
            self._advance(run)
            if run.running:
                gap = self.unit_times[unit] - self.unit_times[min(run.cursor, len(self.unit_times) - 1)]
                speed = run.proc.progress.speed or 1.0
                if gap <= max(2 * self.segment_length, speed * WAIT_BUDGET):
                    return
            elif run.error is not None:
                if unit <= run.cursor:
                    raise StreamFailed(f"ffmpeg could not make the stream: {run.error}")
            elif run.waiter is not None and run.waiter.done():
                # It ran to the end of the item from before this part and did not write it.
                raise SegmentNotFound(f"part {unit} of the stream was never written: the item ends before it")
        first_missing = unit
        while first_missing < len(self.unit_times) and self._unit_path(first_missing).exists():
            first_missing += 1
        await self._restart(first_missing)

    async def _restart(self, unit: int) -> None:
        old, self._run = self._run, None
        if old is not None and old.running:
            await kill(old.proc)
        if self.closed or unit >= len(self.unit_times):
            return
        if self.plan.burn_in and self._source_name is None:
            self._source_name = await asyncio.to_thread(self.link_source)
        start = self.unit_times[unit]
        seek = start + 0.0005 if self.copy_mode and start > 0 else start  # on the keyframe, not before
        args = hls_args(
            self.plan,
            start=seek,
            start_number=unit,
            keyframe_interval=self.segment_length,
            segment_pattern=f"u%d.{self.ext}",
            playlist=f"run{unit}.m3u8",
            source_name=self._source_name,
        )
        duration = (float(self.duration) - start) if self.duration else None
        proc = ffmpeg.FfmpegProcess(args, cwd=str(self.folder), duration=duration,
                                    description=f"hls session {self.id} of item {self.item_id} from {start:g} s")
        await proc.start()
        run = _Run(proc, unit)
        run.waiter = asyncio.ensure_future(self._watch(run))
        if old is not None:
            self.restarts += 1
        self._run = run
        self.state = "streaming"
        self.changed(f"ffmpeg {proc.pid} making segments from {start:g} s")

    async def _watch(self, run: _Run) -> None:
        try:
            await run.proc.wait()
        except ffmpeg.FfmpegCancelled:
            return
        except ffmpeg.FfmpegError as err:
            run.error = err.message
            self.error, self.state = err.message, "error"
            _LOGGER.warning("hls session %s: ffmpeg failed: %s", self.id, err.message)
            self.changed(f"ffmpeg failed: {err.message}")
            return
        self._advance(run)
        if self._run is run and not self.closed:
            self.state = "idle"
            self.changed("ffmpeg finished")

    async def terminate_processes(self) -> None:
        async with self._lock:
            run, self._run = self._run, None
        if run is not None:
            await kill(run.proc)
            if run.waiter is not None:
                await asyncio.gather(run.waiter, return_exceptions=True)

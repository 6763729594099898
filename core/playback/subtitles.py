"""Subtitles for streaming: text tracks as WebVTT sidecars, and the burn-in filters.

- **WebVTT sidecars** (W3C WebVTT, https://www.w3.org/TR/webvtt1/): ffmpeg's ``webvtt`` muxer
  converts a text track (SubRip, ASS/SSA, mov_text, WebVTT) once; the result is kept in
  ``<transcode_dir>/subtitles`` under a key made of the file's path, size, modification time and
  the stream index, so a changed file is converted again. :func:`shift_webvtt` moves every cue by
  the stream's start position (a progressive stream that starts at 600 s has its own time 0 there).
- **Image subtitles** (PGS, VobSub, DVB) cannot become text; when a client must see them they are
  drawn into the picture with the ``overlay`` filter (``scale2ref`` first when the subtitle canvas
  is not the video's size). The decision asks for burn-in only then.
- **Text burn-in** uses the ``subtitles`` filter (libass). It reads the subtitle track from the
  file itself, on the file's own timeline, while an input-seeked ffmpeg numbers frames from 0: the
  frames are moved to the file's time for the filter and back afterwards
  (``setpts=PTS+start/TB`` … ``setpts=PTS-STARTPTS``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_python

from .. import ffmpeg

_LOGGER = logging.getLogger(__name__)

#: ffprobe codec names of bitmap subtitle formats.
IMAGE_SUBTITLE_CODECS = frozenset({"hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle", "xsub", "dvb_teletext"})
#: ffprobe codec names ffmpeg can turn into WebVTT.
TEXT_SUBTITLE_CODECS = frozenset({"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text", "microdvd",
                                  "subviewer", "subviewer1", "sami", "realtext", "jacosub", "mpl2", "pjs",
                                  "stl", "vplayer"})
#: Seconds allowed for converting one subtitle track (ffmpeg reads the whole file for it).
EXTRACT_TIMEOUT = 300.0

WEBVTT_MIME = "text/vtt"

_TIMING = re.compile(
    r"^(?P<start>(?:\d+:)?\d{2}:\d{2}\.\d{3})\s+-->\s+(?P<end>(?:\d+:)?\d{2}:\d{2}\.\d{3})(?P<rest>.*)$"
)


class SubtitleError(ValueError):
    """A subtitle track cannot be sent as WebVTT: it does not exist, is a picture format, or
    ffmpeg failed to convert it. The message says which."""


def is_image_subtitle(stream: dict[str, Any]) -> bool:
    """True for a bitmap subtitle stream (ffprobe stream dict)."""
    return stream.get("codec_name") in IMAGE_SUBTITLE_CODECS


def overlay_image_subtitle(video: Any, subtitle: Any, sub_info: dict[str, Any], video_info: dict[str, Any]) -> Any:
    """Draw a bitmap subtitle stream (ffmpeg-python node ``subtitle``) onto ``video``.

    ``eof_action=pass`` keeps the video going after the last subtitle."""
    sw, sh = sub_info.get("width"), sub_info.get("height")
    vw, vh = video_info.get("width"), video_info.get("height")
    if sw and sh and vw and vh and (sw, sh) != (vw, vh):
        scaled = ffmpeg_python.filter_multi_output([subtitle, video], "scale2ref", w="main_w", h="main_h")
        subtitle, video = scaled[0], scaled[1]
    return ffmpeg_python.overlay(video, subtitle, eof_action="pass")


def draw_text_subtitle(video: Any, source_name: str, position: int, start: float) -> Any:
    """Draw text subtitle number ``position`` (among the file's subtitle streams) of the file
    ``source_name`` onto ``video`` whose frames start at 0 for file time ``start`` (seconds).

    ``source_name`` should be a plain name in the process's working directory (filter-graph
    escaping of arbitrary paths is avoided that way)."""
    if start > 0:
        video = video.filter("setpts", f"PTS+{start:.6f}/TB")
    video = video.filter("subtitles", filename=source_name, si=position)
    if start > 0:
        video = video.filter("setpts", "PTS-STARTPTS")
    return video


def _seconds(stamp: str) -> float:
    parts = stamp.split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[-3]) if len(parts) == 3 else 0
    return hours * 3600 + minutes * 60 + seconds


def _stamp(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def shift_webvtt(text: str, offset: float) -> str:
    """Move every cue of the WebVTT document ``text`` ``offset`` seconds earlier.

    Cues that end at or before the new time 0 are dropped; a cue showing at 0 starts at 0.
    Blocks without a timing line (the header, ``NOTE``, ``STYLE``, ``REGION``) are kept. Cue
    timestamps are always written as ``hh:mm:ss.ttt`` (WebVTT §4.1, "WebVTT timestamp"; ffmpeg
    leaves the hours out below one hour, which some TV players do not read)."""
    blocks = re.split(r"\r?\n\r?\n", text.replace("\r\n", "\n").strip("\n"))
    out: list[str] = []
    for block in blocks:
        lines = block.split("\n")
        for i, line in enumerate(lines):
            match = _TIMING.match(line.strip())
            if match:
                start = _seconds(match["start"]) - offset
                end = _seconds(match["end"]) - offset
                if end <= 0:
                    lines = []
                else:
                    lines[i] = f"{_stamp(max(0.0, start))} --> {_stamp(end)}{match['rest']}"
                break
        if lines:
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def webvtt_to_srt(text: str) -> str:
    """Convert a WebVTT document to SubRip: numbered cues, ``hh:mm:ss,ttt`` timestamps, cue
    settings, the header and ``NOTE``/``STYLE``/``REGION`` blocks left out (the SubRip format as
    players read it; WebVTT's ``<b>``, ``<i>``, ``<u>`` tags are SubRip's too)."""
    out: list[str] = []
    blocks = re.split(r"\n\n+", text.replace("\r\n", "\n").strip("\n"))
    for block in blocks:
        lines = block.split("\n")
        for i, line in enumerate(lines):
            match = _TIMING.match(line.strip())
            if match:
                start = _stamp(_seconds(match["start"])).replace(".", ",")
                end = _stamp(_seconds(match["end"])).replace(".", ",")
                payload = [re.sub(r"</?(?:c|v|lang|ruby|rt)(?:[.\s][^>]*)?>", "", p) for p in lines[i + 1:]]
                out.append(f"{len(out) + 1}\n{start} --> {end}\n" + "\n".join(payload))
                break
    return "\n\n".join(out) + "\n"


def shift_subtitles(text: str, offset: float, fmt: str = "vtt") -> str:
    """:func:`shift_webvtt` the WebVTT document ``text`` by ``offset`` seconds and return it as
    ``fmt``: ``vtt`` or ``srt`` (:func:`webvtt_to_srt`)."""
    shifted = shift_webvtt(text, offset)
    return webvtt_to_srt(shifted) if fmt == "srt" else shifted


#: Media types of the sidecar formats (``text/vtt``: W3C WebVTT §6.1; SubRip has no registered
#: type, ``application/x-subrip`` is what players accept).
SIDECAR_MIME = {"vtt": WEBVTT_MIME, "srt": "application/x-subrip"}


class SubtitleStore:
    """WebVTT conversions of text subtitle tracks, cached under ``folder``.

    One conversion per track at a time: concurrent requests for the same track wait for the
    same ffmpeg."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._pending: dict[str, asyncio.Future[str]] = {}

    @staticmethod
    def _key(path: str, st: os.stat_result, index: int) -> str:
        raw = f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{index}".encode("utf-8", "surrogateescape")
        return hashlib.sha256(raw).hexdigest()[:32]

    async def webvtt(self, path: str, stream: dict[str, Any]) -> str:
        """The whole track ``stream`` (an ffprobe stream dict of ``path``) as WebVTT text.

        Raises :class:`SubtitleError` (picture subtitles, conversion failure),
        ``FileNotFoundError``, :class:`~omnimedia.core.ffmpeg.FfmpegNotFound`."""
        codec = stream.get("codec_name")
        index = int(stream["index"])
        if codec in IMAGE_SUBTITLE_CODECS:
            raise SubtitleError(
                f"subtitle stream {index} is a picture format ({codec}) and cannot be sent as WebVTT; "
                "it can only be burnt into the video"
            )
        st = await asyncio.to_thread(os.stat, path)
        key = self._key(path, st, index)
        cached = self.folder / f"{key}.vtt"
        try:
            return await asyncio.to_thread(cached.read_text, encoding="utf-8")
        except FileNotFoundError:
            pass
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._convert(path, index, cached))
            self._pending[key] = pending
            pending.add_done_callback(lambda _f: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def _convert(self, path: str, index: int, cached: Path) -> str:
        from .command import webvtt_args  # late: command imports this module

        proc = ffmpeg.FfmpegProcess(webvtt_args(path, index), stdout="pipe", description=f"webvtt {index} of {path}")
        chunks: list[bytes] = []
        await proc.start()
        assert proc.stdout is not None

        async def read() -> None:
            while chunk := await proc.stdout.read(65536):  # type: ignore[union-attr]
                chunks.append(chunk)

        # The reader runs to the end of the pipe whatever happens: on Python 3.11 a process
        # whose stdout is left unread cannot be waited for (see progressive.Pump).
        reader = asyncio.ensure_future(read())
        try:
            await asyncio.wait_for(asyncio.shield(reader), EXTRACT_TIMEOUT)
            await proc.wait()
        except ffmpeg.FfmpegError as err:
            raise SubtitleError(f"subtitle stream {index} could not be converted to WebVTT: {err.message}") from err
        except TimeoutError:
            raise SubtitleError(
                f"converting subtitle stream {index} to WebVTT took longer than {EXTRACT_TIMEOUT:g} s"
            ) from None
        finally:
            if proc.returncode is None:
                await asyncio.shield(proc.terminate())
            await asyncio.gather(reader, return_exceptions=True)
        text = b"".join(chunks).decode("utf-8", "replace")
        if not text.startswith("WEBVTT"):
            raise SubtitleError(f"ffmpeg wrote no WebVTT for subtitle stream {index}")

        def save() -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, cached)

        try:
            await asyncio.to_thread(save)
        except OSError as err:  # a full or read-only disk only costs the cache
            _LOGGER.warning("could not cache WebVTT for %s stream %s: %s", path, index, err)
        return text

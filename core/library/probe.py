"""ffprobe, the way ffmpeg-python's ``ffmpeg.probe`` runs it, but on the event loop.

``ffmpeg.probe`` (ffmpeg-python 0.2) runs ``ffprobe -show_format -show_streams -of json FILE`` with a
blocking ``Popen.communicate()`` and no timeout, so a file that never ends (a FIFO, a stalled network
mount) would hold a thread forever. :func:`probe` runs the same command line as an asyncio
subprocess, kills it at the timeout, and raises ffmpeg-python's own :class:`ffmpeg.Error` on failure
so callers see the same error type as with ``ffmpeg.probe``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import ffmpeg

FFPROBE = "ffprobe"


class ProbeTimeout(Exception):
    """ffprobe did not answer within the timeout (seconds in ``args[1]``)."""


async def probe(
    path: str, timeout: float = 60.0, cmd: str = FFPROBE, *, show: tuple[str, ...] = ("-show_format", "-show_streams"),
) -> dict[str, Any]:
    """Return ffprobe's JSON (``{"format": {...}, "streams": [...]}``) for ``path``.

    ``show``: the ffprobe options that choose what to print (default: format and streams; e.g.
    ``("-select_streams", "0", "-read_intervals", "%+#1", "-show_frames")`` for the first frame).

    Raises :class:`ffmpeg.Error` (non-zero exit; ``.stderr`` holds ffprobe's message),
    :class:`ProbeTimeout`, ``FileNotFoundError`` when ffprobe itself is missing, and
    ``ValueError`` when ffprobe prints something that is not JSON.
    """
    args = [cmd, "-v", "error", *show, "-of", "json", path]
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise ProbeTimeout(path, timeout) from None
    if proc.returncode != 0:
        raise ffmpeg.Error("ffprobe", out, err)
    return json.loads(out.decode("utf-8", "replace"))


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _track(stream: dict[str, Any]) -> dict[str, Any]:
    tags = {k.lower(): v for k, v in (stream.get("tags") or {}).items()}
    disposition = stream.get("disposition") or {}
    track = {
        "index": stream.get("index"),
        "codec": stream.get("codec_name"),
        "language": tags.get("language"),
        "title": tags.get("title"),
        "default": bool(disposition.get("default")),
        "forced": bool(disposition.get("forced")),
    }
    if stream.get("codec_type") == "audio":
        track["channels"] = stream.get("channels")
        track["sample_rate"] = _int(stream.get("sample_rate"))
    return track


def summarize(info: dict[str, Any]) -> dict[str, Any]:
    """Reduce ffprobe's JSON to the item's technical columns.

    Returns ``{container, video_codec, audio_codec, width, height, duration (s), bitrate (bit/s),
    audio_tracks [{index, codec, language, title, default, forced, channels, sample_rate}],
    subtitle_tracks [{index, codec, language, title, default, forced}], has_video, has_audio,
    format_tags {}}``."""
    fmt = info.get("format") or {}
    streams = info.get("streams") or []
    # Cover art in MP3/FLAC/MP4 shows up as a video stream with the attached_pic disposition.
    video = [
        s for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    subs = [s for s in streams if s.get("codec_type") == "subtitle"]
    v0 = video[0] if video else {}
    duration = _float(fmt.get("duration"))
    if duration is None:
        durations = [_float(s.get("duration")) for s in streams]
        duration = max((d for d in durations if d is not None), default=None)
    bitrate = _int(fmt.get("bit_rate"))
    size = _int(fmt.get("size"))
    if bitrate is None and size and duration:
        bitrate = int(size * 8 / duration)
    return {
        "container": fmt.get("format_name"),
        "video_codec": v0.get("codec_name"),
        "audio_codec": audio[0].get("codec_name") if audio else None,
        "width": _int(v0.get("width")),
        "height": _int(v0.get("height")),
        "duration": duration,
        "bitrate": bitrate,
        "audio_tracks": [_track(s) for s in audio],
        "subtitle_tracks": [_track(s) for s in subs],
        "has_video": bool(video),
        "has_audio": bool(audio),
        "format_tags": {k.lower(): v for k, v in (fmt.get("tags") or {}).items()},
    }


def container_name(format_name: str | None, path: str) -> str | None:
    """ffprobe's demuxer list (``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"matroska,webm"``) → the one name
    the file really is, chosen by its extension (``mp4``, ``mkv``, ``webm``…)."""
    if not format_name:
        return None
    names = format_name.split(",")
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if ext in names:
        return ext
    if ext in ("mkv", "mka") and "matroska" in names:
        return ext
    if ext in ("m4v", "m4b") and "mp4" in names:
        return ext
    return names[0]


def error_text(err: BaseException, path: str | None = None) -> str:
    """A one-line, user-facing reason for a failed probe."""
    if isinstance(err, ffmpeg.Error):
        lines = [ln.strip() for ln in (err.stderr or b"").decode("utf-8", "replace").splitlines() if ln.strip()]
        detail = lines[-1] if lines else "ffprobe failed"
        if path and detail.startswith(path + ": "):
            detail = detail[len(path) + 2 :]
        return f"corrupt or unsupported file: {detail}"
    if isinstance(err, ProbeTimeout):
        return f"ffprobe timed out after {err.args[1]:g} s"
    if isinstance(err, FileNotFoundError):
        return "ffprobe is not installed (install ffmpeg)"
    return f"{type(err).__name__}: {err}"

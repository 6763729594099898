"""Checking a transcode's result before it may replace the original.

:func:`verify` passes only when every check does:

1. ffprobe reads the result;
2. it has as many video, audio and subtitle streams as the source, less those the transcoder
   reports it dropped on purpose (cover art — a video stream with the ``attached_pic``
   disposition — and data/attachment streams are not counted);
3. its video streams are in the expected codec (when the engine knows it), and its audio streams
   in the profile's audio codec when the profile encodes audio (``copy`` is not checked: a
   container that cannot hold a track makes the transcoder convert it);
4. its duration is within ``duration_tolerance`` percent of the source's (container durations
   from ffprobe's ``format``, else the longest stream), or within :data:`DURATION_SLACK`
   seconds: containers round durations to whole audio frames (an AAC frame is 1024 samples,
   23 ms at 44.1 kHz; MP4 hides the encoder's priming samples with an edit list, Matroska does
   not), which for a clip of a few seconds is already more than 0.5%;
5. its size divided by the source's lies within ``[min_size_ratio, max_size_ratio]``;
6. the result is whole: with ``full_decode`` ffmpeg decodes every video and audio frame with
   ``-xerror`` (stop at the first decoding error) into the ``null`` muxer, printing nothing at
   ``-v error`` and reaching the source's duration; without it, ffprobe reads the packets of the
   last ten seconds, which must end where the source does (:func:`tail_check`).

A failed check raises :class:`VerificationFailed` whose message says which and by how much.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import OmniMediaError
from ..ffmpeg import FFMPEG, FfmpegError, FfmpegProcess, Progress
from ..library.probe import FFPROBE, error_text, probe

STREAM_TYPES = ("video", "audio", "subtitle")
#: Seconds of duration difference always allowed (one or two audio frames; see check 4).
DURATION_SLACK = 0.1


class VerificationFailed(OmniMediaError):
    """The result did not pass a check; the message says which (the original is kept)."""


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and out not in (float("inf"), float("-inf")) and out > 0 else None


def streams_by_type(info: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{"video": [codec…], "audio": [...], "subtitle": [...]}`` from ffprobe's JSON, in stream
    order; cover art is not a video stream."""
    out: dict[str, list[str]] = {t: [] for t in STREAM_TYPES}
    for stream in info.get("streams") or []:
        kind = stream.get("codec_type")
        if kind not in out:
            continue
        if kind == "video" and (stream.get("disposition") or {}).get("attached_pic"):
            continue
        out[kind].append(str(stream.get("codec_name") or "unknown"))
    return out


def duration_of(info: Mapping[str, Any]) -> float | None:
    """Seconds: the container's duration, else the longest stream's; None when unknown."""
    duration = _float((info.get("format") or {}).get("duration"))
    if duration is not None:
        return duration
    streams = [_float(s.get("duration")) for s in info.get("streams") or []]
    return max((d for d in streams if d is not None), default=None)


def _plural(n: int, word: str) -> str:
    return f"{n} {word} stream{'s' if n != 1 else ''}"


def compare(
    source: Mapping[str, Any],
    result: Mapping[str, Any],
    *,
    source_size: int,
    result_size: int,
    video_codec: str | None,
    audio_codec: str | None,
    options: Mapping[str, Any],
    dropped: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Checks 2–5 on two ffprobe documents. ``dropped``: streams the transcoder says it left
    out on purpose (``[{"type", "codec", "reason"}]``, e.g. a subtitle the container cannot
    hold, with a profile that allows that); they are not expected in the result.
    ``audio_codec``: the codec every audio stream must have, or ``copy`` / None (not checked:
    a copied track may have been converted because the container could not hold it). Returns
    the measures (``streams``, ``duration``, ``source_duration`` seconds, ``size_ratio``).
    Raises :class:`VerificationFailed`."""
    src_streams, out_streams = streams_by_type(source), streams_by_type(result)
    left_out = {t: 0 for t in STREAM_TYPES}
    for entry in dropped:
        if entry.get("type") in left_out:
            left_out[entry["type"]] += 1
    for kind in STREAM_TYPES:
        expected = len(src_streams[kind]) - left_out[kind]
        if expected != len(out_streams[kind]):
            note = f" ({left_out[kind]} left out on purpose)" if left_out[kind] else ""
            raise VerificationFailed(
                f"the result has {_plural(len(out_streams[kind]), kind)}, expected {expected}{note}"
            )
    if video_codec:
        wrong = [c for c in out_streams["video"] if c != video_codec]
        if wrong:
            raise VerificationFailed(f"the result's video is {wrong[0]}, expected {video_codec}")
    if audio_codec and audio_codec != "copy":
        wrong = [c for c in out_streams["audio"] if c != audio_codec]
        if wrong:
            raise VerificationFailed(f"the result's audio is {wrong[0]}, expected {audio_codec}")
    src_duration, out_duration = duration_of(source), duration_of(result)
    if src_duration is None:
        raise VerificationFailed("the source's duration is unknown, so the result's cannot be checked")
    if out_duration is None:
        raise VerificationFailed("the result has no duration")
    off = abs(out_duration - src_duration) / src_duration * 100
    if off > options["duration_tolerance"] and abs(out_duration - src_duration) > DURATION_SLACK:
        raise VerificationFailed(
            f"the result lasts {out_duration:.3f} s, the source {src_duration:.3f} s: {off:.2f}% apart "
            f"(allowed {options['duration_tolerance']:g}%)"
        )
    ratio = result_size / source_size if source_size else float("inf")
    if not options["min_size_ratio"] <= ratio <= options["max_size_ratio"]:
        raise VerificationFailed(
            f"the result is {ratio:.3f}× the source's size ({result_size} of {source_size} bytes), outside "
            f"{options['min_size_ratio']:g}–{options['max_size_ratio']:g}"
        )
    return {"streams": out_streams, "duration": out_duration, "source_duration": src_duration,
            "size_ratio": round(ratio, 4)}


def _too_short(end: float, expected: float, tolerance: float) -> bool:
    return end < expected * (1 - tolerance / 100) and expected - end > DURATION_SLACK


async def tail_check(path: str, expected: float, tolerance: float, *, cmd: str = FFPROBE, timeout: float = 60.0) -> float:
    """Read the packets of the last seconds of ``path`` and return where the last one ends
    (seconds). A result cut short — a full disk, a killed muxer — keeps the duration its header
    was given at the start (Matroska writes it first), so the header alone cannot be trusted.
    Raises :class:`VerificationFailed` when ffprobe reports an error (ffmpeg 5.1 prints "File
    ended prematurely" and still exits 0) or the packets end more than ``tolerance`` percent
    (and :data:`DURATION_SLACK`) before ``expected`` seconds."""
    start = max(0.0, expected - 10.0)
    args = [cmd, "-v", "error", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0",
            "-read_intervals", f"{start:.3f}%", path]
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        raise
    problems = [line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    if proc.returncode != 0 or problems:
        raise VerificationFailed(f"reading the end of the result failed: {problems[-1] if problems else 'ffprobe failed'}")
    end = 0.0
    for line in out.decode("utf-8", "replace").splitlines():
        parts = line.strip().split(",")
        pts = _float(parts[0]) if parts else None
        if pts is None:
            continue
        length = (_float(parts[1]) or 0.0) if len(parts) > 1 else 0.0
        end = max(end, pts + length)
    if _too_short(end, expected, tolerance):
        raise VerificationFailed(
            f"the result's last packet ends at {end:.3f} s, the source lasts {expected:.3f} s: it was cut short"
        )
    return end


async def full_decode(
    path: str, *, duration: float | None = None, tolerance: float = 0.5,
    on_progress: Callable[[Progress], Any] | None = None, binary: str = FFMPEG,
) -> float | None:
    """Decode every video and audio frame of ``path`` (check 6); return the decoded duration
    (seconds, from ffmpeg's last progress report). Fails on a decoding error, on anything
    ffmpeg prints at ``-v error`` (a truncated file only gets "File ended prematurely" and exit
    status 0), and on a decoded duration short of ``duration`` by more than ``tolerance``
    percent. Raises :class:`VerificationFailed`, ``FfmpegNotFound``, ``FfmpegCancelled``."""
    args = ["-v", "error", "-xerror", "-i", path, "-map", "0:v?", "-map", "0:a?", "-f", "null", "-"]
    proc = FfmpegProcess(args, duration=duration, on_progress=on_progress, binary=binary,
                         description=f"decode check of {path}")
    try:
        async with proc:
            await proc.wait()
    except FfmpegError as err:
        raise VerificationFailed(f"decoding the result failed: {err.message}") from err
    problems = [line.strip() for line in proc.stderr_tail if line.strip()]
    if problems:
        raise VerificationFailed(f"decoding the result reported: {problems[-1]}")
    decoded = proc.progress.out_time
    if duration and decoded is not None and _too_short(decoded, duration, tolerance):
        raise VerificationFailed(f"only {decoded:.3f} s of the result could be decoded, the source lasts {duration:.3f} s")
    return decoded


async def verify(
    source_info: Mapping[str, Any],
    result_path: str,
    *,
    source_size: int,
    video_codec: str | None,
    audio_codec: str | None,
    options: Mapping[str, Any],
    dropped: Iterable[Mapping[str, Any]] = (),
    on_progress: Callable[[Progress], Any] | None = None,
    ffmpeg: str = FFMPEG,
    ffprobe: str = FFPROBE,
) -> dict[str, Any]:
    """Run every check on ``result_path`` against the source's ffprobe JSON ``source_info``.
    ``options``: the ``transcode -> verify`` settings; ``ffmpeg`` / ``ffprobe``: the binaries
    (the transcoder's own when it names them). Returns :func:`compare`'s measures plus
    ``size`` (bytes) and ``decoded`` (seconds decoded; None without a full decode) or
    ``last_packet`` (seconds, where the last packet ends). Raises :class:`VerificationFailed` (and
    ``FfmpegNotFound`` / ``FfmpegCancelled`` from the decode)."""
    try:
        result_info = await probe(result_path, cmd=ffprobe)
    except Exception as err:  # noqa: BLE001 - any probe failure means the result is unusable
        raise VerificationFailed(f"ffprobe cannot read the result: {error_text(err, result_path)}") from err
    size = os.stat(result_path).st_size
    report = compare(source_info, result_info, source_size=source_size, result_size=size,
                     video_codec=video_codec, audio_codec=audio_codec, options=options, dropped=dropped)
    report["size"] = size
    report["decoded"] = None
    expected = report["source_duration"]
    if options.get("full_decode"):
        report["decoded"] = await full_decode(
            result_path, duration=expected, tolerance=options["duration_tolerance"], on_progress=on_progress,
            binary=ffmpeg,
        )
    else:
        report["last_packet"] = await tail_check(result_path, expected, options["duration_tolerance"], cmd=ffprobe)
    return report

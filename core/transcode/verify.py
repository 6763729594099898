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
6. optionally (``full_decode``) ffmpeg decodes every video and audio frame with ``-xerror`` (stop
   at the first decoding error) into the ``null`` muxer.

A failed check raises :class:`VerificationFailed` whose message says which and by how much.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import OmniMediaError
from ..ffmpeg import FfmpegError, FfmpegProcess, Progress
from ..library.probe import error_text, probe

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


async def full_decode(
    path: str, *, duration: float | None = None, on_progress: Callable[[Progress], Any] | None = None
) -> None:
    """Decode every video and audio frame of ``path`` (check 6). Raises
    :class:`VerificationFailed` on a decoding error, ``FfmpegNotFound``, ``FfmpegCancelled``."""
    args = ["-v", "error", "-xerror", "-i", path, "-map", "0:v?", "-map", "0:a?", "-f", "null", "-"]
    proc = FfmpegProcess(args, duration=duration, on_progress=on_progress, description=f"decode check of {path}")
    try:
        async with proc:
            await proc.wait()
    except FfmpegError as err:
        raise VerificationFailed(f"decoding the result failed: {err.message}") from err


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
) -> dict[str, Any]:
    """Run every check on ``result_path`` against the source's ffprobe JSON ``source_info``.
    ``options``: the ``transcode -> verify`` settings. Returns :func:`compare`'s measures plus
    ``size`` (bytes) and ``decoded`` (bool). Raises :class:`VerificationFailed` (and
    ``FfmpegNotFound`` / ``FfmpegCancelled`` from the decode)."""
    try:
        result_info = await probe(result_path)
    except Exception as err:  # noqa: BLE001 - any probe failure means the result is unusable
        raise VerificationFailed(f"ffprobe cannot read the result: {error_text(err, result_path)}") from err
    size = os.stat(result_path).st_size
    report = compare(source_info, result_info, source_size=source_size, result_size=size,
                     video_codec=video_codec, audio_codec=audio_codec, options=options, dropped=dropped)
    report["size"] = size
    report["decoded"] = False
    if options.get("full_decode"):
        await full_decode(result_path, duration=report["duration"], on_progress=on_progress)
        report["decoded"] = True
    return report

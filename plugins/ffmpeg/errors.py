"""Errors of the ffmpeg transcoder, and picking the line of ffmpeg's stderr that explains one.

ffmpeg ends most failures with generic lines — ``Conversion failed!``, ``Error initializing
output stream 0:0 --`` (with nothing after the dashes), ``Error while processing the decoded
data for stream #0:0`` — printed *after* the line that says what went wrong (``No space left on
device``, ``Invalid data found when processing input``, ``Could not find tag for codec
pcm_s16le in stream #1, codec not currently supported in container``). :func:`telling_line`
skips the generic ones (source: the messages of ffmpeg 5.1's ``fftools/ffmpeg.c`` and
``ffmpeg_opt.c``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from omnimedia.core.ffmpeg import FfmpegError

#: Lines that only say *that* something failed.
_GENERIC = [
    re.compile(p, re.I)
    for p in (
        r"^conversion failed!?$",
        r"^error initializing output stream \d+:\d+ --\s*$",
        r"^error while processing the decoded data for stream",
        r"^error while opening encoder for output stream .* maybe incorrect parameters",
        r"^error initializing output stream \d+:\d+ -- error while opening encoder",
        r"^error reinitializing filters!?$",
        r"^failed to inject frame into filter network",
        r"^error parsing global options",
        r"^(video|audio|subtitle) encoding failed!?$",
        r"^error submitting (video|audio) frame to the encoder",
        r"encode failed: -?\d+\.?$",
        r"^exiting normally",
        r"^\s*(last message repeated|\[.*\] ?)\s*$",
    )
]
_WRAPPER = re.compile(r"^could not write header for output file", re.I)
_LAST_RESORT = re.compile(r"^conversion failed!?$", re.I)
#: Causes worth naming even when a later line also mentions an error, strongest first.
_CAUSES = (
    "the source is truncated", "no space left on device", "disk quota exceeded", "permission denied", "read-only file system",
    "no such file or directory", "not currently supported in container",
    "invalid data found when processing input", "input/output error", "unknown encoder", "cannot load", "no va display",
    "device creation failed", "mfx session", "experimental",
)
_ERROR_WORDS = ("error", "invalid", "no such file", "not found", "failed", "no space", "cannot", "could not",
                "unsupported", "not supported", "denied", "unknown", "incompatible")


def _generic(line: str) -> bool:
    return any(p.search(line) for p in _GENERIC)


def telling_line(lines: Sequence[str]) -> str:
    """The line of ``lines`` (stderr, oldest first) that best says why ffmpeg failed: the newest
    line naming a known cause (``No space left on device`` …), else the newest non-generic line
    with an error word, else the newest non-generic line, else the newest line other than
    ``Conversion failed!``; ``""`` for none.
    ``Could not write header … (incorrect codec parameters ?): <errno text>`` only repeats the
    muxer's reason printed above it, so a cause is looked for there last."""
    clean = [line.strip() for line in lines if line.strip()]
    specific = [line for line in clean if not _generic(line) and not _WRAPPER.search(line)]
    for pool in (specific, clean):
        for cause in _CAUSES:
            for line in reversed(pool):
                if cause in line.lower():
                    return line
        for line in reversed(pool):
            if not _generic(line) and any(w in line.lower() for w in _ERROR_WORDS):
                return line
    for line in reversed(clean):
        if not _generic(line):
            return line
    for line in reversed(clean):
        if not _LAST_RESORT.search(line):
            return line
    return clean[-1] if clean else ""


def clarified(err: FfmpegError) -> FfmpegError:
    """``err`` with its ``message`` (and ``str()``) set to :func:`telling_line` of its stderr."""
    line = telling_line(err.stderr_tail)
    if line and line != err.message:
        err.message = line
        err.args = (line,)
    return err


class TranscodePlanError(FfmpegError):
    """The job cannot be done as asked, found before ffmpeg runs: a stream the output container
    cannot hold (with ``subtitles: all``), the destination is the source, no video stream.
    ``returncode`` is ``None`` (nothing ran); ``message`` says what and which stream."""

    def __init__(self, message: str) -> None:
        super().__init__(0, [message])
        self.returncode = None  # type: ignore[assignment]
        self.message = message
        self.args = (message,)


class ProbeError(FfmpegError):
    """ffprobe could not read the source (corrupt, truncated to nothing, not media).
    ``returncode`` is ffprobe's exit status; ``message`` is its telling line, e.g.
    ``/media/x.mkv: Invalid data found when processing input``."""

    def __init__(self, returncode: int, stderr_tail: Sequence[str]) -> None:
        super().__init__(returncode, stderr_tail)
        clarified(self)


class TruncatedSource(FfmpegError):
    """The source ends before its own index says it should (a cut-off download or copy): ffmpeg
    stopped at the end of the data and exited 0, so the output would be short. ``message`` names
    the source and ffmpeg's warning (``File ended prematurely``, ``partial file``)."""

    def __init__(self, returncode: int, stderr_tail: Sequence[str]) -> None:
        super().__init__(returncode, stderr_tail)
        self.message = self.stderr_tail[-1]
        self.args = (self.message,)

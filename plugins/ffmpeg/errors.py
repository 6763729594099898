"""Errors of the ffmpeg transcoder. The line of ffmpeg's stderr that explains a failure is
picked by :func:`omnimedia.core.ffmpeg.telling_line` for every ffmpeg the hub runs."""

from __future__ import annotations

from collections.abc import Sequence

from omnimedia.core.ffmpeg import FfmpegError, telling_line

__all__ = ["telling_line"]

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


class TruncatedSource(FfmpegError):
    """The source ends before its own index says it should (a cut-off download or copy): ffmpeg
    stopped at the end of the data and exited 0, so the output would be short. ``message`` names
    the source and ffmpeg's warning (``File ended prematurely``, ``partial file``)."""

    def __init__(self, returncode: int, stderr_tail: Sequence[str]) -> None:
        super().__init__(returncode, stderr_tail)
        self.message = self.stderr_tail[-1]
        self.args = (self.message,)

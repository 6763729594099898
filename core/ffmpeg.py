"""Running ffmpeg as an asyncio subprocess: progress, errors, cancellation, no leaks.

Every ffmpeg the hub starts — a library transcode, a progressive stream, an HLS session, a
recording — goes through :class:`FfmpegProcess`, so they all share the same guarantees:

- the event loop never blocks: the process is an :mod:`asyncio` subprocess;
- progress comes from ``-progress pipe:N`` on a pipe of its own (not stdout, which stays free for
  media). ffmpeg writes ``key=value`` lines and ends each block with ``progress=continue`` or
  ``progress=end``; early blocks carry ``N/A`` for ``out_time_us``, ``bitrate``, ``speed`` and
  ``total_size`` (source: ffmpeg's ``fftools/ffmpeg.c`` ``print_report``; ``out_time_ms`` is,
  despite its name, also in microseconds, so ``out_time_us`` is read first);
- the last :data:`STDERR_TAIL_LINES` lines of stderr are kept, and :func:`telling_line` picks
  the one that explains a failure: ffmpeg ends most failures with generic lines (``Conversion
  failed!``, ``Error initializing output stream 0:0 --``) printed *after* the line that says what
  went wrong (``No space left on device``, ``Invalid data found when processing input``; source:
  the messages of ffmpeg 5.1's ``fftools/ffmpeg.c`` and ``ffmpeg_opt.c``);
- :meth:`FfmpegProcess.terminate` sends SIGTERM (ffmpeg finishes the current packet and closes
  its outputs), then SIGKILL after a grace period;
- the child gets ``PR_SET_PDEATHSIG`` = SIGKILL on Linux, so even a hub killed with ``kill -9``
  leaves no ffmpeg behind; every live process is also in :func:`running`, and
  :func:`terminate_all` ends them when the hub stops.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import logging
import os
import re
import shutil
import signal
import sys
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import OmniMediaError

_LOGGER = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
#: Lines of stderr kept for error messages.
STDERR_TAIL_LINES = 40
#: Seconds between SIGTERM and SIGKILL in :meth:`FfmpegProcess.terminate`.
TERMINATE_GRACE = 5.0
_PR_SET_PDEATHSIG = 1


class FfmpegNotFound(OmniMediaError):
    """The ffmpeg binary is not installed (or not on ``PATH``)."""

    def __init__(self, binary: str = FFMPEG) -> None:
        super().__init__(f"{binary} is not installed or not on PATH (Debian/Ubuntu: apt install ffmpeg)")
        self.binary = binary


class FfmpegError(OmniMediaError):
    """ffmpeg exited with a non-zero status. ``returncode``; ``stderr_tail`` (the last lines
    ffmpeg printed, newest last); ``message`` is the most telling of those lines."""

    def __init__(self, returncode: int, stderr_tail: Sequence[str]) -> None:
        self.returncode = returncode
        self.stderr_tail = list(stderr_tail)
        self.message = telling_line(self.stderr_tail) or f"ffmpeg exited with status {returncode}"
        super().__init__(self.message)


class FfmpegCancelled(OmniMediaError):
    """The process was ended by :meth:`FfmpegProcess.terminate` (or the hub stopping)."""


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


def which(binary: str = FFMPEG) -> str:
    """The full path of ``binary``. Raises :class:`FfmpegNotFound`."""
    path = binary if os.path.sep in binary else shutil.which(binary)
    if not path or not os.access(path, os.X_OK):
        raise FfmpegNotFound(binary)
    return path


@dataclass(slots=True)
class Progress:
    """One ``-progress`` block. ``out_time`` (seconds of output written, ``None`` while ffmpeg
    says N/A), ``total_size`` (bytes), ``speed`` (× real time), ``fps``, ``frame``,
    ``bitrate`` (kbit/s), ``percent`` (0–100 when the duration is known), ``done`` (the
    ``progress=end`` block)."""

    out_time: float | None = None
    total_size: int | None = None
    speed: float | None = None
    fps: float | None = None
    frame: int | None = None
    bitrate: float | None = None
    percent: float | None = None
    done: bool = False
    raw: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("out_time", "total_size", "speed", "fps", "frame", "bitrate", "percent", "done")}


def _number(value: str | None, kind: type = float) -> Any:
    if value is None:
        return None
    value = value.strip().rstrip("x").removesuffix("kbits/s")
    if not value or value.upper() == "N/A":
        return None
    try:
        return kind(float(value)) if kind is int else kind(value)
    except ValueError:
        return None


def parse_progress_block(block: dict[str, str], duration: float | None) -> Progress:
    """Turn one block of ``key=value`` pairs into :class:`Progress`. ``duration`` (seconds) of
    the output, when known, gives ``percent``."""
    out_us = _number(block.get("out_time_us"), int)
    if out_us is None:
        out_us = _number(block.get("out_time_ms"), int)  # microseconds too (ffmpeg quirk)
    out_time = out_us / 1_000_000 if out_us is not None and out_us >= 0 else None
    percent = None
    if out_time is not None and duration:
        percent = max(0.0, min(100.0, 100.0 * out_time / duration))
    done = block.get("progress") == "end"
    if done and duration:
        percent = 100.0
    return Progress(
        out_time=out_time,
        total_size=_number(block.get("total_size"), int),
        speed=_number(block.get("speed")),
        fps=_number(block.get("fps")),
        frame=_number(block.get("frame"), int),
        bitrate=_number(block.get("bitrate")),
        percent=percent,
        done=done,
        raw=dict(block),
    )


_LIVE: weakref.WeakSet[FfmpegProcess] = weakref.WeakSet()


def running() -> list[FfmpegProcess]:
    """The ffmpeg processes this interpreter started that have not exited yet."""
    return [p for p in _LIVE if p.returncode is None and p.pid is not None]


async def terminate_all(grace: float = TERMINATE_GRACE) -> None:
    """End every process in :func:`running` (SIGTERM, then SIGKILL after ``grace`` seconds)."""
    procs = running()
    if procs:
        await asyncio.gather(*(p.terminate(grace) for p in procs), return_exceptions=True)


# Looked up once here: the child between fork and exec must not load libraries or take locks.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class FfmpegProcess:
    """One ffmpeg run.

    ``args``: everything after the binary (an ffmpeg-python ``compile()`` without its first
    element, or a hand-made list); ``-progress``, ``-nostats`` and ``-nostdin`` are added.
    ``duration``: seconds of output expected, for ``percent``. ``on_progress``: called on the
    loop with each :class:`Progress`. ``stdout``: ``"pipe"`` makes :attr:`stdout` a
    :class:`asyncio.StreamReader` of the media ffmpeg writes to ``pipe:1``; ``"null"`` discards it.
    ``stdin``: ``"pipe"`` makes :attr:`stdin` a :class:`asyncio.StreamWriter` that feeds ``pipe:0``
    (``-i pipe:0``: live TV remuxes a tuner's stream this way); ``"null"`` gives ffmpeg no input.

    Use as ``async with FfmpegProcess(...) as proc: await proc.wait()`` — leaving the block ends a
    process still running. Raises :class:`FfmpegNotFound` from :meth:`start`.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        duration: float | None = None,
        on_progress: Callable[[Progress], Any] | None = None,
        stdout: Literal["pipe", "null"] = "null",
        stdin: Literal["pipe", "null"] = "null",
        binary: str = FFMPEG,
        stderr_lines: int = STDERR_TAIL_LINES,
        cwd: str | None = None,
        description: str = "",
    ) -> None:
        self.args = list(args)
        self.duration = duration
        self.on_progress = on_progress
        self.binary = binary
        self.cwd = cwd
        self.description = description or " ".join(self.args[-1:])
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self.progress = Progress()
        self.stdout: asyncio.StreamReader | None = None
        self.stdin: asyncio.StreamWriter | None = None
        self._stdout_mode = stdout
        self._stdin_mode = stdin
        self._proc: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[Any]] = []
        self._cancelled = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc else None

    def command(self, progress_fd: int | str = "N") -> list[str]:
        """The full command line, as it would be run (``progress_fd`` as a placeholder)."""
        return [self.binary, "-hide_banner", "-nostdin", "-nostats", "-progress", f"pipe:{progress_fd}", *self.args]

    async def start(self) -> FfmpegProcess:
        binary = which(self.binary)
        read_fd, write_fd = os.pipe()
        try:
            cmd = self.command(write_fd)
            cmd[0] = binary
            self._proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.PIPE if self._stdin_mode == "pipe" else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if self._stdout_mode == "pipe" else asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(write_fd,),
                cwd=self.cwd,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        _LIVE.add(self)
        self.stdout = self._proc.stdout if self._stdout_mode == "pipe" else None
        self.stdin = self._proc.stdin if self._stdin_mode == "pipe" else None
        self._readers = [
            asyncio.ensure_future(self._read_stderr()),
            asyncio.ensure_future(self._read_progress(read_fd)),
        ]
        _LOGGER.debug("ffmpeg %s started: pid %s", self.description, self._proc.pid)
        return self

    async def _read_stderr(self) -> None:
        assert self._proc and self._proc.stderr
        while line := await self._proc.stderr.readline():
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())

    async def _read_progress(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
        )
        block: dict[str, str] = {}
        try:
            while line := await reader.readline():
                key, sep, value = line.decode("utf-8", "replace").strip().partition("=")
                if not sep:
                    continue
                block[key.strip()] = value.strip()
                if key == "progress":
                    self.progress = parse_progress_block(block, self.duration)
                    block = {}
                    if self.on_progress is not None:
                        try:
                            self.on_progress(self.progress)
                        except Exception:  # a listener's bug must not stop the transcode
                            _LOGGER.exception("progress callback failed for ffmpeg %s", self.description)
        finally:
            transport.close()

    async def wait(self) -> int:
        """Wait for the exit; return 0. Raises :class:`FfmpegCancelled` when ended by
        :meth:`terminate`, :class:`FfmpegError` on a non-zero exit. Cancelling the caller's task
        terminates the process."""
        assert self._proc is not None, "start() first"
        try:
            code = await self._proc.wait()
            await asyncio.gather(*self._readers, return_exceptions=True)
        except asyncio.CancelledError:
            await asyncio.shield(self.terminate())
            raise
        if self._cancelled:
            raise FfmpegCancelled(f"ffmpeg {self.description} was stopped")
        if code != 0:
            raise FfmpegError(code, self.stderr_tail)
        return code

    async def terminate(self, grace: float = TERMINATE_GRACE) -> None:
        """End the process: SIGTERM (ffmpeg closes its outputs properly), then SIGKILL after
        ``grace`` seconds. Idempotent. A piped stdout nobody reads any more is drained meanwhile:
        on Python 3.11 a process whose pipe still holds data is never reported as exited."""
        await self._end(signal.SIGTERM, grace)

    async def kill(self) -> None:
        """End the process with SIGKILL at once — for outputs where a clean close does harm (the
        HLS muxer would save a half-written segment under its final name). Idempotent."""
        await self._end(signal.SIGKILL, TERMINATE_GRACE)

    async def _end(self, sig: signal.Signals, grace: float) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            await self._stop_readers()
            return
        self._cancelled = True
        drain = asyncio.ensure_future(self._drain_stdout())
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        finally:
            drain.cancel()
            await asyncio.gather(drain, return_exceptions=True)
        await self._stop_readers()

    async def _drain_stdout(self) -> None:
        reader = self.stdout
        if reader is None:
            return
        with contextlib.suppress(Exception):
            while await reader.read(1 << 16):
                pass

    async def _stop_readers(self) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    async def __aenter__(self) -> FfmpegProcess:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.terminate()


async def run(args: Sequence[str], **kwargs: Any) -> FfmpegProcess:
    """Start ffmpeg with ``args`` (see :class:`FfmpegProcess`) and wait for it to finish.
    Returns the finished process (``stderr_tail``, ``progress``). Raises :class:`FfmpegError`,
    :class:`FfmpegCancelled`, :class:`FfmpegNotFound`."""
    proc = FfmpegProcess(args, **kwargs)
    async with proc:
        await proc.wait()
    return proc

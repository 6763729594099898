"""The recorder: copies one tuner stream (MPEG-TS) to disk for one recording, as it comes.

No transcoding and bounded memory: chunks are gathered into batches (at most
:data:`MAX_BUFFER` bytes waiting, plus the one batch being written) and written by a worker
thread, so a slow disk never blocks the event loop; each part file is ``fsync``-ed when it closes.

Parts: ``<folder>/part-001.ts``, ``part-002.ts``, … — one per connection that delivered data.
A stall (no byte for ``stall_timeout`` seconds), a stream that ends before ``stop_at``, or a
broken connection (:class:`~.types.TunerUnavailable`) closes the part and opens a *gap*; the
recorder reconnects through ``open_stream()`` (at once, then every ``reconnect_delay`` seconds,
doubling up to :data:`MAX_RECONNECT_DELAY`) until ``stop_at``. :class:`~.types.TunerBusy` and
:class:`~.types.TunerUnavailable` while reconnecting are retried; :class:`~.types.UnknownChannel`
fails the recording (what was recorded is kept).

Files stay on 188-byte MPEG-TS packet boundaries (ISO/IEC 13818-1, 2.4.3.2: a transport packet is
188 bytes starting with the sync byte 0x47): the packet grid is found at the start of each part
and a trailing partial packet (a connection cut in the middle of one) is not written. Bytes before
the first sync byte are kept as they came.

Shapes (UTC epoch seconds, bytes):

- part ``{"path": str (absolute), "bytes": int, "start": float (first byte), "end": float | None
  (last byte; None while the part is open)}``
- gap ``{"start": float, "end": float | None (None while reconnecting), "reason": str}``

``on_update({"parts", "gaps", "size", "message"})`` is called (from one background task, in
order, never concurrently) when a part opens or closes, when a gap opens or closes, and at most
every :data:`PROGRESS_INTERVAL` seconds while data flows, so a hub that dies can resume: a
:class:`Recorder` given a recording whose ``parts`` are not empty corrects them from the files on
disk (the last update may be up to a few seconds old), continues with the next part number and
records the gap from the last part's end to the first byte of the new part.

See docs/recording.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..storage import fsync_dir
from .types import TunerError, TunerStream, UnknownChannel

__all__ = ["Recorder", "TS_PACKET", "part_name"]

_LOGGER = logging.getLogger(__name__)

#: Bytes in one MPEG-TS transport packet (ISO/IEC 13818-1).
TS_PACKET = 188
#: The sync byte every transport packet starts with.
SYNC_BYTE = 0x47
#: Longest wait between two reconnect attempts, seconds.
MAX_RECONNECT_DELAY = 30.0
#: Seconds between two progress updates while data flows.
PROGRESS_INTERVAL = 5.0
#: A batch is written once it holds this many bytes …
BATCH_BYTES = 256 * 1024
#: … or once this many seconds passed since the last write (low-bitrate radio services).
FLUSH_INTERVAL = 1.0
#: Bytes that may wait in memory while a write is in progress before reading pauses.
MAX_BUFFER = 4 * 1024 * 1024
#: A stream the tuner ends this many seconds (or less) before ``stop_at`` has simply ended:
#: devices count their ``duration`` from when they start sending, so they may end a moment early.
END_GRACE = 2.0
#: Seconds ``open_stream()`` may take at least (tuning an HDHomeRun takes a few seconds).
OPEN_TIMEOUT = 10.0
#: Seconds closing a stream may take before the recorder moves on.
CLOSE_TIMEOUT = 5.0
#: Seconds run() waits for the last on_update before it returns.
REPORT_TIMEOUT = 30.0

_PART_RE = re.compile(r"^part-(\d+)\.ts$")


def part_name(number: int) -> str:
    """``part-001.ts`` for 1 (three digits at least, more when needed)."""
    return f"part-{number:03d}.ts"


class _StopRecording(Exception):
    """Internal: the recording ends for good (``state``/``message`` say how)."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


class _DiskError(Exception):
    def __init__(self, path: Path, err: OSError) -> None:
        super().__init__(str(err))
        self.path = path
        self.err = err

    @property
    def full(self) -> bool:
        return self.err.errno in (errno.ENOSPC, errno.EDQUOT)

    def describe(self) -> str:
        what = os.strerror(self.err.errno) if self.err.errno else str(self.err)
        if self.full:
            return f"disk full: {self.path}: {what}"
        return f"cannot write {self.path}: {what}"


def _sync_offset(head: bytes | bytearray) -> int | None:
    """Where the packet grid starts in ``head``: the first offset with the sync byte at it and one
    and two packets further on. ``None`` when ``head`` shows no grid (not MPEG-TS, or too short)."""
    for k in range(min(TS_PACKET, len(head) - 2 * TS_PACKET)):
        if head[k] == SYNC_BYTE and head[k + TS_PACKET] == SYNC_BYTE and head[k + 2 * TS_PACKET] == SYNC_BYTE:
            return k
    return None


def _aligned(length: int, offset: int | None) -> int:
    """The longest prefix of ``length`` bytes that ends on a packet boundary of a grid starting at
    ``offset`` (all of it when there is no grid)."""
    if offset is None or length <= offset:
        return length
    return offset + (length - offset) // TS_PACKET * TS_PACKET


class _PartWriter:
    """One part file: takes chunks on the event loop, writes them in batches in a worker thread
    (one write at a time), keeps the file on packet boundaries, ``fsync``-s it on close."""

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.path = path
        self._loop = loop
        self._fd: int | None = None
        self._chunks: list[bytes] = []
        self._pending = 0  # bytes in _chunks
        self._queued = 0  # bytes handed to a write job
        self._sync: int | None = None
        self._grid_known = False
        self._job: asyncio.Future[None] | None = None
        self._last_write = loop.time()
        self.failure: OSError | None = None  # the first failed write
        self.written = 0  # bytes in the file (updated by the worker thread)
        self.received = 0
        self.dropped_tail = 0

    @property
    def buffered(self) -> int:
        return self._pending

    def feed(self, chunk: bytes) -> bool:
        """Take one chunk. Starts a write when a batch is ready and none is running; raises the
        ``OSError`` of a failed earlier write. Returns ``True`` when the caller must
        :meth:`drain` (too much waits in memory)."""
        self._chunks.append(chunk)
        self._pending += len(chunk)
        self.received += len(chunk)
        job = self._job
        if job is None or job.done():
            if job is not None:
                self._job = None
                self._check(job)
            if self._pending >= BATCH_BYTES or self._loop.time() - self._last_write >= FLUSH_INTERVAL:
                self._start_write(final=False)
        return self._pending >= MAX_BUFFER

    async def drain(self) -> None:
        """Wait for the running write and start the next until less than MAX_BUFFER waits."""
        while self._pending >= MAX_BUFFER:
            job = self._job
            if job is not None:
                await asyncio.shield(job)
                self._job = None
                self._check(job)
            self._start_write(final=False)

    def _check(self, job: asyncio.Future[None]) -> None:
        err = job.exception()
        if err is not None:
            self.failure = err if isinstance(err, OSError) else OSError(str(err))
            raise self.failure

    def _start_write(self, *, final: bool) -> None:
        if not self._chunks:
            return
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        if not self._grid_known:
            if len(data) >= 3 * TS_PACKET + TS_PACKET or final:
                self._sync = _sync_offset(data)
                self._grid_known = True
            else:
                self._chunks = [data]
                return  # wait for enough bytes to find the packet grid
        end = _aligned(self._queued + len(data), self._sync) - self._queued
        if final:
            self.dropped_tail = len(data) - end
            rest = b""
        else:
            rest = data[end:]
        self._chunks = [rest] if rest else []
        self._pending = len(rest)
        if end <= 0:
            return
        self._queued += end
        self._last_write = self._loop.time()
        self._job = self._loop.run_in_executor(None, self._write, memoryview(data)[:end])

    def _write(self, data: memoryview) -> None:  # worker thread
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
            fsync_dir(self.path.parent)
        while data:
            n = os.write(self._fd, data)
            self.written += n
            data = data[n:]

    def _finish(self, trim: bool) -> None:  # worker thread
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if trim:
                # a failed write may have left part of a packet: cut back to the last boundary
                size = os.fstat(fd).st_size
                keep = _aligned(size, self._sync)
                if keep != size:
                    os.ftruncate(fd, keep)
                self.written = keep
            os.fsync(fd)
        finally:
            os.close(fd)

    async def close(self) -> None:
        """Write what waits (whole packets), ``fsync`` and close the file. Raises
        :class:`_DiskError` when a write failed (the file keeps what was written, cut back to a
        packet boundary)."""
        failure: OSError | None = self.failure
        job, self._job = self._job, None
        if job is not None:
            try:
                await asyncio.shield(job)
            except OSError as err:
                failure = failure or err
        if failure is None:
            self._start_write(final=True)
            job, self._job = self._job, None
            if job is not None:
                try:
                    await asyncio.shield(job)
                except OSError as err:
                    failure = err
        self._chunks, self._pending = [], 0
        try:
            await asyncio.shield(self._loop.run_in_executor(None, self._finish, failure is not None))
        except OSError as err:
            failure = failure or err
        if failure is not None:
            raise _DiskError(self.path, failure) from failure

    def abandon(self) -> None:
        """Close the file descriptor without writing what waits (the task is being cancelled)."""
        self._chunks, self._pending = [], 0
        job = self._job
        if job is not None and not job.done():
            job.add_done_callback(lambda _f: self._close_fd())
        else:
            self._close_fd()

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)



def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class Recorder:
    """Records one recording into part files; see the module docstring.

    ``recording``: the recording as a dict (``id``, ``title``, ``channel``, ``padded_start`` are
    used when present; ``parts``/``gaps`` non-empty means a resume). ``open_stream()``: opens the
    tuner stream (the manager passes ``duration`` = seconds left); may raise the
    :class:`~.types.TunerError` kinds. ``folder``: where the parts go (created). ``stop_at``: UTC
    epoch seconds when recording ends. ``stall_timeout``: seconds without a byte before the stream
    counts as dropped. ``reconnect_delay``: seconds before the second reconnect attempt (the first
    is immediate), doubling up to 30. ``on_update``: awaited with ``{"parts", "gaps", "size",
    "message"}`` (see the module docstring); its errors are logged, never fatal.

    :meth:`run` returns ``{"state", "parts", "gaps", "size", "message"}`` with ``state``
    ``finished`` (no gaps), ``partial`` (gaps; what was recorded is complete otherwise),
    ``failed`` (nothing recorded, the channel is gone, or the disk is full or unwritable — parts
    are kept) or ``interrupted`` (``stop("shutdown")``: the parts stay for a resume). It never
    raises except ``CancelledError``. :meth:`stop` ends it early.
    """

    def __init__(
        self,
        recording: dict[str, Any],
        *,
        open_stream: Callable[[], Awaitable[TunerStream]],
        folder: Path,
        stop_at: float,
        stall_timeout: float,
        reconnect_delay: float,
        on_update: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        self.recording = recording
        self.folder = Path(folder)
        self.stop_at = float(stop_at)
        self.stall_timeout = max(0.1, float(stall_timeout))
        self.reconnect_delay = max(0.05, float(reconnect_delay))
        self._open_stream = open_stream
        self._on_update = on_update
        self._name = self._describe(recording)
        self._parts: list[dict[str, Any]] = [dict(p) for p in recording.get("parts") or []]
        self._gaps: list[dict[str, Any]] = [dict(g) for g in recording.get("gaps") or []]
        self._resuming = bool(self._parts)
        self._next_number = 1
        self._gap: dict[str, Any] | None = None  # the open gap, also in self._gaps
        self._message: str | None = None
        self._last_error: str | None = None
        self._stop_reason: str | None = None
        self._stop_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scope: asyncio.Timeout | None = None
        self._scope_reason: str | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._last_byte = 0.0  # loop time
        self._draining = False
        self._current: tuple[dict[str, Any], _PartWriter] | None = None
        self._reporter: asyncio.Task[None] | None = None
        self._report_again = False
        self._last_progress = 0.0
        self._tail_dropped = 0

    # -- public -----------------------------------------------------------------------------------
    def stop(self, reason: str = "user") -> None:
        """End the recording early. ``"user"``: it ends as ``finished`` (or ``partial``/``failed``
        as recorded so far); ``"shutdown"``: the hub is stopping, :meth:`run` returns ``state``
        ``interrupted`` and the parts stay for a resume. Safe before or during :meth:`run`, and
        more than once (the first reason wins). Call it from the event loop's thread."""
        if reason not in ("user", "shutdown"):
            raise ValueError(f"stop reason must be 'user' or 'shutdown', not {reason!r}")
        if self._stop_reason is None:
            self._stop_reason = reason
            _LOGGER.info("%s: stop requested (%s)", self._name, reason)
        if self._stop_event is not None:
            self._stop_event.set()
        self._expire("stop")

    @property
    def size(self) -> int:
        """Bytes recorded so far (on disk), every part counted."""
        total = 0
        for part in self._parts:
            total += int(part.get("bytes") or 0)
        return total

    async def run(self) -> dict[str, Any]:
        """Record until ``stop_at`` or :meth:`stop`; return the final fields (see the class)."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        if self._stop_reason is not None:
            self._stop_event.set()
        try:
            try:
                state, message = await self._record()
            except _StopRecording as stop:
                state, message = stop.state, stop.message
            except Exception as err:  # noqa: BLE001 - run() must report, not raise
                _LOGGER.exception("%s: recorder error", self._name)
                state, message = "failed", f"recorder error: {err!r}"
            result = self._result(state, message)
            await self._flush_reports()
            return result
        except asyncio.CancelledError:
            self._abandon()
            raise

    # -- the recording loop ---------------------------------------------------------------------
    async def _record(self) -> tuple[str, str | None]:
        try:
            await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise _StopRecording("failed", _DiskError(self.folder, err).describe()) from err
            raise _StopRecording("failed", f"cannot create the recording folder {self.folder}: "
                                           f"{err.strerror or err}") from err
        if self._resuming:
            await asyncio.to_thread(self._recover)
            self._publish()
        else:
            self._gap = self._initial_gap()
        failures = 0
        fatal: str | None = None
        while not self._stopping() and time.time() < self.stop_at:
            if failures:
                delay = min(MAX_RECONNECT_DELAY, self.reconnect_delay * 2 ** (failures - 1))
                if not await self._sleep(min(delay, self.stop_at - time.time())):
                    break
                if time.time() >= self.stop_at:
                    break
            try:
                stream = await self._open()
            except UnknownChannel as err:
                fatal = f"the channel cannot be received any more: {err}"
                self._last_error = str(err)
                _LOGGER.error("%s: %s", self._name, fatal)
                break
            except TunerError as err:
                failures += 1
                self._note_failure(str(err))
                continue
            except Exception as err:  # noqa: BLE001 - a plugin's bug must not end the recording
                failures += 1
                _LOGGER.warning("%s: opening the stream failed", self._name, exc_info=True)
                self._note_failure(f"opening the stream failed: {err!r}")
                continue
            if stream is None:  # stopped or out of time while opening
                break
            got_data, reason = await self._copy(stream)
            if reason in ("stop", "end"):
                break
            if got_data:
                failures = 0  # the first reconnect attempt is at once
            else:
                failures += 1  # later ones wait reconnect_delay, doubling
                self._note_failure(reason or "the tuner sent no data")
        return self._final_state(fatal)

    def _initial_gap(self) -> dict[str, Any]:
        """The time before the first byte: a gap only when the first byte comes more than
        ``stall_timeout`` after the padded start (or after now, without one)."""
        start = self.recording.get("padded_start")
        begin = min(float(start), time.time()) if isinstance(start, (int, float)) else time.time()
        return {"start": begin, "end": None, "reason": "the recording had not started yet", "_initial": True}

    def _stopping(self) -> bool:
        return self._stop_reason is not None

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless stopped; ``False`` when stopped."""
        assert self._stop_event is not None
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._stop_event.wait()
        return not self._stopping()

    def _note_failure(self, error: str) -> None:
        self._last_error = error
        self._message = f"retrying: {error}"
        _LOGGER.warning("%s: %s; retrying until %s", self._name, error, _clock(self.stop_at))
        self._publish()

    async def _open(self) -> TunerStream | None:
        loop = self._loop
        assert loop is not None
        left = self.stop_at - time.time()
        limit = min(max(OPEN_TIMEOUT, self.stall_timeout), left)
        self._scope_reason = None
        try:
            async with asyncio.timeout_at(loop.time() + limit) as scope:
                self._scope = scope
                if self._stopping():
                    self._expire("stop")
                return await self._open_stream()
        except TimeoutError:
            if self._scope_reason == "stop" or self._stopping() or time.time() >= self.stop_at - 0.05:
                return None
            raise TunerError(f"opening the stream took longer than {limit:g} s") from None
        finally:
            self._scope = None

    async def _copy(self, stream: TunerStream) -> tuple[bool, str | None]:
        """Copy one connection into a new part. Returns (got data, why it ended): ``"stop"``,
        ``"end"`` (stop_at reached, or the stream ended close to it) or a drop reason in words."""
        loop = self._loop
        assert loop is not None
        writer: _PartWriter | None = None
        part: dict[str, Any] | None = None
        reason: str | None = None
        self._scope_reason = None
        self._last_byte = loop.time()
        self._arm_watchdog()
        try:
            async with asyncio.timeout_at(loop.time() + max(0.0, self.stop_at - time.time())) as scope:
                self._scope = scope
                if self._stopping():
                    self._expire("stop")
                async for chunk in stream:
                    if not chunk:
                        continue
                    self._last_byte = now = loop.time()
                    if writer is None:
                        part, writer = self._open_part()
                    if writer.feed(chunk):
                        self._draining = True
                        try:
                            await writer.drain()
                        finally:
                            self._draining = False
                            self._last_byte = loop.time()
                    if now - self._last_progress >= PROGRESS_INTERVAL:
                        self._last_progress = now
                        self._publish()
            if self._stopping():
                reason = "stop"
            elif time.time() >= self.stop_at - END_GRACE:
                reason = "end"
            else:
                reason = "the tuner ended the stream early"
        except TimeoutError:
            if self._scope is not None and not self._scope.expired():
                reason = "the stream timed out"  # a TimeoutError from inside the tuner's stream
            elif self._scope_reason == "stall":
                reason = f"no data for {self.stall_timeout:g} s"
            elif self._scope_reason == "stop" or self._stopping():
                reason = "stop"
            else:
                reason = "end"
        except TunerError as err:
            reason = f"the stream broke: {err}"
        except OSError as err:
            if writer is not None and writer.failure is not None:
                reason = None  # a failed write: close() below raises it as a _DiskError
            else:
                _LOGGER.warning("%s: reading the stream failed", self._name, exc_info=True)
                reason = f"the stream broke: {err}"
        except Exception as err:  # noqa: BLE001 - a plugin's bug must not end the recording
            _LOGGER.warning("%s: reading the stream failed", self._name, exc_info=True)
            reason = f"the stream broke: {err!r}"
        finally:
            self._scope = None
            self._disarm_watchdog()
            await self._close_stream(stream)
        if writer is not None and part is not None:
            await self._close_part(part, writer, reason)
        if reason not in ("stop", "end"):
            if writer is not None:
                _LOGGER.warning("%s: %s; reconnecting", self._name, reason)
            self._last_error = reason
        return writer is not None, reason

    def _open_part(self) -> tuple[dict[str, Any], _PartWriter]:
        assert self._loop is not None
        now = time.time()
        path = self.folder / part_name(self._next_number)
        self._next_number += 1
        part: dict[str, Any] = {"path": str(path), "bytes": 0, "start": now, "end": None}
        writer = _PartWriter(path, self._loop)
        self._parts.append(part)
        self._current = (part, writer)
        self._close_gap(now)
        self._message = None
        self._last_progress = self._loop.time()
        _LOGGER.info("%s: recording into %s", self._name, path)
        self._publish()
        return part, writer

    async def _close_part(self, part: dict[str, Any], writer: _PartWriter, reason: str | None) -> None:
        assert self._loop is not None
        end = time.time() - max(0.0, self._loop.time() - self._last_byte)
        try:
            await writer.close()
        except _DiskError as err:
            part["bytes"] = writer.written
            part["end"] = max(part["start"], end)
            self._current = None
            _LOGGER.error("%s: %s", self._name, err.describe())
            self._publish()
            raise _StopRecording("failed", f"{err.describe()}; kept {self.size} bytes in "
                                           f"{len(self._parts)} part(s)") from err
        finally:
            self._current = None
            if writer.written == 0 and part in self._parts:
                self._parts.remove(part)  # nothing reached the disk: not a part
        part["bytes"] = writer.written
        part["end"] = max(part["start"], end)
        self._tail_dropped += writer.dropped_tail
        if writer.dropped_tail:
            _LOGGER.debug("%s: %s ends with a partial packet of %d bytes, not written",
                          self._name, writer.path.name, writer.dropped_tail)
        if reason not in ("stop", "end"):
            self._gap = {"start": part["end"], "end": None, "reason": reason or "the stream broke"}
            self._gaps.append(self._gap)
            self._message = f"reconnecting: {reason}"
        _LOGGER.info("%s: %s closed, %d bytes", self._name, writer.path.name, writer.written)
        self._publish()

    def _close_gap(self, now: float) -> None:
        gap, self._gap = self._gap, None
        if gap is None:
            return
        if gap.pop("_initial", False):
            # the first connection: a late start counts only beyond the stall timeout
            if now - gap["start"] <= self.stall_timeout:
                return
            gap["reason"] = (f"the first data arrived {_duration(now - gap['start'])} late"
                             + (f" ({self._last_error})" if self._last_error else ""))
            self._gaps.append(gap)
        gap["end"] = now
        if self._last_error and self._last_error not in gap["reason"]:
            gap["reason"] += f"; then {self._last_error}"
        self._last_error = None

    async def _close_stream(self, stream: TunerStream) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await stream.close()
        except (Exception, TimeoutError):  # noqa: BLE001 - a stream that will not close is dropped
            _LOGGER.debug("%s: closing the stream failed", self._name, exc_info=True)

    # -- the stall watchdog -----------------------------------------------------------------------
    def _arm_watchdog(self) -> None:
        assert self._loop is not None
        self._watchdog = self._loop.call_later(self._tick_interval(), self._tick)

    def _disarm_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _tick_interval(self) -> float:
        return min(0.5, self.stall_timeout / 4)

    def _tick(self) -> None:
        assert self._loop is not None
        if self._scope is None:
            return
        if not self._draining and self._loop.time() - self._last_byte >= self.stall_timeout:
            self._expire("stall")
            return
        if time.time() >= self.stop_at:  # the wall clock may have stepped since the scope began
            self._expire("end")
            return
        self._watchdog = self._loop.call_later(self._tick_interval(), self._tick)

    def _expire(self, reason: str) -> None:
        scope = self._scope
        if scope is None or self._loop is None or scope.expired():
            return
        self._scope_reason = reason
        with contextlib.suppress(RuntimeError):
            scope.reschedule(self._loop.time())

    # -- resume ------------------------------------------------------------------------------------
    def _recover(self) -> None:  # worker thread
        """Correct the parts of an interrupted run from the files on disk, adopt part files the
        last run wrote but could not report, and open the gap from the last part's end."""
        listed: set[str] = set()
        numbers = [0]
        for part in self._parts:
            path = Path(part["path"])
            if not path.is_absolute():
                path = self.folder / path
                part["path"] = str(path)
            listed.add(path.name)
            if m := _PART_RE.match(path.name):
                numbers.append(int(m.group(1)))
            self._correct(part, path)
        kept = []
        for part in self._parts:
            if part["bytes"] > 0:
                kept.append(part)
            elif part.get("missing") and isinstance(part.get("start"), (int, float)) and part.get("end"):
                # its data is gone: the time it covered is a gap now
                self._gaps.append({"start": part["start"], "end": part["end"],
                                   "reason": f"{Path(part['path']).name} is missing"})
        self._parts = kept
        orphans = []
        for entry in sorted(self.folder.glob("part-*.ts")):
            m = _PART_RE.match(entry.name)
            if not m:
                continue
            numbers.append(int(m.group(1)))
            if entry.name not in listed:
                orphans.append((int(m.group(1)), entry))
        for _number, path in sorted(orphans):
            try:
                st = path.stat()
            except OSError:
                continue
            if st.st_size == 0:
                continue
            # when it started is not known: after everything known before its last write
            known = [t for t in (*(p.get("end") for p in self._parts), *(g.get("end") for g in self._gaps))
                     if isinstance(t, (int, float)) and t <= st.st_mtime]
            start = max(known, default=st.st_mtime)
            part = {"path": str(path), "bytes": 0, "start": start, "end": None}
            self._correct(part, path)
            self._parts.append(part)
            _LOGGER.warning("%s: adopted %s, which the last run wrote but did not report", self._name, path)
        self._parts.sort(key=lambda p: (_number_of(p["path"]), p.get("start") or 0))
        self._next_number = max(numbers) + 1
        last_end = max((p["end"] for p in self._parts if isinstance(p.get("end"), (int, float))), default=None)
        if last_end is None:
            # nothing usable on disk: start as a new recording (a late start is a gap)
            self._gaps = [g for g in self._gaps if isinstance(g.get("end"), (int, float))]
            self._gap = self._initial_gap()
            _LOGGER.info("%s: resuming with nothing usable on disk; next part %s", self._name,
                         part_name(self._next_number))
            return
        # gaps the last run left open (or closed at its shutdown) are replaced by the gap from
        # the last byte on disk to the first byte of the new part
        self._gaps = sorted((g for g in self._gaps
                             if isinstance(g.get("end"), (int, float)) and g.get("start", 0) < last_end - 1e-3),
                            key=lambda g: g["start"])
        self._gap = {"start": last_end, "end": None, "reason": "the hub was not running"}
        self._gaps.append(self._gap)
        _LOGGER.info("%s: resuming after %s: %d part(s), %d bytes on disk; next part %s",
                     self._name, _clock(last_end), len(self._parts), self.size, part_name(self._next_number))

    def _correct(self, part: dict[str, Any], path: Path) -> None:  # worker thread
        try:
            st = path.stat()
        except OSError as err:
            if part.get("bytes"):
                _LOGGER.warning("%s: part %s is missing (%s); its time counts as a gap", self._name, path,
                                err.strerror)
            part["bytes"] = 0
            part["missing"] = True
            return
        size = st.st_size
        try:
            with open(path, "r+b") as fh:
                offset = _sync_offset(fh.read(4 * TS_PACKET))
                keep = _aligned(size, offset)
                if keep != size:
                    fh.truncate(keep)
                    fh.flush()
                    os.fsync(fh.fileno())
                    _LOGGER.info("%s: %s ended in the middle of a packet: cut %d bytes", self._name,
                                 path.name, size - keep)
                    size = keep
        except OSError as err:
            _LOGGER.warning("%s: cannot check %s: %s", self._name, path, err.strerror)
        if part.get("bytes") != size:
            _LOGGER.info("%s: %s holds %d bytes (last reported %s)", self._name, path.name, size, part.get("bytes"))
        part["bytes"] = size
        start = part.get("start")
        if part.get("end") is None or (isinstance(start, (int, float)) and part["end"] < start):
            part["end"] = max(float(start), st.st_mtime) if isinstance(start, (int, float)) else st.st_mtime

    # -- reporting -------------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        if self._current is not None:
            part, writer = self._current
            part["bytes"] = writer.written
        return {
            "parts": [dict(p) for p in self._parts],
            "gaps": [{k: v for k, v in g.items() if not k.startswith("_")} for g in self._gaps],
            "size": self.size,
            "message": self._message,
        }

    def _publish(self) -> None:
        """Send the current fields to ``on_update`` soon (coalesced: one call at a time)."""
        if self._reporter is not None and not self._reporter.done():
            self._report_again = True
            return
        self._report_again = False
        assert self._loop is not None
        self._reporter = self._loop.create_task(self._report(), name=f"recorder update {self._name}")

    async def _report(self) -> None:
        while True:
            try:
                await self._on_update(self._snapshot())
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failed update must not stop the recording
                _LOGGER.warning("%s: on_update failed", self._name, exc_info=True)
            if not self._report_again:
                return
            self._report_again = False

    async def _flush_reports(self) -> None:
        if self._reporter is None:
            return
        try:
            async with asyncio.timeout(REPORT_TIMEOUT):
                await asyncio.shield(self._reporter)
        except TimeoutError:
            _LOGGER.warning("%s: on_update did not return within %g s", self._name, REPORT_TIMEOUT)
        except Exception:  # noqa: BLE001 - logged by _report
            pass

    # -- the end ---------------------------------------------------------------------------------
    def _final_state(self, fatal: str | None) -> tuple[str, str | None]:
        now = min(time.time(), self.stop_at) if self._stop_reason != "shutdown" else time.time()
        if self._gap is not None:
            gap, self._gap = self._gap, None
            if gap.pop("_initial", False):
                if self.size and now - gap["start"] > self.stall_timeout:
                    gap["end"] = now
                    self._gaps.append(gap)
            else:
                gap["end"] = max(gap["start"], now)
                if self._last_error and self._last_error not in gap["reason"]:
                    gap["reason"] += f"; then {self._last_error}"
                if self._stop_reason is None and gap["end"] >= self.stop_at and gap["end"] - gap["start"] <= END_GRACE:
                    self._gaps.remove(gap)  # the stream ended a moment before the end: not a gap
        if self._stop_reason == "shutdown":
            return "interrupted", "the hub stopped during the recording; it resumes when the hub starts again"
        if fatal is not None:
            return "failed", fatal + (f"; kept {self.size} bytes in {len(self._parts)} part(s)" if self.size else "")
        user = self._stop_reason == "user"
        if self.size == 0:
            if user:
                return "failed", "stopped by the user before anything was recorded"
            return "failed", "nothing was recorded: " + (self._last_error or "the tuner sent no data")
        if self._gaps:
            missing = sum(max(0.0, g["end"] - g["start"]) for g in self._gaps)
            reasons = "; ".join(dict.fromkeys(g["reason"] for g in self._gaps))
            message = (f"{len(self._gaps)} gap{'s' if len(self._gaps) > 1 else ''} "
                       f"({_duration(missing)} missing): {reasons}")
            return "partial", message + ("; stopped by the user" if user else "")
        return "finished", "stopped by the user" if user else None

    def _result(self, state: str, message: str | None) -> dict[str, Any]:
        self._message = message
        fields = self._snapshot()
        fields["state"] = state
        log = _LOGGER.info if state in ("finished", "interrupted") else _LOGGER.warning
        log("%s: %s, %d bytes in %d part(s)%s", self._name, state, fields["size"], len(fields["parts"]),
            f": {message}" if message else "")
        self._publish()
        return fields

    def _abandon(self) -> None:
        """The task is cancelled (a crash, as far as the recording is concerned): close what is
        open without waiting; the parts stay as they are for a resume."""
        self._disarm_watchdog()
        if self._current is not None:
            self._current[1].abandon()
            self._current = None
        if self._reporter is not None and not self._reporter.done():
            self._reporter.cancel()

    @staticmethod
    def _describe(recording: dict[str, Any]) -> str:
        bits = []
        if recording.get("id") is not None:
            bits.append(f"recording {recording['id']}")
        if recording.get("title"):
            bits.append(repr(recording["title"]))
        if recording.get("channel"):
            bits.append(f"on {recording['channel']}")
        return " ".join(bits) or "recording"


def _number_of(path: str) -> int:
    m = _PART_RE.match(Path(path).name)
    return int(m.group(1)) if m else 0


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(epoch))

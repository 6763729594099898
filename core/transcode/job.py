"""One job from start to finish: check the source, transcode into a temporary file, verify,
decide, replace — and what happens when any of it fails or the hub stops halfway.

Outcomes (``transcode_jobs.state`` and ``message``):

- ``done`` — replaced (``transcode_processed.outcome = replaced``), or the original kept because
  the result was not smaller by ``minimum_savings`` percent (``kept_original``);
- ``failed`` — the source is gone, unreadable, or changed during the job; ffmpeg is missing or
  failed (its most telling line, e.g. "No space left on device"); the result failed verification
  (recorded as ``kept_original`` so the same settings are not tried on that file again);
- ``skipped`` — no video stream, or the file (by content) was already processed with these
  settings;
- ``paused`` / ``cancelled`` / ``queued`` — stopped by the user, or by the hub stopping.

In every case but a replace the temporary file is removed and the original is untouched; the
order of the replace itself is in :mod:`.replace`. :func:`recover` finishes or undoes what a
killed hub left behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from typing import TYPE_CHECKING, Any

from ..ffmpeg import FFMPEG, FfmpegCancelled, FfmpegError, FfmpegNotFound, Progress
from ..library.probe import FFPROBE, error_text, probe
from .fingerprint import FileState, fingerprint, fingerprint_async, settings_hash
from .replace import checkpoint, fsync_file, install, output_paths, remove_quietly
from .verify import VerificationFailed, duration_of, streams_by_type, verify

if TYPE_CHECKING:
    from .manager import TranscodeManager

_LOGGER = logging.getLogger(__name__)


#: action → (state, message) of a job stopped by it
STOPPED = {
    "pause": ("paused", "paused by the user"),
    "cancel": ("cancelled", "cancelled by the user"),
    "requeue": ("queued", "the queue was paused; the job starts again when it resumes"),
    "stop": ("queued", "the hub stopped; the job starts again"),
}


class JobStop(Exception):
    """Ends a job with ``state`` and ``message``."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


def human_size(size: float) -> str:
    """Bytes in binary units, for messages (``1.5 GiB``)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


class JobRun:
    """Runs one claimed job (state ``running``) in its own task.

    ``action`` is set by the queue before it cancels the task: ``pause``, ``cancel``,
    ``requeue`` (the whole queue was paused) or ``stop`` (the hub is stopping); it decides the
    state the job is left in. Once ``committing`` is true the replace is under way and cannot be
    cancelled any more."""

    def __init__(self, manager: TranscodeManager, job: dict[str, Any]) -> None:
        self.manager = manager
        self.store = manager.store
        self.job = job
        self.id: int = job["id"]
        self.action: str | None = None
        self.committing = False
        self.finished = False
        self.task: asyncio.Task[None] | None = None
        #: set once the job has left the queue's hands (finished, stopped or never started)
        self.ended = asyncio.Event()
        self.temp: str | None = None
        self.progress = 0.0
        self.speed: float | None = None
        self.eta: float | None = None
        self._last_emit = 0.0
        self._phases_seen: set[str] = set()

    # -- the run --------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            if self.finished:
                return
            remove_quietly(self.temp)
            state, message = STOPPED[self.action or "stop"]
            await self._finish(state, message, progress=0.0)
        except JobStop as stop:
            remove_quietly(self.temp)
            await self._finish(stop.state, stop.message)
        except Exception as err:  # noqa: BLE001 - a job's bug must not take the queue down
            _LOGGER.exception("transcode job %s failed", self.id)
            remove_quietly(self.temp)
            await self._finish("failed", f"unexpected error: {type(err).__name__}: {err}")

    async def _finish(self, state: str, message: str, **fields: Any) -> None:
        self.finished = True
        # a temporary file that could not be removed stays recorded, for the next start
        temp_left = self.temp if self.temp and os.path.exists(self.temp) else None
        job = await self.store.update_job(
            self.id, state=state, message=message, temp_path=temp_left, speed=None,
            finished_at=None if state in ("queued", "paused") else time.time(), **fields,
        )
        if job is not None:
            self.job = job
            self.manager.emit(job)

    async def _run(self) -> None:
        manager, job = self.manager, self.job
        item = (await self.store.items([job["item_id"]])).get(job["item_id"]) if job["item_id"] else None
        if item is None:
            raise JobStop("failed", "the media item is no longer in the library")
        source = item["path"]
        transcoder = manager.transcoders.get(job["transcoder"] or "")
        if transcoder is None:
            raise JobStop("failed", f"the transcoder {job['transcoder']!r} is not configured (any more); "
                                    f"configured: {', '.join(manager.transcoders) or 'none'}")
        settings = job["settings"] or {}
        try:
            before = await asyncio.to_thread(FileState.of, source)
            source_fp = await fingerprint_async(source)
        except FileNotFoundError:
            raise JobStop("failed", f"the file is gone: {source}") from None
        except OSError as err:
            raise JobStop("failed", f"cannot read {source}: {err.strerror or err}") from None
        shash = settings_hash(transcoder.platform, settings)
        done = await self.store.find_processed(source_fp, shash)
        if done is not None:
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(done["at"]))
            raise JobStop("skipped", f"already processed with these settings ({done['outcome']} on {when}, "
                                     f"as {done['path']}); recognised by content")
        try:
            info = await probe(source)
        except Exception as err:  # noqa: BLE001 - every probe failure is "unreadable"
            raise JobStop("failed", f"cannot read the source: {error_text(err, source)}") from None
        if not streams_by_type(info)["video"]:
            raise JobStop("skipped", "no video stream: audio-only files are not transcoded")
        duration = duration_of(info)
        final, temp = output_paths(source, await self._extension(transcoder, source, settings))
        if final != source and os.path.lexists(final):
            raise JobStop("failed", f"the result would overwrite another file: {final}")
        self.temp = temp
        self.job = job = await self.store.update_job(
            self.id, state="running", path=source, temp_path=temp, fingerprint=source_fp, size_before=before.size,
            duration=duration, progress=0.0, speed=None, message=None, encoder=None, size_after=None,
        ) or job
        manager.emit(job)
        remove_quietly(temp)  # a leftover of the same name is never ours to keep

        try:
            result = await transcoder.transcode(source, temp, settings, duration=duration, on_progress=self._on_progress)
        except FfmpegCancelled:
            raise asyncio.CancelledError from None
        except FfmpegNotFound as err:
            raise JobStop("failed", str(err)) from None
        except FfmpegError as err:
            raise JobStop("failed", await _disk_full(temp, f"ffmpeg failed: {err.message}")) from None
        except OSError as err:
            raise JobStop("failed", await _disk_full(temp, f"the transcoder failed: {err.strerror or err}")) from None
        except (asyncio.CancelledError, JobStop):
            raise
        except Exception as err:  # noqa: BLE001 - a plugin's error, reported on the job
            raise JobStop("failed", f"the transcoder failed: {type(err).__name__}: {err}") from None
        if not os.path.exists(temp):
            raise JobStop("failed", "the transcoder finished but wrote no file")
        result = result or {}
        if result.get("extension"):  # the transcoder's word on the container it wrote
            final = output_paths(source, str(result["extension"]))[0]
            if final != source and os.path.lexists(final):
                raise JobStop("failed", f"the result would overwrite another file: {final}")
        try:
            await asyncio.to_thread(fsync_file, temp)
        except OSError as err:
            raise JobStop("failed", f"writing the result failed: {err.strerror or err}") from None
        checkpoint("encoded", job_id=self.id, source=source, temp=temp, final=final)
        encoder = result.get("encoder")
        self.progress, self.speed, self.eta = 0.0, None, None
        self.job = job = await self.store.update_job(
            self.id, state="verifying", progress=0.0, speed=None, encoder=encoder
        ) or job
        manager.emit(job)

        base = {"fingerprint": source_fp, "settings_hash": shash, "profile": job["profile"],
                "library_id": item["library_id"], "job_id": self.id, "size_before": before.size}
        try:
            video_codec = await self._expected_codec(transcoder, settings, encoder)
            checkpoint("verifying", job_id=self.id, source=source, temp=temp, final=final)
            report = await verify(
                info, temp, source_size=before.size, video_codec=video_codec,
                audio_codec=settings.get("audio") or settings.get("audio_codec"), options=manager.settings["verify"],
                dropped=result.get("dropped") or (), on_progress=self._on_progress,
                ffmpeg=getattr(transcoder, "binary", None) or FFMPEG,
                ffprobe=getattr(transcoder, "ffprobe", None) or FFPROBE,
            )
        except VerificationFailed as err:
            full = await _disk_full(temp, "")
            if full:  # a full disk is not the file's fault: no record, so a retry is possible
                raise JobStop("failed", f"{full}verification failed: {err}; the original is kept") from None
            size = _size(temp)
            remove_quietly(temp)
            await self._record(base, "kept_original", source, size, "failed",
                               f"verification failed: {err}; the original is kept")
            return
        except FfmpegNotFound as err:
            raise JobStop("failed", str(err)) from None
        except FfmpegCancelled:
            raise asyncio.CancelledError from None
        checkpoint("verified", job_id=self.id, source=source, temp=temp, final=final)

        size_after = report["size"]
        saved = before.size - size_after
        percent = 100.0 * saved / before.size if before.size else 0.0
        minimum = manager.settings["minimum_savings"]
        if saved <= 0 or percent < minimum:
            remove_quietly(temp)
            if saved <= 0:
                why = f"the result ({human_size(size_after)}) is not smaller than the original ({human_size(before.size)})"
            else:
                why = f"the result saves only {percent:.1f}% ({human_size(saved)}); the minimum is {minimum:g}%"
            await self._record(base, "kept_original", source, size_after, "done", f"kept the original: {why}")
            return

        changed = await asyncio.to_thread(_changes, source, before, source_fp)
        if changed:
            raise JobStop("failed", f"the source changed during the job ({', '.join(changed)}): the result was "
                                    "discarded and the changed file kept")
        result_fp = await fingerprint_async(temp)
        self.committing = True
        commit = asyncio.ensure_future(self._commit(base, item, source, final, temp, result_fp, size_after, percent))
        try:
            await asyncio.shield(commit)
        except asyncio.CancelledError:
            await commit  # the replace always runs to its end
            raise

    async def _record(self, base: dict[str, Any], outcome: str, path: str, size_after: int, state: str,
                      message: str) -> None:
        """Remember the file as processed (``outcome``) and end the job, in one transaction."""
        self.finished = True
        await self.store.add_processed(
            {**base, "outcome": outcome, "path": path, "size_after": size_after, "result_fingerprint": None},
            job_fields={"state": state, "message": message, "temp_path": None, "speed": None,
                        "size_after": size_after, "finished_at": time.time()},
        )
        job = await self.store.get_job(self.id)
        if job is not None:
            self.job = job
            self.manager.emit(job)

    async def _commit(self, base: dict[str, Any], item: dict[str, Any], source: str, final: str, temp: str,
                      result_fp: str, size_after: int, percent: float) -> None:
        """Steps 3–5 of :mod:`.replace`, then the job is done and the library told."""
        processed = await self.store.add_processed(
            {**base, "outcome": "replaced", "path": final, "size_after": size_after, "result_fingerprint": result_fp},
            job_fields={"message": "replacing the original", "size_after": size_after},
        )
        checkpoint("committed", job_id=self.id, source=source, temp=temp, final=final)
        try:
            async with self.manager.library_write(final != source):
                await install(temp, final, source, job_id=self.id)
                await self.manager.move_item(item, final)
        except OSError as err:
            _LOGGER.error("replacing %s failed: %s", source, err)
            if not os.path.exists(temp) and os.path.exists(final):
                # renamed, but the original (another name) could not be removed: the result
                # stays recorded as processed; both files are there for the user to decide
                message = f"the original could not be removed ({err.strerror or err}); both {source} and {final} exist"
            else:
                await self.store.delete_processed(processed["id"])
                remove_quietly(temp)
                message = f"replacing the original failed: {err.strerror or err}; the original is kept"
            await self._finish("failed", message)
            return
        saved = base["size_before"] - size_after
        await self._finish("done", f"replaced: saved {human_size(saved)} ({percent:.1f}%)", progress=1.0, path=final)
        checkpoint("done", job_id=self.id, source=source, final=final)
        self.manager.refresh_item(item["id"])

    # -- helpers --------------------------------------------------------------------------------
    async def _extension(self, transcoder: Any, source: str, settings: dict[str, Any]) -> str | None:
        """The extension the result will have: the transcoder's ``output_extension(source,
        settings)`` when it has one, else the profile's ``container`` (unless ``source``), else
        the source's (None)."""
        ask = getattr(transcoder, "output_extension", None)
        if ask is not None:
            try:
                return str(await ask(source, settings))
            except Exception as err:  # noqa: BLE001 - the transcode itself will say what is wrong
                _LOGGER.debug("%s: output_extension failed: %s", transcoder.name, err)
        container = settings.get("container")
        return container if container and container != "source" else None

    async def _expected_codec(self, transcoder: Any, settings: dict[str, Any], encoder: str | None) -> str | None:
        """The video codec the result must have: the profile's ``video_codec``, else the codec of
        the encoder the transcoder says it used (from its ``encoders()``), else unknown."""
        if settings.get("video_codec"):
            return str(settings["video_codec"]).lower()
        if encoder:
            try:
                for entry in await transcoder.encoders():
                    if entry.get("name") == encoder and entry.get("codec"):
                        return str(entry["codec"]).lower()
            except Exception:  # noqa: BLE001 - the check is then skipped, not the job
                _LOGGER.warning("%s: listing encoders failed", transcoder.name, exc_info=True)
        return None

    def _on_progress(self, progress: Progress) -> None:
        if progress.percent is not None:
            self.progress = round(progress.percent / 100.0, 4)
        self.speed = progress.speed
        duration = self.job.get("duration")
        if progress.speed and duration and progress.out_time is not None:
            self.eta = max(0.0, (duration - progress.out_time) / progress.speed)
        state = self.job.get("state")
        if progress.out_time and state in ("running", "verifying") and state not in self._phases_seen:
            self._phases_seen.add(state)
            checkpoint("encoding" if state == "running" else "decoding", job_id=self.id, temp=self.temp)
        now = time.monotonic()
        if now - self._last_emit >= self.manager.settings["progress_interval"] or progress.done:
            self._last_emit = now
            self.job = {**self.job, "progress": self.progress, "speed": self.speed}
            self.manager.emit(self.job, eta=self.eta)
            self.manager.track(self.store.update_job(
                self.id, only_if=("running", "verifying"), progress=self.progress, speed=self.speed
            ))


#: Free bytes below which a failure is blamed on a full disk.
FULL_DISK = 1024 * 1024


async def _disk_full(temp: str, message: str) -> str:
    """``message``, preceded by "No space left on device …" when the file system holding
    ``temp`` is (nearly) full — ffmpeg 5.1 reports a failed write of the file's end only as a
    log line ("Error writing trailer … No space left on device") and exits 0, and a failure
    that already says so is left as it is. Returns ``message`` unchanged otherwise."""
    if "no space left" in message.lower():
        return message
    folder = os.path.dirname(temp) or "."
    try:
        free = (await asyncio.to_thread(shutil.disk_usage, folder)).free
    except OSError:
        return message
    if free >= FULL_DISK:
        return message
    note = f"No space left on device: {human_size(free)} free on the disk holding {folder}"
    return f"{note}; {message}" if message else f"{note}; "


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _changes(path: str, before: FileState, before_fp: str) -> list[str]:
    """(blocking) How ``path`` differs from what it was (empty: unchanged)."""
    try:
        now = FileState.of(path)
    except FileNotFoundError:
        return ["it was deleted"]
    diffs = before.differences(now)
    if not diffs and fingerprint(path) != before_fp:
        diffs.append("content")
    return diffs


# -- after a crash -------------------------------------------------------------------------------
async def recover(manager: TranscodeManager) -> dict[str, int]:
    """Bring every job a killed hub left ``running`` or ``verifying`` to a safe state, and remove
    stray temporary files. Returns counts: ``requeued``, ``completed`` (a committed replace
    finished), ``undone`` (a committed replace abandoned, the original kept), ``removed`` (temp
    files)."""
    store = manager.store
    counts = {"requeued": 0, "completed": 0, "undone": 0, "removed": 0}
    jobs, _ = await store.jobs(("running", "verifying"))
    for job in jobs:
        processed = await store.processed_for_job(job["id"])
        if processed is not None and processed["outcome"] == "replaced" and job["state"] == "verifying":
            done = await _roll_forward(manager, job, processed)
            counts["completed" if done else "undone"] += 1
            continue
        if processed is not None:  # a kept_original decision whose job row was not finished
            await store.update_job(job["id"], state="done", temp_path=None, finished_at=time.time())
        else:
            await store.update_job(job["id"], state="queued", progress=0.0, speed=None, started_at=None,
                                   message="interrupted (the hub stopped); queued again")
            counts["requeued"] += 1
        if await asyncio.to_thread(remove_quietly, job["temp_path"]):
            counts["removed"] += 1
    for job in await store.jobs_with_temp_files():
        if await asyncio.to_thread(remove_quietly, job["temp_path"]):
            counts["removed"] += 1
        if not os.path.exists(job["temp_path"]):
            await store.update_job(job["id"], temp_path=None)
    if any(counts.values()):
        _LOGGER.info("transcode queue after restart: %s", counts)
    return counts


async def _roll_forward(manager: TranscodeManager, job: dict[str, Any], processed: dict[str, Any]) -> bool:
    """Finish a replace whose decision was committed before the hub died (see :mod:`.replace`).
    Returns True when the result is in place, False when it was abandoned (original kept)."""
    store = manager.store
    source, final, temp = job["path"], processed["path"], job["temp_path"]

    def fp(path: str | None) -> str | None:
        try:
            return fingerprint(path) if path else None
        except OSError:
            return None

    temp_fp, final_fp, source_fp = await asyncio.gather(
        asyncio.to_thread(fp, temp), asyncio.to_thread(fp, final), asyncio.to_thread(fp, source)
    )
    item = (await store.items([job["item_id"]])).get(job["item_id"]) if job["item_id"] else None
    if temp_fp is not None and temp_fp == processed["result_fingerprint"] and source_fp == job["fingerprint"]:
        async with manager.library_write(final != source):
            await install(temp, final, source, job_id=job["id"])
            if item is not None:
                await manager.move_item(item, final)
    elif final_fp == processed["result_fingerprint"]:
        if final != source and source_fp == job["fingerprint"]:
            async with manager.library_write(True):
                await asyncio.to_thread(remove_quietly, source)
                if item is not None:
                    await manager.move_item(item, final)
        elif item is not None and final != source:
            async with manager.library_write(True):
                await manager.move_item(item, final)
    else:
        await asyncio.to_thread(remove_quietly, temp)
        await store.delete_processed(processed["id"])
        why = "the source changed" if source_fp != job["fingerprint"] else "the result was incomplete"
        await store.update_job(job["id"], state="failed", temp_path=None, finished_at=time.time(),
                               message=f"interrupted while replacing and {why}; the original is kept")
        return False
    saved = (job["size_before"] or 0) - (processed["size_after"] or 0)
    await store.update_job(job["id"], state="done", progress=1.0, temp_path=None, path=final, finished_at=time.time(),
                           message=f"replaced (finished after a restart): saved {human_size(saved)}")
    if item is not None:
        manager.refresh_item(item["id"])
    return True

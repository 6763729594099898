"""The persistent job queue: which job runs next, how many at once, and pausing, resuming and
cancelling jobs or the whole queue.

Jobs live in ``transcode_jobs``; the queue itself keeps only the running :class:`~.job.JobRun`
objects and one flag, *queue paused*, saved in ``<config>/.storage/transcode.queue`` so it
survives a restart. The scheduler starts the queued job with the highest ``priority`` (then the
oldest) whenever fewer than ``concurrency`` jobs run, the queue is not paused and the local time
lies in ``schedule``. It wakes on every change and at least once a minute (for the schedule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from ..errors import OmniMediaError
from ..storage import Store
from .config import in_schedule
from .job import STOPPED, JobRun
from .store import ACTIVE_STATES

if TYPE_CHECKING:
    from .manager import TranscodeManager

_LOGGER = logging.getLogger(__name__)


class JobStateError(OmniMediaError):
    """The job is not in a state that allows the action (e.g. cancelling a finished job)."""


class JobNotFound(OmniMediaError, KeyError):
    """No job with that id."""

    def __str__(self) -> str:
        return str(self.args[0])


class JobQueue:
    """``manager.queue``: runs jobs on the hub's loop."""

    def __init__(self, manager: TranscodeManager) -> None:
        self.manager = manager
        self.store = manager.store
        self.running: dict[int, JobRun] = {}
        self.paused = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._state = Store(manager.hub.config.config_dir / ".storage", "transcode.queue")

    # -- lifecycle ------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the saved *queue paused* flag."""
        try:
            data = self._state.load() or {}
        except ValueError as err:
            _LOGGER.warning("%s; the queue starts unpaused", err)
            data = {}
        self.paused = bool(data.get("paused", False))

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._scheduler(), name="transcode queue")

    async def stop(self) -> None:
        """Stop scheduling; running jobs end their ffmpeg, remove their temporary file and go
        back to ``queued`` (a replace under way is finished first)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        runs = list(self.running.values())
        for run in runs:
            self._interrupt(run, "stop")
        await self._wait_ended(runs)

    def wake(self) -> None:
        self._wake.set()

    def status(self) -> dict[str, Any]:
        """``{"paused", "running" (job ids), "concurrency", "in_schedule", "schedule"}``."""
        settings = self.manager.settings
        now = time.localtime()
        return {
            "paused": self.paused, "running": sorted(self.running), "concurrency": settings["concurrency"],
            "schedule": settings.get("schedule"),
            "in_schedule": in_schedule(settings.get("schedule"), now.tm_hour, now.tm_min),
        }

    # -- scheduling -----------------------------------------------------------------------------
    def _may_start(self) -> bool:
        if self.paused or self._stopping or len(self.running) >= self.manager.settings["concurrency"]:
            return False
        now = time.localtime()
        return in_schedule(self.manager.settings.get("schedule"), now.tm_hour, now.tm_min)

    async def _scheduler(self) -> None:
        while not self._stopping:
            try:
                await self._start_ready()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the queue
                _LOGGER.exception("the transcode scheduler failed; retrying")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(60.0 - time.time() % 60 + 0.01):
                    await self._wake.wait()
            self._wake.clear()

    async def _start_ready(self) -> None:
        while self._may_start():
            job = await self.store.next_queued(exclude=self.running)
            if job is None:
                return
            # registered before the claim, so a pause or cancel arriving meanwhile finds it
            run = JobRun(self.manager, job)
            self.running[run.id] = run
            try:
                claimed = await self.store.update_job(
                    job["id"], only_if=("queued",), state="running", started_at=time.time(), finished_at=None,
                    progress=0.0, message=None,
                )
            except BaseException:
                self._forget(run)
                raise
            if claimed is None:
                self._forget(run)
                continue
            run.job = claimed
            if run.action is None and (self.paused or self._stopping):
                run.action = "requeue" if self.paused else "stop"
            if run.action is not None:  # stopped before it started
                state, message = STOPPED[run.action]
                changed = await self.store.update_job(run.id, state=state, message=message, progress=0.0,
                                                      finished_at=time.time() if state == "cancelled" else None)
                self._forget(run)
                if changed is not None:
                    self.manager.emit(changed)
                continue
            run.task = asyncio.get_running_loop().create_task(self._run(run), name=f"transcode job {run.id}")

    def _forget(self, run: JobRun) -> None:
        if self.running.get(run.id) is run:
            del self.running[run.id]
        run.ended.set()

    async def _run(self, run: JobRun) -> None:
        try:
            await run.run()
        finally:
            self._forget(run)
            self.wake()

    def _interrupt(self, run: JobRun, action: str) -> bool:
        """Ask a running job to stop with ``action``; False when its replace is under way (or
        it already ended)."""
        if run.committing or run.ended.is_set() or (run.task is not None and run.task.done()):
            return False
        run.action = action
        if run.task is not None:
            run.task.cancel()
        return True

    @staticmethod
    async def _wait_ended(runs: list[JobRun], timeout: float = 30.0) -> None:
        if runs:
            await asyncio.wait([asyncio.ensure_future(r.ended.wait()) for r in runs], timeout=timeout)

    # -- per job --------------------------------------------------------------------------------
    async def _job(self, job_id: int) -> dict[str, Any]:
        job = await self.store.get_job(job_id)
        if job is None:
            raise JobNotFound(f"no transcode job with id {job_id}")
        return job

    async def _stop_running(self, job_id: int, action: str) -> dict[str, Any]:
        run = self.running[job_id]
        if not self._interrupt(run, action):
            raise JobStateError(f"job {job_id} is replacing the original right now; it is too late to {action} it")
        await self._wait_ended([run])
        return await self._job(job_id)

    async def pause(self, job_id: int) -> dict[str, Any]:
        """Pause a queued or running job (a running one is stopped and starts over when resumed).
        Raises :class:`JobNotFound`, :class:`JobStateError`."""
        if job_id in self.running:
            return await self._stop_running(job_id, "pause")
        job = await self._job(job_id)
        if job["state"] == "paused":
            return job
        changed = await self.store.update_job(job_id, only_if=("queued",), state="paused", message="paused by the user")
        if changed is None:
            raise JobStateError(f"job {job_id} is {job['state']}; only queued or running jobs can be paused")
        self.manager.emit(changed)
        return changed

    async def resume(self, job_id: int) -> dict[str, Any]:
        """Queue a paused job again; a failed or cancelled one is retried. Raises
        :class:`JobNotFound`, :class:`JobStateError`."""
        job = await self._job(job_id)
        if job["state"] in ("queued", "running", "verifying"):
            return job
        changed = await self.store.update_job(
            job_id, only_if=("paused", "failed", "cancelled"), state="queued", message=None, progress=0.0,
            finished_at=None, speed=None,
        )
        if changed is None:
            raise JobStateError(f"job {job_id} is {job['state']}; only paused, failed or cancelled jobs can be resumed")
        self.manager.emit(changed)
        self.wake()
        return changed

    async def cancel(self, job_id: int) -> dict[str, Any]:
        """Cancel a queued, paused or running job. Raises :class:`JobNotFound`,
        :class:`JobStateError`."""
        if job_id in self.running:
            return await self._stop_running(job_id, "cancel")
        job = await self._job(job_id)
        if job["state"] == "cancelled":
            return job
        changed = await self.store.update_job(
            job_id, only_if=("queued", "paused"), state="cancelled", message="cancelled by the user",
            finished_at=time.time(),
        )
        if changed is None:
            raise JobStateError(f"job {job_id} is {job['state']}; it can no longer be cancelled")
        self.manager.emit(changed)
        return changed

    async def set_priority(self, job_id: int, priority: int) -> dict[str, Any]:
        """Change a job's priority (higher runs first). Raises :class:`JobNotFound`."""
        await self._job(job_id)
        changed = await self.store.update_job(job_id, priority=int(priority))
        assert changed is not None
        if job_id in self.running:
            self.running[job_id].job["priority"] = changed["priority"]
        self.manager.emit(changed)
        self.wake()
        return changed

    # -- the whole queue ------------------------------------------------------------------------
    async def pause_all(self) -> dict[str, Any]:
        """Pause the queue: nothing new starts, running jobs stop and go back to ``queued`` (they
        run first when the queue resumes). Saved across restarts."""
        self.paused = True
        self._state.save_now({"paused": True})
        runs = [r for r in self.running.values() if self._interrupt(r, "requeue")]
        await self._wait_ended(runs)
        return self.status()

    async def resume_all(self) -> dict[str, Any]:
        self.paused = False
        self._state.save_now({"paused": False})
        self.wake()
        return self.status()

    async def cancel_all(self) -> dict[str, Any]:
        """Cancel every queued, paused and running job; returns ``{"cancelled": [ids]}``."""
        runs = [r for r in self.running.values() if self._interrupt(r, "cancel")]
        ids = await self.store.update_jobs(
            [s for s in ACTIVE_STATES if s not in ("running", "verifying")], state="cancelled",
            message="cancelled by the user", finished_at=time.time(),
        )
        await self._wait_ended(runs)
        for job_id in ids:
            job = await self.store.get_job(job_id)
            if job is not None:
                self.manager.emit(job)
        return {"cancelled": sorted(ids + [r.id for r in runs])}

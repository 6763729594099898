"""TranscodeManager (``hub.transcode``): the library optimiser's engine.

Start-up builds one :class:`~omnimedia.core.plugins.kinds.Transcoder` per ``plugins:`` entry of
a transcoder plugin (with none configured and the ``ffmpeg`` plugin loaded, one from the entry
``{platform: ffmpeg}``, so a new user needs no configuration), finishes or undoes what a killed
hub left behind (:func:`.job.recover`), registers the ``transcode.*`` services and, unless
``loops`` is false, starts the queue (:mod:`.queue`) and — with ``auto_queue`` — queues new
candidates after every library scan.

Event fired: ``transcode_job_updated`` (:data:`~omnimedia.core.const.EVENT_TRANSCODE_JOB`) with
the job as in ``GET /api/transcode/jobs/{id}`` plus ``eta`` (seconds left of the current phase): on every
state change, and at most every ``progress_interval`` seconds per job for progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from ..bus import Context
from ..const import EVENT_SCAN_FINISHED, EVENT_TRANSCODE_JOB
from ..errors import OmniMediaError, ServiceValidationError
from ..plugins.kinds import Transcoder, unique_name
from .candidates import candidate_dict, evaluate
from .config import TRANSCODE_SCHEMA
from .fingerprint import fingerprint_async, settings_hash
from .job import recover
from .queue import JobNotFound, JobQueue, JobStateError
from .store import ACTIVE_STATES, JOB_STATES, TranscodeStore

if TYPE_CHECKING:
    from ..hub import Hub

_LOGGER = logging.getLogger(__name__)

DEFAULT_PLATFORM = "ffmpeg"


class NoTranscoder(OmniMediaError):
    """No transcoder is configured (or the one named does not exist)."""


class UnknownProfile(OmniMediaError, ValueError):
    """The transcoder has no profile of that name; the message lists the known ones."""


JOB_ID_SCHEMA = vol.Schema({vol.Required("job_id"): vol.All(vol.Coerce(int), vol.Range(min=1))})
QUEUE_SCHEMA = vol.Schema({
    vol.Optional("item_ids"): [vol.All(vol.Coerce(int), vol.Range(min=1))],
    vol.Optional("all_candidates", default=False): bool,
    vol.Optional("library_id"): vol.All(vol.Coerce(int), vol.Range(min=1)),
    vol.Optional("priority", default=0): vol.Coerce(int),
    vol.Optional("profile"): vol.All(str, vol.Length(min=1)),
})
PRIORITY_SCHEMA = vol.Schema({
    vol.Required("job_id"): vol.All(vol.Coerce(int), vol.Range(min=1)),
    vol.Required("priority"): vol.Coerce(int),
})


class TranscodeManager:
    """Owns the transcoders, the store, the queue and the services. ``hub.transcode``."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.settings: dict[str, Any] = TRANSCODE_SCHEMA(dict(getattr(hub.config, "transcode", None) or {}))
        self.store = TranscodeStore(hub.db)
        self.transcoders: dict[str, Transcoder] = {}
        self.transcoder_errors: dict[str, str] = {}
        self.queue = JobQueue(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._fingerprints: dict[tuple[str, int, int, int], str] = {}
        self._unlisten: Any = None
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self, *, loops: bool = True) -> None:
        """Build transcoders, recover after a crash, start the queue workers (``loops``)."""
        self._build_transcoders()
        self._register_services()
        self.queue.load()
        await recover(self)
        self._started = True
        if not loops:
            return
        self.queue.start()
        if self.settings["auto_queue"]:
            self._unlisten = self.hub.bus.listen(EVENT_SCAN_FINISHED, self._on_scan_finished)
            self.track(self._auto_queue())

    async def stop(self) -> None:
        """Stop the workers; a running job's ffmpeg is ended and its temporary file removed."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._started:
            await self.queue.stop()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=30)
        for transcoder in self.transcoders.values():
            try:
                await transcoder.close()
            except Exception:  # noqa: BLE001 - closing must not stop the others
                _LOGGER.warning("closing transcoder %s failed", transcoder.name, exc_info=True)

    def _build_transcoders(self) -> None:
        """One object per ``plugins:`` entry whose platform provides a transcoder; with none,
        the ``ffmpeg`` plugin's default entry."""
        classes = self.hub.plugins.providers("transcoder")
        entries = [e for e in self.hub.config.plugins if e["platform"] in classes]
        if not entries and DEFAULT_PLATFORM in classes:
            schema = self.hub.plugins.config_schemas().get(DEFAULT_PLATFORM)
            entry: dict[str, Any] = {"platform": DEFAULT_PLATFORM}
            try:
                if schema is not None:
                    entry = {**schema({}), **entry}
            except vol.Invalid as err:
                _LOGGER.warning("the default %s transcoder entry is not valid: %s", DEFAULT_PLATFORM, err)
            entries = [entry]
        taken: set[str] = set()
        for entry in entries:
            name = unique_name(entry, taken)
            try:
                transcoder = classes[entry["platform"]](self.hub, {**entry, "name": name})
            except Exception as err:  # noqa: BLE001 - one bad entry must not stop the hub
                _LOGGER.error("transcoder %s could not be created: %s", name, err)
                self.transcoder_errors[name] = f"{type(err).__name__}: {err}"
                continue
            transcoder.name = name
            self.transcoders[name] = transcoder

    # -- plumbing shared with the jobs ----------------------------------------------------------
    def track(self, awaitable: Awaitable[Any]) -> None:
        """Run ``awaitable`` in the background; :meth:`stop` waits for it."""
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("transcode background task failed", exc_info=task.exception())

    def emit(self, job: Mapping[str, Any], *, eta: float | None = None, context: Context | None = None) -> None:
        """Fire ``transcode_job_updated`` with the job (live progress of a running one)."""
        data = dict(job)
        run = self.queue.running.get(data["id"])
        if run is not None and data.get("state") in ("running", "verifying"):
            data["progress"], data["speed"] = run.progress, run.speed
            eta = run.eta if eta is None else eta
        data["eta"] = eta
        self.hub.bus.fire(EVENT_TRANSCODE_JOB, data, context)

    @contextlib.asynccontextmanager
    async def library_write(self, needed: bool) -> AsyncIterator[None]:
        """Hold the library engine's write lock while a file is renamed under it and its item's
        path updated, so a scan running meanwhile cannot read the rename as remove + add (which
        would give the item a new id and drop its playback position)."""
        if not needed:
            yield
            return
        async with self.hub.library.writing():
            yield

    async def move_item(self, item: Mapping[str, Any], path: str) -> None:
        """Point the media item at its file's new path (same id). Call inside
        :meth:`library_write`."""
        await self.hub.library.move_item(item["id"], path)

    def refresh_item(self, item_id: int) -> None:
        """Probe the item again in the background (new size, codec …; fires media_updated)."""
        async def refresh() -> None:
            try:
                await self.hub.library.rescan_item(item_id)
            except KeyError as err:
                _LOGGER.info("after a transcode: %s", err)

        self.track(refresh())

    # -- transcoders and profiles ---------------------------------------------------------------
    def transcoder(self, name: str | None = None) -> tuple[str, Transcoder]:
        """The named transcoder, else the configured ``transcoder``, else the first one.
        Raises :class:`NoTranscoder`."""
        wanted = name or self.settings.get("transcoder")
        if wanted:
            if wanted not in self.transcoders:
                raise NoTranscoder(
                    f"no transcoder named {wanted!r}; configured: {', '.join(self.transcoders) or 'none'}"
                )
            return wanted, self.transcoders[wanted]
        if not self.transcoders:
            reasons = "; ".join(f"{n}: {e}" for n, e in self.transcoder_errors.items())
            raise NoTranscoder(
                "no transcoder is available: install ffmpeg and keep the ffmpeg plugin enabled, or add a "
                "transcoder entry under plugins:" + (f" ({reasons})" if reasons else "")
            )
        first = next(iter(self.transcoders))
        return first, self.transcoders[first]

    def resolve_profile(self, profile: str | None = None, transcoder: str | None = None) -> tuple[str, str, dict[str, Any]]:
        """``(transcoder name, profile name, settings)``. Raises :class:`NoTranscoder`,
        :class:`UnknownProfile`."""
        name, coder = self.transcoder(transcoder)
        wanted = profile or self.settings["profile"]
        profiles = coder.profiles()
        if wanted not in profiles:
            raise UnknownProfile(
                f"transcoder {name} has no profile {wanted!r}; known: {', '.join(sorted(profiles)) or 'none'}"
            )
        return name, wanted, dict(profiles[wanted])

    def profiles(self) -> dict[str, Any]:
        """``{"profile": the configured default, "transcoders": [{"name", "platform", "default",
        "profiles": {name: settings}}], "errors": {name: reason}}``."""
        try:
            default_name = self.transcoder()[0]
        except NoTranscoder:
            default_name = None
        return {
            "profile": self.settings["profile"],
            "transcoders": [
                {"name": n, "platform": t.platform, "default": n == default_name, "profiles": t.profiles()}
                for n, t in self.transcoders.items()
            ],
            "errors": dict(self.transcoder_errors),
        }

    async def encoders(self) -> list[dict[str, Any]]:
        """``[{"name" (transcoder), "platform", "encoders": [...], "error"}]``."""
        out = []
        for name, coder in self.transcoders.items():
            try:
                out.append({"name": name, "platform": coder.platform, "encoders": await coder.encoders(), "error": None})
            except Exception as err:  # noqa: BLE001 - shown per transcoder
                out.append({"name": name, "platform": coder.platform, "encoders": [], "error": f"{type(err).__name__}: {err}"})
        return out

    # -- candidates -----------------------------------------------------------------------------
    async def library_ids(self) -> list[int]:
        """Ids of the libraries ``transcode -> libraries`` names (names, paths or ids; all when
        empty). Unknown names are logged and ignored."""
        libs = await self.hub.library.libraries()
        wanted = self.settings["libraries"]
        if not wanted:
            return [lib["id"] for lib in libs]
        out = []
        for key in wanted:
            match = [
                lib["id"] for lib in libs
                if key == lib["id"] or key == lib["name"] or (isinstance(key, str) and os.path.normpath(key) == lib["path"])
            ]
            if not match:
                _LOGGER.warning("transcode -> libraries: no library %r", key)
            out.extend(match)
        return out

    async def _fingerprint(self, path: str) -> str | None:
        """Fingerprint of ``path``, cached by (path, size, mtime, inode); None when unreadable."""
        try:
            st = await asyncio.to_thread(os.stat, path)
        except OSError:
            return None
        key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        if key not in self._fingerprints:
            try:
                self._fingerprints[key] = await fingerprint_async(path)
            except OSError:
                return None
            if len(self._fingerprints) > 50_000:
                self._fingerprints.pop(next(iter(self._fingerprints)))
        return self._fingerprints[key]

    async def candidates(self, library_id: int | None = None, *, profile: str | None = None) -> list[dict[str, Any]]:
        """Items worth transcoding, most estimated savings first: :func:`.candidates.candidate_dict`
        each. Items with an active job, and files (by content) already processed with the
        profile's settings, are left out. Raises :class:`NoTranscoder`, :class:`UnknownProfile`."""
        coder_name, _profile, settings = self.resolve_profile(profile)
        shash = settings_hash(self.transcoders[coder_name].platform, settings)
        ids = await self.library_ids()
        if library_id is not None:
            ids = [i for i in ids if i == library_id]
        rules = self.settings["candidates"]
        active = await self.store.active_item_ids()
        sizes = await self.store.processed_sizes(shash)
        out = []
        for item in await self.store.video_items(ids):
            if item["id"] in active:
                continue
            verdict = evaluate(item, rules)
            if not verdict.qualifies:
                continue
            if item["size"] in sizes:  # only then can the fingerprint match a processed one
                fp = await self._fingerprint(item["path"])
                if fp is not None and await self.store.find_processed(fp, shash) is not None:
                    continue
            out.append(candidate_dict(item, verdict))
        out.sort(key=lambda c: (-c["estimated_savings"], c["item_id"]))
        return out

    # -- jobs -----------------------------------------------------------------------------------
    async def add_jobs(
        self, item_ids: Iterable[int] | None = None, *, all_candidates: bool = False, library_id: int | None = None,
        priority: int = 0, profile: str | None = None, context: Context | None = None,
    ) -> dict[str, Any]:
        """Queue items (by id) or every candidate (of one library). Returns ``{"added": [job…],
        "skipped": [{"item_id", "reason"}]}``: an item is skipped when it does not exist, could not
        be read by the scanner, has no video stream, or already has an active job. Raises :class:`NoTranscoder`,
        :class:`UnknownProfile`, ``ServiceValidationError`` when neither items nor
        ``all_candidates`` are given."""
        coder_name, profile_name, settings = self.resolve_profile(profile)
        skipped: list[dict[str, Any]] = []
        estimates: dict[int, int] = {}
        if all_candidates:
            found = await self.candidates(library_id, profile=profile_name)
            ids = [c["item_id"] for c in found]
            estimates = {c["item_id"]: c["estimated_savings"] for c in found}
        elif item_ids is not None:
            ids = list(dict.fromkeys(item_ids))
        else:
            raise ServiceValidationError("give item_ids (media item ids) or all_candidates: true")
        items = await self.store.items(ids)
        active = await self.store.active_item_ids()
        rows = []
        for item_id in ids:
            item = items.get(item_id)
            if item is None:
                skipped.append({"item_id": item_id, "reason": f"no media item with id {item_id}"})
            elif item_id in active:
                skipped.append({"item_id": item_id, "reason": "the item already has a queued or running job"})
            elif item.get("status") == "error":
                skipped.append({"item_id": item_id, "reason": f"the file cannot be read: {item.get('error') or 'error'}"})
            elif not item.get("video_codec"):
                skipped.append({"item_id": item_id, "reason": "no video stream (audio-only files are not transcoded)"})
            else:
                if item_id not in estimates:
                    estimates[item_id] = evaluate(item, self.settings["candidates"]).estimated_savings
                rows.append({
                    "item_id": item_id, "library_id": item["library_id"], "path": item["path"],
                    "profile": profile_name, "settings": settings, "transcoder": coder_name,
                    "priority": priority, "size_before": item.get("size"), "duration": item.get("duration"),
                    "estimated_savings": estimates[item_id],
                })
        added = await self.store.add_jobs(rows)
        for job in added:
            self.emit(job, context=context)
        if added:
            self.queue.wake()
        return {"added": [await self._with_outcome(j) for j in added], "skipped": skipped}

    async def _with_outcome(self, job: dict[str, Any], outcomes: Mapping[int, str] | None = None) -> dict[str, Any]:
        out = dict(job)
        if outcomes is None:
            outcomes = await self.store.outcomes([job["id"]])
        out["outcome"] = outcomes.get(job["id"])
        run = self.queue.running.get(job["id"])
        if run is not None and out["state"] in ("running", "verifying"):
            out["progress"], out["speed"], out["eta"] = run.progress, run.speed, run.eta
        else:
            out["eta"] = None
        return out

    async def list_jobs(
        self, states: Iterable[str] | None = None, *, limit: int = 100, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Jobs (working, then queued by priority, then finished newest first) with ``outcome``
        and live progress, and the total."""
        jobs, total = await self.store.jobs(states, limit=limit, offset=offset)
        outcomes = await self.store.outcomes([j["id"] for j in jobs])
        return [await self._with_outcome(j, outcomes) for j in jobs], total

    async def get_job(self, job_id: int) -> dict[str, Any] | None:
        job = await self.store.get_job(job_id)
        return await self._with_outcome(job) if job is not None else None

    async def savings(self) -> dict[str, Any]:
        """See :meth:`.store.TranscodeStore.savings`."""
        return await self.store.savings()

    # -- auto queue -----------------------------------------------------------------------------
    def _on_scan_finished(self, event: Any) -> None:
        self.track(self._auto_queue())

    async def _auto_queue(self) -> None:
        try:
            result = await self.add_jobs(all_candidates=True)
        except (NoTranscoder, UnknownProfile) as err:
            _LOGGER.warning("transcode auto_queue: %s", err)
            return
        if result["added"]:
            _LOGGER.info("transcode auto_queue: %d new jobs", len(result["added"]))

    # -- services -------------------------------------------------------------------------------
    def _register_services(self) -> None:
        reg = self.hub.services.register
        reg("transcode", "queue", self._svc_queue, QUEUE_SCHEMA,
            "Queue media items (item_ids) or every candidate (all_candidates) for transcoding.")
        reg("transcode", "cancel", self._svc_cancel, JOB_ID_SCHEMA, "Cancel a queued, paused or running job.")
        reg("transcode", "pause", self._svc_pause, JOB_ID_SCHEMA, "Pause a queued or running job.")
        reg("transcode", "resume", self._svc_resume, JOB_ID_SCHEMA,
            "Queue a paused job again (a failed or cancelled job is retried).")
        reg("transcode", "set_priority", self._svc_priority, PRIORITY_SCHEMA, "Change a job's priority (higher first).")
        reg("transcode", "pause_queue", self._svc_pause_queue, vol.Schema({}),
            "Pause the whole queue: nothing starts, running jobs go back to the queue.")
        reg("transcode", "resume_queue", self._svc_resume_queue, vol.Schema({}), "Resume the queue.")
        reg("transcode", "cancel_all", self._svc_cancel_all, vol.Schema({}), "Cancel every unfinished job.")

    async def _svc_queue(self, call: Any) -> dict[str, Any]:
        data = call.data
        try:
            return await self.add_jobs(
                data.get("item_ids"), all_candidates=data["all_candidates"], library_id=data.get("library_id"),
                priority=data["priority"], profile=data.get("profile"), context=call.context,
            )
        except (NoTranscoder, UnknownProfile) as err:
            raise ServiceValidationError(str(err)) from err

    async def _job_call(self, coro: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        try:
            return await coro
        except (JobNotFound, JobStateError) as err:
            raise ServiceValidationError(str(err)) from err

    async def _svc_cancel(self, call: Any) -> dict[str, Any]:
        return await self._job_call(self.queue.cancel(call.data["job_id"]))

    async def _svc_pause(self, call: Any) -> dict[str, Any]:
        return await self._job_call(self.queue.pause(call.data["job_id"]))

    async def _svc_resume(self, call: Any) -> dict[str, Any]:
        return await self._job_call(self.queue.resume(call.data["job_id"]))

    async def _svc_priority(self, call: Any) -> dict[str, Any]:
        return await self._job_call(self.queue.set_priority(call.data["job_id"], call.data["priority"]))

    async def _svc_pause_queue(self, call: Any) -> dict[str, Any]:
        return await self.queue.pause_all()

    async def _svc_resume_queue(self, call: Any) -> dict[str, Any]:
        return await self.queue.resume_all()

    async def _svc_cancel_all(self, call: Any) -> dict[str, Any]:
        return await self.queue.cancel_all()


__all__ = [
    "ACTIVE_STATES", "JOB_STATES", "JobNotFound", "JobStateError", "NoTranscoder", "TranscodeManager", "UnknownProfile",
]

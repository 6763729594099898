"""DvrManager (``hub.dvr``): ties tuners, guide, rules, scheduler, recorder and post-processing
together.

- Tuner plugins hand their devices to :meth:`DvrManager.add_tuner`; the pool
  (:mod:`.tuners`) keeps their lineups and leases.
- The guide (:mod:`.guide`) imports XMLTV sources and maps guide channels to lineup numbers.
- Every change (a rule, a guide import, a lineup, a recording ending) wakes the scheduler loop:
  it turns the enabled rules into airings (:mod:`.rules`), fits them onto the tuners
  (:mod:`.scheduler`) and keeps the plan (``upcoming()``) with the conflicts and their reasons.
- When an entry of the plan is due, a tuner is leased and a :class:`~.recorder.Recorder` copies
  the stream into parts; when it ends, :func:`.postprocess.finish` joins the parts, handles
  commercials, optionally compresses, and imports the recording into the TV library.
- A hub that stops (or dies) in the middle of a recording leaves the recording in state
  ``recording`` with its parts; the next start resumes it into a new part if it has not ended,
  or finishes it with what was recorded.

Times are UTC epoch seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from ..const import EVENT_DVR_LINEUP, EVENT_DVR_RECORDING, EVENT_DVR_SCHEDULE, EVENT_MEDIA_UPDATED
from .config import DVR_SCHEMA, dvr_timezone
from .guide import Guide
from .live import LiveTv
from .store import DvrStore
from .tuners import Lease, TunerPool, number_sort_key
from .types import Airing, TunerError, TunerStream, TunerUnavailable

if TYPE_CHECKING:
    from ..hub import Hub
    from ..plugins.kinds import Tuner

_LOGGER = logging.getLogger(__name__)

#: Seconds between two plans when nothing wakes the scheduler earlier.
PLAN_INTERVAL = 300.0
#: Seconds between two lineup refreshes of every device.
LINEUP_INTERVAL = 3600.0
#: Seconds between two lineup requests to a device that is unavailable.
UNAVAILABLE_RETRY = 60.0
#: Seconds between two retention sweeps.
RETENTION_INTERVAL = 3600.0
#: Seconds a tuner's lineup request may take.
LINEUP_TIMEOUT = 20.0
#: Seconds before its padded start a due recording is started.
START_EARLY = 0.5


class DvrManager:
    """The DVR engine; see the module docstring and docs/dvr.md."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.settings: dict[str, Any] = DVR_SCHEMA(dict(getattr(hub.config, "dvr", None) or {}))
        self.tz = dvr_timezone(self.settings)
        path = Path(self.settings["recordings_path"]).expanduser()
        self.recordings_path = path if path.is_absolute() else Path(hub.config.config_dir) / path
        self.store = DvrStore(hub.db)
        self.pool = TunerPool(hub)
        self.guide = Guide(self, self.settings)
        self.live = LiveTv(self)
        self._recorders: dict[int, tuple[Any, asyncio.Task[Any], Lease | None]] = {}
        self._plan: dict[str, Any] = {"entries": [], "conflicts": [], "generated_at": None}
        self._plan_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._side: set[asyncio.Task[Any]] = set()
        self._running = False
        self._stopping = False
        self._starting: set[str] = set()

    @property
    def tuners(self) -> dict[str, Tuner]:
        return self.pool.tuners

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self, *, loops: bool = True) -> None:
        """Load every lineup, start the guide, resume interrupted recordings and (``loops``)
        the scheduler, lineup and retention loops."""
        self._running = True
        self._register_services()
        self._unlisten = self.hub.bus.listen(EVENT_MEDIA_UPDATED, self._on_media_updated)
        await asyncio.to_thread(self.recordings_path.mkdir, parents=True, exist_ok=True)
        await self.refresh_lineups()
        await self.guide.start(loops=loops)
        if not loops:
            return
        await self._resume_interrupted()
        self._tasks = [
            asyncio.create_task(self._scheduler_loop(), name="dvr scheduler"),
            asyncio.create_task(self._lineup_loop(), name="dvr lineups"),
            asyncio.create_task(self._every(RETENTION_INTERVAL, self.apply_retention), name="dvr retention"),
        ]

    async def stop(self) -> None:
        """Stop live TV, hand running recordings over to the next start (their parts stay), stop
        the guide and close the tuners."""
        self._stopping = True
        self._running = False
        if getattr(self, "_unlisten", None):
            self._unlisten()
        for task in self._tasks:
            task.cancel()
        await self.live.stop_all()
        for recorder, _task, _lease in list(self._recorders.values()):
            recorder.stop("shutdown")
        pending = [task for _r, task, _l in self._recorders.values()] + list(self._side)
        if pending:
            await asyncio.wait(pending, timeout=15)
        for task in pending:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        self._tasks.clear()
        await self.guide.stop()
        for tuner in list(self.pool.tuners.values()):
            try:
                await tuner.close()
            except Exception:  # noqa: BLE001 - closing one must not stop the others
                _LOGGER.warning("closing tuner %s failed", tuner.device_id, exc_info=True)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._side.add(task)
        task.add_done_callback(self._side.discard)
        return task

    async def _every(self, interval: float, work: Any) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await work()
            except Exception:  # noqa: BLE001 - a failed round is logged, the loop goes on
                _LOGGER.exception("dvr: %s failed", getattr(work, "__name__", work))

    async def _lineup_loop(self) -> None:
        """Re-read every lineup each :data:`LINEUP_INTERVAL`; retry unavailable devices each
        :data:`UNAVAILABLE_RETRY` (a device that was off at start comes back within a minute)."""
        last_full = time.monotonic()
        while True:
            await asyncio.sleep(UNAVAILABLE_RETRY)
            try:
                if time.monotonic() - last_full >= LINEUP_INTERVAL:
                    last_full = time.monotonic()
                    await self.refresh_lineups()
                else:
                    down = [d for d in self.pool.tuners if not self.pool.available(d)]
                    if down:
                        await self.refresh_lineups(down)
            except Exception:  # noqa: BLE001 - the loop must survive a bad round
                _LOGGER.exception("dvr: lineup refresh failed")

    def wake(self) -> None:
        """Ask the scheduler to plan again now (rules, guide or lineups changed)."""
        self._wake.set()

    # -- tuners -----------------------------------------------------------------------------------
    def add_tuner(self, tuner: Tuner) -> None:
        """Register a tuner device (see :class:`~omnimedia.core.plugins.kinds.Tuner`). Safe to
        call before the DVR starts; its lineup is loaded in the background once running."""
        self.pool.add(tuner)
        if self._running and not self._stopping:
            self._spawn(self.refresh_lineups([tuner.device_id]), name=f"dvr lineup {tuner.device_id}")

    async def remove_tuner(self, device_id: str, reason: str = "") -> None:
        """The device went away: it gets no new leases and its channels leave the plan.
        Recordings on it keep trying to reconnect until their end."""
        self.pool.mark_unavailable(device_id, reason or "the device went away")
        self.hub.bus.fire(EVENT_DVR_LINEUP, {"device_id": device_id, "available": False, "reason": reason})
        self.wake()

    async def refresh_lineups(self, device_ids: list[str] | None = None) -> None:
        """Ask each device (or those in ``device_ids``) for its lineup. A device that cannot
        answer is marked unavailable with the reason; one that answers again becomes available."""

        async def one(device_id: str) -> None:
            tuner = self.pool.tuners[device_id]
            try:
                channels = await asyncio.wait_for(tuner.lineup(), LINEUP_TIMEOUT)
            except (TimeoutError, TunerError, OSError) as err:
                message = str(err) or f"no lineup within {LINEUP_TIMEOUT:.0f} s"
                _LOGGER.warning("lineup of %s: %s", device_id, message)
                self.pool.errors[device_id] = message
                self.pool.mark_unavailable(device_id, message)
                return
            except Exception as err:  # noqa: BLE001 - a plugin bug degrades that device only
                _LOGGER.exception("lineup of %s failed", device_id)
                self.pool.errors[device_id] = f"{type(err).__name__}: {err}"
                self.pool.mark_unavailable(device_id, self.pool.errors[device_id])
                return
            self.pool.lineups[device_id] = list(channels)
            self.pool.errors.pop(device_id, None)
            self.pool.mark_available(device_id)

        ids = device_ids if device_ids is not None else list(self.pool.tuners)
        await asyncio.gather(*(one(d) for d in ids if d in self.pool.tuners))
        self.hub.bus.fire(EVENT_DVR_LINEUP, {"devices": ids})
        self.wake()

    async def lineup(self) -> list[dict[str, Any]]:
        """Every channel of every device, merged by number, with its guide mapping:
        ``{"number", "name", "devices", "hd", "radio", "logo", "group", "video_codec",
        "guide_id", "guide_channel_id", "mapping"}``, sorted by number."""
        merged: dict[str, dict[str, Any]] = {}
        channels = []
        for device_id, chans in self.pool.lineups.items():
            for ch in chans:
                entry = merged.get(ch.number)
                if entry is None:
                    channels.append(ch)
                    entry = merged[ch.number] = {
                        "number": ch.number, "name": ch.name, "devices": [], "hd": ch.hd, "radio": ch.radio,
                        "logo": ch.logo, "group": ch.group, "video_codec": ch.video_codec, "drm": ch.drm,
                        "guide_id": ch.guide_id, "available": False,
                    }
                entry["devices"].append(device_id)
                entry["available"] = entry["available"] or self.pool.available(device_id)
        mapping = await self.guide.mapping(channels) if channels else {}
        for number, entry in merged.items():
            found = mapping.get(number) or {}
            entry["guide_channel_id"] = found.get("guide_channel_id")
            entry["mapping"] = ("manual" if found.get("manual") else "auto") if found else None
        return sorted(merged.values(), key=lambda e: number_sort_key(e["number"]))

    async def acquire(
        self, number: str, *, purpose: str, holder: str, priority: int = 0, title: str = "",
        device_id: str | None = None,
    ) -> Lease:
        """Lease a tuner for ``number``; see :meth:`.tuners.TunerPool.acquire`."""
        return self.pool.acquire(number, purpose=purpose, holder=holder, priority=priority, title=title, device_id=device_id)

    def devices_status(self) -> list[dict[str, Any]]:
        return self.pool.status()

    # -- rules ------------------------------------------------------------------------------------
    def _check_channel(self, fields: dict[str, Any]) -> None:
        number = fields.get("channel")
        if number is None or not self.pool.lineups:
            return
        known = {c.number for chans in self.pool.lineups.values() for c in chans}
        if number not in known:
            listed = ", ".join(sorted(known, key=number_sort_key)[:30])
            raise ValueError(f"unknown channel {number!r}: no tuner carries it (known channels: {listed})")

    async def add_rule(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and store a rule, then plan again. Raises ``voluptuous.Invalid`` or
        ``ValueError`` (an unknown channel, naming the known ones)."""
        from .rules import RULE_SCHEMA

        fields = RULE_SCHEMA(dict(data))
        fields.pop("id", None)
        self._check_channel(fields)
        rule = await self.store.add_rule(fields)
        self.wake()
        return rule

    async def update_rule(self, rule_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
        """Change some fields of a rule (validated as a whole). ``None`` when there is no such rule."""
        from .rules import RULE_SCHEMA

        current = await self.store.rule(rule_id)
        if current is None:
            return None
        merged = {k: v for k, v in {**current, **dict(data)}.items() if k not in ("id", "created_at", "updated_at")}
        fields = RULE_SCHEMA({k: v for k, v in merged.items() if v is not None})
        for key in merged:
            fields.setdefault(key, None)
        fields.pop("id", None)
        self._check_channel(fields)
        rule = await self.store.update_rule(rule_id, fields)
        self.wake()
        return rule

    async def delete_rule(self, rule_id: int) -> bool:
        removed = await self.store.delete_rule(rule_id)
        self.wake()
        return removed

    async def rules(self) -> list[dict[str, Any]]:
        return await self.store.rules()

    # -- planning ---------------------------------------------------------------------------------
    def upcoming(self) -> dict[str, Any]:
        """The last plan: ``{"entries", "conflicts", "generated_at"}`` (see :meth:`plan`)."""
        return self._plan

    @staticmethod
    def _recording_key(rule_id: int | None, title: str, start: float) -> str:
        """What makes an airing the same as a recording already made or running: its rule, its
        start and its title (guide programme ids change with every import)."""
        return f"{rule_id}:{int(start)}:{(title or '').casefold()}"

    async def plan(self) -> dict[str, Any]:
        """Turn the enabled rules into airings for the next ``schedule_days`` days and fit them
        onto the tuners. Returns ``{"entries": [ScheduleEntry dicts], "conflicts": [Conflict
        dicts], "generated_at"}``, sorted by start; fires ``dvr_schedule_updated``."""
        from . import rules as rules_mod
        from .scheduler import schedule

        async with self._plan_lock:
            now = time.time()
            until = now + self.settings["schedule_days"] * 86400
            rules = [r for r in await self.store.rules() if r.get("enabled", True)]
            airings: list[Airing] = []
            recorded = await self.store.recorded_keys()
            if rules:
                channels = [c for chans in self.pool.lineups.values() for c in chans]
                mapping = await self.guide.mapping(channels) if channels else {}
                guide_for_number = {n: m["guide_channel_id"] for n, m in mapping.items() if m.get("guide_channel_id")}
                numbers_for_guide: dict[str, list[str]] = {}
                for number, guide_id in sorted(guide_for_number.items(), key=lambda kv: number_sort_key(kv[0])):
                    numbers_for_guide.setdefault(guide_id, []).append(number)
                programmes = await self.guide.programmes(now - 6 * 3600, until)
                defaults = {k: self.settings[k] for k in ("padding_before", "padding_after")}
                for rule in rules:
                    try:
                        airings.extend(rules_mod.airings_for_rule(
                            rule, programmes, numbers_for_guide=numbers_for_guide, guide_for_number=guide_for_number,
                            now=now, until=until, tz=self.tz, defaults=defaults, recorded_keys=recorded,
                        ))
                    except Exception:  # noqa: BLE001 - one broken rule must not stop the others
                        _LOGGER.exception("rule %s could not be planned", rule.get("id"))
            existing = {self._recording_key(r["rule_id"], r["title"], r["start"]) for r in await self.store.recordings()}
            # An episode already recorded (or being recorded) is not recorded again by a series or
            # keyword rule, new-only or not; time slots (once, daily, weekly) have no episode key.
            airings = [
                a for a in airings
                if self._recording_key(a.rule_id, a.title, a.start) not in existing
                and not (a.episode_key and rules and a.episode_key in recorded)
            ]
            busy = [
                {"device_id": lease.device_id, "start": rec["padded_start"], "stop": rec["padded_stop"],
                 "title": rec["title"], "channel": rec["channel"], "episode_key": rec.get("episode_key"),
                 "programme_id": rec.get("programme_id")}
                for rec_id, (recorder, _t, lease) in self._recorders.items()
                if lease is not None and (rec := getattr(recorder, "recording", None)) is not None
            ]
            devices = {d: max(1, int(t.tuner_count)) for d, t in self.pool.tuners.items() if self.pool.available(d)}
            names = {d: t.name or d for d, t in self.pool.tuners.items()}
            entries, conflicts = schedule(
                airings, devices=devices, carriers=self.pool.carriers(), now=now, busy=busy, tz=self.tz, names=names,
            )
            self._plan = {
                "entries": sorted((e.as_dict() for e in entries), key=lambda e: (e["start"], e["channel"])),
                "conflicts": sorted((c.as_dict() for c in conflicts), key=lambda c: c["start"]),
                "generated_at": now,
            }
            self._entries = entries
        self.hub.bus.fire(EVENT_DVR_SCHEDULE, {
            "entries": len(self._plan["entries"]), "conflicts": len(self._plan["conflicts"]),
        })
        return self._plan

    async def _scheduler_loop(self) -> None:
        self._entries: list[Any] = []
        while True:
            self._wake.clear()
            try:
                await self.plan()
                await self._start_due()
            except Exception:  # noqa: BLE001 - the loop must survive a bad round
                _LOGGER.exception("dvr scheduler round failed")
            now = time.time()
            starts = [e.airing.padded_start - START_EARLY for e in self._entries if e.airing.padded_start - START_EARLY > now]
            delay = min([PLAN_INTERVAL, *(s - now for s in starts)])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.05, delay))

    async def _start_due(self) -> None:
        now = time.time()
        for entry in list(self._entries):
            airing = entry.airing
            if airing.padded_start - START_EARLY > now or airing.padded_stop <= now:
                continue
            key = self._recording_key(airing.rule_id, airing.title, airing.start)
            if key in self._starting:
                continue
            self._starting.add(key)
            try:
                await self._start_recording(entry)
            finally:
                self._starting.discard(key)

    async def _start_recording(self, entry: Any) -> dict[str, Any]:
        airing: Airing = entry.airing
        fields = {
            "rule_id": airing.rule_id, "programme_id": airing.programme_id, "episode_key": airing.episode_key,
            "channel": entry.channel, "device_id": entry.device_id, "title": airing.title,
            "subtitle": airing.subtitle, "description": airing.description, "season": airing.season,
            "episode": airing.episode, "original_air_date": airing.original_air_date,
            "categories": airing.categories, "year": airing.year, "start": airing.start, "stop": airing.stop,
            "padded_start": airing.padded_start, "padded_stop": airing.padded_stop, "state": "recording",
        }
        lease: Lease | None = None
        try:
            try:
                lease = self.pool.acquire(entry.channel, purpose="recording", holder="recording", priority=airing.priority,
                                          title=airing.title, device_id=entry.device_id)
            except TunerError:
                lease = self.pool.acquire(entry.channel, purpose="recording", holder="recording", priority=airing.priority,
                                          title=airing.title)
        except TunerError as err:
            rec = await self.store.add_recording({**fields, "state": "failed", "message": str(err), "finished_at": time.time()})
            _LOGGER.warning("recording %r could not start: %s", airing.title, err)
            self._announce(rec)
            return rec
        rec = await self.store.add_recording({**fields, "device_id": lease.device_id})
        lease.holder = f"recording:{rec['id']}"
        self.pool._publish(lease.device_id)
        _LOGGER.info("recording %r on %s (%s) until %s", airing.title, entry.channel, lease.device_id, airing.padded_stop)
        self._announce(rec)
        self._run(rec, lease)
        return rec

    def _run(self, rec: dict[str, Any], lease: Lease | None) -> None:
        from .recorder import Recorder

        rec_id = rec["id"]
        holder: dict[str, Lease | None] = {"lease": lease}

        async def open_stream() -> TunerStream:
            current = holder["lease"]
            if current is None or current.released:
                current = holder["lease"] = self.pool.acquire(
                    rec["channel"], purpose="recording", holder=f"recording:{rec_id}", title=rec["title"],
                )
                self._recorders[rec_id] = (recorder, task, current)
            left = rec["padded_stop"] - time.time()
            return await current.open_stream(duration=max(1.0, left) + 2.0)

        async def on_update(fields: dict[str, Any]) -> None:
            updated = await self.store.update_recording(rec_id, fields)
            if updated is not None:
                recorder.recording = updated
                self._announce(updated)

        recorder = Recorder(
            rec, open_stream=open_stream, folder=self.recordings_path / ".recording" / str(rec_id),
            stop_at=rec["padded_stop"], stall_timeout=self.settings["stall_timeout"],
            reconnect_delay=self.settings["reconnect_delay"], on_update=on_update,
        )
        recorder.recording = rec
        task = asyncio.get_running_loop().create_task(self._record(rec_id, recorder, holder), name=f"dvr recording {rec_id}")
        self._recorders[rec_id] = (recorder, task, lease)

    async def _record(self, rec_id: int, recorder: Any, holder: dict[str, Lease | None]) -> None:
        try:
            result = await recorder.run()
        finally:
            lease = holder["lease"]
            if lease is not None:
                await lease.release()
            self._recorders.pop(rec_id, None)
        if result.get("state") == "interrupted":
            await self.store.update_recording(rec_id, {k: v for k, v in result.items() if k != "state"})
            return
        final = {k: v for k, v in result.items() if k in ("parts", "gaps", "size", "message")}
        if result.get("state") == "failed" and not result.get("size"):
            rec = await self.store.update_recording(rec_id, {**final, "state": "failed", "finished_at": time.time()})
            if rec:
                self._announce(rec)
            self.wake()
            return
        rec = await self.store.update_recording(rec_id, {**final, "state": "processing"})
        if rec is not None:
            self._announce(rec)
            await self._finish(rec, recorded_state=result.get("state", "finished"))
        self.wake()

    async def _finish(self, rec: dict[str, Any], *, recorded_state: str = "finished") -> dict[str, Any] | None:
        from .postprocess import finish

        rec_id = rec["id"]

        async def on_update(fields: dict[str, Any]) -> None:
            updated = await self.store.update_recording(rec_id, fields)
            if updated:
                self._announce(updated)

        try:
            result = await finish(self.hub, self.settings, rec, on_update=on_update)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - the recorded parts stay; say what happened
            _LOGGER.exception("finishing recording %s failed", rec_id)
            result = {"state": "failed", "message": f"post-processing failed: {err}"}
        state = result.get("state", "done")
        if state == "done" and recorded_state in ("partial", "failed"):
            state = "partial"
        fields = {k: v for k, v in result.items() if k in ("path", "item_id", "commercials", "size", "message")}
        updated = await self.store.update_recording(rec_id, {**fields, "state": state, "finished_at": time.time()})
        if updated:
            self._announce(updated)
        return updated

    async def _on_media_updated(self, event: Any) -> None:
        """A rescan re-reads a recording's item from its file name and tags, which lose the air
        date and may misread a title: put the guide's metadata back."""
        from .postprocess import restore_guide_metadata

        item_id = ((event.data or {}).get("item") or {}).get("id")
        if not isinstance(item_id, int):
            return
        rec = await self.store.recording_for_item(item_id)
        if rec is not None:
            await restore_guide_metadata(self.hub, rec, self.tz)

    def _announce(self, rec: dict[str, Any]) -> None:
        self.hub.bus.fire(EVENT_DVR_RECORDING, dict(rec))

    async def _resume_interrupted(self) -> None:
        """Recordings the last run left unfinished. One still ``recording`` goes back to a
        recorder: if its airing goes on it reconnects into a new part, else it only corrects the
        parts from the files on disk and records the gap to the end; then it is finished as usual.
        One left ``processing`` is finished again (post-processing picks up what is done)."""
        for rec in await self.store.recordings(states=("recording", "processing")):
            if rec["state"] == "recording":
                lease = None
                if rec["padded_stop"] > time.time():
                    try:
                        lease = self.pool.acquire(rec["channel"], purpose="recording", holder=f"recording:{rec['id']}",
                                                  title=rec["title"])
                    except TunerError as err:
                        _LOGGER.warning("recording %s resumes without a tuner for now: %s", rec["id"], err)
                _LOGGER.info("resuming recording %s (%r)", rec["id"], rec["title"])
                self._run(rec, lease)
            else:
                _LOGGER.info("finishing recording %s (%r) left by the last run", rec["id"], rec["title"])
                self._spawn(self._finish(rec, recorded_state="partial" if rec.get("gaps") else "finished"),
                            name=f"dvr finish {rec['id']}")

    # -- recordings -------------------------------------------------------------------------------
    async def recordings(self, state: str | None = None) -> list[dict[str, Any]]:
        return await self.store.recordings(states=[state] if state else None)

    async def recording(self, recording_id: int) -> dict[str, Any] | None:
        return await self.store.recording(recording_id)

    async def record_now(self, number: str, duration: float, title: str | None = None) -> dict[str, Any]:
        """Record ``number`` from now for ``duration`` seconds (a ``once`` rule without padding).
        Returns the rule. Raises ``ValueError`` for an unknown channel."""
        now = time.time()
        name = title or (ch.name if (ch := self.pool.channel(number)) else f"Channel {number}")
        return await self.add_rule({
            "kind": "once", "title": name, "channel": number, "start": now, "stop": now + float(duration),
            "padding_before": 0, "padding_after": 0, "priority": 100,
        })

    async def stop_recording(self, recording_id: int) -> bool:
        """End a running recording now; what was recorded is finished and imported."""
        running = self._recorders.get(recording_id)
        if running is None:
            return False
        running[0].stop("user")
        return True

    async def delete_recording(self, recording_id: int, *, delete_file: bool = True) -> bool:
        """Forget a recording (stopping it first) and, with ``delete_file``, remove its file,
        its sidecars (.edl) and its parts."""
        rec = await self.store.recording(recording_id)
        if rec is None:
            return False
        running = self._recorders.get(recording_id)
        if running is not None:
            running[0].stop("user")
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(running[1]), 15)
            rec = await self.store.recording(recording_id) or rec
        if delete_file:
            await asyncio.to_thread(self._delete_files, rec)
            if rec.get("path"):
                with contextlib.suppress(Exception):
                    await self.hub.library.refresh_paths([os.path.dirname(rec["path"])])
        await self.store.delete_recording(recording_id)
        self._announce({**rec, "state": "deleted"})
        self.wake()
        return True

    def _delete_files(self, rec: dict[str, Any]) -> None:
        path = rec.get("path")
        if path:
            base = Path(path)
            for candidate in (base, base.with_suffix(".edl"), base.with_suffix(".original" + base.suffix)):
                with contextlib.suppress(FileNotFoundError):
                    candidate.unlink()
        for part in rec.get("parts") or []:
            with contextlib.suppress(FileNotFoundError, TypeError):
                Path(part["path"]).unlink()
        folder = self.recordings_path / ".recording" / str(rec["id"])
        shutil.rmtree(folder, ignore_errors=True)

    async def apply_retention(self) -> list[int]:
        """Delete recordings their rule no longer keeps (keep last N / keep days)."""
        from .retention import expired

        recordings = await self.store.recordings()
        rules = {r["id"]: r for r in await self.store.rules()}
        removed = []
        for rec_id in expired(recordings, rules, time.time()):
            if await self.delete_recording(rec_id, delete_file=True):
                removed.append(rec_id)
        return removed

    # -- services ---------------------------------------------------------------------------------
    def _register_services(self) -> None:
        reg = self.hub.services.register
        reg("dvr", "record", self._svc_record, vol.Schema({
            vol.Required("channel"): vol.Coerce(str),
            vol.Optional("duration", default=3600): vol.All(vol.Coerce(float), vol.Range(min=1)),
            vol.Optional("title"): str,
        }), "Record a channel now for a number of seconds.")
        reg("dvr", "refresh_guide", self._svc_refresh_guide, vol.Schema({}), "Import every guide source again.")
        reg("dvr", "add_rule", self._svc_add_rule, vol.Schema({}, extra=vol.ALLOW_EXTRA),
            "Add a recording rule (once, daily, weekly, series, keyword).")
        reg("dvr", "plan", self._svc_plan, vol.Schema({}), "Plan the upcoming recordings again and report conflicts.")

    async def _svc_record(self, call: Any) -> dict[str, Any]:
        return await self.record_now(call.data["channel"], call.data["duration"], call.data.get("title"))

    async def _svc_refresh_guide(self, call: Any) -> list[dict[str, Any]]:
        results = await self.guide.refresh_all()
        self.wake()
        return [r.as_dict() for r in results]

    async def _svc_add_rule(self, call: Any) -> dict[str, Any]:
        return await self.add_rule(dict(call.data))

    async def _svc_plan(self, call: Any) -> dict[str, Any]:
        return await self.plan()


__all__ = ["DvrManager", "TunerUnavailable"]

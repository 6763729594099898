"""The tuner devices the DVR knows, their lineups, and the leases of their tuners.

Every :class:`~omnimedia.core.plugins.kinds.Tuner` handed to ``hub.dvr.add_tuner`` becomes a
device in the registry (platform = the plugin, unique id = ``device_id``) with one ``tuner``
entity per tuner (state ``idle``, ``recording``, ``live`` or ``unavailable``). A
:class:`Lease` is the right to one of those tuners: the pool never hands out more leases for a
device than its ``tuner_count``, so the DVR knows a tuner is free before it asks the device.
A recording may take a tuner from live TV (the live lease's ``preempted`` event is set and the
live session lets go); nothing takes a tuner from a recording.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .types import LineupChannel, TunerBusy, TunerError, TunerStream, TunerUnavailable, UnknownChannel

if TYPE_CHECKING:
    from ..hub import Hub
    from ..plugins.kinds import Tuner

_LOGGER = logging.getLogger(__name__)

PURPOSES = ("recording", "live")


@dataclass(eq=False)
class Lease:
    """One tuner of ``device_id`` held for ``channel`` by ``holder`` ("recording:12",
    "live:ab12"). ``slot`` is the tuner's index in the pool (0-based, for the entities).
    ``preempted`` is set when a recording takes the tuner from live TV."""

    pool: TunerPool
    device_id: str
    channel: str
    purpose: str
    holder: str
    slot: int
    priority: int = 0
    title: str = ""
    started_at: float = field(default_factory=time.time)
    preempted: asyncio.Event = field(default_factory=asyncio.Event)
    released: bool = False
    _stream: TunerStream | None = None

    async def open_stream(self, duration: float | None = None) -> TunerStream:
        """Open (or, after a drop, reopen) the channel's stream on the leased device.
        Raises TunerUnavailable when the device is gone, TunerBusy/UnknownChannel as the device
        answers."""
        if self.released:
            raise TunerError(f"the lease of {self.holder} on {self.device_id} was released")
        tuner = self.pool.tuners.get(self.device_id)
        if tuner is None or not self.pool.available(self.device_id):
            raise TunerUnavailable(f"tuner device {self.device_id} is unavailable", device_id=self.device_id)
        if self._stream is not None:
            await _close_quietly(self._stream)
        self._stream = await tuner.open_stream(self.channel, duration=duration)
        return self._stream

    async def release(self) -> None:
        """Close the stream and free the tuner (idempotent)."""
        if self.released:
            return
        self.released = True
        if self._stream is not None:
            await _close_quietly(self._stream)
            self._stream = None
        self.pool._release(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id, "channel": self.channel, "purpose": self.purpose,
            "holder": self.holder, "tuner": self.slot, "title": self.title, "started_at": self.started_at,
        }


async def _close_quietly(stream: TunerStream) -> None:
    try:
        await asyncio.wait_for(stream.close(), 10)
    except Exception:  # noqa: BLE001 - a stream that fails to close is gone anyway
        _LOGGER.debug("closing a tuner stream failed", exc_info=True)


class TunerPool:
    """Devices (``device_id`` → Tuner), their lineups and leases; registry entries and entity
    states follow every change."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.tuners: dict[str, Tuner] = {}
        self.lineups: dict[str, list[LineupChannel]] = {}
        self.errors: dict[str, str] = {}
        self.leases: dict[str, list[Lease]] = {}
        self._unavailable: dict[str, str] = {}
        self._entities: dict[str, list[str]] = {}
        self._closing: set[asyncio.Task[Any]] = set()

    # -- devices ----------------------------------------------------------------------------------
    def add(self, tuner: Tuner) -> bool:
        """Register ``tuner`` (a new device or a new object for a known one, e.g. a changed
        address). Returns True when the device is new or was unavailable."""
        if not tuner.device_id:
            raise ValueError(f"{tuner.platform} tuner has no device_id")
        was = self.tuners.get(tuner.device_id)
        fresh = was is None or tuner.device_id in self._unavailable
        self.tuners[tuner.device_id] = tuner
        self._unavailable.pop(tuner.device_id, None)
        self.leases.setdefault(tuner.device_id, [])
        device = self.hub.devices.get_or_create(
            tuner.platform, tuner.device_id, name=tuner.name or tuner.device_id, status="available",
            manufacturer=tuner.manufacturer, model=tuner.model, sw_version=tuner.sw_version,
        )
        ids = []
        for slot in range(max(1, int(tuner.tuner_count))):
            entity = self.hub.entities.get_or_create(
                "tuner", tuner.platform, f"{tuner.device_id}-{slot}",
                suggested_object_id=f"{tuner.name or tuner.device_id} {slot}", name=f"{device.name} tuner {slot}",
                device_id=device.id,
            )
            ids.append(entity.entity_id)
        self._entities[tuner.device_id] = ids
        self._publish(tuner.device_id)
        return fresh

    def mark_unavailable(self, device_id: str, reason: str) -> None:
        """The device stopped answering: no new leases; entities show ``unavailable``."""
        tuner = self.tuners.get(device_id)
        if tuner is None:
            return
        self._unavailable[device_id] = reason or "the device went away"
        device = self.hub.devices.get_by_key(tuner.platform, device_id)
        if device is not None:
            self.hub.devices.update(device.id, status="unavailable")
        self._publish(device_id)

    def mark_available(self, device_id: str) -> None:
        tuner = self.tuners.get(device_id)
        if tuner is None or device_id not in self._unavailable:
            return
        del self._unavailable[device_id]
        device = self.hub.devices.get_by_key(tuner.platform, device_id)
        if device is not None:
            self.hub.devices.update(device.id, status="available")
        self._publish(device_id)

    def available(self, device_id: str) -> bool:
        return device_id in self.tuners and device_id not in self._unavailable

    def unavailable_reason(self, device_id: str) -> str | None:
        return self._unavailable.get(device_id)

    # -- lineups ----------------------------------------------------------------------------------
    def carriers(self) -> dict[str, list[str]]:
        """Channel number → ids of the available devices that carry it."""
        out: dict[str, list[str]] = {}
        for device_id, channels in self.lineups.items():
            if not self.available(device_id):
                continue
            for ch in channels:
                out.setdefault(ch.number, []).append(device_id)
        return out

    def channel(self, number: str) -> LineupChannel | None:
        for channels in self.lineups.values():
            for ch in channels:
                if ch.number == number:
                    return ch
        return None

    # -- leases -----------------------------------------------------------------------------------
    def free(self, device_id: str) -> int:
        tuner = self.tuners[device_id]
        return max(1, int(tuner.tuner_count)) - len(self.leases.get(device_id, []))

    def acquire(
        self, number: str, *, purpose: str, holder: str, priority: int = 0, title: str = "",
        device_id: str | None = None,
    ) -> Lease:
        """Lease a tuner of a device that carries ``number`` (``device_id`` to insist on one):
        the available device with the most free tuners. When none is free and ``purpose`` is
        ``recording``, the oldest live TV lease on a carrying device is pre-empted.

        Raises UnknownChannel (no device carries it), TunerUnavailable (the devices that carry it
        are unavailable) or TunerBusy (naming what holds the tuners)."""
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}")
        carrying = [d for d, chans in self.lineups.items() if any(c.number == number for c in chans)]
        if device_id is not None:
            carrying = [d for d in carrying if d == device_id]
        if not carrying:
            known = sorted({c.number for chans in self.lineups.values() for c in chans}, key=_number_key)
            raise UnknownChannel(
                f"no tuner carries channel {number!r}"
                + (f"; known channels: {', '.join(known[:30])}{' …' if len(known) > 30 else ''}" if known else "; no lineup is loaded yet")
            )
        usable = [d for d in carrying if self.available(d)]
        if not usable:
            reasons = "; ".join(f"{self._name(d)}: {self._unavailable.get(d)}" for d in carrying)
            raise TunerUnavailable(f"every tuner device that carries {number} is unavailable ({reasons})")
        usable.sort(key=lambda d: -self.free(d))
        best = usable[0]
        if self.free(best) <= 0:
            if purpose == "recording":
                live = sorted(
                    (lease for d in usable for lease in self.leases[d] if lease.purpose == "live"),
                    key=lambda lease: lease.started_at,
                )
                if live:
                    victim = live[0]
                    _LOGGER.info("recording %s takes the tuner of live TV %s", holder, victim.holder)
                    victim.preempted.set()
                    self._release(victim)
                    victim.released = True
                    if victim._stream is not None:  # the device frees the tuner when the connection closes
                        stream, victim._stream = victim._stream, None
                        task = asyncio.get_running_loop().create_task(_close_quietly(stream))
                        self._closing.add(task)
                        task.add_done_callback(self._closing.discard)
                    best = victim.device_id
                else:
                    raise TunerBusy(self._busy_message(usable, number))
            else:
                raise TunerBusy(self._busy_message(usable, number))
        slots = {lease.slot for lease in self.leases[best]}
        slot = next(i for i in range(max(1, int(self.tuners[best].tuner_count))) if i not in slots)
        lease = Lease(self, best, number, purpose, holder, slot, priority=priority, title=title)
        self.leases[best].append(lease)
        self._publish(best)
        return lease

    def _busy_message(self, devices: list[str], number: str) -> str:
        parts = []
        for d in devices:
            held = ", ".join(
                f"{lease.purpose} {lease.title or lease.holder} on {lease.channel}" for lease in self.leases[d]
            )
            parts.append(f"all {self.tuners[d].tuner_count} tuner(s) of {self._name(d)} are in use ({held})")
        return f"cannot tune {number}: " + "; ".join(parts)

    def _release(self, lease: Lease) -> None:
        held = self.leases.get(lease.device_id, [])
        if lease in held:
            held.remove(lease)
            self._publish(lease.device_id)

    def _name(self, device_id: str) -> str:
        tuner = self.tuners.get(device_id)
        return f"{tuner.name} ({device_id})" if tuner and tuner.name and tuner.name != device_id else device_id

    def _publish(self, device_id: str) -> None:
        """Set each tuner entity's state from the leases."""
        tuner = self.tuners.get(device_id)
        if tuner is None:
            return
        by_slot = {lease.slot: lease for lease in self.leases.get(device_id, [])}
        for slot, entity_id in enumerate(self._entities.get(device_id, [])):
            lease = by_slot.get(slot)
            if device_id in self._unavailable:
                state, attrs = "unavailable", {"reason": self._unavailable[device_id]}
            elif lease is None:
                state, attrs = "idle", {}
            else:
                state, attrs = lease.purpose, {"channel": lease.channel, "holder": lease.holder, "title": lease.title}
            self.hub.states.set(entity_id, state, {"friendly_name": f"{tuner.name} tuner {slot}", "device_id": device_id, **attrs})

    def status(self) -> list[dict[str, Any]]:
        out = []
        for device_id, tuner in self.tuners.items():
            out.append({
                "device_id": device_id, "name": tuner.name, "platform": tuner.platform, "model": tuner.model,
                "manufacturer": tuner.manufacturer, "sw_version": tuner.sw_version,
                "tuner_count": tuner.tuner_count, "available": self.available(device_id),
                "reason": self._unavailable.get(device_id) or self.errors.get(device_id),
                "channels": len(self.lineups.get(device_id, [])),
                "leases": [lease.as_dict() for lease in self.leases.get(device_id, [])],
            })
        return out


def _number_key(number: str) -> tuple[Any, ...]:
    """Sort "2.1" < "2.10" < "10.1" and names after numbers."""
    parts = []
    for piece in number.replace("-", ".").split("."):
        parts.append((0, int(piece), "") if piece.isdigit() else (1, 0, piece))
    return tuple(parts)


def number_sort_key(number: str) -> tuple[Any, ...]:
    return _number_key(number)

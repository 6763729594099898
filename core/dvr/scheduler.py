"""The scheduler: which airings get a tuner, and why the others do not.

Pure logic (no I/O): :func:`schedule` takes the airings every rule wants (from
:func:`omnimedia.core.dvr.rules.airings_for_rule`), the devices with their tuner counts, which
devices carry which lineup channel, and the recordings already running, and returns the
:class:`PlannedEntry` list (airing → channel + device) and one
:class:`~omnimedia.core.dvr.types.Conflict` per airing that will not be recorded.

How it decides (the same input always gives the same plan):

1. An airing whose padded stop is not after ``now`` is ``in_past``.
2. Airings are put in order: priority (higher first), then start (earlier first), then rule id.
   A lower-priority airing therefore loses to a higher-priority one even when it starts earlier.
3. Airings with the same ``episode_key`` (or the very same channels, start and stop — two rules
   wanting one airing) form a group of alternates: one of them is recorded, tried in that order
   (so the earliest airing of the highest priority that fits); the others are ``alternate``
   conflicts naming the airing recorded instead. An airing of an episode that a running
   recording (``busy``) is already making is an ``alternate`` of that recording.
4. An airing needs one tuner of a device that carries one of its ``channels`` for its padded
   time ``[padded_start, padded_stop)`` (from ``now`` on: the past holds no tuner). A device
   with ``n`` tuners can hold ``n`` airings at any instant; devices carrying the same channel
   add up. ``busy`` recordings hold a tuner until their padded stop.
5. When no tuner is free, in this order: another alternate of the group; moving an airing
   already planned to another device that carries its channel (nothing is lost); trimming
   padding when only padding clashes (the new airing's own padding first, then the padding of
   the planned airings that overlaps the new airing's programme time; a note on each trimmed
   entry says so); moving a planned airing to a later alternate of its own episode. Otherwise
   the airing is a ``no_tuner`` conflict whose message names what holds the tuners (titles,
   channels, local times, priorities, and why they win). Airings that failed are tried once
   more at the end, when moves may have freed room.
6. An airing no device carries (``channels`` empty — its guide channel is not in the lineup —
   or none of them carried) is a ``no_source`` conflict.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from .types import Airing, Conflict, ScheduleEntry

__all__ = ["PlannedEntry", "schedule", "describe_airing"]


@dataclass(slots=True)
class PlannedEntry(ScheduleEntry):
    """A :class:`ScheduleEntry` with ``note``: what the scheduler changed, in words (e.g. padding
    trimmed so a back-to-back recording fits), ``None`` when nothing. ``airing`` carries the
    padding actually planned (trimmed padding is already applied)."""

    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = ScheduleEntry.as_dict(self)
        out["note"] = self.note
        return out


# ---------------------------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------------------------
def _clock(ts: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts, tz)


def _when(start: float, stop: float, tz: tzinfo) -> str:
    """"Tue 12 Mar 20:00–21:00" (the end's day added when it differs)."""
    a, b = _clock(start, tz), _clock(stop, tz)
    text = f"{a:%a} {a.day} {a:%b %H:%M}–"
    text += f"{b:%H:%M}" if a.date() == b.date() else f"{b:%a} {b:%H:%M}"
    return text


def _title(airing: Airing) -> str:
    return f"'{airing.title}: {airing.subtitle}'" if airing.subtitle else f"'{airing.title}'"


def describe_airing(airing: Airing, tz: tzinfo, channel: str | None = None) -> str:
    """"'News' on 5.1 at Tue 12 Mar 20:00–21:00" (local time in ``tz``)."""
    where = channel or (" or ".join(airing.channels) if airing.channels else None)
    on = f" on {where}" if where else ""
    return f"{_title(airing)}{on} at {_when(airing.start, airing.stop, tz)}"


def _seconds(value: float) -> str:
    value = max(0.0, value)
    if value >= 60 and value % 60 == 0:
        return f"{value / 60:g} min"
    return f"{value:g} s"


# ---------------------------------------------------------------------------------------------
# plan state
# ---------------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Item:
    """One airing, as the scheduler works on it."""

    airing: Airing
    index: int
    group: int = -1
    key: str | None = None  # the episode key it is an alternate by (None: never an alternate)
    dups: list[_Item] = field(default_factory=list)  # other airings of the very same slot, recorded with it
    placed: _Placement | None = None
    failed: bool = False
    moved_note: str | None = None


@dataclass(eq=False)
class _Placement:
    """Something holding one tuner of ``device`` over ``[start, stop)``: a planned airing
    (``item``) or a running recording (``busy``)."""

    device: str
    channel: str
    start: float
    stop: float
    item: _Item | None = None
    busy: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


class _Plan:
    def __init__(self, devices: Mapping[str, int], carriers: Mapping[str, Sequence[str]], now: float) -> None:
        self.capacity = {d: max(0, int(n)) for d, n in devices.items()}
        self.carriers = carriers
        self.now = now
        self.on: dict[str, list[_Placement]] = {d: [] for d in self.capacity}
        # per device, placements by start (rebuilt after a change): starts, placements, longest span
        self._index: dict[str, tuple[list[float], list[_Placement], float]] = {}

    def touch(self, device: str) -> None:
        """Forget the index of ``device`` after its placements changed."""
        self._index.pop(device, None)

    def add(self, placement: _Placement) -> None:
        self.on[placement.device].append(placement)
        self.touch(placement.device)

    # -- capacity ---------------------------------------------------------------------------------
    def span(self, airing: Airing) -> tuple[float, float]:
        return max(airing.padded_start, self.now), airing.padded_stop

    def core(self, airing: Airing) -> tuple[float, float]:
        return max(airing.start, self.now), max(airing.stop, self.now)

    def overlapping(self, device: str, start: float, stop: float, exclude: Iterable[_Placement] = ()) -> list[_Placement]:
        """Placements of ``device`` overlapping ``[start, stop)``, by start."""
        if device not in self.on:
            return []
        index = self._index.get(device)
        if index is None:
            ordered = sorted(self.on[device], key=lambda p: p.start)
            index = ([p.start for p in ordered], ordered, max((p.stop - p.start for p in ordered), default=0.0))
            self._index[device] = index
        starts, ordered, longest = index
        lo, hi = bisect.bisect_left(starts, start - longest), bisect.bisect_left(starts, stop)
        skip = {id(p) for p in exclude}
        return [p for p in ordered[lo:hi] if p.stop > start and id(p) not in skip]

    def load(self, device: str, start: float, stop: float, exclude: Iterable[_Placement] = ()) -> int:
        """The most tuners of ``device`` in use at any instant of ``[start, stop)``."""
        events = []
        for p in self.overlapping(device, start, stop, exclude):
            events.append((max(p.start, start), 1))
            events.append((min(p.stop, stop), -1))
        events.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
        peak = count = 0
        for _t, step in events:
            count += step
            peak = max(peak, count)
        return peak

    def fits(self, device: str, start: float, stop: float, exclude: Iterable[_Placement] = ()) -> bool:
        if stop <= start:
            return self.capacity.get(device, 0) > 0
        return self.load(device, start, stop, exclude) < self.capacity.get(device, 0)

    def free_from(self, device: str, start: float, limit: float) -> float:
        """The earliest ``t`` in ``[limit, start]`` such that ``device`` has a free tuner over ``[t, start)``."""
        points = sorted({limit, start, *(x for p in self.overlapping(device, limit, start)
                                         for x in (p.start, p.stop) if limit < x < start)}, reverse=True)
        t = start
        for lo in points[1:]:
            if not self.fits(device, lo, t):
                return t
            t = lo
        return t

    def free_until(self, device: str, stop: float, limit: float) -> float:
        """The latest ``t`` in ``[stop, limit]`` such that ``device`` has a free tuner over ``[stop, t)``."""
        points = sorted({stop, limit, *(x for p in self.overlapping(device, stop, limit)
                                        for x in (p.start, p.stop) if stop < x < limit)})
        t = stop
        for hi in points[1:]:
            if not self.fits(device, t, hi):
                return t
            t = hi
        return t

    def candidates(self, airing: Airing) -> list[tuple[str, str]]:
        """(channel, device) pairs that can record ``airing``: its channels in order, each with
        the devices that carry it, every device once."""
        seen: set[str] = set()
        out = []
        for channel in airing.channels:
            for device in self.carriers.get(channel, ()):
                if device in self.capacity and self.capacity[device] > 0 and device not in seen:
                    seen.add(device)
                    out.append((channel, device))
        return out

    # -- changes ----------------------------------------------------------------------------------
    def place(self, item: _Item, channel: str, device: str, notes: Iterable[str] = ()) -> _Placement:
        start, stop = self.span(item.airing)
        placement = _Placement(device=device, channel=channel, start=start, stop=stop, item=item, notes=list(notes))
        self.add(placement)
        item.placed = placement
        return placement

    def remove(self, placement: _Placement) -> None:
        self.on[placement.device].remove(placement)
        self.touch(placement.device)
        if placement.item is not None:
            placement.item.placed = None

    def set_airing(self, item: _Item, airing: Airing) -> None:
        item.airing = airing
        if item.placed is not None:
            item.placed.start, item.placed.stop = self.span(airing)
            self.touch(item.placed.device)


def _order_key(airing: Airing) -> tuple[Any, ...]:
    """Priority (higher first), start, rule id (none last), then everything else so ties are stable."""
    return (
        -airing.priority, airing.start, airing.rule_id is None, airing.rule_id or 0, airing.stop,
        tuple(airing.channels), airing.title, airing.subtitle or "", airing.programme_id or 0,
        airing.episode_key or "", airing.padding_before, airing.padding_after,
    )


# ---------------------------------------------------------------------------------------------
# the scheduler
# ---------------------------------------------------------------------------------------------
def schedule(airings: Iterable[Airing], *, devices: Mapping[str, int], carriers: Mapping[str, Sequence[str]],
             now: float, busy: Iterable[Mapping[str, Any]] = (), tz: tzinfo,
             names: Mapping[str, str] | None = None) -> tuple[list[PlannedEntry], list[Conflict]]:
    """Fit ``airings`` onto the tuners. Returns ``(entries, conflicts)``, each sorted by start.

    ``devices``: device id → tuner count. ``carriers``: lineup number → ids of the devices that
    carry it (in order of preference). ``now``: UTC epoch seconds. ``busy``: recordings already
    running, ``{"device_id", "channel", "title", "start", "stop"}`` with ``start``/``stop`` the
    padded times (``padded_start``/``padded_stop`` are used instead when present); optional
    ``episode_key``, ``programme_id``, ``priority``, ``rule_id``. They hold a tuner of their device
    until their padded stop. ``tz``: the zone for the local times in messages. ``names``: device
    id → a name for messages ("HDHR living room"); the id is shown beside it.

    Every airing given ends up in exactly one of the two lists, except an airing that is the
    very recording a ``busy`` entry is making (same channel, start and stop, or the same guide
    programme): that one is left out (it is not planned twice, and it is not a conflict)."""
    names = dict(names or {})
    plan = _Plan(devices, carriers, now)
    busy_list = [dict(b) for b in busy]
    for rec in busy_list:
        device = rec.get("device_id")
        start = float(rec.get("padded_start", rec.get("start", now)) or now)
        stop = float(rec.get("padded_stop", rec.get("stop", now)) or now)
        if device in plan.on and stop > now:
            plan.add(_Placement(device=device, channel=str(rec.get("channel") or ""), start=max(start, now),
                                stop=stop, busy=rec))

    items = [_Item(a, i) for i, a in enumerate(sorted(airings, key=_order_key))]
    conflicts: list[Conflict] = []
    live: list[_Item] = []
    for item in items:
        if _is_busy_recording(item.airing, busy_list):
            continue
        if item.airing.padded_stop <= now:
            conflicts.append(Conflict(item.airing, "in_past", (
                f"{describe_airing(item.airing, tz)} is over: it ended before it could be recorded")))
            continue
        live.append(item)

    groups = _groups(_one_per_slot(live))
    busy_alt: dict[int, dict[str, Any]] = {}
    for gid, members in enumerate(groups):
        for member in members:
            member.group = gid
        holder = _busy_alternate(members, busy_list)
        if holder is not None:
            busy_alt[gid] = holder

    order = [g for g in range(len(groups)) if g not in busy_alt]
    for gid in order:
        _place_group(plan, groups, gid, tz)
    for _ in range(len(order)):  # moves may have freed room for what failed; retry until nothing changes
        changed = False
        for gid in order:
            if all(m.placed is None for m in groups[gid]) and _place_group(plan, groups, gid, tz):
                changed = True
        if not changed:
            break

    entries: list[PlannedEntry] = []
    for gid, members in enumerate(groups):
        recorded = next((m for m in members if m.placed is not None), None)
        if gid in busy_alt:
            rec = busy_alt[gid]
            for member in (x for m in members for x in (m, *m.dups)):
                conflicts.append(Conflict(member.airing, "alternate", (
                    f"{describe_airing(member.airing, tz)}: the same episode is already being recorded "
                    f"('{rec.get('title')}' on {rec.get('channel')}, until "
                    f"{_clock(float(rec.get('padded_stop', rec.get('stop', now))), tz):%a %H:%M})"),
                    alternate_of=_busy_dict(rec)))
            continue
        for member in members:
            if member is recorded:
                p = member.placed
                entries.append(PlannedEntry(member.airing, p.channel, p.device, note="; ".join(p.notes) or None))
            elif recorded is not None:
                conflicts.append(_alternate(plan, member, recorded, tz))
            else:
                conflicts.append(_failure(plan, member, tz, names))
            for dup in member.dups:
                dup.failed, dup.moved_note = member.failed, member.moved_note
                if recorded is not None:
                    conflicts.append(_alternate(plan, dup, recorded, tz))
                else:
                    conflicts.append(_failure(plan, dup, tz, names))

    entries.sort(key=lambda e: (e.airing.padded_start, e.airing.start, e.channel, e.device_id, _order_key(e.airing)))
    conflicts.sort(key=lambda c: (c.airing.start, _order_key(c.airing), c.reason))
    return entries, conflicts


def _is_busy_recording(airing: Airing, busy: list[dict[str, Any]]) -> bool:
    for rec in busy:
        if airing.programme_id is not None and rec.get("programme_id") == airing.programme_id:
            return True
        if (rec.get("channel") in airing.channels and "padded_start" in rec
                and rec.get("start") == airing.start and rec.get("stop") == airing.stop):
            return True
    return False


def _busy_alternate(members: list[_Item], busy: list[dict[str, Any]]) -> dict[str, Any] | None:
    keys = {m.key for m in members if m.key}
    for rec in busy:
        if rec.get("episode_key") and rec["episode_key"] in keys:
            return rec
    return None


def _one_per_slot(items: list[_Item]) -> list[_Item]:
    """Airings of the very same slot (same channels, start and stop: two rules wanting one
    airing) are recorded once: the first in order stands for them, the others become its ``dups``.
    Its ``key`` is the episode key they share, or ``None`` when any of them has none (a time-slot
    rule is recorded as asked, so such a slot is never an alternate)."""
    out: list[_Item] = []
    by_slot: dict[tuple[Any, ...], _Item] = {}
    for item in items:
        a = item.airing
        if a.channels:
            ident = (tuple(sorted(a.channels)), a.start, a.stop)
            first = by_slot.get(ident)
            if first is not None:
                first.dups.append(item)
                continue
            by_slot[ident] = item
        out.append(item)
    for item in out:
        keys = {x.airing.episode_key for x in (item, *item.dups)}
        item.key = keys.pop() if len(keys) == 1 else None
    return out


def _groups(items: list[_Item]) -> list[list[_Item]]:
    """Alternates: items sharing an episode key, in order (so groups are in the order of their best member)."""
    out: list[list[_Item]] = []
    by_key: dict[str, list[_Item]] = {}
    for item in items:
        if item.key is None:
            out.append([item])
        elif item.key in by_key:
            by_key[item.key].append(item)
        else:
            by_key[item.key] = [item]
            out.append(by_key[item.key])
    return out


def _place_group(plan: _Plan, groups: list[list[_Item]], gid: int, tz: tzinfo) -> bool:
    """Record one member of a group of alternates, trying each way of making room for every
    member (in order) before the next, more intrusive way."""
    members = groups[gid]
    strategies = (_direct, _move_device, _trim, _move_alternate)
    for strategy in strategies:
        for member in members:
            if not plan.candidates(member.airing):
                continue
            if strategy(plan, groups, member, tz):
                for other in members:
                    if other is not member and other.placed is None and _order_key(other.airing) < _order_key(member.airing):
                        other.failed = True
                return True
    for member in members:
        member.failed = True
    return False


def _direct(plan: _Plan, groups: list[list[_Item]], item: _Item, tz: tzinfo) -> bool:
    start, stop = plan.span(item.airing)
    for channel, device in plan.candidates(item.airing):
        if plan.fits(device, start, stop):
            plan.place(item, channel, device)
            return True
    return False


def _relocate(plan: _Plan, groups: list[list[_Item]], item: _Item, tz: tzinfo, *, to_alternate: bool) -> bool:
    """Free a tuner for ``item`` by moving planned airings that hold one: to another device
    carrying their channel (``to_alternate`` False), or to a later alternate airing of their own
    episode (True). Keeps the moves only when ``item`` then fits with its full padding."""
    start, stop = plan.span(item.airing)
    for channel, device in plan.candidates(item.airing):
        holders = [p for p in plan.overlapping(device, start, stop) if p.item is not None]
        holders.sort(key=lambda p: _order_key(p.item.airing), reverse=True)  # lowest priority moves first
        undo: list[tuple[_Item, _Placement, _Item | None]] = []
        for holder in holders:
            moved = _move_alternate_of(plan, groups, holder, exclude_device=None) if to_alternate \
                else _move_to_other_device(plan, holder, device)
            if moved is None:
                continue
            undo.append(moved)
            if plan.fits(device, start, stop):
                plan.place(item, channel, device)
                for old_item, _old_placement, new_item in undo:
                    target = new_item or old_item
                    where = describe_airing(target.airing, tz, target.placed.channel)
                    if new_item is not None:
                        old_item.moved_note = (f"moved to the airing {where} so that "
                                               f"{describe_airing(item.airing, tz, channel)} can be recorded")
                return True
        for old_item, old_placement, new_item in reversed(undo):
            if new_item is not None:
                plan.remove(new_item.placed)
            else:
                plan.remove(old_item.placed)
            plan.add(old_placement)
            old_item.placed = old_placement
    return False


def _move_to_other_device(plan: _Plan, holder: _Placement, device: str) -> tuple[_Item, _Placement, None] | None:
    item = holder.item
    assert item is not None
    for channel, other in plan.candidates(item.airing):
        if other != device and plan.fits(other, holder.start, holder.stop):
            plan.remove(holder)
            placed = plan.place(item, channel, other, holder.notes)
            placed.start, placed.stop = holder.start, holder.stop
            plan.touch(other)
            return item, holder, None
    return None


def _move_alternate_of(plan: _Plan, groups: list[list[_Item]], holder: _Placement,
                       exclude_device: str | None) -> tuple[_Item, _Placement, _Item] | None:
    item = holder.item
    assert item is not None
    for other in groups[item.group]:
        if other is item or other.placed is not None:
            continue
        start, stop = plan.span(other.airing)
        for channel, device in plan.candidates(other.airing):
            if device != exclude_device and plan.fits(device, start, stop, exclude=[holder]):
                plan.remove(holder)
                plan.place(other, channel, device)
                return item, holder, other
    return None


def _move_device(plan: _Plan, groups: list[list[_Item]], item: _Item, tz: tzinfo) -> bool:
    return _relocate(plan, groups, item, tz, to_alternate=False)


def _move_alternate(plan: _Plan, groups: list[list[_Item]], item: _Item, tz: tzinfo) -> bool:
    return _relocate(plan, groups, item, tz, to_alternate=True)


def _trim(plan: _Plan, groups: list[list[_Item]], item: _Item, tz: tzinfo) -> bool:
    """Record ``item`` with less padding when only padding clashes: its own padding is cut to
    what is free; if its programme time is still not free, the padding of planned airings that
    reaches into it is cut as well (lowest priority first)."""
    airing = item.airing
    core_start, core_stop = plan.core(airing)
    span_start, span_stop = plan.span(airing)
    for channel, device in plan.candidates(airing):
        trims: list[tuple[_Placement, Airing]] = []  # holders trimmed, with their airing before
        if not plan.fits(device, core_start, core_stop):
            reaching = [p for p in plan.overlapping(device, core_start, core_stop) if p.item is not None
                        and not (p.item.airing.start < core_stop and p.item.airing.stop > core_start)]
            reaching.sort(key=lambda p: _order_key(p.item.airing), reverse=True)
            for holder in reaching:
                before = holder.item.airing
                pad_before, pad_after = before.padding_before, before.padding_after
                if before.stop <= core_start < holder.stop:
                    pad_after = max(0.0, core_start - before.stop)
                if holder.start < core_stop <= before.start:
                    pad_before = max(0.0, before.start - core_stop)
                plan.set_airing(holder.item, dataclasses.replace(before, padding_before=pad_before, padding_after=pad_after))
                trims.append((holder, before))
                if plan.fits(device, core_start, core_stop):
                    break
            if not plan.fits(device, core_start, core_stop):
                for holder, before in reversed(trims):
                    plan.set_airing(holder.item, before)
                continue
        new_start = plan.free_from(device, core_start, span_start)
        new_stop = plan.free_until(device, core_stop, span_stop)
        trimmed = dataclasses.replace(
            airing,
            padding_before=airing.padding_before if new_start <= span_start else max(0.0, airing.start - new_start),
            padding_after=max(0.0, new_stop - airing.stop),
        )
        notes = []
        lost_before = airing.padding_before - trimmed.padding_before
        lost_after = airing.padding_after - trimmed.padding_after
        blockers = [p for p in plan.overlapping(device, span_start, span_stop)
                    if p.start < new_start or p.stop > new_stop]
        who = _holders_text(blockers, tz) or "another recording"
        if lost_before > 0:
            notes.append(f"padding before trimmed from {_seconds(airing.padding_before)} to "
                         f"{_seconds(trimmed.padding_before)}: {who} holds the tuner")
        if lost_after > 0:
            notes.append(f"padding after trimmed from {_seconds(airing.padding_after)} to "
                         f"{_seconds(trimmed.padding_after)}: {who} holds the tuner")
        plan.set_airing(item, trimmed)
        placement = plan.place(item, channel, device, notes)
        if not notes and not trims:  # nothing needed trimming after all
            return placement is not None
        for holder, before in trims:
            after = holder.item.airing
            parts = []
            if after.padding_before < before.padding_before:
                parts.append(f"padding before trimmed from {_seconds(before.padding_before)} to "
                             f"{_seconds(after.padding_before)}")
            if after.padding_after < before.padding_after:
                parts.append(f"padding after trimmed from {_seconds(before.padding_after)} to "
                             f"{_seconds(after.padding_after)}")
            holder.notes.append(f"{' and '.join(parts)} so that {describe_airing(airing, tz, channel)} "
                                f"can be recorded on the same tuners")
        return True
    return False


# ---------------------------------------------------------------------------------------------
# conflicts
# ---------------------------------------------------------------------------------------------
def _device_name(device: str, names: Mapping[str, str]) -> str:
    name = names.get(device)
    return f"{name} ({device})" if name and name != device else device


def _holder_dict(p: _Placement) -> dict[str, Any]:
    if p.busy is not None:
        return {**_busy_dict(p.busy), "device_id": p.device}
    assert p.item is not None
    return {"channel": p.channel, "device_id": p.device, "recording": False, **p.item.airing.as_dict()}


def _busy_dict(rec: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in rec.items() if k in ("device_id", "channel", "title", "start", "stop", "padded_start",
                                                   "padded_stop", "priority", "rule_id", "programme_id",
                                                   "episode_key", "id")}
    out["recording"] = True
    return out


def _holders_text(holders: list[_Placement], tz: tzinfo, against: Airing | None = None) -> str:
    texts = []
    for p in sorted(holders, key=lambda p: (p.start, p.channel)):
        if p.busy is not None:
            stop = float(p.busy.get("padded_stop", p.busy.get("stop", p.stop)))
            texts.append(f"'{p.busy.get('title')}' on {p.channel} (recording now, until {_clock(stop, tz):%H:%M})")
            continue
        assert p.item is not None
        a = p.item.airing
        text = f"{_title(a)} on {p.channel} at {_when(a.start, a.stop, tz)}"
        if against is not None:
            if a.priority > against.priority:
                why = f"higher priority: {a.priority} over {against.priority}"
                if a.start > against.start:
                    why += f", so it wins although {_title(against)} starts earlier"
            elif a.start < against.start:
                why = "same priority, starts earlier"
            else:
                why = "same priority, planned first"
            text += f" ({why})"
        texts.append(text)
    if len(texts) <= 1:
        return "".join(texts)
    return ", ".join(texts[:-1]) + " and " + texts[-1]


def _tuners_phrase(count: int) -> str:
    if count == 1:
        return "the only tuner"
    if count == 2:
        return "both tuners"
    return f"all {count} tuners"


def _failure(plan: _Plan, item: _Item, tz: tzinfo, names: Mapping[str, str]) -> Conflict:
    airing = item.airing
    candidates = plan.candidates(airing)
    if not candidates:
        if airing.channels:
            what = ("no available tuner carries channel " + " or ".join(airing.channels)
                    + " (is the device off, or the channel gone from its lineup?)")
        else:
            what = ("its guide channel is not shown by any lineup channel: map that guide channel to a lineup "
                    "channel to record it" + (f" (guide programme {airing.programme_id})" if airing.programme_id else ""))
        return Conflict(airing, "no_source", f"{describe_airing(airing, tz)} cannot be recorded: {what}")
    core_start, core_stop = plan.core(airing)
    parts, blocked = [], []
    for _channel, device in candidates:
        holders = plan.overlapping(device, core_start, core_stop)
        blocked.extend(holders)
        cap = plan.capacity[device]
        held = _holders_text(holders, tz, airing) or "other recordings"
        verb = "is" if cap == 1 else "are"
        parts.append(f"{_tuners_phrase(cap)} of {_device_name(device, names)} {verb} recording {held}")
    message = f"{describe_airing(airing, tz)}: no free tuner — " + "; ".join(parts)
    return Conflict(airing, "no_tuner", message, blocked_by=[_holder_dict(p) for p in blocked])


def _alternate(plan: _Plan, item: _Item, recorded: _Item, tz: tzinfo) -> Conflict:
    placed = recorded.placed
    assert placed is not None
    instead = describe_airing(recorded.airing, tz, placed.channel)
    if item.moved_note:
        why = f" ({item.moved_note})"
    elif not item.airing.channels:
        why = " (no lineup channel shows this one)"
    elif not plan.candidates(item.airing):
        why = " (no available tuner carries " + " or ".join(item.airing.channels) + ")"
    elif item.failed:
        why = " (no tuner is free for this one)"
    else:
        why = ""
    same = (item.airing.start == recorded.airing.start and item.airing.stop == recorded.airing.stop
            and sorted(item.airing.channels) == sorted(recorded.airing.channels))
    if same:
        rule = f" for rule {recorded.airing.rule_id}" if recorded.airing.rule_id is not None else ""
        message = f"{describe_airing(item.airing, tz)} is already planned{rule}: recorded once"
    else:
        message = f"{describe_airing(item.airing, tz)}: the same episode is recorded instead at {instead}{why}"
    return Conflict(item.airing, "alternate", message,
                    alternate_of={"channel": placed.channel, "device_id": placed.device, **recorded.airing.as_dict()})

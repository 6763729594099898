"""Live TV and DVR endpoints under ``/api/dvr/``: tuner devices, the lineup and its guide
mapping, the guide, recording rules, the schedule with its conflicts, recordings, live TV.

Every endpoint calls :class:`~omnimedia.core.dvr.manager.DvrManager` (``hub.dvr``), its guide
(``hub.dvr.guide``) and live TV (``hub.dvr.live``). Channels are lineup numbers ("5.1"); times
are UTC epoch seconds, durations and paddings seconds, sizes bytes. Changes are pushed as
``dvr_*`` events over the WebSocket (see docs/dvr.md). Tuner errors map to HTTP statuses:
an unknown channel is 404, busy or unavailable tuners 503 with the reason (which names what
holds the tuners).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import voluptuous as vol
from aiohttp import hdrs, web

from ..dvr.live import LiveError, LiveSessionEnded
from ..dvr.types import TunerError, UnknownChannel
from ..services import humanize_invalid
from .json import error_response, json_response
from .routing import HUB_KEY, Body, Param, Response, RouteTable, path_param
from .stream import stream_file

routes = RouteTable()

TAG = "dvr"
_NUM_OR_NULL = {"type": ["number", "null"]}
_STR_OR_NULL = {"type": ["string", "null"]}
_INT_OR_NULL = {"type": ["integer", "null"]}
_TIME = {"type": "number", "description": "UTC seconds since the epoch"}
_TIME_OR_NULL = {"type": ["number", "null"], "description": "UTC seconds since the epoch"}
_BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}
#: Seconds between checks of the client while a live stream is silent.
DISCONNECT_POLL = 0.25
#: The guide window when none is asked: an hour back, six ahead.
GUIDE_BEFORE, GUIDE_AFTER = 3600.0, 6 * 3600.0
#: Longest guide window one request may ask for (seconds).
GUIDE_MAX_WINDOW = 15 * 86400.0

LEASE = {
    "type": "object",
    "properties": {
        "channel": {"type": "string"}, "purpose": {"enum": ["recording", "live"]},
        "holder": {"type": "string", "description": "recording:<id> or live:<session id>"},
        "tuner": {"type": "integer", "description": "0-based tuner slot"}, "title": {"type": "string"},
        "started_at": _TIME,
    },
    "additionalProperties": True,
}
DEVICE = {
    "type": "object",
    "properties": {
        "device_id": {"type": "string"}, "name": _STR_OR_NULL, "platform": {"type": "string"},
        "model": _STR_OR_NULL, "manufacturer": _STR_OR_NULL, "sw_version": _STR_OR_NULL,
        "tuner_count": {"type": "integer"}, "available": {"type": "boolean"},
        "reason": {**_STR_OR_NULL, "description": "why it is unavailable (or its lineup failed)"},
        "channels": {"type": "integer", "description": "channels in its lineup"},
        "leases": {"type": "array", "items": LEASE},
    },
    "additionalProperties": True,
}
CHANNEL = {
    "type": "object",
    "properties": {
        "number": {"type": "string"}, "name": {"type": "string"},
        "devices": {"type": "array", "items": {"type": "string"}, "description": "device ids that carry it"},
        "hd": {"type": "boolean"}, "radio": {"type": "boolean"}, "drm": {"type": "boolean"},
        "logo": _STR_OR_NULL, "group": _STR_OR_NULL, "video_codec": _STR_OR_NULL,
        "guide_id": {**_STR_OR_NULL, "description": "the source's guide id hint (M3U tvg-id)"},
        "guide_channel_id": {**_STR_OR_NULL, "description": "the guide channel it is mapped to"},
        "mapping": {"enum": ["auto", "manual", None]}, "available": {"type": "boolean"},
    },
    "additionalProperties": True,
}
MAPPING = {
    "type": "object",
    "required": ["number", "guide_channel_id", "mapping"],
    "properties": {"number": {"type": "string"}, "guide_channel_id": _STR_OR_NULL,
                   "mapping": {"enum": ["auto", "manual", None]}},
}
PROGRAMME = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "channel": {"type": "string", "description": "guide channel id"},
        "start": _TIME, "stop": _TIME, "title": {"type": "string"}, "subtitle": _STR_OR_NULL,
        "description": _STR_OR_NULL, "categories": {"type": "array", "items": {"type": "string"}},
        "season": _INT_OR_NULL, "episode": _INT_OR_NULL, "episode_id": _STR_OR_NULL,
        "new": {"type": "boolean"}, "previously_shown": {"type": "boolean"},
        "original_air_date": _STR_OR_NULL, "icon": _STR_OR_NULL, "year": _INT_OR_NULL,
        "numbers": {"type": "array", "items": {"type": "string"}, "description": "lineup channels that show it"},
        "scheduled": {"type": "boolean", "description": "the current plan records it"},
        "conflict": {**_STR_OR_NULL, "description": "why the plan cannot record it, when a rule wants it"},
    },
    "additionalProperties": True,
}
GUIDE_CHANNEL = {
    "type": "object",
    "properties": {
        "number": {"type": "string"}, "name": {"type": "string"}, "logo": _STR_OR_NULL,
        "guide_channel_id": _STR_OR_NULL, "radio": {"type": "boolean"}, "hd": {"type": "boolean"},
        "programmes": {"type": "array", "items": PROGRAMME},
    },
}
RULE_KINDS = ["once", "daily", "weekly", "series", "keyword"]
RULE_FIELDS = {
    "kind": {"enum": RULE_KINDS},
    "title": {"type": "string", "description": "series: the programme title to match; else the recordings' name"},
    "keyword": {"type": ["string", "null"], "description": "keyword: text searched in titles and descriptions"},
    "channel": {"type": ["string", "null"], "description": "a lineup number; null: any channel"},
    "programme_id": {"type": ["integer", "null"], "description": "once: the guide programme"},
    "start": {"type": ["number", "string", "null"], "description": "once: UTC epoch seconds or ISO 8601 with an offset"},
    "stop": {"type": ["number", "string", "null"], "description": "once: UTC epoch seconds or ISO 8601 with an offset"},
    "start_time": {"type": ["string", "null"], "description": "daily/weekly: HH:MM local time"},
    "duration": {"type": ["number", "string", "null"], "description": "seconds or H:MM (daily/weekly; once without stop)"},
    "days": {"type": ["array", "null"], "items": {"type": ["integer", "string"]},
             "description": "weekly: 0 = Monday … 6 = Sunday, or names (mon, weekdays)"},
    "after": {"type": ["string", "null"], "description": "HH:MM local: airings starting at or after"},
    "before": {"type": ["string", "null"], "description": "HH:MM local: airings starting before"},
    "new_only": {"type": "boolean", "description": "skip repeats and episodes already recorded"},
    "padding_before": {"type": ["number", "string", "null"], "description": "seconds or H:MM (null: dvr.padding_before)"},
    "padding_after": {"type": ["number", "string", "null"], "description": "seconds or H:MM (null: dvr.padding_after)"},
    "priority": {"type": "integer", "description": "higher wins a conflict"},
    "keep_last": {**_INT_OR_NULL, "description": "recordings kept (oldest deleted first)"},
    "keep_days": {**_INT_OR_NULL, "description": "days a recording is kept"},
    "enabled": {"type": "boolean"},
}
RULE = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, **RULE_FIELDS, "created_at": _TIME, "updated_at": _TIME},
    "additionalProperties": True,
}
AIRING = {
    "type": "object",
    "description": "an airing: its rule, channel(s), start/stop (without padding), paddings, guide metadata",
    "properties": {
        "rule_id": _INT_OR_NULL, "priority": {"type": "integer"}, "channel": {"type": "string"},
        "channels": {"type": "array", "items": {"type": "string"}}, "device_id": {"type": "string"},
        "start": _TIME, "stop": _TIME, "padding_before": {"type": "number"}, "padding_after": {"type": "number"},
        "title": {"type": "string"}, "subtitle": _STR_OR_NULL, "programme_id": _INT_OR_NULL,
        "episode_key": _STR_OR_NULL, "season": _INT_OR_NULL, "episode": _INT_OR_NULL,
    },
    "additionalProperties": True,
}
CONFLICT = {
    "type": "object",
    "properties": {
        **AIRING["properties"],
        "reason": {"enum": ["no_tuner", "no_source", "alternate", "in_past"]},
        "message": {"type": "string", "description": "the reason in a sentence, with titles, channels and local times"},
        "blocked_by": {"type": "array", "items": {"type": "object"}},
        "alternate_of": {"type": ["object", "null"]},
    },
    "additionalProperties": True,
}
SCHEDULE = {
    "type": "object",
    "required": ["entries", "conflicts"],
    "properties": {
        "entries": {"type": "array", "items": AIRING, "description": "what will be recorded, by start"},
        "conflicts": {"type": "array", "items": CONFLICT, "description": "what will not be, and why"},
        "generated_at": _TIME_OR_NULL,
    },
}
RECORDING_STATES = ["recording", "processing", "done", "partial", "failed", "cancelled", "deleted"]
RECORDING = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "rule_id": _INT_OR_NULL, "programme_id": _INT_OR_NULL,
        "channel": {"type": "string"}, "device_id": _STR_OR_NULL, "title": {"type": "string"},
        "subtitle": _STR_OR_NULL, "description": _STR_OR_NULL, "season": _INT_OR_NULL, "episode": _INT_OR_NULL,
        "start": _TIME, "stop": _TIME, "padded_start": _TIME, "padded_stop": _TIME,
        "state": {"enum": RECORDING_STATES},
        "parts": {"type": "array", "items": {"type": "object"}, "description": "[{path, bytes, start, end}]"},
        "gaps": {"type": "array", "items": {"type": "object"}, "description": "[{start, end}] without data"},
        "path": {**_STR_OR_NULL, "description": "the finished file"}, "size": {"type": "integer", "description": "bytes"},
        "commercials": {"type": ["array", "null"], "description": "[[start, end], …] seconds into the file"},
        "item_id": {**_INT_OR_NULL, "description": "the library item once imported"},
        "message": {**_STR_OR_NULL, "description": "the last problem, in words"},
        "file_url": {**_STR_OR_NULL, "description": "the file's URL on the hub once finished"},
    },
    "additionalProperties": True,
}
LIVE_SESSION = {
    "type": "object",
    "properties": {
        "id": {"type": "string"}, "channel": {"type": "string"}, "name": {"type": "string"},
        "client": {"type": "string"}, "state": {"enum": ["starting", "playing", "idle", "ended"]},
        "reason": {**_STR_OR_NULL, "description": "why it ended (\"a recording needs the tuner\", …)"},
        "message": {**_STR_OR_NULL, "description": "the last problem (an ffmpeg error, a reconnect)"},
        "url": {"type": "string", "description": "the fragmented MP4 stream, relative to the hub"},
        "mime_type": {"enum": ["video/mp4", "audio/mp4"]}, "device_id": _STR_OR_NULL,
        "video": {"type": ["string", "null"], "enum": ["copy", "h264", None],
                  "description": "copy (the channel is H.264) or h264 (encoded); null for radio or until known"},
        "radio": {"type": "boolean"}, "viewers": {"type": "integer"},
        "started_at": _TIME, "ended_at": _TIME_OR_NULL, "idle_since": _TIME_OR_NULL,
        "release_at": {**_TIME_OR_NULL, "description": "when an idle session lets go of its tuner"},
        "bytes_in": {"type": "integer", "description": "bytes from the tuner"},
        "bytes_out": {"type": "integer", "description": "bytes of fMP4 sent"},
        "dropped": {"type": "integer", "description": "tuner bytes a slow viewer lost"},
        "reconnects": {"type": "integer"},
    },
}

_NUMBER = path_param("number", {"type": "string", "minLength": 1}, "lineup channel number (\"5.1\")")
_RULE_ID = path_param("rule_id", {"type": "integer", "minimum": 1}, "recording rule id")
_RECORDING_ID = path_param("recording_id", {"type": "integer", "minimum": 1}, "recording id")
_SESSION_ID = path_param("session_id", {"type": "string", "minLength": 1}, "live TV session id")
_DEVICE_ID = path_param("device_id", {"type": "string", "minLength": 1}, "tuner device id")


def _dvr(request: web.Request) -> Any:
    return request.app[HUB_KEY].dvr


def _list(key: str, item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": item}, **extra}}


def _tuner_error(err: TunerError) -> web.Response:
    """UnknownChannel → 404; TunerBusy / TunerUnavailable / others → 503 with the reason."""
    return error_response(404 if isinstance(err, UnknownChannel) else 503, str(err))


def _live_error(err: LiveError) -> web.Response:
    return error_response(err.status, str(err))


# -- devices and lineup ------------------------------------------------------------------------------

@routes.route("GET", "/api/dvr/devices", summary="Tuner devices with their tuners' leases", tag=TAG,
              responses={200: Response("every tuner device the DVR knows", _list("devices", DEVICE))})
async def list_tuner_devices(request: web.Request) -> web.Response:
    return json_response({"devices": _dvr(request).devices_status()})


@routes.route(
    "GET", "/api/dvr/devices/{device_id}", summary="One tuner device, with what each tuner reports", tag=TAG,
    params=[_DEVICE_ID],
    responses={200: Response("the device, and `tuners`: the device's own status per tuner (HDHomeRun status.json)",
                             {**DEVICE, "properties": {**DEVICE["properties"], "tuners": {"type": "array", "items": {"type": "object"}},
                                                       "tuners_error": _STR_OR_NULL}}),
               404: Response("no such device")},
)
async def get_tuner_device(request: web.Request, *, device_id: str) -> web.Response:
    dvr = _dvr(request)
    found = next((d for d in dvr.devices_status() if d["device_id"] == device_id), None)
    if found is None:
        return error_response(404, f"no tuner device {device_id!r}")
    out = {**found, "tuners": [], "tuners_error": None}
    try:
        out["tuners"] = await asyncio.wait_for(dvr.tuners[device_id].tuner_status(), 10)
    except (TimeoutError, TunerError, OSError) as err:
        out["tuners_error"] = str(err) or "the device did not answer within 10 s"
    return json_response(out)


@routes.route("GET", "/api/dvr/lineup", summary="Every channel of every tuner, merged by number, with its guide mapping",
              tag=TAG, responses={200: Response("channels sorted by number", _list("channels", CHANNEL))})
async def get_lineup(request: web.Request) -> web.Response:
    return json_response({"channels": await _dvr(request).lineup()})


@routes.route("POST", "/api/dvr/lineup/refresh", summary="Read every device's lineup again", tag=TAG,
              responses={200: Response("the new lineup", _list("channels", CHANNEL))})
async def refresh_lineup(request: web.Request) -> web.Response:
    dvr = _dvr(request)
    await dvr.refresh_lineups()
    return json_response({"channels": await dvr.lineup()})


@routes.route(
    "POST", "/api/dvr/lineup/scan", summary="Start or abort a channel scan on tuner devices", tag=TAG,
    body=Body({
        "type": "object", "additionalProperties": False,
        "properties": {"device_id": {"type": "string", "minLength": 1, "description": "default: every device"},
                       "action": {"enum": ["start", "abort"], "description": "default: start"}},
    }, "which device and what to do"),
    responses={200: Response("per device: the scan's status, or why it cannot scan", _list("devices", {
        "type": "object", "properties": {"device_id": {"type": "string"}, "status": {"type": ["object", "null"],
                                         "description": "{scan_in_progress, progress, found}"}, "error": _STR_OR_NULL}})),
               404: Response("no such device")},
    description="Devices without scanning (playlists) answer with an error in their entry. When a scan "
    "has finished, read the lineup again (POST /api/dvr/lineup/refresh).",
)
async def scan_lineup(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    dvr = _dvr(request)
    device_id, action = body.get("device_id"), body.get("action", "start")
    if device_id is not None and device_id not in dvr.tuners:
        return error_response(404, f"no tuner device {device_id!r}")
    out = []
    for did, tuner in list(dvr.tuners.items()):
        if device_id is not None and did != device_id:
            continue
        try:
            out.append({"device_id": did, "status": await tuner.scan(action), "error": None})
        except NotImplementedError as err:
            out.append({"device_id": did, "status": None, "error": str(err) or f"{did} cannot scan for channels"})
        except (TunerError, OSError) as err:
            out.append({"device_id": did, "status": None, "error": str(err)})
    return json_response({"devices": out})


async def _lineup_channel(request: web.Request, number: str) -> dict[str, Any] | None:
    return next((c for c in await _dvr(request).lineup() if c["number"] == number), None)


def _mapping_of(channel: dict[str, Any]) -> dict[str, Any]:
    return {"number": channel["number"], "guide_channel_id": channel.get("guide_channel_id"),
            "mapping": channel.get("mapping")}


@routes.route("GET", "/api/dvr/channels/{number}/mapping", summary="The guide channel a lineup channel shows",
              tag=TAG, params=[_NUMBER],
              responses={200: Response("the mapping (mapping: auto, manual, or null when unmapped)", MAPPING),
                         404: Response("no tuner carries this channel")})
async def get_channel_mapping(request: web.Request, *, number: str) -> web.Response:
    channel = await _lineup_channel(request, number)
    if channel is None:
        return error_response(404, f"no tuner carries channel {number!r}")
    return json_response(_mapping_of(channel))


@routes.route(
    "PUT", "/api/dvr/channels/{number}/mapping", summary="Map a lineup channel to a guide channel by hand",
    tag=TAG, params=[_NUMBER],
    body=Body({"type": "object", "required": ["guide_channel_id"], "additionalProperties": False,
               "properties": {"guide_channel_id": {"type": ["string", "null"],
                                                   "description": "a guide channel id; null: this channel has no guide"}}},
              "the guide channel", required=True),
    responses={200: Response("the new mapping", MAPPING),
               400: Response("no guide channel has this id"),
               404: Response("no tuner carries this channel")},
    description="A manual mapping wins over the automatic one (by id, number or name) until it is deleted.",
)
async def set_channel_mapping(request: web.Request, *, number: str, body: dict[str, Any]) -> web.Response:
    dvr = _dvr(request)
    if await _lineup_channel(request, number) is None:
        return error_response(404, f"no tuner carries channel {number!r}")
    guide_id = body["guide_channel_id"]
    if guide_id is not None:
        known = {c.id for c in await dvr.guide.channels()}
        if guide_id not in known:
            listed = ", ".join(sorted(known)[:20]) or "none (import a guide first)"
            return error_response(400, f"no guide channel {guide_id!r} for 'guide_channel_id' (known: {listed})")
    try:
        await dvr.guide.set_mapping(number, guide_id)
    except ValueError as err:  # the guide changed in between
        return error_response(400, f"{err} for 'guide_channel_id'")
    dvr.wake()
    return json_response(_mapping_of(await _lineup_channel(request, number) or {"number": number}))


@routes.route("DELETE", "/api/dvr/channels/{number}/mapping",
              summary="Forget a manual mapping: the channel is mapped automatically again", tag=TAG, params=[_NUMBER],
              responses={200: Response("the automatic mapping now in force", MAPPING),
                         404: Response("no tuner carries this channel")})
async def clear_channel_mapping(request: web.Request, *, number: str) -> web.Response:
    dvr = _dvr(request)
    if await _lineup_channel(request, number) is None:
        return error_response(404, f"no tuner carries channel {number!r}")
    await dvr.guide.clear_mapping(number)
    dvr.wake()
    return json_response(_mapping_of(await _lineup_channel(request, number) or {"number": number}))


# -- guide ---------------------------------------------------------------------------------------------

def _plan_marks(dvr: Any) -> tuple[set[int], dict[int, str]]:
    """Programme ids the plan records, and programme id → conflict message."""
    plan = dvr.upcoming() or {}
    scheduled = {e["programme_id"] for e in plan.get("entries", []) if e.get("programme_id") is not None}
    conflicts = {c["programme_id"]: c.get("message") or c.get("reason") or "not recorded"
                 for c in plan.get("conflicts", []) if c.get("programme_id") is not None}
    return scheduled, conflicts


def _programme_dict(prog: Any, numbers: list[str], scheduled: set[int], conflicts: dict[int, str]) -> dict[str, Any]:
    data = prog.as_dict() if hasattr(prog, "as_dict") else dict(prog)
    pid = data.get("id")
    data["numbers"] = numbers
    data["scheduled"] = pid in scheduled
    data["conflict"] = None if pid in scheduled else conflicts.get(pid)
    return data


def _numbers_for_guide(lineup: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for channel in lineup:
        if channel.get("guide_channel_id"):
            out.setdefault(channel["guide_channel_id"], []).append(channel["number"])
    return out


@routes.route(
    "GET", "/api/dvr/guide", summary="The guide: lineup channels with their programmes in a time window", tag=TAG,
    params=[
        Param("start", {"type": "number"}, "window start, UTC epoch seconds (default: an hour ago)"),
        Param("stop", {"type": "number"}, "window end, UTC epoch seconds (default: six hours from now)"),
        Param("channels", {"type": "string"}, "comma-separated lineup numbers (default: every channel)"),
    ],
    responses={200: Response("every channel (those without a guide have no programmes), each with the programmes "
                             "overlapping the window, by start", {
                                 "type": "object", "required": ["start", "stop", "channels"],
                                 "properties": {"start": _TIME, "stop": _TIME, "now": _TIME,
                                                "channels": {"type": "array", "items": GUIDE_CHANNEL}}}),
               400: Response("stop before start, or a window longer than 15 days")},
)
async def get_guide(request: web.Request, *, start: float | None, stop: float | None, channels: str | None) -> web.Response:
    dvr = _dvr(request)
    now = time.time()
    start = now - GUIDE_BEFORE if start is None else start
    stop = start + GUIDE_BEFORE + GUIDE_AFTER if stop is None else stop
    if stop <= start:
        return error_response(400, f"'stop' ({stop:g}) must be after 'start' ({start:g})")
    if stop - start > GUIDE_MAX_WINDOW:
        return error_response(400, f"the window from 'start' to 'stop' may be at most {GUIDE_MAX_WINDOW / 86400:g} days")
    lineup = await dvr.lineup()
    if channels:
        wanted = [c.strip() for c in channels.split(",") if c.strip()]
        known = {c["number"] for c in lineup}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            return error_response(400, f"unknown channel {unknown[0]!r} in 'channels'")
        lineup = [c for c in lineup if c["number"] in set(wanted)]
    guide_ids = sorted({c["guide_channel_id"] for c in lineup if c.get("guide_channel_id")})
    programmes = await dvr.guide.programmes(start, stop, guide_ids) if guide_ids else []
    by_guide: dict[str, list[Any]] = {}
    for prog in programmes:
        by_guide.setdefault(prog.channel, []).append(prog)
    icons = {}
    if guide_ids:
        icons = {c.id: c.icon for c in await dvr.guide.channels() if c.icon}
    numbers = _numbers_for_guide(lineup)
    scheduled, conflicts = _plan_marks(dvr)
    out = []
    for channel in lineup:
        gid = channel.get("guide_channel_id")
        progs = sorted(by_guide.get(gid, []), key=lambda p: p.start) if gid else []
        out.append({
            "number": channel["number"], "name": channel["name"], "logo": channel.get("logo") or icons.get(gid),
            "guide_channel_id": gid, "radio": bool(channel.get("radio")), "hd": bool(channel.get("hd")),
            "programmes": [_programme_dict(p, numbers.get(p.channel, []), scheduled, conflicts) for p in progs],
        })
    return json_response({"start": start, "stop": stop, "now": now, "channels": out})


@routes.route(
    "GET", "/api/dvr/guide/search", summary="Search programme titles and descriptions", tag=TAG,
    params=[Param("q", {"type": "string", "minLength": 1}, "text to find", required=True),
            Param("start", {"type": "number"}, "from (default: now)"),
            Param("stop", {"type": "number"}, "until (default: the end of the guide)")],
    responses={200: Response("matching programmes by start, with the lineup channels that show them",
                             _list("programmes", PROGRAMME))},
)
async def search_guide(request: web.Request, *, q: str, start: float | None, stop: float | None) -> web.Response:
    dvr = _dvr(request)
    start = time.time() if start is None else start
    stop = start + 60 * 86400 if stop is None else stop
    found = await dvr.guide.search(q, start, stop)
    numbers = _numbers_for_guide(await dvr.lineup())
    scheduled, conflicts = _plan_marks(dvr)
    return json_response({"programmes": [
        _programme_dict(p, numbers.get(p.channel, []), scheduled, conflicts) for p in sorted(found, key=lambda p: p.start)
    ]})


@routes.route("GET", "/api/dvr/guide/programmes/{programme_id}", summary="One programme of the guide", tag=TAG,
              params=[path_param("programme_id", {"type": "integer", "minimum": 1}, "guide programme id")],
              responses={200: Response("the programme with the lineup channels that show it", PROGRAMME),
                         404: Response("no such programme (guides replace their programmes on import)")})
async def get_guide_programme(request: web.Request, *, programme_id: int) -> web.Response:
    dvr = _dvr(request)
    prog = await dvr.guide.programme(programme_id)
    if prog is None:
        return error_response(404, f"no guide programme {programme_id} (the guide may have been imported again)")
    numbers = _numbers_for_guide(await dvr.lineup())
    scheduled, conflicts = _plan_marks(dvr)
    return json_response(_programme_dict(prog, numbers.get(prog.channel, []), scheduled, conflicts))


@routes.route("GET", "/api/dvr/guide/channels", summary="The guide's channels (to map lineup channels to)", tag=TAG,
              responses={200: Response("guide channels: id, names, number, icon, source", _list("channels", {
                  "type": "object", "properties": {"id": {"type": "string"}, "names": {"type": "array", "items": {"type": "string"}},
                                                   "number": _STR_OR_NULL, "icon": _STR_OR_NULL, "source": {"type": "string"}}}))})
async def list_guide_channels(request: web.Request) -> web.Response:
    return json_response({"channels": [c.as_dict() if hasattr(c, "as_dict") else c
                                       for c in await _dvr(request).guide.channels()]})


SOURCE_STATUS = {
    "type": "object",
    "description": "a guide source: name, source, last import result, times, error",
    "properties": {"name": {"type": "string"}, "source": {"type": "string"}, "last_import_at": _TIME_OR_NULL,
                   "next_import_at": _TIME_OR_NULL, "error": _STR_OR_NULL,
                   "result": {"type": ["object", "null"], "description": "the last ImportResult: channels, programmes, "
                                                                         "skipped, overlaps, errors, partial, seconds"}},
    "additionalProperties": True,
}


@routes.route("GET", "/api/dvr/guide/sources", summary="Guide sources and their last import", tag=TAG,
              responses={200: Response("every configured XMLTV source", _list("sources", SOURCE_STATUS))})
async def list_guide_sources(request: web.Request) -> web.Response:
    return json_response({"sources": _dvr(request).guide.status()})


@routes.route("POST", "/api/dvr/guide/refresh", summary="Import every guide source now", tag=TAG,
              responses={200: Response("each source's import result", _list("results", {"type": "object"}))})
async def refresh_guide(request: web.Request) -> web.Response:
    dvr = _dvr(request)
    results = await dvr.guide.refresh_all()
    dvr.wake()
    return json_response({"results": [r.as_dict() if hasattr(r, "as_dict") else r for r in results]})


# -- rules ---------------------------------------------------------------------------------------------

def _rule_error(err: Exception) -> web.Response:
    if isinstance(err, vol.Invalid):
        return error_response(400, humanize_invalid(err, "the rule"))
    return error_response(400, str(err))


@routes.route("GET", "/api/dvr/rules", summary="Recording rules", tag=TAG,
              responses={200: Response("every rule", _list("rules", RULE))})
async def list_rules(request: web.Request) -> web.Response:
    return json_response({"rules": await _dvr(request).rules()})


@routes.route(
    "POST", "/api/dvr/rules", summary="Add a recording rule", tag=TAG,
    body=Body({"type": "object", "required": ["kind"], "properties": RULE_FIELDS},
              "once: programme_id, or channel + start + stop/duration; daily: channel, start_time, duration; "
              "weekly: also days; series: title; keyword: keyword", required=True),
    responses={201: Response("the rule (the schedule is planned again)", RULE),
               400: Response("invalid rule (the message names the field), or an unknown channel")},
)
async def add_rule(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    try:
        rule = await _dvr(request).add_rule(body)
    except (vol.Invalid, ValueError) as err:
        return _rule_error(err)
    return json_response(rule, status=201)


@routes.route("GET", "/api/dvr/rules/{rule_id}", summary="One recording rule", tag=TAG, params=[_RULE_ID],
              responses={200: Response("the rule", RULE), 404: Response("no such rule")})
async def get_rule(request: web.Request, *, rule_id: int) -> web.Response:
    rule = next((r for r in await _dvr(request).rules() if r["id"] == rule_id), None)
    if rule is None:
        return error_response(404, f"no recording rule {rule_id}")
    return json_response(rule)


@routes.route(
    "PUT", "/api/dvr/rules/{rule_id}", summary="Change a recording rule (e.g. enabled: false)", tag=TAG,
    params=[_RULE_ID],
    body=Body({"type": "object", "properties": RULE_FIELDS}, "the fields to change; the rule is validated as a whole",
              required=True),
    responses={200: Response("the rule", RULE), 400: Response("invalid rule"), 404: Response("no such rule")},
)
async def update_rule(request: web.Request, *, rule_id: int, body: dict[str, Any]) -> web.Response:
    try:
        rule = await _dvr(request).update_rule(rule_id, body)
    except (vol.Invalid, ValueError) as err:
        return _rule_error(err)
    if rule is None:
        return error_response(404, f"no recording rule {rule_id}")
    return json_response(rule)


@routes.route("DELETE", "/api/dvr/rules/{rule_id}", summary="Delete a recording rule", tag=TAG, params=[_RULE_ID],
              responses={204: Response("deleted; its recordings stay"), 404: Response("no such rule")})
async def delete_rule(request: web.Request, *, rule_id: int) -> web.Response:
    if not await _dvr(request).delete_rule(rule_id):
        return error_response(404, f"no recording rule {rule_id}")
    return web.Response(status=204)


# -- schedule ------------------------------------------------------------------------------------------

@routes.route("GET", "/api/dvr/schedule", summary="Upcoming recordings and the conflicts, as last planned", tag=TAG,
              responses={200: Response("the plan", SCHEDULE)})
async def get_schedule(request: web.Request) -> web.Response:
    return json_response(_dvr(request).upcoming())


@routes.route("POST", "/api/dvr/schedule", summary="Plan again now", tag=TAG,
              responses={200: Response("the new plan", SCHEDULE)})
async def replan_schedule(request: web.Request) -> web.Response:
    return json_response(await _dvr(request).plan())


# -- recordings ----------------------------------------------------------------------------------------

def _with_url(rec: dict[str, Any]) -> dict[str, Any]:
    return {**rec, "file_url": f"/api/dvr/recordings/{rec['id']}/file" if rec.get("path") else None}


@routes.route("GET", "/api/dvr/recordings", summary="Recordings, newest first", tag=TAG,
              params=[Param("state", {"type": "string", "enum": RECORDING_STATES}, "only this state")],
              responses={200: Response("recordings", _list("recordings", RECORDING))})
async def list_recordings(request: web.Request, *, state: str | None) -> web.Response:
    recs = await _dvr(request).recordings(state)
    recs = sorted(recs, key=lambda r: (r.get("start") or 0, r.get("id") or 0), reverse=True)
    return json_response({"recordings": [_with_url(r) for r in recs]})


@routes.route(
    "POST", "/api/dvr/recordings", summary="Record a channel now", tag=TAG,
    body=Body({"type": "object", "required": ["channel", "duration"], "additionalProperties": False,
               "properties": {"channel": {"type": "string", "minLength": 1}, "duration": {"type": "number", "minimum": 1,
                                                                                     "description": "seconds"},
                              "title": {"type": "string"}}}, "what to record", required=True),
    responses={201: Response("the once rule made for it (the recording starts within a moment)", RULE),
               400: Response("unknown channel or invalid body")},
)
async def record_now(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    try:
        rule = await _dvr(request).record_now(body["channel"], body["duration"], body.get("title"))
    except (vol.Invalid, ValueError) as err:
        return _rule_error(err)
    return json_response(rule, status=201)


async def _recording_or_404(request: web.Request, recording_id: int) -> dict[str, Any] | web.Response:
    rec = await _dvr(request).recording(recording_id)
    if rec is None:
        return error_response(404, f"no recording {recording_id}")
    return rec


@routes.route("GET", "/api/dvr/recordings/{recording_id}", summary="One recording", tag=TAG, params=[_RECORDING_ID],
              responses={200: Response("the recording", RECORDING), 404: Response("no such recording")})
async def get_recording(request: web.Request, *, recording_id: int) -> web.Response:
    rec = await _recording_or_404(request, recording_id)
    return rec if isinstance(rec, web.Response) else json_response(_with_url(rec))


@routes.route("POST", "/api/dvr/recordings/{recording_id}/stop",
              summary="End a running recording now (what was recorded is finished and kept)", tag=TAG,
              params=[_RECORDING_ID],
              responses={200: Response("the recording", RECORDING), 404: Response("no such recording"),
                         409: Response("it is not recording")})
async def stop_recording(request: web.Request, *, recording_id: int) -> web.Response:
    rec = await _recording_or_404(request, recording_id)
    if isinstance(rec, web.Response):
        return rec
    if not await _dvr(request).stop_recording(recording_id):
        return error_response(409, f"recording {recording_id} is not running (state {rec.get('state')})")
    return json_response(_with_url(await _dvr(request).recording(recording_id) or rec))


@routes.route("DELETE", "/api/dvr/recordings/{recording_id}", summary="Delete a recording (and its file)", tag=TAG,
              params=[_RECORDING_ID, Param("delete_file", {"type": "boolean", "default": True},
                                           "also delete the file, its sidecars and parts")],
              responses={204: Response("deleted"), 404: Response("no such recording")})
async def delete_recording(request: web.Request, *, recording_id: int, delete_file: bool) -> web.Response:
    if not await _dvr(request).delete_recording(recording_id, delete_file=delete_file):
        return error_response(404, f"no recording {recording_id}")
    return web.Response(status=204)


@routes.route(
    ("GET", "HEAD"), "/api/dvr/recordings/{recording_id}/file", summary="A finished recording's file, with byte ranges",
    tag=TAG, params=[_RECORDING_ID],
    responses={200: Response("the file", _BINARY, media_type="video/x-matroska", headers={"Accept-Ranges": "bytes"}),
               206: Response("the requested range(s)", _BINARY, media_type="video/x-matroska"),
               404: Response("no such recording, not finished yet, or its file is gone"),
               416: Response("no requested range lies inside the file")},
    description="Served like direct play (/api/stream/<id>): single and multiple ranges, If-Range, "
    "conditional requests. The media type follows the extension (.mkv or .ts).",
)
async def get_recording_file(request: web.Request, *, recording_id: int) -> web.StreamResponse:
    rec = await _recording_or_404(request, recording_id)
    if isinstance(rec, web.Response):
        return rec
    if not rec.get("path"):
        return error_response(404, f"recording {recording_id} has no file yet (state {rec.get('state')})")
    path = Path(rec["path"])
    try:
        st = await asyncio.to_thread(os.stat, path)
    except OSError:
        return error_response(404, f"the file of recording {recording_id} is gone: {path}")
    return stream_file(request, path, st)


# -- live TV -------------------------------------------------------------------------------------------

@routes.route(
    "POST", "/api/dvr/live", summary="Watch a channel: lease a tuner and start a live TV session", tag=TAG,
    body=Body({"type": "object", "required": ["channel"], "additionalProperties": False,
               "properties": {"channel": {"type": "string", "minLength": 1, "description": "lineup number"},
                              "client": {"type": "string",
                                         "description": "who watches; a client's new session replaces its old one"}}},
              "the channel", required=True),
    responses={201: Response("the session; fetch its url within dvr.live.idle_timeout seconds", LIVE_SESSION),
               404: Response("no tuner carries the channel"),
               503: Response("every tuner that carries it is busy (the message says with what) or unavailable, "
                             "or dvr.live.max_sessions sessions are running")},
)
async def start_live_session(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    try:
        session = await _dvr(request).live.start(body["channel"], client=body.get("client") or "")
    except TunerError as err:
        return _tuner_error(err)
    except LiveError as err:
        return _live_error(err)
    return json_response(session, status=201)


@routes.route("GET", "/api/dvr/live", summary="Live TV sessions", tag=TAG,
              params=[Param("ended", {"type": "boolean", "default": False}, "also the recently ended ones")],
              responses={200: Response("running sessions, oldest first (then ended ones, newest first)",
                                       _list("sessions", LIVE_SESSION))})
async def list_live_sessions(request: web.Request, *, ended: bool) -> web.Response:
    return json_response({"sessions": _dvr(request).live.sessions(ended=ended)})


@routes.route("GET", "/api/dvr/live/{session_id}", summary="One live TV session (also a recently ended one)", tag=TAG,
              params=[_SESSION_ID], responses={200: Response("the session", LIVE_SESSION), 404: Response("no such session")})
async def get_live_session(request: web.Request, *, session_id: str) -> web.Response:
    try:
        return json_response(_dvr(request).live.session(session_id))
    except LiveError as err:
        return _live_error(err)


@routes.route("DELETE", "/api/dvr/live/{session_id}", summary="Stop watching: end the session and release the tuner",
              tag=TAG, params=[_SESSION_ID],
              responses={200: Response("the ended session", LIVE_SESSION), 404: Response("no such session")})
async def stop_live_session(request: web.Request, *, session_id: str) -> web.Response:
    try:
        return json_response(await _dvr(request).live.stop(session_id))
    except LiveError as err:
        return _live_error(err)


def _range_start(header: str) -> int | None:
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first = spec.strip().partition("-")[0].strip()
    return int(first) if first.isdigit() else -1


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


@routes.route(
    ("GET", "HEAD"), "/api/dvr/live/{session_id}/stream", summary="The live stream: fragmented MP4, chunked", tag=TAG,
    params=[_SESSION_ID],
    responses={
        200: Response("fMP4 (ftyp, moov, then moof/mdat fragments) for as long as the session runs", _BINARY,
                      media_type="video/mp4", headers={"Accept-Ranges": "none"}),
        404: Response("no such session"),
        410: Response("the session has ended (the message says why)"),
        416: Response("a Range that does not start at byte 0 (a live stream has no earlier bytes)"),
        500: Response("ffmpeg could not make the stream (its message is given)"),
    },
    description="One viewer per session: a new request replaces the previous one. When the viewer "
    "disconnects the tuner is released dvr.live.idle_timeout seconds later unless it comes back. "
    "Audio-only (radio) sessions are audio/mp4.",
)
async def get_live_stream(request: web.Request, *, session_id: str) -> web.StreamResponse:
    live = _dvr(request).live
    try:
        session = live.session(session_id)
        if session["state"] == "ended":
            raise LiveSessionEnded(session_id, session["reason"] or "ended")
    except LiveError as err:
        return _live_error(err)
    range_header = request.headers.get(hdrs.RANGE)
    if range_header is not None and (first := _range_start(range_header)) is not None and first != 0:
        return error_response(416, "a live stream can only be read from its first byte; request it without a Range")
    headers = {hdrs.CONTENT_TYPE: session["mime_type"], hdrs.ACCEPT_RANGES: "none", hdrs.CACHE_CONTROL: "no-store",
               hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: "*"}
    if request.method == "HEAD":
        return web.Response(headers=headers)
    try:
        chunks = live.stream(session_id).__aiter__()
    except LiveError as err:
        return _live_error(err)
    try:
        return await _send_live(request, chunks, headers)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(chunks.aclose())


async def _send_live(request: web.Request, chunks: AsyncIterator[bytes], headers: dict[str, str]) -> web.StreamResponse:
    """Wait for the first bytes (errors before them are JSON), then copy chunks until the
    session ends or the client leaves."""
    try:
        while True:
            first = await chunks.__anext__()
            if first:
                break
            if _client_gone(request):
                return web.Response(status=499)  # nobody reads it; the connection is gone
    except StopAsyncIteration:
        return error_response(410, "the live TV session ended before its stream started")
    except LiveError as err:
        return _live_error(err)
    response = web.StreamResponse(status=200, headers=headers)
    response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        await response.write(first)
        async for chunk in chunks:
            if chunk:
                await response.write(chunk)
            elif _client_gone(request):
                return response
        await response.write_eof()
    except (ConnectionError, LiveError):
        transport = request.transport
        if transport is not None:
            transport.abort()
    return response

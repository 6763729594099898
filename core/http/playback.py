"""Playback endpoints: device profiles, the playback decision for an item, resume positions and
watched state.

Profiles come from ``hub.playback.profiles`` when the playback manager loaded them, else from the
configuration (:func:`~omnimedia.core.playback.profiles.load_profiles`). Positions are kept by
:class:`~omnimedia.core.playback.positions.PositionStore`. Positions and durations are seconds,
times UTC seconds since the epoch, bitrates bit/s.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import ffmpeg
from aiohttp import web

from ..library.probe import ProbeTimeout, error_text, probe
from ..playback.decision import decide, media_type_for_decision
from ..playback.errors import PlaybackError
from ..playback.positions import UnknownItem, positions_of
from ..playback.profiles import ProfileError, load_profiles
from ..playback.types import DeviceProfile
from .json import error_response, json_response
from .routing import HUB_KEY, Body, Param, Response, RouteTable, path_param
from .stream import library_roots, resolve_inside

_LOGGER = logging.getLogger(__name__)

routes = RouteTable()

_NUM_OR_NULL = {"type": ["number", "null"]}
_INT_OR_NULL = {"type": ["integer", "null"]}
_STR_LIST = {"type": "array", "items": {"type": "string"}}

PROFILE: dict[str, Any] = {
    "type": "object",
    "description": "What one kind of client plays natively (see docs/playback.md).",
    "required": ["name", "containers", "video_codecs", "audio_codecs", "streaming"],
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "containers": _STR_LIST,
        "video_codecs": _STR_LIST,
        "audio_codecs": _STR_LIST,
        "video_profiles": {"type": "object", "description": "codec → allowed profiles (lower case)"},
        "max_video_level": {"type": "object", "description": "codec → ffprobe level (41 = H.264 4.1)"},
        "max_width": _INT_OR_NULL,
        "max_height": _INT_OR_NULL,
        "max_audio_channels": _INT_OR_NULL,
        "max_bitrate": {"type": ["integer", "null"], "description": "bits per second"},
        "subtitle_formats": _STR_LIST,
        "streaming": {"enum": ["http", "progressive", "hls"]},
        "transcode_video_codec": {"type": "string"},
        "transcode_audio_codec": {"type": "string"},
        "transcode_container": {"type": "string"},
        "dlna": {"type": "boolean"},
    },
}

DECISION: dict[str, Any] = {
    "type": "object",
    "required": ["method", "profile", "reasons", "protocol", "container", "video", "audio", "subtitles"],
    "properties": {
        "method": {"enum": ["direct_play", "direct_stream", "transcode"]},
        "profile": {"type": "string"},
        "reasons": {"type": "array", "items": {"type": "string"},
                    "description": "one sentence per limit that stopped a better method"},
        "protocol": {"enum": ["http", "progressive", "hls"]},
        "container": {"type": ["string", "null"]},
        "video": {"type": ["string", "null"], "description": "copy, the codec to encode to, or null (no video)"},
        "audio": {"type": ["string", "null"], "description": "copy, the codec to encode to, or null (no audio)"},
        "video_stream": _INT_OR_NULL,
        "audio_stream": _INT_OR_NULL,
        "subtitle_stream": _INT_OR_NULL,
        "subtitles": {"enum": ["none", "webvtt", "embed", "burn_in"]},
        "max_bitrate": {"type": ["integer", "null"], "description": "bits per second the encoder must respect"},
        "width": _INT_OR_NULL,
        "height": _INT_OR_NULL,
    },
}

POSITION: dict[str, Any] = {
    "type": "object",
    "required": ["item_id", "position", "duration", "watched", "play_count", "device", "updated_at"],
    "properties": {
        "item_id": {"type": "integer"},
        "position": {"type": "number", "description": "seconds to resume at (0 once watched)"},
        "duration": _NUM_OR_NULL,
        "watched": {"type": "boolean"},
        "play_count": {"type": "integer", "description": "times watched to the end"},
        "device": {"type": ["string", "null"], "description": "last device profile or renderer"},
        "updated_at": {"type": ["number", "null"], "description": "UTC seconds since the epoch; null: never played"},
        "completed": {"type": "boolean", "description": "(updates only) this report made the item watched"},
    },
}

_POSITION_FIELDS = {
    "position": {"type": "number", "minimum": 0, "description": "seconds from the start"},
    "duration": {"type": "number", "minimum": 0, "description": "seconds; default: the last reported or the library's"},
    "device": {"type": "string", "description": "device profile name or renderer id"},
}

ITEM_ID = path_param("id", {"type": "integer", "minimum": 1}, "media item id")


def profiles_of(hub: Any) -> dict[str, DeviceProfile]:
    """The device profiles in effect: ``hub.playback.profiles`` when the playback manager holds
    them, else the built-in ones merged with the configuration's. Raises
    :class:`~omnimedia.core.playback.profiles.ProfileError` for a broken ``extends``."""
    loaded = getattr(hub.playback, "profiles", None)
    if isinstance(loaded, dict) and loaded:
        return loaded
    return load_profiles(hub.config.playback)


def default_profile_name(hub: Any) -> str:
    return str((hub.config.playback or {}).get("default_profile") or "desktop_browser")


@routes.route(
    "GET", "/api/playback/profiles", summary="Device profiles", tag="playback",
    responses={
        200: Response("every device profile (built-in and configured) and the default one", {
            "type": "object", "required": ["profiles", "default"],
            "properties": {"profiles": {"type": "array", "items": PROFILE}, "default": {"type": "string"}},
        }),
        500: Response("a configured profile cannot be built (e.g. it extends an unknown profile)"),
    },
)
async def get_playback_profiles(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    try:
        profiles = profiles_of(hub)
    except ProfileError as err:
        return error_response(500, str(err))
    return json_response({
        "profiles": [p.as_dict() for p in profiles.values()],
        "default": default_profile_name(hub),
    })


def _checked_path(path: str, roots: list) -> str | None:
    real = resolve_inside(path, roots)
    if real is None:
        return None
    if not real.is_file():
        raise FileNotFoundError(path)
    return os.fspath(real)


@routes.route(
    "GET", "/api/items/{id}/decision", summary="How an item plays on a device profile, and why", tag="playback",
    params=[
        ITEM_ID,
        Param("profile", {"type": "string", "minLength": 1}, "device profile name (default: playback.default_profile)"),
        Param("audio_stream", {"type": "integer", "minimum": 0}, "ffprobe index of the audio track to play"),
        Param("subtitle_stream", {"type": "integer", "minimum": 0}, "ffprobe index of the subtitle to show"),
        Param("max_bitrate", {"type": "integer", "minimum": 1}, "client limit in bits per second"),
    ],
    responses={
        200: Response("the decision with its reasons", {
            "type": "object", "required": ["item_id", "decision", "mime_type"],
            "properties": {
                "item_id": {"type": "integer"},
                "decision": DECISION,
                "mime_type": {"type": "string", "description": "Content-Type of what the client receives"},
                "stream_url": {"type": ["string", "null"], "description": "direct play URL (null otherwise)"},
            },
        }),
        400: Response("unknown profile or bad parameter"),
        403: Response("the file is not inside a configured library"),
        404: Response("no such item, or its file is gone"),
        422: Response("the file cannot be played: no usable stream, a wrong stream index, or ffprobe failed"),
    },
    description="Probes the file (ffprobe, as an asyncio subprocess) and compares it with the profile: "
    "direct_play, direct_stream (remux) or transcode, each limit that blocked a better method as one "
    "sentence in `reasons`.",
)
async def get_item_decision(
    request: web.Request, *, id: int, profile: str | None, audio_stream: int | None,
    subtitle_stream: int | None, max_bitrate: int | None,
) -> web.Response:
    hub = request.app[HUB_KEY]
    try:
        profiles = profiles_of(hub)
    except ProfileError as err:
        return error_response(500, str(err))
    name = profile or default_profile_name(hub)
    chosen = profiles.get(name)
    if chosen is None:
        return error_response(400, f"unknown device profile {name!r} (known: {', '.join(sorted(profiles))})")
    item = await hub.library.get_item(id)
    if item is None:
        return error_response(404, f"no media item with id {id}")
    roots = library_roots(hub.config.config_dir, hub.config.libraries)
    try:
        path = await asyncio.to_thread(_checked_path, item["path"], roots)
    except FileNotFoundError:
        return error_response(404, f"the file of media item {id} is missing")
    if path is None:
        return error_response(403, f"media item {id} is not inside a configured library")
    timeout = float((hub.config.scanner or {}).get("probe_timeout", 60.0))
    try:
        info = await probe(path, timeout=timeout)
    except (ffmpeg.Error, ProbeTimeout, FileNotFoundError, ValueError) as err:
        return error_response(422, f"cannot read media item {id}: {error_text(err, path)}")
    try:
        decision = decide(
            info, chosen, audio_stream=audio_stream, subtitle_stream=subtitle_stream, max_bitrate=max_bitrate
        )
    except PlaybackError as err:
        return error_response(422, f"media item {id} cannot be played: {err}")
    return json_response({
        "item_id": id,
        "decision": decision.as_dict(),
        "mime_type": media_type_for_decision(decision),
        "stream_url": f"/api/stream/{id}" if decision.method == "direct_play" else None,
    })


# -- positions and watched state ---------------------------------------------------------------


def _bad_value(err: ValueError) -> web.Response:
    return error_response(400, str(err))


async def _position_update(request: web.Request, item_id: int, body: dict[str, Any]) -> web.Response:
    store = positions_of(request.app[HUB_KEY])
    try:
        row = await store.update(item_id, body["position"], body.get("duration"), body.get("device"))
    except UnknownItem:
        return error_response(404, f"no media item with id {item_id}")
    except ValueError as err:
        return _bad_value(err)
    return json_response(row)


async def _position_get(request: web.Request, item_id: int) -> web.Response:
    try:
        return json_response(await positions_of(request.app[HUB_KEY]).get(item_id))
    except UnknownItem:
        return error_response(404, f"no media item with id {item_id}")


_POSITION_RESPONSES = {200: Response("the item's position and watched state", POSITION), 404: Response("no such item")}


@routes.route(
    "GET", "/api/stream/position", summary="Resume position of an item (seed API)", tag="playback",
    params=[Param("item_id", {"type": "integer", "minimum": 1}, "media item id", required=True)],
    responses=_POSITION_RESPONSES,
)
async def get_stream_position(request: web.Request, *, item_id: int) -> web.Response:
    return await _position_get(request, item_id)


@routes.route(
    "PUT", "/api/stream/position", summary="Report the playback position of an item (seed API)", tag="playback",
    body=Body({
        "type": "object", "required": ["item_id", "position"], "additionalProperties": False,
        "properties": {"item_id": {"type": "integer", "minimum": 1}, **_POSITION_FIELDS},
    }, "where playback is", required=True),
    responses={**_POSITION_RESPONSES, 400: Response("bad body")},
    description="Once the position reaches playback.watched_threshold × the duration the item is "
    "watched: play_count grows and the position goes back to 0.",
)
async def put_stream_position(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    return await _position_update(request, body["item_id"], body)


@routes.route("GET", "/api/items/{id}/position", summary="Resume position and watched state of an item",
              tag="playback", params=[ITEM_ID], responses=_POSITION_RESPONSES)
async def get_item_position(request: web.Request, *, id: int) -> web.Response:
    return await _position_get(request, id)


@routes.route(
    "PUT", "/api/items/{id}/position", summary="Report the playback position of an item", tag="playback",
    params=[ITEM_ID],
    body=Body({
        "type": "object", "required": ["position"], "additionalProperties": False, "properties": _POSITION_FIELDS,
    }, "where playback is", required=True),
    responses={**_POSITION_RESPONSES, 400: Response("bad body")},
    description="Same as PUT /api/stream/position with the item id in the path.",
)
async def put_item_position(request: web.Request, *, id: int, body: dict[str, Any]) -> web.Response:
    return await _position_update(request, id, body)


@routes.route(
    "POST", "/api/items/{id}/watched", summary="Mark an item watched", tag="playback", params=[ITEM_ID],
    body=Body({"type": "object", "additionalProperties": False,
               "properties": {"device": _POSITION_FIELDS["device"]}}, "optional device"),
    responses=_POSITION_RESPONSES,
    description="play_count grows by one and the resume position goes back to 0.",
)
async def mark_item_watched(request: web.Request, *, id: int, body: dict[str, Any]) -> web.Response:
    try:
        return json_response(await positions_of(request.app[HUB_KEY]).mark_watched(id, body.get("device")))
    except UnknownItem:
        return error_response(404, f"no media item with id {id}")


@routes.route(
    "DELETE", "/api/items/{id}/watched", summary="Mark an item not watched", tag="playback", params=[ITEM_ID],
    responses=_POSITION_RESPONSES,
    description="watched false, play_count 0, resume position 0.",
)
async def mark_item_unwatched(request: web.Request, *, id: int) -> web.Response:
    try:
        return json_response(await positions_of(request.app[HUB_KEY]).mark_unwatched(id))
    except UnknownItem:
        return error_response(404, f"no media item with id {id}")


@routes.route(
    "GET", "/api/playback/continue", summary="Continue watching: started, unfinished items", tag="playback",
    params=[Param("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}, "how many")],
    responses={200: Response("most recently played first", {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": {
            **POSITION,
            "properties": {
                **POSITION["properties"],
                "progress": {"type": ["number", "null"], "description": "position / duration, 0–1"},
                "item": {"type": "object", "description": "id, type, title, year, season, episode, "
                         "episode_title, path, duration"},
            },
        }}},
    })},
)
async def get_continue_watching(request: web.Request, *, limit: int) -> web.Response:
    return json_response({"items": await positions_of(request.app[HUB_KEY]).continue_watching(limit)})

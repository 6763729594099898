"""Casting endpoints: the renderers the hub found (DLNA, Google Cast), playing a library item on
one, controlling it and reading its state.

Every endpoint calls :class:`~omnimedia.core.casting.manager.CastingManager` (``hub.casting``).
Positions and durations are seconds of the item; volumes 0.0–1.0; times UTC epoch seconds.
State changes are also pushed as ``cast_state_changed`` events over the WebSocket.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..casting.manager import UnknownRenderer
from ..casting.types import CastError
from ..errors import OmniMediaError
from .json import error_response, json_response
from .routing import HUB_KEY, Body, Param, Response, RouteTable, path_param

routes = RouteTable()

_NUM_OR_NULL = {"type": ["number", "null"]}
_STR_OR_NULL = {"type": ["string", "null"]}

CAST = {
    "type": "object",
    "description": "what the renderer plays",
    "properties": {
        "renderer_id": {"type": "string"},
        "item_id": {"type": ["integer", "null"]},
        "url": {**_STR_OR_NULL, "description": "the absolute URL handed to the device"},
        "mime_type": _STR_OR_NULL,
        "title": {"type": "string"},
        "state": {"enum": ["idle", "buffering", "playing", "paused", "stopped", "finished", "unavailable"]},
        "position": {**_NUM_OR_NULL, "description": "seconds"},
        "duration": {**_NUM_OR_NULL, "description": "seconds"},
        "volume": {**_NUM_OR_NULL, "description": "0.0–1.0"},
        "error": _STR_OR_NULL,
        "session_id": {**_STR_OR_NULL, "description": "the playback session (none for direct play)"},
        "method": {"type": ["string", "null"], "enum": ["direct_play", "direct_stream", "transcode", None]},
        "offset": {"type": "number", "description": "seconds of the item where the stream starts"},
        "started_at": {**_NUM_OR_NULL, "description": "UTC seconds since the epoch"},
        "updated_at": {"type": "number", "description": "UTC seconds since the epoch"},
    },
}
RENDERER = {
    "type": "object",
    "required": ["id", "name", "protocol", "host", "device_profile", "cast"],
    "properties": {
        "id": {"type": "string", "description": "stable id: the UPnP UDN or the Cast UUID"},
        "name": {"type": "string"},
        "protocol": {"type": "string", "description": "dlna or googlecast"},
        "host": {"type": "string", "description": "the device's IP address"},
        "device_profile": {"type": "string", "description": "playback device profile used to choose the stream"},
        "cast": CAST,
    },
    "additionalProperties": True,
}

_RENDERER_ID = path_param("renderer_id", {"type": "string", "minLength": 1}, "renderer id (from the list)")
_ERRORS = {
    404: Response("no such renderer (or no such item)"),
    502: Response("the renderer refused or did not answer; the message says which and why"),
}


def _casting(request: web.Request) -> Any:
    return request.app[HUB_KEY].casting


@routes.route("GET", "/api/casting/renderers", summary="Renderers the hub can cast to", tag="casting",
              responses={200: Response("every known renderer with what it plays", {
                  "type": "object", "required": ["renderers"],
                  "properties": {"renderers": {"type": "array", "items": RENDERER}},
              })})
async def list_renderers(request: web.Request) -> web.Response:
    casting = _casting(request)
    return json_response({"renderers": [casting.describe(r.id) for r in casting.renderers()]})


@routes.route("GET", "/api/casting/{renderer_id}", summary="One renderer and what it plays", tag="casting",
              params=[_RENDERER_ID, Param("refresh", {"type": "boolean", "default": False},
                                          "ask the device now instead of returning the last known state")],
              responses={200: Response("the renderer", RENDERER), **_ERRORS})
async def get_renderer(request: web.Request, *, renderer_id: str, refresh: bool) -> web.Response:
    casting = _casting(request)
    try:
        if refresh:
            await casting.refresh(renderer_id)
        return json_response(casting.describe(renderer_id))
    except UnknownRenderer as err:
        return error_response(404, str(err))


@routes.route(
    "POST", "/api/casting/{renderer_id}/play", summary="Play a library item on a renderer", tag="casting",
    params=[_RENDERER_ID],
    body=Body({
        "type": "object", "required": ["item_id"],
        "properties": {"item_id": {"type": "integer", "minimum": 1},
                       "start": {"type": "number", "minimum": 0, "description": "seconds"}},
        "additionalProperties": False,
    }, "the item and where to start", required=True),
    responses={200: Response("the device accepted it; what it plays", CAST),
               400: Response("invalid body"), **_ERRORS,
               403: Response("the item's file is outside every library"),
               422: Response("the item cannot be played (corrupt, nothing to play)"),
               503: Response("too many streams are running (playback.max_transcodes)")},
    description="The stream is chosen for the renderer's device profile (direct play, remux or transcode) "
    "and its URL uses the hub's address on the network that reaches the device. Whether it really "
    "plays shows in the state (polled every second, also pushed as cast_state_changed events).",
)
async def cast_item(request: web.Request, *, renderer_id: str, body: dict[str, Any]) -> web.Response:
    try:
        status = await _casting(request).cast(renderer_id, body["item_id"], start=float(body.get("start") or 0))
    except UnknownRenderer as err:
        return error_response(404, str(err))
    except LookupError as err:
        return error_response(404, str(err.args[0]))
    except ValueError as err:
        return error_response(400, str(err))
    except CastError as err:
        return error_response(502, str(err))
    except OmniMediaError as err:  # the playback engine: unplayable item (404/403/422), too many streams (503)
        return error_response(int(getattr(err, "status", 500)), str(err))
    return json_response(status)


@routes.route(
    "POST", "/api/casting/{renderer_id}/control", summary="Pause, resume, stop, seek or set the volume",
    tag="casting", params=[_RENDERER_ID],
    body=Body({
        "type": "object", "required": ["action"],
        "properties": {
            "action": {"enum": ["pause", "resume", "stop", "seek", "volume"]},
            "position": {"type": "number", "minimum": 0, "description": "seek: seconds of the item"},
            "level": {"type": "number", "minimum": 0, "maximum": 1, "description": "volume: 0.0–1.0"},
        },
        "additionalProperties": False,
    }, "the action and its argument", required=True),
    responses={200: Response("done; what it plays now", CAST),
               400: Response("unknown action or a missing argument"), **_ERRORS},
)
async def control_renderer(request: web.Request, *, renderer_id: str, body: dict[str, Any]) -> web.Response:
    args = {k: body[k] for k in ("position", "level") if k in body}
    try:
        status = await _casting(request).control(renderer_id, body["action"], **args)
    except UnknownRenderer as err:
        return error_response(404, str(err))
    except ValueError as err:
        return error_response(400, str(err))
    except CastError as err:
        return error_response(502, str(err))
    return json_response(status)


@routes.route("GET", "/api/casting/{renderer_id}/status", summary="What a renderer plays", tag="casting",
              params=[_RENDERER_ID, Param("refresh", {"type": "boolean", "default": False},
                                          "ask the device now instead of returning the last known state")],
              responses={200: Response("the state of its cast", CAST), **_ERRORS})
async def get_cast_status(request: web.Request, *, renderer_id: str, refresh: bool) -> web.Response:
    casting = _casting(request)
    try:
        status = await casting.refresh(renderer_id) if refresh else casting.status(renderer_id)
    except UnknownRenderer as err:
        return error_response(404, str(err))
    return json_response(status)

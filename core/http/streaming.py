"""Streaming endpoints: playback sessions, progressive fragmented MP4, HLS playlists and
segments, subtitle sidecars.

Every endpoint calls :class:`~omnimedia.core.playback.manager.PlaybackManager`
(``hub.playback``). Streams, playlists, segments and sidecars carry
``Access-Control-Allow-Origin: *``: Cast receivers load HLS and text tracks with XHR from another
origin (Google Cast "Supported media": CORS is required for adaptive streaming and subtitles).
Times are UTC seconds since the epoch, positions and durations seconds, bitrates bit/s.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import hdrs, web

from ..playback.errors import PlaybackError
from ..playback.hls import PLAYLIST_MIME, SEGMENT_MIME, HlsSession
from ..playback.progressive import ProgressiveSession
from ..playback.sessions import SessionNotFound
from ..playback.subtitles import SIDECAR_MIME, SubtitleError
from .json import error_response, json_response
from .routing import HUB_KEY, Body, Param, Response, RouteTable, path_param

routes = RouteTable()

_CORS = {hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: "*"}
# Whole path segments as parameters ("3.ts", "2.vtt"): the OpenAPI document names each segment's
# parameter, so a segment is never half literal.
_SEGMENT_NAME = re.compile(r"^(\d{1,9})\.ts$")
_TRACK_NAME = re.compile(r"^(\d{1,6})\.(vtt|srt)$")
_NUM_OR_NULL = {"type": ["number", "null"]}
_STR_OR_NULL = {"type": ["string", "null"]}

DECISION = {
    "type": "object",
    "description": "How the item plays on the profile, and why (see docs/playback.md).",
    "properties": {
        "method": {"enum": ["direct_play", "direct_stream", "transcode"]},
        "profile": {"type": "string"},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "protocol": {"enum": ["http", "progressive", "hls"]},
        "container": _STR_OR_NULL,
        "video": {"type": ["string", "null"], "description": "copy, or the codec encoded to"},
        "audio": {"type": ["string", "null"], "description": "copy, or the codec encoded to"},
        "video_stream": {"type": ["integer", "null"]}, "audio_stream": {"type": ["integer", "null"]},
        "subtitle_stream": {"type": ["integer", "null"]},
        "subtitles": {"enum": ["none", "webvtt", "embed", "burn_in"]},
        "max_bitrate": {"type": ["integer", "null"]},
        "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
    },
    "additionalProperties": True,
}
PLAN = {
    "type": "object",
    "required": ["url", "mime_type", "decision", "session_id"],
    "properties": {
        "url": {"type": "string", "description": "what to fetch, relative to the hub"},
        "mime_type": {"type": "string"},
        "decision": DECISION,
        "session_id": {"type": ["string", "null"], "description": "null for direct play (no process)"},
        "subtitles_url": {"type": ["string", "null"], "description": "WebVTT (or SubRip) sidecar"},
        "start": {"type": "number", "description": "item time of the stream's time 0: the start for "
                  "progressive streams, 0 for direct play and HLS (the player seeks to the start)"},
        "duration": _NUM_OR_NULL,
    },
}
SESSION = {
    "type": "object",
    "properties": {
        "id": {"type": "string"}, "item_id": {"type": "integer"}, "title": _STR_OR_NULL, "path": _STR_OR_NULL,
        "kind": {"enum": ["progressive", "hls"]}, "profile": {"type": "string"},
        "method": {"enum": ["direct_stream", "transcode"]}, "protocol": {"enum": ["progressive", "hls"]},
        "decision": DECISION,
        "stream": {"type": "object", "description": "streams sent, codecs, encoders, size, level, bandwidth"},
        "client": {"type": "string"},
        "state": {"enum": ["starting", "streaming", "idle", "error", "stopped"]},
        "error": _STR_OR_NULL,
        "start": {"type": "number"}, "position": {"type": "number", "description": "last reported"},
        "duration": _NUM_OR_NULL,
        "created_at": {"type": "number"}, "last_activity": {"type": "number"},
        "pids": {"type": "array", "items": {"type": "integer"}, "description": "running ffmpeg processes"},
        "url": {"type": "string"}, "subtitles_url": _STR_OR_NULL,
        "stream_start": {"type": "number", "description": "progressive: where the current stream began"},
        "segment_format": {"enum": ["mpegts"], "description": "HLS segments"},
        "segment_length": {"type": "number"}, "segments": {"type": "integer"},
        "restarts": {"type": "integer", "description": "HLS: seeks by restart so far"},
        "encoder_position": _NUM_OR_NULL,
    },
    "additionalProperties": True,
}

SESSION_ID = path_param("sid", {"type": "string", "minLength": 1}, "playback session id")
_START = Param("start", {"type": "number", "minimum": 0}, "seconds into the item to start from")
_BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}


def _manager(request: web.Request) -> Any:
    return request.app[HUB_KEY].playback


def _error(err: PlaybackError) -> web.Response:
    return error_response(getattr(err, "status", 500), str(err), headers=_CORS)


@routes.route(
    "POST", "/api/playback/sessions", summary="Play an item: decide and start a stream", tag="playback",
    body=Body({
        "type": "object", "required": ["item_id"], "additionalProperties": False,
        "properties": {
            "item_id": {"type": "integer", "minimum": 1},
            "profile": {"type": "string", "minLength": 1, "description": "device profile (default: playback.default_profile)"},
            "start": {"type": "number", "minimum": 0, "description": "seconds"},
            "audio_stream": {"type": ["integer", "null"], "description": "ffprobe stream index"},
            "subtitle_stream": {"type": ["integer", "null"], "description": "ffprobe stream index"},
            "client": {"type": "string", "description": "who plays; a client's new session replaces its old one"},
            "max_bitrate": {"type": ["integer", "null"], "minimum": 1, "description": "bit/s"},
        },
    }, "the item and how it will be played", required=True),
    responses={
        200: Response("direct play: the file's URL, no session", PLAN),
        201: Response("a session was started; fetch its URL", PLAN),
        400: Response("unknown device profile or invalid body"),
        403: Response("the file is not inside a configured library"),
        404: Response("no such item, or its file is missing"),
        422: Response("the item cannot be played (corrupt, no audio or video, bad stream index)"),
        503: Response("playback.max_transcodes sessions are already streaming"),
    },
)
async def create_playback_session(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    try:
        plan = await _manager(request).prepare(
            body["item_id"], profile=body.get("profile"), start=float(body.get("start") or 0.0),
            audio_stream=body.get("audio_stream"), subtitle_stream=body.get("subtitle_stream"),
            client=body.get("client") or "", max_bitrate=body.get("max_bitrate"),
        )
    except PlaybackError as err:
        return _error(err)
    return json_response(plan.as_dict(), status=201 if plan.session_id else 200)


@routes.route("GET", "/api/playback/sessions", summary="Active playback sessions", tag="playback",
              responses={200: Response("every active session, oldest first", {
                  "type": "object", "required": ["sessions"],
                  "properties": {"sessions": {"type": "array", "items": SESSION}}})})
async def list_playback_sessions(request: web.Request) -> web.Response:
    return json_response({"sessions": _manager(request).list_sessions()})


@routes.route("GET", "/api/playback/sessions/{sid}", summary="One playback session", tag="playback",
              params=[SESSION_ID],
              responses={200: Response("the session", SESSION), 404: Response("no such session")})
async def get_playback_session(request: web.Request, *, sid: str) -> web.Response:
    try:
        return json_response(_manager(request).get_session(sid).as_dict())
    except SessionNotFound as err:
        return _error(err)


@routes.route("DELETE", "/api/playback/sessions/{sid}", summary="Stop a playback session and its ffmpeg",
              tag="playback", params=[SESSION_ID],
              responses={204: Response("stopped; its processes are ended and its files removed"),
                         404: Response("no such session")})
async def stop_playback_session(request: web.Request, *, sid: str) -> web.Response:
    if not await _manager(request).stop_session(sid):
        return _error(SessionNotFound(sid))
    return web.Response(status=204)


@routes.route(
    "PUT", "/api/playback/sessions/{sid}/position", summary="Report where the session's client is",
    tag="playback", params=[SESSION_ID],
    body=Body({"type": "object", "required": ["position"], "additionalProperties": False,
               "properties": {"position": {"type": "number", "minimum": 0, "description": "seconds into the item"},
                              "device": {"type": "string"}}},
              "the position, in the item's time (not the stream's)", required=True),
    responses={200: Response("the item's resume position row", {"type": "object"}),
               404: Response("no such session")},
    description="Also keeps the session alive; recorded as the item's resume position "
    "(playback_position_updated).",
)
async def report_session_position(request: web.Request, *, sid: str, body: dict[str, Any]) -> web.Response:
    try:
        row = await _manager(request).report_position(sid, body["position"], device=body.get("device"))
    except PlaybackError as err:
        return _error(err)
    except ValueError as err:
        return error_response(400, str(err))
    return json_response(row)


@routes.route(
    ("GET", "HEAD"), "/api/playback/sessions/{sid}/stream.{ext}",
    summary="Progressive stream: fragmented MP4 (or MPEG-TS for DLNA) made while it is sent", tag="playback",
    params=[SESSION_ID, path_param("ext", {"enum": ["mp4", "ts"]}, "mp4 or ts, as the session's URL says"), _START],
    responses={
        200: Response("the stream, chunked, from the start (or ?start=) to the end", _BINARY,
                      media_type="video/mp4", headers={"Accept-Ranges": "none"}),
        404: Response("no such session, or not a progressive one"),
        416: Response("a Range that does not start at byte 0 (seek with ?start= instead)"),
        500: Response("ffmpeg could not make the stream (its message is given)"),
    },
    description="One stream per session at a time: a new request ends the previous ffmpeg. The "
    "process ends as soon as the client disconnects.",
)
async def get_progressive_stream(request: web.Request, *, sid: str, ext: str, start: float | None) -> web.StreamResponse:
    try:
        session = _manager(request).get_session(sid)
        if not isinstance(session, ProgressiveSession):
            return error_response(404, f"session {sid} is not a progressive stream; fetch {session.urls()['url']}",
                                  headers=_CORS)
        return await session.stream(request, start)
    except PlaybackError as err:
        return _error(err)


async def _hls_session(request: web.Request, sid: str) -> HlsSession:
    session = _manager(request).get_session(sid)
    if not isinstance(session, HlsSession):
        raise SessionNotFound(sid)
    session.touch()
    return session


_PLAYLIST_HEADERS = {**_CORS, hdrs.CACHE_CONTROL: "no-cache"}


@routes.route("GET", "/api/playback/sessions/{sid}/master.m3u8", summary="HLS master playlist", tag="playback",
              params=[SESSION_ID],
              responses={200: Response("one variant: bandwidth, resolution, codecs", {"type": "string"},
                                       media_type=PLAYLIST_MIME),
                         404: Response("no such HLS session")})
async def get_hls_master_playlist(request: web.Request, *, sid: str) -> web.Response:
    try:
        session = await _hls_session(request, sid)
    except PlaybackError as err:
        return _error(err)
    return web.Response(text=session.master_playlist(), content_type=PLAYLIST_MIME, headers=_PLAYLIST_HEADERS)


@routes.route("GET", "/api/playback/sessions/{sid}/media.m3u8", summary="HLS media playlist (VOD, whole item)",
              tag="playback", params=[SESSION_ID],
              responses={200: Response("every segment of the whole duration, EXT-X-ENDLIST", {"type": "string"},
                                       media_type=PLAYLIST_MIME),
                         404: Response("no such HLS session")})
async def get_hls_media_playlist(request: web.Request, *, sid: str) -> web.Response:
    try:
        session = await _hls_session(request, sid)
    except PlaybackError as err:
        return _error(err)
    return web.Response(text=session.media_playlist(), content_type=PLAYLIST_MIME, headers=_PLAYLIST_HEADERS)


@routes.route(
    "GET", "/api/playback/sessions/{sid}/segments/{segment}", summary="One HLS segment (MPEG-TS)", tag="playback",
    params=[SESSION_ID, path_param("segment", {"type": "string", "minLength": 4},
                                   "<n>.ts: segment number n (from 0), as the media playlist lists it")],
    responses={
        200: Response("the segment", _BINARY, media_type="video/mp2t"),
        404: Response("no such session or segment"),
        500: Response("ffmpeg failed (its message is given)"),
        503: Response("still being made after 60 s; retry", headers={"Retry-After": "seconds"}),
    },
    description="Waits for a segment the encoder is about to write; a segment far from the "
    "encoder's position restarts ffmpeg there (seek by restart).",
)
async def get_hls_segment(request: web.Request, *, sid: str, segment: str) -> web.StreamResponse:
    match = _SEGMENT_NAME.match(segment)
    try:
        session = await _hls_session(request, sid)
        if match is None:
            return error_response(404, f"no segment {segment!r}: segments are named <n>.ts", headers=_CORS)
        with session.busy():
            files = await session.segment_files(int(match[1]))
    except PlaybackError as err:
        response = _error(err)
        if err.status == 503:
            response.headers[hdrs.RETRY_AFTER] = "1"
        return response
    headers = {**_CORS, hdrs.CONTENT_TYPE: SEGMENT_MIME}
    if len(files) == 1:
        return web.FileResponse(files[0], headers=headers)
    return await _concatenated(request, files, headers)


async def _concatenated(request: web.Request, files: list[Any], headers: dict[str, str]) -> web.StreamResponse:
    """Send ``files`` one after the other as one body (a remuxed segment: its groups of pictures)."""
    sizes = await asyncio.to_thread(lambda: [f.stat().st_size for f in files])
    response = web.StreamResponse(headers={**headers, hdrs.CONTENT_LENGTH: str(sum(sizes))})
    await response.prepare(request)
    for path in files:
        data = await asyncio.to_thread(path.read_bytes)
        await response.write(data)
    await response.write_eof()
    return response


_FMT = path_param("fmt", {"enum": ["vtt", "srt"]}, "vtt (WebVTT) or srt (SubRip)")


def _sidecar(text: str, fmt: str) -> web.Response:
    return web.Response(body=text.encode("utf-8"), headers={
        **_CORS, hdrs.CONTENT_TYPE: f"{SIDECAR_MIME[fmt]}; charset=utf-8", hdrs.CACHE_CONTROL: "no-cache"})


@routes.route(
    "GET", "/api/playback/sessions/{sid}/subtitles.{fmt}", summary="The session's subtitle sidecar",
    tag="playback", params=[SESSION_ID, _FMT, Param("start", {"type": "number", "minimum": 0},
                                                   "progressive: the stream's start (default: the current stream's)")],
    responses={200: Response("WebVTT (text/vtt) or SubRip, timed for the stream", {"type": "string"},
                             media_type="text/vtt"),
               404: Response("no such session"),
               422: Response("no sidecar in this session, or the track cannot be converted")},
)
async def get_session_subtitles(request: web.Request, *, sid: str, fmt: str, start: float | None) -> web.Response:
    try:
        text = await _manager(request).session_subtitles(sid, fmt, start)
    except PlaybackError as err:
        return _error(err)
    except SubtitleError as err:
        return error_response(422, str(err), headers=_CORS)
    return _sidecar(text, fmt)


@routes.route(
    "GET", "/api/items/{id}/subtitles/{track}", summary="A text subtitle track as WebVTT or SubRip",
    tag="playback",
    params=[path_param("id", {"type": "integer", "minimum": 1}, "media item id"),
            path_param("track", {"type": "string", "minLength": 5},
                       "<index>.vtt (WebVTT) or <index>.srt (SubRip), index the ffprobe stream index"),
            Param("start", {"type": "number", "minimum": 0, "default": 0},
                  "seconds to move every cue earlier (a stream that starts there)")],
    responses={200: Response("the track, converted once and cached", {"type": "string"}, media_type="text/vtt"),
               403: Response("the file is not inside a configured library"),
               404: Response("no such item, its file is missing, or a track name that is not <index>.vtt/.srt"),
               422: Response("no such subtitle stream, a picture subtitle, or a failed conversion")},
)
async def get_item_subtitles(request: web.Request, *, id: int, track: str, start: float) -> web.Response:
    match = _TRACK_NAME.match(track)
    if match is None:
        return error_response(404, f"no subtitle track {track!r}: name it <stream index>.vtt or .srt", headers=_CORS)
    index, fmt = int(match[1]), match[2]
    try:
        text = await _manager(request).item_subtitles(id, index, fmt, start)
    except PlaybackError as err:
        return _error(err)
    except SubtitleError as err:
        return error_response(422, str(err), headers=_CORS)
    return _sidecar(text, fmt)

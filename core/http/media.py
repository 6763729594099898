"""Library endpoints: libraries, media items, statistics, scans and direct play."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from aiohttp import web

from ..bus import Context
from ..library.classify import ITEM_TYPES
from .json import error_response, json_response
from .routing import HUB_KEY, Body, Param, Response, RouteTable, path_param
from .stream import library_roots, media_type_for, resolve_inside, stream_file, stream_items

_LOGGER = logging.getLogger(__name__)

routes = RouteTable()

MAX_LIMIT = 500

ITEM: dict[str, Any] = {
    "type": "object",
    "description": "A media item; more technical fields (codecs, tracks, tags…) may be present.",
    "required": ["id", "type", "title", "year", "season", "episode", "path", "size", "duration"],
    "properties": {
        "id": {"type": "integer"},
        "library_id": {"type": "integer"},
        "type": {"enum": list(ITEM_TYPES)},
        "status": {"type": "string", "description": "ok or error"},
        "error": {"type": ["string", "null"]},
        "title": {"type": ["string", "null"]},
        "year": {"type": ["integer", "null"]},
        "season": {"type": ["integer", "null"]},
        "episode": {"type": ["integer", "null"]},
        "path": {"type": "string"},
        "size": {"type": "integer", "description": "bytes"},
        "duration": {"type": ["number", "null"], "description": "seconds"},
        "container": {"type": ["string", "null"]},
        "width": {"type": ["integer", "null"]},
        "height": {"type": ["integer", "null"]},
        "bitrate": {"type": ["integer", "null"], "description": "bits per second"},
    },
    "additionalProperties": True,
}

ITEM_DETAIL: dict[str, Any] = {
    **ITEM,
    "required": [*ITEM["required"], "stream_url", "mime_type"],
    "properties": {
        **ITEM["properties"],
        "stream_url": {"type": "string", "description": "direct play URL (relative to the hub)"},
        "mime_type": {"type": "string"},
    },
}

LIBRARY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "path": {"type": "string"},
        "type": {"type": "string"},
        "item_count": {"type": "integer"},
        "last_scan_at": {"type": ["number", "null"], "description": "UTC seconds since the epoch"},
    },
    "additionalProperties": True,
}

ITEM_ID = path_param("id", {"type": "integer", "minimum": 1}, "media item id")


@routes.route("GET", "/api/libraries", summary="Configured libraries", tag="library",
              responses={200: Response("every library with its item count and last scan", {
                  "type": "object", "required": ["libraries"],
                  "properties": {"libraries": {"type": "array", "items": LIBRARY}}})})
async def get_libraries(request: web.Request) -> web.Response:
    return json_response({"libraries": await request.app[HUB_KEY].library.libraries()})


@routes.route(
    "GET",
    "/api/media",
    summary="Browse and search media items",
    tag="library",
    params=[
        Param("type", {"type": "string", "enum": list(ITEM_TYPES)}, "only items of this type"),
        Param("text", {"type": "string"}, "words to find in the title, artist, album or path"),
        Param("library", {"type": "integer", "minimum": 1}, "only items of this library id"),
        Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}, "page size"),
        Param("offset", {"type": "integer", "minimum": 0, "default": 0}, "items to skip"),
    ],
    responses={200: Response("one page of items and the total that match", {
        "type": "object",
        "required": ["items", "total", "limit", "offset"],
        "properties": {
            "items": {"type": "array", "items": ITEM},
            "total": {"type": "integer", "description": "items matching the filters (all pages)"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    })},
)
async def list_media(
    request: web.Request, *, type: str | None, text: str | None, library: int | None, limit: int, offset: int
) -> web.Response:
    items, total = await request.app[HUB_KEY].library.list_items(
        type=type or None, text=text or None, library=library, limit=limit, offset=offset
    )
    return json_response({"items": items, "total": total, "limit": limit, "offset": offset})


@routes.route("GET", "/api/media/{id}", summary="One media item with its technical metadata", tag="library",
              params=[ITEM_ID],
              responses={200: Response("the item, its direct play URL and media type", ITEM_DETAIL),
                         404: Response("no such item")})
async def get_media(request: web.Request, *, id: int) -> web.Response:
    item = await request.app[HUB_KEY].library.get_item(id)
    if item is None:
        return error_response(404, f"no media item with id {id}")
    return json_response({**item, "stream_url": f"/api/stream/{id}", "mime_type": media_type_for(item["path"])})


@routes.route("GET", "/api/library/stats", summary="Library statistics", tag="library",
              responses={200: Response("counts and sizes by type and library", {"type": "object"})})
async def get_library_stats(request: web.Request) -> web.Response:
    return json_response(await request.app[HUB_KEY].library.stats())


async def _run_scan(hub: Any, data: dict[str, Any], context: Context) -> None:
    try:
        summary = await hub.services.call("library", "scan", data, context)
        _LOGGER.info("scan requested over HTTP finished: %s", summary)
    except Exception:
        _LOGGER.exception("scan requested over HTTP (context %s) failed", context.id)


@routes.route(
    "POST",
    "/api/library/scan",
    summary="Start a library scan in the background",
    tag="library",
    body=Body({
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "library_id": {"type": "integer", "minimum": 1, "description": "scan only this library"},
            "full": {"type": "boolean", "description": "re-probe every file, not only changed ones"},
        },
    }, "what to scan; an empty body scans every library incrementally"),
    responses={
        202: Response("the scan was started; follow it with library_scan_* events", {
            "type": "object", "required": ["status"],
            "properties": {"status": {"const": "started"},
                           "context_id": {"type": "string", "description": "context of the scan's events"}},
        }),
        404: Response("no library with that id"),
        409: Response("a scan is already running"),
        503: Response("the library.scan service is not available"),
    },
)
async def start_scan(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    """Runs the ``library.scan`` service (so it is traceable like any service call)."""
    hub = request.app[HUB_KEY]
    if not hub.services.has("library", "scan"):
        return error_response(503, "the library.scan service is not available")
    if hub.library.scanning:
        return error_response(409, "a library scan is already running")
    library_id = body.get("library_id")
    if library_id is not None and library_id not in {lib["id"] for lib in await hub.library.libraries()}:
        return error_response(404, f"no library with id {library_id}")
    context = Context()
    hub.create_task(_run_scan(hub, dict(body), context), name="library scan (HTTP)")
    return json_response({"status": "started", "context_id": context.id}, status=202)


def _checked_stat(path: str, roots: list) -> tuple[Any, os.stat_result] | None:
    real = resolve_inside(path, roots)
    if real is None:
        return None
    return real, os.stat(real)


@routes.route(
    ("GET", "HEAD"),
    "/api/stream/{id}",
    summary="Direct play: the media file, with byte ranges",
    tag="library",
    params=[ITEM_ID],
    responses={
        200: Response("the whole file", {"type": "string", "contentMediaType": "application/octet-stream"},
                      media_type="application/octet-stream",
                      headers={"Accept-Ranges": "bytes", "ETag": "strong validator", "Last-Modified": "file time"}),
        206: Response("the requested byte range (Range: bytes=a-b, bytes=a-, bytes=-n); several ranges "
                      "are sent as multipart/byteranges, one part with its Content-Range per range",
                      {"type": "string", "contentMediaType": "application/octet-stream"},
                      media_type="application/octet-stream",
                      headers={"Content-Range": "bytes first-last/size (single range)", "Accept-Ranges": "bytes"}),
        304: Response("not modified (If-None-Match / If-Modified-Since)"),
        403: Response("the file is not inside a configured library"),
        404: Response("no such item, or its file is gone"),
        412: Response("If-Match / If-Unmodified-Since failed"),
        416: Response("the range cannot be satisfied", headers={"Content-Range": "bytes */size"}),
    },
    description="If-Range with an ETag or a date, HEAD and conditional requests are honoured; several "
    "ranges get 206 multipart/byteranges, but more than 16 or overlapping ones the whole file (200); a Range "
    "header with another unit is ignored (200). A DLNA renderer sending `getcontentFeatures.dlna.org: 1` "
    "gets `contentFeatures.dlna.org` (DLNA.ORG_PN when known, DLNA.ORG_OP=01, DLNA.ORG_FLAGS) and "
    "`transferMode.dlna.org`.",
)
async def stream_media(request: web.Request, *, id: int) -> web.StreamResponse:
    hub = request.app[HUB_KEY]
    item = await stream_items(hub).get(id)
    if item is None:
        return error_response(404, f"no media item with id {id}")
    roots = library_roots(hub.config.config_dir, hub.config.libraries)
    try:
        found = await asyncio.to_thread(_checked_stat, item["path"], roots)
    except FileNotFoundError:
        return error_response(404, f"the file of media item {id} is missing")
    except PermissionError:
        return error_response(403, f"the file of media item {id} cannot be read")
    if found is None:
        _LOGGER.warning("refused to stream item %s: %s is outside every configured library", id, item["path"])
        return error_response(403, f"media item {id} is not inside a configured library")
    path, st = found
    return stream_file(request, path, st, item=item)

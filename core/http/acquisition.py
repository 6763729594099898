"""Acquisition endpoints: wanted titles, searches with decisions, the download queue, history,
the blocklist, quality profiles and indexer / download-client health.

Every endpoint calls :class:`~omnimedia.core.acquisition.manager.AcquisitionManager`; the same
operations are services (``acquisition.*``) for the WebSocket API and automations. Times are
UTC epoch seconds, sizes bytes.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from aiohttp import web

from ..acquisition.manager import DuplicateGrab, NoDownloadClient
from ..acquisition.types import SEARCH_TYPES, Release
from ..errors import ProviderError, ServiceValidationError
from ..services import humanize_invalid
from .json import error_response, json_response
from .routing import HUB_KEY, Body, Param, Response, RouteTable, path_param

routes = RouteTable()

_TIME = {"type": ["number", "null"], "description": "UTC seconds since the epoch"}
_OBJ: dict[str, Any] = {"type": "object", "additionalProperties": True}
_STR_OR_NULL = {"type": ["string", "null"]}
_INT_OR_NULL = {"type": ["integer", "null"]}

TARGET = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title_id": {"type": "integer"},
        "kind": {"enum": ["episode", "movie", "album", "book"]},
        "season": _INT_OR_NULL, "episode": _INT_OR_NULL, "absolute_episode": _INT_OR_NULL,
        "air_date": {"type": ["string", "null"], "description": "YYYY-MM-DD"},
        "name": _STR_OR_NULL,
        "monitored": {"type": "boolean"},
        "file_path": _STR_OR_NULL, "file_quality": _STR_OR_NULL, "file_size": _INT_OR_NULL,
        "status": {"enum": ["missing", "cutoff_unmet", "have", "queued", "unmonitored"]},
    },
}
TITLE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "media_type": {"enum": ["series", "movie", "album", "book"]},
        "title": {"type": "string"}, "year": _INT_OR_NULL,
        "ids": {"type": "object", "description": "external ids: tmdbid, tvdbid, imdbid …"},
        "quality_profile": {"type": "string"},
        "monitor": {"enum": ["all", "future", "seasons", "none"]},
        "root_folder": _STR_OR_NULL, "path": _STR_OR_NULL,
        "added_at": _TIME,
        "counts": {"type": "object", "description": "targets per status, and in total"},
        "targets": {"type": "array", "items": TARGET},
    },
}
RELEASE = {
    "type": "object",
    "required": ["title", "indexer", "protocol"],
    "properties": {
        "title": {"type": "string"}, "indexer": {"type": "string"}, "protocol": {"enum": ["torrent", "usenet"]},
        "download_url": _STR_OR_NULL, "guid": _STR_OR_NULL, "info_url": _STR_OR_NULL, "infohash": _STR_OR_NULL,
        "size": {"type": ["integer", "null"], "description": "bytes"}, "published": _TIME,
        "seeders": _INT_OR_NULL, "peers": _INT_OR_NULL,
    },
    "additionalProperties": True,
}
DECISION = {
    "type": "object",
    "properties": {
        "release": RELEASE,
        "parsed": _OBJ,
        "quality": {"type": "string"},
        "score": {"type": "integer", "description": "preferred-words score"},
        "accepted": {"type": "boolean"},
        "pending": {"type": "boolean", "description": "rejected only until a delay or minimum age passes"},
        "rejections": {"type": "array", "items": {"type": "string"}, "description": "why it was rejected"},
        "target_ids": {"type": "array", "items": {"type": "integer"}},
    },
}
INDEXER_ERROR = {"type": "object", "properties": {"indexer": {"type": "string"}, "error": {"type": "string"}}}
GRAB = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "title_id": _INT_OR_NULL,
        "target_ids": {"type": "array", "items": {"type": "integer"}},
        "release_title": {"type": "string"}, "indexer": _STR_OR_NULL, "protocol": {"enum": ["torrent", "usenet"]},
        "quality": _STR_OR_NULL, "score": {"type": "integer"},
        "download_client": {"type": "string"},
        "download_id": {"type": ["string", "null"], "description": "info-hash (torrents) or the client's job id"},
        "state": {"enum": ["queued", "downloading", "import_pending", "importing", "imported", "failed"]},
        "progress": {"type": "number", "description": "0.0–1.0"},
        "size": _INT_OR_NULL, "downloaded": _INT_OR_NULL, "eta": {"type": ["number", "null"], "description": "seconds"},
        "message": _STR_OR_NULL, "content_path": _STR_OR_NULL,
        "imported_paths": {"type": ["array", "null"], "items": {"type": "string"}},
        "grabbed_at": _TIME, "updated_at": _TIME, "completed_at": _TIME,
    },
}
HISTORY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "event": {"enum": ["grabbed", "grab_failed", "imported", "upgraded", "import_failed", "download_failed",
                           "blocklisted", "deleted"]},
        "title_id": _INT_OR_NULL, "grab_id": _INT_OR_NULL, "release_title": _STR_OR_NULL, "quality": _STR_OR_NULL,
        "indexer": _STR_OR_NULL, "download_client": _STR_OR_NULL, "message": _STR_OR_NULL,
        "data": {"type": ["object", "null"]}, "at": _TIME,
    },
}
BLOCKLIST = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "title_id": _INT_OR_NULL, "release_title": {"type": "string"},
        "indexer": _STR_OR_NULL, "protocol": {"type": "string"}, "infohash": _STR_OR_NULL,
        "size": _INT_OR_NULL, "reason": {"type": "string"}, "at": _TIME,
    },
}
HEALTH = {
    "type": "object",
    "properties": {
        "name": {"type": "string"}, "platform": {"type": "string"}, "kind": {"type": "string"},
        "protocol": {"type": "string"}, "enabled": {"type": "boolean"},
        "status": {"enum": ["unknown", "ok", "failing", "disabled"]},
        "message": _STR_OR_NULL, "failures": {"type": "integer"},
        "retry_at": _TIME, "last_success": _TIME, "last_failure": _TIME,
    },
}
PROFILE = {
    "type": "object",
    "properties": {
        "name": {"type": "string"}, "qualities": {"type": "array", "items": {"type": "string"}},
        "cutoff": {"type": "string"}, "upgrades_allowed": {"type": "boolean"},
    },
    "additionalProperties": True,
}


def _list_of(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": item}}}


def _manager(request: web.Request) -> Any:
    return request.app[HUB_KEY].acquisition


_TITLE_ID = path_param("title_id", {"type": "integer", "minimum": 1}, "wanted title id")


@routes.route("GET", "/api/acquisition/profiles", summary="Quality profiles", tag="acquisition",
              responses={200: Response("every quality profile, built-in and configured", _list_of("profiles", PROFILE))})
async def get_quality_profiles(request: web.Request) -> web.Response:
    return json_response({"profiles": [p.as_dict() for p in _manager(request).profiles.values()]})


@routes.route("GET", "/api/acquisition/wanted", summary="Wanted titles with per-status counts", tag="acquisition",
              params=[Param("media_type", {"type": "string", "enum": ["series", "movie", "album", "book"]},
                            "only titles of this type")],
              responses={200: Response("wanted titles, by title", _list_of("titles", TITLE))})
async def list_wanted_titles(request: web.Request, *, media_type: str | None) -> web.Response:
    titles = await _manager(request).list_wanted(media_type)
    return json_response({"titles": titles})


@routes.route(
    "POST", "/api/acquisition/wanted", summary="Add a wanted series, movie, album or book", tag="acquisition",
    body=Body({
        "type": "object", "required": ["media_type", "title"],
        "properties": {
            "media_type": {"enum": ["series", "movie", "album", "book"]}, "title": {"type": "string", "minLength": 1},
            "year": {"type": ["integer", "null"]}, "quality_profile": {"type": "string"},
            "monitor": {"enum": ["all", "future", "seasons", "none"]},
            "seasons": {"type": "array", "items": {"type": "integer"}}, "ids": {"type": "object"},
            "episodes": {"type": "array", "items": {"type": "object"}},
            "runtime": {"type": ["number", "null"], "description": "minutes"},
            "root_folder": {"type": "string"}, "lookup": {"type": "boolean"}, "search": {"type": "boolean"},
        },
        "additionalProperties": False,
    }, "the title; with a metadata provider configured its details and episodes are looked up"),
    responses={201: Response("the new wanted title with its targets", TITLE),
               400: Response("invalid data, unknown profile, or the lookup found nothing"),
               502: Response("the metadata provider failed")},
)
async def add_wanted_title(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    try:
        title = await _manager(request).add_wanted(body)
    except vol.Invalid as err:
        return error_response(400, humanize_invalid(err, "the wanted title"))
    except ServiceValidationError as err:
        return error_response(400, str(err))
    except ProviderError as err:
        return error_response(502, str(err))
    return json_response(title, status=201)


@routes.route("GET", "/api/acquisition/wanted/{title_id}", summary="One wanted title with its targets",
              tag="acquisition", params=[_TITLE_ID],
              responses={200: Response("the title", TITLE), 404: Response("no such title")})
async def get_wanted_title(request: web.Request, *, title_id: int) -> web.Response:
    title = await _manager(request).get_wanted(title_id)
    if title is None:
        return error_response(404, f"no wanted title with id {title_id}")
    return json_response(title)


@routes.route("DELETE", "/api/acquisition/wanted/{title_id}", summary="Stop wanting a title", tag="acquisition",
              params=[_TITLE_ID], responses={204: Response("removed"), 404: Response("no such title")})
async def delete_wanted_title(request: web.Request, *, title_id: int) -> web.Response:
    if not await _manager(request).remove_wanted(title_id):
        return error_response(404, f"no wanted title with id {title_id}")
    return web.Response(status=204)


@routes.route("GET", "/api/acquisition/missing", summary="Monitored targets with no file", tag="acquisition",
              responses={200: Response("missing targets with their title", _list_of("targets", TARGET))})
async def get_missing_targets(request: web.Request) -> web.Response:
    return json_response({"targets": await _manager(request).targets_with_status("missing")})


@routes.route("GET", "/api/acquisition/cutoff_unmet", summary="Targets whose file is below the profile's cutoff",
              tag="acquisition",
              responses={200: Response("cutoff-unmet targets with their title", _list_of("targets", TARGET))})
async def get_cutoff_unmet_targets(request: web.Request) -> web.Response:
    return json_response({"targets": await _manager(request).targets_with_status("cutoff_unmet")})


@routes.route(
    "POST", "/api/acquisition/wanted/{title_id}/search", summary="Automatic search for a wanted title",
    tag="acquisition", params=[_TITLE_ID],
    body=Body({"type": "object", "properties": {"target_ids": {"type": "array", "items": {"type": "integer"}}},
               "additionalProperties": False}, "optional: only these targets", required=False),
    responses={200: Response("what was grabbed, every decision, and per-indexer errors", {
        "type": "object",
        "properties": {"grabbed": {"type": "array", "items": GRAB}, "decisions": {"type": "array", "items": DECISION},
                       "errors": {"type": "array", "items": INDEXER_ERROR}},
    }), 404: Response("no such title")},
)
async def search_wanted_title(request: web.Request, *, title_id: int, body: dict[str, Any] | None) -> web.Response:
    try:
        result = await _manager(request).search_title(title_id, (body or {}).get("target_ids"))
    except KeyError as err:
        return error_response(404, str(err.args[0]))
    return json_response(result)


@routes.route(
    "GET", "/api/acquisition/search", summary="Interactive search: every release with its decision", tag="acquisition",
    params=[
        Param("q", {"type": "string"}, "free text (a title)"),
        Param("type", {"type": "string", "enum": list(SEARCH_TYPES), "default": "search"}, "Newznab search type"),
        Param("title_id", {"type": "integer", "minimum": 1}, "search for this wanted title, judged by its profile"),
        Param("target_id", {"type": "integer", "minimum": 1}, "only this target of the title"),
        Param("season", {"type": "integer", "minimum": 0}, "season number (tvsearch)"),
        Param("episode", {"type": "integer", "minimum": 0}, "episode number (tvsearch)"),
    ],
    responses={200: Response("releases (accepted first, then rejected with reasons) and per-indexer errors", {
        "type": "object", "required": ["results", "errors", "indexers", "elapsed"],
        "properties": {"results": {"type": "array", "items": DECISION},
                       "errors": {"type": "array", "items": INDEXER_ERROR},
                       "indexers": {"type": "array", "items": {"type": "string"}},
                       "elapsed": {"type": "number", "description": "seconds"}},
    }), 400: Response("neither q nor title_id given"), 404: Response("no such title")},
)
async def interactive_search(
    request: web.Request, *, q: str | None, type: str, title_id: int | None, target_id: int | None,
    season: int | None, episode: int | None,
) -> web.Response:
    if not q and title_id is None:
        return error_response(400, "give 'q' (words to search for) or 'title_id' (a wanted title)")
    try:
        result = await _manager(request).interactive_search(
            q=q or None, type=type, title_id=title_id, target_id=target_id, season=season, episode=episode
        )
    except KeyError as err:
        return error_response(404, str(err.args[0]))
    return json_response(result)


@routes.route(
    "POST", "/api/acquisition/grab", summary="Grab one release", tag="acquisition",
    body=Body({"type": "object", "required": ["release"],
               "properties": {"release": RELEASE, "title_id": {"type": ["integer", "null"]},
                              "target_ids": {"type": "array", "items": {"type": "integer"}}},
               "additionalProperties": False}, "a release from a search result"),
    responses={201: Response("the new grab", GRAB), 409: Response("already grabbed"),
               502: Response("the indexer or the download client failed"),
               503: Response("no download client for the release's protocol")},
)
async def grab_release(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    manager = _manager(request)
    try:
        grab = await manager.grab(Release.from_dict(body["release"]), title_id=body.get("title_id"),
                                  target_ids=body.get("target_ids") or [])
    except DuplicateGrab as err:
        return error_response(409, str(err))
    except NoDownloadClient as err:
        return error_response(503, str(err))
    except ProviderError as err:
        return error_response(502, str(err))
    manager.tracker.wake()
    return json_response(grab, status=201)


@routes.route("GET", "/api/acquisition/queue", summary="Grabs being downloaded or imported", tag="acquisition",
              params=[Param("all", {"type": "boolean", "default": False}, "include imported and failed grabs")],
              responses={200: Response("grabs, newest first", _list_of("grabs", GRAB))})
async def get_download_queue(request: web.Request, *, all: bool) -> web.Response:
    from ..acquisition.store import ACTIVE_STATES, GRAB_STATES

    grabs = await _manager(request).store.grabs(GRAB_STATES if all else ACTIVE_STATES, limit=500)
    return json_response({"grabs": grabs})


@routes.route(
    "DELETE", "/api/acquisition/queue/{grab_id}", summary="Remove a grab from the queue and its client",
    tag="acquisition",
    params=[path_param("grab_id", {"type": "integer", "minimum": 1}, "grab id"),
            Param("blocklist", {"type": "boolean", "default": False}, "never grab this release again"),
            Param("delete_data", {"type": "boolean", "default": True}, "delete the downloaded files too")],
    responses={204: Response("removed"), 404: Response("no such grab")},
)
async def delete_queued_grab(request: web.Request, *, grab_id: int, blocklist: bool, delete_data: bool) -> web.Response:
    if not await _manager(request).remove_grab(grab_id, blocklist=blocklist, delete_data=delete_data):
        return error_response(404, f"no grab with id {grab_id}")
    return web.Response(status=204)


@routes.route("GET", "/api/acquisition/history", summary="What happened to releases", tag="acquisition",
              params=[Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "events"),
                      Param("title_id", {"type": "integer", "minimum": 1}, "only this wanted title")],
              responses={200: Response("events, newest first", _list_of("events", HISTORY))})
async def get_acquisition_history(request: web.Request, *, limit: int, title_id: int | None) -> web.Response:
    return json_response({"events": await _manager(request).store.history(limit, title_id)})


@routes.route("GET", "/api/acquisition/blocklist", summary="Releases never to grab again", tag="acquisition",
              responses={200: Response("blocklist entries, newest first", _list_of("entries", BLOCKLIST))})
async def get_blocklist_entries(request: web.Request) -> web.Response:
    return json_response({"entries": await _manager(request).store.blocklist()})


@routes.route("DELETE", "/api/acquisition/blocklist/{entry_id}", summary="Remove a blocklist entry",
              tag="acquisition", params=[path_param("entry_id", {"type": "integer", "minimum": 1}, "entry id")],
              responses={204: Response("removed"), 404: Response("no such entry")})
async def delete_blocklist_entry(request: web.Request, *, entry_id: int) -> web.Response:
    if not await _manager(request).store.delete_blocklist(entry_id):
        return error_response(404, f"no blocklist entry with id {entry_id}")
    return web.Response(status=204)


@routes.route("GET", "/api/acquisition/health", summary="Indexer, download-client and metadata-provider health",
              tag="acquisition",
              responses={200: Response("health per configured provider", {
                  "type": "object",
                  "properties": {"indexers": {"type": "array", "items": HEALTH},
                                 "download_clients": {"type": "array", "items": HEALTH},
                                 "metadata_providers": {"type": "array", "items": HEALTH}},
              })})
async def get_acquisition_health(request: web.Request) -> web.Response:
    return json_response(_manager(request).health_report())


@routes.route("POST", "/api/acquisition/rss_sync", summary="Run an RSS sync now", tag="acquisition",
              responses={200: Response("releases read, grabs made, per-indexer errors", {
                  "type": "object",
                  "properties": {"releases": {"type": "integer"}, "grabbed": {"type": "array", "items": GRAB},
                                 "errors": {"type": "array", "items": INDEXER_ERROR}},
              })})
async def run_rss_sync(request: web.Request) -> web.Response:
    return json_response(await _manager(request).rss_sync())

"""Transcode endpoints: the library optimiser's job queue, candidates, profiles, encoders and
the savings report.

Every endpoint calls :class:`~omnimedia.core.transcode.manager.TranscodeManager`; the same
operations are services (``transcode.*``) for the WebSocket API and automations, and every job
change is the ``transcode_job_updated`` event. Times are UTC epoch seconds, sizes bytes,
durations seconds.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..transcode.manager import NoTranscoder, UnknownProfile
from ..transcode.queue import JobNotFound, JobStateError
from ..transcode.store import JOB_STATES
from .json import error_response, json_response
from .routing import HUB_KEY, Body, Param, Response, RouteTable, path_param

routes = RouteTable()

_TIME = {"type": ["number", "null"], "description": "UTC seconds since the epoch"}
_INT_OR_NULL = {"type": ["integer", "null"]}
_STR_OR_NULL = {"type": ["string", "null"]}
_BYTES = {"type": ["integer", "null"], "description": "bytes"}

JOB = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "item_id": {"type": ["integer", "null"], "description": "the media item (null once it left the library)"},
        "library_id": _INT_OR_NULL,
        "path": {"type": "string", "description": "the file (after a replace: the new file)"},
        "profile": {"type": "string"},
        "settings": {"type": "object", "description": "the profile's settings when the job was queued"},
        "transcoder": _STR_OR_NULL,
        "priority": {"type": "integer", "description": "higher runs first"},
        "state": {"enum": list(JOB_STATES)},
        "outcome": {"type": ["string", "null"], "enum": ["replaced", "kept_original", None]},
        "progress": {"type": "number", "description": "0.0–1.0 of the current phase (encoding, then verifying)"},
        "speed": {"type": ["number", "null"], "description": "× real time"},
        "eta": {"type": ["number", "null"], "description": "seconds left of the current phase"},
        "message": {"type": ["string", "null"], "description": "why it failed, was skipped or kept the original"},
        "fingerprint": _STR_OR_NULL, "encoder": _STR_OR_NULL,
        "size_before": _BYTES, "size_after": _BYTES, "estimated_savings": _BYTES,
        "duration": {"type": ["number", "null"], "description": "seconds"},
        "created_at": _TIME, "started_at": _TIME, "finished_at": _TIME,
    },
}
CANDIDATE = {
    "type": "object",
    "properties": {
        "item_id": {"type": "integer"}, "library_id": _INT_OR_NULL, "path": {"type": "string"},
        "title": _STR_OR_NULL, "type": {"type": "string"}, "video_codec": {"type": "string"},
        "width": _INT_OR_NULL, "height": _INT_OR_NULL, "duration": {"type": ["number", "null"]},
        "size": _BYTES, "bitrate": {"type": ["integer", "null"], "description": "bit/s"},
        "bits_per_pixel": {"type": ["number", "null"]}, "mb_per_hour": {"type": ["number", "null"]},
        "reasons": {"type": "array", "items": {"type": "string"}, "description": "why it qualifies"},
        "estimated_savings": _BYTES,
    },
}
QUEUE = {
    "type": "object",
    "properties": {
        "paused": {"type": "boolean"},
        "running": {"type": "array", "items": {"type": "integer"}, "description": "ids of the jobs running now"},
        "concurrency": {"type": "integer"},
        "schedule": {"type": ["object", "null"], "description": "{start, end} as HH:MM local time"},
        "in_schedule": {"type": "boolean"},
    },
}
SAVINGS_ENTRY = {
    "type": "object",
    "properties": {
        "files": {"type": "integer", "description": "files replaced"},
        "kept_original": {"type": "integer", "description": "files whose original was kept"},
        "size_before": _BYTES, "size_after": _BYTES, "saved": _BYTES,
        "percent": {"type": "number", "description": "saved / size_before × 100"},
    },
}
_JOB_ID = path_param("job_id", {"type": "integer", "minimum": 1}, "transcode job id")


def _manager(request: web.Request) -> Any:
    return request.app[HUB_KEY].transcode


def _list_of(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": item}}}


@routes.route(
    "GET", "/api/transcode/jobs", summary="Transcode jobs", tag="transcode",
    params=[
        Param("state", {"type": "string", "enum": [*JOB_STATES, "active", "finished"]},
              "only jobs in this state (active: queued, running, verifying, paused; finished: the rest)"),
        Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "jobs per page"),
        Param("offset", {"type": "integer", "minimum": 0, "default": 0}, "jobs to skip"),
    ],
    responses={200: Response("running jobs first, then queued by priority, then finished ones newest first", {
        "type": "object", "required": ["jobs", "total", "queue"],
        "properties": {"jobs": {"type": "array", "items": JOB}, "total": {"type": "integer"}, "queue": QUEUE},
    })},
)
async def list_transcode_jobs(request: web.Request, *, state: str | None, limit: int, offset: int) -> web.Response:
    from ..transcode.store import ACTIVE_STATES, FINISHED_STATES

    states = {"active": ACTIVE_STATES, "finished": FINISHED_STATES}.get(state or "", (state,) if state else None)
    manager = _manager(request)
    jobs, total = await manager.list_jobs(states, limit=limit, offset=offset)
    return json_response({"jobs": jobs, "total": total, "queue": manager.queue.status()})


@routes.route(
    "POST", "/api/transcode/jobs", summary="Queue media items, or every candidate", tag="transcode",
    body=Body({
        "type": "object",
        "properties": {
            "item_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "all_candidates": {"type": "boolean", "description": "queue every current candidate"},
            "library_id": {"type": "integer", "minimum": 1, "description": "with all_candidates: only this library"},
            "priority": {"type": "integer", "description": "higher runs first (default 0)"},
            "profile": {"type": "string", "minLength": 1, "description": "default: transcode -> profile"},
        },
        "additionalProperties": False,
    }, "give item_ids or all_candidates"),
    responses={
        201: Response("the jobs added, and the items skipped with the reason", {
            "type": "object", "required": ["added", "skipped"],
            "properties": {
                "added": {"type": "array", "items": JOB},
                "skipped": {"type": "array", "items": {"type": "object", "properties": {
                    "item_id": {"type": "integer"}, "reason": {"type": "string"}}}},
            },
        }),
        400: Response("neither item_ids nor all_candidates, or an unknown profile"),
        503: Response("no transcoder is available"),
    },
)
async def add_transcode_jobs(request: web.Request, *, body: dict[str, Any]) -> web.Response:
    if not body.get("item_ids") and not body.get("all_candidates"):
        return error_response(400, "give item_ids (media item ids) or all_candidates: true")
    try:
        result = await _manager(request).add_jobs(
            body.get("item_ids"), all_candidates=bool(body.get("all_candidates")), library_id=body.get("library_id"),
            priority=int(body.get("priority", 0)), profile=body.get("profile"),
        )
    except UnknownProfile as err:
        return error_response(400, str(err))
    except NoTranscoder as err:
        return error_response(503, str(err))
    return json_response(result, status=201)


@routes.route("GET", "/api/transcode/jobs/{job_id}", summary="One transcode job", tag="transcode", params=[_JOB_ID],
              responses={200: Response("the job", JOB), 404: Response("no such job")})
async def get_transcode_job(request: web.Request, *, job_id: int) -> web.Response:
    job = await _manager(request).get_job(job_id)
    if job is None:
        return error_response(404, f"no transcode job with id {job_id}")
    return json_response(job)


@routes.route(
    "PATCH", "/api/transcode/jobs/{job_id}", summary="Change a job's priority", tag="transcode", params=[_JOB_ID],
    body=Body({"type": "object", "required": ["priority"], "properties": {"priority": {"type": "integer"}},
               "additionalProperties": False}, "the new priority (higher runs first)"),
    responses={200: Response("the job", JOB), 404: Response("no such job")},
)
async def update_transcode_job(request: web.Request, *, job_id: int, body: dict[str, Any]) -> web.Response:
    return await _job_action(request, job_id, "set_priority", body["priority"])


async def _job_action(request: web.Request, job_id: int, action: str, *args: Any) -> web.Response:
    manager = _manager(request)
    try:
        job = await getattr(manager.queue, action)(job_id, *args)
    except JobNotFound as err:
        return error_response(404, str(err))
    except JobStateError as err:
        return error_response(409, str(err))
    return json_response(await manager.get_job(job["id"]))


_ACTION_RESPONSES = {200: Response("the job after the change", JOB), 404: Response("no such job"),
                     409: Response("the job's state does not allow it")}


@routes.route("POST", "/api/transcode/jobs/{job_id}/cancel", summary="Cancel a queued, paused or running job",
              tag="transcode", params=[_JOB_ID], responses=_ACTION_RESPONSES)
async def cancel_transcode_job(request: web.Request, *, job_id: int) -> web.Response:
    return await _job_action(request, job_id, "cancel")


@routes.route("POST", "/api/transcode/jobs/{job_id}/pause",
              summary="Pause a job (a running one stops and starts over when resumed)", tag="transcode",
              params=[_JOB_ID], responses=_ACTION_RESPONSES)
async def pause_transcode_job(request: web.Request, *, job_id: int) -> web.Response:
    return await _job_action(request, job_id, "pause")


@routes.route("POST", "/api/transcode/jobs/{job_id}/resume",
              summary="Queue a paused job again; a failed or cancelled job is retried", tag="transcode",
              params=[_JOB_ID], responses=_ACTION_RESPONSES)
async def resume_transcode_job(request: web.Request, *, job_id: int) -> web.Response:
    return await _job_action(request, job_id, "resume")


@routes.route("DELETE", "/api/transcode/jobs", summary="Clear finished jobs from the list", tag="transcode",
              responses={200: Response("how many were removed", {
                  "type": "object", "properties": {"removed": {"type": "integer"}}})})
async def clear_finished_transcode_jobs(request: web.Request) -> web.Response:
    return json_response({"removed": await _manager(request).store.delete_finished()})


@routes.route("GET", "/api/transcode/queue", summary="The queue's state", tag="transcode",
              responses={200: Response("paused or not, running jobs, concurrency, schedule", QUEUE)})
async def get_transcode_queue(request: web.Request) -> web.Response:
    return json_response(_manager(request).queue.status())


@routes.route("POST", "/api/transcode/queue/pause",
              summary="Pause the queue: nothing starts, running jobs go back to the queue", tag="transcode",
              responses={200: Response("the queue", QUEUE)})
async def pause_transcode_queue(request: web.Request) -> web.Response:
    return json_response(await _manager(request).queue.pause_all())


@routes.route("POST", "/api/transcode/queue/resume", summary="Resume the queue", tag="transcode",
              responses={200: Response("the queue", QUEUE)})
async def resume_transcode_queue(request: web.Request) -> web.Response:
    return json_response(await _manager(request).queue.resume_all())


@routes.route(
    "GET", "/api/transcode/candidates", summary="Items worth transcoding, most estimated savings first",
    tag="transcode",
    params=[Param("library_id", {"type": "integer", "minimum": 1}, "only this library"),
            Param("profile", {"type": "string", "minLength": 1}, "judge against this profile's processed files"),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 500}, "candidates")],
    responses={
        200: Response("candidates with the reasons they qualify and the estimated savings", {
            "type": "object", "required": ["candidates", "total", "estimated_savings"],
            "properties": {"candidates": {"type": "array", "items": CANDIDATE}, "total": {"type": "integer"},
                           "estimated_savings": {"type": "integer", "description": "bytes, all candidates"}},
        }),
        400: Response("unknown profile"), 503: Response("no transcoder is available"),
    },
)
async def list_transcode_candidates(
    request: web.Request, *, library_id: int | None, profile: str | None, limit: int
) -> web.Response:
    try:
        found = await _manager(request).candidates(library_id, profile=profile)
    except UnknownProfile as err:
        return error_response(400, str(err))
    except NoTranscoder as err:
        return error_response(503, str(err))
    return json_response({"candidates": found[:limit], "total": len(found),
                          "estimated_savings": sum(c["estimated_savings"] for c in found)})


@routes.route(
    "GET", "/api/transcode/profiles", summary="Transcode profiles of every transcoder", tag="transcode",
    responses={200: Response("the configured default profile and each transcoder's profiles", {
        "type": "object",
        "properties": {
            "profile": {"type": "string", "description": "transcode -> profile"},
            "transcoders": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "platform": {"type": "string"}, "default": {"type": "boolean"},
                "profiles": {"type": "object", "description": "name → settings (the transcoder's shape)"}}}},
            "errors": {"type": "object", "description": "transcoder name → why it could not be created"},
        },
    })},
)
async def list_transcode_profiles(request: web.Request) -> web.Response:
    return json_response(_manager(request).profiles())


@routes.route(
    "GET", "/api/transcode/encoders", summary="Encoders each transcoder can use on this machine", tag="transcode",
    responses={200: Response("per transcoder: its encoders (name, codec, hardware, api, status, reason)", {
        "type": "object", "properties": {"transcoders": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "platform": {"type": "string"},
            "encoders": {"type": "array", "items": {"type": "object"}}, "error": _STR_OR_NULL}}}},
    })},
)
async def list_transcode_encoders(request: web.Request) -> web.Response:
    return json_response({"transcoders": await _manager(request).encoders()})


@routes.route(
    "GET", "/api/transcode/savings", summary="Bytes saved by the optimiser, per library and in total",
    tag="transcode",
    responses={200: Response("savings", {
        "type": "object",
        "properties": {
            "total": SAVINGS_ENTRY,
            "libraries": {"type": "array", "items": {**SAVINGS_ENTRY, "properties": {
                **SAVINGS_ENTRY["properties"], "library_id": _INT_OR_NULL, "name": _STR_OR_NULL}}},
        },
    })},
)
async def get_transcode_savings(request: web.Request) -> web.Response:
    return json_response(await _manager(request).savings())

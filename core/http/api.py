"""Hub endpoints: health, configuration, plugins, devices, entities and services."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ..bus import Context
from ..config import redact
from ..errors import ServiceNotFound, ServiceValidationError
from .json import error_response, json_response
from .routing import HUB_KEY, Body, Response, RouteTable, path_param

routes = RouteTable()

_OBJ: dict[str, Any] = {"type": "object"}
_ANY_OBJ: dict[str, Any] = {"type": "object", "additionalProperties": True}
_TIME = {"type": ["number", "null"], "description": "UTC seconds since the epoch"}

HEALTH = {
    "type": "object",
    "required": ["status", "version", "state", "uptime", "database", "scanning"],
    "properties": {
        "status": {"const": "ok"},
        "version": {"type": "string"},
        "state": {"enum": ["not_running", "starting", "running", "stopping", "stopped"]},
        "uptime": {"type": "number", "description": "seconds since the hub finished starting"},
        "database": {"enum": ["sqlite", "postgresql"]},
        "scanning": {"type": "boolean", "description": "a library scan is running"},
    },
}

PLUGIN = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "source": {"type": "string"},
        "state": {"enum": ["loaded", "setting_up", "running", "retrying", "failed", "stopped"]},
        "reason": {"type": ["string", "null"], "description": "why the plugin failed or is retrying"},
        "retries": {"type": "integer"},
        "manifest": {"type": ["object", "null"]},
        "providers": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}

DEVICE = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "platform": {"type": "string"},
        "unique_id": {"type": "string"},
        "name": {"type": "string"},
        "manufacturer": {"type": ["string", "null"]},
        "model": {"type": ["string", "null"]},
        "sw_version": {"type": ["string", "null"]},
        "status": {"enum": ["discovered", "available", "unavailable", "ignored"]},
        "connection": {"type": "object", "description": "host, port, properties, service type…"},
        "created_at": _TIME,
        "modified_at": _TIME,
        "entities": {"type": "array", "items": {"type": "string"}, "description": "entity ids of the device"},
    },
}

ENTITY = {
    "type": "object",
    "required": ["entity_id", "state", "attributes", "last_changed", "last_updated", "registry"],
    "properties": {
        "entity_id": {"type": "string"},
        "state": {"type": ["string", "null"], "description": "null for a registered entity with no state yet"},
        "attributes": _ANY_OBJ,
        "last_changed": _TIME,
        "last_updated": _TIME,
        "registry": {
            "type": ["object", "null"],
            "properties": {
                "platform": {"type": "string"},
                "unique_id": {"type": "string"},
                "device_id": {"type": ["string", "null"]},
                "name": {"type": ["string", "null"]},
            },
        },
    },
}

SERVICE = {
    "type": "object",
    "properties": {
        "domain": {"type": "string"},
        "service": {"type": "string"},
        "description": {"type": "string"},
        "fields": {"type": "object", "description": "field name → {required, description, default}"},
    },
}


def _list_of(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": item}}}


@routes.route("GET", "/api/health", summary="Is the hub up, and what is it doing", tag="hub",
              responses={200: Response("hub health", HEALTH)})
async def get_health(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    started = hub.started_at
    return json_response(
        {
            "status": "ok",
            "version": hub.version,
            "state": hub.state,
            "uptime": round(time.time() - started, 3) if started else 0.0,
            "database": hub.db.dialect,
            "scanning": bool(hub.library.scanning),
        }
    )


@routes.route("GET", "/api/config", summary="The loaded configuration, secrets redacted", tag="hub",
              responses={200: Response("the configuration tree; !secret values and credential-like keys "
                                       "read \"**REDACTED**\"", _ANY_OBJ)})
async def get_config(request: web.Request) -> web.Response:
    return json_response(redact(request.app[HUB_KEY].config.raw))


@routes.route("GET", "/api/plugins", summary="Plugins with their state and failure reasons", tag="hub",
              responses={200: Response("every plugin the hub knows", _list_of("plugins", PLUGIN))})
async def get_plugins(request: web.Request) -> web.Response:
    return json_response({"plugins": request.app[HUB_KEY].plugins.as_list()})


@routes.route("GET", "/api/devices", summary="Devices in the device registry", tag="registry",
              responses={200: Response("every device, with the ids of its entities", _list_of("devices", DEVICE))})
async def get_devices(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    devices = [
        {**d.as_dict(), "entities": [e.entity_id for e in hub.entities.for_device(d.id)]} for d in hub.devices.all()
    ]
    return json_response({"devices": devices})


@routes.route("GET", "/api/entities", summary="Entities: current states joined with the registry", tag="registry",
              responses={200: Response("every entity with a state or a registry entry, by entity id",
                                       _list_of("entities", ENTITY))})
async def get_entities(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    registry = {e.entity_id: e for e in hub.entities.all()}
    out: dict[str, dict[str, Any]] = {}
    for st in hub.states.all():
        out[st.entity_id] = {
            "entity_id": st.entity_id,
            "state": st.state,
            "attributes": dict(st.attributes),
            "last_changed": st.last_changed,
            "last_updated": st.last_updated,
            "registry": None,
        }
    for entity_id, entry in registry.items():
        row = out.setdefault(
            entity_id,
            {"entity_id": entity_id, "state": None, "attributes": {}, "last_changed": None, "last_updated": None},
        )
        row["registry"] = {
            "platform": entry.platform,
            "unique_id": entry.unique_id,
            "device_id": entry.device_id,
            "name": entry.name,
        }
    return json_response({"entities": [out[k] for k in sorted(out)]})


@routes.route("GET", "/api/services", summary="The service catalogue", tag="services",
              responses={200: Response("every registered service with its fields", _list_of("services", SERVICE))})
async def get_services(request: web.Request) -> web.Response:
    return json_response({"services": request.app[HUB_KEY].services.catalogue()})


@routes.route(
    "POST",
    "/api/services/{domain}/{service}",
    summary="Call a service",
    tag="services",
    params=[
        path_param("domain", {"type": "string", "minLength": 1}, "e.g. library"),
        path_param("service", {"type": "string", "minLength": 1}, "e.g. scan"),
    ],
    body=Body(_ANY_OBJ, "the service data, validated by the service's schema"),
    responses={
        200: Response("the service's response and the context the call ran in", {
            "type": "object",
            "required": ["result"],
            "properties": {"result": {"description": "whatever the service returns (may be null)"},
                           "context": {"type": "object"}},
        }),
        400: Response("the data does not match the service's schema"),
        404: Response("no such service, or the service did not find what the data names"),
    },
)
async def call_service(request: web.Request, *, domain: str, service: str, body: dict[str, Any]) -> web.Response:
    """Runs the service and waits for it; the call is traceable by the returned context id."""
    hub = request.app[HUB_KEY]
    context = Context()
    try:
        result = await hub.services.call(domain, service, body, context)
    except ServiceNotFound as err:
        return error_response(404, str(err))
    except ServiceValidationError as err:
        return error_response(400, str(err))
    except KeyError as err:  # e.g. library.rescan_item for an unknown item id
        return error_response(404, str(err.args[0]) if err.args else "not found")
    return json_response({"result": result, "context": context})

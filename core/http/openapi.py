"""The OpenAPI 3.1 document, written from the same :class:`~.routing.RouteTable` that registers
the handlers (spec: https://spec.openapis.org/oas/v3.1.0)."""

from __future__ import annotations

from typing import Any

from .routing import Route, RouteTable

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "what went wrong, for a human"}},
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _operation(route: Route, method: str) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id if method != "HEAD" else f"{route.operation_id}_head",
        "summary": route.summary,
        "tags": [route.tag],
    }
    if route.description:
        op["description"] = route.description
    if route.params:
        op["parameters"] = [
            {
                "name": p.name,
                "in": p.in_,
                "required": p.required,
                "description": p.description,
                "schema": dict(p.schema),
            }
            for p in route.params
        ]
    if route.body is not None and method != "HEAD":
        op["requestBody"] = {
            "required": route.body.required,
            "description": route.body.description,
            "content": {"application/json": {"schema": dict(route.body.schema)}},
        }
    responses: dict[str, Any] = {}
    for status, resp in sorted(route.responses.items()):
        out: dict[str, Any] = {"description": resp.description}
        if resp.headers:
            out["headers"] = {name: {"description": text, "schema": {"type": "string"}} for name, text in resp.headers.items()}
        if resp.media_type and method != "HEAD" and status not in (101, 204, 304):
            if resp.media_type == "application/json" and resp.schema is None and status >= 400:
                out["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            else:
                out["content"] = {resp.media_type: {"schema": dict(resp.schema or {})}}
        responses[str(status)] = out
    if (route.params or route.body is not None) and "400" not in responses:
        responses["400"] = _error("a parameter or the body has the wrong type or value")
    responses.setdefault("500", _error("unexpected error (logged on the hub; no details are sent)"))
    op["responses"] = responses
    return op


def build_openapi(table: RouteTable, *, title: str, version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document (a JSON-ready dict) for every route in ``table``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in table.routes:
        item = paths.setdefault(route.path, {})
        for method in route.methods:
            item[method.lower()] = _operation(route, method)
    tags = sorted({r.tag for r in table.routes})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "The Omni-Media hub's API. Every error is JSON: {\"error\": \"message\"}.",
        },
        "tags": [{"name": t} for t in tags],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"Error": ERROR_SCHEMA}},
    }

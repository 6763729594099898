"""Route declarations: one list that both registers the aiohttp handlers and writes the OpenAPI
document, so the two can never disagree.

A :class:`Route` names its method, path, parameters (:class:`Param`, each with a JSON Schema), an
optional JSON request body (:class:`Body`) and its responses. At registration the handler is
wrapped so that it receives the parameters already parsed and validated against those same
schemas as keyword arguments (and the body as ``body=``); bad input never reaches it but gets a
400 ``{"error": "..."}`` naming the parameter, what was expected and what was given.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[..., Awaitable[web.StreamResponse]]

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "string": "a string",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


class BadRequest(web.HTTPBadRequest):
    """400 with a human message; the error middleware turns it into ``{"error": message}``."""

    def __init__(self, message: str) -> None:
        super().__init__(text=message)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def validate(value: Any, schema: Mapping[str, Any], where: str) -> None:
    """Check ``value`` against the subset of JSON Schema the API declares (``type`` — one or a
    list —, ``enum``, ``minimum``, ``maximum``, ``minLength``, ``properties``, ``required``,
    ``additionalProperties: false``, ``items``). Raises :class:`BadRequest` naming ``where``."""
    expected = schema.get("type")
    if expected is not None:
        allowed = [expected] if isinstance(expected, str) else list(expected)
        actual = _json_type(value)
        if actual not in allowed and not (actual == "integer" and "number" in allowed):
            wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in allowed)
            raise BadRequest(f"expected {wanted} for {where}, got {json.dumps(value, default=str)}")
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(json.dumps(c) for c in schema["enum"])
        raise BadRequest(f"expected one of {choices} for {where}, got {json.dumps(value, default=str)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise BadRequest(f"{where} must be at least {schema['minimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            raise BadRequest(f"{where} must be at most {schema['maximum']}, got {value}")
    if isinstance(value, str) and "minLength" in schema and len(value) < schema["minLength"]:
        raise BadRequest(f"{where} must be at least {schema['minLength']} characters long")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                raise BadRequest(f"missing required key {name!r} in {where}")
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                known = ", ".join(sorted(props)) or "none"
                raise BadRequest(f"unknown key {extra[0]!r} in {where} (known keys: {known})")
        for name, sub in props.items():
            if name in value:
                validate(value[name], sub, f"'{name}' in {where}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], f"item {i} of {where}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Param:
    """A query (``in_="query"``) or path (``in_="path"``) parameter with its JSON Schema.

    ``schema["type"]`` decides how the text is converted: integer, number, boolean
    (true/false/1/0/yes/no/on/off) or string. ``schema["default"]`` is used when it is absent.
    """

    name: str
    schema: Mapping[str, Any]
    description: str = ""
    in_: str = "query"
    required: bool = False

    def parse(self, raw: str | None) -> Any:
        """Convert and validate the raw text; raise :class:`BadRequest` when it does not fit."""
        where = f"{self.in_} parameter '{self.name}'"
        if raw is None or (raw == "" and self.in_ == "query" and self.schema.get("type") != "string"):
            if self.required:
                raise BadRequest(f"missing required {where}")
            return self.schema.get("default")
        kind = self.schema.get("type", "string")
        try:
            if kind == "integer":
                value: Any = int(raw)
            elif kind == "number":
                value = float(raw)
            elif kind == "boolean":
                low = raw.lower()
                if low not in _TRUE | _FALSE:
                    raise ValueError(raw)
                value = low in _TRUE
            else:
                value = raw
        except ValueError:
            raise BadRequest(f"expected {_TYPE_NAMES.get(kind, kind)} for {where}, got {raw!r}") from None
        validate(value, self.schema, where)
        return value


def path_param(name: str, schema: Mapping[str, Any], description: str = "") -> Param:
    return Param(name, schema, description, in_="path", required=True)


@dataclass(frozen=True)
class Body:
    """A JSON request body; ``required=False`` accepts an empty body as ``{}``."""

    schema: Mapping[str, Any]
    description: str = ""
    required: bool = False

    async def read(self, request: web.Request) -> Any:
        """Return the parsed, validated body; raise :class:`BadRequest` for bad JSON or shapes."""
        raw = await request.read()
        if not raw.strip():
            if self.required:
                raise BadRequest("a JSON request body is required")
            return {}
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise BadRequest(f"the request body is not valid JSON: {err}") from None
        validate(value, self.schema, "the request body")
        return value


@dataclass(frozen=True)
class Response:
    """One documented response: description, JSON Schema (``None`` = no JSON body) and the
    media type of the body."""

    description: str
    schema: Mapping[str, Any] | None = None
    media_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """One API operation. ``methods`` lists every method the handler serves (e.g. GET and HEAD)."""

    methods: tuple[str, ...]
    path: str
    handler: Handler
    summary: str
    tag: str
    params: tuple[Param, ...] = ()
    body: Body | None = None
    responses: Mapping[int, Response] = field(default_factory=dict)
    description: str = ""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def wrapped(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The aiohttp handler: parse parameters and body, then call the declared handler."""
        handler, params, body = self.handler, self.params, self.body

        @functools.wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            kwargs: dict[str, Any] = {}
            for p in params:
                source = request.match_info if p.in_ == "path" else request.query
                kwargs[p.name] = p.parse(source.get(p.name))
            if body is not None:
                kwargs["body"] = await body.read(request)
            return await handler(request, **kwargs)

        return run


class RouteTable:
    """Collects :class:`Route` declarations (``@table.route(...)`` on each handler)."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self.routes: list[Route] = list(routes)

    def route(
        self,
        methods: str | tuple[str, ...],
        path: str,
        *,
        summary: str,
        tag: str,
        params: Iterable[Param] = (),
        body: Body | None = None,
        responses: Mapping[int, Response] | None = None,
        description: str = "",
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.routes.append(
                Route(
                    (methods,) if isinstance(methods, str) else tuple(methods),
                    path,
                    handler,
                    summary,
                    tag,
                    tuple(params),
                    body,
                    dict(responses or {}),
                    description or (handler.__doc__ or "").strip(),
                )
            )
            return handler

        return decorate

    def __add__(self, other: RouteTable) -> RouteTable:
        return RouteTable([*self.routes, *other.routes])

    def register(self, app: web.Application) -> None:
        """Add every route to ``app``'s router (HEAD is only served where it is declared)."""
        for route in self.routes:
            handler = route.wrapped()
            for method in route.methods:
                if method == "HEAD" and "GET" in route.methods:
                    continue  # added together with GET below
                if method == "GET":
                    app.router.add_get(route.path, handler, allow_head="HEAD" in route.methods)
                else:
                    app.router.add_route(method, route.path, handler)


#: Where handlers find the hub: ``request.app[HUB_KEY]``.
HUB_KEY: web.AppKey[Any] = web.AppKey("omnimedia_hub", object)

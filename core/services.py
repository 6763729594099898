"""Services: the hub's named actions (``library.scan``, ``library.rescan_item`` …).

One catalogue serves Python callers, the REST API, the WebSocket API, the dashboard and (later) the
AI assistant. Each service has a voluptuous schema that validates its data before the handler runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol

from .bus import Context, EventBus
from .const import EVENT_SERVICE_CALLED, EVENT_SERVICE_REGISTERED
from .errors import ServiceNotFound, ServiceValidationError

ServiceHandler = Callable[["ServiceCall"], Awaitable[Any] | Any]


@dataclass(frozen=True, slots=True)
class ServiceCall:
    domain: str
    service: str
    data: Mapping[str, Any]
    context: Context


@dataclass(slots=True)
class Service:
    domain: str
    service: str
    handler: ServiceHandler
    schema: vol.Schema | None
    description: str = ""
    #: {field name: {"description": ..., "example": ..., "required": bool}}
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    is_coroutine: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "service": self.service,
            "description": self.description,
            "fields": self.fields,
        }


def humanize_invalid(err: vol.Invalid, what: str = "data") -> str:
    """``vol.Invalid`` → ``"expected int for 'path -> to -> key', got 'abc'"``-style text."""
    errors = err.errors if isinstance(err, vol.MultipleInvalid) else [err]
    parts = []
    for e in errors:
        path = " -> ".join(str(p) for p in e.path) or what
        parts.append(f"{e.msg} for '{path}'")
    return "; ".join(parts)


def fields_from_schema(schema: vol.Schema | None) -> dict[str, dict[str, Any]]:
    """Describe a dict schema's keys for the catalogue: required flag, description, default."""
    out: dict[str, dict[str, Any]] = {}
    if schema is None or not isinstance(schema.schema, dict):
        return out
    for key in schema.schema:
        name = str(key.schema if isinstance(key, vol.Marker) else key)
        info: dict[str, Any] = {"required": isinstance(key, vol.Required)}
        desc = getattr(key, "description", None)
        if desc:
            info["description"] = desc
        default = getattr(key, "default", vol.UNDEFINED)
        if default is not vol.UNDEFINED:
            value = default() if callable(default) else default
            if isinstance(value, str | int | float | bool) or value is None:
                info["default"] = value
        out[name] = info
    return out


class ServiceRegistry:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._services: dict[str, dict[str, Service]] = {}

    def register(
        self,
        domain: str,
        service: str,
        handler: ServiceHandler,
        schema: vol.Schema | None = None,
        description: str = "",
    ) -> None:
        """Register (or replace) ``domain.service``. ``handler(call)`` may be sync or async and
        may return a JSON-serialisable response."""
        domain, service = domain.lower(), service.lower()
        self._services.setdefault(domain, {})[service] = Service(
            domain,
            service,
            handler,
            schema,
            description or (inspect.getdoc(handler) or "").split("\n\n")[0],
            fields_from_schema(schema),
            inspect.iscoroutinefunction(handler),
        )
        self._bus.fire(EVENT_SERVICE_REGISTERED, {"domain": domain, "service": service})

    def remove(self, domain: str, service: str) -> None:
        self._services.get(domain, {}).pop(service, None)

    def has(self, domain: str, service: str) -> bool:
        return service in self._services.get(domain, {})

    def catalogue(self) -> list[dict[str, Any]]:
        return [s.as_dict() for d in sorted(self._services) for _, s in sorted(self._services[d].items())]

    async def call(
        self,
        domain: str,
        service: str,
        data: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> Any:
        """Validate ``data`` and run the service; return its response.

        Raises :class:`ServiceNotFound` and :class:`ServiceValidationError`; errors raised by the
        handler propagate.
        """
        svc = self._services.get(domain.lower(), {}).get(service.lower())
        if svc is None:
            raise ServiceNotFound(domain, service)
        data = dict(data or {})
        if svc.schema is not None:
            try:
                data = svc.schema(data)
            except vol.Invalid as err:
                raise ServiceValidationError(
                    f"invalid data for {svc.domain}.{svc.service}: {humanize_invalid(err)}"
                ) from err
        context = context or Context()
        self._bus.fire(
            EVENT_SERVICE_CALLED, {"domain": svc.domain, "service": svc.service, "data": data}, context
        )
        call = ServiceCall(svc.domain, svc.service, data, context)
        if svc.is_coroutine:
            return await svc.handler(call)
        result = svc.handler(call)
        if inspect.isawaitable(result):
            result = await result
        return result

"""Services: schemas, errors, sync and async handlers, the catalogue."""

from __future__ import annotations

import pytest
import voluptuous as vol

from omnimedia.core.bus import Context, EventBus
from omnimedia.core.errors import ServiceNotFound, ServiceValidationError
from omnimedia.core.services import ServiceRegistry


async def test_call_validates_and_returns_response() -> None:
    bus = EventBus()
    services = ServiceRegistry(bus)
    calls = []
    bus.listen("service_called", calls.append)

    async def scan(call):
        """Scan a library."""
        return {"library_id": call.data["library_id"], "full": call.data["full"], "user": call.context.user_id}

    services.register(
        "library", "scan", scan,
        vol.Schema({vol.Required("library_id"): vol.Coerce(int), vol.Optional("full", default=False): bool}),
    )
    services.register("demo", "echo", lambda call: dict(call.data))
    ctx = Context(user_id="bob")
    assert await services.call("library", "scan", {"library_id": "3"}, ctx) == {"library_id": 3, "full": False, "user": "bob"}
    assert await services.call("demo", "echo", {"a": 1}) == {"a": 1}
    assert calls[0].context is ctx and calls[0].data["service"] == "scan"

    with pytest.raises(ServiceValidationError, match="'library_id'"):
        await services.call("library", "scan", {"library_id": "abc"})
    with pytest.raises(ServiceValidationError, match="extra keys"):
        await services.call("library", "scan", {"library_id": 1, "bogus": 1})
    with pytest.raises(ServiceNotFound, match="unknown service library.nope"):
        await services.call("library", "nope")

    catalogue = {f"{s['domain']}.{s['service']}": s for s in services.catalogue()}
    assert catalogue["library.scan"]["description"] == "Scan a library."
    assert catalogue["library.scan"]["fields"]["library_id"]["required"] is True
    assert catalogue["library.scan"]["fields"]["full"] == {"required": False, "default": False}

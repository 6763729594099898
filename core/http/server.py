"""The hub's web server: the JSON API under ``/api``, the WebSocket and the dashboard.

Routes come from the route tables of :mod:`.api`, :mod:`.media` and :mod:`.websocket`; the same
tables write ``/api/openapi.json``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import WSCloseCode, web

from . import acquisition, api, casting, dvr, media, playback, streaming, transcode, websocket
from .frontend import add_frontend_routes
from .json import json_response
from .middleware import error_middleware
from .openapi import build_openapi
from .routing import HUB_KEY, Response, RouteTable

_LOGGER = logging.getLogger(__name__)

#: Seconds the server waits for requests still running when it stops.
SHUTDOWN_TIMEOUT = 5.0

OPENAPI_KEY: web.AppKey[dict[str, Any]] = web.AppKey("openapi", dict)

_meta = RouteTable()


@_meta.route("GET", "/api/openapi.json", summary="This OpenAPI 3.1 document", tag="meta",
             responses={200: Response("the OpenAPI document", {"type": "object"})})
async def get_openapi(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI_KEY])


def api_routes() -> RouteTable:
    """Every API route, in registration order."""
    return (
        api.routes + media.routes + acquisition.routes + transcode.routes + playback.routes + streaming.routes
        + casting.routes + dvr.routes + websocket.routes + _meta
    )


def create_app(hub: Any, *, ws_queue_size: int = websocket.DEFAULT_QUEUE_SIZE) -> web.Application:
    """The aiohttp application for ``hub`` (API, WebSocket, OpenAPI document, dashboard)."""
    app = web.Application(middlewares=[error_middleware], client_max_size=1024**2)
    app[HUB_KEY] = hub
    app[websocket.CONNECTIONS_KEY] = set()
    app[websocket.SETTINGS_KEY] = {"queue_size": ws_queue_size}
    table = api_routes()
    app[OPENAPI_KEY] = build_openapi(table, title="Omni-Media hub API", version=hub.version)
    table.register(app)
    add_frontend_routes(app)
    return app


class HttpServer:
    """Runs the web server on the hub's loop."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.app: web.Application | None = None
        self._ws_queue_size = websocket.DEFAULT_QUEUE_SIZE
        self._runner: web.AppRunner | None = None
        self._address: tuple[str, int] = ("0.0.0.0", 0)

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (port 0 picks a free one; see :meth:`bound_address`).

        Raises ``OSError`` when the address is taken or not available."""
        self.app = create_app(self.hub, ws_queue_size=self.ws_queue_size)
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        bound = next((a for a in self._runner.addresses if isinstance(a, tuple)), None)
        self._address = (host, bound[1]) if bound else (host, port)
        _LOGGER.info("HTTP API listening on http://%s:%s/", *self._address)

    @property
    def ws_queue_size(self) -> int:
        """Messages a WebSocket client may have waiting before it is disconnected as too slow
        (applies to connections opened after a change)."""
        return self._ws_queue_size

    @ws_queue_size.setter
    def ws_queue_size(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"ws_queue_size must be at least 1, got {size}")
        self._ws_queue_size = size
        if self.app is not None:
            self.app[websocket.SETTINGS_KEY]["queue_size"] = size

    def bound_address(self) -> tuple[str, int]:
        """``(host, port)`` the server listens on — the real port when 0 was asked."""
        return self._address

    @property
    def websocket_count(self) -> int:
        """Number of open WebSocket connections."""
        return len(self.app[websocket.CONNECTIONS_KEY]) if self.app is not None else 0

    async def stop(self) -> None:
        """Close every WebSocket (1001 going away), then stop listening. Safe to call twice."""
        if self._runner is None:
            return
        assert self.app is not None
        connections = list(self.app[websocket.CONNECTIONS_KEY])
        if connections:
            await asyncio.gather(*(c.close(WSCloseCode.GOING_AWAY, b"hub stopping") for c in connections))
        runner, self._runner = self._runner, None
        await runner.cleanup()

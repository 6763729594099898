"""The WebSocket API at ``/api/websocket`` (Home Assistant's message protocol, leaner).

Every client message is a JSON object with an integer ``id`` and a ``type``:

- ``{"id": 1, "type": "subscribe_events", "event_type": "media_added"}`` (omit ``event_type`` for
  every event) → ``{"id": 1, "type": "result", "success": true, "result": null}``, then each event
  as ``{"id": 1, "type": "event", "event": {"event_type", "data", "context", "time_fired"}}``.
- ``{"id": 2, "type": "unsubscribe_events", "subscription": 1}`` → result.
- ``{"id": 3, "type": "get_states"}`` → result: list of states.
- ``{"id": 4, "type": "get_services"}`` → result: the service catalogue.
- ``{"id": 5, "type": "call_service", "domain": "library", "service": "scan", "service_data": {}}``
  → result: ``{"response": ..., "context": {...}}``.
- ``{"id": 6, "type": "ping"}`` → ``{"id": 6, "type": "pong"}``.

Failures are ``{"id", "type": "result", "success": false, "error": {"code", "message"}}`` with
codes ``invalid_json``, ``invalid_format``, ``unknown_command``, ``not_found``, ``invalid_data``
and ``service_error``; the connection stays open.

Outgoing messages wait in a bounded per-connection queue; the bus only ever does a non-blocking
put. A client too slow to drain ``queue_size`` messages is disconnected (close code 1013, "try
again later") and its listeners removed, so it can never hold up the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from ..bus import Context, Event
from ..const import MATCH_ALL
from ..errors import ServiceNotFound, ServiceValidationError
from .json import dumps
from .routing import HUB_KEY, Response, RouteTable

_LOGGER = logging.getLogger(__name__)

routes = RouteTable()

#: ``request.app[CONNECTIONS_KEY]``: the open connections, closed by the server on stop.
CONNECTIONS_KEY: web.AppKey[set[WebSocketConnection]] = web.AppKey("ws_connections", set)
#: ``request.app[SETTINGS_KEY]["queue_size"]``: messages a client may have waiting (read per connection).
SETTINGS_KEY: web.AppKey[dict[str, Any]] = web.AppKey("ws_settings", dict)

DEFAULT_QUEUE_SIZE = 1024
HEARTBEAT = 30.0  # seconds between server pings; a client silent for longer is dropped
CLOSE_TIMEOUT = 2.0  # seconds to wait for the client's close frame


class _Close:
    """Queue marker: stop the writer."""


class WebSocketConnection:
    """One client: reads commands, owns its subscriptions, writes through a bounded queue."""

    def __init__(self, hub: Any, request: web.Request, queue_size: int) -> None:
        self.hub = hub
        self.request = request
        self.ws = web.WebSocketResponse(heartbeat=HEARTBEAT, timeout=CLOSE_TIMEOUT)
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        self.subscriptions: dict[int, Any] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing: asyncio.Task[Any] | None = None

    # -- life cycle ---------------------------------------------------------------------------
    async def handle(self) -> web.WebSocketResponse:
        await self.ws.prepare(self.request)
        writer = asyncio.get_running_loop().create_task(self._writer())
        try:
            async for msg in self.ws:
                if msg.type is WSMsgType.TEXT:
                    self._received(msg.data)
                elif msg.type is WSMsgType.BINARY:
                    self._error(None, "invalid_format", "binary messages are not supported; send JSON text")
                elif msg.type is WSMsgType.ERROR:
                    _LOGGER.debug("websocket error: %s", self.ws.exception())
                    break
        finally:
            self._unsubscribe_all()
            for task in list(self._tasks):
                task.cancel()
            if self._closing is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await self._closing
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if not self.ws.closed:
                await self.close(WSCloseCode.OK)
        return self.ws

    async def close(self, code: int, message: bytes = b"") -> None:
        """Close the socket (waiting at most a few seconds for the client)."""
        self._unsubscribe_all()
        with contextlib.suppress(Exception, asyncio.TimeoutError):
            await asyncio.wait_for(self.ws.close(code=code, message=message, drain=False), CLOSE_TIMEOUT)

    def _unsubscribe_all(self) -> None:
        for unsub in self.subscriptions.values():
            unsub()
        self.subscriptions.clear()

    # -- outgoing -----------------------------------------------------------------------------
    def send(self, message: Any) -> None:
        """Queue a message; on overflow drop the connection instead of waiting."""
        if self._closing is not None:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            _LOGGER.warning(
                "websocket client %s is too slow (%d messages waiting); disconnecting it",
                self.request.remote, self.queue.qsize(),
            )
            self._unsubscribe_all()
            self._closing = asyncio.get_running_loop().create_task(
                self.close(WSCloseCode.TRY_AGAIN_LATER, b"too slow: message queue full")
            )

    async def _writer(self) -> None:
        while True:
            message = await self.queue.get()
            if isinstance(message, _Close):
                return
            try:
                await self.ws.send_str(dumps(message))
            except (ConnectionError, RuntimeError):
                return  # the socket is closing; the reader loop ends on its own

    def _result(self, msg_id: int, result: Any = None) -> None:
        self.send({"id": msg_id, "type": "result", "success": True, "result": result})

    def _error(self, msg_id: Any, code: str, message: str) -> None:
        self.send({"id": msg_id, "type": "result", "success": False, "error": {"code": code, "message": message}})

    # -- incoming -----------------------------------------------------------------------------
    def _received(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError as err:
            self._error(None, "invalid_json", f"message is not valid JSON: {err}")
            return
        if not isinstance(msg, dict):
            self._error(None, "invalid_format", "a message must be a JSON object")
            return
        msg_id = msg.get("id")
        if not isinstance(msg_id, int) or isinstance(msg_id, bool):
            self._error(msg_id if isinstance(msg_id, str | int) else None, "invalid_format",
                        f"'id' must be an integer, got {json.dumps(msg_id)}")
            return
        command = self.COMMANDS.get(msg.get("type"))  # type: ignore[arg-type]
        if command is None:
            known = ", ".join(sorted(self.COMMANDS))
            self._error(msg_id, "unknown_command", f"unknown message type {msg.get('type')!r} (known: {known})")
            return
        try:
            command(self, msg_id, msg)
        except Exception:
            _LOGGER.exception("websocket command %r failed", msg.get("type"))
            self._error(msg_id, "unknown_error", "internal error (see the hub's log)")

    def _ping(self, msg_id: int, msg: dict[str, Any]) -> None:
        self.send({"id": msg_id, "type": "pong"})

    def _subscribe_events(self, msg_id: int, msg: dict[str, Any]) -> None:
        event_type = msg.get("event_type", MATCH_ALL)
        if not isinstance(event_type, str) or not event_type:
            self._error(msg_id, "invalid_format", "'event_type' must be a non-empty string")
            return
        if msg_id in self.subscriptions:
            self._error(msg_id, "invalid_format", f"id {msg_id} is already a subscription")
            return

        def forward(event: Event) -> None:
            self.send({"id": msg_id, "type": "event", "event": event})

        self.subscriptions[msg_id] = self.hub.bus.listen(event_type, forward)
        self._result(msg_id)

    def _unsubscribe_events(self, msg_id: int, msg: dict[str, Any]) -> None:
        sub = msg.get("subscription")
        unsub = self.subscriptions.pop(sub, None) if isinstance(sub, int) else None
        if unsub is None:
            self._error(msg_id, "not_found", f"no subscription {json.dumps(sub)}")
            return
        unsub()
        self._result(msg_id)

    def _get_states(self, msg_id: int, msg: dict[str, Any]) -> None:
        self._result(msg_id, self.hub.states.all())

    def _get_services(self, msg_id: int, msg: dict[str, Any]) -> None:
        self._result(msg_id, self.hub.services.catalogue())

    def _call_service(self, msg_id: int, msg: dict[str, Any]) -> None:
        domain, service, data = msg.get("domain"), msg.get("service"), msg.get("service_data", {})
        if not isinstance(domain, str) or not isinstance(service, str):
            self._error(msg_id, "invalid_format", "'domain' and 'service' must be strings")
            return
        if not isinstance(data, dict):
            self._error(msg_id, "invalid_format", "'service_data' must be an object")
            return
        task = asyncio.get_running_loop().create_task(self._run_service(msg_id, domain, service, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_service(self, msg_id: int, domain: str, service: str, data: dict[str, Any]) -> None:
        context = Context()
        try:
            response = await self.hub.services.call(domain, service, data, context)
        except ServiceNotFound as err:
            self._error(msg_id, "not_found", str(err))
        except ServiceValidationError as err:
            self._error(msg_id, "invalid_data", str(err))
        except KeyError as err:
            self._error(msg_id, "not_found", str(err.args[0]) if err.args else "not found")
        except asyncio.CancelledError:
            raise
        except Exception as err:
            _LOGGER.exception("service %s.%s called over the websocket failed", domain, service)
            self._error(msg_id, "service_error", f"{domain}.{service} failed: {type(err).__name__}")
        else:
            self._result(msg_id, {"response": response, "context": context})

    COMMANDS = {
        "ping": _ping,
        "subscribe_events": _subscribe_events,
        "unsubscribe_events": _unsubscribe_events,
        "get_states": _get_states,
        "get_services": _get_services,
        "call_service": _call_service,
    }


@routes.route(
    "GET",
    "/api/websocket",
    summary="WebSocket: events, states and service calls",
    tag="websocket",
    responses={101: Response("switching to the WebSocket protocol", media_type="")},
    description=(__doc__ or "").split("\n\n", 1)[1].strip(),
)
async def websocket(request: web.Request) -> web.StreamResponse:
    conn = WebSocketConnection(request.app[HUB_KEY], request, request.app[SETTINGS_KEY]["queue_size"])
    connections = request.app[CONNECTIONS_KEY]
    connections.add(conn)
    try:
        return await conn.handle()
    finally:
        connections.discard(conn)

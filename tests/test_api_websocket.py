"""The WebSocket API on a real hub: subscriptions, event delivery, states, service calls, errors,
slow clients and closing."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import voluptuous as vol

from .mediagen import MOVIE_NAME, make_mp4


@pytest.fixture
async def ws_hub(hub_factory):
    hub = await hub_factory()
    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://{host}:{port}/api/websocket") as ws:
            yield hub, ws, session, f"http://{host}:{port}"


async def receive(ws, timeout: float = 5.0) -> dict:
    return await asyncio.wait_for(ws.receive_json(), timeout)


async def wait_until(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_ping(ws_hub):
    _, ws, _, _ = ws_hub
    await ws.send_json({"id": 5, "type": "ping"})
    assert await receive(ws) == {"id": 5, "type": "pong"}


async def test_subscribe_one_event_type(ws_hub):
    hub, ws, _, _ = ws_hub
    await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "media_added"})
    assert await receive(ws) == {"id": 1, "type": "result", "success": True, "result": None}
    hub.bus.fire("something_else", {"x": 1})
    fired = hub.bus.fire("media_added", {"id": 7, "path": "/m/a.mkv"})
    msg = await receive(ws)
    assert msg["id"] == 1 and msg["type"] == "event"
    event = msg["event"]
    assert event["event_type"] == "media_added"
    assert event["data"] == {"id": 7, "path": "/m/a.mkv"}
    assert event["context"]["id"] == fired.context.id
    assert event["time_fired"] == pytest.approx(fired.time_fired)


async def test_subscribe_all_and_state_changes(ws_hub):
    hub, ws, _, _ = ws_hub
    await ws.send_json({"id": 1, "type": "subscribe_events"})
    assert (await receive(ws))["success"] is True
    hub.states.set("sensor.disk", "10", {"unit": "GB"})
    msg = await receive(ws)
    while msg["event"]["event_type"] != "state_changed":
        msg = await receive(ws)
    data = msg["event"]["data"]
    assert data["entity_id"] == "sensor.disk"
    assert data["old_state"] is None
    assert data["new_state"]["state"] == "10"
    assert data["new_state"]["attributes"] == {"unit": "GB"}


async def test_unsubscribe(ws_hub):
    hub, ws, _, _ = ws_hub
    before = hub.bus.listener_count().get("media_added", 0)
    await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "media_added"})
    await receive(ws)
    assert hub.bus.listener_count()["media_added"] == before + 1
    await ws.send_json({"id": 2, "type": "unsubscribe_events", "subscription": 1})
    assert await receive(ws) == {"id": 2, "type": "result", "success": True, "result": None}
    assert hub.bus.listener_count().get("media_added", 0) == before
    hub.bus.fire("media_added", {"id": 1})
    await ws.send_json({"id": 3, "type": "ping"})
    assert await receive(ws) == {"id": 3, "type": "pong"}  # no event came first
    await ws.send_json({"id": 4, "type": "unsubscribe_events", "subscription": 1})
    msg = await receive(ws)
    assert msg["success"] is False and msg["error"]["code"] == "not_found"


async def test_get_states(ws_hub):
    hub, ws, _, _ = ws_hub
    hub.states.set("media_player.tv", "idle", {"volume": 0.3})
    await ws.send_json({"id": 3, "type": "get_states"})
    msg = await receive(ws)
    assert msg["success"] is True
    (tv,) = [s for s in msg["result"] if s["entity_id"] == "media_player.tv"]
    assert tv["state"] == "idle" and tv["attributes"] == {"volume": 0.3}
    await ws.send_json({"id": 4, "type": "get_services"})
    msg = await receive(ws)
    assert msg["success"] is True
    assert any(s["domain"] == "library" and s["service"] == "scan" for s in msg["result"])


async def test_call_service(ws_hub):
    hub, ws, _, _ = ws_hub
    calls = []

    async def add(call):
        calls.append(call)
        return call.data["a"] + call.data["b"]

    hub.services.register("math", "add", add, vol.Schema({vol.Required("a"): int, vol.Required("b"): int}))
    await ws.send_json({"id": 4, "type": "call_service", "domain": "math", "service": "add",
                        "service_data": {"a": 2, "b": 3}})
    msg = await receive(ws)
    assert msg["id"] == 4 and msg["success"] is True
    assert msg["result"]["response"] == 5
    assert msg["result"]["context"]["id"] == calls[0].context.id

    await ws.send_json({"id": 5, "type": "call_service", "domain": "math", "service": "add",
                        "service_data": {"a": "two"}})
    msg = await receive(ws)
    assert msg == {"id": 5, "type": "result", "success": False,
                   "error": {"code": "invalid_data", "message": msg["error"]["message"]}}
    assert "math.add" in msg["error"]["message"]

    await ws.send_json({"id": 6, "type": "call_service", "domain": "math", "service": "divide"})
    msg = await receive(ws)
    assert msg["error"] == {"code": "not_found", "message": "unknown service math.divide"}

    def boom(call):
        raise RuntimeError("hidden detail")

    hub.services.register("math", "boom", boom)
    await ws.send_json({"id": 7, "type": "call_service", "domain": "math", "service": "boom"})
    msg = await receive(ws)
    assert msg["error"]["code"] == "service_error" and "hidden detail" not in msg["error"]["message"]


async def test_call_library_scan_over_websocket(hub_factory, tmp_path):
    media = tmp_path / "media"
    make_mp4(media / MOVIE_NAME)
    hub = await hub_factory(media_dirs=[media])
    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession() as session, session.ws_connect(f"http://{host}:{port}/api/websocket") as ws:
        await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "media_added"})
        await receive(ws)
        await ws.send_json({"id": 2, "type": "call_service", "domain": "library", "service": "scan"})
        got = {}
        while set(got) != {1, 2}:
            msg = await receive(ws, 60)
            got[msg["id"]] = msg
        assert got[1]["event"]["data"]
        assert got[2]["success"] is True
        assert got[2]["result"]["context"]["id"]


@pytest.mark.parametrize(
    "payload, code",
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_format"),
        ('{"type": "ping"}', "invalid_format"),
        ('{"id": "x", "type": "ping"}', "invalid_format"),
        ('{"id": 9, "type": "fly"}', "unknown_command"),
        ('{"id": 9, "type": "subscribe_events", "event_type": 5}', "invalid_format"),
        ('{"id": 9, "type": "call_service", "domain": "a", "service": "b", "service_data": [1]}', "invalid_format"),
    ],
)
async def test_bad_messages_get_errors_and_the_connection_stays(ws_hub, payload, code):
    _, ws, _, _ = ws_hub
    await ws.send_str(payload)
    msg = await receive(ws)
    assert msg["type"] == "result" and msg["success"] is False
    assert msg["error"]["code"] == code and msg["error"]["message"]
    await ws.send_json({"id": 100, "type": "ping"})
    assert await receive(ws) == {"id": 100, "type": "pong"}


async def test_closing_the_socket_removes_listeners_and_keeps_the_hub(hub_factory):
    hub = await hub_factory()
    host, port = hub.http.bound_address()
    before = hub.bus.listener_count()
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"http://{host}:{port}/api/websocket")
        for i, event_type in enumerate(["media_added", "state_changed", None], start=1):
            msg = {"id": i, "type": "subscribe_events"}
            if event_type:
                msg["event_type"] = event_type
            await ws.send_json(msg)
            await receive(ws)
        assert hub.bus.listener_count() != before
        await ws.close()
        await wait_until(lambda: hub.http.websocket_count == 0)
        assert hub.bus.listener_count() == before
        # Events after the close go nowhere and break nothing.
        hub.bus.fire("media_added", {"id": 1})
        hub.states.set("sensor.after_close", "1")
        async with session.get(f"http://{host}:{port}/api/health") as resp:
            assert resp.status == 200


async def test_a_failing_listener_does_not_break_delivery(ws_hub):
    hub, ws, _, _ = ws_hub

    def broken(event):
        raise RuntimeError("listener bug")

    hub.bus.listen("media_added", broken)
    await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "media_added"})
    await receive(ws)
    hub.bus.fire("media_added", {"id": 3})
    msg = await receive(ws)
    assert msg["event"]["data"] == {"id": 3}


async def test_a_slow_client_is_dropped_without_blocking_the_bus(hub_factory, caplog):
    hub = await hub_factory()
    hub.http.ws_queue_size = 16
    host, port = hub.http.bound_address()
    before = hub.bus.listener_count()
    async with aiohttp.ClientSession() as session:
        slow = await session.ws_connect(f"http://{host}:{port}/api/websocket")
        fast = await session.ws_connect(f"http://{host}:{port}/api/websocket")
        for ws in (slow, fast):
            await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "big"})
            await receive(ws)
        blob = "x" * 200_000
        # The slow client never reads: the socket buffers fill, then its queue; the bus goes on.
        fast_seen = 0
        for n in range(400):
            hub.bus.fire("big", {"n": n, "blob": blob})
            if n % 10 == 0:
                while fast_seen <= n - 10:
                    msg = await receive(fast, 10)
                    fast_seen = msg["event"]["data"]["n"] + 1
                await asyncio.sleep(0)
            if hub.http.websocket_count == 1:
                break
        await wait_until(lambda: hub.http.websocket_count == 1, timeout=15)
        # Only the fast client's listener is left.
        count = hub.bus.listener_count()
        assert count.get("big", 0) == 1
        await fast.send_json({"id": 9, "type": "ping"})
        msg = await receive(fast, 10)
        while msg.get("type") != "pong":
            msg = await receive(fast, 10)
        # The slow client finds its connection closed with "try again later".
        while True:
            msg = await asyncio.wait_for(slow.receive(), 15)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
        assert slow.close_code in (1013, 1006)  # 1006 when the close frame could not get through
        assert "too slow" in caplog.text
        await fast.close()
        await wait_until(lambda: hub.http.websocket_count == 0)
        assert hub.bus.listener_count() == before


async def test_stopping_the_hub_closes_sockets_with_going_away(hub_factory):
    hub = await hub_factory()
    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"http://{host}:{port}/api/websocket")
        await ws.send_json({"id": 1, "type": "subscribe_events"})
        await receive(ws)
        stop = asyncio.get_running_loop().create_task(hub.stop())
        while True:
            msg = await asyncio.wait_for(ws.receive(), 10)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                break
        assert ws.close_code == 1001
        await asyncio.wait_for(stop, 15)
        assert hub.state == "stopped"

"""Casting to a real DLNA renderer: ``gmediarender`` in a network namespace, found by the hub over
SSDP across a veth pair, playing a small H.264/AAC MP4 from the hub's library.

What is checked is what a user would see on a TV: the renderer fetches the media from the hub's
address on the veth (never 127.0.0.1), its playback position advances (gmediarender may claim
PLAYING when decoding failed, so the state alone proves nothing), pause holds the position,
seek and stop work, and a renderer that dies or drops off the network mid-cast is reported
``unavailable`` without hurting the hub.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from omnimedia.core.casting.types import CastError
from omnimedia.core.const import EVENT_CAST_STATE

from .mediagen import make_mp4
from .renderer_netns import Gmediarender, RendererNamespace, hub_config, renderer_unavailable_reason
from .waiting import wait_until

pytestmark = pytest.mark.netns

CLIP_SECONDS = 30.0
CLIP_NAME = "Test.Clip.2021.mp4"


@pytest.fixture(scope="module")
def ns() -> Iterator[RendererNamespace]:
    reason = renderer_unavailable_reason()
    if reason:
        pytest.skip(reason)
    namespace = RendererNamespace().create()
    try:
        yield namespace
    finally:
        namespace.close()


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cast_media")
    make_mp4(folder / CLIP_NAME, duration=CLIP_SECONDS)
    return folder


@pytest.fixture
def renderer(ns: RendererNamespace, tmp_path: Path) -> Iterator[Gmediarender]:
    proc = Gmediarender(ns, tmp_path / "gmediarender.log", name="Bedroom TV")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def requests_seen(monkeypatch) -> list[tuple[str | None, str, str, int]]:
    """Every response the hub's web server starts: ``(client address, method, path, status)``.
    Observes aiohttp's ``StreamResponse.prepare`` (which every response passes), changing nothing."""
    seen: list[tuple[str | None, str, str, int]] = []
    original = web.StreamResponse.prepare

    async def prepare(self: web.StreamResponse, request: web.BaseRequest) -> Any:
        seen.append((request.remote, request.method, request.path, self.status))
        return await original(self, request)

    monkeypatch.setattr(web.StreamResponse, "prepare", prepare)
    return seen




@pytest.fixture
async def cast_hub(ns: RendererNamespace, media_dir: Path, renderer: Gmediarender, hub_factory):
    """``(hub, item id, API base URL, renderer)`` once the hub found the renderer over SSDP."""
    hub = await hub_factory(config_text=hub_config(ns, [media_dir]))
    await hub.library.scan()
    items, total = await hub.library.list_items(limit=5)
    assert total == 1, items
    found = await wait_until(lambda: hub.casting.get(renderer.udn), "the renderer found over SSDP", log=renderer.log)
    _, port = hub.http.bound_address()
    return hub, items[0]["id"], f"http://127.0.0.1:{port}", found


def state_of(hub: Any, udn: str, *states: str) -> Callable[[], Any]:
    def probe() -> Any:
        status = hub.casting.status(udn)
        return status if status["state"] in states else None

    return probe


async def position_after(hub: Any, udn: str, seconds: float) -> tuple[float, float]:
    """The renderer's own position (GetPositionInfo, via a refresh) now and ``seconds`` later."""
    first = (await hub.casting.refresh(udn))["position"]
    await asyncio.sleep(seconds)
    second = (await hub.casting.refresh(udn))["position"]
    return first, second


async def test_cast_play_pause_seek_stop(
    ns: RendererNamespace, renderer: Gmediarender, cast_hub, requests_seen
) -> None:
    hub, item_id, base, found = cast_hub
    udn = renderer.udn
    events: list[dict[str, Any]] = []
    hub.bus.listen(EVENT_CAST_STATE, lambda e: events.append(dict(e.data)))
    assert (found.protocol, found.host, found.name, found.device_profile) == ("dlna", ns.address, "Bedroom TV",
                                                                              "dlna_generic")

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/casting/renderers") as resp:
            assert resp.status == 200
            listed = {r["id"]: r for r in (await resp.json())["renderers"]}
        assert listed[udn]["protocol"] == "dlna" and listed[udn]["host"] == ns.address
        assert listed[udn]["device_profile"] == "dlna_generic" and listed[udn]["cast"]["state"] == "idle"

        async with http.post(f"{base}/api/casting/{udn}/play", json={"item_id": item_id}) as resp:
            body = await resp.json()
            assert resp.status == 200, body
        url = urlsplit(body["url"])
        # The address on the veth that routes to the renderer — not 0.0.0.0, not loopback.
        assert url.hostname == ns.hub_address, body["url"]
        assert url.port == hub.http.bound_address()[1]
        assert body["item_id"] == item_id and body["mime_type"] == "video/mp4"

        await wait_until(state_of(hub, udn, "playing"), "state playing", log=renderer.log)
        first, second = await position_after(hub, udn, 3.0)
        assert second - first >= 1.5, (first, second, renderer.log()[-2000:])
        # Its media_player entity follows the cast.
        entity = hub.states.get("media_player.bedroom_tv")
        assert entity.state == "playing" and entity.attributes["media_item_id"] == item_id
        assert entity.attributes["media_position"] >= 1
        # The renderer itself fetched the media from the hub, from its own address.
        fetched = [r for r in requests_seen if r[2] == url.path and r[0] == ns.address]
        assert fetched and all(status in (200, 206) for *_, status in fetched), requests_seen
        assert fetched[0][1] in ("GET", "HEAD")
        assert any(method == "GET" for _, method, _, _ in fetched)

        # Pause holds the position (on the device, not just in the hub's bookkeeping).
        async with http.post(f"{base}/api/casting/{udn}/control", json={"action": "pause"}) as resp:
            assert resp.status == 200, await resp.text()
        assert (await found.status()).state == "paused"
        first, second = await position_after(hub, udn, 2.0)
        assert abs(second - first) <= 0.5, (first, second)
        assert hub.casting.status(udn)["state"] == "paused"

        async with http.post(f"{base}/api/casting/{udn}/control", json={"action": "resume"}) as resp:
            assert resp.status == 200
        await wait_until(state_of(hub, udn, "playing"), "playing again")

        async with http.post(f"{base}/api/casting/{udn}/control", json={"action": "volume", "level": 0.4}) as resp:
            assert resp.status == 200, await resp.text()
        assert (await found.status()).volume == pytest.approx(0.4, abs=0.02)

        async with http.post(f"{base}/api/casting/{udn}/control", json={"action": "seek", "position": 20}) as resp:
            assert resp.status == 200, await resp.text()
        device_position = (await found.status()).position
        assert device_position is not None and device_position >= 19, device_position

        async with http.post(f"{base}/api/casting/{udn}/control", json={"action": "stop"}) as resp:
            stopped = await resp.json()
            assert resp.status == 200, stopped
        assert stopped["state"] == "stopped"
        assert (await found.status()).state == "stopped"
        # The resume position went to the playback engine.
        row = await hub.playback.positions.get(item_id)
        assert 19 <= row["position"] <= CLIP_SECONDS and row["device"] == f"cast:{udn}", row
        assert not row["watched"]

        async with http.get(f"{base}/api/casting/{udn}/status") as resp:
            assert (await resp.json())["state"] == "stopped"

    states = [e["state"] for e in events if e["id"] == udn]
    for expected in ("buffering", "playing", "paused", "stopped"):
        assert expected in states, states
    assert states.index("buffering") < states.index("playing") < states.index("paused")
    # Polling ended with the cast.
    await asyncio.sleep(1.5)
    assert not [t for t in asyncio.all_tasks() if t.get_name() == f"poll renderer {udn}" and not t.done()]


async def test_cast_from_a_start_position_to_the_end(renderer: Gmediarender, cast_hub) -> None:
    hub, item_id, _, found = cast_hub
    start = CLIP_SECONDS - 6
    status = await hub.casting.cast(renderer.udn, item_id, start=start)
    assert status["state"] == "buffering"
    await wait_until(state_of(hub, renderer.udn, "playing"), "state playing", log=renderer.log)
    position = (await found.status()).position
    assert position is not None and start - 1 <= position <= CLIP_SECONDS, position
    # The renderer reaches the end by itself: the cast is finished and the item watched.
    finished = await wait_until(state_of(hub, renderer.udn, "finished"), "state finished", log=renderer.log)
    assert finished["position"] == pytest.approx(CLIP_SECONDS, abs=1)
    row = await hub.playback.positions.get(item_id)
    assert row["watched"] and row["play_count"] == 1, row


async def test_renderer_killed_mid_cast(renderer: Gmediarender, cast_hub) -> None:
    hub, item_id, base, _ = cast_hub
    udn = renderer.udn
    events: list[dict[str, Any]] = []
    hub.bus.listen(EVENT_CAST_STATE, lambda e: events.append(dict(e.data)))
    await hub.casting.cast(udn, item_id)
    await wait_until(state_of(hub, udn, "playing"), "state playing", log=renderer.log)

    renderer.kill()
    status = await wait_until(state_of(hub, udn, "unavailable"), "state unavailable after the renderer died")
    assert status["error"] and "Bedroom TV" in status["error"]
    assert status["item_id"] == item_id and status["position"] is not None
    assert any(e["state"] == "unavailable" for e in events if e["id"] == udn)

    # Polling stopped (no spinning), and the hub runs on and answers.
    await asyncio.sleep(2.5)
    assert not [t for t in asyncio.all_tasks() if t.get_name() == f"poll renderer {udn}" and not t.done()]
    assert sum(1 for e in events if e["id"] == udn and e["state"] == "unavailable") == 1, events
    assert hub.state == "running"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/casting/{udn}/control", json={"action": "pause"}) as resp:
            assert resp.status == 502
            assert "Bedroom TV" in (await resp.json())["error"]
        async with http.get(f"{base}/api/casting/renderers") as resp:
            assert resp.status == 200


async def test_network_link_down_mid_cast(ns: RendererNamespace, renderer: Gmediarender, cast_hub) -> None:
    hub, item_id, _, _ = cast_hub
    udn = renderer.udn
    await hub.casting.cast(udn, item_id)
    await wait_until(state_of(hub, udn, "playing"), "state playing", log=renderer.log)
    ns.set_link(False)
    try:
        status = await wait_until(state_of(hub, udn, "unavailable"), "state unavailable after the link went down",
                                  timeout=60)
        assert "Bedroom TV" in status["error"]
        with pytest.raises(CastError):
            await hub.casting.cast(udn, item_id)
        assert hub.casting.status(udn)["state"] == "unavailable"
    finally:
        ns.set_link(True)
    assert hub.state == "running"


async def test_api_errors(renderer: Gmediarender, cast_hub) -> None:
    hub, item_id, base, _ = cast_hub
    udn = renderer.udn
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/casting/nope/play", json={"item_id": item_id}) as resp:
            assert resp.status == 404 and "nope" in (await resp.json())["error"]
        async with http.post(f"{base}/api/casting/{udn}/play", json={"item_id": 999999}) as resp:
            assert resp.status == 404 and "999999" in (await resp.json())["error"]
        async with http.post(f"{base}/api/casting/{udn}/play", json={"item_id": item_id, "start": -1}) as resp:
            assert resp.status == 400
        async with http.post(f"{base}/api/casting/{udn}/control", json={"action": "rewind"}) as resp:
            assert resp.status == 400
        async with http.post(f"{base}/api/casting/{udn}/control", json={"action": "seek"}) as resp:
            assert resp.status == 400 and "position" in (await resp.json())["error"]
        async with http.get(f"{base}/api/openapi.json") as resp:
            paths = (await resp.json())["paths"]
        assert "/api/casting/{renderer_id}/play" in paths and "/api/casting/renderers" in paths
    assert hub.casting.status(udn)["state"] == "idle"


@pytest.fixture(scope="module")
def webm_dir(tmp_path_factory) -> Path:
    from .mediagen import make_webm

    folder = tmp_path_factory.mktemp("cast_webm")
    make_webm(folder / "Other.Clip.2022.webm", duration=CLIP_SECONDS)
    return folder


async def test_transcoded_cast_and_its_session_end_with_the_renderer(
    ns: RendererNamespace, webm_dir: Path, renderer: Gmediarender, hub_factory, requests_seen
) -> None:
    """VP9/Opus in WebM is not for a DLNA TV: the playback engine transcodes it in a session;
    the renderer plays the stream, and when the renderer dies the session and its ffmpeg end.

    The built-in ``dlna_generic`` profile transcodes into MPEG-TS, as DLNA TVs expect."""
    hub = await hub_factory(config_text=hub_config(ns, [webm_dir]))
    await hub.library.scan()
    [item], _ = await hub.library.list_items(limit=5)
    await wait_until(lambda: hub.casting.get(renderer.udn), "the renderer found over SSDP", log=renderer.log)
    status = await hub.casting.cast(renderer.udn, item["id"])
    assert status["method"] == "transcode" and status["session_id"], status
    assert urlsplit(status["url"]).hostname == ns.hub_address
    [session] = hub.playback.list_sessions()
    assert session["id"] == status["session_id"]

    await wait_until(state_of(hub, renderer.udn, "playing"), "state playing", log=renderer.log)
    first, second = await position_after(hub, renderer.udn, 3.0)
    assert second - first >= 1.5, (first, second, renderer.log()[-2000:])
    assert any(r[0] == ns.address and r[2] == urlsplit(status["url"]).path for r in requests_seen), requests_seen

    renderer.kill()
    await wait_until(state_of(hub, renderer.udn, "unavailable"), "state unavailable after the renderer died")
    assert hub.casting.status(renderer.udn)["session_id"] is None
    await wait_until(lambda: hub.playback.list_sessions() == [], "the playback session ended")


async def test_hub_stops_mid_cast(renderer: Gmediarender, cast_hub) -> None:
    hub, item_id, _, _ = cast_hub
    await hub.casting.cast(renderer.udn, item_id)
    await wait_until(state_of(hub, renderer.udn, "playing"), "state playing", log=renderer.log)
    await asyncio.sleep(1.5)
    await hub.stop()
    assert hub.state == "stopped"
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("poll renderer") and not t.done()]
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("ssdp") and not t.done()]
    # The device itself is left alone (the hub only stops watching it).
    assert renderer.running()

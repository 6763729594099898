"""Google Cast across a veth pair: a real hub finds the Cast stand-in over mDNS and casts to it.

The stand-in (``tests/cast_standin.py``) runs as its own process in a network namespace joined to
the test's namespace by a veth pair, like a Chromecast on the LAN: it listens on port 8009 at its
own address, advertises ``_googlecast._tcp.local.`` with python-zeroconf, speaks Cast v2 over TLS
and fetches the media URL it is given. The hub runs in the test process with mDNS bound to its end
of the link and HTTP on every address, so the URL the casting manager hands over must name the
hub's address on that link — the stand-in cannot reach the test's loopback.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from omnimedia.core.casting.types import CastError
from omnimedia.core.const import EVENT_STATE_CHANGED
from omnimedia.plugins.googlecast import renderers

from .cast_standin import RootLink, StandinProcess, openssl_unavailable_reason
from .conftest import write_config
from .mediagen import make_mp4
from .netns import Advertiser, netns_unavailable_reason
from .waiting import wait_until

pytestmark = pytest.mark.netns

CAST_TYPE = "_googlecast._tcp.local."


@pytest.fixture(scope="module")
def link() -> Iterator[RootLink]:
    reason = netns_unavailable_reason() or openssl_unavailable_reason()
    if reason:
        pytest.skip(reason)
    link = RootLink().create()
    try:
        yield link
    finally:
        link.close()


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cast_library")
    make_mp4(folder / "Movie.Title.2019.1080p.BluRay.x264-GRP.mp4", duration=12)
    return folder


@pytest.fixture
async def device(link: RootLink, tmp_path: Path) -> AsyncIterator[StandinProcess]:
    """The stand-in in the namespace, advertised over mDNS at the namespace's address."""
    standin = StandinProcess(
        link.command(), uuid=uuid.uuid4().hex, name="Living Room TV", log=tmp_path / "standin.log",
        advertise=[link.device_addr], host=link.device_addr, port=8009,
    )
    await standin.start()
    try:
        yield standin
    finally:
        await standin.close()


@pytest.fixture
async def hub(hub_factory, link: RootLink, media_dir: Path, tmp_path: Path):
    config_dir = tmp_path / "config"
    write_config(
        config_dir,
        f"""
        hub: {{host: 0.0.0.0, port: 0, log_level: debug}}
        libraries:
          - path: {str(media_dir)!r}
            type: mixed
        discovery:
          zeroconf: true
          advertise: false
          interfaces: [{link.hub_addr}]
        """,
    )
    hub = await hub_factory(config_dir=config_dir)
    await hub.library.scan()
    return hub




async def item_id(hub) -> int:
    [item], _ = await hub.library.list_items(limit=5)
    return int(item["id"])


def entity_state(hub, cast_id: str):
    device = hub.devices.get_by_key("googlecast", cast_id)
    [entity] = hub.entities.for_device(device.id)
    return hub.states.get(entity.entity_id)


async def found(hub, device: StandinProcess) -> Any:
    uid = device_uuid(device)
    return await wait_until(lambda: hub.casting.get(uid), "the hub to find the Cast device and add its renderer")


def device_uuid(device: StandinProcess) -> str:
    return device.argv[device.argv.index("--uuid") + 1]


async def test_found_over_mdns_and_plays_an_item(hub, device, link, media_dir) -> None:
    renderer = await found(hub, device)
    uid = device_uuid(device)
    assert (renderer.id, renderer.name, renderer.host) == (uid, "Living Room TV", link.device_addr)
    assert (renderer.protocol, renderer.device_profile) == ("googlecast", "chromecast")
    assert renderers(hub)[uid] is renderer
    entry = hub.devices.get_by_key("googlecast", uid)
    assert (entry.name, entry.manufacturer, entry.model, entry.status) == (
        "Living Room TV", "Google", "Chromecast", "discovered")
    assert entry.connection["port"] == 8009 and entry.connection["properties"]["ca"] == "4101"
    assert entity_state(hub, uid).state == "idle"
    entity_id = entity_state(hub, uid).entity_id
    states: list[str] = []
    hub.bus.listen(
        EVENT_STATE_CHANGED,
        lambda e: states.append(e.data["new_state"].state),
        lambda e: e.data["entity_id"] == entity_id and e.data["new_state"] is not None,
    )

    item = await item_id(hub)
    started = await hub.casting.cast(uid, item)
    assert started["item_id"] == item and started["state"] in ("buffering", "playing")

    state = await device.state()
    [fetch] = [f for f in state["fetches"] if f["purpose"] == "load"]
    url = urlsplit(fetch["url"])
    assert url.hostname == link.hub_addr  # the hub's address on the device's link, not loopback
    assert fetch["url"] == started["url"]
    assert (fetch["local"], fetch["remote"]) == (link.device_addr, link.hub_addr)
    assert fetch["status"] in (200, 206) and fetch["error"] is None
    assert fetch["bytes"] > 0 and {s["codec_type"] for s in fetch["probe"]["streams"]} == {"video", "audio"}
    assert float(fetch["probe"]["format"]["duration"]) == pytest.approx(12, abs=0.5)
    assert state["app"]["appId"] == "CC1AD845"
    assert state["media"]["playerState"] == "PLAYING"
    assert state["media"]["media"]["contentId"] == started["url"]

    first = await wait_until(lambda: _cast_state(hub, uid, "playing"), "the cast to be playing")
    await wait_until(
        lambda: _cast_state(hub, uid, "playing", past=first["position"] + 0.5), "the position to advance"
    )
    playing = entity_state(hub, uid)
    assert playing.state == "playing"
    assert playing.attributes["media_url"] == started["url"]
    assert (playing.attributes["media_item_id"], playing.attributes["media_title"]) == (item, started["title"])
    assert playing.attributes["media_duration"] == pytest.approx(12, abs=0.5)
    # The device's TXT record follows the running app (st=1, rs=…) and its name: renamed while
    # it plays, the hub takes the new name and the entity keeps what the device reports
    # instead of passing through "idle".
    await device.rename("Lounge TV")
    await wait_until(lambda: hub.devices.get_by_key("googlecast", uid).name == "Lounge TV", "the new name")
    props = hub.devices.get_by_key("googlecast", uid).connection["properties"]
    assert (props["fn"], props["st"], props["rs"]) == ("Lounge TV", "1", "Default Media Receiver")
    assert renderer.name == "Lounge TV"
    assert entity_state(hub, uid).state == "playing"
    cast_started = next(i for i, state in enumerate(states) if state in ("buffering", "playing"))
    assert "idle" not in states[cast_started:], states

    paused = await hub.casting.control(uid, "pause")
    assert paused["state"] == "paused"
    assert (await device.state())["media"]["playerState"] == "PAUSED"
    assert (await hub.casting.refresh(uid))["state"] == "paused"

    await hub.casting.control(uid, "seek", position=8.0)
    sought = await hub.casting.refresh(uid)
    assert sought["state"] == "paused" and sought["position"] == pytest.approx(8.0, abs=0.2)
    seek_fetch = (await device.state())["fetches"][-1]
    assert seek_fetch["purpose"] == "seek" and seek_fetch["status"] == 206

    await hub.casting.control(uid, "resume")
    assert (await hub.casting.refresh(uid))["state"] == "playing"
    await hub.casting.control(uid, "volume", level=0.3)
    assert (await device.state())["volume"]["level"] == 0.3

    stopped = await hub.casting.control(uid, "stop")
    assert stopped["state"] == "stopped"
    state = await device.state()
    assert (state["media"]["playerState"], state["media"]["idleReason"]) == ("IDLE", "CANCELLED")
    await wait_until(lambda: entity_state(hub, uid).state == "stopped", "the entity to follow")

    assert renderer.threads_alive()  # still connected, following the device
    await hub.stop()
    assert not renderer.threads_alive()  # the hub's stop closed the connection and joined it


async def _cast_state(hub, uid: str, state: str, past: float | None = None) -> dict[str, Any] | None:
    status = await hub.casting.refresh(uid)
    if status["state"] != state or status["position"] is None:
        return None
    if past is not None and status["position"] <= past:
        return None
    return status


async def test_device_vanishing_mid_cast(hub, device) -> None:
    renderer = await found(hub, device)
    uid = renderer.id
    await hub.casting.cast(uid, await item_id(hub))
    await wait_until(lambda: _cast_state(hub, uid, "playing"), "the cast to be playing")

    await device.vanish()  # the server closes; its mDNS record stays (a crash, not a goodbye)

    status = await wait_until(
        lambda: (s := hub.casting.status(uid))["state"] == "unavailable" and s, "the cast to become unavailable"
    )
    assert "cannot reach the Cast device Living Room TV" in status["error"]
    assert entity_state(hub, uid).state == "unavailable"
    with pytest.raises(CastError, match="cannot reach"):
        await hub.casting.control(uid, "pause")
    with pytest.raises(CastError, match="cannot reach"):
        await hub.casting.cast(uid, await item_id(hub))
    await wait_until(lambda: not renderer.threads_alive(), "pychromecast's socket threads to end")
    assert hub.state == "running"


async def test_goodbye_removes_the_renderer(hub, device) -> None:
    renderer = await found(hub, device)
    uid = renderer.id
    await hub.casting.cast(uid, await item_id(hub))
    assert renderer.threads_alive()

    await device.goodbye()  # mDNS goodbye (TTL 0): the device left the network

    await wait_until(lambda: hub.casting.get(uid) is None, "the renderer to be removed")
    assert uid not in renderers(hub)
    await wait_until(lambda: not renderer.threads_alive(), "the renderer to disconnect")
    assert hub.devices.get_by_key("googlecast", uid).status == "unavailable"
    assert entity_state(hub, uid).state == "unavailable"


async def test_unreachable_device_degrades_only_itself(hub, device, link, tmp_path) -> None:
    """A second Cast record points at an address nobody has (a TV switched off at the wall
    whose record is still cached): casting there fails, the other device plays."""
    dead_id = uuid.uuid4().hex
    advertiser = Advertiser(link, link.ns, tmp_path / "dead-advertiser.log")
    try:
        advertiser.send(
            "register", type=CAST_TYPE, name=f"Chromecast-{dead_id}.{CAST_TYPE}", port=8009,
            server=f"{dead_id}.local.", addresses=[link.spare_addr],
            properties={"id": dead_id, "fn": "Bedroom TV", "md": "Chromecast", "ve": "05", "ca": "4101", "st": "0"},
        )
        dead = await wait_until(lambda: hub.casting.get(dead_id), "the second device's renderer")
        live = await found(hub, device)
        item = await item_id(hub)

        with pytest.raises(CastError, match="cannot reach the Cast device Bedroom TV"):
            await hub.casting.cast(dead_id, item)
        assert hub.casting.status(dead_id)["state"] == "unavailable"
        assert entity_state(hub, dead_id).state == "unavailable"
        await wait_until(lambda: not dead.threads_alive(), "the failed attempt's threads to end")

        await hub.casting.cast(live.id, item)
        await wait_until(lambda: _cast_state(hub, live.id, "playing"), "the other device to play")
        assert hub.plugins.plugins["googlecast"].state == "running"
    finally:
        advertiser.close()

"""SSDP discovery across a veth pair: a real ``gmediarender`` in a network namespace, a real hub in
the root namespace listening on the veth address only.

The hub finds the renderer by M-SEARCH and NOTIFY, makes it a ``dlna`` device with a
``media_player`` entity, and marks it ``unavailable`` on ``ssdp:byebye`` and when its last
announcement's ``max-age`` runs out.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from omnimedia.core.const import EVENT_DISCOVERY

from .renderer_netns import Gmediarender, RendererNamespace, hub_config, renderer_unavailable_reason
from .waiting import wait_until

pytestmark = pytest.mark.netns

MEDIA_RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"


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


@pytest.fixture
def renderer(ns: RendererNamespace, tmp_path: Path) -> Iterator[Gmediarender]:
    proc = Gmediarender(ns, tmp_path / "gmediarender.log", name="Living Room Renderer")
    try:
        yield proc
    finally:
        proc.stop()




def device_of(hub: Any, udn: str) -> Callable[[], Any]:
    return lambda: hub.devices.get_by_key("dlna", udn)


async def test_renderer_found_and_byebye(ns: RendererNamespace, renderer: Gmediarender, hub_factory, tmp_path: Path) -> None:
    hub = await hub_factory(config_text=hub_config(ns))
    events: list[dict[str, Any]] = []
    # Only SSDP events (mDNS is off in this hub, but stay strict about the source).
    hub.bus.listen(EVENT_DISCOVERY, lambda e: events.append(dict(e.data)), lambda e: e.data.get("source") == "ssdp")
    assert hub.discovery.ssdp is not None and hub.discovery.ssdp.addresses == [ns.hub_address]

    # The core records the device; the dlna plugin then reads the description and adds the entity.
    entity = await wait_until(lambda: hub.entities.get("media_player.living_room_renderer"),
                              "the media_player entity", log=renderer.log)
    device = hub.devices.get_by_key("dlna", renderer.udn)
    assert device.name == "Living Room Renderer"
    assert device.status == "discovered"
    assert device.manufacturer == "Ivo Clarysse, Henner Zeller" and device.model == "gmediarender"
    conn = device.connection
    assert (conn["host"], conn["port"], conn["service_type"]) == (ns.address, renderer.port, MEDIA_RENDERER)
    assert conn["ssdp_location"] == renderer.location
    assert conn["ssdp_usn"] == f"{renderer.udn}::{MEDIA_RENDERER}"
    assert conn["properties"]["uuid"] == renderer.udn

    [added] = [e for e in events if e["action"] == "added"]
    assert added["source"] == "ssdp" and added["plugins"] == ["dlna"]
    assert added["ssdp_st"] == MEDIA_RENDERER and added["ssdp_headers"]["location"] == renderer.location

    assert entity.platform == "dlna" and entity.device_id == device.id
    assert hub.states.get(entity.entity_id).state == "idle"
    assert hub.casting.get(renderer.udn) is not None

    # SIGTERM: libupnp says ssdp:byebye on the way out.
    renderer.stop()
    gone = await wait_until(
        lambda: (d := hub.devices.get_by_key("dlna", renderer.udn)) and d.status == "unavailable" and d,
        "status unavailable after ssdp:byebye", log=lambda: f"{events}\n{renderer.log()}",
    )
    assert gone.id == device.id
    assert hub.states.get(entity.entity_id).state == "unavailable"
    assert hub.casting.get(renderer.udn) is None
    assert [e["action"] for e in events] == ["added", "removed"]

    # It comes back (same UUID, new process and port): same device, discovered again.
    again = Gmediarender(ns, tmp_path / "again.log", name="Living Room Renderer", uuid=renderer.uuid)
    try:
        back = await wait_until(
            lambda: (d := hub.devices.get_by_key("dlna", renderer.udn)) and d.status == "discovered" and d,
            "the renderer discovered again", log=lambda: f"{events}\n{again.log()}",
        )
        assert back.id == device.id and back.connection["port"] == again.port
        await wait_until(lambda: hub.casting.get(renderer.udn), "the renderer castable again")
        assert hub.casting.get(renderer.udn).location == again.location
    finally:
        again.stop()


def _notify_alive(ns: RendererNamespace, renderer: Gmediarender, max_age: int) -> None:
    """Send one ``ssdp:alive`` for the renderer's MediaRenderer USN from inside its namespace
    (UDA 2.0 §1.2.2 wire format), as a renderer renewing its announcement with a short max-age."""
    packet = (
        "NOTIFY * HTTP/1.1\r\n"
        "HOST: 239.255.255.250:1900\r\n"
        f"CACHE-CONTROL: max-age={max_age}\r\n"
        f"LOCATION: {renderer.location}\r\n"
        f"NT: {MEDIA_RENDERER}\r\n"
        "NTS: ssdp:alive\r\n"
        "SERVER: Linux/6 UPnP/1.0 test/1\r\n"
        f"USN: {renderer.udn}::{MEDIA_RENDERER}\r\n"
        "\r\n"
    )
    script = (
        "import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
        f"s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton({ns.address!r}));"
        "s.sendto(sys.stdin.buffer.read(),('239.255.255.250',1900))"
    )
    subprocess.run(ns.exec(sys.executable, "-c", script), input=packet.encode(), check=True, timeout=10)


async def test_announcement_expiry_marks_unavailable(
    ns: RendererNamespace, renderer: Gmediarender, hub_factory
) -> None:
    hub = await hub_factory(config_text=hub_config(ns))
    await wait_until(device_of(hub, renderer.udn), "the renderer in the device registry", log=renderer.log)

    # Gone without a goodbye: its last announcement (gmediarender's max-age is 100 s) would keep
    # it for a while; a renewal with max-age=2 makes it expire soon.
    renderer.kill()
    _notify_alive(ns, renderer, max_age=2)
    assert hub.devices.get_by_key("dlna", renderer.udn).status == "discovered"
    device = await wait_until(
        lambda: (d := hub.devices.get_by_key("dlna", renderer.udn)) and d.status == "unavailable" and d,
        "status unavailable after max-age ran out",
    )
    assert device.name == "Living Room Renderer"
    assert hub.casting.get(renderer.udn) is None


async def test_no_ssdp_without_a_plugin_asking(ns: RendererNamespace, hub_factory, monkeypatch) -> None:
    """With no matcher declared, the hub opens no SSDP socket at all."""
    from omnimedia.core import ssdp

    monkeypatch.setattr(ssdp, "ssdp_matchers", lambda plugins: {})
    hub = await hub_factory(config_text=hub_config(ns))
    assert hub.discovery.ssdp is not None and hub.discovery.ssdp.listeners == []

"""Discovery without the network: found/changed/vanished services → devices, entities, states,
events and plugin offers; the built-in discovery plugins; a hub whose mDNS cannot start."""

from __future__ import annotations

import logging

from omnimedia.core.const import EVENT_DISCOVERY, ZEROCONF_SERVICE_TYPE
from omnimedia.core.discovery import DiscoveryInfo, discovery_service_types

from .conftest import minimal_config

CAST_TYPE = "_googlecast._tcp.local."
CAST_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def cast_info(host: str = "192.168.7.20", port: int = 8009, **props: str) -> DiscoveryInfo:
    properties = {"id": CAST_ID, "fn": "Living Room TV", "md": "Chromecast Ultra", "ve": "05", **props}
    return DiscoveryInfo(
        service_type=CAST_TYPE,
        name=f"Chromecast-Ultra-{CAST_ID}.{CAST_TYPE}",
        host=host,
        addresses=(host,),
        port=port,
        properties=properties,
        server=f"{CAST_ID}.local.",
    )


def test_info_names_and_ids() -> None:
    info = cast_info()
    assert info.instance_name == f"Chromecast-Ultra-{CAST_ID}"
    assert info.unique_id == CAST_ID
    assert info.friendly_name == "Living Room TV"
    bare = DiscoveryInfo(
        "_androidtvremote2._tcp.local.", "Bedroom TV._androidtvremote2._tcp.local.", "10.0.0.5"
    )
    assert bare.unique_id == bare.friendly_name == "Bedroom TV"
    assert info.as_dict()["properties"]["md"] == "Chromecast Ultra"
    assert info.connection() == {
        "host": "192.168.7.20",
        "port": 8009,
        "addresses": ["192.168.7.20"],
        "properties": dict(info.properties),
        "service_type": CAST_TYPE,
        "server": f"{CAST_ID}.local.",
    }


async def test_builtin_plugins_declare_their_types(hub_factory) -> None:
    hub = await hub_factory()
    types = hub.plugins.zeroconf_types()
    assert types[CAST_TYPE] == ["googlecast"]
    assert types["_airplay._tcp.local."] == ["airplay"]
    assert types["_androidtvremote2._tcp.local."] == ["androidtv"]
    assert discovery_service_types(hub.plugins)[0] == ZEROCONF_SERVICE_TYPE
    for name in ("googlecast", "airplay", "androidtv"):
        record = hub.plugins.plugins[name]
        assert record.state == "running", record.reason
        assert record.manifest.kinds == ("discovery",)


async def test_found_changed_vanished_cast_device(hub_factory) -> None:
    hub = await hub_factory()
    assert hub.discovery.zeroconf is None  # minimal_config turns mDNS off
    events = []
    hub.bus.listen(EVENT_DISCOVERY, events.append)

    [device] = await hub.discovery.handle_found(cast_info())
    assert (device.platform, device.unique_id, device.name) == ("googlecast", CAST_ID, "Living Room TV")
    assert device.status == "discovered"
    assert (device.manufacturer, device.model) == ("Google", "Chromecast Ultra")
    assert device.connection["host"] == "192.168.7.20" and device.connection["port"] == 8009
    assert device.connection["properties"]["id"] == CAST_ID
    [entity] = hub.entities.for_device(device.id)
    assert entity.entity_id == "media_player.living_room_tv"
    state = hub.states.get(entity.entity_id)
    assert state.state == "idle"
    assert state.attributes["model"] == "Chromecast Ultra" and state.attributes["host"] == "192.168.7.20"
    assert [e.data["action"] for e in events] == ["added"]
    assert events[0].data["plugins"] == ["googlecast"] and events[0].data["host"] == "192.168.7.20"

    # The same answer again (mDNS repeats itself) changes nothing.
    assert await hub.discovery.handle_found(cast_info()) == []
    assert len(events) == 1

    # A new address updates the same device.
    [moved] = await hub.discovery.handle_found(cast_info(host="192.168.7.42"))
    assert moved.id == device.id and moved.connection["host"] == "192.168.7.42"
    assert hub.states.get(entity.entity_id).attributes["host"] == "192.168.7.42"
    assert events[-1].data["action"] == "updated"

    # Gone: the device and its entity are unavailable; the registry keeps them.
    [gone] = await hub.discovery.handle_removed(CAST_TYPE, cast_info().name)
    assert gone.id == device.id and gone.status == "unavailable"
    assert hub.states.get(entity.entity_id).state == "unavailable"
    assert hub.states.get(entity.entity_id).attributes["model"] == "Chromecast Ultra"
    assert events[-1].data["action"] == "removed"

    # Back again, with the very same record: discovered and idle again.
    [back] = await hub.discovery.handle_found(cast_info(host="192.168.7.42"))
    assert back.id == device.id and back.status == "discovered"
    assert hub.states.get(entity.entity_id).state == "idle"
    assert len(hub.devices.all()) == 1 and len(hub.entities.all()) == 1


async def test_airplay_and_androidtv_devices(hub_factory) -> None:
    hub = await hub_factory()
    airplay = DiscoveryInfo(
        "_airplay._tcp.local.",
        "Kitchen._airplay._tcp.local.",
        "192.168.7.30",
        ("192.168.7.30",),
        7000,
        {"deviceid": "AA:BB:CC:DD:EE:FF", "model": "AppleTV6,2", "srcvers": "620.8.2"},
        "Kitchen.local.",
    )
    [device] = await hub.discovery.handle_found(airplay)
    assert (device.platform, device.unique_id, device.name) == ("airplay", "AA:BB:CC:DD:EE:FF", "Kitchen")
    assert (device.manufacturer, device.model, device.sw_version) == ("Apple", "AppleTV6,2", "620.8.2")
    assert hub.states.get("media_player.kitchen").state == "idle"

    atv = DiscoveryInfo(
        "_androidtvremote2._tcp.local.",
        "Bedroom TV._androidtvremote2._tcp.local.",
        "192.168.7.31",
        ("192.168.7.31",),
        6466,
        {"bt": "11:22:33:44:55:66"},
        "Android.local.",
    )
    [device] = await hub.discovery.handle_found(atv)
    assert (device.platform, device.unique_id, device.name) == ("androidtv", "Bedroom TV", "Bedroom TV")
    assert hub.states.get("media_player.bedroom_tv").attributes["port"] == 6466


async def test_unwanted_type_is_ignored(hub_factory) -> None:
    hub = await hub_factory()
    info = DiscoveryInfo("_printer._tcp.local.", "Laser._printer._tcp.local.", "192.168.7.50", port=515)
    assert await hub.discovery.handle_found(info) == []
    assert hub.devices.all() == []
    assert await hub.discovery.handle_removed("_printer._tcp.local.", info.name) == []


async def test_devices_survive_restart(hub_factory, tmp_path) -> None:
    config_dir = tmp_path / "persist"
    hub = await hub_factory(config_dir=config_dir)
    [device] = await hub.discovery.handle_found(cast_info())
    await hub.stop()
    again = await hub_factory(config_dir=config_dir)
    kept = again.devices.get_by_key("googlecast", CAST_ID)
    assert kept is not None and kept.id == device.id and kept.model == "Chromecast Ultra"


async def test_mdns_that_cannot_start_leaves_the_hub_running(hub_factory, caplog) -> None:
    text = minimal_config().replace(
        "discovery:\n  zeroconf: false\n  ssdp: false\n  advertise: false\n",
        "discovery:\n  zeroconf: true\n  advertise: true\n  interfaces: [no-such-if0]\n",
    )
    assert "no-such-if0" in text
    with caplog.at_level(logging.WARNING, logger="omnimedia.core.discovery"):
        hub = await hub_factory(config_text=text)
    assert hub.state == "running"
    assert hub.discovery.zeroconf is None
    assert "no-such-if0" in hub.discovery.error
    assert any("mDNS discovery is off" in r.getMessage() for r in caplog.records)

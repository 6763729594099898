"""The hdhomerun plugin in a real hub with the DVR engine: a configured simulator becomes a DVR
tuner device (registry device, one entity per tuner, lineup, leases that stream), a device that
vanishes is removed with the reason and comes back, a host given as a URL works without UDP,
SSDP offers are read, the ``hdhomerun.discover`` service, and configuration errors."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from omnimedia.core.bootstrap import prepare
from omnimedia.core.discovery import DiscoveryInfo
from omnimedia.core.ssdp import matches
from omnimedia.plugins import hdhomerun as plugin

from .conftest import minimal_config, write_config
from .hdhomerun_sim import HDHomeRunSimulator
from .waiting import wait_until


@pytest.fixture
async def sim() -> AsyncIterator[HDHomeRunSimulator]:
    simulator = HDHomeRunSimulator(tuner_count=2, discovery_port=0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def silent_udp_port() -> Iterator[int]:
    """A UDP port where nothing answers: discovery sent there finds nothing, whatever else runs
    on this machine's real discovery port 65001."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def entry(**keys: Any) -> str:
    lines = ["plugins:", "  - platform: hdhomerun"]
    for key, value in keys.items():
        lines.append(f"    {key}: {value!r}")
    return "\n".join(lines) + "\n"


def status_of(hub: Any, device_id: str) -> dict[str, Any] | None:
    return next((d for d in hub.dvr.devices_status() if d["device_id"] == device_id), None)


async def test_configured_host_becomes_a_dvr_device(hub_factory: Any, sim: HDHomeRunSimulator) -> None:
    hub = await hub_factory(extra=entry(hosts=["127.0.0.1"], discover=False, discovery_port=sim.discovery_port,
                                        discovery_interval=0.3, timeout=2))
    assert hub.plugins.plugins["hdhomerun"].state == "running"
    await wait_until(lambda: "1053C0CA" in hub.dvr.tuners, "the simulator to become a DVR tuner")
    tuner = hub.dvr.tuners["1053C0CA"]
    assert tuner is plugin.tuners(hub)["1053C0CA"] and tuner.platform == "hdhomerun"

    device = hub.devices.get_by_key("hdhomerun", "1053C0CA")
    assert device is not None and device.manufacturer == "Silicondust" and device.model == "HDHR5-4US"
    assert device.sw_version == "20240417" and device.name == "HDHomeRun CONNECT QUATRO"
    entities = [e for e in hub.entities.all() if e.device_id == device.id and e.domain == "tuner"]
    assert len(entities) == 2

    channels = await wait_until(hub.dvr.lineup, "the lineup")
    assert {c["number"] for c in channels} == {"2.1", "2.2", "4.1", "9.1"}
    assert all(c["devices"] == ["1053C0CA"] for c in channels)

    lease = await hub.dvr.acquire("2.1", purpose="live", holder="test")
    stream = await lease.open_stream()
    got = 0
    async for chunk in stream:
        got += len(chunk)
        if got >= 188 * 100:
            break
    assert sim.active_streams == 1
    await lease.release()
    await wait_until(lambda: sim.active_streams == 0, "the device's tuner to be freed")

    # The device goes away: after two missed rounds the DVR is told, with the reason.
    sim.vanish()
    gone = await wait_until(lambda: (s := status_of(hub, "1053C0CA")) and not s["available"] and s,
                            "the device to be marked unavailable")
    assert "HDHomeRun CONNECT QUATRO did not answer 2 discovery rounds in a row" in gone["reason"]
    assert "cannot reach the device" in gone["reason"]
    # ... and it is added back when it answers again (same tuner object, same device).
    sim.reappear()
    await wait_until(lambda: (s := status_of(hub, "1053C0CA")) and s["available"], "the device to be back")
    assert hub.dvr.tuners["1053C0CA"] is tuner


async def test_host_given_as_url_needs_no_udp(hub_factory: Any, silent_udp_port: int) -> None:
    quiet = HDHomeRunSimulator(tuner_count=3, device_id="10439EFD", discovery_port=None, model="HDHR3-CC")
    await quiet.start()
    try:
        hub = await hub_factory(extra=entry(hosts=[quiet.base_url], discover=False, timeout=2,
                                            discovery_port=silent_udp_port))
        await wait_until(lambda: "10439EFD" in hub.dvr.tuners, "the URL host to be found over HTTP")
        tuner = hub.dvr.tuners["10439EFD"]
        assert tuner.tuner_count == 3 and tuner.name == "HDHomeRun PRIME" and tuner.base_url == quiet.base_url
        result = await hub.services.call("hdhomerun", "discover")
        assert result["devices"]["10439EFD"]["tuner_count"] == 3 and result["errors"] == {}
    finally:
        await quiet.stop()


async def test_unreachable_configured_host_is_reported(hub_factory: Any, unused_tcp_port: int,
                                                       silent_udp_port: int) -> None:
    hub = await hub_factory(extra=entry(hosts=[f"http://127.0.0.1:{unused_tcp_port}"], discover=False, timeout=1,
                                        discovery_port=silent_udp_port))
    result = await hub.services.call("hdhomerun", "discover")
    assert result["devices"] == {}
    [message] = result["errors"].values()
    assert f"HDHomeRun at http://127.0.0.1:{unused_tcp_port}: cannot reach the device for discover.json" in message
    assert hub.dvr.tuners == {}


async def test_legacy_device_is_a_device_whose_lineup_says_why(hub_factory: Any) -> None:
    legacy = HDHomeRunSimulator(legacy="invalid", model="HDHR3-US", device_id="10300A3B", discovery_port=0)
    await legacy.start()
    try:
        hub = await hub_factory(extra=entry(hosts=["127.0.0.1"], discover=False,
                                            discovery_port=legacy.discovery_port, timeout=2))
        await wait_until(lambda: "10300A3B" in hub.dvr.tuners, "the legacy device")
        status = await wait_until(lambda: (s := status_of(hub, "10300A3B")) and s["reason"] and s,
                                  "the lineup error to be reported")
        assert not status["available"]
        assert "HDHomeRun DUAL (10300A3B)" in status["reason"] and "legacy model" in status["reason"]
    finally:
        await legacy.stop()


async def test_ssdp_offer(hub_factory: Any, sim: HDHomeRunSimulator, caplog: pytest.LogCaptureFixture) -> None:
    """What the hub's SSDP discovery hands over for an HDHomeRun's MediaServer announcement
    (the matcher is checked with the core's own matching): the plugin reads discover.json from
    the announced host; an ssdp:byebye from a device that no longer answers removes it."""
    headers = {"st": plugin.MEDIA_SERVER, "location": f"{sim.base_url}/dms/device.xml", "server": "HDHomeRun/1.0"}
    for manufacturer in ("Silicondust", "SiliconDust"):
        assert matches(plugin.SSDP_MATCHER, headers, {"manufacturer": manufacturer}) is True
    assert matches(plugin.SSDP_MATCHER, headers, {"manufacturer": "Plex, Inc."}) is False
    assert matches(plugin.SSDP_MATCHER, headers, None) is None  # needs the description
    assert matches(plugin.SSDP_MATCHER, {"st": "urn:schemas-upnp-org:device:MediaRenderer:1"}) is False

    hub = await hub_factory()  # no entry: SSDP only (network discovery is off in tests)
    assert plugin.tuners(hub) == {}
    udn = "uuid:12345678-1234-1234-1234-1053c0ca0000"
    info = DiscoveryInfo(
        service_type=plugin.MEDIA_SERVER, name=f"{udn}::{plugin.MEDIA_SERVER}", host="127.0.0.1",
        addresses=("127.0.0.1",), port=sim.http_port,
        properties={"uuid": udn, "manufacturer": "Silicondust", "modelName": "HDHomeRun CONNECT QUATRO",
                    "friendlyName": "HDHomeRun CONNECT QUATRO 1053C0CA", "name": "HDHomeRun CONNECT QUATRO 1053C0CA"},
        source="ssdp", ssdp_location=headers["location"], ssdp_st=plugin.MEDIA_SERVER,
        ssdp_usn=f"{udn}::{plugin.MEDIA_SERVER}", ssdp_headers=headers,
    )
    await hub.discovery.handle_found(info, plugins=["hdhomerun"])
    await wait_until(lambda: "1053C0CA" in hub.dvr.tuners, "the SSDP-announced device to become a tuner")
    assert hub.dvr.tuners["1053C0CA"].base_url == sim.base_url

    sim.vanish()
    await hub.discovery.handle_removed(info.service_type, info.name, plugins=["hdhomerun"])
    await wait_until(lambda: (s := status_of(hub, "1053C0CA")) and not s["available"],
                     "the device that said byebye to be removed")
    # (the DVR may show a newer reason of its own: its lineup refresh failing too)
    assert any("HDHomeRun CONNECT QUATRO left the network (ssdp:byebye) and does not answer" in r.getMessage()
               for r in caplog.records)


async def test_without_an_entry_nothing_is_broadcast_when_discovery_is_off(hub_factory: Any) -> None:
    hub = await hub_factory()
    runtime = plugin._RUNTIMES[hub]
    assert runtime.entries[0]["discover"] is False and runtime._tasks == []


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    write_config(tmp_path, minimal_config(extra=entry(hosts=["ftp://tuner"], discovery_interval="soon")))
    _config, _plugins, errors = prepare(tmp_path)
    text = "\n".join(str(e) for e in errors)
    assert "plugins -> 0 -> hosts -> 0" in text and "'ftp://tuner' is not a host name" in text
    assert "discovery_interval" in text


async def test_a_device_that_moves_keeps_its_tuner(hub_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    """DHCP gave the device a new address: the next round finds the same DeviceID elsewhere and
    the same tuner follows it."""
    caplog.set_level(logging.INFO, logger="omnimedia.plugins.hdhomerun")
    first = HDHomeRunSimulator(discovery_port=0)
    await first.start()
    port = first.discovery_port
    hub = await hub_factory(extra=entry(hosts=["127.0.0.1"], discover=False, discovery_port=port,
                                        discovery_interval=0.3, timeout=2))
    await wait_until(lambda: "1053C0CA" in hub.dvr.tuners, "the device")
    tuner = hub.dvr.tuners["1053C0CA"]
    assert tuner.base_url == first.base_url
    await first.stop()
    moved = HDHomeRunSimulator(discovery_port=port)  # same UDP port, a new HTTP port
    await moved.start()
    try:
        assert moved.base_url != first.base_url
        await wait_until(lambda: tuner.base_url == moved.base_url, "the tuner to follow the device")
        assert hub.dvr.tuners["1053C0CA"] is tuner
        assert any(f"moved from {first.base_url} to {moved.base_url}" in r.getMessage() for r in caplog.records)
        stream = await tuner.open_stream("2.2", duration=1)
        assert len([c async for c in stream]) > 0
        await stream.close()
    finally:
        await moved.stop()

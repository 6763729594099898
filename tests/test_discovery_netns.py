"""Real mDNS between two network namespaces joined by a veth pair.

Namespace A plays the living room: a python-zeroconf responder advertises a Google Cast device
(``_googlecast._tcp``). Namespace B runs a real hub (its own process, config folder, SQLite,
entry-point plugins) with zeroconf on. The hub writes snapshots of its registries after every
event (see ``tests/netns.py``), which the test polls with a deadline.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omnimedia.core import __version__
from omnimedia.core.const import ZEROCONF_SERVICE_TYPE

from .conftest import write_config
from .netns import (
    ADDR_A,
    ADDR_A2,
    ADDR_B,
    Advertiser,
    NetnsPair,
    netns_unavailable_reason,
    read_snapshot,
    wait_for,
)

pytestmark = pytest.mark.netns

CAST_TYPE = "_googlecast._tcp.local."
#: mDNS announcements, probing and resolution take a few seconds; this is a ceiling, not a goal.
DEADLINE = 20.0


@pytest.fixture(scope="module")
def pair() -> Iterator[NetnsPair]:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    pair = NetnsPair().create()
    try:
        yield pair
    finally:
        pair.close()


class HubProcess:
    """A real hub in a namespace; ``snapshot()`` is its latest registry snapshot."""

    def __init__(self, pair: NetnsPair, ns: str, folder: Path, interfaces: list[str] | None = None) -> None:
        self.config_dir = folder / "config"
        lines = [
            "hub: {name: Test Hub, host: 0.0.0.0, port: 0, log_level: debug}",
            "libraries: []",
            "discovery:",
            "  zeroconf: true",
            "  advertise: true",
        ]
        if interfaces:
            lines.append(f"  interfaces: {json.dumps(interfaces)}")
        write_config(self.config_dir, "\n".join(lines) + "\n")
        self.snapshot_path = folder / "snapshot.json"
        self.log_path = folder / "hub.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            pair.script(ns, "hub", str(self.config_dir), str(self.snapshot_path)),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def snapshot(self) -> dict[str, Any] | None:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"hub exited with {self.proc.returncode}:\n{self.log_path.read_text()[-4000:]}"
            )
        return read_snapshot(self.snapshot_path)

    def wait(self, probe, what: str, timeout: float = DEADLINE) -> Any:
        def check() -> Any:
            snap = self.snapshot()
            return probe(snap) if snap else None

        try:
            return wait_for(check, timeout, what)
        except AssertionError as err:
            raise AssertionError(
                f"{err}\n--- hub log (tail) ---\n{self.log_path.read_text()[-4000:]}"
            ) from None

    def device(self, unique_id: str):
        def probe(snap: dict[str, Any]) -> dict[str, Any] | None:
            return next((d for d in snap["devices"] if d["unique_id"] == unique_id), None)

        return probe

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def hub_in_b(pair: NetnsPair, tmp_path: Path) -> Iterator[HubProcess]:
    # Bound by interface name (discovery.interfaces), as a user with several networks would.
    hub = HubProcess(pair, pair.b, tmp_path, interfaces=[pair.vb])
    try:
        hub.wait(lambda s: s["state"] == "running", "the hub to start")
        yield hub
    finally:
        code = hub.stop()
        assert code == 0, f"hub exited with {code}:\n{hub.log_path.read_text()[-4000:]}"


@pytest.fixture
def advertiser_in_a(pair: NetnsPair, tmp_path: Path) -> Iterator[Advertiser]:
    adv = Advertiser(pair, pair.a, tmp_path / "advertiser.log")
    try:
        yield adv
    finally:
        adv.close()


def cast_service(uuid: str, friendly: str, addresses: list[str], port: int = 8009) -> dict[str, Any]:
    """A Cast device's record as real devices publish it (TXT keys per pychromecast's reading)."""
    return {
        "type": CAST_TYPE,
        "name": f"Chromecast-{uuid}.{CAST_TYPE}",
        "port": port,
        "server": f"{uuid}.local.",
        "addresses": addresses,
        "properties": {"id": uuid, "fn": friendly, "md": "Chromecast", "ve": "05", "ca": "4101", "st": "0"},
    }


def test_cast_device_found_by_hub_in_other_namespace(
    pair: NetnsPair, hub_in_b: HubProcess, advertiser_in_a: Advertiser
) -> None:
    uuid = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    advertiser_in_a.send("register", **cast_service(uuid, "Living Room TV", [ADDR_A]))

    device = hub_in_b.wait(hub_in_b.device(uuid), "the Cast device in the registry")
    assert device["platform"] == "googlecast"
    assert device["name"] == "Living Room TV"
    assert device["status"] == "discovered"
    assert (device["manufacturer"], device["model"]) == ("Google", "Chromecast")
    conn = device["connection"]
    assert (conn["host"], conn["port"], conn["service_type"]) == (ADDR_A, 8009, CAST_TYPE)
    assert conn["addresses"] == [ADDR_A]
    assert conn["properties"]["id"] == uuid and conn["properties"]["fn"] == "Living Room TV"
    assert conn["server"] == f"{uuid}.local."

    state = hub_in_b.wait(lambda s: s["states"].get("media_player.living_room_tv"), "the media_player state")
    assert state["state"] == "idle"
    assert state["attributes"]["model"] == "Chromecast" and state["attributes"]["host"] == ADDR_A


def test_vanished_service_becomes_unavailable(
    pair: NetnsPair, hub_in_b: HubProcess, advertiser_in_a: Advertiser
) -> None:
    uuid = "11112222333344445555666677778888"
    advertiser_in_a.send("register", **cast_service(uuid, "Bedroom", [ADDR_A]))
    hub_in_b.wait(hub_in_b.device(uuid), "the Cast device in the registry")

    advertiser_in_a.send("unregister")  # sends the goodbye (TTL 0, RFC 6762 §10.1)
    device = hub_in_b.wait(
        lambda s: (d := hub_in_b.device(uuid)(s)) and d["status"] == "unavailable" and d, "status unavailable"
    )
    assert device["name"] == "Bedroom"
    state = hub_in_b.wait(lambda s: s["states"].get("media_player.bedroom"), "the entity state")
    assert state["state"] == "unavailable"

    # It comes back: same device, discovered again, idle again.
    advertiser_in_a.send("register", **cast_service(uuid, "Bedroom", [ADDR_A]))
    back = hub_in_b.wait(
        lambda s: (d := hub_in_b.device(uuid)(s)) and d["status"] == "discovered" and d, "status discovered"
    )
    assert back["id"] == device["id"]
    hub_in_b.wait(lambda s: s["states"]["media_player.bedroom"]["state"] == "idle", "state idle")


def test_address_change_updates_device(
    pair: NetnsPair, hub_in_b: HubProcess, advertiser_in_a: Advertiser
) -> None:
    uuid = "99990000aaaabbbbccccddddeeeeffff"
    advertiser_in_a.send("register", **cast_service(uuid, "Den", [ADDR_A]))
    first = hub_in_b.wait(hub_in_b.device(uuid), "the Cast device in the registry")
    assert first["connection"]["host"] == ADDR_A

    pair.add_address(pair.a, ADDR_A2)
    # A cache-flush record only flushes records received more than one second earlier
    # (RFC 6762 §10.2); a real device does not move within a second of appearing either.
    time.sleep(1.2)
    advertiser_in_a.send("update", **cast_service(uuid, "Den", [ADDR_A2], port=8010))
    moved = hub_in_b.wait(
        lambda s: (d := hub_in_b.device(uuid)(s)) and d["connection"]["addresses"] == [ADDR_A2] and d,
        "the new address (and only it) on the device",
    )
    assert moved["id"] == first["id"]
    assert (moved["connection"]["host"], moved["connection"]["port"]) == (ADDR_A2, 8010)
    assert moved["status"] == "discovered"
    state = hub_in_b.wait(
        lambda s: (st := s["states"].get("media_player.den")) and st["attributes"]["host"] == ADDR_A2 and st,
        "the entity's host attribute",
    )
    assert state["attributes"]["port"] == 8010
    assert len([d for d in hub_in_b.snapshot()["devices"] if d["platform"] == "googlecast"]) == 1


def test_hub_advertises_itself(pair: NetnsPair, hub_in_b: HubProcess) -> None:
    snap = hub_in_b.wait(lambda s: s["advertised"] and s, "the hub's advertisement")
    http_port = snap["http"][1]
    assert http_port > 0

    # Browse from the other namespace with the same discover_once that backs `omnimedia discover`.
    result = subprocess.run(
        pair.script(pair.a, "browse", "4", ZEROCONF_SERVICE_TYPE), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout)
    [hub] = [f for f in found if f["name"] == snap["advertised"]]
    assert hub["service_type"] == ZEROCONF_SERVICE_TYPE
    assert hub["name"] == f"Test Hub.{ZEROCONF_SERVICE_TYPE}"
    assert hub["port"] == http_port
    assert hub["host"] == ADDR_B
    assert hub["properties"] == {"version": __version__, "name": "Test Hub", "base_path": "/api"}

    # A clean stop says goodbye (RFC 6762 §10.1): a browser in A sees the hub, then sees it go.
    watch = subprocess.Popen(
        pair.script(pair.a, "watch", "8", ZEROCONF_SERVICE_TYPE),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    assert hub_in_b.stop() == 0
    out, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err[-3000:]
    changes = [(c["name"], c["change"]) for c in map(json.loads, out.splitlines())]
    assert changes == [(snap["advertised"], "Added"), (snap["advertised"], "Removed")]


def test_hub_runs_on_when_mdns_cannot_start(pair: NetnsPair, tmp_path: Path) -> None:
    """A namespace with no interface up: no multicast anywhere. The hub warns and serves on."""
    lone = f"{pair.a}-lone"
    subprocess.run(["ip", "netns", "add", lone], check=True)
    try:
        hub = HubProcess(pair, lone, tmp_path)
        try:
            snap = hub.wait(lambda s: s["state"] == "running" and s, "the hub to start")
            assert snap["discovery_error"] and "interfaces" in snap["discovery_error"]
            assert snap["advertised"] is None
            assert "mDNS discovery is off" in hub.log_path.read_text()
        finally:
            assert hub.stop() == 0
    finally:
        subprocess.run(["ip", "netns", "del", lone], check=False)

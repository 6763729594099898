"""Real broadcast discovery, as users rely on it: the HDHomeRun simulator listens on UDP port
65001 in one network namespace, our discovery broadcasts from another (the limited broadcast
255.255.255.255 and the network's directed broadcast), and a real hub in the root namespace finds
the device over a veth pair with nothing configured but ``discover: true``, then streams from it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .netns import ADDR_A, NetnsPair, netns_unavailable_reason
from .renderer_netns import RendererNamespace
from .waiting import wait_until

pytestmark = pytest.mark.netns

ROOT = Path(__file__).resolve().parents[1]
SIM_PORT = 5004
#: Not the simulator's default id, so a simulator other tests run on this machine's port 65001
#: (which the hub's 255.255.255.255 broadcast also reaches) cannot be taken for ours.
DEVICE_ID = "1F0AB129"


def _skip_without_netns() -> None:
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)


class SimProcess:
    """``python -m tests.hdhomerun_sim`` inside a namespace, on the real discovery port."""

    def __init__(self, command: list[str], log: Path, host: str) -> None:
        self.log_path = log
        self._log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*command, sys.executable, "-m", "tests.hdhomerun_sim", "--host", host, "--port", str(SIM_PORT),
             "--discovery-port", "65001", "--tuners", "2", "--device-id", DEVICE_ID],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        self.base_url = f"http://{host}:{SIM_PORT}"

    def wait_ready(self, timeout: float = 120) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("UDP discovery: port 65001"):
                return
        raise AssertionError(f"the simulator did not start:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


_DISCOVER = textwrap.dedent("""
    import asyncio, json, sys
    from omnimedia.plugins.hdhomerun.discovery import broadcast_addresses, discover_udp

    async def main():
        out = {"addresses": broadcast_addresses()}
        for target in ("255.255.255.255", sys.argv[1]):
            found = await discover_udp([(target, 65001)], timeout=1.0)
            out[target] = [[d.device_id, d.ip, d.tuner_count, d.base_url] for d in found]
        print(json.dumps(out))

    asyncio.run(main())
""")


@pytest.fixture
def pair() -> Iterator[NetnsPair]:
    _skip_without_netns()
    namespaces = NetnsPair("h").create()
    try:
        yield namespaces
    finally:
        namespaces.close()


def test_broadcast_between_namespaces(pair: NetnsPair, tmp_path: Path) -> None:
    """From namespace b, both kinds of broadcast reach the simulator in namespace a."""
    # 255.255.255.255 leaves by the default route's interface (as on a LAN with a router).
    subprocess.run(pair.command(pair.b, "ip", "route", "add", "default", "dev", pair.vb), check=True)
    sim = SimProcess(pair.command(pair.a), tmp_path / "sim.log", ADDR_A)
    try:
        sim.wait_ready()
        script = tmp_path / "discover.py"
        script.write_text(_DISCOVER)
        done = subprocess.run(pair.command(pair.b, sys.executable, str(script), "10.213.0.255"),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
    finally:
        sim.stop()
    assert "10.213.0.255" in result["addresses"]  # found from b's own interface
    expected = [[DEVICE_ID, ADDR_A, 2, f"http://{ADDR_A}:{SIM_PORT}"]]
    assert result["255.255.255.255"] == expected, sim.log()
    assert result["10.213.0.255"] == expected


def hub_config(ns: RendererNamespace) -> str:
    return textwrap.dedent(f"""
        hub:
          host: 127.0.0.1
          port: 0
          log_level: debug
        libraries: []
        discovery:
          zeroconf: false
          ssdp: false
          advertise: false
          interfaces: [{ns.hub_address}]
        plugins:
          - platform: hdhomerun
            discover: true
            discovery_interval: 1
            timeout: 5
    """)


async def test_hub_finds_the_device_by_broadcast(hub_factory: Any, tmp_path: Path) -> None:
    """The hub (root namespace) broadcasts on the interface it is told to use; the simulator in
    the namespace behind the veth answers; the device becomes a DVR tuner and streams."""
    _skip_without_netns()
    ns = RendererNamespace().create()
    sim = SimProcess(ns.exec(), tmp_path / "sim.log", ns.address)
    try:
        sim.wait_ready()
        hub = await hub_factory(config_text=hub_config(ns))
        await wait_until(lambda: DEVICE_ID in hub.dvr.tuners, "the broadcast to find the simulator", log=sim.log)
        tuner = hub.dvr.tuners[DEVICE_ID]
        assert tuner.base_url == sim.base_url and tuner.tuner_count == 2
        assert tuner.udp is not None and tuner.udp.ip == ns.address
        await wait_until(hub.dvr.lineup, "the lineup")
        lease = await hub.dvr.acquire("2.1", purpose="live", holder="netns test")
        try:
            stream = await lease.open_stream()
            got = 0
            async for chunk in stream:
                got += len(chunk)
                if got >= 188 * 100:
                    break
            assert got >= 188 * 100
        finally:
            await lease.release()
    finally:
        sim.stop()
        ns.close()

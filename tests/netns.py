"""Network namespaces for real mDNS tests, and the small programs that run inside them.

As a module (imported by tests): :func:`netns_unavailable_reason` and :class:`NetnsPair`, two
namespaces joined by a veth pair with private test addresses (10.213.0.1 and 10.213.0.2) and a
multicast route, so mDNS traffic stays between them. Needs root and ``ip`` (iproute2).

As a script (run inside a namespace with ``ip netns exec NS python netns.py MODE …``):

- ``advertise``: a python-zeroconf responder driven by JSON lines on stdin
  (``{"cmd": "register"|"update", "type", "name", "port", "properties", "addresses", "server"}``,
  ``{"cmd": "unregister"}``, ``{"cmd": "quit"}``); answers ``ok CMD`` on stdout when done.
- ``hub CONFIG_DIR SNAPSHOT``: a real hub on ``CONFIG_DIR``; after every event it writes a JSON
  snapshot (state, HTTP address, devices, entities, states, discovery error) to ``SNAPSHOT``
  atomically. Stops on SIGTERM.
- ``browse TIMEOUT TYPE…``: ``discover_once`` and print the result as one JSON list.
- ``watch TIMEOUT TYPE…``: print every browser change as a JSON line ``{"name", "change"}``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ADDR_A = "10.213.0.1"
ADDR_B = "10.213.0.2"
#: a second address for namespace A, to test an address change
ADDR_A2 = "10.213.0.11"
PREFIX = 24


def netns_unavailable_reason() -> str | None:
    """Why namespaces cannot be used here (``None`` when they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 'ip' is not installed"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"'ip netns' does not work here: {probe.stderr.strip()}"
    return None


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")


class NetnsPair:
    """Namespaces ``a`` and ``b`` (names unique to this process) joined by a veth pair.

    ``a`` has :data:`ADDR_A` on ``va``, ``b`` has :data:`ADDR_B` on ``vb``; both have loopback up
    and ``224.0.0.0/4`` routed to the veth so multicast (mDNS) goes to the peer. Call
    :meth:`close` to delete everything (deleting a namespace deletes its veth end).
    """

    def __init__(self, tag: str = "") -> None:
        suffix = f"{os.getpid()}{tag}"
        self.a = f"omm-a{suffix}"
        self.b = f"omm-b{suffix}"
        # Interface names live in the root namespace until moved: unique, at most 15 characters.
        self.va = f"oa{suffix}"[:15]
        self.vb = f"ob{suffix}"[:15]
        self._created: list[str] = []

    def create(self) -> NetnsPair:
        try:
            for ns in (self.a, self.b):
                _ip("netns", "add", ns)
                self._created.append(ns)
            _ip("link", "add", self.va, "type", "veth", "peer", "name", self.vb)
            for ns, dev, addr in ((self.a, self.va, ADDR_A), (self.b, self.vb, ADDR_B)):
                _ip("link", "set", dev, "netns", ns)
                _ip("-n", ns, "addr", "add", f"{addr}/{PREFIX}", "dev", dev)
                _ip("-n", ns, "link", "set", dev, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
                _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)
        except Exception:
            self.close()
            raise
        return self

    def close(self) -> None:
        for ns in reversed(self._created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self._created.clear()
        # The veth normally dies with its namespace; remove it if creation stopped half-way.
        subprocess.run(["ip", "link", "del", self.va], capture_output=True)

    def dev(self, ns: str) -> str:
        return self.va if ns == self.a else self.vb

    def add_address(self, ns: str, addr: str) -> None:
        _ip("-n", ns, "addr", "add", f"{addr}/{PREFIX}", "dev", self.dev(ns))

    def command(self, ns: str, *args: str) -> list[str]:
        """``args`` run inside ``ns``."""
        return ["ip", "netns", "exec", ns, *args]

    def script(self, ns: str, *args: str) -> list[str]:
        """This file run as a script inside ``ns`` with the test's Python."""
        return self.command(ns, sys.executable, str(Path(__file__).resolve()), *args)


class Advertiser:
    """Drives an ``advertise`` subprocess (a real mDNS responder in a namespace)."""

    def __init__(self, pair: NetnsPair, ns: str, log: Path) -> None:
        self._log = open(log, "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            pair.script(ns, "advertise"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def send(self, cmd: str, timeout: float = 20.0, **fields: Any) -> None:
        """Send one command and wait for its ``ok``. Raises ``RuntimeError`` on failure."""
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        if line != f"ok {cmd}":
            raise RuntimeError(f"advertiser answered {line!r} to {cmd}")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
            except (RuntimeError, OSError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def wait_for(probe: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Call ``probe`` until it returns something truthy; raise ``AssertionError`` naming
    ``what`` (and the last value seen) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last: {last!r}")


def read_snapshot(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


# -- programs run inside a namespace ---------------------------------------------------------------
async def _advertise_main() -> None:
    import asyncio
    import socket

    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

    aiozc = AsyncZeroconf()
    loop = asyncio.get_running_loop()
    info: AsyncServiceInfo | None = None

    def build(msg: dict[str, Any]) -> AsyncServiceInfo:
        return AsyncServiceInfo(
            msg["type"],
            msg["name"],
            port=msg["port"],
            properties=msg.get("properties", {}),
            server=msg.get("server"),
            addresses=[socket.inet_aton(a) for a in msg["addresses"]],
        )

    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            msg = json.loads(line)
            cmd = msg["cmd"]
            if cmd == "register":
                info = build(msg)
                await (await aiozc.async_register_service(info))
            elif cmd == "update":
                info = build(msg)
                await (await aiozc.async_update_service(info))
            elif cmd == "unregister" and info is not None:
                await (await aiozc.async_unregister_service(info))
                info = None
            print(f"ok {cmd}", flush=True)
            if cmd == "quit":
                break
    finally:
        await aiozc.async_close()


async def _hub_main(config_dir: str, snapshot: str) -> None:
    import asyncio

    from omnimedia.core.bootstrap import prepare
    from omnimedia.core.const import MATCH_ALL
    from omnimedia.core.hub import Hub
    from omnimedia.core.storage import write_json_atomic

    config, plugins, errors = prepare(Path(config_dir))
    if errors or config is None:
        raise SystemExit("config errors: " + "; ".join(map(str, errors)))
    hub = Hub(config, plugins)
    loop = asyncio.get_running_loop()
    pending = False

    def write() -> None:
        nonlocal pending
        pending = False
        discovery = hub.discovery
        write_json_atomic(
            Path(snapshot),
            {
                "state": hub.state,
                "http": list(hub.http.bound_address()),
                "discovery_error": getattr(discovery, "error", None),
                "advertised": getattr(getattr(discovery, "advertised", None), "name", None),
                "devices": [d.as_dict() for d in hub.devices.all()],
                "entities": [e.as_dict() for e in hub.entities.all()],
                "states": {
                    s.entity_id: {"state": s.state, "attributes": dict(s.attributes)}
                    for s in hub.states.all()
                },
            },
        )

    def on_event(event: Any) -> None:
        nonlocal pending
        if not pending:
            pending = True
            loop.call_later(0.05, write)

    hub.bus.listen(MATCH_ALL, on_event)

    # The advertisement finishes after hub_started (probing takes ~1 s): snapshot periodically too.
    async def tick() -> None:
        while True:
            await asyncio.sleep(0.5)
            on_event(None)

    ticker = loop.create_task(tick())
    try:
        await hub.run_until_stopped()
    finally:
        ticker.cancel()


async def _browse_main(timeout: str, *types: str) -> None:
    from omnimedia.core.discovery import discover_once

    infos = await discover_once(list(types), timeout=float(timeout))
    print(json.dumps([i.as_dict() for i in infos]))


async def _watch_main(timeout: str, *types: str) -> None:
    import asyncio

    from zeroconf import ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

    aiozc = AsyncZeroconf()

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        print(json.dumps({"name": name, "change": state_change.name}), flush=True)

    browser = AsyncServiceBrowser(aiozc.zeroconf, list(types), handlers=[on_change])
    await asyncio.sleep(float(timeout))
    await browser.async_cancel()
    await aiozc.async_close()


def main(argv: list[str]) -> None:
    import asyncio
    import logging

    logging.basicConfig(
        level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("zeroconf").setLevel(logging.INFO)
    mode, args = argv[0], argv[1:]
    entry = {"advertise": _advertise_main, "hub": _hub_main, "browse": _browse_main, "watch": _watch_main}[
        mode
    ]
    asyncio.run(entry(*args))


if __name__ == "__main__":
    main(sys.argv[1:])

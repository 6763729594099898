"""A real DLNA renderer (``gmediarender``) in its own network namespace, for casting tests.

:class:`RendererNamespace` joins one namespace to the root namespace (where the test's hub runs)
with a veth pair on a private /24 (``10.214.N.1`` on the hub's side, ``10.214.N.2`` inside), and
routes ``224.0.0.0/4`` out of the veth inside the namespace, so the renderer's SSDP
announcements and the hub's M-SEARCH (sent with ``IP_MULTICAST_IF`` on the veth address) cross
the pair. Nothing is routed in the root namespace beyond the veth's own subnet.

:class:`Gmediarender` starts ``gmediarender`` inside it the way DESIGN.md says it works here:
``-u <uuid>``, ``--gstout-videopipe "fakesink sync=true"`` (and the same for audio: the machine
has no sound card), ``-I <veth>`` and a fixed ``-p`` port per process (libupnp does not use
SO_REUSEADDR, so a restarted renderer gets a fresh port).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import time
import uuid as uuidlib
from pathlib import Path

from .netns import netns_unavailable_reason

__all__ = ["Gmediarender", "RendererNamespace", "renderer_unavailable_reason"]

_PORTS = itertools.count(49600 + (os.getpid() % 200) * 10)
_SUBNETS = itertools.count((os.getpid() % 150) + 50)


def renderer_unavailable_reason() -> str | None:
    """Why these tests cannot run here (``None`` when they can)."""
    reason = netns_unavailable_reason()
    if reason:
        return reason
    if shutil.which("gmediarender") is None:
        return "gmediarender is not installed"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


class RendererNamespace:
    """A namespace for renderers, joined to the root namespace by a veth pair.

    ``hub_address`` (root side) and ``address`` (inside) are on ``10.214.N.0/24``; ``host_dev``
    is the root side's interface, ``dev`` the namespace's."""

    def __init__(self) -> None:
        n = next(_SUBNETS)
        suffix = f"{os.getpid()}{n}"
        self.name = f"omm-r{suffix}"
        self.host_dev = f"orh{suffix}"[:15]
        self.dev = f"orr{suffix}"[:15]
        self.hub_address = f"10.214.{n}.1"
        self.address = f"10.214.{n}.2"
        self._created = False

    def create(self) -> RendererNamespace:
        try:
            _ip("netns", "add", self.name)
            self._created = True
            _ip("link", "add", self.host_dev, "type", "veth", "peer", "name", self.dev)
            _ip("link", "set", self.dev, "netns", self.name)
            _ip("addr", "add", f"{self.hub_address}/24", "dev", self.host_dev)
            _ip("link", "set", self.host_dev, "up")
            _ip("-n", self.name, "addr", "add", f"{self.address}/24", "dev", self.dev)
            _ip("-n", self.name, "link", "set", self.dev, "up")
            _ip("-n", self.name, "link", "set", "lo", "up")
            _ip("-n", self.name, "route", "add", "224.0.0.0/4", "dev", self.dev)
        except Exception:
            self.close()
            raise
        return self

    def set_link(self, up: bool) -> None:
        """Take the renderer's end of the pair down (it drops off the network: the hub's packets
        to it vanish, as with a TV switched off at the wall) or bring it back."""
        _ip("-n", self.name, "link", "set", self.dev, "up" if up else "down")
        if up:
            # Taking a link down drops the routes through it; put the multicast route back.
            _ip("-n", self.name, "route", "replace", "224.0.0.0/4", "dev", self.dev)

    def close(self) -> None:
        if self._created:
            _ip("netns", "del", self.name, check=False)
            self._created = False
        _ip("link", "del", self.host_dev, check=False)

    def exec(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]


class Gmediarender:
    """One ``gmediarender`` process in ``ns``; ``udn`` is ``uuid:<uuid>``."""

    def __init__(self, ns: RendererNamespace, log: Path, name: str = "Test Renderer", uuid: str | None = None) -> None:
        self.ns = ns
        self.uuid = uuid or str(uuidlib.uuid4())
        self.udn = f"uuid:{self.uuid}"
        self.name = name
        self.port = next(_PORTS)
        self.log_path = log
        self._log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ns.exec(
                "gmediarender", "-I", ns.dev, "-p", str(self.port), "-u", self.uuid, "-f", name,
                "--gstout-videopipe", "fakesink sync=true", "--gstout-audiopipe", "fakesink sync=true",
                "--logfile", "stdout",
            ),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def location(self) -> str:
        return f"http://{self.ns.address}:{self.port}/description.xml"

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: gone without a goodbye."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def wait_ready(self, timeout: float = 15.0) -> bool:
        """Wait until it logs "Ready for rendering" (it installs its SIGTERM handler, which sends
        ``ssdp:byebye``, only then; earlier SIGTERM kills it silently). Returns whether it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running():
            if "Ready for rendering" in self.log():
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """SIGTERM once ready: libupnp sends ``ssdp:byebye`` on the way out."""
        if self.running():
            self.wait_ready()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def hub_config(ns: RendererNamespace, media_dirs: list[Path] = (), extra: str = "") -> str:
    """A hub configuration for casting tests: HTTP on every address (``0.0.0.0``, so the media
    URL must be made from the route to the renderer), discovery (SSDP only, mDNS off)
    bound to the veth address only."""
    libs = "".join(f"  - path: {str(d)!r}\n    type: mixed\n" for d in media_dirs) or "  []\n"
    return (
        "hub:\n  host: 0.0.0.0\n  port: 0\n  log_level: debug\n"
        f"libraries:\n{libs}"
        f"discovery:\n  zeroconf: false\n  ssdp: true\n  advertise: false\n  interfaces: [{ns.hub_address!r}]\n"
        f"{extra}"
    )

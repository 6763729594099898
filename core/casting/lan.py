"""The hub's address as a device on the LAN sees it, for media URLs handed to renderers.

A renderer fetches the media itself, so the URL it is given must name an address of the hub that
the renderer can reach: never ``localhost`` / ``127.x`` (that is the renderer's own loopback) and
never the wildcard ``0.0.0.0`` the hub may listen on. The kernel already knows which local address
routes to the device: a UDP socket :func:`socket.socket.connect` to the device's address sends no
packet but selects the route and the source address, which :func:`socket.socket.getsockname`
returns (the technique in RFC 6724 §6's spirit: the source address the system would choose).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from .types import CastError

__all__ = ["base_url_for", "lan_address_for", "local_addresses"]

#: Any port works for ``connect()`` on a UDP socket (nothing is sent); 9 is "discard".
_PROBE_PORT = 9
_WILDCARDS = ("", "0.0.0.0", "::", "*")


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return address == "localhost"


def local_addresses() -> list[str]:
    """Every non-loopback IPv4 address of this machine (via ifaddr), in interface order."""
    import ifaddr  # a dependency of python-zeroconf

    out: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not _is_loopback(ip.ip) and ip.ip not in out:
                out.append(ip.ip)
    return out


def _route_source(host: str) -> str:
    """The local address the kernel would send from to reach ``host``. Raises ``OSError``
    (no route, bad address)."""
    infos = socket.getaddrinfo(host, _PROBE_PORT, type=socket.SOCK_DGRAM)
    family, _, _, _, sockaddr = infos[0]
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect(sockaddr)
        return str(sock.getsockname()[0])


def lan_address_for(device_host: str, bind_host: str | None = None) -> str:
    """The hub's address that ``device_host`` (an IP address or name) can reach it at.

    - ``bind_host``: the address the hub's HTTP server listens on. A concrete address is the only
      one that works and is returned as it is; a wildcard (``0.0.0.0``, ``::``, empty) lets the
      route decide.
    - For a device on this machine (a loopback ``device_host``) the first non-loopback address of
      the machine is used, since every local address reaches it.

    Raises :class:`CastError` when the hub only listens on loopback, when no route leads to the
    device, or when the machine has no non-loopback address.
    """
    if bind_host and bind_host not in _WILDCARDS:
        if _is_loopback(bind_host):
            raise CastError(
                f"the hub listens on {bind_host} only, which a device on the network cannot reach; "
                "set hub.host to 0.0.0.0 or a LAN address"
            )
        return bind_host
    if _is_loopback(device_host):
        candidates = local_addresses()
        if not candidates:
            raise CastError("this machine has no network address other than loopback")
        return candidates[0]
    try:
        address = _route_source(device_host)
    except OSError as err:
        raise CastError(f"no network route from the hub to {device_host}: {err.strerror or err}") from err
    if _is_loopback(address) or address in _WILDCARDS:
        # Happens when device_host is one of the hub's own addresses: the kernel answers via lo.
        candidates = local_addresses()
        address = device_host if device_host in candidates else (candidates or [""])[0]
        if not address:
            raise CastError("this machine has no network address other than loopback")
    return address


def base_url_for(hub: Any, device_host: str) -> str:
    """``http://<address>:<port>`` of the hub as ``device_host`` reaches it (no trailing slash).

    A configured external base URL (``hub.external_url``, for a hub behind a reverse proxy or
    port mapping) wins when present. Raises :class:`CastError` (see :func:`lan_address_for`) and
    when the HTTP server is not listening."""
    external = (hub.config.hub or {}).get("external_url")
    if external:
        return str(external).rstrip("/")
    bind_host, port = hub.http.bound_address()
    if not port:
        raise CastError("the hub's HTTP server is not listening, so no device can fetch media from it")
    address = lan_address_for(device_host, bind_host)
    if ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{port}"

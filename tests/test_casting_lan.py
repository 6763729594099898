"""The hub's LAN address for media URLs: the address the kernel routes from towards the device,
never loopback, never the wildcard the server may listen on. ``ip route get`` is the oracle."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from urllib.parse import urlsplit

import pytest

from omnimedia.core.casting.lan import base_url_for, lan_address_for, local_addresses
from omnimedia.core.casting.types import CastError

from .conftest import minimal_config

#: Documentation addresses (RFC 5737 / RFC 3849): routed by the default route, never answered.
FAR_V4 = "203.0.113.9"
FAR_V6 = "2001:db8::1"


def route_source(address: str) -> str | None:
    """``prefsrc`` of ``ip route get address``, or ``None`` when there is no route."""
    family = "-6" if ":" in address else "-4"
    result = subprocess.run(["ip", "-j", family, "route", "get", address], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    routes = json.loads(result.stdout or "[]")
    return routes[0].get("prefsrc") if routes else None


def test_route_source_is_what_the_kernel_would_use() -> None:
    expected = route_source(FAR_V4)
    if expected is None:
        pytest.skip("no IPv4 route to the outside on this machine")
    assert lan_address_for(FAR_V4) == expected
    assert lan_address_for(FAR_V4, "0.0.0.0") == expected
    assert not ipaddress.ip_address(expected).is_loopback


def test_ipv6_device() -> None:
    expected = route_source(FAR_V6)
    if expected is None:
        with pytest.raises(CastError, match="no network route"):
            lan_address_for(FAR_V6)
    else:
        assert lan_address_for(FAR_V6, "::") == expected


def test_never_loopback_for_a_device_on_this_machine() -> None:
    addresses = local_addresses()
    if not addresses:
        with pytest.raises(CastError, match="no network address other than loopback"):
            lan_address_for("127.0.0.1")
        return
    assert all(not ipaddress.ip_address(a).is_loopback for a in addresses)
    # A device at 127.0.0.1 (a renderer on the hub's machine) still gets a LAN address …
    assert lan_address_for("127.0.0.1") == addresses[0]
    # … and so does a device at one of the hub's own addresses (the kernel would answer via lo).
    assert lan_address_for(addresses[-1]) == addresses[-1]


def test_a_concrete_bind_address_wins() -> None:
    assert lan_address_for(FAR_V4, "10.1.2.3") == "10.1.2.3"


def test_a_hub_on_loopback_only_is_a_clear_error() -> None:
    with pytest.raises(CastError, match="hub.host"):
        lan_address_for(FAR_V4, "127.0.0.1")
    with pytest.raises(CastError, match="hub.host"):
        lan_address_for(FAR_V4, "::1")


async def test_base_url_of_a_real_hub(hub_factory) -> None:
    if route_source(FAR_V4) is None:
        pytest.skip("no IPv4 route to the outside on this machine")
    hub = await hub_factory(config_text=minimal_config().replace("host: 127.0.0.1", "host: 0.0.0.0"))
    _, port = hub.http.bound_address()
    url = urlsplit(base_url_for(hub, FAR_V4))
    assert (url.scheme, url.hostname, url.port) == ("http", route_source(FAR_V4), port)
    # A proxy or port mapping in front of the hub: its external base URL is used as given.
    hub.config.hub["external_url"] = "https://media.example.org/"
    assert base_url_for(hub, FAR_V4) == "https://media.example.org"


async def test_base_url_of_a_loopback_hub_is_refused(hub_factory) -> None:
    hub = await hub_factory()  # minimal_config listens on 127.0.0.1 only
    with pytest.raises(CastError, match="127.0.0.1"):
        base_url_for(hub, FAR_V4)


async def test_base_url_without_http_server(hub_factory) -> None:
    hub = await hub_factory(serve_http=False)
    with pytest.raises(CastError, match="not listening"):
        base_url_for(hub, FAR_V4)

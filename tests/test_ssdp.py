"""SSDP matching and wiring, without a network: the matchers plugins declare, applied to headers
captured from a real gmediarender (search answer and NOTIFY), and when the hub listens at all.
The real exchange across a veth pair is in ``test_ssdp_netns.py``."""

from __future__ import annotations

from omnimedia.core.discovery import DiscoveryInfo
from omnimedia.core.ssdp import matches, ssdp_matchers

MEDIA_RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"
UDN = "uuid:2b3c4d5e-0000-4000-8000-000000000001"

#: gmediarender 0.1 (libupnp 1.8.4) answering ``M-SEARCH ssdp:all``: the MediaRenderer answer.
SEARCH_ANSWER = {
    "CACHE-CONTROL": "max-age=100",
    "DATE": "Sat, 21 Nov 2026 08:20:44 GMT",
    "EXT": "",
    "LOCATION": "http://10.214.9.2:49494/description.xml",
    "OPT": '"http://schemas.upnp.org/upnp/1/0/"; ns=01',
    "01-NLS": "70106b2a-e584-11f1-92a8-8c57a9842818",
    "SERVER": "Linux/6.18.44-fc-v595, UPnP/1.0, Portable SDK for UPnP devices/1.8.4",
    "X-User-Agent": "redsonic",
    "ST": MEDIA_RENDERER,
    "USN": f"{UDN}::{MEDIA_RENDERER}",
}
#: The same device's ``ssdp:alive`` for its AVTransport service.
NOTIFY_SERVICE = {
    "HOST": "239.255.255.250:1900",
    "CACHE-CONTROL": "max-age=100",
    "LOCATION": "http://10.214.9.2:49494/description.xml",
    "NT": "urn:schemas-upnp-org:service:AVTransport:1",
    "NTS": "ssdp:alive",
    "SERVER": "Linux/6.18.44-fc-v595, UPnP/1.0, Portable SDK for UPnP devices/1.8.4",
    "USN": f"{UDN}::urn:schemas-upnp-org:service:AVTransport:1",
}
NOTIFY_DEVICE = {**NOTIFY_SERVICE, "NT": MEDIA_RENDERER, "USN": f"{UDN}::{MEDIA_RENDERER}"}
#: Fields of its device description (``--dump-devicedesc``).
DESCRIPTION = {
    "deviceType": MEDIA_RENDERER,
    "friendlyName": "gmediarender",
    "manufacturer": "Ivo Clarysse, Henner Zeller",
    "modelName": "gmediarender",
    "modelNumber": "0.1",
    "UDN": UDN,
}


def test_st_matcher_against_search_answers_and_notify() -> None:
    matcher = {"st": MEDIA_RENDERER}
    assert matches(matcher, SEARCH_ANSWER) is True
    assert matches(matcher, NOTIFY_DEVICE) is True  # a NOTIFY carries the type in NT
    assert matches(matcher, NOTIFY_SERVICE) is False
    assert matches({"st": "urn:schemas-upnp-org:device:MediaServer:1"}, SEARCH_ANSWER) is False
    # Header names are case-insensitive; values are exact …
    assert matches({"ST": MEDIA_RENDERER}, {k.lower(): v for k, v in SEARCH_ANSWER.items()}) is True
    assert matches({"st": MEDIA_RENDERER.lower()}, SEARCH_ANSWER) is False
    # … or shell patterns.
    assert matches({"st": "urn:schemas-upnp-org:device:MediaRenderer:*"}, SEARCH_ANSWER) is True
    assert matches({"server": "*Portable SDK for UPnP devices*"}, SEARCH_ANSWER) is True


def test_description_keys_need_the_description() -> None:
    matcher = {"st": MEDIA_RENDERER, "manufacturer": "Ivo Clarysse*"}
    assert matches(matcher, SEARCH_ANSWER) is None  # cannot tell yet: fetch the description
    assert matches(matcher, SEARCH_ANSWER, DESCRIPTION) is True
    assert matches({**matcher, "modelName": "Bravia"}, SEARCH_ANSWER, DESCRIPTION) is False
    # A header mismatch is decided without the description.
    assert matches({"st": "urn:x:device:Other:1", "manufacturer": "x"}, SEARCH_ANSWER) is False
    assert matches({"deviceType": MEDIA_RENDERER}, NOTIFY_SERVICE, DESCRIPTION) is True


async def test_plugins_declare_matchers_and_ssdp_can_be_switched_off(hub_factory) -> None:
    hub = await hub_factory()  # minimal_config: discovery -> ssdp: false
    assert ssdp_matchers(hub.plugins)["dlna"] == [{"st": MEDIA_RENDERER}]
    assert hub.discovery.ssdp is None


def test_discovery_info_ssdp_fields_are_optional() -> None:
    mdns = DiscoveryInfo("_googlecast._tcp.local.", "TV._googlecast._tcp.local.", "192.168.1.9", port=8009)
    data = mdns.as_dict()
    assert data["source"] == "zeroconf" and data["ssdp_location"] is None and data["ssdp_headers"] == {}
    assert "ssdp_location" not in mdns.connection()

    ssdp = DiscoveryInfo(
        MEDIA_RENDERER, f"{UDN}::{MEDIA_RENDERER}", "10.214.9.2", ("10.214.9.2",), 49494,
        {"uuid": UDN, "name": "Bedroom TV", "friendlyName": "Bedroom TV"}, source="ssdp",
        ssdp_location=SEARCH_ANSWER["LOCATION"], ssdp_st=MEDIA_RENDERER, ssdp_usn=f"{UDN}::{MEDIA_RENDERER}",
        ssdp_headers={"location": SEARCH_ANSWER["LOCATION"]},
    )
    assert ssdp.unique_id == UDN and ssdp.friendly_name == "Bedroom TV"
    assert ssdp.connection()["ssdp_location"] == SEARCH_ANSWER["LOCATION"]

"""The HDHomeRun HTTP client (plugins/hdhomerun/client.py) against HTTP servers that answer as
devices do: the real captures in ``../shared/fixtures/tv/hdhomerun/`` served byte for byte, and
the quirks seen in the field (0/1 and true/false flags, ``Tags``, missing codecs, radio services,
DRM channels, unknown fields, legacy models, a 404 on discover.json, broken JSON), plus streams
(busy, unknown channel, errors, resets, duration, chunk sizes, closing frees the tuner)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from omnimedia.core.dvr.types import TunerBusy, TunerUnavailable, UnknownChannel
from omnimedia.plugins.hdhomerun.client import (
    MAX_CHUNK,
    BadResponse,
    DeviceInfo,
    HDHomeRunClient,
    LegacyDevice,
    flag,
    normalise_base_url,
    parse_lineup,
    supports_transcode,
)
from omnimedia.plugins.hdhomerun.protocol import DiscoveredDevice

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tv" / "hdhomerun"


def fixture_bytes(name: str) -> bytes:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip(f"real HDHomeRun capture {path} not found (the clone has no ../shared/fixtures)")
    return path.read_bytes()


class Device:
    """An aiohttp app answering like an HDHomeRun: each resource is raw bytes (served as-is),
    an int (that HTTP status), or a callable handler. Streams: ``streams[number]`` is a handler.
    ``open_streams`` counts streams whose connection is still open."""

    def __init__(self) -> None:
        self.resources: dict[str, Any] = {}
        self.streams: dict[str, Any] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.open_streams = 0
        self.closed_streams = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{name:[a-z_]+\\.(?:json|post)}", self._resource)
        app.router.add_get("/{tuner:auto|tuner\\d+}/v{number}", self._stream)
        return app

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append((request.method, name, dict(request.query)))
        value = self.resources.get(name, 404)
        if callable(value):
            return await value(request)
        if isinstance(value, int):
            return web.Response(status=value, text="Not Found" if value == 404 else "error")
        if isinstance(value, (dict, list)):
            value = json.dumps(value).encode()
        return web.Response(body=value, content_type="application/json")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        number = request.match_info["number"]
        self.requests.append(("GET", f"{request.match_info['tuner']}/v{number}", dict(request.query)))
        handler = self.streams.get(number)
        if handler is None:
            return web.Response(status=404, text="Not Found", headers={"X-HDHomeRun-Error": "801 Unknown Channel"})
        self.open_streams += 1
        try:
            return await handler(request)
        finally:
            self.open_streams -= 1
            self.closed_streams += 1


def ts_bytes(n: int) -> bytes:
    packet = b"\x47" + bytes(187)
    return (packet * (n // 188 + 1))[:n]


def endless(chunk: int = 188 * 64, delay: float = 0.01) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        while True:
            await resp.write(ts_bytes(chunk))
            await asyncio.sleep(delay)
    return handler


def finite(total: int, *, chunk: int = 188 * 64, chunked: bool = True) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
        if chunked:
            resp.enable_chunked_encoding()
        await resp.prepare(request)
        sent = 0
        while sent < total:
            piece = min(chunk, total - sent)
            await resp.write(ts_bytes(piece))
            sent += piece
        await resp.write_eof()
        return resp
    return handler


def reset_after(total: int) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(ts_bytes(total))
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.abort()
        return resp
    return handler


def busy(error: str = "805 All Tuners In Use") -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, text="Service Unavailable", headers={"X-HDHomeRun-Error": error})
    return handler


@pytest.fixture
async def device(aiohttp_server: Any) -> Any:
    dev = Device()
    server = await aiohttp_server(dev.app())
    dev.base_url = str(server.make_url("")).rstrip("/")
    return dev


@pytest.fixture
async def client_for() -> Any:
    clients: list[HDHomeRunClient] = []

    def make(base_url: str, **kwargs: Any) -> HDHomeRunClient:
        client = HDHomeRunClient(base_url, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def discover_json(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"FriendlyName": "HDHomeRun CONNECT QUATRO", "ModelNumber": "HDHR5-4US", "FirmwareName": "hdhomerun5_atsc",
            "FirmwareVersion": "20240417", "DeviceID": "1053C0CA", "DeviceAuth": "abc", "TunerCount": 4,
            "BaseURL": base_url, "LineupURL": f"{base_url}/lineup.json", **extra}


# -- the real captures ---------------------------------------------------------------------------------
async def test_prime_capture(device: Any, client_for: Any) -> None:
    device.resources["discover.json"] = fixture_bytes("prime_discover.json")
    device.resources["lineup.json"] = fixture_bytes("prime_lineup.json")
    client = client_for(device.base_url)
    info = await client.discover()
    assert (info.device_id, info.friendly_name, info.model, info.tuner_count) == ("FFFFFFFF", "HDHomeRun PRIME",
                                                                                  "HDHR3-CC", 3)
    assert info.firmware_name == "hdhomerun3_cablecard" and info.firmware_version == "20160630atest2"
    assert info.conditional_access and not info.legacy and not info.transcode
    assert info.device_auth == "FFFFFFFF"
    # The capture's addresses are its LAN's; the lineup is read where we reach the device.
    assert info.reported_base_url == "http://192.168.1.182:80"
    assert info.lineup_url == f"{device.base_url}/lineup.json"
    assert client.label == f"HDHomeRun PRIME (FFFFFFFF) at {device.base_url}"

    channels = await client.lineup()
    assert device.requests[-1] == ("GET", "lineup.json", {"show": "found"})
    assert [c.number for c in channels] == ["4.1", "4.2", "4.3", "6.1", "6.2", "6.3"]
    assert [c.name for c in channels] == ["WCMH-DT", "MeTV", "ION TV", "WSYX DT", "MYTV", "ANTENNA"]
    first = channels[0]
    assert first.hd and first.favorite and not first.drm and not first.radio
    assert first.video_codec is None and first.audio_codec is None  # this firmware sends no codecs
    assert first.url == "http://192.168.1.111:5004/auto/v4.1"
    assert [c.hd for c in channels] == [True, False, False, True, False, False]
    assert not any(c.favorite for c in channels[1:])
    # Streams go where the lineup says: that capture's tuner streams on port 5004.
    assert client.stream_url("4.1") == "http://192.168.1.111:5004/auto/v4.1"


async def test_legacy_capture(device: Any, client_for: Any) -> None:
    device.resources["discover.json"] = fixture_bytes("legacy_discover.json")
    device.resources["lineup.json"] = fixture_bytes("legacy_lineup_invalid.json")
    client = client_for(device.base_url)
    info = await client.discover()
    assert info.legacy and info.model == "HDHR3-US" and info.tuner_count == 2
    assert info.friendly_name == "HDHomeRun DUAL" and info.device_id == "10XXXXX5"
    assert info.lineup_url == f"{device.base_url}/lineup.json"  # no LineupURL on legacy models
    with pytest.raises(BadResponse) as caught:
        await client.lineup()
    message = str(caught.value)
    assert message.startswith(f"HDHomeRun DUAL (10XXXXX5) at {device.base_url}: lineup.json is not a list")
    assert "an empty object ({})" in message and "legacy model" in message
    assert isinstance(caught.value, TunerUnavailable)


# -- quirks ----------------------------------------------------------------------------------------------
def test_flags() -> None:
    for yes in (1, True, "1", "true", "TRUE", "yes", 1.0):
        assert flag(yes), yes
    for no in (0, False, "0", "false", "", None, [], "no"):
        assert not flag(no), no


def test_lineup_quirks(caplog: pytest.LogCaptureFixture) -> None:
    data = [
        {"GuideNumber": "5.1", "GuideName": "KQED-HD", "VideoCodec": "MPEG2", "AudioCodec": "AC3", "HD": 1,
         "Favorite": 0, "URL": "http://10.0.0.5:5004/auto/v5.1"},
        {"GuideNumber": "5.2", "GuideName": "KQED-WD", "VideoCodec": "H264", "AudioCodec": "AAC", "HD": True,
         "DRM": False, "Favorite": "1"},
        {"GuideNumber": "7.1", "GuideName": "KGO", "Tags": "favorite,drm", "DRM": 1},  # older firmware
        {"GuideNumber": "101", "GuideName": "Radio One", "AudioCodec": "MPEG"},        # radio: no video codec
        {"GuideNumber": "102", "GuideName": "Radio Two", "AudioOnly": 1, "VideoCodec": "NONE"},
        {"GuideNumber": 9, "GuideName": "Numbered as an int", "Frequency": 473000000, "ProgramNumber": 3},
        {"GuideNumber": "11.1"},                                                      # no name
        {"GuideName": "No number"},
        "garbage",
        {"GuideNumber": "5.1", "GuideName": "Duplicate"},
    ]
    with caplog.at_level(logging.WARNING):
        channels, problems = parse_lineup(data, device="HDHR (1053C0CA)")
    by_number = {c.number: c for c in channels}
    assert list(by_number) == ["5.1", "5.2", "7.1", "101", "102", "9", "11.1"]
    assert by_number["5.1"].hd and not by_number["5.1"].favorite and by_number["5.1"].video_codec == "MPEG2"
    assert by_number["5.2"].hd and by_number["5.2"].favorite and not by_number["5.2"].drm
    assert by_number["7.1"].favorite and by_number["7.1"].drm and by_number["7.1"].video_codec is None
    assert by_number["101"].radio and by_number["101"].audio_codec == "MPEG"
    assert by_number["102"].radio
    assert not by_number["5.1"].radio and not by_number["7.1"].radio  # no codecs at all: not known to be radio
    assert by_number["9"].extra == {"Frequency": 473000000, "ProgramNumber": 3}  # unknown fields kept
    assert by_number["11.1"].name == "11.1"
    assert len(problems) == 3
    assert "entry 7 ('No number') has no GuideNumber" in problems[0]
    assert "entry 8 is str 'garbage'" in problems[1]
    assert "channel 5.1 is listed twice" in problems[2]


async def test_lineup_problems_are_logged_with_the_device(device: Any, client_for: Any,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    device.resources["discover.json"] = discover_json(device.base_url)
    device.resources["lineup.json"] = [{"GuideNumber": "2.1", "GuideName": "A"}, {"GuideName": "B"}]
    client = client_for(device.base_url)
    await client.discover()
    with caplog.at_level(logging.WARNING):
        channels = await client.lineup()
    assert [c.number for c in channels] == ["2.1"]
    assert any("HDHomeRun CONNECT QUATRO (1053C0CA)" in r.getMessage() and "no GuideNumber" in r.getMessage()
               for r in caplog.records)


async def test_discover_tolerates_real_value_styles(device: Any, client_for: Any) -> None:
    device.resources["discover.json"] = discover_json(device.base_url, TunerCount="2", Legacy=False,
                                                      ConditionalAccess="0", FutureField={"x": 1},
                                                      DeviceID="1053c0ca")
    info = await client_for(device.base_url).discover()
    assert info.tuner_count == 2 and info.device_id == "1053C0CA"
    assert not info.legacy and not info.conditional_access
    assert info.extra == {"FutureField": {"x": 1}}


async def test_discover_404_is_a_legacy_model(device: Any, client_for: Any) -> None:
    client = client_for(device.base_url)
    with pytest.raises(LegacyDevice, match=f"HDHomeRun at {device.base_url}: discover.json answered 404"):
        await client.discover()
    udp = DiscoveredDevice(device_id="10300A3B", ip="127.0.0.1", tuner_count=2, base_url=device.base_url,
                           legacy=True)
    info = await client.discover(fallback=udp)
    assert (info.device_id, info.tuner_count, info.legacy, info.source) == ("10300A3B", 2, True, "udp")
    assert info.lineup_url == f"{device.base_url}/lineup.json"
    with pytest.raises(BadResponse, match=r"\(10300A3B\).*lineup.json answered HTTP 404.*legacy model"):
        await client.lineup()


async def test_unreadable_answers(device: Any, client_for: Any) -> None:
    client = client_for(device.base_url)
    device.resources["discover.json"] = b"<html><body>Login</body></html>"
    with pytest.raises(BadResponse, match="discover.json is not JSON.*<html>"):
        await client.discover()
    device.resources["discover.json"] = b"[]"
    with pytest.raises(BadResponse, match="discover.json is a list of 0, not an object"):
        await client.discover()
    device.resources["discover.json"] = b"{}"
    with pytest.raises(BadResponse, match="has no DeviceID"):
        await client.discover()
    device.resources["discover.json"] = b'{"DeviceID": "1053C0CA", "TunerCount": 2'  # cut off
    with pytest.raises(BadResponse, match="not JSON"):
        await client.discover()
    device.resources["discover.json"] = 500
    with pytest.raises(TunerUnavailable, match="discover.json answered HTTP 500"):
        await client.discover()
    device.resources["status.json"] = 404
    assert await client.status() == []


async def test_unreachable_and_slow_devices(device: Any, client_for: Any, unused_tcp_port: int) -> None:
    client = client_for(f"http://127.0.0.1:{unused_tcp_port}", timeout=2)
    with pytest.raises(TunerUnavailable, match=f"HDHomeRun at http://127.0.0.1:{unused_tcp_port}: cannot reach"):
        await client.discover()
    with pytest.raises(TunerUnavailable, match="cannot reach the device for channel 5.1"):
        await client.stream("5.1")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    device.resources["discover.json"] = slow
    with pytest.raises(TunerUnavailable, match=r"no answer to discover.json within 0.3 s"):
        await client_for(device.base_url, timeout=0.3).discover()


async def test_status_scan_and_lineup_status(device: Any, client_for: Any) -> None:
    device.resources["discover.json"] = discover_json(device.base_url)
    device.resources["status.json"] = [
        {"Resource": "tuner0", "VctNumber": "5.1", "VctName": "KQED-HD", "Frequency": 503000000,
         "SignalStrengthPercent": 93, "SignalQualityPercent": 100, "SymbolQualityPercent": 100,
         "NetworkRate": 19392000, "TargetIP": "192.168.1.10"},
        {"Resource": "tuner1"},
    ]
    device.resources["lineup_status.json"] = {"ScanInProgress": 0, "ScanPossible": 1, "Source": "Antenna",
                                              "SourceList": ["Antenna", "Cable"]}
    device.resources["lineup.post"] = b""
    client = client_for(device.base_url)
    status = await client.status()
    assert status[0]["channel"] == "5.1" and status[0]["bitrate"] == 19392000 and status[0]["signal_strength"] == 93
    assert status[1]["resource"] == "tuner1" and status[1]["channel"] is None
    scan = await client.scan("start")
    assert ("POST", "lineup.post", {"scan": "start"}) in device.requests
    assert scan["scan_in_progress"] is False and scan["source_list"] == ["Antenna", "Cable"]
    device.resources["lineup_status.json"] = {"ScanInProgress": 1, "Progress": 28, "Found": 7}
    status = await client.lineup_status()
    assert (status["scan_in_progress"], status["progress"], status["found"]) == (True, 28, 7)
    await client.scan("abort")
    assert ("POST", "lineup.post", {"scan": "abort"}) in device.requests
    with pytest.raises(ValueError, match="'start' or 'abort'"):
        await client.scan("restart")
    device.resources["lineup.post"] = 404
    with pytest.raises(NotImplementedError, match="cannot scan over HTTP"):
        await client.scan("start")


# -- addresses -------------------------------------------------------------------------------------
def test_base_urls_and_rebasing() -> None:
    assert normalise_base_url("192.168.1.50") == "http://192.168.1.50"
    assert normalise_base_url("http://hdhr.local/") == "http://hdhr.local"
    assert normalise_base_url(" http://10.0.0.5:8080/discover.json ") == "http://10.0.0.5:8080"
    with pytest.raises(ValueError, match="not a host name"):
        normalise_base_url("ftp://x")
    # Reached by name while the device reports its LAN address: its URLs follow our way in.
    info = DeviceInfo.from_discover_json(
        {"DeviceID": "1053C0CA", "BaseURL": "http://192.168.1.50:80", "LineupURL": "http://192.168.1.50:80/lineup.json"},
        "http://hdhr.local")
    assert info.lineup_url == "http://hdhr.local/lineup.json"
    assert info.rebase("http://192.168.1.50:5004/auto/v5.1") == "http://hdhr.local:5004/auto/v5.1"
    assert info.rebase("http://192.168.1.99:5004/auto/v5.1") == "http://192.168.1.99:5004/auto/v5.1"
    # Through a port mapping: the device's port 80 becomes ours.
    info = DeviceInfo.from_discover_json({"DeviceID": "1053C0CA", "BaseURL": "http://192.168.1.50"},
                                         "http://127.0.0.1:18080")
    assert info.lineup_url == "http://127.0.0.1:18080/lineup.json"
    assert supports_transcode("HDTC-2US", "hdhomeruntc_atsc") and not supports_transcode("HDHR5-4US", "hdhomerun5_atsc")


async def test_stream_origin(client_for: Any) -> None:
    assert client_for("192.168.1.50").stream_url("5.1") == "http://192.168.1.50:5004/auto/v5.1"
    assert client_for("http://127.0.0.1:8080").stream_url("5.1", tuner=2) == "http://127.0.0.1:8080/tuner2/v5.1"


# -- streams ---------------------------------------------------------------------------------------------
async def test_stream_bytes_and_close_frees_the_tuner(device: Any, client_for: Any) -> None:
    device.streams["5.1"] = endless()
    client = client_for(device.base_url)
    stream = await client.stream("5.1")
    assert stream.content_type == "video/mp2t" and stream.tuner_index is None
    got = 0
    async with stream:
        async for chunk in stream:
            assert chunk and len(chunk) <= MAX_CHUNK
            got += len(chunk)
            if got > 100_000:
                break
    assert stream.closed and stream.bytes_read == got
    await asyncio.wait_for(_until(lambda: device.open_streams == 0), 5)
    await stream.close()  # idempotent
    assert device.requests[-1] == ("GET", "auto/v5.1", {})


async def test_large_writes_come_in_chunks_of_at_most_64k(device: Any, client_for: Any) -> None:
    device.streams["5.1"] = finite(3 * 1024 * 1024, chunk=1024 * 1024, chunked=False)
    stream = await client_for(device.base_url).stream("5.1", duration=60)
    sizes = [len(c) async for c in stream]
    assert sum(sizes) == 3 * 1024 * 1024 and max(sizes) <= MAX_CHUNK
    await stream.close()


async def test_duration_and_tuner_choice(device: Any, client_for: Any) -> None:
    device.streams["5.1"] = finite(188 * 1000)
    client = client_for(device.base_url)
    stream = await client.stream("5.1", tuner=1, duration=2.2)
    assert device.requests[-1] == ("GET", "tuner1/v5.1", {"duration": "3"})
    assert stream.tuner_index == 1
    assert sum([len(c) async for c in stream]) == 188 * 1000  # the device ended it: a normal end
    with pytest.raises(ValueError, match="positive"):
        await client.stream("5.1", duration=0)


async def test_unlimited_stream_ended_by_the_device_is_a_drop(device: Any, client_for: Any) -> None:
    device.streams["5.1"] = finite(188 * 100)
    stream = await client_for(device.base_url).stream("5.1")
    with pytest.raises(TunerUnavailable, match="ended the stream of channel 5.1 after 18800 bytes"):
        async for _ in stream:
            pass


async def test_reset_mid_stream(device: Any, client_for: Any) -> None:
    device.streams["5.1"] = reset_after(188 * 50)
    client = client_for(device.base_url)
    stream = await client.stream("5.1", duration=60)
    got = 0
    with pytest.raises(TunerUnavailable, match=r"127.0.0.1:\d+: the stream of channel 5.1 broke after 9400 bytes \(RemoteProtocolError"):
        async for chunk in stream:
            got += len(chunk)
    assert got == 188 * 50
    await stream.close()


async def test_stream_errors(device: Any, client_for: Any) -> None:
    device.resources["discover.json"] = discover_json(device.base_url)
    client = client_for(device.base_url)
    await client.discover()
    device.streams["5.1"] = busy()
    with pytest.raises(TunerBusy) as caught:
        await client.stream("5.1")
    assert str(caught.value) == (f"HDHomeRun CONNECT QUATRO (1053C0CA) at {device.base_url}: no tuner free for "
                                 "channel 5.1: HTTP 503 (805 All Tuners In Use)")
    assert caught.value.device_id == "1053C0CA"
    with pytest.raises(UnknownChannel, match=r"does not carry channel 99.9: HTTP 404 \(801 Unknown Channel\)"):
        await client.stream("99.9")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    device.streams["5.2"] = broken
    with pytest.raises(TunerUnavailable, match="channel 5.2 answered HTTP 500 Internal Server Error"):
        await client.stream("5.2")

    async def silent(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await asyncio.sleep(30)
        return resp

    device.streams["5.3"] = silent
    slow_client = client_for(device.base_url, timeout=0.5)
    stream = await slow_client.stream("5.3", duration=60)
    with pytest.raises(TunerUnavailable, match="no data on channel 5.3 for 0.5 s"):
        async for _ in stream:
            pass
    await stream.close()


async def test_transcode_only_on_extend_models(device: Any, client_for: Any) -> None:
    device.streams["5.1"] = finite(188 * 10)
    device.resources["discover.json"] = discover_json(device.base_url)
    client = client_for(device.base_url)
    await client.discover()
    with pytest.raises(ValueError, match="HDHR5-4US cannot transcode"):
        await client.stream("5.1", transcode="mobile")
    device.resources["discover.json"] = discover_json(device.base_url, ModelNumber="HDTC-2US",
                                                      FirmwareName="hdhomeruntc_atsc")
    await client.discover()
    with pytest.raises(ValueError, match="unknown transcode profile"):
        await client.stream("5.1", transcode="ultra")
    stream = await client.stream("5.1", transcode="internet480", duration=10)
    assert device.requests[-1] == ("GET", "auto/v5.1", {"duration": "10", "transcode": "internet480"})
    await stream.close()


async def _until(probe: Any) -> None:
    while not probe():
        await asyncio.sleep(0.02)


async def test_close_from_another_task_ends_the_reader_quietly(device: Any, client_for: Any) -> None:
    """Live TV pre-emption and a user's stop close a stream another task is reading."""
    device.streams["5.1"] = endless(delay=0.05)
    stream = await client_for(device.base_url).stream("5.1")
    got: list[int] = []

    async def reader() -> None:
        async for chunk in stream:
            got.append(len(chunk))

    task = asyncio.create_task(reader())
    await asyncio.wait_for(_until(lambda: len(got) >= 2), 5)
    await stream.close()
    await asyncio.wait_for(task, 5)  # ends without an error
    await asyncio.wait_for(_until(lambda: device.open_streams == 0), 5)

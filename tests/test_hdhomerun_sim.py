"""The HDHomeRun simulator behaves like a device: JSON shaped like real devices' answers (the
fixtures in ../shared/fixtures/tv/hdhomerun), valid and continuous MPEG-TS streams, tuner leases,
faults, vanishing, and UDP discovery that Silicondust's own ``hdhomerun_config`` finds."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import aiohttp
import pytest

from tests.hdhomerun_sim import (
    DEVICE_ID_WILDCARD,
    DEVICE_TYPE_TUNER,
    TAG_BASE_URL,
    TAG_DEVICE_AUTH_STR,
    TAG_DEVICE_ID,
    TAG_DEVICE_TYPE,
    TAG_LINEUP_URL,
    TAG_TUNER_COUNT,
    TYPE_DISCOVER_REQ,
    TYPE_DISCOVER_RPY,
    HDHomeRunSimulator,
    SimChannel,
    decode_frame,
    encode_frame,
    valid_device_id,
    with_check_digit,
)
from tests.tv_media import make_tv_ts
from tests.waiting import wait_until

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tv" / "hdhomerun"

#: Short channels so streams loop within a second or two of a test.
SHORT = dict(programme_seconds=2.0, commercial_seconds=1.0, break_seconds=0.5)


def short_channels() -> list[SimChannel]:
    return [
        SimChannel("2.1", "SIM-ONE", "h264", hd=True, **SHORT),
        SimChannel("4.1", "SIM-MPEG2", "mpeg2video", hd=False, **SHORT),
    ]


def fixture(name: str) -> object:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"fixture {path} is absent (the shared HDHomeRun fixtures are not installed)")
    return json.loads(path.read_text())


@pytest.fixture
async def sim():
    s = HDHomeRunSimulator(tuner_count=2, channels=short_channels(), speed=8.0)
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def get_json(http: aiohttp.ClientSession, url: str) -> object:
    async with http.get(url) as resp:
        assert resp.status == 200, f"{url}: {resp.status}"
        return await resp.json()


async def read_body(resp: aiohttp.ClientResponse, limit: int | None = None) -> bytes:
    data = bytearray()
    async for chunk in resp.content.iter_any():
        data += chunk
        if limit is not None and len(data) >= limit:
            break
    return bytes(data)


def ts_report(data: bytes) -> dict[str, object]:
    """Sync, continuity and timestamp facts of captured MPEG-TS (ISO 13818-1)."""
    n = len(data) // 188
    bad_sync = sum(1 for i in range(n) if data[i * 188] != 0x47)
    last_cc: dict[int, int] = {}
    cc_errors = 0
    pts: dict[int, list[int]] = {}
    pcrs: list[int] = []
    for i in range(n):
        p = data[i * 188: (i + 1) * 188]
        pid = ((p[1] & 0x1F) << 8) | p[2]
        afc = (p[3] >> 4) & 3
        cc = p[3] & 0x0F
        if pid != 0x1FFF and afc & 1:
            if pid in last_cc and cc != (last_cc[pid] + 1) & 0x0F:
                cc_errors += 1
            last_cc[pid] = cc
        pos = 4
        if afc & 2:
            if p[4] > 0 and p[5] & 0x10:
                pcrs.append((p[6] << 25) | (p[7] << 17) | (p[8] << 9) | (p[9] << 1) | (p[10] >> 7))
            pos += 1 + p[4]
        if afc & 1 and p[1] & 0x40 and pos + 14 <= 188 and p[pos:pos + 3] == b"\x00\x00\x01" and p[pos + 7] & 0x80:
            o = pos + 9
            value = (((p[o] >> 1) & 7) << 30) | (p[o + 1] << 22) | ((p[o + 2] >> 1) << 15) | (p[o + 3] << 7) | (p[o + 4] >> 1)
            pts.setdefault(pid, []).append(value)
    return {"packets": n, "bad_sync": bad_sync, "cc_errors": cc_errors, "pts": pts, "pcrs": pcrs}


def ffprobe_streams(path: Path) -> list[dict]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


# -- device ids ---------------------------------------------------------------------------------


def test_device_id_check_digit():
    # Real device ids (from Silicondust's documentation and the fixtures' style) validate.
    assert valid_device_id("10439EFD")
    assert valid_device_id("1053C0CA")
    assert not valid_device_id("10439EFE")
    fixed = with_check_digit("12345670")
    assert fixed[:7] == "1234567" and valid_device_id(fixed)


# -- JSON -----------------------------------------------------------------------------------------


async def test_discover_json_shaped_like_a_device(http):
    real = fixture("prime_discover.json")
    async with HDHomeRunSimulator(tuner_count=3, channels=short_channels(), model="HDHR3-CC") as s:
        data = await get_json(http, s.base_url + "/discover.json")
    for key in ("FriendlyName", "ModelNumber", "FirmwareName", "FirmwareVersion", "DeviceID", "DeviceAuth",
                "TunerCount", "BaseURL", "LineupURL"):
        assert key in data, key
        assert type(data[key]) is type(real[key]), key
    assert data["TunerCount"] == 3
    assert data["DeviceID"] == "1053C0CA"
    assert data["FriendlyName"] == "HDHomeRun PRIME"
    assert data["BaseURL"] == s.base_url
    assert data["LineupURL"] == s.base_url + "/lineup.json"


async def test_legacy_devices(http):
    real = fixture("legacy_discover.json")
    # legacy=True: old firmware without the JSON API.
    async with HDHomeRunSimulator(channels=short_channels(), legacy=True, model="HDHR3-US") as s:
        async with http.get(s.base_url + "/discover.json") as resp:
            assert resp.status == 404
        async with http.get(s.base_url + "/lineup.json") as resp:
            assert resp.status == 404
        # ... but it still streams over HTTP.
        async with http.head(s.base_url + "/auto/v2.1") as resp:
            assert resp.status == 200
    # legacy="json": newer legacy firmware, like the fixture: Legacy=1, no LineupURL/DeviceAuth,
    # and a lineup.json of {}.
    async with HDHomeRunSimulator(channels=short_channels(), legacy="json", model="HDHR3-US") as s:
        data = await get_json(http, s.base_url + "/discover.json")
        assert await get_json(http, s.base_url + "/lineup.json") == fixture("legacy_lineup_invalid.json")
    assert set(data) == set(real)
    assert data["Legacy"] == 1 and data["FriendlyName"] == real["FriendlyName"]


async def test_lineup_shaped_like_a_device(http):
    real = fixture("prime_lineup.json")
    real_keys = set().union(*(set(e) for e in real))
    async with HDHomeRunSimulator(channels=None, speed=8.0) as s:  # the default channels
        lineup = await get_json(http, s.base_url + "/lineup.json")
        found = await get_json(http, s.base_url + "/lineup.json?show=found")
        async with http.get(s.base_url + "/lineup.xml") as resp:
            xml = ET.fromstring(await resp.text())
    assert lineup == found
    assert [e["GuideNumber"] for e in lineup] == ["2.1", "2.2", "4.1", "9.1"]
    for entry in lineup:
        assert set(entry) <= real_keys | {"VideoCodec", "AudioCodec", "DRM"}
        assert isinstance(entry["GuideNumber"], str)
        assert entry["URL"] == f"{s.base_url}/auto/v{entry['GuideNumber']}"
        assert entry.get("HD", 1) == 1  # a flag is 1 or absent, as on devices
    by_number = {e["GuideNumber"]: e for e in lineup}
    assert by_number["2.1"]["HD"] == 1 and by_number["2.1"]["VideoCodec"] == "H264"
    assert "HD" not in by_number["2.2"]
    assert by_number["4.1"]["VideoCodec"] == "MPEG2"
    assert "VideoCodec" not in by_number["9.1"] and by_number["9.1"]["AudioCodec"] == "AC3"
    assert [p.findtext("GuideNumber") for p in xml.iter("Program")] == ["2.1", "2.2", "4.1", "9.1"]
    # The radio service really is audio only, the MPEG-2 channel really MPEG-2.
    assert [st["codec_type"] for st in ffprobe_streams(s.media["9.1"].path)["streams"]] == ["audio"]
    assert ffprobe_streams(s.media["4.1"].path)["streams"][0]["codec_name"] == "mpeg2video"


async def test_channel_scan(sim, http):
    sim.scan_seconds = 0.5
    idle = await get_json(http, sim.base_url + "/lineup_status.json")
    assert idle == {"ScanInProgress": 0, "ScanPossible": 1, "Source": "Antenna", "SourceList": ["Antenna", "Cable"]}
    async with http.post(sim.base_url + "/lineup.post?scan=start&source=Cable") as resp:
        assert resp.status == 200
    scanning = await get_json(http, sim.base_url + "/lineup_status.json")
    assert scanning["ScanInProgress"] == 1 and set(scanning) == {"ScanInProgress", "Progress", "Found"}

    async def done():
        status = await get_json(http, sim.base_url + "/lineup_status.json")
        return status if status["ScanInProgress"] == 0 else None

    assert (await wait_until(done, "the scan to finish"))["Source"] == "Cable"
    async with http.post(sim.base_url + "/lineup.post?scan=start") as resp:
        assert resp.status == 200
    async with http.post(sim.base_url + "/lineup.post?scan=abort") as resp:
        assert resp.status == 200
    assert (await get_json(http, sim.base_url + "/lineup_status.json"))["ScanInProgress"] == 0


# -- streams --------------------------------------------------------------------------------------


async def test_stream_is_continuous_mpeg_ts(sim, http, tmp_path):
    period = sim._loops["2.1"].period_seconds
    async with http.get(sim.base_url + f"/auto/v2.1?duration={2.5 * period:.1f}") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "video/mp2t"
        assert resp.headers["Transfer-Encoding"] == "chunked"
        assert resp.headers["Server"].startswith("HDHomeRun")
        data = await read_body(resp)
    report = ts_report(data)
    assert len(data) % 188 == 0 and report["packets"] > 100
    assert report["bad_sync"] == 0
    assert report["cc_errors"] == 0  # continuity counters run on across the loops
    video, audio = report["pts"][0x100], report["pts"][0x101]
    assert all(b > a for a, b in zip(audio, audio[1:], strict=False))  # audio PTS only rise ...
    assert len(set(video)) == len(video)  # ... and no video frame time repeats (B-frames reorder)
    pcrs = report["pcrs"]
    assert all(b >= a for a, b in zip(pcrs, pcrs[1:], strict=False))  # the clock never goes back
    assert (pcrs[-1] - pcrs[0]) / 90000 > 2 * period  # ... and spans more than two loops
    path = tmp_path / "capture.ts"
    path.write_bytes(data)
    info = ffprobe_streams(path)
    assert [st["codec_name"] for st in info["streams"]] == ["h264", "ac3"]
    assert float(info["format"]["duration"]) == pytest.approx(2.5 * period, abs=1.0)
    assert sim.stream_log[-1]["status"] == "duration"
    assert sim.stream_log[-1]["bytes"] == len(data) == sim.bytes_served


async def test_tuners_are_leased_and_released(sim, http):
    one = await http.get(sim.base_url + "/auto/v2.1")
    two = await http.get(sim.base_url + "/auto/v4.1")
    assert (one.status, two.status) == (200, 200)
    await one.content.readany()
    assert sim.active_streams == 2
    status = await get_json(http, sim.base_url + "/status.json")
    assert [s["Resource"] for s in status] == ["tuner0", "tuner1"]
    assert status[0]["VctNumber"] == "2.1" and status[1]["VctNumber"] == "4.1"
    assert status[0]["VctName"] == "SIM-ONE" and status[0]["TargetIP"] == "127.0.0.1"
    for key in ("Frequency", "SignalStrengthPercent", "SignalQualityPercent", "SymbolQualityPercent", "NetworkRate"):
        assert isinstance(status[0][key], int), key
    async with http.get(sim.base_url + "/auto/v2.1") as resp:
        assert resp.status == 503
        assert resp.headers["X-HDHomeRun-Error"].startswith("805")
    async with http.get(sim.base_url + "/tuner0/v2.1") as resp:
        assert resp.status == 503
    async with http.head(sim.base_url + "/auto/v2.1") as resp:
        assert resp.status == 503
    one.close()  # the client leaves: the device frees the tuner
    await wait_until(lambda: sim.active_streams == 1, "tuner0 to be released")
    assert (await get_json(http, sim.base_url + "/status.json"))[0] == {"Resource": "tuner0"}
    async with http.head(sim.base_url + "/tuner0/v2.1") as resp:
        assert resp.status == 200
    assert sim.active_streams == 1  # HEAD does not lease
    async with http.get(sim.base_url + "/tuner0/v2.1") as resp:
        assert resp.status == 200
        assert sim.active_streams == 2 and sim.stream_log[-1]["tuner"] == 0
    two.close()
    await wait_until(lambda: sim.active_streams == 0, "every tuner to be released")
    assert [e["status"] for e in sim.stream_log] == ["closed", "closed", "closed"]


async def test_unknown_channel_and_tuner(sim, http):
    async with http.get(sim.base_url + "/auto/v99.9") as resp:
        assert resp.status == 404
        assert resp.headers["X-HDHomeRun-Error"].startswith("801")
    async with http.get(sim.base_url + "/tuner7/v2.1") as resp:
        assert resp.status == 404
    async with http.get(sim.base_url + "/auto/v2.1?duration=abc") as resp:
        assert resp.status == 400
    assert sim.active_streams == 0 and sim.stream_log == []


async def test_transcode_is_accepted_and_ignored(sim, http, tmp_path):
    async with http.get(sim.base_url + "/auto/v4.1?transcode=mobile&duration=1") as resp:
        assert resp.status == 200
        data = await read_body(resp)
    path = tmp_path / "t.ts"
    path.write_bytes(data)
    assert ffprobe_streams(path)["streams"][0]["codec_name"] == "mpeg2video"
    assert sim.stream_log[-1]["transcode"] == "mobile"


async def test_streams_are_paced(http):
    async with HDHomeRunSimulator(channels=short_channels(), speed=1.0) as s:
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with http.get(s.base_url + "/auto/v2.1?duration=2") as resp:
            await read_body(resp)
        # A device sends in real time: two seconds of stream cannot arrive in much less.
        assert loop.time() - started > 1.5


async def test_live_join_starts_where_the_broadcast_is(http, tmp_path):
    async with HDHomeRunSimulator(channels=short_channels(), speed=8.0, join="live") as s:
        firsts = []
        for i in range(2):
            async with http.get(s.base_url + "/auto/v2.1?duration=1") as resp:
                data = await read_body(resp)
            report = ts_report(data)
            assert report["bad_sync"] == 0 and report["cc_errors"] == 0
            firsts.append(report["pcrs"][0])
            path = tmp_path / f"live{i}.ts"
            path.write_bytes(data)
            assert [st["codec_name"] for st in ffprobe_streams(path)["streams"]] == ["h264", "ac3"]
        # The second stream joined later in the broadcast, not at the start of the loop again.
        assert firsts[1] > firsts[0]


# -- faults -----------------------------------------------------------------------------------------


async def test_stall_keeps_the_connection_without_bytes(sim, http):
    sim.inject("stall", after=0.3)
    resp = await http.get(sim.base_url + "/auto/v2.1")
    got = 0
    while True:
        try:
            got += len(await asyncio.wait_for(resp.content.readany(), 1.0))
        except TimeoutError:
            break
    assert got > 0
    before = sim.bytes_served
    await asyncio.sleep(0.5)
    assert sim.bytes_served == before and sim.active_streams == 1 and not resp.connection.closed
    sim.inject(None)
    assert len(await asyncio.wait_for(resp.content.readany(), 5.0)) > 0
    resp.close()
    await wait_until(lambda: sim.active_streams == 0, "the lease to end")


async def test_stall_then_client_leaves_releases_the_tuner(sim, http):
    sim.inject("stall")
    resp = await http.get(sim.base_url + "/auto/v2.1")
    assert resp.status == 200 and sim.active_streams == 1
    resp.close()
    await wait_until(lambda: sim.active_streams == 0, "the stalled stream's lease to end")
    assert sim.stream_log[-1]["status"] == "closed"


async def test_corrupt_breaks_continuity_but_keeps_packets(sim, http):
    async with http.get(sim.base_url + "/auto/v2.1?duration=1") as resp:
        clean = await read_body(resp)
    sim.inject("corrupt", channel="2.1")
    async with http.get(sim.base_url + "/auto/v2.1?duration=1") as resp:
        bad = await read_body(resp)
    async with http.get(sim.base_url + "/auto/v4.1?duration=1") as resp:
        other = await read_body(resp)
    assert ts_report(clean)["cc_errors"] == 0
    report = ts_report(bad)
    assert report["bad_sync"] == 0 and report["cc_errors"] > 0
    assert len(bad) == len(clean) and bad != clean
    assert ts_report(other)["cc_errors"] == 0  # the fault was for 2.1 only


async def test_disconnect_cuts_the_stream(sim, http):
    sim.inject("disconnect", after=0.3)
    async with http.get(sim.base_url + "/auto/v2.1") as resp:
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await read_body(resp)
    await wait_until(lambda: sim.active_streams == 0, "the lease to end")
    assert sim.stream_log[-1]["status"] == "disconnect" and sim.stream_log[-1]["bytes"] > 0
    # The fault stays for the next streams, until cleared.
    async with http.get(sim.base_url + "/auto/v2.1") as resp:
        with pytest.raises(aiohttp.ClientPayloadError):
            await read_body(resp)
    sim.inject(None)
    async with http.get(sim.base_url + "/auto/v2.1?duration=1") as resp:
        assert len(await read_body(resp)) > 0


async def test_refuse_answers_503(sim, http):
    sim.inject("refuse")
    for path in ("/discover.json", "/lineup.json", "/auto/v2.1"):
        async with http.get(sim.base_url + path) as resp:
            assert resp.status == 503, path
    assert sim.active_streams == 0
    sim.inject(None)
    assert (await get_json(http, sim.base_url + "/discover.json"))["DeviceID"] == sim.device_id


def test_bad_fault_is_refused():
    s = HDHomeRunSimulator(channels=short_channels())
    with pytest.raises(ValueError, match="unknown fault 'explode'"):
        s.inject("explode")


# -- vanishing -------------------------------------------------------------------------------------


async def test_vanish_and_reappear(http):
    async with HDHomeRunSimulator(channels=short_channels(), speed=8.0, discovery_port=0) as s:
        base = s.base_url
        resp = await http.get(base + "/auto/v2.1")
        await resp.content.readany()
        assert await udp_discover(s.discovery_port) is not None
        s.vanish()
        with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, ConnectionError)):
            await read_body(resp)
        assert s.active_streams == 0 and s.stream_log[-1]["status"] == "vanished"
        with pytest.raises(aiohttp.ClientConnectorError):
            await http.get(base + "/discover.json")
        assert await udp_discover(s.discovery_port, timeout=0.5) is None
        s.reappear()
        assert s.base_url == base
        assert (await get_json(http, base + "/discover.json"))["DeviceID"] == s.device_id
        assert await udp_discover(s.discovery_port) is not None
        async with http.get(base + "/auto/v2.1?duration=1") as resp:
            assert len(await read_body(resp)) > 0


# -- UDP discovery ---------------------------------------------------------------------------------


async def udp_discover(port: int, request: bytes | None = None, timeout: float = 2.0) -> bytes | None:
    """Send one discover request to 127.0.0.1:port; the reply, or None."""
    if request is None:
        request = encode_frame(TYPE_DISCOVER_REQ, [(TAG_DEVICE_TYPE, struct.pack(">I", DEVICE_TYPE_TUNER)),
                                                   (TAG_DEVICE_ID, struct.pack(">I", DEVICE_ID_WILDCARD))])
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            if not got.done():
                got.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
    try:
        transport.sendto(request)
        try:
            return await asyncio.wait_for(got, timeout)
        except TimeoutError:
            return None
    finally:
        transport.close()


def test_frame_codec_matches_the_wire():
    # hdhomerun_config's discover request as it goes on the wire: type 2, 12 bytes of TLVs
    # (device type = tuner, device id = wildcard), CRC-32 little-endian.
    wire = bytes.fromhex("0002000c0104000000010204ffffffff4e507f35")
    assert encode_frame(TYPE_DISCOVER_REQ, [(TAG_DEVICE_TYPE, b"\x00\x00\x00\x01"),
                                            (TAG_DEVICE_ID, b"\xff\xff\xff\xff")]) == wire
    assert decode_frame(wire) == (TYPE_DISCOVER_REQ, [(1, b"\x00\x00\x00\x01"), (2, b"\xff\xff\xff\xff")])
    long_value = b"x" * 300  # a two-byte TLV length
    assert decode_frame(encode_frame(3, [(0x2A, long_value)])) == (3, [(0x2A, long_value)])
    with pytest.raises(ValueError, match="CRC"):
        decode_frame(wire[:-1] + b"\x00")


async def test_udp_discovery_replies():
    async with HDHomeRunSimulator(channels=short_channels(), discovery_port=0, tuner_count=4) as s:
        reply = await udp_discover(s.discovery_port)
        assert reply is not None
        frame_type, tlvs = decode_frame(reply)
        fields = dict(tlvs)
        assert frame_type == TYPE_DISCOVER_RPY
        assert fields[TAG_DEVICE_TYPE] == struct.pack(">I", DEVICE_TYPE_TUNER)
        assert fields[TAG_DEVICE_ID] == bytes.fromhex(s.device_id)
        assert fields[TAG_TUNER_COUNT] == bytes([4])
        assert fields[TAG_BASE_URL].decode() == s.base_url
        assert fields[TAG_LINEUP_URL].decode() == s.base_url + "/lineup.json"
        assert fields[TAG_DEVICE_AUTH_STR].decode() == s.device_auth
        # Asking for this device by id works; another id, another device type or junk: silence.
        mine = encode_frame(TYPE_DISCOVER_REQ, [(TAG_DEVICE_ID, bytes.fromhex(s.device_id))])
        assert await udp_discover(s.discovery_port, mine) is not None
        other = encode_frame(TYPE_DISCOVER_REQ, [(TAG_DEVICE_ID, bytes.fromhex("10439EFD"))])
        storage = encode_frame(TYPE_DISCOVER_REQ, [(TAG_DEVICE_TYPE, struct.pack(">I", 5))])
        for request in (other, storage, b"junk", mine[:-1] + b"\x00"):
            assert await udp_discover(s.discovery_port, request, timeout=0.3) is None
    async with HDHomeRunSimulator(channels=short_channels(), discovery_port=0, legacy=True) as s:
        fields = dict(decode_frame(await udp_discover(s.discovery_port))[1])
        assert TAG_LINEUP_URL not in fields and TAG_BASE_URL in fields


@pytest.mark.netns
def test_hdhomerun_config_discovers_the_simulator():
    """Silicondust's own tool finds the simulator on the real port (65001), inside network
    namespaces so parallel runs and real devices cannot collide."""
    from tests.netns import ADDR_A, NetnsPair, netns_unavailable_reason

    if shutil.which("hdhomerun_config") is None:
        pytest.skip("hdhomerun_config is not installed (Debian/Ubuntu: apt install hdhomerun-config)")
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    pair = NetnsPair("hd").create()
    proc = None
    try:
        proc = subprocess.Popen(
            pair.command(pair.a, sys.executable, "-m", "tests.hdhomerun_sim", "--host", ADDR_A, "--port", "0",
                         "--discovery-port", "65001", "--device-id", "10439EFD", "--tuners", "3"),
            cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        lines = []
        while True:
            line = proc.stdout.readline()
            assert line, f"the simulator exited: {''.join(lines)}"
            lines.append(line)
            if line.startswith("UDP discovery:"):
                break
        assert "port 65001" in line
        expected = f"hdhomerun device 10439EFD found at {ADDR_A}"
        for args in (["discover"], ["discover", ADDR_A]):
            out = subprocess.run(pair.command(pair.b, "hdhomerun_config", *args), capture_output=True, text=True,
                                 timeout=20)
            assert out.returncode == 0, out.stderr
            assert expected in out.stdout, (args, out.stdout, out.stderr)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        pair.close()


# -- tv_media ----------------------------------------------------------------------------------------


def _detect(path: Path) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-vf", "blackdetect=d=0.3:pix_th=0.1",
         "-af", "silencedetect=d=0.3", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr
    black = [(float(a), float(b)) for a, b in re.findall(r"black_start:([\d.]+) black_end:([\d.]+)", out)]
    starts = [float(x) for x in re.findall(r"silence_start: ([\d.]+)", out)]
    ends = [float(x) for x in re.findall(r"silence_end: ([\d.]+)", out)]
    return black, list(zip(starts, ends, strict=False))


@pytest.mark.parametrize("codec", ["h264", "mpeg2video"])
def test_tv_media_breaks_are_where_it_says(tmp_path, codec):
    media = make_tv_ts(tmp_path / f"{codec}.ts", codec=codec, hd=codec == "h264", programme_seconds=3,
                       commercial_seconds=2, break_seconds=1, cycles=2)
    assert media.breaks == [(3.0, 7.0), (10.0, 14.0)]
    assert media.black == [(3.0, 4.0), (6.0, 7.0), (10.0, 11.0), (13.0, 14.0)]
    black, silence = _detect(media.path)
    assert len(black) == len(media.black) and len(silence) == len(media.black)
    for (start, end), (bs, be), (ss, se) in zip(media.black, black, silence, strict=True):
        assert bs == pytest.approx(start, abs=0.1) and be == pytest.approx(end, abs=0.1)
        assert ss == pytest.approx(start, abs=0.1) and se == pytest.approx(end, abs=0.1)
    info = ffprobe_streams(media.path)
    assert float(info["format"]["duration"]) == pytest.approx(media.duration, abs=0.1)
    video = info["streams"][0]
    assert video["codec_name"] == codec and video["width"] == (640 if codec == "h264" else 320)


def test_comskip_finds_the_break(tmp_path):
    """comskip (with black-frame detection and shows of at least 15 s) finds the break where
    tv_media put it. The break at the very end of a file is not reported (comskip's end-of-show
    rules), so two cycles give one break."""
    if shutil.which("comskip") is None:
        pytest.skip("comskip is not installed (Debian/Ubuntu: apt install comskip)")
    media = make_tv_ts(tmp_path / "show.ts", hd=False, programme_seconds=20, commercial_seconds=10,
                       break_seconds=1, cycles=2)
    ini = tmp_path / "comskip.ini"
    ini.write_text("detect_method=1\nmin_show_segment_length=15\nmin_commercialbreak=4\n"
                   "max_commercialbreak=600\nmin_commercial_size=4\nmax_commercial_size=120\noutput_edl=1\n")
    out = subprocess.run(["comskip", f"--ini={ini}", f"--output={tmp_path}", str(media.path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:]  # 0: commercials found
    edl = [tuple(float(x) for x in line.split()[:2]) for line in (tmp_path / "show.edl").read_text().splitlines()]
    (start, end), = media.breaks[:1]
    assert len(edl) == 1
    assert edl[0][0] == pytest.approx(start, abs=1.0) and edl[0][1] == pytest.approx(end, abs=1.0)


def test_tv_media_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown video codec"):
        make_tv_ts(tmp_path / "x.ts", codec="vp9")
    with pytest.raises(ValueError, match="programme_seconds"):
        make_tv_ts(tmp_path / "x.ts", programme_seconds=0)
    assert not (tmp_path / "x.ts").exists()


async def test_discovery_port_in_use_is_reported():
    # A taken UDP port fails start() loudly (not a simulator silently without discovery).
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("0.0.0.0", 0))
    port = blocker.getsockname()[1]
    s = HDHomeRunSimulator(channels=short_channels(), discovery_port=port)
    try:
        with pytest.raises(OSError):
            await s.start()
    finally:
        await s.stop()
        blocker.close()

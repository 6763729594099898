"""The HDHomeRun UDP discovery codec (plugins/hdhomerun/protocol.py): frames, TLV lengths, CRC,
the discover request and reply, old-firmware fix-ups, device id check digits — and, against
Silicondust's own ``hdhomerun_config discover``, that our request is byte for byte the one it
sends and that it accepts our reply as a device."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from omnimedia.plugins.hdhomerun import protocol as p

from .netns import netns_unavailable_reason


def test_request_is_libhdhomeruns() -> None:
    # The datagram hdhomerun_config 20220303 sends (captured): wildcard type and id.
    captured = bytes.fromhex("0002000c0104ffffffff0204ffffffff73cc7d8f")
    assert p.encode_discover_request(p.DEVICE_TYPE_WILDCARD) == captured
    assert p.decode_discover_request(captured) == (p.DEVICE_TYPE_WILDCARD, p.DEVICE_ID_WILDCARD)
    ours = p.encode_discover_request()
    assert p.decode_discover_request(ours) == (p.DEVICE_TYPE_TUNER, p.DEVICE_ID_WILDCARD)
    # type, length, two 6-byte TLVs, CRC-32 little-endian over the rest
    assert ours[:4] == b"\x00\x02\x00\x0c" and len(ours) == 4 + 12 + 4
    assert struct.unpack("<I", ours[-4:])[0] == zlib.crc32(ours[:-4])


def test_reply_round_trip_with_every_tag() -> None:
    device = p.DiscoveredDevice(
        device_id="1053C0CA", ip="10.0.0.7", tuner_count=4, base_url="http://10.0.0.7:80",
        lineup_url="http://10.0.0.7:80/lineup.json", device_auth="yCr7JQVqmW3rVwFb6MAfAEEZ",
        storage_id="ABC", storage_url="http://10.0.0.7/recorded_files.json", extra={0x7E: b"\x01\x02"},
    )
    back = p.decode_discover_reply(p.encode_discover_reply(device), ip="10.0.0.7")
    assert back == device
    assert back.is_tuner and back.id_valid and not back.legacy


@pytest.mark.parametrize("length", [0, 1, 127, 128, 129, 255, 1000, 16383, 32767])
def test_tlv_lengths(length: int) -> None:
    value = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    tlv = p.encode_tlv(0x2A, value)
    assert len(tlv) == 1 + (1 if length < 128 else 2) + length
    if length >= 128:  # low 7 bits with the high bit set, then the rest
        assert tlv[1] == (length & 0x7F) | 0x80 and tlv[2] == length >> 7
    assert p.decode_tlvs(tlv) == [(0x2A, value)]


def test_long_base_url_uses_two_byte_length() -> None:
    url = "http://" + "a" * 200 + ".example:80"
    device = p.DiscoveredDevice(device_id="1053C0CA", base_url=url, tuner_count=2)
    assert p.decode_discover_reply(p.encode_discover_reply(device)).base_url == url
    with pytest.raises(ValueError, match="15-bit"):
        p.encode_tlv(1, b"x" * 40000)


def test_garbage_is_rejected_clearly() -> None:
    good = p.encode_discover_reply(p.DiscoveredDevice(device_id="1053C0CA", tuner_count=2))
    with pytest.raises(p.ProtocolError, match=r"from 10\.0\.0\.9 of 2 bytes is too short"):
        p.decode_discover_reply(b"\x00\x03", ip="10.0.0.9")
    with pytest.raises(p.ProtocolError, match="bad CRC-32"):
        p.decode_discover_reply(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(p.ProtocolError, match="truncated"):
        p.decode_discover_reply(good[:-6])
    with pytest.raises(p.ProtocolError, match="not a discover reply"):
        p.decode_discover_reply(p.encode_discover_request())
    with pytest.raises(p.ProtocolError, match="get/set reply"):
        p.decode_discover_reply(p.encode_frame(0x0005, b""))
    with pytest.raises(p.ProtocolError, match="says 50 bytes"):
        p.decode_discover_reply(p.encode_frame(p.TYPE_DISCOVER_REPLY, b"\x2a\x32abc"))
    with pytest.raises(p.ProtocolError, match="no device id"):
        p.decode_discover_reply(p.encode_frame(p.TYPE_DISCOVER_REPLY, p.encode_tlv(1, b"\0\0\0\1")))
    with pytest.raises(p.ProtocolError):
        p.decode_discover_reply(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n")
    # bytes after the CRC are ignored, as libhdhomerun does
    assert p.decode_discover_reply(good + b"junk").device_id == "1053C0CA"


def test_old_firmware_fixups() -> None:
    # An HDHR-US (id range 0x101) without tuner count or base URL: 2 tuners, http://ip:80.
    payload = p.encode_tlv(p.TAG_DEVICE_TYPE, struct.pack(">I", 1)) + p.encode_tlv(
        p.TAG_DEVICE_ID, struct.pack(">I", 0x1010A2B3))
    device = p.decode_discover_reply(p.encode_frame(p.TYPE_DISCOVER_REPLY, payload), ip="192.168.1.20")
    assert device.tuner_count == 2 and device.base_url == "http://192.168.1.20:80"
    assert device.legacy and device.lineup_url is None
    # HDHR-T1-US: one tuner
    payload = p.encode_tlv(p.TAG_DEVICE_ID, struct.pack(">I", 0x1020A2B3))
    assert p.decode_discover_reply(p.encode_frame(p.TYPE_DISCOVER_REPLY, payload), ip="x").tuner_count == 1
    # Strings with a trailing NUL, and the deprecated binary device auth
    payload = (p.encode_tlv(p.TAG_DEVICE_ID, struct.pack(">I", 0x1053C0CA))
               + p.encode_tlv(p.TAG_BASE_URL, b"http://1.2.3.4:80\0")
               + p.encode_tlv(p.TAG_DEVICE_AUTH_BIN, bytes(range(18))))
    device = p.decode_discover_reply(p.encode_frame(p.TYPE_DISCOVER_REPLY, payload))
    assert device.base_url == "http://1.2.3.4:80" and len(device.device_auth or "") == 24


def test_device_id_check_digit_and_legacy_ranges() -> None:
    for good in ("1053C0CA", "10439EFD", "FFFFFFFF"):
        assert p.valid_device_id(int(good, 16)), good
    assert not p.valid_device_id(0x1053C0CB)
    assert not p.valid_device_id(0x12345678)
    assert p.parse_device_id("1053c0ca") == 0x1053C0CA and p.parse_device_id("10xxxxx5") is None
    assert p.format_device_id(0x0000ABCD) == "0000ABCD"
    assert p.is_legacy_device_id(0x10300000) and p.is_legacy_device_id(0x12200001)
    assert p.is_legacy_device_id(0x10030000) and not p.is_legacy_device_id(0x10040000)
    assert not p.is_legacy_device_id(0x1053C0CA)
    reply = p.encode_discover_reply(p.DiscoveredDevice(device_id="1053C0CB", tuner_count=2))
    assert p.decode_discover_reply(reply).id_valid is False


# -- against Silicondust's hdhomerun_config ---------------------------------------------------------
_RESPONDER = textwrap.dedent("""
    import json, socket
    from omnimedia.plugins.hdhomerun import protocol as p
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", p.DISCOVER_PORT))
    print("ready", flush=True)
    s.settimeout(20)
    data, addr = s.recvfrom(2048)
    asked = p.decode_discover_request(data, sender=addr[0])
    reply = p.DiscoveredDevice(device_id="1053C0CA", tuner_count=4, base_url="http://127.0.0.1:80",
                               lineup_url="http://127.0.0.1:80/lineup.json", device_auth="abc")
    s.sendto(p.encode_discover_reply(reply), addr)
    print(json.dumps({"request": data.hex(), "asked": list(asked)}), flush=True)
""")


@pytest.mark.netns
def test_hdhomerun_config_finds_our_reply(tmp_path: Path) -> None:
    """``hdhomerun_config discover 127.0.0.1`` in a throwaway network namespace (port 65001 is
    the real one, so it must not be taken on the test machine): it reports our encoded reply as a
    device, and its request decodes with our decoder."""
    reason = netns_unavailable_reason()
    if reason:
        pytest.skip(reason)
    tool = shutil.which("hdhomerun_config")
    if tool is None:
        pytest.skip("hdhomerun_config is not installed (Debian: apt install hdhomerun-config)")
    ns = f"omm-hp{tmp_path.name[-8:]}".replace("_", "")[:14]
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True, capture_output=True)
        script = tmp_path / "responder.py"
        script.write_text(_RESPONDER)
        responder = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(script)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert responder.stdout is not None
            assert responder.stdout.readline().strip() == "ready", responder.stderr.read() if responder.stderr else ""
            found = subprocess.run(["ip", "netns", "exec", ns, tool, "discover", "127.0.0.1"],
                                   capture_output=True, text=True, timeout=20)
            seen = json.loads(responder.stdout.readline())
        finally:
            responder.kill()
            responder.wait()
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert "hdhomerun device 1053C0CA found at 127.0.0.1" in found.stdout, found.stdout + found.stderr
    assert seen["asked"] == [p.DEVICE_TYPE_WILDCARD, p.DEVICE_ID_WILDCARD]
    assert bytes.fromhex(seen["request"]) == p.encode_discover_request(p.DEVICE_TYPE_WILDCARD)

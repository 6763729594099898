"""The HDHomeRun UDP discovery protocol: frames, tag-length-value fields, and the discover
request and reply.

Written from the description in Silicondust's libhdhomerun (LGPL; ``hdhomerun_pkt.h`` explains the
frame, ``hdhomerun_discover.c`` the request, the reply's tags and the fix-ups for old firmware);
no code is taken from it.

A frame (UDP port 65001, both directions)::

    u16 BE  packet type          0x0002 discover request, 0x0003 discover reply
    u16 BE  payload length       bytes
    ...     payload              a sequence of TLVs
    u32 LE  CRC-32               Ethernet CRC (zlib.crc32) over type + length + payload

A TLV is ``u8 tag``, ``varlen length``, ``length`` bytes of value. The length takes one byte when
it is below 128; otherwise two: the low seven bits with 0x80 set, then the length shifted right by
seven. Unknown tags are skipped (libhdhomerun: "unknown tags should be skipped and not treated
as an error").

A discover request carries the device type (tuner ``0x00000001``, or the wildcard
``0xFFFFFFFF``, which Silicondust's own ``hdhomerun_config discover`` sends) and the device id
(wildcard ``0xFFFFFFFF`` for every device). A reply carries the same two tags plus, depending on
the firmware, the tuner count, the base URL, the lineup URL and the device auth string.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

__all__ = [
    "DEVICE_ID_WILDCARD", "DEVICE_TYPE_STORAGE", "DEVICE_TYPE_TUNER", "DEVICE_TYPE_WILDCARD",
    "DISCOVER_PORT", "MAX_PACKET_SIZE", "TAG_BASE_URL", "TAG_DEVICE_AUTH_BIN", "TAG_DEVICE_AUTH_STR",
    "TAG_DEVICE_ID", "TAG_DEVICE_TYPE", "TAG_LINEUP_URL", "TAG_STORAGE_ID", "TAG_STORAGE_URL",
    "TAG_TUNER_COUNT", "TYPE_DISCOVER_REPLY", "TYPE_DISCOVER_REQUEST", "DiscoveredDevice",
    "ProtocolError", "decode_discover_reply", "decode_discover_request", "decode_frame",
    "decode_tlvs", "encode_discover_reply", "encode_discover_request", "encode_frame", "encode_tlv",
    "format_device_id", "is_legacy_device_id", "parse_device_id", "valid_device_id",
]

#: UDP port devices listen on for discover requests (``HDHOMERUN_DISCOVER_UDP_PORT``).
DISCOVER_PORT = 65001
#: Largest frame a device sends or accepts, bytes (``HDHOMERUN_MAX_PACKET_SIZE``).
MAX_PACKET_SIZE = 1460

TYPE_DISCOVER_REQUEST = 0x0002
TYPE_DISCOVER_REPLY = 0x0003

TAG_DEVICE_TYPE = 0x01
TAG_DEVICE_ID = 0x02
TAG_TUNER_COUNT = 0x10
TAG_LINEUP_URL = 0x27
TAG_STORAGE_URL = 0x28
TAG_DEVICE_AUTH_BIN = 0x29  # deprecated: 18 bytes shown as 24 base64 characters
TAG_BASE_URL = 0x2A
TAG_DEVICE_AUTH_STR = 0x2B
TAG_STORAGE_ID = 0x2C

DEVICE_TYPE_TUNER = 0x00000001
DEVICE_TYPE_STORAGE = 0x00000005
DEVICE_TYPE_WILDCARD = 0xFFFFFFFF
DEVICE_ID_WILDCARD = 0xFFFFFFFF

_HEADER = struct.Struct(">HH")
_TYPE_NAMES = {TYPE_DISCOVER_REQUEST: "discover request", TYPE_DISCOVER_REPLY: "discover reply",
               0x0004: "get/set request", 0x0005: "get/set reply", 0x0006: "upgrade request",
               0x0007: "upgrade reply"}
#: Largest value a two-byte varlen can say (7 + 8 bits).
_MAX_VARLEN = 0x7FFF


class ProtocolError(ValueError):
    """A datagram that is not a valid HDHomeRun frame, or not the frame expected. The message
    says what is wrong (and the sender, when the caller gave it)."""


# -- frames and TLVs -------------------------------------------------------------------------------
def _encode_varlen(length: int) -> bytes:
    if length < 0 or length > _MAX_VARLEN:
        raise ValueError(f"TLV length {length} does not fit the protocol's 15-bit length")
    if length < 0x80:
        return bytes((length,))
    return bytes(((length & 0x7F) | 0x80, length >> 7))


def encode_tlv(tag: int, value: bytes) -> bytes:
    """One tag-length-value field: ``tag`` (0–255) and ``value`` (at most 32767 bytes)."""
    if not 0 <= tag <= 0xFF:
        raise ValueError(f"tag {tag} is not one byte")
    return bytes((tag,)) + _encode_varlen(len(value)) + value


def encode_frame(packet_type: int, payload: bytes) -> bytes:
    """A whole frame: header, ``payload`` and its CRC-32 (little-endian)."""
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes is too long for one frame")
    body = _HEADER.pack(packet_type, len(payload)) + payload
    return body + struct.pack("<I", zlib.crc32(body))


def decode_frame(data: bytes, *, sender: str | None = None) -> tuple[int, bytes]:
    """``(packet type, payload)`` of one frame. Raises :class:`ProtocolError` when the datagram
    is shorter than its header says or its CRC does not match. Bytes after the CRC are ignored
    (libhdhomerun does the same)."""
    where = f" from {sender}" if sender else ""
    if len(data) < _HEADER.size + 4:
        raise ProtocolError(f"datagram{where} of {len(data)} bytes is too short for an HDHomeRun frame (8 bytes at least)")
    packet_type, length = _HEADER.unpack_from(data)
    end = _HEADER.size + length
    if len(data) < end + 4:
        raise ProtocolError(
            f"datagram{where} is truncated: its header announces {length} payload bytes, "
            f"{max(0, len(data) - _HEADER.size - 4)} arrived"
        )
    expected = struct.unpack_from("<I", data, end)[0]
    actual = zlib.crc32(data[:end])
    if expected != actual:
        raise ProtocolError(f"datagram{where} has a bad CRC-32 (0x{expected:08x} sent, 0x{actual:08x} computed)")
    return packet_type, bytes(data[_HEADER.size:end])


def decode_tlvs(payload: bytes, *, sender: str | None = None) -> list[tuple[int, bytes]]:
    """Every ``(tag, value)`` of a payload, in order. Raises :class:`ProtocolError` when a field
    runs past the end of the payload."""
    where = f" from {sender}" if sender else ""
    out: list[tuple[int, bytes]] = []
    pos, size = 0, len(payload)
    while pos < size:
        tag = payload[pos]
        pos += 1
        if pos >= size:
            raise ProtocolError(f"frame{where}: tag 0x{tag:02x} at the end of the payload has no length")
        length = payload[pos]
        pos += 1
        if length & 0x80:
            if pos >= size:
                raise ProtocolError(f"frame{where}: tag 0x{tag:02x} has a two-byte length cut off")
            length = (length & 0x7F) | (payload[pos] << 7)
            pos += 1
        if pos + length > size:
            raise ProtocolError(
                f"frame{where}: tag 0x{tag:02x} says {length} bytes but only {size - pos} remain in the payload"
            )
        out.append((tag, bytes(payload[pos:pos + length])))
        pos += length
    return out


# -- device ids ------------------------------------------------------------------------------------
_CHECK_TABLE = (0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0)


def valid_device_id(device_id: int) -> bool:
    """Whether the 32-bit id's check digit is right (libhdhomerun
    ``hdhomerun_discover_validate_device_id``: XOR of the odd nibbles mapped through a fixed table
    and the even nibbles is zero). Every real device has a valid id; a typo usually does not."""
    checksum = 0
    for shift in (28, 20, 12, 4):
        checksum ^= _CHECK_TABLE[(device_id >> shift) & 0xF]
        checksum ^= (device_id >> (shift - 4)) & 0xF
    return checksum == 0


def is_legacy_device_id(device_id: int) -> bool:
    """Whether the id belongs to a legacy model (no HTTP streaming, no ``lineup.json``): the
    ranges of libhdhomerun's ``hdhomerun_discover_is_legacy`` (HDHR-US, HDHR-T1-US, HDHR3-US,
    HDHR3-DT, HDHR-EU, HDHR3-EU, early TECH models)."""
    prefix = device_id >> 20
    if prefix == 0x100:
        return device_id < 0x10040000
    if prefix == 0x120:
        return device_id < 0x12030000
    return prefix in (0x101, 0x102, 0x103, 0x111, 0x121, 0x122)


def format_device_id(device_id: int) -> str:
    """``0x1053C0CA`` → ``"1053C0CA"`` (as devices print it and ``discover.json`` says it)."""
    return f"{device_id:08X}"


def parse_device_id(text: str) -> int | None:
    """``"1053C0CA"`` → ``0x1053C0CA``; ``None`` when it is not eight hex digits."""
    text = text.strip()
    if len(text) != 8:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


# -- discover request and reply --------------------------------------------------------------------
@dataclass(slots=True)
class DiscoveredDevice:
    """One device's discover reply.

    ``device_id``: eight hex digits (``"1053C0CA"``); ``device_type``: ``DEVICE_TYPE_TUNER`` for
    tuners; ``ip``: where the reply came from; ``tuner_count``: 0 when neither the reply nor the
    old-firmware table says; ``base_url`` (``http://ip:80`` when the firmware does not send one,
    as libhdhomerun assumes), ``lineup_url`` (``None`` on legacy models and old firmware),
    ``device_auth``; ``legacy``: the id is in a legacy model's range; ``id_valid``: the id's
    check digit is right; ``extra``: unknown tags, tag → raw value."""

    device_id: str
    device_type: int = DEVICE_TYPE_TUNER
    ip: str | None = None
    tuner_count: int = 0
    base_url: str | None = None
    lineup_url: str | None = None
    device_auth: str | None = None
    storage_id: str | None = None
    storage_url: str | None = None
    legacy: bool = False
    id_valid: bool = True
    extra: dict[int, bytes] = field(default_factory=dict)

    @property
    def is_tuner(self) -> bool:
        return self.device_type == DEVICE_TYPE_TUNER


def encode_discover_request(device_type: int = DEVICE_TYPE_TUNER, device_id: int = DEVICE_ID_WILDCARD) -> bytes:
    """The discover request libhdhomerun sends: device type then device id, each a u32 BE."""
    payload = encode_tlv(TAG_DEVICE_TYPE, struct.pack(">I", device_type)) + encode_tlv(
        TAG_DEVICE_ID, struct.pack(">I", device_id)
    )
    return encode_frame(TYPE_DISCOVER_REQUEST, payload)


def decode_discover_request(data: bytes, *, sender: str | None = None) -> tuple[int, int]:
    """``(device type, device id)`` asked for (wildcards when absent). Raises
    :class:`ProtocolError` for anything but a valid discover request."""
    packet_type, payload = decode_frame(data, sender=sender)
    if packet_type != TYPE_DISCOVER_REQUEST:
        raise ProtocolError(_wrong_type(packet_type, TYPE_DISCOVER_REQUEST, sender))
    device_type, device_id = DEVICE_TYPE_WILDCARD, DEVICE_ID_WILDCARD
    for tag, value in decode_tlvs(payload, sender=sender):
        if tag == TAG_DEVICE_TYPE and len(value) == 4:
            device_type = struct.unpack(">I", value)[0]
        elif tag == TAG_DEVICE_ID and len(value) == 4:
            device_id = struct.unpack(">I", value)[0]
    return device_type, device_id


def encode_discover_reply(device: DiscoveredDevice) -> bytes:
    """A device's reply (for tests and simulators): type, id, then the optional tags present."""
    device_id = parse_device_id(device.device_id)
    if device_id is None:
        raise ValueError(f"device id {device.device_id!r} is not eight hex digits")
    payload = encode_tlv(TAG_DEVICE_TYPE, struct.pack(">I", device.device_type))
    payload += encode_tlv(TAG_DEVICE_ID, struct.pack(">I", device_id))
    if device.tuner_count:
        payload += encode_tlv(TAG_TUNER_COUNT, bytes((device.tuner_count,)))
    for tag, text in ((TAG_DEVICE_AUTH_STR, device.device_auth), (TAG_BASE_URL, device.base_url),
                      (TAG_LINEUP_URL, device.lineup_url), (TAG_STORAGE_ID, device.storage_id),
                      (TAG_STORAGE_URL, device.storage_url)):
        if text:
            payload += encode_tlv(tag, text.encode("utf-8"))
    for tag, value in device.extra.items():
        payload += encode_tlv(tag, value)
    return encode_frame(TYPE_DISCOVER_REPLY, payload)


def _text(value: bytes) -> str:
    # Strings may or may not carry a trailing NUL (libhdhomerun's security note): cut at the first.
    return value.split(b"\0", 1)[0].decode("utf-8", errors="replace").strip()


def _auth_from_bin(value: bytes) -> str:
    import base64

    return base64.b64encode(value).decode("ascii")


def _wrong_type(packet_type: int, expected: int, sender: str | None) -> str:
    where = f" from {sender}" if sender else ""
    name = _TYPE_NAMES.get(packet_type, f"type 0x{packet_type:04x}")
    return f"frame{where} is a {name}, not a {_TYPE_NAMES[expected]}"


def decode_discover_reply(data: bytes, *, ip: str | None = None) -> DiscoveredDevice:
    """Parse one discover reply received from ``ip``.

    Applies libhdhomerun's fix-ups for old tuner firmware: a missing tuner count is taken from
    the id range (1 for HDHR-T1-US, 2 for HDHR-US, HDHR-EU and early TECH models), a missing
    base URL becomes ``http://<ip>:80``. Raises :class:`ProtocolError` for garbage, a bad CRC,
    another packet type, or a reply without a device id."""
    packet_type, payload = decode_frame(data, sender=ip)
    if packet_type != TYPE_DISCOVER_REPLY:
        raise ProtocolError(_wrong_type(packet_type, TYPE_DISCOVER_REPLY, ip))
    device_type: int | None = None
    device_id: int | None = None
    device = DiscoveredDevice(device_id="", ip=ip)
    for tag, value in decode_tlvs(payload, sender=ip):
        if tag == TAG_DEVICE_TYPE and len(value) == 4:
            device_type = struct.unpack(">I", value)[0]
        elif tag == TAG_DEVICE_ID and len(value) == 4:
            device_id = struct.unpack(">I", value)[0]
        elif tag == TAG_TUNER_COUNT and len(value) == 1:
            device.tuner_count = value[0]
        elif tag == TAG_BASE_URL:
            device.base_url = _text(value) or None
        elif tag == TAG_LINEUP_URL:
            device.lineup_url = _text(value) or None
        elif tag == TAG_DEVICE_AUTH_STR:
            device.device_auth = _text(value) or None
        elif tag == TAG_DEVICE_AUTH_BIN and len(value) == 18:
            device.device_auth = device.device_auth or _auth_from_bin(value)
        elif tag == TAG_STORAGE_ID:
            device.storage_id = _text(value) or None
        elif tag == TAG_STORAGE_URL:
            device.storage_url = _text(value) or None
        else:
            device.extra[tag] = value
    if device_id is None:
        where = f" from {ip}" if ip else ""
        raise ProtocolError(f"discover reply{where} has no device id")
    device.device_id = format_device_id(device_id)
    device.device_type = DEVICE_TYPE_TUNER if device_type is None else device_type
    device.legacy = is_legacy_device_id(device_id)
    device.id_valid = valid_device_id(device_id)
    if device.device_type == DEVICE_TYPE_TUNER:
        if not device.tuner_count:
            prefix = device_id >> 20
            if prefix == 0x102:
                device.tuner_count = 1
            elif prefix in (0x100, 0x101, 0x121):
                device.tuner_count = 2
        if not device.base_url and ip:
            device.base_url = f"http://{ip}:80"
    return device

"""A faithful HDHomeRun network tuner, simulated: the HTTP API, live MPEG-TS streams with tuner
leases, UDP discovery, and faults on demand — for tests and for trying the DVR by hand.

Sources for every protocol detail (read, then written anew here):

- HTTP API: Silicondust's "HDHomeRun HTTP Development Guide" (info.hdhomerun.com/info/http_api):
  ``/lineup.json`` entries (``GuideNumber`` string, ``GuideName``, ``VideoCodec``,
  ``AudioCodec``, ``HD``/``Favorite``/``DRM`` as the number ``1`` and absent otherwise, ``URL``);
  streaming ``/auto/v<GuideNumber>`` (first free tuner) and ``/tuner<N>/v<GuideNumber>`` (that
  tuner); ``duration=<seconds>`` ends the stream; ``transcode=<profile>`` is for EXTEND models only;
  an unknown channel is ``404 Not Found``, no free tuner is ``503 Service Unavailable`` with an
  ``X-HDHomeRun-Error`` header; the lease ends when the client closes the connection.
- JSON shapes and value styles: real devices' answers in ``/work/shared/fixtures/tv/hdhomerun``
  (``discover.json`` of an HDHR3-CC PRIME and of a legacy HDHR3-US, a PRIME's ``lineup.json``)
  and the scan API (``/lineup_status.json`` ``ScanInProgress``/``ScanPossible``/``Source``/
  ``SourceList``, during a scan ``Progress``/``Found``; ``POST /lineup.post?scan=start|abort``).
- UDP discovery: libhdhomerun (``hdhomerun_pkt.h``/``hdhomerun_pkt.c``/
  ``hdhomerun_discover.c``, LGPL, read only): a frame is ``type`` (u16 BE) + payload length
  (u16 BE) + TLV payload + CRC-32 (zlib's, little-endian) of everything before it; a TLV length
  is one byte below 128, else two bytes (low 7 bits | 0x80, then the rest); discover request
  ``0x0002``, reply ``0x0003``; tags device type ``0x01`` (tuner ``1``, wildcard
  ``0xFFFFFFFF``), device id ``0x02`` (wildcard ``0xFFFFFFFF``), tuner count ``0x10`` (1 byte),
  lineup URL ``0x27``, base URL ``0x2A``, device auth ``0x2B``; device ids carry a check digit
  (``hdhomerun_discover_validate_device_id``; :func:`valid_device_id`).

What differs from a real device (on purpose): one HTTP port for everything (a device serves the
JSON on port 80 and streams on 5004; here ``BaseURL`` and every ``URL`` use the simulator's own
``host:port``); ``transcode=`` is accepted and ignored (as a non-EXTEND model does: the stream is
the broadcast, and the value is recorded in :attr:`HDHomeRunSimulator.stream_log`); the
broadcast of a channel is a looped ffmpeg-made MPEG-TS (:mod:`tests.tv_media`) whose PCR,
PTS/DTS and continuity counters are rewritten on every loop so the stream is continuous like a
real one; every stream starts at the beginning of the loop (a keyframe), so tests know where the
commercial breaks are; the TCP control protocol (``hdhomerun_config <id> get …``) is not
implemented.

Use::

    sim = HDHomeRunSimulator(tuner_count=2)
    await sim.start()           # makes (or reuses) the channels' MPEG-TS, then listens
    sim.base_url                # "http://127.0.0.1:PORT"
    ...
    await sim.stop()

or by hand: ``python -m tests.hdhomerun_sim --tuners 2 --port 5004 --discovery-port 65001``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import contextlib
import hashlib
import itertools
import logging
import socket
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from .tv_media import TvMedia, cached_tv_ts

_LOGGER = logging.getLogger(__name__)

TS_PACKET = 188
#: Packets per chunk written to the HTTP body (~12 KB): about 10 writes a second at the
#: channels' bit rates, so pacing is smooth and each write is small.
CHUNK_PACKETS = 64

# UDP discovery (libhdhomerun hdhomerun_pkt.h)
DISCOVER_PORT = 65001
TYPE_DISCOVER_REQ = 0x0002
TYPE_DISCOVER_RPY = 0x0003
TAG_DEVICE_TYPE = 0x01
TAG_DEVICE_ID = 0x02
TAG_TUNER_COUNT = 0x10
TAG_LINEUP_URL = 0x27
TAG_BASE_URL = 0x2A
TAG_DEVICE_AUTH_STR = 0x2B
DEVICE_TYPE_TUNER = 0x00000001
DEVICE_TYPE_WILDCARD = 0xFFFFFFFF
DEVICE_ID_WILDCARD = 0xFFFFFFFF

#: ``X-HDHomeRun-Error`` values a device sends with its 503/404 answers.
ERR_TUNER_IN_USE = "804 Tuner In Use"
ERR_ALL_TUNERS_IN_USE = "805 All Tuners In Use"
ERR_UNKNOWN_CHANNEL = "801 Unknown Channel"

#: Friendly names and firmware names of some real models (shown in discover.json).
MODELS: dict[str, tuple[str, str]] = {
    "HDHR5-4US": ("HDHomeRun CONNECT QUATRO", "hdhomerun5_atsc"),
    "HDHR5-2US": ("HDHomeRun CONNECT DUO", "hdhomerun5_atsc"),
    "HDHR4-2US": ("HDHomeRun CONNECT", "hdhomerun4_atsc"),
    "HDHR3-US": ("HDHomeRun DUAL", "hdhomerun3_atsc"),
    "HDHR3-CC": ("HDHomeRun PRIME", "hdhomerun3_cablecard"),
    "HDFX-4K": ("HDHomeRun FLEX 4K", "hdhomerun_dvr_atsc3"),
    "HDTC-2US": ("HDHomeRun EXTEND", "hdhomeruntc_atsc"),
}

FAULTS = ("stall", "corrupt", "disconnect", "refuse")

_CHECK_TABLE = (0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0)


def valid_device_id(device_id: int | str) -> bool:
    """Whether an HDHomeRun device id (int or 8 hex digits) has a valid check digit: the XOR of
    the odd nibbles (counting from the most significant) through a lookup table and the even
    nibbles as they are is zero (source: libhdhomerun ``hdhomerun_discover_validate_device_id``)."""
    value = int(device_id, 16) if isinstance(device_id, str) else device_id
    check = 0
    for i, shift in enumerate(range(28, -1, -4)):
        nibble = (value >> shift) & 0xF
        check ^= _CHECK_TABLE[nibble] if i % 2 == 0 else nibble
    return check == 0


def with_check_digit(device_id: int | str) -> str:
    """``device_id`` with its last hex digit replaced so :func:`valid_device_id` holds."""
    value = int(device_id, 16) if isinstance(device_id, str) else device_id
    for last in range(16):
        candidate = (value & ~0xF) | last
        if valid_device_id(candidate):
            return f"{candidate:08X}"
    raise AssertionError("unreachable: one last digit always fits")


# -- channels ---------------------------------------------------------------------------------


@dataclass(slots=True)
class SimChannel:
    """One channel of the simulated lineup.

    ``number``: the GuideNumber ("2.1"); ``name``: the GuideName; ``codec``: ``"h264"`` or
    ``"mpeg2video"`` (lineup ``VideoCodec`` "H264"/"MPEG2"); ``hd``: the lineup ``HD`` flag and
    a 640x360 picture (else 320x240); ``radio``: audio only (no ``VideoCodec`` in the lineup);
    ``favorite``/``drm``: the lineup flags (``drm`` is only shown: the stream is not encrypted).
    The broadcast loops ``programme_seconds`` of programme, then a break of ``break_seconds``
    black + silence, ``commercial_seconds`` of commercial, ``break_seconds`` black + silence
    (:mod:`tests.tv_media`)."""

    number: str = "2.1"
    name: str = "SIM-ONE"
    codec: str = "h264"
    hd: bool = True
    programme_seconds: float = 20.0
    commercial_seconds: float = 10.0
    break_seconds: float = 1.0
    radio: bool = False
    favorite: bool = False
    drm: bool = False

    def lineup_entry(self, base_url: str) -> dict[str, Any]:
        """The channel as ``/lineup.json`` shows it (flags only when set, as devices do)."""
        entry: dict[str, Any] = {"GuideNumber": self.number, "GuideName": self.name}
        if not self.radio:
            entry["VideoCodec"] = "H264" if self.codec == "h264" else "MPEG2"
        entry["AudioCodec"] = "AC3"
        if self.hd and not self.radio:
            entry["HD"] = 1
        if self.favorite:
            entry["Favorite"] = 1
        if self.drm:
            entry["DRM"] = 1
        entry["URL"] = f"{base_url}/auto/v{self.number}"
        return entry

    def media_params(self) -> dict[str, Any]:
        return {
            "codec": self.codec, "hd": self.hd, "radio": self.radio,
            "programme_seconds": self.programme_seconds, "commercial_seconds": self.commercial_seconds,
            "break_seconds": self.break_seconds, "cycles": 1, "service_name": self.name,
        }


def default_channels() -> list[SimChannel]:
    """2.1 SIM-ONE (H.264 HD), 2.2 SIM-TWO (H.264 SD), 4.1 SIM-MPEG2 (MPEG-2 SD), 9.1 SIM-RADIO
    (audio only)."""
    return [
        SimChannel("2.1", "SIM-ONE", "h264", hd=True),
        SimChannel("2.2", "SIM-TWO", "h264", hd=False),
        SimChannel("4.1", "SIM-MPEG2", "mpeg2video", hd=False),
        SimChannel("9.1", "SIM-RADIO", "h264", hd=False, radio=True),
    ]


def _frequency(number: str) -> int:
    """A plausible US broadcast frequency (Hz) for a channel's major number (RF channel = major)."""
    try:
        rf = int(number.split(".")[0])
    except ValueError:
        rf = 14
    if 2 <= rf <= 4:
        mhz = 57 + 6 * (rf - 2)
    elif 5 <= rf <= 6:
        mhz = 79 + 6 * (rf - 5)
    elif 7 <= rf <= 13:
        mhz = 177 + 6 * (rf - 7)
    else:
        mhz = 473 + 6 * (max(14, min(rf, 36)) - 14)
    return mhz * 1_000_000


# -- the looped broadcast ------------------------------------------------------------------------

_TS_MOD = 1 << 33


def _read_ts(b: bytes | bytearray, off: int) -> int:
    """A 33-bit PES timestamp (PTS/DTS) at ``off`` (ISO 13818-1 2.4.3.7)."""
    return (((b[off] >> 1) & 0x07) << 30) | (b[off + 1] << 22) | ((b[off + 2] >> 1) << 15) \
        | (b[off + 3] << 7) | (b[off + 4] >> 1)


def _write_ts(b: bytearray, off: int, value: int) -> None:
    prefix = b[off] & 0xF0
    b[off] = prefix | (((value >> 30) & 0x07) << 1) | 1
    b[off + 1] = (value >> 22) & 0xFF
    b[off + 2] = (((value >> 15) & 0x7F) << 1) | 1
    b[off + 3] = (value >> 7) & 0xFF
    b[off + 4] = ((value & 0x7F) << 1) | 1


def _read_pcr(b: bytes | bytearray, off: int) -> tuple[int, int]:
    base = (b[off] << 25) | (b[off + 1] << 17) | (b[off + 2] << 9) | (b[off + 3] << 1) | (b[off + 4] >> 7)
    ext = ((b[off + 4] & 1) << 8) | b[off + 5]
    return base, ext


def _write_pcr(b: bytearray, off: int, base: int, ext: int) -> None:
    b[off] = (base >> 25) & 0xFF
    b[off + 1] = (base >> 17) & 0xFF
    b[off + 2] = (base >> 9) & 0xFF
    b[off + 3] = (base >> 1) & 0xFF
    b[off + 4] = ((base & 1) << 7) | 0x7E | ((ext >> 8) & 1)
    b[off + 5] = ext & 0xFF


class TsLoop:
    """An MPEG-TS file prepared for endless, continuous playout.

    The file is cut into chunks of :data:`CHUNK_PACKETS` packets; each chunk has a due time
    (seconds after the stream started, from the PCR) and the places of its timestamps. Loop ``k``
    adds ``k × period`` to every PCR, PTS and DTS (33-bit wrap-around) and every packet's
    continuity counter is renumbered per PID, so a client sees one unbroken broadcast.
    ``period`` (90 kHz ticks) is the longest span of any PID's timestamps plus one frame of it,
    so timestamps never go back between loops."""

    def __init__(self, data: bytes) -> None:
        n = len(data) // TS_PACKET
        if n == 0:
            raise ValueError("TsLoop: no MPEG-TS packets")
        self.data = data[: n * TS_PACKET]
        # per chunk: [(rel_off, kind, value, ext)] and [(rel_off of header byte 3, pid, payload)]
        self.chunk_fields: list[list[tuple[int, str, int, int]]] = []
        self.chunk_cc: list[list[tuple[int, int, bool]]] = []
        self.chunk_pcr: list[float | None] = []
        spans: dict[tuple[int, str], list[int]] = {}
        first_pcr: int | None = None
        for c0 in range(0, n, CHUNK_PACKETS):
            fields: list[tuple[int, str, int, int]] = []
            ccs: list[tuple[int, int, bool]] = []
            last_pcr: float | None = None
            for p in range(c0, min(n, c0 + CHUNK_PACKETS)):
                off = p * TS_PACKET
                rel = off - c0 * TS_PACKET
                b = self.data
                if b[off] != 0x47:
                    raise ValueError(f"TsLoop: lost sync at byte {off}")
                pid = ((b[off + 1] & 0x1F) << 8) | b[off + 2]
                pusi = bool(b[off + 1] & 0x40)
                afc = (b[off + 3] >> 4) & 0x3
                has_payload = bool(afc & 1)
                ccs.append((rel + 3, pid, has_payload))
                pos = off + 4
                if afc & 2:
                    af_len = b[pos]
                    if af_len > 0 and b[pos + 1] & 0x10:
                        base, ext = _read_pcr(b, pos + 2)
                        fields.append((rel + 6, "pcr", base, ext))
                        value = base * 300 + ext
                        if first_pcr is None:
                            first_pcr = value
                        last_pcr = (value - first_pcr) / 27_000_000
                        spans.setdefault((pid, "pcr"), []).append(base)
                    pos += 1 + af_len
                if has_payload and pusi and pos + 14 <= off + TS_PACKET \
                        and b[pos] == 0 and b[pos + 1] == 0 and b[pos + 2] == 1:
                    stream_id = b[pos + 3]
                    if stream_id not in (0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xFF, 0xF2, 0xF8):
                        flags = b[pos + 7] >> 6
                        if flags & 2:
                            fields.append((rel + pos - off + 9, "pts", _read_ts(b, pos + 9), 0))
                            spans.setdefault((pid, "pts"), []).append(_read_ts(b, pos + 9))
                        if flags == 3 and pos + 19 <= off + TS_PACKET:
                            fields.append((rel + pos - off + 14, "dts", _read_ts(b, pos + 14), 0))
                            spans.setdefault((pid, "dts"), []).append(_read_ts(b, pos + 14))
            self.chunk_fields.append(fields)
            self.chunk_cc.append(ccs)
            self.chunk_pcr.append(last_pcr)
        # Due times: the last PCR seen by the end of the chunk (0 before the first PCR).
        self.chunk_due: list[float] = []
        t = 0.0
        for pcr in self.chunk_pcr:
            if pcr is not None:
                t = max(t, pcr)
            self.chunk_due.append(t)
        period = 0
        for values in spans.values():
            uniq = sorted(set(values))
            gaps = [b - a for a, b in itertools.pairwise(uniq)]
            step = min(gaps, default=0)
            if gaps and max(gaps) > 10 * 90000:
                continue  # a wrap-around inside the file: ignore this span
            period = max(period, uniq[-1] - uniq[0] + step)
        if period <= 0:
            raise ValueError("TsLoop: no timestamps in the stream")
        self.period = period  # 90 kHz ticks
        self.period_seconds = period / 90000
        self.chunks = len(self.chunk_fields)

    def chunk(self, loop: int, index: int, cc: dict[int, int]) -> bytearray:
        """Chunk ``index`` of loop ``loop``, timestamps shifted and continuity counters
        renumbered (``cc``: the last counter per PID of this stream, updated)."""
        start = index * CHUNK_PACKETS * TS_PACKET
        buf = bytearray(self.data[start: start + CHUNK_PACKETS * TS_PACKET])
        shift = loop * self.period
        if shift:
            for rel, kind, value, ext in self.chunk_fields[index]:
                if kind == "pcr":
                    _write_pcr(buf, rel, (value + shift) % _TS_MOD, ext)
                else:
                    _write_ts(buf, rel, (value + shift) % _TS_MOD)
        for rel, pid, has_payload in self.chunk_cc[index]:
            last = cc.get(pid)
            if last is None:
                cc[pid] = buf[rel] & 0x0F
                continue
            if has_payload:
                last = (last + 1) & 0x0F
                cc[pid] = last
            buf[rel] = (buf[rel] & 0xF0) | last
        return buf


# -- streams, leases, faults -----------------------------------------------------------------


@dataclass(slots=True)
class _Fault:
    kind: str
    after: float
    channel: str | None
    set_at: float  # loop time


class _Stream:
    """One leased tuner streaming one channel to one client."""

    def __init__(self, channel: SimChannel, tuner: int, client: str, log: dict[str, Any], now: float) -> None:
        self.channel = channel
        self.tuner = tuner
        self.client = client
        self.log = log
        self.started = now  # loop time
        self.transport: asyncio.BaseTransport | None = None
        self.ended = asyncio.Event()
        self.rate_bps = 0


def _corrupt(buf: bytearray) -> None:
    """Damage a chunk like bad reception: flip payload bytes in every 4th packet and break the
    continuity counter of the first packet (sync bytes stay, so packets still frame)."""
    for off in range(0, len(buf), TS_PACKET * 4):
        for k in (40, 90, 150):
            if off + k < len(buf):
                buf[off + k] ^= 0xFF
    if len(buf) >= TS_PACKET:
        buf[3] = (buf[3] & 0xF0) | ((buf[3] + 7) & 0x0F)


# -- UDP discovery -------------------------------------------------------------------------------


def _varlen(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    return bytes([(n & 0x7F) | 0x80, n >> 7])


def encode_frame(frame_type: int, tlvs: list[tuple[int, bytes]]) -> bytes:
    """One HDHomeRun frame: type, length, TLVs, CRC-32 little-endian (libhdhomerun
    ``hdhomerun_pkt_seal_frame``)."""
    payload = b"".join(bytes([tag]) + _varlen(len(value)) + value for tag, value in tlvs)
    head = struct.pack(">HH", frame_type, len(payload)) + payload
    return head + struct.pack("<I", zlib.crc32(head) & 0xFFFFFFFF)


def decode_frame(data: bytes) -> tuple[int, list[tuple[int, bytes]]]:
    """``(type, [(tag, value)])`` of one frame; ``ValueError`` when it is short, its length is
    wrong or its CRC does not match (libhdhomerun ``hdhomerun_pkt_open_frame``/``read_tlv``)."""
    if len(data) < 8:
        raise ValueError("frame too short")
    frame_type, length = struct.unpack(">HH", data[:4])
    if len(data) < 4 + length + 4:
        raise ValueError("frame shorter than its length")
    body = data[: 4 + length]
    (crc,) = struct.unpack("<I", data[4 + length: 8 + length])
    if zlib.crc32(body) & 0xFFFFFFFF != crc:
        raise ValueError("bad CRC")
    tlvs: list[tuple[int, bytes]] = []
    pos = 4
    end = 4 + length
    while pos < end:
        if pos + 2 > end:
            raise ValueError("truncated TLV")
        tag = body[pos]
        n = body[pos + 1]
        pos += 2
        if n & 0x80:
            if pos >= end:
                raise ValueError("truncated TLV length")
            n = (n & 0x7F) | (body[pos] << 7)
            pos += 1
        if pos + n > end:
            raise ValueError("TLV longer than the frame")
        tlvs.append((tag, body[pos: pos + n]))
        pos += n
    return frame_type, tlvs


class _DiscoveryProtocol(asyncio.DatagramProtocol):
    def __init__(self, sim: HDHomeRunSimulator) -> None:
        self.sim = sim
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.sim._discover_reply(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


# -- the simulator -------------------------------------------------------------------------------


class HDHomeRunSimulator:
    """A simulated HDHomeRun (see the module docstring). Not thread-safe: use it from the event
    loop that ran :meth:`start`."""

    def __init__(
        self,
        tuner_count: int = 2,
        channels: list[SimChannel] | None = None,
        device_id: str = "1053C0CA",
        host: str = "127.0.0.1",
        http_port: int = 0,
        discovery_port: int | None = None,
        legacy: bool | str = False,
        model: str = "HDHR5-4US",
        firmware: str = "20240417",
        speed: float = 1.0,
        cache_dir: Path | str | None = None,
        join: str = "start",
    ) -> None:
        if legacy not in (False, True, "json", "invalid"):
            raise ValueError(f"legacy must be False, True or 'json' (alias 'invalid'), got {legacy!r}")
        if join not in ("start", "live"):
            raise ValueError(f"join must be 'start' or 'live', got {join!r}")
        if tuner_count < 1:
            raise ValueError(f"tuner_count must be >= 1, got {tuner_count}")
        if not (isinstance(device_id, str) and len(device_id) == 8):
            raise ValueError(f"device_id must be 8 hex digits, got {device_id!r}")
        int(device_id, 16)
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self.tuner_count = tuner_count
        self.channels = list(channels) if channels is not None else default_channels()
        numbers = [c.number for c in self.channels]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"duplicate channel numbers in {numbers}")
        self.device_id = device_id.upper()
        self.host = host
        self.http_port = http_port
        self._discovery_port_wanted = discovery_port
        self.legacy = legacy
        self.model = model
        self.firmware = firmware
        self.speed = speed
        self.cache_dir = cache_dir
        self.join = join
        self._epoch = 0.0
        self.device_auth = base64.b64encode(hashlib.sha256(b"auth" + self.device_id.encode()).digest()[:18]).decode()
        self.stream_log: list[dict[str, Any]] = []
        self.bytes_served = 0
        self.discovery_port: int | None = None
        self.discover_requests = 0
        self.media: dict[str, TvMedia] = {}
        self._loops: dict[str, TsLoop] = {}
        self._leases: list[_Stream | None] = [None] * tuner_count
        self._fault: _Fault | None = None
        self._vanished = False
        self._scan: dict[str, Any] | None = None
        self._scan_task: asyncio.Task | None = None
        self.scan_source = "Antenna"
        self._runner: web.AppRunner | None = None
        self._server: asyncio.base_events.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reappearing: asyncio.Task | None = None

    # -- life cycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` (available after :meth:`start`)."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def scan_in_progress(self) -> bool:
        """Whether a channel scan (``POST /lineup.post?scan=start``) is running."""
        return self._scan is not None

    @property
    def active_streams(self) -> int:
        """Tuners currently leased by a stream."""
        return sum(1 for s in self._leases if s is not None)

    async def start(self) -> None:
        """Make (or reuse from the cache) every channel's MPEG-TS, then listen on HTTP (and UDP
        when ``discovery_port`` is not ``None``)."""
        self._loop = asyncio.get_running_loop()
        self._epoch = self._loop.time()
        for ch in self.channels:
            media = await asyncio.to_thread(cached_tv_ts, self.cache_dir, **ch.media_params())
            self.media[ch.number] = media
            self._loops[ch.number] = await asyncio.to_thread(lambda p=media.path: TsLoop(Path(p).read_bytes()))
        app = web.Application(middlewares=[self._middleware])
        app.on_response_prepare.append(self._server_header)
        app.router.add_get("/discover.json", self._discover_json)
        app.router.add_get("/lineup.json", self._lineup_json)
        app.router.add_get("/lineup.xml", self._lineup_xml)
        app.router.add_get("/lineup.m3u", self._lineup_m3u)
        app.router.add_get("/lineup_status.json", self._lineup_status)
        app.router.add_post("/lineup.post", self._lineup_post)
        app.router.add_get("/status.json", self._status_json)
        app.router.add_route("*", r"/{tuner:auto|tuner\d+}/{channel}", self._stream)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, handler_cancellation=True,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        sock = self._listen_socket(self.http_port)
        self.http_port = sock.getsockname()[1]
        self._server = await self._loop.create_server(self._protocol, sock=sock)
        if self._discovery_port_wanted is not None:
            transport, _ = await self._loop.create_datagram_endpoint(
                lambda: _DiscoveryProtocol(self), local_addr=("0.0.0.0", self._discovery_port_wanted),
                allow_broadcast=True,
            )
            self._udp = transport
            self.discovery_port = transport.get_extra_info("sockname")[1]
        _LOGGER.info("HDHomeRun simulator %s at %s", self.device_id, self.base_url)

    async def stop(self) -> None:
        """End every stream, stop listening, free the ports."""
        if self._scan_task:
            self._scan_task.cancel()
        if self._reappearing:
            with contextlib.suppress(Exception):
                await self._reappearing
        self._end_all_streams("stopped")
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> HDHomeRunSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _listen_socket(self, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        sock.listen(64)
        sock.setblocking(False)
        return sock

    def _protocol(self) -> Any:
        assert self._runner is not None and self._runner.server is not None
        return self._runner.server()

    # -- faults and device presence ---------------------------------------------------------

    def inject(self, fault: str | None, *, after: float = 0.0, channel: str | None = None) -> None:
        """Set the fault (``None`` clears it); it replaces any earlier one.

        On every stream (of ``channel`` only, when given) the fault begins ``after`` seconds
        (wall clock) after that stream started or after this call, whichever is later:
        ``"stall"``: no more bytes, the connection stays open (sending resumes where it stopped
        once the fault is cleared); ``"corrupt"``: payload bytes flipped and continuity counters
        broken in what is sent; ``"disconnect"``: the connection is closed abruptly (no end of the
        chunked body). ``"refuse"``: every HTTP request (``after`` seconds from now on) gets
        ``503``; running streams go on."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (one of {FAULTS} or None)")
        if fault is None:
            self._fault = None
            return
        self._fault = _Fault(fault, float(after), channel, self._now())

    def vanish(self) -> None:
        """The device goes away: the HTTP port stops listening (connections refused), open
        connections and streams are cut, UDP discovery stays silent. :meth:`reappear` undoes it."""
        if self._vanished:
            return
        self._vanished = True
        if self._server is not None:
            self._server.close()
            self._server = None
        self._end_all_streams("vanished")
        server = self._runner.server if self._runner is not None else None
        for handler in server.connections if server is not None else []:
            transport = getattr(handler, "transport", None)
            if transport is not None:
                transport.abort()

    def reappear(self) -> None:
        """The device is back on the same address and port (listening again at once; requests
        are served as soon as the event loop runs)."""
        if not self._vanished:
            return
        self._vanished = False
        if self._runner is None or self._loop is None:
            return
        sock = self._listen_socket(self.http_port)

        async def serve() -> None:
            assert self._loop is not None
            self._server = await self._loop.create_server(self._protocol, sock=sock)

        self._reappearing = self._loop.create_task(serve())

    def _now(self) -> float:
        loop = self._loop or asyncio.get_event_loop()
        return loop.time()

    def _fault_for(self, stream: _Stream) -> str | None:
        fault = self._fault
        if fault is None or fault.kind == "refuse":
            return None
        if fault.channel is not None and fault.channel != stream.channel.number:
            return None
        if self._now() >= max(stream.started, fault.set_at) + fault.after:
            return fault.kind
        return None

    def _end_all_streams(self, status: str) -> None:
        for stream in list(self._leases):
            if stream is None:
                continue
            if stream.log["status"] == "streaming":
                stream.log["status"] = status
            if stream.transport is not None:
                stream.transport.abort()
            self._release(stream)

    def _release(self, stream: _Stream) -> None:
        if self._leases[stream.tuner] is stream:
            self._leases[stream.tuner] = None
        if stream.log["ended"] is None:
            stream.log["ended"] = time.time()
        stream.ended.set()

    # -- HTTP ---------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        fault = self._fault
        if fault is not None and fault.kind == "refuse" and self._now() >= fault.set_at + fault.after:
            resp: web.StreamResponse = web.Response(status=503, text="Service Unavailable")
        else:
            try:
                resp = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                resp = web.Response(status=exc.status, text=exc.text or exc.reason)
        return resp

    @staticmethod
    async def _server_header(request: web.Request, resp: web.StreamResponse) -> None:
        resp.headers["Server"] = "HDHomeRun/1.0"

    def _discover_data(self) -> dict[str, Any]:
        friendly, firmware_name = MODELS.get(self.model, ("HDHomeRun", "hdhomerun_atsc"))
        data: dict[str, Any] = {
            "FriendlyName": friendly,
            "ModelNumber": self.model,
        }
        if self.legacy:
            data["Legacy"] = 1
        data.update({
            "FirmwareName": firmware_name,
            "FirmwareVersion": self.firmware,
            "DeviceID": self.device_id,
        })
        if not self.legacy:
            data["DeviceAuth"] = self.device_auth
        data["TunerCount"] = self.tuner_count
        data["BaseURL"] = self.base_url
        if not self.legacy:
            data["LineupURL"] = f"{self.base_url}/lineup.json"
        return data

    async def _discover_json(self, request: web.Request) -> web.StreamResponse:
        if self.legacy is True:
            raise web.HTTPNotFound(text="Not Found")
        return web.json_response(self._discover_data())

    def _lineup(self, show: str | None) -> list[SimChannel]:
        channels = self.channels
        if show == "unprotected":
            channels = [c for c in channels if not c.drm]
        elif show == "favorites":
            channels = [c for c in channels if c.favorite]
        return channels

    async def _lineup_json(self, request: web.Request) -> web.StreamResponse:
        if self.legacy:
            if self.legacy is True:
                raise web.HTTPNotFound(text="Not Found")
            return web.json_response({})
        show = request.query.get("show")
        return web.json_response([c.lineup_entry(self.base_url) for c in self._lineup(show)])

    async def _lineup_xml(self, request: web.Request) -> web.StreamResponse:
        if self.legacy:
            raise web.HTTPNotFound(text="Not Found")
        rows = []
        for c in self._lineup(request.query.get("show")):
            entry = c.lineup_entry(self.base_url)
            inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in entry.items())
            rows.append(f"<Program>{inner}</Program>")
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Lineup>{"".join(rows)}</Lineup>\n'
        return web.Response(text=body, content_type="application/xml")

    async def _lineup_m3u(self, request: web.Request) -> web.StreamResponse:
        if self.legacy:
            raise web.HTTPNotFound(text="Not Found")
        lines = ["#EXTM3U"]
        for c in self._lineup(request.query.get("show")):
            lines.append(f'#EXTINF:-1 channel-id="{c.number}" channel-number="{c.number}" tvg-name="{c.name}",'
                         f"{c.number} {c.name}")
            lines.append(f"{self.base_url}/auto/v{c.number}")
        return web.Response(text="\n".join(lines) + "\n", content_type="audio/x-mpegurl")

    async def _lineup_status(self, request: web.Request) -> web.StreamResponse:
        if self._scan is not None:
            return web.json_response({"ScanInProgress": 1, "Progress": self._scan["progress"],
                                      "Found": self._scan["found"]})
        return web.json_response({"ScanInProgress": 0, "ScanPossible": 1, "Source": self.scan_source,
                                  "SourceList": ["Antenna", "Cable"]})

    async def _lineup_post(self, request: web.Request) -> web.StreamResponse:
        scan = request.query.get("scan")
        if scan == "start":
            source = request.query.get("source")
            if source:
                if source not in ("Antenna", "Cable"):
                    raise web.HTTPBadRequest(text=f"unknown source {source}")
                self.scan_source = source
            if self._scan is None:
                self._scan = {"progress": 0, "found": 0}
                self._scan_task = asyncio.get_running_loop().create_task(self._run_scan())
            return web.Response(status=200, text="")
        if scan == "abort":
            if self._scan_task is not None:
                self._scan_task.cancel()
            self._scan = None
            return web.Response(status=200, text="")
        raise web.HTTPBadRequest(text="unknown lineup.post request")

    #: Seconds a channel scan takes (wall clock).
    scan_seconds = 3.0

    async def _run_scan(self) -> None:
        steps = 10
        try:
            for i in range(1, steps + 1):
                await asyncio.sleep(self.scan_seconds / steps)
                if self._scan is None:
                    return
                self._scan["progress"] = i * 100 // steps
                self._scan["found"] = len(self.channels) * i // steps
        finally:
            self._scan = None

    async def _status_json(self, request: web.Request) -> web.StreamResponse:
        out = []
        for i, stream in enumerate(self._leases):
            if stream is None:
                out.append({"Resource": f"tuner{i}"})
                continue
            out.append({
                "Resource": f"tuner{i}",
                "VctNumber": stream.channel.number,
                "VctName": stream.channel.name,
                "Frequency": _frequency(stream.channel.number),
                "SignalStrengthPercent": 100,
                "SignalQualityPercent": 100,
                "SymbolQualityPercent": 100,
                "TargetIP": stream.client,
                "NetworkRate": stream.rate_bps,
            })
        return web.json_response(out)

    def _find_channel(self, spec: str) -> SimChannel | None:
        if not spec.startswith("v"):
            return None
        number = spec[1:]
        return next((c for c in self.channels if c.number == number), None)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
        tuner_spec = request.match_info["tuner"]
        channel = self._find_channel(request.match_info["channel"])
        if channel is None:
            return web.Response(status=404, text="Not Found", headers={"X-HDHomeRun-Error": ERR_UNKNOWN_CHANNEL})
        duration: float | None = None
        if "duration" in request.query:
            try:
                duration = float(request.query["duration"])
                if duration <= 0:
                    raise ValueError
            except ValueError:
                raise web.HTTPBadRequest(text="bad duration") from None
        if tuner_spec == "auto":
            free = [i for i, s in enumerate(self._leases) if s is None]
            if not free:
                return web.Response(status=503, text="Service Unavailable",
                                    headers={"X-HDHomeRun-Error": ERR_ALL_TUNERS_IN_USE})
            tuner = free[0]
        else:
            tuner = int(tuner_spec[5:])
            if tuner >= self.tuner_count:
                raise web.HTTPNotFound(text="Not Found")
            if self._leases[tuner] is not None:
                return web.Response(status=503, text="Service Unavailable",
                                    headers={"X-HDHomeRun-Error": ERR_TUNER_IN_USE})
        headers = {"Content-Type": "video/mp2t"}
        if request.method == "HEAD":
            return web.Response(status=200, headers=headers)
        client = request.remote or ""
        log = {"channel": channel.number, "tuner": tuner, "bytes": 0, "started": time.time(), "ended": None,
               "status": "streaming", "client": client, "duration": duration,
               "transcode": request.query.get("transcode")}
        self.stream_log.append(log)
        stream = _Stream(channel, tuner, client, log, self._now())
        stream.transport = request.transport
        self._leases[tuner] = stream
        try:
            resp = web.StreamResponse(status=200, headers=headers)
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            await self._pump(stream, resp, duration)
            if log["status"] == "streaming":
                log["status"] = "duration"
                await resp.write_eof()
            return resp
        except (ConnectionError, asyncio.CancelledError):
            if log["status"] == "streaming":
                log["status"] = "closed"
            raise
        finally:
            self._release(stream)

    async def _pump(self, stream: _Stream, resp: web.StreamResponse, duration: float | None) -> None:
        """Send the channel's looped broadcast, paced by its PCR at :attr:`speed`, until the
        client leaves, ``duration`` stream seconds have been sent, or a fault ends it."""
        ts = self._loops[stream.channel.number]
        cc: dict[int, int] = {}
        t0 = self._now()
        loop_no, index = 0, 0
        if self.join == "live":
            # Join the broadcast where it is now: it has been on the air since start().
            position = (t0 - self._epoch) * self.speed
            loop_no = int(position // ts.period_seconds)
            index = bisect.bisect_left(ts.chunk_due, position - loop_no * ts.period_seconds)
            if index >= ts.chunks:
                loop_no, index = loop_no + 1, 0
        origin = loop_no * ts.period_seconds + ts.chunk_due[index]
        window_start, window_bytes = t0, 0
        while True:
            due = loop_no * ts.period_seconds + ts.chunk_due[index] - origin  # stream seconds
            if duration is not None and due >= duration:
                return
            fault = self._fault_for(stream)
            if fault == "stall":
                stalled_at = self._now()
                while self._fault_for(stream) == "stall":
                    await asyncio.sleep(0.05)
                t0 += self._now() - stalled_at
                continue
            if fault == "disconnect":
                stream.log["status"] = "disconnect"
                if stream.transport is not None:
                    stream.transport.abort()
                return
            wait = t0 + due / self.speed - self._now()
            if wait > 0:
                await asyncio.sleep(wait)
                continue  # faults may have changed while waiting
            chunk = ts.chunk(loop_no, index, cc)
            if fault == "corrupt":
                _corrupt(chunk)
            if stream.log["status"] != "streaming":
                return
            await resp.write(bytes(chunk))
            n = len(chunk)
            stream.log["bytes"] += n
            self.bytes_served += n
            window_bytes += n
            now = self._now()
            if now - window_start >= 1.0:
                stream.rate_bps = int(window_bytes * 8 / (now - window_start))
                window_start, window_bytes = now, 0
            index += 1
            if index >= ts.chunks:
                index = 0
                loop_no += 1

    # -- UDP discovery ------------------------------------------------------------------------

    def _discover_reply(self, data: bytes) -> bytes | None:
        """The reply to one discovery datagram, or ``None`` when it is not a discover request
        for this device (wrong type, bad CRC, another device type or id) or the device vanished."""
        if self._vanished:
            return None
        try:
            frame_type, tlvs = decode_frame(data)
        except ValueError:
            return None
        if frame_type != TYPE_DISCOVER_REQ:
            return None
        self.discover_requests += 1
        for tag, value in tlvs:
            if tag == TAG_DEVICE_TYPE and len(value) == 4:
                wanted = struct.unpack(">I", value)[0]
                if wanted not in (DEVICE_TYPE_WILDCARD, DEVICE_TYPE_TUNER):
                    return None
            elif tag == TAG_DEVICE_ID and len(value) == 4:
                wanted = struct.unpack(">I", value)[0]
                if wanted not in (DEVICE_ID_WILDCARD, int(self.device_id, 16)):
                    return None
        tlvs_out = [
            (TAG_DEVICE_TYPE, struct.pack(">I", DEVICE_TYPE_TUNER)),
            (TAG_DEVICE_ID, struct.pack(">I", int(self.device_id, 16))),
            (TAG_TUNER_COUNT, bytes([self.tuner_count])),
            (TAG_BASE_URL, self.base_url.encode()),
        ]
        if not self.legacy:
            tlvs_out.append((TAG_LINEUP_URL, f"{self.base_url}/lineup.json".encode()))
            tlvs_out.append((TAG_DEVICE_AUTH_STR, self.device_auth.encode()))
        return encode_frame(TYPE_DISCOVER_RPY, tlvs_out)


# -- CLI -------------------------------------------------------------------------------------------


async def _main(args: argparse.Namespace) -> None:
    sim = HDHomeRunSimulator(
        tuner_count=args.tuners, device_id=args.device_id, host=args.host, http_port=args.port,
        discovery_port=args.discovery_port, legacy=args.legacy, model=args.model, speed=args.speed,
        join=args.join,
    )
    await sim.start()
    print(f"HDHomeRun simulator {sim.device_id} ({sim.model}, {sim.tuner_count} tuners)", flush=True)
    print(f"base URL: {sim.base_url}", flush=True)
    print(f"UDP discovery: {'port ' + str(sim.discovery_port) if sim.discovery_port else 'off'}", flush=True)
    for ch in sim.channels:
        print(f"  {ch.number:6} {ch.name:12} {sim.base_url}/auto/v{ch.number}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.hdhomerun_sim", description=__doc__.split("\n")[0])
    parser.add_argument("--tuners", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5004, help="HTTP port (0: any free port)")
    parser.add_argument("--discovery-port", type=int, default=None,
                        help="UDP discovery port (65001 is the real one; default: no discovery)")
    parser.add_argument("--device-id", default="1053C0CA")
    parser.add_argument("--model", default="HDHR5-4US")
    parser.add_argument("--legacy", action="store_true")
    parser.add_argument("--speed", type=float, default=1.0, help="stream pacing multiplier (1.0: real time)")
    parser.add_argument("--join", choices=("start", "live"), default="live",
                        help="where a stream begins: the loop start, or where the broadcast is now (default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()

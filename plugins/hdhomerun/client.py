"""An HDHomeRun's HTTP API, on httpx.

Sources: Silicondust's "HDHomeRun HTTP Development Guide" (info.hdhomerun.com/info/http_api:
``lineup.json``, streaming from ``/auto/v<GuideNumber>`` and ``/tuner<N>/v<GuideNumber>``,
``duration=`` and ``transcode=`` (EXTEND models only), 404 for an unknown channel, 503 when no
tuner is free, the channel cannot be found or authorised within 5 s, or needs content protection,
with the reason in the ``X-HDHomeRun-Error`` header), and what devices answer in the field
(``discover.json``, ``lineup_status.json``, ``lineup.post?scan=start|abort``, ``status.json``;
the captures in ``../shared/fixtures/tv/hdhomerun/``).

What real devices send, and how it is read here:

- flags are ``1``/``0`` on most firmware, ``true``/``false`` on some, and missing when false;
  older firmware puts ``favorite`` and ``drm`` in a comma-separated ``Tags`` field instead;
- ``VideoCodec``/``AudioCodec`` are absent on older firmware (and on CableCARD models);
  a channel with an audio codec but no video codec (or ``AudioOnly``) is a radio service;
- legacy models (``"Legacy": 1``; HDHR3-US, HDHR-EU …) have no ``LineupURL`` and no HTTP
  streaming (their ``lineup.json`` is ``{}``), and the oldest answer 404 to ``discover.json``;
  their id and tuner count then come from UDP discovery;
- unknown fields are kept (``DeviceInfo.extra``, ``LineupChannel.extra``), never an error.

Every error names the device (friendly name, id and address) and is a
:class:`~omnimedia.core.dvr.types.TunerError`: :class:`TunerBusy` (HTTP 503),
:class:`UnknownChannel` (HTTP 404 on a stream), :class:`TunerUnavailable` (connection refused
or reset, a timeout, another 5xx, an answer that cannot be read).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from omnimedia.core.dvr.types import LineupChannel, TunerBusy, TunerStream, TunerUnavailable, UnknownChannel

from .protocol import DiscoveredDevice

__all__ = [
    "MAX_CHUNK", "STREAM_PORT", "BadResponse", "DeviceInfo", "HDHomeRunClient", "HDHomeRunStream",
    "LegacyDevice", "flag", "normalise_base_url", "parse_lineup", "supports_transcode",
]

_LOGGER = logging.getLogger(__name__)

#: Largest chunk a stream yields, bytes (the TunerStream contract: about 64 KiB).
MAX_CHUNK = 64 * 1024
#: The port HDHomeRun devices stream on (lineup URLs say ``http://<ip>:5004/auto/v5.1``).
STREAM_PORT = 5004
#: Transcode profiles of EXTEND models (HTTP Development Guide).
TRANSCODE_PROFILES = ("heavy", "mobile", "internet720", "internet480", "internet360", "internet240")
#: ``lineup.json?show=`` values.
SHOW_VALUES = ("found", "all")
#: lineup.json fields that become LineupChannel fields; the rest go to ``extra``.
_LINEUP_FIELDS = ("GuideNumber", "GuideName", "URL", "HD", "Favorite", "DRM", "VideoCodec", "AudioCodec",
                  "AudioOnly", "Tags")
#: discover.json fields that become DeviceInfo fields.
_DISCOVER_FIELDS = ("DeviceID", "FriendlyName", "ModelNumber", "FirmwareName", "FirmwareVersion", "TunerCount",
                    "BaseURL", "LineupURL", "DeviceAuth", "Legacy", "ConditionalAccess")


class BadResponse(TunerUnavailable):
    """The device answered, but with something that cannot be read (not JSON, or not the shape
    the API has). The message names the device, the resource and what came instead."""


class LegacyDevice(TunerUnavailable):
    """``discover.json`` answered 404: a legacy model whose details only UDP discovery gives."""


def flag(value: Any) -> bool:
    """A device's boolean: ``1``/``0``, ``true``/``false``, ``"1"``, ``"yes"``; missing → False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return False


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def normalise_base_url(url: str) -> str:
    """``"192.168.1.50"`` / ``"hdhr.local"`` → ``"http://192.168.1.50"``; a URL loses its
    trailing slash, path, query and fragment (the API lives at the root)."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not a host name, an IP address or an http(s) URL")
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def supports_transcode(model: str | None, firmware_name: str | None) -> bool:
    """Whether the device takes ``transcode=``: only EXTEND models (HTTP Development Guide), i.e.
    model numbers ``HDTC-…`` (HDTC-2US) with firmware ``hdhomeruntc_…``. ``discover.json`` has
    no field for it, so the model tells."""
    return bool((model or "").upper().startswith("HDTC") or (firmware_name or "").lower().startswith("hdhomeruntc"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _describe_json(data: Any) -> str:
    if isinstance(data, dict):
        keys = ", ".join(list(map(str, data))[:5])
        return f"an object with keys {keys}" if data else "an empty object ({})"
    if isinstance(data, list):
        return f"a list of {len(data)}"
    return f"{type(data).__name__} {str(data)[:60]!r}"


@dataclass(slots=True)
class DeviceInfo:
    """What ``discover.json`` (or, for legacy models, UDP discovery) says about a device.

    ``base_url``: where this hub reaches the device (the URL it was found at, not necessarily the
    device's own ``BaseURL``, which is kept as ``reported_base_url``: a device reached by host name
    or through a port mapping reports its LAN address). ``lineup_url``: ``LineupURL`` moved onto
    ``base_url``'s host when it names the device's own address, else ``base_url + "/lineup.json"``
    (legacy models have none). ``legacy``: ``"Legacy": 1``, a 404 on ``discover.json``, or a
    legacy id range; such devices have no HTTP lineup or streams. ``transcode``: an EXTEND model
    (:func:`supports_transcode`). ``source``: ``"discover.json"`` or ``"udp"``. ``extra``:
    every other field the device sent."""

    device_id: str
    base_url: str
    friendly_name: str | None = None
    model: str | None = None
    firmware_name: str | None = None
    firmware_version: str | None = None
    tuner_count: int = 0
    lineup_url: str | None = None
    reported_base_url: str | None = None
    device_auth: str | None = None
    legacy: bool = False
    conditional_access: bool = False
    transcode: bool = False
    ip: str | None = None
    source: str = "discover.json"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The friendly name, else "HDHomeRun <model>", else "HDHomeRun"."""
        return self.friendly_name or (f"HDHomeRun {self.model}" if self.model else "HDHomeRun")

    @property
    def label(self) -> str:
        """How messages name it: ``"HDHomeRun PRIME (10439EFD) at http://192.168.1.182"``."""
        return f"{self.name} ({self.device_id}) at {self.base_url}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_discover_json(cls, data: Mapping[str, Any], base_url: str) -> DeviceInfo:
        """Build from a ``discover.json`` object fetched from ``base_url``. Raises ``ValueError``
        when it has no ``DeviceID``."""
        device_id = _str(data.get("DeviceID"))
        if not device_id:
            raise ValueError("it has no DeviceID")
        reported = _str(data.get("BaseURL"))
        model = _str(data.get("ModelNumber"))
        firmware = _str(data.get("FirmwareName"))
        lineup = _str(data.get("LineupURL"))
        info = cls(
            device_id=device_id.upper(),
            base_url=base_url,
            friendly_name=_str(data.get("FriendlyName")),
            model=model,
            firmware_name=firmware,
            firmware_version=_str(data.get("FirmwareVersion")),
            tuner_count=max(0, _int(data.get("TunerCount")) or 0),
            reported_base_url=reported,
            device_auth=_str(data.get("DeviceAuth")),
            legacy=flag(data.get("Legacy")),
            conditional_access=flag(data.get("ConditionalAccess")),
            transcode=supports_transcode(model, firmware),
            ip=urlsplit(base_url).hostname,
            extra={k: v for k, v in data.items() if k not in _DISCOVER_FIELDS},
        )
        info.lineup_url = info.rebase(lineup) if lineup else f"{base_url}/lineup.json"
        return info

    @classmethod
    def from_udp(cls, reply: DiscoveredDevice, base_url: str | None = None) -> DeviceInfo:
        """Build from a UDP discover reply alone (legacy models without ``discover.json``)."""
        base = base_url or normalise_base_url(reply.base_url or f"http://{reply.ip}:80")
        return cls(
            device_id=reply.device_id,
            base_url=base,
            tuner_count=reply.tuner_count,
            lineup_url=reply.lineup_url or f"{base}/lineup.json",
            reported_base_url=reply.base_url,
            device_auth=reply.device_auth,
            legacy=True,
            ip=reply.ip,
            source="udp",
        )

    def rebase(self, url: str) -> str:
        """``url`` moved onto ``base_url``'s host when it names the host of the device's reported
        ``BaseURL`` and we reach the device elsewhere (by host name, through a port mapping); the
        reported port itself becomes ours, other ports (5004 for streams) are kept."""
        if not self.reported_base_url:
            return url
        reported, ours, parts = urlsplit(self.reported_base_url), urlsplit(self.base_url), urlsplit(url)
        if not parts.hostname or parts.hostname != reported.hostname:
            return url
        if reported.hostname == ours.hostname and _port(reported) == _port(ours):
            return url
        port, scheme = _port(parts), parts.scheme
        if port == _port(reported):
            port, scheme = _port(ours), ours.scheme
        host = f"[{ours.hostname}]" if ours.hostname and ":" in ours.hostname else ours.hostname
        netloc = host if port == (443 if scheme == "https" else 80) else f"{host}:{port}"
        return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def _port(parts: Any) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def parse_lineup(data: Any, *, device: str) -> tuple[list[LineupChannel], list[str]]:
    """``lineup.json`` → ``(channels, problems)``.

    ``device`` names the device in messages. Raises :class:`BadResponse` when ``data`` is not a
    list (e.g. the ``{}`` legacy models send). Entries that are not objects or have no
    ``GuideNumber`` are skipped and described in ``problems`` (the rest are kept). A channel
    without ``GuideName`` is named after its number."""
    if not isinstance(data, list):
        raise BadResponse(f"{device}: lineup.json is not a list of channels but {_describe_json(data)}")
    channels: list[LineupChannel] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            problems.append(f"entry {index} is {_describe_json(entry)}, not a channel object; skipped")
            continue
        number = _str(entry.get("GuideNumber"))
        if not number:
            problems.append(f"entry {index} ({entry.get('GuideName')!r}) has no GuideNumber; skipped")
            continue
        if number in seen:
            problems.append(f"entry {index}: channel {number} is listed twice; the first is kept")
            continue
        seen.add(number)
        tags = {t.strip().lower() for t in (_str(entry.get("Tags")) or "").split(",") if t.strip()}
        video = _str(entry.get("VideoCodec"))
        audio = _str(entry.get("AudioCodec"))
        radio = flag(entry.get("AudioOnly")) or (video is None and audio is not None)
        channels.append(LineupChannel(
            number=number,
            name=_str(entry.get("GuideName")) or number,
            url=_str(entry.get("URL")),
            hd=flag(entry.get("HD")),
            favorite=flag(entry.get("Favorite")) or "favorite" in tags,
            drm=flag(entry.get("DRM")) or "drm" in tags,
            radio=radio,
            video_codec=video,
            audio_codec=audio,
            extra={k: v for k, v in entry.items() if k not in _LINEUP_FIELDS},
        ))
    return channels, problems


class HDHomeRunStream(TunerStream):
    """One channel streaming from the device over HTTP (MPEG-TS). Closing it closes the TCP
    connection, which is how the device frees its tuner (HTTP Development Guide).

    Chunks are what the connection delivers, cut to at most :data:`MAX_CHUNK` bytes.
    ``bytes_read``: bytes yielded so far. A connection that breaks, or an unlimited stream
    (``duration=None``) that the device ends, raises :class:`TunerUnavailable`; a stream with a
    ``duration`` ends normally when the device closes it."""

    def __init__(
        self, response: httpx.Response, *, channel: str, device: str, duration: float | None,
        tuner_index: int | None = None, read_timeout: float | None = None,
    ) -> None:
        self._response = response
        self.channel = channel
        self.device = device
        self.duration = duration
        self.tuner_index = tuner_index
        self.content_type = response.headers.get("content-type", "video/mp2t").split(";")[0].strip() or "video/mp2t"
        self.url = str(response.request.url)
        self.opened_at = time.monotonic()
        self.bytes_read = 0
        self._read_timeout = read_timeout
        self._closed = False
        self._iterator: AsyncIterator[bytes] | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._iterator is None:
            self._iterator = self._chunks()
        return self._iterator

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                if self._closed:
                    return
                if not chunk:
                    continue
                for start in range(0, len(chunk), MAX_CHUNK):
                    piece = chunk[start:start + MAX_CHUNK]
                    self.bytes_read += len(piece)
                    yield piece
        except httpx.TimeoutException:
            if self._closed:
                return
            raise TunerUnavailable(
                f"{self.device}: no data on channel {self.channel} for {self._read_timeout:g} s", device_id=None
            ) from None
        except (httpx.TransportError, httpx.StreamError) as err:
            if self._closed:
                return
            raise TunerUnavailable(
                f"{self.device}: the stream of channel {self.channel} broke after {self.bytes_read} bytes "
                f"({type(err).__name__}: {err or 'connection closed'})"
            ) from None
        if not self._closed and self.duration is None:
            raise TunerUnavailable(
                f"{self.device}: the device ended the stream of channel {self.channel} after {self.bytes_read} "
                f"bytes ({time.monotonic() - self.opened_at:.1f} s) although no duration was asked"
            )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._response.aclose()
        except Exception as err:  # noqa: BLE001 - closing a broken connection must not raise
            _LOGGER.debug("%s: closing the stream of %s: %s", self.device, self.channel, err)
        if self._iterator is not None:
            # Finish a generator left at a ``yield`` (the consumer stopped iterating); one being
            # read in another task ends by itself now that the response is closed.
            with contextlib.suppress(RuntimeError):
                await self._iterator.aclose()  # type: ignore[attr-defined]


class HDHomeRunClient:
    """The HTTP API of one device at ``base_url`` (``"http://192.168.1.50"``; a bare host or
    IP is accepted). ``timeout``: seconds for connecting and for each read (stream reads too).
    ``transport``: an httpx transport, for tests.

    After :meth:`discover` the client knows the device (``info``) and names it in every error
    message; before, messages name the address."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = normalise_base_url(base_url)
        self.timeout = timeout
        self.info: DeviceInfo | None = None
        #: scheme://host:port streams come from (learnt from lineup URLs), or None.
        self.stream_origin: str | None = None
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=True, transport=transport)

    # -- naming --------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        if self.info is not None:
            return f"{self.info.name} ({self.info.device_id}) at {self.base_url}"
        return f"HDHomeRun at {self.base_url}"

    @property
    def device_id(self) -> str | None:
        return self.info.device_id if self.info else None

    def set_base_url(self, base_url: str) -> None:
        """Reach the device at a new address (it moved): forget where streams came from."""
        base = normalise_base_url(base_url)
        if base != self.base_url:
            self.base_url = base
            self.stream_origin = None

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ------------------------------------------------------------------------------
    async def _request(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise TunerUnavailable(f"{self.label}: no answer to {what} within {self.timeout:g} s",
                                   device_id=self.device_id) from None
        except httpx.TransportError as err:
            raise TunerUnavailable(f"{self.label}: cannot reach the device for {what} ({_transport_reason(err)})",
                                   device_id=self.device_id) from None

    def _json(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 400:
            raise TunerUnavailable(
                f"{self.label}: {what} answered HTTP {response.status_code} {response.reason_phrase}".rstrip(),
                device_id=self.device_id,
            )
        try:
            return json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            start = response.content[:60]
            raise BadResponse(f"{self.label}: {what} is not JSON ({err}); it starts with {start!r}",
                              device_id=self.device_id) from None

    # -- API -----------------------------------------------------------------------------------
    async def discover(self, fallback: DiscoveredDevice | None = None) -> DeviceInfo:
        """``GET /discover.json`` → :class:`DeviceInfo` (kept as ``info``).

        A 404 means a legacy model: with ``fallback`` (its UDP discover reply) the info is built
        from that; without, :class:`LegacyDevice` is raised. Raises :class:`TunerUnavailable`
        when the device cannot be reached, :class:`BadResponse` for an unreadable answer."""
        response = await self._request("GET", f"{self.base_url}/discover.json", "discover.json")
        if response.status_code == 404:
            if fallback is None:
                raise LegacyDevice(
                    f"{self.label}: discover.json answered 404 (a legacy model); its id and tuner count "
                    "come from UDP discovery", device_id=self.device_id,
                )
            self.info = DeviceInfo.from_udp(fallback, self.base_url)
            return self.info
        data = self._json(response, "discover.json")
        if not isinstance(data, dict):
            raise BadResponse(f"{self.label}: discover.json is {_describe_json(data)}, not an object",
                              device_id=self.device_id)
        try:
            info = DeviceInfo.from_discover_json(data, self.base_url)
        except ValueError as err:
            raise BadResponse(f"{self.label}: discover.json cannot be used: {err}", device_id=self.device_id) from None
        if fallback is not None:
            info.tuner_count = info.tuner_count or fallback.tuner_count
            info.ip = info.ip or fallback.ip
            if fallback.legacy:
                info.legacy = True
        self.info = info
        return info

    async def lineup(self, show: str | None = "found") -> list[LineupChannel]:
        """``GET <LineupURL>?show=found|all`` → channels in the device's order. ``show=None``
        asks without the parameter. Raises :class:`BadResponse` when the answer is not a list of
        channels (legacy models answer ``{}``; the message says so), :class:`TunerUnavailable`."""
        if show is not None and show not in SHOW_VALUES:
            raise ValueError(f"show must be one of {', '.join(SHOW_VALUES)}, not {show!r}")
        url = (self.info.lineup_url if self.info and self.info.lineup_url else None) or f"{self.base_url}/lineup.json"
        response = await self._request("GET", url, "lineup.json", params={"show": show} if show else None)
        hint = ""
        if self.info is not None and self.info.legacy:
            hint = ("; this is a legacy model (Legacy: 1, no LineupURL), which has no HTTP lineup or streaming, so it "
                    "cannot be used as a network tuner")
        if response.status_code == 404:
            raise BadResponse(f"{self.label}: lineup.json answered HTTP 404{hint}", device_id=self.device_id)
        data = self._json(response, "lineup.json")
        try:
            channels, problems = parse_lineup(data, device=self.label)
        except BadResponse as err:
            raise BadResponse(f"{err}{hint}", device_id=self.device_id) from None
        for problem in problems:
            _LOGGER.warning("%s: lineup.json %s", self.label, problem)
        for channel in channels:
            if channel.url:
                self.stream_origin = _origin(self.info.rebase(channel.url) if self.info else channel.url)
                break
        return channels

    async def lineup_status(self) -> dict[str, Any]:
        """``GET /lineup_status.json`` → ``{"scan_in_progress": bool, "scan_possible": bool,
        "progress": percent | None, "found": n | None, "source": "Antenna" | None,
        "source_list": [...], "raw": {...}}``."""
        data = self._json(await self._request("GET", f"{self.base_url}/lineup_status.json", "lineup_status.json"),
                          "lineup_status.json")
        if not isinstance(data, dict):
            raise BadResponse(f"{self.label}: lineup_status.json is {_describe_json(data)}, not an object",
                              device_id=self.device_id)
        sources = data.get("SourceList")
        return {
            "scan_in_progress": flag(data.get("ScanInProgress")),
            "scan_possible": flag(data.get("ScanPossible", 1)),
            "progress": _int(data.get("Progress")),
            "found": _int(data.get("Found")),
            "source": _str(data.get("Source")),
            "source_list": [str(s) for s in sources] if isinstance(sources, list) else [],
            "raw": data,
        }

    async def scan(self, action: str = "start", *, source: str | None = None) -> dict[str, Any]:
        """``POST /lineup.post?scan=start|abort`` (``source=`` "Antenna"/"Cable" when given), then
        the :meth:`lineup_status`. Raises ``NotImplementedError`` when the device has no HTTP scan
        (legacy models: 404)."""
        if action not in ("start", "abort"):
            raise ValueError(f"scan action must be 'start' or 'abort', not {action!r}")
        params = {"scan": action, **({"source": source} if source else {})}
        response = await self._request("POST", f"{self.base_url}/lineup.post", f"lineup.post?scan={action}",
                                       params=params)
        if response.status_code == 404:
            raise NotImplementedError(f"{self.label}: this model cannot scan over HTTP (lineup.post answered 404)")
        if response.status_code >= 400:
            raise TunerUnavailable(f"{self.label}: lineup.post?scan={action} answered HTTP {response.status_code}",
                                   device_id=self.device_id)
        return await self.lineup_status()

    async def status(self) -> list[dict[str, Any]]:
        """``GET /status.json`` → one dict per tuner: ``resource`` ("tuner0"), and when tuned
        ``channel`` (VctNumber), ``name`` (VctName), ``frequency`` (Hz), ``signal_strength`` /
        ``signal_quality`` / ``symbol_quality`` (percent), ``bitrate`` (NetworkRate, bits per
        second), ``target`` (TargetIP), plus ``raw``. ``[]`` when the model has no status.json."""
        response = await self._request("GET", f"{self.base_url}/status.json", "status.json")
        if response.status_code == 404:
            return []
        data = self._json(response, "status.json")
        if not isinstance(data, list):
            raise BadResponse(f"{self.label}: status.json is {_describe_json(data)}, not a list",
                              device_id=self.device_id)
        out = []
        for entry in data:
            if not isinstance(entry, dict):
                continue
            out.append({
                "resource": _str(entry.get("Resource")),
                "channel": _str(entry.get("VctNumber")),
                "name": _str(entry.get("VctName")),
                "frequency": _int(entry.get("Frequency")),
                "signal_strength": _int(entry.get("SignalStrengthPercent")),
                "signal_quality": _int(entry.get("SignalQualityPercent")),
                "symbol_quality": _int(entry.get("SymbolQualityPercent")),
                "bitrate": _int(entry.get("NetworkRate")),
                "target": _str(entry.get("TargetIP")),
                "raw": entry,
            })
        return out

    def stream_url(self, number: str, *, tuner: int | None = None) -> str:
        """``<origin>/auto/v<number>`` or ``<origin>/tuner<N>/v<number>``. The origin is the one
        the lineup's URLs name; before a lineup was read, the base URL's host on port 5004 when
        the base URL is on port 80, else the base URL itself (an emulator or simulator serving
        everything on one port)."""
        origin = self.stream_origin
        if origin is None:
            parts = urlsplit(self.base_url)
            if parts.port in (None, 80) and parts.scheme == "http":
                host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
                origin = f"http://{host}:{STREAM_PORT}"
            else:
                origin = self.base_url
        path = f"/auto/v{number}" if tuner is None else f"/tuner{int(tuner)}/v{number}"
        return origin + path

    async def stream(
        self, number: str, *, tuner: int | None = None, duration: float | None = None, transcode: str | None = None,
    ) -> HDHomeRunStream:
        """Start streaming channel ``number`` on any free tuner (``tuner=None``) or tuner ``N``.

        ``duration`` (seconds, rounded up to whole seconds) makes the device end the stream by
        itself. ``transcode``: an EXTEND model's profile (:data:`TRANSCODE_PROFILES`); other
        models raise ``ValueError``. Raises :class:`TunerBusy` (503; the message carries the
        device's ``X-HDHomeRun-Error``), :class:`UnknownChannel` (404),
        :class:`TunerUnavailable`."""
        params: dict[str, str] = {}
        if duration is not None:
            if duration <= 0:
                raise ValueError(f"duration must be positive, not {duration}")
            params["duration"] = str(max(1, math.ceil(duration)))
        if transcode is not None:
            if self.info is None or not self.info.transcode:
                model = self.info.model if self.info else "this device"
                raise ValueError(f"{self.label}: {model} cannot transcode (only EXTEND models such as HDTC-2US)")
            if transcode not in TRANSCODE_PROFILES:
                raise ValueError(f"unknown transcode profile {transcode!r}; known: {', '.join(TRANSCODE_PROFILES)}")
            params["transcode"] = transcode
        url = self.stream_url(number, tuner=tuner)
        request = self._http.build_request("GET", url, params=params or None)
        what = f"channel {number}" + (f" on tuner {tuner}" if tuner is not None else "")
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TimeoutException:
            raise TunerUnavailable(f"{self.label}: no answer for {what} within {self.timeout:g} s",
                                   device_id=self.device_id) from None
        except httpx.TransportError as err:
            raise TunerUnavailable(f"{self.label}: cannot reach the device for {what} ({_transport_reason(err)})",
                                   device_id=self.device_id) from None
        if response.status_code == 200:
            return HDHomeRunStream(response, channel=number, device=self.label, duration=duration,
                                   tuner_index=tuner, read_timeout=self.timeout)
        reason = response.headers.get("x-hdhomerun-error") or ""
        status = response.status_code
        await response.aclose()
        detail = f" ({reason})" if reason else ""
        if status == 503:
            raise TunerBusy(f"{self.label}: no tuner free for {what}: HTTP 503{detail}", device_id=self.device_id)
        if status == 404:
            raise UnknownChannel(f"{self.label}: the device does not carry channel {number}: HTTP 404{detail}",
                                 device_id=self.device_id)
        raise TunerUnavailable(f"{self.label}: {what} answered HTTP {status} {response.reason_phrase}{detail}".rstrip(),
                               device_id=self.device_id)


def _transport_reason(err: httpx.TransportError) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__

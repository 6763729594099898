"""The renderer interface every casting protocol implements, and the values it exchanges.

A :class:`Renderer` is one device that can play a URL it is given: a DLNA MediaRenderer (UPnP
AVTransport), a Google Cast receiver… Protocol plugins create renderers for the devices they find
and hand them to ``hub.casting.add_renderer()``; the casting manager chooses the stream for the
renderer's device profile, builds a LAN URL the device can reach, and drives the renderer through
this interface only. Positions and durations are seconds; sizes bytes.
"""

from __future__ import annotations

import abc
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: Normalised transport states. DLNA AVTransport ``TransportState`` and Cast ``playerState``
#: values are mapped onto these by each renderer.
RendererState = Literal["playing", "paused", "buffering", "stopped", "idle", "unavailable"]


class CastError(Exception):
    """A renderer refused or failed a command, or stopped answering. The message says which
    device and what went wrong, in words a user can act on."""


class RendererUnavailable(CastError):
    """The renderer cannot be reached (it left the network, or it is switched off)."""


@dataclass(slots=True)
class CastMedia:
    """What to play: ``url`` (absolute, reachable from the device — never localhost),
    ``mime_type`` (``video/mp4``, ``application/vnd.apple.mpegurl`` …), ``title``, ``duration``
    and ``start`` (seconds), ``size`` (bytes, when known), ``subtitles_url`` / ``subtitles_mime``
    (a WebVTT or SRT sidecar), ``thumbnail_url``, ``item_id`` (the library item), and
    ``stream_type`` (``buffered`` for files, ``live`` for live TV)."""

    url: str
    mime_type: str
    title: str = ""
    duration: float | None = None
    start: float = 0.0
    size: int | None = None
    subtitles_url: str | None = None
    subtitles_mime: str | None = None
    thumbnail_url: str | None = None
    item_id: int | None = None
    stream_type: Literal["buffered", "live"] = "buffered"
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class RendererStatus:
    """A renderer's state as it reports it: ``state``, ``position`` and ``duration`` (seconds or
    ``None``), ``url`` it is playing, ``volume`` (0.0–1.0), ``error`` (last error text)."""

    state: RendererState = "idle"
    position: float | None = None
    duration: float | None = None
    url: str | None = None
    volume: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Renderer(abc.ABC):
    """One device that plays URLs. ``id`` is stable across restarts (UPnP UDN, Cast UUID);
    ``protocol`` (``dlna`` / ``googlecast``); ``name`` the device's friendly name; ``host`` the IP
    address the hub reaches it at (used to pick the LAN address for media URLs);
    ``device_profile`` names the playback device profile used to decide how to stream to it
    (``dlna_generic``, ``chromecast``).

    Every method raises :class:`CastError` (or :class:`RendererUnavailable`) on failure."""

    protocol: str = ""
    device_profile: str = "dlna_generic"

    def __init__(self, id: str, name: str, host: str) -> None:
        self.id = id
        self.name = name
        self.host = host

    @abc.abstractmethod
    async def play(self, media: CastMedia) -> None:
        """Stop what is playing, load ``media`` and start it (at ``media.start``); return once
        the device accepted it. Whether it really plays is read from :meth:`status`."""

    @abc.abstractmethod
    async def pause(self) -> None: ...

    @abc.abstractmethod
    async def resume(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def seek(self, position: float) -> None:
        """Jump to ``position`` seconds."""

    @abc.abstractmethod
    async def status(self) -> RendererStatus:
        """Ask the device for its current state (a network round trip)."""

    async def set_volume(self, volume: float) -> None:
        """Set the volume, 0.0–1.0. Renderers without volume control raise :class:`CastError`."""
        raise CastError(f"{self.name} has no volume control")

    async def close(self) -> None:
        """Release connections (the device itself is left as it is)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "host": self.host, "protocol": self.protocol,
            "device_profile": self.device_profile,
        }

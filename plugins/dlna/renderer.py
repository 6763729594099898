"""A DLNA / UPnP MediaRenderer driven through AVTransport and RenderingControl.

Protocol sources: UPnP AVTransport:1 and RenderingControl:1 service templates (the actions,
``TransportState`` values and the ``H+:MM:SS[.F+]`` time format), ContentDirectory:1 for the
DIDL-Lite metadata (``upnp:class``, ``res@protocolInfo``/``size``/``duration``), and the DLNA
guidelines for the fourth field of ``protocolInfo`` (``DLNA.ORG_OP``/``CI``/``FLAGS``).

Device behaviour this follows:

- Renderers refuse ``SetAVTransportURI`` in some states (error 701 "transition not available"
  while playing), so what plays is stopped first.
- After ``SetAVTransportURI`` a renderer may still report the previous URI or
  ``TRANSITIONING``; ``Play`` is sent only once it reports the new URI and a state that accepts
  it (``STOPPED`` / ``PAUSED_PLAYBACK``, and ``Play`` among ``CurrentTransportActions`` when it
  lists them). Some renderers start on their own: then ``Play`` is skipped.
- gmediarender (gmrender-resurrect) reports whole seconds and may claim ``PLAYING`` even when
  the decoder failed; callers judge playback by the position advancing (see ``status()``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from async_upnp_client.client import UpnpDevice, UpnpService
from async_upnp_client.exceptions import (
    UpnpActionError,
    UpnpCommunicationError,
    UpnpConnectionError,
    UpnpError,
)
from async_upnp_client.profiles.dlna import DlnaOrgCi, DlnaOrgFlags, DlnaOrgOp, DmrDevice
from didl_lite import didl_lite

from omnimedia.core.casting.types import CastError, CastMedia, Renderer, RendererStatus, RendererUnavailable

_LOGGER = logging.getLogger(__name__)

AVTRANSPORT = "urn:upnp-org:serviceId:AVTransport"
RENDERING_CONTROL = "urn:upnp-org:serviceId:RenderingControl"

#: Seconds to wait for a renderer to accept a new URI before sending Play anyway.
READY_TIMEOUT = 10.0
#: Seconds to wait for PLAYING before seeking to the start position.
PLAYING_TIMEOUT = 15.0
#: Seeks tried before giving up on a start position, and seconds to let one take effect.
SEEK_ATTEMPTS = 3
SEEK_SETTLE = 0.5
#: Seconds between two polls while waiting.
WAIT_POLL = 0.25

#: AVTransport ``TransportState`` → the casting state.
STATES: dict[str, str] = {
    "PLAYING": "playing",
    "RECORDING": "playing",
    "PAUSED_PLAYBACK": "paused",
    "PAUSED_RECORDING": "paused",
    "TRANSITIONING": "buffering",
    "STOPPED": "stopped",
    "NO_MEDIA_PRESENT": "idle",
}

#: DLNA.ORG_FLAGS for a streamed resource: streaming transfer mode, background transfer mode,
#: connection stalling allowed, DLNA 1.5 (DLNA guidelines 7.4.1.3.24); 32 hex digits.
_STREAM_FLAGS = (
    DlnaOrgFlags.STREAMING_TRANSFER_MODE | DlnaOrgFlags.BACKGROUND_TRANSFERT_MODE
    | DlnaOrgFlags.CONNECTION_STALL | DlnaOrgFlags.DLNA_V15
)


def format_time(seconds: float) -> str:
    """``H:MM:SS`` (AVTransport's time format; also DIDL ``res@duration`` without fractions)."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


_TIME = re.compile(r"^\s*(-)?(\d+):(\d{1,2}):(\d{1,2})(?:\.(\d+)(?:/(\d+))?)?\s*$")


def parse_time(value: str | None) -> float | None:
    """``H+:MM:SS[.F+]`` or ``H+:MM:SS.F0/F1`` → seconds; ``None`` for empty, ``NOT_IMPLEMENTED``
    or anything unparsable."""
    if not value:
        return None
    match = _TIME.match(value)
    if not match:
        return None
    sign, hours, minutes, secs, frac, denom = match.groups()
    total = int(hours) * 3600 + int(minutes) * 60 + int(secs)
    if frac:
        total += int(frac) / int(denom) if denom and int(denom) else float(f"0.{frac}")
    return -total if sign else float(total)


def protocol_info(mime_type: str, *, seekable: bool) -> str:
    """``http-get:*:<mime>:<DLNA fields>`` for a resource served over HTTP.

    ``seekable``: the server honours byte ranges (a file): ``DLNA.ORG_OP=01`` (range seek),
    ``DLNA.ORG_CI=0`` (not converted). Otherwise (a live transcode) ``OP=00`` and ``CI=1``."""
    op = DlnaOrgOp.RANGE if seekable else DlnaOrgOp.NONE
    ci = DlnaOrgCi.NONE if seekable else DlnaOrgCi.TRANSCODED
    flags = f"{int(_STREAM_FLAGS):08x}" + "0" * 24
    return f"http-get:*:{mime_type}:DLNA.ORG_OP={op.value:02x};DLNA.ORG_CI={ci.value};DLNA.ORG_FLAGS={flags}"


_UPNP_CLASSES = {"video": "object.item.videoItem", "audio": "object.item.audioItem.musicTrack",
                 "image": "object.item.imageItem.photo"}


class _Resource(didl_lite.Resource):
    """python-didl-lite writes only ``protocolInfo``; renderers use ``size`` and ``duration``
    to show progress and to seek, so they are written too (ContentDirectory:1 ``res@…``)."""

    def to_xml(self) -> Any:
        element = super().to_xml()
        for attr, name in (("size", "size"), ("duration", "duration"), ("resolution", "resolution")):
            value = getattr(self, attr)
            if value is not None:
                element.set(name, str(value))
        return element


def didl_metadata(media: CastMedia) -> str:
    """DIDL-Lite for ``SetAVTransportURI``'s ``CurrentURIMetaData``: one item with its title,
    ``upnp:class`` from the MIME type (``object.item.videoItem`` for video) and one ``res`` with
    ``protocolInfo``, ``size`` (bytes) and ``duration`` (``H:MM:SS``)."""
    kind = media.mime_type.split("/", 1)[0]
    upnp_class = _UPNP_CLASSES.get(kind, "object.item.videoItem")
    seekable = media.size is not None and media.stream_type == "buffered"
    resource = _Resource(
        uri=media.url,
        protocol_info=protocol_info(media.mime_type, seekable=seekable),
        size=str(media.size) if media.size is not None else None,
        duration=format_time(media.duration) if media.duration else None,
    )
    item_type = didl_lite.type_by_upnp_class(upnp_class)
    item = item_type(
        id=f"omnimedia-{media.item_id if media.item_id is not None else 0}",
        parent_id="-1",
        title=media.title or "Omni-Media",
        restricted="1",
        resources=[resource],
    )
    return didl_lite.to_xml_string(item).decode("utf-8")


class DlnaRenderer(Renderer):
    """One UPnP MediaRenderer. ``device`` is the async-upnp-client device built from the
    description at its ``LOCATION`` (see :func:`create_renderer`)."""

    protocol = "dlna"
    device_profile = "dlna_generic"

    def __init__(self, device: UpnpDevice, host: str, *, name: str | None = None) -> None:
        super().__init__(device.udn, name or device.friendly_name, host)
        self.device = device
        self.dmr = DmrDevice(device, event_handler=None)
        self.location = device.device_url
        self.manufacturer = device.manufacturer
        self.model = device.model_name
        avt = device.service_id(AVTRANSPORT) or _first_service(device, "AVTransport")
        if avt is None:
            raise CastError(f"{self.name} has no AVTransport service")
        self._avt: UpnpService = avt
        self._rc: UpnpService | None = device.service_id(RENDERING_CONTROL) or _first_service(
            device, "RenderingControl"
        )

    # -- commands --------------------------------------------------------------------------------
    async def play(self, media: CastMedia) -> None:
        """Stop (when not already stopped) → ``SetAVTransportURI`` with DIDL-Lite → wait until the
        renderer has the new URI in a state that takes ``Play`` → ``Play`` → ``Seek`` to
        ``media.start`` (seconds) once it plays, when that is more than 0."""
        info = await self._call("GetTransportInfo")
        if info.get("CurrentTransportState") not in ("STOPPED", "NO_MEDIA_PRESENT"):
            try:
                await self._call("Stop")
            except CastError as err:
                _LOGGER.debug("%s: Stop before a new URI failed (%s); going on", self.name, err)
        await self._call("SetAVTransportURI", CurrentURI=media.url, CurrentURIMetaData=didl_metadata(media))
        state = await self._wait_until_ready(media.url)
        if state != "PLAYING":
            await self._call("Play", Speed="1")
        if media.start > 0:
            await self._seek_when_playing(media.start)

    async def _wait_until_ready(self, url: str) -> str | None:
        """Poll until the renderer reports ``url`` and a state that accepts Play; return the
        last state seen (the caller sends Play unless it is already ``PLAYING``)."""
        deadline = time.monotonic() + READY_TIMEOUT
        state: str | None = None
        has_actions = self._avt.has_action("GetCurrentTransportActions")
        while True:
            media_info = await self._call("GetMediaInfo")
            state = (await self._call("GetTransportInfo")).get("CurrentTransportState")
            uri_ok = media_info.get("CurrentURI") in (url, None, "")  # some renderers leave it empty
            if uri_ok and state == "PLAYING":
                return state
            if uri_ok and state in ("STOPPED", "PAUSED_PLAYBACK"):
                if not has_actions:
                    return state
                actions = (await self._call("GetCurrentTransportActions")).get("Actions") or ""
                if not actions.strip() or "play" in {a.strip().lower() for a in actions.split(",")}:
                    return state
            if time.monotonic() >= deadline:
                _LOGGER.info("%s did not report being ready within %g s (state %s); sending Play anyway",
                             self.name, READY_TIMEOUT, state)
                return state
            await asyncio.sleep(WAIT_POLL)

    async def _seek_when_playing(self, start: float) -> None:
        """Seek to ``start`` seconds once the renderer plays the new media. A renderer that
        reports ``PLAYING`` before its pipeline is ready (gmediarender: position and duration
        still ``0:00:00``) ignores a seek, so it waits for a known duration, seeks, and seeks
        again (up to :data:`SEEK_ATTEMPTS` times) while the position stays before ``start``."""
        deadline = time.monotonic() + PLAYING_TIMEOUT
        while True:
            state = (await self._call("GetTransportInfo")).get("CurrentTransportState")
            if state in ("PLAYING", "PAUSED_PLAYBACK"):
                info = await self._call("GetPositionInfo")
                if parse_time(info.get("TrackDuration")) or time.monotonic() >= deadline:
                    break
            elif time.monotonic() >= deadline:
                raise CastError(f"{self.name} did not start playing within {PLAYING_TIMEOUT:g} s")
            await asyncio.sleep(WAIT_POLL)
        for _ in range(SEEK_ATTEMPTS):
            await self.seek(start)
            await asyncio.sleep(SEEK_SETTLE)
            position = parse_time((await self._call("GetPositionInfo")).get("RelTime"))
            if position is None or position >= start - SEEK_SETTLE - 1:
                return
        _LOGGER.warning("%s did not seek to %g s (it is at %s s)", self.name, start, position)

    async def pause(self) -> None:
        await self._call("Pause")

    async def resume(self) -> None:
        await self._call("Play", Speed="1")

    async def stop(self) -> None:
        await self._call("Stop")

    async def seek(self, position: float) -> None:
        """``Seek`` with ``REL_TIME`` (``ABS_TIME`` when the renderer only offers that) to
        ``position`` seconds."""
        unit = "REL_TIME" if self.dmr.has_seek_rel_time or not self.dmr.has_seek_abs_time else "ABS_TIME"
        await self._call("Seek", Unit=unit, Target=format_time(position))

    async def set_volume(self, volume: float) -> None:
        """RenderingControl ``SetVolume`` on ``Master``, scaled to the renderer's range."""
        if self._rc is None or not self.dmr.has_volume_level:
            raise CastError(f"{self.name} has no volume control")
        try:
            await self.dmr.async_set_volume_level(volume)
        except UpnpError as err:
            raise self._error("SetVolume", err) from err

    async def status(self) -> RendererStatus:
        """``GetTransportInfo`` + ``GetPositionInfo`` (+ ``GetVolume``) now."""
        info = await self._call("GetTransportInfo")
        raw_state = info.get("CurrentTransportState") or ""
        position = await self._call("GetPositionInfo")
        volume = None
        if self._rc is not None and self._rc.has_action("GetVolume"):
            try:
                result = await self._call_on(self._rc, "GetVolume", Channel="Master")
                volume = self._scale_volume(result.get("CurrentVolume"))
            except CastError:
                volume = None
        error = None
        if info.get("CurrentTransportStatus") == "ERROR_OCCURRED":
            error = f"{self.name} reports an error playing the media"
        duration = parse_time(position.get("TrackDuration"))
        return RendererStatus(
            state=STATES.get(raw_state, "idle"),  # type: ignore[arg-type]
            position=parse_time(position.get("RelTime")),
            duration=duration or None,
            url=position.get("TrackURI") or None,
            volume=volume,
            error=error,
        )

    def _scale_volume(self, value: Any) -> float | None:
        if value is None:
            return None
        var = self._rc.state_variable("Volume") if self._rc and self._rc.has_state_variable("Volume") else None
        low, high = 0, 100
        if var is not None:
            low = int(var.min_value if var.min_value is not None else 0)
            high = int(var.max_value if var.max_value is not None else 100)
        try:
            return max(0.0, min(1.0, (int(value) - low) / ((high - low) or 1)))
        except (TypeError, ValueError):
            return None

    async def close(self) -> None:
        """Nothing to close: every request opens and closes its own HTTP connection."""

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "location": self.location, "manufacturer": self.manufacturer,
                "model": self.model}

    # -- SOAP ------------------------------------------------------------------------------------
    async def _call(self, action: str, **args: Any) -> Mapping[str, Any]:
        return await self._call_on(self._avt, action, **args)

    async def _call_on(self, service: UpnpService, action: str, **args: Any) -> Mapping[str, Any]:
        if not service.has_action(action):
            raise CastError(f"{self.name} does not support {action}")
        try:
            return await service.action(action).async_call(InstanceID=0, **args)
        except UpnpError as err:
            raise self._error(action, err) from err
        except (OSError, TimeoutError) as err:
            raise RendererUnavailable(f"{self.name} ({self.host}) cannot be reached: {err}") from err

    def _error(self, action: str, err: UpnpError) -> CastError:
        if isinstance(err, UpnpConnectionError):
            return RendererUnavailable(f"{self.name} ({self.host}) cannot be reached ({action}): {err}")
        if isinstance(err, UpnpActionError):
            return CastError(f"{self.name} refused {action}: UPnP error {err.error_code} ({err.error_desc})")
        if isinstance(err, UpnpCommunicationError):
            return CastError(f"{self.name} failed {action}: {err}")
        return CastError(f"{self.name}: {action} failed: {err}")


def _first_service(device: UpnpDevice, kind: str) -> UpnpService | None:
    for service in device.all_services:
        if f":service:{kind}:" in service.service_type:
            return service
    return None

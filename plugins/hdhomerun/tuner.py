"""One HDHomeRun device as the DVR engine sees it: a :class:`~omnimedia.core.plugins.kinds.Tuner`
with ``tuner_count`` tuners, on :class:`~.client.HDHomeRunClient`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from omnimedia.core.dvr.types import LineupChannel, TunerStream
from omnimedia.core.plugins.kinds import Tuner

from .client import DeviceInfo, HDHomeRunClient
from .protocol import DiscoveredDevice

if TYPE_CHECKING:
    from omnimedia.core.hub import Hub

__all__ = ["HDHomeRunTuner"]

_LOGGER = logging.getLogger(__name__)

#: Seconds for connecting and for each read, unless the entry says ``timeout``.
DEFAULT_TIMEOUT = 10.0


class HDHomeRunTuner(Tuner):
    """One HDHomeRun device.

    Built as ``HDHomeRunTuner(hub, entry)`` where ``entry`` is the plugin's config entry plus
    ``base_url`` (required) and what is known of the device: ``device_id``, ``tuner_count``,
    ``model``, ``friendly_name``, ``firmware_version`` (:meth:`from_info` fills them from a
    :class:`~.client.DeviceInfo`). ``timeout`` (seconds) and ``transcode`` (an EXTEND model's
    profile for every stream; ignored with a warning on other models) come from the entry.

    ``device_id`` is the DeviceID (eight hex digits), ``manufacturer`` "Silicondust", ``model``
    the ModelNumber, ``sw_version`` the FirmwareVersion, ``name`` the FriendlyName."""

    manufacturer = "Silicondust"

    def __init__(self, hub: Hub, entry: Mapping[str, Any]) -> None:
        super().__init__(hub, entry)
        if not entry.get("base_url"):
            raise ValueError("an HDHomeRunTuner needs the device's base_url")
        self.client = HDHomeRunClient(str(entry["base_url"]), timeout=float(entry.get("timeout") or DEFAULT_TIMEOUT))
        self.device_id = str(entry.get("device_id") or "").upper()
        self.tuner_count = int(entry.get("tuner_count") or 1)
        self.model = entry.get("model")
        self.sw_version = entry.get("firmware_version")
        self.name = entry.get("friendly_name") or (f"HDHomeRun {self.model}" if self.model else "HDHomeRun")
        self.transcode: str | None = entry.get("transcode") or None
        self.udp: DiscoveredDevice | None = None
        self._transcode_warned = False

    @classmethod
    def from_info(cls, hub: Hub, entry: Mapping[str, Any], info: DeviceInfo) -> HDHomeRunTuner:
        """A tuner for the device ``info`` describes, with ``entry``'s options."""
        tuner = cls(hub, {**entry, "base_url": info.base_url, "device_id": info.device_id})
        tuner.apply(info)
        return tuner

    @property
    def info(self) -> DeviceInfo | None:
        """What the device last said about itself (``discover.json`` or UDP)."""
        return self.client.info

    @property
    def base_url(self) -> str:
        return self.client.base_url

    @property
    def legacy(self) -> bool:
        return bool(self.info and self.info.legacy)

    def apply(self, info: DeviceInfo) -> bool:
        """Take what ``info`` says (a fresh discovery of the same device). Returns whether the
        device's address changed."""
        moved = info.base_url != self.client.base_url
        if moved:
            _LOGGER.info("%s moved from %s to %s", info.name, self.client.base_url, info.base_url)
            self.client.set_base_url(info.base_url)
        self.client.info = info
        self.device_id = info.device_id
        self.tuner_count = info.tuner_count or self.tuner_count or 1
        self.model = info.model or self.model
        self.sw_version = info.firmware_version or self.sw_version
        self.name = info.name
        if self.transcode and not info.transcode and not self._transcode_warned:
            self._transcode_warned = True
            _LOGGER.warning("%s: transcode: %s is ignored: model %s cannot transcode (only EXTEND models such as "
                            "HDTC-2US)", info.label, self.transcode, info.model or "?")
        return moved

    async def refresh(self) -> DeviceInfo:
        """Read ``discover.json`` again (UDP's answer stands in for legacy models)."""
        info = await self.client.discover(fallback=self.udp)
        self.apply(info)
        return info

    async def _ensure_info(self) -> None:
        if self.client.info is None:
            await self.refresh()

    # -- Tuner -----------------------------------------------------------------------------------
    async def lineup(self) -> list[LineupChannel]:
        """The channels the device found in its last scan (``lineup.json?show=found``)."""
        await self._ensure_info()
        return await self.client.lineup(show="found")

    async def open_stream(
        self, channel: str, *, duration: float | None = None, tuner: int | None = None
    ) -> TunerStream:
        """Stream ``channel`` from any free tuner (``/auto/v<channel>``), or tuner ``tuner``
        (``/tuner<N>/v<channel>``), for ``duration`` seconds or until closed."""
        await self._ensure_info()
        transcode = self.transcode if self.info is not None and self.info.transcode else None
        return await self.client.stream(channel, tuner=tuner, duration=duration, transcode=transcode)

    async def tuner_status(self) -> list[dict[str, Any]]:
        """``status.json`` per tuner (see :meth:`~.client.HDHomeRunClient.status`); ``[]`` on
        models without it."""
        return await self.client.status()

    async def scan(self, action: str = "start") -> dict[str, Any]:
        """Start or abort the device's channel scan; returns ``{"scan_in_progress", "progress",
        "found", …}`` from ``lineup_status.json``."""
        await self._ensure_info()
        status = await self.client.scan(action)
        return {k: v for k, v in status.items() if k != "raw"}

    async def close(self) -> None:
        await self.client.aclose()

    def __repr__(self) -> str:
        return f"<HDHomeRunTuner {self.device_id or '?'} {self.model or ''} at {self.client.base_url}>"

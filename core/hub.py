"""The Hub: owns the loop-side services and starts and stops them in order.

Start: database (migrations) → registries → library engine → plugins → acquisition engine →
transcode engine → playback → casting → DVR → HTTP API → discovery → initial scan and file watching.
Stop runs the other way, waits for in-flight work (scans, listeners, registry writes), ends every
ffmpeg the hub started and closes every socket.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

from . import __version__, ffmpeg
from .bus import Context, EventBus
from .config import HubConfig
from .const import EVENT_HUB_START, EVENT_HUB_STARTED, EVENT_HUB_STOP
from .db import Database
from .plugins.manager import PluginManager
from .registry import DeviceRegistry, EntityRegistry
from .services import ServiceRegistry
from .states import StateMachine

_LOGGER = logging.getLogger(__name__)


class Hub:
    """The running hub. ``state`` goes not_running → starting → running → stopping → stopped."""

    def __init__(self, config: HubConfig, plugins: PluginManager | None = None) -> None:
        from .acquisition.manager import AcquisitionManager
        from .casting.manager import CastingManager
        from .discovery import Discovery
        from .dvr.manager import DvrManager
        from .http.server import HttpServer
        from .library import LibraryManager
        from .playback.manager import PlaybackManager
        from .transcode.manager import TranscodeManager

        self.config = config
        self.version = __version__
        self.bus = EventBus()
        self.states = StateMachine(self.bus)
        storage = config.config_dir / ".storage"
        self.devices = DeviceRegistry(self.bus, storage)
        self.entities = EntityRegistry(self.bus, storage)
        self.services = ServiceRegistry(self.bus)
        self.plugins = plugins or PluginManager()
        self.plugins.hub = self
        self.db = Database(config.database_url)
        self.library = LibraryManager(self)
        self.acquisition = AcquisitionManager(self)
        self.transcode = TranscodeManager(self)
        self.playback = PlaybackManager(self)
        self.casting = CastingManager(self)
        self.dvr = DvrManager(self)
        self.http = HttpServer(self)
        self.discovery = Discovery(self)
        self.state = "not_running"
        self.started_at: float | None = None
        self.context = Context()
        self._stop_requested = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()

    def create_task(self, coro: Any, name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; the hub waits for (or cancels) it on stop."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def start(
        self, *, serve_http: bool = True, initial_scan: bool = True, watch: bool = True, discovery: bool = True,
        background: bool = True,
    ) -> None:
        """Start every part. ``serve_http``, ``initial_scan``, ``watch`` (file watching),
        ``discovery`` (mDNS) and ``background`` (download tracking, RSS sync, transcode workers, the DVR's
        scheduler and guide refreshes) can be left off
        for one-off commands such as ``omnimedia scan`` or ``omnimedia search``.

        Raises ``DatabaseError`` (and ``OSError`` when the port is taken); plugin failures never
        raise here."""
        self.state = "starting"
        self.bus.fire(EVENT_HUB_START, {}, self.context)
        await self.db.connect()
        self.devices.load()
        self.entities.load()
        await self.library.start()
        await self.plugins.setup_all(self.config.plugins, self.config.hub["plugin_setup_timeout"])
        await self.acquisition.start(loops=background)
        await self.transcode.start(loops=background)
        await self.playback.start()
        await self.casting.start()
        await self.dvr.start(loops=background)
        if serve_http:
            await self.http.start(self.config.hub["host"], self.config.hub["port"])
        if discovery:
            await self.discovery.start()
        self.state = "running"
        self.started_at = time.time()
        self.bus.fire(EVENT_HUB_STARTED, {"version": self.version}, self.context)
        if initial_scan:
            self.create_task(self.library.scan(), name="initial library scan")
        if watch:
            await self.library.start_watching()

    async def stop(self) -> None:
        """Stop in reverse order; safe to call twice."""
        if self.state in ("stopping", "stopped"):
            return
        self.state = "stopping"
        self.bus.fire(EVENT_HUB_STOP, {}, self.context)
        await self.discovery.stop()
        await self.http.stop()
        await self.dvr.stop()
        await self.library.stop()
        await self.casting.stop()
        await self.playback.stop()
        await self.transcode.stop()
        await self.acquisition.stop()
        await self.plugins.teardown_all()
        await ffmpeg.terminate_all()
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.wait(self._background, timeout=10)
        await self.bus.drain()
        self.devices.flush()
        self.entities.flush()
        await self.db.close()
        self.state = "stopped"

    def request_stop(self) -> None:
        self._stop_requested.set()

    async def run_until_stopped(self) -> None:
        """Start, serve until SIGINT/SIGTERM (or :meth:`request_stop`), then stop cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_stop)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
                pass
        try:
            await self.start()
            _LOGGER.info("Omni-Media %s is running on http://%s:%s/", self.version, *self.http.bound_address())
            await self._stop_requested.wait()
        finally:
            await self.stop()

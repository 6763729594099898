"""Download tracking: follow every active grab in its download client until it is imported or
failed, and import completed downloads.

Grab states (persisted in the ``grabs`` table, so tracking survives restarts):
``queued`` → ``downloading`` → ``import_pending`` → ``importing`` → ``imported``; any of the
first four → ``failed``. A download the client reports as failed, one that disappears from the
client, and one that makes no progress for ``stalled_timeout`` minutes is failed: its release is
blocklisted, removed from the client, and its targets are searched again (the next best release).
An import that fails (no matching file, disk full) leaves the download where it is and marks the
grab failed with the reason, without blocklisting (the release itself was fine).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from ..const import EVENT_DOWNLOAD_FAILED, EVENT_GRAB_UPDATED, EVENT_IMPORTED
from ..errors import OmniMediaError, ProviderError
from .store import ACTIVE_STATES
from .types import DownloadItem

if TYPE_CHECKING:
    from .manager import AcquisitionManager

_LOGGER = logging.getLogger(__name__)

#: Seconds a new grab may be missing from its client's list before it counts as removed.
MISSING_GRACE = 120.0


class Tracker:
    """Polls download clients and drives grabs through their states (owned by the manager)."""

    def __init__(self, manager: AcquisitionManager) -> None:
        self.manager = manager
        self.store = manager.store
        self._importing: set[int] = set()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Poll now instead of at the next interval (after a grab, in tests)."""
        self._wake.set()

    async def resume(self) -> None:
        """After a restart: an import interrupted mid-way is retried from the start (the
        importer never leaves a half-placed file, see :mod:`.transfer`)."""
        for grab in await self.store.grabs(("importing",)):
            await self.store.update_grab(grab["id"], state="import_pending", message="import interrupted; retrying")

    async def run(self) -> None:
        interval = self.manager.settings["download_poll_interval"]
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - tracking must survive one bad poll
                _LOGGER.exception("download tracking poll failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass

    async def poll(self) -> None:
        """One round: read each client holding active grabs, update them, start imports."""
        grabs = await self.store.grabs(ACTIVE_STATES)
        by_client: dict[str, list[dict[str, Any]]] = {}
        for grab in grabs:
            by_client.setdefault(grab["download_client"], []).append(grab)
        for client_name, client_grabs in by_client.items():
            client = self.manager.clients.get(client_name)
            if client is None:
                continue
            health = self.manager.health.get(("downloader", client_name))
            if health is not None and not health.available():
                continue
            try:
                items = {item.id.lower(): item for item in await client.items()}
            except ProviderError as err:
                self.manager.record_health("downloader", client_name, err)
                continue
            self.manager.record_health("downloader", client_name, None)
            for grab in client_grabs:
                await self._update(grab, items.get((grab["download_id"] or "").lower()))
        for grab in await self.store.grabs(("import_pending",)):
            if grab["id"] not in self._importing:
                self._importing.add(grab["id"])
                self.manager.hub.create_task(self._import(grab), name=f"import {grab['release_title']}")

    async def _update(self, grab: dict[str, Any], item: DownloadItem | None) -> None:
        now = time.time()
        if grab["state"] in ("import_pending", "importing"):
            return
        if item is None:
            if now - grab["grabbed_at"] > MISSING_GRACE:
                await self.fail(grab, "the download disappeared from the download client")
            return
        if item.state == "failed":
            await self.fail(grab, item.message or "the download client reported the download as failed")
            return
        fields: dict[str, Any] = {
            "progress": item.progress, "downloaded": item.downloaded, "eta": item.eta,
            "size": item.size or grab["size"], "content_path": item.content_path, "message": item.message,
        }
        if item.state == "completed":
            fields.update(state="import_pending", progress=1.0, completed_at=now, message=None)
        else:
            fields["state"] = "downloading" if item.state in ("downloading", "stalled") or item.progress > 0 else "queued"
            stalled_for = self.manager.settings["stalled_timeout"] * 60.0
            if item.progress > (grab["progress"] or 0) or grab.get("progress_at") is None:
                fields["progress_at"] = now
            elif stalled_for and now - grab["progress_at"] > stalled_for:
                await self.fail(grab, f"no progress for {stalled_for / 60:g} minutes ({item.message or item.state})")
                return
        changed = any(grab.get(k) != v for k, v in fields.items() if k != "progress_at")
        updated = await self.store.update_grab(grab["id"], **fields)
        if changed and updated is not None:
            self.manager.hub.bus.fire(EVENT_GRAB_UPDATED, updated)

    async def fail(self, grab: dict[str, Any], reason: str, *, research: bool = True) -> None:
        """A download failed: mark it, blocklist the release, remove it from the client and
        search its targets again."""
        updated = await self.store.update_grab(grab["id"], state="failed", message=reason)
        await self.store.add_history(
            "download_failed", title_id=grab.get("title_id"), grab_id=grab["id"], release_title=grab["release_title"],
            quality=grab.get("quality"), indexer=grab.get("indexer"), download_client=grab["download_client"],
            message=reason,
        )
        await self.manager.blocklist_grab(grab, f"download failed: {reason}")
        client = self.manager.clients.get(grab["download_client"])
        if client is not None and grab.get("download_id"):
            try:
                await client.remove(grab["download_id"], delete_data=True)
            except ProviderError as err:
                _LOGGER.warning("could not remove failed download %s: %s", grab["release_title"], err)
        bus = self.manager.hub.bus
        bus.fire(EVENT_DOWNLOAD_FAILED, {**(updated or grab), "reason": reason})
        if updated is not None:
            bus.fire(EVENT_GRAB_UPDATED, updated)
        if research and grab.get("title_id") is not None and not self.manager._stopping:
            self.manager.hub.create_task(
                self.manager.search_title(grab["title_id"], grab["target_ids"] or None),
                name=f"search again after {grab['release_title']} failed",
            )

    async def _import(self, grab: dict[str, Any]) -> None:
        try:
            updated = await self.store.update_grab(grab["id"], state="importing")
            if updated is not None:
                self.manager.hub.bus.fire(EVENT_GRAB_UPDATED, updated)
            from .importing import import_grab

            result = await import_grab(self.manager, grab)
        except (OmniMediaError, OSError) as err:
            await self._import_failed(grab, str(err))
        except Exception as err:  # noqa: BLE001 - an import bug must not kill tracking
            _LOGGER.exception("import of %s failed", grab["release_title"])
            await self._import_failed(grab, f"{type(err).__name__}: {err}")
        else:
            if result.get("imported"):
                updated = await self.store.update_grab(
                    grab["id"], state="imported", message=None,
                    imported_paths=[f["destination"] for f in result["imported"]],
                )
                self.manager.hub.bus.fire(EVENT_IMPORTED, {**(updated or grab), "files": result["imported"]})
                if updated is not None:
                    self.manager.hub.bus.fire(EVENT_GRAB_UPDATED, updated)
            else:
                reasons = "; ".join(f"{f['source']}: {f['reason']}" for f in result.get("failed", [])) or "no media files"
                await self._import_failed(grab, f"nothing imported ({reasons})")
        finally:
            self._importing.discard(grab["id"])

    async def _import_failed(self, grab: dict[str, Any], reason: str) -> None:
        updated = await self.store.update_grab(grab["id"], state="failed", message=f"import failed: {reason}")
        await self.store.add_history(
            "import_failed", title_id=grab.get("title_id"), grab_id=grab["id"], release_title=grab["release_title"],
            quality=grab.get("quality"), indexer=grab.get("indexer"), download_client=grab["download_client"],
            message=reason,
        )
        if updated is not None:
            self.manager.hub.bus.fire(EVENT_GRAB_UPDATED, updated)

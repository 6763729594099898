"""qBittorrent download client (Web API v2), through the `qbittorrent-api` library.

Works with qBittorrent 4.1+ and 5.x. Version differences handled here (source: the qBittorrent
Web API changelog and observed 4.5.2 behaviour): 5.0 renamed the ``pause``/``resume`` actions to
``stop``/``start`` and the states ``pausedDL``/``pausedUP`` to ``stoppedDL``/``stoppedUP`` (both
spellings are mapped below; the library sends both the ``paused`` and ``stopped`` add
parameters), and ``content_path`` appeared in Web API 2.6.1 (4.3.2).

Config entry (``platform: qbittorrent``)::

    url: http://127.0.0.1:8080      # the Web UI address
    username: admin
    password: !secret qbittorrent_password
    api_key:                        # qBittorrent 5.2+ API key, instead of username/password
    category: omnimedia             # created in qBittorrent when missing
    timeout: 30                     # seconds per request

The id of every download is its info-hash (40 lower-case hex digits, qBittorrent's ``hash``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import qbittorrentapi

from omnimedia.core.acquisition.clients import SyncRunner, auth_error, client_schema, describe
from omnimedia.core.acquisition.torrent import infohash_from_magnet, infohash_from_torrent
from omnimedia.core.acquisition.types import DownloadItem, DownloadRequest
from omnimedia.core.errors import ProviderResponseError, ProviderUnavailable
from omnimedia.core.plugins import PluginManifest, hookimpl
from omnimedia.core.plugins.kinds import Downloader

PLATFORM = "qbittorrent"
#: qBittorrent reports this ETA (100 days, in seconds) for "unknown / infinite".
ETA_INFINITE = 8_640_000
#: How long add() waits for a just-added torrent to show up in the list (qBittorrent adds
#: asynchronously: "Ok." comes back before the torrent is in torrents/info).
ADD_CONFIRM_TIMEOUT = 10.0

#: qBittorrent torrent state → our CLIENT_STATES. ``*UP`` states mean the payload is complete.
#: Source: Web API v2 documentation (torrents/info ``state``), 5.0 changelog for ``stopped*``.
STATE_MAP = {
    "error": "failed",
    "missingFiles": "failed",
    "uploading": "completed",
    "pausedUP": "completed",
    "stoppedUP": "completed",
    "queuedUP": "completed",
    "stalledUP": "completed",
    "checkingUP": "completed",
    "forcedUP": "completed",
    "allocating": "queued",
    "downloading": "downloading",
    "metaDL": "downloading",
    "forcedMetaDL": "downloading",
    "pausedDL": "paused",
    "stoppedDL": "paused",
    "queuedDL": "queued",
    "stalledDL": "stalled",
    "checkingDL": "queued",
    "forcedDL": "downloading",
    "checkingResumeData": "queued",
    "moving": "queued",
    "unknown": "queued",
}

STATE_MESSAGES = {
    "error": "qBittorrent reports an I/O error for this torrent",
    "missingFiles": "qBittorrent cannot find the torrent's files on disk",
    "stalledDL": "no peers are sending data",
    "metaDL": "fetching metadata from peers",
}


class QBittorrentClient(Downloader):
    """A qBittorrent instance. See the module docstring for the config entry."""

    platform = PLATFORM
    protocol = "torrent"

    def __init__(self, hub: Any, entry: dict[str, Any]) -> None:
        super().__init__(hub, entry)
        self.label = describe("qBittorrent", self.entry)
        self.category: str | None = self.entry.get("category")
        self._run = SyncRunner()
        timeout = float(self.entry.get("timeout", 30.0))
        self._client = qbittorrentapi.Client(
            host=self.entry["url"],
            username=self.entry.get("username") or None,
            password=self.entry.get("password") or None,
            api_key=self.entry.get("api_key") or None,
            REQUESTS_ARGS={"timeout": (min(timeout, 10.0), timeout)},
            VERIFY_WEBUI_CERTIFICATE=self.entry.get("verify_ssl", True),
            DISABLE_LOGGING_DEBUG_OUTPUT=True,
            RAISE_ERROR_FOR_UNSUPPORTED_QBITTORRENT_VERSIONS=False,
        )
        self._categories_checked: set[str] = set()

    # -- plumbing ---------------------------------------------------------------------------------
    def _translate(self, err: Exception) -> Exception:
        """A qbittorrent-api exception → our ProviderError (message names the client)."""
        if isinstance(err, qbittorrentapi.LoginFailed):
            return auth_error(self.label, "wrong username or password")
        if isinstance(err, (qbittorrentapi.Unauthorized401Error, qbittorrentapi.Forbidden403Error)):
            status = 401 if isinstance(err, qbittorrentapi.Unauthorized401Error) else 403
            text = str(err).strip()
            return auth_error(self.label, f"HTTP {status}{': ' + text if text else ''}", code=status)
        if isinstance(err, qbittorrentapi.HTTP5XXError):
            return ProviderUnavailable(f"{self.label}: server error ({err})", code=getattr(err, "http_status_code", None))
        if isinstance(err, qbittorrentapi.HTTP4XXError):
            return ProviderResponseError(f"{self.label}: request refused ({type(err).__name__}: {err})",
                                         code=getattr(err, "http_status_code", None))
        if isinstance(err, qbittorrentapi.APIConnectionError):
            return ProviderUnavailable(f"{self.label}: cannot reach qBittorrent ({err})")
        if isinstance(err, (ValueError, KeyError, TypeError)):
            return ProviderResponseError(f"{self.label}: unexpected answer ({type(err).__name__}: {err})")
        return err

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._run(getattr(self._client, method), *args, **kwargs)
        except (qbittorrentapi.APIError, ValueError, KeyError, TypeError) as err:
            raise self._translate(err) from None

    async def _ensure_category(self, category: str, save_path: str | None) -> None:
        if category in self._categories_checked:
            return
        existing = await self._call("torrents_categories")
        if category not in existing:
            try:
                await self._run(self._client.torrents_create_category, name=category, save_path=save_path or "")
            except qbittorrentapi.Conflict409Error:
                pass  # created concurrently (qBittorrent answers 409 for an existing category)
            except qbittorrentapi.APIError as err:
                raise self._translate(err) from None
        self._categories_checked.add(category)

    async def _info(self, infohash: str) -> list[Any]:
        return list(await self._call("torrents_info", torrent_hashes=infohash))

    # -- Downloader -------------------------------------------------------------------------------
    async def add(self, request: DownloadRequest) -> str:
        """Add a .torrent (bytes) or magnet; return its info-hash.

        The category (request's, else the entry's) is created when missing. A torrent qBittorrent
        already has returns its hash without a second add. Raises ``ProviderResponseError`` when
        qBittorrent refuses the torrent ("Fails.") and it does not appear in the list."""
        if request.torrent is None and not request.magnet:
            raise ValueError(f"{self.label}: a torrent download needs .torrent bytes or a magnet URI")
        infohash = request.infohash or (
            infohash_from_torrent(request.torrent) if request.torrent is not None else infohash_from_magnet(request.magnet)
        )
        infohash = infohash.lower()
        if await self._info(infohash):
            return infohash
        category = request.category or self.category
        if category:
            await self._ensure_category(category, None)
        kwargs: dict[str, Any] = {
            "category": category or None,
            "save_path": request.save_path or None,
            "is_paused": bool(request.paused),
        }
        if request.torrent is not None:
            kwargs["torrent_files"] = {f"{request.name or infohash}.torrent": request.torrent}
        else:
            kwargs["urls"] = request.magnet
        if request.priority > 0:
            kwargs["add_to_top_of_queue"] = True
        try:
            result = await self._run(self._client.torrents_add, **kwargs)
        except qbittorrentapi.Conflict409Error:
            return infohash  # 5.x answers 409 for a torrent it already has
        except qbittorrentapi.UnsupportedMediaType415Error as err:
            raise ProviderResponseError(f"{self.label}: qBittorrent says the torrent is invalid ({err})",
                                        code=415) from None
        except qbittorrentapi.APIError as err:
            raise self._translate(err) from None
        deadline = time.monotonic() + ADD_CONFIRM_TIMEOUT
        while True:
            if await self._info(infohash):
                return infohash
            if str(result).strip().lower().startswith("fails") or time.monotonic() > deadline:
                raise ProviderResponseError(
                    f"{self.label}: qBittorrent did not add '{request.name}' (answer {str(result)!r}); "
                    "the torrent may be invalid or the save path not writable"
                )
            await asyncio.sleep(0.2)

    async def items(self) -> list[DownloadItem]:
        """Torrents in our category (all torrents when the entry has no category)."""
        kwargs = {"category": self.category} if self.category else {}
        torrents = await self._call("torrents_info", **kwargs)
        return [self._item(t) for t in torrents]

    def _item(self, t: Any) -> DownloadItem:
        state_raw = str(t.get("state", "unknown"))
        state = STATE_MAP.get(state_raw, "queued")
        progress = float(t.get("progress") or 0.0)
        if state == "completed" and progress < 1.0:
            state = "queued"  # e.g. checkingUP of a torrent that turns out incomplete
        eta = t.get("eta")
        size = t.get("size") if t.get("size", -1) >= 0 else t.get("total_size")
        save_path = t.get("save_path") or None
        content_path = t.get("content_path") or (f"{save_path.rstrip('/')}/{t.get('name')}" if save_path else None)
        message = STATE_MESSAGES.get(state_raw)
        return DownloadItem(
            id=str(t.get("hash", "")).lower(),
            name=str(t.get("name", "")),
            state=state,
            progress=progress,
            size=int(size) if size is not None else None,
            downloaded=int(t.get("completed") if t.get("completed") is not None else t.get("downloaded", 0)),
            eta=float(eta) if isinstance(eta, int | float) and 0 <= eta < ETA_INFINITE else None,
            save_path=save_path,
            content_path=content_path,
            category=t.get("category") or None,
            message=message,
            seeders=t.get("num_seeds"),
            ratio=float(t["ratio"]) if t.get("ratio") is not None else None,
        )

    async def remove(self, item_id: str, *, delete_data: bool = False) -> None:
        """Delete the torrent (and its files when ``delete_data``). Unknown ids are ignored
        (qBittorrent ignores unknown hashes)."""
        await self._call("torrents_delete", delete_files=bool(delete_data), torrent_hashes=item_id.lower())

    async def add_peers(self, item_id: str, peers: list[str]) -> None:
        """Tell qBittorrent about peers (``"host:port"``) for a torrent (``torrents/addPeers``)."""
        await self._call("torrents_add_peers", peers=peers, torrent_hashes=item_id.lower())

    async def status(self) -> dict[str, Any]:
        """``{"version": "v4.5.2", "api_version": "2.8.19"}``; raises a ProviderError when down or
        refused."""
        version = await self._call("app_version")
        api_version = await self._call("app_web_api_version")
        return {"version": str(version), "api_version": str(api_version)}

    async def close(self) -> None:
        """Log out (best effort, at most 5 s: the hub is stopping)."""
        try:
            await asyncio.wait_for(self._run(self._client.auth_log_out), 5)
        except Exception:  # noqa: BLE001 - a client that is down cannot be logged out of
            pass


CONFIG_SCHEMA = client_schema(credentials=("username", "password", "api_key"))


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="qBittorrent download client (Web API v2; qBittorrent 4.1–5.x)",
        kinds=("downloader",),
        config_schema=CONFIG_SCHEMA,
        documentation="https://github.com/qbittorrent/qBittorrent/wiki/WebUI-API-(qBittorrent-4.1)",
    )


@hookimpl
def omnimedia_downloaders() -> list[type[Downloader]]:
    return [QBittorrentClient]

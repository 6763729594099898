"""Transmission download client (JSON RPC), through the `transmission-rpc` library.

The RPC's CSRF guard — the first request gets ``409`` with an ``X-Transmission-Session-Id``
header that must be echoed on every later request, and again after a daemon restart — is handled
by the library (source: Transmission ``rpc-spec``, section 2.3.1; observed with 3.00).

Categories: Transmission 4.0 (RPC version 17) accepts ``labels`` when a torrent is added, so the
category becomes a label and :meth:`~TransmissionClient.items` filters on it. Older daemons
(3.00 is RPC 16) ignore ``labels`` on ``torrent-add`` — observed: the torrent is added without a
label — so there the category is a sub-folder of the download folder (``<download-dir>/omnimedia``)
and items are recognised by that folder's name.

Config entry (``platform: transmission``)::

    url: http://127.0.0.1:9091      # add the RPC path when it is not /transmission/rpc
    username: transmission
    password: !secret transmission_password
    category: omnimedia
    timeout: 30

The id of every download is its info-hash (Transmission's ``hashString``).
"""

from __future__ import annotations

import ntpath
import posixpath
from typing import Any
from urllib.parse import unquote, urlsplit

import transmission_rpc
from transmission_rpc.error import (
    TransmissionAuthError,
    TransmissionConnectError,
    TransmissionError,
    TransmissionTimeoutError,
)

from omnimedia.core.acquisition.clients import SyncRunner, auth_error, client_schema, describe
from omnimedia.core.acquisition.torrent import infohash_from_magnet, infohash_from_torrent
from omnimedia.core.acquisition.types import DownloadItem, DownloadRequest
from omnimedia.core.errors import ProviderResponseError, ProviderUnavailable
from omnimedia.core.plugins import PluginManifest, hookimpl
from omnimedia.core.plugins.kinds import Downloader

PLATFORM = "transmission"
DEFAULT_RPC_PATH = "/transmission/rpc"
#: The first RPC version whose ``torrent-add`` takes ``labels`` (Transmission 4.0.0).
LABELS_ON_ADD_RPC = 17

#: ``torrent-get`` fields we read (all exist since RPC 14 except ``labels``, RPC 16).
FIELDS = [
    "id", "hashString", "name", "status", "error", "errorString", "percentDone", "sizeWhenDone",
    "leftUntilDone", "totalSize", "eta", "downloadDir", "isFinished", "isStalled", "peersSendingToUs",
    "peersConnected", "rateDownload", "uploadRatio", "metadataPercentComplete",
]

#: Transmission's ``status`` numbers (rpc-spec 3.3: TR_STATUS_*) → our CLIENT_STATES.
STATUS_STOPPED, STATUS_CHECK_WAIT, STATUS_CHECK, STATUS_DOWNLOAD_WAIT, STATUS_DOWNLOAD, STATUS_SEED_WAIT, STATUS_SEED = range(7)
#: ``error`` numbers (TR_STAT_*): 1 tracker warning, 2 tracker error, 3 local error.
ERROR_LOCAL = 3


class TransmissionClient(Downloader):
    """A Transmission daemon. See the module docstring for the config entry."""

    platform = PLATFORM
    protocol = "torrent"

    def __init__(self, hub: Any, entry: dict[str, Any]) -> None:
        super().__init__(hub, entry)
        self.label = describe("Transmission", self.entry)
        self.category: str | None = self.entry.get("category")
        parts = urlsplit(self.entry["url"])
        self._conn = {
            "protocol": parts.scheme,
            "host": parts.hostname,
            "port": parts.port or (443 if parts.scheme == "https" else 80),
            "path": parts.path if parts.path not in ("", "/") else DEFAULT_RPC_PATH,
            "username": self.entry.get("username") or (unquote(parts.username) if parts.username else None),
            "password": self.entry.get("password") or (unquote(parts.password) if parts.password else None),
            "timeout": float(self.entry.get("timeout", 30.0)),
        }
        self._run = SyncRunner()
        self._client: transmission_rpc.Client | None = None
        self._rpc_version: int | None = None

    # -- plumbing ---------------------------------------------------------------------------------
    def _translate(self, err: TransmissionError) -> Exception:
        if isinstance(err, TransmissionAuthError):
            status = getattr(err.original, "status_code", None)
            return auth_error(self.label, f"HTTP {status or 401}", code=status)
        if isinstance(err, TransmissionTimeoutError):
            return ProviderUnavailable(f"{self.label}: no answer within {self._conn['timeout']:.0f} s")
        if isinstance(err, TransmissionConnectError):
            return ProviderUnavailable(f"{self.label}: cannot reach Transmission ({err.message})")
        if "parse response as json" in err.message:
            raw = " ".join((err.raw_response or "").split())[:120]
            return ProviderUnavailable(f"{self.label}: the RPC answered with something other than JSON "
                                       f"(wrong URL or path, or a server error): {raw!r}")
        return ProviderResponseError(f"{self.label}: {err.message}")

    def _connected(self) -> transmission_rpc.Client:
        """(worker thread) The library client, connecting (and learning the RPC version) first."""
        if self._client is None:
            client = transmission_rpc.Client(**self._conn)
            self._rpc_version = int(client.get_session().rpc_version)
            self._client = client
        return self._client

    async def _call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        def work() -> Any:
            return func(self._connected(), *args, **kwargs)

        try:
            return await self._run(work)
        except TransmissionError as err:
            if isinstance(err, TransmissionConnectError):
                self._client = None  # reconnect (and re-learn the version) next time
            raise self._translate(err) from None

    @property
    def labels_supported(self) -> bool:
        """Whether the connected daemon takes labels on ``torrent-add`` (RPC ≥ 17, Transmission 4.0)."""
        return (self._rpc_version or 0) >= LABELS_ON_ADD_RPC

    @staticmethod
    def _join(base: str, name: str) -> str:
        """Join a folder on the daemon's machine (POSIX, or Windows when it looks like one)."""
        module = ntpath if ("\\" in base and "/" not in base) else posixpath
        return module.join(base, name)

    # -- Downloader -------------------------------------------------------------------------------
    async def add(self, request: DownloadRequest) -> str:
        """Add a .torrent (bytes) or magnet; return its info-hash (Transmission's ``hashString``).

        With labels (RPC ≥ 17) the category is a label; otherwise the download folder is
        ``<save_path or the daemon's download-dir>/<category>``. A torrent Transmission already has
        returns its hash (Transmission answers ``torrent-duplicate``)."""
        if request.torrent is None and not request.magnet:
            raise ValueError(f"{self.label}: a torrent download needs .torrent bytes or a magnet URI")
        infohash = (request.infohash or (
            infohash_from_torrent(request.torrent) if request.torrent is not None else infohash_from_magnet(request.magnet)
        )).lower()
        category = request.category or self.category

        def work(client: transmission_rpc.Client) -> str:
            if client.get_torrents(ids=[infohash], arguments=["id", "hashString"]):
                return infohash
            kwargs: dict[str, Any] = {"paused": bool(request.paused)}
            download_dir = request.save_path
            if category and self.labels_supported:
                kwargs["labels"] = [category]
            elif category:
                base = download_dir or client.get_session().download_dir
                download_dir = self._join(base, category)
            if download_dir:
                kwargs["download_dir"] = download_dir
            if request.priority:
                kwargs["bandwidth_priority"] = 1 if request.priority > 0 else -1
            added = client.add_torrent(request.torrent if request.torrent is not None else request.magnet, **kwargs)
            if request.paused and request.torrent is None:
                # Transmission does not keep a magnet paused on add (it starts fetching metadata;
                # observed with 3.00, noted by transmission-rpc), so stop it explicitly.
                client.stop_torrent([added.hash_string])
            return str(added.hash_string).lower()

        got = await self._call(work)
        if got != infohash:
            raise ProviderResponseError(f"{self.label}: Transmission reports info-hash {got} for '{request.name}', "
                                        f"the hub computed {infohash}")
        return got

    async def items(self) -> list[DownloadItem]:
        """Torrents in our category: by label (RPC ≥ 17) or by the category folder's name."""
        def work(client: transmission_rpc.Client) -> list[Any]:
            fields = FIELDS + (["labels"] if (self._rpc_version or 0) >= 16 else [])
            return client.get_torrents(arguments=fields)

        torrents = await self._call(work)
        out = []
        for t in torrents:
            fields = t.fields
            if self.category and not self._in_category(fields):
                continue
            out.append(self._item(fields))
        return out

    def _in_category(self, f: dict[str, Any]) -> bool:
        if self.labels_supported:
            return self.category in (f.get("labels") or [])
        folder = str(f.get("downloadDir") or "").rstrip("/\\")
        return folder.replace("\\", "/").rsplit("/", 1)[-1] == self.category

    def _item(self, f: dict[str, Any]) -> DownloadItem:
        status = int(f.get("status", STATUS_STOPPED))
        progress = float(f.get("percentDone") or 0.0)
        size = f.get("sizeWhenDone")
        left = f.get("leftUntilDone")
        error, error_text = int(f.get("error") or 0), (f.get("errorString") or "").strip()
        complete = size is not None and left == 0 and progress >= 1.0 and (f.get("metadataPercentComplete", 1) >= 1)
        message = None
        if error == ERROR_LOCAL:
            state, message = "failed", f"Transmission: {error_text or 'local error'}"
        elif complete and status in (STATUS_STOPPED, STATUS_SEED_WAIT, STATUS_SEED):
            state = "completed"
        elif status == STATUS_STOPPED:
            state = "paused"
        elif status in (STATUS_CHECK_WAIT, STATUS_CHECK, STATUS_DOWNLOAD_WAIT):
            state = "queued"
        elif status == STATUS_DOWNLOAD:
            stalled = f.get("isStalled") or (not f.get("peersSendingToUs") and not f.get("rateDownload"))
            state = "stalled" if stalled else "downloading"
            if stalled:
                message = "no peers are sending data"
        elif status in (STATUS_SEED_WAIT, STATUS_SEED):
            state = "completed" if complete else "downloading"
        else:
            state = "queued"
        if error in (1, 2) and error_text and message is None:
            message = f"tracker: {error_text}"
        eta = f.get("eta")
        save_path = f.get("downloadDir") or None
        name = str(f.get("name", ""))
        ratio = f.get("uploadRatio")
        return DownloadItem(
            id=str(f.get("hashString", "")).lower(),
            name=name,
            state=state,
            progress=progress,
            size=int(size) if size is not None else None,
            downloaded=int(size - left) if size is not None and left is not None else None,
            eta=float(eta) if isinstance(eta, int | float) and eta >= 0 else None,
            save_path=save_path,
            content_path=self._join(save_path, name) if save_path and name else None,
            category=self.category if self.category and self._in_category(f) else None,
            message=message,
            seeders=f.get("peersSendingToUs"),
            ratio=float(ratio) if isinstance(ratio, int | float) and ratio >= 0 else None,
        )

    async def remove(self, item_id: str, *, delete_data: bool = False) -> None:
        """Remove the torrent (and its files when ``delete_data``); Transmission ignores unknown
        hashes (observed with 3.00)."""
        await self._call(lambda c: c.remove_torrent([item_id.lower()], delete_data=bool(delete_data)))

    async def status(self) -> dict[str, Any]:
        """``{"version": "3.00 (bb6b5a062e)", "rpc_version": 16, "labels": False,
        "download_dir": …}``; raises a ProviderError when down or refused."""
        session = await self._call(lambda c: c.get_session())
        return {
            "version": str(session.version),
            "rpc_version": int(session.rpc_version),
            "labels": self.labels_supported,
            "download_dir": session.download_dir,
        }

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await self._run(client.__exit__, None, None, None)  # the library's way to close its session


CONFIG_SCHEMA = client_schema(credentials=("username", "password"))


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="Transmission download client (RPC; labels from 4.0, category folders before)",
        kinds=("downloader",),
        config_schema=CONFIG_SCHEMA,
        documentation="https://github.com/transmission/transmission/blob/main/docs/rpc-spec.md",
    )


@hookimpl
def omnimedia_downloaders() -> list[type[Downloader]]:
    return [TransmissionClient]

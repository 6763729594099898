"""NZBGet download client: our own small async JSON-RPC client on aiohttp.

No well-kept Python library exists for NZBGet's API, and the protocol is tiny: ``POST
<url>/jsonrpc`` with ``{"method", "params", "id"}`` and HTTP basic auth (``ControlUsername`` /
``ControlPassword``); the answer is ``{"result": …}`` or ``{"error": {"name", "code",
"message"}}``; bad credentials get HTTP 401. Sources: the NZBGet API reference
(nzbget.net/api: ``append``, ``listgroups``, ``history``, ``editqueue``, ``version``, ``status``)
and observed NZBGet 21.0 behaviour.

- ``append`` takes the 10-argument signature of NZBGet 16+: ``NZBFilename, Content (base64),
  Category, Priority, AddToTop, AddPaused, DupeKey, DupeScore, DupeMode, PPParameters``; it returns
  the new job's ``NZBID`` (≤ 0 means refused).
- ``editqueue`` takes ``(Command, Param, IDs)`` from NZBGet 18 and ``(Command, Offset, Param,
  IDs)`` before; the plugin picks by version.
- A job goes ``listgroups`` (queue) → ``history`` with a ``Status`` such as ``SUCCESS/ALL`` or
  ``FAILURE/HEALTH`` (see :data:`HISTORY_TEXT`).

Config entry (``platform: nzbget``)::

    url: http://127.0.0.1:6789
    username: nzbget
    password: !secret nzbget_password
    category: omnimedia          # NZBGet puts files in DestDir/<category> (AppendCategoryDir)
    timeout: 30

The id of every download is NZBGet's ``NZBID`` as a string.
"""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

from omnimedia.core.acquisition.clients import JsonHttp, client_schema, describe
from omnimedia.core.acquisition.types import DownloadItem, DownloadRequest
from omnimedia.core.errors import ProviderResponseError
from omnimedia.core.plugins import PluginManifest, hookimpl
from omnimedia.core.plugins.kinds import Downloader

PLATFORM = "nzbget"

#: queue ``Status`` → our state. Post-processing stages count as still downloading (the files
#: are not final yet); source: NZBGet API reference, ``listgroups``.
QUEUE_STATES = {
    "QUEUED": "queued",
    "FETCHING": "queued",
    "PAUSED": "paused",
    "DOWNLOADING": "downloading",
    "PP_QUEUED": "downloading",
    "LOADING_PARS": "downloading",
    "VERIFYING_SOURCES": "downloading",
    "REPAIRING": "downloading",
    "VERIFYING_REPAIRED": "downloading",
    "RENAMING": "downloading",
    "UNPACKING": "downloading",
    "MOVING": "downloading",
    "EXECUTING_SCRIPT": "downloading",
    "PP_FINISHED": "downloading",
}

#: history ``Status`` → words for the message (NZBGet API reference, ``history``).
HISTORY_TEXT = {
    "FAILURE/HEALTH": "too many articles are missing from the news server (health below critical)",
    "FAILURE/PAR": "par-check/repair failed",
    "FAILURE/UNPACK": "unpacking failed",
    "FAILURE/MOVE": "moving the files failed",
    "FAILURE/SCAN": "the NZB file could not be read",
    "FAILURE/BAD": "marked bad",
    "FAILURE/FETCH": "fetching the NZB from its URL failed",
    "FAILURE/SCRIPT": "a post-processing script failed",
    "WARNING/SPACE": "not enough disk space",
    "WARNING/PASSWORD": "the archive is password-protected",
    "WARNING/DAMAGED": "damaged and not repairable",
    "WARNING/REPAIRABLE": "damaged; repair was possible but did not run",
    "WARNING/HEALTH": "health below critical, repair impossible",
    "WARNING/SCRIPT": "a post-processing script reported a problem",
    "DELETED/MANUAL": "deleted in NZBGet",
    "DELETED/DUPE": "deleted by NZBGet's duplicate check",
    "DELETED/COPY": "deleted as a copy of another job",
    "DELETED/GOOD": "deleted: another copy of this release already succeeded",
    "DELETED/HEALTH": "deleted by the health check (too many articles missing)",
}


def _size(item: dict[str, Any], key: str) -> int:
    """NZBGet splits 64-bit sizes into ``<key>Lo``/``<key>Hi`` (bytes); ``<key>MB`` is rounded."""
    lo, hi = item.get(f"{key}Lo"), item.get(f"{key}Hi")
    if lo is None:
        return int(item.get(f"{key}MB", 0)) * 1024 * 1024
    return (int(hi or 0) << 32) + (int(lo) & 0xFFFFFFFF)


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:2]) or (0,)


class NzbgetClient(Downloader):
    """An NZBGet instance. See the module docstring for the config entry."""

    platform = PLATFORM
    protocol = "usenet"

    def __init__(self, hub: Any, entry: dict[str, Any]) -> None:
        super().__init__(hub, entry)
        self.label = describe("NZBGet", self.entry)
        self.category: str | None = self.entry.get("category")
        user, password = self.entry.get("username"), self.entry.get("password")
        self._http = JsonHttp(self.label, self.entry["url"], timeout=float(self.entry.get("timeout", 30.0)),
                              basic_auth=(user or "", password or "") if (user or password) else None,
                              verify_ssl=self.entry.get("verify_ssl", True))
        self._ids = itertools.count(1)
        self._version: tuple[int, ...] | None = None

    async def call(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call; returns ``result``. Raises ``ProviderResponseError`` for an RPC error
        answer (and the :class:`JsonHttp` errors for transport/HTTP failures)."""
        body = {"method": method, "params": list(params), "id": next(self._ids)}
        answer = await self._http.json("POST", "/jsonrpc", json=body)
        if not isinstance(answer, dict):
            raise ProviderResponseError(f"{self.label}: {method} answered {str(answer)[:100]!r}, not a JSON-RPC object")
        if answer.get("error"):
            err = answer["error"]
            text = err.get("message") if isinstance(err, dict) else str(err)
            raise ProviderResponseError(f"{self.label}: {method} failed: {text}",
                                        code=err.get("code") if isinstance(err, dict) else None)
        if "result" not in answer:
            raise ProviderResponseError(f"{self.label}: {method} answered without a result")
        return answer["result"]

    async def _server_version(self) -> tuple[int, ...]:
        if self._version is None:
            self._version = _version_tuple(str(await self.call("version")))
        return self._version

    async def _editqueue(self, command: str, ids: list[int], param: str = "") -> bool:
        if await self._server_version() >= (18,):
            return bool(await self.call("editqueue", command, param, ids))
        return bool(await self.call("editqueue", command, 0, param, ids))

    # -- Downloader -------------------------------------------------------------------------------
    async def add(self, request: DownloadRequest) -> str:
        """Append the NZB (``request.nzb`` bytes) as job ``request.name``; return its NZBID.

        A job of the same name already queued in the same category returns that job's id
        instead of adding a copy. Raises ``ProviderResponseError`` when NZBGet refuses the NZB."""
        if not request.nzb:
            raise ValueError(f"{self.label}: a usenet download needs the .nzb file's bytes")
        category = request.category or self.category or ""
        job = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", request.name).strip() or "download"
        filename = job if job.lower().endswith(".nzb") else f"{job}.nzb"
        for group in await self.call("listgroups", 0):
            if group.get("NZBName") == filename[:-4] and (group.get("Category") or "") == category:
                return str(group["NZBID"])
        priority = -50 if request.priority < 0 else 0 if request.priority == 0 else 50 if request.priority == 1 else 100
        nzbid = await self.call(
            "append",
            filename,
            base64.b64encode(request.nzb).decode("ascii"),
            category,
            priority,
            request.priority > 0,  # AddToTop
            bool(request.paused),  # AddPaused
            "",  # DupeKey
            0,  # DupeScore
            "SCORE",  # DupeMode (NZBGet's default)
            [],  # PPParameters
        )
        if not isinstance(nzbid, int) or nzbid <= 0:
            raise ProviderResponseError(f"{self.label}: NZBGet refused the NZB for '{request.name}' (append returned {nzbid!r})")
        return str(nzbid)

    async def items(self) -> list[DownloadItem]:
        """Queue and history jobs in our category (all when no category is set)."""
        groups = await self.call("listgroups", 0)
        history = await self.call("history", False)
        rate = 0
        try:
            rate = int((await self.call("status")).get("DownloadRate") or 0)  # bytes per second
        except ProviderResponseError:
            pass
        out = [self._queue_item(g, rate) for g in groups if self._ours(g)]
        out += [self._history_item(h) for h in history if h.get("Kind", "NZB") in ("NZB", "URL") and self._ours(h)]
        return out

    def _ours(self, item: dict[str, Any]) -> bool:
        return not self.category or (item.get("Category") or "") == self.category

    def _queue_item(self, g: dict[str, Any], rate: int) -> DownloadItem:
        status = str(g.get("Status", "QUEUED"))
        state = QUEUE_STATES.get(status, "queued")
        size = _size(g, "FileSize")
        remaining = _size(g, "RemainingSize")
        if status != "PAUSED":
            # par files are added paused and only fetched when needed; leave them out (as NZBGet's
            # own web UI does for the progress bar)
            remaining = max(0, remaining - _size(g, "PausedSize"))
        done = max(0, size - remaining)
        message = None
        if state == "downloading" and status != "DOWNLOADING":
            message = f"post-processing: {status.lower().replace('_', ' ')}"
        dest = g.get("DestDir") or None
        return DownloadItem(
            id=str(g.get("NZBID")),
            name=str(g.get("NZBName", "")),
            state=state,
            progress=min(1.0, done / size) if size else 0.0,
            size=size or None,
            downloaded=_size(g, "DownloadedSize") if g.get("DownloadedSizeLo") is not None else done,
            eta=remaining / rate if rate > 0 and state == "downloading" else None,
            save_path=dest.rsplit("/", 1)[0] if dest and "/" in dest else dest,
            content_path=dest,
            category=g.get("Category") or None,
            message=message,
        )

    def _history_item(self, h: dict[str, Any]) -> DownloadItem:
        status = str(h.get("Status", ""))
        kind = status.split("/", 1)[0]
        if kind == "SUCCESS" or status == "WARNING/SCRIPT":
            state = "completed"
        else:
            state = "failed"
        size = _size(h, "FileSize")
        downloaded = _size(h, "DownloadedSize")
        message = None
        if state == "failed" or status == "WARNING/SCRIPT":
            message = self._failure_message(h, status)
        path = h.get("FinalDir") or h.get("DestDir") or None
        return DownloadItem(
            id=str(h.get("NZBID", h.get("ID"))),
            name=str(h.get("Name") or h.get("NZBName", "")),
            state=state,
            progress=1.0 if state == "completed" else (min(1.0, downloaded / size) if size else 0.0),
            size=size or None,
            downloaded=downloaded,
            eta=None,
            save_path=path.rsplit("/", 1)[0] if path and "/" in path else path,
            content_path=path,
            category=h.get("Category") or None,
            message=message,
        )

    @staticmethod
    def _failure_message(h: dict[str, Any], status: str) -> str:
        words = HISTORY_TEXT.get(status) or status
        details = []
        total, failed = h.get("TotalArticles"), h.get("FailedArticles")
        if total:
            details.append(f"{failed or 0} of {total} articles failed")
        if h.get("Health") is not None and h.get("CriticalHealth") is not None:
            details.append(f"health {int(h['Health']) / 10:.1f} % (critical {int(h['CriticalHealth']) / 10:.1f} %)")
        for key in ("ParStatus", "UnpackStatus", "MoveStatus", "ScriptStatus", "DeleteStatus", "UrlStatus"):
            value = h.get(key)
            if value and value not in ("NONE", "SUCCESS"):
                details.append(f"{key[:-6].lower()} {value.lower()}")
        return f"NZBGet: {words} [{status}]" + (f"; {', '.join(details)}" if details else "")

    async def remove(self, item_id: str, *, delete_data: bool = False) -> None:
        """Remove a job. Queued: ``GroupFinalDelete`` with ``delete_data`` (NZBGet deletes the
        downloaded parts, no history record), else ``GroupDelete`` (moved to history as deleted,
        files kept) followed by ``HistoryDelete``. In history: ``HistoryDelete`` (hidden; NZBGet
        keeps it for its duplicate check). NZBGet's API cannot delete a finished job's files;
        those belong to the import step. Unknown ids are ignored."""
        try:
            nzbid = int(item_id)
        except (TypeError, ValueError):
            return
        if any(g.get("NZBID") == nzbid for g in await self.call("listgroups", 0)):
            if delete_data:
                await self._editqueue("GroupFinalDelete", [nzbid])
                return
            await self._editqueue("GroupDelete", [nzbid])
        if any(h.get("NZBID", h.get("ID")) == nzbid for h in await self.call("history", False)):
            await self._editqueue("HistoryDelete", [nzbid])

    async def status(self) -> dict[str, Any]:
        """``{"version": "21.0", "download_paused": bool, "download_rate": bytes/s}``."""
        version = str(await self.call("version"))
        self._version = _version_tuple(version)
        info = await self.call("status")
        return {"version": version, "download_paused": bool(info.get("DownloadPaused")),
                "download_rate": int(info.get("DownloadRate") or 0)}

    async def close(self) -> None:
        await self._http.close()


CONFIG_SCHEMA = client_schema(credentials=("username", "password"))


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="NZBGet usenet download client (JSON-RPC; NZBGet 16+)",
        kinds=("downloader",),
        config_schema=CONFIG_SCHEMA,
        documentation="https://nzbget.com/documentation/api/",
    )


@hookimpl
def omnimedia_downloaders() -> list[type[Downloader]]:
    return [NzbgetClient]

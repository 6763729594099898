"""SABnzbd download client: our own small async client for its HTTP API, on aiohttp.

Protocol (source: the SABnzbd API reference, sabnzbd.org/wiki/configuration/4.3/api, and
SABnzbd's ``api.py``/``interface.py``): every call is ``<url>/api?mode=…&apikey=…&output=json``.

- ``addfile``: ``POST multipart/form-data`` with the NZB in the field ``name`` (or ``nzbfile``),
  plus ``nzbname``, ``cat``, ``priority``, ``pp``; answers ``{"status": true, "nzo_ids": [id]}``,
  or ``{"status": false, "nzo_ids": []}`` for an NZB it cannot read. ``addurl`` takes the NZB's
  URL in ``name`` and fetches it itself.
- ``queue`` → ``{"queue": {"paused", "slots": [{"nzo_id", "filename", "status", "cat", "mb",
  "mbleft", "percentage", "timeleft", …}]}}``; ``history`` → ``{"history": {"slots": [{"nzo_id",
  "name", "status", "category", "bytes", "storage", "path", "fail_message", …}]}}``.
- ``queue&name=delete&value=ID`` / ``history&name=delete&value=ID`` with ``del_files=1`` to remove
  files too; ``version`` (no key needed); ``get_cats``; ``set_config&section=categories``.
- Errors: ``{"status": false, "error": "…"}``. A missing or wrong API key is refused before the
  API runs: SABnzbd 4.x answers HTTP 403 with the plain text ``API Key Incorrect`` (or ``API Key
  Required``); older releases answered ``{"status": false, "error": "API Key Incorrect"}`` with
  HTTP 200. Both become ``ProviderAuthError``.
- SABnzbd silently puts a job with an unknown category into the default category ``*``, and
  lower-cases category names, so the plugin creates its category first and compares
  case-insensitively.

Config entry (``platform: sabnzbd``)::

    url: http://127.0.0.1:8080      # add /sabnzbd when the web root has it
    api_key: !secret sabnzbd_api_key
    category: omnimedia
    timeout: 30

The id of every download is SABnzbd's ``nzo_id``.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from omnimedia.core.acquisition.clients import JsonHttp, auth_error, client_schema, describe
from omnimedia.core.acquisition.types import DownloadItem, DownloadRequest
from omnimedia.core.errors import ProviderResponseError
from omnimedia.core.plugins import PluginManifest, hookimpl
from omnimedia.core.plugins.kinds import Downloader

PLATFORM = "sabnzbd"
MEBI = 1024 * 1024
#: history entries read per call (newest first)
HISTORY_LIMIT = 1000

#: queue slot ``status`` → our state (SABnzbd ``constants.Status``).
QUEUE_STATES = {
    "Downloading": "downloading",
    "Queued": "queued",
    "Paused": "paused",
    "Fetching": "queued",
    "Grabbing": "queued",
    "Propagating": "queued",
    "Checking": "queued",
}
#: history slot ``status`` values that mean "still post-processing" (not final yet).
POST_PROCESSING = {"Queued", "QuickCheck", "Verifying", "Repairing", "Fetching", "Extracting", "Moving", "Running"}


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _seconds(timeleft: Any) -> float | None:
    """SABnzbd's ``timeleft``: ``H:MM:SS`` or ``D:HH:MM:SS`` → seconds (None for 0/unknown)."""
    parts = str(timeleft or "").split(":")
    if not all(p.isdigit() for p in parts) or len(parts) not in (3, 4):
        return None
    total = 0
    for part, unit in zip(reversed(parts), (1, 60, 3600, 86400), strict=False):
        total += int(part) * unit
    return float(total) or None


class SabnzbdClient(Downloader):
    """A SABnzbd instance. See the module docstring for the config entry."""

    platform = PLATFORM
    protocol = "usenet"

    def __init__(self, hub: Any, entry: dict[str, Any]) -> None:
        super().__init__(hub, entry)
        self.label = describe("SABnzbd", self.entry)
        self.category: str | None = (self.entry.get("category") or "").lower() or None
        self.api_key: str = self.entry.get("api_key") or ""
        self._http = JsonHttp(self.label, self.entry["url"], timeout=float(self.entry.get("timeout", 30.0)),
                              verify_ssl=self.entry.get("verify_ssl", True))
        self._categories_checked: set[str] = set()

    async def api(self, mode: str, *, method: str = "GET", data: Any = None, **params: Any) -> dict[str, Any]:
        """Call ``mode`` with ``params``; return the JSON object. Raises ``ProviderAuthError`` for a
        refused key (403 text or the JSON error), ``ProviderResponseError`` for any other
        ``{"status": false, "error": …}`` answer."""
        query = {"mode": mode, "output": "json", "apikey": self.api_key}
        query.update({k: str(v) for k, v in params.items() if v is not None})
        answer = await self._http.json(method, "/api", params=query, data=data)
        if not isinstance(answer, dict):
            raise ProviderResponseError(f"{self.label}: mode={mode} answered {str(answer)[:100]!r}, not a JSON object")
        if answer.get("status") is False and answer.get("error"):
            error = str(answer["error"])
            if "api key" in error.lower() or "authentication" in error.lower():
                raise auth_error(self.label, error)
            raise ProviderResponseError(f"{self.label}: mode={mode} failed: {error}")
        return answer

    async def _ensure_category(self, category: str) -> None:
        if category in self._categories_checked or category == "*":
            return
        cats = [str(c).lower() for c in (await self.api("get_cats")).get("categories", [])]
        if category not in cats:
            await self.api("set_config", section="categories", keyword=category)
            cats = [str(c).lower() for c in (await self.api("get_cats")).get("categories", [])]
            if category not in cats:
                raise ProviderResponseError(f"{self.label}: could not create the category '{category}'; "
                                            "create it in SABnzbd (Config → Categories)")
        self._categories_checked.add(category)

    # -- Downloader -------------------------------------------------------------------------------
    async def add(self, request: DownloadRequest) -> str:
        """Upload the NZB (``addfile``) as job ``request.name`` in our category; return its
        ``nzo_id``. A job of the same name already queued in the category returns that id.
        Raises ``ProviderResponseError`` when SABnzbd refuses the NZB."""
        if not request.nzb:
            raise ValueError(f"{self.label}: a usenet download needs the .nzb file's bytes")
        category = (request.category or self.category or "").lower() or None
        if category:
            await self._ensure_category(category)
        job = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", request.name).strip() or "download"
        for slot in await self._queue_slots():
            if slot.get("filename") == job and (not category or str(slot.get("cat", "")).lower() == category):
                return str(slot["nzo_id"])
        form = aiohttp.FormData()
        form.add_field("name", request.nzb, filename=f"{job}.nzb", content_type="application/x-nzb")
        answer = await self.api("addfile", method="POST", data=form, nzbname=job, cat=category,
                                priority=self._priority(request), pp=None)
        ids = answer.get("nzo_ids") or []
        if not answer.get("status") or not ids:
            raise ProviderResponseError(f"{self.label}: SABnzbd refused the NZB for '{request.name}' "
                                        "(it could not read it, or it holds no files)")
        return str(ids[0])

    async def add_url(self, url: str, name: str, *, category: str | None = None, paused: bool = False) -> str:
        """Have SABnzbd fetch an NZB from ``url`` itself (``addurl``); return the ``nzo_id``."""
        category = (category or self.category or "").lower() or None
        if category:
            await self._ensure_category(category)
        answer = await self.api("addurl", name=url, nzbname=name, cat=category, priority=-2 if paused else None)
        ids = answer.get("nzo_ids") or []
        if not answer.get("status") or not ids:
            raise ProviderResponseError(f"{self.label}: SABnzbd refused the NZB URL for '{name}'")
        return str(ids[0])

    @staticmethod
    def _priority(request: DownloadRequest) -> int | None:
        """Our request → SABnzbd ``priority``: -2 paused, -1 low, 0 normal, 1 high, 2 force;
        None lets the category decide (SABnzbd's -100)."""
        if request.paused:
            return -2
        if request.priority == 0:
            return None
        return max(-1, min(2, request.priority))

    async def _queue(self) -> dict[str, Any]:
        queue = (await self.api("queue", start=0, limit=0)).get("queue")
        if not isinstance(queue, dict):
            raise ProviderResponseError(f"{self.label}: the queue answer has no 'queue' object")
        return queue

    async def _queue_slots(self) -> list[dict[str, Any]]:
        return list((await self._queue()).get("slots") or [])

    async def _history_slots(self) -> list[dict[str, Any]]:
        # limit=0 would mean "the user's history page size" (often 10), so ask for plenty, and only
        # for our category (the API's own filter)
        history = (await self.api("history", start=0, limit=HISTORY_LIMIT, category=self.category)).get("history")
        if not isinstance(history, dict):
            raise ProviderResponseError(f"{self.label}: the history answer has no 'history' object")
        return list(history.get("slots") or [])

    async def items(self) -> list[DownloadItem]:
        """Queue and history jobs in our category (all when no category is set)."""
        queue = await self._queue()
        history = await self._history_slots()
        whole_queue_paused = bool(queue.get("paused"))
        out = [self._queue_item(s, whole_queue_paused) for s in queue.get("slots") or []
               if self._ours(s.get("cat"))]
        out += [self._history_item(s) for s in history if self._ours(s.get("category"))]
        return out

    def _ours(self, category: Any) -> bool:
        return not self.category or str(category or "").lower() == self.category

    def _queue_item(self, s: dict[str, Any], whole_queue_paused: bool) -> DownloadItem:
        status = str(s.get("status", "Queued"))
        state = QUEUE_STATES.get(status, "queued")
        message = None
        if whole_queue_paused and state in ("queued", "downloading"):
            state, message = "paused", "SABnzbd's whole queue is paused"
        labels = s.get("labels") or []
        if labels and message is None:
            message = ", ".join(str(x) for x in labels)
        total, left = _float(s.get("mb")) * MEBI, _float(s.get("mbleft")) * MEBI
        progress = (1.0 - left / total) if total else _float(s.get("percentage")) / 100.0
        return DownloadItem(
            id=str(s.get("nzo_id")),
            name=str(s.get("filename", "")),
            state=state,
            progress=max(0.0, min(1.0, progress)),
            size=int(total) if total else None,
            downloaded=int(total - left) if total else None,
            eta=_seconds(s.get("timeleft")) if state == "downloading" else None,
            category=str(s.get("cat")) if s.get("cat") not in (None, "", "*") else None,
            message=message,
        )

    def _history_item(self, s: dict[str, Any]) -> DownloadItem:
        status = str(s.get("status", ""))
        message = None
        if status == "Completed":
            state = "completed"
        elif status in POST_PROCESSING:
            state, message = "downloading", f"post-processing: {status.lower()}"
        else:
            state = "failed"
            reason = str(s.get("fail_message") or "").strip()
            message = f"SABnzbd: {reason or status}"
        size = s.get("bytes")
        path = s.get("storage") or s.get("path") or None
        return DownloadItem(
            id=str(s.get("nzo_id")),
            name=str(s.get("name", "")),
            state=state,
            progress=1.0 if state == "completed" else 0.0 if state == "failed" else 1.0,
            size=int(size) if isinstance(size, int | float) and size else None,
            downloaded=int(s["downloaded"]) if isinstance(s.get("downloaded"), int | float) else None,
            eta=None,
            save_path=path.replace("\\", "/").rsplit("/", 1)[0] if path else None,
            content_path=path,
            category=str(s.get("category")) if s.get("category") not in (None, "", "*") else None,
            message=message,
        )

    async def remove(self, item_id: str, *, delete_data: bool = False) -> None:
        """Delete the job from the queue or the history (``del_files=1`` with ``delete_data``:
        SABnzbd removes what it downloaded so far, and for failed jobs their incomplete folder;
        it does not delete a completed job's final files — those belong to the import step).
        Unknown ids are ignored (SABnzbd answers ``status: false``)."""
        del_files = 1 if delete_data else 0
        queued = {str(s.get("nzo_id")) for s in await self._queue_slots()}
        if item_id in queued:
            await self.api("queue", name="delete", value=item_id, del_files=del_files)
            return
        if item_id in {str(s.get("nzo_id")) for s in await self._history_slots()}:
            await self.api("history", name="delete", value=item_id, del_files=del_files, archive=0)

    async def status(self) -> dict[str, Any]:
        """``{"version": "4.3.3", "paused": bool}``. ``version`` needs no key, so the queue is read
        too: a wrong key raises ``ProviderAuthError`` here."""
        version = (await self.api("version")).get("version")
        queue = await self._queue()
        return {"version": str(version), "paused": bool(queue.get("paused"))}

    async def close(self) -> None:
        await self._http.close()


CONFIG_SCHEMA = client_schema(credentials=("api_key",))


@hookimpl
def omnimedia_manifest() -> PluginManifest:
    return PluginManifest(
        name=PLATFORM,
        version="0.1.0",
        description="SABnzbd usenet download client (HTTP API with an API key)",
        kinds=("downloader",),
        config_schema=CONFIG_SCHEMA,
        documentation="https://sabnzbd.org/wiki/configuration/4.3/api",
    )


@hookimpl
def omnimedia_downloaders() -> list[type[Downloader]]:
    return [SabnzbdClient]

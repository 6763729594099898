"""A stand-in SABnzbd that speaks SABnzbd's real HTTP API wire format (SABnzbd is not packaged in
Debian, so the real one cannot run here).

What it reproduces, with the source of each behaviour (sabnzbd.org/wiki/configuration/4.3/api,
and SABnzbd's own ``sabnzbd/api.py`` and ``sabnzbd/interface.py``):

- ``/api`` and ``/sabnzbd/api``, GET or POST, parameters in the query or the form body;
  ``output=json`` answers (the only output this stand-in renders).
- API-key check before anything runs (``interface.check_apikey``): ``version`` and ``auth`` need no
  key; ``addfile``/``addurl`` (access level 1) also accept the NZB key; anything else needs the
  API key. SABnzbd 4.x refuses with HTTP 403 and the plain-text body ``API Key Required`` /
  ``API Key Incorrect`` (``secured_expose``); with ``legacy_key_errors=True`` it answers like older
  releases, HTTP 200 ``{"status": false, "error": "API Key Incorrect"}`` (``api.report``).
- ``report()`` shapes: errors ``{"status": false, "error": msg}``; plain success
  ``{"status": true}``; data ``{keyword: data}``; add/delete calls ``{"status": bool, "nzo_ids":
  [...]}``. Unknown modes: ``not implemented``; a missing value: ``expects one parameter``.
- ``addfile``: the NZB in the multipart field ``name`` or ``nzbfile``; an unreadable NZB or one
  without files → ``{"status": false, "nzo_ids": []}``. ``addurl`` answers at once with a job in
  status ``Grabbing`` and fetches the URL in the background; a failed fetch lands in the history
  as ``Failed``.
- Categories are lower-cased, and a job with an unknown category goes to ``*``
  (``misc.cat_to_opts``: "Ignore the input category if we don't know it"); ``get_cats``;
  ``set_config&section=categories&keyword=NAME`` creates one.
- ``queue`` / ``history`` objects with the documented slot fields (``nzo_id``, ``filename``,
  ``status``, ``cat``, ``mb``, ``mbleft``, ``percentage``, ``timeleft``, ``labels``, ``priority`` /
  ``name``, ``nzb_name``, ``status``, ``category``, ``bytes``, ``downloaded``, ``storage``,
  ``path``, ``fail_message``, ``completed`` …); ``queue&name=delete`` and ``history&name=delete``
  with ``del_files``; priority ``-2`` adds a job paused.

There is no news server, so jobs do not download by themselves: a test moves them with
:meth:`FakeSabnzbd.progress`, :meth:`FakeSabnzbd.complete` (writes the files into the complete
folder, as SABnzbd's post-processing would) and :meth:`FakeSabnzbd.fail`.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from defusedxml import ElementTree

NZB_NS = "{http://www.newzbin.com/DTD/2003/nzb}"
MEBI = 1024 * 1024
NOT_COMPLETE = "Aborted, cannot be completed - https://sabnzbd.org/not-complete"
PRIORITY_NAMES = {-2: "Paused", -1: "Low", 0: "Normal", 1: "High", 2: "Force"}
#: api.py ``_api_table`` access levels: 1 = NZB key allowed
LEVEL_ONE = {"addfile", "addurl", "addlocalfile"}


@dataclass
class Job:
    nzo_id: str
    name: str
    category: str
    priority: int
    size: int
    status: str = "Queued"
    downloaded: int = 0
    timeleft: str = "0:00:00"
    incomplete: Path | None = None
    storage: Path | None = None
    fail_message: str = ""
    completed: int = 0
    nzb_name: str = ""
    labels: list[str] = field(default_factory=list)
    url: str = ""


def _nzo_id() -> str:
    return "SABnzbd_nzo_" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def parse_nzb(data: bytes) -> int | None:
    """Total segment bytes of an NZB, or None when it is not a readable NZB with files."""
    try:
        root = ElementTree.fromstring(data)
    except Exception:  # noqa: BLE001 - any parse failure is "not an NZB", as SABnzbd treats it
        return None
    files = root.findall(f"{NZB_NS}file") or root.findall("file")
    if not files:
        return None
    total = 0
    for f in files:
        for seg in f.iter():
            if seg.tag in (f"{NZB_NS}segment", "segment"):
                total += int(seg.get("bytes") or 0)
    return total


class FakeSabnzbd:
    """The stand-in server. ``await start()`` returns its base URL (``http://127.0.0.1:PORT``)."""

    def __init__(self, root: Path, *, api_key: str = "0123456789abcdef0123456789abcdef",
                 nzb_key: str = "fedcba9876543210fedcba9876543210", version: str = "4.3.3",
                 legacy_key_errors: bool = False, categories: tuple[str, ...] = ("movies", "tv")) -> None:
        self.api_key, self.nzb_key, self.version = api_key, nzb_key, version
        self.legacy_key_errors = legacy_key_errors
        self.complete_dir = root / "complete"
        self.incomplete_dir = root / "incomplete"
        self.complete_dir.mkdir(parents=True, exist_ok=True)
        self.incomplete_dir.mkdir(parents=True, exist_ok=True)
        self.categories: list[str] = ["*", *categories]
        self.queue: list[Job] = []
        self.history: list[Job] = []
        self.paused = False
        self.calls: list[dict[str, str]] = []
        self.last_history_update = int(time.time())
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    # -- life -------------------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(client_max_size=64 * MEBI)
        for path in ("/api", "/sabnzbd/api"):
            app.router.add_route("*", path, self._handle)
        app.router.add_get("/", self._web_ui)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- test controls ----------------------------------------------------------------------------
    def job(self, nzo_id: str) -> Job:
        for job in self.queue + self.history:
            if job.nzo_id == nzo_id:
                return job
        raise KeyError(nzo_id)

    def progress(self, nzo_id: str, fraction: float, *, timeleft: str = "0:01:40") -> None:
        job = self.job(nzo_id)
        job.status, job.downloaded, job.timeleft = "Downloading", int(job.size * fraction), timeleft

    def complete(self, nzo_id: str, files: dict[str, bytes]) -> Path:
        """Finish a job: write ``files`` into ``complete/<category>/<job name>`` and move it to the
        history as ``Completed``. Returns the job folder."""
        job = self.job(nzo_id)
        folder = self.complete_dir / (job.category if job.category != "*" else "") / job.name
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        if job.incomplete:
            shutil.rmtree(job.incomplete, ignore_errors=True)
        job.status, job.storage, job.downloaded = "Completed", folder, job.size
        job.completed = int(time.time())
        self._to_history(job)
        return folder

    def fail(self, nzo_id: str, message: str = NOT_COMPLETE) -> None:
        job = self.job(nzo_id)
        job.status, job.fail_message, job.completed = "Failed", message, int(time.time())
        self._to_history(job)

    def _to_history(self, job: Job) -> None:
        if job in self.queue:
            self.queue.remove(job)
        if job not in self.history:
            self.history.insert(0, job)
        self.last_history_update = int(time.time())

    # -- HTTP -------------------------------------------------------------------------------------
    async def _web_ui(self, request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><html><head><title>SABnzbd</title></head><body>Glitter</body></html>",
                            content_type="text/html")

    @staticmethod
    def _json(data: Any) -> web.Response:
        return web.json_response(data, content_type="application/json", headers={"Pragma": "no-cache"})

    def _error(self, message: str) -> web.Response:
        return self._json({"status": False, "error": message})

    async def _handle(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            post = await request.post()
            for key, value in post.items():
                params[key] = value
        self.calls.append({k: (v if isinstance(v, str) else "<file>") for k, v in params.items()})
        mode = str(params.get("mode", ""))
        refused = self._check_key(mode, params.get("apikey"))
        if refused is not None:
            if self.legacy_key_errors:
                return self._error(refused)
            # SABnzbd 4.x: secured_expose sets 403 and returns the message as the page body
            return web.Response(status=403, text=refused, content_type="text/html")
        handler = getattr(self, f"_mode_{mode}", None)
        if handler is None:
            return self._error("not implemented")
        return await handler(params)

    def _check_key(self, mode: str, key: Any) -> str | None:
        if mode in ("version", "auth"):
            return None
        if not key:
            return "API Key Required"
        if mode in LEVEL_ONE and key == self.nzb_key:
            return None
        if key == self.api_key:
            return None
        return "API Key Incorrect"

    # -- modes ------------------------------------------------------------------------------------
    async def _mode_version(self, p: dict[str, Any]) -> web.Response:
        return self._json({"version": self.version})

    async def _mode_auth(self, p: dict[str, Any]) -> web.Response:
        return self._json({"auth": "apikey"})

    async def _mode_get_cats(self, p: dict[str, Any]) -> web.Response:
        return self._json({"categories": list(self.categories)})

    async def _mode_set_config(self, p: dict[str, Any]) -> web.Response:
        if p.get("section") != "categories":
            return self._error("Config item does not exist")
        name = str(p.get("keyword") or p.get("name") or "").lower()
        if not name:
            return self._error("expects one parameter")
        if name not in self.categories:
            self.categories.append(name)
        entry = {"name": name, "order": self.categories.index(name), "pp": "", "script": "Default",
                 "dir": str(p.get("dir", "")), "newzbin": "", "priority": -100}
        return self._json({"config": {"categories": [entry]}})

    def _category(self, value: Any) -> str:
        cat = str(value or "").lower()
        if cat in ("", "none", "default"):
            return "*"
        return cat if cat in self.categories else "*"

    def _new_job(self, name: str, size: int, p: dict[str, Any]) -> Job:
        priority = int(p.get("priority") or 0) if str(p.get("priority", "")).lstrip("-").isdigit() else 0
        if priority == -100:
            priority = 0
        job = Job(nzo_id=_nzo_id(), name=name, category=self._category(p.get("cat")), priority=priority,
                  size=size, status="Paused" if priority == -2 else "Queued", nzb_name=f"{name}.nzb")
        job.incomplete = self.incomplete_dir / name
        job.incomplete.mkdir(parents=True, exist_ok=True)
        return job

    async def _mode_addfile(self, p: dict[str, Any]) -> web.Response:
        upload = p.get("name") if not isinstance(p.get("name"), str) else p.get("nzbfile")
        if upload is None or isinstance(upload, str) or not getattr(upload, "filename", None):
            return self._error("expects one parameter")
        data = upload.file.read()
        size = parse_nzb(data)
        if size is None:
            return self._json({"status": False, "nzo_ids": []})
        name = str(p.get("nzbname") or Path(upload.filename).stem)
        job = self._new_job(name, size, p)
        self.queue.append(job)
        return self._json({"status": True, "nzo_ids": [job.nzo_id]})

    async def _mode_addurl(self, p: dict[str, Any]) -> web.Response:
        url = str(p.get("name") or "")
        if not url:
            return self._error("expects one parameter")
        name = str(p.get("nzbname") or url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".nzb") or "download")
        job = self._new_job(name, 0, p)
        job.status, job.url = "Grabbing", url
        self.queue.append(job)
        task = asyncio.create_task(self._grab(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return self._json({"status": True, "nzo_ids": [job.nzo_id]})

    async def _grab(self, job: Job) -> None:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                async with session.get(job.url) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status} {resp.reason}")
        except Exception as err:  # noqa: BLE001 - SABnzbd reports any fetch problem the same way
            self.fail(job.nzo_id, f"URL Fetching failed; {err}")
            return
        size = parse_nzb(body)
        if size is None:
            self.fail(job.nzo_id, "Invalid NZB file")
            return
        job.size, job.status = size, "Paused" if job.priority == -2 else "Queued"

    async def _mode_queue(self, p: dict[str, Any]) -> web.Response:
        name = p.get("name", "")
        if name == "delete":
            ids = [x.strip() for x in str(p.get("value", "")).split(",") if x.strip()]
            if not ids:
                return self._error("expects one parameter")
            removed = []
            for job in list(self.queue):
                if job.nzo_id in ids or "all" in ids:
                    self.queue.remove(job)
                    removed.append(job.nzo_id)
                    if p.get("del_files") in ("1", "true", "True") and job.incomplete:
                        shutil.rmtree(job.incomplete, ignore_errors=True)
            return self._json({"status": bool(removed), "nzo_ids": removed})
        if name in ("pause", "resume"):
            ids = [x.strip() for x in str(p.get("value", "")).split(",") if x.strip()]
            handled = []
            for job in self.queue:
                if job.nzo_id in ids:
                    job.status = "Paused" if name == "pause" else "Queued"
                    handled.append(job.nzo_id)
            return self._json({"status": bool(handled), "nzo_ids": handled})
        if name:
            return self._error("not implemented")
        slots = []
        for index, job in enumerate(self.queue):
            mb = job.size / MEBI
            mbleft = (job.size - job.downloaded) / MEBI
            slots.append({
                "status": job.status, "index": index, "password": "", "avg_age": "1d", "script": "None",
                "has_rating": False, "mb": f"{mb:.2f}", "mbleft": f"{mbleft:.2f}", "mbmissing": "0.0",
                "size": f"{mb:.1f} MB", "sizeleft": f"{mbleft:.1f} MB", "filename": job.name,
                "labels": list(job.labels), "priority": PRIORITY_NAMES.get(job.priority, "Normal"),
                "cat": job.category, "eta": "unknown", "timeleft": job.timeleft,
                "percentage": str(int(100 * job.downloaded / job.size)) if job.size else "0",
                "nzo_id": job.nzo_id, "unpackopts": "3",
            })
        total_mb = sum(j.size for j in self.queue) / MEBI
        left_mb = sum(j.size - j.downloaded for j in self.queue) / MEBI
        downloading = any(j.status == "Downloading" for j in self.queue)
        return self._json({"queue": {
            "status": "Paused" if self.paused else "Downloading" if downloading else "Idle",
            "speedlimit": "100", "speedlimit_abs": "", "paused": self.paused, "paused_all": self.paused,
            "noofslots_total": len(slots), "noofslots": len(slots), "limit": int(p.get("limit") or 0),
            "start": int(p.get("start") or 0), "eta": "unknown", "timeleft": "0:00:00", "speed": "0 ",
            "kbpersec": "0.00", "size": f"{total_mb:.1f} MB", "sizeleft": f"{left_mb:.1f} MB",
            "mb": f"{total_mb:.2f}", "mbleft": f"{left_mb:.2f}", "slots": slots,
            "categories": list(self.categories), "scripts": ["None"], "diskspace1": "100.00",
            "diskspace2": "100.00", "diskspacetotal1": "200.00", "diskspacetotal2": "200.00",
            "have_warnings": "0", "pause_int": "0", "loadavg": "", "left_quota": "0 ", "refresh_rate": "1",
            "version": self.version, "finish": 0, "cache_art": "0", "cache_size": "0 B",
            "finishaction": None, "quota": "0 ", "have_quota": False,
        }})

    async def _mode_history(self, p: dict[str, Any]) -> web.Response:
        name = p.get("name", "")
        if name == "delete":
            value = str(p.get("value", ""))
            if not value:
                return self._error("expects one parameter")
            ids = [x.strip() for x in value.split(",") if x.strip()]
            for job in list(self.history):
                wanted = job.nzo_id in ids or "all" in ids or ("failed" in ids and job.status == "Failed")
                if wanted:
                    self.history.remove(job)
                    if p.get("del_files") in ("1", "true", "True") and job.incomplete:
                        shutil.rmtree(job.incomplete, ignore_errors=True)
            self.last_history_update = int(time.time())
            return self._json({"status": True})
        if name:
            return self._error("not implemented")
        categories = [c.lower() for c in str(p.get("category") or p.get("cat") or "").split(",") if c]
        jobs = [j for j in self.history if not categories or j.category in categories]
        start, limit = int(p.get("start") or 0), int(p.get("limit") or 10)  # 0 → the UI page size
        page = jobs[start : start + limit]
        slots = [{
            "action_line": "", "series": "", "script_log": "", "meta": None, "fail_message": j.fail_message,
            "loaded": False, "id": i + 1, "size": f"{j.size / MEBI:.1f} MB", "category": j.category, "pp": "D",
            "retry": 1 if j.status == "Failed" else 0, "script": "None", "nzb_name": j.nzb_name,
            "download_time": 1, "storage": str(j.storage) if j.storage else "", "has_rating": False,
            "status": j.status, "script_line": "", "completed": j.completed, "nzo_id": j.nzo_id,
            "downloaded": j.downloaded, "report": "", "password": "", "path": str(j.incomplete or ""),
            "postproc_time": 0, "name": j.name, "url": j.url or j.nzb_name, "md5sum": "", "archive": False,
            "bytes": j.size, "url_info": "", "stage_log": [],
        } for i, j in enumerate(page)]
        return self._json({"history": {
            "noofslots": len(jobs), "ppslots": 0, "day_size": "0 ", "week_size": "0 ", "month_size": "0 ",
            "total_size": "0 ", "last_history_update": self.last_history_update, "version": self.version,
            "slots": slots,
        }})

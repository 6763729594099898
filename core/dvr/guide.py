"""The programme guide: XMLTV sources imported on a schedule, stored in ``guide_channels`` /
``guide_programmes``, and the mapping of lineup channels to guide channels (``dvr_channel_map``).

``Guide(manager, settings)``: ``manager`` is ``hub.dvr`` (anything with a ``.hub`` that has
``.db`` (:class:`~omnimedia.core.db.Database`), ``.bus`` and ``.config.config_dir``; a hub itself
works too) and ``settings`` the validated ``dvr:`` section (:data:`~omnimedia.core.dvr.config.DVR_SCHEMA`:
``guide`` sources and ``guide_days``). Tests build one from a bare :class:`Database` with
``SimpleNamespace(hub=SimpleNamespace(db=db, bus=EventBus(), config=SimpleNamespace(config_dir=path)))``.

Sources (``dvr.guide``): ``{"name", "source", "refresh"}``; ``source`` is a file (relative to the
config folder) or an ``http(s)`` URL, plain, gzip (``.xml.gz``) or xz. Each import:

1. reads the document (URLs with ``httpx``: redirects followed, ``If-None-Match`` /
   ``If-Modified-Since`` on the next import so an unchanged guide is not imported again),
2. parses it in a thread (:func:`omnimedia.core.dvr.xmltv.parse`),
3. drops programmes that ended more than :data:`KEEP_PAST` seconds ago or start more than
   ``guide_days`` ahead,
4. replaces *that source's* channels and programmes in one transaction: another source's rows
   are never touched, and a failed import (unreachable URL, missing file, not XMLTV) changes
   nothing. A programme whose channel, start and title are unchanged keeps its id. When the
   document broke off (``partial``), only what it covers is replaced: each channel's programmes
   in the time range the document gave for it; the rest of the previous guide stays.
5. fires ``dvr_guide_updated`` (:data:`~omnimedia.core.const.EVENT_DVR_GUIDE`) with
   ``{"source", "result"}`` (or ``{"source", "error"}`` when it failed).

A guide channel id belongs to the first source that declared it: another source declaring the
same id keeps its programmes under that id, but the channel row (names, icon) stays the first
source's (the import says so in ``errors``).

Background refresh (``start(loops=True)``): every configured source is imported at start and then
every ``refresh`` hours; a failure is retried after 5 minutes, doubling up to the refresh interval
(1 hour for ``refresh: 0``, which otherwise only imports at start and on demand). A failing
source only degrades that source (``status()`` shows the error); the hub and the other sources
run on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Text, and_, delete, func, insert, or_, select, type_coerce

from .. import __version__
from ..const import EVENT_DVR_GUIDE
from ..db.models import ChannelMapping, GuideProgramme
from ..db.models import GuideChannel as GuideChannelRow
from ..errors import OmniMediaError
from . import xmltv
from .types import GuideChannel, ImportResult, LineupChannel, Programme

__all__ = ["Guide", "GuideImportError", "KEEP_PAST", "normalise_name", "normalise_number"]

_LOGGER = logging.getLogger(__name__)

#: Programmes that ended longer ago than this (seconds) are dropped on import and by the pruner.
KEEP_PAST = 86400.0
#: First retry delay after a failed import (seconds); doubles up to the source's refresh interval.
RETRY_FIRST = 300.0
#: Retry cap for sources with ``refresh: 0`` (seconds).
RETRY_CAP_NO_REFRESH = 3600.0
#: How often programmes that have ended are pruned (seconds).
PRUNE_EVERY = 6 * 3600.0
#: A download larger than this (bytes, as received) is refused.
MAX_DOWNLOAD_BYTES = 2 * 2**30
#: Rows per INSERT batch.
INSERT_BATCH = 10_000
#: Ids per ``IN (…)`` list.
IN_BATCH = 500
HTTP_TIMEOUT = 60.0

_PROGRAMME_COLUMNS = (
    "id", "channel_id", "start", "stop", "title", "subtitle", "description", "categories", "season", "episode",
    "episode_id", "new", "previously_shown", "original_air_date", "icon", "year",
)


class GuideImportError(OmniMediaError):
    """A guide source could not be imported (file missing, URL unreachable or answering an HTTP
    error, not an XMLTV document). The message names the source and the cause. Nothing changed."""


def normalise_number(number: str) -> str:
    """A channel number for comparison: "5-1", "5_1", "5 1" → "5.1"; "005" → "5"."""
    parts = re.split(r"[.\-_ ]+", number.strip())
    return ".".join(p.lstrip("0") or "0" if p.isdigit() else p.lower() for p in parts if p)


def normalise_name(name: str) -> str:
    """A station name for comparison: case and spaces ignored, a trailing "HD" / "-HD" dropped:
    "KQED-HD", "kqed hd", "KQED" → "kqed"."""
    text = re.sub(r"[\s_\-]+", "", name.casefold())
    if text.endswith("hd") and len(text) > 2:
        text = text[:-2]
    return text


def _programme_columns() -> list[Any]:
    """The selected columns, in ``_PROGRAMME_COLUMNS`` order; categories as their JSON text (decoded
    once per distinct value by :func:`_to_programmes`, not once per row)."""
    t = GuideProgramme.__table__
    return [type_coerce(t.c[c], Text) if c == "categories" else t.c[c] for c in _PROGRAMME_COLUMNS]


def _to_programmes(rows: Iterable[Any]) -> list[Programme]:
    """Rows of :func:`_programme_columns` → :class:`Programme` objects."""
    out: list[Programme] = []
    decoded: dict[str, list[str]] = {}
    with xmltv.no_gc():
        for (pid, channel, start, stop, title, subtitle, description, cats, season, episode, episode_id, new,
             shown, air_date, icon, year) in rows:
            if cats is None:
                categories: list[str] = []
            else:
                if not isinstance(cats, str):  # a driver that decoded the JSON itself
                    cats = json.dumps(cats)
                known = decoded.get(cats)
                if known is None:
                    known = decoded[cats] = list(json.loads(cats) or [])
                categories = list(known)
            out.append(Programme(
                channel=channel, start=start, stop=stop, title=title, subtitle=subtitle, description=description,
                categories=categories, season=season, episode=episode, episode_id=episode_id, new=bool(new),
                previously_shown=bool(shown), original_air_date=air_date, icon=icon, year=year, id=pid,
            ))
    return out


_INSERT_COLUMNS = (
    "channel_id", "source", "start", "stop", "title", "subtitle", "description", "categories", "season", "episode",
    "episode_id", "new", "previously_shown", "original_air_date", "icon", "year",
)


def _insert_sql(paramstyle: str, with_id: bool) -> str:
    """``INSERT INTO guide_programmes (…) VALUES (…)`` in the driver's parameter style
    (``qmark`` for sqlite3/aiosqlite, ``numeric_dollar`` for asyncpg, ``format`` for psycopg)."""
    columns = _INSERT_COLUMNS + (("id",) if with_id else ())
    n = len(columns)
    if paramstyle == "qmark":
        marks = ["?"] * n
    elif paramstyle == "numeric_dollar":
        marks = [f"${i}" for i in range(1, n + 1)]
    elif paramstyle == "numeric":
        marks = [f":{i}" for i in range(1, n + 1)]
    elif paramstyle in ("format", "pyformat"):
        marks = ["%s"] * n
    else:
        raise ValueError(f"unsupported database parameter style {paramstyle!r}")
    return f"INSERT INTO guide_programmes ({', '.join(columns)}) VALUES ({', '.join(marks)})"


def _programme_rows(name: str, programmes: list[Programme], old_ids: dict[tuple[str, float, str], int],
                    next_id: int | None) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Insert rows (``_INSERT_COLUMNS`` order) for ``programmes`` of source ``name``: ``(fresh,
    with_ids)``. ``with_ids`` rows end with an id: the one the same programme (channel, start,
    title) had before (taken out of ``old_ids``), or, when ``next_id`` is given, the next one
    counting up from it (for SQLite, which would otherwise hand out the ids just deleted)."""
    fresh: list[tuple[Any, ...]] = []
    kept: list[tuple[Any, ...]] = []
    pop = old_ids.pop
    json_cache: dict[tuple[str, ...], str] = {}
    with xmltv.no_gc():  # 100k new tuples would make the collector walk the whole guide repeatedly
        for p in programmes:
            cats = p.categories
            if cats:
                key = tuple(cats)
                cats_json = json_cache.get(key)
                if cats_json is None:
                    cats_json = json_cache[key] = json.dumps(cats)
            else:
                cats_json = None
            row = (p.channel, name, p.start, p.stop, p.title, p.subtitle, p.description, cats_json, p.season,
                   p.episode, p.episode_id, p.new, p.previously_shown, p.original_air_date, p.icon, p.year)
            old = pop((p.channel, p.start, p.title), None) if old_ids else None
            if old is not None:
                kept.append((*row, old))
            elif next_id is not None:
                kept.append((*row, next_id))
                next_id += 1
            else:
                fresh.append(row)
    return fresh, kept


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class Guide:
    """The guide engine (``hub.dvr.guide``); see the module docstring.

    ``clock``: returns the current UTC epoch seconds (tests pass a fixed one to import old
    fixtures without them being pruned)."""

    def __init__(self, manager: Any, settings: dict[str, Any], *, clock: Callable[[], float] = time.time) -> None:
        self.manager = manager
        self.hub = getattr(manager, "hub", manager)
        self.settings = settings
        self.clock = clock
        self.sources: dict[str, dict[str, Any]] = {}
        for entry in settings.get("guide") or []:
            spec = self._spec(entry)
            self.sources[spec["name"]] = spec
        self._status: dict[str, dict[str, Any]] = {name: self._blank_status(spec) for name, spec in self.sources.items()}
        self._http: dict[str, dict[str, str]] = {}  # source name → validators of the last download
        self._locks: dict[str, asyncio.Lock] = {}
        self._write_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self._channels_cache: list[GuideChannel] | None = None

    # -- sources ----------------------------------------------------------------------------------
    @property
    def db(self) -> Any:
        return self.hub.db

    @property
    def config_dir(self) -> Path:
        return Path(self.hub.config.config_dir)

    @staticmethod
    def _is_url(source: str) -> bool:
        return source.lower().startswith(("http://", "https://"))

    def _spec(self, entry: dict[str, Any] | str) -> dict[str, Any]:
        """A source entry with every key: name (default: the file name or the URL's host), source,
        refresh (hours), lang."""
        if isinstance(entry, str):
            entry = {"source": entry}
        if not entry.get("source"):
            raise ValueError("a guide source needs 'source': a file or an http(s) URL")
        source = str(entry["source"])
        name = entry.get("name")
        if not name:
            if self._is_url(source):
                name = urlparse(source).hostname or source
            else:
                name = Path(source).name
            base, n = name, 2
            while name in self.sources and self.sources[name]["source"] != source:
                name, n = f"{base} ({n})", n + 1
        return {"name": str(name), "source": source, "refresh": float(entry.get("refresh", 12.0)),
                "lang": entry.get("lang")}

    def _blank_status(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {"name": spec["name"], "source": spec["source"], "refresh": spec["refresh"], "state": "pending",
                "result": None, "last_import_at": None, "next_import_at": None, "error": None,
                "not_modified": False}

    def _resolve(self, source: dict[str, Any] | str) -> dict[str, Any]:
        if isinstance(source, str):
            if source in self.sources:
                return self.sources[source]
            for spec in self.sources.values():
                if spec["source"] == source:
                    return spec
        return self._spec(source)

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self, loops: bool = True) -> None:
        """Read what the database already holds (last import times per source) and, with
        ``loops``, start one background task per configured source (import now, then every
        ``refresh`` hours) plus the pruner. Never raises for a bad source."""
        try:
            async with self.db.session() as session:
                stmt = select(GuideChannelRow.source, func.max(GuideChannelRow.updated_at)).group_by(GuideChannelRow.source)
                for source, at in (await session.execute(stmt)).all():
                    if source in self._status and at:
                        self._status[source]["last_import_at"] = float(at)
                        self._status[source]["state"] = "ok"
        except Exception:  # noqa: BLE001 - the status is informational
            _LOGGER.warning("could not read the guide's import times", exc_info=True)
        if not loops:
            return
        for spec in self.sources.values():
            self._tasks.append(asyncio.create_task(self._source_loop(spec), name=f"guide source {spec['name']}"))
        self._tasks.append(asyncio.create_task(self._prune_loop(), name="guide pruner"))

    async def stop(self) -> None:
        """Cancel the background imports (an import in progress is abandoned; its transaction
        rolls back, so the previous guide stays)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _source_loop(self, spec: dict[str, Any]) -> None:
        name = spec["name"]
        refresh = spec["refresh"] * 3600.0
        delay = RETRY_FIRST
        while True:
            try:
                await self.import_source(spec)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - a source degrades, the hub runs on
                if not isinstance(err, GuideImportError):
                    _LOGGER.exception("guide source %s: import failed", name)
                cap = refresh or RETRY_CAP_NO_REFRESH
                wait = min(delay, cap)
                delay = min(delay * 2, cap)
            else:
                delay = RETRY_FIRST
                if refresh <= 0:
                    self._status[name]["next_import_at"] = None
                    return
                wait = refresh
            self._status[name]["next_import_at"] = self.clock() + wait
            await asyncio.sleep(wait)

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY)
            try:
                await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                _LOGGER.warning("pruning the guide failed", exc_info=True)

    async def prune(self) -> int:
        """Delete programmes (of every source) that ended more than :data:`KEEP_PAST` seconds
        ago; returns how many."""
        cutoff = self.clock() - KEEP_PAST

        async def work(session: Any) -> int:
            result = await session.execute(delete(GuideProgramme).where(GuideProgramme.stop < cutoff))
            return int(result.rowcount or 0)

        async with self._write_lock:
            return await self.db.transaction(work)

    # -- import -----------------------------------------------------------------------------------
    async def refresh_all(self) -> list[ImportResult]:
        """Import every configured source now, one after the other. A source that fails gives an
        :class:`ImportResult` with its error in ``errors`` (and nothing imported); its status shows
        the error too."""
        results = []
        for spec in list(self.sources.values()):
            try:
                results.append(await self.import_source(spec))
            except GuideImportError as err:
                results.append(ImportResult(source=spec["name"], errors=[str(err)]))
        return results

    async def import_source(self, source: dict[str, Any] | str) -> ImportResult:
        """Import one source now: a configured source's name, a file path (relative to the config
        folder) or an http(s) URL, or a source dict ``{"source", "name"?, "lang"?}``.

        Returns the :class:`ImportResult` (``channels``/``programmes`` stored, ``skipped``,
        ``overlaps``, ``errors``, ``partial``, ``seconds``). Raises :class:`GuideImportError` when
        nothing could be imported (the previous guide of that source is kept)."""
        spec = self._resolve(source)
        name = spec["name"]
        status = self._status.setdefault(name, self._blank_status(spec))
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            started = time.perf_counter()
            status["state"] = "importing"
            try:
                result = await self._import(spec)
            except asyncio.CancelledError:
                status["state"] = "error" if status["error"] else ("ok" if status["result"] else "pending")
                raise
            except Exception as err:
                message = str(err) if isinstance(err, GuideImportError) else f"guide source {name!r}: {err}"
                status.update(state="error", error=message)
                _LOGGER.warning("%s", message)
                self.hub.bus.fire(EVENT_DVR_GUIDE, {"source": name, "error": message})
                if isinstance(err, GuideImportError):
                    raise
                raise GuideImportError(message) from err
            result.seconds = round(time.perf_counter() - started, 3)
            now = self.clock()
            status.update(state="ok", result=result.as_dict(), last_import_at=now,
                          error=result.errors[0] if result.partial else None)
            _LOGGER.info("guide source %s: %d channels, %d programmes (%d skipped, %d overlapping)%s in %.1f s",
                         name, result.channels, result.programmes, result.skipped, result.overlaps,
                         ", PARTIAL" if result.partial else "", result.seconds)
        self.hub.bus.fire(EVENT_DVR_GUIDE, {"source": name, "result": result.as_dict()})
        wake = getattr(self.manager, "wake", None)
        if callable(wake):  # the DVR manager plans again with the new programmes
            wake()
        return result

    async def _import(self, spec: dict[str, Any]) -> ImportResult:
        name, source = spec["name"], spec["source"]
        status = self._status[name]
        tmp: Path | None = None
        validators: dict[str, str] | None = None
        try:
            if self._is_url(source):
                fetched = await self._download(spec)
                if fetched is None:  # 304 Not Modified
                    status["not_modified"] = True
                    await self.prune()
                    previous = status.get("result") or {}
                    return ImportResult(**{**ImportResult(source=name).as_dict(), **previous, "seconds": 0.0})
                tmp, validators = fetched
                path = tmp
            else:
                path = Path(source).expanduser()
                if not path.is_absolute():
                    path = self.config_dir / path
                if not path.is_file():
                    raise GuideImportError(f"guide source {name!r}: the file {path} does not exist")
            status["not_modified"] = False
            try:
                parsed = await asyncio.to_thread(xmltv.parse, path, lang=spec.get("lang"))
            except xmltv.XmltvError as err:
                raise GuideImportError(f"guide source {name!r} ({source}): {err}") from None
            except OSError as err:
                raise GuideImportError(f"guide source {name!r}: cannot read {path}: {err}") from None
            result = await self._store(name, parsed)
            if validators is not None:  # only once the guide is stored: a failed import fetches it again
                self._http[name] = validators
            return result
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)

    async def _download(self, spec: dict[str, Any]) -> tuple[Path, dict[str, str]] | None:
        """Fetch a URL source into a temporary file: ``(path, {"etag", "last_modified"})``, or
        None when the server answers 304 (unchanged since the last import)."""
        import httpx

        name, url = spec["name"], spec["source"]
        headers = {"User-Agent": f"Omni-Media/{__version__}", "Accept": "application/xml, text/xml, */*"}
        validators = self._http.get(name) or {}
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
        fd, tmp_name = tempfile.mkstemp(prefix="omnimedia-guide-", suffix=".xml")
        tmp = Path(tmp_name)
        try:
            with open(fd, "wb") as out:
                async with httpx.AsyncClient(follow_redirects=True, timeout=HTTP_TIMEOUT) as client, \
                        client.stream("GET", url, headers=headers) as response:
                    if response.status_code == 304 and validators:
                        tmp.unlink(missing_ok=True)
                        return None
                    if response.status_code >= 400:
                        raise GuideImportError(f"guide source {name!r}: {url} answered HTTP {response.status_code} "
                                               f"{response.reason_phrase}".rstrip())
                    size = 0
                    async for chunk in response.aiter_bytes(256 * 1024):
                        size += len(chunk)
                        if size > MAX_DOWNLOAD_BYTES:
                            raise GuideImportError(f"guide source {name!r}: {url} is larger than "
                                                   f"{MAX_DOWNLOAD_BYTES} bytes")
                        out.write(chunk)  # page-cache writes of 256 KiB: short enough for the loop
                    new_validators = {k: v for k, v in (("etag", response.headers.get("etag")),
                                                        ("last_modified", response.headers.get("last-modified"))) if v}
            return tmp, new_validators
        except httpx.HTTPError as err:
            tmp.unlink(missing_ok=True)
            detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            raise GuideImportError(f"guide source {name!r}: cannot fetch {url}: {detail}") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    async def _store(self, name: str, parsed: xmltv.ParsedGuide) -> ImportResult:
        """Replace the source's rows with ``parsed`` (pruned to the guide window) in one
        transaction; returns the result with the stored counts."""
        now = self.clock()
        low = now - KEEP_PAST
        high = now + float(self.settings.get("guide_days", 14)) * 86400.0
        programmes = [p for p in parsed.programmes if p.stop >= low and p.start <= high]
        result = parsed.result(name)
        channels = parsed.channels
        ranges: dict[str, list[float]] = {}
        if parsed.partial:
            for p in parsed.programmes:
                r = ranges.get(p.channel)
                if r is None:
                    ranges[p.channel] = [p.start, p.stop]
                else:
                    if p.start < r[0]:
                        r[0] = p.start
                    if p.stop > r[1]:
                        r[1] = p.stop

        prog_table = GuideProgramme.__table__
        chan_table = GuideChannelRow.__table__

        async def work(session: Any) -> tuple[int, list[str]]:
            notes: list[str] = []
            conn = await session.connection()
            next_id = None
            if conn.dialect.name == "sqlite":  # no AUTOINCREMENT: never hand out an id deleted below
                next_id = int((await conn.execute(select(func.max(prog_table.c.id)))).scalar() or 0) + 1
            # The programmes being replaced (remembering their ids, to give an unchanged programme
            # its id back): all of the source's, or for a partial document each channel's in the
            # time range the document covers.
            doomed = [prog_table.c.source == name]
            if parsed.partial:
                doomed_sets = [[*doomed, prog_table.c.channel_id == ch, prog_table.c.start < hi,
                                or_(prog_table.c.stop > lo, prog_table.c.start >= lo)] for ch, (lo, hi) in ranges.items()]
            else:
                doomed_sets = [doomed]
            old_ids: dict[tuple[str, float, str], int] = {}
            for where in doomed_sets:
                stmt = select(prog_table.c.id, prog_table.c.channel_id, prog_table.c.start, prog_table.c.title).where(*where)
                for pid, ch, start, title in (await conn.execute(stmt)).all():
                    old_ids.setdefault((ch, start, title), pid)
                await conn.execute(delete(prog_table).where(*where))
            if parsed.partial:
                for chunk in _chunks([c.id for c in channels], IN_BATCH):
                    await conn.execute(delete(chan_table).where(chan_table.c.source == name, chan_table.c.id.in_(chunk)))
            else:
                await conn.execute(delete(chan_table).where(chan_table.c.source == name))
            # Channel ids another source already declared stay theirs.
            taken: dict[str, str] = {}
            ids = [c.id for c in channels]
            for chunk in _chunks(ids, IN_BATCH):
                rows = await conn.execute(select(chan_table.c.id, chan_table.c.source).where(chan_table.c.id.in_(chunk)))
                taken.update({cid: src for cid, src in rows.all()})
            chan_rows = []
            for c in channels:
                if c.id in taken:
                    notes.append(f"channel {c.id!r} is already declared by guide source {taken[c.id]!r}; "
                                 "its programmes are imported, the channel entry stays that source's")
                    continue
                chan_rows.append({"id": c.id, "source": name, "names": c.names, "number": c.number,
                                  "icon": c.icon, "updated_at": now})
            if chan_rows:
                await conn.execute(insert(chan_table), chan_rows)
            # Programmes: plain tuples through the driver's executemany (SQLAlchemy's per-row
            # parameter processing would cost more than SQLite's insert itself).
            fresh, kept = await asyncio.to_thread(_programme_rows, name, programmes, old_ids, next_id)
            for rows, with_id in ((kept, True), (fresh, False)):
                sql = _insert_sql(conn.dialect.paramstyle, with_id)
                for chunk in _chunks(rows, INSERT_BATCH):
                    await conn.exec_driver_sql(sql, chunk)
            return len(chan_rows), notes

        async with self._write_lock:
            stored_channels, notes = await self.db.transaction(work)
        self._channels_cache = None
        result.channels = stored_channels
        result.programmes = len(programmes)
        for note in notes:
            if len(result.errors) < xmltv.MAX_ERRORS:
                result.errors.append(note)
        return result

    # -- queries ----------------------------------------------------------------------------------
    async def programmes(self, start: float, stop: float, channels: Iterable[str] | None = None) -> list[Programme]:
        """Programmes overlapping ``[start, stop)`` (UTC epoch seconds), of the guide channel ids
        ``channels`` (all when None), ordered by channel and start. A zero-length programme counts
        when its instant is inside the window."""
        t = GuideProgramme.__table__
        cols = _programme_columns()
        window = and_(t.c.start < stop, or_(t.c.stop > start, t.c.start >= start))
        out: list[Programme] = []
        async with self.db.session() as session:
            if channels is None:
                rows = (await session.execute(select(*cols).where(window).order_by(t.c.channel_id, t.c.start, t.c.id))).all()
                return _to_programmes(rows)
            ids = list(dict.fromkeys(channels))
            for chunk in _chunks(ids, IN_BATCH):
                stmt = select(*cols).where(window, t.c.channel_id.in_(chunk))
                out.extend(_to_programmes((await session.execute(stmt)).all()))
        out.sort(key=lambda p: (p.channel, p.start, p.id or 0))
        return out

    async def programme(self, programme_id: int) -> Programme | None:
        """One programme by its database id, or None (ids change when a programme's channel,
        start or title changes on re-import)."""
        t = GuideProgramme.__table__
        async with self.db.session() as session:
            row = (await session.execute(select(*_programme_columns()).where(t.c.id == programme_id))).first()
        return _to_programmes([row])[0] if row is not None else None

    async def search(self, text: str, start: float | None = None, stop: float | None = None, *,
                     limit: int = 200) -> list[Programme]:
        """Programmes whose title, sub-title or description contains ``text`` (case-insensitive),
        overlapping ``[start, stop)`` when given, ordered by start; at most ``limit``."""
        t = GuideProgramme.__table__
        needle = text.strip()
        if not needle:
            return []
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        cond = [or_(t.c.title.ilike(pattern, escape="\\"), t.c.subtitle.ilike(pattern, escape="\\"),
                    t.c.description.ilike(pattern, escape="\\"))]
        if start is not None:
            cond.append(or_(t.c.stop > start, t.c.start >= start))
        if stop is not None:
            cond.append(t.c.start < stop)
        stmt = select(*_programme_columns()).where(*cond).order_by(t.c.start, t.c.channel_id).limit(limit)
        async with self.db.session() as session:
            return _to_programmes((await session.execute(stmt)).all())

    async def channels(self) -> list[GuideChannel]:
        """Every guide channel (all sources), ordered by source then id."""
        if self._channels_cache is None:
            t = GuideChannelRow.__table__
            async with self.db.session() as session:
                rows = (await session.execute(select(t.c.id, t.c.names, t.c.number, t.c.icon, t.c.source)
                                              .order_by(t.c.source, t.c.id))).all()
            self._channels_cache = [
                GuideChannel(id=r.id, names=list(json.loads(r.names) if isinstance(r.names, str) else r.names or []),
                             number=r.number, icon=r.icon, source=r.source)
                for r in rows
            ]
        return [GuideChannel(id=c.id, names=list(c.names), number=c.number, icon=c.icon, source=c.source)
                for c in self._channels_cache]

    # -- mapping ----------------------------------------------------------------------------------
    async def mapping(self, lineup: Iterable[LineupChannel]) -> dict[str, dict[str, Any]]:
        """Which guide channel each lineup channel shows: ``{number: {"guide_channel_id",
        "manual"}}`` for the numbers that have one (automatic or manual); numbers without a match
        are left out.

        Manual entries (:meth:`set_mapping`, table ``dvr_channel_map``) win, including "no
        guide" (``guide_channel_id`` None). Otherwise, in this order: the lineup's ``guide_id``
        (M3U ``tvg-id``) equals a guide channel id (exactly, else ignoring case); a guide
        channel's number or a display-name equals the lineup number ("5-1" = "5.1"); a
        display-name equals the lineup name, ignoring case, spaces and a trailing "HD"/"-HD".
        When several guide channels match, the one of the source configured first wins (then the
        lowest id)."""
        channels = await self.channels()
        order = {name: i for i, name in enumerate(self.sources)}
        channels.sort(key=lambda c: (order.get(c.source, len(order)), c.id))
        by_id: dict[str, str] = {}
        by_id_folded: dict[str, str] = {}
        by_number: dict[str, str] = {}
        by_name: dict[str, str] = {}
        for c in channels:
            by_id.setdefault(c.id, c.id)
            by_id_folded.setdefault(c.id.casefold(), c.id)
            if c.number:
                by_number.setdefault(normalise_number(c.number), c.id)
            for n in c.names:
                if re.fullmatch(r"\d+(?:[.\-_ ]\d+)?", n.strip()):
                    by_number.setdefault(normalise_number(n), c.id)
                by_name.setdefault(normalise_name(n), c.id)
        async with self.db.session() as session:
            manual = {r.number: r.guide_channel_id
                      for r in (await session.scalars(select(ChannelMapping).where(ChannelMapping.manual.is_(True)))).all()}
        out: dict[str, dict[str, Any]] = {}
        for ch in lineup:
            if ch.number in out:
                continue
            if ch.number in manual:
                out[ch.number] = {"guide_channel_id": manual[ch.number], "manual": True}
                continue
            found = None
            if ch.guide_id:
                found = by_id.get(ch.guide_id) or by_id_folded.get(ch.guide_id.casefold())
            if found is None:
                found = by_number.get(normalise_number(ch.number))
            if found is None and ch.name:
                found = by_name.get(normalise_name(ch.name))
            if found is not None:
                out[ch.number] = {"guide_channel_id": found, "manual": False}
        return out

    async def set_mapping(self, number: str, guide_channel_id: str | None) -> None:
        """Map lineup channel ``number`` to a guide channel by hand (``None``: this channel has no
        guide). Kept across imports; automatic mapping never overrides it. Raises ``ValueError``
        for a guide channel id that no source has."""
        if guide_channel_id is not None:
            known = {c.id for c in await self.channels()}
            if guide_channel_id not in known:
                listed = ", ".join(sorted(known)[:20]) or "none (import a guide first)"
                raise ValueError(f"no guide channel {guide_channel_id!r} (known: {listed})")
        now = self.clock()

        async def work(session: Any) -> None:
            await session.merge(ChannelMapping(number=number, guide_channel_id=guide_channel_id, manual=True,
                                               updated_at=now))

        await self.db.transaction(work)

    async def clear_mapping(self, number: str) -> None:
        """Forget the manual mapping of ``number``: it is mapped automatically again."""
        async def work(session: Any) -> None:
            await session.execute(delete(ChannelMapping).where(ChannelMapping.number == number))

        await self.db.transaction(work)

    # -- status -----------------------------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        """Per source: ``{"name", "source", "refresh" (hours), "state" (pending, importing, ok,
        error), "result" (the last ImportResult as a dict, or None), "last_import_at",
        "next_import_at" (UTC epoch seconds or None), "error" (the last failure, or the break of a
        partial document), "not_modified" (the URL answered 304 last time)}``; configured sources
        first."""
        return [dict(s) for s in self._status.values()]

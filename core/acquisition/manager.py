"""The acquisition engine (``hub.acquisition``): wanted items, searches, grabs and their tracking.

Start-up builds one provider object per configured indexer, download client and metadata
provider entry (``plugins:`` entries whose platform provides that kind), registers the
``acquisition.*`` services, and starts two loops: download tracking (every
``download_poll_interval`` seconds, see :mod:`.tracker`) and RSS sync (every
``rss_sync_interval`` minutes).

Events fired (data shapes in ``docs/acquisition.md``): ``acquisition_grab_updated`` (a grab as
in ``/api/acquisition/queue``), ``acquisition_grabbed``, ``acquisition_imported``,
``acquisition_download_failed``, ``acquisition_health_changed``, ``acquisition_wanted_changed``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import time
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
import voluptuous as vol

from ..bus import Context
from ..const import EVENT_GRAB_UPDATED, EVENT_GRABBED, EVENT_PROVIDER_HEALTH, EVENT_WANTED_CHANGED
from ..errors import OmniMediaError, ProviderError, ServiceValidationError
from ..library.naming import run_off_loop
from ..plugins.kinds import Downloader, Indexer, MetadataProvider, Provider, unique_name
from .config import ACQUISITION_SCHEMA, quality_profiles
from .decisions import Decision, DecisionContext, SearchSubject, decide, decide_rss, pick_grabs
from .grabber import fetch_payload
from .health import ProviderHealth, describe
from .quality import QualityProfile
from .search import SearchOutcome, fan_out
from .store import ACTIVE_STATES, AcquisitionStore
from .types import Release, SearchQuery
from .wanted import MONITOR_MODES, SEARCH_TYPE, TARGET_KIND, monitored_episodes, subject_for, with_counts

_LOGGER = logging.getLogger(__name__)


MEDIA_TYPES = tuple(TARGET_KIND)


class DuplicateGrab(OmniMediaError):
    """The release (or every target it would fill) is already being downloaded or was imported."""


class NoDownloadClient(OmniMediaError):
    """No enabled, reachable download client handles the release's protocol."""


EPISODE_SCHEMA = vol.Schema({
    vol.Optional("season"): vol.Any(None, vol.Coerce(int)),
    vol.Optional("episode"): vol.Any(None, vol.Coerce(int)),
    vol.Optional("absolute_episode"): vol.Any(None, vol.Coerce(int)),
    vol.Optional("air_date"): vol.Any(None, vol.Match(r"^\d{4}-\d{2}-\d{2}$", msg="expected YYYY-MM-DD")),
    vol.Optional("name"): vol.Any(None, str),
    vol.Optional("runtime"): vol.Any(None, vol.Coerce(float)),
})

ADD_WANTED_SCHEMA = vol.Schema({
    vol.Required("media_type"): vol.In(MEDIA_TYPES),
    vol.Required("title"): vol.All(str, vol.Length(min=1)),
    vol.Optional("year"): vol.Any(None, vol.Coerce(int)),
    vol.Optional("quality_profile"): str,
    vol.Optional("monitor", default="all"): vol.In(MONITOR_MODES),
    vol.Optional("seasons"): [vol.Coerce(int)],
    vol.Optional("ids", default={}): {str: vol.Any(str, int)},
    vol.Optional("episodes"): [EPISODE_SCHEMA],
    vol.Optional("runtime"): vol.Any(None, vol.Coerce(float)),
    vol.Optional("root_folder"): str,
    vol.Optional("lookup"): bool,
    vol.Optional("search", default=False): bool,
})
TITLE_ID_SCHEMA = vol.Schema({vol.Required("title_id"): vol.Coerce(int)})
SEARCH_SCHEMA = vol.Schema({vol.Required("title_id"): vol.Coerce(int), vol.Optional("target_ids"): [vol.Coerce(int)]})
GRAB_SCHEMA = vol.Schema({
    vol.Required("release"): dict,
    vol.Optional("title_id"): vol.Any(None, vol.Coerce(int)),
    vol.Optional("target_ids", default=[]): [vol.Coerce(int)],
}, extra=vol.ALLOW_EXTRA)
REMOVE_GRAB_SCHEMA = vol.Schema({
    vol.Required("grab_id"): vol.Coerce(int),
    vol.Optional("blocklist", default=False): bool,
    vol.Optional("delete_data", default=True): bool,
})
BLOCKLIST_ID_SCHEMA = vol.Schema({vol.Required("entry_id"): vol.Coerce(int)})


def identity_keys(release: Mapping[str, Any] | Release) -> set[str]:
    """Every key that identifies a release: ``btih:<hash>`` when the info-hash is known, the
    indexer + guid, and the download URL. A grab stores its release with the info-hash the hub
    computed, while the same release in a later search may carry only its guid: comparing key
    sets matches both."""
    data = release.as_dict() if isinstance(release, Release) else dict(release)
    keys = set()
    if data.get("infohash"):
        keys.add(f"btih:{str(data['infohash']).lower()}")
    if data.get("guid"):
        keys.add(f"{data.get('indexer')}:{data['guid']}")
    if data.get("download_url"):
        keys.add(str(data["download_url"]))
    if not keys:
        keys.add(str(data.get("title")))
    return keys


class AcquisitionManager:
    """Owns the acquisition providers, the store and the loops. ``hub.acquisition``."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.settings: dict[str, Any] = ACQUISITION_SCHEMA(dict(getattr(hub.config, "acquisition", None) or {}))
        self.profiles: dict[str, QualityProfile] = quality_profiles(self.settings)
        self.store = AcquisitionStore(hub.db)
        self.indexers: dict[str, Indexer] = {}
        self.clients: dict[str, Downloader] = {}
        self.metadata: dict[str, MetadataProvider] = {}
        self.health: dict[tuple[str, str], ProviderHealth] = {}
        self._grab_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self._session: aiohttp.ClientSession | None = None
        self._stopping = False
        from .tracker import Tracker

        self.tracker = Tracker(self)

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self, *, loops: bool = True) -> None:
        """Build providers, register services, resume interrupted imports, start the loops
        (download tracking, RSS sync) unless ``loops`` is false (one-off commands)."""
        self._build_providers()
        self._register_services()
        await self.tracker.resume()
        if not loops:
            return
        self._tasks.append(loop_task(self._check_clients(), "acquisition client check"))
        self._tasks.append(loop_task(self.tracker.run(), "acquisition download tracking"))
        if self.settings["rss_sync_interval"] > 0:
            self._tasks.append(loop_task(self._rss_loop(), "acquisition rss sync"))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        self._tasks.clear()
        for provider in [*self.indexers.values(), *self.clients.values(), *self.metadata.values()]:
            try:
                await provider.close()
            except Exception:  # noqa: BLE001 - closing must not stop the others
                _LOGGER.warning("closing %s failed", provider.name, exc_info=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _check_clients(self) -> None:
        """Ask each enabled download client for its status once at start, so a client that is
        down or refuses our credentials shows in the health report before the first grab."""
        async def check(name: str, client: Downloader) -> None:
            health = self.health.get(("downloader", name))
            if health is not None and not health.enabled:
                return
            try:
                await client.status()
            except ProviderError as err:
                self.record_health("downloader", name, err)
            else:
                self.record_health("downloader", name, None)

        await asyncio.gather(*(check(n, c) for n, c in self.clients.items()))

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session used to fetch .torrent / .nzb files from indexers."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"User-Agent": f"Omni-Media/{self.hub.version}"})
        return self._session

    def _build_providers(self) -> None:
        """One object per configured entry of an indexer / downloader / metadata plugin."""
        kinds: list[tuple[str, dict[str, Any], type[Provider]]] = [
            ("indexer", self.indexers, Indexer), ("downloader", self.clients, Downloader),
            ("metadata_provider", self.metadata, MetadataProvider),
        ]
        for kind, into, _base in kinds:
            classes = self.hub.plugins.providers(kind)
            taken: set[str] = set()
            for entry in self.hub.config.plugins:
                cls = classes.get(entry["platform"])
                if cls is None:
                    continue
                name = unique_name(entry, taken)
                try:
                    provider = cls(self.hub, {**entry, "name": name})
                except Exception as err:  # noqa: BLE001 - one bad entry must not stop the hub
                    _LOGGER.error("%s %s could not be created: %s", kind, name, err)
                    health = ProviderHealth(name, entry["platform"], kind, getattr(cls, "protocol", "torrent"))
                    health.failed(err)
                    self.health[(kind, name)] = health
                    continue
                provider.name = name
                into[name] = provider
                self.health[(kind, name)] = ProviderHealth(
                    name, entry["platform"], kind, getattr(provider, "protocol", "torrent"),
                    enabled=bool(entry.get("enabled", True)),
                )

    def _on_health(self, health: ProviderHealth | None, error: BaseException | None) -> None:
        if health is not None:
            self.hub.bus.fire(EVENT_PROVIDER_HEALTH, health.as_dict())

    def record_health(self, kind: str, name: str, error: BaseException | None) -> None:
        """Record one call's outcome for a provider and announce a change."""
        health = self.health.get((kind, name))
        if health is None:
            return
        changed = health.succeeded() if error is None else health.failed(error)
        if changed:
            self.hub.bus.fire(EVENT_PROVIDER_HEALTH, health.as_dict())

    def health_report(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {"indexers": [], "download_clients": [], "metadata_providers": []}
        key = {"indexer": "indexers", "downloader": "download_clients", "metadata_provider": "metadata_providers"}
        for (kind, _name), health in self.health.items():
            out[key[kind]].append(health.as_dict())
        return out

    def profile(self, name: str | None) -> QualityProfile:
        if name and name in self.profiles:
            return self.profiles[name]
        return self.profiles.get("Any") or next(iter(self.profiles.values()))

    # -- wanted ---------------------------------------------------------------------------------
    async def queued_target_ids(self) -> set[int]:
        return {t for g in await self.store.grabs(ACTIVE_STATES) for t in g["target_ids"]}

    async def add_wanted(self, data: Mapping[str, Any], context: Context | None = None) -> dict[str, Any]:
        """Add a wanted title (validated by ``ADD_WANTED_SCHEMA``); returns it with targets.

        With a metadata provider configured (and ``lookup`` not false) the title, year, ids and
        episode list come from it; otherwise they come from the data (``episodes`` for a series).
        Raises ``ServiceValidationError`` for an unknown profile or a lookup that finds nothing,
        ``ProviderError`` when the metadata provider fails."""
        data = ADD_WANTED_SCHEMA(dict(data))
        media_type = data["media_type"]
        profile_name = data.get("quality_profile") or ("HD-1080p" if "HD-1080p" in self.profiles else "Any")
        if profile_name not in self.profiles:
            raise ServiceValidationError(
                f"unknown quality profile {profile_name!r}; known: {', '.join(self.profiles)}"
            )
        details: dict[str, Any] = {}
        episodes = data.get("episodes")
        use_lookup = data.get("lookup", episodes is None) and self.metadata and media_type in ("series", "movie")
        if use_lookup:
            details = await self._lookup(data["title"], media_type, data.get("year"))
            episodes = details.pop("episodes", None) if media_type == "series" else None
        title = details.get("title") or data["title"]
        year = details.get("year") or data.get("year")
        ids = {**(details.get("ids") or {}), **data["ids"]}
        runtime = data.get("runtime") or details.get("runtime")
        if media_type == "series":
            targets = monitored_episodes(episodes or [], data["monitor"], data.get("seasons"))
        else:
            targets = [{"kind": TARGET_KIND[media_type], "monitored": data["monitor"] != "none", "runtime": runtime}]
        title_id = await self.store.add_title(
            {
                "media_type": media_type, "title": title, "year": year, "ids": ids, "quality_profile": profile_name,
                "monitor": data["monitor"], "seasons": data.get("seasons"),
                "root_folder": data.get("root_folder") or self.root_folder(media_type),
                "details": {**{k: v for k, v in details.items() if k not in ("title", "year", "ids")}, "runtime": runtime},
            },
            targets,
        )
        result = await self.get_wanted(title_id)
        self.hub.bus.fire(EVENT_WANTED_CHANGED, {"action": "added", "title_id": title_id, "title": title}, context)
        if data["search"]:
            self.hub.create_task(self.search_title(title_id), name=f"search for {title}")
        return result  # type: ignore[return-value]

    async def _lookup(self, title: str, media_type: str, year: int | None) -> dict[str, Any]:
        name, provider = next(iter(self.metadata.items()))
        try:
            found = await provider.search(title, media_type=media_type, year=year)
            if not found:
                raise ServiceValidationError(f"{name} found no {media_type} called {title!r}")
            details = await provider.details(str(found[0]["id"]), media_type=media_type)
        except ProviderError as err:
            self.record_health("metadata_provider", name, err)
            raise
        self.record_health("metadata_provider", name, None)
        return dict(details)

    def root_folder(self, media_type: str) -> str | None:
        """Where new titles of ``media_type`` go: the configured folder, else the first library
        of the matching type, else the first mixed library."""
        key = {"series": "tv_folder", "movie": "movie_folder", "album": "music_folder", "book": "book_folder"}[media_type]
        if self.settings.get(key):
            return self.settings[key]
        lib_type = {"series": "tv", "movie": "movies", "album": "music", "book": "ebooks"}[media_type]
        libs = self.hub.config.libraries
        for wanted in (lib_type, "mixed"):
            for lib in libs:
                if lib.get("type", "mixed") == wanted:
                    return lib["path"]
        return None

    async def get_wanted(self, title_id: int) -> dict[str, Any] | None:
        title = await self.store.get_title(title_id)
        if title is None:
            return None
        return with_counts(title, self.profile(title["quality_profile"]), await self.queued_target_ids())

    async def list_wanted(self, media_type: str | None = None) -> list[dict[str, Any]]:
        queued = await self.queued_target_ids()
        return [with_counts(t, self.profile(t["quality_profile"]), queued) for t in await self.store.list_titles(media_type)]

    async def targets_with_status(self, status: str) -> list[dict[str, Any]]:
        """Targets (with ``title_id``, ``title``, ``media_type``) whose status is ``status``."""
        out = []
        for title in await self.list_wanted():
            for target in title["targets"]:
                if target["status"] == status:
                    out.append({**target, "title": title["title"], "media_type": title["media_type"]})
        return out

    async def remove_wanted(self, title_id: int) -> bool:
        removed = await self.store.delete_title(title_id)
        if removed:
            self.hub.bus.fire(EVENT_WANTED_CHANGED, {"action": "removed", "title_id": title_id})
        return removed

    # -- searching ------------------------------------------------------------------------------
    def _usable_indexers(self) -> list[tuple[Indexer, ProviderHealth | None]]:
        return [
            (ix, self.health.get(("indexer", name))) for name, ix in self.indexers.items()
            if self.health.get(("indexer", name)) is None or self.health[("indexer", name)].enabled
        ]

    async def run_query(self, query: SearchQuery | None) -> SearchOutcome:
        """Fan ``query`` (None = RSS) out to every enabled indexer."""
        return await fan_out(
            self._usable_indexers(), query, timeout=self.settings["search_timeout"], on_result=self._on_health
        )

    async def decision_context(self, root: str | None = None, *, user_initiated: bool = False) -> DecisionContext:
        """What the decision engine needs to know besides the releases: blocklist, grabs in
        progress or done, and the free space (bytes) at ``root`` (the destination folder)."""
        grabs = await self.store.grabs(("queued", "downloading", "import_pending", "importing", "imported"))
        blocked = await self.store.blocklist()
        hashes = {b["infohash"] for b in blocked if b["infohash"]}
        titles = {(b["release_title"].lower(), b["indexer"]): b["reason"] for b in blocked}
        reasons = {b["release_key"]: b["reason"] for b in blocked}
        reasons.update({b["infohash"]: b["reason"] for b in blocked if b["infohash"]})

        def blocklist(release: Release) -> str | None:
            for key in identity_keys(release) | {release.key}:
                if key in reasons:
                    return reasons[key]
            if release.infohash and release.infohash in hashes:
                return reasons[release.infohash]
            return titles.get((release.title.lower(), release.indexer))

        free = None
        if root:
            try:
                free = shutil.disk_usage(root).free
            except OSError:
                free = None
        grabbed_keys: set[str] = set()
        for g in grabs:
            grabbed_keys.add(g["release_key"])
            grabbed_keys |= identity_keys(g["release"])
        return DecisionContext(
            now=time.time(), blocklist=blocklist, user_initiated=user_initiated,
            grabbed_release_keys=frozenset(grabbed_keys),
            queued_target_ids=frozenset(t for g in grabs if g["state"] in ACTIVE_STATES for t in g["target_ids"]),
            free_space=free, minimum_free_space=int(self.settings["minimum_free_space"] * 1024 * 1024),
        )

    def queries_for(self, title: Mapping[str, Any], subject: SearchSubject) -> list[SearchQuery]:
        """The searches that find ``subject``'s wanted targets: a season search when most of a
        season is wanted, else one per episode (daily shows by air date, anime by absolute
        number); one query for a movie, album or book. Ids first, the title as ``q`` always."""
        ids = {k: v for k, v in (title.get("ids") or {}).items() if v not in (None, "")}
        base: dict[str, Any] = {"type": SEARCH_TYPE[title["media_type"]], "q": title["title"], "ids": ids}
        if title["media_type"] != "series":
            if title["media_type"] == "movie":
                base["year"] = title.get("year")
            return [SearchQuery(**base)]
        all_targets = title.get("targets", [])
        by_season: dict[int | None, list[Any]] = {}
        for t in subject.targets:
            by_season.setdefault(t.season, []).append(t)
        queries = []
        for season, wanted in sorted(by_season.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
            in_season = [t for t in all_targets if t.get("season") == season]
            if season is not None and len(wanted) > 1 and len(wanted) * 2 >= len(in_season):
                queries.append(SearchQuery(**base, season=season))
                continue
            for t in wanted:
                if t.air_date and t.season is None and t.episode is None:
                    queries.append(SearchQuery(**base, air_date=t.air_date))
                elif t.absolute_episode is not None and t.season is None:
                    queries.append(SearchQuery(**base, absolute_episode=t.absolute_episode))
                else:
                    queries.append(SearchQuery(**base, season=t.season, episode=t.episode))
        return queries

    async def search_title(
        self, title_id: int, target_ids: Iterable[int] | None = None, *, grab: bool = True
    ) -> dict[str, Any]:
        """Automatic search: search every wanted (missing or cutoff-unmet, not queued) target of
        the title, decide, and grab the best release for each — never two grabs for one target.
        Returns ``{"grabbed": [grab…], "decisions": [decision…], "errors": [...]}``.
        Raises ``KeyError`` for an unknown title."""
        title = await self.store.get_title(title_id)
        if title is None:
            raise KeyError(f"no wanted title with id {title_id}")
        profile = self.profile(title["quality_profile"])
        with_counts(title, profile, await self.queued_target_ids())
        wanted = [t["id"] for t in title["targets"] if t["status"] in ("missing", "cutoff_unmet")]
        if target_ids is not None:
            wanted = [t for t in wanted if t in set(target_ids)]
        if not wanted:
            return {"grabbed": [], "grab_errors": [], "decisions": [], "errors": []}
        subject = subject_for(title, profile, wanted)
        outcome = SearchOutcome()
        for query in self.queries_for(title, subject):
            part = await self.run_query(query)
            outcome.releases.extend(part.releases)
            outcome.errors.extend(part.errors)
        await self.store.update_title(title_id, last_search_at=time.time())
        await self.store.update_targets(wanted, last_search_at=time.time())
        decisions = await self._decide(outcome.releases, subject, root=title.get("root_folder"))
        grabbed, grab_errors = await self.grab_best(decisions) if grab else ([], [])
        return {"grabbed": grabbed, "grab_errors": grab_errors, "decisions": [d.as_dict() for d in decisions],
                "errors": outcome.errors}

    async def _decide(
        self, releases: list[Release], subject: SearchSubject | None, profile: QualityProfile | None = None,
        root: str | None = None, *, interactive: bool = False,
    ) -> list[Decision]:
        """Judge ``releases`` (deduplicated) on the naming thread. ``interactive``: a person is
        looking — every name is parsed (so rejected releases still show what they are) and
        delays do not hold releases back."""
        context = await self.decision_context(root, user_initiated=interactive)
        return await run_off_loop(
            functools.partial(decide, parse_all=interactive), _unique(releases), subject, context, profile
        )

    async def grab_best(self, decisions: list[Decision]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """Grab the releases :func:`~.decisions.pick_grabs` picks (best first, never two for one
        target). A release that cannot be grabbed (payload, client, duplicate) is reported and
        the next best for its targets is tried. Returns (grabs, errors as ``{release, error}``)."""
        grabbed: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        covered: set[tuple[int | None, int]] = set()
        pending = [d for d in decisions if d.accepted and not d.pending and d.target_ids]
        while True:
            picks = [d for d in pick_grabs(pending) if not covered & {(d.subject_id, t) for t in d.target_ids}]
            if not picks:
                break
            decision = picks[0]
            pending.remove(decision)
            try:
                grab = await self.grab(decision.release, title_id=decision.subject_id, target_ids=decision.target_ids,
                                       quality=decision.quality, score=decision.score)
            except (ProviderError, DuplicateGrab, NoDownloadClient) as err:
                _LOGGER.warning("grab of %s failed: %s", decision.release.title, err)
                errors.append({"release": decision.release.title, "error": str(err)})
                continue
            covered |= {(decision.subject_id, t) for t in decision.target_ids}
            grabbed.append(grab)
        return grabbed, errors

    async def interactive_search(
        self, *, q: str | None = None, type: str = "search", title_id: int | None = None,
        target_id: int | None = None, season: int | None = None, episode: int | None = None,
    ) -> dict[str, Any]:
        """Search and return every release with its decision (accepted first, rejections with
        reasons) plus per-indexer errors; grabs nothing. With ``title_id`` the title's queries and
        profile are used; otherwise ``q`` is searched and judged by the "Any" profile.
        Raises ``KeyError`` for an unknown title."""
        started = time.perf_counter()
        subject = None
        profile = None
        if title_id is not None:
            title = await self.store.get_title(title_id)
            if title is None:
                raise KeyError(f"no wanted title with id {title_id}")
            profile = self.profile(title["quality_profile"])
            targets = [target_id] if target_id is not None else [
                t["id"] for t in title["targets"] if t.get("monitored", True)
            ]
            subject = subject_for(title, profile, targets)
            queries = self.queries_for(title, subject) if q is None else [SearchQuery(type=type, q=q)]
        else:
            queries = [SearchQuery(type=type, q=q, season=season, episode=episode)]
        outcome = SearchOutcome()
        for query in queries:
            part = await self.run_query(query)
            outcome.releases.extend(part.releases)
            outcome.errors.extend(part.errors)
            outcome.indexers = sorted(set(outcome.indexers) | set(part.indexers))
        decisions = await self._decide(outcome.releases, subject, profile, interactive=True)
        return {
            "results": [d.as_dict() for d in decisions], "errors": outcome.errors,
            "indexers": outcome.indexers, "elapsed": time.perf_counter() - started,
        }

    # -- grabbing -------------------------------------------------------------------------------
    def client_for(self, protocol: str) -> tuple[str, Downloader]:
        """The first enabled download client for ``protocol`` that is not backing off.
        Raises :class:`NoDownloadClient` naming what is configured."""
        candidates = [(n, c) for n, c in self.clients.items() if getattr(c, "protocol", "torrent") == protocol]
        for name, client in candidates:
            health = self.health.get(("downloader", name))
            if health is None or health.available():
                return name, client
        if not candidates:
            raise NoDownloadClient(f"no {protocol} download client is configured")
        reasons = "; ".join(f"{n}: {self.health[('downloader', n)].message or 'disabled'}" for n, _ in candidates)
        raise NoDownloadClient(f"no {protocol} download client is available ({reasons})")

    async def grab(
        self, release: Release, *, title_id: int | None = None, target_ids: Iterable[int] = (),
        quality: str | None = None, score: int = 0, context: Context | None = None,
    ) -> dict[str, Any]:
        """Fetch the release's payload, hand it to a download client and start tracking it.

        Raises :class:`DuplicateGrab` when the same release is already grabbed (active or
        imported), :class:`NoDownloadClient`, or a ``ProviderError`` from the indexer (payload)
        or the client (add). A failed hand-over is recorded as a failed grab in history."""
        target_ids = list(target_ids)
        async with self._grab_lock:
            mine = identity_keys(release)
            for grab in await self.store.grabs(("queued", "downloading", "import_pending", "importing", "imported")):
                if grab["release_key"] in mine or mine & identity_keys(grab["release"]):
                    raise DuplicateGrab(f"{release.title!r} was already grabbed (grab {grab['id']}, {grab['state']})")
            client_name, client = self.client_for(release.protocol)
            request = await fetch_payload(self.session, release, category=self.settings["download_category"])
            if request.infohash:
                release.infohash = release.infohash or request.infohash
                for grab in await self.store.grabs(ACTIVE_STATES):
                    if grab["download_id"] == request.infohash:
                        raise DuplicateGrab(f"{release.title!r} is already downloading (grab {grab['id']})")
            if quality is None:
                quality = (await run_off_loop(_quality_of, release.title))
            try:
                download_id = await client.add(request)
            except ProviderError as err:
                self.record_health("downloader", client_name, err)
                await self.store.add_history(
                    "grab_failed", title_id=title_id, release_title=release.title, quality=quality,
                    indexer=release.indexer, download_client=client_name, message=str(err),
                )
                raise
            self.record_health("downloader", client_name, None)
            grab = await self.store.add_grab({
                "title_id": title_id, "target_ids": target_ids, "release": release.as_dict(),
                "release_title": release.title, "release_key": release.key, "indexer": release.indexer,
                "protocol": release.protocol, "quality": quality, "score": score, "download_client": client_name,
                "download_id": download_id, "state": "queued", "size": release.size,
            })
        await self.store.add_history(
            "grabbed", title_id=title_id, grab_id=grab["id"], release_title=release.title, quality=quality,
            indexer=release.indexer, download_client=client_name,
            data={"download_id": download_id, "target_ids": target_ids, "size": release.size},
        )
        self.hub.bus.fire(EVENT_GRABBED, grab, context)
        self.hub.bus.fire(EVENT_GRAB_UPDATED, grab, context)
        return grab

    async def remove_grab(self, grab_id: int, *, blocklist: bool = False, delete_data: bool = True) -> bool:
        """Stop tracking a grab, remove it from its client and (optionally) blocklist it."""
        grab = await self.store.get_grab(grab_id)
        if grab is None:
            return False
        client = self.clients.get(grab["download_client"])
        if client is not None and grab["download_id"] and grab["state"] in ACTIVE_STATES:
            try:
                await client.remove(grab["download_id"], delete_data=delete_data)
            except ProviderError as err:
                _LOGGER.warning("removing %s from %s failed: %s", grab["release_title"], client.name, err)
        if blocklist:
            await self.blocklist_grab(grab, "removed by the user")
        await self.store.delete_grab(grab_id)
        self.hub.bus.fire(EVENT_GRAB_UPDATED, {**grab, "state": "removed"})
        return True

    async def blocklist_grab(self, grab: Mapping[str, Any], reason: str) -> dict[str, Any]:
        release = Release.from_dict(grab["release"])
        entry = await self.store.add_blocklist({
            "title_id": grab.get("title_id"), "release_title": release.title, "release_key": release.key,
            "indexer": release.indexer, "protocol": release.protocol, "infohash": release.infohash,
            "size": release.size, "reason": reason,
        })
        await self.store.add_history(
            "blocklisted", title_id=grab.get("title_id"), grab_id=grab["id"], release_title=release.title,
            quality=grab.get("quality"), indexer=release.indexer, download_client=grab.get("download_client"),
            message=reason,
        )
        return entry

    # -- RSS sync -------------------------------------------------------------------------------
    async def rss_sync(self) -> dict[str, Any]:
        """Read every indexer's newest releases once and grab what wanted targets need, judging
        each release against the one wanted title it names (:func:`~.decisions.decide_rss`).
        Returns ``{"releases": n, "grabbed": [...], "grab_errors": [...], "errors": [...]}``."""
        outcome = await self.run_query(None)
        subjects = []
        for title in await self.list_wanted():
            wanted = [x["id"] for x in title["targets"] if x["status"] in ("missing", "cutoff_unmet")]
            if wanted:
                subjects.append(subject_for(title, self.profile(title["quality_profile"]), wanted))
        grabbed: list[dict[str, Any]] = []
        grab_errors: list[dict[str, str]] = []
        if outcome.releases and subjects:
            context = await self.decision_context()
            decisions = await run_off_loop(decide_rss, _unique(outcome.releases), subjects, context)
            grabbed, grab_errors = await self.grab_best(decisions)
        return {"releases": len(outcome.releases), "grabbed": grabbed, "grab_errors": grab_errors,
                "errors": outcome.errors}

    async def _rss_loop(self) -> None:
        interval = self.settings["rss_sync_interval"] * 60.0
        while not self._stopping:
            await asyncio.sleep(interval)
            try:
                await self.rss_sync()
            except Exception:  # noqa: BLE001 - the loop must survive any one sync
                _LOGGER.exception("RSS sync failed")

    # -- services -------------------------------------------------------------------------------
    def _register_services(self) -> None:
        reg = self.hub.services.register
        reg("acquisition", "add_wanted", self._svc_add_wanted, ADD_WANTED_SCHEMA,
            "Add a wanted series, movie, album or book (optionally searching for it at once).")
        reg("acquisition", "remove_wanted", self._svc_remove_wanted, TITLE_ID_SCHEMA, "Stop wanting a title.")
        reg("acquisition", "search", self._svc_search, SEARCH_SCHEMA,
            "Search for a wanted title's missing or cutoff-unmet targets and grab the best releases.")
        reg("acquisition", "rss_sync", self._svc_rss_sync, vol.Schema({}),
            "Read every indexer's newest releases and grab what is wanted.")
        reg("acquisition", "grab", self._svc_grab, GRAB_SCHEMA, "Grab one release (from an interactive search).")
        reg("acquisition", "remove_grab", self._svc_remove_grab, REMOVE_GRAB_SCHEMA,
            "Remove a grab from the queue and its download client, optionally blocklisting it.")
        reg("acquisition", "remove_blocklist", self._svc_remove_blocklist, BLOCKLIST_ID_SCHEMA,
            "Remove a release from the blocklist.")

    async def _svc_add_wanted(self, call: Any) -> dict[str, Any]:
        return await self.add_wanted(call.data, call.context)

    async def _svc_remove_wanted(self, call: Any) -> bool:
        return await self.remove_wanted(call.data["title_id"])

    async def _svc_search(self, call: Any) -> dict[str, Any]:
        return await self.search_title(call.data["title_id"], call.data.get("target_ids"))

    async def _svc_rss_sync(self, call: Any) -> dict[str, Any]:
        return await self.rss_sync()

    async def _svc_grab(self, call: Any) -> dict[str, Any]:
        return await self.grab(Release.from_dict(call.data["release"]), title_id=call.data.get("title_id"),
                               target_ids=call.data["target_ids"], context=call.context)

    async def _svc_remove_grab(self, call: Any) -> bool:
        return await self.remove_grab(call.data["grab_id"], blocklist=call.data["blocklist"],
                                      delete_data=call.data["delete_data"])

    async def _svc_remove_blocklist(self, call: Any) -> bool:
        return await self.store.delete_blocklist(call.data["entry_id"])


def loop_task(coro: Any, name: str) -> asyncio.Task[Any]:
    return asyncio.get_running_loop().create_task(coro, name=name)


def _unique(releases: list[Release]) -> list[Release]:
    """Releases with duplicates (the same release from two queries or indexers) removed."""
    seen: dict[str, Release] = {}
    for release in releases:
        seen.setdefault(release.key, release)
    return list(seen.values())


def _quality_of(title: str) -> str:
    from ..library.naming import parse_name

    return parse_name(title).get("quality") or "Unknown"


__all__ = ["AcquisitionManager", "DuplicateGrab", "NoDownloadClient", "describe"]

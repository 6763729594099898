"""The runtime objects plugins provide, one abstract class per kind.

pluggy hooks *declare* these classes (see :mod:`.hookspecs`); the hub's engines create and drive
the instances on the event loop. Every method that talks to the network or the disk is async.
Each class has ``platform`` (its plugin's name) and is built with the hub and one validated config
entry: ``cls(hub, entry)``.

The engines that use them (acquisition, DVR, transcode, storage, assistant) grow these
interfaces; what stands here is the part every implementation of a kind shares.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..acquisition.types import DownloadItem, DownloadRequest, Release, SearchQuery
from ..dvr.types import LineupChannel, TunerStream
from ..ffmpeg import Progress

if TYPE_CHECKING:
    from ..hub import Hub


def unique_name(entry: Mapping[str, Any], taken: set[str]) -> str:
    """A provider's name: the entry's ``name`` (else its platform), made unique among ``taken``
    with " 2", " 3" …; the result is added to ``taken``."""
    base = entry.get("name") or entry["platform"]
    name, n = base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    taken.add(name)
    return name


class Provider(abc.ABC):
    """Base of every provider: ``platform``, the hub, the config entry, and ``close()``."""

    platform: str = ""
    kind: str = ""

    def __init__(self, hub: Hub, entry: Mapping[str, Any]) -> None:
        self.hub = hub
        self.entry = dict(entry)
        self.name: str = entry.get("name") or self.platform

    async def close(self) -> None:
        """Release connections and processes. Called when the hub stops."""


class Indexer(Provider):
    """Finds releases (Torznab, Newznab, RSS …).

    Errors: every method raises a :class:`~omnimedia.core.errors.ProviderError` subclass
    (``ProviderAuthError``, ``ProviderRateLimited``, ``ProviderUnavailable``,
    ``ProviderResponseError``) with a message naming the indexer; never a bare aiohttp/XML error.
    The engine turns them into per-indexer health with backoff.
    """

    kind = "indexer"
    #: ``torrent`` or ``usenet``
    protocol: str = "torrent"

    async def caps(self) -> dict[str, Any]:
        """What the indexer supports: ``{"search_types": {type: [param, …]}, "categories":
        [{"id", "name", "subcats": [...]}], "limits": {"max", "default"}}``. Indexers without a
        caps endpoint (plain RSS) return what they can do: RSS only."""
        return {"search_types": {}, "categories": [], "limits": {"max": 100, "default": 100}}

    @abc.abstractmethod
    async def search(self, query: SearchQuery) -> list[Release]:
        """Run ``query`` (see :class:`~omnimedia.core.acquisition.types.SearchQuery`), following
        pagination up to ``query.limit`` results (all pages the indexer offers when None, with a
        sane cap). Indexers that cannot search (plain RSS) return their feed filtered by ``q``."""

    @abc.abstractmethod
    async def rss(self) -> list[Release]:
        """The newest releases (the indexer's RSS feed / an empty-query search), for RSS sync."""


class Downloader(Provider):
    """A download client (qBittorrent, Transmission, NZBGet, SABnzbd …).

    Errors: :class:`~omnimedia.core.errors.ProviderError` subclasses, with a message naming the
    client (``ProviderUnavailable`` when it is down, ``ProviderAuthError`` on 401/403 or a wrong
    password). Synchronous client libraries run on a worker thread, never on the loop.
    """

    kind = "downloader"
    #: ``torrent`` or ``usenet``
    protocol: str = "torrent"

    @abc.abstractmethod
    async def add(self, request: DownloadRequest) -> str:
        """Hand a grab to the client; return the id the client tracks it by (the request's
        ``infohash`` for torrents, the client's job id for usenet). Adding a torrent the client
        already has returns its id without error."""

    @abc.abstractmethod
    async def items(self) -> list[DownloadItem]:
        """Every download the client tracks in our category (all when no category is set)."""

    @abc.abstractmethod
    async def remove(self, item_id: str, *, delete_data: bool = False) -> None:
        """Remove a download (and its files when ``delete_data``). Unknown ids are ignored."""

    async def status(self) -> dict[str, Any]:
        """Check the client is reachable and logged in: ``{"version": str, ...}``. Raises a
        ``ProviderError`` when it is not. The default lists the items."""
        await self.items()
        return {"version": None}


class StorageProvider(Provider):
    """A cloud or remote store (WebDAV, SFTP, S3 …). Paths are POSIX, relative to the store root."""

    kind = "storage_provider"

    @abc.abstractmethod
    async def list(self, path: str = "") -> list[dict[str, Any]]:
        """Entries under ``path``: ``name``, ``is_dir``, ``size`` (bytes), ``mtime`` (UTC seconds)."""

    @abc.abstractmethod
    async def upload(self, local_path: str, remote_path: str) -> None: ...

    @abc.abstractmethod
    async def download(self, remote_path: str, local_path: str) -> None: ...


class Tuner(Provider):
    """One TV tuner *device* (an HDHomeRun, an IPTV playlist …) with ``tuner_count`` tuners.

    Tuner plugins build these themselves, one per device they find or are configured with, and
    hand them to the DVR engine with ``hub.dvr.add_tuner(tuner)`` (from ``omnimedia_setup`` or
    ``omnimedia_discovered``); ``hub.dvr.remove_tuner(device_id)`` when a device goes away. The
    engine registers the device and one ``tuner`` entity per tuner, leases tuners to recordings
    and live TV, and never opens more streams than ``tuner_count``.

    Attributes: ``device_id`` (stable across restarts: the HDHomeRun DeviceID, or the playlist
    entry's name), ``tuner_count``, and ``manufacturer``/``model``/``sw_version`` for the device
    registry. Errors: :class:`~omnimedia.core.dvr.types.TunerBusy`,
    :class:`~omnimedia.core.dvr.types.UnknownChannel`,
    :class:`~omnimedia.core.dvr.types.TunerUnavailable`.
    """

    kind = "tuner"
    device_id: str = ""
    tuner_count: int = 1
    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None

    @abc.abstractmethod
    async def lineup(self) -> list[LineupChannel]:
        """The channels this device receives, in the device's order. Raises TunerUnavailable."""

    @abc.abstractmethod
    async def open_stream(self, channel: str, *, duration: float | None = None) -> TunerStream:
        """Start streaming ``channel`` (a lineup number) on a free tuner; ``duration`` (seconds)
        asks the device to end the stream by itself (HDHomeRun ``?duration=``), ``None`` streams
        until closed. Raises TunerBusy, UnknownChannel, TunerUnavailable."""

    async def tuner_status(self) -> list[dict[str, Any]]:
        """What each tuner is doing, as the device reports it (HDHomeRun ``status.json``):
        a list of dicts with at least ``resource`` ("tuner0"), and ``channel`` / ``bitrate`` (bits
        per second) / ``signal_strength`` / ``signal_quality`` (percent) when tuned. ``[]`` when
        the device cannot tell."""
        return []

    async def scan(self, action: str = "start") -> dict[str, Any]:
        """Start (``"start"``) or abort (``"abort"``) a channel scan on devices that have one and
        return its status (``{"scan_in_progress": bool, "progress": percent, "found": n}``).
        Raises ``NotImplementedError`` on sources without scanning (playlists)."""
        raise NotImplementedError(f"{self.platform} cannot scan for channels")


class Transcoder(Provider):
    """Converts media files (ffmpeg …) for the library optimiser (``core/transcode``).

    A transcoder knows named *profiles* (built-in ones plus those in its YAML entry) and turns
    ``(source, destination, profile)`` into a finished file. It never touches ``source`` and
    writes only ``destination``, which the engine chooses (a temporary name on the destination's
    file system; the engine verifies and renames it). Processes are run with
    :class:`omnimedia.core.ffmpeg.FfmpegProcess`, so cancelling the calling task ends them.
    """

    kind = "transcoder"

    def profiles(self) -> dict[str, dict[str, Any]]:
        """Profile name → its settings (plain JSON values; the shape is the plugin's, documented
        in its module). Names are what users put in ``transcode: profile:``."""
        return {}

    async def encoders(self) -> list[dict[str, Any]]:
        """Encoders this machine can use: ``[{"name": "hevc_vaapi", "codec": "hevc", "hardware":
        True, "api": "vaapi", "status": "available" | "unavailable" | "degraded", "reason": str |
        None}]``. Detection results are cached; software encoders are always listed."""
        return []

    @abc.abstractmethod
    async def transcode(
        self,
        source: str,
        destination: str,
        profile: Mapping[str, Any],
        *,
        duration: float | None = None,
        on_progress: Callable[[Progress], Any] | None = None,
    ) -> dict[str, Any]:
        """Write ``destination`` from ``source`` with ``profile`` (settings as from
        :meth:`profiles`). ``duration`` (seconds) of the source gives progress percentages;
        ``on_progress`` gets each :class:`~omnimedia.core.ffmpeg.Progress`.

        Returns ``{"encoder": str, "fallback": bool, "command": [str, …]}`` (``fallback``: a
        hardware encoder failed and software finished the job). Raises
        :class:`~omnimedia.core.ffmpeg.FfmpegError`, ``FfmpegCancelled``, ``FfmpegNotFound``;
        ``source`` is never modified."""


class AIBackend(Provider):
    """A language model that turns requests into service calls."""

    kind = "ai_backend"

    @abc.abstractmethod
    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        """Return the model's reply: ``{"text": str, "tool_calls": [{"name", "arguments"}]}``."""


class MetadataProvider(Provider):
    """Titles, years, episode lists and air dates (TMDB …). Errors as for :class:`Indexer`."""

    kind = "metadata_provider"

    @abc.abstractmethod
    async def search(self, title: str, *, media_type: str, year: int | None = None) -> list[dict[str, Any]]:
        """Candidates, best first: ``{"id": str (the provider's id), "title", "year",
        "media_type" ("series"|"movie"), "overview", "ids": {"tmdbid", "tvdbid", "imdbid"…}}``."""

    @abc.abstractmethod
    async def details(self, provider_id: str, *, media_type: str) -> dict[str, Any]:
        """One title in full: the search fields plus ``runtime`` (minutes), ``status``, and for
        series ``episodes``: ``[{"season", "episode", "title", "air_date" ("YYYY-MM-DD" or
        None), "absolute_episode"}]``. Raises ``ProviderResponseError`` for an unknown id."""


#: kind name → abstract class
KIND_CLASSES: dict[str, type[Provider]] = {
    cls.kind: cls
    for cls in (Indexer, Downloader, StorageProvider, Tuner, Transcoder, AIBackend, MetadataProvider)
}

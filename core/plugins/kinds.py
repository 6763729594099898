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
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..hub import Hub


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
    """Finds releases (Torznab, Newznab, RSS …)."""

    kind = "indexer"

    @abc.abstractmethod
    async def search(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Search; ``query`` has ``q`` and optional ``type`` (``tv``, ``movie``…), ``season``,
        ``episode``, ids (``tvdbid``, ``imdbid``…). Returns releases as dicts with at least
        ``title``, ``download_url``, ``size`` (bytes), ``protocol`` (``torrent``/``usenet``)."""


class Downloader(Provider):
    """A download client (qBittorrent, Transmission, NZBGet, SABnzbd …)."""

    kind = "downloader"

    @abc.abstractmethod
    async def add(self, release: Mapping[str, Any], *, category: str | None = None) -> str:
        """Hand a release to the client; return the client's id for it (an info-hash for torrents)."""

    @abc.abstractmethod
    async def items(self) -> list[dict[str, Any]]:
        """Everything the client tracks: ``id``, ``name``, ``state``, ``progress`` (0–1),
        ``size`` (bytes), ``save_path``."""


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
    """A TV tuner (HDHomeRun, IPTV …)."""

    kind = "tuner"

    @abc.abstractmethod
    async def lineup(self) -> list[dict[str, Any]]:
        """Channels: ``number`` (guide number string), ``name``, ``url``."""

    @abc.abstractmethod
    def stream(self, channel: str) -> AsyncIterator[bytes]:
        """Yield MPEG-TS bytes of ``channel`` until the consumer stops iterating."""


class Transcoder(Provider):
    """Converts media files (ffmpeg …)."""

    kind = "transcoder"

    @abc.abstractmethod
    async def transcode(self, source: str, destination: str, profile: Mapping[str, Any]) -> None:
        """Write ``destination`` from ``source`` with ``profile``; raise on failure, leaving
        ``source`` untouched."""


class AIBackend(Provider):
    """A language model that turns requests into service calls."""

    kind = "ai_backend"

    @abc.abstractmethod
    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        """Return the model's reply: ``{"text": str, "tool_calls": [{"name", "arguments"}]}``."""


class MetadataProvider(Provider):
    """Titles, years, episode lists and artwork (TMDB …)."""

    kind = "metadata_provider"

    @abc.abstractmethod
    async def search(self, title: str, *, media_type: str, year: int | None = None) -> list[dict[str, Any]]:
        """Candidates: ``id``, ``title``, ``year``, ``media_type``."""


#: kind name → abstract class
KIND_CLASSES: dict[str, type[Provider]] = {
    cls.kind: cls
    for cls in (Indexer, Downloader, StorageProvider, Tuner, Transcoder, AIBackend, MetadataProvider)
}

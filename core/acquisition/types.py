"""The data that crosses between the acquisition engine and its plugins.

- :class:`SearchQuery`: what the engine asks an indexer for.
- :class:`Release`: one item an indexer offers (a Torznab/Newznab/RSS ``<item>``), normalised.
- :class:`DownloadRequest`: what the engine hands a download client (the payload already fetched,
  the info-hash already computed by the hub).
- :class:`DownloadItem`: what a download client reports about one of its downloads.

Units everywhere: sizes in bytes, times in UTC seconds since the epoch (float), durations in
seconds, progress 0.0–1.0. Info-hashes are 40 lower-case hex digits (BitTorrent v1, SHA-1 of the
bencoded ``info`` dictionary, BEP 3).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

#: The kinds of search an indexer can run. Source: the Newznab API ``t=`` functions
#: (``search``, ``tvsearch``, ``movie``, ``music``, ``book``).
SEARCH_TYPES = ("search", "tvsearch", "movie", "music", "book")

#: Download protocols.
PROTOCOLS = ("torrent", "usenet")

#: States a download client reports (each plugin maps its client's own states onto these).
#: ``completed`` means the payload is complete on disk (a torrent may still be seeding).
CLIENT_STATES = ("queued", "downloading", "paused", "stalled", "completed", "failed")


@dataclass(slots=True)
class SearchQuery:
    """One search. ``type`` is one of :data:`SEARCH_TYPES`.

    ``q`` is free text (a title); ``ids`` holds external ids when known: ``tvdbid``, ``tvrageid``,
    ``tvmazeid``, ``imdbid`` (with or without ``tt``), ``tmdbid``. Indexers use ids first when
    their caps support them and fall back to ``q`` (Newznab/Torznab spec: ``supportedParams``).
    ``season``/``episode`` are ints for normal numbering; a daily show sets ``air_date``
    ("YYYY-MM-DD", sent as ``season=YYYY&ep=MM/DD``); anime sets ``absolute_episode``.
    ``categories`` are Newznab category numbers (2000 movies, 5000 TV, 3000 audio, 7000 books …);
    empty means "the indexer's defaults for this type". ``limit``/``offset`` page the results.
    """

    type: str = "search"
    q: str | None = None
    ids: dict[str, str | int] = field(default_factory=dict)
    season: int | None = None
    episode: int | None = None
    air_date: str | None = None
    absolute_episode: int | None = None
    year: int | None = None
    artist: str | None = None
    album: str | None = None
    author: str | None = None
    categories: list[int] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class Release:
    """One release offered by an indexer.

    ``download_url`` is what to fetch to grab it: a ``.torrent`` / ``.nzb`` URL, or a magnet URI
    (then ``magnet_url`` holds the same). ``guid`` identifies the item at its indexer (unique per
    indexer). ``size`` comes from the ``size`` attribute, else ``<size>``, else the enclosure
    ``length`` (None when all are missing or 0). ``published`` is the ``pubDate`` in UTC seconds.
    ``peers`` is seeders + leechers when the feed gives no ``peers``. ``download_volume_factor``
    0.0 means freeleech (the download does not count against ratio), 0.5 half-leech;
    ``upload_volume_factor`` 2.0 double upload. ``flags`` are indexer flags such as
    ``freeleech``, ``halfleech``, ``double_upload``, ``internal``, ``scene``, ``nuked``.
    ``ids`` carries the external ids the item declares (``tvdbid``, ``tvrageid``, ``imdbid``
    …, as ints except ``imdbid``'s ``tt`` form). ``indexer`` is the configured name of the indexer.
    """

    title: str
    indexer: str
    protocol: str
    download_url: str | None = None
    guid: str | None = None
    info_url: str | None = None
    comments_url: str | None = None
    magnet_url: str | None = None
    infohash: str | None = None
    size: int | None = None
    published: float | None = None
    categories: list[int] = field(default_factory=list)
    seeders: int | None = None
    leechers: int | None = None
    peers: int | None = None
    grabs: int | None = None
    files: int | None = None
    ids: dict[str, str | int] = field(default_factory=dict)
    download_volume_factor: float | None = None
    upload_volume_factor: float | None = None
    flags: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    indexer_priority: int = 25

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Release:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def key(self) -> str:
        """What makes two offers the same release: the info-hash for torrents when known,
        else the indexer and its guid, else the download URL, else the title."""
        if self.infohash:
            return f"btih:{self.infohash}"
        if self.guid:
            return f"{self.indexer}:{self.guid}"
        return self.download_url or self.title


@dataclass(slots=True)
class DownloadRequest:
    """A grab handed to a download client.

    Exactly one payload is set: ``torrent`` (the .torrent file's bytes), ``magnet`` (a magnet
    URI) or ``nzb`` (the .nzb file's bytes). ``infohash`` is computed by the hub before sending
    (torrents only) and is the id the hub tracks the download by. ``category`` is the client's
    category / label (clients without labels use it as a sub-folder of ``save_path``).
    ``save_path`` overrides the client's default download folder when set. ``name`` is the
    release title (NZBGet/SABnzbd use it as the job name).
    """

    protocol: str
    name: str
    infohash: str | None = None
    torrent: bytes | None = None
    magnet: str | None = None
    nzb: bytes | None = None
    category: str | None = None
    save_path: str | None = None
    paused: bool = False
    priority: int = 0


@dataclass(slots=True)
class DownloadItem:
    """One download as its client reports it.

    ``id`` is the client's id: the info-hash (lower-case hex) for torrents, the NZB id for
    usenet clients (NZBGet ``NZBID`` as a string, SABnzbd ``nzo_id``). ``state`` is one of
    :data:`CLIENT_STATES`. ``content_path`` is the downloaded file or folder as the client sees
    it (remote path mappings translate it for the hub). ``message`` explains ``failed`` or
    ``stalled`` in the client's words. ``eta`` is seconds, None when unknown.
    """

    id: str
    name: str
    state: str
    progress: float = 0.0
    size: int | None = None
    downloaded: int | None = None
    eta: float | None = None
    save_path: str | None = None
    content_path: str | None = None
    category: str | None = None
    message: str | None = None
    seeders: int | None = None
    ratio: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

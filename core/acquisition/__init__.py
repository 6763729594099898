"""Acquisition: wanted items → indexers → release parsing and decisions → download clients →
tracked grabs → import into the library. What Sonarr, Radarr and Prowlarr do, in one engine.

Data shapes shared by the engine and the indexer / download-client plugins live in
:mod:`.types`; the engine itself is :class:`.manager.AcquisitionManager` (``hub.acquisition``).
"""

from .types import DownloadItem, DownloadRequest, Release, SearchQuery

__all__ = ["DownloadItem", "DownloadRequest", "Release", "SearchQuery"]

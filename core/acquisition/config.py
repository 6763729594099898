"""The ``acquisition:`` section of configuration.yaml.

Example (every key is optional; these are the defaults unless noted)::

    acquisition:
      rss_sync_interval: 15        # minutes between RSS syncs; 0 turns RSS sync off
      search_timeout: 30           # seconds each indexer gets per search
      download_category: omnimedia # category / label given to the download clients
      minimum_free_space: 100      # MB that must stay free on the destination when importing
      import_mode: auto            # auto (hardlink, else copy + verify), copy, or move
      tv_folder: /media/tv         # where new series go (default: the first tv library)
      movie_folder: /media/movies  # where new movies go (default: the first movies library)
      naming: {episode: "...", ...}   # see core/acquisition/naming_templates.py
      remote_path_mappings:
        - {download_client: seedbox, remote: /downloads/, local: /mnt/seedbox/}
      quality_profiles:
        - name: HD-1080p
          qualities: [HDTV-1080p, WEBDL-1080p, Bluray-1080p]
          cutoff: WEBDL-1080p
          preferred_words: {x265: 10, "/\\bHDR\\b/": 5}

Profiles named like a built-in one (:data:`~.quality.DEFAULT_PROFILES`) replace it.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from .naming_templates import naming_validator
from .quality import DEFAULT_PROFILES, QUALITY_NAMES, QualityProfile

_QUALITY = vol.In(QUALITY_NAMES, msg=f"unknown quality; known: {', '.join(QUALITY_NAMES)}")
_MB_PER_MIN = vol.Any(None, vol.All(vol.Coerce(float), vol.Range(min=0)))
_MINUTES = vol.All(vol.Coerce(float), vol.Range(min=0))


def _cutoff_allowed(profile: dict[str, Any]) -> dict[str, Any]:
    if profile["cutoff"] not in profile["qualities"]:
        raise vol.Invalid(f"cutoff {profile['cutoff']!r} is not one of the profile's qualities", path=["cutoff"])
    return profile


PROFILE_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Required("name"): vol.All(str, vol.Length(min=1)),
            vol.Required("qualities"): vol.All([_QUALITY], vol.Length(min=1)),
            vol.Required("cutoff"): _QUALITY,
            vol.Optional("upgrades_allowed", default=True): bool,
            vol.Optional("sizes", default={}): {_QUALITY: {vol.Optional("min"): _MB_PER_MIN, vol.Optional("max"): _MB_PER_MIN}},
            vol.Optional("must_contain", default=[]): [str],
            vol.Optional("must_not_contain", default=[]): [str],
            vol.Optional("preferred_words", default={}): {str: vol.Coerce(int)},
            vol.Optional("minimum_seeders", default=1): vol.All(vol.Coerce(int), vol.Range(min=0)),
            vol.Optional("minimum_age", default=0.0): _MINUTES,
            vol.Optional("delay", default=0.0): _MINUTES,
            vol.Optional("preferred_protocol", default="torrent"): vol.In(("torrent", "usenet")),
            vol.Optional("minimum_score"): vol.Any(None, vol.Coerce(int)),
        }
    ),
    _cutoff_allowed,
)

NAMING_DEFAULTS = {
    "episode": "{Series Title} - S{season:00}E{episode:00} - {Episode Title} {Quality Full}",
    "daily_episode": "{Series Title} - {Air-Date} - {Episode Title} {Quality Full}",
    "anime_episode": "{Series Title} - S{season:00}E{episode:00} - {absolute:000} - {Episode Title} {Quality Full}",
    "series_folder": "{Series Title} ({Year})",
    "season_folder": "Season {season:00}",
    "movie": "{Movie Title} ({Year}) {Quality Full}",
    "movie_folder": "{Movie Title} ({Year})",
}

NAMING_SCHEMA = vol.Schema({vol.Optional(k, default=v): vol.All(str, vol.Length(min=1)) for k, v in NAMING_DEFAULTS.items()})

REMOTE_PATH_MAPPING_SCHEMA = vol.Schema(
    {vol.Required("download_client"): str, vol.Required("remote"): str, vol.Required("local"): str}
)

ACQUISITION_SCHEMA = vol.Schema(
    {
        vol.Optional("rss_sync_interval", default=15.0): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional("search_timeout", default=30.0): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
        vol.Optional("download_category", default="omnimedia"): str,
        vol.Optional("minimum_free_space", default=100.0): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional("import_mode", default="auto"): vol.In(("auto", "copy", "move")),
        vol.Optional("tv_folder"): str,
        vol.Optional("movie_folder"): str,
        vol.Optional("music_folder"): str,
        vol.Optional("book_folder"): str,
        vol.Optional("download_poll_interval", default=5.0): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
        vol.Optional("stalled_timeout", default=24 * 60.0): _MINUTES,
        vol.Optional("naming", default={}): vol.All(NAMING_SCHEMA, naming_validator),
        vol.Optional("remote_path_mappings", default=[]): [REMOTE_PATH_MAPPING_SCHEMA],
        vol.Optional("quality_profiles", default=[]): [PROFILE_SCHEMA],
    }
)


def quality_profiles(section: dict[str, Any]) -> dict[str, QualityProfile]:
    """Name → :class:`QualityProfile`: the built-in defaults, replaced or extended by the
    configured ones (validated ``section``)."""
    defaults = {
        name: PROFILE_SCHEMA({"name": name, **data}) for name, data in DEFAULT_PROFILES.items()
    }
    for profile in section.get("quality_profiles", []):
        defaults[profile["name"]] = profile
    return {name: QualityProfile.from_config(data) for name, data in defaults.items()}

"""Release and file names → what they say (title, year, season, episode, quality…), via guessit.

Quality names follow Sonarr/Radarr's vocabulary (``SDTV``, ``DVD``, ``HDTV-720p``, ``WEBDL-1080p``,
``WEBRip-1080p``, ``Bluray-2160p``, ``Remux-1080p`` …) so that profiles written for those tools read
the same here. Source of the vocabulary: Sonarr's ``Quality.cs`` / Radarr's quality definitions.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import re
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from guessit import guessit

#: guessit ``source`` values grouped by the Sonarr/Radarr source they stand for.
_WEB = {"Web"}
_BLURAY = {"Blu-ray", "Ultra HD Blu-ray", "HD-DVD"}
_TV = {"HDTV", "Ultra HDTV", "Digital TV", "TV", "Satellite", "Video on Demand", "Digital Master"}

_REPACK_RE = re.compile(r"(?:^|[.\s_\-\[(])(repack|rerip)\d*(?=$|[.\s_\-\])])", re.IGNORECASE)
_PROPER_RE = re.compile(r"(?:^|[.\s_\-\[(])(proper|real)(?=$|[.\s_\-\])])", re.IGNORECASE)

KEYS = (
    "title", "year", "season", "episode", "episodes", "absolute_episode", "air_date", "episode_title",
    "type", "quality", "resolution", "source", "release_group", "proper", "repack", "version",
)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _first_int(value: Any) -> int | None:
    for v in _as_list(value):
        if isinstance(v, int):
            return v
    return None


def _resolution(screen_size: Any) -> str | None:
    """guessit's ``screen_size`` (``1080p``, ``1080i``, ``4K``, ``720x480``…) → ``"1080p"``-style."""
    if not isinstance(screen_size, str):
        return None
    m = re.match(r"^(\d{3,4})[pi]$", screen_size)
    if m:
        return f"{m.group(1)}p"
    m = re.match(r"^\d{3,4}x(\d{3,4})$", screen_size)
    if m:
        return f"{m.group(1)}p"
    if screen_size.upper() == "4K":
        return "2160p"
    return None


def _bucket(resolution: str | None) -> str | None:
    """Snap a resolution to the buckets Sonarr/Radarr use (480p, 720p, 1080p, 2160p)."""
    if resolution is None:
        return None
    lines = int(resolution[:-1])
    if lines >= 1600:
        return "2160p"
    if lines >= 900:
        return "1080p"
    if lines >= 700:
        return "720p"
    return "480p"


def quality_name(source: str | None, resolution: str | None, other: list[str]) -> str | None:
    """Sonarr/Radarr quality for a guessit ``source``, a resolution and guessit's ``other`` tags;
    ``None`` when the name says nothing about quality."""
    res = _bucket(resolution)
    others = {o.lower() for o in other}
    if source in _BLURAY:
        if "remux" in others:
            return f"Remux-{res or '1080p'}"
        return f"Bluray-{res or '480p'}"
    if source in _WEB:
        kind = "WEBRip" if "rip" in others else "WEBDL"
        return f"{kind}-{res or '480p'}"
    if source == "DVD":
        return "DVD"
    if source in _TV:
        if res in ("720p", "1080p", "2160p"):
            return f"HDTV-{res}"
        return "SDTV"
    if source is None and res is not None:
        # Sonarr's fallback: a bare resolution reads as a TV capture of that size.
        return "SDTV" if res == "480p" else f"HDTV-{res}"
    return None


@lru_cache(maxsize=4096)
def _parse_cached(name: str) -> tuple[tuple[str, Any], ...]:
    g = dict(guessit(name))
    other = [str(o) for o in _as_list(g.get("other"))]
    episodes = [e for e in _as_list(g.get("episode")) if isinstance(e, int)]
    season = _first_int(g.get("season"))
    date = g.get("date")
    air_date = date.isoformat() if isinstance(date, _dt.date) else None
    kind = "episode" if g.get("type") == "episode" else "movie"
    absolute = _first_int(g.get("absolute_episode"))
    if absolute is None and kind == "episode" and season is None and air_date is None and len(episodes) == 1:
        # "[Group] Show - 1071 (1080p)": anime-style absolute numbering.
        absolute = episodes[0]
    resolution = _resolution(g.get("screen_size"))
    source = g.get("source") if isinstance(g.get("source"), str) else None
    title = g.get("title")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    episode_title = g.get("episode_title")
    if isinstance(episode_title, list):
        episode_title = " ".join(str(t) for t in episode_title)
    group = g.get("release_group")
    if isinstance(group, list):
        group = group[0]
    version = _first_int(g.get("version"))
    proper = "Proper" in other or bool(_PROPER_RE.search(name))
    repack = bool(_REPACK_RE.search(name))
    result = {
        "title": str(title) if title is not None else None,
        "year": _first_int(g.get("year")),
        "season": season,
        "episode": episodes[0] if episodes else None,
        "episodes": episodes,
        "absolute_episode": absolute,
        "air_date": air_date,
        "episode_title": str(episode_title) if episode_title is not None else None,
        "type": kind,
        "quality": quality_name(source, resolution, other),
        "resolution": resolution,
        "source": source,
        "release_group": str(group) if group is not None else None,
        "proper": proper,
        "repack": repack,
        "version": version,
    }
    return tuple(result.items())


def parse_name(name: str) -> dict[str, Any]:
    """Parse a release or file name (a base name; a path also works, folders give hints).

    Returns ``{title, year, season, episode, episodes (list of int, several for multi-episode
    files), absolute_episode, air_date ("YYYY-MM-DD"), episode_title, type ("episode"|"movie"),
    quality (Sonarr/Radarr name or None), resolution ("1080p"…), source (guessit's, e.g. "Web",
    "Blu-ray", "HDTV"), release_group, proper (bool), repack (bool), version (int or None)}``.
    Every value is JSON-serialisable; missing facts are ``None``. Results are cached by name.

    Raises ``TypeError`` when ``name`` is not a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    result = dict(_parse_cached(name))
    result["episodes"] = list(result["episodes"])
    return result


#: guessit is pure Python and takes ~5–20 ms a name: it runs on one worker thread, never on the
#: event loop, and one thread keeps its (shared, cached) rule engine single-threaded.
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnimedia-naming")


async def run_off_loop(func: Any, *args: Any) -> Any:
    """Run ``func(*args)`` (a name-parsing function) on the naming thread and await its result."""
    return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, func, *args)

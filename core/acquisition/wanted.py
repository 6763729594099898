"""Wanted titles and targets: what is missing, what is below the cutoff, what to search for.

Pure functions over the store's dicts (see :mod:`.store`), so the API, the scheduler and the
search all agree on one definition of *missing* and *cutoff unmet*:

- ``have``: the target has a file that meets the profile's cutoff (or upgrades are off);
- ``cutoff_unmet``: it has a file below the cutoff and the profile allows upgrades;
- ``missing``: monitored, no file;
- ``queued``: an active grab covers it;
- ``unmonitored``: not wanted (yet).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

from .decisions import SearchSubject, TargetState
from .quality import QualityProfile

#: media type of a wanted title → kind of its targets, and the search type that finds it
TARGET_KIND = {"series": "episode", "movie": "movie", "album": "album", "book": "book"}
SEARCH_TYPE = {"series": "tvsearch", "movie": "movie", "album": "music", "book": "book"}
MONITOR_MODES = ("all", "future", "seasons", "none")


def target_status(target: Mapping[str, Any], profile: QualityProfile, queued: set[int] | frozenset[int]) -> str:
    """One of ``queued``, ``have``, ``cutoff_unmet``, ``missing``, ``unmonitored``."""
    if target["id"] in queued:
        return "queued"
    if target.get("file_path"):
        if profile.upgrades_allowed and not profile.meets_cutoff(target.get("file_quality")):
            return "cutoff_unmet" if target.get("monitored", True) else "have"
        return "have"
    return "missing" if target.get("monitored", True) else "unmonitored"


def monitored_episodes(
    episodes: Iterable[Mapping[str, Any]], monitor: str, seasons: list[int] | None, today: _dt.date | None = None
) -> list[dict[str, Any]]:
    """Episode dicts (``season``, ``episode``, ``air_date``, ``name``, ``absolute_episode``) →
    target rows with ``monitored`` set according to ``monitor`` (see :data:`MONITOR_MODES`).
    Specials (season 0) are only monitored when ``seasons`` names season 0."""
    today = today or _dt.datetime.now(_dt.UTC).date()
    rows = []
    for ep in episodes:
        season = ep.get("season")
        air = ep.get("air_date")
        if monitor == "none":
            wanted = False
        elif monitor == "seasons":
            wanted = season in (seasons or [])
        elif monitor == "future":
            wanted = air is None or air > today.isoformat()
        else:
            wanted = season != 0
        rows.append({
            "kind": "episode", "season": season, "episode": ep.get("episode"),
            "absolute_episode": ep.get("absolute_episode"), "air_date": air, "name": ep.get("name") or ep.get("title"),
            "runtime": ep.get("runtime"), "monitored": wanted,
        })
    return rows


def subject_for(title: Mapping[str, Any], profile: QualityProfile, target_ids: Iterable[int] | None = None) -> SearchSubject:
    """The :class:`SearchSubject` the decision engine judges releases against; ``target_ids``
    limits the targets (None = all of the title's)."""
    only = set(target_ids) if target_ids is not None else None
    targets = [
        TargetState(
            id=t["id"], kind=t["kind"], season=t.get("season"), episode=t.get("episode"),
            absolute_episode=t.get("absolute_episode"), air_date=t.get("air_date"), monitored=t.get("monitored", True),
            file_quality=t.get("file_quality") if t.get("file_path") else None,
            file_score=t.get("file_score"), runtime=t.get("runtime"),
        )
        for t in title.get("targets", [])
        if only is None or t["id"] in only
    ]
    details = title.get("details") or {}
    season_episodes: dict[int, int] = {}
    for t in title.get("targets", []):
        if t.get("season") is not None:
            season_episodes[t["season"]] = season_episodes.get(t["season"], 0) + 1
    return SearchSubject(
        id=title["id"], media_type=title["media_type"], title=title["title"], profile=profile,
        year=title.get("year"), aliases=list(details.get("aliases") or []), targets=targets,
        runtime=details.get("runtime"), season_episodes=season_episodes,
    )


def with_counts(title: dict[str, Any], profile: QualityProfile, queued: set[int] | frozenset[int]) -> dict[str, Any]:
    """The title with each target's ``status`` and ``counts`` per status (API shape)."""
    counts = {"targets": 0, "missing": 0, "cutoff_unmet": 0, "have": 0, "queued": 0, "unmonitored": 0}
    for target in title.get("targets", []):
        target["status"] = target_status(target, profile, queued)
        counts["targets"] += 1
        counts[target["status"]] += 1
    title["counts"] = counts
    return title

"""Completed-download handling for one grab: import its files into the library and record it.

The file work (finding media files, matching them to the wanted targets, naming, hardlink or
copy + verify, upgrades) is :func:`.importer.import_download`; this module feeds it the grab's
title, targets and the ``acquisition:`` settings, then writes down what happened: each target's
new file and quality, a history event per file (``imported``, or ``upgraded`` when it replaced
an older file), and a library refresh of the new paths so they show up at once.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .importer import import_download
from .transfer import ImportFailed

if TYPE_CHECKING:
    from .manager import AcquisitionManager


async def import_grab(manager: AcquisitionManager, grab: dict[str, Any]) -> dict[str, Any]:
    """Import ``grab`` (a row of the ``grabs`` table whose download is complete).

    Returns :meth:`.importer.ImportResult.as_dict` (``imported``, ``failed``, ``skipped``).
    Raises :class:`~.transfer.ImportFailed` when the grab has no wanted title, the client gave
    no content path, or that path does not exist; per-file problems are in the result."""
    if grab.get("title_id") is None:
        raise ImportFailed(
            f"{grab['release_title']!r} is not linked to a wanted title, so the hub does not know where it "
            "belongs; import it by hand", reason="destination_invalid",
        )
    title = await manager.store.get_title(grab["title_id"])
    if title is None:
        raise ImportFailed(f"the wanted title of {grab['release_title']!r} was removed", reason="destination_invalid")
    if not grab.get("content_path"):
        raise ImportFailed(
            f"{grab['download_client']} did not say where {grab['release_title']!r} was downloaded",
            reason="source_missing",
        )
    if not title.get("root_folder"):
        raise ImportFailed(
            f"no folder for {title['media_type']} titles: configure a library of that type or "
            f"'acquisition -> {_folder_setting(title['media_type'])}'", reason="destination_invalid",
        )
    settings = manager.settings
    subject = {**title, "runtime": (title.get("details") or {}).get("runtime")}
    result = await import_download(
        grab["content_path"], subject, title["targets"],
        naming=settings["naming"], root_folder=title["root_folder"], release_title=grab["release_title"],
        quality=grab.get("quality"), mode=settings["import_mode"], minimum_free_space=settings["minimum_free_space"],
        client_name=grab["download_client"], remote_path_mappings=settings["remote_path_mappings"],
    )
    outcome = result.as_dict()
    destinations = []
    for placed in outcome["imported"]:
        destinations.append(placed["destination"])
        await manager.store.update_targets(
            placed["target_ids"], file_path=placed["destination"], file_quality=placed["quality"],
            file_size=placed["size"], file_score=grab.get("score"),
        )
        await manager.store.add_history(
            "upgraded" if placed.get("replaced") else "imported",
            title_id=title["id"], target_id=(placed["target_ids"] or [None])[0], grab_id=grab["id"],
            release_title=grab["release_title"], quality=placed["quality"], indexer=grab.get("indexer"),
            download_client=grab["download_client"],
            message=f"{placed['source']} → {placed['destination']} ({placed.get('method')})",
            data={k: placed.get(k) for k in ("source", "destination", "method", "size", "replaced", "target_ids")},
        )
    if destinations and not title.get("path"):
        folder = os.path.dirname(destinations[0])
        if title["media_type"] == "series":
            folder = os.path.dirname(folder) if os.path.dirname(folder) != title["root_folder"] else folder
        await manager.store.update_title(title["id"], path=folder)
    if destinations:
        await manager.hub.library.refresh_paths(destinations)
    return outcome


def _folder_setting(media_type: str) -> str:
    return {"series": "tv_folder", "movie": "movie_folder", "album": "music_folder", "book": "book_folder"}[media_type]

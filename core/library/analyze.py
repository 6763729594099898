"""One file → the columns of its media item. Blocking readers run in threads; ffprobe runs as an
asyncio subprocess under the scanner's semaphore (bounded parallelism)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .classify import item_type, media_class
from .naming import parse_name, run_off_loop
from .probe import ProbeTimeout, container_name, error_text, probe, summarize
from .readers import UnreadableMedia, read_audio_tags, read_book, read_photo
from .walker import FileInfo

#: Columns that come from the name (re-derived when a file is renamed).
NAME_FIELDS = (
    "title", "year", "season", "episode", "episodes", "absolute_episode", "air_date", "episode_title",
    "release_group", "quality",
)


def name_for_parsing(path: str, root: str) -> str:
    """The last three path components below the library root: guessit reads show and season
    folders (``Show/Season 1/01.mkv``) as well as the file name."""
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    return "/".join(parts[-3:])


def _stem_title(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    return stem.replace("_", " ").strip() or stem


def name_fields(path: str, root: str, cls: str, library_type: str, has_video: bool | None) -> dict[str, Any]:
    """Item type and name-derived columns for ``path`` (no I/O)."""
    parsed = parse_name(name_for_parsing(path, root)) if cls == "video" else None
    kind = item_type(cls, library_type, parsed, has_video=has_video, path=path)
    fields: dict[str, Any] = {k: None for k in NAME_FIELDS}
    fields["type"] = kind
    fields["parsed"] = parsed
    if parsed and kind in ("movie", "episode", "video"):
        for key in NAME_FIELDS:
            fields[key] = parsed.get(key)
        fields["episodes"] = parsed.get("episodes") or None
        if kind == "movie":
            for key in ("season", "episode", "episodes", "absolute_episode", "air_date", "episode_title"):
                fields[key] = None
        if kind == "video":
            fields["title"] = _stem_title(path)
    if not fields["title"]:
        fields["title"] = _stem_title(path)
    return fields


async def analyze(
    path: str,
    info: FileInfo,
    root: str,
    library_type: str,
    probe_slots: asyncio.Semaphore,
    probe_timeout: float,
) -> dict[str, Any]:
    """Return the media item columns for one file (never raises for a bad file: a file that cannot
    be read gets ``status="error"`` and ``error`` saying why).

    Keys: path, size, mtime, inode, type, status, error, the name fields, and whatever the probe
    and readers found (container, codecs, width, height, duration, bitrate, tracks, tags)."""
    cls = media_class(path, library_type) or "video"
    fields: dict[str, Any] = {
        "path": path,
        "size": info.size,
        "mtime": info.mtime,
        "inode": info.inode,
        "status": "ok",
        "error": None,
        "container": None,
        "video_codec": None,
        "audio_codec": None,
        "width": None,
        "height": None,
        "duration": None,
        "bitrate": None,
        "audio_tracks": None,
        "subtitle_tracks": None,
        "tags": None,
        "artist": None,
        "album": None,
        "track_number": None,
    }
    has_video: bool | None = None
    error: str | None = None
    found: dict[str, Any] = {}
    if info.kind != "file":
        error = info.detail or "not a regular file"
    elif info.size == 0:
        error = "empty file (0 bytes)"
    else:
        try:
            if cls in ("video", "audio", "audiobook"):
                async with probe_slots:
                    summary = await probe(path, probe_timeout)
                tech = summarize(summary)
                tech["container"] = container_name(tech["container"], path)
                has_video = tech.pop("has_video")
                has_audio = tech.pop("has_audio")
                format_tags = tech.pop("format_tags")
                found.update(tech)
                if not has_video and not has_audio:
                    error = "no audio or video streams found"
                elif cls != "video" or not has_video:
                    tags = await asyncio.to_thread(read_audio_tags, path)
                    duration = tags.pop("duration", None)
                    if found.get("duration") is None and duration:
                        found["duration"] = duration
                    found.update({k: v for k, v in tags.items() if v is not None})
                elif format_tags:
                    found["tags"] = {k: v for k, v in format_tags.items() if isinstance(v, str)}
            elif cls == "photo":
                found.update(await asyncio.to_thread(read_photo, path))
            else:
                found.update(await asyncio.to_thread(read_book, path, cls))
        except UnreadableMedia as err:
            error = str(err)
        except FileNotFoundError as err:
            if not os.path.lexists(path):
                raise  # the file went away: the caller treats it as removed
            error = error_text(err, path)
        except PermissionError as err:
            error = f"unreadable: {err.strerror or err}"
        except (OSError, ValueError, ProbeTimeout) as err:
            error = error_text(err, path)
        except Exception as err:  # ffmpeg.Error and anything a reader library throws
            error = error_text(err, path)
    if error and info.kind == "file" and not os.path.lexists(path):
        # ffprobe/readers failed because the file went away mid-scan: not an error, a removal.
        raise FileNotFoundError(path)
    fields.update(await run_off_loop(name_fields, path, root, cls, library_type, has_video))
    tag_title = found.pop("title", None)
    tag_year = found.pop("year", None)
    fields.update(found)
    if tag_title and fields["type"] in ("track", "audiobook", "ebook", "comic"):
        fields["title"] = tag_title
    if tag_year and not fields.get("year"):
        fields["year"] = tag_year
    if error:
        fields["status"], fields["error"] = "error", error
    return fields

"""Which files are media, and what kind: by extension first, then by library type and name.

``media_class(path)`` answers from the extension alone (cheap, used while walking);
``item_type(...)`` decides the item type once the name is parsed and, for audio/video, the streams
are known (a ``.mp4`` with no video stream is music; a video in a ``tv`` library is an episode).
"""

from __future__ import annotations

import os
from typing import Any

VIDEO_EXTENSIONS = frozenset(
    "mkv mp4 m4v avi mov wmv webm ts m2ts mts mpg mpeg flv ogv 3gp vob divx asf rm rmvb".split()
)
AUDIO_EXTENSIONS = frozenset("mp3 flac m4a aac ogg oga opus wav wma aiff aif ape wv mka alac dsf".split())
AUDIOBOOK_EXTENSIONS = frozenset({"m4b"})
PHOTO_EXTENSIONS = frozenset("jpg jpeg png gif heic heif webp tif tiff bmp dng cr2 nef arw orf rw2".split())
EBOOK_EXTENSIONS = frozenset("epub pdf mobi azw azw3 fb2 djvu".split())
COMIC_EXTENSIONS = frozenset("cbz cbr cb7 cbt".split())

#: Artwork that media managers (Kodi, Jellyfin, Plex) keep next to videos and music: not photos.
ARTWORK_NAMES = frozenset(
    "poster fanart folder cover banner thumb backdrop landscape clearlogo clearart logo disc discart "
    "front back album season-all".split()
)

#: Media item types (the ``type`` column).
ITEM_TYPES = ("movie", "episode", "video", "track", "audiobook", "photo", "ebook", "comic")


def extension(path: str) -> str:
    return os.path.splitext(path)[1][1:].lower()


def media_class(path: str, library_type: str = "mixed") -> str | None:
    """``video`` | ``audio`` | ``audiobook`` | ``photo`` | ``ebook`` | ``comic`` | ``None`` (not media).

    Images named like artwork (``poster.jpg``, ``folder.jpg``…) count only in photo libraries; a
    PDF is a comic in a ``comics`` library and an ebook elsewhere."""
    ext = extension(path)
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in AUDIOBOOK_EXTENSIONS:
        return "audiobook"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    if ext in PHOTO_EXTENSIONS:
        if library_type in ("movies", "tv", "music", "audiobooks", "ebooks", "comics"):
            return None
        stem = os.path.splitext(os.path.basename(path))[0].lower()
        if library_type != "photos" and (stem in ARTWORK_NAMES or stem.split("-")[-1] in ARTWORK_NAMES):
            return None
        return "photo"
    if ext in COMIC_EXTENSIONS:
        return "comic"
    if ext in EBOOK_EXTENSIONS:
        return "comic" if (library_type == "comics" and ext == "pdf") else "ebook"
    return None


def item_type(
    cls: str,
    library_type: str,
    parsed: dict[str, Any] | None = None,
    *,
    has_video: bool | None = None,
    path: str = "",
) -> str:
    """The item type for a file of media class ``cls`` in a library of ``library_type``.

    ``parsed`` is :func:`~.naming.parse_name`'s answer; ``has_video`` is what the probe found
    (``False`` turns a video container with only audio into a track)."""
    if cls == "video" and has_video is False:
        cls = "audio"
    if cls == "audio":
        if library_type == "audiobooks":
            return "audiobook"
        if library_type == "mixed" and "audiobook" in path.lower():
            return "audiobook"
        return "track"
    if cls in ("audiobook", "photo", "ebook", "comic"):
        return cls
    # video
    if library_type == "tv":
        return "episode"
    if library_type == "movies":
        return "movie"
    if library_type != "mixed":
        return "video"
    parsed = parsed or {}
    if parsed.get("type") == "episode" and (
        parsed.get("episode") is not None or parsed.get("air_date") or parsed.get("season") is not None
    ):
        return "episode"
    # guessit calls anything without episode markers a movie; only trust it when the name carries
    # release facts (a year, a quality); "VID_20200101.mp4" is a home video.
    if parsed.get("year") or parsed.get("quality") or parsed.get("release_group"):
        return "movie"
    return "video"

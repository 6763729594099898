"""Completed-download handling: from a finished download to named files in the library.

The steps, each usable on its own (none of them touches the database; the engine feeds them the
wanted title and its targets and records the outcome):

1. :func:`map_remote_path` — the path the download client reported, as seen from this host
   (remote path mappings, for clients running elsewhere).
2. :func:`find_media_files` — the media files in the download, with the reason every other file
   was skipped (samples, extras, incomplete files, junk).
3. :func:`plan_import` — which wanted target each file is (parsed from its name) and its library
   path (naming templates); files that cannot be imported get a reason.
4. :func:`execute` — place each planned file with :func:`.transfer.place` (hard link or verified
   copy) and retire the files they upgrade; one failed file never affects another.

:func:`import_download` runs all four. Subjects and targets can be :class:`ImportSubject` /
:class:`ImportTarget`, the ``WantedTitle`` / ``WantedTarget`` rows (or their ``as_dict()``),
or any object or mapping with the same attribute names.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..library.classify import (
    AUDIO_EXTENSIONS,
    AUDIOBOOK_EXTENSIONS,
    COMIC_EXTENSIONS,
    EBOOK_EXTENSIONS,
    VIDEO_EXTENSIONS,
)
from ..library.naming import parse_name, run_off_loop
from .config import NAMING_DEFAULTS
from .naming_templates import render, safe_component
from .quality import rank
from .transfer import ImportFailed, format_size, place, remove_replaced

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "FoundFiles", "ImportFailed", "ImportPlan", "ImportResult", "ImportSubject", "ImportTarget", "PlannedFile",
    "RejectedFile", "SkippedFile", "execute", "find_media_files", "import_download", "map_remote_path",
    "plan_import", "plan_import_async", "sample_size_limit",
]


# --- input shapes ------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportSubject:
    """The wanted title a download is for. ``media_type``: ``series``, ``movie``, ``album`` or
    ``book``. ``root_folder``: the library folder it goes to; ``path``: the title's own folder
    when it already has one (absolute, or relative to ``root_folder``). ``series_type``:
    ``standard``, ``daily`` or ``anime`` (None: decided per file from how it is numbered).
    ``runtime``: minutes per episode / of the movie (sample detection)."""

    title: str
    media_type: str = "series"
    year: int | None = None
    root_folder: str | None = None
    path: str | None = None
    series_type: str | None = None
    runtime: float | None = None
    id: int | None = None


@dataclass(slots=True)
class ImportTarget:
    """One wanted target: an episode (``season``/``episode``, ``absolute_episode``, ``air_date``
    "YYYY-MM-DD", ``name`` = the episode title) or the movie / album / book itself.
    ``file_path``/``file_quality``/``file_revision`` describe the file already in the library
    (an import that is not better is refused; a better one replaces it)."""

    id: int
    kind: str = "episode"
    season: int | None = None
    episode: int | None = None
    absolute_episode: int | None = None
    air_date: str | None = None
    name: str | None = None
    monitored: bool = True
    file_path: str | None = None
    file_quality: str | None = None
    file_revision: int | None = None


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        value = obj.get(name, default)
    else:
        value = getattr(obj, name, default)
    return default if value is None else value


# --- remote path mappings ----------------------------------------------------------------------


def map_remote_path(client_name: str | None, path: str, mappings: Iterable[Any]) -> str:
    """The local path for ``path`` as reported by download client ``client_name``.

    ``mappings``: ``[{download_client, remote, local}]`` (``acquisition: remote_path_mappings``).
    The longest ``remote`` prefix configured for this client wins; prefixes match whole path
    components (``/downloads`` does not match ``/downloads2``). Windows paths (``D:\\Downloads``)
    on the remote side match case-insensitively with either slash. Without a matching mapping the
    path is returned unchanged. Client names compare case-insensitively.
    """
    if not path:
        return path
    best: tuple[int, str, str] | None = None
    for mapping in mappings:
        if client_name is None or str(_get(mapping, "download_client", "")).casefold() != client_name.casefold():
            continue
        remote, local = str(_get(mapping, "remote", "")), str(_get(mapping, "local", ""))
        windows = "\\" in remote or bool(re.match(r"^[A-Za-z]:", remote)) or "\\" in path
        cand, prefix = (path.replace("\\", "/"), remote.replace("\\", "/")) if windows else (path, remote)
        prefix = prefix.rstrip("/")
        a, b = (cand.casefold(), prefix.casefold()) if windows else (cand, prefix)
        if a == b or a.startswith(b + "/"):
            rest = cand[len(prefix):].lstrip("/")
            if best is None or len(prefix) > best[0]:
                best = (len(prefix), local, rest)
    if best is None:
        return path
    _, local, rest = best
    if not rest:
        return local.rstrip("/") or "/"
    return posixpath.join(local, rest)


# --- finding the media files --------------------------------------------------------------------

#: Incomplete-file suffixes of download clients: ``.part`` (Transmission/many), ``.!qB``
#: (qBittorrent's "append .!qB"), ``.!ut`` (µTorrent), browsers and aria2.
INCOMPLETE_SUFFIXES = (".part", ".!qb", ".!ut", ".crdownload", ".partial", ".aria2", ".filepart", ".tmp")
EXECUTABLE_EXTENSIONS = frozenset("exe bat cmd com scr msi lnk ps1 vbs vbe js jse wsf jar apk dll sh pif".split())
ARCHIVE_EXTENSIONS = frozenset("rar zip 7z tar gz bz2 xz zst".split())
SUBTITLE_EXTENSIONS = frozenset("srt ass ssa sub idx vtt sup smi".split())
#: Folders that hold extras, not the episodes or the movie (Plex/Jellyfin conventions).
EXTRA_FOLDERS = frozenset({
    "extras", "extra", "featurettes", "featurette", "behind the scenes", "deleted scenes", "interviews",
    "trailers", "shorts", "bonus", "scenes", "other",
})
_EXTRA_SUFFIX = re.compile(r"-(behindthescenes|deleted|featurette|interview|scene|short|trailer|other)$", re.I)
_SAMPLE_WORD = re.compile(r"(?<![a-z0-9])sample(?![a-z])", re.I)

#: Bytes per second of the lowest bitrate a real episode or movie has (1 Mbit/s): the sample
#: size limit is the shortest real runtime × this.
SAMPLE_BYTES_PER_SECOND = 125_000


def sample_size_limit(runtime: float | None, media_type: str = "series") -> int:
    """Bytes under which a file named "sample" is a sample.

    Sonarr decides by the file's playing time against a minimum that depends on the series'
    runtime (source: Sonarr ``DetectSample``: runtime ≤ 3 min → 15 s, ≤ 10 min → 90 s, ≤ 30 min
    → 5 min, else 10 min; Radarr uses 10 min for movies). We use the same minimums as sizes, at
    1 Mbit/s (:data:`SAMPLE_BYTES_PER_SECOND`): a 60-minute show's limit is 75,000,000 bytes
    (72 MB), a 22-minute show's half that, a movie's 72 MB. Unknown runtime counts as long.
    """
    if media_type == "movie" or runtime is None:
        seconds = 600
    elif runtime <= 3:
        seconds = 15
    elif runtime <= 10:
        seconds = 90
    elif runtime <= 30:
        seconds = 300
    else:
        seconds = 600
    return seconds * SAMPLE_BYTES_PER_SECOND


def _wanted_extensions(media_type: str) -> tuple[frozenset[str], str]:
    if media_type in ("album", "music"):
        return AUDIO_EXTENSIONS, "audio"
    if media_type in ("book", "audiobook", "ebook"):
        return EBOOK_EXTENSIONS | COMIC_EXTENSIONS | AUDIOBOOK_EXTENSIONS | AUDIO_EXTENSIONS, "book"
    return VIDEO_EXTENSIONS, "video"


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file of the download that is not imported, and why."""

    path: Path
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"source": str(self.path), "reason": self.reason}


class FoundFiles(list[Path]):
    """The media files of a download (a list of paths, largest-first for movies is up to the
    caller), with :attr:`skipped`: every other file with its reason."""

    def __init__(self, files: Iterable[Path] = (), skipped: Iterable[SkippedFile] = ()) -> None:
        super().__init__(files)
        self.skipped: list[SkippedFile] = list(skipped)


def find_media_files(content_path: str | Path, media_type: str = "series", *, runtime: float | None = None) -> FoundFiles:
    """The media files in a download: ``content_path`` is the file or the folder (searched
    recursively, hidden files and folders skipped) the download client reported.

    Videos for ``series``/``movie``, audio for ``album``, e-books, comics and audiobooks for
    ``book``. Skipped, each with its reason in :attr:`FoundFiles.skipped`: samples (a name with
    the word "sample" — or a ``Sample`` folder — and a size under :func:`sample_size_limit` for
    ``runtime`` minutes), extras (``Featurettes``/``Extras``/… folders, Plex ``-trailer``-style
    suffixes), incomplete files (``.part``, ``.!qB`` …), executables, archives (not unpacked
    here), subtitles, and any other file (``.nfo``, ``.txt``, artwork …). Blocking (walks the
    file system): run it with ``asyncio.to_thread``.

    Raises :class:`ImportFailed` (``source_missing``) when ``content_path`` does not exist.
    """
    root = Path(content_path)
    if not root.exists():
        raise ImportFailed(
            f"The download is not at {root} (was it moved or deleted? A download client on another host "
            "needs a remote path mapping)", reason="source_missing", path=root,
        )
    wanted, kind = _wanted_extensions(media_type)
    limit = sample_size_limit(runtime, media_type)
    found = FoundFiles()
    if root.is_file():
        candidates = [(root, ())]
    else:
        candidates = []
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            rel_parts = here.relative_to(root).parts
            for d in sorted(dirnames):
                if d.startswith("."):
                    found.skipped.append(SkippedFile(here / d, "hidden folder"))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                candidates.append((here / name, rel_parts))
    for path, folders in candidates:
        reason = _skip_reason(path, folders, wanted, kind, limit, media_type)
        if reason:
            found.skipped.append(SkippedFile(path, reason))
        else:
            found.append(path)
    return found


def _skip_reason(
    path: Path, folders: tuple[str, ...], wanted: frozenset[str], kind: str, limit: int, media_type: str
) -> str | None:
    name = path.name
    lower = name.lower()
    if name.startswith("."):
        return "hidden file"
    for suffix in INCOMPLETE_SUFFIXES:
        if lower.endswith(suffix):
            return f"incomplete download ({name[-len(suffix):]} file)"
    ext = lower.rsplit(".", 1)[-1] if "." in lower else ""
    if ext in EXECUTABLE_EXTENSIONS:
        return f"executable (.{ext}): never imported"
    if ext in ARCHIVE_EXTENSIONS or re.fullmatch(r"r\d\d", ext):
        return f"archive (.{ext}): archives are not unpacked here; let the download client unpack it"
    if ext not in wanted:
        if ext in SUBTITLE_EXTENSIONS:
            return f"subtitle (.{ext}): extra files are not imported"
        return f"not a {kind} file (.{ext})" if ext else f"not a {kind} file (no extension)"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    if size == 0:
        return "empty file"
    if kind == "video":
        for folder in folders:
            f = folder.lower()
            if f in ("sample", "samples"):
                return f"sample (in a '{folder}' folder)"
            if f in EXTRA_FOLDERS:
                return f"extra (in a '{folder}' folder)"
        stem = path.stem
        if _EXTRA_SUFFIX.search(stem) or re.search(r"(?<![a-z])featurettes?(?![a-z])", stem, re.I):
            return "extra (trailer/featurette)"
        if _SAMPLE_WORD.search(stem) and size < limit:
            return f"sample ({format_size(size)}, under the {format_size(limit)} sample limit)"
    return None


# --- planning ----------------------------------------------------------------------------------


@dataclass(slots=True)
class PlannedFile:
    """One file to place: ``source`` → ``destination``, filling ``target_ids``. ``label`` names it
    for people (``S01E02``, ``S01E01-E02``, ``2019-05-04``, ``episode 1071``, ``movie``).
    ``replaces``: library files of these targets at other paths (retired once this file is in
    place). ``size`` in bytes. ``notes``: things worth telling that did not stop the import."""

    source: Path
    destination: Path
    target_ids: list[int]
    quality: str
    size: int
    label: str
    replaces: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    proper: bool = False
    release_group: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": str(self.source), "destination": str(self.destination), "target_ids": list(self.target_ids),
            "quality": self.quality, "size": self.size, "label": self.label,
            "replaces": [str(p) for p in self.replaces], "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class RejectedFile:
    """A media file that will not be imported, and why (``S01E03 is not wanted`` …)."""

    source: Path
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"source": str(self.source), "reason": self.reason}


@dataclass(slots=True)
class ImportPlan:
    """What :func:`execute` will do: ``files`` to place, media files ``rejected`` with a reason,
    other files ``skipped`` (from :func:`find_media_files`)."""

    files: list[PlannedFile] = field(default_factory=list)
    rejected: list[RejectedFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """``"<file name>: <reason>"`` for every rejected media file."""
        return [f"{r.source.name}: {r.reason}" for r in self.rejected]

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [f.as_dict() for f in self.files],
            "rejected": [r.as_dict() for r in self.rejected],
            "skipped": [s.as_dict() for s in self.skipped],
        }


@dataclass(slots=True)
class _Release:
    """What the file and release names say about quality and revision."""

    quality: str
    proper: bool
    repack: bool
    version: int | None
    group: str | None


def _label(season: int | None, episodes: Sequence[int]) -> str:
    if season is None:
        numbers = f"{episodes[0]}-{episodes[-1]}" if len(episodes) > 1 else str(episodes[0])
        return f"episode {numbers}"
    if len(episodes) > 1:
        return f"S{season:02d}E{episodes[0]:02d}-E{episodes[-1]:02d}"
    return f"S{season:02d}E{episodes[0]:02d}"


def _look(table: Mapping[Any, Any], key: Any, label: str, matched: list[Any], missing: list[str]) -> None:
    target = table.get(key)
    if target is None:
        missing.append(label)
    else:
        matched.append(target)


def _target_label(targets: Sequence[Any]) -> str:
    first = targets[0]
    if _get(first, "season") is not None and _get(first, "episode") is not None:
        return _label(_get(first, "season"), sorted(_get(t, "episode") for t in targets if _get(t, "episode") is not None))
    if _get(first, "air_date"):
        return str(_get(first, "air_date"))
    if _get(first, "absolute_episode") is not None:
        return _label(None, sorted(_get(t, "absolute_episode") for t in targets))
    return f"the {_get(first, 'kind', 'target')}"


def _release_facts(file_info: dict[str, Any], release_info: dict[str, Any] | None, quality: str | None) -> _Release:
    """Quality: the file name's when it names a source (``WEB-DL``, ``BluRay`` …), else the
    grabbed release's (``quality`` as decided at grab time), else the release title's, else a
    resolution-only guess from the file name, else ``Unknown``."""
    rel = release_info or {}
    if file_info.get("quality") and file_info.get("source"):
        q = file_info["quality"]
    elif quality:
        q = quality
    elif rel.get("quality"):
        q = rel["quality"]
    else:
        q = file_info.get("quality") or "Unknown"
    return _Release(
        quality=q,
        proper=bool(file_info.get("proper") or rel.get("proper")),
        repack=bool(file_info.get("repack") or rel.get("repack")),
        version=file_info.get("version") or rel.get("version"),
        group=file_info.get("release_group") or rel.get("release_group"),
    )


def _revision(facts: _Release) -> int:
    if facts.version and facts.version > 1:
        return facts.version
    return 2 if (facts.proper or facts.repack) else 1


def _not_an_upgrade(targets: Sequence[Any], facts: _Release, source: Path) -> str | None:
    new = (rank(facts.quality), _revision(facts))
    for t in targets:
        old_quality = _get(t, "file_quality")
        old_path = _get(t, "file_path")
        if not old_quality or (old_path and os.path.abspath(old_path) == os.path.abspath(source)):
            continue
        old = (rank(old_quality), int(_get(t, "file_revision", 1) or 1))
        if old >= new:
            return f"not an upgrade: {_target_label([t])} already has {old_quality} (this file is {facts.quality})"
    return None


def _folder_for(subject: Any, root_folder: str | Path | None, template: str, values: Mapping[str, Any]) -> Path:
    own = _get(subject, "path")
    root = root_folder if root_folder is not None else _get(subject, "root_folder")
    if own:
        own_path = Path(own)
        if own_path.is_absolute():
            return own_path
        if root is None:
            raise ValueError(f"{_get(subject, 'title')!r} has a relative folder {own!r} but no root folder")
        return Path(root) / own_path
    if root is None:
        raise ValueError(f"no root folder for {_get(subject, 'title')!r}: set acquisition tv_folder/movie_folder "
                         "or the title's root folder")
    return Path(root) / render(template, values)


def plan_import(
    files: Sequence[Path | str],
    subject: Any,
    targets: Sequence[Any],
    naming: Mapping[str, str] | None = None,
    root_folder: str | Path | None = None,
    release_title: str | None = None,
    quality: str | None = None,
    *,
    edition: str | None = None,
    check_upgrade: bool = True,
) -> ImportPlan:
    """Match ``files`` (from :func:`find_media_files`) to ``targets`` of ``subject`` and compute
    each one's library path.

    Series: each file's name is parsed (:func:`omnimedia.core.library.naming.parse_name`; a file
    without a season number is parsed again with its folder's name, and a lone file without any
    numbering falls back to the release title) and matched by air date (daily), season + episode
    numbers (several for a multi-episode file), or absolute number (anime). Its path is
    ``<series folder>/<season folder>/<file name><original extension>`` from the ``naming``
    templates (season 0 goes to ``Specials``; a target without a season number gets no season
    folder); the template is the subject's ``series_type``'s (``daily_episode``,
    ``anime_episode``, ``episode``), else chosen by how the file matched. Names use the
    targets' numbers and titles, so an absolute-numbered anime file still gets ``S01E05``.

    Movies: the largest video is the movie (others are skipped as "not the main movie file");
    ``<movie folder>/<movie file><ext>``. Albums and books: every file keeps its own name, below
    a ``<Title (Year)>`` folder (``path`` when set).

    ``naming``: the ``acquisition: naming`` section (missing keys → defaults). ``root_folder``
    overrides the subject's. ``quality`` is the grabbed release's quality, used when a file's
    name does not name its source; ``release_title`` fills ``{Original Title}`` and gaps in the
    file names (release group, PROPER). ``check_upgrade``: refuse files that are not better than
    the target's current file (``file_quality``/``file_revision``).

    Files that cannot be imported land in :attr:`ImportPlan.rejected` with a reason:
    "could not tell which episode this is", "S01E03 is not wanted", "S01E03 is not monitored",
    "not an upgrade: …", "S01E02 is also in <other file>, which is better", … CPU-bound (name
    parsing): from async code call :func:`plan_import_async`.
    """
    names = {**NAMING_DEFAULTS, **(naming or {})}
    plan = ImportPlan(skipped=list(getattr(files, "skipped", [])))
    paths = [Path(f) for f in files]
    media_type = str(_get(subject, "media_type", "series"))
    release_info = parse_name(release_title) if release_title else None
    if media_type in ("series", "tv", "episode"):
        _plan_series(plan, paths, subject, targets, names, root_folder, release_title, release_info, quality,
                     check_upgrade)
    elif media_type == "movie":
        _plan_movie(plan, paths, subject, targets, names, root_folder, release_title, release_info, quality,
                    edition, check_upgrade)
    else:
        _plan_flat(plan, paths, subject, targets, root_folder, release_info, quality)
    return plan


async def plan_import_async(*args: Any, **kwargs: Any) -> ImportPlan:
    """:func:`plan_import` on the name-parsing worker thread (guessit is CPU-bound)."""
    return await run_off_loop(functools.partial(plan_import, *args, **kwargs))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _file_info(path: Path, single: bool, release_info: dict[str, Any] | None) -> dict[str, Any]:
    info = parse_name(path.name)
    if info["season"] is None and info["air_date"] is None and path.parent.name:
        with_folder = parse_name(f"{path.parent.name}/{path.name}")
        if with_folder["season"] is not None and (with_folder["episodes"] or with_folder["air_date"]):
            info = {**info, **{k: with_folder[k] for k in ("season", "episode", "episodes", "air_date")},
                    "absolute_episode": None}
    numbered = info["episodes"] or info["air_date"] or info["absolute_episode"] is not None
    if not numbered and single and release_info is not None:
        info = {**info, **{k: release_info[k] for k in ("season", "episode", "episodes", "air_date",
                                                         "absolute_episode")}}
    return info


def _plan_series(
    plan: ImportPlan, paths: list[Path], subject: Any, targets: Sequence[Any], names: Mapping[str, str],
    root_folder: str | Path | None, release_title: str | None, release_info: dict[str, Any] | None,
    quality: str | None, check_upgrade: bool,
) -> None:
    by_se: dict[tuple[int, int], Any] = {}
    by_date: dict[str, Any] = {}
    by_abs: dict[int, Any] = {}
    for t in targets:
        season, episode = _get(t, "season"), _get(t, "episode")
        if season is not None and episode is not None:
            by_se[(int(season), int(episode))] = t
        if _get(t, "air_date"):
            by_date[str(_get(t, "air_date"))] = t
        if _get(t, "absolute_episode") is not None:
            by_abs[int(_get(t, "absolute_episode"))] = t
    series_type = _get(subject, "series_type") or _get(_get(subject, "details", {}), "series_type")
    single = len(paths) == 1
    single_season = {s for s, _ in by_se} == {1}
    candidates: list[tuple[PlannedFile, int, list[Any]]] = []
    for path in paths:
        info = _file_info(path, single, release_info)
        matched: list[Any] = []
        missing: list[str] = []
        notes: list[str] = []

        how = ""
        if info["air_date"]:
            how = "daily"
            _look(by_date, info["air_date"], info["air_date"], matched, missing)
        elif info["season"] is not None and info["episodes"]:
            how = "standard"
            for ep in info["episodes"]:
                _look(by_se, (info["season"], ep), _label(info["season"], [ep]), matched, missing)
            if not matched and series_type == "anime" and info["absolute_episode"] is not None:
                how = "anime"
                missing.clear()
                _look(by_abs, info["absolute_episode"], f"episode {info['absolute_episode']}", matched, missing)
        elif info["episodes"] or info["absolute_episode"] is not None:
            how = "anime"
            for n in info["episodes"] or [info["absolute_episode"]]:
                if n not in by_abs and series_type != "anime" and (1, n) in by_se and single_season:
                    # "Show - 05.mkv" of a one-season show without absolute numbers: S01E05.
                    notes.append(f"numbered {n} only; read as {_label(1, [n])}")
                    how = "standard"
                    _look(by_se, (1, n), _label(1, [n]), matched, missing)
                else:
                    _look(by_abs, n, f"episode {n}", matched, missing)
        if not how:
            plan.rejected.append(RejectedFile(path, "could not tell which episode this is (no season/episode, "
                                                     "air date or absolute number in its name)"))
            continue
        wanted = [t for t in matched if _get(t, "monitored", True) is not False]
        unmonitored = [t for t in matched if _get(t, "monitored", True) is False]
        if not wanted:
            if unmonitored:
                reason = f"{_target_label(unmonitored)} is not monitored"
            else:
                reason = f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not wanted"
            plan.rejected.append(RejectedFile(path, reason))
            continue
        if missing or unmonitored:
            extra = missing + ([_target_label(unmonitored)] if unmonitored else [])
            notes.append(f"the file also holds {', '.join(extra)}, which {'is' if len(extra) == 1 else 'are'} not wanted")
        def order(t: Any) -> tuple[int, int, int]:
            return (_get(t, "season", 0), _get(t, "episode", 0), _get(t, "absolute_episode", 0))

        wanted.sort(key=order)
        # The name says every known episode in the file, the unmonitored ones too.
        in_file = sorted(wanted + unmonitored, key=order)
        facts = _release_facts(info, release_info, quality)
        if check_upgrade:
            refusal = _not_an_upgrade(wanted, facts, path)
            if refusal:
                plan.rejected.append(RejectedFile(path, refusal))
                continue
        kind = series_type if series_type in ("daily", "anime", "standard") else how
        try:
            destination = _episode_destination(path, subject, in_file, names, root_folder, kind, facts, release_title)
        except ValueError as exc:
            plan.rejected.append(RejectedFile(path, f"cannot name it: {exc}"))
            continue
        planned = PlannedFile(
            source=path, destination=destination, target_ids=[int(_get(t, "id")) for t in wanted],
            quality=facts.quality, size=_size(path), label=_target_label(wanted), notes=notes,
            proper=facts.proper or facts.repack, release_group=facts.group,
            replaces=_replaced_paths(wanted, destination, path),
        )
        candidates.append((planned, rank(facts.quality), wanted))
    _resolve_duplicates(plan, candidates)


def _episode_destination(
    path: Path, subject: Any, targets: list[Any], names: Mapping[str, str], root_folder: str | Path | None,
    kind: str, facts: _Release, release_title: str | None,
) -> Path:
    first = targets[0]
    season = _get(first, "season")
    episodes = [int(_get(t, "episode")) for t in targets if _get(t, "episode") is not None]
    absolutes = [int(_get(t, "absolute_episode")) for t in targets if _get(t, "absolute_episode") is not None]
    values = {
        "series_title": _get(subject, "title"), "year": _get(subject, "year"), "season": season,
        "episodes": episodes if len(episodes) == len(targets) else [],
        "absolute_episodes": absolutes if len(absolutes) == len(targets) else [],
        "episode_titles": [_get(t, "name") for t in targets], "air_date": _get(first, "air_date"),
        "quality": facts.quality, "proper": facts.proper, "repack": facts.repack, "version": facts.version,
        "series_type": kind, "release_group": facts.group, "original_title": release_title,
        "original_filename": path.stem,
    }
    has_se = season is not None and bool(values["episodes"])
    order = {
        "daily": ("daily_episode", "episode"),
        "anime": ("anime_episode", "episode", "daily_episode"),
    }.get(kind, ("episode", "daily_episode", "anime_episode"))
    template = None
    for setting in order:
        if setting == "daily_episode" and values["air_date"]:
            template = names[setting]
        elif setting == "anime_episode" and values["absolute_episodes"] and has_se:
            template = names[setting]
        elif setting == "episode" and has_se:
            template = names[setting]
        if template:
            break
    if template is None:
        raise ValueError(f"{_target_label(targets)} has neither season and episode numbers nor an air date")
    folder = _folder_for(subject, root_folder, names["series_folder"], values)
    if season is not None:
        folder = folder / ("Specials" if int(season) == 0 else render(names["season_folder"], values))
    ext = path.suffix
    return folder / (render(template, values, reserve=len(ext.encode())) + ext)


def _replaced_paths(targets: Sequence[Any], destination: Path, source: Path) -> list[Path]:
    out: list[Path] = []
    for t in targets:
        old = _get(t, "file_path")
        if not old:
            continue
        old_path = Path(old)
        if old_path in (destination, source) or old_path in out:
            continue
        out.append(old_path)
    return out


def _resolve_duplicates(plan: ImportPlan, candidates: list[tuple[PlannedFile, int, list[Any]]]) -> None:
    """Two files for the same target (or the same destination): keep the better one (quality,
    then PROPER, then size)."""
    candidates.sort(key=lambda c: (c[1], c[0].proper, c[0].size), reverse=True)
    taken: dict[int, PlannedFile] = {}
    destinations: dict[Path, PlannedFile] = {}
    for planned, _, _ in candidates:
        clash = next((taken[i] for i in planned.target_ids if i in taken), None)
        if clash is not None:
            plan.rejected.append(RejectedFile(planned.source, f"{planned.label} is also in {clash.source.name}, "
                                                              "which is better"))
            continue
        same_place = destinations.get(planned.destination)
        if same_place is not None:
            plan.rejected.append(RejectedFile(planned.source, f"{same_place.source.name} gets the same name "
                                                              f"({planned.destination.name})"))
            continue
        for i in planned.target_ids:
            taken[i] = planned
        destinations[planned.destination] = planned
        plan.files.append(planned)
    plan.files.sort(key=lambda p: str(p.destination))


def _plan_movie(
    plan: ImportPlan, paths: list[Path], subject: Any, targets: Sequence[Any], names: Mapping[str, str],
    root_folder: str | Path | None, release_title: str | None, release_info: dict[str, Any] | None,
    quality: str | None, edition: str | None, check_upgrade: bool,
) -> None:
    if not paths:
        return
    sized = sorted(paths, key=lambda p: (_size(p), str(p)), reverse=True)
    main, others = sized[0], sized[1:]
    for other in others:
        plan.skipped.append(SkippedFile(other, f"not the main movie file ({main.name} is larger)"))
    movie_targets = [t for t in targets if _get(t, "kind", "movie") == "movie"] or list(targets)
    if not movie_targets:
        plan.rejected.append(RejectedFile(main, "no wanted movie to import it as"))
        return
    target = movie_targets[0]
    if _get(target, "monitored", True) is False:
        plan.rejected.append(RejectedFile(main, f"{_get(subject, 'title')} is not monitored"))
        return
    info = parse_name(main.name)
    facts = _release_facts(info, release_info, quality)
    if check_upgrade:
        refusal = _not_an_upgrade([target], facts, main)
        if refusal:
            plan.rejected.append(RejectedFile(main, refusal))
            return
    values = {
        "movie_title": _get(subject, "title"), "year": _get(subject, "year"), "quality": facts.quality,
        "proper": facts.proper, "repack": facts.repack, "version": facts.version, "release_group": facts.group,
        "edition": edition or _edition(main.name) or (_edition(release_title) if release_title else None),
        "original_title": release_title, "original_filename": main.stem,
    }
    try:
        folder = _folder_for(subject, root_folder, names["movie_folder"], values)
        ext = main.suffix
        destination = folder / (render(names["movie"], values, reserve=len(ext.encode())) + ext)
    except ValueError as exc:
        plan.rejected.append(RejectedFile(main, f"cannot name it: {exc}"))
        return
    plan.files.append(PlannedFile(
        source=main, destination=destination, target_ids=[int(_get(target, "id"))], quality=facts.quality,
        size=_size(main), label="movie", proper=facts.proper or facts.repack, release_group=facts.group,
        replaces=_replaced_paths([target], destination, main),
    ))


def _edition(name: str) -> str | None:
    """The movie edition the name states (``Director's Cut``, ``Extended`` …), from parse_name."""
    return parse_name(name).get("edition")


def _plan_flat(
    plan: ImportPlan, paths: list[Path], subject: Any, targets: Sequence[Any], root_folder: str | Path | None,
    release_info: dict[str, Any] | None, quality: str | None,
) -> None:
    """Albums and books: all files under the title's folder, keeping their names and sub-folders."""
    if not paths:
        return
    wanted = [t for t in targets if _get(t, "monitored", True) is not False]
    if not wanted:
        for path in paths:
            plan.rejected.append(RejectedFile(path, f"{_get(subject, 'title')} is not wanted"))
        return
    title, year = _get(subject, "title"), _get(subject, "year")
    folder_name = safe_component(f"{title} ({year})" if year else str(title))
    own, root = _get(subject, "path"), root_folder if root_folder is not None else _get(subject, "root_folder")
    if own and Path(own).is_absolute():
        folder = Path(own)
    elif root is None:
        for path in paths:
            plan.rejected.append(RejectedFile(path, f"no root folder for {title!r}"))
        return
    else:
        folder = Path(root) / (own or folder_name)
    common = Path(os.path.commonpath([str(p.parent) for p in paths]))
    target_ids = [int(_get(t, "id")) for t in wanted]
    q = quality or (release_info or {}).get("quality") or "Unknown"
    for path in sorted(paths):
        rel = path.relative_to(common)
        destination = folder.joinpath(*(safe_component(part) or "_" for part in rel.parts))
        plan.files.append(PlannedFile(
            source=path, destination=destination, target_ids=target_ids, quality=q, size=_size(path),
            label=str(_get(wanted[0], "kind", "file")),
        ))


# --- execution ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportResult:
    """What :func:`execute` did.

    ``imported``: ``[{target_ids, source, destination, quality, size (bytes), method, sha256,
    replaced (paths of the old files this one replaced), backups (where kept old files are, with
    keep_replaced), label}]``. ``failed``: ``[{source, reason, code}]`` — files that could not be
    placed (``code`` = :attr:`ImportFailed.reason`). ``rejected``/``skipped`` are carried over
    from the plan.
    """

    imported: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """For the tracker and history: ``failed`` lists the files that were not placed and,
        after them, the rejected media files (``code`` ``"rejected"``), so that "nothing
        imported (…)" names every reason."""
        return {
            "imported": list(self.imported),
            "failed": list(self.failed) + [{**r, "code": "rejected"} for r in self.rejected],
            "skipped": list(self.skipped),
        }


async def execute(
    plan: ImportPlan, mode: str = "auto", minimum_free_space: float = 0, *, keep_replaced: bool = False
) -> ImportResult:
    """Place every file of ``plan`` (one after the other: they usually share a disk) with
    :func:`.transfer.place` in ``mode`` (``auto``/``copy``/``move``) keeping
    ``minimum_free_space`` MB free. A file that fails is reported in ``failed`` and the others go
    on. The old library files an import upgrades (:attr:`PlannedFile.replaces`) are retired
    after all files were placed, and only those whose every replacement was placed (removed, or
    kept under a hidden backup name with ``keep_replaced``).
    """
    if mode not in ("auto", "copy", "move"):
        raise ValueError(f"unknown import mode {mode!r}; expected auto, copy or move")
    result = ImportResult(
        rejected=[r.as_dict() for r in plan.rejected], skipped=[s.as_dict() for s in plan.skipped]
    )
    done: dict[Path, dict[str, Any]] = {}
    for planned in plan.files:
        try:
            placed = await place(planned.source, planned.destination, mode,
                                 minimum_free_space=minimum_free_space, keep_replaced=keep_replaced)
        except ImportFailed as exc:
            result.failed.append({"source": str(planned.source), "reason": str(exc), "code": exc.reason,
                                  "target_ids": list(planned.target_ids)})
            continue
        except OSError as exc:
            result.failed.append({"source": str(planned.source), "reason": str(exc), "code": "io_error",
                                  "target_ids": list(planned.target_ids)})
            continue
        entry = {
            "target_ids": list(planned.target_ids), "source": str(planned.source),
            "destination": str(planned.destination), "quality": planned.quality, "size": placed.size,
            "method": placed.method, "sha256": placed.sha256, "label": planned.label,
            "replaced": [str(placed.replaced)] if placed.replaced else [],
            "backups": [str(placed.backup)] if placed.backup else [],
            "warnings": list(placed.warnings) + list(planned.notes),
        }
        result.imported.append(entry)
        done[planned.source] = entry

    # Old files at other paths: retire those whose replacements are all in place.
    owners: dict[Path, list[PlannedFile]] = {}
    for planned in plan.files:
        for old in planned.replaces:
            owners.setdefault(old, []).append(planned)
    destinations = {str(p.destination) for p in plan.files}
    for old, planners in owners.items():
        if str(old) in destinations or not all(p.source in done for p in planners):
            continue
        outcome = await remove_replaced([old], keep=keep_replaced)
        if str(old) not in outcome:
            continue
        entry = done[planners[0].source]
        backup = outcome[str(old)]
        if backup == str(old):
            entry["warnings"].append(f"could not remove the replaced file {old}")
            continue
        entry["replaced"].append(str(old))
        if backup:
            entry["backups"].append(backup)
    return result


async def import_download(
    content_path: str | Path,
    subject: Any,
    targets: Sequence[Any],
    *,
    naming: Mapping[str, str] | None = None,
    root_folder: str | Path | None = None,
    release_title: str | None = None,
    quality: str | None = None,
    mode: str = "auto",
    minimum_free_space: float = 0,
    keep_replaced: bool = False,
    client_name: str | None = None,
    remote_path_mappings: Iterable[Any] = (),
) -> ImportResult:
    """Everything for one completed download: map the client's ``content_path``
    (:func:`map_remote_path`), find the media files, plan and execute. Raises
    :class:`ImportFailed` only when the download's path does not exist; every per-file problem
    is in the result."""
    local = map_remote_path(client_name, str(content_path), remote_path_mappings)
    media_type = str(_get(subject, "media_type", "series"))
    found = await asyncio.to_thread(find_media_files, local, media_type, runtime=_get(subject, "runtime"))
    plan = await plan_import_async(found, subject, targets, naming, root_folder, release_title, quality)
    return await execute(plan, mode, minimum_free_space, keep_replaced=keep_replaced)

"""Finishing a recording: its parts become one file in the TV library, with the guide's metadata.

:func:`finish` runs these steps; each writes a new file under a temporary name, verifies it, and
only then lets it replace what it was made from — so at every moment the best verified copy of
the recording exists, and a failing step leaves the one before it in place:

1. **Join** the parts (``part-001.ts`` …, one per connection) into the container
   (``dvr -> container``): ``mkv`` — ffmpeg stream copy of every stream (data streams aside;
   Matroska cannot hold them) from the ``concat:`` protocol (the parts' bytes one after the
   other; ffmpeg smooths the clock jumps between them) with the guide's metadata as tags;
   ``ts`` — one part is kept as received (renamed), several are remuxed the same way into
   MPEG-TS so the file has one continuous clock. Verified: ffprobe reads it, it has the
   streams, and it lasts the parts' total (each part's own duration; its wall-clock span when
   the probed one is absurd, more than twice the span + 10 minutes: a clock wrap) within 2 s + 1 % + 10 s per join (ffmpeg keeps clock jumps
   under 10 s as gaps: ``-dts_delta_threshold``). When the remux fails, the parts are
   concatenated byte for byte into MPEG-TS instead (checked by size). Only then are the parts
   removed.
2. **Commercials** (``dvr -> commercials``): :func:`.commercials.detect_report` with ``detect``;
   ``action`` ``chapters`` (Matroska chapters "Programme"/"Commercial"; a ``ts`` file cannot
   hold chapters, so it gets an EDL instead, with a note), ``edl`` (a ``.edl`` sidecar next to
   the final file, Kodi's commercial-break action 3), ``cut`` (a verified stream copy without
   them replaces the file; with ``keep_original`` the uncut file is kept next to the final one
   as ``<name>.original.<ext>``), ``none`` (only remembered in ``commercials``).
3. **Transcode** (``dvr -> post_process -> transcode_profile``): through the hub's transcode
   engine (``hub.transcode``: the profile resolved on ``post_process -> transcoder`` or the
   first transcoder), verified with the engine's own checks
   (:func:`omnimedia.core.transcode.verify.verify`, ``transcode -> verify`` settings); kept only
   when it verifies and is smaller.
4. **Import** into the TV library (``dvr -> library``: a library name, path or id; default the
   first library of type ``tv``; with none the file goes to ``recordings_path``) as
   ``<Show>/Season NN/<Show> - SNNEMM - <Subtitle>.<ext>``; without season and episode numbers
   ``<Show>/<Show> - YYYY-MM-DD - <Subtitle>.<ext>`` (the original air date, else the day it was
   broadcast, in the DVR's time zone; no season folder, which would make the library's name
   parser read "Season 2024" as a title) and with a season but no episode
   ``<Show>/Season NN/<Show> - YYYY-MM-DD - <Subtitle>.<ext>``. Names are made safe with the
   acquisition engine's :func:`~omnimedia.core.acquisition.naming_templates.safe_component`
   (``:`` → ``-``, ``/`` → ``+`` …); an existing file is never overwritten: `` (2)``,
   `` (3)`` … is added. The move is the acquisition engine's
   :func:`~omnimedia.core.acquisition.transfer.place` (``move``: a rename on the same file
   system, else a verified copy and then the source removed), followed by
   ``hub.library.refresh_paths`` so the item exists at once, and
   ``hub.library.set_metadata`` with the guide's title, season, episode, episode title, air date
   and ``tags`` (description, channel, categories, recorded_at).

Guide metadata survives a re-probe of the file because it is in the file too: the name carries
show, season, episode, episode title and (date-named shows) the air date, which the library's
name parser reads back; a Matroska file carries ``SHOW``, ``SEASON_NUMBER``, ``EPISODE_SORT``,
``EPISODE_ID``, ``DESCRIPTION``, ``DATE``, ``NETWORK`` and ``GENRE`` tags, which the library keeps
in the item's ``tags``. What the name cannot say (the air date of an SxxEyy episode, a title the
parser misreads) is lost by a re-probe; :func:`restore_guide_metadata` puts it back.

Progress goes to ``on_update`` (``{"state": "processing", "message": …}``, and ``path``/``size``
whenever the best copy moves, ``commercials`` once known), so a hub restarted in the middle calls
:func:`finish` again and it goes on from ``recording["path"]`` when the parts are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..acquisition.naming_templates import safe_component
from ..acquisition.transfer import ImportFailed, place
from ..ffmpeg import FFMPEG, FfmpegCancelled, FfmpegError, FfmpegNotFound, Progress, run
from ..library.probe import FFPROBE, error_text, probe
from . import commercials as cm
from .config import dvr_timezone

_LOGGER = logging.getLogger(__name__)

PROBE_TIMEOUT = 60.0
#: Seconds between progress messages while transcoding.
PROGRESS_INTERVAL = 5.0
#: Extra seconds allowed per join between parts (ffmpeg's -dts_delta_threshold: smaller clock
#: jumps are kept as gaps, larger ones are closed).
JOIN_SLACK = 10.0
#: A name component is cut to this many bytes of UTF-8 (file systems allow 255 per name).
MAX_NAME_BYTES = 200
#: Containers and their ffmpeg muxers.
MUXER = {"mkv": "matroska", "ts": "mpegts"}

OnUpdate = Callable[[dict[str, Any]], Awaitable[Any]]


class StepFailed(Exception):
    """A step could not be done; the message is for the recording's ``message``."""


async def finish(hub: Any, settings: dict[str, Any], recording: dict[str, Any], *, on_update: OnUpdate) -> dict[str, Any]:
    """Turn ``recording`` (a ``dvr_recordings`` row as a dict) into one verified file, handle
    its commercials, optionally compress it, and import it (see the module docstring).

    ``settings``: the validated ``dvr:`` section. ``on_update``: awaited with fields of the
    recording to store (``state``, ``message``, ``path``, ``size``, ``commercials``).

    Returns ``{"path": str | None, "item_id": int | None, "commercials": [[start, end], …],
    "size": bytes, "state": "done" | "partial" | "failed", "message": str | None}``:
    ``partial`` when a step failed and the file was kept as it was before that step (the message
    says which and why), ``failed`` when no playable file could be made (the parts are kept).
    Does not raise for a failing step; cancellation propagates (temporary files are removed
    when the next run starts)."""
    return await _Finisher(hub, settings, recording, on_update).run()


# -- naming ------------------------------------------------------------------------------------
def _cut_utf8(text: str, limit: int) -> str:
    raw = text.encode()
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", errors="ignore").rstrip(" .-")


def broadcast_date(recording: dict[str, Any], tz: Any) -> str | None:
    """The local day (``YYYY-MM-DD``, DVR time zone) the recording's airing started."""
    start = recording.get("start") or recording.get("padded_start")
    if start is None:
        return None
    return datetime.fromtimestamp(float(start), UTC).astimezone(tz).date().isoformat()


def guide_fields(recording: dict[str, Any], tz: Any) -> dict[str, Any]:
    """The library item's metadata from the recording's guide data: ``type`` episode,
    ``title`` (the show), ``season``, ``episode``, ``episode_title`` (subtitle), ``air_date``
    (original air date, else the broadcast day), ``tags`` (description, channel, categories,
    recorded_at as ISO 8601 UTC)."""
    tags: dict[str, Any] = {"channel": recording.get("channel")}
    if recording.get("description"):
        tags["description"] = recording["description"]
    if recording.get("categories"):
        tags["categories"] = ", ".join(recording["categories"])
    if recording.get("start"):
        tags["recorded_at"] = datetime.fromtimestamp(float(recording["start"]), UTC).isoformat(timespec="seconds")
    return {
        "type": "episode",
        "title": recording.get("title") or f"Channel {recording.get('channel')}",
        "season": recording.get("season"),
        "episode": recording.get("episode"),
        "episode_title": recording.get("subtitle"),
        "air_date": recording.get("original_air_date") or broadcast_date(recording, tz),
        "tags": {k: v for k, v in tags.items() if v is not None},
    }


def relative_name(recording: dict[str, Any], ext: str, tz: Any) -> Path:
    """``<Show>/Season NN/<Show> - SNNEMM - <Subtitle>.<ext>`` and its date-named forms (see the
    module docstring); every component file-system safe, names at most :data:`MAX_NAME_BYTES`
    bytes (the subtitle is shortened first)."""
    show = safe_component(recording.get("title") or "") or f"Channel {safe_component(str(recording.get('channel') or ''))}"
    show = _cut_utf8(show, MAX_NAME_BYTES // 2) or "Recording"
    season, episode = recording.get("season"), recording.get("episode")
    if season is not None and episode is not None:
        tag = f"S{int(season):02d}E{int(episode):02d}"
    else:
        tag = recording.get("original_air_date") or broadcast_date(recording, tz) or time.strftime("%Y-%m-%d")
    stem = f"{show} - {tag}"
    subtitle = safe_component(recording.get("subtitle") or "")
    if subtitle:
        room = MAX_NAME_BYTES - len(stem.encode()) - len(ext.encode()) - 8
        subtitle = _cut_utf8(subtitle, max(room, 0))
        if subtitle:
            stem += f" - {subtitle}"
    folder = Path(show)
    if season is not None:
        folder = folder / f"Season {int(season):02d}"
    return folder / f"{stem}.{ext}"


def free_name(path: Path) -> Path:
    """``path``, or ``<stem> (2)<suffix>``, ``(3)`` … — the first that does not exist."""
    if not os.path.lexists(path):
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        if not os.path.lexists(candidate):
            return candidate
        n += 1


def container_tags(recording: dict[str, Any], tz: Any) -> dict[str, str]:
    """Matroska tags for ffmpeg's ``-metadata``: ``title`` (the episode title, else the show),
    ``show``, ``season_number``, ``episode_sort``, ``episode_id`` (``S01E02``), ``description``,
    ``synopsis``, ``date`` (air date), ``network`` (the channel), ``genre``."""
    fields = guide_fields(recording, tz)
    tags = {
        "title": recording.get("subtitle") or fields["title"],
        "show": fields["title"],
        "date": fields["air_date"],
        "network": recording.get("channel"),
        "description": recording.get("description"),
        "synopsis": recording.get("description"),
        "genre": fields["tags"].get("categories"),
    }
    if recording.get("season") is not None:
        tags["season_number"] = str(recording["season"])
    if recording.get("episode") is not None:
        tags["episode_sort"] = str(recording["episode"])
        if recording.get("season") is not None:
            tags["episode_id"] = f"S{int(recording['season']):02d}E{int(recording['episode']):02d}"
    return {k: str(v) for k, v in tags.items() if v not in (None, "")}


async def restore_guide_metadata(hub: Any, recording: dict[str, Any], tz: Any) -> bool:
    """Put the guide's metadata back on the recording's library item (``item_id``) when a
    re-probe replaced it with what the file name says. Returns True when something was set.
    Raises nothing for a missing item (returns False)."""
    item_id = recording.get("item_id")
    if not item_id:
        return False
    item = await hub.library.get_item(item_id)
    if item is None:
        return False
    wanted = guide_fields(recording, tz)
    differs = {k: v for k, v in wanted.items() if k != "tags" and v is not None and item.get(k) != v}
    tags = item.get("tags") or {}
    if any(tags.get(k) != v for k, v in wanted["tags"].items()):
        differs["tags"] = wanted["tags"]
    if not differs:
        return False
    await hub.library.set_metadata(item_id, differs)
    return True


# -- the steps ---------------------------------------------------------------------------------
def _probe_duration(info: dict[str, Any]) -> float | None:
    return cm._duration(info)


def _counts(info: dict[str, Any]) -> dict[str, int]:
    out = {"video": 0, "audio": 0}
    for s in info.get("streams") or []:
        kind = s.get("codec_type")
        if kind in out and not (s.get("disposition") or {}).get("attached_pic"):
            out[kind] += 1
    return out


def _remove(path: str | os.PathLike[str] | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(path)


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _concat_bytes(parts: list[str], dest: str) -> int:
    """(blocking) ``parts`` one after the other into ``dest``; fsynced; returns bytes written."""
    total = 0
    with open(dest, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                while chunk := src.read(1 << 22):
                    out.write(chunk)
                    total += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return total


class _Finisher:
    def __init__(self, hub: Any, settings: dict[str, Any], recording: dict[str, Any], on_update: OnUpdate) -> None:
        self.hub = hub
        self.settings = settings
        self.rec = dict(recording)
        self.on_update = on_update
        dvr = getattr(hub, "dvr", None)
        self.tz = getattr(dvr, "tz", None) or dvr_timezone(settings)
        self.recordings_path = self._recordings_path()
        self.notes: list[str] = []
        self.degraded = False
        self.blocks: list[tuple[float, float]] = [tuple(b) for b in (recording.get("commercials") or [])]  # type: ignore[misc]
        self.edl_wanted = False
        self.original: str | None = None
        self.item_id: int | None = recording.get("item_id")
        self.folder = self._work_folder()

    # -- plumbing ---------------------------------------------------------------------------
    def _recordings_path(self) -> Path:
        dvr = getattr(self.hub, "dvr", None)
        if getattr(dvr, "recordings_path", None) is not None:
            return Path(dvr.recordings_path)
        path = Path(self.settings.get("recordings_path") or "recordings").expanduser()
        if not path.is_absolute():
            path = Path(self.hub.config.config_dir) / path
        return path

    def _work_folder(self) -> Path:
        for part in self.rec.get("parts") or []:
            if isinstance(part, dict) and part.get("path"):
                return Path(part["path"]).parent
        return self.recordings_path / ".recording" / str(self.rec.get("id", "unknown"))

    def note(self, text: str, *, degrade: bool = True) -> None:
        _LOGGER.info("recording %s (%r): %s", self.rec.get("id"), self.rec.get("title"), text)
        self.notes.append(text)
        if degrade:
            self.degraded = True

    async def update(self, **fields: Any) -> None:
        try:
            await self.on_update(fields)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the file work matters more than a status line
            _LOGGER.exception("recording %s: storing progress failed", self.rec.get("id"))

    async def step(self, message: str) -> None:
        await self.update(state="processing", message=message)

    def result(self, path: str | None, state: str | None = None) -> dict[str, Any]:
        size = 0
        if path:
            with contextlib.suppress(OSError):
                size = os.stat(path).st_size
        if state is None:
            state = "partial" if self.degraded else "done"
        return {
            "path": path, "item_id": self.item_id, "commercials": [list(b) for b in self.blocks], "size": size,
            "state": state, "message": "; ".join(self.notes) or None,
        }

    def temp(self, step: str, ext: str) -> str:
        return str(self.folder / f".{step}.partial.{ext}")

    def _clean_temps(self) -> None:
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder):
                if entry.name.startswith(".") and ".partial" in entry.name:
                    _remove(entry.path)

    # -- run --------------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        await asyncio.to_thread(self._clean_temps)
        current = self.rec.get("path")
        if not (current and os.path.isfile(current)):
            current = await asyncio.to_thread(self._verified_output)
        placed = False
        if current and os.path.isfile(current):
            placed = Path(current).parent != self.folder
            await self._remove_parts()
        else:
            try:
                current = await self.join()
            except StepFailed as err:
                self.note(str(err))
                return self.result(None, "failed")
        if not placed:
            current = await self.commercials(current)
            current = await self.transcode(current)
            current, placed = await self.place(current)
        if placed:
            await self.finish_placed(current)
        await asyncio.to_thread(self._tidy_folder)
        return self.result(current)

    def _verified_output(self) -> str | None:
        """(blocking) A ``recording.<ext>`` in the work folder: files get that name only once
        verified, so one there is what the last run made (it stopped before saying so). An uncut
        ``recording.original.<ext>`` is remembered to be kept."""
        found = None
        with contextlib.suppress(OSError):
            for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
                if not entry.is_file() or not entry.name.startswith("recording."):
                    continue
                if entry.name.startswith("recording.original."):
                    self.original = entry.path
                elif found is None:
                    found = entry.path
        return found

    def _tidy_folder(self) -> None:
        self._clean_temps()
        with contextlib.suppress(OSError):
            self.folder.rmdir()  # only when empty: anything left there is kept

    # -- 1. join ----------------------------------------------------------------------------
    async def _remove_parts(self) -> None:
        for part in self.rec.get("parts") or []:
            path = part.get("path") if isinstance(part, dict) else None
            if path and Path(path).parent == self.folder and Path(path).name.startswith("part-"):
                await asyncio.to_thread(_remove, path)

    async def join(self) -> str:
        container = self.settings.get("container") or "mkv"
        listed = [p for p in self.rec.get("parts") or [] if isinstance(p, dict) and p.get("path")]
        present, missing = [], []
        for part in listed:
            try:
                size = os.stat(part["path"]).st_size
            except OSError:
                missing.append(part["path"])
                continue
            if size > 0:
                present.append(part)
        if missing:
            self.note(f"{len(missing)} of {len(listed)} recorded parts are missing ({', '.join(map(os.path.basename, missing))})")
        if not present:
            raise StepFailed(f"nothing was recorded: no part with data in {self.folder}")
        await self.step(f"joining {len(present)} part{'s' if len(present) != 1 else ''} into {container}")
        expected, readable, errors, info0 = 0.0, 0, [], None
        for part in present:
            try:
                info = await probe(part["path"], PROBE_TIMEOUT)
            except Exception as err:  # noqa: BLE001 - an unreadable part is reported, not fatal
                errors.append(f"{os.path.basename(part['path'])}: {error_text(err, part['path'])}")
                continue
            readable += 1
            info0 = info0 or info
            duration = _probe_duration(info) or 0.0
            span = None
            if part.get("start") and part.get("end"):
                span = float(part["end"]) - float(part["start"])
            if span is not None and span > 0 and (duration <= 0 or duration > 2 * span + 600):
                duration = span  # a clock jump (a PTS wrap) inside the part: trust the wall clock
            expected += duration
        if not readable:
            raise StepFailed(f"none of the {len(present)} parts can be read ({'; '.join(errors[:3])}); "
                             f"they are kept in {self.folder}")
        if errors:
            self.note(f"unreadable parts kept in the join: {'; '.join(errors[:3])}")
        paths = [p["path"] for p in present]
        final = str(self.folder / f"recording.{container}")
        if container == "ts" and len(paths) == 1:
            await asyncio.to_thread(os.replace, paths[0], final)
            await self.update(path=final, size=os.stat(final).st_size)
            return final
        problem = None
        if "|" not in "".join(paths):
            try:
                await self._remux(paths, final, container, expected, info0 or {}, joins=len(paths) - 1)
                await self.update(path=final, size=os.stat(final).st_size)
                await self._remove_parts()
                return final
            except StepFailed as err:
                problem = str(err)
        # Fallback: the received bytes, one part after the other (nothing re-muxed, nothing lost).
        joined = str(self.folder / "recording.ts")
        temp = self.temp("join", "ts")
        want = sum(os.stat(p).st_size for p in paths)
        try:
            written = await asyncio.to_thread(_concat_bytes, paths, temp)
        except OSError as err:
            _remove(temp)
            raise StepFailed(f"joining the parts failed: {err.strerror or err}; the parts are kept in {self.folder}") from err
        if written != want:
            _remove(temp)
            raise StepFailed(f"joining the parts wrote {written} of {want} bytes; the parts are kept in {self.folder}")
        await asyncio.to_thread(os.replace, temp, joined)
        self.note(f"{container} could not be written ({problem or 'a part path contains |'}); kept the parts joined as MPEG-TS")
        await self.update(path=joined, size=want)
        await self._remove_parts()
        return joined

    async def _remux(self, paths: list[str], final: str, container: str, expected: float, first: dict[str, Any],
                     *, joins: int) -> None:
        """ffmpeg stream copy of ``concat:parts`` into ``final`` (via a temporary name), verified."""
        temp = self.temp("join", container)
        tags = container_tags(self.rec, self.tz) if container == "mkv" else {}
        meta = [a for k, v in tags.items() for a in ("-metadata", f"{k}={v}")]
        if container == "mkv":
            ladders = [["-map", "0", "-map", "-0:d?"], ["-map", "0:v?", "-map", "0:a?", "-map", "0:s?"],
                       ["-map", "0:v?", "-map", "0:a?"]]
        else:
            ladders = [["-map", "0"], ["-map", "0:v?", "-map", "0:a?", "-map", "0:s?"], ["-map", "0:v?", "-map", "0:a?"]]
        source = "concat:" + "|".join(paths) if len(paths) > 1 else paths[0]
        last = ""
        for maps in ladders:
            args = ["-v", "error", "-y", "-fflags", "+genpts+discardcorrupt", "-i", source, *maps, "-c", "copy",
                    "-ignore_unknown", *meta, "-f", MUXER[container], temp]
            try:
                await run(args, duration=expected or None, description=f"joining recording {self.rec.get('id')}")
            except FfmpegError as err:
                _remove(temp)
                last = err.message
                continue
            except FfmpegNotFound as err:
                raise StepFailed(str(err)) from err
            except BaseException:
                _remove(temp)
                raise
            break
        else:
            raise StepFailed(f"ffmpeg could not write the {container}: {last}")
        try:
            info = await probe(temp, PROBE_TIMEOUT)
        except Exception as err:  # noqa: BLE001
            _remove(temp)
            raise StepFailed(f"the joined {container} cannot be read: {error_text(err, temp)}") from err
        counts, want = _counts(info), _counts(first)
        measured = _probe_duration(info)
        slack = 2.0 + 0.01 * expected + JOIN_SLACK * joins
        problem = None
        if not (counts["video"] or counts["audio"]):
            problem = "it has no audio or video stream"
        elif counts["video"] < want["video"] or counts["audio"] < want["audio"]:
            problem = f"it has {counts['video']} video and {counts['audio']} audio streams, the recording {want['video']} and {want['audio']}"
        elif measured is None or abs(measured - expected) > slack:
            shown = "no" if measured is None else f"{measured:.1f} s of"
            problem = f"it has {shown} duration, the parts {expected:.1f} s (±{slack:.0f} s)"
        if problem:
            _remove(temp)
            raise StepFailed(f"the joined {container} failed verification: {problem}")
        await asyncio.to_thread(_fsync, temp)
        await asyncio.to_thread(os.replace, temp, final)

    # -- 2. commercials ---------------------------------------------------------------------
    async def commercials(self, current: str) -> str:
        conf = self.settings.get("commercials") or {}
        method = conf.get("detect", "auto")
        action = conf.get("action", "chapters")
        if method == "off":
            return current
        await self.step("detecting commercials")
        try:
            info = await probe(current, PROBE_TIMEOUT)
            duration = _probe_duration(info)
            report = await cm.detect_report(current, method=method, comskip_ini=self._ini(conf.get("comskip_ini")),
                                            duration=duration)
        except (cm.CommercialError, FfmpegError, FfmpegNotFound) as err:
            self.note(f"commercial detection failed: {err}")
            return current
        except FfmpegCancelled:
            raise asyncio.CancelledError from None
        except Exception as err:  # noqa: BLE001 - ffprobe and the like: the file stays as it is
            self.note(f"commercial detection failed: {error_text(err, current)}")
            return current
        for warning in report.warnings:
            self.note(warning, degrade=False)
        self.blocks = [tuple(b) for b in report.blocks]  # type: ignore[misc]
        await self.update(commercials=[list(b) for b in self.blocks])
        if not self.blocks or action == "none":
            return current
        is_mkv = current.endswith(".mkv")
        if action == "chapters" and not is_mkv:
            self.note("a ts file cannot hold chapters: the commercials are in an .edl file instead", degrade=False)
            action = "edl"
        if action == "edl":
            self.edl_wanted = True
            return current
        ext = current.rsplit(".", 1)[-1]
        temp = self.temp(action, ext)
        total = sum(b - a for a, b in self.blocks)
        try:
            if action == "chapters":
                await self.step(f"marking {len(self.blocks)} commercial breaks as chapters")
                await cm.mark_chapters(current, temp, self.blocks, duration or 0.0)
                await asyncio.to_thread(os.replace, temp, current)
                return current
            await self.step(f"cutting {len(self.blocks)} commercial breaks ({total:.0f} s)")
            await cm.cut(current, temp, self.blocks, duration or 0.0)
        except cm.CommercialError as err:
            _remove(temp)
            self.note(f"{err}; the recording is kept {'uncut' if action == 'cut' else 'without chapters'}")
            return current
        except FfmpegCancelled:
            _remove(temp)
            raise asyncio.CancelledError from None
        await asyncio.to_thread(_fsync, temp)
        if conf.get("keep_original"):
            original = str(self.folder / f"recording.original.{ext}")
            await asyncio.to_thread(os.replace, current, original)
            self.original = original
        await asyncio.to_thread(os.replace, temp, current)
        self.note(f"cut {len(self.blocks)} commercial break{'s' if len(self.blocks) != 1 else ''} ({total:.0f} s)",
                  degrade=False)
        self.blocks = []
        await self.update(commercials=[], size=os.stat(current).st_size)
        return current

    def _ini(self, value: str | None) -> str | None:
        if not value:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = Path(self.hub.config.config_dir) / path
        return str(path)

    # -- 3. transcode -----------------------------------------------------------------------
    async def transcode(self, current: str) -> str:
        post = self.settings.get("post_process") or {}
        profile = post.get("transcode_profile")
        if not profile:
            return current
        engine = getattr(self.hub, "transcode", None)
        if engine is None:
            self.note("no transcode engine in this hub: the recording is kept as recorded")
            return current
        try:
            name, profile_name, profile_settings = engine.resolve_profile(profile, post.get("transcoder"))
            coder = engine.transcoders[name]
        except Exception as err:  # noqa: BLE001 - NoTranscoder, UnknownProfile
            self.note(f"not transcoded: {err}; the recording is kept as recorded")
            return current
        await self.step(f"transcoding with {name} profile {profile_name}")
        temp = ""
        try:
            info = await probe(current, PROBE_TIMEOUT)
            duration = _probe_duration(info)
            ext = current.rsplit(".", 1)[-1]
            ask = getattr(coder, "output_extension", None)
            if ask is not None:
                ext = str(await ask(current, profile_settings)).lstrip(".") or ext
            temp = self.temp("transcode", ext)
            last = [0.0]

            def progress(p: Progress) -> None:
                now = time.monotonic()
                if p.percent is not None and now - last[0] >= PROGRESS_INTERVAL:
                    last[0] = now
                    asyncio.ensure_future(self.update(message=f"transcoding with {profile_name}: {p.percent:.0f}%"))

            result = await coder.transcode(current, temp, profile_settings, duration=duration, on_progress=progress) or {}
            from ..transcode.verify import verify

            await self.step(f"verifying the {profile_name} transcode")
            report = await verify(
                info, temp, source_size=os.stat(current).st_size,
                video_codec=(str(profile_settings["video_codec"]).lower() if profile_settings.get("video_codec") else None),
                audio_codec=profile_settings.get("audio") or profile_settings.get("audio_codec"),
                options=engine.settings["verify"], dropped=result.get("dropped") or (),
                ffmpeg=getattr(coder, "binary", None) or FFMPEG, ffprobe=getattr(coder, "ffprobe", None) or FFPROBE,
            )
        except (asyncio.CancelledError, FfmpegCancelled):
            _remove(temp)
            raise asyncio.CancelledError from None
        except Exception as err:  # noqa: BLE001 - a plugin's or ffmpeg's error: keep what we have
            _remove(temp)
            reason = getattr(err, "message", None) or str(err) or type(err).__name__
            self.note(f"transcoding with {profile_name} failed ({reason}); the recording is kept as recorded")
            return current
        before = os.stat(current).st_size
        if report["size"] >= before:
            _remove(temp)
            self.note(f"the {profile_name} transcode was not smaller ({report['size']} ≥ {before} bytes); "
                      "kept the recording as recorded", degrade=False)
            return current
        final = str(self.folder / f"recording.{temp.rsplit('.', 1)[-1]}")
        await asyncio.to_thread(_fsync, temp)
        await asyncio.to_thread(os.replace, temp, final)
        if final != current:
            await self.update(path=final, size=report["size"])
            _remove(current)
        self.note(f"transcoded with {profile_name}: {before} → {report['size']} bytes", degrade=False)
        return final

    # -- 4. import --------------------------------------------------------------------------
    async def _library(self) -> tuple[dict[str, Any] | None, str | None]:
        """(the library to import into or None, a note when the configured one is missing)."""
        library = getattr(self.hub, "library", None)
        if library is None:
            return None, None
        libs = await library.libraries()
        wanted = self.settings.get("library")
        if wanted not in (None, ""):
            key = str(wanted)
            for lib in libs:
                if key == str(lib["id"]) or key.lower() == str(lib["name"]).lower() or (
                    os.path.normpath(os.path.expanduser(key)) == lib["path"]
                ):
                    return lib, None
            known = ", ".join(f"{lib['name']} ({lib['path']})" for lib in libs) or "none"
            return None, f"no library {wanted!r} (libraries: {known}); the recording stays in {self.recordings_path}"
        return next((lib for lib in libs if lib.get("type") == "tv"), None), None

    async def place(self, current: str) -> tuple[str, bool]:
        lib, problem = await self._library()
        if problem:
            self.note(problem)
        root = Path(lib["path"]) if lib else self.recordings_path
        ext = current.rsplit(".", 1)[-1]
        dest = free_name(root / relative_name(self.rec, ext, self.tz))
        await self.step(f"importing into {lib['name'] if lib else root}")
        try:
            placed = await place(current, dest, "move")
        except ImportFailed as err:
            self.note(f"could not move the recording to {dest}: {err}; it stays at {current}")
            return current, False
        final = str(placed.destination)
        await self.update(path=final, size=placed.size)
        if self.original:
            original = free_name(Path(final).with_name(f"{Path(final).stem}.original{Path(final).suffix}"))
            try:
                await place(self.original, original, "move")
            except ImportFailed as err:
                self.note(f"the uncut original stays at {self.original}: {err}")
        return final, True

    def _edl_action(self, path: str) -> bool:
        conf = self.settings.get("commercials") or {}
        action = conf.get("action", "chapters")
        return conf.get("detect", "auto") != "off" and (
            action == "edl" or (action == "chapters" and not path.endswith(".mkv"))
        )

    async def finish_placed(self, final: str) -> None:
        if self.blocks and (self.edl_wanted or self._edl_action(final)):
            try:
                await asyncio.to_thread(cm.write_edl, Path(final).with_suffix(".edl"), self.blocks)
            except OSError as err:
                self.note(f"the .edl file could not be written next to {final}: {err.strerror or err}")
        library = getattr(self.hub, "library", None)
        if library is None or library.library_for(final) is None:
            return
        try:
            await library.refresh_paths([final])
            lib = library.library_for(final)
            index = await library.store.index(lib["id"])
            row = index.get(os.path.normpath(final))
            if row is None:
                self.note(f"the library has no item for {final} after a refresh")
                return
            self.item_id = row.id
            await library.set_metadata(row.id, guide_fields(self.rec, self.tz))
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - the file is in place; only the metadata is missing
            _LOGGER.exception("recording %s: library update failed", self.rec.get("id"))
            self.note(f"the library item could not be updated: {err}")

"""PlaybackManager (``hub.playback``): device profiles, the plan for playing an item on a
device, streaming sessions and their ffmpeg processes, subtitles and resume positions.

:meth:`PlaybackManager.prepare` is the one entry point for clients and renderers: it looks the
item up, probes it, decides (:func:`~.decision.decide`) and returns a
:class:`~.types.PlaybackPlan` — the file itself for direct play (``/api/stream/<id>``, no
process), else a new session's URL: progressive (``/api/playback/sessions/<id>/stream.mp4``,
:mod:`.progressive`) or HLS (``…/master.m3u8``, :mod:`.hls`), with a WebVTT (or SubRip) sidecar
URL when the decision delivers the subtitle that way.

Sessions are kept by :class:`~.sessions.SessionRegistry` under
``<playback.transcode_dir>/sessions``; subtitle conversions and keyframe indexes are cached
beside them (``subtitles/``, ``keyframes/``). Positions are passed to
:class:`~.positions.PositionStore` (``hub.playback.positions``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ffmpeg as ffmpeg_python

from ..const import EVENT_HUB_STOP
from ..library.probe import ProbeTimeout, error_text, probe
from .command import TS_AUDIO_CODECS, TS_VIDEO_CODECS, NotStreamable, stream_plan
from .errors import NotPlayable, PlaybackError
from .hls import EXACT_SEEK_FORMATS, PLAYLIST_MIME, HlsSession, KeyframeCache
from .progressive import ProgressiveSession
from .sessions import ItemNotPlayable, Session, SessionRegistry, StreamFailed
from .subtitles import SubtitleError, SubtitleStore, shift_subtitles
from .types import Decision, DeviceProfile, PlaybackPlan

if TYPE_CHECKING:
    from ..hub import Hub

_LOGGER = logging.getLogger(__name__)


class UnknownProfile(PlaybackError, KeyError):
    """No device profile has this name."""

    status = 400

    def __str__(self) -> str:
        return self.args[0]


class PlaybackManager:
    """``hub.playback``. ``profiles`` (``{name: DeviceProfile}``, loaded at start),
    ``sessions`` (:class:`~.sessions.SessionRegistry`), ``positions``
    (:class:`~.positions.PositionStore`), ``transcode_dir``."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.config: dict[str, Any] = dict(hub.config.playback or {})
        folder = self.config.get("transcode_dir")
        if folder:
            path = Path(os.path.expanduser(str(folder)))
            self.transcode_dir = path if path.is_absolute() else hub.config.config_dir / path
        else:
            self.transcode_dir = hub.config.config_dir / ".transcodes"
        self.profiles: dict[str, DeviceProfile] = {}
        self.sessions = SessionRegistry(
            self.transcode_dir / "sessions",
            max_sessions=int(self.config.get("max_transcodes", 2)),
            idle_timeout=float(self.config.get("session_idle_timeout", 60.0)),
            fire=lambda event_type, data: hub.bus.fire(event_type, data),
        )
        self.subtitles = SubtitleStore(self.transcode_dir / "subtitles")
        self.keyframes = KeyframeCache(self.transcode_dir / "keyframes")
        self.positions: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unlisten: Any = None
        self._early_stop: asyncio.Future[Any] | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load device profiles; sweep leftovers of sessions from a previous run."""
        from .positions import PositionStore
        from .profiles import load_profiles

        self.profiles = load_profiles(self.config)
        self.positions = PositionStore(self.hub)
        removed = await asyncio.to_thread(self.sessions.sweep)
        if removed:
            _LOGGER.info("removed %d session folder(s) left by an earlier run in %s", removed, self.sessions.folder)
        self.sessions.start()
        # End the streams as soon as the hub starts stopping: the web server, stopped before this
        # manager, would otherwise wait for responses that stream until the end of the item.
        self._unlisten = self.hub.bus.listen(EVENT_HUB_STOP, self._hub_stopping)

    def _hub_stopping(self, _event: Any) -> None:
        if self._early_stop is None:
            self._early_stop = asyncio.ensure_future(self.sessions.stop())

    async def stop(self) -> None:
        """End every session and its ffmpeg processes."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._early_stop is not None:
            await asyncio.gather(self._early_stop, return_exceptions=True)
        await self.sessions.stop()
        for task in list(self._tasks):  # subtitle conversions started for sessions
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- planning -------------------------------------------------------------------------------
    def profile(self, name: str | None) -> DeviceProfile:
        """The device profile ``name`` (default: ``playback.default_profile``). Raises
        :class:`UnknownProfile`."""
        wanted = name or self.config.get("default_profile") or "desktop_browser"
        try:
            return self.profiles[wanted]
        except KeyError:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise UnknownProfile(f"no device profile named {wanted!r} (known: {known})") from None

    async def item_source(self, item_id: int) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """``(item, real path, ffprobe JSON)`` of a playable item. Raises
        :class:`~.sessions.ItemNotPlayable` (404 no item / no file, 403 outside the libraries,
        422 corrupt or unreadable)."""
        from ..http.stream import library_roots, resolve_inside

        item = await self.hub.library.get_item(item_id)
        if item is None:
            raise ItemNotPlayable(f"no media item with id {item_id}", 404)
        roots = library_roots(self.hub.config.config_dir, self.hub.config.libraries)
        real = await asyncio.to_thread(resolve_inside, item["path"], roots)
        if real is None:
            raise ItemNotPlayable(f"media item {item_id} is not inside a configured library", 403)
        if not await asyncio.to_thread(os.path.isfile, real):
            raise ItemNotPlayable(f"the file of media item {item_id} is missing", 404)
        try:
            info = await probe(str(real))
        except (ffmpeg_python.Error, ProbeTimeout, ValueError) as err:
            raise ItemNotPlayable(f"media item {item_id} cannot be played: {error_text(err, str(real))}") from err
        except FileNotFoundError as err:
            raise StreamFailed("ffprobe is not installed (install ffmpeg)") from err
        return item, str(real), info

    async def prepare(
        self,
        item_id: int,
        *,
        profile: str | None = None,
        start: float = 0.0,
        audio_stream: int | None = None,
        subtitle_stream: int | None = None,
        client: str = "",
        max_bitrate: int | None = None,
    ) -> PlaybackPlan:
        """How to play ``item_id`` on the device ``profile`` from ``start`` seconds.

        Direct play needs no process: the plan's URL is ``/api/stream/<id>``. Otherwise a
        session is created (ffmpeg starts at once for HLS) and the plan carries its URL;
        ``client`` (a device name, a browser tab id) replaces that client's earlier session.
        ``plan.start`` is where the stream's own time 0 lies in the item: ``start`` for a
        progressive stream, 0 for direct play and HLS (whose playlist covers the whole item — the
        player seeks to ``start``).

        Raises :class:`UnknownProfile` (400), :class:`~.sessions.ItemNotPlayable` (404/403/422),
        :class:`~.sessions.SessionLimitReached` (503), :class:`~.sessions.StreamFailed`."""
        from .decision import decide

        device = self.profile(profile)
        item, path, info = await self.item_source(item_id)
        try:
            decision = decide(info, device, audio_stream=audio_stream, subtitle_stream=subtitle_stream,
                              max_bitrate=max_bitrate)
        except NotPlayable as err:
            raise ItemNotPlayable(f"media item {item_id} cannot be played: {err}") from err
        return await self.plan(item, path, info, decision, profile=device, start=start, client=client)

    async def plan(
        self,
        item: dict[str, Any],
        path: str,
        info: dict[str, Any],
        decision: Decision,
        *,
        profile: DeviceProfile | None = None,
        start: float = 0.0,
        client: str = "",
    ) -> PlaybackPlan:
        """The plan for a decision already made (by :meth:`prepare`, or by a caller that decided
        itself): see :meth:`prepare` for the result and errors."""
        from ..http.stream import media_type_for

        duration = _duration(info, item)
        start = max(0.0, min(float(start or 0.0), duration or float("inf")))
        if decision.method == "direct_play":
            sub_url = None
            if decision.subtitles == "webvtt" and decision.subtitle_stream is not None:
                ext = self._sidecar_ext(profile)
                sub_url = f"/api/items/{item['id']}/subtitles/{decision.subtitle_stream}.{ext}"
            return PlaybackPlan(url=f"/api/stream/{item['id']}", mime_type=media_type_for(path), decision=decision,
                                subtitles_url=sub_url, start=0.0, duration=duration)
        session = await self._create_session(item, path, info, decision, profile, start, client)
        urls = session.urls()
        mime = PLAYLIST_MIME if isinstance(session, HlsSession) else session.plan.mime_type
        return PlaybackPlan(
            url=str(urls["url"]), mime_type=mime, decision=session.decision, session_id=session.id,
            subtitles_url=urls["subtitles_url"], start=0.0 if isinstance(session, HlsSession) else start,
            duration=duration,
        )

    @staticmethod
    def _sidecar_ext(profile: DeviceProfile | None) -> str:
        formats = profile.subtitle_formats if profile else ["vtt"]
        return "srt" if "srt" in formats and "vtt" not in formats else "vtt"

    async def _create_session(
        self, item: dict[str, Any], path: str, info: dict[str, Any], decision: Decision,
        profile: DeviceProfile | None, start: float, client: str,
    ) -> Session:
        decision = dataclasses.replace(decision, reasons=list(decision.reasons))
        protocol = decision.protocol if decision.protocol in ("progressive", "hls") else (
            profile.streaming if profile and profile.streaming in ("progressive", "hls") else "progressive")
        decision.protocol = protocol  # type: ignore[assignment]
        for old in self.sessions.by_client(client):
            await self.sessions.remove(old.id, f"replaced by a new session of client {client!r}")
        encoder = str(self.config.get("video_encoder") or "libx264")
        with self.sessions.reserve():
            try:
                plan = stream_plan(info, path, decision, profile, video_encoder=encoder, protocol=protocol)
            except NotStreamable as err:
                raise ItemNotPlayable(f"media item {item['id']} cannot be streamed: {err}") from err
            if protocol == "hls" and not plan.ts_compatible:
                # See command.py: HLS segments are MPEG-TS, which takes H.264 and AAC/MP3/AC-3 only.
                protocol = "progressive"
                decision.protocol = "progressive"
                decision.container = "mp4"
                blocked = [f"{kind} {codec}" for kind, codec, ok in (
                    ("video", plan.video_codec, plan.video is None or plan.video_codec in TS_VIDEO_CODECS),
                    ("audio", plan.audio_codec, plan.audio is None or plan.audio_codec in TS_AUDIO_CODECS)) if not ok]
                decision.reasons.append(
                    f"sent as a progressive fragmented MP4 instead of HLS: the hub's HLS segments are MPEG-TS, "
                    f"which does not carry {' and '.join(blocked)}"
                )
                plan = stream_plan(info, path, decision, profile, video_encoder=encoder, protocol=protocol)
            keyframes = None
            if protocol == "hls" and plan.video_copy:
                fmt = str((info.get("format") or {}).get("format_name") or "")
                if any(name in fmt.split(",") for name in EXACT_SEEK_FORMATS):
                    keyframes = await self.keyframes.get(path, int(plan.video["index"]), plan.source_start)  # type: ignore[index]
                else:
                    decision.method, decision.video = "transcode", (profile.transcode_video_codec if profile else "h264")
                    decision.reasons.append(
                        f"the video is re-encoded for HLS: seeking by restart needs a container that seeks "
                        f"to exact keyframes (Matroska, WebM, MP4), not {fmt or 'this one'}"
                    )
                    plan = stream_plan(info, path, decision, profile, video_encoder=encoder, protocol=protocol)
            session_id, folder = await asyncio.to_thread(self.sessions.new_folder)
            sub_url = None
            if decision.subtitles == "webvtt" and decision.subtitle_stream is not None:
                sub_url = f"/api/playback/sessions/{session_id}/subtitles.{self._sidecar_ext(profile)}"
            common: dict[str, Any] = dict(
                session_id=session_id, item=item, info=info, plan=plan, decision=decision, profile=profile,
                client=client, start=start, folder=folder, subtitles_url=sub_url,
            )
            if protocol == "hls":
                seconds = float(self.config.get("hls_segment_remux" if plan.video_copy else "hls_segment_transcode")
                                or (6.0 if plan.video_copy else 3.0))
                session: Session = HlsSession(segment_length=seconds, keyframes=keyframes, **common)
            else:
                session = ProgressiveSession(**common)
            self.sessions.add(session)
        try:
            if isinstance(session, HlsSession):
                await session.start_at(start)
        except BaseException:
            await self.sessions.remove(session.id, "ffmpeg could not be started")
            raise
        if sub_url is not None:
            self._background(self._warm_subtitles(session), f"subtitles of session {session.id}")
        _LOGGER.info("playback session %s: item %s on %s by %s (%s%s)", session.id, item["id"],
                     decision.profile, protocol, decision.method, f", client {client}" if client else "")
        return session

    def _background(self, coro: Any, name: str) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _warm_subtitles(self, session: Session) -> None:
        stream = _stream(session.info, session.decision.subtitle_stream)
        if stream is None:
            return
        try:
            await self.subtitles.webvtt(session.plan.path, stream)
        except Exception as err:  # reported when the sidecar is asked for
            _LOGGER.debug("session %s: subtitle conversion failed: %s", session.id, err)

    # -- sessions -------------------------------------------------------------------------------
    def get_session(self, session_id: str) -> Session:
        """The active session. Raises :class:`~.sessions.SessionNotFound`."""
        return self.sessions.get(session_id)

    def list_sessions(self) -> list[dict[str, Any]]:
        """Every active session (see :meth:`~.sessions.Session.as_dict`), oldest first."""
        return [s.as_dict() for s in sorted(self.sessions, key=lambda s: s.created_at)]

    async def stop_session(self, session_id: str, reason: str = "stopped by the client") -> bool:
        """End a session and its processes; ``False`` when there was none."""
        return await self.sessions.remove(session_id, reason)

    def touch(self, session_id: str) -> None:
        """Keep a session alive (a renderer that plays without asking for anything, such as a
        Cast device with its buffer full). Raises :class:`~.sessions.SessionNotFound`."""
        self.sessions.get(session_id).touch()

    async def report_position(self, session_id: str, position: float, *, device: str | None = None) -> dict[str, Any]:
        """The client of ``session_id`` is at ``position`` seconds of the item: noted on the
        session and recorded as the item's resume position
        (:meth:`~.positions.PositionStore.update`, which fires ``playback_position_updated``).
        Returns the position row. Raises :class:`~.sessions.SessionNotFound`, ``ValueError``."""
        session = self.sessions.get(session_id)
        session.touch()
        value = float(position)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"position must be a finite number of seconds, got {position!r}")
        session.position = max(0.0, value)
        if self.positions is None:
            return {"item_id": session.item_id, "position": session.position}
        return await self.positions.update(
            session.item_id, session.position, session.duration,
            device or session.client or session.decision.profile,
        )

    # -- subtitles --------------------------------------------------------------------------------
    async def session_subtitles(self, session_id: str, fmt: str = "vtt", start: float | None = None) -> str:
        """The session's subtitle sidecar in ``fmt`` (``vtt`` or ``srt``), timed for the stream:
        shifted by the progressive stream's start (``start`` overrides it), unshifted for HLS.
        Raises :class:`~.sessions.SessionNotFound`, :class:`~.subtitles.SubtitleError`."""
        session = self.sessions.get(session_id)
        session.touch()
        if session.decision.subtitle_stream is None or session.decision.subtitles != "webvtt":
            raise SubtitleError(f"session {session_id} has no subtitle sidecar (subtitles: {session.decision.subtitles})")
        stream = _stream(session.info, session.decision.subtitle_stream)
        if stream is None:
            raise SubtitleError(f"the file has no subtitle stream {session.decision.subtitle_stream}")
        if isinstance(session, HlsSession):
            offset = 0.0
        elif start is not None:
            offset = max(0.0, start)
        else:
            offset = getattr(session, "stream_start", session.start)
        text = await self.subtitles.webvtt(session.plan.path, stream)
        return shift_subtitles(text, offset, fmt)

    async def item_subtitles(self, item_id: int, stream_index: int, fmt: str = "vtt", start: float = 0.0) -> str:
        """Subtitle stream ``stream_index`` of item ``item_id`` as ``fmt`` (``vtt``/``srt``),
        shifted ``start`` seconds earlier. Raises :class:`~.sessions.ItemNotPlayable`,
        :class:`~.subtitles.SubtitleError`."""
        _item, path, info = await self.item_source(item_id)
        stream = _stream(info, stream_index)
        if stream is None or stream.get("codec_type") != "subtitle":
            raise SubtitleError(f"media item {item_id} has no subtitle stream {stream_index}")
        text = await self.subtitles.webvtt(path, stream)
        return shift_subtitles(text, start, fmt)


def _stream(info: dict[str, Any], index: int | None) -> dict[str, Any] | None:
    for stream in info.get("streams") or []:
        if stream.get("index") == index:
            return stream
    return None


def _duration(info: dict[str, Any], item: dict[str, Any]) -> float | None:
    try:
        value = float((info.get("format") or {}).get("duration"))
    except (TypeError, ValueError):
        value = item.get("duration")
    return float(value) if value else None

"""CastingManager (``hub.casting``): the renderers the hub knows and what each one plays.

Protocol plugins (``dlna``, ``googlecast``) build a :class:`~.types.Renderer` for each device they
find and hand it to :meth:`CastingManager.add_renderer`. Casting an item then goes:

1. the stream: ``hub.playback.prepare(item_id, profile=renderer.device_profile, start=…)`` when
   the playback engine offers it (direct play, remux or transcode, with a relative URL and MIME
   type), else direct play of the file (``/api/stream/{id}`` with the MIME type of its extension);
2. the URL made absolute with the hub's LAN address that routes to the renderer
   (:func:`.lan.base_url_for`; never localhost);
3. :meth:`Renderer.play` with a :class:`~.types.CastMedia`;
4. while something is cast, the renderer is polled every :data:`POLL_INTERVAL` seconds; every
   change of state, position or error fires ``cast_state_changed``
   (:data:`~omnimedia.core.const.EVENT_CAST_STATE`) and positions are saved to the playback
   engine's resume positions (when it has them). A renderer that stops answering is marked
   ``unavailable``, its cast ends (the playback session too) and polling stops; the hub goes on.

Positions and durations are seconds of the item (a stream that begins at an offset is corrected).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..const import EVENT_CAST_STATE
from .lan import base_url_for
from .types import CastError, CastMedia, Renderer, RendererStatus, RendererUnavailable

if TYPE_CHECKING:
    from ..hub import Hub

_LOGGER = logging.getLogger(__name__)

__all__ = ["CONTROL_ACTIONS", "CastSession", "CastingManager", "UnknownRenderer"]

#: Seconds between two status polls of a renderer that is casting.
POLL_INTERVAL = 1.0
#: Seconds one command or status call to a renderer may take before it counts as failed.
COMMAND_TIMEOUT = 15.0
#: Consecutive failed polls (other than :class:`RendererUnavailable`) before a renderer is
#: declared unavailable.
MAX_POLL_FAILURES = 3
#: Seconds a freshly cast item may stay ``stopped``/``idle`` before the cast counts as failed
#: (renderers report STOPPED while they load the URL).
START_GRACE = 20.0
#: Seconds between two saves of the resume position while playing.
POSITION_SAVE_INTERVAL = 10.0
#: Actions of :meth:`CastingManager.control`.
CONTROL_ACTIONS = ("pause", "resume", "stop", "seek", "volume")
#: Renderer states in which a cast is still going on.
_ACTIVE = ("playing", "paused", "buffering")


class UnknownRenderer(KeyError):
    """No renderer with this id is known."""

    def __str__(self) -> str:
        return f"no renderer with id {self.args[0]!r}"


@dataclass(slots=True)
class CastSession:
    """What one renderer plays: ``item_id``, ``url`` handed over, ``mime_type``, ``title``,
    ``state`` (a :data:`~.types.RendererState`, or ``finished`` once the item ended),
    ``position`` / ``duration`` (seconds of the item), ``volume`` (0.0–1.0), ``error`` (last
    error text), ``session_id`` (the playback session, ``None`` for direct play), ``method``
    (direct_play / direct_stream / transcode), ``offset`` (seconds of the item where the stream
    starts), ``started_at`` / ``updated_at`` (UTC epoch seconds)."""

    renderer_id: str
    item_id: int | None = None
    url: str | None = None
    mime_type: str | None = None
    title: str = ""
    state: str = "idle"
    position: float | None = None
    duration: float | None = None
    volume: float | None = None
    error: str | None = None
    session_id: str | None = None
    method: str | None = None
    offset: float = 0.0
    started_at: float | None = None
    updated_at: float = field(default_factory=time.time)
    # Bookkeeping, not part of the public shape.
    seen_active: bool = False
    last_saved: float = 0.0
    commands: int = 0
    #: set while the cast is being wound up as unavailable (position saved, session ended)
    losing: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("seen_active", "last_saved", "commands", "losing"):
            data.pop(key)
        return data


class CastingManager:
    """Known renderers (``id`` → :class:`Renderer`) and their casts."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._renderers: dict[str, Renderer] = {}
        self._sessions: dict[str, CastSession] = {}
        self._pollers: dict[str, asyncio.Task[Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running = False

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start watching renderers."""
        self._running = True

    async def stop(self) -> None:
        """Stop polling renderers, end the playback sessions of casts and close the renderers'
        connections (what a device plays is left playing)."""
        self._running = False
        pollers = list(self._pollers.values())
        self._pollers.clear()
        for task in pollers:
            task.cancel()
        for session in self._sessions.values():
            if session.state in _ACTIVE:
                await self._save_position(session)
                await self._end_playback_session(session)
        pending = [*pollers, *self._tasks]
        if pending:
            await asyncio.wait(pending, timeout=5)
        for renderer in list(self._renderers.values()):
            await self._close(renderer)
        self._renderers.clear()

    # -- renderers -------------------------------------------------------------------------------
    def add_renderer(self, renderer: Renderer) -> None:
        """Make ``renderer`` castable (a renderer with the same id is replaced and closed, e.g.
        when a device comes back with a new address)."""
        old = self._renderers.get(renderer.id)
        self._renderers[renderer.id] = renderer
        session = self._sessions.get(renderer.id)
        if session is None or session.state == "unavailable":
            self._sessions[renderer.id] = CastSession(renderer.id)
        if old is not None and old is not renderer:
            self._spawn(self._close(old), f"close renderer {old.id}")
        _LOGGER.info("renderer %s (%s, %s at %s) is %s", renderer.name, renderer.protocol, renderer.id,
                     renderer.host, "updated" if old else "available")
        self._fire(renderer.id, action="updated" if old else "added")

    def remove_renderer(self, renderer_id: str) -> None:
        """Forget a renderer (it left the network): its cast ends and its connections close.
        Unknown ids are ignored."""
        renderer = self._renderers.pop(renderer_id, None)
        if renderer is None:
            return
        poller = self._pollers.pop(renderer_id, None)
        if poller is not None:
            poller.cancel()
        session = self._sessions.get(renderer_id) or CastSession(renderer_id)
        was_active = session.state in _ACTIVE
        session.state, session.updated_at = "unavailable", time.time()
        self._fire(renderer_id, action="removed", renderer=renderer)
        self._spawn(self._after_removal(renderer, session, was_active), f"remove renderer {renderer_id}")
        self._sessions.pop(renderer_id, None)
        _LOGGER.info("renderer %s (%s) went away", renderer.name, renderer_id)

    async def _after_removal(self, renderer: Renderer, session: CastSession, was_active: bool) -> None:
        if was_active:
            await self._save_position(session)
            await self._end_playback_session(session)
        await self._close(renderer)

    def renderers(self) -> list[Renderer]:
        """Every known renderer, by name."""
        return sorted(self._renderers.values(), key=lambda r: (r.name.lower(), r.id))

    def get(self, renderer_id: str) -> Renderer | None:
        """The renderer with this id, or ``None``."""
        return self._renderers.get(renderer_id)

    def describe(self, renderer_id: str) -> dict[str, Any]:
        """The renderer's identity (``id``, ``name``, ``host``, ``protocol``, ``device_profile``)
        with its cast (``state``, ``item_id``, ``position``, … see :class:`CastSession`).
        Raises :class:`UnknownRenderer`."""
        renderer = self._require(renderer_id)
        return {**renderer.as_dict(), "cast": self.status(renderer_id)}

    def status(self, renderer_id: str) -> dict[str, Any]:
        """The last known cast state of a renderer (see :class:`CastSession`; no network round
        trip — polling keeps it fresh while casting, :meth:`refresh` asks the device).
        Raises :class:`UnknownRenderer`."""
        self._require(renderer_id)
        return self._session(renderer_id).as_dict()

    async def refresh(self, renderer_id: str) -> dict[str, Any]:
        """Ask the device for its state now and return :meth:`status`. A device that does not
        answer is marked ``unavailable`` (no exception). Raises :class:`UnknownRenderer`."""
        renderer = self._require(renderer_id)
        await self._poll_once(renderer, self._session(renderer_id))
        return self.status(renderer_id)

    # -- casting ---------------------------------------------------------------------------------
    async def cast(self, renderer_id: str, item_id: int, *, start: float = 0.0) -> dict[str, Any]:
        """Play library item ``item_id`` on the renderer from ``start`` seconds; return the
        :meth:`status` once the device accepted it.

        Raises :class:`UnknownRenderer`, ``LookupError`` (no such item), ``ValueError`` (a
        negative start), the playback engine's errors (``PlaybackError`` with an HTTP
        ``status``: the item cannot be played, too many streams) and :class:`CastError` (no LAN
        address, the device refused or did not answer — then it is also marked ``unavailable``
        when it cannot be reached)."""
        if start < 0:
            raise ValueError(f"start must be 0 or more seconds, got {start}")
        renderer = self._require(renderer_id)
        item = await self.hub.library.get_item(item_id)
        if item is None:
            raise LookupError(f"no media item with id {item_id}")
        async with self._lock(renderer_id):
            previous = self._session(renderer_id)
            poller = self._pollers.pop(renderer_id, None)
            if poller is not None:
                poller.cancel()
            if previous.state in _ACTIVE:
                await self._save_position(previous)
                await self._end_playback_session(previous)
            media, session = await self._prepare(renderer, item, start)
            self._sessions[renderer_id] = session
            _LOGGER.info("casting item %s to %s: %s (%s, %s)", item_id, renderer.name, media.url,
                         media.mime_type, session.method)
            try:
                await asyncio.wait_for(renderer.play(media), COMMAND_TIMEOUT)
            except (CastError, TimeoutError, OSError) as err:
                await self._end_playback_session(session)
                unreachable = isinstance(err, RendererUnavailable | TimeoutError | OSError)
                session.state = "unavailable" if unreachable else "stopped"
                session.error = _describe(err, renderer)
                session.updated_at = time.time()
                self._fire(renderer_id)
                raise CastError(session.error) from err
            session.state = "buffering"
            session.updated_at = time.time()
            self._fire(renderer_id)
            self._start_polling(renderer)
        return self.status(renderer_id)

    async def _prepare(self, renderer: Renderer, item: dict[str, Any], start: float) -> tuple[CastMedia, CastSession]:
        """The media to hand over and the session that tracks it."""
        item_id = int(item["id"])
        base = base_url_for(self.hub, renderer.host)  # before a session exists: this may fail
        prepare = getattr(self.hub.playback, "prepare", None)
        offset = 0.0
        session_id = method = subtitles = None
        duration = item.get("duration")
        if prepare is not None:
            kwargs: dict[str, Any] = {"profile": renderer.device_profile, "start": start}
            if "client" in inspect.signature(prepare).parameters:
                kwargs["client"] = f"cast:{renderer.id}"  # a new cast replaces this renderer's session
            plan = await prepare(item_id, **kwargs)
            path, mime_type = plan.url, plan.mime_type
            session_id, method, subtitles = plan.session_id, plan.decision.method, plan.subtitles_url
            offset = float(plan.start or 0.0)
            duration = plan.duration or duration
        else:
            from ..http.stream import media_type_for

            path, mime_type, method = f"/api/stream/{item_id}", media_type_for(item["path"]), "direct_play"
        absolute = path if path.startswith(("http://", "https://")) else base + path
        title = _title(item)
        media = CastMedia(
            url=absolute, mime_type=mime_type, title=title, duration=duration,
            start=max(0.0, start - offset), size=item.get("size") if method == "direct_play" else None,
            subtitles_url=(base + subtitles) if subtitles and subtitles.startswith("/") else subtitles,
            subtitles_mime=_subtitles_mime(subtitles), item_id=item_id,
        )
        session = CastSession(
            renderer.id, item_id=item_id, url=absolute, mime_type=mime_type, title=title, state="buffering",
            position=start, duration=duration, session_id=session_id, method=method, offset=offset,
            started_at=time.time(),
        )
        return media, session

    async def control(self, renderer_id: str, action: str, **kw: Any) -> dict[str, Any]:
        """Drive the renderer: ``pause``, ``resume``, ``stop``, ``seek`` (``position`` seconds of
        the item) or ``volume`` (``level`` — or ``volume`` — 0.0–1.0). Returns :meth:`status`.

        Raises :class:`UnknownRenderer`, ``ValueError`` (unknown action, missing or out-of-range
        argument) and :class:`CastError` (the device refused or did not answer)."""
        if action not in CONTROL_ACTIONS:
            raise ValueError(f"unknown action {action!r}; use one of {', '.join(CONTROL_ACTIONS)}")
        renderer = self._require(renderer_id)
        async with self._lock(renderer_id):
            session = self._session(renderer_id)
            session.commands += 1  # a poll answered before this command is stale
            try:
                if action == "pause":
                    await asyncio.wait_for(renderer.pause(), COMMAND_TIMEOUT)
                    session.state = "paused"
                elif action == "resume":
                    await asyncio.wait_for(renderer.resume(), COMMAND_TIMEOUT)
                    session.state = "playing"
                elif action == "stop":
                    await asyncio.wait_for(renderer.stop(), COMMAND_TIMEOUT)
                elif action == "seek":
                    position = _number(kw, "position", 0.0, None)
                    target = position - session.offset
                    if target < 0:
                        raise ValueError(
                            f"this stream starts at {session.offset:g} s; cast again with start={position:g} "
                            "to play from earlier"
                        )
                    await asyncio.wait_for(renderer.seek(target), COMMAND_TIMEOUT)
                    session.position = position
                else:
                    if "level" not in kw and "volume" in kw:
                        kw["level"] = kw["volume"]
                    level = _number(kw, "level", 0.0, 1.0)
                    await asyncio.wait_for(renderer.set_volume(level), COMMAND_TIMEOUT)
                    session.volume = level
            except (CastError, TimeoutError, OSError) as err:
                session.error = _describe(err, renderer)
                if isinstance(err, RendererUnavailable | TimeoutError | OSError):
                    await self._mark_unavailable(renderer, session)
                else:
                    session.updated_at = time.time()
                    self._fire(renderer_id)
                raise CastError(session.error) from err
            session.error = None
            session.updated_at = time.time()
            if action == "stop":
                await self._finish(renderer, session, "stopped")
            else:
                self._fire(renderer_id)
        return self.status(renderer_id)

    # -- polling ---------------------------------------------------------------------------------
    def _start_polling(self, renderer: Renderer) -> None:
        if not self._running:
            return
        old = self._pollers.pop(renderer.id, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(self._poll_loop(renderer), name=f"poll renderer {renderer.id}")
        self._pollers[renderer.id] = task

        def done(t: asyncio.Task[Any]) -> None:
            if self._pollers.get(renderer.id) is t:
                del self._pollers[renderer.id]

        task.add_done_callback(done)

    async def _poll_loop(self, renderer: Renderer) -> None:
        """Poll until the cast ends (finished, stopped, unavailable) or is replaced."""
        failures = 0
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            session = self._sessions.get(renderer.id)
            if session is None or self._renderers.get(renderer.id) is not renderer:
                return
            ok = await self._poll_once(renderer, session, failures + 1)
            failures = 0 if ok else failures + 1
            if session.state not in _ACTIVE:
                return

    async def _poll_once(self, renderer: Renderer, session: CastSession, attempt: int = MAX_POLL_FAILURES) -> bool:
        """One status round trip; updates ``session`` and fires on change. Returns whether the
        device answered. ``attempt``: consecutive failures so far including this one."""
        commands = session.commands
        try:
            status = await asyncio.wait_for(renderer.status(), COMMAND_TIMEOUT)
        except (CastError, TimeoutError, OSError) as err:
            error = _describe(err, renderer)
            _LOGGER.warning("status of renderer %s failed (%d/%d): %s", renderer.name, attempt, MAX_POLL_FAILURES,
                            error)
            if isinstance(err, RendererUnavailable) or attempt >= MAX_POLL_FAILURES:
                session.error = error
                await self._mark_unavailable(renderer, session)
            return False
        except Exception as err:  # noqa: BLE001 - a renderer bug must not kill polling silently
            _LOGGER.exception("status of renderer %s raised", renderer.name)
            session.error = f"{type(err).__name__}: {err}"
            await self._mark_unavailable(renderer, session)
            return False
        if session.commands == commands and self._sessions.get(renderer.id) is session:
            await self._apply(renderer, session, status)
        return True

    async def _apply(self, renderer: Renderer, session: CastSession, status: RendererStatus) -> None:
        before = (session.state, session.position, session.duration, session.volume, session.error)
        now = time.time()
        if status.position is not None:
            session.position = status.position + session.offset
        if status.duration:
            session.duration = status.duration + session.offset
        if status.volume is not None:
            session.volume = status.volume
        if status.error:
            session.error = status.error
        state = status.state
        if state in _ACTIVE:
            session.seen_active = session.seen_active or state == "playing"
            session.state = state
        elif state == "unavailable":
            await self._mark_unavailable(renderer, session)
            return
        elif session.state in _ACTIVE:
            # stopped / idle: the end of the item, a stop from elsewhere, or still loading.
            playing_elsewhere = status.url and session.url and status.url != session.url
            if session.seen_active or playing_elsewhere:
                ended = _near_end(session)
                await self._finish(renderer, session, "finished" if ended else "stopped")
                return
            if now - (session.started_at or now) > START_GRACE:
                session.error = session.error or f"{renderer.name} did not start playing"
                await self._finish(renderer, session, "stopped")
                return
        session.updated_at = now
        if (session.state, session.position, session.duration, session.volume, session.error) != before:
            self._fire(renderer.id)
        if session.state in _ACTIVE:
            self._touch_session(session)
        if session.state == "playing" and now - session.last_saved >= POSITION_SAVE_INTERVAL:
            await self._save_position(session)
        elif session.state == "paused" and before[0] != "paused":
            await self._save_position(session)

    async def _finish(self, renderer: Renderer, session: CastSession, state: str) -> None:
        """The cast ended (``stopped`` by a user, ``finished`` at the end of the item)."""
        if state == "finished" and session.duration:
            session.position = session.duration
        poller = self._pollers.get(renderer.id)
        if poller is not None and poller is not asyncio.current_task():
            poller.cancel()
        # Saved before the state shows the end, so whoever sees "finished" also sees the
        # position (and the watched mark) it led to.
        await self._save_position(session)
        await self._end_playback_session(session)
        session.state, session.updated_at = state, time.time()
        _LOGGER.info("cast of item %s on %s %s at %s s", session.item_id, renderer.name, state,
                     f"{session.position:.1f}" if session.position is not None else "?")
        self._fire(renderer.id)

    async def _mark_unavailable(self, renderer: Renderer, session: CastSession) -> None:
        if session.state == "unavailable" or session.losing:
            return
        session.losing = True
        was_active = session.state in _ACTIVE
        poller = self._pollers.get(renderer.id)
        if poller is not None and poller is not asyncio.current_task():
            poller.cancel()
        _LOGGER.warning("renderer %s (%s) is unavailable: %s", renderer.name, renderer.host, session.error)
        if was_active:
            await self._save_position(session)
            await self._end_playback_session(session)
        # Shown only now, together with its event: whoever sees "unavailable" also sees the
        # session ended and the position saved.
        session.state, session.updated_at, session.losing = "unavailable", time.time(), False
        self._fire(renderer.id)

    # -- the playback engine's sessions and positions (used when it offers them) ----------------
    async def _save_position(self, session: CastSession) -> None:
        """Store the resume position with the playback engine: through the session
        (``hub.playback.report_position``) when there is one, else in its position store
        (``hub.playback.positions.update``). Failures are logged, never raised."""
        if session.item_id is None or session.position is None:
            return
        playback = self.hub.playback
        device = f"cast:{session.renderer_id}"
        session.last_saved = time.time()
        try:
            if session.session_id and hasattr(playback, "report_position"):
                try:
                    await playback.report_position(session.session_id, session.position, device=device)
                    return
                except KeyError:  # the session ended meanwhile (SessionNotFound is a KeyError)
                    pass
            positions = getattr(playback, "positions", None)
            if positions is not None:
                await positions.update(session.item_id, session.position, session.duration, device)
        except Exception:  # noqa: BLE001 - a failed save must not end the cast
            _LOGGER.exception("could not save the position of item %s", session.item_id)

    def _touch_session(self, session: CastSession) -> None:
        """Keep the playback session alive while the renderer plays (it may have buffered
        everything and ask for nothing)."""
        touch = getattr(self.hub.playback, "touch", None)
        if session.session_id and touch is not None:
            with contextlib.suppress(Exception):
                touch(session.session_id)

    async def _end_playback_session(self, session: CastSession) -> None:
        if not session.session_id:
            return
        end = getattr(self.hub.playback, "stop_session", None)
        session_id, session.session_id = session.session_id, None
        if end is None:
            return
        try:
            await _maybe_await(end(session_id, "the cast ended"))
        except Exception:  # noqa: BLE001
            _LOGGER.exception("could not end playback session %s", session_id)

    # -- helpers ---------------------------------------------------------------------------------
    def _require(self, renderer_id: str) -> Renderer:
        renderer = self._renderers.get(renderer_id)
        if renderer is None:
            raise UnknownRenderer(renderer_id)
        return renderer

    def _session(self, renderer_id: str) -> CastSession:
        session = self._sessions.get(renderer_id)
        if session is None:
            session = self._sessions[renderer_id] = CastSession(renderer_id)
        return session

    def _lock(self, renderer_id: str) -> asyncio.Lock:
        return self._locks.setdefault(renderer_id, asyncio.Lock())

    def _fire(self, renderer_id: str, action: str = "state", renderer: Renderer | None = None) -> None:
        renderer = renderer or self._renderers.get(renderer_id)
        session = self._sessions.get(renderer_id) or CastSession(renderer_id)
        data = {
            "action": action,
            **(renderer.as_dict() if renderer else {"id": renderer_id}),
            **session.as_dict(),
        }
        self.hub.bus.fire(EVENT_CAST_STATE, data)

    def _spawn(self, coro: Any, name: str) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro, name=name)
        except RuntimeError:  # no loop: called while the hub is not running
            coro.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self, renderer: Renderer) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(renderer.close(), 5)


def _describe(err: BaseException, renderer: Renderer) -> str:
    if isinstance(err, CastError):
        return str(err)
    if isinstance(err, TimeoutError):
        return f"{renderer.name} ({renderer.host}) did not answer within {COMMAND_TIMEOUT:g} s"
    return f"{renderer.name} ({renderer.host}) cannot be reached: {err}"


def _number(kw: dict[str, Any], key: str, low: float, high: float | None) -> float:
    if key not in kw or kw[key] is None:
        raise ValueError(f"{key} is required")
    try:
        value = float(kw[key])
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number, got {kw[key]!r}") from None
    if value < low or (high is not None and value > high):
        raise ValueError(f"{key} must be between {low:g} and {high:g}" if high is not None
                         else f"{key} must be {low:g} or more")
    return value


def _near_end(session: CastSession) -> bool:
    """Whether a stop came at the end of the item (within 5 % or 10 s)."""
    if not session.duration or session.position is None:
        return False
    return session.position >= session.duration - max(10.0, 0.05 * session.duration)


def _subtitles_mime(url: str | None) -> str | None:
    """The MIME type of a subtitle sidecar URL, from its extension (the playback engine serves
    ``.vtt`` for browsers and Cast, ``.srt`` for DLNA renderers)."""
    if not url:
        return None
    from ..http.stream import media_type_for

    return media_type_for(url.split("?", 1)[0])


def _title(item: dict[str, Any]) -> str:
    title = item.get("title") or ""
    if item.get("season") is not None and item.get("episode") is not None:
        title = f"{title} S{item['season']:02d}E{item['episode']:02d}".strip()
        if item.get("episode_title"):
            title += f" – {item['episode_title']}"
    elif item.get("year"):
        title = f"{title} ({item['year']})"
    if not title:
        from pathlib import Path

        title = Path(item.get("path") or "").stem
    return title


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value

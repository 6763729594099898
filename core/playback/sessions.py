"""Playback sessions: one client streaming one item through ffmpeg.

A :class:`Session` owns a scratch folder (``<transcode_dir>/sessions/<id>``) and the ffmpeg
processes it starts; :class:`SessionRegistry` keeps the active ones, refuses new ones beyond
``playback.max_transcodes``, ends the idle ones after ``playback.session_idle_timeout`` seconds,
and fires ``playback_session_updated`` on the bus (``{"action": "started" | "updated" |
"stopped", "session": {...}, "reason": str | None}``). Ending a session ends its processes and
removes its folder; :meth:`SessionRegistry.sweep` removes folders a previous run left behind.
Times are UTC seconds since the epoch, positions seconds into the item.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import ffmpeg
from ..const import EVENT_PLAYBACK_SESSION
from .command import StreamPlan
from .errors import PlaybackError
from .types import Decision, DeviceProfile

_LOGGER = logging.getLogger(__name__)

#: Seconds a streaming ffmpeg gets between SIGTERM and SIGKILL when its session ends.
PROCESS_GRACE = 2.0


class ItemNotPlayable(PlaybackError):
    """The item does not exist, its file is missing or outside the libraries, or it is corrupt
    or has nothing to play. The message says which; ``status`` is 404, 403 or 422."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class SessionNotFound(PlaybackError, KeyError):
    """No active session has this id (it never existed, was stopped or timed out)."""

    status = 404

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no playback session {session_id!r} (it was stopped, timed out or never existed)")
        self.session_id = session_id

    def __str__(self) -> str:
        return self.args[0]


class SessionLimitReached(PlaybackError):
    """``playback.max_transcodes`` sessions are already streaming."""

    status = 503


class StreamFailed(PlaybackError):
    """ffmpeg could not produce the stream (a corrupt file, an encoder error) or took too long;
    the message holds ffmpeg's own explanation."""

    status = 500


def new_session_id() -> str:
    """16 random URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


class Session:
    """One client streaming one item. Subclasses (progressive, HLS) run the ffmpeg processes.

    ``item``: the media item's columns; ``info``: its ffprobe JSON; ``plan``: the
    :class:`~.command.StreamPlan`; ``decision`` / ``profile``; ``client`` (free text the client
    gave, e.g. a device name); ``start`` (s) where playback begins; ``position`` (s) last
    reported; ``folder`` the session's scratch folder."""

    kind = "session"

    def __init__(
        self,
        *,
        session_id: str,
        item: dict[str, Any],
        info: dict[str, Any],
        plan: StreamPlan,
        decision: Decision,
        profile: DeviceProfile | None,
        client: str,
        start: float,
        folder: Path,
    ) -> None:
        self.id = session_id
        self.item = item
        self.info = info
        self.plan = plan
        self.decision = decision
        self.profile = profile
        self.client = client
        self.start = start
        self.position = start
        self.folder = folder
        self.created_at = time.time()
        self.last_activity = self.created_at
        self.state = "starting"
        self.error: str | None = None
        self.closed = False
        self.on_change: Callable[[Session, str | None], None] | None = None
        self._busy = 0  # requests being answered right now (never idle meanwhile)

    # -- bookkeeping ------------------------------------------------------------------------
    @property
    def item_id(self) -> int:
        return int(self.item["id"])

    @property
    def duration(self) -> float | None:
        return self.plan.duration or self.item.get("duration")

    def touch(self) -> None:
        """Note client activity now (any request of the session)."""
        self.last_activity = time.time()

    @contextlib.contextmanager
    def busy(self):
        """While a response is being written the session is never idle."""
        self._busy += 1
        self.touch()
        try:
            yield
        finally:
            self._busy -= 1
            self.touch()

    def idle_for(self, now: float | None = None) -> float:
        """Seconds since the last activity; 0 while a response is being written."""
        if self._busy:
            return 0.0
        return max(0.0, (now or time.time()) - self.last_activity)

    def processes(self) -> list[ffmpeg.FfmpegProcess]:
        """The session's ffmpeg processes that are still running."""
        return []

    def changed(self, reason: str | None = None) -> None:
        if self.on_change is not None:
            self.on_change(self, reason)

    def link_source(self) -> str:
        """A link to the source file inside the session folder, named ``source<ext>``, for the
        ``subtitles`` filter (run with the folder as working directory). Blocking."""
        name = "source" + Path(self.plan.path).suffix.lower()
        link = self.folder / name
        if not link.is_symlink():
            link.symlink_to(self.plan.path)
        return name

    def urls(self) -> dict[str, str | None]:
        """``{"url", "subtitles_url"}`` relative to the hub."""
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item_id": self.item_id,
            "title": self.item.get("title"),
            "path": self.item.get("path"),
            "kind": self.kind,
            "profile": self.decision.profile,
            "method": self.decision.method,
            "protocol": self.decision.protocol,
            "decision": self.decision.as_dict(),
            "stream": self.plan.as_dict(),
            "client": self.client,
            "state": self.state,
            "error": self.error,
            "start": self.start,
            "position": self.position,
            "duration": self.duration,
            "created_at": self.created_at,
            "last_activity": self.last_activity,
            "pids": [p.pid for p in self.processes() if p.pid is not None],
            **self.urls(),
        }

    async def close(self) -> None:
        """End every process and remove the folder. Idempotent."""
        self.closed = True
        self.state = "stopped"
        await self.terminate_processes()
        await asyncio.to_thread(shutil.rmtree, self.folder, True)

    async def terminate_processes(self) -> None:
        procs = self.processes()
        if procs:
            await asyncio.gather(*(p.terminate(PROCESS_GRACE) for p in procs), return_exceptions=True)


class SessionRegistry:
    """The active sessions.

    ``folder``: ``<transcode_dir>/sessions``; ``max_sessions`` (0: no limit);
    ``idle_timeout`` (s); ``fire``: ``fire(event_type, data)`` on the hub's bus."""

    def __init__(self, folder: Path, *, max_sessions: int, idle_timeout: float,
                 fire: Callable[[str, dict[str, Any]], Any]) -> None:
        self.folder = Path(folder)
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self._fire = fire
        self._sessions: dict[str, Session] = {}
        self._reserved = 0
        self._reaper: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self):
        return iter(list(self._sessions.values()))

    def get(self, session_id: str) -> Session:
        """The session; raises :class:`SessionNotFound`."""
        session = self._sessions.get(session_id)
        if session is None or session.closed:
            raise SessionNotFound(session_id)
        return session

    # -- lifecycle --------------------------------------------------------------------------
    def sweep(self) -> int:
        """Remove every session folder left by an earlier run; return how many. Blocking."""
        removed = 0
        if self.folder.is_dir():
            for child in self.folder.iterdir():
                if child.name in self._sessions:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
                removed += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        return removed

    def start(self) -> None:
        self._reaper = asyncio.ensure_future(self._reap_idle())

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        await asyncio.gather(*(self.remove(s.id, "the hub is stopping") for s in list(self._sessions.values())),
                             return_exceptions=True)

    @contextlib.contextmanager
    def reserve(self):
        """Hold one slot while a session is being set up; raises :class:`SessionLimitReached`."""
        if self.max_sessions and len(self._sessions) + self._reserved >= self.max_sessions:
            raise SessionLimitReached(
                f"all {self.max_sessions} streaming slots are in use (playback.max_transcodes); "
                "stop a session (DELETE /api/playback/sessions/<id>) or raise the limit"
            )
        self._reserved += 1
        try:
            yield
        finally:
            self._reserved -= 1

    def new_folder(self) -> tuple[str, Path]:
        """A fresh session id and its (created) folder. Blocking."""
        while True:
            session_id = new_session_id()
            folder = self.folder / session_id
            try:
                folder.mkdir(parents=True)
            except FileExistsError:
                continue
            return session_id, folder

    def add(self, session: Session) -> None:
        self._sessions[session.id] = session
        session.on_change = self._changed
        self._event("started", session, None)

    async def remove(self, session_id: str, reason: str = "stopped") -> bool:
        """Stop and forget a session; ``False`` when there is none with that id."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        try:
            await session.close()
        finally:
            self._event("stopped", session, reason)
            _LOGGER.info("playback session %s (item %s) ended: %s", session.id, session.item_id, reason)
        return True

    def by_client(self, client: str) -> list[Session]:
        return [s for s in self._sessions.values() if client and s.client == client]

    # -- internals --------------------------------------------------------------------------
    def _changed(self, session: Session, reason: str | None) -> None:
        if session.id in self._sessions:
            self._event("updated", session, reason)

    def _event(self, action: str, session: Session, reason: str | None) -> None:
        try:
            self._fire(EVENT_PLAYBACK_SESSION, {"action": action, "session": session.as_dict(), "reason": reason})
        except Exception:  # a listener's failure must not break streaming
            _LOGGER.exception("could not fire %s for session %s", EVENT_PLAYBACK_SESSION, session.id)

    async def _reap_idle(self) -> None:
        period = max(1.0, min(10.0, self.idle_timeout / 4))
        while True:
            await asyncio.sleep(period)
            now = time.time()
            for session in list(self._sessions.values()):
                if session.idle_for(now) >= self.idle_timeout:
                    try:
                        await self.remove(session.id, f"idle for {self.idle_timeout:g} s")
                    except Exception:
                        _LOGGER.exception("could not end idle session %s", session.id)


"""The event bus: the one way parts of the hub tell each other that something happened.

Listeners are classified once, when they subscribe (plain callable or coroutine function), so that
firing an event costs a dictionary lookup and a loop. A listener that raises is logged and never
stops the others. Every event carries a :class:`Context` so an action can be traced to its cause.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from .const import MATCH_ALL

_LOGGER = logging.getLogger(__name__)


_getrandbits = random.getrandbits  # seeded from os.urandom, reseeded after fork
_time = time.time


def new_id() -> str:
    """Return a fresh random identifier (32 lowercase hex characters, 128 random bits).

    Identifiers, not secrets: drawn from :mod:`random` (seeded by the OS), which is several times
    cheaper than ``uuid.uuid4()`` on the event hot path."""
    return f"{_getrandbits(128):032x}"


@dataclass(frozen=True, slots=True)
class Context:
    """Who or what caused an event.

    ``id`` identifies this context; ``user_id`` the user behind it (``None`` for the hub itself);
    ``parent_id`` the context of the action that led to this one.
    """

    id: str = field(default_factory=new_id)
    user_id: str | None = None
    parent_id: str | None = None

    def child(self) -> Context:
        """Return a new context whose parent is this one, for the same user."""
        return Context(user_id=self.user_id, parent_id=self.id)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "user_id": self.user_id, "parent_id": self.parent_id}


class Event:
    """One event: its type, its data, its context and when it was fired (``time_fired``, UTC seconds
    since the epoch). Read-only.

    When fired without a context, the :class:`Context` is made on first access to ``context`` (and is
    the same object ever after): most events are never traced, and making one per fire would cost
    more than delivering the event.
    """

    __slots__ = ("_event_type", "_data", "_context", "_time_fired")

    def __init__(
        self,
        event_type: str,
        data: Mapping[str, Any],
        context: Context | None = None,
        time_fired: float | None = None,
    ) -> None:
        self._event_type = event_type
        self._data = data
        self._context = context
        self._time_fired = _time() if time_fired is None else time_fired

    event_type: str = property(attrgetter("_event_type"))  # type: ignore[assignment]
    data: Mapping[str, Any] = property(attrgetter("_data"))  # type: ignore[assignment]
    time_fired: float = property(attrgetter("_time_fired"))  # type: ignore[assignment]

    @property
    def context(self) -> Context:
        context = self._context
        if context is None:
            context = self._context = Context()
        return context

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.event_type, self.data, self.context, self.time_fired) == (
            other.event_type, other.data, other.context, other.time_fired)

    __hash__ = None  # type: ignore[assignment]  # data is a mapping

    def __repr__(self) -> str:
        return f"<Event {self._event_type} {dict(self._data)!r} at {self._time_fired}>"

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type,
            "data": dict(self.data),
            "context": self.context.as_dict(),
            "time_fired": self.time_fired,
        }


EventFilter = Callable[[Event], bool]
Listener = Callable[[Event], Any]


@dataclass(slots=True)
class _Subscription:
    callback: Listener
    is_coroutine: bool
    event_filter: EventFilter | None
    once: bool
    #: a plain callback with no filter that stays subscribed: the fast path of ``_dispatch``
    plain: bool = False

    def __post_init__(self) -> None:
        self.plain = not self.is_coroutine and self.event_filter is None and not self.once


class EventBus:
    """Publish/subscribe on the hub's event loop.

    ``fire`` must be called from the loop thread; use :meth:`fire_threadsafe` from other threads.
    Coroutine listeners are scheduled as tasks (tracked so the hub can wait for them on stop); plain
    listeners run inline, in the order they subscribed.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._listeners: dict[str, list[_Subscription]] = {}
        self._loop = loop
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- subscribe ------------------------------------------------------------------------------
    def listen(
        self,
        event_type: str,
        callback: Listener,
        event_filter: EventFilter | None = None,
        *,
        once: bool = False,
    ) -> Callable[[], None]:
        """Call ``callback(event)`` for each event of ``event_type`` (``"*"`` for all events) for
        which ``event_filter(event)`` is true. Returns a function that unsubscribes.

        Raises ``TypeError`` when ``callback`` is not callable.
        """
        if not callable(callback):
            raise TypeError(f"listener for {event_type!r} must be callable, got {callback!r}")
        sub = _Subscription(callback, _is_coroutine(callback), event_filter, once)
        # Copy-on-write so that fire() can iterate without guarding against mutation.
        self._listeners[event_type] = [*self._listeners.get(event_type, ()), sub]

        def unsubscribe() -> None:
            subs = self._listeners.get(event_type)
            if subs and sub in subs:
                rest = [s for s in subs if s is not sub]
                if rest:
                    self._listeners[event_type] = rest
                else:
                    del self._listeners[event_type]

        return unsubscribe

    def listen_once(
        self, event_type: str, callback: Listener, event_filter: EventFilter | None = None
    ) -> Callable[[], None]:
        """Like :meth:`listen`, but the listener is removed after its first matching event."""
        return self.listen(event_type, callback, event_filter, once=True)

    def listener_count(self) -> dict[str, int]:
        """Return ``{event_type: number of listeners}``."""
        return {k: len(v) for k, v in self._listeners.items()}

    # -- fire -----------------------------------------------------------------------------------
    def fire(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> Event:
        """Deliver an event to its listeners and to the wildcard listeners; return the event."""
        event = Event(event_type, data or {}, context, _time())
        listeners = self._listeners
        subs = listeners.get(event_type)
        if subs:
            self._dispatch(event_type, subs, event)
        if event_type != MATCH_ALL:
            wild = listeners.get(MATCH_ALL)
            if wild:
                self._dispatch(MATCH_ALL, wild, event)
        return event

    def fire_threadsafe(
        self, event_type: str, data: Mapping[str, Any] | None = None, context: Context | None = None
    ) -> None:
        """Fire from a thread other than the loop's."""
        loop = self._loop or asyncio.get_event_loop()
        loop.call_soon_threadsafe(self.fire, event_type, data, context)

    def _dispatch(self, key: str, subs: list[_Subscription], event: Event) -> None:
        for sub in subs:
            if sub.plain:
                try:
                    sub.callback(event)
                except Exception:
                    _LOGGER.exception("listener %r for %s failed", sub.callback, event.event_type)
                continue
            if sub.event_filter is not None:
                try:
                    if not sub.event_filter(event):
                        continue
                except Exception:
                    _LOGGER.exception("event filter for %s failed", event.event_type)
                    continue
            if sub.once:
                self._remove(key, sub)
            if sub.is_coroutine:
                task = asyncio.get_running_loop().create_task(self._run_coro(sub.callback, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                continue
            try:
                sub.callback(event)
            except Exception:
                _LOGGER.exception("listener %r for %s failed", sub.callback, event.event_type)

    def _remove(self, key: str, sub: _Subscription) -> None:
        subs = self._listeners.get(key)
        if subs and sub in subs:
            rest = [s for s in subs if s is not sub]
            if rest:
                self._listeners[key] = rest
            else:
                del self._listeners[key]

    @staticmethod
    async def _run_coro(callback: Callable[[Event], Coroutine[Any, Any, Any]], event: Event) -> None:
        try:
            await callback(event)
        except Exception:
            _LOGGER.exception("listener %r for %s failed", callback, event.event_type)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout`` seconds) for coroutine listeners still running."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


def _is_coroutine(callback: Callable[..., Any]) -> bool:
    target = callback
    while hasattr(target, "func"):  # functools.partial
        target = target.func  # type: ignore[attr-defined]
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004
    )

"""Event bus: listen, once, wildcard, filters, failing listeners, contexts."""

from __future__ import annotations

import asyncio
import functools
import logging

import pytest

from omnimedia.core.bus import Context, EventBus


async def test_listen_fire_and_unsubscribe() -> None:
    bus = EventBus()
    seen = []
    unsub = bus.listen("media_added", lambda e: seen.append(e.data["n"]))
    bus.fire("media_added", {"n": 1})
    bus.fire("other", {"n": 2})
    unsub()
    bus.fire("media_added", {"n": 3})
    assert seen == [1]
    unsub()  # twice is harmless


async def test_coroutine_listener_is_awaited_and_drained() -> None:
    bus = EventBus()
    seen = []

    async def listener(event):
        await asyncio.sleep(0.01)
        seen.append(event.event_type)

    bus.listen("x", listener)
    bus.listen("x", functools.partial(listener))
    bus.fire("x")
    assert seen == []
    await bus.drain()
    assert seen == ["x", "x"]


async def test_listen_once_wildcard_and_filter() -> None:
    bus = EventBus()
    once, everything, filtered = [], [], []
    bus.listen_once("a", lambda e: once.append(e.data))
    bus.listen("*", lambda e: everything.append(e.event_type))
    bus.listen("a", lambda e: filtered.append(e.data["v"]), lambda e: e.data.get("v", 0) > 1)
    for v in (1, 2, 3):
        bus.fire("a", {"v": v})
    bus.fire("b")
    assert once == [{"v": 1}]
    assert everything == ["a", "a", "a", "b"]
    assert filtered == [2, 3]
    assert bus.listener_count() == {"*": 1, "a": 1}


async def test_failing_listener_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    seen = []

    def broken(event):
        raise RuntimeError("boom")

    async def broken_async(event):
        raise RuntimeError("async boom")

    bus.listen("x", broken)
    bus.listen("x", broken_async)
    bus.listen("x", lambda e: seen.append(1))
    bus.listen("x", lambda e: seen.append(2), lambda e: 1 / 0)  # broken filter
    with caplog.at_level(logging.ERROR):
        bus.fire("x")
        await bus.drain()
    assert seen == [1]
    assert "boom" in caplog.text and "async boom" in caplog.text


async def test_context_is_carried_and_chained() -> None:
    bus = EventBus()
    events = []
    bus.listen("*", events.append)
    parent = Context(user_id="alice")
    child = parent.child()
    bus.fire("a", {}, parent)
    bus.fire("b", {}, child)
    bus.fire("c")
    assert events[0].context is parent
    assert events[1].context.parent_id == parent.id and events[1].context.user_id == "alice"
    assert events[2].context.id and events[2].context.id not in (parent.id, child.id)
    assert events[1].as_dict()["context"] == {"id": child.id, "user_id": "alice", "parent_id": parent.id}


def test_non_callable_listener_is_rejected() -> None:
    with pytest.raises(TypeError, match="must be callable"):
        EventBus().listen("x", "not a function")  # type: ignore[arg-type]

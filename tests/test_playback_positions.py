"""Resume positions and watched state over the HTTP API of a real hub (SQLite, real scanned
files): the seed's ``/api/stream/position``, per-item positions, the watched threshold, play counts,
"continue watching" and the ``playback_position_updated`` events."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from omnimedia.core.const import EVENT_PLAYBACK_POSITION

from .mediagen import EPISODE_NAME, MOVIE_NAME, make_mkv, make_mp4


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("position_media")
    make_mp4(folder / MOVIE_NAME, duration=2.0)
    make_mkv(folder / "Show" / EPISODE_NAME, duration=2.0)
    return folder


async def start(hub_factory, media_dir, extra: str = ""):
    hub = await hub_factory(media_dirs=[media_dir], extra=extra)
    await hub.library.scan()
    items, _ = await hub.library.list_items(limit=10)
    ids = {Path(i["path"]).name: i["id"] for i in items}
    durations = {Path(i["path"]).name: i["duration"] for i in items}
    host, port = hub.http.bound_address()
    events: list[dict] = []
    hub.bus.listen(EVENT_PLAYBACK_POSITION, lambda event: events.append(dict(event.data)))
    return hub, f"http://{host}:{port}", ids, durations, events


async def call(session, method, url, body=None, status=200):
    async with session.request(method, url, json=body) as resp:
        data = await resp.json()
        assert resp.status == status, (method, url, body, resp.status, data)
        return data


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as s:
        yield s


async def test_position_watched_threshold_and_play_count(hub_factory, media_dir, session):
    _, base, ids, durations, events = await start(hub_factory, media_dir)
    movie = ids[MOVIE_NAME]
    duration = durations[MOVIE_NAME]
    assert duration == pytest.approx(2.0, abs=0.1)

    # Never played.
    row = await call(session, "GET", f"{base}/api/stream/position?item_id={movie}")
    assert row == {"item_id": movie, "position": 0.0, "duration": None, "watched": False, "play_count": 0,
                   "device": None, "updated_at": None}

    # Halfway: the position is kept, the duration comes from the library.
    row = await call(session, "PUT", f"{base}/api/stream/position",
                     {"item_id": movie, "position": 1.0, "device": "desktop_browser"})
    assert (row["position"], row["duration"], row["watched"], row["play_count"]) == (1.0, duration, False, 0)
    assert row["device"] == "desktop_browser" and row["updated_at"] > 0 and row["completed"] is False
    assert await call(session, "GET", f"{base}/api/items/{movie}/position") == {
        k: v for k, v in row.items() if k != "completed"
    }

    # Past 90 %: watched, counted once, back to the start.
    row = await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": 0.95 * duration})
    assert (row["position"], row["watched"], row["play_count"], row["completed"]) == (0.0, True, 1, True)
    # The player runs on to the end: nothing more is counted.
    row = await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": duration})
    assert (row["position"], row["watched"], row["play_count"], row["completed"]) == (0.0, True, 1, False)

    # Watched again from the start: the position is kept while it is watched, counted at the end.
    row = await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": 0.4})
    assert (row["position"], row["watched"], row["play_count"]) == (0.4, True, 1)
    row = await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": 1.99})
    assert (row["position"], row["watched"], row["play_count"], row["completed"]) == (0.0, True, 2, True)

    # Every change was an event carrying the row.
    assert [(e["item_id"], e["position"], e["play_count"], e["completed"]) for e in events] == [
        (movie, 1.0, 0, False), (movie, 0.0, 1, True), (movie, 0.0, 1, False), (movie, 0.4, 1, False),
        (movie, 0.0, 2, True),
    ]

    # Marked watched / unwatched by hand.
    row = await call(session, "POST", f"{base}/api/items/{movie}/watched", {"device": "tv"})
    assert (row["watched"], row["play_count"], row["device"]) == (True, 3, "tv")
    row = await call(session, "DELETE", f"{base}/api/items/{movie}/watched")
    assert (row["watched"], row["play_count"], row["position"]) == (False, 0, 0.0)
    assert len(events) == 7 and events[-1]["watched"] is False


async def test_explicit_duration_and_clamping(hub_factory, media_dir, session):
    _, base, ids, _, _ = await start(hub_factory, media_dir, extra="playback:\n  watched_threshold: 0.5\n")
    movie = ids[MOVIE_NAME]
    # The client knows better (e.g. a transcoded stream): its duration is used and kept.
    row = await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": 40, "duration": 100})
    assert (row["position"], row["duration"], row["watched"]) == (40.0, 100.0, False)
    row = await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": 45})
    assert (row["duration"], row["watched"]) == (100.0, False)
    # The configured threshold (50 %) applies.
    row = await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": 50})
    assert (row["watched"], row["play_count"], row["position"]) == (True, 1, 0.0)
    # Past the end counts as the end.
    row = await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": 30, "duration": 100})
    row = await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": 1e9})
    assert (row["play_count"], row["position"]) == (2, 0.0)


async def test_continue_watching(hub_factory, media_dir, session):
    _, base, ids, durations, _ = await start(hub_factory, media_dir)
    movie, episode = ids[MOVIE_NAME], ids[EPISODE_NAME]
    assert (await call(session, "GET", f"{base}/api/playback/continue"))["items"] == []
    await call(session, "PUT", f"{base}/api/items/{movie}/position", {"position": 0.5})
    await call(session, "PUT", f"{base}/api/items/{episode}/position", {"position": durations[EPISODE_NAME] / 2})
    items = (await call(session, "GET", f"{base}/api/playback/continue"))["items"]
    assert [i["item_id"] for i in items] == [episode, movie]  # most recent first
    assert items[0]["item"]["id"] == episode and items[0]["item"]["type"] == "episode"
    assert items[0]["item"]["season"] == 1 and items[0]["item"]["episode"] == 2
    assert items[0]["progress"] == pytest.approx(0.5, abs=0.01)
    assert [i["item_id"] for i in (await call(session, "GET", f"{base}/api/playback/continue?limit=1"))["items"]] == [
        episode
    ]
    # Finished or marked watched: no longer "continue".
    await call(session, "POST", f"{base}/api/items/{episode}/watched")
    items = (await call(session, "GET", f"{base}/api/playback/continue"))["items"]
    assert [i["item_id"] for i in items] == [movie]


@pytest.mark.parametrize(("method", "path", "body", "status", "fragment"), [
    ("GET", "/api/stream/position?item_id=999", None, 404, "no media item with id 999"),
    ("PUT", "/api/stream/position", {"item_id": 999, "position": 1}, 404, "no media item with id 999"),
    ("GET", "/api/items/999/position", None, 404, "no media item with id 999"),
    ("POST", "/api/items/999/watched", None, 404, "no media item with id 999"),
    ("DELETE", "/api/items/999/watched", None, 404, "no media item with id 999"),
    ("GET", "/api/stream/position", None, 400, "missing required query parameter 'item_id'"),
    ("PUT", "/api/stream/position", {"item_id": 1}, 400, "missing required key 'position'"),
    ("PUT", "/api/items/1/position", {"position": "abc"}, 400, "expected a number for 'position'"),
    ("PUT", "/api/items/1/position", {"position": -3}, 400, "'position' in the request body must be at least 0"),
    ("PUT", "/api/items/1/position", {"position": 1, "positon": 2}, 400, "unknown key 'positon'"),
    ("PUT", "/api/items/1/position", None, 400, "a JSON request body is required"),
])
async def test_bad_requests(hub_factory, media_dir, session, method, path, body, status, fragment):
    _, base, _, _, events = await start(hub_factory, media_dir)
    data = await call(session, method, base + path, body, status=status)
    assert fragment in data["error"], data
    assert events == []

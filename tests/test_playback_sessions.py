"""Playback sessions on a real hub: planning (direct play needs no session), listing, stopping,
the max_transcodes limit, idle time-out, one session per client, positions, events, and no
ffmpeg left behind when sessions or the hub end."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp
import pytest

from omnimedia.core import ffmpeg
from omnimedia.core.const import EVENT_PLAYBACK_POSITION, EVENT_PLAYBACK_SESSION

from .playback_media import ffmpeg as run_ffmpeg
from .playback_media import make_long, make_media


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    files = make_media(tmp_path_factory.mktemp("sessions") / "media")
    files["mp4"] = files["movie"].parent / "Direct.Play.2019.mp4"
    run_ffmpeg("-i", str(files["movie"]), "-map", "0", "-c", "copy", "-c:s", "mov_text", str(files["mp4"]))
    # Long enough (10 min, looped by stream copy so it is made in a moment) that no transcode of it
    # can finish while a test watches it, however fast the machine is.
    part = make_long(files["movie"].parent.parent / "long-part.mkv", duration=60.0)
    files["long"] = files["movie"].parent / "Long.Film.2022.mkv"
    run_ffmpeg("-stream_loop", "9", "-i", str(part), "-map", "0", "-c", "copy", str(files["long"]))
    return files


async def hub_with(hub_factory, media, extra: str = ""):
    hub = await hub_factory(media_dirs=[media["movie"].parent], extra=extra)
    await hub.library.scan()
    items, _ = await hub.library.list_items(limit=50)
    by_name = {Path(i["path"]).name: i["id"] for i in items}
    ids = {key: by_name[path.name] for key, path in media.items() if path.name in by_name}
    host, port = hub.http.bound_address()
    return hub, f"http://{host}:{port}", ids


async def post(http, url, body) -> tuple[int, dict]:
    async with http.post(url, json=body) as resp:
        return resp.status, await resp.json()


async def test_direct_play_needs_no_session(hub_factory, media):
    hub, base, ids = await hub_with(hub_factory, media)
    async with aiohttp.ClientSession() as http:
        status, plan = await post(http, f"{base}/api/playback/sessions",
                                  {"item_id": ids["mp4"], "profile": "desktop_browser", "subtitle_stream": 2})
        assert status == 200
        assert plan["decision"]["method"] == "direct_play"
        assert (plan["url"], plan["mime_type"], plan["session_id"]) == (f"/api/stream/{ids['mp4']}", "video/mp4", None)
        assert plan["subtitles_url"] == f"/api/items/{ids['mp4']}/subtitles/2.vtt"
        async with http.get(base + plan["subtitles_url"]) as resp:
            assert resp.status == 200 and (await resp.text()).startswith("WEBVTT")
        async with http.get(f"{base}/api/playback/sessions") as resp:
            assert (await resp.json()) == {"sessions": []}
    assert ffmpeg.running() == []


async def test_sessions_are_listed_stopped_and_announced(hub_factory, media):
    hub, base, ids = await hub_with(hub_factory, media)
    events = []
    hub.bus.listen(EVENT_PLAYBACK_SESSION, events.append)
    async with aiohttp.ClientSession() as http:
        status, plan = await post(http, f"{base}/api/playback/sessions", {
            "item_id": ids["long"], "profile": "chromecast", "client": "Living Room TV", "max_bitrate": 500_000})
        assert status == 201
        sid = plan["session_id"]
        async with http.get(f"{base}/api/playback/sessions") as resp:
            listed = (await resp.json())["sessions"]
        assert [s["id"] for s in listed] == [sid]
        async with http.get(f"{base}/api/playback/sessions/{sid}") as resp:
            one = await resp.json()
        assert one["id"] == sid
        assert (one["item_id"], one["profile"], one["method"], one["protocol"], one["client"]) == (
            ids["long"], "chromecast", "transcode", "hls", "Living Room TV")
        assert one["decision"]["reasons"]  # why it is transcoded
        assert one["start"] == 0.0 and one["position"] == 0.0
        assert one["created_at"] <= one["last_activity"] <= time.time()
        assert len(one["pids"]) == 1 and os.path.exists(f"/proc/{one['pids'][0]}")
        assert one["url"] == plan["url"] and one["state"] == "streaming"
        pid = one["pids"][0]
        async with http.delete(f"{base}/api/playback/sessions/{sid}") as resp:
            assert resp.status == 204
        assert not os.path.exists(f"/proc/{pid}") and ffmpeg.running() == []
        async with http.get(f"{base}/api/playback/sessions/{sid}") as resp:
            assert resp.status == 404
            assert (await resp.json())["error"].startswith(f"no playback session '{sid}'")
        async with http.delete(f"{base}/api/playback/sessions/{sid}") as resp:
            assert resp.status == 404
    await hub.bus.drain()
    mine = [e for e in events if e.data["session"]["id"] == sid]
    assert mine[0].data["action"] == "started" and mine[-1].data["action"] == "stopped"
    assert mine[-1].data["reason"] == "stopped by the client"


async def test_max_transcodes_is_a_clear_503(hub_factory, media):
    hub, base, ids = await hub_with(hub_factory, media, "playback:\n  max_transcodes: 1\n")
    async with aiohttp.ClientSession() as http:
        status, first = await post(http, f"{base}/api/playback/sessions", {"item_id": ids["movie"], "profile": "chromecast"})
        assert status == 201
        status, body = await post(http, f"{base}/api/playback/sessions", {"item_id": ids["avi"], "profile": "chromecast"})
        assert status == 503
        assert body["error"].startswith("all 1 streaming slots are in use (playback.max_transcodes)")
        # Direct play is never limited.
        status, plan = await post(http, f"{base}/api/playback/sessions", {"item_id": ids["mp4"], "profile": "desktop_browser"})
        assert status == 200 and plan["session_id"] is None
        async with http.delete(f"{base}/api/playback/sessions/{first['session_id']}"):
            pass
        status, second = await post(http, f"{base}/api/playback/sessions", {"item_id": ids["avi"], "profile": "chromecast"})
        assert status == 201


async def test_a_client_has_one_session(hub_factory, media):
    hub, base, ids = await hub_with(hub_factory, media)
    first = await hub.playback.prepare(ids["movie"], profile="chromecast", client="kitchen")
    other = await hub.playback.prepare(ids["movie"], profile="chromecast", client="bedroom")
    second = await hub.playback.prepare(ids["avi"], profile="chromecast", client="kitchen")
    assert {s["id"] for s in hub.playback.list_sessions()} == {other.session_id, second.session_id}
    assert first.session_id not in {s["id"] for s in hub.playback.list_sessions()}


async def test_idle_sessions_time_out(hub_factory, media):
    hub, base, ids = await hub_with(hub_factory, media, "playback:\n  session_idle_timeout: 5\n")
    events = []
    hub.bus.listen(EVENT_PLAYBACK_SESSION, events.append)
    idle = await hub.playback.prepare(ids["long"], profile="chromecast", max_bitrate=500_000)
    kept = await hub.playback.prepare(ids["avi"], profile="chromecast")
    pid = hub.playback.get_session(idle.session_id).as_dict()["pids"][0]
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and idle.session_id in {s["id"] for s in hub.playback.list_sessions()}:
            # The other session's client keeps asking for its playlist.
            async with http.get(base + kept.url) as resp:
                assert resp.status == 200
            await asyncio.sleep(1)
    sessions = {s["id"] for s in hub.playback.list_sessions()}
    assert idle.session_id not in sessions and kept.session_id in sessions
    assert not os.path.exists(f"/proc/{pid}")
    await hub.bus.drain()
    stopped = [e for e in events if e.data["action"] == "stopped"]
    assert [e.data["session"]["id"] for e in stopped] == [idle.session_id]
    assert stopped[0].data["reason"] == "idle for 5 s"


async def test_position_reports_reach_the_resume_position(hub_factory, media):
    hub, base, ids = await hub_with(hub_factory, media)
    positions = []
    hub.bus.listen(EVENT_PLAYBACK_POSITION, positions.append)
    plan = await hub.playback.prepare(ids["long"], profile="desktop_browser", start=12.0, client="browser tab 1")
    # A progressive stream's plan starts where asked; positions are in the item's time.
    assert plan.start == 12.0
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{base}/api/playback/sessions/{plan.session_id}/position", json={"position": 21.5}) as resp:
            assert resp.status == 200
            row = await resp.json()
        assert (row["item_id"], row["position"], row["device"]) == (ids["long"], 21.5, "browser tab 1")
        async with http.put(f"{base}/api/playback/sessions/{plan.session_id}/position", json={"position": -1}) as resp:
            assert resp.status == 400
    assert hub.playback.get_session(plan.session_id).position == 21.5
    stored = await hub.playback.positions.get(ids["long"])
    assert stored["position"] == 21.5
    await hub.bus.drain()
    assert positions and positions[-1].data["position"] == 21.5


async def test_hub_stop_ends_a_stream_in_flight(hub_factory, media):
    hub, base, ids = await hub_with(hub_factory, media)
    plan = await hub.playback.prepare(ids["long"], profile="desktop_browser", max_bitrate=300_000)
    assert plan.decision.method == "transcode"
    session = hub.playback.get_session(plan.session_id)
    async with aiohttp.ClientSession() as http:
        resp = await http.get(base + plan.url)
        assert resp.status == 200
        await resp.content.read(1024)
        procs = session.processes()
        assert len(procs) == 1 and procs[0].returncode is None
        await hub.stop()
        resp.close()
    assert procs[0].returncode is not None
    assert ffmpeg.running() == []
    assert not session.folder.exists()


async def test_stopping_a_session_whose_client_stalls(hub_factory, media):
    # The client keeps the connection open but stops reading: ffmpeg blocks on its full pipe and
    # the response on a full socket. Stopping the session must still end ffmpeg at once.
    hub, base, ids = await hub_with(hub_factory, media)
    plan = await hub.playback.prepare(ids["long"], profile="desktop_browser", max_bitrate=300_000)
    session = hub.playback.get_session(plan.session_id)
    async with aiohttp.ClientSession() as http:
        resp = await http.get(base + plan.url)
        await resp.content.read(4096)
        await asyncio.sleep(1.5)  # ffmpeg fills the pipe and the socket meanwhile
        procs = session.processes()
        assert len(procs) == 1
        started = time.monotonic()
        async with http.delete(f"{base}/api/playback/sessions/{plan.session_id}") as deleted:
            assert deleted.status == 204
        assert time.monotonic() - started < 5
        assert procs[0].returncode is not None and not os.path.exists(f"/proc/{procs[0].pid}")
        resp.close()
    assert ffmpeg.running() == []

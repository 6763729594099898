"""The transcode endpoints and services over real HTTP and WebSocket, driving real ffmpeg."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.pgcluster import postgres_cluster, postgres_url  # noqa: F401

from .transcode_support import api, config_text, make_source, until


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request) -> str | None:
    """Every statement of the transcode store runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


async def test_queue_follow_and_report_over_http_and_websocket(hub_factory, tmp_path: Path, database_url) -> None:
    media = tmp_path / "media"
    make_source(media / "A.Movie.2001.mp4", duration=4)
    make_source(media / "Small.One.2002.mkv", duration=4, crf=30)
    make_source(media / "Song.mp3", video=False)
    hub = await hub_factory(
        config_text=config_text(media, "profile: fast\nprogress_interval: 0.1", database_url=database_url)
    )
    await hub.library.scan()

    status, body = await api(hub, "GET", "/api/transcode/profiles")
    assert status == 200 and body["profile"] == "fast"
    ffmpeg = next(t for t in body["transcoders"] if t["name"] == "ffmpeg")
    assert {"balanced", "maximum_quality", "maximum_space", "fast"} <= set(ffmpeg["profiles"])

    status, body = await api(hub, "GET", "/api/transcode/encoders")
    assert status == 200
    names = {e["name"] for e in body["transcoders"][0]["encoders"]}
    assert {"libx265", "libx264"} <= names

    status, body = await api(hub, "GET", "/api/transcode/candidates")
    assert status == 200 and body["total"] == 2, body
    assert body["candidates"][0]["estimated_savings"] >= body["candidates"][1]["estimated_savings"]
    assert body["estimated_savings"] == sum(c["estimated_savings"] for c in body["candidates"])
    assert all(c["video_codec"] == "h264" and c["reasons"] for c in body["candidates"])
    song = (await hub.library.list_items(text="Song"))[0][0]

    status, body = await api(hub, "POST", "/api/transcode/jobs", json={})
    assert status == 400 and "item_ids" in body["error"]
    status, body = await api(hub, "POST", "/api/transcode/jobs", json={"all_candidates": True, "profile": "nope"})
    assert status == 400 and "no profile 'nope'" in body["error"] and "balanced" in body["error"]

    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession() as session, session.ws_connect(f"http://{host}:{port}/api/websocket") as ws:
        await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "transcode_job_updated"})
        assert (await ws.receive_json())["success"] is True

        status, body = await api(hub, "POST", "/api/transcode/jobs", json={"all_candidates": True, "priority": 5})
        assert status == 201 and len(body["added"]) == 2
        status, again = await api(hub, "POST", "/api/transcode/jobs", json={"item_ids": [body["added"][0]["item_id"], song["id"], 999]})
        assert status == 201 and again["added"] == []
        reasons = {s["item_id"]: s["reason"] for s in again["skipped"]}
        assert "already has a queued or running job" in reasons[body["added"][0]["item_id"]]
        assert "no video stream" in reasons[song["id"]]
        assert reasons[999] == "no media item with id 999"

        seen: dict[int, list[dict]] = {}
        async with asyncio.timeout(60):
            while sum(1 for events in seen.values() if events[-1]["state"] == "done") < 2:
                msg = await ws.receive_json()
                job = msg["event"]["data"]
                seen.setdefault(job["id"], []).append(job)
    for events in seen.values():
        states = [e["state"] for e in events]
        assert states[0] == "queued" and states[-1] == "done"
        assert "running" in states and "verifying" in states
        assert all(0.0 <= e["progress"] <= 1.0 for e in events)

    status, body = await api(hub, "GET", "/api/transcode/jobs")
    assert status == 200 and body["total"] == 2 and body["queue"]["paused"] is False
    job = body["jobs"][0]
    assert job["state"] == "done" and job["outcome"] == "replaced" and job["priority"] == 5

    status, one = await api(hub, "GET", f"/api/transcode/jobs/{job['id']}")
    assert status == 200 and one["id"] == job["id"] and one["size_after"] < one["size_before"]
    status, err = await api(hub, "POST", f"/api/transcode/jobs/{job['id']}/cancel")
    assert status == 409 and "can no longer be cancelled" in err["error"]
    status, err = await api(hub, "GET", "/api/transcode/jobs/4242")
    assert status == 404
    status, err = await api(hub, "POST", "/api/transcode/jobs/4242/pause")
    assert status == 404

    status, savings = await api(hub, "GET", "/api/transcode/savings")
    assert status == 200 and savings["total"]["files"] == 2
    assert savings["total"]["saved"] == sum(j["size_before"] - j["size_after"] for j in body["jobs"])
    assert savings["libraries"][0]["name"] == "media"

    status, body = await api(hub, "GET", "/api/transcode/candidates")
    assert body["total"] == 0, "hevc results are no candidates"
    status, body = await api(hub, "GET", "/api/transcode/jobs?state=bogus")
    assert status == 400

    status, cleared = await api(hub, "DELETE", "/api/transcode/jobs")
    assert status == 200 and cleared["removed"] == 2
    status, body = await api(hub, "GET", "/api/transcode/jobs")
    assert body["total"] == 0


async def test_priority_pause_resume_and_the_queue_through_services(hub_factory, tmp_path: Path, database_url) -> None:
    media = tmp_path / "media"
    for name in ("One.2001.mp4", "Two.2002.mp4", "Three.2003.mp4"):
        make_source(media / name, duration=3)
    hub = await hub_factory(config_text=config_text(media, "profile: slow", database_url=database_url))
    await hub.library.scan()
    status, queue = await api(hub, "POST", "/api/transcode/queue/pause")
    assert status == 200 and queue["paused"] is True
    items = {i["path"].rsplit("/", 1)[-1]: i["id"] for i in (await hub.library.list_items())[0]}

    status, body = await api(hub, "POST", "/api/services/transcode/queue",
                             json={"item_ids": [items["One.2001.mp4"], items["Two.2002.mp4"], items["Three.2003.mp4"]]})
    assert status == 200, body
    one, two, three = (j["id"] for j in body["result"]["added"])
    status, body = await api(hub, "PATCH", f"/api/transcode/jobs/{three}", json={"priority": 10})
    assert status == 200 and body["priority"] == 10
    status, body = await api(hub, "POST", f"/api/transcode/jobs/{two}/pause")
    assert status == 200 and body["state"] == "paused"
    status, body = await api(hub, "GET", "/api/transcode/jobs?state=queued")
    assert [j["id"] for j in body["jobs"]] == [three, one], "priority first, then age"

    status, queue = await api(hub, "POST", "/api/transcode/queue/resume")
    assert queue["paused"] is False

    async def running() -> dict | None:
        jobs, _ = await hub.transcode.list_jobs(("running",))
        return jobs[0] if jobs and jobs[0]["progress"] > 0 else None

    first = await until(running)
    assert first["id"] == three, "the highest priority runs first; concurrency 1"
    assert hub.transcode.queue.status()["running"] == [three]

    # pausing the whole queue sends the running job back to the queue, and its temp file away
    status, queue = await api(hub, "POST", "/api/services/transcode/pause_queue", json={})
    assert status == 200
    job = await hub.transcode.get_job(three)
    assert job["state"] == "queued" and job["temp_path"] is None
    assert not [p for p in media.iterdir() if p.name.startswith(".")]

    # cancel a queued job; a paused one resumes into the queue
    status, body = await api(hub, "POST", f"/api/transcode/jobs/{one}/cancel")
    assert status == 200 and body["state"] == "cancelled"
    status, body = await api(hub, "POST", f"/api/transcode/jobs/{two}/resume")
    assert status == 200 and body["state"] == "queued"
    status, body = await api(hub, "POST", "/api/services/transcode/cancel", json={"job_id": 999})
    assert status == 400 and "no transcode job with id 999" in body["error"]

    await hub.transcode.queue.resume_all()
    first = await until(running)
    assert first["id"] == three
    status, body = await api(hub, "POST", f"/api/transcode/jobs/{three}/cancel")
    assert status == 200 and body["state"] == "cancelled" and body["message"] == "cancelled by the user"
    assert not [p for p in media.iterdir() if p.name.startswith(".")]
    second = await until(running)
    assert second["id"] == two
    status, body = await api(hub, "POST", "/api/services/transcode/cancel_all", json={})
    assert status == 200 and body["result"]["cancelled"] == [two]
    assert sorted(p.name for p in media.iterdir()) == ["One.2001.mp4", "Three.2003.mp4", "Two.2002.mp4"]


async def test_openapi_lists_the_transcode_endpoints(hub_factory, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    hub = await hub_factory(config_text=config_text(media))
    status, doc = await api(hub, "GET", "/api/openapi.json")
    assert status == 200
    paths = doc["paths"]
    for path in ("/api/transcode/jobs", "/api/transcode/jobs/{job_id}", "/api/transcode/jobs/{job_id}/cancel",
                 "/api/transcode/queue/pause", "/api/transcode/candidates", "/api/transcode/profiles",
                 "/api/transcode/encoders", "/api/transcode/savings"):
        assert path in paths, path
    assert set(paths["/api/transcode/jobs"]) >= {"get", "post", "delete"}

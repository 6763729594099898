"""The /api/dvr/ endpoints on a real hub whose tuner is the HDHomeRun simulator, found by the
hdhomerun plugin, with a guide imported from an XMLTV file written here: devices, lineup, scan,
channel mapping, guide (window, channels, search, programme, sources), rules (validation errors
name the field), schedule with a conflict explained, a recording made now and served with byte
ranges, and live TV errors (busy names the holder, unknown channel 404)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .hdhomerun_sim import HDHomeRunSimulator, SimChannel
from .tv_guide import write_sample_guide
from .waiting import wait_until


@pytest.fixture
async def sim():
    simulator = HDHomeRunSimulator(
        tuner_count=1, http_port=0, discovery_port=None,
        channels=[SimChannel("2.1", "SIM-ONE", "h264", hd=False, programme_seconds=4, commercial_seconds=2),
                  SimChannel("2.2", "SIM-TWO", "h264", hd=False),
                  SimChannel("4.1", "SIM-MPEG2", "mpeg2video", hd=False)],
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def dvr_hub(hub_factory, sim, tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir(parents=True)
    times = write_sample_guide(config_dir / "guide.xml", time.time())
    hub = await hub_factory(
        config_dir=config_dir,
        extra=(f"plugins:\n  - platform: hdhomerun\n    hosts: [{sim.base_url!r}]\n    discover: false\n"
               "dvr:\n  guide:\n    - source: guide.xml\n  container: ts\n  commercials:\n    detect: 'off'\n"
               "  padding_before: 0\n  padding_after: 0\n  live:\n    idle_timeout: 2\n"),
    )
    await wait_until(lambda: hub.dvr.pool.lineups, "the simulator's lineup")
    await wait_until(lambda: any(s.get("last_import_at") for s in hub.dvr.guide.status()), "the guide imported")
    host, port = hub.http.bound_address()
    return hub, f"http://{host}:{port}", times


async def call(http: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kw) as resp:
        body = await resp.read()
        if resp.content_type == "application/json" and body:
            import json

            return resp.status, json.loads(body)
        return resp.status, body


async def test_devices_lineup_and_scan(dvr_hub, sim) -> None:
    hub, base, _ = dvr_hub
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{base}/api/dvr/devices")
        assert status == 200
        [device] = body["devices"]
        assert device["device_id"] == sim.device_id and device["tuner_count"] == 1 and device["leases"] == []
        assert device["available"] is True and device["channels"] == 3
        status, one = await call(http, "GET", f"{base}/api/dvr/devices/{sim.device_id}")
        assert status == 200 and one["tuners_error"] is None and one["tuners"][0]["resource"] == "tuner0"
        status, body = await call(http, "GET", f"{base}/api/dvr/devices/00000000")
        assert status == 404 and "00000000" in body["error"]

        status, body = await call(http, "GET", f"{base}/api/dvr/lineup")
        assert status == 200
        channels = {c["number"]: c for c in body["channels"]}
        assert list(channels) == ["2.1", "2.2", "4.1"]
        assert channels["4.1"]["video_codec"] == "MPEG2" and channels["2.1"]["devices"] == [sim.device_id]
        # The guide's display-name "2.1" maps it automatically; 2.2 has no guide.
        assert (channels["2.1"]["guide_channel_id"], channels["2.1"]["mapping"]) == ("one.sim", "auto")
        assert channels["2.2"]["guide_channel_id"] is None and channels["2.2"]["mapping"] is None

        status, body = await call(http, "POST", f"{base}/api/dvr/lineup/scan", json={"action": "start"})
        assert status == 200 and body["devices"][0]["error"] is None
        assert body["devices"][0]["status"]["scan_in_progress"] is True
        status, body = await call(http, "POST", f"{base}/api/dvr/lineup/scan", json={"device_id": "nope"})
        assert status == 404
        status, body = await call(http, "POST", f"{base}/api/dvr/lineup/scan", json={"action": "rescan"})
        assert status == 400 and "action" in body["error"]
        status, body = await call(http, "POST", f"{base}/api/dvr/lineup/refresh")
        assert status == 200 and len(body["channels"]) == 3


async def test_channel_mapping(dvr_hub) -> None:
    hub, base, _ = dvr_hub
    async with aiohttp.ClientSession() as http:
        url = f"{base}/api/dvr/channels/2.2/mapping"
        assert await call(http, "GET", url) == (200, {"number": "2.2", "guide_channel_id": None, "mapping": None})
        status, body = await call(http, "PUT", url, json={"guide_channel_id": "mpeg2.sim"})
        assert (status, body) == (200, {"number": "2.2", "guide_channel_id": "mpeg2.sim", "mapping": "manual"})
        status, body = await call(http, "PUT", url, json={"guide_channel_id": "nope.sim"})
        assert status == 400 and "nope.sim" in body["error"] and "guide_channel_id" in body["error"]
        status, body = await call(http, "PUT", url, json={})
        assert status == 400 and "guide_channel_id" in body["error"]
        # "No guide" by hand wins over the automatic mapping of 2.1.
        status, body = await call(http, "PUT", f"{base}/api/dvr/channels/2.1/mapping", json={"guide_channel_id": None})
        assert body == {"number": "2.1", "guide_channel_id": None, "mapping": "manual"}
        status, body = await call(http, "DELETE", f"{base}/api/dvr/channels/2.1/mapping")
        assert body == {"number": "2.1", "guide_channel_id": "one.sim", "mapping": "auto"}
        status, body = await call(http, "GET", f"{base}/api/dvr/channels/99.1/mapping")
        assert status == 404 and "99.1" in body["error"]
        status, guide = await call(http, "GET", f"{base}/api/dvr/guide", params={"channels": "2.2"})
        assert [p["title"] for p in guide["channels"][0]["programmes"]] == ["Cooking Today", "Quiz Night"]


async def test_guide_window_search_programme_and_sources(dvr_hub) -> None:
    hub, base, times = dvr_hub
    async with aiohttp.ClientSession() as http:
        status, guide = await call(http, "GET", f"{base}/api/dvr/guide")
        assert status == 200
        now = time.time()
        assert abs(guide["start"] - (now - 3600)) < 60 and abs(guide["stop"] - (now + 6 * 3600)) < 60
        by_number = {c["number"]: c for c in guide["channels"]}
        assert list(by_number) == ["2.1", "2.2", "4.1"]
        one = by_number["2.1"]
        assert (one["name"], one["guide_channel_id"]) == ("SIM-ONE", "one.sim")
        assert [p["title"] for p in one["programmes"]] == ["Morning News", "The Late Film"]
        film = one["programmes"][1]
        assert film["start"] == times["film"] and film["stop"] == times["end"]
        assert (film["season"], film["episode"], film["new"], film["numbers"]) == (1, 1, True, ["2.1"])
        assert film["scheduled"] is False and film["conflict"] is None
        assert by_number["2.2"]["programmes"] == []

        # A window that ends before the film starts leaves it out.
        status, guide = await call(http, "GET", f"{base}/api/dvr/guide",
                                   params={"start": times["news"], "stop": times["film"], "channels": "2.1"})
        assert [c["number"] for c in guide["channels"]] == ["2.1"]
        assert [p["title"] for p in guide["channels"][0]["programmes"]] == ["Morning News"]
        for params, word in (({"channels": "2.1,77.7"}, "77.7"), ({"start": 100, "stop": 50}, "stop"),
                             ({"start": 0, "stop": 40 * 86400}, "15 days"), ({"start": "soon"}, "start")):
            status, body = await call(http, "GET", f"{base}/api/dvr/guide", params=params)
            assert status == 400 and word in body["error"], (params, body)

        status, found = await call(http, "GET", f"{base}/api/dvr/guide/search", params={"q": "two parts"})
        assert [p["title"] for p in found["programmes"]] == ["The Late Film"]
        status, body = await call(http, "GET", f"{base}/api/dvr/guide/search")
        assert status == 400 and "'q'" in body["error"]
        status, prog = await call(http, "GET", f"{base}/api/dvr/guide/programmes/{film['id']}")
        assert status == 200 and prog["subtitle"] == "Part One" and prog["numbers"] == ["2.1"]
        status, body = await call(http, "GET", f"{base}/api/dvr/guide/programmes/999999")
        assert status == 404

        status, body = await call(http, "GET", f"{base}/api/dvr/guide/channels")
        assert sorted(c["id"] for c in body["channels"]) == ["mpeg2.sim", "one.sim"]
        status, body = await call(http, "GET", f"{base}/api/dvr/guide/sources")
        [source] = body["sources"]
        assert source["result"]["programmes"] == 4 and source["error"] is None
        status, body = await call(http, "POST", f"{base}/api/dvr/guide/refresh")
        assert status == 200 and body["results"][0]["programmes"] == 4


async def test_rules_schedule_and_conflict(dvr_hub, sim) -> None:
    hub, base, times = dvr_hub
    async with aiohttp.ClientSession() as http:
        # Validation errors name the field; an unknown channel lists the known ones.
        status, body = await call(http, "POST", f"{base}/api/dvr/rules", json={"kind": "daily", "channel": "2.1", "duration": 60})
        assert status == 400 and "start_time" in body["error"]
        status, body = await call(http, "POST", f"{base}/api/dvr/rules",
                                  json={"kind": "daily", "channel": "8.8", "start_time": "20:00", "duration": 60})
        assert status == 400 and "8.8" in body["error"] and "2.1" in body["error"]
        status, body = await call(http, "POST", f"{base}/api/dvr/rules", json={"kind": "hourly"})
        assert status == 400 and "kind" in body["error"]
        status, body = await call(http, "POST", f"{base}/api/dvr/rules", json={"kind": "series", "title": 5})
        assert status == 400 and "title" in body["error"]

        _, guide = await call(http, "GET", f"{base}/api/dvr/guide")
        progs = {p["title"]: (c["number"], p) for c in guide["channels"] for p in c["programmes"]}
        number, film = progs["The Late Film"]
        status, film_rule = await call(http, "POST", f"{base}/api/dvr/rules", json={
            "kind": "once", "programme_id": film["id"], "channel": number, "start": film["start"], "stop": film["stop"],
            "title": film["title"]})
        assert status == 201 and film_rule["kind"] == "once" and film_rule["enabled"] is True
        # The one tuner cannot also record "Quiz Night" (at the same time, on 4.1): a conflict, explained.
        status, quiz_rule = await call(http, "POST", f"{base}/api/dvr/rules", json={
            "kind": "series", "title": "Quiz Night", "channel": "4.1", "priority": -1})
        assert status == 201
        status, plan = await call(http, "POST", f"{base}/api/dvr/schedule")
        assert status == 200
        assert [(e["title"], e["channel"], e["device_id"]) for e in plan["entries"]] == [("The Late Film", "2.1", sim.device_id)]
        [conflict] = plan["conflicts"]
        assert conflict["title"] == "Quiz Night" and conflict["reason"] == "no_tuner"
        assert "The Late Film" in conflict["message"], conflict["message"]
        status, again = await call(http, "GET", f"{base}/api/dvr/schedule")
        assert again["entries"] == plan["entries"]
        # The guide marks both: one scheduled, one with the conflict's message.
        _, guide = await call(http, "GET", f"{base}/api/dvr/guide")
        marks = {p["title"]: (p["scheduled"], p["conflict"]) for c in guide["channels"] for p in c["programmes"]}
        assert marks["The Late Film"] == (True, None) and marks["Quiz Night"] == (False, conflict["message"])
        assert marks["Cooking Today"] == (False, None)

        # Disable the film's rule: the quiz fits.
        status, rule = await call(http, "PUT", f"{base}/api/dvr/rules/{film_rule['id']}", json={"enabled": False})
        assert status == 200 and rule["enabled"] is False
        _, plan = await call(http, "POST", f"{base}/api/dvr/schedule")
        assert [e["title"] for e in plan["entries"]] == ["Quiz Night"] and plan["conflicts"] == []
        status, body = await call(http, "PUT", f"{base}/api/dvr/rules/{film_rule['id']}", json={"start_time": "20:00"})
        assert status == 400 and "start_time" in body["error"]
        assert (await call(http, "GET", f"{base}/api/dvr/rules/{quiz_rule['id']}"))[1]["title"] == "Quiz Night"
        assert [r["id"] for r in (await call(http, "GET", f"{base}/api/dvr/rules"))[1]["rules"]] == [film_rule["id"], quiz_rule["id"]]
        assert (await call(http, "DELETE", f"{base}/api/dvr/rules/{film_rule['id']}"))[0] == 204
        assert (await call(http, "DELETE", f"{base}/api/dvr/rules/{film_rule['id']}"))[0] == 404
        assert (await call(http, "GET", f"{base}/api/dvr/rules/{film_rule['id']}"))[0] == 404
        assert (await call(http, "PUT", f"{base}/api/dvr/rules/{film_rule['id']}", json={"enabled": True}))[0] == 404


async def test_record_now_then_serve_and_delete_the_file(dvr_hub, sim) -> None:
    hub, base, _ = dvr_hub
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, "POST", f"{base}/api/dvr/recordings", json={"channel": "9.9", "duration": 3})
        assert status == 400 and "9.9" in body["error"]
        status, rule = await call(http, "POST", f"{base}/api/dvr/recordings", json={"channel": "2.1", "duration": 3, "title": "Quick"})
        assert status == 201 and rule["kind"] == "once" and rule["title"] == "Quick"

        async def finished() -> dict | None:
            _, body = await call(http, "GET", f"{base}/api/dvr/recordings")
            recs = [r for r in body["recordings"] if r["title"] == "Quick"]
            return recs[0] if recs and recs[0]["state"] in ("done", "partial", "failed") else None

        rec = await wait_until(finished, "the recording finished", timeout=60)
        assert rec["state"] == "done", rec
        assert rec["file_url"] == f"/api/dvr/recordings/{rec['id']}/file" and rec["size"] > 0
        status, one = await call(http, "GET", f"{base}/api/dvr/recordings/{rec['id']}")
        assert status == 200 and one["path"] == rec["path"]
        status, listed = await call(http, "GET", f"{base}/api/dvr/recordings", params={"state": "done"})
        assert [r["id"] for r in listed["recordings"]] == [rec["id"]]
        status, body = await call(http, "GET", f"{base}/api/dvr/recordings", params={"state": "lost"})
        assert status == 400 and "state" in body["error"]

        size = Path(rec["path"]).stat().st_size
        async with http.get(base + rec["file_url"], headers={"Range": "bytes=0-187"}) as resp:
            assert resp.status == 206 and resp.headers["Content-Range"] == f"bytes 0-187/{size}"
            data = await resp.read()
            assert len(data) == 188 and data[0] == 0x47  # an MPEG-TS packet
        async with http.head(base + rec["file_url"]) as resp:
            assert resp.status == 200 and int(resp.headers["Content-Length"]) == size

        status, body = await call(http, "POST", f"{base}/api/dvr/recordings/{rec['id']}/stop")
        assert status == 409 and "not running" in body["error"]
        assert (await call(http, "DELETE", f"{base}/api/dvr/recordings/{rec['id']}"))[0] == 204
        assert not Path(rec["path"]).exists()
        for method, suffix in (("GET", ""), ("GET", "/file"), ("DELETE", ""), ("POST", "/stop")):
            status, body = await call(http, method, f"{base}/api/dvr/recordings/{rec['id']}{suffix}")
            assert status == 404 and str(rec["id"]) in body["error"], (method, suffix)


async def test_live_tv_errors(dvr_hub, sim) -> None:
    hub, base, _ = dvr_hub
    async with aiohttp.ClientSession() as http:
        status, session = await call(http, "POST", f"{base}/api/dvr/live", json={"channel": "2.1", "client": "one"})
        assert status == 201 and session["video"] == "copy" and session["device_id"] == sim.device_id
        status, body = await call(http, "POST", f"{base}/api/dvr/live", json={"channel": "4.1", "client": "two"})
        assert status == 503 and "live" in body["error"] and "2.1" in body["error"], body
        status, body = await call(http, "POST", f"{base}/api/dvr/live", json={"channel": "12.1"})
        assert status == 404 and "12.1" in body["error"]
        status, body = await call(http, "POST", f"{base}/api/dvr/live", json={"channel": "2.1", "extra": 1})
        assert status == 400 and "extra" in body["error"]
        async with http.get(base + session["url"], headers={"Range": "bytes=100-"}) as resp:
            assert resp.status == 416
        async with http.head(base + session["url"]) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
        status, body = await call(http, "GET", f"{base}/api/dvr/live")
        assert [s["id"] for s in body["sessions"]] == [session["id"]]
        assert (await call(http, "DELETE", f"{base}/api/dvr/live/{session['id']}"))[1]["reason"] == "stopped"
        await wait_until(lambda: sim.active_streams == 0, "the simulator's tuner free")
        status, body = await call(http, "GET", f"{base}/api/dvr/live", params={"ended": "true"})
        assert [(s["id"], s["state"]) for s in body["sessions"]] == [(session["id"], "ended")]
        assert (await call(http, "GET", f"{base}/api/dvr/live"))[1]["sessions"] == []
        status, body = await call(http, "GET", base + session["url"])
        assert status == 410 and "stopped" in body["error"]
        assert (await call(http, "GET", f"{base}/api/dvr/live/nothing"))[0] == 404
        assert (await call(http, "DELETE", f"{base}/api/dvr/live/nothing"))[0] == 404

"""The DVR end to end, as a user has it: an HDHomeRun (the simulator) configured by address, an
XMLTV guide file, a series rule made through the HTTP API; the hub schedules the airing, leases a
tuner, records the stream, finds the commercial break, and imports the recording into the TV
library with the guide's metadata. Also: the plan reports a conflict before it happens, and a
hub stopped in the middle of a recording resumes it after the restart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import minimal_config
from tests.hdhomerun_sim import HDHomeRunSimulator
from tests.tv_guide import write_xmltv
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(240)


def dvr_config(tv: Path, sim: HDHomeRunSimulator, extra_dvr: str = "") -> str:
    return minimal_config(
        [],
        f"libraries:\n  - name: TV\n    path: {str(tv)!r}\n    type: tv\n"
        f"plugins:\n  - platform: hdhomerun\n    hosts: [{sim.base_url!r}]\n    discover: false\n"
        "dvr:\n  guide:\n    - source: guide.xml\n      refresh: 0\n"
        "  padding_before: 0\n  padding_after: 0\n  stall_timeout: 3\n  reconnect_delay: 0.5\n"
        f"{extra_dvr}",
    ).replace("libraries:\n  []\n", "")


@pytest.fixture
async def sim() -> Any:
    device = HDHomeRunSimulator(tuner_count=2, device_id="1053C0CA")
    await device.start()
    yield device
    await device.stop()


async def _lineup_ready(hub: Any) -> bool:
    return any(c["number"] == "2.1" and c["guide_channel_id"] == "one.sim" for c in await hub.dvr.lineup())


def _ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


async def test_series_rule_records_detects_commercials_and_imports(
    hub_factory: Any, tmp_path: Path, sim: HDHomeRunSimulator
) -> None:
    tv = tmp_path / "tv"
    tv.mkdir()
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    now = time.time()
    start = now + 4
    write_xmltv(config_dir / "guide.xml", [
        {"channel": "one.sim", "start": now - 600, "stop": start, "title": "Earlier"},
        {"channel": "one.sim", "start": start, "stop": start + 34, "title": "Evening Show",
         "sub": "The Third", "ns": "0.2.", "desc": "Three of them meet."},
        {"channel": "one.sim", "start": start + 34, "stop": start + 3600, "title": "Late"},
    ])
    (config_dir / "configuration.yaml").write_text(dvr_config(tv, sim))
    hub = await hub_factory(config_dir=config_dir)
    await wait_until(lambda: _lineup_ready(hub), "the lineup mapped to the guide", timeout=60)

    host, port = hub.http.bound_address()
    async with aiohttp.ClientSession(f"http://{host}:{port}") as http:
        resp = await http.post("/api/dvr/rules", json={"kind": "series", "title": "evening show"})
        assert resp.status in (200, 201), await resp.text()
        resp = await http.post("/api/dvr/schedule")
        plan = await resp.json()
        assert [(e["title"], e["channel"], e["device_id"]) for e in plan["entries"]] == [("Evening Show", "2.1", "1053C0CA")]

        async def done() -> dict[str, Any] | None:
            recs = await (await http.get("/api/dvr/recordings")).json()
            recs = recs.get("recordings", recs) if isinstance(recs, dict) else recs
            return next((r for r in recs if r["state"] in ("done", "partial", "failed")), None)

        rec = await wait_until(done, "the recording finished and imported", timeout=150)

    assert rec["state"] == "done", rec
    expected = tv / "Evening Show" / "Season 01" / "Evening Show - S01E03 - The Third.mkv"
    assert rec["path"] == str(expected) and expected.is_file()
    info = _ffprobe(expected)
    assert 30 <= float(info["format"]["duration"]) <= 38
    assert {s["codec_type"] for s in info["streams"]} >= {"video", "audio"}
    # the simulator's break sits at 20–32 s of its loop; the stream starts at the loop's start
    assert rec["commercials"], "no commercial break found"
    first = rec["commercials"][0]
    assert abs(first[0] - 20) < 3 and abs(first[1] - 32) < 3, rec["commercials"]
    assert any("ommercial" in (c.get("tags", {}).get("title", "")) for c in info["chapters"]), info["chapters"]
    # every byte the device sent is in the parts that were joined; the parts are gone
    served = sum(s["bytes"] for s in sim.stream_log)
    assert sum(p["bytes"] for p in rec["parts"]) == served
    assert not any(Path(p["path"]).exists() for p in rec["parts"])
    assert sim.active_streams == 0
    item = await hub.library.get_item(rec["item_id"])
    assert (item["title"], item["season"], item["episode"], item["episode_title"]) == ("Evening Show", 1, 3, "The Third")
    device = hub.devices.get_by_key("hdhomerun", "1053C0CA")
    assert {hub.states.get(e.entity_id).state for e in hub.entities.for_device(device.id)} == {"idle"}


async def test_conflicts_are_reported_before_they_happen(hub_factory: Any, tmp_path: Path, sim: HDHomeRunSimulator) -> None:
    tv = tmp_path / "tv"
    tv.mkdir()
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    start = time.time() + 3600
    write_xmltv(config_dir / "guide.xml", [
        {"channel": "one.sim", "start": start, "stop": start + 1800, "title": "Alpha"},
        {"channel": "two.sim", "start": start, "stop": start + 1800, "title": "Bravo"},
        {"channel": "mpeg.sim", "start": start + 600, "stop": start + 2400, "title": "Charlie"},
    ])
    (config_dir / "configuration.yaml").write_text(dvr_config(tv, sim))
    hub = await hub_factory(config_dir=config_dir)
    await wait_until(lambda: _lineup_ready(hub), "the lineup mapped to the guide", timeout=60)
    for title, priority in (("Alpha", 10), ("Bravo", 5), ("Charlie", 1)):
        await hub.dvr.add_rule({"kind": "series", "title": title, "priority": priority})
    plan = await hub.dvr.plan()
    assert sorted(e["title"] for e in plan["entries"]) == ["Alpha", "Bravo"]
    [conflict] = plan["conflicts"]
    assert conflict["title"] == "Charlie" and conflict["reason"] == "no_tuner"
    assert "Alpha" in conflict["message"] and "Bravo" in conflict["message"]


async def test_a_recording_survives_a_hub_restart(hub_factory: Any, tmp_path: Path, sim: HDHomeRunSimulator) -> None:
    tv = tmp_path / "tv"
    tv.mkdir()
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    write_xmltv(config_dir / "guide.xml", [])
    (config_dir / "configuration.yaml").write_text(
        dvr_config(tv, sim, "  commercials:\n    detect: off\n")
    )
    hub = await hub_factory(config_dir=config_dir)
    await wait_until(lambda: _lineup_ready(hub), "the lineup", timeout=60)
    await hub.dvr.record_now("2.2", 14, title="Restart Test")

    await wait_until(lambda: _writing(hub, 100_000), "the recording writing", timeout=30)
    await hub.stop()
    [rec] = await _recordings_in(config_dir)
    assert rec["state"] == "recording" and rec["parts"]
    assert sim.active_streams == 0

    await asyncio.sleep(1.5)
    hub2 = await hub_factory(config_dir=config_dir)

    rec = await wait_until(lambda: _finished(hub2), "the resumed recording finished", timeout=90)
    assert rec["state"] == "partial", rec
    assert len(rec["parts"]) == 2 and rec["gaps"]
    assert Path(rec["path"]).is_file()
    # 14 s asked, 2 s of it lost while the hub was down; the parts are joined on one clock
    assert 8 <= float(_ffprobe(Path(rec["path"]))["format"]["duration"]) <= 20


async def _finished(hub: Any) -> dict[str, Any] | None:
    """The newest recording once it is neither recording nor processing."""
    recs = await hub.dvr.recordings()
    return recs[0] if recs and recs[0]["state"] not in ("recording", "processing") else None


async def _writing(hub: Any, size: int) -> bool:
    recs = await hub.dvr.recordings()
    return bool(recs) and recs[0]["size"] > size


async def _recordings_in(config_dir: Path) -> list[dict[str, Any]]:
    """The recordings table of a stopped hub's database."""
    from omnimedia.core.db import Database
    from omnimedia.core.dvr.store import DvrStore

    db = Database(f"sqlite+aiosqlite:///{config_dir / 'omnimedia.db'}")
    await db.connect()
    try:
        return await DvrStore(db).recordings()
    finally:
        await db.close()


async def test_a_recording_that_ended_while_the_hub_was_down_is_finished(
    hub_factory: Any, tmp_path: Path, sim: HDHomeRunSimulator
) -> None:
    tv = tmp_path / "tv"
    tv.mkdir()
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    write_xmltv(config_dir / "guide.xml", [])
    (config_dir / "configuration.yaml").write_text(dvr_config(tv, sim, "  commercials:\n    detect: 'off'\n"))
    hub = await hub_factory(config_dir=config_dir)
    await wait_until(lambda: _lineup_ready(hub), "the lineup", timeout=60)
    await hub.dvr.record_now("2.1", 14, title="Short")

    await wait_until(lambda: _writing(hub, 50_000), "the recording writing", timeout=30)
    await hub.stop()
    [rec] = await _recordings_in(config_dir)
    await asyncio.sleep(max(0.0, rec["padded_stop"] - time.time()) + 1)

    hub2 = await hub_factory(config_dir=config_dir)

    rec = await wait_until(lambda: _finished(hub2), "the interrupted recording finished", timeout=60)
    assert rec["state"] == "partial" and Path(rec["path"]).is_file(), rec
    assert len(rec["parts"]) == 1 and rec["parts"][0]["end"] is not None
    # the gap runs from the last byte written to the end of the airing
    assert rec["gaps"][-1]["end"] == pytest.approx(rec["padded_stop"], abs=1)
    assert sim.active_streams == 0

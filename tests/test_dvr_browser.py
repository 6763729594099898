"""The guide, the DVR page and live TV in real Chromium against a real hub whose tuner is the
HDHomeRun simulator (tests/hdhomerun_sim.py) found by the hdhomerun plugin, with a guide from an
XMLTV file written here.

- The guide grid shows the simulator's channels with the programmes of the XMLTV file; clicking a
  programme shows its details, and "Record once" makes a rule that the DVR page lists (with the
  airing among the upcoming recordings).
- Clicking a channel in the guide plays it live: the <video>'s currentTime advances while the
  simulator streams on one tuner; channel up replaces the session (still one tuner); leaving the
  page ends the session and the simulator's tuner is free again long before the idle timeout.
- When a recording takes the tuner, the live page shows the reason.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .browser import chromium_page, require_chromium
from .hdhomerun_sim import HDHomeRunSimulator, SimChannel
from .tv_guide import write_sample_guide
from .waiting import wait_until

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
PLAYER = "document.querySelector('#live-player')"


@pytest.fixture
async def sim():
    simulator = HDHomeRunSimulator(
        tuner_count=1, http_port=0, discovery_port=None,
        channels=[SimChannel("2.1", "SIM-ONE", "h264", hd=False), SimChannel("2.2", "SIM-TWO", "h264", hd=False),
                  SimChannel("4.1", "SIM-MPEG2", "mpeg2video", hd=False)],
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


async def start_hub(hub_factory, sim, tmp_path: Path, *, guide: bool = True):
    config_dir = tmp_path / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    times = write_sample_guide(config_dir / "guide.xml", time.time()) if guide else {}
    guide_conf = "  guide:\n    - source: guide.xml\n" if guide else ""
    hub = await hub_factory(
        config_dir=config_dir,
        extra=(f"plugins:\n  - platform: hdhomerun\n    hosts: [{sim.base_url!r}]\n    discover: false\n"
               f"dvr:\n{guide_conf}  live:\n    idle_timeout: 60\n"),
    )
    await wait_until(lambda: hub.dvr.pool.lineups, "the simulator's lineup")
    host, port = hub.http.bound_address()
    return hub, f"http://{host}:{port}", times


async def _advancing(page, minimum: float = 0.3) -> float:
    await page.wait_for_function(f"() => {PLAYER}.currentTime > {minimum} && !{PLAYER}.paused", timeout=TIMEOUT_MS)
    first = await page.evaluate(f"{PLAYER}.currentTime")
    await page.wait_for_function(f"() => {PLAYER}.currentTime > {first + 0.5}", timeout=TIMEOUT_MS)
    return first


async def test_live_tv_plays_and_leaving_releases_the_tuner(hub_factory, sim, tmp_path) -> None:
    from playwright.async_api import expect

    require_chromium()
    hub, base, _ = await start_hub(hub_factory, sim, tmp_path, guide=False)
    async with chromium_page(viewport={"width": 1360, "height": 900}) as (page, errors):
        await page.goto(f"{base}/#/guide")
        row = page.locator('.guide-row[data-channel="2.1"]')
        await expect(row).to_contain_text("SIM-ONE")
        await expect(row).to_contain_text("No guide for this channel")
        await row.locator("a.guide-channel").click()
        await expect(page).to_have_url(f"{base}/#/live/2.1")
        await _advancing(page)
        assert sim.active_streams == 1
        await expect(page.locator("#live-title")).to_have_text("2.1 SIM-ONE")
        await expect(page.locator("#live-state .badge")).to_have_text("Live")

        # Channel up: the tab's session is replaced, the one tuner moves to 2.2.
        await page.click("#live-up")
        await expect(page).to_have_url(f"{base}/#/live/2.2")
        await _advancing(page)
        sessions = hub.dvr.live.sessions()
        assert [s["channel"] for s in sessions] == ["2.2"] and sim.active_streams == 1

        # Leaving the page ends the session at once (the idle timeout is 60 s).
        await page.click('#nav a[data-route="dvr"]')
        await wait_until(lambda: sim.active_streams == 0, "the simulator's tuner free again", timeout=10)
        await wait_until(lambda: hub.dvr.live.sessions() == [], "the session ended", timeout=10)
        await expect(page.locator("#dvr-devices-table")).to_contain_text("0 of 1")

        # An MPEG-2 channel is converted for the browser and plays too.
        await page.goto(f"{base}/#/live/4.1")
        await _advancing(page)
        await expect(page.locator("#live-facts")).to_contain_text("converted to H.264")

        # A recording takes the only tuner: the page says why live TV ended.
        lease = await hub.dvr.acquire("2.1", purpose="recording", holder="recording:test", title="Test recording")
        await expect(page.locator("#live-reason")).to_have_text("a recording needs the tuner", timeout=TIMEOUT_MS)
        await expect(page.locator("#live-state .badge")).to_have_text("Ended")
        await lease.release()
        assert errors == []


async def test_guide_grid_and_record_once(hub_factory, sim, tmp_path) -> None:
    from playwright.async_api import expect

    require_chromium()
    hub, base, times = await start_hub(hub_factory, sim, tmp_path)
    await wait_until(lambda: any(s.get("last_import_at") for s in hub.dvr.guide.status()), "the guide imported")
    async with chromium_page(viewport={"width": 1360, "height": 900}) as (page, errors):
        await page.goto(f"{base}/#/guide")
        one = page.locator('.guide-row[data-channel="2.1"]')
        await expect(one.locator(".guide-channel")).to_contain_text("SIM-ONE")
        news = one.locator('.guide-prog[data-title="Morning News"]')
        film = one.locator('.guide-prog[data-title="The Late Film"]')
        await expect(news).to_have_class("guide-prog airing")
        await expect(film).to_contain_text("S01E01")
        await expect(film.locator(".badge")).to_have_text("New")
        await expect(page.locator('.guide-row[data-channel="4.1"] .guide-prog .badge')).to_have_text("Repeat")
        await expect(page.locator('.guide-row[data-channel="2.2"]')).to_contain_text("No guide for this channel")
        await expect(page.locator("#guide-now-line")).to_be_visible()
        # Programmes are as wide as they last: the two-hour film is twice the hour of news.
        news_box, film_box = await news.bounding_box(), await film.bounding_box()
        assert abs(film_box["width"] - 2 * news_box["width"]) < 6, (news_box, film_box)
        assert abs(film_box["x"] - (news_box["x"] + news_box["width"])) < 6

        # Airing now: the details offer to watch it; the film, later, to record it.
        await news.click()
        await expect(page.locator("#guide-details-title")).to_contain_text("Morning News")
        await expect(page.locator("#guide-watch")).to_be_visible()
        await film.click()
        await expect(page.locator("#guide-details-title")).to_contain_text("The Late Film — Part One")
        await expect(page.locator("#guide-watch")).to_have_count(0)
        await page.click("#guide-record-once")
        await expect(page.locator("#guide-record-note")).to_contain_text("will be recorded on 2.1")
        rules = await hub.dvr.rules()
        assert [(r["kind"], r["title"], r["channel"]) for r in rules] == [("once", "The Late Film", "2.1")]
        # The plan records it: the grid marks it.
        await expect(film.locator(".rec-dot")).to_have_count(1, timeout=TIMEOUT_MS)

        # The DVR page lists the rule and the upcoming recording.
        await page.click('#nav a[data-route="dvr"]')
        await expect(page.locator("#dvr-rules-table")).to_contain_text("The Late Film")
        await expect(page.locator("#dvr-upcoming-table")).to_contain_text("The Late Film")
        await expect(page.locator("#dvr-upcoming-table")).to_contain_text("2.1")
        # A rule the one tuner cannot serve: the page says which airing and why, as it happens.
        await hub.dvr.add_rule({"kind": "series", "title": "Quiz Night", "channel": "4.1", "priority": -1})
        conflict = page.locator('#dvr-conflict-list li[data-reason="no_tuner"]')
        await expect(conflict).to_contain_text("Quiz Night", timeout=TIMEOUT_MS)
        await expect(conflict).to_contain_text("The Late Film")
        await expect(page.locator("#dvr-summary")).to_contain_text("1 conflict")

        # A weekly rule from the form; a bad one is refused with the field named.
        await page.click("#dvr-new-rule")
        await page.select_option("#rule-kind", "weekly")
        await page.fill("#rule-title", "Quiz Night")
        await page.select_option("#rule-channel", "4.1")
        await page.fill("#rule-start-time", "21:30")
        await page.fill("#rule-duration", "30")
        for box in await page.locator("#rule-days input").all():
            await box.uncheck()
        await page.click("#rule-submit")
        await expect(page.locator("#rule-error")).to_contain_text("days")
        await page.check("#rule-days input[value='3']")
        await page.click("#rule-submit")
        row = page.locator('#dvr-rules-table tr[data-kind="weekly"]')
        await expect(row).to_contain_text("Quiz Night: Thu at 21:30 for 30 min on 4.1")
        rule = next(r for r in await hub.dvr.rules() if r["kind"] == "weekly")
        assert rule["days"] == [3] and rule["duration"] == 1800 and rule["start_time"] == "21:30"
        # Disable it, then delete it.
        await row.locator('input[data-action="toggle"]').uncheck()
        await expect(page.locator('#dvr-rules-table tr[data-kind="weekly"]')).to_have_class("unmonitored")
        delete = page.locator('#dvr-rules-table tr[data-kind="weekly"] [data-action="delete"]')
        await delete.click()
        await delete.click()
        await expect(page.locator('#dvr-rules-table tr[data-kind="weekly"]')).to_have_count(0)
        assert errors == []

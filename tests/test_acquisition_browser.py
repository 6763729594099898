"""The acquisition pages of the dashboard in real Chromium against a real hub.

The hub searches two Torznab indexers over HTTP (:mod:`tests.indexer_server`): one serves the real
captured HDAccess feed of ``../shared/fixtures/indexers``, the other answers every request with a
Newznab error document. Through the browser: add a wanted series by hand, open the interactive
search for one episode and see the accepted release first, the rejected ones with their reasons,
and the broken indexer as an error line while the good indexer's results still show; a grab with
no download client configured shows the hub's refusal; the queue renders a tracked grab and moves
its progress bar when an ``acquisition_grab_updated`` event arrives over the WebSocket (no
reload); removing it with "Blocklist" lands in History and the Blocklist, which can be cleared;
the health page shows the working indexer as OK and the broken one as failing, with its message
and when it is retried; an automatic search from Wanted reports what happened.
"""

from __future__ import annotations

import asyncio
import os
import re
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from omnimedia.core.acquisition.torrent import infohash_from_torrent, make_torrent

from .browser import chromium_page, require_chromium
from .daemons import TransmissionDaemon
from .indexer_server import Fault, IndexerServer
from .torznab_feed import TorznabFeed

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 20_000
SCREENSHOTS = Path("/tmp")
FEED = "torznab/torznab_hdaccess_net.xml"  # 5 real items; the first is Better Call Saul S01E05
FEED_ITEMS = 5
DOWN = "Tracker is down for maintenance"


@pytest.fixture
async def indexers(shared_fixtures: Path) -> AsyncIterator[tuple[IndexerServer, IndexerServer]]:
    """(good, broken): the real HDAccess feed, and a server answering with error code 900."""
    good = IndexerServer(shared_fixtures / "indexers")
    good.feed = FEED
    broken = IndexerServer(shared_fixtures / "indexers")
    broken.fault = Fault(kind="error", code=900, description=DOWN)
    await good.start()
    await broken.start()
    yield good, broken
    await good.stop()
    await broken.stop()


async def test_acquisition_pages(hub_factory, indexers: tuple[IndexerServer, IndexerServer]) -> None:
    from playwright.async_api import expect

    require_chromium()
    good, broken = indexers
    extra = (
        "acquisition:\n  rss_sync_interval: 0\n"
        "plugins:\n"
        f"  - platform: torznab\n    name: HDAccess\n    url: {good.url}\n    api_key: k\n"
        f"  - platform: torznab\n    name: broken\n    url: {broken.url}\n    api_key: k\n"
    )
    hub = await hub_factory(extra=extra)
    host, port = hub.http.bound_address()
    base = f"http://{host}:{port}"

    async with chromium_page(viewport={"width": 1440, "height": 900}, color_scheme="dark") as (page, errors):
        # -- Wanted: add a series by hand ----------------------------------------------------------
        await page.goto(f"{base}/#/wanted")
        await expect(page.locator("#conn")).to_have_attribute("data-status", "connected")
        await expect(page.locator('#nav a[data-route="wanted"]')).to_have_attribute("aria-current", "page")
        await expect(page.locator("#wanted-list")).to_contain_text("Nothing is wanted yet")
        await page.click("#wanted-add-toggle")
        await expect(page.locator("#add-profile option", has_text="HD-1080p")).to_have_count(1)
        await page.select_option("#add-media-type", "series")
        await page.fill("#add-title", "Better Call Saul")
        await page.fill("#add-year", "2015")
        await page.select_option("#add-profile", "HD-1080p")
        await page.fill("#add-episodes", "S01E04-E06")
        await page.uncheck("#add-lookup")
        await page.screenshot(path=str(SCREENSHOTS / "acquisition-add.png"))
        await page.click("#add-submit")
        rows = page.locator("#wanted-titles tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Better Call Saul")
        await expect(rows.first).to_contain_text("0/3")
        await expect(rows.first).to_contain_text("3 missing")
        await expect(page.locator("#wanted-summary")).to_contain_text("1 title · 3 missing")
        (title,) = (await _get(base, "/api/acquisition/wanted"))["titles"]
        assert title["quality_profile"] == "HD-1080p" and title["year"] == 2015
        assert sorted((t["season"], t["episode"]) for t in title["targets"]) == [(1, 4), (1, 5), (1, 6)]
        await page.screenshot(path=str(SCREENSHOTS / "acquisition-wanted.png"))

        # Missing tab: one row per episode with its own search buttons.
        await page.click('.tab[data-tab="missing"]')
        missing = page.locator("#wanted-missing tbody tr")
        await expect(missing).to_have_count(3)
        await expect(missing.nth(1)).to_contain_text("S01E05")

        # -- Interactive search for S01E05 ---------------------------------------------------------
        await missing.filter(has_text="S01E05").locator('[data-action="interactive"]').click()
        await expect(page.locator("#search-for-title")).to_have_text("Better Call Saul (2015) S01E05")
        table_rows = page.locator("#search-table tbody tr")
        await expect(table_rows).to_have_count(FEED_ITEMS, timeout=LIVE_TIMEOUT_MS)
        await expect(page.locator("#search-status")).to_contain_text(f"{FEED_ITEMS} releases from 2 indexers")
        await expect(page.locator("#search-status")).to_contain_text("1 accepted")
        # The broken indexer is an error line; the good one's results are all there.
        error_line = page.locator('#search-errors .indexer-error[data-indexer="broken"]')
        await expect(error_line).to_be_visible()
        await expect(error_line).to_contain_text(DOWN)
        # Accepted first, with a Grab button; every rejected release shows its reasons.
        first = table_rows.first
        await expect(first).to_have_attribute("data-decision", "accepted")
        await expect(first).to_contain_text("Better Call Saul S01E05 Alpine Shepherd 1080p NF WEBRip DD5.1 x264")
        await expect(first).to_contain_text("WEBRip-1080p")
        await expect(first).to_contain_text("2.4 GiB")
        await expect(first).to_contain_text("7 / 7")
        await expect(first).to_contain_text("HDAccess")
        await expect(first.locator('[data-action="grab"]')).to_have_text("Grab")
        await expect(first.locator(".rejection")).to_have_count(0)
        rejected = page.locator('#search-table tr[data-decision="rejected"]')
        await expect(rejected).to_have_count(FEED_ITEMS - 1)
        for n in range(FEED_ITEMS - 1):
            await expect(rejected.nth(n).locator(".rejection").first).to_be_visible()
            await expect(rejected.nth(n).locator('[data-action="grab"]')).to_have_text("Grab anyway")
        monkeys = rejected.filter(has_text="12 Monkeys S01E09")
        # Interactive searches parse every name, so the reason says what the release is.
        await expect(monkeys.locator(".reasons")).to_have_text("Title '12 Monkeys' does not match Better Call Saul")
        await page.screenshot(path=str(SCREENSHOTS / "acquisition.png"), full_page=True)

        # Only accepted releases when rejected ones are hidden.
        await page.uncheck("#search-show-rejected")
        await expect(table_rows).to_have_count(1)
        await page.check("#search-show-rejected")
        await expect(table_rows).to_have_count(FEED_ITEMS)

        # Grabbing needs a download client: the hub's refusal shows in the error banner.
        await first.locator('[data-action="grab"]').click()
        banner = page.locator("#banner")
        await expect(banner).to_be_visible()
        await expect(banner).to_contain_text("no torrent download client is configured")
        await page.click("#banner-close")

        # A free-text search from the form (no wanted title): results and the same error line.
        await page.goto(f"{base}/#/search")
        await page.fill("#search-q", "Better Call Saul")
        await page.select_option("#search-type", "tvsearch")
        await page.click("#search-go")
        await expect(table_rows).to_have_count(FEED_ITEMS, timeout=LIVE_TIMEOUT_MS)
        await expect(page.locator('#search-errors [data-indexer="broken"]')).to_contain_text(DOWN)
        assert "q=Better+Call+Saul" in page.url and "type=tvsearch" in page.url
        assert any(q.get("q") == "Better Call Saul" and q.get("t") == "tvsearch" for q in good.queries()), good.queries()

        # -- Queue: a tracked grab, its progress moved by a live event -----------------------------
        release = {"title": "Better.Call.Saul.S01E04.1080p.WEB-DL.DD5.1.H.264-GRP", "indexer": "HDAccess",
                   "protocol": "torrent", "guid": "https://hdaccess.net/details.php?id=1", "size": 1_500_000_000}
        grab = await hub.acquisition.store.add_grab({
            "title_id": title["id"], "target_ids": [t["id"] for t in title["targets"] if t["episode"] == 4],
            "release": release, "release_title": release["title"], "release_key": f"HDAccess:{release['guid']}",
            "indexer": "HDAccess", "protocol": "torrent", "quality": "WEBDL-1080p", "score": 0,
            "download_client": "seedbox", "download_id": "a" * 40, "state": "queued", "size": release["size"],
        })
        await page.click('#nav a[data-route="queue"]')
        queued = page.locator(f'#queue-table tr[data-grab-id="{grab["id"]}"]')
        await expect(queued).to_have_count(1)
        await expect(queued).to_contain_text(release["title"])
        await expect(queued.locator(".badge")).to_have_text("Queued")
        bar = queued.locator('[role="progressbar"]')
        await expect(bar).to_have_attribute("aria-valuenow", "0")
        await page.evaluate("window.__notReloaded = true")
        hub.bus.fire("acquisition_grab_updated", {
            **grab, "state": "downloading", "progress": 0.42, "downloaded": 630_000_000, "eta": 754.0,
            "updated_at": time.time(),
        })
        await expect(bar).to_have_attribute("aria-valuenow", "42", timeout=LIVE_TIMEOUT_MS)
        await expect(queued.locator(".badge")).to_have_text("Downloading")
        await expect(queued).to_contain_text("42%")
        await expect(queued).to_contain_text("13 min")
        await expect(page.locator("#queue-summary")).to_contain_text("1 grab · 1 downloading")
        # The bar itself is drawn at 42 % of its track (once its CSS transition has run).
        await page.wait_for_function(
            """(id) => { const row = document.querySelector(`#queue-table tr[data-grab-id="${id}"]`);
                const track = row.querySelector('.progress-track'), fill = row.querySelector('.progress-fill');
                return Math.abs(fill.getBoundingClientRect().width / track.clientWidth - 0.42) < 0.02; }""",
            arg=grab["id"], timeout=LIVE_TIMEOUT_MS,
        )
        assert await page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        await page.screenshot(path=str(SCREENSHOTS / "acquisition-queue.png"))

        # The title's page shows the grabbed episode as queued, the others missing.
        await page.click('#nav a[data-route="wanted"]')
        await page.locator("#wanted-titles a.row-link").click()
        await expect(page).to_have_url(f"{base}/#/wanted/{title['id']}")
        await expect(page.locator("#wanted-title")).to_have_text("Better Call Saul (2015)")
        targets = page.locator("#targets-table tbody tr")
        await expect(targets).to_have_count(3)
        await expect(targets.nth(0)).to_have_attribute("data-status", "queued")
        await expect(targets.nth(0)).to_contain_text("S01E04")
        await expect(targets.nth(1)).to_have_attribute("data-status", "missing")
        await page.screenshot(path=str(SCREENSHOTS / "acquisition-title.png"))
        await page.click('#nav a[data-route="queue"]')
        await expect(queued).to_have_count(1)

        # "Blocklist" asks once more, then removes it and blocklists the release.
        await queued.locator('[data-action="blocklist"]').click()
        await expect(queued.locator('[data-action="blocklist"]')).to_contain_text("Remove + blocklist?")
        await queued.locator('[data-action="blocklist"]').click()
        await expect(queued).to_have_count(0)
        await expect(page.locator("#queue")).to_contain_text("Nothing is downloading")
        assert (await _get(base, "/api/acquisition/queue"))["grabs"] == []

        # -- History and the blocklist -------------------------------------------------------------
        await page.click('#nav a[data-route="history"]')
        event_row = page.locator('#history-table tr[data-event="blocklisted"]')
        await expect(event_row).to_have_count(1)
        await expect(event_row).to_contain_text(release["title"])
        await expect(event_row.locator(".badge")).to_have_text("Blocklisted")
        await page.screenshot(path=str(SCREENSHOTS / "acquisition-history.png"))
        await page.click('.tab[data-tab="blocklist"]')
        entry = page.locator("#blocklist-table tbody tr")
        await expect(entry).to_have_count(1)
        await expect(entry).to_contain_text(release["title"])
        await expect(entry).to_contain_text("removed by the user")
        await entry.locator('[data-action="remove"]').click()
        await entry.locator('[data-action="remove"]').click()
        await expect(page.locator("#blocklist")).to_contain_text("The blocklist is empty")
        assert (await _get(base, "/api/acquisition/blocklist"))["entries"] == []

        # -- Indexers & clients --------------------------------------------------------------------
        await page.click('#nav a[data-route="indexers"]')
        ok = page.locator('#health-indexers [data-name="HDAccess"]')
        bad = page.locator('#health-indexers [data-name="broken"]')
        await expect(ok).to_have_attribute("data-status", "ok")
        await expect(ok.locator(".badge")).to_have_text("OK")
        await expect(ok).to_contain_text("torznab")
        await expect(bad).to_have_attribute("data-status", "failing")
        await expect(bad.locator(".badge")).to_have_text("Failing")
        await expect(bad.locator(".health-message")).to_contain_text(DOWN)
        # Two failed searches: the second failure backs off for a minute (Sonarr's escalation).
        await expect(bad.locator(".retry")).to_contain_text("retry in")
        await expect(page.locator("#health-clients")).to_contain_text("No download clients are configured")
        await expect(page.locator("#health-summary")).to_contain_text("2 indexers · 0 download clients · 1 failing")
        await page.screenshot(path=str(SCREENSHOTS / "acquisition-health.png"))

        # -- Automatic search from Wanted, then remove the title -----------------------------------
        await page.click('#nav a[data-route="wanted"]')
        row = page.locator("#wanted-titles tbody tr").first
        await row.locator('[data-action="search"]').click()
        note = page.locator("#wanted-note")
        await expect(note).to_contain_text("Searched “Better Call Saul”", timeout=LIVE_TIMEOUT_MS)
        await expect(note).to_contain_text("nothing grabbed · 5 releases considered, 1 accepted")
        await expect(note.locator(".grab-hint")).to_contain_text("could not be sent to a download client")
        await expect(note.locator(".indexer-error")).to_contain_text(DOWN)
        await page.screenshot(path=str(SCREENSHOTS / "acquisition-search-now.png"))
        await page.click("#rss-sync")
        await expect(note).to_contain_text(f"RSS sync: {FEED_ITEMS} releases read · nothing grabbed", timeout=LIVE_TIMEOUT_MS)
        await expect(note.locator(".indexer-error")).to_contain_text(DOWN)
        await row.locator('[data-action="remove"]').click()
        await row.locator('[data-action="remove"]').click()
        await expect(page.locator("#wanted-list")).to_contain_text("Nothing is wanted yet")
        assert (await _get(base, "/api/acquisition/wanted"))["titles"] == []

        assert errors == [], f"uncaught JavaScript errors: {errors}"


async def test_grab_from_the_dashboard_with_real_transmission(
    hub_factory, torznab_feed: TorznabFeed, transmission_daemon: TransmissionDaemon, tmp_path: Path,
) -> None:
    """Grab in the interactive search hands a real .torrent to a real transmission-daemon; a
    second grab of the same release is refused (409) in the banner; the queue shows the grab with
    its client; Remove takes it out of Transmission too; the client shows as OK."""
    from playwright.async_api import expect

    require_chromium()
    payload = tmp_path / "Test.Movie.2021.1080p.BluRay.x264-GRP.mkv"
    payload.write_bytes(os.urandom(256 * 1024))
    torrent = await asyncio.to_thread(make_torrent, payload, piece_size=16 * 1024)
    infohash = infohash_from_torrent(torrent)
    torznab_feed.offer("Test.Movie.2021.1080p.BluRay.x264-GRP", torrent=torrent, size=payload.stat().st_size,
                       seeders=5, peers=6, category=2000)
    plugins = yaml.safe_dump([
        {"platform": "torznab", "name": "Test indexer", "url": torznab_feed.url},
        transmission_daemon.entry(name="Transmission"),
    ], sort_keys=False)
    hub = await hub_factory(extra="acquisition:\n  rss_sync_interval: 0\n  download_poll_interval: 0.5\n"
                            "plugins:\n" + textwrap.indent(plugins, "  "))
    host, port = hub.http.bound_address()
    base = f"http://{host}:{port}"
    client = hub.acquisition.clients["Transmission"]

    async with chromium_page(viewport={"width": 1440, "height": 900}) as (page, errors):
        await page.goto(f"{base}/#/search?q=Test+Movie&type=movie")
        await expect(page.locator("#search-type")).to_have_value("movie")
        row = page.locator("#search-table tbody tr")
        await expect(row).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
        await expect(row).to_have_attribute("data-decision", "accepted")
        await expect(row).to_contain_text("Bluray-1080p")
        await expect(row).to_contain_text("5 / 6")
        await row.locator('[data-action="grab"]').click()
        await expect(row.locator(".grabbed")).to_have_text("Grabbed", timeout=LIVE_TIMEOUT_MS)
        await expect(page.locator("#banner")).to_be_hidden()
        (grab,) = (await _get(base, "/api/acquisition/queue"))["grabs"]
        assert grab["download_client"] == "Transmission" and grab["download_id"] == infohash
        assert infohash in {item.id for item in await client.items()}, "Transmission does not have the torrent"

        # The same release again: refused, and the refusal is shown.
        await page.click("#search-go")
        await expect(row.locator('[data-action="grab"]')).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        await row.locator('[data-action="grab"]').click()
        await expect(page.locator("#banner")).to_contain_text(re.compile(r"(is|was) already"))
        await expect(page.locator("#banner")).to_contain_text("(grab 1")
        await expect(page.locator("#banner")).to_contain_text("(HTTP 409)")
        await page.click("#banner-close")

        # The queue shows it with its client; the client is healthy.
        await page.click('#nav a[data-route="queue"]')
        queued = page.locator(f'#queue-table tr[data-grab-id="{grab["id"]}"]')
        await expect(queued).to_contain_text("Test.Movie.2021.1080p.BluRay.x264-GRP")
        await expect(queued).to_contain_text("Transmission")
        # No seeder anywhere: it waits in Transmission (queued, or "downloading" at 0 %).
        await expect(queued).to_have_attribute("data-state", re.compile(r"^(queued|downloading)$"))
        await page.click('#nav a[data-route="indexers"]')
        tr_card = page.locator('#health-clients [data-name="Transmission"]')
        await expect(tr_card).to_have_attribute("data-status", "ok")
        await expect(tr_card).to_contain_text("transmission")

        # Remove: out of the queue and out of Transmission.
        await page.click('#nav a[data-route="queue"]')
        await queued.locator('[data-action="remove"]').click()
        await queued.locator('[data-action="remove"]').click()
        await expect(queued).to_have_count(0)
        assert infohash not in {item.id for item in await client.items()}, "the torrent is still in Transmission"
        assert (await _get(base, "/api/acquisition/queue"))["grabs"] == []
        assert errors == [], f"uncaught JavaScript errors: {errors}"


async def _get(base: str, path: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(f"{base}{path}") as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()

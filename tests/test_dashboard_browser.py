"""The dashboard in real Chromium against a real hub on generated media.

Opens the library, searches, opens an item (technical metadata, a <video> playing the stream URL),
adds a file to the folder and sees it appear without a reload (file watcher → event bus →
WebSocket → debounced refresh), and checks that a failed plugin shows its reason.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import aiohttp
import pytest

from . import mediagen
from .browser import chromium_page, require_chromium

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 20_000
SCREENSHOT = Path("/tmp/dashboard.png")

BROKEN_PLUGIN = '''
from omnimedia.core.plugins import PluginManifest, hookimpl

@hookimpl
def omnimedia_manifest():
    return PluginManifest(name="broken_tuner", version="0.0.1", kinds=("tuner",))

@hookimpl
def omnimedia_setup(hub, entries):
    raise ConnectionError("tuner at 10.0.0.9:5004 refused the connection")
'''


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    """A small real library plus one file kept outside it, to be added while the page is open."""
    folder = tmp_path / "media"
    staging = tmp_path / "staging"
    return {
        "folder": folder,
        "ep1": mediagen.make_mkv(folder / "Show.Name.S01E01.1080p.WEB-DL.x264-GRP.mkv"),
        "ep2": mediagen.make_mp4(folder / "Show.Name.S01E02.1080p.WEB-DL.x264-GRP.mp4"),
        "movie": mediagen.make_mp4(folder / "Big.Buck.Bunny.2008.720p.BluRay.x264-GRP.mp4", duration=2.0),
        "photo": mediagen.make_photo(folder / "Photos" / "IMG_0001.jpg"),
        "corrupt": mediagen.make_corrupt(folder / "Broken.Movie.2001.1080p.BluRay.x264-GRP.mp4"),
        "new": mediagen.make_mp4(staging / "Show.Name.S01E03.720p.HDTV.x264-NEW.mp4"),
    }


async def test_dashboard_library_item_live_update_and_plugins(tmp_path: Path, hub_factory, media) -> None:
    from playwright.async_api import expect

    require_chromium()
    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir()
    (plugins_dir / "broken_tuner.py").write_text(textwrap.dedent(BROKEN_PLUGIN))
    hub = await hub_factory(media_dirs=[media["folder"]], plugin_dirs=[plugins_dir])
    summary = await hub.library.scan()
    assert summary, "the scan returned no summary"
    host, port = hub.http.bound_address()
    base = f"http://{host}:{port}"

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/media", params={"text": "S01E02"}) as resp:
            assert resp.status == 200
            found = (await resp.json())["items"]
        assert len(found) == 1, found
        async with http.get(f"{base}/api/media/{found[0]['id']}") as resp:
            ep2 = await resp.json()
    assert ep2["stream_url"]

    async with chromium_page(viewport={"width": 1360, "height": 860}, color_scheme="dark") as (page, errors):
        # -- the library -------------------------------------------------------------------------
        await page.goto(f"{base}/#/library")
        cards = page.locator("#media-grid .card")
        await expect(cards).to_have_count(5)
        await expect(page.locator("#conn")).to_have_attribute("data-status", "connected")
        await expect(page.locator("#library-summary")).to_contain_text("5 items")
        await expect(page.locator(".stat-bad .stat-value")).to_have_text("1")  # the corrupt file
        await expect(page.locator('.card[data-type="episode"]').first).to_contain_text("S01E01")
        await expect(page.locator(".card-error")).to_have_count(1)
        await page.screenshot(path=str(SCREENSHOT))

        # -- search filters the grid -------------------------------------------------------------
        await page.fill("#library-search", "bunny")
        await expect(cards).to_have_count(1)
        await expect(cards.first).to_contain_text("Big Buck Bunny")
        await expect(cards.first).to_contain_text("2008")
        assert "text=bunny" in page.url
        await page.fill("#library-search", "show name")
        await expect(cards).to_have_count(2)
        await page.select_option("#library-type", "movie")
        await expect(page.locator("#media-grid .card, .empty")).to_have_text(["Nothing matches these filters."])
        await page.select_option("#library-type", "")
        await expect(cards).to_have_count(2)

        # -- item detail -------------------------------------------------------------------------
        await cards.filter(has_text="S01E02").click()
        await expect(page).to_have_url(f"{base}/#/item/{ep2['id']}")
        await expect(page.locator("#item-title")).to_have_text(ep2["title"])
        detail = page.locator("#item-detail")
        await expect(detail).to_contain_text("S01E02")
        await expect(page.locator("#facts-streams")).to_contain_text("h264")
        await expect(page.locator("#facts-streams")).to_contain_text("aac")
        await expect(page.locator("#facts-streams")).to_contain_text("160×90")
        await expect(page.locator("#facts-file")).to_contain_text(str(media["ep2"]))
        await expect(page.locator("#facts-file")).to_contain_text(f"{media['ep2'].stat().st_size:,} bytes")
        await expect(page.locator("#facts-file")).to_contain_text(ep2["container"])
        await expect(page.locator("#audio-tracks")).to_be_visible()
        await expect(page.locator("#parsed")).to_contain_text("GRP")
        video = page.locator("video#player")
        await expect(video).to_have_attribute("src", ep2["stream_url"])
        # The browser really fetched the stream (Range requests) and read the file's duration.
        await page.wait_for_function(
            "() => { const v = document.querySelector('video#player');"
            " return v && v.readyState >= 1 && Math.abs(v.duration - 1) < 0.5; }",
            timeout=LIVE_TIMEOUT_MS,
        )

        # -- live update: a file copied into the folder appears without a reload -------------------
        await page.click(".back-link")
        await page.fill("#library-search", "")
        await expect(cards).to_have_count(5)
        await page.evaluate("window.__notReloaded = true")
        shutil.copy(media["new"], media["folder"] / media["new"].name)
        await expect(cards).to_have_count(6, timeout=LIVE_TIMEOUT_MS)
        await expect(cards.filter(has_text="S01E03")).to_have_count(1)
        await expect(page.locator("#library-summary")).to_contain_text("6 items", timeout=LIVE_TIMEOUT_MS)
        assert await page.evaluate("window.__notReloaded === true"), "the page was reloaded"

        # -- the WebSocket comes back after the server drops it, and live updates resume -----------
        await hub.http.stop()
        await expect(page.locator("#conn")).to_have_attribute("data-status", "disconnected")
        await hub.http.start(host, port)
        await expect(page.locator("#conn")).to_have_attribute("data-status", "connected", timeout=LIVE_TIMEOUT_MS)
        shutil.copy(media["new"], media["folder"] / "Show.Name.S01E04.720p.HDTV.x264-NEW.mp4")
        await expect(cards.filter(has_text="S01E04")).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
        assert await page.evaluate("window.__notReloaded === true"), "the page was reloaded"

        # -- "Scan now" starts a scan through the API; the button comes back when it finishes ------
        await page.click("#scan-now")
        await expect(page.locator("#scan-now")).to_be_enabled(timeout=LIVE_TIMEOUT_MS)
        await expect(page.locator("#scan-now")).to_have_text("Scan now")

        # -- plugins: the failed one is obvious, with its reason ----------------------------------
        await page.click('#nav a[data-route="plugins"]')
        failed = page.locator('[data-plugin="broken_tuner"]')
        await expect(failed).to_have_attribute("data-state", "failed")
        await expect(failed.locator(".badge")).to_have_text("Failed")
        await expect(failed.locator(".reason")).to_contain_text("tuner at 10.0.0.9:5004 refused the connection")
        await expect(page.locator("#services")).to_contain_text("library.scan")
        await page.screenshot(path=str(SCREENSHOT.with_name("dashboard-plugins.png")))

        # -- the live event feed saw the addition ---------------------------------------------------
        await page.click('#nav a[data-route="events"]')
        await expect(page.locator('#event-feed [data-event-type="media_added"]').first).to_be_visible()
        await expect(page.locator("#event-feed")).to_contain_text("S01E03")
        await expect(page.locator('#event-feed [data-event-type="library_scan_finished"]').first).to_be_visible()

        # -- devices and entities: registry and state changes show up live, text escaped ---------
        await page.click('#nav a[data-route="devices"]')
        await expect(page.locator("#devices")).to_have_attribute("aria-busy", "false")
        hub.devices.get_or_create(
            "googlecast", "uuid-living-room", name="Living Room <TV>", manufacturer="Google",
            model="Chromecast", status="discovered",
            connection={"host": "192.168.1.20", "port": 8009, "properties": {"fn": "Living Room"}},
        )
        device = page.locator("#devices .device")
        await expect(device).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
        await expect(device.locator("h2")).to_have_text("Living Room <TV>")
        await expect(device).to_contain_text("192.168.1.20:8009")
        await expect(device.locator(".badge")).to_have_text("discovered")
        await page.click('#nav a[data-route="entities"]')
        await expect(page.locator("#entities")).to_have_attribute("aria-busy", "false")
        hub.states.set("media_player.living_room", "playing", {"media_title": "Show Name S01E02"})
        row = page.locator('#entities tr[data-entity-id="media_player.living_room"]')
        await expect(row).to_contain_text("playing", timeout=LIVE_TIMEOUT_MS)
        await expect(row).to_contain_text("Show Name S01E02")

        assert await page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        await expect(page.locator("#banner")).to_be_hidden()
        assert errors == [], f"uncaught JavaScript errors: {errors}"


async def test_dashboard_shows_api_errors_in_banner(hub_factory) -> None:
    """An unknown item id is a 404 with a message; a bad filter is a 400 shown in the banner."""
    require_chromium()
    hub = await hub_factory()
    host, port = hub.http.bound_address()
    base = f"http://{host}:{port}"
    from playwright.async_api import expect

    async with chromium_page() as (page, errors):
        await page.goto(f"{base}/#/item/999999")
        await expect(page.locator("#item-detail")).to_contain_text("not in the library")
        await page.goto(f"{base}/#/library?type=spaceship")
        banner = page.locator("#banner")
        await expect(banner).to_be_visible()
        await expect(banner).to_contain_text("spaceship")
        await page.click("#banner-close")
        await expect(banner).to_be_hidden()
        assert errors == [], f"uncaught JavaScript errors: {errors}"

"""The Optimise page in real Chromium against a real hub running the built-in ``ffmpeg``
transcoder: encoders, a candidate with its estimated savings, queueing it while the queue is
paused (priority set from the page), live progress from events once the queue resumes (state,
percent, speed) up to "Done", and the savings report that follows."""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser import chromium_page, require_chromium
from .transcode_support import api, config_text, make_source, wait_job

pytestmark = pytest.mark.browser

LIVE_TIMEOUT_MS = 60_000

# Every change of the job's row, as the page showed it: [state, percent text, detail line].
RECORD_ROW = """(jobId) => {
  window.__rowStates = [];
  const seen = () => {
    const tr = document.querySelector(`#transcode-jobs tr[data-job-id="${jobId}"]`);
    if (!tr) return;
    const entry = [tr.dataset.state, tr.querySelector('.progress-text').textContent, tr.querySelector('.job-detail').textContent];
    const last = window.__rowStates[window.__rowStates.length - 1];
    if (!last || last.join('|') !== entry.join('|')) window.__rowStates.push(entry);
  };
  new MutationObserver(seen).observe(document.querySelector('#transcode-jobs'), { subtree: true, childList: true, characterData: true, attributes: true });
  seen();
}"""


async def test_optimise_page_queue_progress_and_savings(hub_factory, tmp_path: Path) -> None:
    from playwright.async_api import expect

    require_chromium()
    media = tmp_path / "media"
    source = make_source(media / "Big.Movie.2010.1080p.BluRay.x264-GRP.mp4", duration=3)
    size_before = source.stat().st_size
    # "slow" encodes in real time (the realtime filter), so progress is seen between 0 and 100 %.
    hub = await hub_factory(config_text=config_text(media, "profile: slow\nprogress_interval: 0.2"))
    await hub.library.scan()
    host, port = hub.http.bound_address()
    base = f"http://{host}:{port}"

    async with chromium_page(viewport={"width": 1360, "height": 900}) as (page, errors):
        await page.goto(f"{base}/#/transcode")
        await expect(page.locator("#conn")).to_have_attribute("data-status", "connected")
        # Encoders: the software ones work here; hardware ones are listed with why they do not.
        libx265 = page.locator('#transcode-encoders tr[data-encoder="libx265"]')
        await expect(libx265).to_have_attribute("data-status", "available", timeout=LIVE_TIMEOUT_MS)
        await expect(libx265).to_contain_text("Software")
        await expect(page.locator('#transcode-encoders tr[data-encoder="hevc_vaapi"]')).to_contain_text("Hardware (VA-API)")
        await expect(page.locator("#transcode-savings")).to_contain_text("Nothing optimised yet")
        await expect(page.locator("#transcode-jobs")).to_contain_text("The queue is empty")

        # The candidate, with its reason and estimated savings.
        candidate = page.locator("#candidates-table tbody tr")
        await expect(candidate).to_have_count(1)
        await expect(candidate).to_contain_text("codec h264")
        status, listed = await api(hub, "GET", "/api/transcode/candidates", params={"profile": "slow"})
        assert status == 200 and listed["total"] == 1
        item_id = listed["candidates"][0]["item_id"]
        await expect(page.locator("#transcode-profile")).to_have_value("slow")
        await expect(page.locator("#candidates-summary")).to_contain_text("1 file")

        # Pause the queue, then queue the file: it waits.
        await page.click("#queue-toggle")
        await expect(page.locator("#queue-toggle")).to_have_text("Resume queue")
        await expect(page.locator("#queue-note")).to_contain_text("The queue is paused")
        await candidate.locator('[data-action="add"]').click()
        await expect(page.locator("#candidates-note")).to_contain_text("Queued 1 job with the slow profile")
        await expect(page.locator("#transcode-candidates")).to_contain_text("No candidates")
        status, jobs = await api(hub, "GET", "/api/transcode/jobs")
        assert status == 200 and len(jobs["jobs"]) == 1, jobs
        job = jobs["jobs"][0]
        assert job["item_id"] == item_id and job["profile"] == "slow" and job["state"] == "queued"
        row = page.locator(f'#transcode-jobs tr[data-job-id="{job["id"]}"]')
        await expect(row).to_have_attribute("data-state", "queued")
        await expect(row.locator(".badge")).to_have_text("Queued")

        # The priority is set from the page.
        await row.locator(".priority-input").fill("7")
        await row.locator(".priority-input").press("Enter")
        await row.locator(".priority-input").blur()

        async def priority() -> int:
            return (await api(hub, "GET", f"/api/transcode/jobs/{job['id']}"))[1]["priority"]

        for _ in range(50):
            if await priority() == 7:
                break
            await page.wait_for_timeout(100)
        assert await priority() == 7

        # Resume: progress arrives live, from events, up to "Done".
        await page.evaluate(RECORD_ROW, job["id"])
        await page.click("#queue-toggle")
        await expect(page.locator("#queue-toggle")).to_have_text("Pause queue")
        await expect(page.locator("#queue-note")).to_be_hidden()
        await expect(row).to_have_attribute("data-state", "done", timeout=LIVE_TIMEOUT_MS)
        await expect(row.locator(".progress-text")).to_have_text("100%")
        await expect(row.locator(".badge")).to_have_text("Done")
        seen = await page.evaluate("window.__rowStates")
        states = [s for s, _, _ in seen]
        assert "running" in states and "verifying" in states, seen
        percents = [float(p.rstrip("%")) for s, p, _ in seen if s == "running"]
        assert any(0 < p < 100 for p in percents), seen  # a live percentage, not a jump to the end
        assert any("× real time" in d for s, _, d in seen if s == "running"), seen

        done = await wait_job(hub, job["id"])
        assert done["state"] == "done" and done["outcome"] == "replaced", done
        assert done["size_after"] < size_before
        await expect(row).to_contain_text("−")  # the percent saved in the size column

        # The savings report follows, in total and per library.
        status, savings = await api(hub, "GET", "/api/transcode/savings")
        assert status == 200 and savings["total"]["files"] == 1 and savings["total"]["saved"] > 0
        await expect(page.locator("#savings-files .stat-value")).to_have_text("1", timeout=LIVE_TIMEOUT_MS)
        shown = await page.locator("#savings-percent .stat-value").inner_text()
        assert abs(float(shown.rstrip("%")) - savings["total"]["percent"]) <= 0.051, (shown, savings)
        library_rows = page.locator("#savings-libraries tbody tr")
        await expect(library_rows).to_have_count(1)
        cells = await library_rows.first.locator("td").all_inner_texts()
        assert cells[0] == savings["libraries"][0]["name"] and cells[1] == "1", cells
        assert abs(float(cells[-1].rstrip("%")) - savings["libraries"][0]["percent"]) <= 0.051, (cells, savings)

        # "Clear finished" empties the list.
        await page.click('[data-action="clear"]')
        await expect(page.locator("#transcode-jobs")).to_contain_text("The queue is empty")
        await expect(page.locator("#banner")).to_be_hidden()
        assert errors == [], f"uncaught JavaScript errors: {errors}"

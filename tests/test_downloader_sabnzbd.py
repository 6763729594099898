"""The sabnzbd plugin against the SABnzbd stand-in (tests/fake_sabnzbd.py), which speaks SABnzbd's
real API wire format: SABnzbd itself is not packaged in Debian, so it cannot run here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from omnimedia.core.acquisition.types import DownloadRequest
from omnimedia.core.errors import ProviderAuthError, ProviderResponseError, ProviderUnavailable
from omnimedia.plugins.sabnzbd import CONFIG_SCHEMA, SabnzbdClient
from tests.daemons import free_port, validated
from tests.fake_sabnzbd import NOT_COMPLETE, FakeSabnzbd
from tests.nntp_server import make_nzb

RELEASE = "Show.Name.S01E02.1080p.WEB-DL.DDP5.1.H.264-GROUP"


@pytest.fixture
async def sab(tmp_path: Path) -> AsyncIterator[FakeSabnzbd]:
    server = FakeSabnzbd(tmp_path / "sab")
    await server.start()
    yield server
    await server.stop()


def client_for(sab: FakeSabnzbd, **overrides) -> SabnzbdClient:
    entry = {"platform": "sabnzbd", "url": sab.url, "api_key": sab.api_key, **overrides}
    return SabnzbdClient(None, validated(CONFIG_SCHEMA, entry))


def nzb(name: str = RELEASE) -> bytes:
    return make_nzb(f"{name}.mkv", title=name)  # two segments of 500,000 bytes


async def test_add_queue_progress_complete_remove(sab: FakeSabnzbd) -> None:
    client = client_for(sab)
    try:
        assert await client.status() == {"version": "4.3.3", "paused": False}
        assert "omnimedia" not in sab.categories
        job = await client.add(DownloadRequest(protocol="usenet", name=RELEASE, nzb=nzb()))
        assert job.startswith("SABnzbd_nzo_")
        assert "omnimedia" in sab.categories  # created, so SABnzbd does not file the job under '*'
        upload = [c for c in sab.calls if c.get("mode") == "addfile"][-1]
        assert upload["cat"] == "omnimedia" and upload["nzbname"] == RELEASE and upload["name"] == "<file>"

        (item,) = await client.items()
        assert (item.id, item.name, item.state, item.category) == (job, RELEASE, "queued", "omnimedia")
        assert abs(item.size - 1_000_000) < 6_000  # SABnzbd reports MB with two decimals
        assert item.progress == 0.0

        assert await client.add(DownloadRequest(protocol="usenet", name=RELEASE, nzb=nzb())) == job  # no copy
        assert len(sab.queue) == 1

        sab.progress(job, 0.5, timeleft="0:01:40")
        (item,) = await client.items()
        assert item.state == "downloading"
        assert item.progress == pytest.approx(0.5, abs=0.01)
        assert item.eta == 100.0

        folder = sab.complete(job, {f"{RELEASE}.mkv": b"video bytes"})
        (item,) = await client.items()
        assert (item.state, item.progress, item.message) == ("completed", 1.0, None)
        assert Path(item.content_path) == folder == sab.complete_dir / "omnimedia" / RELEASE
        assert (Path(item.content_path) / f"{RELEASE}.mkv").read_bytes() == b"video bytes"

        await client.remove(job)
        assert await client.items() == []
        assert folder.exists()  # a completed job's files belong to the import step
    finally:
        await client.close()


async def test_failed_job_and_remove_with_files(sab: FakeSabnzbd) -> None:
    client = client_for(sab)
    try:
        job = await client.add(DownloadRequest(protocol="usenet", name=RELEASE, nzb=nzb()))
        incomplete = sab.job(job).incomplete
        assert incomplete.is_dir()
        sab.fail(job)
        (item,) = await client.items()
        assert item.state == "failed"
        assert item.message == f"SABnzbd: {NOT_COMPLETE}"
        await client.remove(job, delete_data=True)
        assert await client.items() == []
        assert not incomplete.exists()
        deletes = [c for c in sab.calls if c.get("mode") == "history" and c.get("name") == "delete"]
        assert deletes[-1]["value"] == job and deletes[-1]["del_files"] == "1"
        await client.remove("SABnzbd_nzo_unknown")  # ignored
    finally:
        await client.close()


async def test_paused_priority_and_category_filter(sab: FakeSabnzbd) -> None:
    tv = client_for(sab, category="TV")  # SABnzbd lower-cases categories
    movies = client_for(sab, category="movies")
    try:
        paused = await tv.add(DownloadRequest(protocol="usenet", name="A.Show.S01E01", nzb=nzb("a"), paused=True))
        high = await tv.add(DownloadRequest(protocol="usenet", name="A.Show.S01E02", nzb=nzb("b"), priority=1))
        states = {i.id: i.state for i in await tv.items()}
        assert states == {paused: "paused", high: "queued"}
        assert sab.job(paused).priority == -2 and sab.job(high).priority == 1
        assert await movies.items() == []

        sab.paused = True  # the whole queue paused in SABnzbd
        item = {i.id: i for i in await tv.items()}[high]
        assert item.state == "paused" and "whole queue" in item.message

        await tv.remove(paused, delete_data=True)
        assert [i.id for i in await tv.items()] == [high]
    finally:
        await tv.close()
        await movies.close()


async def test_unknown_category_falls_back_to_default_in_sabnzbd(sab: FakeSabnzbd) -> None:
    # Why the plugin creates its category: SABnzbd files a job with an unknown category under '*'.
    client = client_for(sab, category=None)
    form_nzb = nzb()
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("name", form_nzb, filename="x.nzb")
    answer = await client.api("addfile", method="POST", data=form, cat="no-such-category")
    assert sab.job(answer["nzo_ids"][0]).category == "*"
    (item,) = await client.items()
    assert item.category is None
    await client.close()


async def test_add_url(sab: FakeSabnzbd, aiohttp_server) -> None:
    async def serve_nzb(request: web.Request) -> web.Response:
        return web.Response(body=nzb(request.match_info["name"]))

    app = web.Application()
    app.router.add_get("/get/{name}", serve_nzb)
    indexer = await aiohttp_server(app)
    client = client_for(sab)
    try:
        job = await client.add_url(str(indexer.make_url("/get/Movie.2019")), "Movie.2019.1080p.BluRay-GRP")
        for _ in range(50):
            if sab.job(job).status == "Queued":
                break
            await asyncio.sleep(0.05)
        (item,) = await client.items()
        assert (item.id, item.name, item.state) == (job, "Movie.2019.1080p.BluRay-GRP", "queued")
        missing = await client.add_url(str(indexer.make_url("/nothing/here")), "Gone.2020")
        for _ in range(50):
            if sab.job(missing).status == "Failed":
                break
            await asyncio.sleep(0.05)
        failed = {i.id: i for i in await client.items()}[missing]
        assert failed.state == "failed" and "URL Fetching failed" in failed.message and "404" in failed.message
    finally:
        await client.close()


async def test_invalid_nzb_is_refused(sab: FakeSabnzbd) -> None:
    client = client_for(sab)
    with pytest.raises(ProviderResponseError, match="SABnzbd refused the NZB"):
        await client.add(DownloadRequest(protocol="usenet", name="junk", nzb=b"<html>not an nzb</html>"))
    with pytest.raises(ValueError, match="nzb"):
        await client.add(DownloadRequest(protocol="usenet", name="nothing"))
    with pytest.raises(ProviderResponseError, match="not implemented"):
        await client.api("no_such_mode")
    await client.close()


@pytest.mark.parametrize("legacy", [False, True], ids=["sabnzbd-4-403", "older-json-error"])
async def test_wrong_or_missing_api_key(tmp_path: Path, legacy: bool) -> None:
    sab = FakeSabnzbd(tmp_path, legacy_key_errors=legacy)
    await sab.start()
    try:
        wrong = client_for(sab, api_key="wrong")
        with pytest.raises(ProviderAuthError, match="SABnzbd.*API Key Incorrect"):
            await wrong.status()  # version needs no key; the queue does
        missing = client_for(sab, api_key=None)
        with pytest.raises(ProviderAuthError, match="API Key Required"):
            await missing.items()
        # SABnzbd's NZB key may only add jobs: the hub also needs the queue, so it is refused
        nzb_only = client_for(sab, api_key=sab.nzb_key, category=None)
        with pytest.raises(ProviderAuthError, match="API Key Incorrect"):
            await nzb_only.items()
        for c in (wrong, missing, nzb_only):
            await c.close()
    finally:
        await sab.stop()


async def test_down_and_html_instead_of_api(sab: FakeSabnzbd, aiohttp_server) -> None:
    nobody = SabnzbdClient(None, CONFIG_SCHEMA({"url": f"http://127.0.0.1:{free_port()}", "api_key": "x",
                                                "timeout": 3}))
    with pytest.raises(ProviderUnavailable, match="SABnzbd.*cannot connect"):
        await nobody.items()
    await nobody.close()

    async def sign_in_page(request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><html>Sign in</html>", content_type="text/html")

    login = web.Application()
    login.router.add_get("/api", sign_in_page)
    proxy = await aiohttp_server(login)
    behind_login = SabnzbdClient(None, CONFIG_SCHEMA({"url": str(proxy.make_url("/")), "api_key": "x"}))
    with pytest.raises(ProviderUnavailable, match="HTML page"):
        await behind_login.items()
    await behind_login.close()

    client = client_for(sab)
    assert await client.items() == []
    await sab.stop()
    with pytest.raises(ProviderUnavailable, match="SABnzbd"):
        await client.items()
    await client.close()


@pytest.mark.parametrize(
    ("status", "state"),
    [("Completed", "completed"), ("Failed", "failed"), ("Extracting", "downloading"), ("Verifying", "downloading"),
     ("Repairing", "downloading"), ("Moving", "downloading"), ("Running", "downloading"), ("Queued", "downloading")],
)
def test_history_status_mapping(status: str, state: str) -> None:
    client = SabnzbdClient(None, CONFIG_SCHEMA({"url": "http://127.0.0.1:1"}))
    item = client._history_item({"nzo_id": "SABnzbd_nzo_x", "name": "x", "status": status, "category": "omnimedia",
                                 "bytes": 123, "storage": "/done/x", "fail_message": "Unpacking failed, CRC error"})
    assert item.state == state
    assert item.size == 123 and item.content_path == "/done/x" and item.save_path == "/done"
    if state == "failed":
        assert item.message == "SABnzbd: Unpacking failed, CRC error"

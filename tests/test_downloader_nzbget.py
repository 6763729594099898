"""The nzbget plugin against a real nzbget 21, whose only news server is the NNTP stand-in
(tests/nntp_server.py): unknown articles get ``430 No Such Article``, so a job for them fails the
way it does in real life; articles the stand-in holds are served yEnc-encoded, so a job for them
completes."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnimedia.core.acquisition.types import DownloadRequest
from omnimedia.core.errors import ProviderAuthError, ProviderResponseError, ProviderUnavailable
from omnimedia.plugins.nzbget import CONFIG_SCHEMA, NzbgetClient
from tests.daemons import NzbgetDaemon, free_port, news_server, nzbget_daemon, validated, wait_for_item
from tests.mediagen import make_mkv
from tests.nntp_server import NewsServer, make_nzb

__all__ = ["news_server", "nzbget_daemon"]  # fixtures used by name below

RELEASE = "Show.Name.S01E02.1080p.WEB-DL.DDP5.1.H.264-GROUP"


def client_for(daemon: NzbgetDaemon, **overrides) -> NzbgetClient:
    return NzbgetClient(None, validated(CONFIG_SCHEMA, daemon.entry(**overrides)))


async def test_missing_articles_go_from_queue_to_history_as_failed(nzbget_daemon: NzbgetDaemon,
                                                                    news_server: NewsServer) -> None:
    client = client_for(nzbget_daemon)
    try:
        assert (await client.status())["version"] == nzbget_daemon.version == "21.0"
        nzb = make_nzb(f"{RELEASE}.mkv", title=RELEASE)  # two 500,000-byte segments nobody holds
        request = DownloadRequest(protocol="usenet", name=RELEASE, nzb=nzb, paused=True)
        job = await client.add(request)
        assert job.isdigit()

        # queue: added paused, so it waits there for us to look
        (queued,) = await client.items()
        assert (queued.id, queued.name, queued.state, queued.category) == (job, RELEASE, "paused", "omnimedia")
        assert queued.size == 1_000_000 and queued.progress == 0.0
        assert await client.add(request) == job  # same job again → same id, no copy
        assert len(await client.items()) == 1

        nzbget_daemon.rpc("editqueue", "GroupResume", "", [int(job)])
        failed, _ = await wait_for_item(client, job, lambda i: i is not None and i.state == "failed", 30,
                                     "the job to fail", nzbget_daemon)
        assert "FAILURE/HEALTH" in failed.message and "articles failed" in failed.message
        assert failed.message.startswith("NZBGet: too many articles are missing")
        assert failed.name == RELEASE and failed.category == "omnimedia"
        assert news_server.requests, "NZBGet never asked the news server for an article"
        assert nzbget_daemon.rpc("listgroups", 0) == []  # really left the queue
        assert [h["Status"] for h in nzbget_daemon.rpc("history", False)] == ["FAILURE/HEALTH"]

        await client.remove(job)
        assert await client.items() == []
        assert nzbget_daemon.rpc("history", False) == []  # hidden (kept by NZBGet for dupe checks)
    finally:
        await client.close()


async def test_held_articles_complete_with_identical_bytes(nzbget_daemon: NzbgetDaemon, news_server: NewsServer,
                                                           tmp_path: Path) -> None:
    media = make_mkv(tmp_path / f"{RELEASE}.mkv", duration=2.0)
    nzb = news_server.post_file(media.name, media.read_bytes(), segment_size=64 * 1024, title=RELEASE)
    client = client_for(nzbget_daemon)
    try:
        job = await client.add(DownloadRequest(protocol="usenet", name=RELEASE, nzb=nzb))
        done, _ = await wait_for_item(client, job, lambda i: i is not None and i.state == "completed", 60,
                                   "the job to complete", nzbget_daemon)
        assert done.progress == 1.0 and done.message is None
        folder = Path(done.content_path)
        assert folder == nzbget_daemon.download_dir / "omnimedia" / RELEASE  # DestDir/<category>/<job>
        assert (folder / media.name).read_bytes() == media.read_bytes()
    finally:
        await client.close()


async def test_remove_queued_with_data_and_category_filter(nzbget_daemon: NzbgetDaemon) -> None:
    tv = client_for(nzbget_daemon, category="tv")
    movies = client_for(nzbget_daemon, category="movies")
    try:
        job = await tv.add(DownloadRequest(protocol="usenet", name="Other.Show.S02E05.720p.HDTV.x264-GRP",
                                           nzb=make_nzb("o.mkv"), paused=True, priority=1))
        assert [i.id for i in await tv.items()] == [job]
        assert await movies.items() == []
        (group,) = nzbget_daemon.rpc("listgroups", 0)
        assert group["MaxPriority"] == 50  # priority 1 → NZBGet "high"
        await tv.remove(job, delete_data=True)
        assert await tv.items() == []
        assert nzbget_daemon.rpc("history", False) == []  # GroupFinalDelete leaves no history
        await tv.remove("999")  # unknown id: ignored
        await tv.remove("not-a-number")
    finally:
        await tv.close()
        await movies.close()


async def test_bad_input_and_rpc_errors(nzbget_daemon: NzbgetDaemon) -> None:
    client = client_for(nzbget_daemon)
    try:
        with pytest.raises(ValueError, match="nzb"):
            await client.add(DownloadRequest(protocol="usenet", name="x"))
        with pytest.raises(ProviderResponseError, match="NZBGet.*no_such_method"):
            await client.call("no_such_method")
        # NZBGet 21 accepts a file that is not an NZB and fails the job at once (FAILURE/SCAN)
        job = await client.add(DownloadRequest(protocol="usenet", name="Not.An.Nzb", nzb=b"this is not xml"))
        failed, _ = await wait_for_item(client, job, lambda i: i is not None and i.state == "failed", 20,
                                     "the scan failure", nzbget_daemon)
        assert "could not be read" in failed.message and "FAILURE/SCAN" in failed.message
    finally:
        await client.close()


async def test_wrong_password_and_client_down(nzbget_daemon: NzbgetDaemon) -> None:
    wrong = client_for(nzbget_daemon, password="nope")
    with pytest.raises(ProviderAuthError, match="NZBGet.*401"):
        await wrong.status()
    await wrong.close()

    nobody = NzbgetClient(None, CONFIG_SCHEMA({"url": f"http://127.0.0.1:{free_port()}", "timeout": 3}))
    with pytest.raises(ProviderUnavailable, match="NZBGet.*cannot connect"):
        await nobody.items()
    await nobody.close()

    client = client_for(nzbget_daemon)
    assert await client.items() == []
    nzbget_daemon.stop()
    with pytest.raises(ProviderUnavailable, match="NZBGet"):
        await client.items()
    nzbget_daemon.start()
    assert await client.items() == []
    await client.close()


@pytest.mark.parametrize(
    ("status", "state", "words"),
    [
        ("SUCCESS/ALL", "completed", None),
        ("SUCCESS/HEALTH", "completed", None),
        ("WARNING/SCRIPT", "completed", "script"),
        ("WARNING/DAMAGED", "failed", "not repairable"),
        ("WARNING/SPACE", "failed", "disk space"),
        ("DELETED/DUPE", "failed", "duplicate"),
        ("DELETED/MANUAL", "failed", "deleted in NZBGet"),
        ("FAILURE/PAR", "failed", "par-check"),
        ("FAILURE/UNPACK", "failed", "unpacking"),
        ("FAILURE/SOMETHING-NEW", "failed", "FAILURE/SOMETHING-NEW"),
    ],
)
def test_history_mapping(status: str, state: str, words: str | None) -> None:
    client = NzbgetClient(None, CONFIG_SCHEMA({"url": "http://127.0.0.1:1"}))
    item = client._history_item({
        "NZBID": 7, "Name": "x", "Status": status, "Category": "omnimedia", "Kind": "NZB",
        "FileSizeLo": 0x10, "FileSizeHi": 1, "DownloadedSizeLo": 0x10, "DownloadedSizeHi": 1,
        "DestDir": "/inter/x.#7", "FinalDir": "/done/x", "UnpackStatus": "FAILURE" if "UNPACK" in status else "NONE",
    })
    assert (item.id, item.state) == ("7", state)
    assert item.size == (1 << 32) + 0x10  # 64-bit size from Lo/Hi
    assert item.content_path == "/done/x"
    if words:
        assert words in item.message
    else:
        assert item.message is None

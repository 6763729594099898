"""The qbittorrent plugin against a real qbittorrent-nox 4.5, with a real transfer on loopback:
a generated episode is made into a .torrent, seeded by a real transmission-daemon, added to
qBittorrent through the plugin, the seeder added as a peer, and the download must complete with
the very same bytes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import qbittorrentapi

from omnimedia.core.acquisition.torrent import infohash_from_torrent, make_torrent
from omnimedia.core.acquisition.types import CLIENT_STATES, DownloadRequest
from omnimedia.core.errors import ProviderAuthError, ProviderUnavailable
from omnimedia.plugins.qbittorrent import CONFIG_SCHEMA, QBittorrentClient
from tests.daemons import (
    QBittorrentDaemon,
    TransmissionDaemon,
    free_port,
    qbittorrent_daemon,
    transmission_daemon,
    validated,
    wait_for_item,
)
from tests.mediagen import make_mkv

__all__ = ["qbittorrent_daemon", "transmission_daemon"]  # fixtures used by name below

RELEASE = "Show.Name.S01E02.1080p.WEB-DL.DDP5.1.H.264-GROUP"


def client_for(daemon: QBittorrentDaemon, **overrides) -> QBittorrentClient:
    return QBittorrentClient(None, validated(CONFIG_SCHEMA, daemon.entry(**overrides)))


@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, bytes, str]:
    """A generated episode in ``tmp_path/seed`` and its .torrent (16 KiB pieces → many pieces)."""
    media = make_mkv(tmp_path / "seed" / f"{RELEASE}.mkv", duration=3.0)
    torrent = make_torrent(media, piece_size=16 * 1024)
    return media, torrent, infohash_from_torrent(torrent)


async def test_real_transfer_from_transmission_completes_with_identical_bytes(
    qbittorrent_daemon: QBittorrentDaemon, transmission_daemon: TransmissionDaemon, release
) -> None:
    media, torrent, infohash = release
    assert transmission_daemon.seed(torrent, media.parent) == infohash

    client = client_for(qbittorrent_daemon)
    try:
        status = await client.status()
        assert status["version"].lstrip("v").startswith(qbittorrent_daemon.version.split()[-1].lstrip("v")[:3])
        assert status["api_version"].startswith("2.")

        request = DownloadRequest(protocol="torrent", name=RELEASE, infohash=infohash, torrent=torrent)
        assert await client.add(request) == infohash

        # our category was created in qBittorrent, and the torrent sits in it
        raw = qbittorrentapi.Client(host=qbittorrent_daemon.url, username=qbittorrent_daemon.username,
                                    password=qbittorrent_daemon.password)
        assert "omnimedia" in raw.torrents_categories()
        (before,) = [i for i in await client.items() if i.id == infohash]
        assert before.category == "omnimedia"
        assert before.name == media.name
        assert before.state in ("stalled", "downloading", "queued")
        assert before.progress < 1.0

        # adding it again is not an error and gives the same id; still one torrent
        assert await client.add(request) == infohash
        assert [i.id for i in await client.items()].count(infohash) == 1

        await client.add_peers(infohash, [transmission_daemon.peer])
        done, seen = await wait_for_item(client, infohash, lambda i: i is not None and i.state == "completed",
                                         90, "the download to complete", qbittorrent_daemon)
        assert all(state in CLIENT_STATES for state in seen)
        assert done.progress == 1.0
        assert done.size == media.stat().st_size
        assert done.downloaded == media.stat().st_size
        assert done.eta is None or done.eta >= 0
        assert done.save_path and Path(done.save_path) == qbittorrent_daemon.download_dir
        assert done.content_path and Path(done.content_path) == qbittorrent_daemon.download_dir / media.name
        assert Path(done.content_path).read_bytes() == media.read_bytes()

        await client.remove(infohash, delete_data=True)
        await wait_for_item(client, infohash, lambda i: i is None, 20, "the torrent to be removed", qbittorrent_daemon)
        deadline = time.monotonic() + 20
        while (qbittorrent_daemon.download_dir / media.name).exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert not (qbittorrent_daemon.download_dir / media.name).exists(), "delete_data left the file behind"
        assert media.exists(), "the seeder's copy must be untouched"
    finally:
        await client.close()


async def test_magnet_paused_with_save_path_and_category(qbittorrent_daemon: QBittorrentDaemon, tmp_path: Path) -> None:
    client = client_for(qbittorrent_daemon, category="tv-omnimedia")
    infohash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    save = tmp_path / "elsewhere"
    save.mkdir()
    try:
        request = DownloadRequest(protocol="torrent", name="Other.Show.S02E05.720p", paused=True,
                                  magnet=f"magnet:?xt=urn:btih:{infohash.upper()}&dn=Other.Show.S02E05.720p",
                                  save_path=str(save))
        assert await client.add(request) == infohash
        item, _ = await wait_for_item(client, infohash, lambda i: i is not None, 10, "the magnet", qbittorrent_daemon)
        assert item.state == "paused"
        assert item.category == "tv-omnimedia"
        assert Path(item.save_path) == save
        # a client with another category does not see it
        other = client_for(qbittorrent_daemon, category="movies-omnimedia")
        assert infohash not in {i.id for i in await other.items()}
        await other.close()
        await client.remove(infohash)
        await wait_for_item(client, infohash, lambda i: i is None, 10, "removal", qbittorrent_daemon)
        await client.remove("0" * 40)  # unknown ids are ignored
    finally:
        await client.close()


async def test_wrong_password_is_an_auth_error(qbittorrent_daemon: QBittorrentDaemon) -> None:
    client = client_for(qbittorrent_daemon, password="not-the-password")
    with pytest.raises(ProviderAuthError, match="qBittorrent") as err:
        await client.status()
    assert "password" in str(err.value)
    with pytest.raises(ProviderAuthError):
        await client.items()
    await client.close()
    # the right password still works afterwards (no ban)
    good = client_for(qbittorrent_daemon)
    assert (await good.status())["version"]
    await good.close()


async def test_client_down_is_unavailable(qbittorrent_daemon: QBittorrentDaemon) -> None:
    nobody = QBittorrentClient(None, CONFIG_SCHEMA({"url": f"http://127.0.0.1:{free_port()}", "timeout": 3}))
    with pytest.raises(ProviderUnavailable, match="qBittorrent"):
        await nobody.status()

    client = client_for(qbittorrent_daemon)
    assert await client.items() == []
    qbittorrent_daemon.stop()
    with pytest.raises(ProviderUnavailable, match="cannot reach qBittorrent"):
        await client.items()
    qbittorrent_daemon.start()
    assert await client.items() == []  # logs in again once it is back
    await client.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"state": "stoppedDL", "progress": 0.4}, "paused"),  # qBittorrent 5.x
        ({"state": "pausedDL", "progress": 0.4}, "paused"),  # 4.x
        ({"state": "stoppedUP", "progress": 1.0}, "completed"),
        ({"state": "pausedUP", "progress": 1.0}, "completed"),
        ({"state": "stalledUP", "progress": 1.0}, "completed"),
        ({"state": "checkingUP", "progress": 0.7}, "queued"),
        ({"state": "stalledDL", "progress": 0.1}, "stalled"),
        ({"state": "metaDL", "progress": 0.0}, "downloading"),
        ({"state": "missingFiles", "progress": 1.0}, "failed"),
        ({"state": "error", "progress": 0.5}, "failed"),
        ({"state": "some-future-state", "progress": 0.5}, "queued"),
    ],
)
def test_state_mapping_covers_4x_and_5x(raw: dict, expected: str) -> None:
    client = QBittorrentClient(None, CONFIG_SCHEMA({"url": "http://127.0.0.1:1"}))
    item = client._item({"hash": "A" * 40, "name": "x", "size": 10, "completed": 5, "eta": 8_640_000, **raw})
    assert item.state == expected
    assert item.id == "a" * 40
    assert item.eta is None
    if expected == "failed":
        assert item.message


def test_config_schema() -> None:
    entry = CONFIG_SCHEMA({"url": "http://127.0.0.1:8080/"})
    assert entry["url"] == "http://127.0.0.1:8080"
    assert entry["category"] == "omnimedia"
    assert entry["timeout"] == 30.0
    assert entry["enabled"] is True
    import voluptuous as vol

    with pytest.raises(vol.Invalid, match="http"):
        CONFIG_SCHEMA({"url": "127.0.0.1:8080"})
    with pytest.raises(vol.Invalid):
        CONFIG_SCHEMA({"url": "http://127.0.0.1:8080", "timeout": 0})

"""The transmission plugin against a real transmission-daemon 3.00 (RPC 16, so categories are
folders), including a real loopback transfer seeded by a real qbittorrent-nox."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import qbittorrentapi

from omnimedia.core.acquisition.torrent import infohash_from_torrent, make_torrent
from omnimedia.core.acquisition.types import CLIENT_STATES, DownloadRequest
from omnimedia.core.errors import ProviderAuthError, ProviderUnavailable
from omnimedia.plugins.transmission import CONFIG_SCHEMA, TransmissionClient
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

RELEASE = "Movie.Title.2019.1080p.BluRay.x264-GRP"


def client_for(daemon: TransmissionDaemon, **overrides) -> TransmissionClient:
    return TransmissionClient(None, validated(CONFIG_SCHEMA, daemon.entry(**overrides)))


def seed_with_qbittorrent(daemon: QBittorrentDaemon, torrent: bytes, folder: Path, timeout: float = 60) -> qbittorrentapi.Client:
    raw = qbittorrentapi.Client(host=daemon.url, username=daemon.username, password=daemon.password)
    raw.torrents_add(torrent_files=torrent, save_path=str(folder))
    infohash = infohash_from_torrent(torrent)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = raw.torrents_info(torrent_hashes=infohash)
        if info and info[0].progress >= 1.0 and info[0].state in ("uploading", "stalledUP", "forcedUP", "queuedUP"):
            return raw
        time.sleep(0.2)
    raise AssertionError(f"qBittorrent did not start seeding\n{daemon.log_tail()}")


async def test_status_and_session_id_handshake_survives_a_restart(transmission_daemon: TransmissionDaemon) -> None:
    client = client_for(transmission_daemon)
    try:
        status = await client.status()
        assert status["version"].startswith(transmission_daemon.version.split()[1])  # "3.00"
        assert status["rpc_version"] == 16
        assert status["labels"] is False
        assert Path(status["download_dir"]) == transmission_daemon.download_dir
        # A restarted daemon has a new X-Transmission-Session-Id: the old one gets 409, the
        # client must pick up the new id and retry.
        transmission_daemon.restart()
        assert await client.items() == []
    finally:
        await client.close()


async def test_real_transfer_from_qbittorrent_into_a_category_folder(
    transmission_daemon: TransmissionDaemon, qbittorrent_daemon: QBittorrentDaemon, tmp_path: Path
) -> None:
    media = make_mkv(tmp_path / "seed" / f"{RELEASE}.mkv", duration=3.0)
    torrent = make_torrent(media, piece_size=16 * 1024)
    infohash = infohash_from_torrent(torrent)
    seeder = seed_with_qbittorrent(qbittorrent_daemon, torrent, media.parent)

    client = client_for(transmission_daemon)
    try:
        request = DownloadRequest(protocol="torrent", name=RELEASE, infohash=infohash, torrent=torrent)
        assert await client.add(request) == infohash
        (item,) = [i for i in await client.items() if i.id == infohash]
        category_dir = transmission_daemon.download_dir / "omnimedia"
        assert Path(item.save_path) == category_dir  # RPC 16: the category is a folder
        assert item.category == "omnimedia"
        assert item.state in ("stalled", "downloading", "queued")
        assert await client.add(request) == infohash  # duplicate: same id, no error
        assert [i.id for i in await client.items()].count(infohash) == 1

        # Transmission's RPC cannot add peers, so the seeder connects to it.
        seeder.torrents_add_peers(peers=[transmission_daemon.peer], torrent_hashes=infohash)
        done, seen = await wait_for_item(client, infohash, lambda i: i is not None and i.state == "completed",
                                         90, "the download to complete", transmission_daemon)
        assert set(seen) <= set(CLIENT_STATES)
        assert done.progress == 1.0 and done.downloaded == done.size == media.stat().st_size
        assert Path(done.content_path) == category_dir / media.name
        assert Path(done.content_path).read_bytes() == media.read_bytes()

        await client.remove(infohash, delete_data=True)
        await wait_for_item(client, infohash, lambda i: i is None, 20, "removal", transmission_daemon)
        deadline = time.monotonic() + 20
        while (category_dir / media.name).exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert not (category_dir / media.name).exists()
        assert media.exists()
    finally:
        await client.close()


async def test_magnet_paused_and_category_filtering(transmission_daemon: TransmissionDaemon, tmp_path: Path) -> None:
    tv = client_for(transmission_daemon, category="tv")
    movies = client_for(transmission_daemon, category="movies")
    everything = client_for(transmission_daemon, category=None)
    infohash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    try:
        save = tmp_path / "elsewhere"
        request = DownloadRequest(protocol="torrent", name="Other.Show.S02E05.720p", paused=True, save_path=str(save),
                                  magnet=f"magnet:?xt=urn:btih:{infohash}&dn=Other.Show.S02E05.720p")
        assert await tv.add(request) == infohash
        # Transmission may first hold it in "check pending" (queued) for a moment, then stopped
        item, seen = await wait_for_item(tv, infohash, lambda i: i is not None and i.state == "paused", 10,
                                         "the paused magnet", transmission_daemon)
        assert set(seen) <= {"queued", "paused"}
        assert Path(item.save_path) == save / "tv"  # save_path + category folder
        assert await movies.items() == []
        assert [i.id for i in await everything.items()] == [infohash]
        await tv.remove(infohash)
        assert await everything.items() == []
        await tv.remove("0" * 40)  # unknown: ignored
    finally:
        for c in (tv, movies, everything):
            await c.close()


async def test_wrong_password_and_client_down(transmission_daemon: TransmissionDaemon) -> None:
    wrong = client_for(transmission_daemon, password="nope")
    with pytest.raises(ProviderAuthError, match="Transmission.*401"):
        await wrong.status()
    await wrong.close()

    nobody = TransmissionClient(None, CONFIG_SCHEMA({"url": f"http://127.0.0.1:{free_port()}", "timeout": 3}))
    with pytest.raises(ProviderUnavailable, match="cannot reach Transmission"):
        await nobody.items()

    client = client_for(transmission_daemon)
    assert await client.items() == []
    transmission_daemon.stop()
    with pytest.raises(ProviderUnavailable, match="Transmission"):
        await client.items()
    transmission_daemon.start()
    assert await client.items() == []
    await client.close()


async def test_invalid_torrent_is_a_response_error(transmission_daemon: TransmissionDaemon) -> None:
    from omnimedia.core.errors import ProviderResponseError

    client = client_for(transmission_daemon)
    bogus = b"d4:infod6:lengthi3e4:name1:aee"  # bencode, but no pieces: Transmission refuses it
    with pytest.raises(ProviderResponseError, match="invalid or corrupt torrent"):
        await client.add(DownloadRequest(protocol="torrent", name="bogus", torrent=bogus))
    await client.close()


class _RecordingLibraryClient:
    """Stands in for a Transmission 4.x daemon (not installable here) to check which arguments the
    plugin sends when labels are available (RPC 17)."""

    def __init__(self) -> None:
        self.added: list[dict] = []

    def get_torrents(self, ids=None, arguments=None):
        return []

    def add_torrent(self, torrent, **kwargs):
        self.added.append(kwargs)

        class Added:
            hash_string = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"

        return Added()


async def test_labels_are_used_from_rpc_17() -> None:
    client = TransmissionClient(None, CONFIG_SCHEMA({"url": "http://127.0.0.1:1"}))
    recorder = _RecordingLibraryClient()
    client._client, client._rpc_version = recorder, 17
    magnet = "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
    await client.add(DownloadRequest(protocol="torrent", name="x", magnet=magnet))
    assert recorder.added == [{"paused": False, "labels": ["omnimedia"]}]  # no category folder
    assert client._in_category({"labels": ["omnimedia"], "downloadDir": "/data"})
    assert not client._in_category({"labels": ["tv"], "downloadDir": "/data/omnimedia"})


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"status": 0, "percentDone": 0.3, "sizeWhenDone": 10, "leftUntilDone": 7}, "paused"),
        ({"status": 0, "percentDone": 1.0, "sizeWhenDone": 10, "leftUntilDone": 0}, "completed"),
        ({"status": 1, "percentDone": 0.0, "sizeWhenDone": 10, "leftUntilDone": 10}, "queued"),
        ({"status": 2, "percentDone": 0.5, "sizeWhenDone": 10, "leftUntilDone": 5}, "queued"),
        ({"status": 3, "percentDone": 0.0, "sizeWhenDone": 10, "leftUntilDone": 10}, "queued"),
        ({"status": 4, "percentDone": 0.5, "sizeWhenDone": 10, "leftUntilDone": 5, "peersSendingToUs": 2,
          "rateDownload": 1000}, "downloading"),
        ({"status": 4, "percentDone": 0.5, "sizeWhenDone": 10, "leftUntilDone": 5, "isStalled": True}, "stalled"),
        ({"status": 6, "percentDone": 1.0, "sizeWhenDone": 10, "leftUntilDone": 0}, "completed"),
        ({"status": 4, "percentDone": 0.5, "sizeWhenDone": 10, "leftUntilDone": 5, "error": 3,
          "errorString": "No data found! Ensure your drives are connected"}, "failed"),
    ],
)
def test_state_mapping(fields: dict, state: str) -> None:
    client = TransmissionClient(None, CONFIG_SCHEMA({"url": "http://127.0.0.1:1", "category": None}))
    item = client._item({"hashString": "AB" * 20, "name": "x", "downloadDir": "/d", "eta": -1, **fields})
    assert item.state == state
    assert item.eta is None
    assert item.content_path == "/d/x"
    if state == "failed":
        assert "No data found" in item.message

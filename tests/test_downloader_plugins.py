"""The four download-client plugins are registered like third-party plugins (entry points) and
load in a real hub: config validated against their schemas, providers offered to the engine."""

from __future__ import annotations

from omnimedia.core.bootstrap import prepare
from omnimedia.core.plugins.kinds import Downloader
from tests.conftest import minimal_config, write_config

CLIENTS = {"qbittorrent": "torrent", "transmission": "torrent", "nzbget": "usenet", "sabnzbd": "usenet"}


async def test_download_clients_load_in_a_hub(hub_factory) -> None:
    extra = (
        "plugins:\n"
        "  - platform: qbittorrent\n    url: http://127.0.0.1:1\n    username: admin\n    password: x\n"
        "  - platform: transmission\n    url: http://127.0.0.1:2\n    category: tv\n"
        "  - platform: nzbget\n    url: http://127.0.0.1:3\n    timeout: 5\n"
        "  - platform: sabnzbd\n    url: http://127.0.0.1:4/sabnzbd\n    api_key: k\n"
    )
    hub = await hub_factory(extra=extra, serve_http=False)
    for name in CLIENTS:
        assert hub.plugins.plugins[name].state == "running", hub.plugins.plugins[name].reason
    providers = hub.plugins.providers("downloader")
    assert set(CLIENTS) <= set(providers)
    for name, protocol in CLIENTS.items():
        cls = providers[name]
        assert issubclass(cls, Downloader) and cls.platform == name and cls.protocol == protocol


def test_bad_download_client_config_names_file_and_line(tmp_path) -> None:
    text = minimal_config(extra="plugins:\n  - platform: nzbget\n    url: nzbget.local:6789\n"
                                "  - platform: qbittorrent\n    url: http://127.0.0.1:8080\n    timeout: soon\n")
    write_config(tmp_path, text)
    _, _, errors = prepare(tmp_path, [])
    messages = [str(e) for e in errors]
    assert any("configuration.yaml" in m and "http://" in m and "url" in m for m in messages), messages
    assert any("configuration.yaml" in m and "timeout" in m for m in messages), messages

"""The example configuration in config/ stays valid as the schema evolves."""

from __future__ import annotations

import shutil
from pathlib import Path

from omnimedia.core.bootstrap import prepare

from .conftest import ROOT


def test_example_configuration_is_valid(tmp_path: Path, monkeypatch) -> None:
    for name in ("configuration.yaml", "secrets.yaml"):
        shutil.copy(ROOT / "config" / name, tmp_path / name)
    text = (tmp_path / "configuration.yaml").read_text()
    # The example's folders are /srv/media/…: point them at real ones.
    text = text.replace("/srv/media", str(tmp_path / "media"))
    (tmp_path / "configuration.yaml").write_text(text)
    for sub in ("movies", "tv", "music", "photos"):
        (tmp_path / "media" / sub).mkdir(parents=True)
    (tmp_path / "custom_plugins").mkdir()
    monkeypatch.delenv("OMNIMEDIA_PHOTOS", raising=False)
    config, _plugins, errors = prepare(tmp_path)
    assert [str(e) for e in errors] == []
    assert config.database_url.startswith("postgresql+asyncpg://omnimedia:")
    assert [lib["type"] for lib in config.libraries] == ["movies", "tv", "music", "photos"]
    assert [p["platform"] for p in config.plugins] == [
        "googlecast", "airplay", "androidtv", "torznab", "newznab", "qbittorrent", "nzbget", "hdhomerun", "iptv"
    ]
    assert config.dvr["guide"][0]["refresh"] == 12
    assert config.acquisition["quality_profiles"][0]["cutoff"] == "WEBDL-1080p"

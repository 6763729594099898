"""Shared fixtures: configuration folders, hubs started on them, and the real-world fixtures."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from omnimedia.core.bootstrap import prepare
from omnimedia.core.hub import Hub

# Fixtures shared by several test modules, defined next to the helpers they belong to.
from .daemons import news_server, nzbget_daemon, qbittorrent_daemon, transmission_daemon  # noqa: E402,F401
from .torznab_feed import torznab_feed  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_FIXTURES = SHARED / "fixtures"


@pytest.fixture
def shared_fixtures() -> Path:
    """``../shared/fixtures`` (captured real-world data); skips when a plain clone lacks it."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"real-world fixtures not found at {SHARED_FIXTURES} (clone has no ../shared)")
    return SHARED_FIXTURES


def write_config(config_dir: Path, text: str, name: str = "configuration.yaml") -> Path:
    """Write a YAML file (dedented) into ``config_dir``; return its path."""
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def minimal_config(media_dirs: list[Path] = (), extra: str = "", database_url: str | None = None) -> str:
    """A configuration for tests: loopback, a free port, no mDNS unless ``extra`` enables it."""
    libs = "".join(f"  - path: {str(d)!r}\n    type: mixed\n" for d in media_dirs) or "  []\n"
    db = f"database:\n  url: {database_url!r}\n" if database_url else ""
    return (
        "hub:\n  host: 127.0.0.1\n  port: 0\n  log_level: debug\n"
        f"{db}libraries:\n{libs}"
        "discovery:\n  zeroconf: false\n  ssdp: false\n  advertise: false\n"
        f"{extra}"
    )


HubFactory = Callable[..., Awaitable[Hub]]


@pytest.fixture
async def hub_factory(tmp_path: Path) -> AsyncIterator[HubFactory]:
    """``await hub_factory(media_dirs=[...], extra=..., serve_http=True, initial_scan=False)``
    starts a hub on a fresh config folder under ``tmp_path`` and stops it after the test."""
    hubs: list[Hub] = []

    async def make(
        media_dirs: list[Path] = (),
        extra: str = "",
        *,
        config_dir: Path | None = None,
        config_text: str | None = None,
        database_url: str | None = None,
        serve_http: bool = True,
        initial_scan: bool = False,
        plugin_dirs: list[Path] = (),
    ) -> Hub:
        cdir = config_dir or tmp_path / f"config{len(hubs)}"
        if config_text is not None or not (cdir / "configuration.yaml").exists():
            write_config(cdir, config_text or minimal_config(list(media_dirs), extra, database_url))
        config, plugins, errors = prepare(cdir, list(plugin_dirs))
        assert not errors, [str(e) for e in errors]
        hub = Hub(config, plugins)
        hubs.append(hub)
        await hub.start(serve_http=serve_http, initial_scan=initial_scan)
        return hub

    yield make
    for hub in hubs:
        await hub.stop()


def mounted_tmpfs(tmp_path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. "2m") under ``tmp_path``, for disk-full tests (needs root; skips
    with the reason otherwise). Unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)

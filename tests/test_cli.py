"""The omnimedia command, run as a user would: a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .conftest import write_config

OMNIMEDIA = [sys.executable, "-m", "omnimedia.core.cli"]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OMNIMEDIA, *args], capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(port: int, proc: subprocess.Popen, deadline: float = 60) -> dict:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"hub exited early with {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as resp:
                return json.load(resp)
        except OSError:
            time.sleep(0.2)
    raise AssertionError("hub did not answer /api/health in time")


def test_check_config_exit_codes(tmp_path: Path) -> None:
    write_config(tmp_path, "hub:\n  name: x\n  port: abc\nplugins:\n  - platform: nope\n")
    result = run_cli("check-config", "--config", str(tmp_path))
    assert result.returncode == 1
    assert "configuration.yaml, line 3: expected int for 'hub -> port', got 'abc'" in result.stderr
    assert "configuration.yaml, line 5: unknown plugin platform 'nope'" in result.stderr
    write_config(tmp_path, "hub:\n  port: 8765\n")
    result = run_cli("check-config", "--config", str(tmp_path))
    assert result.returncode == 0 and "is valid" in result.stdout


def test_run_refuses_a_broken_config_with_the_same_messages(tmp_path: Path) -> None:
    write_config(tmp_path, "hub:\n  port: [1, 2]\n")
    result = run_cli("run", "--config", str(tmp_path))
    assert result.returncode == 1
    assert "configuration.yaml, line 2: expected int for 'hub -> port'" in result.stderr
    assert "did not start" in result.stderr
    assert not (tmp_path / "omnimedia.db").exists()


def test_run_refuses_a_missing_media_folder(tmp_path: Path) -> None:
    result = run_cli("run", "--config", str(tmp_path / "cfg"), str(tmp_path / "nope"))
    assert result.returncode == 2 and "media folder does not exist" in result.stderr
    assert not (tmp_path / "cfg").exists()


def test_first_run_writes_defaults_serves_and_stops_cleanly(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "notes.txt").write_text("not media")
    config_dir = tmp_path / "fresh"
    port = free_port()
    env = {**os.environ, "OMNIMEDIA_CONFIG": str(config_dir)}
    proc = subprocess.Popen(
        [*OMNIMEDIA, "run", "--port", str(port), str(media)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        health = wait_for_health(port, proc)
        assert health["status"] == "ok" and health["database"] == "sqlite"
        text = (config_dir / "configuration.yaml").read_text()
        assert str(media) in text and text.startswith("# Omni-Media configuration")
        assert (config_dir / "omnimedia.db").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The configuration written on the first run starts the hub again unchanged.
    assert run_cli("check-config", "--config", str(config_dir)).returncode == 0


def test_run_reports_a_port_in_use(tmp_path: Path) -> None:
    write_config(tmp_path, "hub:\n  host: 127.0.0.1\n  port: 8765\ndiscovery:\n  zeroconf: false\n  ssdp: false\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run_cli("run", "--config", str(tmp_path), "--port", str(port))
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr


def test_plugins_command_lists_builtins_and_failures(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "oops.py").write_text("raise RuntimeError('broken on purpose')\n")
    result = run_cli("plugins", "--config", str(tmp_path), "--plugins-dir", str(tmp_path / "p"))
    assert result.returncode == 0
    assert "googlecast" in result.stdout
    assert "FAILED: import failed: RuntimeError: broken on purpose" in result.stdout


def test_parse_prints_one_json_object_per_name() -> None:
    result = run_cli(
        "parse",
        "Show.Name.S01E02.1080p.WEB-DL.DDP5.1.H.264-GROUP",
        "The.Daily.Show.2024.03.14.720p.HDTV.x264-SORNY",
        "Movie.Title.2019.PROPER.1080p.BluRay.x264-GRP",
    )
    assert result.returncode == 0, result.stderr
    episode, daily, movie = (json.loads(line) for line in result.stdout.splitlines())
    assert (episode["title"], episode["season"], episode["episode"]) == ("Show Name", 1, 2)
    assert episode["quality"] == "WEBDL-1080p" and episode["release_group"] == "GROUP"
    assert daily["air_date"] == "2024-03-14" and daily["quality"] == "HDTV-720p"
    assert (movie["title"], movie["year"], movie["type"], movie["proper"]) == ("Movie Title", 2019, "movie", True)


def test_scan_prints_a_summary(tmp_path: Path) -> None:
    from .mediagen import make_corrupt, make_mkv

    media = tmp_path / "media"
    make_mkv(media / "Show.Name.S01E02.1080p.WEB-DL.x264-GRP.mkv")
    make_corrupt(media / "Broken.Movie.2018.720p.BluRay.x264-BAD.mp4")
    write_config(tmp_path / "cfg", f"libraries:\n  - path: {str(media)!r}\n    type: tv\n")
    result = run_cli("scan", "--config", str(tmp_path / "cfg"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["added"] == 2 and report["summary"]["errors"] == 1
    # In a tv library every video is an episode, the corrupt one included (recorded with its error).
    assert report["stats"]["by_type"] == {"episode": 2} and report["stats"]["errors"] == 1
    again = run_cli("scan", "--config", str(tmp_path / "cfg"))
    assert again.returncode == 0 and "2 unchanged" in again.stdout and "Scanned 1 library" in again.stdout


async def test_search_prints_decisions_and_indexer_errors(tmp_path: Path, torznab_feed) -> None:
    """`omnimedia search` asks every configured indexer; a broken one is reported, not fatal."""
    import asyncio

    torznab_feed.offer("Test.Show.S01E02.1080p.WEB-DL.DDP5.1.H.264-NTb", size=1_500_000_000, seeders=42, peers=50)
    torznab_feed.offer("Test.Show.S01E02.720p.HDTV.x264-KILLERS", size=700_000_000)
    config = tmp_path / "config"
    write_config(config, f"""
        hub: {{host: 127.0.0.1, port: 0}}
        discovery: {{zeroconf: false, ssdp: false, advertise: false}}
        plugins:
          - {{platform: torznab, name: Good, url: "{torznab_feed.url}"}}
          - {{platform: torznab, name: Down, url: "http://127.0.0.1:1", timeout: 2}}
        """)

    async def run(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            *OMNIMEDIA, "search", "Test Show", "--type", "tv", "--season", "1", "--episode", "2",
            "--config", str(config), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode(), err.decode()

    code, out, err = await run()
    assert code == 0, err
    assert "2 releases from 2 indexer(s)" in out and "2 acceptable" in out
    assert " + WEBDL-1080p" in out and "1.4 GB" in out and "42/50" in out and "Good: Test.Show.S01E02.1080p" in out
    assert "! Down: " in err
    code, out, _ = await run("--json")
    data = json.loads(out)
    assert [r["quality"] for r in data["results"]] == ["WEBDL-1080p", "HDTV-720p"]
    assert [e["indexer"] for e in data["errors"]] == ["Down"]
    assert {"season": "1", "ep": "2"}.items() <= next(q for q in torznab_feed.requests if q.get("t") == "tvsearch").items()

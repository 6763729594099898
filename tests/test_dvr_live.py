"""Live TV (core/dvr/live.py) on a real hub with a file-backed tuner: fMP4 out, tuner released."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from omnimedia.core.dvr.types import LineupChannel, TunerBusy, TunerStream, UnknownChannel
from omnimedia.core.plugins.kinds import Tuner

from .waiting import wait_until

CHUNK = 64 * 1024


def make_ts(path: Path, *, video: str | None = "h264", seconds: float = 20.0) -> Path:
    """MPEG-TS like a broadcast: H.264 or MPEG-2 video (320x240, 25 fps, a keyframe a second)
    with AC-3 stereo audio; ``video=None`` makes a radio service (AC-3 only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}"]
    args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate=48000"]
    if video == "h264":
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p"]
    elif video == "mpeg2":
        args += ["-c:v", "mpeg2video", "-g", "25", "-b:v", "800k"]
    args += ["-c:a", "ac3", "-b:a", "128k", "-ac", "2", "-f", "mpegts", str(path)]
    subprocess.run(args, check=True, capture_output=True)
    return path


class FileStream(TunerStream):
    """A file's bytes at the pace of its bitrate, looped, like a tuner's endless stream."""

    def __init__(self, tuner: FileTuner, path: Path, seconds: float) -> None:
        self.tuner = tuner
        self.data = path.read_bytes()
        self.rate = len(self.data) / seconds  # bytes per second
        self.closed = False
        self.sent = 0

    async def _chunks(self) -> AsyncIterator[bytes]:
        start = time.monotonic()
        pos = 0
        while not self.closed:
            if self.tuner.drop_after is not None and self.sent >= self.tuner.drop_after:
                self.tuner.drop_after = None
                from omnimedia.core.dvr.types import TunerUnavailable

                raise TunerUnavailable("connection reset by the fake tuner", device_id=self.tuner.device_id)
            chunk = self.data[pos:pos + CHUNK] or self.data[:CHUNK]
            pos = (pos + len(chunk)) % len(self.data)
            self.sent += len(chunk)
            ahead = self.sent / self.rate - (time.monotonic() - start) - 1.0  # one second ahead, as a tuner buffers
            if ahead > 0:
                await asyncio.sleep(ahead)
            if self.closed:
                return
            yield chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.tuner.streams.remove(self)


class FileTuner(Tuner):
    """A tuner device whose channels are MPEG-TS files; busy beyond ``tuner_count`` streams."""

    platform = "filetuner"

    def __init__(self, hub, channels: dict[str, tuple[LineupChannel, Path]], *, device_id: str = "F11E0001",
                 tuner_count: int = 1, seconds: float = 20.0) -> None:
        super().__init__(hub, {"name": "File tuner"})
        self.device_id = device_id
        self.tuner_count = tuner_count
        self.model = "file"
        self.channels = channels
        self.seconds = seconds
        self.streams: list[FileStream] = []
        self.opened = 0
        self.drop_after: int | None = None

    async def lineup(self) -> list[LineupChannel]:
        return [ch for ch, _ in self.channels.values()]

    async def open_stream(self, channel: str, *, duration: float | None = None) -> TunerStream:
        if channel not in self.channels:
            raise UnknownChannel(f"{self.device_id} does not carry {channel}", device_id=self.device_id)
        if len(self.streams) >= self.tuner_count:
            raise TunerBusy(f"all {self.tuner_count} tuners of {self.device_id} are busy", device_id=self.device_id)
        stream = FileStream(self, self.channels[channel][1], self.seconds)
        self.streams.append(stream)
        self.opened += 1
        return stream


@pytest.fixture(scope="module")
def ts_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tv")
    return {
        "h264": make_ts(folder / "h264.ts", video="h264"),
        "mpeg2": make_ts(folder / "mpeg2.ts", video="mpeg2"),
        "radio": make_ts(folder / "radio.ts", video=None),
    }


def lineup_for(ts_files: dict[str, Path], *, codecs: bool = True) -> dict[str, tuple[LineupChannel, Path]]:
    return {
        "5.1": (LineupChannel("5.1", "KQED-HD", hd=True, video_codec="H264" if codecs else None, audio_codec="AC3"),
                ts_files["h264"]),
        "7.1": (LineupChannel("7.1", "KGO", video_codec="MPEG2" if codecs else None, audio_codec="AC3"), ts_files["mpeg2"]),
        "9.3": (LineupChannel("9.3", "KQED-FM", radio=True, audio_codec="AC3"), ts_files["radio"]),
    }


async def start_hub(hub_factory, tuner_factory, *, idle: float = 1.0, max_sessions: int = 2):
    hub = await hub_factory(extra=f"dvr:\n  stall_timeout: 3\n  live:\n    idle_timeout: {idle}\n    max_sessions: {max_sessions}\n")
    tuner = tuner_factory(hub)
    hub.dvr.add_tuner(tuner)
    await wait_until(lambda: hub.dvr.pool.lineups.get(tuner.device_id), "the tuner's lineup")
    host, port = hub.http.bound_address()
    return hub, tuner, f"http://{host}:{port}"


def boxes(data: bytes) -> list[str]:
    """Top-level ISO BMFF box types of ``data`` (the last one may be cut off)."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        out.append(data[pos + 4:pos + 8].decode("latin-1"))
        if size < 8:
            break
        pos += size
    return out


async def read_stream(http: aiohttp.ClientSession, url: str, *, fragments: int = 3, limit: float = 30.0) -> bytes:
    """GET the live stream until it holds ``fragments`` movie fragments; return the bytes."""
    data = b""
    async with asyncio.timeout(limit), http.get(url) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"] in ("video/mp4", "audio/mp4")
        async for chunk in resp.content.iter_any():
            data += chunk
            if boxes(data).count("moof") >= fragments:
                break
    return data


def ffprobe_streams(path: Path) -> list[dict]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["streams"]


async def _post(http, url, body):
    async with http.post(url, json=body) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize(("channel", "video", "codec"), [("5.1", "copy", "h264"), ("7.1", "h264", "h264")])
async def test_live_stream_is_fragmented_mp4_and_the_tuner_is_released(
    hub_factory, ts_files, tmp_path, channel, video, codec,
) -> None:
    hub, tuner, base = await start_hub(hub_factory, lambda h: FileTuner(h, lineup_for(ts_files)))
    events: list[dict] = []
    hub.bus.listen("dvr_live_session_updated", lambda e: events.append(dict(e.data)))
    async with aiohttp.ClientSession() as http:
        status, session = await _post(http, f"{base}/api/dvr/live", {"channel": channel, "client": "test"})
        assert status == 201, session
        assert session["state"] == "starting" and session["channel"] == channel
        assert session["url"] == f"/api/dvr/live/{session['id']}/stream" and session["mime_type"] == "video/mp4"
        assert [lease["purpose"] for d in hub.dvr.devices_status() for lease in d["leases"]] == ["live"]
        data = await read_stream(http, base + session["url"])
        found = boxes(data)
        assert found[:2] == ["ftyp", "moov"] and "moof" in found and "mdat" in found, found
        (tmp_path / "live.mp4").write_bytes(data)
        streams = ffprobe_streams(tmp_path / "live.mp4")
        assert sorted(s["codec_name"] for s in streams) == sorted([codec, "aac"])
        assert (await (await http.get(f"{base}/api/dvr/live/{session['id']}")).json())["video"] == video
    # The client left: the tuner is released within idle_timeout (1 s) plus a little.
    await wait_until(lambda: not any(d["leases"] for d in hub.dvr.devices_status()), "the tuner released", timeout=10)
    assert tuner.streams == []
    ended = hub.dvr.live.session(session["id"])
    assert ended["state"] == "ended" and ended["reason"] == "no viewer for 1 s"
    assert [e["state"] for e in events if e["id"] == session["id"]][-1] == "ended"
    assert "playing" in [e["state"] for e in events]


async def test_radio_gives_audio_only(hub_factory, ts_files, tmp_path) -> None:
    hub, tuner, base = await start_hub(hub_factory, lambda h: FileTuner(h, lineup_for(ts_files)))
    async with aiohttp.ClientSession() as http:
        status, session = await _post(http, f"{base}/api/dvr/live", {"channel": "9.3"})
        assert status == 201 and session["mime_type"] == "audio/mp4"
        data = await read_stream(http, base + session["url"], fragments=2)
        (tmp_path / "radio.mp4").write_bytes(data)
        assert [s["codec_name"] for s in ffprobe_streams(tmp_path / "radio.mp4")] == ["aac"]
        async with http.delete(f"{base}/api/dvr/live/{session['id']}") as resp:
            assert resp.status == 200 and (await resp.json())["state"] == "ended"
    assert tuner.streams == []


async def test_codec_probed_when_the_lineup_does_not_say(hub_factory, ts_files) -> None:
    hub, tuner, base = await start_hub(hub_factory, lambda h: FileTuner(h, lineup_for(ts_files, codecs=False)))
    async with aiohttp.ClientSession() as http:
        for channel, video in (("5.1", "copy"), ("7.1", "h264")):
            status, session = await _post(http, f"{base}/api/dvr/live", {"channel": channel, "client": "probe"})
            assert status == 201, session
            await read_stream(http, base + session["url"], fragments=1)
            assert hub.dvr.live.session(session["id"])["video"] == video


async def test_limits_busy_unknown_and_replacement(hub_factory, ts_files) -> None:
    hub, tuner, base = await start_hub(hub_factory, lambda h: FileTuner(h, lineup_for(ts_files), tuner_count=1),
                                       idle=30, max_sessions=2)
    async with aiohttp.ClientSession() as http:
        status, first = await _post(http, f"{base}/api/dvr/live", {"channel": "5.1", "client": "a"})
        assert status == 201
        # One tuner: a second client is told who holds it.
        status, body = await _post(http, f"{base}/api/dvr/live", {"channel": "7.1", "client": "b"})
        assert status == 503 and "live" in body["error"] and "5.1" in body["error"], body
        status, body = await _post(http, f"{base}/api/dvr/live", {"channel": "99.9", "client": "b"})
        assert status == 404 and "99.9" in body["error"], body
        status, body = await _post(http, f"{base}/api/dvr/live", {"client": "b"})
        assert status == 400 and "channel" in body["error"], body
        # The same client changes channel: its old session ends and frees the tuner first.
        status, second = await _post(http, f"{base}/api/dvr/live", {"channel": "7.1", "client": "a"})
        assert status == 201, second
        old = hub.dvr.live.session(first["id"])
        assert old["state"] == "ended" and old["reason"] == "replaced by channel 7.1"
        async with http.get(base + first["url"]) as resp:
            assert resp.status == 410 and "replaced by channel 7.1" in (await resp.json())["error"]
        async with http.get(f"{base}/api/dvr/live/nope/stream") as resp:
            assert resp.status == 404
        await http.delete(f"{base}/api/dvr/live/{second['id']}")
    await wait_until(lambda: not tuner.streams, "every stream closed")

    hub.dvr.live.manager.settings["live"]["max_sessions"] = 1
    tuner.tuner_count = 2
    async with aiohttp.ClientSession() as http:
        status, one = await _post(http, f"{base}/api/dvr/live", {"channel": "5.1", "client": "x"})
        assert status == 201
        status, body = await _post(http, f"{base}/api/dvr/live", {"channel": "7.1", "client": "y"})
        assert status == 503 and "max_sessions" in body["error"], body
        await http.delete(f"{base}/api/dvr/live/{one['id']}")


async def test_a_recording_preempts_live_tv(hub_factory, ts_files) -> None:
    hub, tuner, base = await start_hub(hub_factory, lambda h: FileTuner(h, lineup_for(ts_files)), idle=30)
    async with aiohttp.ClientSession() as http:
        status, session = await _post(http, f"{base}/api/dvr/live", {"channel": "5.1"})
        assert status == 201
        reader = asyncio.ensure_future(read_stream(http, base + session["url"], fragments=1000, limit=60))
        await wait_until(lambda: hub.dvr.live.session(session["id"])["bytes_out"] > 0, "the stream flowing")
        lease = hub.dvr.pool.acquire("5.1", purpose="recording", holder="recording:test")
        await wait_until(lambda: hub.dvr.live.session(session["id"])["state"] == "ended", "the live session ended")
        assert hub.dvr.live.session(session["id"])["reason"] == "a recording needs the tuner"
        # The live stream is closed at once, so the recording can open its own.
        await wait_until(lambda: not tuner.streams, "the live tuner stream closed")
        async with await lease.open_stream() as stream:
            assert tuner.streams == [stream]
        await lease.release()
        # The viewer's response ends there.
        data = await asyncio.wait_for(reader, 10)
        assert boxes(data)[:2] == ["ftyp", "moov"]


async def test_a_dropped_tuner_stream_reconnects_once(hub_factory, ts_files) -> None:
    hub, tuner, base = await start_hub(hub_factory, lambda h: FileTuner(h, lineup_for(ts_files)), idle=30)
    async with aiohttp.ClientSession() as http:
        status, session = await _post(http, f"{base}/api/dvr/live", {"channel": "5.1"})
        tuner.drop_after = 256 * 1024
        await wait_until(lambda: hub.dvr.live.session(session["id"])["reconnects"] == 1, "one reconnect")
        assert hub.dvr.live.session(session["id"])["state"] != "ended"
        assert tuner.opened == 2 and len(tuner.streams) == 1
        # A second drop soon after ends the session with the cause.
        tuner.drop_after = tuner.streams[0].sent + 64 * 1024
        await wait_until(lambda: hub.dvr.live.session(session["id"])["state"] == "ended", "the session ended")
        reason = hub.dvr.live.session(session["id"])["reason"]
        assert "dropped" in reason and "connection reset by the fake tuner" in reason, reason
        assert not any(d["leases"] for d in hub.dvr.devices_status())


# -- with the HDHomeRun simulator and the hdhomerun plugin ------------------------------------------

@pytest.fixture
async def sim():
    from .hdhomerun_sim import HDHomeRunSimulator, SimChannel

    simulator = HDHomeRunSimulator(
        tuner_count=1, http_port=0, discovery_port=None,
        channels=[SimChannel("2.1", "SIM-ONE", "h264", hd=False, programme_seconds=4, commercial_seconds=2),
                  SimChannel("4.1", "SIM-MPEG2", "mpeg2video", hd=False, programme_seconds=4, commercial_seconds=2)],
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


async def sim_hub(hub_factory, sim, idle: float = 2.0):
    hub = await hub_factory(extra=(
        f"plugins:\n  - platform: hdhomerun\n    hosts: [{sim.base_url!r}]\n    discover: false\n"
        f"dvr:\n  container: ts\n  stall_timeout: 3\n  reconnect_delay: 0.2\n  commercials:\n    detect: 'off'\n"
        f"  padding_before: 0\n  padding_after: 0\n  live:\n    idle_timeout: {idle}\n"))
    await wait_until(lambda: hub.dvr.pool.lineups, "the simulator's lineup")
    host, port = hub.http.bound_address()
    return hub, f"http://{host}:{port}"


async def test_simulator_tuner_held_while_idle_then_released(hub_factory, sim, tmp_path) -> None:
    hub, base = await sim_hub(hub_factory, sim, idle=3)
    async with aiohttp.ClientSession() as http:
        status, session = await _post(http, f"{base}/api/dvr/live", {"channel": "2.1"})
        assert status == 201 and sim.active_streams == 1
        data = await read_stream(http, base + session["url"], fragments=2)
        (tmp_path / "sim.mp4").write_bytes(data)
        assert sorted(s["codec_name"] for s in ffprobe_streams(tmp_path / "sim.mp4")) == ["aac", "h264"]
        # The viewer left: the session is idle and still holds the tuner, so a returning viewer
        # (a reload) continues on the same tuner stream.
        idle = await wait_until(lambda: (s := hub.dvr.live.session(session["id"]))["state"] == "idle" and s, "idle")
        assert idle["release_at"] is not None and sim.active_streams == 1
        streams = len(sim.stream_log)
        data = await read_stream(http, base + session["url"], fragments=1)
        assert boxes(data)[:2] == ["ftyp", "moov"] and len(sim.stream_log) == streams
    await wait_until(lambda: sim.active_streams == 0, "the simulator's tuner released", timeout=15)
    await wait_until(lambda: not any(d["leases"] for d in hub.dvr.devices_status()), "the lease released")
    assert hub.dvr.live.session(session["id"])["reason"] == "no viewer for 3 s"


async def test_simulator_recording_preempts_live_tv(hub_factory, sim) -> None:
    hub, base = await sim_hub(hub_factory, sim, idle=30)
    async with aiohttp.ClientSession() as http:
        status, session = await _post(http, f"{base}/api/dvr/live", {"channel": "2.1"})
        reader = asyncio.ensure_future(read_stream(http, base + session["url"], fragments=10_000, limit=60))
        await wait_until(lambda: hub.dvr.live.session(session["id"])["bytes_out"] > 0, "the stream flowing")
        status, _ = await _post(http, f"{base}/api/dvr/recordings", {"channel": "4.1", "duration": 3, "title": "Pre-empting"})
        assert status == 201
        await wait_until(lambda: hub.dvr.live.session(session["id"])["state"] == "ended", "live TV ended")
        assert hub.dvr.live.session(session["id"])["reason"] == "a recording needs the tuner"
        await asyncio.wait_for(reader, 10)  # the viewer's response ends

        async def recorded():
            recs = await hub.dvr.recordings()
            return recs and recs[0]["state"] in ("done", "partial", "failed") and recs[0]

        rec = await wait_until(recorded, "the recording finished", timeout=60)
        assert rec["state"] == "done" and rec["size"] > 0, rec
        # The recording got the tuner without a gap: live TV closed its stream at once.
        assert rec["gaps"] == [] and [s["channel"] for s in sim.stream_log] == ["2.1", "4.1"], (rec, sim.stream_log)


async def test_simulator_stream_drop_reconnects_once_then_ends(hub_factory, sim) -> None:
    hub, base = await sim_hub(hub_factory, sim, idle=30)
    async with aiohttp.ClientSession() as http:
        status, session = await _post(http, f"{base}/api/dvr/live", {"channel": "2.1"})
        sim.inject("disconnect", after=1.0)
        await wait_until(lambda: hub.dvr.live.session(session["id"])["state"] == "ended", "the session ended")
    ended = hub.dvr.live.session(session["id"])
    assert ended["reconnects"] == 1 and "dropped and did not come back" in ended["reason"], ended
    assert len(sim.stream_log) == 2
    await wait_until(lambda: sim.active_streams == 0, "the simulator's tuner released")

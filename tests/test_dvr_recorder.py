"""The recorder (core/dvr/recorder.py) against the HDHomeRun simulator: what lands on disk is what
the device sent, stream drops and stalls become parts and gaps while the recording goes on to its
end, a hub that dies mid-recording resumes into a new part, a full disk keeps what was written,
and a channel the device does not carry fails at once.

Streams are opened by a small TunerStream over httpx here (the recorder only needs
``open_stream()``), mapping the device's answers as the HDHomeRun plugin does: 404 → UnknownChannel,
503 → TunerBusy, a refused or broken connection → TunerUnavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnimedia.core.dvr.recorder import TS_PACKET, Recorder
from omnimedia.core.dvr.types import TunerBusy, TunerStream, TunerUnavailable, UnknownChannel
from omnimedia.core.library.probe import probe
from tests.conftest import mounted_tmpfs

from .hdhomerun_sim import HDHomeRunSimulator
from .waiting import wait_until

CHANNEL = "2.1"


class SimStream(TunerStream):
    """One HTTP stream from the simulator."""

    def __init__(self, response: httpx.Response, where: str) -> None:
        self._response = response
        self._where = where

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw(64 * 1024):
                yield chunk
        except httpx.HTTPError as err:
            raise TunerUnavailable(f"{self._where}: {err}") from err

    async def close(self) -> None:
        await self._response.aclose()


class Opener:
    """``open_stream()`` for a Recorder: channel ``number`` from ``sim``, with ``duration`` the
    seconds left until ``stream_until`` (rounded up), like the manager does. Counts its calls and
    keeps the errors it raised."""

    def __init__(self, client: httpx.AsyncClient, sim: HDHomeRunSimulator, number: str, stream_until: float) -> None:
        self.client, self.sim, self.number, self.stream_until = client, sim, number, stream_until
        self.calls = 0
        self.errors: list[Exception] = []

    async def __call__(self) -> TunerStream:
        self.calls += 1
        try:
            return await self._open()
        except Exception as err:
            self.errors.append(err)
            raise

    async def _open(self) -> TunerStream:
        url = f"{self.sim.base_url}/auto/v{self.number}"
        duration = max(1, math.ceil(self.stream_until - time.time()))
        try:
            resp = await self.client.send(self.client.build_request("GET", url, params={"duration": duration}),
                                          stream=True)
        except httpx.TransportError as err:
            raise TunerUnavailable(f"{url}: {err!r}", device_id=self.sim.device_id) from err
        if resp.status_code == 200:
            return SimStream(resp, url)
        await resp.aclose()
        error = resp.headers.get("X-HDHomeRun-Error", resp.reason_phrase)
        if resp.status_code == 404:
            raise UnknownChannel(f"{url}: channel {self.number} not found ({error})", device_id=self.sim.device_id)
        if resp.status_code == 503:
            raise TunerBusy(f"{url}: all tuners busy ({error})", device_id=self.sim.device_id)
        raise TunerUnavailable(f"{url}: HTTP {resp.status_code} {error}", device_id=self.sim.device_id)


@pytest.fixture
async def sim() -> AsyncIterator[HDHomeRunSimulator]:
    device = HDHomeRunSimulator(tuner_count=2)
    await device.start()
    try:
        yield device
    finally:
        await device.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=None)) as http:
        yield http


class Updates(list):
    """Every on_update the recorder made, in order."""

    async def __call__(self, fields: dict[str, Any]) -> None:
        assert set(fields) >= {"parts", "gaps", "size"}
        self.append(fields)

    @property
    def last(self) -> dict[str, Any]:
        return self[-1] if self else {}


def recorder(folder: Path, opener: Opener, stop_at: float, updates: Updates, recording: dict | None = None,
             **kw: Any) -> Recorder:
    settings = {"stall_timeout": 2.0, "reconnect_delay": 0.25, **kw}
    rec = recording if recording is not None else {"id": 1, "title": "News", "channel": opener.number,
                                                    "padded_start": time.time(), "parts": [], "gaps": []}
    return Recorder(rec, open_stream=opener, folder=folder, stop_at=stop_at, on_update=updates, **settings)


def on_disk(result: dict[str, Any]) -> list[int]:
    return [Path(p["path"]).stat().st_size for p in result["parts"]]


def assert_consistent(result: dict[str, Any]) -> None:
    """What the result says is what is on disk, on packet boundaries, parts and gaps in order."""
    sizes = on_disk(result)
    assert [p["bytes"] for p in result["parts"]] == sizes
    assert result["size"] == sum(sizes)
    assert all(s % TS_PACKET == 0 for s in sizes), sizes
    times = []
    for part in result["parts"]:
        assert part["end"] is not None and part["start"] <= part["end"]
        times.append(("part", part["start"], part["end"]))
    for gap in result["gaps"]:
        assert gap["end"] is not None and gap["start"] <= gap["end"], gap
        times.append(("gap", gap["start"], gap["end"]))
    times.sort(key=lambda t: t[1])
    for (_, _, end), (_, start, _) in zip(times, times[1:], strict=False):
        assert start >= end - 0.01, times


async def test_clean_recording_is_what_the_device_sent(sim, client, tmp_path: Path) -> None:
    # the device ends the stream after its duration, a moment before stop_at: the whole recording
    start = time.time()
    opener = Opener(client, sim, CHANNEL, stream_until=start + 5)
    updates = Updates()
    result = await recorder(tmp_path / "rec", opener, start + 6, updates).run()

    assert result["state"] == "finished", result["message"]
    assert result["gaps"] == [] and result["message"] is None
    assert len(result["parts"]) == 1 and Path(result["parts"][0]["path"]).name == "part-001.ts"
    assert_consistent(result)
    [served] = sim.stream_log
    assert served["status"] == "duration"
    assert result["size"] == served["bytes"] > 0, "bytes on disk == bytes the device sent"
    info = await probe(result["parts"][0]["path"])
    assert info["format"]["format_name"] == "mpegts"
    assert abs(float(info["format"]["duration"]) - 5.0) <= 1.0, info["format"]["duration"]
    assert {s["codec_type"] for s in info["streams"]} >= {"video", "audio"}
    # the manager heard of the part when it opened, and of its end
    assert updates[0]["parts"][0]["end"] is None
    assert updates.last["parts"][0]["bytes"] == served["bytes"] and updates.last["parts"][0]["end"]
    assert sim.active_streams == 0


async def test_a_disconnect_makes_a_second_part_and_a_gap(sim, client, tmp_path: Path) -> None:
    start = time.time()
    stop_at = start + 6
    opener = Opener(client, sim, CHANNEL, stream_until=stop_at + 2)
    updates = Updates()
    sim.inject("disconnect", after=2.0, channel=CHANNEL)
    task = asyncio.create_task(recorder(tmp_path / "rec", opener, stop_at, updates).run())
    await wait_until(lambda: sim.stream_log and sim.stream_log[0]["status"] == "disconnect", "the first stream cut")
    sim.inject(None)
    result = await task

    assert result["state"] == "partial", result
    assert [Path(p["path"]).name for p in result["parts"]] == ["part-001.ts", "part-002.ts"]
    assert len(result["gaps"]) == 1
    gap = result["gaps"][0]
    assert gap["start"] == result["parts"][0]["end"] and gap["end"] == result["parts"][1]["start"]
    assert "the stream broke" in gap["reason"] and "1 gap" in result["message"]
    assert_consistent(result)
    # the recording went on to its end on the second connection
    assert result["parts"][1]["end"] >= stop_at - 1.0
    assert [s["status"] for s in sim.stream_log] == ["disconnect", "closed"]
    assert result["parts"][1]["bytes"] > 0
    for part in result["parts"]:
        assert (await probe(part["path"]))["format"]["format_name"] == "mpegts"
    # while it reconnected, the gap was reported open
    assert any(u["gaps"] and u["gaps"][0]["end"] is None for u in updates)


async def test_a_stall_is_a_drop_and_the_recorder_reconnects(sim, client, tmp_path: Path) -> None:
    start = time.time()
    stop_at = start + 7
    opener = Opener(client, sim, CHANNEL, stream_until=stop_at + 2)
    updates = Updates()
    sim.inject("stall", after=1.5, channel=CHANNEL)
    task = asyncio.create_task(recorder(tmp_path / "rec", opener, stop_at, updates, stall_timeout=1.0).run())
    await wait_until(lambda: any(g["end"] is None for g in updates.last.get("gaps", [])), "the stall noticed")
    sim.inject(None)
    result = await task

    assert result["state"] == "partial", result
    assert len(result["parts"]) == 2 and len(result["gaps"]) == 1
    assert result["gaps"][0]["reason"].startswith("no data for 1 s")
    assert_consistent(result)
    # the stalled connection was closed, so its tuner was free again
    assert sim.stream_log[0]["status"] == "closed" and sim.stream_log[0]["ended"] <= result["parts"][1]["start"]
    assert result["parts"][1]["end"] >= stop_at - 1.0


async def test_a_device_that_vanishes_and_comes_back(sim, client, tmp_path: Path) -> None:
    start = time.time()
    stop_at = start + 8
    opener = Opener(client, sim, CHANNEL, stream_until=stop_at + 2)
    updates = Updates()
    task = asyncio.create_task(recorder(tmp_path / "rec", opener, stop_at, updates, reconnect_delay=0.2).run())
    await wait_until(lambda: updates.last.get("size", 0) > 0 or sim.bytes_served > 50_000, "data flowing")
    await asyncio.sleep(1.0)
    sim.vanish()
    await wait_until(lambda: len(opener.errors) >= 2, "reconnect attempts refused")
    sim.reappear()
    result = await task

    assert result["state"] == "partial", result
    assert len(result["parts"]) == 2 and len(result["gaps"]) == 1
    assert all(isinstance(e, TunerUnavailable) for e in opener.errors)
    assert "then" in result["gaps"][0]["reason"], "the gap says what the reconnects ran into"
    assert_consistent(result)
    assert result["parts"][1]["end"] >= stop_at - 1.0


async def test_a_device_that_never_comes_back_keeps_what_was_recorded(sim, client, tmp_path: Path) -> None:
    start = time.time()
    stop_at = start + 5
    opener = Opener(client, sim, CHANNEL, stream_until=stop_at + 2)
    updates = Updates()
    task = asyncio.create_task(recorder(tmp_path / "rec", opener, stop_at, updates, reconnect_delay=0.2).run())
    await wait_until(lambda: sim.bytes_served > 100_000, "data flowing")
    sim.vanish()
    result = await task

    assert time.time() < stop_at + 3, "the reconnect back-off does not outlast the end time"
    assert result["state"] == "partial", result
    assert len(result["parts"]) == 1 and result["size"] > 0
    [gap] = result["gaps"]
    assert gap["start"] == result["parts"][0]["end"] and abs(gap["end"] - stop_at) < 0.5
    assert "refused" in gap["reason"].lower() or "connect" in gap["reason"].lower(), gap["reason"]
    assert_consistent(result)
    assert opener.calls >= 3


async def test_resume_after_a_crash(sim, client, tmp_path: Path) -> None:
    start = time.time()
    stop_at = start + 8
    folder = tmp_path / "rec"
    opener = Opener(client, sim, CHANNEL, stream_until=stop_at + 2)
    updates = Updates()
    first = asyncio.create_task(recorder(folder, opener, stop_at, updates).run())
    part = folder / "part-001.ts"
    await wait_until(lambda: part.exists() and part.stat().st_size > 150_000, "data on disk")
    first.cancel()  # the hub dies: nothing more is reported
    with contextlib.suppress(asyncio.CancelledError):
        await first
    saved = {"id": 1, "title": "News", "channel": CHANNEL, "padded_start": start, **updates.last}
    [stale] = saved["parts"]
    on_file = (folder / "part-001.ts").stat().st_size
    assert stale["end"] is None and stale["bytes"] < on_file, "the last report is behind the file"
    with open(folder / "part-001.ts", "ab") as fh:  # a write cut in the middle of a packet
        fh.write(b"\x47" + bytes(99))
    await wait_until(lambda: sim.active_streams == 0, "the dead run's tuner released")
    await asyncio.sleep(1.0)

    updates2 = Updates()
    result = await recorder(folder, opener, stop_at, updates2, recording=saved).run()

    assert result["state"] == "partial", result
    assert [Path(p["path"]).name for p in result["parts"]] == ["part-001.ts", "part-002.ts"]
    assert result["parts"][0]["bytes"] == on_file, "corrected from the disk, the cut packet dropped"
    assert result["parts"][0]["end"] is not None
    [gap] = result["gaps"]
    assert gap["reason"].startswith("the hub was not running")
    assert gap["start"] == result["parts"][0]["end"] and gap["end"] == result["parts"][1]["start"]
    assert gap["end"] - gap["start"] >= 1.0
    assert_consistent(result)
    # the first update of the new run already has the corrected first part
    assert updates2[0]["parts"][0]["bytes"] == on_file
    assert (await probe(result["parts"][1]["path"]))["format"]["format_name"] == "mpegts"


async def test_hub_stop_interrupts_and_the_next_start_resumes(sim, client, tmp_path: Path) -> None:
    start = time.time()
    stop_at = start + 7
    folder = tmp_path / "rec"
    opener = Opener(client, sim, CHANNEL, stream_until=stop_at + 2)
    rec = recorder(folder, opener, stop_at, Updates())
    task = asyncio.create_task(rec.run())
    await wait_until(lambda: sim.bytes_served > 100_000, "data flowing")
    rec.stop("shutdown")
    interrupted = await task
    assert interrupted["state"] == "interrupted", interrupted
    assert len(interrupted["parts"]) == 1 and interrupted["size"] > 0
    assert_consistent(interrupted)
    assert "resumes" in interrupted["message"]

    saved = {"id": 1, "title": "News", "channel": CHANNEL, "padded_start": start,
             **{k: v for k, v in interrupted.items() if k != "state"}}
    result = await recorder(folder, opener, stop_at, Updates(), recording=saved).run()
    assert result["state"] == "partial"
    assert len(result["parts"]) == 2 and len(result["gaps"]) == 1, result
    assert result["parts"][0] == interrupted["parts"][0]
    assert_consistent(result)


async def test_user_stop_finishes_with_what_was_recorded(sim, client, tmp_path: Path) -> None:
    start = time.time()
    opener = Opener(client, sim, CHANNEL, stream_until=start + 60)
    rec = recorder(tmp_path / "rec", opener, start + 60, Updates())
    task = asyncio.create_task(rec.run())
    await wait_until(lambda: sim.bytes_served > 200_000, "data flowing")
    rec.stop("user")
    result = await task
    assert time.time() < start + 20
    assert result["state"] == "finished" and result["message"] == "stopped by the user", result
    assert_consistent(result)
    assert (await probe(result["parts"][0]["path"]))["format"]["format_name"] == "mpegts"
    await wait_until(lambda: sim.active_streams == 0, "the tuner released")


async def test_stop_before_anything_arrived(tmp_path: Path) -> None:
    async def never() -> TunerStream:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    rec = Recorder({"id": 2}, open_stream=never, folder=tmp_path / "rec", stop_at=time.time() + 60,
                   stall_timeout=2, reconnect_delay=1, on_update=Updates())
    task = asyncio.create_task(rec.run())
    await asyncio.sleep(0.3)
    rec.stop("user")
    result = await task
    assert result["state"] == "failed" and result["size"] == 0 and result["parts"] == []
    assert result["message"] == "stopped by the user before anything was recorded"


async def test_unknown_channel_fails_at_once(sim, client, tmp_path: Path) -> None:
    start = time.time()
    opener = Opener(client, sim, "99.9", stream_until=start + 30)
    result = await recorder(tmp_path / "rec", opener, start + 30, Updates()).run()
    assert result["state"] == "failed" and result["parts"] == [] and result["size"] == 0
    assert opener.calls == 1, "no retries for a channel the device does not carry"
    assert "99.9" in result["message"] and "cannot be received" in result["message"]


async def test_busy_tuners_are_retried_and_a_late_start_is_a_gap(client, tmp_path: Path) -> None:
    async with HDHomeRunSimulator(tuner_count=1) as device:
        start = time.time()
        other = await Opener(client, device, "2.2", stream_until=start + 60)()  # holds the only tuner
        opener = Opener(client, device, CHANNEL, stream_until=start + 8)
        task = asyncio.create_task(recorder(tmp_path / "rec", opener, start + 7, Updates(),
                                            stall_timeout=1.0, reconnect_delay=0.2).run())
        await wait_until(lambda: len(opener.errors) >= 2, "busy answers")
        await asyncio.sleep(1.0)
        await other.close()
        result = await task
    assert all(isinstance(e, TunerBusy) for e in opener.errors)
    assert result["state"] == "partial", result
    [gap] = result["gaps"]
    assert gap["start"] <= start + 0.5 and gap["end"] == result["parts"][0]["start"]
    assert "late" in gap["reason"] and "busy" in gap["reason"]
    assert_consistent(result)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MiB tmpfs (needs root)."""
    yield from mounted_tmpfs(tmp_path, "2m")


async def test_disk_full_keeps_what_was_written(sim, client, tmp_path: Path, small_disk: Path) -> None:
    # a first recording fills most of the disk, the second one runs out of space
    filler = small_disk / "other-recording.ts"
    filler.write_bytes(b"\0" * (2 * 1024 * 1024 - 200 * 1024))
    start = time.time()
    opener = Opener(client, sim, CHANNEL, stream_until=start + 30)
    updates = Updates()
    result = await recorder(small_disk / "rec", opener, start + 30, updates).run()

    assert result["state"] == "failed", result
    assert result["message"].startswith("disk full: "), result["message"]
    assert "No space left on device" in result["message"] and "part-001.ts" in result["message"]
    assert result["size"] > 50_000, "what fitted is kept"
    assert_consistent(result)
    assert filler.exists() and (small_disk / "rec" / "part-001.ts").exists()
    assert time.time() < start + 20, "a full disk ends the recording, no retries"
    await wait_until(lambda: sim.active_streams == 0, "the tuner released")
    os.unlink(filler)


class ScriptedStream(TunerStream):
    def __init__(self, chunks: list[bytes], then: Exception | None = None) -> None:
        self.chunks, self.then = chunks, then

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            await asyncio.sleep(0)
            yield chunk
        if self.then is not None:
            raise self.then

    async def close(self) -> None:
        pass


async def test_parts_stay_on_packet_boundaries(tmp_path: Path) -> None:
    """Bytes before the first packet are kept; a packet cut by a drop is not written."""
    packet = b"\x47" + bytes(range(187))
    junk = b"\x00\x01\x02\x03\x04"
    body = junk + packet * 50
    streams = [ScriptedStream([body[:1000], body[1000:] + packet[:77]], TunerUnavailable("reset")),
               ScriptedStream([packet * 3 + packet[:10]])]

    async def open_stream() -> TunerStream:
        if streams:
            return streams.pop(0)
        raise TunerUnavailable("gone")

    result = await Recorder({"id": 3, "padded_start": time.time()}, open_stream=open_stream, folder=tmp_path,
                            stop_at=time.time() + 1.5, stall_timeout=1, reconnect_delay=5,
                            on_update=Updates()).run()
    assert result["state"] == "partial"
    one, two = (Path(p["path"]).read_bytes() for p in result["parts"])
    assert one == body and two == packet * 3


async def test_resume_after_the_end_only_corrects_the_parts(tmp_path: Path) -> None:
    """A hub that comes back after the recording's end: no stream is opened, the parts are
    corrected from the disk, a part whose file is gone becomes a gap, a part file the dead run
    never reported is adopted, and the time to the end is a gap."""
    packet = b"\x47" + bytes(187)
    now = time.time()
    (tmp_path / "part-001.ts").write_bytes(packet * 100)
    (tmp_path / "part-003.ts").write_bytes(packet * 10 + packet[:20])  # never reported, cut mid-packet
    recording = {
        "id": 4, "padded_start": now - 100,
        "parts": [
            {"path": str(tmp_path / "part-001.ts"), "bytes": 188 * 40, "start": now - 100, "end": None},
            {"path": str(tmp_path / "part-002.ts"), "bytes": 188 * 5, "start": now - 60, "end": now - 50},
        ],
        "gaps": [{"start": now - 70, "end": now - 60, "reason": "no data for 10 s"}],
    }
    os.utime(tmp_path / "part-001.ts", (now - 70, now - 70))
    os.utime(tmp_path / "part-003.ts", (now - 40, now - 40))

    async def open_stream() -> TunerStream:
        raise AssertionError("the recording is over: no stream")

    updates = Updates()
    result = await Recorder(recording, open_stream=open_stream, folder=tmp_path, stop_at=now - 10,
                            stall_timeout=10, reconnect_delay=2, on_update=updates).run()
    assert result["state"] == "partial", result
    assert [Path(p["path"]).name for p in result["parts"]] == ["part-001.ts", "part-003.ts"]
    assert [p["bytes"] for p in result["parts"]] == [188 * 100, 188 * 10]
    assert result["parts"][0]["end"] == pytest.approx(now - 70, abs=0.01), "the file's last write"
    assert result["parts"][1]["end"] == pytest.approx(now - 40, abs=0.01)
    reasons = [g["reason"] for g in result["gaps"]]
    assert reasons == ["no data for 10 s", "part-002.ts is missing", "the hub was not running"], result["gaps"]
    assert result["gaps"][-1]["start"] == result["parts"][-1]["end"] and result["gaps"][-1]["end"] == now - 10
    assert_consistent(result)
    assert updates, "the corrected parts were reported"


async def test_a_stream_that_ends_just_before_the_end_is_not_a_gap(tmp_path: Path) -> None:
    packet = b"\x47" + bytes(187)
    calls = []

    async def open_stream() -> TunerStream:
        calls.append(time.time())
        return ScriptedStream([packet * 20])

    result = await Recorder({"id": 5}, open_stream=open_stream, folder=tmp_path, stop_at=time.time() + 1.0,
                            stall_timeout=1, reconnect_delay=1, on_update=Updates()).run()
    assert result["state"] == "finished" and len(calls) == 1, result
    assert result["size"] == 188 * 20


async def test_through_the_hdhomerun_plugin(sim, tmp_path: Path) -> None:
    """The same recorder on the HDHomeRun plugin's own streams, opened the way the manager opens
    them (``duration`` = seconds left + 2): a drop becomes a second part; the recording is cut at
    its end."""
    from omnimedia.plugins.hdhomerun.tuner import HDHomeRunTuner

    tuner = HDHomeRunTuner(None, {"platform": "hdhomerun", "base_url": sim.base_url, "timeout": 3.0})  # type: ignore[arg-type]
    start = time.time()
    stop_at = start + 6

    async def open_stream() -> TunerStream:
        return await tuner.open_stream(CHANNEL, duration=max(1.0, stop_at - time.time()) + 2.0)

    try:
        sim.inject("disconnect", after=2.0, channel=CHANNEL)
        rec = {"id": 9, "title": "News", "channel": CHANNEL, "padded_start": start}
        task = asyncio.create_task(recorder(tmp_path / "rec", open_stream, stop_at, Updates(), rec).run())  # type: ignore[arg-type]
        await wait_until(lambda: sim.stream_log and sim.stream_log[0]["status"] == "disconnect", "the first stream cut")
        sim.inject(None)
        result = await task
    finally:
        await tuner.close()
    assert result["state"] == "partial", result
    assert len(result["parts"]) == 2 and len(result["gaps"]) == 1
    assert "broke" in result["gaps"][0]["reason"], result["gaps"][0]
    assert_consistent(result)
    assert result["parts"][1]["end"] >= stop_at - 1.0
    assert result["parts"][0]["bytes"] <= sim.stream_log[0]["bytes"]
    await wait_until(lambda: sim.active_streams == 0, "the tuner released at the end")


async def test_memory_stays_bounded_on_a_slow_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk slower than the stream: reading pauses once MAX_BUFFER bytes wait (no more is held in
    memory), the pause does not count as a stall, and every byte still reaches the file."""
    from omnimedia.core.dvr import recorder as module

    real_write = module._PartWriter._write

    def slow_write(self, data):  # worker thread
        time.sleep(0.3)
        real_write(self, data)

    monkeypatch.setattr(module._PartWriter, "_write", slow_write)
    chunk = (b"\x47" + bytes(187)) * 348  # 65,424 bytes
    total = 200
    seen: list[int] = []
    holder: dict[str, Recorder] = {}

    class Fast(TunerStream):
        def __aiter__(self) -> AsyncIterator[bytes]:
            return self._gen()

        async def _gen(self) -> AsyncIterator[bytes]:
            for _ in range(total):
                current = holder["rec"]._current
                if current is not None:
                    seen.append(current[1].buffered)
                yield chunk

        async def close(self) -> None:
            pass

    streams = [Fast()]

    async def open_stream() -> TunerStream:
        if streams:
            return streams.pop()
        raise UnknownChannel("gone")  # ends the test at once

    rec = holder["rec"] = Recorder({"id": 6}, open_stream=open_stream, folder=tmp_path, stop_at=time.time() + 60,
                                   stall_timeout=0.2, reconnect_delay=1, on_update=Updates())
    result = await rec.run()
    assert len(result["parts"]) == 1, "no stall while the disk was busy"
    assert result["size"] == len(chunk) * total == (tmp_path / "part-001.ts").stat().st_size
    assert max(seen) < module.MAX_BUFFER + len(chunk)

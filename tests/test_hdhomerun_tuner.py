"""The HDHomeRun tuner and its discovery against the simulator (tests/hdhomerun_sim.py), a
faithful stand-in for a device: UDP discovery by unicast, lineup, real MPEG-TS streams with the
device's tuner count (503 beyond), 404, faults (drop, stall, refusal), a device that vanishes,
legacy models, and the transcode parameter of EXTEND models."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from omnimedia.core.dvr.types import TunerBusy, TunerUnavailable, UnknownChannel
from omnimedia.plugins.hdhomerun.client import BadResponse
from omnimedia.plugins.hdhomerun.discovery import Prober, asks_udp, discover_udp, host_name
from omnimedia.plugins.hdhomerun.tuner import HDHomeRunTuner

from .hdhomerun_sim import HDHomeRunSimulator

ENTRY = {"platform": "hdhomerun", "timeout": 3.0}


@pytest.fixture
async def sims() -> AsyncIterator[Any]:
    started: list[HDHomeRunSimulator] = []

    async def make(**kwargs: Any) -> HDHomeRunSimulator:
        kwargs.setdefault("discovery_port", 0)
        sim = HDHomeRunSimulator(**kwargs)
        await sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        await sim.stop()


@pytest.fixture
async def tuners() -> AsyncIterator[Any]:
    made: list[HDHomeRunTuner] = []

    async def make(sim: HDHomeRunSimulator, **entry: Any) -> HDHomeRunTuner:
        result = await Prober(hosts=["127.0.0.1"], broadcast=False, port=sim.discovery_port, timeout=3,
                              udp_window=0.4).run()
        assert list(result.devices) == [sim.device_id], result.errors
        info, udp = result.devices[sim.device_id]
        tuner = HDHomeRunTuner.from_info(None, {**ENTRY, **entry}, info)  # type: ignore[arg-type]
        tuner.udp = udp
        made.append(tuner)
        return tuner

    yield make
    for tuner in made:
        await tuner.close()


async def read(stream: Any, at_least: int) -> bytes:
    data = bytearray()
    async for chunk in stream:
        data += chunk
        if len(data) >= at_least:
            break
    return bytes(data)


async def until(probe: Any, what: str, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not probe():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_udp_unicast_discovery(sims: Any) -> None:
    sim = await sims(tuner_count=3, device_id="10439EFD", model="HDHR4-2US")
    [reply] = await discover_udp([("127.0.0.1", sim.discovery_port)], timeout=0.4)
    assert (reply.device_id, reply.tuner_count, reply.base_url) == ("10439EFD", 3, sim.base_url)
    assert reply.lineup_url == f"{sim.base_url}/lineup.json" and reply.device_auth and reply.id_valid
    assert sim.discover_requests == 2  # sent twice, as libhdhomerun does; one device kept

    result = await Prober(hosts=["127.0.0.1"], broadcast=False, port=sim.discovery_port, udp_window=0.4).run()
    info, udp = result.devices["10439EFD"]
    assert (info.name, info.model, info.tuner_count, info.base_url) == ("HDHomeRun CONNECT", "HDHR4-2US", 3,
                                                                        sim.base_url)
    assert info.firmware_version == "20240417" and udp is not None and not result.errors


async def test_garbage_and_silence_find_nothing(caplog: pytest.LogCaptureFixture) -> None:
    junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    junk.bind(("127.0.0.1", 0))
    junk.setblocking(False)
    loop = asyncio.get_running_loop()

    async def answer_with_garbage() -> None:
        data, addr = await loop.sock_recvfrom(junk, 2048)
        await loop.sock_sendto(junk, b"\x00\x03\x00\x10not a real frame at all", addr)

    task = loop.create_task(answer_with_garbage())
    with caplog.at_level(logging.INFO):
        found = await discover_udp([("127.0.0.1", junk.getsockname()[1])], timeout=0.4)
    await task
    junk.close()
    assert found == []
    assert any("ignored a datagram from 127.0.0.1" in r.getMessage() for r in caplog.records)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    assert await discover_udp([("127.0.0.1", silent.getsockname()[1])], timeout=0.2) == []
    silent.close()
    assert host_name("http://hdhr.local:8080") == "hdhr.local" and host_name("10.0.0.5:80") == "10.0.0.5"
    # A URL on another port than 80 is an emulator or a simulator: HTTP only.
    assert [asks_udp(h) for h in ("10.0.0.5", "hdhr.local", "http://hdhr.local", "127.0.0.1:5004",
                                  "http://127.0.0.1:8080")] == [True, True, True, False, False]


async def test_lineup_streams_and_tuner_count(sims: Any, tuners: Any) -> None:
    sim = await sims(tuner_count=2)
    tuner = await tuners(sim)
    assert (tuner.device_id, tuner.tuner_count, tuner.manufacturer, tuner.model) == ("1053C0CA", 2, "Silicondust",
                                                                                     "HDHR5-4US")
    assert tuner.name == "HDHomeRun CONNECT QUATRO" and tuner.sw_version == "20240417"
    channels = {c.number: c for c in await tuner.lineup()}
    assert list(channels) == ["2.1", "2.2", "4.1", "9.1"]
    assert channels["2.1"].hd and channels["2.1"].video_codec == "H264" and channels["2.1"].name == "SIM-ONE"
    assert channels["4.1"].video_codec == "MPEG2" and not channels["4.1"].hd
    assert channels["9.1"].radio and channels["9.1"].video_codec is None and channels["9.1"].audio_codec == "AC3"

    one = await tuner.open_stream("2.1")
    two = await tuner.open_stream("9.1")
    data = await read(one, 188 * 200)
    assert all(data[i] == 0x47 for i in range(0, 188 * 200, 188))  # MPEG-TS sync bytes
    assert len(await read(two, 188 * 10)) >= 188 * 10
    assert sim.active_streams == 2
    with pytest.raises(TunerBusy, match=r"no tuner free for channel 4.1: HTTP 503 \(805 All Tuners In Use\)"):
        await tuner.open_stream("4.1")
    status = await tuner.tuner_status()
    assert [(s["resource"], s["channel"]) for s in status] == [("tuner0", "2.1"), ("tuner1", "9.1")]

    await one.close()
    await until(lambda: sim.active_streams == 1, "the device to free tuner 0")
    again = await tuner.open_stream("4.1", tuner=0)
    assert again.tuner_index == 0 and sim.stream_log[-1]["tuner"] == 0
    with pytest.raises(TunerBusy, match=r"804 Tuner In Use"):
        await tuner.open_stream("2.2", tuner=1)
    await again.close()
    await two.close()
    await until(lambda: sim.active_streams == 0, "every tuner to be free")
    with pytest.raises(UnknownChannel, match=r"does not carry channel 8.8: HTTP 404 \(801 Unknown Channel\)"):
        await tuner.open_stream("8.8")


async def test_duration_ends_normally_and_every_byte_arrives(sims: Any, tuners: Any) -> None:
    sim = await sims(speed=8.0)
    tuner = await tuners(sim)
    stream = await tuner.open_stream("2.2", duration=4)
    total = sum([len(c) async for c in stream])
    await stream.close()
    log = sim.stream_log[-1]
    assert log["duration"] == 4 and log["status"] == "duration"
    assert total == log["bytes"] > 0


async def test_faults(sims: Any, tuners: Any) -> None:
    sim = await sims()
    tuner = await tuners(sim, timeout=0.5)
    stream = await tuner.open_stream("2.1")
    await read(stream, 188 * 50)
    sim.inject("disconnect")
    with pytest.raises(TunerUnavailable, match=r"the stream of channel 2.1 broke after \d+ bytes"):
        await read(stream, 10**9)
    await stream.close()

    sim.inject("stall", channel="2.2")
    stream = await tuner.open_stream("2.2")
    with pytest.raises(TunerUnavailable, match="no data on channel 2.2 for 0.5 s"):
        await read(stream, 10**9)
    await stream.close()
    sim.inject(None)

    sim.inject("refuse")
    with pytest.raises(TunerBusy, match="HTTP 503"):
        await tuner.open_stream("2.1")
    with pytest.raises(TunerUnavailable, match="discover.json answered HTTP 503"):
        await tuner.refresh()
    sim.inject(None)
    assert (await tuner.refresh()).device_id == "1053C0CA"


async def test_a_device_that_vanishes(sims: Any, tuners: Any) -> None:
    sim = await sims()
    tuner = await tuners(sim)
    stream = await tuner.open_stream("2.1")
    await read(stream, 188 * 20)
    sim.vanish()
    with pytest.raises(TunerUnavailable, match=r"HDHomeRun CONNECT QUATRO \(1053C0CA\) at .*broke"):
        await read(stream, 10**9)
    await stream.close()
    with pytest.raises(TunerUnavailable, match=r"\(1053C0CA\) at http://127.0.0.1:\d+: cannot reach the device"):
        await tuner.refresh()
    assert await discover_udp([("127.0.0.1", sim.discovery_port)], timeout=0.3) == []
    sim.reappear()
    await asyncio.sleep(0.1)
    assert (await tuner.refresh()).base_url == sim.base_url
    stream = await tuner.open_stream("2.1")
    assert len(await read(stream, 188)) >= 188
    await stream.close()


async def test_legacy_without_discover_json(sims: Any, tuners: Any) -> None:
    """A legacy model: discover.json is 404, so its id and tuner count come from UDP; it has no
    HTTP lineup, which the lineup error says."""
    sim = await sims(legacy=True, model="HDHR3-US", device_id="10300A3B", tuner_count=2)
    tuner = await tuners(sim)
    assert tuner.legacy and tuner.tuner_count == 2 and tuner.device_id == "10300A3B"
    assert tuner.info is not None and tuner.info.source == "udp" and tuner.info.lineup_url == f"{sim.base_url}/lineup.json"
    with pytest.raises(BadResponse, match=r"\(10300A3B\).*lineup.json answered HTTP 404.*legacy model"):
        await tuner.lineup()


async def test_legacy_with_invalid_lineup(sims: Any, tuners: Any) -> None:
    sim = await sims(legacy="invalid", model="HDHR3-US", device_id="10300A3B")
    tuner = await tuners(sim)
    assert tuner.legacy and tuner.info is not None and tuner.info.source == "discover.json"
    assert tuner.name == "HDHomeRun DUAL"
    with pytest.raises(BadResponse, match=r"HDHomeRun DUAL \(10300A3B\).*not a list of channels but an empty object"):
        await tuner.lineup()


async def test_transcode_on_extend_models_only(sims: Any, tuners: Any, caplog: pytest.LogCaptureFixture) -> None:
    extend = await sims(model="HDTC-2US", speed=8.0)
    tuner = await tuners(extend, transcode="mobile")
    assert tuner.info is not None and tuner.info.transcode
    stream = await tuner.open_stream("2.1", duration=1)
    await stream.close()
    assert extend.stream_log[-1]["transcode"] == "mobile"

    plain = await sims(model="HDHR5-4US", device_id="10439EFD")
    with caplog.at_level(logging.WARNING):
        tuner = await tuners(plain, transcode="mobile")
    assert any("transcode: mobile is ignored: model HDHR5-4US cannot transcode" in r.getMessage()
               for r in caplog.records)
    stream = await tuner.open_stream("2.1", duration=1)
    await stream.close()
    assert plain.stream_log[-1]["transcode"] is None


async def test_scan(sims: Any, tuners: Any) -> None:
    sim = await sims()
    sim.scan_seconds = 0.5
    tuner = await tuners(sim)
    status = await tuner.scan("start")
    assert status["scan_in_progress"] is True
    for _ in range(200):
        if not (await tuner.client.lineup_status())["scan_in_progress"]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the scan did not finish")
    status = await tuner.scan("abort")
    assert status["scan_in_progress"] is False and status["source_list"] == ["Antenna", "Cable"]

"""The DVR's tuner pool: devices and tuner entities in the registry, leases bounded by the tuner
count, who holds a tuner in the busy message, live TV pre-empted by a recording, unavailable
devices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from omnimedia.core.dvr.types import LineupChannel, TunerBusy, TunerStream, TunerUnavailable, UnknownChannel
from omnimedia.core.plugins.kinds import Tuner
from tests.waiting import wait_until


class _Stream(TunerStream):
    def __init__(self, owner: ListTuner, channel: str) -> None:
        self.owner, self.channel, self.closed = owner, channel, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"\x47" + bytes(187)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.owner.open.remove(self)


class ListTuner(Tuner):
    """A device with a fixed lineup that counts its open streams."""

    platform = "testtuner"

    def __init__(self, hub: Any, device_id: str, numbers: list[str], count: int = 2) -> None:
        super().__init__(hub, {"platform": self.platform, "name": f"Box {device_id}"})
        self.device_id, self.tuner_count, self.model = device_id, count, "TB-1"
        self.numbers = numbers
        self.open: list[_Stream] = []
        self.fail_lineup: str | None = None

    async def lineup(self) -> list[LineupChannel]:
        if self.fail_lineup:
            raise TunerUnavailable(self.fail_lineup, device_id=self.device_id)
        return [LineupChannel(number=n, name=f"CH{n}") for n in self.numbers]

    async def open_stream(self, channel: str, *, duration: float | None = None) -> TunerStream:
        stream = _Stream(self, channel)
        self.open.append(stream)
        return stream


@pytest.fixture
async def dvr_hub(hub_factory: Any) -> Any:
    return await hub_factory(serve_http=False)


async def test_devices_entities_and_leases(dvr_hub: Any) -> None:
    box = ListTuner(dvr_hub, "AAAA0001", ["2.1", "2.2"], count=2)
    dvr_hub.dvr.add_tuner(box)
    await dvr_hub.dvr.refresh_lineups()

    device = dvr_hub.devices.get_by_key("testtuner", "AAAA0001")
    assert device is not None and device.model == "TB-1" and device.status == "available"
    entities = dvr_hub.entities.for_device(device.id)
    assert sorted(e.domain for e in entities) == ["tuner", "tuner"]
    assert {dvr_hub.states.get(e.entity_id).state for e in entities} == {"idle"}

    first = await dvr_hub.dvr.acquire("2.1", purpose="recording", holder="recording:1", title="News")
    second = await dvr_hub.dvr.acquire("2.2", purpose="live", holder="live:x")
    assert {dvr_hub.states.get(e.entity_id).state for e in entities} == {"recording", "live"}
    with pytest.raises(TunerBusy) as busy:
        await dvr_hub.dvr.acquire("2.1", purpose="live", holder="live:y")
    assert "News" in str(busy.value) and "Box AAAA0001" in str(busy.value)

    stream = await first.open_stream()
    assert len(box.open) == 1
    await first.release()
    await first.release()  # idempotent
    assert stream.closed and box.open == []
    assert dvr_hub.dvr.devices_status()[0]["leases"] == [second.as_dict()]
    await second.release()
    assert {dvr_hub.states.get(e.entity_id).state for e in entities} == {"idle"}


async def test_recording_preempts_live_tv_but_not_a_recording(dvr_hub: Any) -> None:
    dvr_hub.dvr.add_tuner(ListTuner(dvr_hub, "AAAA0002", ["5.1"], count=1))
    await dvr_hub.dvr.refresh_lineups()
    box = dvr_hub.dvr.tuners["AAAA0002"]
    live = await dvr_hub.dvr.acquire("5.1", purpose="live", holder="live:a")
    live_stream = await live.open_stream()
    rec = await dvr_hub.dvr.acquire("5.1", purpose="recording", holder="recording:7", title="Film")
    assert live.preempted.is_set() and live.released
    await wait_until(lambda: live_stream.closed, "the pre-empted live stream closed")
    assert box.open == []
    assert [lease["holder"] for lease in dvr_hub.dvr.devices_status()[0]["leases"]] == ["recording:7"]
    with pytest.raises(TunerBusy):
        await dvr_hub.dvr.acquire("5.1", purpose="recording", holder="recording:8")
    await rec.release()


async def test_channels_across_devices_and_unknown_channel(dvr_hub: Any) -> None:
    a = ListTuner(dvr_hub, "AAAA0003", ["2.1", "7.1"], count=1)
    b = ListTuner(dvr_hub, "AAAA0004", ["2.1"], count=1)
    dvr_hub.dvr.add_tuner(a)
    dvr_hub.dvr.add_tuner(b)
    await dvr_hub.dvr.refresh_lineups()
    lineup = await dvr_hub.dvr.lineup()
    assert [(c["number"], sorted(c["devices"])) for c in lineup] == [
        ("2.1", ["AAAA0003", "AAAA0004"]), ("7.1", ["AAAA0003"]),
    ]
    one = await dvr_hub.dvr.acquire("2.1", purpose="recording", holder="r1")
    two = await dvr_hub.dvr.acquire("2.1", purpose="recording", holder="r2")
    assert {one.device_id, two.device_id} == {"AAAA0003", "AAAA0004"}
    with pytest.raises(UnknownChannel) as unknown:
        await dvr_hub.dvr.acquire("99.9", purpose="live", holder="l")
    assert "2.1" in str(unknown.value) and "7.1" in str(unknown.value)
    with pytest.raises(ValueError, match="unknown channel '99.9'"):
        await dvr_hub.dvr.add_rule({"kind": "daily", "title": "x", "channel": "99.9", "start_time": "20:00", "duration": 60})


async def test_unreachable_device_is_unavailable_and_comes_back(dvr_hub: Any) -> None:
    box = ListTuner(dvr_hub, "AAAA0005", ["3.1"], count=1)
    dvr_hub.dvr.add_tuner(box)
    await dvr_hub.dvr.refresh_lineups()
    lease = await dvr_hub.dvr.acquire("3.1", purpose="recording", holder="r")
    box.fail_lineup = "connection refused by 192.0.2.1"
    await dvr_hub.dvr.refresh_lineups()
    status = dvr_hub.dvr.devices_status()[0]
    assert status["available"] is False and "connection refused" in status["reason"]
    device = dvr_hub.devices.get_by_key("testtuner", "AAAA0005")
    assert device.status == "unavailable"
    entity = dvr_hub.entities.for_device(device.id)[0]
    assert dvr_hub.states.get(entity.entity_id).state == "unavailable"
    with pytest.raises(TunerUnavailable):
        await lease.open_stream()
    with pytest.raises(TunerUnavailable, match="connection refused"):
        await dvr_hub.dvr.acquire("3.1", purpose="live", holder="l")
    box.fail_lineup = None
    await dvr_hub.dvr.refresh_lineups()
    assert dvr_hub.dvr.devices_status()[0]["available"] is True
    await lease.open_stream()
    await lease.release()

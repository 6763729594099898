"""State machine and the entity/device registries (keys, persistence, remembered ids)."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnimedia.core.bus import EventBus
from omnimedia.core.registry import DeviceRegistry, EntityRegistry, InvalidUniqueId
from omnimedia.core.states import InvalidEntityId, StateMachine


async def test_state_changes_fire_events_only_on_change() -> None:
    bus = EventBus()
    states = StateMachine(bus)
    changes = []
    bus.listen("state_changed", changes.append)
    first = states.set("sensor.movies_items", 3, {"unit": "items"})
    states.set("sensor.movies_items", 3, {"unit": "items"})  # nothing changed
    second = states.set("sensor.movies_items", 3, {"unit": "items", "x": 1})  # attributes only
    third = states.set("sensor.movies_items", 4, {"unit": "items", "x": 1})
    assert len(changes) == 3
    assert changes[0].data["old_state"] is None and changes[0].data["new_state"].state == "3"
    assert second.last_changed == first.last_changed and second.last_updated >= first.last_updated
    assert third.last_changed >= second.last_changed
    assert states.get("SENSOR.movies_items").state == "4"
    assert states.remove("sensor.movies_items") and states.get("sensor.movies_items") is None
    assert changes[-1].data["new_state"] is None


def test_invalid_entity_id_and_state() -> None:
    states = StateMachine(EventBus())
    with pytest.raises(InvalidEntityId):
        states.set("no_dot", "on")
    with pytest.raises(ValueError):
        states.set("sensor.x", "x" * 300)


@pytest.mark.parametrize("bad", [None, "", "   ", 42, ("a",)])
async def test_unique_id_must_be_a_non_empty_string(tmp_path: Path, bad) -> None:
    devices = DeviceRegistry(EventBus(), tmp_path)
    entities = EntityRegistry(EventBus(), tmp_path)
    with pytest.raises(InvalidUniqueId, match="non-empty string"):
        devices.get_or_create("qbittorrent", bad)
    with pytest.raises(InvalidUniqueId):
        entities.get_or_create("sensor", "qbittorrent", bad)
    with pytest.raises(InvalidUniqueId):
        devices.get_or_create("", "abc")


async def test_registries_persist_and_remember_deleted_ids(tmp_path: Path) -> None:
    bus = EventBus()
    devices, entities = DeviceRegistry(bus, tmp_path), EntityRegistry(bus, tmp_path)
    dev = devices.get_or_create("qbittorrent", "host:8080", name="qBittorrent", model="4.5.2")
    speed = entities.get_or_create("sensor", "qbittorrent", "host:8080-dl", name="Download speed", device_id=dev.id)
    other = entities.get_or_create("sensor", "transmission", "t1", name="Download speed")
    assert speed.entity_id == "sensor.download_speed" and other.entity_id == "sensor.download_speed_2"
    gone = entities.get_or_create("sensor", "qbittorrent", "host:8080-ul", name="Upload speed")
    entities.remove(gone.entity_id)
    devices.flush(), entities.flush()

    devices2, entities2 = DeviceRegistry(bus, tmp_path), EntityRegistry(bus, tmp_path)
    devices2.load(), entities2.load()
    assert devices2.get_or_create("qbittorrent", "host:8080").id == dev.id
    assert entities2.get_or_create("sensor", "qbittorrent", "host:8080-dl").entity_id == "sensor.download_speed"
    # A deleted entity that comes back gets its old id; a new one can't take it meanwhile.
    newcomer = entities2.get_or_create("sensor", "x", "y", name="Upload speed")
    assert newcomer.entity_id == "sensor.upload_speed_2"
    back = entities2.get_or_create("sensor", "qbittorrent", "host:8080-ul")
    assert back.entity_id == "sensor.upload_speed" and back.id == gone.id
    assert entities2.for_device(dev.id)[0].entity_id == "sensor.download_speed"


async def test_device_update_and_status(tmp_path: Path) -> None:
    bus = EventBus()
    events = []
    bus.listen("device_registry_updated", events.append)
    devices = DeviceRegistry(bus, tmp_path)
    dev = devices.get_or_create("googlecast", "uuid-1", name="TV", status="discovered", connection={"host": "10.0.0.2"})
    devices.get_or_create("googlecast", "uuid-1", status="discovered", connection={"host": "10.0.0.2"})  # no change
    devices.update(dev.id, status="unavailable")
    assert [e.data["action"] for e in events] == ["create", "update"]
    with pytest.raises(ValueError, match="status"):
        devices.update(dev.id, status="bogus")
    with pytest.raises(KeyError):
        devices.update("nope", name="x")
    devices.remove(dev.id)
    assert devices.get_or_create("googlecast", "uuid-1").id == dev.id


def test_corrupt_registry_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "core.device_registry").write_text("{not json")
    with pytest.raises(ValueError, match="core.device_registry"):
        DeviceRegistry(EventBus(), tmp_path).load()


async def test_state_and_its_event_share_one_context() -> None:
    bus = EventBus()
    states = StateMachine(bus)
    events = []
    bus.listen("state_changed", events.append)
    state = states.set("sensor.a", "1")
    assert events[0].context is state.context and state.context.id

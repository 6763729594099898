"""The event-bus scenarios, shared word for word by Omni-Media's bus and Home Assistant's.

This file imports nothing from Omni-Media so that Home Assistant's interpreter (Python 3.13, its
own venv) can run it too: ``python _bus_scenarios.py --impl homeassistant --events N`` prints one
JSON object with the results. ``bench_bus.py`` imports it and runs the same functions on our bus.

Every scenario times the firing loop *and* the delivery: listeners are plain callbacks that count
calls; the clock stops only when every expected call has happened, draining the event loop with
``await asyncio.sleep(0)`` (Home Assistant queues ``@callback`` listeners with ``loop.call_soon``;
ours runs them inline — both pay for getting every event delivered).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

DATA = {"source": "bench", "value": 1}


class OmniMediaAdapter:
    name = "omnimedia"

    def __init__(self) -> None:
        from omnimedia.core.bus import EventBus
        from omnimedia.core.const import EVENT_STATE_CHANGED
        from omnimedia.core.states import StateMachine

        self.bus = EventBus()
        self.states = StateMachine(self.bus)
        self.state_changed = EVENT_STATE_CHANGED

    def listen(self, event_type: str, listener: Callable[[Any], None]) -> Callable[[], None]:
        return self.bus.listen(event_type, listener)

    def fire(self, event_type: str, data: dict[str, Any]) -> None:
        self.bus.fire(event_type, data)

    def set_state(self, entity_id: str, state: str) -> None:
        self.states.set(entity_id, state)

    async def close(self) -> None:
        return None


class HomeAssistantAdapter:
    name = "homeassistant"

    def __init__(self) -> None:
        import homeassistant
        from homeassistant.const import EVENT_STATE_CHANGED
        from homeassistant.core import HomeAssistant, callback

        self.version = homeassistant.const.__version__
        self._tmp = tempfile.TemporaryDirectory(prefix="ha-bench-")
        self.hass = HomeAssistant(self._tmp.name)
        self._callback = callback
        self.state_changed = EVENT_STATE_CHANGED

    def listen(self, event_type: str, listener: Callable[[Any], None]) -> Callable[[], None]:
        # @callback: HA's fast path (no executor, no task), run via loop.call_soon.
        return self.hass.bus.async_listen(event_type, self._callback(listener))

    def fire(self, event_type: str, data: dict[str, Any]) -> None:
        self.hass.bus.async_fire(event_type, data)

    def set_state(self, entity_id: str, state: str) -> None:
        self.hass.states.async_set(entity_id, state)

    async def close(self) -> None:
        self._tmp.cleanup()


async def _drain(counter: list[int], expected: int) -> None:
    while counter[0] < expected:
        await asyncio.sleep(0)


async def events_per_second(adapter: Any, events: int, listeners: int) -> float:
    """Fire ``events`` events to ``listeners`` listeners; return delivered events per second."""
    event_type = f"bench_event_{listeners}"
    counter = [0]

    def listener(_event: Any) -> None:
        counter[0] += 1

    unsubs = [adapter.listen(event_type, listener) for _ in range(listeners)]
    fire = adapter.fire
    expected = events * listeners
    gc.collect()
    start = time.perf_counter()
    for _ in range(events):
        fire(event_type, DATA)
    await _drain(counter, expected)
    elapsed = time.perf_counter() - start
    for unsub in unsubs:
        unsub()
    assert counter[0] == expected, (counter[0], expected)
    return events / elapsed


async def state_writes_per_second(adapter: Any, writes: int) -> float:
    """Write ``writes`` changed states with one ``state_changed`` listener; return writes per second."""
    counter = [0]

    def listener(_event: Any) -> None:
        counter[0] += 1

    unsub = adapter.listen(adapter.state_changed, listener)
    set_state = adapter.set_state
    values = [str(i) for i in range(writes)]  # every write is a change
    gc.collect()
    start = time.perf_counter()
    for value in values:
        set_state("sensor.bench_counter", value)
    await _drain(counter, writes)
    elapsed = time.perf_counter() - start
    unsub()
    assert counter[0] == writes, (counter[0], writes)
    return writes / elapsed


SCENARIOS = ("events_1_listener", "events_10_listeners", "state_writes")


async def run_round(adapter: Any, events: int) -> dict[str, float]:
    """One round of every scenario (after a small warm-up); returns {scenario: per second}."""
    await events_per_second(adapter, 1000, 1)
    await state_writes_per_second(adapter, 1000)
    return {
        "events_1_listener": await events_per_second(adapter, events, 1),
        "events_10_listeners": await events_per_second(adapter, events, 10),
        "state_writes": await state_writes_per_second(adapter, events),
    }


async def run(impl: str, events: int, rounds: int) -> dict[str, Any]:
    adapter = HomeAssistantAdapter() if impl == "homeassistant" else OmniMediaAdapter()
    try:
        results = [await run_round(adapter, events) for _ in range(rounds)]
    finally:
        await adapter.close()
    return {
        "impl": impl,
        "version": getattr(adapter, "version", None),
        "python": sys.version.split()[0],
        "rounds": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=["omnimedia", "homeassistant"], required=True)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.impl, args.events, args.rounds))))


if __name__ == "__main__":
    main()

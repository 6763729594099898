"""Waiting in tests for something that happens on its own time (a device answering, a state
changing), with a ceiling that is not a goal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

#: The default ceiling, seconds: generous, since the machine may be busy.
DEADLINE = 20.0


async def wait_until(
    probe: Callable[[], Any], what: str, timeout: float = DEADLINE, log: Callable[[], str] | None = None,
) -> Any:
    """Call ``probe`` (a function, or one returning a coroutine) every 0.1 s until it returns
    something truthy, and return that. Raises ``AssertionError`` naming ``what``, the last value
    and the tail of ``log()`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.1)
    extra = f"\n--- log (tail) ---\n{log()[-3000:]}" if log else ""
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last: {last!r}{extra}")

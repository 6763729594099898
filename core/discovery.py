"""CONTRACT STUB — being implemented."""

from __future__ import annotations

from typing import Any


class Discovery:
    def __init__(self, hub: Any) -> None:
        self.hub = hub

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

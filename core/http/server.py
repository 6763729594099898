"""CONTRACT STUB — being implemented."""

from __future__ import annotations

from typing import Any


class HttpServer:
    def __init__(self, hub: Any) -> None:
        self.hub = hub

    async def start(self, host: str, port: int) -> None: ...
    async def stop(self) -> None: ...

    def bound_address(self) -> tuple[str, int]:
        return ("0.0.0.0", 0)

"""The media library engine (scanner, watcher, queries). CONTRACT STUB — being implemented."""

from __future__ import annotations

from typing import Any


class LibraryManager:
    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.scanning = False

    async def start(self) -> None: ...
    async def start_watching(self) -> None: ...
    async def stop(self) -> None: ...

    async def scan(self, library_id: int | None = None, *, full: bool = False, context: Any = None) -> dict[str, Any]:
        return {}

    async def rescan_item(self, item_id: int, context: Any = None) -> dict[str, Any]:
        return {}

    async def list_items(self, *, type: str | None = None, text: str | None = None, library: int | None = None,
                         limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return [], 0

    async def get_item(self, item_id: int) -> dict[str, Any] | None:
        return None

    async def libraries(self) -> list[dict[str, Any]]:
        return []

    async def stats(self) -> dict[str, Any]:
        return {}

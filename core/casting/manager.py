"""CastingManager (``hub.casting``): known renderers and what they are playing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..hub import Hub


class CastingManager:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def start(self) -> None:
        """Start watching renderers."""

    async def stop(self) -> None:
        """Stop polling renderers and close their connections."""

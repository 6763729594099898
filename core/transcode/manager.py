"""TranscodeManager (``hub.transcode``): the library optimiser's engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..hub import Hub


class TranscodeManager:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def start(self, *, loops: bool = True) -> None:
        """Build transcoders, recover after a crash, start the queue workers (``loops``)."""

    async def stop(self) -> None:
        """Stop the workers; a running job's ffmpeg is ended and its temporary file removed."""

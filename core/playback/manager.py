"""PlaybackManager (``hub.playback``): sessions, positions, decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..hub import Hub


class PlaybackManager:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def start(self) -> None:
        """Load device profiles; sweep leftovers of sessions from a previous run."""

    async def stop(self) -> None:
        """End every session and its ffmpeg processes."""

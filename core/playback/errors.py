"""The playback engine's errors: one base class, each with the HTTP status that fits."""

from __future__ import annotations

from ..errors import OmniMediaError


class PlaybackError(OmniMediaError):
    """Base of every playback error (decision, sessions, streaming); ``status`` is the HTTP
    status the API answers with."""

    status = 500


class NotPlayable(PlaybackError):
    """The decision found nothing to play: no video or audio stream, a stream index that does
    not exist or is of the wrong kind, an image subtitle to burn into a file without video, or a
    probe result without streams. The message says which, for the user."""

    status = 422

"""Playback: device profiles, the direct play / direct stream / transcode decision, progressive
and HLS streaming, subtitles, sessions and resume positions. See :mod:`.manager`."""

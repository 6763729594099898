"""The ``playback:`` section of configuration.yaml (filled in by the playback engine)."""

from __future__ import annotations

import voluptuous as vol

PLAYBACK_SCHEMA = vol.Schema({})

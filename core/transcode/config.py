"""The ``transcode:`` section of configuration.yaml (filled in by the transcode engine)."""

from __future__ import annotations

import voluptuous as vol

TRANSCODE_SCHEMA = vol.Schema({})

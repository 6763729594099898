"""Playback endpoints (filled in with the playback engine)."""

from __future__ import annotations

from .routing import RouteTable

routes = RouteTable()

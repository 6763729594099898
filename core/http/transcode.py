"""Transcode endpoints (filled in with the transcode engine)."""

from __future__ import annotations

from .routing import RouteTable

routes = RouteTable()

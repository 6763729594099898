"""Streaming endpoints (filled in with the streaming engine)."""

from __future__ import annotations

from .routing import RouteTable

routes = RouteTable()

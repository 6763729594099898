"""Casting endpoints (filled in with the casting engine)."""

from __future__ import annotations

from .routing import RouteTable

routes = RouteTable()

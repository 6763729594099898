"""JSON for the HTTP and WebSocket APIs.

:func:`dumps` understands the hub's own objects — :class:`~omnimedia.core.states.State`,
:class:`~omnimedia.core.bus.Context`, :class:`~omnimedia.core.bus.Event` and registry entries (all
through their ``as_dict()``), other dataclasses, :class:`pathlib.PurePath`, datetimes (ISO 8601),
sets, mappings — so that events fired on the bus can be sent as they are. Non-finite floats (NaN,
infinity) become ``null`` because browsers' ``JSON.parse`` rejects them. Anything else unknown is
sent as its ``str()`` rather than failing the response.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from aiohttp import web

_LOGGER = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"


def default(obj: Any) -> Any:
    """``json.dumps`` hook: return a JSON-ready stand-in for ``obj``."""
    as_dict = getattr(obj, "as_dict", None)
    if callable(as_dict) and not isinstance(obj, type):
        return as_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, dt.datetime | dt.date | dt.time):
        return obj.isoformat()
    if isinstance(obj, dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, bytes | bytearray):
        return obj.decode("utf-8", "replace")
    _LOGGER.debug("sending %s as its str() in JSON", type(obj).__name__)
    return str(obj)


def _finite(value: Any) -> Any:
    """Replace NaN/infinity by ``None`` anywhere in a JSON-ready tree (slow path only)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(obj: Any) -> str:
    """Serialise ``obj`` to compact JSON text (UTF-8 characters kept as they are)."""
    try:
        return json.dumps(obj, default=default, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        # A NaN/infinity somewhere: round-trip through the permissive encoder and clean it.
        tree = json.loads(json.dumps(obj, default=default, ensure_ascii=False))
        return json.dumps(_finite(tree), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def json_response(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """An ``application/json`` response encoded with :func:`dumps`."""
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


def error_response(status: int, message: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """The API's error shape: ``{"error": message}`` with HTTP ``status``."""
    return json_response({"error": message}, status=status, headers=headers)

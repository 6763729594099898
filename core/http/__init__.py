"""The HTTP API and the dashboard's web server (aiohttp).

- :mod:`.server` — :class:`~.server.HttpServer` (start/stop, bound address) and the app factory.
- :mod:`.routing` — route declarations: one table registers handlers, validates parameters and
  bodies against their JSON Schemas, and feeds :mod:`.openapi` (``/api/openapi.json``).
- :mod:`.api` — health, config, plugins, devices, entities, services.
- :mod:`.media` — libraries, media items, stats, scans, direct play (:mod:`.stream`).
- :mod:`.websocket` — ``/api/websocket`` (events, states, service calls).
- :mod:`.middleware` — JSON errors, no tracebacks to clients; :mod:`.json` — the encoder.
- :mod:`.frontend` — serves the ``omnimedia.frontend`` folder at ``/``.
"""

"""The HTTP API and the dashboard's web server (aiohttp)."""

"""Serves the dashboard: the static files of the ``omnimedia.frontend`` package folder.

``/`` is ``index.html``; any other file of the folder (sub-folders included) is served by its
relative path. Responses carry ``Cache-Control: no-cache`` so a browser revalidates (cheaply, with
the ETag aiohttp sends) and always runs the dashboard that matches the hub.
"""

from __future__ import annotations

import asyncio
import os
from importlib import resources
from pathlib import Path

from aiohttp import web

NO_CACHE = {"Cache-Control": "no-cache"}


def frontend_dir() -> Path:
    """The folder of the ``omnimedia.frontend`` package (``frontend/`` in a checkout)."""
    import omnimedia.frontend as package

    if getattr(package, "__file__", None):
        return Path(package.__file__).resolve().parent
    return Path(str(resources.files(package))).resolve()  # pragma: no cover - namespace install


def _find(root: Path, rel: str) -> Path | None:
    """The real file for ``rel`` when it is a regular file inside ``root`` (no ``..``, no
    symlinks out, no Python sources)."""
    candidate = Path(os.path.realpath(root / rel))
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    if candidate.suffix in (".py", ".pyc") or "__pycache__" in candidate.parts:
        return None
    return candidate


def add_frontend_routes(app: web.Application, root: Path | None = None) -> None:
    """Register ``GET /`` and ``GET /{path}`` (register them after the API routes)."""
    folder = Path(os.path.realpath(root or frontend_dir()))

    async def index(request: web.Request) -> web.StreamResponse:
        path = await asyncio.to_thread(_find, folder, "index.html")
        if path is None:
            raise web.HTTPNotFound(text=f"the dashboard is not installed (no index.html in {folder})")
        return web.FileResponse(path, headers=NO_CACHE)

    async def asset(request: web.Request) -> web.StreamResponse:
        rel = request.match_info["path"]
        if rel == "api" or rel.startswith("api/"):
            # Not an asset: an API path nothing else matched (the error middleware sends JSON).
            raise web.HTTPNotFound(text=f"no such endpoint: {request.method} {request.path}")
        path = await asyncio.to_thread(_find, folder, rel)
        if path is None:
            raise web.HTTPNotFound(text=f"no such file: /{rel}")
        return web.FileResponse(path, headers=NO_CACHE)

    app.router.add_get("/", index)
    app.router.add_get("/{path:.+}", asset)

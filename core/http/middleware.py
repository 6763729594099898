"""Error handling for the API: every 4xx/5xx under ``/api`` is JSON ``{"error": "..."}`` and no
traceback ever reaches a client (unexpected exceptions are logged here, on the hub)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.web_middlewares import Handler

from .json import error_response

_LOGGER = logging.getLogger(__name__)

API_PREFIX = "/api"


def is_api(request: web.Request) -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _message(request: web.Request, exc: web.HTTPException) -> str:
    if getattr(request.match_info, "http_exception", None) is exc:
        # Raised by the router itself: nothing matched the path or the method.
        if exc.status == 405:
            return f"method {request.method} is not allowed for {request.path}"
        return f"no such endpoint: {request.method} {request.path}"
    text = exc.text or ""
    if not text or text == f"{exc.status}: {exc.reason}":
        return exc.reason or "error"
    return text


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn HTTP errors and unexpected exceptions on ``/api`` paths into JSON errors."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or not is_api(request):
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "content-range", "retry-after")}
        return error_response(exc.status, _message(request, exc), headers=headers)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        _LOGGER.exception("error while handling %s %s", request.method, request.path)
        if is_api(request):
            return error_response(500, "internal error while handling the request (see the hub's log)")
        raise web.HTTPInternalServerError(text="internal error (see the hub's log)") from None

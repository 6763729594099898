"""Shared pieces of the download-client plugins (qBittorrent, Transmission, NZBGet, SABnzbd).

- :func:`client_schema` — the config schema every download client shares: ``url`` (required),
  credentials, ``category`` (default ``omnimedia``), ``timeout`` (seconds), ``enabled``.
- :class:`SyncRunner` — runs a synchronous client library on a worker thread, one call at a
  time per client (the libraries keep one ``requests`` session each, with its login cookie).
- :class:`JsonHttp` — a small aiohttp client for clients without a good library: maps
  connection failures, timeouts and HTTP statuses onto the :mod:`~omnimedia.core.errors`
  ``ProviderError`` classes with a message naming the client.

Error mapping (the :class:`~omnimedia.core.plugins.kinds.Downloader` contract): refused
connection, DNS failure, timeout, HTTP 5xx and an HTML page where JSON was expected →
``ProviderUnavailable``; HTTP 401/403 and wrong passwords → ``ProviderAuthError``; other HTTP 4xx
and unreadable answers → ``ProviderResponseError``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import voluptuous as vol

from ..errors import ProviderAuthError, ProviderError, ProviderResponseError, ProviderUnavailable

DEFAULT_CATEGORY = "omnimedia"
DEFAULT_TIMEOUT = 30.0

T = TypeVar("T")


def http_url(value: Any) -> str:
    """Voluptuous validator: an ``http://`` or ``https://`` URL with a host; trailing ``/`` removed."""
    if not isinstance(value, str):
        raise vol.Invalid("expected a URL such as http://127.0.0.1:8080")
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise vol.Invalid("expected an http:// or https:// URL with a host (e.g. http://127.0.0.1:8080)")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise vol.Invalid("expected a URL with a valid port number") from None
    return text.rstrip("/")


def client_schema(*, credentials: tuple[str, ...] = ("username", "password"), extra: Mapping[Any, Any] | None = None) -> vol.Schema:
    """The config schema of a download-client plugin.

    ``credentials`` names the credential keys this client takes (``username``, ``password``,
    ``api_key``); all are optional strings. ``extra`` adds client-specific keys."""
    keys: dict[Any, Any] = {
        vol.Required("url"): http_url,
        vol.Optional("category", default=DEFAULT_CATEGORY): vol.Any(None, vol.All(str, vol.Length(min=1))),
        vol.Optional("timeout", default=DEFAULT_TIMEOUT): vol.All(vol.Coerce(float), vol.Range(min=1, max=600)),
        vol.Optional("enabled", default=True): bool,
        vol.Optional("verify_ssl", default=True): bool,
    }
    for key in credentials:
        keys[vol.Optional(key)] = vol.Any(None, str)
    keys.update(extra or {})
    return vol.Schema(keys)


class SyncRunner:
    """Run a blocking call on a worker thread, serialised per client (one session, one login)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def __call__(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async with self._lock:
            return await asyncio.to_thread(func, *args, **kwargs)


def auth_error(client: str, detail: str, code: int | None = None) -> ProviderAuthError:
    return ProviderAuthError(f"{client}: login refused ({detail}); check the username/password or API key", code=code)


class JsonHttp:
    """An aiohttp session bound to one client's base URL, with the error mapping above.

    ``client`` is the name used in messages ("NZBGet 'nzbget' at http://…"). ``basic_auth``
    (``(username, password)``) is sent as an HTTP basic ``Authorization`` header (RFC 7617,
    UTF-8). The session is created on first use (inside the running loop)."""

    def __init__(self, client: str, base_url: str, *, timeout: float, basic_auth: tuple[str, str] | None = None,
                 verify_ssl: bool = True) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.headers: dict[str, str] = {}
        if basic_auth is not None:
            token = base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode("ascii")
            self.headers["Authorization"] = f"Basic {token}"
        self.verify_ssl = verify_ssl
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=None if self.verify_ssl else False)
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, str]:
        """Send a request; return ``(status, content_type, text)`` for any 2xx answer.

        Raises ``ProviderUnavailable`` (cannot connect, timeout, 5xx), ``ProviderAuthError``
        (401/403, with the body text in the message) or ``ProviderResponseError`` (other 4xx)."""
        url = f"{self.base_url}{path}"
        try:
            async with self._get_session().request(method, url, **kwargs) as resp:
                text = await resp.text(errors="replace")
                status, ctype = resp.status, resp.content_type
        except TimeoutError:
            raise ProviderUnavailable(f"{self.client}: no answer from {self.base_url} within "
                                      f"{self.timeout.total:.0f} s") from None
        except aiohttp.ClientConnectorError as err:
            raise ProviderUnavailable(f"{self.client}: cannot connect to {self.base_url} ({err.os_error or err})") from None
        except aiohttp.ClientError as err:
            raise ProviderUnavailable(f"{self.client}: connection to {self.base_url} failed ({type(err).__name__}: {err})") from None
        body = " ".join(text.split())[:200]
        if status in (401, 403):
            raise auth_error(self.client, f"HTTP {status}{': ' + body if body else ''}", code=status)
        if status >= 500:
            raise ProviderUnavailable(f"{self.client}: server error HTTP {status} from {url}"
                                      f"{': ' + body if body else ''}", code=status)
        if status >= 400:
            raise ProviderResponseError(f"{self.client}: HTTP {status} from {url}{': ' + body if body else ''}", code=status)
        return status, ctype, text

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`request`, then parse JSON. An HTML page → ``ProviderUnavailable`` (a proxy or
        login page is answering instead of the client); other bad JSON → ``ProviderResponseError``."""
        _, ctype, text = await self.request(method, path, **kwargs)
        try:
            return json.loads(text)
        except ValueError:
            snippet = " ".join(text.split())[:120]
            if "html" in ctype or snippet.lower().startswith(("<!doctype", "<html")):
                raise ProviderUnavailable(f"{self.client}: {self.base_url} answered with an HTML page, "
                                          f"not the JSON API (wrong URL or port?): {snippet!r}") from None
            raise ProviderResponseError(f"{self.client}: unreadable JSON from {self.base_url}: {snippet!r}") from None


def describe(platform: str, entry: Mapping[str, Any]) -> str:
    """``"qBittorrent 'Living room' at http://…"`` style name for messages."""
    name = entry.get("name") or platform
    return f"{platform} '{name}' at {entry.get('url')}" if name != platform else f"{platform} at {entry.get('url')}"


__all__ = [
    "DEFAULT_CATEGORY",
    "DEFAULT_TIMEOUT",
    "JsonHttp",
    "ProviderError",
    "SyncRunner",
    "auth_error",
    "client_schema",
    "describe",
    "http_url",
]

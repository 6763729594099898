"""Turning a chosen release into a download: fetch its payload, compute its id, hand it over.

For a torrent the hub downloads the ``.torrent`` itself (or takes the magnet) and computes the
info-hash (BEP 3: SHA-1 of the bencoded ``info`` dictionary; BEP 9 for magnets) *before* sending
it, so the grab is tracked by an id the hub knows rather than whatever the client reports back.
An indexer link that redirects to a magnet URI is followed (Jackett and Prowlarr do that).
For usenet the ``.nzb`` is downloaded and checked to be an NZB document.
"""

from __future__ import annotations

import aiohttp
from yarl import URL

from ..errors import ProviderAuthError, ProviderResponseError, ProviderUnavailable
from .torrent import infohash_from_magnet, infohash_from_torrent
from .types import DownloadRequest, Release

#: The largest .torrent / .nzb the hub accepts from an indexer (bytes).
MAX_PAYLOAD = 50 * 1024 * 1024
_REDIRECTS = 5


async def fetch_payload(
    session: aiohttp.ClientSession, release: Release, *, category: str | None, timeout: float = 30.0
) -> DownloadRequest:
    """Build the :class:`DownloadRequest` for ``release``: payload fetched, info-hash computed.

    Raises ``ProviderUnavailable`` (indexer unreachable / 5xx), ``ProviderAuthError`` (401/403),
    ``ProviderResponseError`` (not a torrent / NZB, no download link), each naming the indexer.
    """
    name = release.indexer
    url = release.download_url or release.magnet_url
    if not url:
        raise ProviderResponseError(f"{name}: release {release.title!r} has no download link")
    request = DownloadRequest(protocol=release.protocol, name=release.title, category=category)
    for _ in range(_REDIRECTS + 1):
        if url.startswith("magnet:"):
            if release.protocol != "torrent":
                raise ProviderResponseError(f"{name}: a usenet release links to a magnet URI")
            try:
                request.infohash = infohash_from_magnet(url)
            except ValueError as err:
                raise ProviderResponseError(f"{name}: bad magnet link for {release.title!r}: {err}") from err
            request.magnet = url
            return request
        try:
            async with session.get(
                url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as resp:
                if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                    url = str(URL(url).join(URL(resp.headers["Location"])))
                    continue
                if resp.status in (401, 403):
                    raise ProviderAuthError(f"{name}: the download link answered HTTP {resp.status}", code=resp.status)
                if resp.status >= 400:
                    raise ProviderUnavailable(f"{name}: the download link answered HTTP {resp.status}", code=resp.status)
                data = await resp.content.read(MAX_PAYLOAD + 1)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ProviderUnavailable(f"{name}: could not fetch {release.title!r}: {err or type(err).__name__}") from err
        if len(data) > MAX_PAYLOAD:
            raise ProviderResponseError(f"{name}: the download for {release.title!r} is larger than {MAX_PAYLOAD} bytes")
        if release.protocol == "torrent":
            try:
                request.infohash = infohash_from_torrent(data)
            except ValueError as err:
                raise ProviderResponseError(
                    f"{name}: the download for {release.title!r} is not a valid .torrent ({err})"
                ) from err
            request.torrent = data
        else:
            if b"<nzb" not in data[:4096].lower():
                raise ProviderResponseError(f"{name}: the download for {release.title!r} is not an NZB document")
            request.nzb = data
        return request
    raise ProviderResponseError(f"{name}: too many redirects fetching {release.title!r}")

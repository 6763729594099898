"""Exceptions the hub raises across modules."""

from __future__ import annotations


class OmniMediaError(Exception):
    """Base class of the hub's own errors."""


class ServiceNotFound(OmniMediaError, KeyError):
    """No service is registered under ``domain.service``."""

    def __init__(self, domain: str, service: str) -> None:
        super().__init__(f"unknown service {domain}.{service}")
        self.domain, self.service = domain, service

    def __str__(self) -> str:
        return self.args[0]


class ServiceValidationError(OmniMediaError, ValueError):
    """A service call's data did not match its schema; the message names the field."""


class PluginNotReady(OmniMediaError):
    """Raised by a plugin's setup when a dependency (a device, a server) is not reachable yet.

    The plugin manager retries setup with exponential backoff (5 s, 10 s, 20 s … up to 5 min)."""


class PluginSetupError(OmniMediaError):
    """Raised by a plugin's setup when it cannot work with the configuration it was given."""


class ProviderError(OmniMediaError):
    """A provider's remote service (an indexer, a download client, a metadata API) failed.

    The message says which service and why, in words a user can act on. ``code`` is the
    service's own error code when it sent one (Newznab ``<error code=…>``, an HTTP status);
    ``retry_after`` (seconds) is set when the service asked us to wait (HTTP 429
    ``Retry-After``, Newznab 429/500-range codes). Health tracking uses the subclass to decide
    the backoff: see :mod:`omnimedia.core.acquisition.health`.
    """

    def __init__(self, message: str, *, code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class ProviderAuthError(ProviderError):
    """The service refused our credentials (HTTP 401/403, Newznab codes 100–102, a wrong
    password). It stays refused until the user changes the configuration."""


class ProviderRateLimited(ProviderError):
    """The service asked us to slow down (HTTP 429, Newznab 429 / request-limit codes 500–501)."""


class ProviderUnavailable(ProviderError):
    """The service could not be reached or answered with a server error: connection refused,
    timeout, DNS failure, HTTP 5xx, or an HTML page where XML/JSON was expected."""


class ProviderResponseError(ProviderError):
    """The service answered, but with something we cannot read (malformed XML/JSON, missing
    required fields) or with a request error (Newznab codes 200–203, 300, 900–910)."""

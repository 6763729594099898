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

"""Per-provider health: is an indexer or download client working, and if not, when to try again.

Each failure escalates the backoff, like Sonarr's indexer status service (source: Sonarr
``EscalationBackOff``: 0, 1, 5, 15, 30 minutes, 1, 3, 6, 12, 24 hours). A rate-limit answer with
a ``Retry-After`` waits at least that long. Wrong credentials (``ProviderAuthError``) disable the
provider until the configuration changes (the hub restarts with new settings) — retrying them
would only lock the account. A success clears everything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import ProviderAuthError, ProviderError, ProviderRateLimited

#: Minutes to wait after the 1st, 2nd … consecutive failure.
BACKOFF_MINUTES = (0, 1, 5, 15, 30, 60, 180, 360, 720, 1440)


@dataclass(slots=True)
class ProviderHealth:
    """Health of one configured provider. Times are UTC epoch seconds.

    ``status``: ``unknown`` (never used), ``ok``, ``failing`` (skipped until ``retry_at``),
    ``disabled`` (wrong credentials, or ``enabled: false`` in the configuration).
    """

    name: str
    platform: str
    kind: str
    protocol: str
    enabled: bool = True
    status: str = "unknown"
    message: str | None = None
    failures: int = 0
    retry_at: float | None = None
    last_success: float | None = None
    last_failure: float | None = None

    def available(self, now: float | None = None) -> bool:
        """May the provider be used now?"""
        if not self.enabled or self.status == "disabled":
            return False
        return self.retry_at is None or (now if now is not None else time.time()) >= self.retry_at

    def succeeded(self, now: float | None = None) -> bool:
        """Record a success; returns True when the status changed."""
        changed = self.status != "ok"
        self.status, self.message, self.failures, self.retry_at = "ok", None, 0, None
        self.last_success = now if now is not None else time.time()
        return changed

    def failed(self, error: BaseException, now: float | None = None) -> bool:
        """Record a failure and schedule the next attempt; returns True when status or message changed."""
        now = now if now is not None else time.time()
        before = (self.status, self.message)
        self.failures += 1
        self.last_failure = now
        self.message = str(error) or type(error).__name__
        if isinstance(error, ProviderAuthError):
            self.status, self.retry_at = "disabled", None
            return before != (self.status, self.message)
        self.status = "failing"
        wait = BACKOFF_MINUTES[min(self.failures, len(BACKOFF_MINUTES)) - 1] * 60.0
        if isinstance(error, ProviderRateLimited) and error.retry_after:
            wait = max(wait, float(error.retry_after))
        elif isinstance(error, ProviderRateLimited):
            wait = max(wait, 60.0)
        self.retry_at = now + wait if wait > 0 else None
        return before != (self.status, self.message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "platform": self.platform, "kind": self.kind, "protocol": self.protocol,
            "enabled": self.enabled, "status": "disabled" if not self.enabled else self.status,
            "message": self.message, "failures": self.failures, "retry_at": self.retry_at,
            "last_success": self.last_success, "last_failure": self.last_failure,
        }


def describe(error: BaseException, provider: str) -> str:
    """A one-line message for ``error`` raised by ``provider``: ProviderErrors already name it."""
    if isinstance(error, ProviderError):
        return str(error)
    if isinstance(error, TimeoutError):
        return f"{provider}: no answer in time"
    return f"{provider}: {type(error).__name__}: {error}"

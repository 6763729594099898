"""Fan a search out to every usable indexer at once.

Each indexer gets its own timeout; a slow or broken indexer costs the search only its own
results (reported in ``errors``), never the others' — the whole search takes about as long as the
slowest indexer that answers in time, capped by the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProviderUnavailable
from ..plugins.kinds import Indexer
from .health import ProviderHealth, describe
from .types import Release, SearchQuery

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True)
class SearchOutcome:
    """Releases from all indexers (in answer order), per-indexer errors and timings (seconds)."""

    releases: list[Release] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    indexers: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "errors": list(self.errors), "indexers": list(self.indexers),
            "timings": dict(self.timings), "elapsed": self.elapsed,
        }


async def fan_out(
    indexers: Iterable[tuple[Indexer, ProviderHealth | None]],
    query: SearchQuery | None,
    *,
    timeout: float,
    on_result: Any = None,
) -> SearchOutcome:
    """Run ``query`` on every indexer concurrently (``query`` None = each indexer's RSS feed).

    Indexers whose health says "not now" are skipped and listed in ``errors``. Each call is
    bounded by ``timeout`` seconds; failures are recorded in the indexer's health and in
    ``errors`` as ``{"indexer": name, "error": message}``. ``on_result(health, error_or_None)``
    is called after each indexer finishes (the engine fires health events from it).
    Never raises for an indexer's failure.
    """
    outcome = SearchOutcome()
    started = time.perf_counter()
    now = time.time()

    async def one(indexer: Indexer, health: ProviderHealth | None) -> list[Release]:
        t0 = time.perf_counter()
        error: BaseException | None = None
        try:
            async with asyncio.timeout(timeout):
                return await (indexer.search(query) if query is not None else indexer.rss())
        except TimeoutError:
            error = ProviderUnavailable(f"{indexer.name}: no answer within {timeout:g} s")
        except Exception as err:  # noqa: BLE001 - a plugin's failure must stay its own
            error = err
            if not hasattr(err, "code"):
                _LOGGER.debug("indexer %s failed", indexer.name, exc_info=True)
        finally:
            outcome.timings[indexer.name] = time.perf_counter() - t0
            if health is not None:
                if error is None:
                    health.succeeded()
                else:
                    health.failed(error)
            if on_result is not None:
                on_result(health, error)
        outcome.errors.append({"indexer": indexer.name, "error": describe(error, indexer.name)})
        return []

    tasks = []
    for indexer, health in indexers:
        if health is not None and not health.available(now):
            reason = health.message or "disabled"
            outcome.errors.append({"indexer": indexer.name, "error": f"skipped: {reason}"})
            continue
        outcome.indexers.append(indexer.name)
        tasks.append(one(indexer, health))
    for releases in await asyncio.gather(*tasks):
        outcome.releases.extend(releases)
    outcome.elapsed = time.perf_counter() - started
    return outcome

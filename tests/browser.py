"""Real Chromium for dashboard tests: Debian's ``/usr/bin/chromium`` driven by Playwright (async).

Playwright's own browser downloads are never used (no ``playwright install``): the test skips with
a clear reason when the system Chromium or the Playwright package is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

CHROMIUM = os.environ.get("OMNIMEDIA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> str:
    """The Chromium executable; skips the calling test when it (or Playwright) is absent."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright; no browser download needed)")
    return CHROMIUM


@asynccontextmanager
async def chromium_page(**context_options: Any) -> AsyncIterator[tuple[Any, list[str]]]:
    """Yield ``(page, errors)``: a fresh page in a new Chromium context, and a live list of the
    uncaught page errors (JavaScript exceptions) seen so far. Options go to ``new_context``
    (e.g. ``viewport``, ``color_scheme``)."""
    executable = require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(**context_options)
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, errors
        finally:
            await browser.close()

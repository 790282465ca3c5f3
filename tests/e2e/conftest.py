"""Headless Chromium (Debian's package) driven by Playwright against pytest-django's live server.

Browser tests skip, saying why, only when no Chromium is installed; with REQUIRE_BROWSER=1 (set by
.ci/run) a missing Chromium fails the run instead, so CI never passes without them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import CHROMIUM_ARGS, VIEWPORTS, chromium_path

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it
# are ordinary synchronous calls, so Django's async-safety guard is told so.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if chromium_path():
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(
            "REQUIRE_BROWSER=1 but no Chromium: apt-get install chromium (.ci/run does)."
        )
    skip = pytest.mark.skip(reason="no Chromium at /usr/bin/chromium: apt-get install chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """Open a page in a fresh context (no cookies) at a viewport, recording every request."""
    contexts: list[Any] = []

    def make(viewport: str = "desktop", *, locale: str = "en-CA") -> Any:
        context = browser.new_context(viewport=VIEWPORTS[viewport], locale=locale)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.requested = []  # type: ignore[attr-defined]
        page.on("request", lambda request: page.requested.append(request.url))
        page.console_errors = []  # type: ignore[attr-defined]
        page.on(
            "console",
            lambda m: page.console_errors.append(m.text) if m.type == "error" else None,
        )
        return page

    yield make
    for context in contexts:
        context.close()

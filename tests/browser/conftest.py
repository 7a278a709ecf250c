"""Browser tests: the demo gateway (as ``gateway demo`` builds it) served by uvicorn on a
loopback ephemeral port, driven by Playwright in the system's headless Chromium.

Playwright never downloads a browser here: it is given Chromium's executable path
(``$CHROMIUM_PATH``, else ``chromium`` or ``chromium-browser`` on PATH). Without one the
tests are skipped with the reason shown, except in CI (``CI=true``), where `.ci/run`
installs Chromium and its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from gateway.cli import build_demo_app

_STARTUP_SECONDS = 30.0


def chromium_path() -> str | None:
    """The system Chromium to drive, if there is one."""
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        reason = "no Chromium found (install Debian's chromium, or set CHROMIUM_PATH)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    """The base URL of the demo gateway, served for the module's tests."""
    app, _ = build_demo_app()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="demo-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the demo gateway did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_STARTUP_SECONDS)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    # Anything not served by the gateway itself would be a CDN reference: refuse it.
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("http://127.0.0.1:")
            or route.request.url.startswith("data:")
            else route.abort()
        ),
    )
    try:
        yield page
    finally:
        context.close()

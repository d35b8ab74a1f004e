"""Browser fixtures: Debian's Chromium driven by Playwright, against a live hotline server.

The server is the app built from the test settings, except that PUBLIC_BASE_URL is the
address it really listens on, so the softphone's signed webhook requests check out.
Playwright must never download a browser here: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from ivr import create_app
from ivr.hotline import Hotline
from tests.support.services import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AXE_VERSION = "4.10.2"
"""axe-core from the npm registry, installed by scripts/ensure-test-services.sh (keep in step)."""
AXE_SCRIPT = Path(__file__).resolve().parents[2] / ".cache/axe/node_modules/axe-core/axe.min.js"


@dataclass
class LiveServer:
    url: str
    app: Flask
    hotline: Hotline


@pytest.fixture
def live_server(hotline: Hotline) -> Iterator[LiveServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(dataclasses.replace(hotline.settings, public_base_url=url))
    server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    live: Hotline = app.extensions["hotline"]
    yield LiveServer(url, app, live)
    server.shutdown()
    thread.join(timeout=10)
    live.engine.dispose()
    live.redis.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"no {CHROMIUM}: run scripts/ensure-test-services.sh (make test)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe_script() -> str:
    """axe-core's source, to evaluate in a page (`tests.browser.axe.violations`)."""
    if not AXE_SCRIPT.exists():
        raise RuntimeError(
            f"no {AXE_SCRIPT}: run scripts/ensure-test-services.sh (make test), which installs"
            f" axe-core {AXE_VERSION} from the npm registry"
        )
    source = AXE_SCRIPT.read_text(encoding="utf-8")
    if f"axe v{AXE_VERSION}" not in source[:200]:
        raise RuntimeError(f"{AXE_SCRIPT} is not axe-core {AXE_VERSION}: rerun the script")
    return source


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ (kept for people to look at)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

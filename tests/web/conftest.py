"""Pages in real Chromium: uvicorn on an already-listening socket in a thread, Playwright driving Debian's chromium.

SQLite only: each test module copies the migrated, demo-seeded template of tests/conftest.py and
serves it with a FixedClock the test can advance. Chromium is required in CI (`.ci/run` installs it)
and skipped elsewhere when missing, like PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, expect

from api.app import create_app
from engine.clock import FixedClock
from tests.conftest import START, settings_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not installed")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass
class LiveServer:
    url: str
    clock: FixedClock
    database_url: str


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """The real app under uvicorn; the socket listens before the thread starts, so nothing polls."""
    target = tmp_path / "greenlane.db"
    shutil.copyfile(sqlite_template, target)
    url = f"sqlite:///{target}"
    clock = FixedClock(START)
    app = create_app(settings_for(url), clock=clock, prepare=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", clock, url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Save a full-page screenshot under a temp folder (GREENLANE_SCREENSHOTS overrides it) and return its path."""
    folder = Path(os.environ.get("GREENLANE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str, full_page: bool = True) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save


@pytest.fixture
def login(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[str], Page]]:
    """A logged-in page per demo user, each in its own browser context (its own cookies)."""
    contexts: list[BrowserContext] = []
    blocked: list[str] = []  # a blocked asset would work in tests yet fail on the office network

    def as_user(username: str) -> Page:
        viewport = {"width": 1280, "height": 860}
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(f"{live_server.url}/login")
        page.fill("#username", username)
        page.fill("#password", "demo")
        page.click("button[type=submit]")
        expect(page.locator("header .who")).to_contain_text(username)
        return page

    yield as_user
    for context in contexts:
        context.close()
    assert not blocked, blocked

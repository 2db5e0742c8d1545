"""An app served by uvicorn in a thread, and Debian's headless Chromium driven by Selenium: for the tests that
look at pages the way a person does (the feedback form, the clinician views)."""

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.support.servers import free_port


@contextmanager
def served(app: object, port: int | None = None) -> Iterator[str]:
    """The base URL of ``app`` served on ``port`` (a free one by default) until the block ends."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started:
                break
            threading.Event().wait(0.1)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def chromium(window: str = "1280,900", console_log: bool = False) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a throwaway profile; ``console_log`` keeps the page's console (JS errors,
    CSP violations) for the test to read."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--window-size={window}",
        ):
            options.add_argument(argument)
        if console_log:
            options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            yield driver
        finally:
            driver.quit()

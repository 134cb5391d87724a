"""Headless Chromium through Playwright, for the tests that open our pages."""
import contextlib
import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def chromium():
    """A launched browser; the test is skipped where Chromium or Playwright is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("%s not found (Debian package chromium; `make system-deps` as root)"
                    % CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (requirements-test.txt)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()

"""A live server and a real Chromium for the journey tests.

Playwright's own browser download does not work on our machines, so Debian's Chromium is used.
"""
import os
import threading

import pytest
from werkzeug.serving import make_server

from reslib.extensions import db
from reslib.testing import District, make_test_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _browser_required() -> bool:
    # CI must never pass by skipping the only tests that see the pages as a user does.
    ci = os.environ.get("CI", "").strip().lower()
    return ci not in ("", "0", "false") or os.environ.get("RESLIB_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei"
        if _browser_required():
            pytest.fail(f"browser tests are required here (CI or RESLIB_REQUIRE_BROWSER=1) but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def extend_district():
    """Override in a test module to add to the test district: a function called with the District in the app context."""
    return lambda district: None


@pytest.fixture
def live_app(tmp_path, extend_district):
    """The app behind the live server, with the test district (see reslib.testing.District) in its database."""
    app = make_test_app(tmp_path)
    with app.app_context():
        db.create_all()
        extend_district(District())
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def closing_responses(app):
    """``app`` with each response closed as soon as its last byte is sent (one cut short: when dropped).
    Werkzeug's development server skips closing a response when the browser resets the connection just
    after it, as a video player does; the file left open would fail the test with a ResourceWarning."""

    def respond(environ, start_response):
        response = app(environ, start_response)
        try:
            yield from response
        finally:
            if hasattr(response, "close"):
                response.close()

    return respond


@pytest.fixture
def live_server(live_app):
    """Serve the live app over real HTTP; yields the base URL."""
    server = make_server("127.0.0.1", 0, closing_responses(live_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def worker(live_app):
    """Runs the queued tasks (media processing) as `reslib worker` does, every 0.2 s while the test lasts."""
    queue = live_app.extensions["reslib.queue"]
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            with live_app.app_context():
                queue.run_pending()
            stop.wait(0.2)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()

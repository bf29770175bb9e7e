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
def live_server(tmp_path):
    """Serve the test district (see reslib.testing.District) over real HTTP; yields the base URL."""
    app = make_test_app(tmp_path)
    with app.app_context():
        db.create_all()
        District()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()
    with app.app_context():
        db.engine.dispose()

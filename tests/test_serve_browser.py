"""The web page in a real headless browser: Debian's Chromium driven by Playwright.

`playwright install` cannot download browsers here, so the test launches
``/usr/bin/chromium`` (scripts/setup.sh installs it with EXTRAS=test).  It waits
for ``naturalWidth > 0`` rather than Chromium's ``--virtual-time-budget``,
which hangs on an MJPEG page.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from served import Served, served

from vidseg.web import resolve_token

CHROMIUM = "/usr/bin/chromium"
# The image's current pixels (same origin, so the canvas is readable).
_PIXELS = """e => {
    const c = document.createElement("canvas");
    c.width = e.naturalWidth;
    c.height = e.naturalHeight;
    c.getContext("2d").drawImage(e, 0, 0);
    return c.toDataURL();
}"""

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing; EXTRAS=test bash scripts/setup.sh installs it",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        try:
            yield b
        finally:
            b.close()


def _wait(page: object, script: str, timeout_ms: int = 30_000) -> None:
    # A function, not an expression: the page's CSP forbids eval of strings.
    page.wait_for_function(f"() => {script}", timeout=timeout_ms)  # type: ignore[attr-defined]


def _changes(read: object, tries: int = 40) -> bool:
    """True when ``read()`` returns something new within ``tries`` x 0.25 s."""
    first = read()  # type: ignore[operator]
    for _ in range(tries):
        time.sleep(0.25)
        if read() != first:  # type: ignore[operator]
            return True
    return False


def test_page_shows_the_live_run_and_its_controls_work(browser: object) -> None:
    with served(k=6, size=(320, 180), fps=12) as srv:
        srv.wait_frames(1)
        page = browser.new_page(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"http://127.0.0.1:{srv.port}/")
        for img in ("segmented", "original"):
            _wait(page, f"document.getElementById('{img}').naturalWidth > 0")
        assert page.eval_on_selector("#segmented", "e => e.naturalWidth") == 320
        _wait(page, "document.getElementById('frame').textContent !== '–'")

        # The stream, the chart and the numbers move on their own.
        assert _changes(lambda: page.eval_on_selector("#segmented", _PIXELS))
        assert _changes(lambda: page.eval_on_selector("#chart", "c => c.toDataURL()"))
        assert _changes(lambda: page.text_content("#frame"))
        assert page.locator("#palette li").count() == 6
        assert float(page.text_content("#fps") or 0) > 0

        # Clicking + asks for one more cluster: the server's statistics say so.
        page.click("#k-plus")
        deadline = time.monotonic() + 20
        while srv.json("/stats")["n_clusters"] != 7:
            assert time.monotonic() < deadline, srv.json("/stats")["state"]
            time.sleep(0.1)
        _wait(page, "document.getElementById('k-readout').textContent === '7'")
        _wait(page, "document.querySelectorAll('#palette li').length === 7")
        page.fill("#k", "4")
        page.press("#k", "Enter")
        deadline = time.monotonic() + 20
        while srv.json("/stats")["n_clusters"] != 4:
            assert time.monotonic() < deadline
            time.sleep(0.1)

        page.select_option("#view", "side-by-side")
        _wait(page, "document.getElementById('segmented').naturalWidth === 640")
        page.click("#pause")
        _wait(page, "document.getElementById('pause').textContent === 'Resume'")
        assert srv.control.state.paused
        page.click("#pause")
        _wait(page, "document.getElementById('pause').textContent === 'Pause'")
        with page.expect_download() as download:
            page.click("#snapshot")
        assert download.value.suggested_filename.endswith("-side-by-side.jpg")
        _status_is_live(page, srv)
        assert not errors, errors


def _status_is_live(page: object, srv: Served) -> None:
    _wait(page, "document.getElementById('status').textContent === 'live'")


def test_page_on_an_exposed_bind_works_with_the_token_in_its_url(browser: object) -> None:
    token, _ = resolve_token("127.0.0.2", None)
    assert token is not None
    with served(host="127.0.0.2", token=token, k=5, fps=12) as srv:
        srv.wait_frames(1)
        page = browser.new_page()  # type: ignore[attr-defined]
        assert page.goto(f"http://127.0.0.2:{srv.port}/").status == 401
        page.goto(f"http://127.0.0.2:{srv.port}/?token={token}")
        for img in ("segmented", "original"):  # <img> and EventSource carry ?token=
            _wait(page, f"document.getElementById('{img}').naturalWidth > 0")
        _wait(page, "document.getElementById('k-readout').textContent === '5'")
        page.click("#k-plus")  # fetch() sends the token as a Bearer header
        deadline = time.monotonic() + 20
        while srv.json("/stats", headers=srv.auth())["n_clusters"] != 6:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert "token=" in (page.get_attribute("#snapshot", "href") or "")
        page.close()

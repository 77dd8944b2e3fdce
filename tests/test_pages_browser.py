"""The guide's pages in a real browser (Debian chromium through Playwright): every page loads with HTTP 200,
with no console errors and no page errors, every internal link resolves, nothing is fetched from the network,
and screenshots of the home page and a profile page are left in ``test-artifacts/pages/`` for a person.

Both ways the pages are published are crawled: the static folder from ``fhir-family pages`` served by a
plain HTTP server, and the facade's ``/ig/`` blueprint.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from fhir_family.site.builder import write_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "pages"
PROFILE_PAGE = "StructureDefinition-dependent-child.html"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (scripts/run-tests.sh installs Debian's chromium with apt-get)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def site_files(built_site: dict[str, bytes]) -> dict[str, bytes]:
    return built_site


@pytest.fixture(scope="module")
def static_site(site_files: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The built folder served by the standard library's HTTP server on an ephemeral loopback port."""
    folder = tmp_path_factory.mktemp("site")
    write_site(folder, site_files)
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def facade_site(site_files: dict[str, bytes], serve) -> Iterator[str]:
    """The facade app with the guide's blueprint, under /ig/, served by werkzeug on an ephemeral port."""
    from fhir_family.facade.app import create_app

    with serve(create_app({"TESTING": True})) as url:
        yield f"{url}/ig/"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def crawl(browser: object, root: str, screenshots: Path | None = None) -> dict[str, list[str]]:
    """Visit every page reachable from ``root``; return problems by kind (empty lists when all is well)."""
    problems: dict[str, list[str]] = {"status": [], "console": [], "pageerror": [], "links": [],
                                      "fragments": [], "external": []}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    root_parts = urlsplit(root)

    def guard(route: object) -> None:
        # The machine is offline and the pages must not need the network: refuse and record any other host.
        if urlsplit(route.request.url).netloc != root_parts.netloc:
            problems["external"].append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)
    page = context.new_page()
    current = {"url": root}
    page.on("console", lambda msg: msg.type == "error" and problems["console"].append(
        f"{current['url']}: {msg.text}"))
    page.on("pageerror", lambda exc: problems["pageerror"].append(f"{current['url']}: {exc}"))
    queue, seen, ids_by_page, wanted_fragments = [root], {root}, {}, []
    while queue:
        url = queue.pop(0)
        current["url"] = url
        if not url.endswith((".html", "/")):
            response = context.request.get(url)
            if response.status != 200:
                problems["links"].append(f"{url}: HTTP {response.status}")
            continue
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            problems["status"].append(f"{url}: HTTP {response.status if response else 'no response'}")
            continue
        ids_by_page[url] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        hrefs = page.eval_on_selector_all("a[href], link[href]",
                                          "els => els.map(e => e.getAttribute('href'))")
        for href in hrefs:
            absolute, fragment = urldefrag(urljoin(url, href))
            if urlsplit(absolute).netloc != root_parts.netloc:
                continue
            if not absolute.startswith(root):
                problems["links"].append(f"{url}: {href} leaves the guide")
                continue
            if fragment:
                wanted_fragments.append((url, absolute, fragment))
            if absolute not in seen:
                seen.add(absolute)
                queue.append(absolute)
    for source, target, fragment in wanted_fragments:
        if target in ids_by_page and fragment not in ids_by_page[target]:
            problems["fragments"].append(f"{source}: #{fragment} not on {target}")
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
        for name, target in (("home", root), ("profile", urljoin(root, PROFILE_PAGE))):
            page.goto(target, wait_until="load")
            page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    problems["pages"] = sorted(ids_by_page)
    context.close()
    return problems


def _assert_clean(problems: dict[str, list[str]], site_files: dict[str, bytes]) -> None:
    for kind in ("status", "console", "pageerror", "links", "fragments", "external"):
        assert problems[kind] == [], f"{kind} problems: {problems[kind]}"
    html_pages = {name for name in site_files if name.endswith(".html")}
    visited = {urlsplit(url).path.rsplit("/", 1)[-1] or "index.html" for url in problems["pages"]}
    assert html_pages <= visited, f"pages no link reaches: {sorted(html_pages - visited)}"


def test_static_site_in_chromium(browser: object, static_site: str, site_files: dict[str, bytes],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    problems = crawl(browser, static_site, screenshots=ARTIFACTS)
    with capsys.disabled():
        print(f"\nscreenshots of the guide's pages ({len(problems['pages'])} pages crawled): {ARTIFACTS}")
    _assert_clean(problems, site_files)
    assert (ARTIFACTS / "home.png").stat().st_size > 10_000
    assert (ARTIFACTS / "profile.png").stat().st_size > 10_000


def test_facade_ig_pages_in_chromium(browser: object, facade_site: str, site_files: dict[str, bytes]) -> None:
    problems = crawl(browser, facade_site)
    _assert_clean(problems, site_files)

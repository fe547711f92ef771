"""The built site as a reader meets it, in a real headless browser (Debian's Chromium).

Every page of the table of contents is opened over HTTP on 127.0.0.1 and checked for: console
errors and uncaught exceptions, requests that leave the machine, raw TeX left after MathJax, images
that do not load, sideways scrolling on a phone-width screen, and exercise solutions and collapsible
proofs that are not hidden (or do not open when clicked). Search must find each chapter by its title
and show no raw TeX in its snippets.

The browser is driven by Playwright's Python client with the system's Chromium (Playwright downloads
no browser here). Without Chromium these tests skip, saying how to enable them; `.ci/run` installs it
and sets MATHGUIDE_REQUIRE_BROWSER=1, which turns the skip into a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
HTML_DIR = REPO / "_build" / "html"
PHONE_WIDTH = 400
DESKTOP_WIDTH = 1400
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def _toc_pages() -> list[str]:
    """The toc's documents, in reading order, as paths of built pages ("chapters/linalg/lu.html")."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return [f"{page}.html" for page in pages]


PAGES = _toc_pages()
# Under `pytest -n 2 --dist loadgroup` (make test), each page's checks stay on one worker, which opens the
# page once for all of them; the pages alternate between the workers, each with its own browser.
SITE_GROUPS = 2


def _by_page(pages: list[str]) -> list:
    groups = [pytest.mark.xdist_group(f"site-{i}") for i in range(SITE_GROUPS)]
    return [pytest.param(p, marks=groups[i % SITE_GROUPS], id=p) for i, p in enumerate(pages)]


def _chromium() -> str | None:
    explicit = os.environ.get("MATHGUIDE_CHROMIUM")
    if explicit:
        return explicit
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def _unavailable(reason: str):
    if os.environ.get("MATHGUIDE_REQUIRE_BROWSER"):
        pytest.fail(f"browser tests are required here but {reason}")
    pytest.skip(f"{reason}; to run the browser tests: `apt-get install chromium` (Debian) and build the book")


@pytest.fixture(scope="module")
def site():
    if not (HTML_DIR / "index.html").exists():
        if os.environ.get("MATHGUIDE_REQUIRE_BUILD"):
            pytest.fail("the book was not built: _build/html/index.html is missing")
        _unavailable("the book is not built (`make book`)")
    handler = functools.partial(_QuietHandler, directory=str(HTML_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        _unavailable("no Chromium was found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield chromium
        chromium.close()


class Visit:
    """What a reader's browser saw on one page at one width."""

    def __init__(self, browser, site: str, page_path: str, width: int):
        self.errors: list[str] = []
        self.external: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.page.on("console", lambda message: self._console(message))
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.route("**/*", self._route)
        self.page.goto(f"{site}/{page_path}", wait_until="load")
        # MathJax typesets asynchronously; wait until it has finished (pages without math have none).
        self.page.evaluate(
            "async () => { if (window.MathJax && MathJax.startup && MathJax.startup.promise)"
            " { await MathJax.startup.promise; } }"
        )

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _route(self, route) -> None:
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def visits(browser, site):
    cache: dict[str, Visit] = {}

    def visit(page_path: str) -> Visit:
        if page_path not in cache:
            cache[page_path] = Visit(browser, site, page_path, DESKTOP_WIDTH)
        return cache[page_path]

    yield visit
    for opened in cache.values():
        opened.close()


@pytest.mark.parametrize("page_path", _by_page(PAGES))
def test_page_has_no_errors_and_no_external_requests(visits, page_path) -> None:
    visit = visits(page_path)
    assert visit.errors == []
    assert visit.external == []


RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\$\\[a-zA-Z]|\\begin\{")


@pytest.mark.parametrize("page_path", _by_page(PAGES))
def test_no_raw_tex_after_mathjax(visits, page_path) -> None:
    # The text a reader sees, outside code blocks and inline code (where TeX may be quoted on purpose).
    text = visits(page_path).page.evaluate(
        """() => {
            const main = document.querySelector("main") || document.body;
            const copy = main.cloneNode(true);
            copy.querySelectorAll("pre, code, script, style, mjx-container, .mathguide-notebook")
                .forEach((e) => e.remove());
            return copy.textContent;
        }"""
    )
    assert RAW_TEX.findall(text) == []


@pytest.mark.parametrize("page_path", _by_page(PAGES))
def test_images_load(visits, page_path) -> None:
    broken = visits(page_path).page.evaluate(
        "() => Array.from(document.images).filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.src)"
    )
    assert broken == []


# The style's smallest text is 9 pt at 110 dpi, about 14 px: scaled below 0.8 it drops under 11 px.
MIN_FIGURE_SCALE = 0.8


@pytest.mark.parametrize("page_path", _by_page(PAGES))
def test_figures_are_not_shrunk_into_unreadable_text(visits, page_path) -> None:
    scales = visits(page_path).page.evaluate(
        """() => Array.from(document.querySelectorAll("main figure img"))
            .filter((i) => i.naturalWidth > 0)
            .map((i) => [i.getAttribute("src").split("/").pop().slice(0, 12),
                         i.getBoundingClientRect().width / i.naturalWidth])"""
    )
    assert [(name, round(scale, 2)) for name, scale in scales if scale < MIN_FIGURE_SCALE] == []


@pytest.mark.parametrize("page_path", _by_page(PAGES))
def test_no_sideways_scrolling_on_a_phone(visits, page_path) -> None:
    page = visits(page_path).page
    # The same page, resized to a phone's width (reflow is immediate; MathJax needs no re-typesetting).
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 900})
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    page.set_viewport_size({"width": DESKTOP_WIDTH, "height": 900})
    if overflow > 0:
        culprits = page.evaluate(
            """() => Array.from(document.querySelectorAll("main *"))
                .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
                .filter((e) => !e.closest("pre, .highlight, .cell_output, .table-wrapper, mjx-container"))
                .slice(0, 5).map((e) => e.tagName + "." + e.className + ": " + (e.textContent || "").slice(0, 60))"""
        )
        pytest.fail(f"the page is {overflow} px wider than a {PHONE_WIDTH} px screen: {culprits}")


@pytest.mark.parametrize("page_path", _by_page(PAGES))
def test_code_and_output_blocks_do_not_scroll_sideways(visits, page_path) -> None:
    wide = visits(page_path).page.evaluate(
        """() => Array.from(document.querySelectorAll("main pre"))
            .filter((e) => e.scrollWidth > e.clientWidth + 1)
            .map((e) => e.textContent.split("\\n")[0].slice(0, 60))"""
    )
    assert wide == []


HIDDEN_BLOCKS = ".solution.dropdown, .proof.dropdown, .admonition.dropdown"


@pytest.mark.parametrize("page_path", _by_page(PAGES))
def test_solutions_and_collapsible_proofs_are_hidden_until_clicked(visits, page_path) -> None:
    page = visits(page_path).page
    blocks = page.locator(HIDDEN_BLOCKS)
    for index in range(blocks.count()):
        block = blocks.nth(index)
        body = block.locator(":scope > :not(.admonition-title)").first
        title = block.locator(":scope > .admonition-title")
        assert title.count() == 1, f"block {index} has no title to click"
        assert not body.is_visible(), f"block {index} ({block.get_attribute('class')}) is shown before a click"
        # The chevron button: the title's text may be a link to the exercise, which navigates instead.
        button = title.locator(".toggle-button")
        button.click()
        body.wait_for(state="visible", timeout=2000)
        button.click()  # close it again, as the reader left it


def test_phone_width_and_solution_checks_can_fail(browser, site) -> None:
    """The checks above detect what they claim to: a too-wide element and an open solution."""
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 900})
    page = context.new_page()
    page.set_content('<div style="width: 900px">wide</div>')
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") > 0
    page.set_content('<div class="solution dropdown admonition"><p class="admonition-title">S</p><p>x</p></div>')
    assert page.locator(HIDDEN_BLOCKS).first.locator(":scope > :not(.admonition-title)").first.is_visible()
    context.close()


def _chapter_pages() -> list[str]:
    return [page for page in PAGES if page.startswith("chapters/") and not page.endswith("/index.html")]


def _by_page_of_chapters() -> list:
    """The chapter pages, each in the worker group that its page has in PAGES."""
    chapters = set(_chapter_pages())
    return [param for param in _by_page(PAGES) if param.values[0] in chapters]


@pytest.mark.parametrize("page_path", _by_page_of_chapters())
def test_search_finds_each_chapter_by_its_title(visits, site, browser, page_path) -> None:
    title = visits(page_path).page.locator("main h1").first.inner_text()
    words = [w for w in re.findall(r"[A-Za-z]{4,}", title)][:3]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site}/search.html?q={'+'.join(words)}")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=15000)
    links = results.locator("a").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
    assert any(page_path in (link or "") for link in links), (words, links)
    snippets = " ".join(page.locator("#search-results p.context").all_inner_texts())
    assert RAW_TEX.findall(snippets) == []
    titles = results.locator("a").all_inner_texts()
    assert not [t for t in titles if not t.strip() or t.startswith((" ", "("))], titles
    context.close()


@pytest.mark.parametrize("page_path", _by_page_of_chapters())
def test_chapter_pages_offer_their_notebook(visits, page_path) -> None:
    link = visits(page_path).page.locator(".mathguide-notebook a[download]")
    assert link.count() == 1, page_path
    href = link.get_attribute("href")
    target = (HTML_DIR / page_path).parent / href
    assert target.resolve().is_file(), (page_path, href)

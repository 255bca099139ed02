"""The built book in a real browser: every page of _toc.yml, as a reader sees it.

Headless Chromium (the system's ``chromium`` and ``chromedriver``, driven by Selenium)
opens each page of ``_build/html``, served on 127.0.0.1 by a local ``http.server``,
and checks that

* the page logs no console error (level SEVERE) and loads nothing from the network
  (every script, style sheet, font and image comes from the build: the book works offline);
* its math is typeset by MathJax: ``mjx-container`` elements, no MathJax error, and no
  raw TeX delimiters (``$$``, ``\\(``, ``\\[``, ``\\begin``) left in the visible text;
* every image has loaded (``naturalWidth > 0``), and every chapter has figures;
* a notebook page's Colab button opens that very notebook on Colab;
* every link to a local page or file resolves to an existing file, and its ``#anchor``
  to an element with that id;
* every explorer of a chapter (one per explorer call in its notebook) is live: moving
  each of its controls to each of its values shows another picture, which loads, and
  nothing is logged to the console (the script in ``book/_ext/static/`` pages through the
  pictures drawn at build time, :mod:`mupbook.viz.static_explorer`).

A full-page PNG screenshot of each page goes to ``_build/screenshots/<page>.png``.

These tests run only when given the built book, ``make test`` does that after
building the book if it is stale:

    .venv/bin/python -m pytest tests/chapters/test_book_browser.py --book-html _build/html

Without Chromium they fail (they never skip): install it with
``apt-get install chromium chromium-driver``, or point ``MUPBOOK_CHROMIUM`` and
``MUPBOOK_CHROMEDRIVER`` at a Chromium and its matching chromedriver.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from notebook_policy import ROOT, toc_files
from repository import colab_url

PAGES = [
    re.search(r"^root:\s*(\S+)", (ROOT / "_toc.yml").read_text(), re.MULTILINE).group(
        1
    ),
    *toc_files(),
]
WIDTH, HEIGHT = 1280, 900  # the browser window, px
MAX_SHOT_HEIGHT = (
    20000  # px; longer pages are cut (a screenshot is for a human's eyes)
)
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\s][^$\n]{0,80}\$")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def find_browser() -> tuple[str, str]:
    """Paths of Chromium and its chromedriver; fails (never skips) when either is missing."""
    chromium = os.environ.get("MUPBOOK_CHROMIUM") or next(
        filter(
            None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
        ),
        None,
    )
    driver = os.environ.get("MUPBOOK_CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail(
            "the browser test needs Chromium and chromedriver: apt-get install -y chromium "
            "chromium-driver (or set MUPBOOK_CHROMIUM and MUPBOOK_CHROMEDRIVER); "
            f"found chromium={chromium}, chromedriver={driver}",
            pytrace=False,
        )
    return chromium, driver


@pytest.fixture(scope="session")
def html_dir(request) -> Path:
    opt = request.config.getoption("--book-html")
    if opt is None:
        pytest.skip(
            "browser test of the built book: pass --book-html _build/html (make test does)"
        )
    path = Path(opt).resolve()
    if not (path / "index.html").is_file():
        pytest.fail(
            f"{path} holds no built book (index.html): run make book first",
            pytrace=False,
        )
    return path


@contextlib.contextmanager
def serve(folder: Path):
    """``http://127.0.0.1:<port>`` serving ``folder`` from a thread."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            # Chromium asks every site for /favicon.ico by itself; the book has none.
            if self.path == "/favicon.ico" and not (folder / "favicon.ico").exists():
                self.send_response(204)
                self.end_headers()
                return
            super().do_GET()

    handler = functools.partial(Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def server(html_dir):
    """``http://127.0.0.1:<port>`` serving the built book from a thread."""
    with serve(html_dir) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    chromium, chromedriver = find_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mupbook-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit chromedriver: Selenium Manager never runs, nothing is downloaded.
    driver = webdriver.Chrome(
        service=Service(executable_path=chromedriver), options=options
    )
    driver.set_window_size(WIDTH, HEIGHT)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots(html_dir) -> Path:
    out = html_dir.parent / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == "id" or (k == "name" and tag == "a"):
                self.ids.add(v or "")


@functools.cache
def anchors_of(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def broken_local_links(hrefs: list[str], origin: str, html_dir: Path) -> list[str]:
    """The ``hrefs`` (absolute URLs) on ``origin`` that name no file, or no anchor in it."""
    bad = []
    for href in hrefs:
        if not href.startswith(origin + "/"):
            continue
        parts = urlsplit(href)
        rel = unquote(parts.path).lstrip("/")
        target = html_dir / rel
        if rel == "" or rel.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            bad.append(f"{href} (no file {rel or 'index.html'})")
        elif (
            parts.fragment
            and target.suffix == ".html"
            and unquote(parts.fragment) not in anchors_of(target)
        ):
            bad.append(f"{href} (no anchor #{parts.fragment} in {rel})")
    return bad


WAIT_FOR_MATH = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function poll() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done("ok"), (e) => done("MathJax failed: " + e));
  } else if (Date.now() - start > 30000) {
    done("MathJax never started");
  } else {
    setTimeout(poll, 50);
  }
})();
"""

LOAD_IMAGES = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
imgs.forEach((img) => { img.loading = "eager"; });
Promise.all(imgs.map((img) => img.decode().catch(() => null))).then(() =>
  done(imgs.map((img) => [img.getAttribute("src"), img.naturalWidth])));
"""

PAGE_FACTS = """
const body = document.body.cloneNode(true);
body.querySelectorAll("pre, code, script, style, textarea, mjx-container, .highlight")
    .forEach((e) => e.remove());
return {
  math: document.querySelectorAll(".math").length,
  typeset: document.querySelectorAll("mjx-container").length,
  mathErrors: Array.from(document.querySelectorAll("mjx-merror"))
      .map((e) => e.getAttribute("data-mjx-error") || e.textContent),
  text: body.textContent,
  links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
  resources: performance.getEntriesByType("resource").map((e) => e.name),
};
"""


def save_full_page(driver, path: Path) -> None:
    """A PNG of the whole page (up to MAX_SHOT_HEIGHT px): the window grows to fit it."""
    height = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)"
    )
    driver.set_window_size(WIDTH, min(int(height) + 100, MAX_SHOT_HEIGHT))
    try:
        path.write_bytes(driver.get_screenshot_as_png())
    finally:
        driver.set_window_size(WIDTH, HEIGHT)


def test_every_toc_page_is_a_built_html_file(html_dir):
    missing = [p for p in PAGES if not (html_dir / f"{p}.html").is_file()]
    assert not missing, f"pages of _toc.yml with no HTML in {html_dir}: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_a_browser(page, html_dir, server, browser, screenshots):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(f"{server}/{page}.html")
    problems: list[str] = []
    facts = browser.execute_script(PAGE_FACTS)
    if facts["math"]:
        status = browser.execute_async_script(WAIT_FOR_MATH)
        if status != "ok":
            problems.append(status)
    images = browser.execute_async_script(LOAD_IMAGES)
    facts = browser.execute_script(PAGE_FACTS)  # again, now that math is typeset
    save_full_page(browser, screenshots / f"{page.replace('/', '__')}.png")

    errors = [
        e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"
    ]
    problems += [f"console error: {m}" for m in errors]
    remote = [u for u in facts["resources"] if not u.startswith(server + "/")]
    problems += [f"loads from the network: {u}" for u in remote]

    if facts["math"] and not facts["typeset"]:
        problems.append(
            f"{facts['math']} math elements but nothing typeset (no mjx-container)"
        )
    problems += [f"MathJax error: {m}" for m in facts["mathErrors"]]
    raw = RAW_TEX.search(facts["text"])
    if raw:
        i = raw.start()
        problems.append(
            f"raw TeX in the page text: {facts['text'][max(0, i - 50) : i + 50]!r}"
        )

    problems += [f"image not loaded: {src}" for src, width in images if not width]
    if page.startswith("chapters/") and not any(
        "_images/" in (src or "") for src, _ in images
    ):
        problems.append("a chapter without figures")

    if (ROOT / f"{page}.ipynb").is_file() and colab_url(page) not in facts["links"]:
        problems.append(f"no Colab link to {colab_url(page)}")
    problems += [
        f"broken link: {b}"
        for b in broken_local_links(facts["links"], server, html_dir)
    ]
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------------------ explorers

#: Moves every control of every explorer on the page to each of its values in turn (then
#: back), and reports for each move whether the picture changed and loaded.
MOVE_CONTROLS = """
const done = arguments[arguments.length - 1];
const roots = Array.from(document.querySelectorAll(".mupbook-explorer"));
const settle = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
async function images(frame) {
  const imgs = Array.from(frame.querySelectorAll("img"));
  await Promise.all(imgs.map((img) => img.decode().catch(() => null)));
  return imgs.map((img) => img.naturalWidth);
}
(async () => {
  const moves = [];
  for (const [e, root] of roots.entries()) {
    const frame = root.querySelector(".mupbook-explorer-frame");
    const inputs = Array.from(root.querySelectorAll("[data-control]"));
    for (const input of inputs) {
      const name = input.closest("label").firstChild.textContent.trim();
      const count = input.tagName === "SELECT" ? input.options.length : Number(input.max) + 1;
      const start = input.value;
      const order = [...Array(count).keys()].map(String).filter((v) => v !== start);
      for (const value of [...order, start]) {
        const before = frame.innerHTML;
        input.value = value;
        input.dispatchEvent(new Event(input.tagName === "SELECT" ? "change" : "input"));
        await settle();
        moves.push({explorer: e, control: name, value: value,
                    changed: frame.innerHTML !== before, widths: await images(frame)});
      }
    }
  }
  done({explorers: roots.length,
        controls: roots.map((r) => r.querySelectorAll("[data-control]").length),
        moves: moves});
})();
"""


#: Notices that the theme's own scripts log (level INFO) while a page loads, and may log a
#: little later than the load itself; any other message while the controls move fails.
THEME_NOTICES = re.compile(
    r"/_static/(scripts/pydata-sphinx-theme\.js|togglebutton\.js)\S* [\d:]+ "
    r"\"\[(PST|togglebutton)\]"
)
#: Waits until the page has loaded and its deferred scripts have run.
SETTLE = """
const done = arguments[arguments.length - 1];
const wait = () => document.readyState === "complete"
  ? setTimeout(done, 500) : setTimeout(wait, 50);
wait();
"""


def console_problems(entries: list[dict], when: str) -> list[str]:
    """Every console message but the theme's notices, as a problem found ``when``."""
    return [
        f"console, {when}: {e['level']} {e['message']}"
        for e in entries
        if not (e["level"] == "INFO" and THEME_NOTICES.search(e["message"]))
    ]


def explorer_problems(report: dict) -> list[str]:
    """What :data:`MOVE_CONTROLS` found wrong: a move that left the picture as it was, a
    picture that did not load, an explorer with no control to move."""
    out = [
        f"explorer {i}: no control to move"
        for i, n in enumerate(report["controls"])
        if n == 0
    ]
    for m in report["moves"]:
        where = f"explorer {m['explorer']}, {m['control']} -> value #{m['value']}"
        if not m["changed"]:
            out.append(f"{where}: the picture did not change")
        if any(not w for w in m["widths"]):
            out.append(f"{where}: a picture did not load")
    return out


def expected_explorers(page: str) -> int:
    """How many explorers the chapter ``page`` calls (one per call in a code cell)."""
    import nbformat
    from notebook_policy import EXPLORER_CALL

    nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    return sum(
        len(EXPLORER_CALL.findall(c.source))
        for c in nb.cells[1:]
        if c.cell_type == "code"
    )


def test_explorer_script_pages_through_pictures_offline(
    tmp_path, browser, monkeypatch
):
    """The script and markup alone, without a built book: two explorers on one page
    (pictures and text, a fixed control), every control moved."""
    import ipywidgets as w
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mupbook.viz import explorers

    monkeypatch.setenv("MUPBOOK_STATIC_EXPLORERS", "1")

    def draw(k, color):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1, 2], [0, k, k * k], color=color)
        return fig

    pictures = explorers.explorer(
        {
            "k": w.IntSlider(value=1, min=0, max=3, description="k"),
            "color": w.Dropdown(options=["red", "blue"], description="colour"),
        },
        draw,
        rows=[["k", "color"]],
    )
    text = explorers.explorer(
        {
            "word": w.ToggleButtons(options=["a", "b", "c"], description="word"),
            "scale": w.FloatSlider(value=1.0, min=0.5, max=2.0, description="scale"),
        },
        lambda word, scale: f"<p>{word} at {scale}</p>",
        frames={"scale": [1.0]},
    )
    static = ROOT / "book" / "_ext" / "static"
    for name in ("mupbook-explorers.js", "mupbook-explorers.css"):
        shutil.copy2(static / name, tmp_path / name)
    (tmp_path / "index.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>explorers</title>'
        '<link rel="stylesheet" href="mupbook-explorers.css">'
        '<script defer src="mupbook-explorers.js"></script></head><body>'
        f"{pictures._repr_html_()}{text._repr_html_()}</body></html>"
    )
    with serve(tmp_path) as url:
        browser.get_log("browser")
        browser.get(f"{url}/index.html")
        report = browser.execute_async_script(MOVE_CONTROLS)
        facts = browser.execute_script(PAGE_FACTS)
        logs = browser.get_log("browser")
    assert report["explorers"] == 2 and report["controls"] == [2, 1], report
    assert len(report["moves"]) == (3 + 1) + (1 + 1) + (2 + 1)
    assert explorer_problems(report) == []
    assert not [e for e in logs if e["level"] in ("SEVERE", "WARNING")], logs
    assert all(u.startswith(url + "/") for u in facts["resources"]), facts[
        "resources"
    ]


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.startswith("chapters/")], ids=lambda p: p
)
def test_every_explorer_of_a_chapter_is_live(page, html_dir, server, browser):
    expected = expected_explorers(page)
    browser.get_log("browser")
    browser.get(f"{server}/{page}.html")
    browser.execute_async_script(SETTLE)
    problems = console_problems(browser.get_log("browser"), "on loading")
    report = browser.execute_async_script(MOVE_CONTROLS)
    problems += explorer_problems(report)
    if report["explorers"] != expected:
        problems.append(
            f"{report['explorers']} live explorers on the page, {expected} called in "
            "the notebook (one fell back to a widget, or its output is hidden)"
        )
    problems += console_problems(
        browser.get_log("browser"), "while moving the controls"
    )
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)

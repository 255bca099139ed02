"""Write each script of a page once.

sphinx-thebe and sphinx-togglebutton (loaded by jupyter-book) add their inline
configuration scripts twice, once with the file name ``None`` and once with ``""``,
which Sphinx's own de-duplication tells apart. Every page then declared
``const THEBE_JS_URL`` twice: a SyntaxError in every reader's console (caught by
tests/test_book_browser.py). This drops repeated scripts (same file, same attributes
and body) from each page's context before the page is written.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _key(script) -> tuple:
    filename = getattr(script, "filename", script)
    attributes = getattr(script, "attributes", {})
    return (
        str(filename or ""),
        tuple(sorted((k, str(v)) for k, v in attributes.items())),
    )


def unique_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

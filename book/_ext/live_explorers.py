"""Live explorers in the rendered book, with no kernel and no network.

Sets ``MUPBOOK_STATIC_EXPLORERS=1`` in the build's environment, which the notebooks'
kernels inherit, so that every explorer (:func:`mupbook.viz.explorers.explorer`) draws its
pictures ahead and returns plain HTML controls (:mod:`mupbook.viz.static_explorer`), and
serves the few lines of JavaScript that page through those pictures, with their style
sheet, from the build's ``_static/``. However the book is built (``make book`` or
``jupyter-book build``), its explorers are live.
"""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.application import Sphinx

STATIC = Path(__file__).resolve().parent / "static"
SCRIPT = "mupbook-explorers.js"
STYLE = "mupbook-explorers.css"


def serve_static(app: Sphinx, config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app: Sphinx) -> dict:
    os.environ["MUPBOOK_STATIC_EXPLORERS"] = "1"
    app.connect("config-inited", serve_static)
    app.add_js_file(SCRIPT, defer="defer")
    app.add_css_file(STYLE)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Serve MathJax from the built book, so that math renders offline.

MathJax 3.2.2 comes from the PyPI package ``django-static-mathjax`` (pinned in
requirements.txt; only its static files are used, Django is not needed). After the
HTML build, the parts a page needs (the tex-chtml component, TeX extensions, the CHTML
fonts, the menu and its accessibility code) are copied to ``_static/mathjax/`` and
``mathjax_path`` points there. Without the package the build fails with a message,
rather than silently falling back to a CDN.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

PARTS = ("tex-chtml.js", "input", "output/chtml", "ui", "a11y", "adaptors")
MATHJAX_PATH = "mathjax/tex-chtml.js"


def mathjax_source() -> Path:
    """The ``es5`` folder of the installed MathJax distribution."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(
            "offline MathJax needs the package django-static-mathjax "
            "(pip install -r requirements.txt)"
        )
    es5 = (
        Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5"
    )
    if not (es5 / "tex-chtml.js").is_file():
        raise ExtensionError(
            f"no MathJax tex-chtml.js under {es5}: reinstall django-static-mathjax"
        )
    return es5


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    src, dest = mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        target = dest / part
        if (src / part).is_dir():
            shutil.copytree(src / part, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / part, target)


def use_local_mathjax(app: Sphinx, config) -> None:
    config.mathjax_path = MATHJAX_PATH


def setup(app: Sphinx) -> dict:
    mathjax_source()  # fail early, before a long build, if MathJax is missing
    app.connect("config-inited", use_local_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

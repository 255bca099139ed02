"""Test configuration: quick scale and CPU unless the caller says otherwise."""

import os
import sys
from pathlib import Path

os.environ.setdefault("MUPBOOK_SCALE", "quick")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # for tests' helper modules (mup_reference)
sys.path.insert(
    0, str(ROOT / "tools")
)  # the notebook policy and book check, which tests use
sys.path.insert(
    0, str(ROOT / "tests" / "chapters")
)  # breaking.py: chapters broken on purpose


def pytest_addoption(parser):
    parser.addoption(
        "--book-html",
        default=None,
        metavar="DIR",
        help="the built HTML book for tests/test_book_browser.py (make test: _build/html)",
    )

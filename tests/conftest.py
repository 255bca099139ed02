"""Test configuration: quick scale and CPU unless the caller says otherwise."""

import os
import sys
from pathlib import Path

os.environ.setdefault("MUPBOOK_SCALE", "quick")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for tests' helper modules


def pytest_addoption(parser):
    parser.addoption("--book-html", default=None, metavar="DIR",
                     help="the built HTML book for tests/test_book_browser.py (make test: _build/html)")

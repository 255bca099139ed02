"""A temporary offline data folder: symlinks to the real files, with one file replaced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def real_data_folder() -> Path:
    """The offline data folder named by MUPBOOK_DATA (skips the test when it is unset)."""
    raw = os.environ.get("MUPBOOK_DATA", "").strip()
    if not raw:
        pytest.skip("MUPBOOK_DATA is unset: this test needs the offline data folder")
    return Path(raw)


def offline_copy(tmp: Path, altered: str, content: bytes) -> Path:
    """``tmp/data``: every file of the real folder as a symlink, except ``altered`` (a path
    relative to the folder), which holds ``content``."""
    real, root = real_data_folder(), tmp / "data"
    for f in real.rglob("*"):
        if f.is_file():
            dest = root / f.relative_to(real)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(f)
    (root / altered).unlink()
    (root / altered).write_bytes(content)
    return root

"""Downloading data files safely: streaming with a progress bar, digests, temporary files.

The loaders (:mod:`mupbook.data.omniglot`, :mod:`mupbook.data.text`) download into a
temporary file next to the destination and rename it only once its checksum matches,
so a partial or corrupt download never appears under the final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def fetch(url: str, dest: Path, *, progress: bool) -> None:
    """Stream ``url`` into the file ``dest`` with a tqdm progress bar."""
    import urllib.request

    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=Path(url).name, disable=not progress) as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest (``"md5"``, ``"sha256"``, ...) of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def temp_path(folder: Path, name: str) -> Path:
    """A new empty temporary file ``folder/.<name>.*.part`` (same file system as the target)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    return Path(tmp)

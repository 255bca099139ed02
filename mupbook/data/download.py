"""Downloading data files safely: streaming with a progress bar, digests, temporary files.

The loaders (:mod:`mupbook.data.omniglot`, :mod:`mupbook.data.text`) download into a
temporary file next to the destination and rename it only once its checksum matches,
so a partial or corrupt download never appears under the final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import runtime


def fetch(url: str, dest: Path, *, progress: bool) -> None:
    """Stream ``url`` into the file ``dest`` with a tqdm progress bar."""
    import urllib.request

    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc=Path(url).name,
            disable=not progress,
        ) as bar:
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


def fetch_checked(
    url: str,
    dest: Path,
    algorithm: str,
    expected: str,
    *,
    offline_folder: str,
    fetch: Callable[..., None] = fetch,
    progress: bool = True,
) -> Path:
    """``dest``, downloaded from ``url`` unless it is already there with the right digest.

    The download goes to a temporary file beside ``dest`` that is renamed only once its
    ``algorithm`` digest equals ``expected``; on any failure (no connection, a bad digest,
    an interruption) it is removed and the error says what to do next; a folder that cannot
    be written to is a PermissionError naming it (:func:`mupbook.runtime.writable_folder`). ``offline_folder``
    names the sub-folder of the offline data (``omniglot``, ``text``) for that advice;
    ``fetch`` is the downloader (the loaders pass theirs, so tests can replace it).
    """
    dest = Path(dest)
    if dest.is_file() and file_digest(dest, algorithm) == expected:
        return dest
    runtime.writable_folder(dest.parent)
    tmp = temp_path(dest.parent, dest.name)
    try:
        try:
            fetch(url, tmp, progress=progress)
        except OSError as err:  # URLError, timeouts, refused connections, a full disk
            raise ConnectionError(
                f"could not download {url} ({err}). Check the internet connection and run again; "
                f"or download it by hand into {dest.parent}; or point MUPBOOK_DATA at the offline "
                f"data folder (the one holding {offline_folder}/)."
            ) from err
        got = file_digest(tmp, algorithm)
        if got != expected:
            raise ValueError(
                f"the download of {url} has {algorithm} {got}, expected {expected}: it is truncated "
                f"or corrupt. Run again to retry; if it keeps failing, download it by hand into "
                f"{dest.parent}, or use the offline data via MUPBOOK_DATA."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest

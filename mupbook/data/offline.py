"""The offline data folder (``MUPBOOK_DATA``): pinned sizes and SHA-256 digests of its files.

A partial copy or an altered file (5,000 of the 19,544 analogy questions, a shortened
corpus) would otherwise load without a word and give wrong numbers. The loaders pass
every offline file they read through :func:`verify`: its size and SHA-256 must be the
pinned ones (:data:`FILES`), else a ValueError names the file, what was expected and
found, and what to do. Each file is hashed at most once per process (about 18 MB in
all, well under a second); the digest is cached by path, size and modification time.
:func:`verify_folder` checks every pinned file present in a folder at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from . import download

#: ``relative path -> (bytes, sha256)`` of the offline data folder's files (computed from
#: the folder the project's CI uses; text8, when a folder holds it, is pinned in
#: :mod:`mupbook.data.text`).
FILES: dict[str, tuple[int, str]] = {
    "omniglot/omniglot.npz": (
        5_313_318,
        "f28b905def28cd555bebc3f82b90fe1b20807657e6c07ba37c0016c8d7b068fb",
    ),
    "omniglot/omniglot28.npz": (
        6_613_574,
        "b1f7775aa9d3915a5bfb56452927fab281a51c704f2ca90d415f0b3064cbee69",
    ),
    "omniglot/omniglot28_nearest.npz": (
        864_699,
        "c4b6a5cd73567f41c1a497cbdc189591c13c8462eb565c317c3d3c61c2e637ae",
    ),
    "omniglot/splits/vinyals_train.txt": (
        133_244,
        "984522c194c30fb678ce53304a160a42faf5403ad4f9a67010f32dd3a35738e0",
    ),
    "omniglot/splits/vinyals_val.txt": (
        21_312,
        "11f99e54faee3e26f53d3231c1cceac5bf7b8730e9be31cb6dab256551dc0c1a",
    ),
    "omniglot/splits/vinyals_test.txt": (
        50_372,
        "845264cc5c156180828ccf17915668b17ee21424d0170df6e7d81676aa5d1204",
    ),
    "omniglot/splits/vinyals_trainval.txt": (
        154_556,
        "5276ae50c755596d0bff7f2284e85625695549a85ee6e36b6491ad1e5d1cc26a",
    ),
    "text/offline_corpus.txt.gz": (
        4_538_791,
        "c521386ba795cab100e08df8edda58debdf5c21ea877b971665a72fc5ea18238",
    ),
    "text/questions-words.txt": (
        603_955,
        "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
    ),
    "text/city_in_state.tsv": (
        1_180,
        "6476323772e32e05495f204425559d631694d45d7871091d991ba37a7ffdd294",
    ),
    "text/us_states_50.txt": (
        472,
        "a635998be5be60a9cd793d47ed26942d43baaa6a77b5cf748481780f88e68499",
    ),
    "text/wordsim353.tsv": (
        7_186,
        "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d",
    ),
}

OFFLINE_ADVICE = (
    "Re-copy the offline data folder (see its README.md), or unset MUPBOOK_DATA to download "
    "the official files into the cache instead."
)

_digests: dict[
    tuple[str, int, int], str
] = {}  # (resolved path, size, mtime_ns) -> sha256


def sha256(path: Path) -> str:
    """The SHA-256 of ``path``, computed once per process per (path, size, mtime)."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _digests:
        _digests[key] = download.file_digest(Path(path), "sha256")
    return _digests[key]


def verify(
    path: Path,
    key: str,
    *,
    describe: Callable[[Path], str] | None = None,
    advice: str = OFFLINE_ADVICE,
    expected: tuple[int, str] | None = None,
) -> Path:
    """``path`` if it is the official ``key``: size and SHA-256 ``expected``, by default
    those of :data:`FILES`.

    Otherwise a ValueError naming the file, the expected and found size or digest, what
    ``describe(path)`` says about its content (e.g. "5,000 of the 19,544 questions"), and
    ``advice`` (by default: re-copy the folder, or unset MUPBOOK_DATA).
    """
    if expected is None and key not in FILES:
        raise KeyError(
            f"no pinned digest for {key!r}; known: {', '.join(sorted(FILES))}"
        )
    size, digest = FILES[key] if expected is None else expected
    path = Path(path)
    found = path.stat().st_size
    if found != size:
        problem = f"it has {found:,} bytes, the official file {size:,}"
    else:
        got = sha256(path)
        if got == digest:
            return path
        problem = f"its sha256 is {got}, the official file's {digest}"
    content = _describe(describe, path)
    raise ValueError(
        f"{path} is not the official {key}: {problem}{content}; it is cut short or altered. {advice}"
    )


def _describe(describe: Callable[[Path], str] | None, path: Path) -> str:
    """``"; " + describe(path)``, or nothing when there is no description or it fails."""
    if describe is None:
        return ""
    try:
        return f"; {describe(path)}"
    except (
        Exception
    ):  # a damaged file may not even parse: the size or digest said enough
        return ""


def verify_folder(root: str | Path) -> list[str]:
    """Verify every pinned file present under ``root`` (an offline data folder); returns
    the keys checked. Raises like :func:`verify` at the first file that does not match."""
    root = Path(root)
    checked = []
    for key in FILES:
        if (root / key).is_file():
            verify(root / key, key)
            checked.append(key)
    return checked

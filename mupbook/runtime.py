"""Runtime switches shared by every chapter and experiment.

Five environment variables steer a run; each has a safe default and a bad value
raises a :class:`ValueError` that says what is allowed:

``MUPBOOK_SCALE``   ``quick`` (default: seconds to a minute per chapter on a laptop
                    CPU; CI and the tests use it) or ``full`` (the paper's sizes).
``MUPBOOK_DEVICE``  ``auto`` (default: CUDA when available, else CPU), ``cpu``,
                    ``cuda`` or ``cuda:N``.
``MUPBOOK_DATA``    folder with the offline data sets (``omniglot/``, ``text/``);
                    unset means the user cache folder, where loaders download to.
``MUPBOOK_SEED``    default seed of :func:`seed_everything` (an integer, default 0).
``MUPBOOK_STATIC_EXPLORERS``  ``1`` while the book is built (its Sphinx extension sets
                    it): explorers are drawn ahead for the rendered page instead of
                    being live widgets; ``0`` or unset (default) elsewhere.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import torch

from . import _checks

Scale = Literal["quick", "full"]
SCALES: tuple[Scale, ...] = ("quick", "full")
DEFAULT_SEED = 0

T = TypeVar("T")


def scale() -> Scale:
    """The run size chosen by ``MUPBOOK_SCALE`` (default ``quick``)."""
    value = os.environ.get("MUPBOOK_SCALE", "quick").strip().lower() or "quick"
    if value not in SCALES:
        raise ValueError(
            f"MUPBOOK_SCALE={value!r} is not a scale; use one of {', '.join(SCALES)} "
            "(quick: CPU-sized runs in seconds, full: the paper's sizes)."
        )
    return value  # type: ignore[return-value]


def pick(quick: T, full: T) -> T:
    """Return ``quick`` or ``full`` according to :func:`scale`."""
    return full if scale() == "full" else quick


def device(name: str | None = None) -> torch.device:
    """The compute device: ``name`` if given, else ``MUPBOOK_DEVICE``, else auto.

    ``auto`` picks CUDA when available, else the CPU. Asking for CUDA on a
    machine without it is an error rather than a silent fall-back.
    """
    value = (
        (name if name is not None else os.environ.get("MUPBOOK_DEVICE", "auto"))
        .strip()
        .lower()
    )
    if value in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(value)
    except RuntimeError as err:
        raise ValueError(
            f"device {value!r} is not understood; use auto, cpu, cuda or cuda:N"
        ) from err
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device {value!r} is not supported; use auto, cpu, cuda or cuda:N"
        )
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {value!r} was asked for but CUDA is not available here; "
                "use MUPBOOK_DEVICE=cpu or auto"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {value!r} does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    return dev


def default_seed() -> int:
    """The seed given by ``MUPBOOK_SEED`` (default 0)."""
    raw = os.environ.get("MUPBOOK_SEED", str(DEFAULT_SEED)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"MUPBOOK_SEED={raw!r} is not an integer") from None
    return _checks.seed(value)


def static_explorers() -> bool:
    """True when ``MUPBOOK_STATIC_EXPLORERS=1``: explorers render their pictures ahead for a
    page without a kernel (:mod:`mupbook.viz.static_explorer`); ``0`` or unset: live
    ipywidgets."""
    raw = os.environ.get("MUPBOOK_STATIC_EXPLORERS", "").strip()
    if raw not in ("", "0", "1"):
        raise ValueError(
            f"MUPBOOK_STATIC_EXPLORERS={raw!r} is not understood; use 1 (pictures drawn "
            "ahead, as the book build does) or 0 / unset (live widgets)"
        )
    return raw == "1"


def seed_everything(seed: int | None = None) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a seeded CPU generator.

    Library functions take explicit generators; this is for notebooks and
    scripts, so that a rerun gives the same numbers.
    """
    seed = default_seed() if seed is None else _checks.seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return generator(seed)


def generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``.

    Random tensors are drawn on the CPU and then moved, so that a seed gives the
    same initial weights on CPU and CUDA.
    """
    gen = torch.Generator(device="cpu")
    gen.manual_seed(_checks.seed(seed))
    return gen


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules


def user_cache_dir() -> Path:
    """Where downloads are cached when ``MUPBOOK_DATA`` is unset."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mupbook"


def writable_folder(folder: Path) -> Path:
    """``folder``, created if needed; a PermissionError that names it and says how to choose
    another cache (``XDG_CACHE_HOME``) or the offline data (``MUPBOOK_DATA``) when it
    cannot be created or written to."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        problem = None if os.access(folder, os.W_OK | os.X_OK) else "not writable"
    except (
        OSError
    ) as err:  # permission denied, read-only file system, a file in the way
        problem = err.strerror or str(err)
    if problem is not None:
        raise PermissionError(
            f"cannot write to the cache folder {folder} ({problem}). Choose another: set XDG_CACHE_HOME "
            "to a writable folder (mupbook/ is created inside it), or set MUPBOOK_DATA to the offline "
            "data folder (the one holding omniglot/ and text/), which needs no downloads."
        )
    return folder


def cache_dir(subdir: str) -> Path:
    """``user_cache_dir() / subdir``, created and checked writable (:func:`writable_folder`)."""
    return writable_folder(user_cache_dir() / subdir)


def data_dir(subdir: str | None = None) -> Path:
    """The data folder: ``$MUPBOOK_DATA`` (must exist) or the user cache folder.

    With ``subdir`` the sub-folder is returned (it need not exist yet when it is
    the cache, where loaders download into it). A ``MUPBOOK_DATA`` that does not
    name an existing folder is an error that says how to fix it.
    """
    if subdir is not None and (
        not subdir or Path(subdir).is_absolute() or ".." in Path(subdir).parts
    ):
        raise ValueError(
            f"subdir must be a relative folder name inside the data folder, got {subdir!r}"
        )
    raw = os.environ.get("MUPBOOK_DATA", "").strip()
    if raw:
        root = Path(raw).expanduser()
        if not root.is_dir():
            raise ValueError(
                f"MUPBOOK_DATA={raw!r} is not an existing folder. Point it at the offline data "
                "folder (the one holding omniglot/ and text/), or unset it to download into "
                f"{user_cache_dir()}."
            )
    else:
        root = user_cache_dir()
    return root / subdir if subdir else root


def results_dir() -> Path | None:
    """The project's ``results/`` folder (full-size results with provenance), or None.

    ``$MUPBOOK_RESULTS`` if set; else the ``results/`` beside the installed package (a
    checkout, as in the book build) or above the working directory (a chapter run from
    ``chapters/``). None where there is none, e.g. on Colab with a pip-installed package.
    """
    raw = os.environ.get("MUPBOOK_RESULTS", "").strip()
    if raw:
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise ValueError(f"MUPBOOK_RESULTS={raw!r} is not an existing folder")
        return path
    candidates = [
        Path(__file__).resolve().parent.parent,
        *Path.cwd().resolve().parents[:2],
        Path.cwd(),
    ]
    for root in candidates:
        if (root / "results").is_dir() and (root / "pyproject.toml").is_file():
            return root / "results"
    return None


def describe() -> str:
    """One line on where and how this run happens, for a chapter's header."""
    dev = device()
    where = "Colab" if in_colab() else "local"
    gpu = f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""
    return (
        f"mupbook runtime: scale={scale()}, device={dev}{gpu}, {where}, "
        f"torch {torch.__version__}, seed={default_seed()}"
    )

"""Results of full-size runs: provenance and the one JSON shape every experiment writes.

Every ``results/*.json`` file written by an experiment CLI is a JSON object with

- ``experiment``: its name (``"maml"``, ``"word2vec"``, ``"mutransfer"``, ...);
- ``config``: the configuration that ran;
- ``reproduction``: a list of rows, one per number of the paper (TP4) that the run
  reproduces, each ``{"quantity", "paper", "ours", "unit", "note"}`` (``paper`` may be
  ``None`` for a number the paper does not report; ``ci95`` optional): the book's
  reproduction page is built from these rows and nothing else;
- ``provenance``: :func:`provenance` (command, git revision, hardware, seeds, date, seconds);
- anything else the experiment wants to keep (curves, per-seed numbers).

:func:`write_json` writes atomically and refuses NaN, so a half-written or invalid file
never reaches ``results/``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import torch

from . import runtime

REQUIRED_KEYS = ("experiment", "config", "reproduction", "provenance")
ROW_KEYS = ("quantity", "paper", "ours", "unit", "note")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_revision() -> str | None:
    """The checked-out commit of the repository holding this file, or None."""
    return _git("rev-parse", "HEAD") or None


def git_dirty() -> bool | None:
    """Whether that checkout's tracked files, other than the outputs in ``results/``, have
    uncommitted changes (None: no git). A run that rewrites a results file is not dirty."""
    status = _git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ":(top)",
        ":(top,exclude)results",
    )
    return None if status is None else bool(status)


def hardware(device: torch.device | str | None = None) -> dict:
    """Where the run happened: platform, Python, torch, device name, CPU count, threads."""
    dev = runtime.device(None if device is None else str(device))
    name = (
        torch.cuda.get_device_name(dev)
        if dev.type == "cuda"
        else platform.processor() or platform.machine()
    )
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(dev),
        "device_name": name,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }


def provenance(
    module: str,
    argv: Sequence[str] = (),
    *,
    seeds: Iterable[int] = (),
    device: torch.device | str | None = None,
    seconds: float | None = None,
) -> dict:
    """Provenance of a run of ``python -m <module> <argv>``: command, git, hardware, date."""
    return {
        "command": ["python", "-m", module, *map(str, argv)],
        "git_revision": git_revision(),
        "git_dirty": git_dirty(),
        "hardware": hardware(device),
        "seeds": [int(s) for s in seeds],
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": None if seconds is None else float(seconds),
    }


def row(
    quantity: str,
    ours: float | None,
    paper: float | None = None,
    *,
    unit: str = "",
    note: str = "",
    ci95: float | None = None,
) -> dict:
    """One reproduction row: a number of the paper beside ours (``paper=None``: not in the paper)."""
    for name, v in (("ours", ours), ("paper", paper), ("ci95", ci95)):
        if v is not None and not math.isfinite(float(v)):
            raise ValueError(
                f"reproduction row {quantity!r}: {name} = {v} is not a finite number"
            )
    r = {
        "quantity": str(quantity),
        "paper": None if paper is None else float(paper),
        "ours": None if ours is None else float(ours),
        "unit": unit,
        "note": note,
    }
    if ci95 is not None:
        r["ci95"] = float(ci95)
    return r


def validate(doc: Mapping[str, Any], where: str = "results") -> None:
    """Raise ValueError naming what is missing if ``doc`` is not a results document."""
    missing = [k for k in REQUIRED_KEYS if k not in doc]
    if missing:
        raise ValueError(
            f"{where}: missing keys {missing} (every results file needs {list(REQUIRED_KEYS)})"
        )
    if not isinstance(doc["reproduction"], list):
        raise ValueError(f"{where}: 'reproduction' must be a list of rows")
    for i, r in enumerate(doc["reproduction"]):
        bad = [k for k in ROW_KEYS if k not in r]
        if bad:
            raise ValueError(f"{where}: reproduction row {i} lacks {bad}")
    for k in ("command", "git_revision", "hardware", "date_utc"):
        if k not in doc["provenance"]:
            raise ValueError(f"{where}: provenance lacks {k!r}")


def write_json(path: str | os.PathLike, doc: Mapping[str, Any]) -> Path:
    """Validate ``doc`` and write it to ``path`` atomically: a temporary file beside it, then
    a rename, so that a failed write leaves neither a half-written file nor a stray
    temporary one. NaN and infinities are refused (they are not JSON)."""
    validate(doc, str(path))
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; results are written to a .json file")
    text = json.dumps(doc, indent=1, allow_nan=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def load(path: str | os.PathLike) -> dict:
    """Read and validate one results file."""
    with open(path) as f:
        try:
            doc = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{path}: not valid JSON ({e}); rerun the command that wrote it"
            ) from e
    validate(doc, str(path))
    return doc


def load_all(folder: str | os.PathLike = "results") -> dict[str, dict]:
    """Every ``*.json`` in ``folder`` by file stem, validated, sorted by name."""
    return {p.stem: load(p) for p in sorted(Path(folder).glob("*.json"))}

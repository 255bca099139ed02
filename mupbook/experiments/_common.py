"""The skeleton every experiment shares (not a trainer: each experiment keeps its own loop).

* :class:`ConfigBase`: a frozen configuration with ``replace`` (unknown fields refused),
  ``to_dict`` (JSON-ready) and ``check`` (validation, overridden by each experiment);
* :func:`add_common_arguments`: the command-line options every experiment has
  (``--scale``, ``--device``, ``--threads``, ``--no-progress``, ``--out``);
* :func:`start`: everything that can be checked before any work, checked: the
  configuration, the device, the thread count and the output path (writable, not a
  folder). A bad value ends the command with one argparse line that says what is allowed,
  before data is loaded or a step is trained;
* :func:`write_results` / :func:`load_results`: the one JSON shape of :mod:`mupbook.results`,
  validated on write (atomically) and on read; ``load_results`` always returns
  ``{file stem: document}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, TypeVar

import numpy as np
import torch

from .. import _checks, results, runtime

C = TypeVar("C", bound="ConfigBase")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class ConfigBase:
    """Base of every experiment's configuration (a frozen dataclass)."""

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed; an unknown field is an error naming the known ones."""
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise ValueError(
                f"unknown configuration field(s) {unknown}; the fields are {names}"
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The configuration as JSON-ready data (tuples become lists)."""
        return _jsonable(dataclasses.asdict(self))

    def check(self: C) -> C:
        """The configuration, validated (ValueError naming the first bad field). Each
        experiment overrides this; the base accepts everything."""
        return self


def floats_to_json(a: np.ndarray) -> list:
    """An array of floats as nested JSON lists, NaN and infinities as ``null`` (JSON has
    neither); :func:`floats_from_json` reads it back."""
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a), a, None).tolist()


def floats_from_json(a: list) -> np.ndarray:
    """The float array of :func:`floats_to_json`'s lists, ``null`` read as NaN."""
    return np.asarray(a, dtype=object).astype(float)


def add_common_arguments(
    parser: argparse.ArgumentParser, *, out_help: str, scale: bool = True
) -> None:
    """``--scale`` (unless ``scale=False``), ``--out``, ``--device``, ``--threads``, ``--no-progress``."""
    if scale:
        parser.add_argument(
            "--scale",
            choices=runtime.SCALES,
            default=None,
            help="configuration size (default: MUPBOOK_SCALE, else quick)",
        )
    parser.add_argument("--out", default=None, help=out_help)
    parser.add_argument(
        "--device",
        default=None,
        help="auto, cpu, cuda or cuda:N (default: MUPBOOK_DEVICE, else auto)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads, a positive integer (default: torch's)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def overrides(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """``{name: value}`` of the options in ``names`` that were given (lists become tuples)."""
    out = {}
    for name in names:
        value = getattr(args, name)
        if value is not None:
            out[name] = tuple(value) if isinstance(value, list) else value
    return out


def check_output(path: str | os.PathLike) -> Path:
    """An output file that can be written: not a folder, its folder creatable and writable.
    Checked by creating (and removing) a temporary file beside it, so that a long run never
    ends on a path it cannot write."""
    out = Path(path)
    if str(path) == "" or out.name in ("", ".", ".."):
        raise ValueError(f"--out must name a file, got {str(path)!r}")
    if out.is_dir():
        raise ValueError(
            f"--out {out} is a folder; give a file name, e.g. {out / 'run.json'}"
        )
    if out.suffix != ".json":
        raise ValueError(f"--out must be a .json file, got {out}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(
            prefix=f".{out.name}.", suffix=".probe", dir=out.parent
        )
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(
            f"--out {out} cannot be written ({err.strerror or err}); choose another path"
        ) from None
    return out


@dataclass(frozen=True)
class Start:
    """What :func:`start` checked: the device, the output file, progress bars, the command
    line as given, the time the work started (for the results' ``seconds``) and the code
    that runs, ``{"git_revision", "git_dirty"}`` taken at the start: a long run's working
    tree may change before it ends, so its provenance records these, not the end's."""

    device: torch.device
    out: Path
    progress: bool
    argv: tuple[str, ...]
    t0: float
    code: dict[str, Any] = dataclasses.field(default_factory=dict)

    def seconds(self) -> float:
        return time.perf_counter() - self.t0


@contextmanager
def refused_by(parser: argparse.ArgumentParser) -> Iterator[None]:
    """Turn a ValueError raised inside into ``parser.error`` (usage and one line, exit 2)."""
    try:
        yield
    except ValueError as err:
        parser.error(str(err))


def start(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    argv: Sequence[str],
    default_out: str | os.PathLike,
    check: Callable[[], Any] = lambda: None,
) -> Start:
    """Check everything before any work: ``check()`` (the experiment's configuration),
    ``--threads``, ``--device``, ``--out`` (default ``default_out``). Any problem ends the
    command with an argparse error. Sets torch's thread count when ``--threads`` is given."""
    with refused_by(parser):
        check()
        if args.threads is not None:
            torch.set_num_threads(_checks.positive_int(args.threads, "--threads"))
        device = runtime.device(args.device)
        out = check_output(args.out if args.out is not None else default_out)
    code = {"git_revision": results.git_revision(), "git_dirty": results.git_dirty()}
    return Start(
        device, out, not args.no_progress, tuple(argv), time.perf_counter(), code
    )


def write_results(path: str | os.PathLike, doc: Mapping[str, Any]) -> Path:
    """Validate ``doc`` (:func:`mupbook.results.validate`) and write it atomically."""
    return results.write_json(path, doc)


def load_results(
    experiment: str, folder: str | os.PathLike | None = None
) -> dict[str, dict]:
    """Every recorded ``<experiment>*.json`` in ``folder`` (default: the project's
    ``results/``, :func:`mupbook.runtime.results_dir`), validated, as ``{file stem:
    document}`` sorted by name; ``{}`` where there is no results folder (e.g. on Colab)."""
    root = runtime.results_dir() if folder is None else Path(folder)
    if root is None:
        return {}
    if not root.is_dir():
        raise ValueError(f"results folder {root} does not exist")
    docs = {}
    for path in sorted(root.glob(f"{experiment}*.json")):
        doc = results.load(path)
        if doc["experiment"] == experiment:
            docs[path.stem] = doc
    return docs

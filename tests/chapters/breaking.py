"""Break a chapter's claim on purpose and show that the chapter's own assert trips.

Every chapter checks its claims in ``assert`` cells; a test in ``tests/chapters/`` proves
that each check can fail by running the *real* chapter with one thing broken (a wrong
scaling, a wrong parametrization, a frozen layer), injected as a code cell right after the
chapter's imports, and executing only the cells up to the assert it targets (cheap enough
for CI). Use::

    err = run_broken("01_sqrt_cancellation", BREAK, until="check_slopes(")
    assert "coordinates of W x at init" in err

:func:`run_broken_cells` runs several independent breaks in one execution and checks that
each targeted cell fails (it goes on past a failing cell, so only breaks whose asserts
live in different cells, and do not change what the other cells check, can share a run).
To keep these runs cheap, ``skip`` leaves out earlier cells the targeted assert does not
depend on (a skipped cell that it does depend on makes the run fail before the target,
which is an error, never a pass), and :func:`first_widths` trims a study's width sweep
when the break moves a slope by far more than the trimmed sweep's noise (the library's
own tests check the unbroken claims at those widths).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"


def _path(chapter: str) -> Path:
    path = CHAPTERS / f"{chapter}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"no chapter {path}")
    return path


def _cells(
    chapter: str, break_code: str, targets: Sequence[str], skip: Sequence[str]
) -> tuple[nbformat.NotebookNode, list[int]]:
    """The notebook to execute: its code cells up to the last targeted one, ``break_code``
    right after the imports, ``skip``-ped cells left out; and the positions (in the new
    notebook) of the cells that contain each of ``targets``."""
    nb = nbformat.read(_path(chapter), as_version=4)
    code = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])
    ]
    imports = next(i for i in code if "from mupbook" in nb.cells[i].source)
    found = []
    for text in targets:
        where = next((i for i in code if text in nb.cells[i].source), None)
        if where is None:
            raise ValueError(f"{chapter}: no code cell contains {text!r}")
        found.append(where)
    last = max(found)
    for text in skip:
        if not any(text in nb.cells[i].source for i in code if imports < i < last):
            raise ValueError(
                f"{chapter}: no cell before the last target contains {text!r}"
            )
    cells, positions = [], {}
    for i in code:
        if i > last:
            break
        if (
            i != imports
            and i not in found
            and any(t in nb.cells[i].source for t in skip)
        ):
            continue
        positions[i] = len(cells)
        cells.append(nb.cells[i])
        if i == imports:
            cells.append(nbformat.v4.new_code_cell(break_code))
    nb.cells = cells
    return nb, [positions[i] for i in found]


def _client(nb: nbformat.NotebookNode, timeout: int, allow_errors: bool):
    return NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(CHAPTERS)}},
    )


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # no terminal colours


def run_broken(
    chapter: str,
    break_code: str,
    until: str,
    *,
    skip: Sequence[str] = (),
    timeout: int = 600,
) -> str:
    """Execute ``chapter`` (``"01_sqrt_cancellation"``) with ``break_code`` injected after the
    first cell that imports from mupbook, up to and including the first code cell whose
    source contains ``until``; return the text of the error that stopped it (the failing
    cell's source and the traceback, without terminal colours). Code cells before the
    target whose source contains any string of ``skip`` are not executed. Raises
    AssertionError if nothing failed (the break did not trip the chapter) or if it failed
    before reaching the targeted cell."""
    nb, _ = _cells(chapter, break_code, [until], skip)
    try:
        _client(nb, timeout, allow_errors=False).execute()
    except CellExecutionError as err:
        text = _plain(str(err))
        if until not in text:
            raise AssertionError(
                f"{chapter} failed before the targeted cell ({until!r}):\n{text[-3000:]}"
            ) from None
        if err.ename != "AssertionError":  # e.g. a NameError from a skipped cell
            raise AssertionError(
                f"{chapter}: the targeted cell ({until!r}) failed with {err.ename}, "
                f"not an assert:\n{text[-3000:]}"
            ) from None
        return text
    raise AssertionError(
        f"{chapter}: the break did not trip the cell containing {until!r}"
    )


def run_broken_cells(
    chapter: str,
    break_code: str,
    targets: Sequence[str],
    *,
    skip: Sequence[str] = (),
    timeout: int = 900,
) -> dict[str, str]:
    """Like :func:`run_broken`, for several independent breaks at once: execute up to the
    last of the cells that contain one of ``targets``, going on past a failing cell, and
    return ``{target: error text}`` for each targeted cell. Raises AssertionError if a
    targeted cell did not fail or any other cell did (an assert whose failure would stop
    a later one cannot share an execution with it; use separate runs)."""
    nb, where = _cells(chapter, break_code, targets, skip)
    _client(nb, timeout, allow_errors=True).execute()
    errors = {}
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                trace = "\n".join(out.get("traceback", []))
                errors[i] = _plain(
                    f"{cell.source}\n{trace}\n{out['ename']}: {out['evalue']}"
                )
    stray = {i: e for i, e in errors.items() if i not in where}
    if stray:
        raise AssertionError(
            f"{chapter} failed in a cell that is not targeted:\n"
            + next(iter(stray.values()))[-3000:]
        )
    missing = [t for t, i in zip(targets, where) if i not in errors]
    if missing:
        raise AssertionError(
            f"{chapter}: the break did not trip the cells containing {missing}"
        )
    return {t: errors[i] for t, i in zip(targets, where)}


def first_widths(function: str, count: int, position: int = 1) -> str:
    """Code for a break that makes ``function`` (``"movement.feature_movement"``, as the
    chapter names it) measure only the ``count`` narrowest of the widths it is given (its
    positional argument number ``position``, or ``widths=``)."""
    return f"""
import functools as _functools

def _first_widths(_f, _count, _at):
    @_functools.wraps(_f)
    def trimmed(*args, **kwargs):
        if "widths" in kwargs:
            kwargs["widths"] = list(kwargs["widths"])[:_count]
        else:
            args = (*args[:_at], list(args[_at])[:_count], *args[_at + 1 :])
        return _f(*args, **kwargs)
    return trimmed

{function} = _first_widths({function}, {count}, {position})
"""

"""Break a chapter's claim on purpose and show that the chapter's own assert trips.

Every chapter checks its claims in ``assert`` cells; a test in ``tests/chapters/`` proves
that each check can fail by running the *real* chapter with one thing broken (a wrong
scaling, a wrong parametrization, a frozen layer), injected as a code cell right after the
chapter's imports, and executing only the cells up to the assert it targets (cheap enough
for CI). Use::

    err = run_broken("01_sqrt_cancellation", BREAK, until="check_slopes(")
    assert "coordinates of W x at init" in err

``skip`` drops earlier code cells the target does not depend on (an expensive experiment
before a check of saved results), so that each break pays only for what it breaks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"


def _path(chapter: str) -> Path:
    path = CHAPTERS / f"{chapter}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"no chapter {path}")
    return path


def run_broken(
    chapter: str,
    break_code: str,
    until: str,
    *,
    skip: tuple[str, ...] = (),
    timeout: int = 600,
) -> str:
    """Execute ``chapter`` (``"01_sqrt_cancellation"``) with ``break_code`` injected after the
    first cell that imports from mupbook, up to and including the first code cell whose
    source contains ``until``, leaving out earlier code cells that contain any string of
    ``skip``; return the text of the error that stopped it (the failing cell's source and
    the traceback). Raises AssertionError if nothing failed (the break did not trip the
    chapter), if it failed before reaching the targeted cell, or if the targeted cell
    failed with anything but an AssertionError (a NameError: it needed a skipped cell)."""
    nb = nbformat.read(_path(chapter), as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    imports = next(i for i in code if "from mupbook" in nb.cells[i].source)
    target = next((i for i in code if until in nb.cells[i].source), None)
    if target is None:
        raise ValueError(f"{chapter}: no code cell contains {until!r}")
    cells = [
        c
        for i, c in enumerate(nb.cells[: target + 1])
        if i in (imports, target) or not any(s in c.source for s in skip)
    ]
    cells.insert(
        cells.index(nb.cells[imports]) + 1, nbformat.v4.new_code_cell(break_code)
    )
    nb.cells = [
        c
        for c in cells
        if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])
    ]
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(CHAPTERS)}},
    )
    try:
        client.execute()
    except CellExecutionError as err:
        text = str(err)
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

"""Chapter 1's assert cells fail when the scaling is broken on purpose.

The chapter runs as usual, but a cell injected after its imports makes
``measure_cancellation`` initialize the hidden weights with variance 1 instead
of 1/n. The chapter's own check must then stop it, at the slope assertion.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CHAPTER = Path(__file__).resolve().parents[2] / "chapters" / "01_sqrt_cancellation.ipynb"

BREAK = """
import functools
from mupbook.studies import cancellation
from mupbook.abc import ABC, mup
_p = mup(2)
cancellation.measure_cancellation = functools.partial(
    cancellation.measure_cancellation, param=ABC(_p.a, (_p.b[0], 0, _p.b[2]), _p.c, "broken"))
"""


@pytest.mark.slow
def test_chapter_assert_cell_catches_broken_init_scaling():
    nb = nbformat.read(CHAPTER, as_version=4)
    imports = next(i for i, c in enumerate(nb.cells) if "from mupbook import" in c.source)
    nb.cells.insert(imports + 1, nbformat.v4.new_code_cell(BREAK))
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(CHAPTER.parent)}})
    with pytest.raises(CellExecutionError) as err:
        client.execute()
    assert "coordinates of W x at init" in str(err.value)
    assert "check_slopes" in str(err.value)  # it was the chapter's assert cell that failed

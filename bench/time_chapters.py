"""Time every chapter's execution in the current scale (default quick).

    MUPBOOK_SCALE=quick .venv/bin/python bench/time_chapters.py [chapters/NN_name.ipynb ...]

Runs each notebook top to bottom in a fresh kernel (as nbval and the book build
do) and prints its wall time against the budget: 60 s per chapter in quick mode
on a 2-core CPU. Not run by CI; a benchmark, not a timed test.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 60.0


def time_chapter(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=1800,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(paths: list[str]) -> None:
    chapters = [Path(p) for p in paths] or sorted((ROOT / "chapters").glob("*.ipynb"))
    scale = os.environ.get("MUPBOOK_SCALE", "quick")
    print(
        f"scale={scale}, cpus={os.cpu_count()}, torch threads={torch.get_num_threads()}"
    )
    for path in chapters:
        seconds = time_chapter(path)
        verdict = "within" if seconds <= BUDGET_S or scale != "quick" else "OVER"
        print(
            f"{path.name:40s} {seconds:7.1f} s  ({verdict} the {BUDGET_S:.0f} s quick budget)"
        )


if __name__ == "__main__":
    main(sys.argv[1:])

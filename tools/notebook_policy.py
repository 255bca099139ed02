"""The notebook policy of mupbook, as code (README, "Contributing").

Chapters are committed *stripped*: no outputs, no execution counts, no widget
state, only ``kernelspec``/``language_info`` notebook metadata and only ``tags`` in
cell metadata. The book build and nbval execute them. Each chapter starts with
the canonical Colab install cell (``tools/repository.py``'s ``colab_install_source()``,
made from ``_config.yml``'s repository setting, tagged ``remove-cell``), is named
``NN_short_name.ipynb``, is listed in ``_toc.yml``, asserts its claims in code, tags
every ``{solution}`` cell ``solution``, and shows its explorers (a cell calling
``..._explorer(...)`` keeps its output: the book pages through it).

    python tools/notebook_policy.py chapters/*.ipynb         # report violations
    python tools/notebook_policy.py --fix chapters/*.ipynb   # strip, set the Colab cell,
                                                             # then report
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from repository import colab_install_source, set_colab_cell

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
ALLOWED_TAGS = {
    "remove-cell",
    "remove-input",
    "remove-output",
    "hide-input",
    "hide-output",
    "raises-exception",
    "exercise",
    "solution",
}
NOTEBOOK_METADATA = {"kernelspec", "language_info"}
ASSERTS = re.compile(r"^\s*(assert\b|\S*(expect_slope|check_slopes)\()", re.M)
CHECK_CALL = re.compile(r"""(?<![\w.])check\(\s*["']([\w-]+)["']""")
#: A call of an explorer (``explorers.kernel_explorer(...)``, ``explorer(...)``).
EXPLORER_CALL = re.compile(r"\b\w*explorer\s*\(")
#: Tags that would hide an explorer from the rendered book.
HIDING_TAGS = {"remove-output", "remove-cell", "hide-output"}


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs, execution counts and all metadata the policy does not allow."""
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in NOTEBOOK_METADATA}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def display_math_is_separated(source: str) -> bool:
    """True unless a ``$$`` line opens right after text or closes right before text."""
    lines = source.split("\n")
    inside = False
    for i, line in enumerate(lines):
        if line.strip() != "$$":
            continue
        if not inside and i > 0 and lines[i - 1].strip():
            return False
        if inside and i + 1 < len(lines) and lines[i + 1].strip():
            return False
        inside = not inside
    return True


def toc_files() -> list[str]:
    text = (ROOT / "_toc.yml").read_text()
    return re.findall(r"file:\s*(\S+)", text)


def violations(path: Path) -> list[str]:
    """Every way in which the notebook at ``path`` breaks the policy."""
    from mupbook.exercises import EXERCISES

    out: list[str] = []
    nb = nbformat.read(path, as_version=4)
    if not NAME.match(path.name):
        out.append(f"file name {path.name!r} is not NN_short_name.ipynb")
    if f"chapters/{path.stem}" not in toc_files():
        out.append("not listed in _toc.yml")
    extra = set(nb.metadata) - NOTEBOOK_METADATA
    if extra:
        out.append(
            f"notebook metadata has {sorted(extra)} (allowed: {sorted(NOTEBOOK_METADATA)})"
        )
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        out.append("kernelspec must be python3")
    cells = nb.cells
    if (
        not cells
        or cells[0].cell_type != "code"
        or cells[0].source != colab_install_source()
    ):
        out.append(
            "first cell is not the canonical Colab install cell of _config.yml's repository "
            "(tools/repository.py; --fix rewrites it)"
        )
    elif "remove-cell" not in cells[0].metadata.get("tags", []):
        out.append("the Colab install cell must be tagged remove-cell")
    if (
        len(cells) < 2
        or cells[1].cell_type != "markdown"
        or not cells[1].source.startswith("# ")
    ):
        out.append(
            "the second cell must be markdown starting with the chapter's '# Title'"
        )
    has_assert = False
    for i, cell in enumerate(cells):
        where = f"cell {i}"
        extra = set(cell.metadata) - {"tags"}
        if extra:
            out.append(f"{where}: metadata {sorted(extra)} (only tags allowed)")
        tags = set(cell.metadata.get("tags", []))
        if tags - ALLOWED_TAGS:
            out.append(f"{where}: unknown tags {sorted(tags - ALLOWED_TAGS)}")
        if cell.cell_type == "code":
            if cell.get("outputs"):
                out.append(f"{where}: has outputs (strip them: make strip)")
            if cell.get("execution_count") is not None:
                out.append(f"{where}: has an execution count (strip it: make strip)")
            if "NBVAL_RAISES_EXCEPTION" in cell.source:
                out.append(
                    f"{where}: use the raises-exception tag, not # NBVAL_RAISES_EXCEPTION"
                )
            has_assert |= bool(ASSERTS.search(cell.source))
            if i > 0 and EXPLORER_CALL.search(cell.source) and tags & HIDING_TAGS:
                out.append(
                    f"{where}: an explorer's cell is tagged {sorted(tags & HIDING_TAGS)}; "
                    "the rendered book shows explorers live (pictures drawn at build time)"
                )
            for ex_id in CHECK_CALL.findall(cell.source):
                if ex_id not in EXERCISES:
                    out.append(
                        f"{where}: exercise {ex_id!r} has no checker in mupbook.exercises"
                    )
        if (
            cell.cell_type == "markdown"
            and "{solution}" in cell.source
            and "solution" not in tags
        ):
            out.append(f"{where}: a {{solution}} cell must be tagged solution")
        if cell.cell_type == "markdown" and not display_math_is_separated(
            cell.source
        ):
            out.append(
                f"{where}: a $$ display-math block must be a paragraph of its own "
                "(blank lines around it), or the book renders it as raw text"
            )
    if not has_assert:
        out.append("no assert cell: a chapter checks its claims in code")
    return out


def main(argv: list[str]) -> int:
    fix = "--fix" in argv
    paths = [Path(a) for a in argv if a != "--fix"]
    bad = 0
    for path in paths:
        if fix:
            nb = strip(nbformat.read(path, as_version=4))
            set_colab_cell(nb)
            nbformat.write(nb, path)
        for v in violations(path):
            print(f"{path}: {v}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The notebook policy of mupbook, as code (README, "Contributing").

Chapters are committed *stripped*: no outputs, no execution counts, no widget
state, only ``kernelspec``/``language_info`` notebook metadata and only ``tags`` in
cell metadata. The book build and nbval execute them. Each chapter starts with
the canonical Colab install cell (``tools/repository.py``'s ``colab_install_source()``,
made from ``_config.yml``'s repository setting, tagged ``remove-cell``), is named
``NN_short_name.ipynb``, is listed in ``_toc.yml``, asserts its claims in code, tags
every ``{solution}`` cell ``solution``, and shows its explorers (a cell calling
``..._explorer(...)`` keeps its output: the book pages through it). Every
chapter of ``_toc.yml``'s chapter list opens, right after its ``# Title`` cell, with
the boxes of :data:`OPENING_BOXES` (learning objectives, prerequisites) and closes with
those of :data:`CLOSING_BOXES` (the summary), each a MyST admonition of its class::

    ```{admonition} Learning objectives
    :class: tip

    * ...
    ```

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

#: The boxes a chapter opens with, in the markdown cell right after its '# Title' cell,
#: in this order: {title: admonition class}.
OPENING_BOXES = {"Learning objectives": "tip", "Prerequisites": "note"}
#: The boxes a chapter closes with, in its last cell: {title: admonition class}.
CLOSING_BOXES = {"Summary": "important"}


def box_opening(title: str, css_class: str) -> str:
    """The first two lines of the box ``title``, as a chapter must write them."""
    return f"```{{admonition}} {title}\n:class: {css_class}"


def _box_at(source: str, title: str, css_class: str) -> int:
    """Position of box ``title`` (with its class) in ``source``; -1 when missing."""
    m = re.search(
        rf"^`{{3,}}\{{admonition\}}[ \t]+{re.escape(title)}[ \t]*\n"
        rf":class:[ \t]+{re.escape(css_class)}[ \t]*$",
        source,
        re.M,
    )
    return m.start() if m else -1


def box_violations(name: str, cells: list) -> list[str]:
    """Every missing or misplaced opening or closing box of chapter ``name``: the cell
    after the title cell (which holds only the '# Title' line) starts with the opening
    boxes, in order, and the last cell holds the closing ones."""
    out: list[str] = []
    if len(cells) < 2 or len(cells[1].source.strip().splitlines()) != 1:
        out.append(
            f"{name}: the title cell holds more than its '# Title' line; the "
            f"{' and '.join(repr(t) for t in OPENING_BOXES)} boxes come right after the "
            "title, so move the introduction below them"
        )
    opening = (
        cells[2] if len(cells) > 2 and cells[2].cell_type == "markdown" else None
    )
    previous = -1
    for title, css_class in OPENING_BOXES.items():
        at = -1 if opening is None else _box_at(opening.source, title, css_class)
        if at < 0 or (previous < 0 and at > 0):
            out.append(
                f"{name}: no {title!r} box right after the title (the markdown cell after "
                f"the '# Title' cell must start with the boxes "
                f"{', '.join(box_opening(t, c) for t, c in OPENING_BOXES.items())!r})"
            )
        elif at < previous:
            out.append(f"{name}: the {title!r} box must follow the boxes before it")
        previous = max(previous, at)
    last = cells[-1] if cells else None
    for title, css_class in CLOSING_BOXES.items():
        if (
            last is None
            or last.cell_type != "markdown"
            or _box_at(last.source, title, css_class) < 0
        ):
            out.append(
                f"{name}: no {title!r} box at the end (the last cell must be markdown "
                f"holding {box_opening(title, css_class)!r})"
            )
    return out


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


DOC_LINK = re.compile(r"\{doc\}`([^`<]+?)\s*<(\d\d_[a-z0-9_]+)>`")


def chapter_title(stem: str) -> str | None:
    """The '# Title' of chapter ``stem`` (``NN_name``); None when there is no such chapter."""
    path = ROOT / "chapters" / f"{stem}.ipynb"
    if not path.is_file():
        return None
    nb = nbformat.read(path, as_version=4)
    heading = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    return heading.split("\n")[0].removeprefix("# ").strip()


def stale_links(source: str) -> list[str]:
    """Each ``{doc}`Title <NN_name>``` in ``source`` whose Title is not that chapter's."""
    out = []
    for text, stem in DOC_LINK.findall(source):
        title = chapter_title(stem)
        if title != " ".join(text.split()):
            out.append(
                f"the link {text!r} <{stem}> names a chapter whose title is {title!r}"
            )
    return out


def toc_chapters() -> list[str]:
    """The chapters of ``_toc.yml``'s chapter list (``chapters/NN_name``, in order)."""
    return [f for f in toc_files() if f.startswith("chapters/")]


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
    if f"chapters/{path.stem}" in toc_chapters():
        out += box_violations(path.name, cells)
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
        if cell.cell_type == "markdown":
            out += [f"{where}: {v}" for v in stale_links(cell.source)]
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

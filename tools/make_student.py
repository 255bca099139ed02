"""Generate the student version of the book's chapters (``make student``).

    python tools/make_student.py chapters/*.ipynb --out _build/student

For every chapter the student notebook

* has no solution: every cell tagged ``solution`` is dropped, and so is any
  ``{solution}`` directive left elsewhere;
* has no MyST syntax (Colab cannot render it): directives become plain Markdown,
  ``{cite}`` becomes "(Author and Author, year)", other roles become their text;
* replaces each exercise cell (tagged ``exercise``) by a stub that raises
  ``NotImplementedError`` with the exercise's question as a hint, followed by the
  original ``check("<id>", ...)`` call, so that running the notebook top to bottom
  prints "not yet: ..." instead of crashing, and "correct: ..." once answered;
* starts with the Colab cell made from the book's repository setting
  (``_config.yml``, ``tools/repository.py``), which installs mupbook on Colab;
* is stripped: no outputs, no execution counts, notebook metadata only
  ``kernelspec``/``language_info``, cell metadata only ``tags``.

The logic lives in functions (``make_student``, ``myst_to_markdown``,
``stub_exercise_cell``, ``write_student``) so that tests can import this file.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import textwrap
from pathlib import Path

import nbformat
from repository import set_colab_cell

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
NOTEBOOK_METADATA = ("kernelspec", "language_info")
CHECK_CALL = re.compile(r"""(?<![\w.])check\(\s*["']([\w-]+)["']""")

STUDENT_NOTE = (
    "> **Student version: solutions removed.** In each exercise cell, replace the line that "
    "raises `NotImplementedError` with your answer and run the cell: the checker replies "
    '"correct: ..." or "not yet: ..." with a hint.'
)

# Leftover MyST syntax that must never reach a student notebook.
FORBIDDEN = re.compile(
    r"`{3,}\s*\{[\w-]+\}"  # ```{name} / ````{name}
    r"|:{3,}\s*\{[\w-]+\}"  # :::{name} (colon fence)
    r"|\{[a-z][\w:-]*\}`"  # {role}`...`
    r"|^\s*:label:"  # directive option
    r"|^\([\w.:-]+\)=\s*$",  # (target)=
    re.M,
)


# --- citations -----------------------------------------------------------------------


def _bib_field(entry: str, name: str) -> str | None:
    m = re.search(rf"\b{name}\s*=\s*", entry, re.I)
    if not m:
        return None
    i = m.end()
    if i < len(entry) and entry[i] == "{":
        depth, j = 0, i
        while j < len(entry):
            depth += {"{": 1, "}": -1}.get(entry[j], 0)
            if depth == 0:
                break
            j += 1
        value = entry[i + 1 : j]
    elif i < len(entry) and entry[i] == '"':
        value = entry[i + 1 : entry.index('"', i + 1)]
    else:
        value = re.match(r"[^,}\s]*", entry[i:]).group(0)
    return " ".join(value.replace("{", "").replace("}", "").split())


def read_bib(path: Path = BIB) -> dict[str, str]:
    """``{key: "Yang and Hu, 2021"}`` for every entry of a BibTeX file (missing file: ``{}``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,", text):
        entry = text[m.end() :]
        nxt = re.search(r"\n@\w+\s*\{", entry)
        entry = entry[: nxt.start()] if nxt else entry
        authors = _bib_field(entry, "author")
        year = _bib_field(entry, "year")
        if not authors:
            continue
        names = [a.strip() for a in re.split(r"\s+and\s+", authors) if a.strip()]
        surnames = [
            (n.split(",")[0] if "," in n else n.split()[-1]).strip() for n in names
        ]
        if len(surnames) == 1:
            who = surnames[0]
        elif len(surnames) == 2:
            who = f"{surnames[0]} and {surnames[1]}"
        else:
            who = f"{surnames[0]} et al."
        out[m.group(1)] = f"{who}, {year}" if year else who
    return out


# --- MyST -> plain Markdown ------------------------------------------------------------

_FENCE_OPEN = re.compile(
    r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[\w-]+)\}\s*(?P<arg>.*?)\s*$"
)
_ADMONITIONS = {
    "note",
    "tip",
    "hint",
    "important",
    "warning",
    "caution",
    "attention",
    "danger",
    "error",
    "seealso",
    "admonition",
    "dropdown",
}
_DROPPED = {"solution", "bibliography", "tableofcontents", "toctree"}


def _close_index(lines: list[str], start: int, fence: str) -> int:
    """Index of the line closing the fence opened at ``start - 1`` (or len(lines))."""
    char, n = fence[0], len(fence)
    inner: list[str] = []  # stack of nested plain fences (```python ... ```)
    for i in range(start, len(lines)):
        s = lines[i].strip()
        m = re.match(rf"^({re.escape(char)}{{3,}}|`{{3,}}|:{{3,}})(.*)$", s)
        if not m:
            continue
        run, rest = m.group(1), m.group(2).strip()
        if (
            inner
            and run[0] == inner[-1][0]
            and len(run) >= len(inner[-1])
            and not rest
        ):
            inner.pop()
        elif not inner and run[0] == char and len(run) >= n and not rest:
            return i
        elif rest:
            inner.append(run)
    return len(lines)


def _split_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    opts: dict[str, str] = {}
    i = 0
    while i < len(body) and re.match(r"^\s*:[\w-]+:", body[i]):
        m = re.match(r"^\s*:([\w-]+):\s*(.*)$", body[i])
        opts[m.group(1)] = m.group(2)
        i += 1
    if i < len(body) and body[i].strip() == "---":  # YAML option block
        j = i + 1
        while j < len(body) and body[j].strip() != "---":
            j += 1
        i = j + 1
    return opts, body[i:]


def _render_directive(name: str, arg: str, body: str) -> str:
    body = body.strip("\n")
    if name in _DROPPED:
        return ""
    if name == "exercise":
        title = f"**Exercise: {arg}**" if arg else "**Exercise**"
        return f"{title}\n\n{body}" if body else title
    if name == "math":
        return f"$$\n{body}\n$$"
    if name in {"code", "code-block", "code-cell", "sourcecode"}:
        return f"```{arg.split()[0] if arg else ''}\n{body}\n```"
    if name in {"figure", "image"}:
        return f"![{body.splitlines()[0] if body else ''}]({arg})" + (
            f"\n\n{body}" if body else ""
        )
    title = (
        arg
        if (name in {"admonition", "dropdown"} and arg)
        else (f"{name.capitalize()}: {arg}" if arg else name.capitalize())
    )
    quoted = "\n".join(
        f"> {line}" if line.strip() else ">" for line in body.splitlines()
    )
    return f"> **{title}**\n>\n{quoted}" if body else f"> **{title}**"


def _convert_directives(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        end = _close_index(lines, i + 1, m.group("fence"))
        _, body = _split_options(lines[i + 1 : end])
        rendered = _render_directive(
            m.group("name"), m.group("arg"), _convert_directives("\n".join(body))
        )
        out.extend(rendered.split("\n") if rendered else [])
        i = end + 1
    return "\n".join(out)


def _convert_roles(text: str, bib: dict[str, str]) -> str:
    def role(m: re.Match) -> str:
        name, content = m.group(1), m.group(2)
        if name.startswith("cite"):
            keys = [k.strip() for k in content.split(",") if k.strip()]
            return "(" + "; ".join(bib.get(k, k) for k in keys) + ")"
        if name == "math":
            return f"${content}$"
        if name == "eq":
            return f"({content})"
        if name in {"code", "kbd", "samp", "file"}:
            return f"`{content}`"
        explicit = re.match(r"^(.*?)\s*<([^>]*)>$", content, re.S)
        if explicit and explicit.group(1):
            return explicit.group(1)
        return explicit.group(2) if explicit else content

    return re.sub(r"\{([a-z][\w:-]*)\}`([^`]*)`", role, text)


def myst_to_markdown(text: str, bib: dict[str, str] | None = None) -> str:
    """Plain Markdown for MyST ``text``: directives, roles, targets and comments converted."""
    bib = read_bib() if bib is None else bib
    text = _convert_directives(text)
    text = _convert_roles(text, bib)
    text = re.sub(
        r"^\([\w.:-]+\)=[ \t]*\n?", "", text, flags=re.M
    )  # (label)= targets
    text = re.sub(r"^%.*\n?", "", text, flags=re.M)  # MyST comments
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    if FORBIDDEN.search(text):
        raise ValueError(
            f"MyST syntax left after conversion: {FORBIDDEN.search(text).group(0)!r}"
        )
    return text


# --- exercise cells ------------------------------------------------------------------


def _str_lines(text: str, indent: str, width: int = 88) -> str:
    """``text`` as a parenthesized concatenation of string literals, indented."""
    chunks = textwrap.wrap(
        text, width=width - len(indent) - 4, drop_whitespace=False
    ) or [""]
    return "\n".join(indent + repr(c) for c in chunks)


def _is_function_exercise(ex) -> bool:
    try:
        return callable(ex.reference())
    except Exception:  # a reference that cannot be built says nothing either way
        return False


def stub_exercise_cell(source: str, exercises=None) -> str:
    """The student's version of an exercise cell's ``source``.

    Each answer (``answer = ...`` or ``def name(...): ...`` passed to ``check``) becomes
    a stub raising ``NotImplementedError`` with the exercise's question as a hint; the
    ``check`` calls stay. Raises ``ValueError`` for a cell with no ``check("<id>", ...)``
    call or with an unknown exercise id.
    """
    if exercises is None:
        from mupbook.exercises import EXERCISES as exercises
    tree = ast.parse(source)
    calls: list[tuple[str, str]] = []  # (exercise id, name of the answer)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "check"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            if not isinstance(node.args[1], ast.Name):
                raise ValueError(
                    f"check({node.args[0].value!r}, ...) must pass a name, "
                    f"got {ast.unparse(node.args[1])!r}"
                )
            calls.append((node.args[0].value, node.args[1].id))
    ids = CHECK_CALL.findall(source)
    if not calls or len(ids) != len(calls):
        raise ValueError(
            f'exercise cell without a check("<id>", answer) call:\n{source}'
        )
    for ex_id, _ in calls:
        if ex_id not in exercises:
            raise ValueError(
                f"exercise cell names unknown exercise {ex_id!r} "
                "(register it in mupbook/exercises)"
            )
    by_name = {name: ex_id for ex_id, name in calls}
    comments = dict(
        re.findall(r"^\s*(\w+)\s*=.*#\s*your answer:\s*(.*?)\s*$", source, re.M)
    )

    def value_stub(name: str, ex_id: str) -> str:
        what = comments.get(name, "a value")
        hint = (
            f"{exercises[ex_id].question} Your answer: {what}. "
            f"Replace this line with `return <your answer>`."
        )
        return (
            f"def my_{name}():\n"
            f"    raise NotImplementedError(\n{_str_lines(hint, ' ' * 8)})\n\n\n"
            f"try:\n"
            f"    {name} = my_{name}()\n"
            f"except NotImplementedError as err:\n"
            f"    {name} = None\n"
            f'    print("not yet answered:", err)'
        )

    def function_stub(name: str, ex_id: str, args: str) -> str:
        hint = f"{exercises[ex_id].question} Replace this line with your code."
        return (
            f"def {name}({args}):\n"
            f"    raise NotImplementedError(\n{_str_lines(hint, ' ' * 8)})"
        )

    lines = source.split("\n")
    pieces: list[str] = []
    done: set[str] = set()
    for stmt in tree.body:
        text = "\n".join(lines[stmt.lineno - 1 : stmt.end_lineno])
        if isinstance(stmt, ast.FunctionDef) and stmt.name in by_name:
            pieces.append(
                function_stub(stmt.name, by_name[stmt.name], ast.unparse(stmt.args))
            )
            done.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and {
            t.id
            for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
            if isinstance(t, ast.Name)
        } & set(by_name):
            name = next(
                t.id
                for t in (
                    stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                )
                if isinstance(t, ast.Name) and t.id in by_name
            )
            ex_id = by_name[name]
            pieces.append(
                function_stub(name, ex_id, "*args, **kwargs")
                if _is_function_exercise(exercises[ex_id])
                else value_stub(name, ex_id)
            )
            done.add(name)
        else:
            if any(
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id == "check"
                for n in ast.walk(stmt)
            ):
                for (
                    name,
                    ex_id,
                ) in by_name.items():  # answer never assigned in the cell
                    if name not in done and name in text:
                        pieces.append(
                            function_stub(name, ex_id, "*args, **kwargs")
                            if _is_function_exercise(exercises[ex_id])
                            else value_stub(name, ex_id)
                        )
                        done.add(name)
            pieces.append(text)
    out = "\n\n".join(pieces)
    ast.parse(out)  # the stub must be valid Python
    return out


# --- whole notebooks -----------------------------------------------------------------


def _title_index(cells) -> int:
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return i
    return -1


def make_student(
    nb: nbformat.NotebookNode,
    *,
    bib: dict[str, str] | None = None,
    exercises=None,
    root: Path = ROOT,
) -> nbformat.NotebookNode:
    """The student version of chapter ``nb`` (a new notebook; ``nb`` is not changed), its
    Colab cell made from the repository setting of the book at ``root``."""
    if exercises is None:
        from mupbook.exercises import EXERCISES as exercises
    bib = read_bib() if bib is None else bib
    nb = nbformat.from_dict(nb)  # a deep copy
    cells = []
    for cell in nb.cells:
        tags = list(cell.get("metadata", {}).get("tags", []))
        if "solution" in tags:
            continue
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type == "markdown":
            cell.source = myst_to_markdown(cell.source, bib)
            cell.source = cell.source.replace(
                "put your answer in place of `None`",
                "replace the line that raises `NotImplementedError` with your answer",
            )
            if not cell.source.strip():
                continue
            cell.pop("attachments", None)
        elif cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if "exercise" in tags:
                cell.source = stub_exercise_cell(cell.source, exercises)
        cells.append(cell)
    nb.cells = cells
    set_colab_cell(nb, root)
    title = _title_index(nb.cells)
    note = nbformat.v4.new_markdown_cell(STUDENT_NOTE)
    if title >= 0:
        nb.cells.insert(title + 1, note)
    else:
        nb.cells.insert(0, note)
    nb.metadata = {k: nb.metadata[k] for k in NOTEBOOK_METADATA if k in nb.metadata}
    nbformat.validate(nb)
    return nb


def write_student(path: Path, out_dir: Path) -> Path:
    """Write the student version of the chapter at ``path`` into ``out_dir``; return its path."""
    nb = make_student(nbformat.read(path, as_version=4))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / Path(path).name
    nbformat.write(nb, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("_build/student"))
    args = parser.parse_args(argv)
    for path in args.chapters:
        print(f"{path} -> {write_student(path, args.out)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(
        0, str(ROOT)
    )  # mupbook importable even without an installed package
    sys.exit(main())

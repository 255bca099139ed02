"""tools/make_student.py: every chapter's student notebook has no solution and no MyST,
its exercise cells run and say "not yet", and each of its checkers accepts the reference
and rejects the known wrong answers."""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import json
import re
from pathlib import Path

import nbformat
import pytest

from mupbook.exercises import EXERCISES, check

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CHECK_CALL = re.compile(r"""(?<![\w.])check\(\s*["']([\w-]+)["']""")


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        "make_student", ROOT / "tools" / "make_student.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ms = _load_tool()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """{chapter name: (original notebook, path of the student notebook)}, generated once."""
    out = tmp_path_factory.mktemp("student")
    assert ms.main([str(p) for p in CHAPTERS] + ["--out", str(out)]) == 0
    return {p.name: (nbformat.read(p, as_version=4), out / p.name) for p in CHAPTERS}


def _strings(node) -> list[str]:
    """Every string (keys and values) of a JSON document: the whole file, metadata included."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [k, *_strings(v)]]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def _is_solution(cell) -> bool:
    return "solution" in cell.metadata.get("tags", [])


def _solution_lines(original) -> set[str]:
    """The non-trivial lines of the chapter's solutions that appear nowhere else in it."""
    elsewhere = "\n".join(c.source for c in original.cells if not _is_solution(c))
    lines = set()
    for cell in original.cells:
        if not _is_solution(cell):
            continue
        for line in cell.source.splitlines():
            s = line.strip()
            if (
                len(s) < 8
                or re.match(r"^(`{3,}|:{3,})", s)
                or s.startswith(":label:")
                or s in elsewhere
            ):
                continue
            lines.add(s)
    return lines


def _ids(nb) -> list[str]:
    return [
        i
        for c in nb.cells
        if c.cell_type == "code"
        for i in CHECK_CALL.findall(c.source)
    ]


def _exercise_cells(nb):
    return [
        c
        for c in nb.cells
        if c.cell_type == "code" and "exercise" in c.metadata.get("tags", [])
    ]


def test_every_chapter_is_covered():
    assert CHAPTERS, "no chapters found"
    assert all(_ids(nbformat.read(p, as_version=4)) for p in CHAPTERS), (
        "a chapter without exercises"
    )


@pytest.mark.parametrize("chapter", [p.name for p in CHAPTERS])
def test_student_notebook_has_no_solution(generated, chapter):
    original, path = generated[chapter]
    nb = nbformat.read(path, as_version=4)
    assert not any(_is_solution(c) for c in nb.cells)
    text = "\n".join(_strings(json.loads(path.read_text(encoding="utf-8"))))
    assert "{solution}" not in text and "solution}" not in text
    lines = _solution_lines(original)
    assert lines, "the chapter has solutions to look for"
    leaked = sorted(line for line in lines if line in text)
    assert not leaked, f"solution text in the student notebook: {leaked}"
    # No exercise cell holds a reference answer as a literal (number or string).
    for cell in _exercise_cells(nb):
        constants = [
            n.value
            for n in ast.walk(ast.parse(cell.source))
            if isinstance(n, ast.Constant)
        ]
        for ex_id in CHECK_CALL.findall(cell.source):
            ref = EXERCISES[ex_id].reference()
            if callable(ref):
                continue
            assert not any(
                type(c) is type(ref) and c == ref
                for c in constants
                if not isinstance(c, bool)
            ), f"{ex_id}: reference {ref!r} in the stub"


@pytest.mark.parametrize("chapter", [p.name for p in CHAPTERS])
def test_student_notebook_has_no_myst_and_is_stripped(generated, chapter):
    original, path = generated[chapter]
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert set(nb.metadata) <= {"kernelspec", "language_info"}
    for cell in nb.cells:
        assert set(cell.metadata) <= {"tags"}
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        else:
            for bad in (
                "```{",
                "````{",
                ":::{",
                "{cite}",
                "{ref}",
                "{numref}",
                ":label:",
            ):
                assert bad not in cell.source, f"MyST {bad!r} left in:\n{cell.source}"
            assert not ms.FORBIDDEN.search(cell.source)
    # Colab: the install cell stays first, and the title is followed by the student note.
    assert nb.cells[0].source == original.cells[0].source
    title = ms._title_index(nb.cells)
    assert "Student version: solutions removed" in nb.cells[title + 1].source
    # Each exercise keeps a plain-Markdown statement of it.
    n_exercises = sum(c.source.count("{exercise}") for c in original.cells)
    assert sum(c.source.count("**Exercise: ") for c in nb.cells) == n_exercises


@pytest.mark.parametrize("chapter", [p.name for p in CHAPTERS])
def test_exercise_cells_are_stubs_that_run_and_say_not_yet(generated, chapter):
    original, path = generated[chapter]
    nb = nbformat.read(path, as_version=4)
    assert _ids(nb) == _ids(original), (
        "every check() call of the chapter is kept, in order"
    )
    cells = _exercise_cells(nb)
    assert len(cells) == len(_exercise_cells(original))
    for cell in cells:
        assert "raise NotImplementedError(" in cell.source
        assert (
            "None  # your" not in cell.source
            and "# your code here" not in cell.source
        )
        for ex_id in CHECK_CALL.findall(cell.source):
            namespace = {"check": check}
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(cell.source, f"<{chapter}:{ex_id}>", "exec"), namespace)  # noqa: S102
            call = ast.parse(cell.source).body[-1]
            feedback = eval(
                compile(ast.Expression(call.value), "<check>", "eval"), namespace
            )  # noqa: S307
            assert str(feedback).startswith("not yet: ")
            answer = namespace[call.value.args[1].id]
            if callable(
                answer
            ):  # a function exercise: the student's stub raises the hint
                assert "NotImplementedError" in feedback.message
                with pytest.raises(NotImplementedError, match="Replace this line"):
                    answer(*[None] * answer.__code__.co_argcount)
            else:  # a value exercise: the hint is printed, the answer is the placeholder
                assert answer is None
                assert "not yet answered:" in out.getvalue()
                assert EXERCISES[ex_id].question[:30] in out.getvalue().replace(
                    "\n", " "
                )


@pytest.mark.parametrize("chapter", [p.name for p in CHAPTERS])
def test_chapter_checkers_accept_the_reference_and_reject_wrong_answers(chapter):
    ids = _ids(nbformat.read(ROOT / "chapters" / chapter, as_version=4))
    assert ids
    for ex_id in ids:
        ex = EXERCISES[ex_id]
        assert check(ex_id, ex.reference()).correct, ex_id
        assert ex.wrong, f"{ex_id} lists no wrong answer"
        for wrong in ex.wrong:
            assert str(check(ex_id, wrong())).startswith("not yet: "), ex_id


def test_unknown_exercise_id_is_refused():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title"),
            nbformat.v4.new_code_cell(
                'answer = None  # your answer: a number\ncheck("ch99-nothing", answer)',
                metadata={"tags": ["exercise"]},
            ),
        ]
    )
    with pytest.raises(ValueError, match="unknown exercise 'ch99-nothing'"):
        ms.make_student(nb)


def test_exercise_cell_without_check_is_refused():
    with pytest.raises(ValueError, match="without a check"):
        ms.stub_exercise_cell("answer = None\n")


def test_myst_conversion():
    bib = {"yang2021tp4": "Yang and Hu, 2021"}
    text = (
        "See {cite}`yang2021tp4,unknown2020` and {ref}`the intro <intro>`, {numref}`fig-a`.\n\n"
        "(my-target)=\n"
        "```{exercise} Title\n:label: ex-1\n\nBody $x$.\n```\n\n"
        "````{note}\nA note with code:\n```python\nx = 1\n```\n````\n\n"
        ":::{tip}\nColon fence.\n:::\n\n"
        "```{solution} ex-1\nsecret answer\n```\n"
    )
    md = ms.myst_to_markdown(text, bib)
    assert "(Yang and Hu, 2021; unknown2020)" in md
    assert "the intro" in md and "fig-a" in md and "my-target" not in md
    assert "**Exercise: Title**\n\nBody $x$." in md
    assert (
        "> **Note**" in md
        and "> x = 1" in md
        and "> **Tip**" in md
        and "Colon fence." in md
    )
    assert "secret" not in md
    assert not ms.FORBIDDEN.search(md)


def test_read_bib_gives_author_year():
    bib = ms.read_bib()
    assert bib.get("yang2021tp4") == "Yang and Hu, 2021"


def test_metadata_never_carries_a_solution():
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            },
            "solutions": {"ch01-variance-one": "SECRET-1"},
        },
        cells=[
            nbformat.v4.new_markdown_cell("# Title", metadata={"hidden": "SECRET-2"}),
            nbformat.v4.new_markdown_cell(
                "```{solution} x\nSECRET-3\n```", metadata={"tags": ["solution"]}
            ),
            nbformat.v4.new_code_cell(
                "x = 1",
                metadata={"note": "SECRET-4"},
                outputs=[nbformat.v4.new_output("stream", text="SECRET-5")],
                execution_count=3,
            ),
        ],
    )
    text = nbformat.writes(ms.make_student(nb))
    assert "SECRET" not in text


def _answered(source: str, replacement: str) -> str:
    """``source`` with its ``raise NotImplementedError(...)`` statement replaced, as a student would."""
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.Raise))
    lines = source.split("\n")
    indent = lines[node.lineno - 1][: node.col_offset]
    return "\n".join(
        lines[: node.lineno - 1] + [indent + replacement] + lines[node.end_lineno :]
    )


@pytest.mark.parametrize("chapter", [p.name for p in CHAPTERS])
def test_a_student_who_answers_gets_correct(generated, chapter):
    nb = nbformat.read(generated[chapter][1], as_version=4)
    for cell in _exercise_cells(nb):
        (ex_id,) = CHECK_CALL.findall(cell.source)
        ref = EXERCISES[ex_id].reference()
        fn = next(
            (
                n
                for n in ast.walk(ast.parse(cell.source))
                if isinstance(n, ast.FunctionDef)
            ),
            None,
        )
        if callable(ref):
            params = ", ".join(a.arg for a in fn.args.args)
            source = _answered(cell.source, f"return _reference({params})")
        else:
            source = _answered(cell.source, f"return {ref!r}")
        namespace = {"check": check, "_reference": ref}
        tree = ast.parse(source)
        with contextlib.redirect_stdout(io.StringIO()):
            exec(
                compile(ast.Module(tree.body[:-1], []), "<answered>", "exec"),
                namespace,
            )  # noqa: S102
        feedback = eval(
            compile(ast.Expression(tree.body[-1].value), "<check>", "eval"), namespace
        )  # noqa: S307
        assert str(feedback).startswith("correct: "), (ex_id, feedback)

"""Every chapter follows the notebook policy (tools/notebook_policy.py, README)."""

import nbformat
import pytest
from notebook_policy import ROOT, main, strip, toc_files, violations
from repository import colab_install_source, colab_url

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def test_there_are_chapters_and_toc_lists_only_existing_files():
    assert CHAPTERS, "no chapters found"
    for entry in toc_files():
        assert (ROOT / f"{entry}.ipynb").exists() or (
            ROOT / f"{entry}.md"
        ).exists(), entry


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_follows_the_notebook_policy(path):
    assert violations(path) == []


def test_policy_rejects_outputs_and_missing_colab_cell(tmp_path):
    good = nbformat.read(CHAPTERS[0], as_version=4)
    bad = nbformat.from_dict(good)
    code = next(c for c in bad.cells[1:] if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="hi")]
    code.execution_count = 3
    bad.metadata["widgets"] = {"state": {}}
    bad.cells[0].source = "print('no colab')"
    path = tmp_path / CHAPTERS[0].name
    nbformat.write(bad, path)
    found = "\n".join(violations(path))
    for needle in ("has outputs", "execution count", "widgets", "Colab install cell"):
        assert needle in found


def test_strip_removes_what_the_policy_forbids():
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    nb.metadata["widgets"] = {}
    code = next(c for c in nb.cells[1:] if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="x")]
    code.execution_count = 1
    code.metadata["collapsed"] = True
    nb = strip(nb)
    code = next(c for c in nb.cells[1:] if c.cell_type == "code")
    assert "widgets" not in nb.metadata
    assert code.outputs == [] and code.execution_count is None
    assert set(code.metadata) <= {"tags"}


def test_colab_cell_is_inert_outside_colab_and_keeps_torch_pinned():
    src = colab_install_source()
    assert "torch=={torch.__version__}" in src
    namespace: dict = {}
    exec(
        compile(src, "colab-cell", "exec"), namespace
    )  # outside Colab it must do nothing
    assert "subprocess" not in namespace


def test_readme_links_every_chapter_on_colab():
    readme = (ROOT / "README.md").read_text()
    for entry in toc_files():
        if entry.startswith("chapters/"):
            assert colab_url(entry) in readme, (
                f"README lacks the Colab link of {entry}"
            )


def test_display_math_must_be_its_own_paragraph():
    from notebook_policy import display_math_is_separated

    assert display_math_is_separated("text\n\n$$\nx = 1\n$$\n\nmore")
    assert not display_math_is_separated("text\n$$\nx = 1\n$$\n\nmore")
    assert not display_math_is_separated("text\n\n$$\nx = 1\n$$\nmore")


# ------------------------------------------ objectives, prerequisites, summary (boxes)


def _rewritten(tmp_path, change) -> str:
    """The policy's verdict on the first chapter after ``change(cells)``, one string."""
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    change(nb.cells)
    path = tmp_path / CHAPTERS[0].name
    nbformat.write(nb, path)
    return "\n".join(violations(path))


def test_every_chapter_of_the_toc_has_the_opening_and_closing_boxes():
    from notebook_policy import (
        CLOSING_BOXES,
        OPENING_BOXES,
        box_violations,
        toc_chapters,
    )

    assert set(OPENING_BOXES) == {"Learning objectives", "Prerequisites"}
    assert set(CLOSING_BOXES) == {"Summary"}
    for entry in toc_chapters():
        nb = nbformat.read(ROOT / f"{entry}.ipynb", as_version=4)
        assert box_violations(entry, nb.cells) == []


@pytest.mark.parametrize(
    "box, change",
    [
        (
            "Learning objectives",
            lambda cells: setattr(
                cells[2],
                "source",
                cells[2].source.replace("Learning objectives", "Goals"),
            ),
        ),
        (
            "Prerequisites",
            lambda cells: setattr(
                cells[2], "source", cells[2].source.split("```{admonition} Prereq")[0]
            ),
        ),
        ("Summary", lambda cells: cells.pop()),
        (
            "Summary",
            lambda cells: setattr(
                cells[-1], "source", cells[-1].source.replace(":class: important", "")
            ),
        ),
    ],
)
def test_a_missing_box_is_named_with_its_chapter(tmp_path, box, change):
    found = _rewritten(tmp_path, change)
    assert f"{CHAPTERS[0].name}: no {box!r} box" in found, found


def test_boxes_must_come_right_after_the_title(tmp_path):
    def title_with_introduction(cells):
        cells[1].source += "\n\nAn introduction before the boxes."

    found = _rewritten(tmp_path, title_with_introduction)
    assert "holds more than its '# Title' line" in found, found

    def boxes_after_introduction(cells):
        cells[2], cells[3] = cells[3], cells[2]

    found = _rewritten(tmp_path, boxes_after_introduction)
    assert (
        f"{CHAPTERS[0].name}: no 'Learning objectives' box right after the title"
        in found
    )


def test_boxes_are_required_only_of_the_toc_chapter_list(tmp_path, monkeypatch):
    import notebook_policy

    monkeypatch.setattr(notebook_policy, "toc_chapters", lambda: [])
    assert "box" not in _rewritten(tmp_path, lambda cells: cells.pop())


def test_a_link_to_a_chapter_must_carry_its_current_title():
    from notebook_policy import stale_links

    assert (
        stale_links(
            "{doc}`abc-parametrizations and the Dynamical Dichotomy <04_abc_dichotomy>`"
        )
        == []
    )
    assert (
        "whose title is 'abc-parametrizations"
        in stale_links("{doc}`The abc of it <04_abc_dichotomy>`")[0]
    )
    assert "None" in stale_links("{doc}`Gone <99_gone>`")[0]


def test_an_explorer_hidden_from_the_book_is_a_violation(tmp_path):
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    cell = nbformat.v4.new_code_cell("explorers.kernel_explorer(max_log2_width=10)")
    cell.metadata["tags"] = ["remove-output"]
    nb.cells.append(cell)
    path = tmp_path / CHAPTERS[0].name
    nbformat.write(nb, path)
    assert any(
        "explorer's cell is tagged ['remove-output']" in v for v in violations(path)
    )
    cell.metadata["tags"] = []
    nbformat.write(nb, path)
    assert not any("explorer" in v for v in violations(path))


def test_fix_rewrites_a_stale_colab_cell_from_the_setting(tmp_path):
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    nb.cells[0].source = (
        nb.cells[0]
        .source.replace("v0.", "v9.")
        .replace("github.com/", "github.com/elsewhere-")
    )
    nb.cells[0].metadata["tags"] = []
    path = tmp_path / CHAPTERS[0].name
    nbformat.write(nb, path)
    assert any("Colab install cell" in v for v in violations(path))
    main(["--fix", str(path)])
    fixed = nbformat.read(path, as_version=4)
    assert fixed.cells[0].source == colab_install_source()
    assert fixed.cells[0].metadata["tags"] == ["remove-cell"]
    assert not any("Colab" in v for v in violations(path))

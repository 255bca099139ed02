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
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="x")]
    nb.cells[2].execution_count = 1
    nb.cells[2].metadata["collapsed"] = True
    nb = strip(nb)
    assert "widgets" not in nb.metadata
    assert nb.cells[2].outputs == [] and nb.cells[2].execution_count is None
    assert set(nb.cells[2].metadata) <= {"tags"}


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

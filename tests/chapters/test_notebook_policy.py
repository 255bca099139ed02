"""Every chapter follows the notebook policy (tools/notebook_policy.py, README)."""

import nbformat
import pytest
from notebook_policy import ROOT, strip, toc_files, violations

from mupbook import runtime

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
    src = runtime.colab_install_source()
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
            url = f"https://colab.research.google.com/github/mupbook/mupbook/blob/main/{entry}.ipynb"
            assert url in readme, f"README lacks the Colab link of {entry}"


def test_display_math_must_be_its_own_paragraph():
    from notebook_policy import display_math_is_separated

    assert display_math_is_separated("text\n\n$$\nx = 1\n$$\n\nmore")
    assert not display_math_is_separated("text\n$$\nx = 1\n$$\n\nmore")
    assert not display_math_is_separated("text\n\n$$\nx = 1\n$$\nmore")

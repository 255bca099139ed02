"""tools/check_book.py: what it counts on a built page is what the explorers write."""

from __future__ import annotations

import ipywidgets as w
import nbformat
from check_book import EXPLORER, explorer_calls, page_bytes

from mupbook.viz import explorers


def test_the_book_check_finds_an_explorers_markup_with_its_times(monkeypatch):
    monkeypatch.setenv("MUPBOOK_STATIC_EXPLORERS", "1")
    out = explorers.explorer(
        {"a": w.IntSlider(value=0, min=0, max=3)}, lambda a: f"<p>{a}</p>"
    )
    assert EXPLORER.findall(out._repr_html_()) == [
        ("4", f"{out.seconds:.1f}", f"{out.cpu_seconds:.1f}")
    ]


def test_explorer_calls_are_counted_in_code_cells_only(tmp_path, monkeypatch):
    import check_book

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("# Colab cell: explorer( is not called here"),
        nbformat.v4.new_code_cell("frames = study.explorer_frames()\nx = 1"),
        nbformat.v4.new_code_cell("explorers.pi_explorer(frames)"),
        nbformat.v4.new_markdown_cell("The explorer(...) below"),
        nbformat.v4.new_code_cell("explorers.explorer(controls, draw)"),
    ]
    (tmp_path / "chapters").mkdir()
    nbformat.write(nb, tmp_path / "chapters" / "99_x.ipynb")
    monkeypatch.setattr(check_book, "ROOT", tmp_path)
    assert explorer_calls("chapters/99_x") == 2


def test_a_page_weighs_its_html_and_the_images_it_shows(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "a.png").write_bytes(b"x" * 1000)
    (tmp_path / "_images" / "unused.png").write_bytes(b"x" * 5000)
    (tmp_path / "chapters").mkdir()
    page = tmp_path / "chapters" / "p.html"
    page.write_text('<img alt="" src="../_images/a.png"><img src="../_images/a.png">')
    assert page_bytes(page) == page.stat().st_size + 1000

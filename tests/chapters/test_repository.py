"""The repository's address is one setting (_config.yml's repository.url and .branch):
every copy agrees with it, and publishing elsewhere is one line plus one command
(tools/repository.py --write)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
import repository
import yaml
from repository import ROOT

NEW_URL, NEW_BRANCH = "https://github.com/some-lab/feature-learning-book", "trunk"


def test_every_copy_agrees_with_the_setting():
    assert repository.problems() == []


def test_the_launch_buttons_and_the_colab_links_read_the_setting():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = repository.setting()
    assert cfg["repository"]["url"] == repo.url  # what jupyter-book's buttons read
    assert repository.colab_url("chapters/01_sqrt_cancellation") == (
        f"https://colab.research.google.com/github/{repo.name}/blob/{repo.branch}/"
        "chapters/01_sqrt_cancellation.ipynb"
    )
    assert f"git+{repo.url}@" in repository.colab_install_source()
    assert f'"{repo.branch}")' in repository.colab_install_source()


def test_the_library_does_not_hold_the_address():
    import mupbook
    from mupbook import runtime

    assert not hasattr(mupbook, "REPO_URL")
    assert not hasattr(runtime, "colab_install_source")
    for path in (ROOT / "mupbook").rglob("*.py"):
        assert repository.setting().url not in path.read_text(), path


@pytest.fixture
def book_copy(tmp_path: Path) -> Path:
    """The files the setting reaches, copied into ``tmp_path``."""
    for name in ("_config.yml", "_toc.yml", "README.md", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for folder, pattern in (("book", "*.md"), ("chapters", "*.ipynb")):
        (tmp_path / folder).mkdir()
        for path in (ROOT / folder).glob(pattern):
            shutil.copy2(path, tmp_path / folder / path.name)
    return tmp_path


def _move(root: Path) -> str:
    """Change the one line (and the branch) of the setting; return the old address."""
    cfg = root / "_config.yml"
    old = repository.setting(root).url
    text = cfg.read_text().replace(f"url: {old}", f"url: {NEW_URL}")
    text = text.replace("branch: main", f"branch: {NEW_BRANCH}")
    cfg.write_text(text)
    return old


def test_publishing_elsewhere_is_one_line_and_one_command(book_copy):
    old = _move(book_copy)
    found = "\n".join(repository.problems(book_copy))
    for stale in ("README.md", "pyproject.toml", "book/how_to_use.md"):
        assert stale in found, stale
    for chapter in repository.chapters(book_copy):
        assert f"{chapter}.ipynb: the first cell" in found, chapter

    changed = repository.write(book_copy)
    assert changed and repository.problems(book_copy) == []
    for path in [*book_copy.glob("*.md"), *book_copy.glob("book/*.md")]:
        assert old not in path.read_text(), path
    assert f'Homepage = "{NEW_URL}"' in (book_copy / "pyproject.toml").read_text()
    readme = (book_copy / "README.md").read_text()
    for chapter in repository.chapters(book_copy):
        assert (
            f"https://colab.research.google.com/github/some-lab/feature-learning-book/"
            f"blob/{NEW_BRANCH}/{chapter}.ipynb"
        ) in readme
        nb = nbformat.read(book_copy / f"{chapter}.ipynb", as_version=4)
        assert f"git+{NEW_URL}@" in nb.cells[0].source
        assert nb.cells[0].source == repository.colab_install_source(book_copy)
    assert repository.write(book_copy) == []  # a second run changes nothing


def test_the_readme_table_follows_the_toc(book_copy):
    toc = book_copy / "_toc.yml"
    first = repository.chapters(book_copy)[0]
    toc.write_text(toc.read_text().replace(f"file: {first}\n", "", 1))
    assert any("README.md" in p for p in repository.problems(book_copy))
    repository.write(book_copy)
    readme = (book_copy / "README.md").read_text()
    assert f"{first}.ipynb" not in readme
    second = repository.chapters(book_copy)[0]
    number, title = (
        repository.chapter_number(second),
        repository.chapter_title(second),
    )
    assert f"| {number} | {title} |" in readme  # numbered by its file, not its place


def test_other_projects_links_are_flagged_unless_listed(book_copy, monkeypatch):
    how = book_copy / "book" / "how_to_use.md"
    how.write_text(how.read_text() + "\nSee https://github.com/microsoft/mup too.\n")
    assert any("microsoft/mup" in p for p in repository.problems(book_copy))
    monkeypatch.setattr(repository, "OTHER_REPOSITORIES", ("microsoft/mup",))
    assert repository.problems(book_copy) == []


def test_make_student_writes_the_setting_into_the_colab_cell(book_copy):
    import make_student

    _move(book_copy)
    chapter = book_copy / "chapters" / "01_sqrt_cancellation.ipynb"
    nb = make_student.make_student(
        nbformat.read(chapter, as_version=4), root=book_copy
    )
    assert nb.cells[0].source == repository.colab_install_source(book_copy)
    assert f"git+{NEW_URL}@" in nb.cells[0].source
    assert "remove-cell" in nb.cells[0].metadata["tags"]

"""The book's one repository setting, and everything made from it.

Where the book is published is one setting: ``_config.yml``'s ``repository.url`` (with
``repository.branch``). jupyter-book's launch (Colab) and repository buttons read it there;
everything else that names the repository is made from it here:

* the first cell of every chapter, hidden in the book, which installs mupbook on Colab
  from that repository (:func:`colab_install_source`): ``tools/notebook_policy.py`` checks
  it and its ``--fix`` rewrites it, and ``make student`` writes it into every student
  notebook;
* the Colab link of a chapter (:func:`colab_url`), which ``tools/check_book.py`` and the
  browser test look for on the built pages, and the README's chapters table
  (:func:`chapters_table`, between its two ``<!-- chapters table ... -->`` markers);
* the copies held by files that cannot read ``_config.yml``: every link to the repository
  or to a chapter on Colab in ``README.md``, ``book/*.md`` and ``pyproject.toml``
  (``[project.urls]``).

The library installed on Colab never reads the setting: it lives in the chapters' cells.

    python tools/repository.py           # check that every copy agrees (exit 1, with a list)
    python tools/repository.py --write   # rewrite every copy from the setting

Publishing under another address is a one-line change of ``_config.yml``, then
``make repository`` (the second command); ``tests/chapters/test_repository.py`` fails until
every copy agrees.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: Files whose links to the repository (and to chapters on Colab) are copies of the setting.
COPIES = ("README.md", "pyproject.toml", "book/*.md")
#: GitHub repositories of other projects that these files may link to (``owner/name``).
OTHER_REPOSITORIES: tuple[str, ...] = ()
TABLE_BEGIN = (
    "<!-- chapters table: made from _toc.yml, the chapters' titles and _config.yml by "
    "python tools/repository.py --write -->"
)
TABLE_END = "<!-- end of chapters table -->"
GITHUB = re.compile(
    r"https://github\.com/([\w.-]+/[\w.-]+?)(?=\.git\b|[/\s)\"'`>#?]|\.?$)", re.M
)
COLAB = re.compile(
    r"https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/([\w./-]+?)/"
    r"(chapters/[\w-]+)\.ipynb"
)


@dataclass(frozen=True)
class Repository:
    """The setting: ``url`` (``https://github.com/owner/name``), ``branch`` and the Colab
    base URL of the launch buttons."""

    url: str
    branch: str
    colab: str

    @property
    def name(self) -> str:
        """``owner/name``."""
        return self.url.removeprefix("https://github.com/")


def setting(root: Path = ROOT) -> Repository:
    """The repository setting of the book at ``root`` (its ``_config.yml``)."""
    cfg = yaml.safe_load((Path(root) / "_config.yml").read_text())
    url = str(cfg["repository"]["url"]).rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(
            f"_config.yml: repository.url must be https://github.com/OWNER/NAME, got {url!r}"
        )
    return Repository(
        url,
        str(cfg["repository"].get("branch", "main")),
        str(cfg["launch_buttons"]["colab_url"]).rstrip("/"),
    )


def colab_url(chapter: str, root: Path = ROOT) -> str:
    """The Colab address of ``chapter`` (``"chapters/01_sqrt_cancellation"``), as the
    launch button builds it."""
    repo = setting(root)
    return f"{repo.colab}/github/{repo.name}/blob/{repo.branch}/{chapter}.ipynb"


def colab_install_source(root: Path = ROOT) -> str:
    """The source of every chapter's first cell (tagged ``remove-cell``).

    On Colab it installs this version of mupbook from the repository's tag
    ``v<version>`` (falling back to the setting's branch, loudly, if that tag is not
    published yet), pinning torch to the version Colab already has so that its CUDA
    build is never replaced. Anywhere else it does nothing. The text is formatted as ruff
    formats it.
    """
    from mupbook import __version__

    repo = setting(root)
    return f"""# Colab set-up: install mupbook, keeping Colab's own torch. Does nothing elsewhere.
import sys

if "google.colab" in sys.modules:
    import subprocess

    import torch

    pins = [f"torch=={{torch.__version__}}"]
    for ref in ("v{__version__}", "{repo.branch}"):
        url = f"mupbook @ git+{repo.url}@{{ref}}"
        cmd = [sys.executable, "-m", "pip", "install", "-q", *pins, url]
        if subprocess.run(cmd).returncode == 0:
            break
        print(f"mupbook: could not install {{ref}}; trying the next ref")
    else:
        raise RuntimeError("mupbook did not install; see pip's messages above")"""


def is_colab_cell(cell) -> bool:
    """True for a chapter's Colab install cell, canonical or stale (another address,
    version or wording)."""
    return (
        cell.cell_type == "code"
        and "google.colab" in cell.source
        and ("pip" in cell.source)
    )


def set_colab_cell(nb: nbformat.NotebookNode, root: Path = ROOT) -> bool:
    """Make ``nb``'s first cell the canonical Colab cell of the setting, tagged
    ``remove-cell``: rewrite a stale one (moved first if it is elsewhere), insert one
    where there is none. True if ``nb`` changed."""
    source = colab_install_source(root)
    cells = nb.cells
    found = next((i for i, c in enumerate(cells) if is_colab_cell(c)), None)
    changed = found != 0
    if found is None:
        cell = nbformat.v4.new_code_cell(source)
        if nb.nbformat < 4 or (nb.nbformat == 4 and nb.nbformat_minor < 5):
            cell.pop("id", None)  # cell ids need nbformat 4.5
    else:
        cell = cells.pop(found)
        changed |= cell.source != source
        cell.source = source
    cells.insert(0, cell)
    tags = list(cell.metadata.get("tags", []))
    if "remove-cell" not in tags:
        cell.metadata["tags"] = [*tags, "remove-cell"]
        changed = True
    return changed


def chapters(root: Path = ROOT) -> list[str]:
    """The chapters of ``_toc.yml`` (``"chapters/NN_name"``), in order."""
    text = (Path(root) / "_toc.yml").read_text()
    return [
        e for e in re.findall(r"file:\s*(\S+)", text) if e.startswith("chapters/")
    ]


def chapter_number(chapter: str) -> int:
    """The number a chapter's file name starts with (``chapters/10_pi_limit``: 10)."""
    return int(Path(chapter).name.split("_", 1)[0])


def chapter_title(chapter: str, root: Path = ROOT) -> str:
    """The ``# Title`` of a chapter notebook."""
    nb = nbformat.read(Path(root) / f"{chapter}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip()[2:].split("\n", 1)[0].strip()
    raise ValueError(f"{chapter}.ipynb has no '# Title' cell")


def chapters_table(root: Path = ROOT) -> str:
    """The README's table of chapters with their Colab links, between its markers."""
    rows = [
        f"| {chapter_number(c)} | {chapter_title(c, root)} | [open]({colab_url(c, root)}) |"
        for c in chapters(root)
    ]
    return "\n".join(
        [
            TABLE_BEGIN,
            "",
            "| # | chapter | Colab |",
            "| --- | --- | --- |",
            *rows,
            "",
            TABLE_END,
        ]
    )


def _copy_files(root: Path) -> list[Path]:
    out: list[Path] = []
    for pattern in COPIES:
        out += sorted(p for p in Path(root).glob(pattern) if p.is_file())
    return out


def _rewritten(text: str, root: Path) -> str:
    """``text`` with every link to the repository or to a chapter on Colab made from the
    setting (links to :data:`OTHER_REPOSITORIES` kept)."""
    repo = setting(root)
    text = COLAB.sub(lambda m: colab_url(m.group(3), root), text)
    return GITHUB.sub(
        lambda m: m.group(0) if m.group(1) in OTHER_REPOSITORIES else repo.url, text
    )


def _with_table(text: str, root: Path, name: str) -> str:
    if TABLE_BEGIN not in text or TABLE_END not in text:
        raise ValueError(f"{name} lacks the chapters table's markers")
    head, rest = text.split(TABLE_BEGIN, 1)
    _, tail = rest.split(TABLE_END, 1)
    return head + chapters_table(root) + tail


def _expected(path: Path, root: Path) -> str:
    text = path.read_text()
    if path.name == "README.md" and path.parent == Path(root):
        text = _with_table(text, root, "README.md")
    return _rewritten(text, root)


def problems(root: Path = ROOT) -> list[str]:
    """Every copy of the setting that disagrees with it (empty when all agree)."""
    root = Path(root)
    repo = setting(root)
    out: list[str] = []
    for path in _copy_files(root):
        rel = path.relative_to(root)
        text = path.read_text()
        try:
            expected = _expected(path, root)
        except ValueError as err:
            out.append(str(err))
            continue
        if text == expected:
            continue
        for n, (got, want) in enumerate(
            zip(text.splitlines(), expected.splitlines()), start=1
        ):
            if got != want:
                out.append(f"{rel}:{n}: {got.strip()!r} should be {want.strip()!r}")
                break
        else:
            out.append(f"{rel}: differs from what the setting makes")
    if repo.url not in (root / "pyproject.toml").read_text():
        out.append(f"pyproject.toml: [project.urls] does not name {repo.url}")
    for chapter in chapters(root):
        nb = nbformat.read(root / f"{chapter}.ipynb", as_version=4)
        if set_colab_cell(nb, root):
            out.append(
                f"{chapter}.ipynb: the first cell is not the Colab cell of {repo.url}"
            )
    return out


def write(root: Path = ROOT) -> list[Path]:
    """Rewrite every copy of the setting from it; return the files changed."""
    root = Path(root)
    changed: list[Path] = []
    for path in _copy_files(root):
        expected = _expected(path, root)
        if path.read_text() != expected:
            path.write_text(expected)
            changed.append(path)
    for chapter in chapters(root):
        path = root / f"{chapter}.ipynb"
        nb = nbformat.read(path, as_version=4)
        if set_colab_cell(nb, root):
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    if "--write" in argv:
        for path in write():
            print(f"rewrote {path.relative_to(ROOT)}")
    found = problems()
    for p in found:
        print(p)
    repo = setting()
    print(
        f"repository {repo.url} (branch {repo.branch}): "
        f"{'copies disagree: python tools/repository.py --write' if found else 'every copy agrees'}"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # mupbook importable without an installed package
    sys.exit(main(sys.argv[1:]))

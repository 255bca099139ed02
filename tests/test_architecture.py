"""The library's layers (README, "Architecture") hold: imports run one way.

core (the flat top-level modules) <- limits, data <- studies, experiments, exercises <- viz
<- chapters. Checked on the source (every ``import`` statement, also those inside
functions), so a lazy import cannot hide a wrong dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mupbook"
SUBPACKAGES = ("limits", "data", "studies", "experiments", "viz", "exercises")
#: What each layer may import from mupbook (besides itself and the core).
ALLOWED = {
    "core": set(),
    "limits": set(),
    "data": set(),
    "studies": {"limits", "data"},
    "experiments": {"limits", "data", "studies"},
    "exercises": {"limits", "data", "studies"},
    "viz": {"limits", "data", "studies", "experiments"},
}
PLOTTING = ("matplotlib", "ipywidgets", "IPython")


def _layer(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package)
    return rel.parts[0] if len(rel.parts) > 1 else "core"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path, package_dir: Path = PACKAGE) -> list[tuple[str, bool]]:
    """(absolute module name, at module level?) of every import in ``path``."""
    tree = ast.parse(path.read_text())
    rel = path.relative_to(package_dir.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    top_level = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                names = (
                    [f"{mod}.{a.name}" for a in node.names]
                    if not node.module
                    else [mod]
                )
                if not node.module:  # from . import x: x may be a module
                    out += [(n, id(node) in top_level) for n in names]
                    continue
            else:
                mod = node.module or ""
            out.append((mod, id(node) in top_level))
    return out


def _target_layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "mupbook" or len(parts) == 1:
        return None
    return parts[1] if parts[1] in SUBPACKAGES else "core"


def _wrong_imports(path: Path, package: Path = PACKAGE) -> list[str]:
    """The imports of ``path`` that its layer may not make (a core module may import no
    subpackage at all)."""
    layer = _layer(path, package)
    return [
        m
        for m, _ in _imports(path, package)
        if (t := _target_layer(m)) not in (None, "core", layer)
        and t not in ALLOWED[layer]
    ]


@pytest.mark.parametrize(
    "path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_module_imports_only_the_layers_below_it(path):
    bad = _wrong_imports(path)
    layer = _layer(path)
    assert not bad, (
        f"{path.relative_to(PACKAGE)} ({layer}) imports {bad}; allowed: core, {sorted(ALLOWED[layer])}"
    )


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _layer(p) != "viz"],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_module_outside_viz_imports_plotting_libraries_at_module_level(path):
    bad = [m for m, top in _imports(path) if top and m.split(".")[0] in PLOTTING]
    assert not bad, (
        f"{path.relative_to(PACKAGE)} imports {bad} at module level; plotting lives in mupbook.viz"
    )


def test_top_level_holds_only_core_modules_and_subpackages():
    entries = {
        p.name
        for p in PACKAGE.iterdir()
        if not p.name.startswith(("__pycache__", "."))
    }
    dirs = {
        p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"
    }
    assert dirs == set(SUBPACKAGES), f"subpackages: {sorted(dirs)}"
    core = sorted(e for e in entries - dirs)
    assert core == sorted(CORE), f"top-level modules: {core}"


CORE = (
    "__init__.py",
    "_checks.py",
    "abc.py",
    "empirical.py",
    "fit.py",
    "kernels.py",
    "nn.py",
    "paper.py",
    "predict.py",
    "reproduction.py",
    "results.py",
    "runtime.py",
    "stats.py",
    "transformer.py",
)


def test_the_rule_catches_wrong_imports_in_a_fake_package(tmp_path):
    """The checker can fail: a core module importing a study (also lazily, inside a
    function), and a data module importing an experiment, are both caught."""
    pkg = tmp_path / "mupbook"
    (pkg / "studies").mkdir(parents=True)
    (pkg / "data").mkdir()
    (pkg / "core_mod.py").write_text("def f():\n    from .studies import movement\n")
    (pkg / "data" / "loader.py").write_text(
        "from ..experiments import maml\nfrom .. import runtime\n"
    )
    (pkg / "studies" / "ok.py").write_text(
        "from ..data import loader\nfrom .. import nn\n"
    )
    assert _wrong_imports(pkg / "core_mod.py", pkg) == ["mupbook.studies"]
    assert _wrong_imports(pkg / "data" / "loader.py", pkg) == ["mupbook.experiments"]
    assert _wrong_imports(pkg / "studies" / "ok.py", pkg) == []

"""``make colab-check``: every chapter under nbval (quick mode) with Colab's package versions.

    python tools/colab_check.py [--python python3.11] [--venv _build/colab-venv]

Builds a separate virtual environment, installs the CPU torch of ``requirements.txt``
(Colab keeps its own torch; mupbook's Colab cell never replaces it), then the versions of
``tools/colab_versions.txt`` as constraints, then ``pip install .`` as the chapters'
Colab cell does (nothing else of mupbook's pins), plus the test tools; then runs
``pytest --nbval-lax chapters/`` in quick mode, as ``make test`` does, so that the
chapters' own asserts decide. Prints the Python and package versions it ran with and how
long it took. Needs the network (PyPI) the first time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ROOT / "tools" / "colab_versions.txt"
TOOLS = [
    "pytest",
    "nbval",
    "nbclient",
    "nbformat",
    "ipykernel<7",
]  # ipykernel 7 needs IPython 8


def _run(cmd: list[str], **kw) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def torch_pin() -> str:
    """The torch requirement of requirements.txt (the local CPU wheel)."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if re.match(r"^torch==", line.strip()):
            return line.split(";")[0].strip()
    raise SystemExit("requirements.txt pins no torch")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--python",
        default="python3.11",
        help="the interpreter of the venv (Colab runs 3.12; this machine's torch wheel is 3.11)",
    )
    ap.add_argument("--venv", default=str(ROOT / "_build" / "colab-venv"))
    ap.add_argument(
        "chapters",
        nargs="*",
        help="chapter notebooks to run (default: every chapter), e.g. 05_nonlinear_limit",
    )
    args = ap.parse_args(argv)
    targets = [
        str(ROOT / "chapters" / (c if c.endswith(".ipynb") else f"{c}.ipynb"))
        for c in args.chapters
    ] or [str(ROOT / "chapters")]
    for t in targets:
        if not Path(t).exists():
            raise SystemExit(f"no chapter {t}; name one of chapters/*.ipynb")
    t0 = time.perf_counter()
    venv = Path(args.venv)
    py = venv / "bin" / "python"
    if not py.exists():
        _run([args.python, "-m", "venv", str(venv)])
    pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    _run(pip + [torch_pin()])
    _run(pip + ["-c", str(VERSIONS), "ipywidgets", "ipython", "numpy", "matplotlib"])
    _run(pip + ["-c", str(VERSIONS), str(ROOT)])  # as the chapters' Colab cell does
    _run(pip + ["-c", str(VERSIONS)] + TOOLS)
    versions = subprocess.run(
        [
            str(py),
            "-c",
            "import sys, torch, numpy, matplotlib, ipywidgets, IPython; "
            "print(f'Python {sys.version.split()[0]}, torch {torch.__version__}, numpy {numpy.__version__}, '"
            "f'matplotlib {matplotlib.__version__}, ipywidgets {ipywidgets.__version__}, IPython {IPython.__version__}')",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print("colab-check environment:", versions, flush=True)
    env = {**os.environ, "MUPBOOK_SCALE": "quick"}
    # Run from a copy-free folder outside the checkout's package: the installed mupbook is tested.
    code = subprocess.run(
        [
            str(py),
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            *targets,
        ],
        env=env,
        cwd=str(ROOT / "chapters"),
    ).returncode
    print(
        f"colab-check: {'passed' if code == 0 else 'FAILED'} in {time.perf_counter() - t0:.0f} s "
        f"({versions})",
        flush=True,
    )
    return code


if __name__ == "__main__":
    sys.exit(main())

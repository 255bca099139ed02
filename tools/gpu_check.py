"""``make gpu-check``: run every CUDA path of mupbook once, on a bare GPU machine, in five minutes.

    python3 tools/gpu_check.py              # on the GPU machine (no CUDA: says so, exits 0)
    python3 tools/gpu_check.py --dry-run    # every stage, its command and time limit; runs nothing
    python3 tools/gpu_check.py --bundle     # here: fill .gpu/ (wheels + offline data) to copy along

The GPU machine has python3 with torch (CUDA), numpy, matplotlib, pytest, pillow, tqdm,
pandas, scipy and pyyaml, but no Jupyter, IPython or ipywidgets and no network. So this
script needs nothing but the standard library and the source tree: it runs ``mupbook``
from the checkout (``PYTHONPATH``), installs the pure-Python wheels of ``.gpu/wheels/``
(IPython, ipywidgets and their dependencies, made by ``--bundle``) into a folder of its
own when ipywidgets is missing, reads the offline data from ``$MUPBOOK_DATA`` or
``.gpu/data/``, and executes the chapters itself (a notebook is JSON: code cells in
order, one namespace; see :func:`execute_notebook`).

Stages, each a subprocess with its own time limit, run ``--jobs`` at a time under one
total limit (``--total``, default 300 s); a stage still waiting when the total runs out
is reported as not run:

* ``pytest-cuda``: every test marked ``cuda`` (``tests/test_cuda.py``: CPU and CUDA agree
  within stated tolerances; the measured errors go into the table);
* one stage per chapter, quick mode, ``MUPBOOK_DEVICE=cuda``: its ``assert`` cells must hold;
* one short full-size run of each experiment's command line: MAML (the muP limit, the
  paper's configuration, 300 meta-steps, compared step by step with the recorded CPU run
  ``results/maml_limit.json``), Word2Vec (offline corpus, width 256, one epoch, compared
  with the same run on the CPU, run beside it), muTransfer (the full configuration at
  widths 128 and 8192, 200 steps). Their JSON goes to the stage folder, never to ``results/``.

The table (stage, what ran, device, seconds, result, agreement with the CPU) is written to
``$GPU_CHECK_OUT`` (default ``_build/gpu-check/``) as ``gpu-check.md`` and
``gpu-check.json``, with ``gpu-check-stages.tar.gz`` (every stage's log and JSON), all
three rewritten whenever a stage starts or ends, so that a stopped run still reports
what it did. The logs themselves are in ``$GPU_CHECK_STAGES`` (default
``_build/gpu-check-stages/``). Exit status: 0 when every stage passed (or there is no
CUDA), 1 otherwise.

``--device cpu`` (not in ``--help``) runs the same stages on the CPU, with the experiments
at CPU sizes: it tests this script, and the chapters without Jupyter, on a machine with
no GPU. ``--run-notebook PATH`` is the chapter executor that the chapter stages call.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import linecache
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / ".gpu"
WHEELS = BUNDLE / "wheels"
BUNDLE_DATA = BUNDLE / "data"
DEFAULT_OUT = ROOT / "_build" / "gpu-check"
DEFAULT_STAGES = ROOT / "_build" / "gpu-check-stages"
SITE = ROOT / "_build" / "gpu-check-site"  # where the bundled wheels are installed
TOTAL_S = 300
#: --device cpu multiplies every stage's limit by this (CPU sizes, but a 2-core CPU)
CPU_LIMIT_FACTOR = 5
#: The most a copy to the GPU machine may weigh (working tree + carried folders), and the bundle.
TRAVEL_LIMIT_MIB = 64
BUNDLE_LIMIT_MIB = 40

#: Pure-Python packages that the chapters need and the GPU machine lacks: ipywidgets (the
#: explorers) and IPython (``IPython.display``), with every dependency of theirs that is not
#: there either (pygments, psutil and typing_extensions are). Versions: requirements.txt's
#: pins for Python 3.12, so the GPU machine runs what CI runs. ipywidgets' front-end
#: packages (widgetsnbextension, jupyterlab_widgets: 3 MB of JavaScript) are left out: no
#: browser there, and Python never imports them.
BUNDLE_PACKAGES = (
    "ipywidgets",
    "comm",
    "traitlets",
    "ipython",
    "ipython-pygments-lexers",
    "jedi",
    "parso",
    "matplotlib-inline",
    "pexpect",
    "ptyprocess",
    "prompt-toolkit",
    "wcwidth",
    "stack-data",
    "executing",
    "asttokens",
    "pure-eval",
)
BUNDLE_PYTHON = (3, 12)
#: Modules every stage needs on the machine; the environment stage checks them.
NEEDED_MODULES = (
    "torch",
    "numpy",
    "matplotlib",
    "PIL",
    "tqdm",
    "pytest",
    "hypothesis",
    "IPython",
    "ipywidgets",
)

#: The chapters that take longest on a CPU (kernel regression, muTransfer sweeps): they start
#: first and get 240 s instead of 180.
HEAVY_CHAPTERS = ("02", "05")
#: The library's command lines this script runs (its only knowledge of mupbook's layout).
MAML_CLI = "mupbook.experiments.maml"
WORD2VEC_CLI = "mupbook.experiments.word2vec"
MUTRANSFER_CLI = "mupbook.experiments.mutransfer"
RECORDED_MAML = ROOT / "results" / "maml_limit.json"

# Tolerances of the experiments' comparisons with the CPU (tests/test_cuda.py states its own).
#: MAML, float64: per-step query losses of the same 300 meta-steps (relative) and validation
#: accuracies (percentage points). Rounding differs between the devices (other reduction
#: orders, ~1e-16 a step), and clipped meta-SGD does not amplify it: a 1e-15 relative
#: perturbation of the initial weights is still 4e-16 after 300 steps (measured on a CPU,
#: which reproduces the recorded run to 2e-16). One flipped prediction of the 24,000
#: queries of a validation moves it by 0.004 points.
MAML_LOSS_RTOL = 1e-10
MAML_ACC_ATOL = 0.1
#: Word2Vec, float32 tables: CPU and CUDA see the same batches and negatives (drawn on the
#: CPU) but add the updates of a batch in another order (CUDA's atomic index_add_): float32
#: rounding (6e-8) at every one of ~10^4 steps. SGD damps it: a 1e-7 relative perturbation
#: of the initial embeddings moves the epoch's mean loss by 5e-9 (measured, quick corpus).
#: Mean loss per epoch within 1e-4 (relative); analogy accuracy within 1 point (questions
#: whose two best candidates are within rounding of each other may flip).
W2V_LOSS_RTOL = 1e-4
W2V_ACC_ATOL = 1.0


# ============================================================================ stages


@dataclass
class Stage:
    """One step of the check: a command with a time limit, and what became of it."""

    name: str
    what: str
    argv: list[str]  # "{python}" stands for the interpreter running this script
    limit: int  # seconds
    device: str
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)
    #: compares the outputs with the CPU once the stages named in ``needs`` have ended:
    #: ``compare(stage, stages_by_name) -> list of comparison dicts``
    compare: Callable[[Stage, dict[str, Stage]], list[dict]] | None = None
    needs: tuple[str, ...] = ()
    priority: int = 0  # longer stages start first when several run at once
    # results
    status: str = (
        "waiting"  # waiting, running, passed, failed, timeout, not run, skipped
    )
    seconds: float | None = None
    returncode: int | None = None
    note: str = ""
    tail: str = ""
    comparisons: list[dict] = field(default_factory=list)
    compared: bool = False
    log: Path | None = None

    def command(self, python: str = "python3") -> list[str]:
        return [python if a == "{python}" else a for a in self.argv]

    def row(self) -> dict:
        return {
            "stage": self.name,
            "what": self.what,
            "command": " ".join(self.command()),
            "cwd": os.path.relpath(self.cwd, ROOT),
            "device": self.device,
            "limit_s": self.limit,
            "seconds": None if self.seconds is None else round(self.seconds, 1),
            "status": self.status,
            "returncode": self.returncode,
            "agreement": agreement_text(self),
            "comparisons": self.comparisons,
            "note": self.note,
            "log": None if self.log is None else self.log.name,
            "tail": self.tail,
        }


def _show_path(path: Path) -> str:
    """``path`` relative to the repository when inside it (commands run from its root)."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _output(stage: Stage) -> Path:
    """The file a stage's command writes (its ``--out``)."""
    return ROOT / stage.argv[stage.argv.index("--out") + 1]


def chapters() -> list[Path]:
    return sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def cuda_test_files() -> list[str]:
    """Test files holding tests marked ``cuda`` (only those are collected: the others may
    import packages the GPU machine lacks)."""
    return sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "tests").glob("test_*.py")
        if "mark.cuda" in p.read_text(encoding="utf-8")
    )


def plan(device: str, stages_dir: Path, threads: int) -> list[Stage]:
    """Every stage, in table order, for ``device`` (``cuda`` or, for testing, ``cpu``)."""
    on_gpu = device != "cpu"
    out = lambda name: _show_path(stages_dir / name)  # noqa: E731
    quick = {"MUPBOOK_SCALE": "quick", "MUPBOOK_DEVICE": device}
    stages = [
        Stage(
            "pytest-cuda",
            "tests marked cuda: CPU and CUDA agree within stated tolerances",
            [
                "{python}",
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-ra",
                "-m",
                "cuda",
                f"--junitxml={out('pytest-cuda.xml')}",
                *(cuda_test_files() or ["tests/test_cuda.py"]),
            ],
            120,
            device,
            env={
                **quick,
                "GPU_CHECK_DEVICE": device,
                "GPU_CHECK_AGREEMENT": out("agreement.jsonl"),
            },
            compare=compare_pytest,
            priority=3,
        )
    ]
    for nb in chapters():
        heavy = nb.name[:2] in HEAVY_CHAPTERS
        stages.append(
            Stage(
                f"chapter {nb.stem}",
                f"{nb.name}: every code cell, quick mode",
                [
                    "{python}",
                    str(Path("..") / "tools" / Path(__file__).name),
                    "--run-notebook",
                    nb.name,
                ],
                240 if heavy else 180,
                device,
                cwd=nb.parent,
                env=quick,
                priority=6 if heavy else 2,
            )
        )
    if on_gpu:
        maml = ["--steps", "300"]
        w2v = ["--widths", "256", "--epochs", "1"]
        # a sweep needs two widths: the base width (cheap) and the largest of the full configuration
        mut = ["--widths", "128", "8192", "--seeds", "0", "--steps", "200"]
        mut_what = "muTransfer, full configuration at widths 128 and 8192, one seed, 200 steps"
    else:  # CPU sizes: the commands and comparisons work; the numbers are not the point
        maml = ["--steps", "300"]
        w2v = ["--widths", "256", "--epochs", "1"]
        mut = ["--widths", "128", "256", "--seeds", "0", "--steps", "20"]
        mut_what = "muTransfer, full configuration at widths 128 and 256, one seed, 20 steps (CPU size)"
    stages.append(
        Stage(
            "maml",
            "MAML, muP limit, the paper's configuration, 300 meta-steps (float64)",
            [
                "{python}",
                "-m",
                MAML_CLI,
                "--model",
                "limit",
                "--scale",
                "full",
                *maml,
                "--device",
                device,
                "--threads",
                str(threads),
                "--no-progress",
                "--out",
                out("maml_limit.json"),
            ],
            240,
            device,
            compare=compare_maml,
            priority=8,
        )
    )
    stages.append(
        Stage(
            "word2vec",
            "Word2Vec, offline corpus, width 256 + muP and NTK limits, one epoch",
            [
                "{python}",
                "-m",
                WORD2VEC_CLI,
                "--config",
                "offline",
                *w2v,
                "--device",
                device,
                "--threads",
                str(threads),
                "--no-progress",
                "--out",
                out("word2vec.json"),
            ],
            240,
            device,
            compare=compare_word2vec if on_gpu else None,
            needs=("word2vec-cpu",) if on_gpu else (),
            priority=8,
        )
    )
    if on_gpu:
        stages.append(
            Stage(
                "word2vec-cpu",
                "the same Word2Vec run on the CPU (reference for the comparison)",
                [
                    "{python}",
                    "-m",
                    WORD2VEC_CLI,
                    "--config",
                    "offline",
                    *w2v,
                    "--device",
                    "cpu",
                    "--threads",
                    str(threads),
                    "--no-progress",
                    "--out",
                    out("word2vec-cpu.json"),
                ],
                240,
                "cpu",
                priority=9,
            )
        )
    stages.append(
        Stage(
            "mutransfer",
            mut_what,
            [
                "{python}",
                "-m",
                MUTRANSFER_CLI,
                "--scale",
                "full",
                *mut,
                "--device",
                device,
                "--no-progress",
                "--out",
                out("mutransfer.json"),
            ],
            240,
            device,
            priority=7,
        )
    )
    if not on_gpu:  # a test of the check on a (shared, slow) CPU: generous limits
        for s in stages:
            s.limit *= CPU_LIMIT_FACTOR
    return stages


# ======================================================================== comparisons


def _comparison(
    what: str, measured: float, tolerance: float, unit: str = "relative"
) -> dict:
    ok = measured == measured and measured <= tolerance  # NaN fails
    return {
        "what": what,
        "measured": measured,
        "tolerance": tolerance,
        "unit": unit,
        "ok": bool(ok),
    }


def _max_rel(a: list[float], b: list[float]) -> float:
    """Largest relative difference; NaN (a failure) when the lengths differ."""
    if len(a) != len(b):
        return float("nan")
    if not a:
        return 0.0
    return max(abs(x - y) / max(abs(y), 1e-300) for x, y in zip(a, b))


def _max_abs(a: list[float], b: list[float]) -> float:
    if len(a) != len(b):
        return float("nan")
    if not a:
        return 0.0
    return max(abs(x - y) for x, y in zip(a, b))


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def compare_maml(stage: Stage, stages: dict[str, Stage]) -> list[dict]:
    """The run's losses and validation accuracies against the recorded CPU run of the same
    configuration (its first steps): results/maml_limit.json."""
    run = _load(_output(stage))["runs"][0]
    rec = _load(RECORDED_MAML)["runs"][0]
    mine, theirs = dict(run["config"]), dict(rec["config"])
    mine.pop("steps"), theirs.pop("steps")
    if mine != theirs:
        diff = sorted(k for k in mine if mine.get(k) != theirs.get(k))
        return [
            {
                "what": f"configuration differs from {RECORDED_MAML.name} in {diff}",
                "measured": float("nan"),
                "tolerance": 0.0,
                "unit": "",
                "ok": False,
            }
        ]
    steps = len(run["history"]["loss"])
    n_val = len(run["history"]["val_acc"])
    rel = os.path.relpath(RECORDED_MAML, ROOT)
    return [
        _comparison(
            f"query loss of meta-steps 1..{steps} vs {rel} (CPU)",
            _max_rel(run["history"]["loss"], rec["history"]["loss"][:steps]),
            MAML_LOSS_RTOL,
        ),
        _comparison(
            f"validation accuracy at steps {run['history']['val_steps']} vs {rel} (CPU)",
            _max_abs(run["history"]["val_acc"], rec["history"]["val_acc"][:n_val]),
            MAML_ACC_ATOL,
            "points",
        ),
    ]


def compare_word2vec(stage: Stage, stages: dict[str, Stage]) -> list[dict]:
    """Every model's per-epoch loss and analogy accuracy against the CPU run beside it."""
    ref = stages["word2vec-cpu"]
    if ref.status != "passed":
        return [
            {
                "what": f"no CPU reference (word2vec-cpu: {ref.status})",
                "measured": float("nan"),
                "tolerance": 0.0,
                "unit": "",
                "ok": False,
            }
        ]
    gpu = _load(_output(stage))["models"]
    cpu = _load(_output(ref))["models"]
    out = []
    for key in sorted(set(gpu) | set(cpu)):
        if key not in gpu or key not in cpu:
            out.append(
                {
                    "what": f"model {key} in one run only",
                    "measured": float("nan"),
                    "tolerance": 0.0,
                    "unit": "",
                    "ok": False,
                }
            )
            continue
        g, c = gpu[key], cpu[key]
        out.append(
            _comparison(
                f"{key}: mean loss per epoch",
                _max_rel(g["losses"], c["losses"]),
                W2V_LOSS_RTOL,
            )
        )
        out.append(
            _comparison(
                f"{key}: analogy accuracy",
                abs(g["accuracy"] - c["accuracy"]),
                W2V_ACC_ATOL,
                "points",
            )
        )
    return out


def compare_pytest(stage: Stage, stages: dict[str, Stage]) -> list[dict]:
    """The comparisons tests/test_cuda.py recorded (one JSON object a line)."""
    path = ROOT / stage.env["GPU_CHECK_AGREEMENT"]
    if not path.is_file():
        return []
    rows = [
        json.loads(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [
        {
            "what": r["what"],
            "measured": r["measured"],
            "tolerance": r["tolerance"],
            "unit": r.get("unit", "relative"),
            "ok": bool(r["ok"]),
        }
        for r in rows
    ]


def agreement_text(stage: Stage) -> str:
    if not stage.comparisons:
        return "" if stage.compare is None else ("-" if stage.compared else "pending")
    bad = [c for c in stage.comparisons if not c["ok"]]
    worst = bad[0] if bad else max(stage.comparisons, key=lambda c: _ratio(c))
    head = f"{len(stage.comparisons) - len(bad)}/{len(stage.comparisons)} within tolerance"
    return f"{head}; {'FAILED' if bad else 'closest to its limit'}: {_fmt_comparison(worst)}"


def _ratio(c: dict) -> float:
    m, t = c["measured"], c["tolerance"]
    return (
        float("inf")
        if m != m
        else (m / t if t else (0.0 if m == 0 else float("inf")))
    )


def _fmt_comparison(c: dict) -> str:
    unit = "" if c["unit"] in ("relative", "") else f" {c['unit']}"
    return (
        f"{c['what']}: {c['measured']:.2g}{unit} (limit {c['tolerance']:.0e}{unit})"
    )


# ============================================================================ runner


class Runner:
    """Runs the stages ``jobs`` at a time under one total time limit; writes the table."""

    def __init__(
        self,
        stages: list[Stage],
        *,
        out: Path,
        stages_dir: Path,
        env: dict[str, str],
        jobs: int,
        total: float,
        header: dict,
    ) -> None:
        self.stages, self.by_name = stages, {s.name: s for s in stages}
        self.out, self.stages_dir, self.env, self.jobs, self.total = (
            out,
            stages_dir,
            env,
            jobs,
            total,
        )
        self.header = header
        self.start = time.monotonic()
        self.lock = threading.RLock()  # one writer of the table at a time
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopping = False

    # ------------------------------------------------------------------ running

    def run(self) -> bool:
        order = sorted(
            (s for s in self.stages if s.status == "waiting"),
            key=lambda s: -s.priority,
        )
        self.write()
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = [pool.submit(self._run_one, s) for s in order]
            try:
                for f in futures:
                    f.result()
            except BaseException:
                self.stopping = True
                self.kill_all()
                with self.lock:
                    for s in self.stages:
                        if s.status in ("waiting", "running"):
                            s.status = (
                                "not run" if s.status == "waiting" else "stopped"
                            )
                            s.note = "the check was stopped"
                    self.write()
                raise
        for s in self.stages:
            self._compare_if_ready(s)
        self.write()
        return all(s.status in ("passed", "skipped") for s in self.stages)

    def remaining(self) -> float:
        return self.total - (time.monotonic() - self.start)

    def _run_one(self, stage: Stage) -> None:
        try:
            self._run(stage)
        except Exception as err:  # the runner's own trouble (a log it cannot write, ...): that stage fails
            with self.lock:
                stage.status, stage.note = (
                    "failed",
                    f"gpu-check could not run it: {type(err).__name__}: {err}",
                )
                self.write()

    def _run(self, stage: Stage) -> None:
        if self.stopping:
            return
        limit = min(stage.limit, self.remaining())
        if self.remaining() < 5:
            with self.lock:
                stage.status, stage.note = (
                    "not run",
                    f"the total limit of {self.total:.0f} s was reached",
                )
                self.write()
            return
        stage.log = self.stages_dir / (re.sub(r"[^\w.-]+", "_", stage.name) + ".log")
        env = {**self.env, **stage.env}
        with self.lock:
            stage.status = "running"
            self.write()
        t0 = time.monotonic()
        with open(stage.log, "wb") as log:
            log.write(
                f"$ (cd {os.path.relpath(stage.cwd, ROOT)}; {' '.join(stage.command())})\n".encode()
            )
            log.flush()
            kwargs = (
                {"process_group": 0}
                if sys.version_info >= (3, 11)
                else {"preexec_fn": os.setpgrp}
            )
            proc = subprocess.Popen(
                stage.command(sys.executable),
                cwd=stage.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                **kwargs,
            )
            self.procs[stage.name] = proc
            try:
                rc = proc.wait(timeout=limit)
                timed_out = False
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                rc, timed_out = proc.returncode, True
            finally:
                self.procs.pop(stage.name, None)
        with self.lock:
            stage.seconds, stage.returncode = time.monotonic() - t0, rc
            stage.tail = _tail(stage.log)
            if self.stopping:
                stage.status, stage.note = "stopped", "the check was stopped"
            elif timed_out:
                stage.status = "timeout"
                stage.note = (
                    f"stopped at its time limit of {limit:.0f} s"
                    + (" (what was left of the total)" if limit < stage.limit else "")
                    + _running_cell(stage.log)
                )
            else:
                stage.status = "passed" if rc == 0 else "failed"
                stage.note = "" if rc == 0 else _failure_line(stage.tail)
            for s in self.stages:
                self._compare_if_ready(s)
            self.write()

    def _compare_if_ready(self, stage: Stage) -> None:
        if stage.compare is None or stage.compared or stage.status != "passed":
            return
        if any(
            self.by_name[n].status in ("waiting", "running")
            for n in stage.needs
            if n in self.by_name
        ):
            return
        stage.compared = True
        try:
            stage.comparisons = stage.compare(stage, self.by_name)
        except (
            Exception
        ) as err:  # a comparison that cannot be made is a failure of the stage
            stage.comparisons = [
                {
                    "what": f"comparison failed: {type(err).__name__}: {err}",
                    "measured": float("nan"),
                    "tolerance": 0.0,
                    "unit": "",
                    "ok": False,
                }
            ]
        if any(not c["ok"] for c in stage.comparisons):
            stage.status = "failed"
            stage.note = "disagrees with the CPU: " + "; ".join(
                _fmt_comparison(c) for c in stage.comparisons if not c["ok"]
            )

    def kill_all(self) -> None:
        for proc in list(self.procs.values()):
            _kill_group(proc)

    # ------------------------------------------------------------------ the table

    def document(self) -> dict:
        done = [s for s in self.stages if s.status not in ("waiting", "running")]
        return {
            **self.header,
            "elapsed_s": round(time.monotonic() - self.start, 1),
            "total_limit_s": self.total,
            "finished": len(done) == len(self.stages) and not self.stopping,
            "stopped": self.stopping,
            "passed": sum(s.status == "passed" for s in self.stages),
            "failed": sum(
                s.status in ("failed", "timeout", "stopped") for s in self.stages
            ),
            "stages": [s.row() for s in self.stages],
        }

    def write(self) -> None:
        """Rewrite gpu-check.json, gpu-check.md and the stages' archive (atomically)."""
        with self.lock:
            self._write()

    def _write(self) -> None:
        doc = self.document()
        self.out.mkdir(parents=True, exist_ok=True)
        _atomic_write(
            self.out / "gpu-check.json", json.dumps(doc, indent=1, default=str) + "\n"
        )
        _atomic_write(self.out / "gpu-check.md", markdown(doc))
        tmp = self.out / "gpu-check-stages.tar.gz.tmp"
        try:
            with tarfile.open(tmp, "w:gz") as tar:
                for p in sorted(self.stages_dir.iterdir()):
                    if p.is_file():
                        tar.add(p, arcname=f"gpu-check-stages/{p.name}")
            os.replace(tmp, self.out / "gpu-check-stages.tar.gz")
        except OSError:
            pass  # a log being written meanwhile: the next rewrite has it


def _kill_group(proc: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, chars: int = 4000) -> str:
    data = path.read_bytes()[-chars:].decode("utf-8", "replace")
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", data)


def _running_cell(log: Path) -> str:
    """For a chapter stopped at its limit: ``" in cell N ('first line')"``, from the executor's log."""
    started = {}
    for line in (
        log.read_text(encoding="utf-8", errors="replace")
        .replace("\r", "\n")
        .splitlines()
    ):
        m = re.match(r"^\[(\d+)\] (.*)$", line)
        if m and not m.group(2).startswith(("ok,", "-> ", "skipped", "raised")):
            started[m.group(1)] = m.group(2)
        elif m and m.group(2).startswith("ok,"):
            started.pop(m.group(1), None)
    if not started:
        return ""
    cell, first = list(started.items())[-1]
    return f", in cell {cell} ({first.strip()[:60]!r})"


def _failure_line(tail: str) -> str:
    """The line that says why a stage failed: the executor's verdict, an exception, pytest's summary."""
    lines = [ln.strip() for ln in tail.replace("\r", "\n").splitlines() if ln.strip()]
    for pattern in (
        r"^CHAPTER FAILED",
        r"^FAILED ",
        r"^(\w+\.)*\w*(Error|Exception|Interrupt)\b",
        r"^E\s+",
    ):
        hits = [ln for ln in lines if re.search(pattern, ln)]
        if hits:
            return hits[-1][:500]
    return (lines[-1] if lines else "no output")[:500]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def markdown(doc: dict) -> str:
    h = {
        "date_utc": "?",
        "jobs": "?",
        "device_name": "?",
        "python": "?",
        "torch": "?",
        "git_revision": "?",
        "data": "?",
        **doc,
    }
    state = (
        "STOPPED"
        if h.get("stopped")
        else "finished"
        if h["finished"]
        else "IN PROGRESS (or killed)"
    )
    lines = [
        "# gpu-check",
        "",
        f"{h['date_utc']} · {state} after {h['elapsed_s']} s (total limit {h['total_limit_s']:.0f} s, "
        f"stages at a time: {h['jobs']}) · {h['passed']} passed, {h['failed']} failed of {len(h['stages'])}",
        "",
        f"device: {h['device_name']} · python {h['python']} · torch {h['torch']} · "
        f"git {h['git_revision']} · data: {h['data']}",
        "",
        "| # | stage | what ran | device | limit (s) | seconds | result | agreement with the CPU |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, s in enumerate(h["stages"], 1):
        secs = "" if s["seconds"] is None else f"{s['seconds']:.1f}"
        result = s["status"] if s["status"] != "passed" else "pass"
        if s["status"] in ("failed", "timeout", "stopped", "not run") and s["note"]:
            result = f"**{s['status'].upper()}**: {s['note']}"
        cells = [
            str(i),
            s["stage"],
            s["what"],
            s["device"],
            str(s["limit_s"]),
            secs,
            result,
            s["agreement"],
        ]
        lines.append(
            "| "
            + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells)
            + " |"
        )
    comps = [(s["stage"], c) for s in h["stages"] for c in s["comparisons"]]
    if comps:
        lines += [
            "",
            "## Agreement with the CPU",
            "",
            "| stage | quantity | measured | tolerance | ok |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, c in comps:
            unit = "" if c["unit"] in ("relative", "") else f" {c['unit']}"
            lines.append(
                f"| {name} | {c['what']} | {c['measured']:.3g}{unit} | {c['tolerance']:.0e}{unit} | "
                f"{'yes' if c['ok'] else '**NO**'} |".replace("\n", " ")
            )
    bad = [s for s in h["stages"] if s["status"] in ("failed", "timeout", "stopped")]
    if bad:
        lines += [
            "",
            "## Failures (end of each log; full logs in gpu-check-stages.tar.gz)",
        ]
        for s in bad:
            lines += [
                "",
                f"### {s['stage']}: {s['status']}",
                "",
                f"`{s['command']}` (in `{s['cwd']}`)",
                "",
                "```",
                s["tail"][-2500:].rstrip(),
                "```",
            ]
    lines += ["", "## Commands", ""]
    lines += [
        f"- {s['stage']} (in `{s['cwd']}`, limit {s['limit_s']} s): `{s['command']}`"
        for s in h["stages"]
    ]
    return "\n".join(lines) + "\n"


# ======================================================================= environment


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return (rev + ("+dirty" if dirty else "")) if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"


def data_folder() -> Path | None:
    """``$MUPBOOK_DATA`` if set, else the bundle's ``.gpu/data`` if it is there."""
    raw = os.environ.get("MUPBOOK_DATA", "").strip()
    if raw:
        return Path(raw).expanduser().resolve()
    return BUNDLE_DATA if (BUNDLE_DATA / "omniglot").is_dir() else None


def missing_modules(
    python: str, env: dict[str, str], modules: tuple[str, ...] = NEEDED_MODULES
) -> list[str]:
    code = (
        "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] "
        "if importlib.util.find_spec(m) is None))"
    )
    res = subprocess.run(
        [python, "-c", code, *modules],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return res.stdout.split()


def install_bundle(env: dict[str, str]) -> tuple[bool, str]:
    """Install .gpu/wheels into SITE (once) when ipywidgets or IPython is missing."""
    need = missing_modules(sys.executable, env, ("IPython", "ipywidgets"))
    if not need:
        return True, "IPython and ipywidgets are installed: no wheel needed"
    if SITE.is_dir() and not missing_modules(
        sys.executable, {**env, "PYTHONPATH": str(SITE)}, ("IPython", "ipywidgets")
    ):
        return (
            True,
            f"IPython and ipywidgets already installed in {os.path.relpath(SITE, ROOT)}",
        )
    wheels = sorted(WHEELS.glob("*.whl"))
    if not wheels:
        return False, (
            f"{' and '.join(need)} missing and no wheels in {os.path.relpath(WHEELS, ROOT)}: "
            "run `make gpu-bundle` and copy .gpu/ along"
        )
    shutil.rmtree(SITE, ignore_errors=True)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--no-compile",
            "--disable-pip-version-check",
            "--target",
            str(SITE),
            *map(str, wheels),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if res.returncode != 0:
        return (
            False,
            f"pip install of {len(wheels)} wheels failed: {(res.stderr or res.stdout).strip()[-800:]}",
        )
    return (
        True,
        f"installed {len(wheels)} wheels from {os.path.relpath(WHEELS, ROOT)} into {os.path.relpath(SITE, ROOT)}",
    )


def describe_device(device: str) -> dict:
    import torch

    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
    }
    if device == "cpu":
        info["device_name"] = f"CPU ({os.cpu_count()} cores)"
    else:
        p = torch.cuda.get_device_properties(0)
        info["device_name"] = (
            f"{p.name} ({p.total_memory / 2**30:.0f} GiB, capability {p.major}.{p.minor}), "
            f"CUDA {torch.version.cuda}, {os.cpu_count()} CPU cores"
        )
    return info


# =========================================================================== the check


def default_jobs() -> int:
    return max(1, min(4, (os.cpu_count() or 1) // 4))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python3 tools/gpu_check.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--dry-run",
        action="store_true",
        help="list every stage, its command and time limit; run nothing",
    )
    ap.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only the stages whose name contains one of these",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="stages at a time (default: %(default)s)",
    )
    ap.add_argument(
        "--total",
        type=float,
        default=None,
        help=f"total time limit in seconds (default: {TOTAL_S})",
    )
    ap.add_argument(
        "--bundle",
        action="store_true",
        help="fill .gpu/ here (wheels + offline data) and measure it",
    )
    ap.add_argument(
        "--device", default="cuda", help=argparse.SUPPRESS
    )  # cpu: test the check without a GPU
    ap.add_argument(
        "--run-notebook", metavar="PATH", help=argparse.SUPPRESS
    )  # the chapter stages' executor
    args = ap.parse_args(argv)

    if args.run_notebook:
        return execute_notebook(Path(args.run_notebook))
    if args.bundle:
        return make_bundle()
    if args.device not in ("cuda", "cpu") and not args.device.startswith("cuda:"):
        ap.error(f"--device must be cuda, cuda:N or cpu, got {args.device!r}")
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    if args.total is None:
        args.total = TOTAL_S * (CPU_LIMIT_FACTOR if args.device == "cpu" else 1)

    out = Path(os.environ.get("GPU_CHECK_OUT") or DEFAULT_OUT).resolve()
    stages_dir = Path(os.environ.get("GPU_CHECK_STAGES") or DEFAULT_STAGES).resolve()
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    stages = plan(args.device, stages_dir, threads)
    if args.only:
        stages = [s for s in stages if any(k in s.name for k in args.only)]
        names = {s.name for s in stages}
        for s in stages:  # a comparison's reference comes along
            if s.compare is not None:
                stages += [
                    r
                    for r in plan(args.device, stages_dir, threads)
                    if r.name in s.needs and r.name not in names
                ]
    if args.dry_run:
        return dry_run(stages, args, out, stages_dir)

    if args.device != "cpu":
        try:
            import torch
        except ImportError:
            print(
                "gpu-check: torch is not installed here, so there is no CUDA: nothing to check."
            )
            return 0
        if not torch.cuda.is_available():
            print(
                "gpu-check: CUDA is not available on this machine: nothing to check, nothing run. "
                "Run it on a GPU machine (see README.md, 'On a GPU machine')."
            )
            return 0

    stages_dir.mkdir(parents=True, exist_ok=True)
    for p in (
        stages_dir.iterdir()
    ):  # a rerun of some stages (--only) keeps the others' logs
        if p.is_file() and not args.only:
            p.unlink()
    env = dict(os.environ)
    data = data_folder()
    if data is not None:
        env["MUPBOOK_DATA"] = str(data)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "TQDM_MININTERVAL": "10",
        }
    )
    t0 = time.monotonic()
    setup = [
        Stage(
            "bundle",
            "IPython and ipywidgets from .gpu/wheels, when missing",
            [
                "{python}",
                "-m",
                "pip",
                "install",
                "-q",
                "--no-index",
                "--no-deps",
                "--target",
                os.path.relpath(SITE, ROOT),
                ".gpu/wheels/*.whl",
            ],
            180,
            "-",
        ),
        Stage(
            "environment",
            "python, torch, CUDA, the modules and data the stages need",
            ["(in this process)"],
            60,
            args.device,
        ),
    ]
    ok, note = install_bundle(env)
    setup[0].status, setup[0].note, setup[0].seconds = (
        ("passed" if ok else "failed"),
        note,
        time.monotonic() - t0,
    )
    paths = [
        str(ROOT),
        *([str(SITE)] if SITE.is_dir() else []),
        env.get("PYTHONPATH", ""),
    ]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    t1 = time.monotonic()
    missing = missing_modules(sys.executable, env)
    notes = []
    if missing:
        notes.append(f"missing modules: {', '.join(missing)}")
    if data is None:
        notes.append(
            "no offline data: set MUPBOOK_DATA or copy .gpu/data (make gpu-bundle)"
        )
    info = describe_device(args.device)
    setup[1].status = "failed" if notes else "passed"
    where = (
        ""
        if data is None
        else (os.path.relpath(data, ROOT) if data.is_relative_to(ROOT) else str(data))
    )
    setup[1].note = (
        "; ".join(notes) or f"{', '.join(NEEDED_MODULES)} import; data in {where}"
    )
    setup[1].seconds = time.monotonic() - t1
    header = {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "data": str(data),
        "jobs": args.jobs,
        "threads_per_stage": threads,
        "device": args.device,
        **info,
    }
    runner = Runner(
        setup + stages,
        out=out,
        stages_dir=stages_dir,
        env=env,
        jobs=args.jobs,
        total=args.total,
        header=header,
    )
    runner.start = t0
    print(
        f"gpu-check: {len(stages)} stages on {info['device_name']}, {args.jobs} at a time, total limit "
        f"{args.total:.0f} s; table in {out}",
        flush=True,
    )

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    try:
        ok = runner.run()
    except KeyboardInterrupt:
        print("gpu-check: stopped; the table says what ran", file=sys.stderr)
        return 130
    doc = runner.document()
    for s in doc["stages"]:
        secs = "" if s["seconds"] is None else f"{s['seconds']:6.1f} s"
        print(
            f"  {s['status']:8s} {secs:>9s}  {s['stage']}"
            + (f"  -- {s['note']}" if s["status"] != "passed" and s["note"] else "")
            + (f"  [{s['agreement']}]" if s["agreement"] else "")
        )
    print(
        f"gpu-check: {doc['passed']} passed, {doc['failed']} failed in {doc['elapsed_s']} s; "
        f"table: {out / 'gpu-check.md'}"
    )
    return 0 if ok else 1


def dry_run(stages: list[Stage], args, out: Path, stages_dir: Path) -> int:
    print(
        f"gpu-check --dry-run: {len(stages)} stages on {args.device}, {args.jobs} at a time, total limit "
        f"{args.total:.0f} s"
    )
    print(
        f"  before them: install .gpu/wheels/*.whl ({len(list(WHEELS.glob('*.whl')))} here) into "
        f"{os.path.relpath(SITE, ROOT)} if IPython or ipywidgets is missing; data: "
        f"{_show_path(data_folder()) if data_folder() else 'none found (MUPBOOK_DATA or .gpu/data)'}"
    )
    for i, s in enumerate(stages, 1):
        command = " ".join([*(f"{k}={v}" for k, v in s.env.items()), *s.command()])
        print(f"{i:3d}. {s.name}  [{s.device}, limit {s.limit} s]  {s.what}")
        print(f"       (cd {os.path.relpath(s.cwd, ROOT)}; {command})")
        if s.compare is not None:
            doc = " ".join((s.compare.__doc__ or "").split("\n\n")[0].split())
            print(f"       compared with the CPU: {doc}")
    print(
        f"table: {_show_path(out)}/gpu-check.md, gpu-check.json, gpu-check-stages.tar.gz; "
        f"logs: {_show_path(stages_dir)}/"
    )
    return 0


# ============================================================================ bundle


def bundle_pins(
    requirements: Path = ROOT / "requirements.txt",
    python: tuple[int, int] = BUNDLE_PYTHON,
) -> list[str]:
    """``name==version`` of :data:`BUNDLE_PACKAGES` as requirements.txt pins them for ``python``."""
    norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()  # noqa: E731
    pins: dict[str, str] = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)==([^\s;]+)\s*(?:;\s*(.*))?$", line)
        if not m or norm(m.group(1)) not in map(norm, BUNDLE_PACKAGES):
            continue
        marker = m.group(3)
        if marker:
            mm = re.fullmatch(
                r'python_version\s*(>=|<=|<|>|==)\s*"(\d+)\.(\d+)"', marker.strip()
            )
            if not mm:
                raise ValueError(
                    f"requirements.txt: cannot read the marker of {line!r}"
                )
            ver = (int(mm.group(2)), int(mm.group(3)))
            if not {
                ">=": python >= ver,
                "<=": python <= ver,
                "<": python < ver,
                ">": python > ver,
                "==": python == ver,
            }[mm.group(1)]:
                continue
        pins[norm(m.group(1))] = f"{m.group(1)}=={m.group(2)}"
    missing = [p for p in BUNDLE_PACKAGES if norm(p) not in pins]
    if missing:
        raise ValueError(
            f"requirements.txt pins no version of {missing} for Python {python[0]}.{python[1]}"
        )
    return [pins[norm(p)] for p in BUNDLE_PACKAGES]


def _mib(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def working_tree_mib() -> float | None:
    """What the device tool sends besides carried folders: tracked and untracked-not-ignored files."""
    try:
        res = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    files = [ROOT / f for f in res.stdout.decode().split("\0") if f]
    return sum(f.stat().st_size for f in files if f.is_file()) / 2**20


def make_bundle() -> int:
    """Fill .gpu/wheels (pip download, for CPython 3.12 on x86-64) and .gpu/data (a copy of
    $MUPBOOK_DATA, else ../shared/data), then print their sizes against the 64 MiB limit."""
    src = Path(
        os.environ.get("MUPBOOK_DATA") or ROOT.parent / "shared" / "data"
    ).expanduser()
    if not (src / "omniglot").is_dir() or not (src / "text").is_dir():
        print(
            f"gpu-bundle: no offline data in {src} (needs omniglot/ and text/): set MUPBOOK_DATA",
            file=sys.stderr,
        )
        return 2
    pins = bundle_pins()
    shutil.rmtree(WHEELS, ignore_errors=True)
    WHEELS.mkdir(parents=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "-q",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.12",
        "--implementation",
        "cp",
        "--platform",
        "manylinux2014_x86_64",
        "--platform",
        "manylinux_2_28_x86_64",
        "-d",
        str(WHEELS),
        *pins,
    ]
    print("gpu-bundle: python3", " ".join(cmd[1:]))
    if subprocess.run(cmd).returncode != 0:
        print("gpu-bundle: pip download failed", file=sys.stderr)
        return 1
    wheels = sorted(WHEELS.glob("*.whl"))
    if len(wheels) != len(pins):
        print(
            f"gpu-bundle: expected {len(pins)} wheels, got {len(wheels)}",
            file=sys.stderr,
        )
        return 1
    shutil.rmtree(BUNDLE_DATA, ignore_errors=True)
    shutil.copytree(
        src, BUNDLE_DATA, copy_function=shutil.copyfile
    )  # plain copies: the source is read-only
    w, d = _mib(WHEELS), _mib(BUNDLE_DATA)
    tree = working_tree_mib()
    print(
        f"gpu-bundle: {len(wheels)} wheels {w:.1f} MiB + data {d:.1f} MiB = {w + d:.1f} MiB in .gpu/"
    )
    if tree is not None:
        print(
            f"gpu-bundle: with the working tree ({tree:.1f} MiB) {tree + w + d:.1f} MiB travel "
            f"(limit {TRAVEL_LIMIT_MIB} MiB)"
        )
    if w + d > BUNDLE_LIMIT_MIB or (
        tree is not None and tree + w + d > TRAVEL_LIMIT_MIB
    ):
        print("gpu-bundle: too large", file=sys.stderr)
        return 1
    return 0


# ================================================================== notebook executor


MAGIC = re.compile(r"^\s*(%%?|!)\S")


class CellFailure(Exception):
    """A cell of a chapter failed (its own exception, a figure that cannot be drawn, or a
    tagged cell that did not raise)."""


def _cell_code(source: str) -> str:
    """The cell as Python. ``%matplotlib ...`` is a no-op here (Agg); any other IPython magic
    or shell escape cannot run without IPython's kernel and is an error that says so."""
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("%matplotlib"):
            lines[i] = "pass  # " + line
        elif MAGIC.match(line) and not line.startswith((" ", "\t")):
            raise CellFailure(
                f"IPython magic or shell escape {line.strip()!r} cannot run outside Jupyter; "
                "tag the cell remove-cell if it is set-up, or write it in Python"
            )
    return "\n".join(lines)


def _run_cell(code: str, ns: dict, filename: str) -> object:
    """exec the cell in ``ns``; returns the value of a final expression (as Jupyter shows it)."""
    linecache.cache[filename] = (
        len(code),
        None,
        code.splitlines(True),
        filename,
    )  # tracebacks show the lines
    tree = ast.parse(code, filename)
    last = (
        tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    )
    exec(compile(tree, filename, "exec"), ns)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), filename, "eval"), ns)


def _render_figures(plt) -> int:
    """Draw every open figure to PNG, as Jupyter's inline backend does at the end of a cell
    (catches errors that appear only when drawing), then close them all."""
    n = 0
    try:
        for num in plt.get_fignums():
            plt.figure(num).savefig(io.BytesIO(), format="png", bbox_inches="tight")
            n += 1
    finally:
        plt.close("all")
    return n


def execute_notebook(path: Path) -> int:
    """Run a chapter's code cells in order in one namespace (not those tagged ``remove-cell``).

    A cell tagged ``raises-exception`` must raise; any other exception, or a figure that
    cannot be drawn, ends the run with the cell's number, its first line and the error.
    Without IPython's kernel, ``display`` is IPython's own (it prints) and ipywidgets'
    widgets are real widgets without a front end: the explorers' code runs for real.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    nb = json.loads(path.read_text(encoding="utf-8"))
    ns: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    try:  # Jupyter puts display() into every notebook's namespace
        from IPython.display import display

        ns["display"] = display
    except ImportError:
        print(
            "note: IPython is not installed: cells that call display() will fail",
            flush=True,
        )
    start = time.perf_counter()
    timings = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        source = "".join(cell.get("source", []))
        first = next((ln for ln in source.splitlines() if ln.strip()), "")[:80]
        label = f"cell {index} ({first!r})"
        if "remove-cell" in tags:
            print(f"[{index}] skipped (remove-cell)", flush=True)
            continue
        t0 = time.perf_counter()
        print(f"[{index}] {first}", flush=True)
        try:
            try:
                value = _run_cell(
                    _cell_code(source), ns, f"<{path.name} cell {index}>"
                )
            except CellFailure:
                raise
            except BaseException as err:
                if isinstance(err, KeyboardInterrupt):
                    raise
                if "raises-exception" in tags:
                    print(
                        f"[{index}] raised, as its tag expects: {type(err).__name__}: {err}",
                        flush=True,
                    )
                    _render_figures(plt)
                    continue
                traceback.print_exc()
                raise CellFailure(f"{type(err).__name__}: {err}") from None
            if "raises-exception" in tags:
                raise CellFailure("tagged raises-exception but raised nothing")
            if value is not None:
                shown = (
                    repr(value)
                    if not hasattr(value, "savefig")
                    else f"figure {value!r}"
                )
                print(f"[{index}] -> {shown[:200]}", flush=True)
            try:
                _render_figures(plt)
            except Exception as err:
                traceback.print_exc()
                raise CellFailure(
                    f"a figure cannot be drawn: {type(err).__name__}: {err}"
                ) from None
        except CellFailure as fail:
            print(
                f"CHAPTER FAILED at {label}: {' '.join(str(fail).split())[:400]}",
                flush=True,
            )
            return 1
        timings.append((time.perf_counter() - t0, index))
        print(f"[{index}] ok, {timings[-1][0]:.1f} s", flush=True)
    slow = ", ".join(
        f"cell {i} {s:.1f} s" for s, i in sorted(timings, reverse=True)[:3]
    )
    print(
        f"CHAPTER PASSED: {path.name}, {len(timings)} code cells in {time.perf_counter() - start:.1f} s "
        f"(slowest: {slow})",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

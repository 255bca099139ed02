"""tools/gpu_check.py (make gpu-check) without a GPU: its dry run, its refusal to run without
CUDA, its chapter executor, its runner and table, its comparisons with the CPU, its bundle pins."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "gpu_check.py"


def _load_tool():
    spec = importlib.util.spec_from_file_location("gpu_check", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gc = _load_tool()


def _tool(*args, tmp_path, env=None):
    env = {
        **os.environ,
        "GPU_CHECK_OUT": str(tmp_path / "out"),
        "GPU_CHECK_STAGES": str(tmp_path / "stages"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, str(TOOL), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dry_run_lists_every_stage_with_its_command_and_limit_and_runs_nothing(
    tmp_path,
):
    res = _tool("--dry-run", tmp_path=tmp_path)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for nb in sorted((ROOT / "chapters").glob("*.ipynb")):
        assert f"chapter {nb.stem}" in out and f"--run-notebook {nb.name}" in out
    assert (
        "-m pytest" in out
        and "-m cuda" in out
        and "tests/test_cuda.py" in out
        and "tests/test_kernels.py" in out
    )
    for cli in (
        "mupbook.experiments.maml",
        "mupbook.experiments.word2vec",
        "mupbook.experiments.mutransfer",
    ):
        assert f"-m {cli}" in out
    assert (
        "--device cuda" in out
        and "MUPBOOK_DEVICE=cuda" in out
        and "MUPBOOK_SCALE=quick" in out
    )
    assert (
        out.count("limit ") >= len(gc.plan("cuda", tmp_path, 1))
        and "total limit 300 s" in out
    )
    assert "results/" not in out.replace(
        "results/maml_limit.json", ""
    )  # experiments never write results/
    assert not (tmp_path / "out").exists() and not (tmp_path / "stages").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_without_cuda_it_says_so_and_exits_0_without_running_anything(tmp_path):
    res = _tool(tmp_path=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "CUDA is not available" in res.stdout and "nothing" in res.stdout
    assert not (tmp_path / "out").exists() and not (tmp_path / "stages").exists()


def test_the_plan_runs_the_experiments_into_the_stage_folder_with_time_limits(
    tmp_path,
):
    for device in ("cuda", "cpu"):
        stages = gc.plan(device, tmp_path, 4)
        names = [s.name for s in stages]
        assert len(names) == len(set(names))
        assert sum(n.startswith("chapter ") for n in names) == len(
            list((ROOT / "chapters").glob("*.ipynb"))
        )
        assert all(
            0
            < s.limit
            <= gc.TOTAL_S * (1 if device == "cuda" else gc.CPU_LIMIT_FACTOR)
            for s in stages
        )
        for s in stages:
            if "--out" in s.argv:
                assert gc._output(s).resolve().parent == tmp_path.resolve()
    assert "word2vec-cpu" in [s.name for s in gc.plan("cuda", tmp_path, 4)]
    assert "word2vec-cpu" not in [s.name for s in gc.plan("cpu", tmp_path, 4)]


# ------------------------------------------------------------------ chapter executor


def _notebook(tmp_path, *cells) -> Path:
    """cells: (source, tags) pairs, code cells; a markdown cell first, as chapters have."""
    nb = {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Title"]}]
        + [
            {
                "cell_type": "code",
                "metadata": {"tags": list(tags)},
                "source": src.splitlines(True),
                "outputs": [],
                "execution_count": None,
            }
            for src, tags in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_executor_runs_cells_in_one_namespace_like_jupyter(tmp_path, capsys):
    path = _notebook(
        tmp_path,
        ("raise RuntimeError('the Colab cell must be skipped')", ["remove-cell"]),
        ("%matplotlib inline\nimport matplotlib.pyplot as plt\nx = 2", []),
        (
            "fig, ax = plt.subplots()\nax.plot([1, 2], [x, x])\ndisplay('shown')\nx * 21",
            [],
        ),
        ("assert x == 2, 'x should be 2'", []),
        ("int('not a number')", ["raises-exception"]),
    )
    assert gc.execute_notebook(path) == 0
    out = capsys.readouterr().out
    assert "skipped (remove-cell)" in out and "-> 42" in out and "shown" in out
    assert "raised, as its tag expects: ValueError" in out and "CHAPTER PASSED" in out


@pytest.mark.parametrize(
    "cell, tags, message",
    [
        (
            "assert 1 + 1 == 3, 'arithmetic is broken'",
            [],
            "AssertionError: arithmetic is broken",
        ),
        ("y = 1", ["raises-exception"], "tagged raises-exception but raised nothing"),
        ("%timeit sum(range(10))", [], "cannot run outside Jupyter"),
        ("!ls", [], "cannot run outside Jupyter"),
        (
            "import matplotlib.pyplot as plt\nplt.title(r'$\\frac{1}{$')",
            [],
            "a figure cannot be drawn",
        ),
    ],
)
def test_executor_fails_with_the_cell_and_its_message(
    tmp_path, capsys, cell, tags, message
):
    path = _notebook(tmp_path, ("ok = True", []), (cell, tags), ("never = 'run'", []))
    assert gc.execute_notebook(path) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("CHAPTER FAILED"))
    assert "cell 2 " in line and message in line, line
    assert "never" not in out
    assert gc._failure_line(out) == line


# ----------------------------------------------------------------- runner and table


def _stage(name, code, limit=30, **kw):
    return gc.Stage(
        name, f"test stage {name}", ["{python}", "-c", code], limit, "cpu", **kw
    )


def test_runner_records_pass_failure_and_timeout_in_markdown_and_json(tmp_path):
    stages = [
        _stage("fine", "print('hello')"),
        _stage("broken", "raise ValueError('this stage is broken')"),
        _stage("slow", "import time; time.sleep(30)", limit=1),
    ]
    runner = gc.Runner(
        stages,
        out=tmp_path / "out",
        stages_dir=tmp_path / "stages",
        env=dict(os.environ),
        jobs=2,
        total=60,
        header={"device": "cpu"},
    )
    (tmp_path / "stages").mkdir()
    assert runner.run() is False
    doc = json.loads((tmp_path / "out" / "gpu-check.json").read_text())
    status = {s["stage"]: s for s in doc["stages"]}
    assert status["fine"]["status"] == "passed" and "hello" in status["fine"]["tail"]
    assert status["broken"]["status"] == "failed"
    assert status["broken"]["note"] == "ValueError: this stage is broken"
    assert status["slow"]["status"] == "timeout" and status["slow"]["seconds"] < 10
    assert doc["finished"] and doc["passed"] == 1 and doc["failed"] == 2
    md = (tmp_path / "out" / "gpu-check.md").read_text()
    assert (
        "| 2 | broken |" in md
        and "**FAILED**: ValueError: this stage is broken" in md
        and "**TIMEOUT**" in md
    )
    assert (tmp_path / "out" / "gpu-check-stages.tar.gz").stat().st_size > 0


def test_runner_leaves_stages_unrun_once_the_total_limit_is_spent(tmp_path):
    stages = [
        _stage("first", "import time; time.sleep(30)", limit=30),
        _stage("second", "pass"),
    ]
    runner = gc.Runner(
        stages,
        out=tmp_path / "out",
        stages_dir=tmp_path / "stages",
        env=dict(os.environ),
        jobs=1,
        total=6,
        header={},
    )
    (tmp_path / "stages").mkdir()
    assert runner.run() is False
    status = {
        s["stage"]: s
        for s in json.loads((tmp_path / "out" / "gpu-check.json").read_text())[
            "stages"
        ]
    }
    assert (
        status["first"]["status"] == "timeout"
        and "what was left of the total" in status["first"]["note"]
    )
    assert status["second"]["status"] == "not run"


# -------------------------------------------------------------------- comparisons


def test_maml_comparison_accepts_the_recorded_cpu_run_and_catches_a_drift(tmp_path):
    doc = json.loads(gc.RECORDED_MAML.read_text())
    run = doc["runs"][0]
    run["config"]["steps"] = 300
    run["history"]["loss"] = run["history"]["loss"][:300]
    run["history"]["val_acc"], run["history"]["val_steps"] = (
        run["history"]["val_acc"][:3],
        [100, 200, 300],
    )
    out = tmp_path / "maml.json"
    out.write_text(json.dumps(doc))
    stage = gc.Stage("maml", "", ["{python}", "--out", str(out)], 10, "cuda")
    assert all(c["ok"] for c in gc.compare_maml(stage, {}))
    run["history"]["loss"][299] *= 1 + 1e-6
    out.write_text(json.dumps(doc))
    bad = [c for c in gc.compare_maml(stage, {}) if not c["ok"]]
    assert (
        len(bad) == 1
        and "query loss" in bad[0]["what"]
        and bad[0]["measured"] == pytest.approx(1e-6, rel=1e-3)
    )


def test_word2vec_comparison_within_and_beyond_its_tolerances(tmp_path):
    def doc(loss, acc):
        return {
            "models": {
                "256": {"losses": [loss], "accuracy": acc},
                "ntk": {"losses": [], "accuracy": 0.0},
            }
        }

    paths = {k: tmp_path / f"{k}.json" for k in ("gpu", "cpu")}
    stage = gc.Stage(
        "word2vec",
        "",
        ["x", "--out", str(paths["gpu"])],
        10,
        "cuda",
        needs=("word2vec-cpu",),
    )
    ref = gc.Stage(
        "word2vec-cpu",
        "",
        ["x", "--out", str(paths["cpu"])],
        10,
        "cpu",
        status="passed",
    )
    paths["cpu"].write_text(json.dumps(doc(4.0, 10.0)))
    paths["gpu"].write_text(json.dumps(doc(4.0 * (1 + 1e-5), 10.5)))
    assert all(c["ok"] for c in gc.compare_word2vec(stage, {"word2vec-cpu": ref}))
    paths["gpu"].write_text(json.dumps(doc(4.1, 12.0)))
    assert [c["ok"] for c in gc.compare_word2vec(stage, {"word2vec-cpu": ref})] == [
        False,
        False,
        True,
        True,
    ]
    ref.status = "timeout"
    assert not gc.compare_word2vec(stage, {"word2vec-cpu": ref})[0]["ok"]


def test_bundle_pins_follow_requirements_for_python_312():
    pins = gc.bundle_pins()
    assert len(pins) == len(gc.BUNDLE_PACKAGES)
    req = (ROOT / "requirements.txt").read_text()
    for pin in pins:
        assert pin in req
    assert any(p.startswith("ipython==9.") for p in pins)  # not the Python < 3.11 pin


def test_a_chapter_stopped_at_its_limit_names_the_cell_it_was_running(tmp_path):
    log = tmp_path / "chapter.log"
    log.write_text(
        "[0] skipped (remove-cell)\n[2] import numpy\n[2] ok, 1.0 s\n[4] slow = train()\n"
        "progress 10%\rprogress 20%\r"
    )
    assert gc._running_cell(log) == ", in cell 4 ('slow = train()')"
    log.write_text("[2] import numpy\n[2] ok, 1.0 s\n")
    assert gc._running_cell(log) == ""

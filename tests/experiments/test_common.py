"""mupbook.experiments._common and the three command lines built on it: every bad value is
refused before any work, with one argparse line; results are written atomically."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from mupbook import results
from mupbook.experiments import _common, maml, mutransfer, word2vec

CLIS = {"maml": maml.main, "mutransfer": mutransfer.main, "word2vec": word2vec.main}


@pytest.fixture
def no_work(monkeypatch):
    """Make any real work fail loudly: a refusal must come before data is loaded."""

    def boom(*args, **kwargs):
        raise AssertionError("work started before the command line was checked")

    monkeypatch.setattr(maml, "load_pools", boom)
    monkeypatch.setattr(mutransfer, "run", boom)
    monkeypatch.setattr(word2vec, "run", boom)


def _refused(capsys, cli: str, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as err:
        CLIS[cli](argv)
    assert err.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error:" in message and "Traceback" not in message
    return message


@pytest.mark.parametrize(
    "cli, argv, match",
    [
        # item 2: learning rates must be finite and > 0
        ("maml", ["--meta-lr", "nan"], "meta_lr must be a finite number"),
        ("maml", ["--meta-lr", "inf"], "meta_lr must be a finite number"),
        ("maml", ["--meta-lr", "0"], "meta_lr must be a finite number > 0"),
        ("maml", ["--meta-lr", "-0.1"], "meta_lr must be a finite number > 0"),
        ("maml", ["--inner-lr", "nan"], "inner_lr"),
        ("word2vec", ["--lr", "-1"], "lr must be a finite number > 0"),
        ("word2vec", ["--lr", "nan"], "lr must be a finite number"),
        # item 4: repeated seeds and widths are one run counted twice
        ("maml", ["--seeds", "1", "1"], "distinct"),
        ("maml", ["--model", "finite", "--width", "8", "8"], "strictly increasing"),
        ("mutransfer", ["--seeds", "1", "1"], "distinct"),
        ("mutransfer", ["--widths", "128", "128"], "strictly increasing"),
        ("word2vec", ["--widths", "64", "64"], "strictly increasing"),
        # item 10: everything else about the configuration, before data is loaded
        ("maml", ["--threads", "0"], "--threads must be a positive integer"),
        ("word2vec", ["--threads", "0"], "--threads must be a positive integer"),
        ("mutransfer", ["--threads", "-2"], "--threads must be a positive integer"),
        ("word2vec", ["--seed", "-1"], r"seed must lie in \[0, 2\*\*63\)"),
        ("maml", ["--seeds", "-1"], r"lie in \[0, 2\*\*63\)"),
        (
            "maml",
            ["--model", "limit", "--width", "64"],
            "--width is only for --model finite",
        ),
        ("maml", ["--model", "finite"], "needs --width"),
        ("maml", ["--steps", "0"], "steps must be a positive integer"),
        ("maml", ["--inner-lr-search", "0.1", "0.1"], "distinct"),
        # the kernel limits' options and their validation grid search
        ("maml", ["--model", "relu-ntk", "--sigma-b", "-1"], "sigma_b must be"),
        (
            "maml",
            ["--model", "relu-ntk", "--val-inner-steps", "0"],
            "val_inner_steps",
        ),
        (
            "maml",
            ["--model", "relu-ntk", "--kernel-dtype", "float16"],
            "invalid choice",
        ),
        (
            "maml",
            ["--model", "limit", "--grid-sigma-b", "1", "2"],
            "relu-nngp or relu-ntk",
        ),
        (
            "maml",
            ["--model", "relu-ntk", "--search-only"],
            "--search-only needs a grid",
        ),
        (
            "maml",
            ["--model", "relu-ntk", "--grid-meta-lr", "0"],
            "grid meta_lr must be",
        ),
        ("maml", ["--model", "relu-ntk", "--grid-sigma-b", "1", "1"], "distinct"),
        (
            "maml",
            ["--model", "relu-nngp", "--grid-sigma-v", "0.5", "1"],
            "sigma_v enters the NTK only",
        ),
        (
            "maml",
            ["--model", "relu-ntk", "--grid-sigma-b", "1", "--search-top", "0"],
            "--search-top must be a positive integer",
        ),
        ("maml", ["--device", "tpu"], "device"),
        ("mutransfer", ["--steps", "0"], "steps must be a positive integer"),
        ("mutransfer", ["--num-classes", "1"], "num_classes"),
        ("word2vec", ["--epochs", "0"], "epochs must be a positive integer"),
        ("word2vec", ["--max-vocab", "0"], "max_vocab"),
    ],
)
def test_bad_command_lines_are_refused_before_any_work(
    capsys, no_work, cli, argv, match
):
    import re

    assert re.search(match, _refused(capsys, cli, argv))


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_an_unusable_out_path_is_refused_before_any_work(
    capsys, no_work, tmp_path, cli
):
    # item 9: a folder given as --out, a path that is not .json, an unwritable folder
    folder = tmp_path / "a_folder"
    folder.mkdir()
    assert "is a folder" in _refused(capsys, cli, ["--out", str(folder)])
    assert not list(folder.iterdir())  # no stray temporary file
    assert ".json" in _refused(capsys, cli, ["--out", str(tmp_path / "run.txt")])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(
            locked, os.W_OK
        ):  # root ignores permissions: use a path under a file instead
            target = tmp_path / "a_file"
            target.write_text("x")
            bad = target / "run.json"
        else:
            bad = locked / "run.json"
        assert "cannot be written" in _refused(capsys, cli, ["--out", str(bad)])
    finally:
        locked.chmod(0o700)


def test_word2vec_config_check_refuses_what_the_probes_found():
    cfg = word2vec.QUICK
    for change, match in (
        (dict(negatives=-5), "negatives"),
        (dict(negatives=0), "negatives"),
        (dict(sample=1.0), "sample"),
        (dict(sample=2.0), "sample"),
        (dict(min_count=0), "min_count"),
        (dict(lr=-1.0), "lr"),
        (dict(weight_decay=-1.0), "weight_decay"),
        (dict(seed=-1), "seed"),
    ):
        with pytest.raises(ValueError, match=match):
            cfg.replace(**change).check()
    assert cfg.check() is cfg


def test_maml_config_check_refuses_non_finite_learning_rates():
    for v in (float("nan"), float("inf"), 0.0, -1.0):
        with pytest.raises(ValueError, match="meta_lr"):
            maml.config("quick", meta_lr=v).resolved()
    with pytest.raises(ValueError, match="test_inner_steps"):
        maml.config("quick", test_inner_steps=(1, 1)).check()


def test_config_replace_refuses_unknown_fields_and_to_dict_is_json_ready():
    with pytest.raises(ValueError, match="unknown configuration field"):
        maml.QUICK.replace(stepz=3)
    d = mutransfer.QUICK.to_dict()
    assert d["widths"] == list(mutransfer.QUICK.widths)
    assert d["log2_lrs"]["adam"] == list(mutransfer.QUICK.log2_lrs["adam"])
    json.dumps(d)
    assert dataclasses.is_dataclass(word2vec.QUICK) and isinstance(
        word2vec.QUICK, _common.ConfigBase
    )


def test_write_results_is_atomic_and_refuses_folders_and_nan(tmp_path):
    doc = {
        "experiment": "x",
        "config": {},
        "reproduction": [],
        "provenance": results.provenance("m"),
    }
    out = _common.write_results(tmp_path / "x_run.json", doc)
    assert json.loads(out.read_text())["experiment"] == "x"
    with pytest.raises(ValueError, match="is a folder"):
        _common.write_results(tmp_path, doc)
    with pytest.raises(ValueError):
        _common.write_results(
            tmp_path / "x_nan.json", {**doc, "config": {"lr": float("nan")}}
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "x_run.json"
    ]  # nothing half-written


def test_load_results_returns_documents_by_stem_and_only_of_that_experiment(tmp_path):
    doc = {
        "experiment": "maml",
        "config": {},
        "reproduction": [],
        "runs": [],
        "provenance": results.provenance("m"),
    }
    results.write_json(tmp_path / "maml_b.json", doc)
    results.write_json(tmp_path / "maml_a.json", doc)
    results.write_json(tmp_path / "mamlish.json", {**doc, "experiment": "other"})
    assert list(_common.load_results("maml", tmp_path)) == ["maml_a", "maml_b"]
    assert maml.load_results(tmp_path)["maml_a"]["experiment"] == "maml"
    with pytest.raises(ValueError, match="does not exist"):
        _common.load_results("maml", tmp_path / "missing")


def test_floats_survive_json_with_non_finite_values_read_back_as_nan():
    import numpy as np

    a = np.array([[1.5, np.nan], [np.inf, -2.0]])
    listed = _common.floats_to_json(a)
    assert listed == [[1.5, None], [None, -2.0]]
    back = _common.floats_from_json(json.loads(json.dumps(listed)))
    assert back.dtype == float and back.shape == (2, 2)
    assert back[0, 0] == 1.5 and back[1, 1] == -2.0
    assert np.isnan(back[0, 1]) and np.isnan(back[1, 0])

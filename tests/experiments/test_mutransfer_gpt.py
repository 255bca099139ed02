"""mupbook.experiments.mutransfer_gpt: stacked learning rates, sweeps, results, CLI.

Training runs on random tokens except the command-line tests, which read the offline
corpus (skipped without MUPBOOK_DATA)."""

import copy
import json
import os

import numpy as np
import pytest
import torch

from mupbook import results, runtime
from mupbook.data import chars
from mupbook.experiments import mutransfer_gpt as mg
from mupbook.transformer import GPT

T = 16


def needs_corpus():
    raw = os.environ.get("MUPBOOK_DATA", "").strip()
    if not raw or not os.path.isfile(
        os.path.join(raw, "text", "offline_corpus.txt.gz")
    ):
        pytest.skip("MUPBOOK_DATA is unset or holds no text/offline_corpus.txt.gz")


def tokens(steps=6, b=4, seed=0):
    g = runtime.generator(seed)
    shape = (steps, b, T)
    return (
        torch.randint(0, chars.VOCAB, shape, generator=g),
        torch.randint(0, chars.VOCAB, shape, generator=g),
    )


def tiny(param, width=32, dtype=torch.float64):
    return GPT(
        chars.VOCAB,
        width,
        param,
        n_heads=2,
        context=T,
        base_width=16,
        generator=runtime.generator(1),
        dtype=dtype,
    )


def alone(model, lr, xs, ys, weight_decay=0.0):
    model = copy.deepcopy(model)
    opt = model.adam(lr, weight_decay=weight_decay)
    losses = []
    for x, y in zip(xs, ys):
        loss = model.loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses), model


@pytest.mark.parametrize("param", ["mup", "sp"])
def test_stacked_training_equals_training_each_learning_rate_alone(param):
    xs, ys = tokens()
    model = tiny(param)
    lrs = [2.0**-9, 2.0**-6, 2.0**-3]
    stack = mg.StackedAdamW(model, lrs, weight_decay=0.1)
    curves = torch.stack([stack.step(x, y) for x, y in zip(xs, ys)], 1).numpy()
    for r, lr in enumerate(lrs):
        losses, trained = alone(model, lr, xs, ys, weight_decay=0.1)
        assert np.max(np.abs(curves[r] - losses) / losses) < 1e-12
        ours = stack.copy(r)
        for name, p in trained.named_parameters():
            assert torch.allclose(ours[name], p, rtol=1e-10, atol=1e-12), name


def test_learning_rates_trained_in_groups_equal_one_stack():
    xs, ys = tokens()
    vx, vy = tokens(steps=1, b=3, seed=5)
    model = tiny("mup")
    lrs = [2.0**-9, 2.0**-6, 2.0**-3]
    together = mg.train_lrs(model, lrs, (xs, ys), (vx[0], vy[0]), weight_decay=0.1)
    for group in (1, 2):
        apart = mg.train_lrs(
            model, lrs, (xs, ys), (vx[0], vy[0]), weight_decay=0.1, group=group
        )
        for a, b in zip(apart, together):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_auto_stacks_on_a_gpu_and_on_a_cpu_only_up_to_the_measured_width():
    edge = mg.CPU_STACK_MAX_WIDTH
    assert mg.stack_size(edge, "cpu") is None  # all learning rates together
    assert mg.stack_size(2 * edge, "cpu") == 1
    assert mg.stack_size(2 * edge, "cuda") is None
    assert mg.stack_size(64, "cpu", "one") == 1
    assert mg.stack_size(4096, "cpu", "all") is None
    with pytest.raises(ValueError, match="stack"):
        mg.stack_size(64, "cpu", "some")


def test_a_diverging_copy_is_dropped_and_the_others_are_untouched():
    xs, ys = tokens(steps=8)
    model = tiny("sp")
    stack = mg.StackedAdamW(model, [2.0**-8, 2.0**12], drop_above=30.0)
    curves = torch.stack([stack.step(x, y) for x, y in zip(xs, ys)], 1).numpy()
    assert np.isnan(curves[1, -1]) and stack.rows.tolist() == [0]
    assert (curves[1][np.isfinite(curves[1])] > 30).any()  # dropped when it blew up
    assert np.allclose(curves[0], alone(model, 2.0**-8, xs, ys)[0], rtol=1e-12)
    with pytest.raises(ValueError, match="dropped"):
        stack.copy(1)
    vx, vy = tokens(steps=1, b=3, seed=5)
    val = stack.dataset_loss(vx[0], vy[0])
    assert np.isfinite(val[0]) and np.isnan(val[1])


def synthetic_sweep(param, centers, widths=(64, 128, 256)):
    grid = np.arange(-10, -4.9, 0.5)
    loss = np.stack(
        [
            [2.0 - 0.1 * j + 0.05 * (grid - c) ** 2 for j, c in enumerate(centers)]
            for _ in range(2)
        ]
    )
    return mg.Sweep(
        param,
        np.asarray(widths),
        grid,
        (0, 1),
        loss,
        np.zeros(loss.shape, bool),
        np.zeros(loss.shape + (3,)),
        np.arange(3),
        chars.VOCAB,
    )


def test_sweep_locates_optima_by_parabola_and_measures_the_shift():
    s = synthetic_sweep("sp", [-6.2, -7.3, -8.6])
    assert s.optimal_log2_lr() == pytest.approx([-6.2, -7.3, -8.6])
    assert s.shift() == pytest.approx(2.4)
    assert s.best_loss() == pytest.approx([2.0, 1.9, 1.8], abs=0.02)
    back = mg.Sweep.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back.optimal_log2_lr() == pytest.approx(s.optimal_log2_lr())
    s.diverged[0, 2, :] = True  # one seed diverged everywhere at the widest width
    with pytest.raises(ValueError, match="every learning rate diverged at width 256"):
        s.shift()


def test_each_seed_has_its_own_optimum_and_a_seed_diverged_everywhere_has_none():
    s = synthetic_sweep("mup", [-7.0, -7.0, -7.0])
    s.val_loss[1] += 0.05 * (s.log2_lrs + 7.0)  # seed 1's parabola leans left
    opt = s.seed_optima()
    assert opt.shape == (2, 3)
    assert opt[0] == pytest.approx([-7.0, -7.0, -7.0])
    assert np.all(opt[1] < -7.2)
    s.diverged[1, 2, :] = True
    assert np.isnan(s.seed_optima()[1, 2]) and np.isfinite(s.seed_optima()[0, 2])


def test_a_recorded_curve_is_the_seed_mean_and_none_off_the_grid():
    s = synthetic_sweep("mup", [-7.0, -7.0, -7.0])
    s.curves[0, 1, 4] = [3.0, 2.0, 1.0]
    s.curves[1, 1, 4] = [3.0, 3.0, np.nan]  # seed 1 diverged at its last point
    np.testing.assert_allclose(s.curve(128, s.log2_lrs[4]), [3.0, 2.5, np.nan])
    assert s.curve(512, -8.0) is None  # a width the sweep did not train
    assert s.curve(128, -8.25) is None  # between two grid points
    assert s.curve(64, -10.0).shape == (3,)


def test_results_document_validates_and_carries_tp5_claims():
    sweeps = {
        "sp": synthetic_sweep("sp", [-6, -7, -8]),
        "mup": synthetic_sweep("mup", [-6, -6.2, -6.1]),
    }
    prov = results.provenance(
        "mupbook.experiments.mutransfer_gpt", ["--config", "cpu"]
    )
    doc = mg.results_dict(sweeps, mg.CPU, prov)
    results.validate(doc)
    assert doc["summary"]["sp"]["shift"] == pytest.approx(2.0)
    rows = {r["quantity"].split(":")[0]: r for r in doc["reproduction"]}
    assert rows["SP"]["ours"] == pytest.approx(2.0) and rows["SP"]["paper"] is None
    assert "TP5" in rows["μP"]["note"] and "CPU" in doc["label"]
    assert mg.config_of(doc) == mg.CPU


def test_run_end_to_end_on_a_tiny_configuration():
    ids = torch.randint(0, chars.VOCAB, (5000,), generator=runtime.generator(0))
    vx, vy = chars.eval_blocks(ids[4000:], 8, T)
    data = mg.Data(ids[:4000], vx, vy, "random")
    cfg = mg.QUICK.replace(
        widths=(16, 32),
        log2_lrs=(-8.0, -7.0, -6.0),
        steps=3,
        batch_size=2,
        context=T,
        base_width=16,
        val_blocks=8,
    )
    seen = []
    sweeps = mg.run(
        cfg, data=data, progress=False, on_cell=lambda c: seen.append(len(c))
    )
    assert seen == [1, 2, 3, 4] and set(sweeps) == {"sp", "mup"}
    s = sweeps["mup"]
    assert s.val_loss.shape == (1, 2, 3) and np.isfinite(s.val_loss).all()
    # at the base width muP and SP differ only by muP's zero query
    again = mg.run(cfg.replace(zero_query=False), data=data, progress=False)
    assert np.allclose(again["mup"].val_loss[:, 0], again["sp"].val_loss[:, 0])


def test_configuration_is_checked_before_work():
    with pytest.raises(ValueError, match="divisible by n_heads"):
        mg.CPU.replace(widths=(63, 128)).check()
    with pytest.raises(ValueError, match="at least 3"):
        mg.CPU.replace(log2_lrs=(-8.0, -7.0)).check()
    with pytest.raises(ValueError, match="evenly spaced"):
        mg.CPU.replace(log2_lrs=(-8.0, -7.0, -5.0)).check()
    with pytest.raises(ValueError, match="unknown configuration field"):
        mg.CPU.replace(depth=3)


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["--widths", "128", "64"], "strictly increasing"),
        (["--steps", "0"], "steps"),
        (["--seeds", "1", "1"], "seeds"),
        (["--config", "huge"], "invalid choice"),
        (["--threads", "0"], "--threads"),
    ],
)
def test_command_line_refuses_bad_options_before_any_work(
    argv, msg, capsys, tmp_path
):
    with pytest.raises(SystemExit) as err:
        mg.main(argv + ["--out", str(tmp_path / "x.json"), "--no-progress"])
    assert err.value.code == 2 and msg in capsys.readouterr().err


def test_command_line_writes_results_and_resumes_from_its_checkpoint(tmp_path):
    needs_corpus()
    out = tmp_path / "mutransfer_gpt_tiny.json"
    argv = [
        "--config",
        "quick",
        "--widths",
        "16",
        "32",
        "--steps",
        "2",
        "--log2-lrs",
        "-8",
        "-7",
        "-6",
        "--out",
        str(out),
        "--no-progress",
    ]
    cfg = mg.QUICK.replace(widths=(16, 32), steps=2, log2_lrs=(-8.0, -7.0, -6.0))
    # a checkpoint of an interrupted run holding one finished cell (a marker value)
    done = {("sp", 16, 0): (np.zeros((3, 2)), np.array([3.0, 3.0, 3.0]), 1.0)}
    started = results.provenance(
        "mupbook.experiments.mutransfer_gpt", ["at", "start"]
    )
    mg._save_partial(out.with_name(out.name + ".partial"), cfg, done, started)
    assert mg.main(argv + ["--resume"]) == 0
    doc = results.load(out)
    assert doc["sweeps"]["sp"]["val_loss"][0][0] == [3.0, 3.0, 3.0]  # kept, not rerun
    assert doc["provenance"]["command"][-2:] == ["at", "start"]  # the first start's
    assert doc["provenance"]["seconds"] > 1.0  # the checkpoint's second counts too
    assert not out.with_name(out.name + ".partial").exists()
    loaded = mg.load_results(tmp_path)
    assert list(loaded) == ["mutransfer_gpt_tiny"]
    other = mg.QUICK.replace(widths=(16, 64))
    mg._save_partial(out.with_name(out.name + ".partial"), other, {}, {})
    with pytest.raises(ValueError, match="another configuration"):
        mg._load_partial(out.with_name(out.name + ".partial"), cfg)

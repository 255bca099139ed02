"""mupbook.experiments.mutransfer: lr sweeps under SP and muP on Omniglot.

The transfer test trains on real Omniglot and needs ``MUPBOOK_DATA`` (skipped without
it); the rest use small synthetic training sets.
"""

import copy
import json
import math
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mupbook.experiments import mutransfer as mt
from mupbook.nn import MuMLP
from mupbook.viz.mutransfer import plot_sweep


def needs_omniglot():
    raw = os.environ.get("MUPBOOK_DATA", "").strip()
    if not raw or not os.path.isfile(os.path.join(raw, "omniglot", "omniglot28.npz")):
        pytest.skip(
            "MUPBOOK_DATA is unset (or has no omniglot/omniglot28.npz): the muTransfer "
            "experiment trains on real Omniglot"
        )


def synthetic(n=240, classes=5, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    ink = (
        torch.rand(n, mt.D_IN, generator=g, dtype=dtype) < 0.25
    )  # sparse, like Omniglot
    x = ink * torch.rand(n, mt.D_IN, generator=g, dtype=dtype)
    return mt.TrainSet(x, torch.randint(0, classes, (n,), generator=g), classes)


def reference(model, optimizer, lr, train, batches):
    """Plain MuMLP + its own torch optimizer, one learning rate: minibatch losses and
    the final training-set loss."""
    model = copy.deepcopy(model)
    opt = model.sgd(lr) if optimizer == "sgd" else model.adam(lr)
    losses = []
    for idx in batches:
        loss = F.cross_entropy(model(train.x[idx]), train.y[idx])
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = F.cross_entropy(model(train.x), train.y).item()
    return np.array(losses), final


@pytest.mark.parametrize("param", ["mup", "sp"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("depth, bias", [(2, True), (3, False)])
def test_batched_training_equals_training_each_lr_alone(
    param, optimizer, depth, bias
):
    train = synthetic(dtype=torch.float64)
    model = MuMLP(
        mt.D_IN,
        96,
        train.num_classes,
        param,
        depth=depth,
        bias=bias,
        base_width=32,
        generator=torch.Generator().manual_seed(1),
        dtype=torch.float64,
    )
    lrs = (
        [2.0**-10, 2.0**-7, 2.0**-4]
        if optimizer == "adam"
        else [2.0**-6, 2.0**-4, 2.0**-2]
    )
    batches = mt.batch_order(len(train.y), 6, 16, seed=3)
    curves, final = mt.train_lrs(model, optimizer, lrs, train, batches)
    for r, lr in enumerate(lrs):
        ref_curve, ref_final = reference(model, optimizer, lr, train, batches)
        assert (
            np.isfinite(ref_final) and ref_final < 20
        )  # a real comparison, not NaN == NaN
        np.testing.assert_allclose(curves[r], ref_curve, rtol=1e-6, atol=0)
        assert final[r] == pytest.approx(ref_final, rel=1e-6)
    # The copies really trained apart: different lrs end at different losses.
    assert len(set(np.round(final, 6))) == len(lrs)


def test_batch_order_is_epochs_of_permutations_and_seeded():
    order = mt.batch_order(10, 7, 4, seed=5)
    assert order.shape == (7, 4)
    flat = order.flatten()
    assert sorted(flat[:10].tolist()) == list(range(10))  # epoch 1
    assert sorted(flat[10:20].tolist()) == list(range(10))  # epoch 2
    assert torch.equal(order, mt.batch_order(10, 7, 4, seed=5))
    assert not torch.equal(order, mt.batch_order(10, 7, 4, seed=6))


def quick_slice(param, optimizer, widths, log2_lrs):
    """The quick configuration (100 characters, 80 steps of batch 32, seed 0) on fewer
    widths and a slice of its grid, to fit the test budget."""
    q = mt.QUICK
    train = mt.training_set(None, q.num_classes, device="cpu")
    return mt.lr_sweep(
        param,
        optimizer,
        widths,
        log2_lrs,
        steps=q.steps,
        batch_size=q.batch_size,
        seeds=q.seeds,
        eval_size=q.eval_size,
        base_width=q.base_width,
        data=train,
        device="cpu",
        progress=False,
    )


def test_adam_optimum_transfers_under_mup_and_shifts_under_sp():
    """Real Omniglot, Adam, widths 128 and 2048 (the quick configuration's extremes).
    Measured for seeds 0, 1, 2 (all three widths): muP best log2 lr -7 -> -7 or -6,
    SP -7 -> -9, every time."""
    needs_omniglot()
    grid = range(-10, -4)
    mup = quick_slice("mup", "adam", [128, 2048], grid)
    sp = quick_slice("sp", "adam", [128, 2048], grid)
    # The same network at the base width (128): identical curves.
    np.testing.assert_array_equal(mup.loss[:, 0], sp.loss[:, 0])
    for s in (mup, sp):
        assert not s.at_edge().any(), (
            s.label,
            s.best_lr_index(),
        )  # optima inside the grid
        assert not s.diverged.any()
    assert mup.shift_in_grid_steps() <= 1, mup.best_lr_index()
    assert sp.shift_in_grid_steps() >= 2, sp.best_lr_index()
    # SP's optimum moves towards small learning rates: its updates grow with width.
    assert sp.best_lr_index()[1] < sp.best_lr_index()[0]


def test_sgd_optimum_transfers_under_mup():
    """Measured for seeds 0, 1, 2: muP best log2 lr -1 or 0 at width 128, 0 at 2048."""
    needs_omniglot()
    s = quick_slice("mup", "sgd", [128, 2048], range(-2, 2))
    assert not s.at_edge().any(), s.best_lr_index()
    assert s.shift_in_grid_steps() <= 1, s.best_lr_index()


def test_divergence_is_marked_and_plotted_not_hidden():
    train = synthetic()
    s = mt.lr_sweep(
        "sp",
        "sgd",
        [32, 64],
        [-4, 0, 4, 8],
        steps=8,
        batch_size=16,
        base_width=32,
        data=train,
        device="cpu",
        progress=False,
    )
    # lr 2^8 blows up at every width; 2^-4 trains fine.
    assert s.diverged[:, :, -1].all() and not s.diverged[:, :, 0].any()
    assert np.all(
        ~np.isfinite(s.loss[:, :, -1]) | (s.loss[:, :, -1] > 10 * math.log(5))
    )
    assert np.all(s.best_lr_index() < 3)  # the optimum is never a diverged run
    assert np.isnan(s.mean_loss()[:, -1]).all()
    fig = plot_sweep({("sp", "sgd"): s})
    ax = fig.axes[0]
    x_marks = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    assert x_marks and sum(len(ln.get_xdata()) for ln in x_marks) == int(
        s.diverged.any(0).sum()
    )
    for ln in ax.get_lines():
        assert np.all(
            np.isfinite(np.asarray(ln.get_ydata(), dtype=float))
        )  # no NaN drawn
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_best_lr_ignores_diverged_runs_and_shift_counts_grid_steps():
    loss = np.array(
        [[[3.0, 2.0, 1.0, 0.5], [3.0, 1.0, 2.0, 2.5], [1.0, 2.0, 3.0, 4.0]]]
    )
    diverged = np.zeros_like(loss, dtype=bool)
    diverged[0, 0, 3] = True  # 0.5 diverged: width 0's optimum is index 2
    s = mt.Sweep(
        "sp",
        "adam",
        np.array([64, 128, 256]),
        np.arange(-4.0, 0.0),
        (0,),
        loss,
        diverged,
        np.zeros(loss.shape + (1,)),
        10,
        1,
        8,
        64,
        2,
    )
    assert s.best_lr_index().tolist() == [2, 1, 0]
    assert s.best_lr().tolist() == [2.0**-2, 2.0**-3, 2.0**-4]
    assert s.shift_in_grid_steps() == 2
    assert s.at_edge().tolist() == [False, False, True]
    s.diverged[0, 2] = True  # every lr diverged at width 256
    assert s.best_lr_index()[2] == -1
    with pytest.raises(
        ValueError, match="every learning rate diverged at widths \\[256\\]"
    ):
        s.shift_in_grid_steps()


def test_same_seed_gives_the_same_numbers():
    train = synthetic()
    kw = dict(
        steps=5,
        batch_size=16,
        base_width=32,
        data=train,
        device="cpu",
        progress=False,
    )
    a = mt.lr_sweep("mup", "adam", [32, 64], [-8, -6], seeds=(0, 1), **kw)
    b = mt.lr_sweep("mup", "adam", [32, 64], [-8, -6], seeds=(0, 1), **kw)
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.curves, b.curves)
    c = mt.lr_sweep("mup", "adam", [32, 64], [-8, -6], seeds=(2,), **kw)
    assert not np.array_equal(a.loss[0], c.loss[0])
    # A seed's numbers do not depend on which other seeds run with it.
    d = mt.lr_sweep("mup", "adam", [32, 64], [-8, -6], seeds=(1,), **kw)
    np.testing.assert_array_equal(a.loss[1], d.loss[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(param="ntk"), "param must be one of"),
        (dict(optimizer="rmsprop"), "optimizer must be one of"),
        (dict(widths=[64]), "at least 2 widths"),
        (dict(widths=[64, 32]), "strictly increasing"),
        (dict(widths=[0, 32]), "every entry of widths must be a positive integer"),
        (dict(log2_lrs=[]), "at least two learning rates"),
        (dict(log2_lrs=[-3, -1, 0]), "evenly spaced"),
        (dict(log2_lrs=[-3, float("nan")]), "finite"),
        (dict(steps=0), "steps must be a positive integer"),
        (dict(batch_size=1000), "exceeds the 240 training images"),
        (dict(seeds=()), "at least one seed"),
        (dict(num_classes=7), "num_classes=7 but the given TrainSet has 5"),
        (dict(data=None, num_classes=1), "num_classes must be an integer in 2..964"),
        (
            dict(data=None, num_classes=965),
            "num_classes must be an integer in 2..964",
        ),
        (dict(dtype=torch.float16), "dtype must be"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    args = dict(
        param="mup",
        optimizer="sgd",
        widths=[32, 64],
        log2_lrs=[-2, -1],
        steps=2,
        batch_size=16,
        data=synthetic(),
        device="cpu",
        progress=False,
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        mt.lr_sweep(
            args.pop("param"),
            args.pop("optimizer"),
            args.pop("widths"),
            args.pop("log2_lrs"),
            **args,
        )


def test_bad_configurations_and_learning_rates_raise_value_error():
    with pytest.raises(ValueError, match="scale must be one of"):
        mt.config("huge")
    with pytest.raises(ValueError, match="cfg must be a Config"):
        mt.run({"widths": (1, 2)})
    with pytest.raises(ValueError, match="no learning-rate grid for 'adam'"):
        mt.run(mt.QUICK.replace(log2_lrs={"sgd": (0, 1)}), combos=[("mup", "adam")])
    model = MuMLP(mt.D_IN, 32, 5, "mup", base_width=32)
    with pytest.raises(ValueError, match="positive and finite"):
        mt.LrBatch(model, "sgd", [0.1, -1.0])
    with pytest.raises(ValueError, match="activations"):
        mt.LrBatch(MuMLP(mt.D_IN, 32, 5, "mup", activation="gelu"), "sgd", [0.1])


def test_cli_writes_valid_json_with_provenance(tmp_path):
    needs_omniglot()
    out = tmp_path / "sub" / "mutransfer.json"
    argv = [
        "--scale",
        "quick",
        "--widths",
        "128",
        "256",
        "--steps",
        "3",
        "--num-classes",
        "10",
        "--seeds",
        "4",
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert mt.main(argv) == 0
    text = out.read_text()

    def reject(constant):
        raise AssertionError(f"{constant} is not valid JSON")

    doc = json.loads(text, parse_constant=reject)
    assert doc["config"]["widths"] == [128, 256] and doc["config"]["steps"] == 3
    assert doc["config"]["seeds"] == [4] and doc["config"]["num_classes"] == 10
    assert set(doc["sweeps"]) == {"sp-sgd", "mup-sgd", "sp-adam", "mup-adam"}
    prov = doc["provenance"]
    assert prov["command"][-len(argv) :] == argv
    assert prov["git_revision"] is None or len(prov["git_revision"]) == 40
    assert prov["git_dirty"] in (None, True, False)
    assert {"platform", "torch", "device_name", "cpu_count"} <= set(prov["hardware"])
    assert prov["seeds"] == [4] and prov["date_utc"].endswith("+00:00")
    recorded = mt.load_results(out.parent)
    assert list(recorded) == ["mutransfer"]
    s = mt.sweeps(recorded["mutransfer"])[("mup", "adam")]
    assert s.loss.shape == (1, 2, len(mt.QUICK.log2_lrs["adam"]))
    assert s.best_lr_index().tolist() == doc["summary"]["mup-adam"]["best_lr_index"]
    assert plot_sweep(mt.sweeps(doc)).axes


def test_cli_help_works(capsys):
    with pytest.raises(SystemExit) as exit_info:
        mt.main(["--help"])
    assert exit_info.value.code == 0
    assert "--scale" in capsys.readouterr().out

"""mupbook.studies.coord_check: coordinate checks separate muP (flat) from SP (blowing up)."""

import numpy as np
import pytest
import torch

from mupbook.nn import MuMLP
from mupbook.studies import coord_check as coord
from mupbook.viz.coord_check import plot_coord_check

WIDTHS = [64, 128, 256, 512, 1024, 2048]


def batch():
    return coord.toy_batch(64, 32, 4, seed=0)


def factory(param):
    # Base width 16, below the sweep, so that every width is "wide" (at the base width
    # muP is SP and its outputs at init are O(1), a finite-width effect of its own).
    return lambda n, g: MuMLP(32, n, 4, param, depth=2, base_width=16, generator=g)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.5), ("adam", 0.01)])
def test_mup_coordinates_and_their_changes_are_flat_in_width(optimizer, lr):
    # Measured over three data seeds: every slope within 0.05; the test allows 0.1.
    c = coord.mlp_coord_check(
        "mup", optimizer, lr, WIDTHS, steps=5, seeds=(0, 1, 2), progress=False
    )
    slopes = np.concatenate(
        [c.slopes("size")[1:], c.slopes("delta")[1:]]
    )  # steps 1..5
    assert np.all(np.abs(slopes) < 0.1), slopes
    # The output at init is muP's n^-1/2 (readout variance 1/(n_0 m^2)); it is the one
    # slope that is not 0, by design.
    assert c.slopes("size")[0, -1] == pytest.approx(-0.5, abs=0.1)
    assert not c.diverged.any()


def test_sp_with_fixed_learning_rate_blows_up_the_readout():
    c = coord.mlp_coord_check("sp", "sgd", 0.1, WIDTHS, seeds=(0,), progress=False)
    assert c.slopes("delta")[1, -1] > 0.5  # the output's change grows with width


def test_divergence_is_marked_and_total_divergence_is_an_error():
    c = coord.coord_check(
        factory("sp"),
        [64, 4096],
        *batch(),
        steps=5,
        optimizer="sgd",
        lr=2,
        progress=False,
    )
    assert (
        c.diverged[0, -1] and np.isnan(c.size[0, -1]).all() and not c.diverged[0, 0]
    )
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        coord.coord_check(
            factory("sp"), [64, 4096], *batch(), steps=5, lr=1e3, progress=False
        )


def test_cross_entropy_targets_are_supported_and_layers_named():
    x, _ = batch()
    y = torch.arange(64) % 4
    c = coord.coord_check(
        factory("mup"), [64, 128], x, y, steps=2, loss="xent", progress=False
    )
    assert c.layers == ["x^1", "x^2", "output"] and c.size.shape == (1, 2, 3, 3)


def test_plot_has_one_panel_per_step():
    import matplotlib

    matplotlib.use("Agg")
    c = coord.coord_check(
        factory("mup"), [64, 128], *batch(), steps=3, progress=False
    )
    fig = plot_coord_check(c, "delta")
    assert len(fig.axes) == 3


@pytest.mark.parametrize(
    "kwargs, msg",
    [(dict(steps=0), "steps"), (dict(loss="l1"), "loss"), (dict(seeds=()), "seeds")],
)
def test_bad_arguments_are_refused(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        coord.coord_check(
            factory("mup"), [64, 128], *batch(), progress=False, **kwargs
        )


@pytest.mark.parametrize("optimizer", ["adagrad", "rmsprop", "SGD", None])
def test_an_unknown_optimizer_is_refused_not_run_as_adam(optimizer):
    x, y = coord.toy_batch(8, 4, 2)
    with pytest.raises(ValueError, match="optimizer must be one of 'sgd', 'adam'"):
        coord.coord_check(
            lambda n, g: MuMLP(4, n, 2, "mup", base_width=8, generator=g),
            [16, 32],
            x,
            y,
            steps=1,
            optimizer=optimizer,
            progress=False,
        )


def test_a_non_finite_learning_rate_is_refused():
    x, y = coord.toy_batch(8, 4, 2)
    with pytest.raises(ValueError, match="lr must be a finite number"):
        coord.coord_check(
            lambda n, g: MuMLP(4, n, 2, "mup", base_width=8, generator=g),
            [16, 32],
            x,
            y,
            steps=1,
            lr=float("nan"),
            progress=False,
        )


def test_mystery_mlp_is_mup_but_for_one_tensor_the_hidden_adam_rate():
    from mupbook.exercises import EXERCISES

    mystery = coord.mystery_mlp(256, torch.Generator().manual_seed(0))
    mup = MuMLP(32, 256, 4, "mup", depth=2, base_width=16, bias=False)
    differ = [
        name
        for (name, _, s), (_, _, s_mup) in zip(
            mystery.named_scalings(), mup.named_scalings()
        )
        if s != s_mup
    ]
    assert differ == ["weights.1"]  # W^2, the hidden matrix
    assert EXERCISES["ch05-debug-coord"].reference() == "hidden weights"


def test_coordinate_check_of_the_mystery_mlp_points_at_the_hidden_layer():
    cc = coord.coord_check(
        coord.mystery_mlp,
        [64, 128, 256, 512],
        *batch(),
        steps=1,
        optimizer="adam",
        lr=0.01,
        progress=False,
    )
    change = dict(zip(cc.layers, cc.slopes("delta")[1]))
    assert abs(change["x^1"]) < 0.15, change  # the input layer is right
    assert change["x^2"] > 0.5 and change["output"] > 0.5, change  # W^2 is not

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
    assert EXERCISES["ch06-debug-coord"].reference() == "hidden weights"


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


# ------------------------------------------------------------------------------ the GPT


def gpt_batch():
    g = torch.Generator().manual_seed(0)
    return (
        torch.randint(0, 27, (2, 16), generator=g),
        torch.randint(0, 27, (2, 16), generator=g),
    )


def text_batch():
    """Two blocks of 16 characters of the corpus (the chapter's batch)."""
    import os

    from mupbook.data import chars

    raw = os.environ.get("MUPBOOK_DATA", "").strip()
    if not raw or not os.path.isfile(
        os.path.join(raw, "text", "offline_corpus.txt.gz")
    ):
        pytest.skip("MUPBOOK_DATA is unset or holds no text/offline_corpus.txt.gz")
    text = chars.load(max_chars=2_000_000)
    return tuple(b[0] for b in chars.train_batches(text.train, 1, 2, 16, seed=0))


def test_gpt_coordinate_check_tracks_every_named_activation_from_tokens():
    c = coord.gpt_coord_check(
        "mup", *gpt_batch(), [32, 64], steps=2, seeds=(0,), progress=False
    )
    assert c.layers[0] == "embedding" and c.layers[-1] == "output"
    assert "block1.attn_logits" in c.layers and len(c.layers) == 12
    assert c.size.shape == (1, 2, 3, 12) and not c.diverged.any()
    # zero query and zero readout (muP's default here): scores and output start at 0
    assert c.size[0, :, 0, c.layers.index("block0.attn_logits")].max() == 0
    assert c.size[0, :, 0, -1].max() == 0
    assert c.slopes_at("size", [2], ["embedding"]).shape == (1, 1)
    with pytest.raises(ValueError, match="unknown layers"):
        c.slopes_at("size", [1], ["x^1"])


#: The chapter's quick coordinate check: widths 128 to 512, Adam 0.03, 12 steps, 3 seeds.
CHAPTER_WIDTHS = [128, 256, 512]


@pytest.mark.slow
def test_gpt_sp_scores_and_output_grow_and_mup_stays_flat():
    """The chapter's claims at the chapter's quick set-up: SP's attention scores and
    output grow (slope >= 0.4), muP's scores do not grow (slope < 0.1) and its other
    activations are flat within 0.1."""
    x, y = text_batch()
    sp = coord.gpt_coord_check("sp", x, y, CHAPTER_WIDTHS, progress=False)
    mu = coord.gpt_coord_check("mup", x, y, CHAPTER_WIDTHS, progress=False)
    logits = [n for n in mu.layers if n.endswith("attn_logits")]
    others = [n for n in mu.layers if n not in logits]
    assert sp.slopes_at("size", range(3, 13), logits + ["output"]).min() >= 0.4
    for kind in ("size", "delta"):
        assert mu.slopes_at(kind, range(6, 13), logits).max() < 0.1
        assert np.abs(mu.slopes_at(kind, range(2, 13), others)).max() < 0.1


@pytest.mark.slow
def test_gpt_coordinate_check_catches_one_over_sqrt_d_attention_in_mup(monkeypatch):
    # the chapter's text: with the bug the first block's scores grow, slope above 0.15
    from mupbook import transformer

    monkeypatch.setattr(transformer, "attention_multiplier", lambda p, d, d0: d**-0.5)
    x, y = text_batch()
    mu = coord.gpt_coord_check("mup", x, y, CHAPTER_WIDTHS, progress=False)
    assert mu.slopes_at("size", range(6, 13), ["block0.attn_logits"]).min() > 0.15


@pytest.mark.slow
def test_gpt_coordinate_check_catches_a_zero_readout_without_its_multiplier(
    monkeypatch,
):
    # zero init alone is not muP: a readout at SP's scale (multiplier 1) blows up
    from mupbook import transformer

    monkeypatch.setattr(transformer, "readout_multiplier", lambda p, n, n0: 1.0)
    mu = coord.gpt_coord_check(
        "mup", *gpt_batch(), [128, 256, 512], steps=4, seeds=(0,), progress=False
    )
    assert mu.slopes_at("size", range(1, 5), ["output"]).max() > 0.5

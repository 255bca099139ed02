"""One muP, three spellings (mupbook.studies.spellings): the maps between them are exact
where they should be, and only there."""

from fractions import Fraction

import pytest
import torch

from mupbook.abc import mup
from mupbook.nn import AbcMLP, tp5_scalings
from mupbook.studies import spellings as sp


def _triples(scalings):
    """init std, multiplier and SGD learning rate of every tensor, in one flat list"""
    return [v for s in scalings for v in (s.init_std, s.multiplier, s.sgd_lr)]


@pytest.mark.parametrize(
    "activation,depth", [("relu", 2), ("linear", 2), ("relu", 3)]
)
def test_three_spellings_of_mup_train_a_homogeneous_mlp_with_biases_to_the_same_function(
    activation, depth
):
    # width 300: the factors n^(+-1/2) are not powers of two, so rounding differs
    out = sp.train_spellings(activation, depth=depth, width=300, steps=20)
    assert float(out["tp4"].abs().max()) > 0.5  # trained: outputs of order one
    gaps = sp.disagreement(out)
    assert max(gaps.values()) < 1e-10, gaps


@pytest.mark.parametrize("activation", ["tanh", "gelu"])
def test_abc_symmetry_holds_for_tanh_and_gelu_but_moving_multipliers_does_not(
    activation,
):
    gaps = sp.disagreement(sp.train_spellings(activation, width=300, steps=20))
    assert gaps["tp5"] < 1e-10
    assert gaps["sgd"] > 0.1


def test_tp5_spelling_is_mumlp_table3_at_base_width_one():
    d_in, width, d_out, depth = 8, 300, 2, 3
    ws, bs = sp.spellings(depth)["tp5"].scalings(d_in, width)
    ref_w, ref_b = tp5_scalings("mup", "table3", d_in, width, d_out, depth, 1)
    assert _triples(ws) == pytest.approx(_triples(ref_w), rel=1e-15)
    assert _triples(bs) == pytest.approx(_triples(ref_b), rel=1e-15)


def test_tp4_spelling_is_abc_mlp_in_mup():
    # AbcMLP puts the input's 1/sqrt(d_in) in the multiplier, the spellings in the init:
    # the same for d_in = 1
    width, depth = 300, 2
    net = AbcMLP(1, width, 2, "mup", depth=depth, bias=True)
    ws, bs = sp.spellings(depth)["tp4"].scalings(1, width)
    assert _triples(ws) == pytest.approx(_triples(net.weight_scalings), rel=1e-15)
    assert _triples(bs) == pytest.approx(_triples(net.bias_scalings), rel=1e-15)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_moved_multipliers_sum_to_zero_and_leave_none(depth):
    h = sp.homogeneity_shift(depth)
    assert sum(h) == 0
    third = sp.spellings(depth)["sgd"]
    assert set(third.a) == {Fraction(0)} and set(third.bias_a) == {Fraction(0)}
    assert set(third.b) == {Fraction(1, 2)} and set(third.c) == {Fraction(0)}
    second = sp.spellings(depth)["tp5"]
    assert second.c == tuple(2 * x for x in mup(depth).a)  # c - 2t with t = -a


def test_table_rows_come_from_the_spellings():
    header, rows = sp.spelling_table(2)
    by_tensor = {r[0]: dict(zip(header, r)) for r in rows}
    out = by_tensor["output weights W^3"]
    assert out["TP4: a, b, c"] == "1/2, 1/2, 0"
    assert out["TP5 Table 3: init var, SGD lr"] == "1/n^2, η/n"
    assert out["N(0, 1/n): init var, SGD lr"] == "1/n, η"
    assert (
        by_tensor["input weights W^1"]["TP5 Table 3: init var, SGD lr"] == "1/d, η n"
    )
    assert {r[-1].split(", ")[1] for r in rows} == {"η"}  # one learning rate
    _, maps = sp.maps_table()
    assert "ReLU" in maps[2][2] and "tanh" in maps[2][2]


def test_spellings_draw_the_same_normals():
    s = sp.spellings(2)
    a = sp.model(s["tp4"], 8, 300, 2, seed=3)
    c = sp.model(s["sgd"], 8, 300, 2, seed=3)
    # the same standard normals: effective weights differ by the moved factor n^(-1/2)
    torch.testing.assert_close(
        c.effective_weight(1), a.effective_weight(1) / 300**0.5, rtol=1e-13, atol=0
    )

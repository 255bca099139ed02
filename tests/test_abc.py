"""mupbook.abc: presets match TP4 Table 1, exponents are exact, bad input is refused."""

from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mupbook.abc import ABC, as_abc, classify, mfp, mup, ntp, preset, sp


def test_presets_match_table_1_for_depth_3():
    assert (
        mup(3).a == (F(-1, 2), 0, 0, F(1, 2))
        and mup(3).b == (F(1, 2),) * 4
        and mup(3).c == 0
    )
    assert (
        ntp(3).a == (0, F(1, 2), F(1, 2), F(1, 2))
        and ntp(3).b == (0,) * 4
        and ntp(3).c == 0
    )
    assert (
        sp(3).a == (0,) * 4
        and sp(3).b == (0, F(1, 2), F(1, 2), F(1, 2))
        and sp(3).c == 1
    )
    assert mfp().a == (0, 1) and mfp().b == (0, 0) and mfp().c == -1


def test_exponents_are_exact_fractions():
    p = ABC(("1/3", 0.5), (F(2, 3), 0), "-1/2")
    assert p.a == (F(1, 3), F(1, 2)) and p.c == F(-1, 2)
    assert all(isinstance(x, F) for x in p.a + p.b)


def test_shift_symmetry_keeps_a_plus_b_and_2a_plus_c():
    p, q = mup(2), mup(2).shifted(F(1, 2))
    assert [x + y for x, y in zip(p.a, p.b)] == [x + y for x, y in zip(q.a, q.b)]
    assert [2 * x + p.c for x in p.a] == [2 * x + q.c for x in q.a]


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(a=(0,), b=(0,), c=0), "L\\+1 >= 2"),
        (dict(a=(0, 0), b=(0,), c=0), "one entry per layer"),
        (dict(a=(0, "x"), b=(0, 0), c=0), "not a number"),
        (dict(a=(0, 0.1), b=(0, 0), c=0), "exact small fraction"),
        (dict(a=(0, None), b=(0, 0), c=0), "must be a number"),
        (dict(a="01", b=(0, 0), c=0), "sequences"),
    ],
)
def test_bad_exponents_are_refused(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        ABC(**kwargs)


@pytest.mark.parametrize(
    "name, depth, msg",
    [
        ("xp", 2, "unknown"),
        ("mfp", 2, "depth 1"),
        ("mup", 0, ">= 1"),
        ("mup", 1.5, ">= 1"),
    ],
)
def test_bad_preset_requests_are_refused(name, depth, msg):
    with pytest.raises(ValueError, match=msg):
        preset(name, depth)


def test_as_abc_checks_depth():
    assert as_abc("muP", 2) == mup(2)
    with pytest.raises(ValueError, match="hidden layers"):
        as_abc(mup(3), 2)


# --- classify: TP4 Theorem 3.3 --------------------------------------------------------


@pytest.mark.parametrize(
    "p, regime, r",
    [
        (sp(2), "kernel", F(1, 2)),
        (ntp(2), "kernel", F(1, 2)),
        (mfp(), "feature learning", 0),
        (mup(1), "feature learning", 0),
        (mup(4), "feature learning", 0),
        (sp(2, c=0), "unstable", -1),
    ],
)
def test_classify_gives_table_1_verdicts(p, regime, r):
    v = classify(p)
    assert v.regime == regime and v.r == r
    assert v.feature_learning == (regime == "feature learning")
    assert v.kernel_regime == (regime == "kernel")


def test_mup_updates_every_layer_maximally_and_sp_none_of_the_hidden_ones():
    v = classify(mup(3))
    assert v.maximal_layers == (1, 2, 3) and v.readout_updated_maximally
    assert v.readout_initialized_maximally
    assert (
        classify(sp(3)).maximal_layers == () and classify(ntp(3)).maximal_layers == ()
    )


def test_plain_sp_says_which_inequalities_broke():
    v = classify(sp(2, c=0))
    assert not v.stable
    assert any("r = -1 must be >= 0" in f for f in v.failures)
    assert any("2 a_3 + c = 0 must be >= 1" in f for f in v.failures)


def test_failed_init_condition_is_named():
    v = classify((0, 0, F(1, 2)), (0, 0, F(1, 2)), 0)  # hidden a + b = 0, not 1/2
    assert not v.stable and any("a_2 + b_2 = 0 must be 1/2" in f for f in v.failures)


def test_trivial_parametrization_is_reported():
    v = classify((0, 1), (0, F(1, 2)), 0)  # readout too small to ever move the output
    assert v.stable and not v.nontrivial and v.regime == "trivial"
    assert any(f.startswith("trivial") for f in v.failures)


def test_classify_takes_three_parts_or_one_abc():
    assert classify(mup(2).a, mup(2).b, mup(2).c).regime == "feature learning"
    with pytest.raises(ValueError, match="a, b and c"):
        classify((0, 0), (0, 0))


@pytest.mark.parametrize(
    "args", [((0,), (0,), 0), ((0, 0), (0, 0, 0), 0), ((0, "z"), (0, 0), 0)]
)
def test_classify_refuses_bad_input(args):
    with pytest.raises(ValueError):
        classify(*args)


exponents = st.fractions(min_value=-2, max_value=2, max_denominator=4)


@st.composite
def abcs(draw):
    L = draw(st.integers(1, 4))
    return ABC(
        tuple(draw(exponents) for _ in range(L + 1)),
        tuple(draw(exponents) for _ in range(L + 1)),
        draw(exponents),
    )


@settings(max_examples=300, deadline=None)
@given(abcs(), exponents)
def test_verdict_is_invariant_under_the_abc_symmetry(p, t):
    v, w = classify(p), classify(p.shifted(t))
    assert (v.r, v.r_layers, v.stable, v.nontrivial, v.regime) == (
        w.r,
        w.r_layers,
        w.stable,
        w.nontrivial,
        w.regime,
    )
    assert len(v.failures) == len(w.failures)


@settings(max_examples=300, deadline=None)
@given(abcs())
def test_dichotomy_every_stable_nontrivial_abc_is_kernel_xor_feature_learning(p):
    v = classify(p)
    if v.stable and v.nontrivial:
        assert v.kernel_regime != v.feature_learning
        assert not v.failures
    else:
        assert not v.kernel_regime and not v.feature_learning and v.failures


@settings(max_examples=300, deadline=None)
@given(abcs())
def test_mup_is_the_unique_stable_abc_with_every_layer_maximal(p):
    v = classify(p)
    everything_maximal = (
        v.stable
        and len(v.maximal_layers) == p.depth
        and v.readout_updated_maximally
        and v.readout_initialized_maximally
    )
    t = p.a[0] - mup(p.depth).a[0]
    assert everything_maximal == (
        p
        == ABC(
            mup(p.depth).shifted(t).a,
            mup(p.depth).shifted(t).b,
            mup(p.depth).shifted(t).c,
            p.name,
        )
    )


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 4),
    exponents,
    st.integers(0, 8),
    st.sampled_from([-F(1, 4), F(1, 4)]),
)
def test_moving_any_single_mup_exponent_loses_maximality(L, t, which, eps):
    p = mup(L).shifted(t)
    v = classify(p)
    assert v.stable and len(v.maximal_layers) == L and v.readout_updated_maximally
    a, b, c = list(p.a), list(p.b), p.c
    k = which % (2 * (L + 1) + 1)
    if k < L + 1:
        a[k] += eps
    elif k < 2 * (L + 1):
        b[k - L - 1] += eps
    else:
        c += eps
    w = classify(a, b, c)
    assert not (
        w.stable
        and len(w.maximal_layers) == L
        and w.readout_updated_maximally
        and w.readout_initialized_maximally
    )


def test_regime_map_puts_presets_in_their_regimes():
    from mupbook.abc import regime_map

    template = ABC(
        (0, 0), (0, 0), 0
    )  # one hidden layer, input layer a = b = 0, b_2 = 0
    grid = regime_map(template, [F(1, 2), 1, 0], [0, -1, 2])
    assert grid[0][0] == "kernel"  # (a_2, c) = (1/2, 0): NTP
    assert grid[1][1] == "feature learning"  # (1, -1): MFP, i.e. muP
    assert grid[2][2] == "unstable"  # readout a = 0 and c = 2: r < 0


def test_classify_refuses_strings_for_a_and_b_instead_of_reading_digits():
    # "05" used to be read character by character as a = (0, 5)
    with pytest.raises(ValueError, match="not strings"):
        classify("05", "00", 0)
    with pytest.raises(ValueError, match="not strings"):
        classify([0, "1/2"], "00", 0)


@pytest.mark.parametrize("where", ["a", "b", "c"])
def test_classify_names_the_parameter_that_is_nan_or_infinite(where):
    a, b, c = [0.0, 0.5], [0.0, 0.5], 0.0
    bad = float("nan")
    args = {
        "a": ([0.0, bad], b, c),
        "b": (a, [bad, 0.5], c),
        "c": (a, b, float("inf")),
    }[where]
    name = {"a": "a_2", "b": "b_1", "c": "c"}[where]
    with pytest.raises(ValueError, match=f"{name} must be a finite number"):
        classify(*args)


# --- first_step_exponent: the size of one SGD update ---------------------------------


@pytest.mark.parametrize(
    "p, exponents",
    [
        (mup(2), (0, 0)),
        (ntp(2), (F(-1, 2), F(-1, 2))),
        (sp(2, c=0), (F(-1, 2), F(1, 2))),
        (sp(2), (F(-3, 2), F(-1, 2))),
        (mfp(), (0,)),
    ],
)
def test_first_step_exponent_of_the_presets(p, exponents):
    from mupbook.abc import first_step_exponent

    assert (
        tuple(first_step_exponent(p, l) for l in range(1, p.depth + 1)) == exponents
    )


@st.composite
def stable_at_init(draw):
    L = draw(st.integers(1, 4))
    a = tuple(draw(exponents) for _ in range(L + 1))
    b = (
        (-a[0],)
        + tuple(F(1, 2) - x for x in a[1:L])
        + (
            F(1, 2)
            - a[L]
            + draw(st.fractions(min_value=0, max_value=1, max_denominator=4)),
        )
    )
    return ABC(a, b, draw(exponents))


@settings(max_examples=200, deadline=None)
@given(stable_at_init(), exponents)
def test_first_step_exponent_is_minus_r_l_until_the_readout_moves(p, t):
    from mupbook.abc import first_step_exponent

    v = classify(p)
    for l in range(1, p.depth + 1):
        s = first_step_exponent(p, l)
        assert s == first_step_exponent(p.shifted(t), l)  # the abc symmetry
        u, readout_step = p.a[-1] + p.b[-1], 2 * p.a[-1] + p.c
        if u <= readout_step:  # then TP4's min picks the initialization term
            assert s == -v.r_layers[l - 1]
        else:  # the readout's own update dominates later steps: r_l is smaller
            assert -s > v.r_layers[l - 1]


def test_first_step_exponent_needs_stability_at_init():
    from mupbook.abc import first_step_exponent

    with pytest.raises(ValueError, match="not stable at initialization"):
        first_step_exponent(ABC((0, 0, 0), (0, 0, F(1, 2)), 0), 2)
    with pytest.raises(ValueError, match="hidden layer 1..2"):
        first_step_exponent(mup(2), 3)


def test_phase_picture_of_one_hidden_layer_puts_learning_on_one_line():
    # Chapter 4's phase diagrams: a_1 = b_1 = 0, b_2 in {0, 1/2}, a_2 and c on a grid.
    import numpy as np

    from mupbook.abc import regime_map

    a_grid = np.arange(-0.5, 1.5001, 0.0625)
    c_grid = np.arange(-2.0, 2.0001, 0.0625)
    for b2 in (0, F(1, 2)):
        m = regime_map(ABC((0, 0), (0, b2), 0), a_grid, c_grid)
        learning = [
            (F(a).limit_denominator(16), F(c).limit_denominator(16), m[i][j])
            for i, c in enumerate(c_grid)
            for j, a in enumerate(a_grid)
            if m[i][j] in ("kernel", "feature learning")
        ]
        assert learning and all(2 * a + c == 1 for a, c, _ in learning)  # one line
        assert [(a, c) for a, c, g in learning if g == "feature learning"] == [
            (1, -1)
        ]
        rs = [classify((0, a), (0, b2), c).r for a, c, _ in sorted(learning)]
        assert all(x > y for x, y in zip(rs, rs[1:])) and rs[-1] == 0
    assert classify(ntp(1)).r == F(1, 2) and classify(sp(1)).r == F(3, 2)

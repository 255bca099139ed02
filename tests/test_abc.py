"""mupbook.abc: presets match TP4 Table 1, exponents are exact, bad input is refused."""

from fractions import Fraction as F

import pytest

from mupbook.abc import ABC, as_abc, mfp, mup, ntp, preset, sp


def test_presets_match_table_1_for_depth_3():
    assert mup(3).a == (F(-1, 2), 0, 0, F(1, 2)) and mup(3).b == (F(1, 2),) * 4 and mup(3).c == 0
    assert ntp(3).a == (0, F(1, 2), F(1, 2), F(1, 2)) and ntp(3).b == (0,) * 4 and ntp(3).c == 0
    assert sp(3).a == (0,) * 4 and sp(3).b == (0, F(1, 2), F(1, 2), F(1, 2)) and sp(3).c == 1
    assert mfp().a == (0, 1) and mfp().b == (0, 0) and mfp().c == -1


def test_exponents_are_exact_fractions():
    p = ABC(("1/3", 0.5), (F(2, 3), 0), "-1/2")
    assert p.a == (F(1, 3), F(1, 2)) and p.c == F(-1, 2)
    assert all(isinstance(x, F) for x in p.a + p.b)


def test_shift_symmetry_keeps_a_plus_b_and_2a_plus_c():
    p, q = mup(2), mup(2).shifted(F(1, 2))
    assert [x + y for x, y in zip(p.a, p.b)] == [x + y for x, y in zip(q.a, q.b)]
    assert [2 * x + p.c for x in p.a] == [2 * x + q.c for x in q.a]


@pytest.mark.parametrize("kwargs, msg", [
    (dict(a=(0,), b=(0,), c=0), "L\\+1 >= 2"),
    (dict(a=(0, 0), b=(0,), c=0), "one entry per layer"),
    (dict(a=(0, "x"), b=(0, 0), c=0), "not a number"),
    (dict(a=(0, 0.1), b=(0, 0), c=0), "exact small fraction"),
    (dict(a=(0, None), b=(0, 0), c=0), "must be a number"),
    (dict(a="01", b=(0, 0), c=0), "sequences"),
])
def test_bad_exponents_are_refused(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        ABC(**kwargs)


@pytest.mark.parametrize("name, depth, msg", [("xp", 2, "unknown"), ("mfp", 2, "depth 1"),
                                              ("mup", 0, ">= 1"), ("mup", 1.5, ">= 1")])
def test_bad_preset_requests_are_refused(name, depth, msg):
    with pytest.raises(ValueError, match=msg):
        preset(name, depth)


def test_as_abc_checks_depth():
    assert as_abc("muP", 2) == mup(2)
    with pytest.raises(ValueError, match="hidden layers"):
        as_abc(mup(3), 2)

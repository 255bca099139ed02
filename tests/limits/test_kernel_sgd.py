"""mupbook.limits.kernel_sgd: kernels for TP4's baselines and the bounded dictionary."""

import pytest
import torch

from mupbook import kernels
from mupbook.limits.kernel_sgd import KERNELS, Kernel, KernelMachine


def _x(n, d=12, seed=0):
    return torch.rand(
        n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )


def test_relu_kernels_are_the_tp4_1lp_kernels_of_the_kernels_module():
    x, z = _x(6), _x(4, seed=1)
    ref = kernels.tp4_relu_1lp_kernels(x, z, sigma_w=0.7, sigma_b=0.3, sigma_v=1.2)
    assert torch.equal(Kernel("relu-nngp", 0.7, 0.3, 1.2)(x, z), ref.nngp)
    assert torch.equal(Kernel("relu-ntk", 0.7, 0.3, 1.2)(x, z), ref.ntk)


def test_linear_kernels_are_the_closed_forms():
    x, z = _x(5), _x(3, seed=2)
    dots = x @ z.T
    assert torch.allclose(Kernel("linear-nngp", 2.0, 0.5)(x, z), 4 * dots + 0.25)
    assert torch.allclose(
        Kernel("linear-ntk", 2.0, 0.5, 3.0)(x, z), 4 * dots + 0.25 + 9 * dots
    )


@pytest.mark.parametrize("name", KERNELS)
def test_blocks_are_the_per_task_kernels(name):
    k = Kernel(name)
    x, z = _x(3 * 4).reshape(3, 4, 12), _x(3 * 2, seed=5).reshape(3, 2, 12)
    blocks = k.blocks(x, z)
    for t in range(3):
        assert torch.allclose(blocks[t], k(x[t], z[t]))


def test_machine_is_the_kernel_expansion_and_shared_ids_add_coefficients():
    k = Kernel("relu-ntk")
    m = KernelMachine(k, 12, 3, capacity=10, num_ids=10, chunk=2)
    pts, coef = (
        _x(4),
        torch.randn(
            4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
        ),
    )
    ids = torch.tensor([7, 2, 7, 5])
    pts[2] = pts[0]  # the same image (id 7) twice
    m.add(pts, coef, ids)
    assert m.count == 3  # id 7 shares one row
    probe = _x(5, seed=9)
    want = k(probe, pts) @ coef
    assert torch.allclose(m(probe), want)
    m.add(pts[:1], coef[:1], ids[:1])
    assert m.count == 3 and torch.allclose(
        m(probe), want + k(probe, pts[:1]) @ coef[:1]
    )


def test_rkhs_norm_is_the_quadratic_form():
    k = Kernel("relu-nngp")
    m = KernelMachine(k, 12, 2, capacity=4)
    x, a = (
        _x(4),
        torch.randn(
            4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3)
        ),
    )
    assert torch.isclose(
        m.rkhs_norm(x, a), torch.einsum("ic,ij,jc->", a, k(x, x), a).sqrt()
    )


def test_full_dictionary_is_an_error_that_says_what_to_do_and_state_round_trips():
    m = KernelMachine(Kernel("relu-nngp"), 12, 2, capacity=3)
    m.add(_x(3), torch.ones(3, 2))
    with pytest.raises(MemoryError, match="dictionary is full: 3 of 3 rows"):
        m.add(_x(1), torch.ones(1, 2))
    state = m.state()
    other = KernelMachine(Kernel("relu-nngp"), 12, 2, capacity=5)
    other.load_state(state)
    assert torch.allclose(other(_x(2, seed=4)), m(_x(2, seed=4)))


def test_unknown_kernel_and_bad_scale_are_errors():
    with pytest.raises(ValueError, match="kernel must be one of"):
        Kernel("rbf")
    with pytest.raises(ValueError, match="sigma_w must be"):
        Kernel("relu-ntk", sigma_w=-1.0)


@pytest.mark.parametrize("name", ["linear-nngp", "linear-ntk"])
def test_linear_kernels_fold_the_dictionary_into_weights_exactly(name):
    k = Kernel(name, 1.3, 0.4, 0.8)
    x, z = _x(5), _x(3, seed=6)
    assert torch.allclose(k.features(x) @ k.features(z).T, k(x, z))
    m = KernelMachine(k, 12, 2, capacity=10)
    a = torch.randn(
        3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2)
    )
    m.add(z, a)
    m.add(z[:1], a[:1])
    assert m.count == 0 and m.weights.shape == (2, 13)
    assert torch.allclose(m(x), k(x, z) @ a + k(x, z[:1]) @ a[:1])
    with pytest.raises(ValueError, match="no finite feature map"):
        Kernel("relu-ntk").features(x)


@pytest.mark.parametrize("bad", [-1, 10, 2**40])
def test_ids_outside_the_id_range_are_refused_not_wrapped(bad):
    m = KernelMachine(Kernel("relu-ntk"), 12, 3, capacity=10, num_ids=10)
    m.add(_x(1), torch.ones(1, 3), torch.tensor([9]))
    with pytest.raises(
        ValueError, match=r"ids must lie in \[0, 10\).*got .*" + str(bad)
    ):
        m.add(_x(2, seed=1), torch.ones(2, 3), torch.tensor([3, bad]))
    assert m.count == 1 and int(m.row_of[3]) == -1  # nothing was added


def test_ids_must_be_integers_one_per_point():
    m = KernelMachine(Kernel("relu-ntk"), 12, 3, capacity=10, num_ids=10)
    with pytest.raises(ValueError, match="one id per point: 2 points, 3 ids"):
        m.add(_x(2), torch.ones(2, 3), torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="ids must be integers"):
        m.add(_x(2), torch.ones(2, 3), torch.tensor([1.0, 2.0]))
    with pytest.raises(
        ValueError, match="one coefficient row per point: 2 points, 1 rows"
    ):
        m.add(_x(2), torch.ones(1, 3))


def test_state_of_another_id_range_is_refused():
    m = KernelMachine(Kernel("relu-ntk"), 12, 3, capacity=10, num_ids=10)
    m.add(_x(2), torch.ones(2, 3), torch.tensor([1, 2]))
    other = KernelMachine(Kernel("relu-ntk"), 12, 3, capacity=10, num_ids=5)
    with pytest.raises(
        ValueError, match="ids in \\[0, 10\\).*this machine's are ids in \\[0, 5\\)"
    ):
        other.load_state(m.state())


def test_non_finite_points_or_coefficients_are_refused_not_added():
    m = KernelMachine(Kernel("relu-ntk"), 12, 2, capacity=4)
    with pytest.raises(ValueError, match="coefficients have non-finite entries"):
        m.add(_x(1), torch.full((1, 2), float("nan")))
    with pytest.raises(ValueError, match="points have non-finite entries"):
        m.add(_x(1) * float("inf"), torch.ones(1, 2))
    assert m.count == 0


@pytest.mark.parametrize("name", ["linear-nngp", "linear-ntk"])
def test_linear_kernels_refuse_non_finite_points_like_the_relu_ones(name):
    with pytest.raises(ValueError, match="non-finite"):
        Kernel(name)(_x(2) * float("nan"), _x(3))


def test_deep_relu_kernels_are_mlp_kernels_of_that_depth_without_the_readout_bias_in_the_nngp():
    from mupbook import kernels

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 12, generator=gen, dtype=torch.float64)
    z = torch.rand(3, 12, generator=gen, dtype=torch.float64)
    ref = kernels.mlp_kernels(x, z, depth=2, w_std=1.0, b_std=0.5)
    nngp = Kernel("relu-nngp", 1.0, 0.5, depth=2)(x, z)
    assert torch.equal(nngp, ref.nngp - 0.25)
    assert torch.equal(Kernel("relu-ntk", 1.0, 0.5, depth=2)(x, z), ref.ntk)
    # the readout-only kernel is E[relu(h) relu(h')] at the last hidden layer
    one = kernels.mlp_kernels(x, z, depth=1, w_std=1.0, b_std=0.5).nngp - 0.25
    assert not torch.allclose(one, nngp)
    with pytest.raises(ValueError, match="ReLU"):
        Kernel("linear-ntk", depth=2)
    with pytest.raises(ValueError, match="depth"):
        Kernel("relu-ntk", depth=0)

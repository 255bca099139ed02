"""Tests of mupbook.kernels: exact NNGP/NTK of MLPs.

References used here are independent of the library's layer rules: closed forms computed
with numpy, Monte Carlo over wide finite networks with autograd NTKs, matrix exponentials of
the gradient-flow ODE. Stored neural-tangents values are checked in test_kernels_reference.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mupbook.kernels import ACTIVATIONS, Kernels, mlp_kernels, tp4_relu_1lp_kernels

F64 = torch.float64
# Agreement of two float64 evaluations of the same formula in a different operation order:
# a few hundred ulps at most, relative to the largest entry.
EXACT_RTOL = 1e-12
# derandomize: the same examples on every run (deterministic tests); no example database.
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True, database=None
)


def _rand(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(
        *shape, dtype=F64, generator=torch.Generator().manual_seed(seed)
    )


def _max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def _min_eig_ok(k: torch.Tensor) -> bool:
    """Smallest eigenvalue >= -1e-10 x trace (the PSD tolerance of the issue)."""
    return float(torch.linalg.eigvalsh(k).min()) >= -1e-10 * float(
        torch.trace(k).abs()
    )


# ----------------------------------------------------------------------------- closed forms


def test_depth_zero_is_the_scaled_gram_matrix():
    x1, x2 = _rand(0, 5, 3), _rand(1, 4, 3)
    k = mlp_kernels(x1, x2, depth=0, w_std=1.7, b_std=0.3)
    expected = 1.7**2 * (x1 @ x2.T) / 3 + 0.3**2
    assert _max_rel(k.nngp, expected) < EXACT_RTOL
    assert _max_rel(k.ntk, expected) < EXACT_RTOL


def test_linear_network_kernels_are_powers_of_the_gram_matrix():
    # Without biases every Dense multiplies Sigma by w^2 and Theta_L = (L + 1) Sigma_L.
    x = _rand(2, 6, 4)
    depth, w = 3, 1.2
    k = mlp_kernels(x, depth=depth, activation="linear", w_std=w)
    sigma = w ** (2 * (depth + 1)) * (x @ x.T) / 4
    assert _max_rel(k.nngp, sigma) < EXACT_RTOL
    assert _max_rel(k.ntk, (depth + 1) * sigma) < EXACT_RTOL


def _np_relu_1hl(
    x1: np.ndarray, x2: np.ndarray, w: float, b: float
) -> tuple[np.ndarray, np.ndarray]:
    """Arc-cosine kernel of Cho & Saul written with arccos, for one hidden layer."""
    d = x1.shape[1]
    s = w**2 * x1 @ x2.T / d + b**2
    q1 = w**2 * (x1**2).sum(1) / d + b**2
    q2 = w**2 * (x2**2).sum(1) / d + b**2
    norm = np.sqrt(np.outer(q1, q2))
    theta = np.arccos(np.clip(s / norm, -1, 1))
    e_phi = norm * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    e_dphi = (np.pi - theta) / (2 * np.pi)
    nngp = w**2 * e_phi + b**2
    ntk = w**2 * s * e_dphi + nngp
    return nngp, ntk


def _np_erf_1hl(
    x1: np.ndarray, x2: np.ndarray, w: float, b: float
) -> tuple[np.ndarray, np.ndarray]:
    """Williams (1997) arcsine kernel of erf, for one hidden layer."""
    d = x1.shape[1]
    s = w**2 * x1 @ x2.T / d + b**2
    q1 = w**2 * (x1**2).sum(1) / d + b**2
    q2 = w**2 * (x2**2).sum(1) / d + b**2
    prod = np.outer(1 + 2 * q1, 1 + 2 * q2)
    e_phi = 2 / np.pi * np.arcsin(2 * s / np.sqrt(prod))
    e_dphi = 4 / np.pi / np.sqrt(prod - 4 * s**2)
    nngp = w**2 * e_phi + b**2
    ntk = w**2 * s * e_dphi + nngp
    return nngp, ntk


@pytest.mark.parametrize(
    "activation, reference", [("relu", _np_relu_1hl), ("erf", _np_erf_1hl)]
)
def test_one_hidden_layer_matches_textbook_formula(activation, reference):
    x1, x2 = _rand(3, 5, 4).numpy(), _rand(4, 3, 4).numpy()
    nngp, ntk = reference(x1, x2, 1.4, 0.5)
    k = mlp_kernels(x1, x2, depth=1, activation=activation, w_std=1.4, b_std=0.5)
    # arccos/arcsin vs the library's arctan2 forms: 1e-12 relative, far below any formula slip.
    assert _max_rel(k.nngp, torch.from_numpy(nngp)) < EXACT_RTOL
    assert _max_rel(k.ntk, torch.from_numpy(ntk)) < EXACT_RTOL


def test_relu_diagonal_uses_theta_zero_exactly():
    # With theta = 0: nngp_ii = w^2 q_i / 2 + b^2 and ntk_ii = w^2 q_i / 2 + nngp_ii for one
    # hidden layer. A theta computed from rounded q11 q22 - q12^2 would be ~1e-8 and shift
    # the NTK by ~1e-9 relative, which rtol 1e-14 catches.
    x = _rand(5, 300, 50) * torch.logspace(-3, 3, 300, dtype=F64)[:, None]
    w, b = 1.3, 0.2
    k = mlp_kernels(x, depth=1, w_std=w, b_std=b, block_size=64)
    q = w**2 * (x * x).sum(1) / 50 + b**2
    nngp_diag = w**2 * q / 2 + b**2
    assert torch.allclose(k.nngp.diagonal(), nngp_diag, rtol=1e-14, atol=0)
    assert torch.allclose(
        k.ntk.diagonal(), w**2 * q / 2 + nngp_diag, rtol=1e-14, atol=0
    )


def test_relu_kernels_of_collinear_points_are_exact():
    # Points a_i r lie on one line: every angle is exactly 0 or pi, so for one hidden layer
    # without bias E[relu relu] = s/2 or 0 and E[relu' relu'] = 1/2 or 0 with s the Gram
    # entry. Angles recomputed from rounded Gram entries would be ~1e-8 and shift the NTK
    # by ~1e-9 relative; the library snaps them (COLLINEAR_RTOL), so 1e-14 holds.
    r = _rand(16, 1, 7)
    a = torch.tensor([1.0, 3.0, -0.5, 2.5, -4.0, 1.0], dtype=F64)
    x = a[:, None] * r
    w = 1.3
    s = w**2 * (x @ x.T) / 7
    same_side = (a[:, None] * a[None, :] > 0).to(F64)
    nngp = w**2 * s * same_side / 2
    ntk = w**2 * s * same_side / 2 + nngp
    for x2 in (None, x):
        k = mlp_kernels(x, x2, depth=1, w_std=w)
        assert _max_rel(k.nngp, nngp) < 1e-14
        assert _max_rel(k.ntk, ntk) < 1e-14


# ----------------------------------------------------------------------------- Monte Carlo


_ACT_FN = {"relu": torch.relu, "erf": torch.erf, "linear": lambda z: z}


def _finite_kernels(
    x: torch.Tensor,
    depth: int,
    activation: str,
    w_std: float,
    b_std: float,
    width: int,
    n_nets: int,
    gen: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Empirical NNGP and NTK of ``n_nets`` independent NTK-parameterized MLPs at once.

    Network: h_{l+1} = (w_std / sqrt(n_l)) W_l a_l + b_std beta_l with W, beta ~ N(0, 1) the
    trainable parameters, a_0 = x, a_l = act(h_l), scalar output. Returns (n_nets, N, N):
    NNGP = covariance of the output given the last hidden layer, w^2 <a_L, a_L'>/n + b^2;
    NTK = sum over parameters of df/dp(x) df/dp(x'), assembled per layer from autograd
    gradients delta_l = df/dh_l: (w^2/n_l <a_l, a_l'> + b^2) <delta_l, delta_l'>.
    """
    n, d = x.shape
    dims = [d] + [width] * depth + [1]
    a = x.T.expand(n_nets, d, n)
    pre, inputs = [], []
    for layer in range(depth + 1):
        w_mat = torch.randn(
            n_nets, dims[layer + 1], dims[layer], generator=gen, dtype=F64
        )
        beta = torch.randn(n_nets, dims[layer + 1], 1, generator=gen, dtype=F64)
        h = (w_std / math.sqrt(dims[layer])) * (w_mat @ a) + b_std * beta
        h.requires_grad_(True)
        pre.append(h)
        inputs.append(a.detach())
        a = _ACT_FN[activation](h) if layer < depth else h
    feats = inputs[-1]
    nngp = (w_std**2 / dims[-2]) * feats.transpose(1, 2) @ feats + b_std**2
    deltas = torch.autograd.grad(a.sum(), pre)  # networks and points are independent
    ntk = torch.zeros_like(nngp)
    for layer, (inp, delta) in enumerate(zip(inputs, deltas)):
        inner = (w_std**2 / dims[layer]) * inp.transpose(1, 2) @ inp + b_std**2
        ntk += inner * (delta.transpose(1, 2) @ delta)
    return nngp, ntk


def test_layerwise_empirical_ntk_equals_full_jacobian_ntk():
    # The Monte Carlo reference itself: its per-layer NTK must equal J J^T of the full
    # parameter Jacobian from torch.autograd.functional.jacobian (rtol 1e-12: same sums).
    x = _rand(6, 4, 3)
    depth, width, w_std, b_std = 2, 7, 1.3, 0.4
    gen = torch.Generator().manual_seed(7)
    dims = [3] + [width] * depth + [1]
    params = []
    for layer in range(depth + 1):
        params.append(
            torch.randn(dims[layer + 1], dims[layer], generator=gen, dtype=F64)
        )
        params.append(torch.randn(dims[layer + 1], 1, generator=gen, dtype=F64))

    def forward(*ps: torch.Tensor) -> torch.Tensor:
        a = x.T
        for layer in range(depth + 1):
            h = (w_std / math.sqrt(dims[layer])) * ps[2 * layer] @ a + b_std * ps[
                2 * layer + 1
            ]
            a = torch.erf(h) if layer < depth else h
        return a[0]

    jac = torch.autograd.functional.jacobian(forward, tuple(params))
    full = sum(j.reshape(4, -1) @ j.reshape(4, -1).T for j in jac)
    gen = torch.Generator().manual_seed(7)
    # Same draws in the same order: _finite_kernels samples W then beta per layer.
    _, layerwise = _finite_kernels(x, depth, "erf", w_std, b_std, width, 1, gen)
    assert _max_rel(layerwise[0], full) < EXACT_RTOL


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_finite_width_kernels_converge_at_rate_n_to_the_minus_half(activation):
    # Relative RMS error over 48 networks per width, for widths 64..1024; fitted log-log
    # slope within 0.15 of -1/2. Measured with this seed: -0.45 to -0.52 over the three
    # activations and both kernels (-0.44 to -0.58 over other seeds), so 0.15 leaves room
    # for Monte Carlo noise while a wrong kernel (error plateauing at its bias) would give
    # a slope near 0.
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(6, 4, dtype=F64, generator=gen)
    depth, w_std, b_std = 2, 1.3, 0.3
    exact = mlp_kernels(
        x, depth=depth, activation=activation, w_std=w_std, b_std=b_std
    )
    widths, n_nets, chunk = [64, 128, 256, 512, 1024], 48, 16
    errors = {"nngp": [], "ntk": []}
    for width in widths:
        sq = {"nngp": 0.0, "ntk": 0.0}
        for _ in range(n_nets // chunk):
            nngp, ntk = _finite_kernels(
                x, depth, activation, w_std, b_std, width, chunk, gen
            )
            sq["nngp"] += float(((nngp - exact.nngp) ** 2).sum())
            sq["ntk"] += float(((ntk - exact.ntk) ** 2).sum())
        for name in errors:
            errors[name].append(
                math.sqrt(sq[name] / n_nets) / float(getattr(exact, name).norm())
            )
    for name, errs in errors.items():
        slope = np.polyfit(np.log(widths), np.log(errs), 1)[0]
        assert abs(slope + 0.5) < 0.15, (activation, name, slope, errs)
        assert errs[-1] < 0.2, (
            activation,
            name,
            errs,
        )  # and the error itself is small


# ----------------------------------------------------------------------------- properties


kernel_configs = st.fixed_dictionaries(
    {
        "depth": st.integers(0, 4),
        "activation": st.sampled_from(ACTIVATIONS),
        "w_std": st.floats(0.1, 2.5),
        "b_std": st.floats(0.0, 1.5),
    }
)


@PROPERTY_SETTINGS
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(1, 7),
    d=st.integers(1, 6),
    cfg=kernel_configs,
)
def test_self_kernels_are_exactly_symmetric_and_psd(seed, n, d, cfg):
    x = _rand(seed, n, d) * 3
    k = mlp_kernels(x, **cfg)
    for mat in k:
        assert mat.dtype == F64 and mat.shape == (n, n)
        assert torch.equal(mat, mat.T)
        assert _min_eig_ok(mat)
    # Theta_L - Sigma_L = w^2 (Theta_{L-1} * dot Sigma) is a Schur product of PSD matrices.
    assert _min_eig_ok(k.ntk - k.nngp)


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**31), scale=st.floats(1e-3, 1e3), cfg=kernel_configs)
def test_finite_and_psd_with_duplicate_antipodal_rescaled_and_zero_rows(
    seed, scale, cfg
):
    r = _rand(seed, 2, 5)
    x = torch.stack(
        [
            r[0],
            r[0],
            -r[0],
            scale * r[0],
            r[1],
            -scale * r[1],
            torch.zeros(5, dtype=F64),
        ]
    )
    k = mlp_kernels(x, **cfg)
    cross = mlp_kernels(x, x.flip(0), **cfg)
    for mat in (*k, *cross):
        assert bool(torch.isfinite(mat).all())
    for mat in k:
        assert _min_eig_ok(mat)
    # duplicate rows have identical kernel rows up to the sqrt(eps) angle of nearly equal points
    assert _max_rel(k.nngp[1], k.nngp[0]) < 1e-6


@PROPERTY_SETTINGS
@given(
    seed=st.integers(0, 2**31),
    c1=st.floats(1e-2, 1e2),
    c2=st.floats(1e-2, 1e2),
    depth=st.integers(0, 4),
    w_std=st.floats(0.1, 2.5),
)
def test_relu_kernels_are_positively_homogeneous_without_bias(
    seed, c1, c2, depth, w_std
):
    x1, x2 = _rand(seed, 4, 3), _rand(seed + 1, 3, 3)
    k = mlp_kernels(x1, x2, depth=depth, w_std=w_std)
    scaled = mlp_kernels(c1 * x1, c2 * x2, depth=depth, w_std=w_std)
    assert _max_rel(scaled.nngp, c1 * c2 * k.nngp) < EXACT_RTOL
    assert _max_rel(scaled.ntk, c1 * c2 * k.ntk) < EXACT_RTOL


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**31), depth=st.integers(0, 4), w_std=st.floats(0.1, 2.5))
def test_erf_kernels_are_odd_without_bias(seed, depth, w_std):
    x1, x2 = _rand(seed, 4, 3), _rand(seed + 1, 3, 3)
    k = mlp_kernels(x1, x2, depth=depth, activation="erf", w_std=w_std)
    flipped = mlp_kernels(-x1, x2, depth=depth, activation="erf", w_std=w_std)
    assert torch.allclose(flipped.nngp, -k.nngp, rtol=1e-13, atol=0)
    assert torch.allclose(flipped.ntk, -k.ntk, rtol=1e-13, atol=0)


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**31), cfg=kernel_configs)
def test_kernels_are_invariant_under_rotations_of_the_inputs(seed, cfg):
    x1, x2 = _rand(seed, 4, 5), _rand(seed + 1, 3, 5)
    rot, _ = torch.linalg.qr(_rand(seed + 2, 5, 5))
    k = mlp_kernels(x1, x2, **cfg)
    turned = mlp_kernels(x1 @ rot, x2 @ rot, **cfg)
    assert (
        _max_rel(turned.nngp, k.nngp) < 1e-10
    )  # Gram matrices agree to ~1e-15; relu's
    assert _max_rel(turned.ntk, k.ntk) < 1e-10  # angle amplifies that near theta = 0


@PROPERTY_SETTINGS
@given(
    seed=st.integers(0, 2**31),
    n1=st.integers(1, 9),
    n2=st.integers(1, 9),
    block=st.integers(1, 5),
    cfg=kernel_configs,
)
def test_blocks_and_cross_kernels_agree_with_the_joint_kernel(
    seed, n1, n2, block, cfg
):
    x1, x2 = _rand(seed, n1, 3), _rand(seed + 1, n2, 3)
    joint = mlp_kernels(torch.cat([x1, x2]), **cfg)
    cross = mlp_kernels(x1, x2, block_size=block, **cfg)
    self_blocked = mlp_kernels(x1, block_size=block, **cfg)
    for name in ("nngp", "ntk"):
        j = getattr(joint, name)
        assert _max_rel(getattr(cross, name), j[:n1, n1:]) < EXACT_RTOL
        assert _max_rel(getattr(self_blocked, name), j[:n1, :n1]) < EXACT_RTOL


# ----------------------------------------------------------------------------- input handling


def test_numpy_and_float32_inputs_give_float64_tensors_with_the_same_values():
    x = _rand(8, 5, 3)
    ref = mlp_kernels(x, depth=2, activation="erf", b_std=0.1)
    from_numpy = mlp_kernels(
        x.numpy(), x.numpy(), depth=2, activation="erf", b_std=0.1
    )
    from_f32 = mlp_kernels(x.float(), depth=2, activation="erf", b_std=0.1)
    for k in (from_numpy, from_f32):
        assert isinstance(k, Kernels) and k.nngp.dtype == F64 and k.ntk.dtype == F64
    assert _max_rel(from_numpy.ntk, ref.ntk) < EXACT_RTOL
    assert (
        _max_rel(
            from_f32.ntk,
            mlp_kernels(x.float().double(), depth=2, activation="erf", b_std=0.1).ntk,
        )
        < EXACT_RTOL
    )


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_inputs_give_cuda_outputs_equal_to_cpu():
    x = _rand(9, 50, 7)
    cpu = mlp_kernels(x, depth=3, b_std=0.2)
    gpu = mlp_kernels(x.cuda(), depth=3, b_std=0.2, block_size=16)
    assert gpu.nngp.device.type == "cuda" and gpu.ntk.device.type == "cuda"
    assert (
        _max_rel(gpu.ntk.cpu(), cpu.ntk) < 1e-10
    )  # different BLAS, same float64 math
    tp4 = tp4_relu_1lp_kernels(x.cuda())
    assert tp4.ntk.device.type == "cuda"


_GOOD = np.ones((3, 2))


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((np.ones(3),), {"depth": 1}, "2-D"),
        ((_GOOD, np.ones((2, 3))), {"depth": 1}, "same number of features"),
        ((np.ones((0, 2)),), {"depth": 1}, "at least one row"),
        ((np.array([[1.0, np.nan]]),), {"depth": 1}, "non-finite"),
        ((np.array([[1.0, np.inf]]),), {"depth": 1}, "non-finite"),
        ((np.ones((3, 2), dtype=np.int64),), {"depth": 1}, "floating dtype"),
        ((torch.ones(3, 2, dtype=torch.int32),), {"depth": 1}, "floating dtype"),
        (([[1.0, 2.0]],), {"depth": 1}, "torch.Tensor or numpy"),
        ((_GOOD,), {"depth": -1}, "depth must be an integer >= 0"),
        ((_GOOD,), {"depth": 1.5}, "depth must be an integer"),
        ((_GOOD,), {"depth": True}, "depth must be an integer"),
        ((_GOOD,), {"depth": 1, "activation": "tanh"}, "unknown activation"),
        ((_GOOD,), {"depth": 1, "w_std": -1.0}, "w_std"),
        ((_GOOD,), {"depth": 1, "b_std": float("nan")}, "b_std"),
        ((_GOOD,), {"depth": 1, "block_size": 0}, "block_size"),
    ],
)
def test_bad_kernel_inputs_raise_value_error(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mlp_kernels(*args, **kwargs)


# ----------------------------------------------------------------------------- TP4 kernels


def test_tp4_kernels_equal_the_nt_network_without_bias():
    # For b = 0: NT depth-1 ReLU = w^2 x TP4 kernels on inputs x / sqrt(d) with sigma_w = w
    # and sigma_v = w (the last Dense's w^2 scales both; its weight variance enters the
    # first-layer gradient as sigma_v^2).
    x1, x2 = _rand(12, 6, 5), _rand(13, 4, 5)
    w = 1.7
    nt_like = mlp_kernels(x1, x2, depth=1, w_std=w)
    tp4 = tp4_relu_1lp_kernels(
        x1 / math.sqrt(5), x2 / math.sqrt(5), sigma_w=w, sigma_b=0.0, sigma_v=w
    )
    assert _max_rel(w**2 * tp4.nngp, nt_like.nngp) < EXACT_RTOL
    assert _max_rel(w**2 * tp4.ntk, nt_like.ntk) < EXACT_RTOL


def test_tp4_kernels_match_a_wide_sampled_network_with_zero_readout():
    # f(x) = v . relu(sigma_w W x + sigma_b b) / sqrt(n), readout gradient relu(h)/sqrt(n),
    # first-layer weight gradient v_i relu'(h_i) x / sqrt(n) with v_i ~ N(0, sigma_v^2) (the
    # scale TP4 gives it; its bias gradient is excluded). n = 200,000 features: Monte Carlo
    # error ~ 2/sqrt(n) ~ 0.005 relative; 0.02 is four times that.
    gen = torch.Generator().manual_seed(14)
    x = torch.randn(5, 4, dtype=F64, generator=gen) * 0.6
    sw, sb, sv, n = 1.2, 0.7, 0.9, 200_000
    w_mat = torch.randn(n, 4, dtype=F64, generator=gen)
    b = torch.randn(n, dtype=F64, generator=gen)
    v = torch.randn(n, dtype=F64, generator=gen) * sv
    h = sw * x @ w_mat.T + sb * b  # (5, n)
    phi, dphi = torch.relu(h), (h > 0).to(F64)
    emp_nngp = phi @ phi.T / n
    emp_ntk = emp_nngp + ((dphi * v**2) @ dphi.T / n) * (x @ x.T)
    k = tp4_relu_1lp_kernels(x, sigma_w=sw, sigma_b=sb, sigma_v=sv)
    assert float((emp_nngp - k.nngp).norm() / k.nngp.norm()) < 0.02
    assert float((emp_ntk - k.ntk).norm() / k.ntk.norm()) < 0.02
    assert torch.equal(k.ntk, k.ntk.T) and _min_eig_ok(k.ntk) and _min_eig_ok(k.nngp)


def test_tp4_kernels_reject_bad_input():
    with pytest.raises(ValueError, match="sigma_v"):
        tp4_relu_1lp_kernels(_GOOD, sigma_v=-1.0)
    with pytest.raises(ValueError, match="non-finite"):
        tp4_relu_1lp_kernels(np.array([[np.nan, 1.0]]))

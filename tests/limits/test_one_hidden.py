"""mupbook.limits.one_hidden: the muP limit of a one-hidden-layer erf network by quadrature."""

import math

import numpy as np
import pytest
import torch

from mupbook import runtime
from mupbook.limits import one_hidden as oh
from mupbook.nn import MuMLP, nt_mlp

X1 = torch.linspace(-1, 1, 8, dtype=torch.float64)[:, None]
Y1 = torch.sin(3 * X1)
XE = torch.linspace(-1.2, 1.2, 13, dtype=torch.float64)[:, None]


# ----------------------------------------------------------------- the rule is SGD


def test_node_rule_is_the_networks_own_sgd_full_batch_mse():
    lim = oh.mup_limit(1, span=X1, sigma_b=1.0, size=2)
    net = lim.sample(48, generator=3)
    nodes = oh.OneHiddenLimit.from_network(net)
    training = oh.Training(30, 0.7)
    by_sgd = oh.train_network(net, X1, Y1, training, XE, [0, 10, 30])
    by_rule = nodes.train(X1, Y1, training, XE, [0, 10, 30])
    assert by_sgd.shape == (3, 13, 1)
    assert (by_sgd - by_rule).abs().max() < 1e-12
    assert (by_sgd[-1] - by_sgd[0]).abs().max() > 0.1  # it did train


def test_node_rule_is_sgd_for_minibatches_cross_entropy_and_several_outputs():
    gen = runtime.generator(1)
    x = torch.randn(10, 2, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 3, (10,), generator=gen)
    lim = oh.mup_limit(2, 3, span=x, sigma_b=0.5, size=2)
    net = lim.sample(40, generator=2)
    nodes = oh.OneHiddenLimit.from_network(net)
    training = oh.Training(25, 1.5, "cross_entropy", batch_size=4, seed=7)
    by_sgd = oh.train_network(net, x, labels, training, x, [25])
    by_rule = nodes.train(x, labels, training, x, [25])
    # rounding differences (summation order) grow over 25 steps at lr 1.5: ~1e-11
    assert (by_sgd - by_rule).abs().max() < 1e-9


def test_training_without_biases_leaves_them_out():
    lim = oh.mup_limit(1, span=X1, bias=False, size=2)
    net = lim.sample(16, generator=0)
    assert net.biases is None
    nodes = oh.OneHiddenLimit.from_network(net)
    tr = oh.Training(5, 1.0)
    assert (
        oh.train_network(net, X1, Y1, tr, XE, [5]) - nodes.train(X1, Y1, tr, XE, [5])
    ).abs().max() < 1e-12
    assert not nodes.nodes.b.any() and not nodes.c.any()


def test_stacked_training_is_each_networks_own_sgd():
    lim = oh.mup_limit(1, span=X1, sigma_b=1.0, size=2)
    tr = oh.Training(20, 1.0)
    nets = [lim.sample(32, generator=s) for s in range(3)]
    run = oh.train_networks(nets, X1, Y1, tr, XE, [0, 20])
    assert run.outputs.shape == (3, 2, 13, 1) and run.movement.shape == (3,)
    for s in range(3):
        alone = oh.train_network(lim.sample(32, generator=s), X1, Y1, tr, XE, [0, 20])
        assert (run.outputs[s] - alone).abs().max() < 1e-12
    assert (nets[0].weights[0] == lim.sample(32, generator=0).weights[0]).all()


def test_antisymmetric_pairs_start_at_zero_and_follow_their_own_sgd():
    # f = (g_A - g_B) / sqrt 2 with B a copy of A: f_0 = 0, and the stacked training equals
    # plain autograd SGD on the pair, every tensor at its own learning rate.
    nets = [
        nt_mlp(
            1,
            24,
            1,
            depth=1,
            activation="erf",
            b_std=1.0,
            generator=runtime.generator(s),
        )
        for s in range(2)
    ]
    tr = oh.Training(15, 0.4)
    run = oh.train_networks(nets, X1, Y1, tr, XE, [0, 15], antisymmetric=True)
    assert run.outputs[:, 0].abs().max() == 0
    import copy

    for s, net in enumerate(nets):
        a, b = copy.deepcopy(net), copy.deepcopy(net)
        opt = torch.optim.SGD(
            a.param_groups("sgd", 0.4) + b.param_groups("sgd", 0.4), lr=0.4
        )
        for _ in range(15):
            opt.zero_grad()
            f = (a(X1) - b(X1)) / math.sqrt(2)
            (0.5 * ((f - Y1) ** 2).mean()).backward()
            opt.step()
        with torch.no_grad():
            want = (a(XE) - b(XE)) / math.sqrt(2)
        assert (run.outputs[s, 1] - want).abs().max() < 1e-12


def test_stacked_training_refuses_networks_of_different_widths():
    lim = oh.mup_limit(1, size=2)
    with pytest.raises(ValueError, match="one architecture"):
        oh.train_networks(
            [lim.sample(8, 0), lim.sample(16, 1)], X1, Y1, oh.Training(1, 1.0)
        )


# ----------------------------------------------------------------- sample(n)


def test_sample_is_mumlp_from_the_limits_initial_law():
    lim = oh.mup_limit(3, 2, sigma_b=0.8, size=2)
    n = 4096
    net = lim.sample(n, generator=5)
    same = MuMLP(
        3,
        n,
        2,
        "mup",
        depth=1,
        activation="erf",
        base_width=1,
        form="table3",
        bias_std=0.8,
        generator=runtime.generator(5),
        dtype=torch.float64,
    )
    for p, q in zip(net.parameters(), same.parameters()):
        assert torch.equal(p, q)
    # u ~ N(0, I/3), b ~ N(0, 0.64), V ~ N(0, 1/n^2), c = 0; relative standard errors of
    # the sample variances: sqrt(2 / count) <= 1.6%, checked within 4 of them
    assert net.weights[0].var().item() * 3 == pytest.approx(
        1, abs=4 * (2 / (3 * n)) ** 0.5
    )
    assert net.biases[0].var().item() / 0.64 == pytest.approx(
        1, abs=4 * (2 / n) ** 0.5
    )
    assert net.weights[1].var().item() * n**2 == pytest.approx(
        1, abs=4 * (1 / n) ** 0.5
    )
    assert not net.biases[1].any()
    lrs = {g["name"]: g["lr"] for g in net.param_groups("sgd", 0.5)}
    assert lrs == pytest.approx(
        {
            "weights.0": 0.5 * n,
            "weights.1": 0.5 / n,
            "biases.0": 0.5 * n,
            "biases.1": 0.5,
        }
    )


def test_nodes_of_a_network_have_weight_one_over_n_and_v_equal_n_V():
    net = oh.mup_limit(2, sigma_b=1.0, size=2).sample(20, generator=0)
    lim = oh.OneHiddenLimit.from_network(net)
    assert torch.allclose(
        lim.nodes.weight, torch.full((20,), 1 / 20, dtype=torch.float64)
    )
    assert torch.equal(lim.nodes.v, 20 * net.weights[1].detach().T)
    x = torch.randn(5, 2, dtype=torch.float64)
    assert (lim(x) - net(x)).abs().max() < 1e-14
    with pytest.raises(ValueError, match="Table 3"):
        oh.OneHiddenLimit.from_network(
            MuMLP(2, 8, 1, depth=1, activation="erf", dtype=torch.float64)
        )


# ----------------------------------------------------------------- the quadrature


@pytest.mark.parametrize(
    "rule, size", [("qmc", 2**10), ("mc", 2**10), ("gauss-hermite", 6)]
)
def test_output_starts_at_exactly_zero(rule, size):
    lim = oh.mup_limit(1, span=X1, sigma_b=1.0, rule=rule, size=size)
    assert lim(XE).abs().max() < 1e-15


def test_gauss_hermite_rule_integrates_polynomials_exactly():
    z, w = oh._standard_normal_rule(3, "gauss-hermite", 5, 0, 0)
    assert z.shape == (125, 3) and w.sum().item() == pytest.approx(1, abs=1e-14)
    # E z1^2 z2^4 = 3, E z3^8 = 105 (degree 9 is the rule's limit with 5 points)
    assert float(w @ (z[:, 0] ** 2 * z[:, 1] ** 4)) == pytest.approx(3, rel=1e-12)
    assert float(w @ z[:, 2] ** 8) == pytest.approx(105, rel=1e-12)
    assert abs(float(w @ (z[:, 0] * z[:, 2] ** 3))) < 1e-13


def test_qmc_nodes_are_standard_normal_and_antithetic_in_v():
    nodes = oh.gaussian_nodes(2, 1, d=2, sigma_b=0.5, size=2**12, seed=3)
    half = 2**11
    assert torch.equal(nodes.v[half:], -nodes.v[:half])
    assert torch.equal(nodes.a[half:], nodes.a[:half])
    # a ~ N(0, I/2), b ~ N(0, 0.25): Sobol points get the second moments to ~1e-3
    assert (nodes.a.square().mean(0) * 2 - 1).abs().max() < 0.01
    assert abs(nodes.b.square().mean().item() / 0.25 - 1) < 0.01
    assert torch.isfinite(nodes.v).all() and nodes.v.abs().max() < 8


def test_quadrature_rules_agree_with_plain_monte_carlo_within_its_error_bars():
    # Trained 40 steps; plain Monte Carlo (iid nodes, 8 x 4096) is the reference with
    # textbook error bars; RQMC and Gauss-Hermite must lie within 4 of them (plus their
    # own estimated errors) at every evaluation input.
    tr = oh.Training(40, 1.0)
    kw = dict(sigma_b=1.0)
    mc = oh.limit_estimate(X1, Y1, XE, tr, rule="mc", size=2**12, replicas=8, **kw)
    qmc = oh.limit_estimate(X1, Y1, XE, tr, rule="qmc", size=2**12, replicas=4, **kw)
    gh = oh.limit_estimate(X1, Y1, XE, tr, rule="gauss-hermite", size=24, **kw)
    assert mc.nodes == 8 * 2**12 and gh.nodes == 24**3 + 12**3
    assert mc.error.max() < 5e-3 and (mc.value - Y1.mean()).abs().max() > 0.1
    for other in (qmc, gh):
        bound = 4 * (mc.error**2 + other.error**2).sqrt()
        assert ((other.value - mc.value).abs() < bound).all(), (
            other.rule,
            other.value - mc.value,
            bound,
        )
    # and RQMC's error bar is far smaller than plain Monte Carlo's with the same nodes
    mc_same = oh.limit_estimate(
        X1, Y1, XE, tr, rule="mc", size=2**12, replicas=4, **kw
    )
    assert qmc.error.mean() < 0.2 * mc_same.error.mean()


def test_out_of_span_direction_is_integrated_in_closed_form():
    # erf: E erf(a + s z) = erf(a / sqrt(1 + 2 s^2)), checked by 1-D Gauss-Hermite
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    for a, s in ((0.3, 0.5), (-1.2, 2.0), (2.0, 0.1)):
        lhs = float(w @ torch.erf(torch.tensor(a + s * z)).numpy())
        assert lhs == pytest.approx(math.erf(a / math.sqrt(1 + 2 * s * s)), abs=1e-8)
    # the limit in d = 3 trained on inputs spanning 2 dimensions (a 4-D integral) agrees
    # with the same limit computed over all of R^3 (5-D) at test inputs off the span
    gen = runtime.generator(2)
    x = torch.randn(6, 2, generator=gen, dtype=torch.float64) @ torch.tensor(
        [[1.0, 0.5, 0.0], [0.0, 1.0, -0.5]], dtype=torch.float64
    )
    y = torch.tanh(2 * x[:, :1])
    xe = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    tr = oh.Training(30, 1.0)
    reduced = [
        oh.mup_limit(3, span=x, sigma_b=1.0, size=2**13, seed=s) for s in range(4)
    ]
    full = [oh.mup_limit(3, sigma_b=1.0, size=2**13, seed=s) for s in range(4)]
    assert reduced[0].dimension == 4 and full[0].dimension == 5
    a = torch.stack([lim.train(x, y, tr, xe, [30])[0] for lim in reduced])
    b = torch.stack([lim.train(x, y, tr, xe, [30])[0] for lim in full])
    err = ((a.var(0) + b.var(0)) / 4).sqrt()
    assert ((a.mean(0) - b.mean(0)).abs() < 4 * err + 1e-6).all()
    assert a.mean(0).abs().max() > 0.05  # not trivially zero


def test_chunks_change_nothing_but_memory():
    a = oh.mup_limit(1, span=X1, sigma_b=1.0, size=2**10, seed=1)
    b = oh.mup_limit(1, span=X1, sigma_b=1.0, size=2**10, seed=1, chunk=100)
    tr = oh.Training(10, 1.0)
    assert (
        a.train(X1, Y1, tr, XE, [10]) - b.train(X1, Y1, tr, XE, [10])
    ).abs().max() < 1e-13


def test_gauss_hermite_estimate_reports_the_change_from_the_coarser_rule():
    tr = oh.Training(5, 1.0)
    est = oh.limit_estimate(
        X1, Y1, XE, tr, rule="gauss-hermite", size=16, sigma_b=1.0
    )
    fine = oh.mup_limit(1, span=X1, sigma_b=1.0, rule="gauss-hermite", size=16)
    coarse = oh.mup_limit(1, span=X1, sigma_b=1.0, rule="gauss-hermite", size=8)
    f, c = fine.train(X1, Y1, tr, XE, [5])[0], coarse.train(X1, Y1, tr, XE, [5])[0]
    assert torch.equal(est.value, f) and torch.equal(est.error, (f - c).abs())


def test_features_are_the_nodes_preactivations():
    lim = oh.mup_limit(1, span=X1, sigma_b=1.0, size=2**8)
    h, w = lim.preactivations(X1[:2])
    assert h.shape == (2**8, 2) and w.shape == (2**8,)
    assert torch.allclose(h, lim.nodes.a @ X1[:2].T + lim.nodes.b[:, None])


# ----------------------------------------------------------------- inputs and training


def test_no_recorded_steps_give_an_empty_record():
    lim = oh.mup_limit(1, span=X1, size=4)
    assert lim.train(X1, Y1, oh.Training(2, 1.0), XE).shape == (0, 13, 1)
    net = lim.sample(4, 0)
    assert oh.train_network(net, X1, Y1, oh.Training(2, 1.0), XE).shape == (0, 13, 1)


def test_minibatches_visit_every_point_once_per_epoch():
    tr = oh.Training(6, 1.0, batch_size=4, seed=2)
    idx = torch.cat(list(tr.batches(8)))
    assert sorted(idx[:8].tolist()) == list(range(8))
    assert sorted(idx[8:16].tolist()) == list(range(8))
    assert all(b is None for b in oh.Training(3, 1.0).batches(8))


def test_cross_entropy_gradient_matches_autograd():
    f = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 1, 1, 0])
    torch.nn.functional.cross_entropy(f, y).backward()
    assert torch.allclose(oh.loss_gradient(f.detach(), y, "cross_entropy"), f.grad)


@pytest.mark.parametrize(
    "make, msg",
    [
        (lambda: oh.mup_limit(1, sigma_b=1.0, bias=False), "bias=True"),
        (lambda: oh.mup_limit(1, rule="simpson"), "rule"),
        (lambda: oh.mup_limit(1, size=3), "even"),
        (
            lambda: oh.mup_limit(2, span=torch.zeros(3, 2, dtype=torch.float64)),
            "span",
        ),
        (lambda: oh.mup_limit(8, rule="gauss-hermite", size=64), "nodes"),
        (lambda: oh.Training(10, -1.0), "lr"),
        (lambda: oh.Training(10, 1.0, "hinge"), "loss"),
    ],
)
def test_bad_arguments_are_refused(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_training_off_the_span_and_bad_targets_are_refused():
    lim = oh.mup_limit(
        2, span=torch.tensor([[1.0, 0.0]], dtype=torch.float64), size=4
    )
    with pytest.raises(ValueError, match="outside the span"):
        lim.step(torch.tensor([[0.0, 1.0]], dtype=torch.float64), torch.zeros(1), 1.0)
    with pytest.raises(ValueError, match="shape"):
        lim.step(
            torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.zeros(1, 2), 1.0
        )


def test_a_diverging_limit_raises():
    lim = oh.mup_limit(1, span=X1, sigma_b=1.0, size=2**8)
    with pytest.raises(FloatingPointError):
        lim.train(X1, 1e200 * Y1, oh.Training(50, 1e3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_same_code_runs_on_cuda():
    tr = oh.Training(10, 1.0)
    cpu = oh.mup_limit(1, span=X1, sigma_b=1.0, size=2**10, device="cpu")
    gpu = oh.mup_limit(1, span=X1, sigma_b=1.0, size=2**10, device="cuda")
    a = cpu.train(X1, Y1, tr, XE, [10])
    b = gpu.train(X1, Y1, tr, XE, [10]).cpu()
    assert (a - b).abs().max() < 1e-10

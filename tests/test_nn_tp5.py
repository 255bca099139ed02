"""mupbook.nn.MuMLP: TP5's muP/SP forms, checked against the mup package step for step."""

import mup
import numpy as np
import pytest
import torch
from mup_reference import copy_into_mup_package, mup_package_model
from torch import nn

from mupbook import runtime
from mupbook.nn import MuMLP, parameter_kinds

D_IN, D_OUT, BASE = 12, 5, 16


def data(seed=0, n=32):
    gen = runtime.generator(seed)
    x = torch.randn(n, D_IN, generator=gen, dtype=torch.float64)
    y = torch.randn(n, D_OUT, generator=gen, dtype=torch.float64)
    return x, y


def train(model, opt, x, y, steps=20):
    losses = []
    for _ in range(steps):
        loss = (model(x) - y).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


@pytest.mark.parametrize("width", [16, 64, 256])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_table8_form_reproduces_the_mup_package_step_for_step(width, optimizer):
    x, y = data()
    ours = MuMLP(
        D_IN,
        width,
        D_OUT,
        "mup",
        base_width=BASE,
        form="table8",
        generator=runtime.generator(1),
        dtype=torch.float64,
    )
    theirs = mup_package_model(D_IN, width, D_OUT, BASE)
    copy_into_mup_package(ours, theirs)
    if optimizer == "sgd":
        opt_ours, opt_theirs = ours.sgd(0.05), mup.MuSGD(theirs.parameters(), lr=0.05)
    else:
        opt_ours = ours.adam(1e-3, weight_decay=0.01)
        opt_theirs = mup.MuAdamW(theirs.parameters(), lr=1e-3, weight_decay=0.01)
    a, b = train(ours, opt_ours, x, y), train(theirs, opt_theirs, x, y)
    assert np.max(np.abs(a - b) / np.abs(b)) < 1e-9
    assert a[-1] < a[0]  # and it does train


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_table3_and_table8_forms_train_identically(optimizer):
    x, y = data(2)
    nets = [
        MuMLP(
            D_IN,
            256,
            D_OUT,
            "mup",
            base_width=BASE,
            form=f,
            generator=runtime.generator(3),
            dtype=torch.float64,
        )
        for f in ("table3", "table8")
    ]
    with (
        torch.no_grad()
    ):  # the same function: table3 stores the readout already divided by m
        nets[0].weights[-1].copy_(nets[1].weights[-1] / (256 / BASE))
    losses = [
        train(n, n.sgd(0.05) if optimizer == "sgd" else n.adam(1e-3, eps=1e-30), x, y)
        for n in nets
    ]
    assert np.max(np.abs(losses[0] - losses[1]) / losses[1]) < 1e-9


def test_mup_equals_sp_at_the_base_width():
    x, y = data(4)
    a = MuMLP(
        D_IN,
        BASE,
        D_OUT,
        "mup",
        base_width=BASE,
        generator=runtime.generator(5),
        dtype=torch.float64,
    )
    b = MuMLP(
        D_IN,
        BASE,
        D_OUT,
        "sp",
        base_width=BASE,
        generator=runtime.generator(5),
        dtype=torch.float64,
    )
    for opt in ("sgd", "adam"):
        ga, gb = a.param_groups(opt, 0.1), b.param_groups(opt, 0.1)
        assert [g["lr"] for g in ga] == [g["lr"] for g in gb]
    assert torch.equal(a(x), b(x))


def test_per_parameter_learning_rates_follow_table_3():
    m = 256 / BASE
    net = MuMLP(D_IN, 256, D_OUT, "mup", depth=3, base_width=BASE, form="table3")
    sgd = {g["name"]: g["lr"] / 0.1 for g in net.param_groups("sgd", 0.1)}
    adam = {g["name"]: g["lr"] / 0.1 for g in net.param_groups("adam", 0.1)}
    assert sgd == pytest.approx(
        {
            "weights.0": m,
            "weights.1": 1,
            "weights.2": 1,
            "weights.3": 1 / m,
            "biases.0": m,
            "biases.1": m,
            "biases.2": m,
            "biases.3": 1,
        }
    )
    assert adam == pytest.approx(
        {
            "weights.0": 1,
            "weights.1": 1 / m,
            "weights.2": 1 / m,
            "weights.3": 1 / m,
            "biases.0": 1,
            "biases.1": 1,
            "biases.2": 1,
            "biases.3": 1,
        }
    )
    # Table 3 readout init variance 1/fan_in^2 in base-width units: 1 / (n_0 m^2).
    big = MuMLP(
        D_IN, 4096, D_OUT, "mup", base_width=BASE, form="table3", dtype=torch.float64
    )
    assert big.weights[-1].var().item() * BASE * (4096 / BASE) ** 2 == pytest.approx(
        1, rel=0.05
    )


def test_hidden_bias_std_draws_width_independent_gaussian_hidden_biases():
    # bias_std: hidden biases ~ N(0, bias_std^2) at every width (vector-like, fan-in 1),
    # the output bias still zero, learning rates unchanged (eta m for hidden biases).
    for width in (256, 4096):
        net = MuMLP(
            D_IN,
            width,
            D_OUT,
            "mup",
            depth=2,
            base_width=BASE,
            form="table3",
            bias_std=0.7,
            generator=runtime.generator(1),
            dtype=torch.float64,
        )
        for b in net.biases[:-1]:
            # width samples of a variance: relative standard error sqrt(2 / width) <= 9%
            assert b.var().item() / 0.49 == pytest.approx(
                1, abs=4 * (2 / width) ** 0.5
            )
        assert not net.biases[-1].any()
        zero = MuMLP(
            D_IN, width, D_OUT, "mup", depth=2, base_width=BASE, form="table3"
        )
        assert [g["lr"] for g in net.param_groups("sgd", 0.1)] == [
            g["lr"] for g in zero.param_groups("sgd", 0.1)
        ]
    # the default keeps zero biases and the random stream of the weights: zero biases
    # draw nothing, so the weights are those of the same network without biases
    a = MuMLP(D_IN, 64, D_OUT, generator=runtime.generator(3), dtype=torch.float64)
    assert not any(b.any() for b in a.biases)
    plain = MuMLP(
        D_IN,
        64,
        D_OUT,
        bias=False,
        generator=runtime.generator(3),
        dtype=torch.float64,
    )
    assert all(torch.equal(w, p) for w, p in zip(a.weights, plain.weights))


def test_parameter_kinds_of_our_mlp_and_of_an_arbitrary_module():
    kinds = parameter_kinds(
        MuMLP(D_IN, 128, D_OUT, depth=3), MuMLP(D_IN, 64, D_OUT, depth=3)
    )
    assert kinds == {
        "weights.0": "vector",
        "weights.1": "matrix",
        "weights.2": "matrix",
        "weights.3": "vector",
        "biases.0": "vector",
        "biases.1": "vector",
        "biases.2": "vector",
        "biases.3": "scalar",
    }
    assert all(
        kinds[n] == s.kind
        for n, _, s in MuMLP(D_IN, 128, D_OUT, depth=3).named_scalings()
    )

    def convnet(w):
        return nn.Sequential(
            nn.Conv2d(3, w, 3),
            nn.ReLU(),
            nn.Conv2d(w, w, 3),
            nn.LayerNorm(w),
            nn.Linear(w, 10),
        )

    k = parameter_kinds(convnet(32), convnet(8))
    assert (
        k["0.weight"] == "vector"
        and k["2.weight"] == "matrix"
        and k["3.weight"] == "vector"
    )
    assert k["4.weight"] == "vector" and k["4.bias"] == "scalar"


def test_parameter_kinds_refuses_mismatched_models():
    with pytest.raises(ValueError, match="different parameters"):
        parameter_kinds(MuMLP(4, 8, 2, depth=2), MuMLP(4, 8, 2, depth=3))


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(param="ntp"), "AbcMLP"),
        (dict(form="table5"), "form"),
        (dict(base_width=0), "base_width"),
        (dict(depth=0), "depth"),
        (dict(bias_std=-1.0), "bias_std"),
        (dict(bias_std=1.0, bias=False), "bias=True"),
    ],
)
def test_bad_tp5_construction_is_refused(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        MuMLP(4, 8, 2, **kwargs)


def test_abc_models_have_no_adam():
    from mupbook.nn import AbcMLP

    with pytest.raises(ValueError, match="MuMLP for Adam"):
        AbcMLP(4, 8, 1).adam(1e-3)

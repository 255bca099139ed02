"""mupbook.transformer.GPT: TP5's muP for a GPT, checked against the mup package step for step."""

import math

import mup
import numpy as np
import pytest
import torch
from mup_reference import copy_gpt_into_mup_package, mup_package_gpt

from mupbook import runtime
from mupbook.nn import explain_parameter_kinds, parameter_kinds
from mupbook.transformer import GPT, attention_multiplier

V, T, BASE = 11, 16, 16


def batch(seed=0, b=4):
    g = runtime.generator(seed)
    return (
        torch.randint(0, V, (b, T), generator=g),
        torch.randint(0, V, (b, T), generator=g),
    )


def gpt(width, param="mup", **kw):
    kw = dict(n_heads=4, context=T, base_width=BASE, dtype=torch.float64) | kw
    return GPT(V, width, param, generator=runtime.generator(1), **kw)


def train(model, opt, x, y, steps=20):
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(
            model(x).reshape(-1, V), y.reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("width", [16, 32, 64])
def test_mup_gpt_reproduces_the_mup_package_under_adamw_with_weight_decay(
    width, tied
):
    x, y = batch()
    ours = gpt(width, tied=tied)
    theirs = mup_package_gpt(V, width, BASE, n_heads=4, context=T, tied=tied)
    copy_gpt_into_mup_package(ours, theirs)
    a = train(ours, ours.adam(1e-2, weight_decay=0.1), x, y)
    b = train(
        theirs, mup.MuAdamW(theirs.parameters(), lr=1e-2, weight_decay=0.1), x, y
    )
    assert np.max(np.abs(a - b) / np.abs(b)) < 1e-9
    assert a[-1] < 0.5 * a[0]  # and it does train


def test_mup_gpt_reproduces_the_mup_package_under_sgd():
    x, y = batch(1)
    ours = gpt(64)
    theirs = mup_package_gpt(V, 64, BASE, n_heads=4, context=T)
    copy_gpt_into_mup_package(ours, theirs)
    a = train(ours, ours.sgd(0.05, weight_decay=0.01), x, y)
    b = train(
        theirs, mup.MuSGD(theirs.parameters(), lr=0.05, weight_decay=0.01), x, y
    )
    assert np.max(np.abs(a - b) / np.abs(b)) < 1e-9


def test_the_comparison_can_fail_sp_is_not_the_mup_package_off_the_base_width():
    x, y = batch(2)
    ours = gpt(64, "sp")
    theirs = mup_package_gpt(V, 64, BASE, n_heads=4, context=T)
    copy_gpt_into_mup_package(ours, theirs)
    a = train(ours, ours.adam(1e-2), x, y, steps=5)
    b = train(theirs, mup.MuAdamW(theirs.parameters(), lr=1e-2), x, y, steps=5)
    assert np.max(np.abs(a - b) / np.abs(b)) > 1e-3


def test_mup_equals_sp_at_the_base_width_up_to_the_query_init():
    x, _ = batch(3)
    a, b = gpt(BASE, "mup", zero_query=False), gpt(BASE, "sp")
    assert torch.equal(a(x), b(x))
    for opt in ("sgd", "adam"):
        ga, gb = a.param_groups(opt, 0.1, 0.01), b.param_groups(opt, 0.1, 0.01)
        assert [(g["lr"], g["weight_decay"]) for g in ga] == [
            (g["lr"], g["weight_decay"]) for g in gb
        ]
    # by default muP starts the query at zero (the mup README's recommendation)
    assert gpt(BASE).blocks[0].attn.q.abs().max() == 0
    assert gpt(BASE, "sp").blocks[0].attn.q.abs().max() > 0


def test_per_tensor_rules_follow_tp5_as_the_mup_package_implements_them():
    n = 256
    m = n / BASE
    net = gpt(n)
    adam = {g["name"]: g["lr"] / 0.1 for g in net.param_groups("adam", 0.1)}
    sgd = {g["name"]: g["lr"] / 0.1 for g in net.param_groups("sgd", 0.1)}
    for name, kind in parameter_kinds(net, gpt(BASE)).items():
        if kind == "matrix":  # hidden weights: Adam eta/m, SGD eta
            assert adam[name] == pytest.approx(1 / m) and sgd[name] == 1, name
        else:  # embeddings, LayerNorm, readout: Adam eta, SGD eta m
            assert adam[name] == 1 and sgd[name] == pytest.approx(m), name
    assert net.readout_mult == pytest.approx(1 / m)
    assert gpt(n, "sp").readout_mult == 1
    big = GPT(V, 2048, "mup", n_heads=4, base_width=BASE, dtype=torch.float64)
    assert big.head.std().item() == pytest.approx(BASE**-0.5, rel=0.05)
    assert big.blocks[0].mlp.proj.std().item() == pytest.approx(
        (4 * 2048) ** -0.5, rel=0.05
    )
    assert big.blocks[0].ln1.weight.eq(1).all() and big.ln_f.bias.eq(0).all()


def test_attention_is_one_over_d_in_mup_and_one_over_sqrt_d_in_sp():
    # head dimension d = width / n_heads grows with width; base head dimension 4
    assert attention_multiplier("sp", 64, 4) == pytest.approx(1 / 8)
    assert attention_multiplier("mup", 64, 4) == pytest.approx(2 / 64)
    assert attention_multiplier("mup", 4, 4) == attention_multiplier("sp", 4, 4)
    assert gpt(256).attn_mult == pytest.approx(math.sqrt(BASE / 4) / 64)


def test_zero_readout_gives_zero_logits_and_tied_readout_uses_the_embedding():
    x, _ = batch(4)
    assert gpt(32, zero_readout=True)(x).abs().max() == 0
    tied = gpt(32, tied=True)
    assert tied.head is None and tied.readout_weight() is tied.tok_emb
    assert "head" not in dict(tied.named_parameters())


def test_every_tensor_is_classified_with_its_reason():
    net, base = gpt(64), gpt(BASE)
    kinds = explain_parameter_kinds(net, base)
    assert {k: v[0] for k, v in kinds.items()} == {
        n: s.kind for n, _, s in net.named_scalings()
    }
    assert kinds["tok_emb"] == ("vector", "(11, 64) vs (11, 16): dim 1 grows")
    assert kinds["blocks.0.mlp.fc"][0] == "matrix"
    assert "dims 0 and 1 grow" in kinds["blocks.0.mlp.fc"][1]
    assert kinds["blocks.1.ln2.bias"][0] == "vector"


def test_features_are_named_and_the_model_is_causal():
    x, _ = batch(5, b=2)
    net = gpt(32, zero_query=False)
    out, feats = net(x, return_features=True)
    assert out.shape == (2, T, V)
    assert feats["block1.attn_logits"].shape == (2, 4, T * (T + 1) // 2)
    assert feats["block0.mlp_hidden"].shape == (2, T, 128)
    assert list(feats)[0] == "embedding" and list(feats)[-1] == "block1.residual"
    y = x.clone()
    y[:, -1] = (y[:, -1] + 1) % V  # change only the last token
    assert torch.equal(net(y)[:, :-1], out[:, :-1])


def test_sp_and_mup_draw_the_same_numbers_from_the_same_seed():
    a, b = (
        dict(gpt(32, "sp").named_parameters()),
        dict(gpt(32, "mup", zero_query=False).named_parameters()),
    )
    for name in a:
        if name != "head":
            assert torch.equal(a[name], b[name]), name
    # only the readout's scale differs: std 32^-1/2 (SP) vs 16^-1/2 (muP, Table 8)
    assert torch.allclose(a["head"] * 32**0.5, b["head"] * BASE**0.5)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(param="ntp"), "'mup' or 'sp'"),
        (dict(width=30), "divisible by n_heads"),
        (dict(base_width=6), "divisible by n_heads"),
        (dict(context=0), "context"),
        (dict(dtype=torch.int64), "dtype"),
    ],
)
def test_bad_construction_is_refused(kwargs, msg):
    args = dict(vocab=V, width=32, n_heads=4) | kwargs
    with pytest.raises(ValueError, match=msg):
        GPT(**args)


def test_bad_tokens_are_refused():
    net = gpt(32)
    with pytest.raises(ValueError, match="integer"):
        net(torch.randn(2, 4))
    with pytest.raises(ValueError, match="outside"):
        net(torch.zeros(2, T + 1, dtype=torch.int64))

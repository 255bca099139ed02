"""The reference: an MLP written with the mup package (MuReadout + set_base_shapes).

Shared by tests/test_nn_tp5.py and bench/bench_coord.py; mup is a test dependency
(requirements-nodeps.txt), never a dependency of the library.
"""

import mup
import torch
from torch import nn


class MupPackageMLP(nn.Module):
    """``depth`` ReLU layers of ``width`` and a MuReadout, as in the mup package's examples."""

    def __init__(self, d_in, width, d_out, depth=2, bias=True):
        super().__init__()
        dims = [d_in] + [width] * depth
        self.hidden = nn.ModuleList(
            nn.Linear(a, b, bias=bias) for a, b in zip(dims[:-1], dims[1:])
        )
        self.readout = mup.MuReadout(width, d_out, bias=bias)

    def forward(self, x):
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.readout(x)


def mup_package_model(
    d_in, width, d_out, base_width, depth=2, bias=True, dtype=torch.float64
):
    """A MupPackageMLP with base shapes set (base width ``base_width``)."""
    make = lambda w: MupPackageMLP(d_in, w, d_out, depth, bias).to(dtype)  # noqa: E731
    model = make(width)
    mup.set_base_shapes(model, make(base_width), delta=make(base_width + 1))
    return model


def copy_into_mup_package(ours, theirs) -> None:
    """Copy a mupbook MuMLP's stored tensors into a MupPackageMLP of the same shape."""
    layers = list(theirs.hidden) + [theirs.readout]
    with torch.no_grad():
        for l, layer in enumerate(layers):
            layer.weight.copy_(ours.weights[l])
            if layer.bias is not None:
                layer.bias.copy_(ours.biases[l])


# ---------------------------------------------------------------------------- the GPT


class _RefBlock(nn.Module):
    """A pre-LN block with torch.nn layers; attention's 1/d written by hand, as the mup
    package's own Transformer example does (``attn_mult / d_head``)."""

    def __init__(self, width, n_heads, attn_mult, mlp_ratio=4):
        super().__init__()
        self.n_heads, self.attn_mult = n_heads, attn_mult
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.q, self.k, self.v, self.o = (
            nn.Linear(width, width, bias=False) for _ in range(4)
        )
        self.fc = nn.Linear(width, mlp_ratio * width, bias=False)
        self.proj = nn.Linear(mlp_ratio * width, width, bias=False)

    def forward(self, h):
        B, T, n = h.shape
        H = self.n_heads
        d = n // H
        a = self.ln1(h)
        q, k, v = (
            f(a).view(B, T, H, d).transpose(1, 2) for f in (self.q, self.k, self.v)
        )
        scores = q @ k.transpose(-1, -2) * self.attn_mult / d
        mask = torch.ones(T, T, dtype=torch.bool, device=h.device).tril()
        att = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        h = h + self.o((att @ v).transpose(1, 2).reshape(B, T, n))
        return h + self.proj(torch.nn.functional.gelu(self.fc(self.ln2(h))))


class MupPackageGPT(nn.Module):
    """The GPT of mupbook.transformer written with torch.nn and the mup package:
    nn.Embedding, nn.LayerNorm, nn.Linear, and MuReadout (MuSharedReadout when tied)."""

    def __init__(self, vocab, width, n_layers, n_heads, context, base_d_head, tied):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(context, width)
        attn_mult = base_d_head**0.5
        self.blocks = nn.ModuleList(
            _RefBlock(width, n_heads, attn_mult) for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(width)
        self.readout = (
            mup.MuSharedReadout(self.tok.weight, bias=False)
            if tied
            else mup.MuReadout(width, vocab, bias=False)
        )

    def forward(self, tokens):
        T = tokens.shape[1]
        h = self.tok(tokens) + self.pos.weight[:T]
        for blk in self.blocks:
            h = blk(h)
        return self.readout(self.ln_f(h))


def mup_package_gpt(
    vocab, width, base_width, n_layers=2, n_heads=4, context=16, tied=False
):
    """A MupPackageGPT in float64 with base shapes set (base width ``base_width``,
    delta model at twice the base width; the head count is fixed)."""

    def make(w):
        return MupPackageGPT(
            vocab, w, n_layers, n_heads, context, base_width // n_heads, tied
        ).to(torch.float64)

    model = make(width)
    mup.set_base_shapes(model, make(base_width), delta=make(2 * base_width))
    return model


def copy_gpt_into_mup_package(ours, theirs) -> None:
    """Copy a mupbook GPT's stored tensors into a MupPackageGPT of the same shape."""
    pairs = [(theirs.tok.weight, ours.tok_emb), (theirs.pos.weight, ours.pos_emb)]
    for a, b in zip(theirs.blocks, ours.blocks):
        pairs += [
            (a.ln1.weight, b.ln1.weight),
            (a.ln1.bias, b.ln1.bias),
            (a.q.weight, b.attn.q),
            (a.k.weight, b.attn.k),
            (a.v.weight, b.attn.v),
            (a.o.weight, b.attn.o),
            (a.ln2.weight, b.ln2.weight),
            (a.ln2.bias, b.ln2.bias),
            (a.fc.weight, b.mlp.fc),
            (a.proj.weight, b.mlp.proj),
        ]
    pairs += [
        (theirs.ln_f.weight, ours.ln_f.weight),
        (theirs.ln_f.bias, ours.ln_f.bias),
    ]
    if ours.head is not None:
        pairs.append((theirs.readout.weight, ours.head))
    with torch.no_grad():
        for dst, src in pairs:
            dst.copy_(src)

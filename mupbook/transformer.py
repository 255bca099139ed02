"""A small GPT (decoder-only Transformer) whose every tensor knows how it scales with width.

The same :class:`~mupbook.nn.Scaling` machinery as the MLPs of :mod:`mupbook.nn` (this
module is a core module of its own only because the GPT would double ``nn``'s length):
each parameter has an init standard deviation (and mean), a forward multiplier and the
factors by which SGD and Adam multiply the base learning rate ``eta``;
:class:`~mupbook.nn.ScaledModule` turns them into optimizer groups.

Architecture (GPT-2's pre-LayerNorm block, no dropout, no biases in the linear maps):
token and position embeddings, ``n_layers`` blocks ``h += attn(LN(h)); h += mlp(LN(h))``
with causal multi-head self-attention and a GELU MLP of hidden width ``mlp_ratio * n``,
a final LayerNorm and a readout (its own matrix, or tied to the token embedding).
Shapes: tokens (B, T) int64, T <= ``context`` -> logits (B, T, V).

Width is ``n = d_model`` with a **fixed head count** H, so the head dimension
``d = n / H`` grows with width, as in TP5's Transformer experiments (Section 3: width is
``d_model``, with ``d_k = d_q = d_v = d_model / n_head``). With a fixed head dimension,
1/d and 1/sqrt(d) would differ by a constant and nothing about attention could be seen
across widths. With base width ``n_0`` (head dimension ``d_0 = n_0 / H``) and
``m = n / n_0``:

============================  ======  ==================  ==========  ===========  =========
tensor (shape)                kind    init std SP / muP   multiplier  Adam lr      SGD lr
============================  ======  ==================  ==========  ===========  =========
token, position embeddings    vector  ``emb_std``         1           eta          eta [eta m]
LayerNorm gains (1), biases   vector  0 (mean 1 / 0)      1           eta          eta [eta m]
query (n, n)                  matrix  n^-1/2 / **0**      1           eta [eta/m]  eta
key, value, out (n, n)        matrix  n^-1/2              1           eta [eta/m]  eta
MLP in (4n, n), out (n, 4n)   matrix  fan_in^-1/2         1           eta [eta/m]  eta
readout (V, n), untied        vector  n^-1/2 / n_0^-1/2   1 [1/m]     eta          eta [eta m]
attention scores q.k          --      --                  d^-1/2 [d_0^1/2 / d]
============================  ======  ==================  ==========  ===========  =========

(SP first, muP in brackets where it differs.) muP is written as the ``mup`` package
implements it (TP5's Table 8 form: ``MuReadout``'s ``1/width_mult`` output multiplier,
``MuAdam``/``MuSGD`` learning rates, decoupled weight decay ``wd * m`` on matrices, Adam's
epsilon unscaled); attention uses ``1/d`` with the multiplier ``sqrt(d_0)`` so that at the
base width the scores are SP's ``q.k / sqrt(d_0)`` (the ``mup`` README's ``8/d`` for
``d_0 = 64``). At ``width == base_width`` muP *is* SP except for the query, which muP
initializes to zero (the ``mup`` README's recommendation; ``zero_query=False`` turns it
off). ``zero_readout=True`` zero-initializes the readout too: on its own that is not muP
(an SP readout trained at SP's rates blows up all the same), it only removes the
``n^-1/2`` output at initialization. A tied readout uses the token embedding with the
readout's multiplier (``MuSharedReadout``); the embedding keeps its own learning rates.

Why attention needs ``1/d``: ``q.k = sum_i q_i k_i`` is a sum over the ``d`` coordinates
of the head. At initialization ``q`` and ``k`` are independent and the sum cancels to
``sqrt(d)``; after training both have moved along directions set by the same inputs, the
terms share a sign and the sum grows like ``d`` (a law of large numbers). ``1/sqrt(d)``
then leaves scores of size ``sqrt(d)``; ``1/d`` keeps them of order one.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks, runtime
from .nn import ScaledModule, Scaling, check_float_dtype

PARAMS: tuple[str, ...] = ("mup", "sp")
LN_EPS = 1e-5


def attention_multiplier(param: str, d_head: int, base_d_head: int) -> float:
    """The factor on ``q.k``: SP ``d^-1/2``; muP ``sqrt(d_0) / d`` (``1/d`` scaled so
    that it is SP's at the base head dimension ``d_0``)."""
    if param == "sp":
        return d_head**-0.5
    return math.sqrt(base_d_head) / d_head


def gpt_scalings(
    param: str,
    width: int,
    base_width: int,
    *,
    n_layers: int,
    mlp_ratio: int = 4,
    tied: bool = False,
    zero_query: bool | None = None,
    zero_readout: bool = False,
    emb_std: float = 1.0,
) -> dict[str, Scaling]:
    """Every tensor's :class:`~mupbook.nn.Scaling` under SP or muP (the table of
    :mod:`mupbook.transformer`), keyed by parameter name as in :class:`GPT`."""
    sp = param == "sp"
    m = width / base_width
    zq = (not sp) if zero_query is None else bool(zero_query)
    vec_sgd = 1.0 if sp else m
    hid_adam = 1.0 if sp else 1.0 / m
    emb = Scaling("vector", emb_std, 1.0, vec_sgd, 1.0)
    gain = Scaling("vector", 0.0, 1.0, vec_sgd, 1.0, init_mean=1.0)
    bias = Scaling("vector", 0.0, 1.0, vec_sgd, 1.0)

    def hidden(fan_in: int, zero: bool = False) -> Scaling:
        return Scaling("matrix", 0.0 if zero else fan_in**-0.5, 1.0, 1.0, hid_adam)

    out = {"tok_emb": emb, "pos_emb": emb}
    for l in range(n_layers):
        b = f"blocks.{l}."
        out |= {
            b + "ln1.weight": gain,
            b + "ln1.bias": bias,
            b + "attn.q": hidden(width, zq),
            b + "attn.k": hidden(width),
            b + "attn.v": hidden(width),
            b + "attn.o": hidden(width),
            b + "ln2.weight": gain,
            b + "ln2.bias": bias,
            b + "mlp.fc": hidden(width),
            b + "mlp.proj": hidden(mlp_ratio * width),
        }
    out |= {"ln_f.weight": gain, "ln_f.bias": bias}
    if not tied:
        std = 0.0 if zero_readout else (width if sp else base_width) ** -0.5
        out["head"] = Scaling("vector", std, 1.0 if sp else 1.0 / m, vec_sgd, 1.0)
    return out


def readout_multiplier(param: str, width: int, base_width: int) -> float:
    """The readout's forward multiplier: 1 (SP) or ``1/m`` (muP, ``MuReadout``)."""
    return 1.0 if param == "sp" else base_width / width


class _LayerNorm(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n))
        self.bias = nn.Parameter(torch.empty(n))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(h, h.shape[-1:], self.weight, self.bias, LN_EPS)


class _Attention(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        for name in ("q", "k", "v", "o"):
            setattr(self, name, nn.Parameter(torch.empty(n, n)))


class _MLP(nn.Module):
    def __init__(self, n: int, hidden: int) -> None:
        super().__init__()
        self.fc = nn.Parameter(torch.empty(hidden, n))
        self.proj = nn.Parameter(torch.empty(n, hidden))


class _Block(nn.Module):
    def __init__(self, n: int, hidden: int) -> None:
        super().__init__()
        self.ln1, self.attn = _LayerNorm(n), _Attention(n)
        self.ln2, self.mlp = _LayerNorm(n), _MLP(n, hidden)


class GPT(ScaledModule):
    """A decoder-only Transformer of width ``d_model = width`` in SP or muP (TP5).

    ``vocab`` tokens, ``context`` positions, ``n_layers`` pre-LN blocks, ``n_heads``
    heads (fixed: the head dimension is ``width / n_heads``), base width ``base_width``
    (where muP equals SP, up to the query's zero init). ``tied`` ties the readout to the
    token embedding; ``zero_query`` (default: muP only) and ``zero_readout`` zero-init
    those tensors. Every tensor's rule: :func:`gpt_scalings`; :meth:`named_scalings`,
    :meth:`~mupbook.nn.ScaledModule.adam` and ``.sgd`` work as for the MLPs.
    """

    def __init__(
        self,
        vocab: int,
        width: int,
        param: Literal["mup", "sp"] = "mup",
        *,
        n_layers: int = 2,
        n_heads: int = 4,
        context: int = 64,
        base_width: int = 64,
        mlp_ratio: int = 4,
        tied: bool = False,
        zero_query: bool | None = None,
        zero_readout: bool = False,
        emb_std: float = 1.0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        for v, what in (
            (vocab, "vocab"),
            (width, "width"),
            (n_layers, "n_layers"),
            (n_heads, "n_heads"),
            (context, "context"),
            (base_width, "base_width"),
            (mlp_ratio, "mlp_ratio"),
        ):
            _checks.positive_int(v, what)
        key = str(param).strip().lower().replace("μ", "mu")
        if key not in PARAMS:
            raise ValueError(f"GPT param must be 'mup' or 'sp', got {param!r}")
        for n, what in ((width, "width"), (base_width, "base_width")):
            if n % n_heads:
                raise ValueError(
                    f"{what} {n} is not divisible by n_heads {n_heads} (the head "
                    "dimension is width / n_heads)"
                )
        _checks.positive_float(emb_std, "emb_std")
        check_float_dtype(dtype)
        dev = runtime.device(None if device is None else str(device))
        self.vocab, self.width, self.param, self.base_width = (
            int(vocab),
            int(width),
            key,
            int(base_width),
        )
        self.n_layers, self.n_heads, self.context = (
            int(n_layers),
            int(n_heads),
            int(context),
        )
        self.tied = bool(tied)
        self.d_head = self.width // self.n_heads
        self.attn_mult = attention_multiplier(
            key, self.d_head, self.base_width // self.n_heads
        )
        self.readout_mult = readout_multiplier(key, self.width, self.base_width)
        self.scalings = gpt_scalings(
            key,
            self.width,
            self.base_width,
            n_layers=self.n_layers,
            mlp_ratio=int(mlp_ratio),
            tied=self.tied,
            zero_query=zero_query,
            zero_readout=zero_readout,
            emb_std=float(emb_std),
        )
        n = self.width
        self.tok_emb = nn.Parameter(torch.empty(self.vocab, n))
        self.pos_emb = nn.Parameter(torch.empty(self.context, n))
        self.blocks = nn.ModuleList(
            _Block(n, int(mlp_ratio) * n) for _ in range(self.n_layers)
        )
        self.ln_f = _LayerNorm(n)
        self.head = None if self.tied else nn.Parameter(torch.empty(self.vocab, n))
        with torch.no_grad():  # in the order of named_parameters: reproducible draws
            for name, p in self.named_parameters():
                p.copy_(self.scalings[name].sample(tuple(p.shape), generator, dtype))
        self.to(device=dev, dtype=dtype)
        causal = torch.ones(self.context, self.context, dtype=torch.bool).tril()
        self.register_buffer("causal", causal.to(dev), persistent=False)

    def named_scalings(self) -> list[tuple[str, nn.Parameter, Scaling]]:
        """Every parameter with its name and scaling (:func:`gpt_scalings`)."""
        return [(name, p, self.scalings[name]) for name, p in self.named_parameters()]

    def readout_weight(self) -> torch.Tensor:
        """The stored readout matrix (V, n): its own, or the token embedding when tied."""
        return self.tok_emb if self.head is None else self.head

    def forward(
        self, tokens: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits (B, T, V) of the next token at every position of ``tokens`` (B, T).

        With ``return_features`` also a dict of named activations: ``embedding``
        (B, T, n); per block ``l``: ``block{l}.attn_logits`` (the scaled scores ``q.k``
        of the causal pairs, (B, H, T(T+1)/2)), ``block{l}.attn_out`` (B, T, n),
        ``block{l}.mlp_hidden`` (B, T, 4n), ``block{l}.mlp_out`` (B, T, n) and
        ``block{l}.residual`` (B, T, n), the residual stream after the block."""
        if tokens.ndim != 2 or tokens.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"tokens must be an integer tensor (batch, time), got "
                f"{tuple(tokens.shape)} {tokens.dtype}"
            )
        B, T = tokens.shape
        if not 1 <= T <= self.context:
            raise ValueError(f"sequence length {T} is outside 1..{self.context}")
        H, d = self.n_heads, self.d_head
        feats: dict[str, torch.Tensor] = {}
        h = F.embedding(tokens, self.tok_emb) + self.pos_emb[:T]
        feats["embedding"] = h
        mask = self.causal[:T, :T]
        pairs = mask.expand(B, H, T, T)
        for l, blk in enumerate(self.blocks):
            a = blk.ln1(h)
            q, k, v = (
                (a @ w.T).view(B, T, H, d).transpose(1, 2)
                for w in (blk.attn.q, blk.attn.k, blk.attn.v)
            )
            scores = (q @ k.transpose(-1, -2)) * self.attn_mult  # (B, H, T, T)
            att = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            z = (att @ v).transpose(1, 2).reshape(B, T, H * d)
            o = z @ blk.attn.o.T
            h = h + o
            u = F.gelu(blk.ln2(h) @ blk.mlp.fc.T)
            r = u @ blk.mlp.proj.T
            h = h + r
            if return_features:
                feats[f"block{l}.attn_logits"] = scores[pairs].view(B, H, -1)
                feats[f"block{l}.attn_out"] = o
                feats[f"block{l}.mlp_hidden"] = u
                feats[f"block{l}.mlp_out"] = r
                feats[f"block{l}.residual"] = h
        out = self.readout_mult * (self.ln_f(h) @ self.readout_weight().T)
        return (out, feats) if return_features else out

    def loss(self, tokens: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy (nats) of ``targets`` (B, T) given ``tokens``."""
        logits = self(tokens)
        return F.cross_entropy(logits.reshape(-1, self.vocab), targets.reshape(-1))


def _factor(f: float) -> str:
    """A learning-rate factor as a multiple of eta: ``eta``, ``eta/4``, ``4 eta``."""
    if f == 1:
        return "η"
    return f"η/{1 / f:g}" if f < 1 else f"{f:g} η"


def scaling_table(
    width: int, base_width: int = 64, *, n_heads: int = 2, vocab: int = 27
) -> list[dict[str, str]]:
    """The per-tensor rules of a GPT of ``width`` (base ``base_width``) under SP and muP,
    one row per tensor of the embeddings, the first block (every block is alike) and the
    head, then the attention scores' multiplier: tensor, shape, kind (with the reason,
    from :func:`mupbook.nn.explain_parameter_kinds`), init std, multiplier, Adam and SGD
    learning rates (SP / muP)."""
    from .nn import explain_parameter_kinds

    def make(n: int, param: str) -> GPT:
        return GPT(
            vocab, n, param, n_layers=1, n_heads=n_heads, base_width=base_width
        )

    sp, mu = make(width, "sp"), make(width, "mup")
    kinds = explain_parameter_kinds(mu, make(base_width, "mup"))

    def std(s: Scaling) -> str:
        return (
            f"{s.init_std:.3g}" if s.init_std > 0 else f"{s.init_mean:g} (constant)"
        )

    rows = []
    for (name, p, a), (_, _, b) in zip(sp.named_scalings(), mu.named_scalings()):
        kind, why = kinds[name]
        rows.append(
            {
                "tensor": name.replace("blocks.0.", "blocks.l."),
                "shape": str(tuple(p.shape)),
                "kind": f"{kind}: {why.split(': ')[1]}",
                "init std SP / μP": f"{std(a)} / {std(b)}",
                "multiplier SP / μP": f"{a.multiplier:g} / {b.multiplier:g}",
                "Adam lr SP / μP": f"{_factor(a.adam_lr)} / {_factor(b.adam_lr)}",
                "SGD lr SP / μP": f"{_factor(a.sgd_lr)} / {_factor(b.sgd_lr)}",
            }
        )
    d, d0 = width // n_heads, base_width // n_heads
    rows.append(
        {
            "tensor": "attention scores q·k",
            "shape": f"head dimension d = {d}",
            "kind": "-",
            "init std SP / μP": "-",
            "multiplier SP / μP": f"1/√d = {attention_multiplier('sp', d, d0):.3g} / "
            f"√d₀/d = {attention_multiplier('mup', d, d0):.3g}",
            "Adam lr SP / μP": "-",
            "SGD lr SP / μP": "-",
        }
    )
    return rows

"""Vector-like and matrix-like parameters (chapter 3; TP5's classification of parameters).

A weight multiplies a vector, and each output coordinate sums over the weight's
fan-in. If the fan-in is a *finite* dimension (input weights, biases) the sum has a
fixed number of terms; if it is the *width* n (hidden weights, the readout) it has n
terms, which cancel in square root when ``W`` and ``v`` are independent but add up
linearly when they are correlated. They are correlated in two ways: an update ``W`` is
built from the vector it later multiplies (``dW = -lr g v^T``), and a vector can be built
from the weights that later multiply it (backpropagation makes the features' change
``dx^L`` depend on the readout ``W^{L+1}_0``, which then multiplies it). So, for entries of
size ``n^-alpha``:

==============  ====================  ====================  ==========================
contracted dim  init, ``v`` indep.    update (``W`` from v)  init, ``v`` from ``W``
==============  ====================  ====================  ==========================
finite (d)      ``n^-alpha``          ``n^-alpha``          ``n^-alpha``
width (n)       ``n^(1/2 - alpha)``   ``n^(1 - alpha)``     ``n^(1 - alpha)``
==============  ====================  ====================  ==========================

and the entry size that keeps ``W v`` of order one is ``alpha = 0, 0, 0`` and
``1/2, 1, 1``. The last column is why muP initializes the readout at ``n^-1`` (TP5 Table 3:
variance ``1/fan_in^2``) although at initialization it only multiplies independent
features: during training it multiplies ``dx^L`` too (TP4's ``a_{L+1} + b_{L+1} + r >= 1``).
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import torch

from .. import _checks, runtime
from .cancellation import rms

Contracted = Literal["finite", "width"]
Phase = Literal["init", "update", "backprop"]

#: What W and v are in each phase: "init" W independent of v, "update" W built from v,
#: "backprop" W at init and v built from W.
PHASES = ("init", "update", "backprop")

#: The exponent alpha (entries of size n^-alpha) that keeps W v of order one.
NEEDED_ALPHA = {
    ("finite", "init"): 0.0,
    ("finite", "update"): 0.0,
    ("finite", "backprop"): 0.0,
    ("width", "init"): 0.5,
    ("width", "update"): 1.0,
    ("width", "backprop"): 1.0,
}


def theory_slope(contracted: Contracted, phase: Phase, alpha: float) -> float:
    """The log-log slope of the rms coordinate of ``W v`` against n (table above)."""
    _check(contracted, phase)
    return NEEDED_ALPHA[(contracted, phase)] - alpha


def _check(contracted: str, phase: str) -> None:
    if contracted not in ("finite", "width"):
        raise ValueError(
            f"contracted must be 'finite' or 'width', got {contracted!r}"
        )
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")


def contraction_sizes(
    widths: Sequence[int],
    contracted: Contracted,
    phase: Phase,
    alpha: float,
    *,
    d: int = 16,
    trials: int = 16,
    seed: int = 0,
) -> np.ndarray:
    """rms coordinate of ``W v`` for each width, shape (trials, widths).

    ``v`` has ``d`` coordinates if ``contracted == "finite"``, ``n`` if ``"width"``; the
    output has ``n`` (resp. ``d``). ``W`` has entries of size ``n^-alpha``. ``init``: W iid
    Gaussian, ``v`` iid N(0, 1), independent of it. ``update``: W a rank-one
    gradient-like matrix ``g sign(v)^T`` (g with iid +-1 entries), correlated with ``v``.
    ``backprop``: W iid Gaussian and ``v = W^T g`` (the backward pass through W of a
    vector ``g`` of +-1 entries), rescaled to coordinates of root-mean-square 1.
    """
    _check(contracted, phase)
    ws = _checks.widths(widths)
    if not np.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got {alpha}")
    gen = runtime.generator(seed)
    out = np.zeros((trials, len(ws)))
    for j, n in enumerate(ws):
        n = int(n)
        fan_in, fan_out = (d, n) if contracted == "finite" else (n, d)
        v = torch.randn(trials, fan_in, generator=gen, dtype=torch.float64)
        scale = float(n) ** -alpha
        if phase in ("init", "backprop"):
            w = (
                torch.randn(
                    trials, fan_out, fan_in, generator=gen, dtype=torch.float64
                )
                * scale
            )
            if phase == "backprop":
                g = torch.randint(0, 2, (trials, fan_out), generator=gen) * 2 - 1
                v = torch.einsum("toi,to->ti", w, g.to(torch.float64))
                v = v / rms(v)[:, None]
            wv = torch.einsum("toi,ti->to", w, v)
        else:
            g = (
                torch.randint(0, 2, (trials, fan_out), generator=gen).to(
                    torch.float64
                )
                * 2
                - 1
            )
            # W = scale * g sign(v)^T has entries of size exactly n^-alpha and is correlated
            # with v; W v = scale * g * sum_i |v_i| without forming W.
            wv = scale * g * v.abs().sum(1, keepdim=True)
        out[:, j] = rms(wv).numpy()
    return out


def adam_update_sizes(
    widths: Sequence[int],
    param: Literal["sp", "mup"],
    *,
    lr: float = 1e-3,
    base_width: int = 64,
    seeds: Sequence[int] = (0,),
) -> np.ndarray:
    """rms coordinate of ``dW x`` for the hidden matrix of a 2-hidden-layer MLP after
    one Adam step at a fixed ``lr``, shape (seeds, widths).

    Adam's update entries are about ``lr`` in size whatever the gradient's size, so
    the correlated sum over the width makes ``dW x`` grow like ``n`` under SP; muP
    divides the matrix's learning rate by ``n / n_0`` (TP5 Table 3) and it stays flat.
    """
    ws = _checks.widths(widths)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    return np.array([_adam_update_sizes(ws, param, lr, base_width, s) for s in seeds])


def _adam_update_sizes(
    ws: np.ndarray, param: str, lr: float, base_width: int, seed: int
) -> np.ndarray:
    from ..nn import MuMLP

    gen = runtime.generator(seed)
    xi = torch.randn(8, 16, generator=gen, dtype=torch.float64)
    y = torch.randn(8, 1, generator=gen, dtype=torch.float64)
    sizes = []
    for n in ws:
        net = MuMLP(
            16,
            int(n),
            1,
            param,
            base_width=base_width,
            generator=gen,
            dtype=torch.float64,
        )
        opt = net.adam(lr)
        out, feats = net(xi, return_features=True)
        x = feats[0].detach()  # (8, n) first-layer features
        w0 = net.effective_weight(2).detach().clone()
        loss = (out - y).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        dw = net.effective_weight(2).detach() - w0
        sizes.append(rms(x @ dw.T).mean().item())
    return np.array(sizes)

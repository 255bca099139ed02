"""Why attention needs 1/d: a dot product of independent vs correlated vectors.

An attention score is ``q.k = sum_{i <= d} q_i k_i`` over the ``d`` coordinates of a
head. When ``q`` and ``k`` are independent (a Transformer at initialization) the terms
have mean zero and the sum cancels to size ``sqrt(d)`` (the central limit theorem, chapter
1's square-root cancellation). When they are correlated, as after training, where both
have moved along directions set by the same inputs, the terms share a sign and the sum
grows like ``d`` (the law of large numbers). ``1/sqrt(d)`` keeps the first of order one
and lets the second grow like ``sqrt(d)``; ``1/d`` keeps the second of order one.

This module draws the two cases directly; it is a demonstration of the arithmetic, true
by construction. The claim about the trained GPT is the coordinate check of
:func:`mupbook.studies.coord_check.gpt_coord_check`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .. import _checks, runtime


def dot_product_sizes(
    dims: Sequence[int],
    correlation: float,
    *,
    samples: int = 2000,
    seed: int = 0,
) -> np.ndarray:
    """Mean ``|q.k|`` (len(dims),) over ``samples`` pairs of vectors in ``R^d`` with
    ``q ~ N(0, I)`` and ``k = c q + sqrt(1 - c^2) z`` (``z ~ N(0, I)`` independent,
    ``c = correlation`` in [0, 1]): coordinates of size one, correlated ``c`` per
    coordinate. Size ``~ sqrt(d)`` at ``c = 0``, ``~ c d`` at ``c > 0``."""
    ds = _checks.widths(dims, "dims")
    c = _checks.probability(correlation, "correlation", open_right=False)
    samples = _checks.positive_int(samples, "samples")
    gen = runtime.generator(seed)
    out = []
    for d in ds:
        q = torch.randn(samples, int(d), generator=gen, dtype=torch.float64)
        z = torch.randn(samples, int(d), generator=gen, dtype=torch.float64)
        k = c * q + (1 - c * c) ** 0.5 * z
        out.append((q * k).sum(1).abs().mean().item())
    return np.asarray(out)

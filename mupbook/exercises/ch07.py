"""Exercises of the chapter "muP for Transformers" (attention, per-tensor rules, a bug hunt)."""

from __future__ import annotations

import dataclasses

import torch

from ..transformer import GPT
from . import Exercise, choice, numeric, register

#: The buggy model's size (the coordinate check in the chapter uses these).
BUG_VOCAB, BUG_LAYERS, BUG_HEADS, BUG_BASE = 27, 2, 2, 32


def _the_bug() -> str:
    # which tensor keeps SP's Adam learning rate (the exercise is to find it)
    return ".".join(("blocks", str(BUG_LAYERS - 1), "mlp", "fc"))


def buggy_gpt(
    width: int, generator: torch.Generator | None = None, context: int = 16
) -> GPT:
    """A muP GPT (:class:`~mupbook.transformer.GPT`, 27 tokens, 2 blocks, 2 heads, base
    width 32) with one deliberate bug: one tensor's rule is not muP's. Its signature fits
    :func:`mupbook.studies.coord_check.coord_check`'s ``make_model(width, generator)``."""
    model = GPT(
        BUG_VOCAB,
        width,
        "mup",
        n_layers=BUG_LAYERS,
        n_heads=BUG_HEADS,
        context=context,
        base_width=BUG_BASE,
        generator=generator,
    )
    name = _the_bug()
    model.scalings[name] = dataclasses.replace(model.scalings[name], adam_lr=1.0)
    return model


def _parameter_names() -> tuple[str, ...]:
    net = GPT(BUG_VOCAB, BUG_BASE, n_layers=BUG_LAYERS, n_heads=BUG_HEADS, context=4)
    return tuple(name for name, _ in net.named_parameters())


register(
    Exercise(
        id="gpt-sp-logit-slope",
        kind="derive",
        question="A muP GPT whose q and k keep coordinates of order one computes its "
        "attention scores with SP's scale, q.k / sqrt(d). After a few Adam steps q and k "
        "are correlated. The scores then grow with the head dimension like d^s: what is s?",
        checker=numeric(
            0.5,
            abs_tol=0.05,
            hints={
                0.0: "that would hold for independent q and k (a sum of d terms of random "
                "sign is sqrt(d)); after training the terms share a sign",
                1.0: "that is how the sum q.k grows before it is scaled; the score is q.k "
                "after the scale",
                -0.5: "the sum grows, it does not shrink: count d correlated terms",
            },
            explain="1/2: q.k sums d terms of the same sign (a law of large numbers, size d); "
            "1/sqrt(d) leaves sqrt(d)",
        ),
        reference=lambda: 0.5,
        wrong=(lambda: 0.0, lambda: 1.0),
    )
)

register(
    Exercise(
        id="gpt-attention-multiplier",
        kind="practice",
        question="A muP GPT has base head dimension d_0 = 16 (where it equals SP). Which factor "
        "multiplies q.k at head dimension d = 256?",
        checker=numeric(
            16**0.5 / 256,
            rel_tol=1e-6,
            hints={
                1 / 16: "that is SP's 1/sqrt(d); muP divides by d",
                1
                / 256: "that is 1/d alone: at d = d_0 it would not be SP's factor, and muP "
                "equals SP at the base width",
                1
                / 64
                ** 0.5: "that shrinks like 1/sqrt(d) beyond the base width; muP's factor "
                "shrinks like 1/d",
            },
            explain="sqrt(16) / 256 = 1/64: the mup README's 8/d for d_0 = 64, here 4/d",
        ),
        reference=lambda: 16**0.5 / 256,
        wrong=(lambda: 1 / 16, lambda: 1 / 256),
    )
)

register(
    Exercise(
        id="gpt-mlp-adam-lr",
        kind="derive",
        question="In muP with Adam (base width 64), the MLP's first matrix has shape "
        "(4n, n). At width n = 1024, by which factor is its learning rate multiplied, "
        "relative to the base learning rate eta?",
        checker=numeric(
            64 / 1024,
            rel_tol=1e-6,
            hints={
                1.0: "that is SP's rule: Adam moves every entry by about eta, so the "
                "matrix's output changes by eta times its fan-in",
                16.0: "under Adam the rate of a hidden matrix shrinks with width; growing "
                "rates belong to vector-like tensors under SGD",
                64
                / 4096: "the MLP's factor 4 is in its fan-in at the base width too: "
                "the rule uses the ratio of fan-ins",
                0.25: "that is 1/sqrt(width ratio), an initialization scale, not Adam's rate",
            },
            explain="64 / 1024 = 1/16: a matrix-like tensor's Adam rate is eta / (fan_in / "
            "base fan_in)",
        ),
        reference=lambda: 64 / 1024,
        wrong=(lambda: 1.0, lambda: 16.0, lambda: 64 / 4096),
    )
)

_NAMES = _parameter_names()
_BLOCK = BUG_LAYERS - 1
register(
    Exercise(
        id="gpt-find-the-bug",
        kind="debug",
        question="mupbook.exercises.ch07.buggy_gpt is a muP GPT in which one tensor "
        "keeps a wrong rule. Run a coordinate check on it and name the tensor "
        "(a parameter name such as 'blocks.0.attn.q').",
        checker=choice(
            _the_bug(),
            _NAMES,
            hints={
                f"blocks.{_BLOCK}.mlp.proj": "its output grows, but only because its input "
                "already does: look for the first activation that grows with width",
                f"blocks.{_BLOCK - 1}.mlp.fc": "check the block: which block's activations "
                "grow first?",
                f"blocks.{_BLOCK}.attn.o": "the attention output stays flat; the slope "
                "starts further on in that block",
                "head": "the output grows only downstream of the real bug; the first "
                "activation that grows is inside a block",
            },
            explain="the MLP's first matrix of the last block kept SP's Adam rate eta instead "
            "of eta/m, so block1.mlp_hidden is the first activation to grow (slope near 1)",
        ),
        reference=_the_bug,
        wrong=(
            lambda: f"blocks.{_BLOCK}.mlp.proj",
            lambda: f"blocks.{_BLOCK - 1}.mlp.fc",
            lambda: "head",
        ),
    )
)

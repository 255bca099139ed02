"""The published numbers the book reproduces, typed once.

Every experiment module, the reproduction page and the chapters read them from here, so a
number of the paper appears in one place only. TP4 is Yang & Hu, *Feature Learning in
Infinite-Width Neural Networks* (ICML 2021); its experiments are in its Section 9.
"""

from __future__ import annotations

#: TP4, MAML on Omniglot: 5-way 1-shot, first-order MAML, 1-hidden-layer networks,
#: meta-test accuracy (%) after 20 inner steps at test. Keys name the model as the
#: experiment does: ``limit`` (the muP limit of a linear network), ``finite-N`` (width N,
#: muP), ``relu-nngp``/``relu-ntk`` and ``linear-nngp``/``linear-ntk`` (kernel limits).
OMNIGLOT_1SHOT: dict[str, float] = {
    "limit": 66.4,
    "finite-2": 55.4,
    "finite-8": 64.5,
    "finite-32": 66.2,
    "finite-128": 66.3,
    "finite-512": 66.4,
    "finite-2048": 66.4,
    "finite-8192": 66.4,
    "relu-nngp": 47.6,
    "relu-ntk": 47.8,
    "linear-nngp": 41.7,
    "linear-ntk": 41.7,
}

#: TP4 evaluates MAML at meta-test time with this many inner steps (its code's README).
OMNIGLOT_INNER_STEPS = 20

#: TP4, Word2Vec (CBOW, negative sampling): word-analogy accuracy (%) on text8 after 15
#: epochs, by width, for the muP limit and for the NTK (and NNGP) limit, whose embeddings
#: never move.
WORD2VEC_TEXT8: dict[str, float] = {
    "64": 33.35,
    "256": 41.58,
    "1024": 42.56,
    "limit": 43.3,
    "ntk": 0.0,
}

#: The same on fil9 after 5 epochs (the book does not train on fil9).
WORD2VEC_FIL9: dict[str, float] = {
    "64": 44.39,
    "256": 54.23,
    "1024": 55.67,
    "limit": 56.42,
}


def percent(value: float) -> str:
    """A published accuracy as the reproduction page shows it (``66.4 %``)."""
    return f"{value:g} %"


#: TP5 (Yang, Hu et al., *Tensor Programs V*, NeurIPS 2021), on Transformers trained with
#: Adam. Figure 1 plots "training loss against learning rate on Transformers of varying
#: d_model trained with Adam" (its caption as the ``mup`` package's README shows the
#: figure); it gives no numbers to set beside ours, so the reproduction page sets these
#: claims beside our measurements. Sources: the abstract ("in μP, many optimal HPs remain
#: stable even as model size changes"), the ``mup`` README ("μP turns out to be the
#: unique 'natural' parametrization that has this hyperparameter stability property
#: across width"; section "Wider is Always Better").
TP5_TRANSFORMER_CLAIMS: dict[str, str] = {
    "mup": "in μP the optimal learning rate stays stable as the width changes "
    "(abstract; Figure 1)",
    "sp": "SP lacks this stability; μP is the unique natural parametrization with it "
    "(mup README; Figure 1 sets SP beside μP)",
    "wider": "in a correct μP implementation performance improves with width "
    "(mup README, 'Wider is Always Better')",
}

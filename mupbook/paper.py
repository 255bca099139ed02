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


#: The pi-limit paper (Yang, Santacroce & Hu, "Efficient Computation of Deep Nonlinear
#: Infinite-Width Neural Networks that Learn Features", ICLR 2022), Table 1, as its code's
#: README lists it with the command of each entry (santacml/pilim, ``pilimit_orig/README.md``,
#: "Hyperparameter Commands"): 2-hidden-layer ReLU networks, r = 400, float16 on a GPU.
#: CIFAR-10 test accuracy (%); the kernels by kernel regression (regularization 1e-4).
PI_LIMIT_CIFAR10: dict[str, float] = {
    "NNGP": 58.92,
    "NTK": 59.63,
    "finite muP": 61.31,
    "finite pi-net": 60.64,
    "infinite pi-net": 61.50,
}

#: The same table's Omniglot row: 5-way 1-shot first-order MAML accuracy (%), with the
#: paper's protocol (readout zero-initialized and never meta-trained, the inner loop adapts
#: the readout only; the NNGP/NTK commands evaluate on the validation split).
PI_LIMIT_OMNIGLOT_MAML: dict[str, float] = {
    "NNGP": 43.80,
    "NTK": 51.72,
    "finite muP": 91.22,
    "finite pi-net": 92.21,
    "infinite pi-net": 91.46,
}

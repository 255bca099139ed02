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


#: TP5 (Yang, Hu et al., *Tensor Programs V*, arXiv:2203.03466), on Transformers trained
#: with Adam. Its Figure 1 ("Training loss against learning rate on Transformers of varying
#: d_model trained with Adam"; post-layernorm Transformers, d_model 128 to 8192, trained on
#: wikitext-2 for 5 epochs, Section 3; muP from base width 128, Section 4) gives curves,
#: not numbers, so the reproduction page sets these claims beside our measurements.
#: Sources, checked in the arXiv v2 text: Section 3 ("as shown in Fig. 1 (left)", the
#: optimum shifts in SP), Section 4 ("The results are shown on the right in Fig. 1, where
#: the optimal learning rate is stable, and the performance improves monotonically with
#: width"), Definition 4.1 (1/d attention) and Section 6.1 (transfer once a minimum scale
#: is met, e.g. width 256, depth 4, batch size 32, sequence length 128, 5000 steps).
TP5_TRANSFORMER_CLAIMS: dict[str, str] = {
    "mup": "in μP the optimal learning rate is stable across width (Section 4, "
    "Figure 1 right)",
    "sp": "in SP the optimal learning rate shifts with width (Section 3, Figure 1 left)",
    "wider": "in μP the performance improves monotonically with width (Section 4, "
    "Figure 1 right)",
}

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

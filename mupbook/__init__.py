"""mupbook: the companion library of the course-book on feature learning in
infinite-width neural networks (muP, NNGP, NTK).

Import submodules directly (``from mupbook import runtime``); importing the package
itself imports nothing else, so ``import mupbook`` is instant.

The library is layered; imports run one way, from each layer to the ones above it in
this table (``tests/test_architecture.py`` enforces it):

=====================  ==============================================================  ========
layer                  modules                                                         chapters
=====================  ==============================================================  ========
core (flat, small)     ``runtime`` switches and seeds; ``_checks`` input checks;         all
                       ``fit`` log-log slopes and grid optima; ``stats`` binomial
                       intervals of accuracies; ``abc`` abc-parametrizations and the
                       Dynamical Dichotomy; ``nn`` width-parametrized MLPs;
                       ``transformer`` a GPT on ``nn``'s per-tensor scalings;
                       ``kernels`` exact NNGP/NTK; ``predict`` kernel predictors;
                       ``empirical`` finite-width kernels; ``results`` the JSON of a
                       run; ``paper`` the published numbers; ``reproduction`` the
                       reproduction page
``limits/``            exact infinite-width limits beside their finite samplers:         5-7, pi
                       ``linear``, ``kernel_sgd``, ``one_hidden``, ``pi`` (deep ReLU
                       pi-limit)
``data/``              Omniglot, text8 and the offline corpus (words and characters),    2, 5-7
                       the analogy set
``studies/``           one chapter's demonstrations: ``cancellation``,                   1-5, pi
                       ``vector_matrix``, ``movement``, ``kernel_regression``,
                       ``coord_check`` (MLPs and the GPT), ``spellings``,
                       ``nonlinear_limit``, ``zdot``, ``pi_limit``, ``attention``
``experiments/``       the papers' experiments with their command lines: ``maml``,       5-7, pi
                       ``mutransfer``, ``mutransfer_gpt``, ``word2vec``, ``pi_maml``,
                       ``pi_supervised`` (shared skeleton ``_common``)
``exercises/``         checkers of the chapters' exercises, one module per chapter       all
``viz/``               everything that draws, and the explorers (one helper)             all
=====================  ==============================================================  ========

The core imports no subpackage; ``limits`` and ``data`` import only the core;
``studies``, ``experiments`` and ``exercises`` import the core, ``limits`` and ``data``
(``experiments`` may also use ``studies``); nothing outside ``viz`` imports ``viz``, and
nothing outside ``viz`` imports matplotlib or ipywidgets at module level. The chapters sit
on top of everything.
"""

__version__ = "0.1.0"

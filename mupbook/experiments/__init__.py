"""The papers' experiments, at quick (CPU) or full (GPU) size.

Each module is one experiment with its own training loop: a configuration (on
:class:`~mupbook.experiments._common.ConfigBase`), a function that runs it and returns a
dataclass of results, the results document it writes, and a command line (``python -m
mupbook.experiments.<name> --help``) that checks its whole configuration before any work
and writes the full-size results to JSON (:mod:`~mupbook.experiments._common`). Their
figures live in :mod:`mupbook.viz`.

* :mod:`~mupbook.experiments.maml` (chapter 8): MAML on Omniglot, finite widths, the muP
  limit and the kernel limits;
* :mod:`~mupbook.experiments.mutransfer` (chapter 6): learning-rate sweeps across widths;
* :mod:`~mupbook.experiments.word2vec` (chapter 9): Word2Vec at finite width and its limits;
* :mod:`~mupbook.experiments.pi_maml` and :mod:`~mupbook.experiments.pi_supervised` ("Deep
  limits that learn features"): the pi-limit on Omniglot, MAML with the pi-limit paper's
  protocol and supervised classification from a few drawings each.
"""

"""The code behind single chapters' demonstrations, one study per module.

* :mod:`~mupbook.studies.cancellation` (chapter 1): square-root cancellation against the
  law of large numbers, in real networks after one SGD step;
* :mod:`~mupbook.studies.vector_matrix` (chapter 3): the four sums of vector-like and
  matrix-like contractions, and Adam's updates per parameter kind;
* :mod:`~mupbook.studies.movement` (chapters 1, 2, 4): how far features and kernels move
  during training, one teacher set-up (:class:`~mupbook.studies.movement.Teacher`);
* :mod:`~mupbook.studies.kernel_regression` (chapter 2): kernel predictors beside finite
  networks trained by gradient descent;
* :mod:`~mupbook.studies.coord_check` (chapter 6 and "muP for Transformers"): coordinate
  checks of MLPs and of the GPT;
* :mod:`~mupbook.studies.spellings` (chapter 6): muP in the book's three spellings, one
  parametrization;
* :mod:`~mupbook.studies.attention` ("muP for Transformers"): why attention needs 1/d;
* :mod:`~mupbook.studies.pi_limit` ("Deep limits that learn features"): finite pi-nets
  converging to the infinite one, one step as rows, growth, the explorer's frames;
* :mod:`~mupbook.studies.nonlinear_limit` and :mod:`~mupbook.studies.zdot` (the chapter
  "Computing the feature-learning limit"): finite muP and NTP networks beside the limits,
  and Z-hat + Z-dot.

Import the modules directly (``from mupbook.studies import movement``); this file imports
nothing.
"""

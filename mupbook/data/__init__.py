"""Data sets of the book, each behind one checked download or the offline folder
(``MUPBOOK_DATA``): :mod:`~mupbook.data.omniglot` (real Omniglot, the Vinyals few-shot
split, an N-way K-shot task sampler), :mod:`~mupbook.data.text` (text8 and the offline
corpus, the analogy set), :mod:`~mupbook.data.words` (cities and states), and
:mod:`~mupbook.data.download` (fetch, digest, atomic rename).

Import the submodules directly (``from mupbook.data import omniglot``); this package file
imports nothing.
"""

"""Data sets of the book: :mod:`mupbook.data.omniglot` (real Omniglot, the Vinyals
few-shot split and a vectorized N-way K-shot task sampler).

Import the submodules directly (``from mupbook.data import omniglot``); this
package file imports nothing.
"""

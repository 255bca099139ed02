"""Exact infinite-width limits that run as finite computations.

* :mod:`mupbook.limits.linear`: the muP limit of a 1-hidden-layer linear network is a
  width-(d + d_o) network; ``sample(n)`` goes back to an equivalent width-n network.
* :mod:`mupbook.limits.kernel_sgd`: the kernel-regime (NNGP/NTK) limits trained by SGD in
  function space, with a dictionary of (point, coefficient) rows.
* :mod:`mupbook.limits.pi`: the pi-limit of a deep ReLU MLP (Yang, Santacroce & Hu 2022),
  rows that grow by concatenation; ``sample(n)`` gives a finite pi-net (a ``torch.nn.Module``)
* :mod:`mupbook.limits.one_hidden`: the muP limit of a one-hidden-layer erf network, a
  Gaussian integral computed with weighted nodes (RQMC, Gauss-Hermite, Monte Carlo);
  ``sample(n)`` gives an ordinary ``MuMLP`` from the same initial law.
"""

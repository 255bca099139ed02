"""The reference: an MLP written with the mup package (MuReadout + set_base_shapes).

Shared by tests/test_nn_tp5.py and bench/bench_coord.py; mup is a test dependency
(requirements-nodeps.txt), never a dependency of the library.
"""

import mup
import torch
from torch import nn


class MupPackageMLP(nn.Module):
    """``depth`` ReLU layers of ``width`` and a MuReadout, as in the mup package's examples."""

    def __init__(self, d_in, width, d_out, depth=2, bias=True):
        super().__init__()
        dims = [d_in] + [width] * depth
        self.hidden = nn.ModuleList(
            nn.Linear(a, b, bias=bias) for a, b in zip(dims[:-1], dims[1:])
        )
        self.readout = mup.MuReadout(width, d_out, bias=bias)

    def forward(self, x):
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.readout(x)


def mup_package_model(
    d_in, width, d_out, base_width, depth=2, bias=True, dtype=torch.float64
):
    """A MupPackageMLP with base shapes set (base width ``base_width``)."""
    make = lambda w: MupPackageMLP(d_in, w, d_out, depth, bias).to(dtype)  # noqa: E731
    model = make(width)
    mup.set_base_shapes(model, make(base_width), delta=make(base_width + 1))
    return model


def copy_into_mup_package(ours, theirs) -> None:
    """Copy a mupbook MuMLP's stored tensors into a MupPackageMLP of the same shape."""
    layers = list(theirs.hidden) + [theirs.readout]
    with torch.no_grad():
        for l, layer in enumerate(layers):
            layer.weight.copy_(ours.weights[l])
            if layer.bias is not None:
                layer.bias.copy_(ours.biases[l])

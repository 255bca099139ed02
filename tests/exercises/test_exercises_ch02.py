"""Chapter 2's exercises: the reference answers agree with the library's exact kernels."""

import numpy as np
import torch

from mupbook.exercises import EXERCISES, check
from mupbook.kernels import mlp_kernels


def test_relu_ntk_diagonal_answer_is_what_mlp_kernels_computes():
    x = torch.ones(1, 4, dtype=torch.float64)  # <x, x>/d = 1
    assert (
        float(mlp_kernels(x, depth=3).ntk)
        == EXERCISES["ch02-relu-ntk-diagonal"].reference()
    )
    assert check(
        "ch02-relu-ntk-diagonal", float(mlp_kernels(x, depth=3).nngp)
    ).message.startswith("that is the NNGP")


def test_linear_ntk_reference_is_what_mlp_kernels_computes():
    ref = EXERCISES["ch02-linear-ntk"].reference()
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    for depth in (0, 1, 4):
        exact = mlp_kernels(
            torch.tensor(x1), torch.tensor(x2), depth=depth, activation="linear"
        ).ntk
        assert np.allclose(ref(x1, x2, depth), exact.numpy())


def test_chapter_two_has_at_least_three_exercises():
    assert len([k for k in EXERCISES if k.startswith("ch02-")]) >= 3

"""Write tests/fixtures/kernels_reference.npz: neural-tangents values that pin mupbook.kernels.

Run with an interpreter that has neural-tangents (tested with neural-tangents 0.6.5,
jax/jaxlib 0.5.3, float64 enabled below); the tests only read the stored arrays, so CI never
needs JAX or TensorFlow:

    python bench/make_kernels_reference.py [--out tests/fixtures/kernels_reference.npz]

Stored:
* ``x1`` (7, 5) with a duplicate row (3 == 1), an antipodal rescaled row (4 == -2 * 0) and
  a zero row (6); ``x2`` (4, 5); for every activation in (relu, erf, linear), depth in
  (0, 1, 3), b_std in (0.0, 0.4) with w_std = 1.4: ``kern/{act}/{depth}/{b_std}/{self|cross}``
  = stack([nngp, ntk]) of ``kernel_fn(x1, None)`` and ``kernel_fn(x1, x2)``.
* a prediction problem (``pred/x_train`` (8, 5), ``pred/y_train`` (8, 2), ``pred/x_test``
  (5, 5), a depth-2 ReLU network with w_std 1.3, b_std 0.2), its kernels
  ``pred/k_{dd|td|tt}_{nngp|ntk}``, and ``gradient_descent_mse_ensemble`` outputs for
  learning_rate 0.7, diag_reg in (0, 1e-3 relative, 1e-2 absolute), get in (nngp, ntk),
  at t = None and t = (0, 0.5, 3, 50, inf): ``pred/{reg}/{get}/{inf|times}/{mean|cov}``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import neural_tangents as nt  # noqa: E402
import numpy as np  # noqa: E402
from neural_tangents import stax  # noqa: E402

W_STD = 1.4
TIMES = np.array([0.0, 0.5, 3.0, 50.0, np.inf])
REGS = {"none": (0.0, False), "rel": (1e-3, False), "abs": (1e-2, True)}


def kernel_fn(activation: str, depth: int, w_std: float, b_std: float):
    act = {"relu": stax.Relu(), "erf": stax.Erf(), "linear": stax.Identity()}[
        activation
    ]
    layers = []
    for _ in range(depth):
        layers += [stax.Dense(1, w_std, b_std, parameterization="ntk"), act]
    layers += [stax.Dense(1, w_std, b_std, parameterization="ntk")]
    return stax.serial(*layers)[2]


def main() -> None:
    default_out = (
        Path(__file__).resolve().parents[1]
        / "tests"
        / "fixtures"
        / "kernels_reference.npz"
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    rs = np.random.RandomState(0)
    x1 = rs.randn(7, 5)
    x1[3] = x1[1]
    x1[4] = -2.0 * x1[0]
    x1[6] = 0.0
    x2 = rs.randn(4, 5)
    out: dict[str, np.ndarray] = {"x1": x1, "x2": x2, "w_std": np.array(W_STD)}
    for act in ("relu", "erf", "linear"):
        for depth in (0, 1, 3):
            for b_std in (0.0, 0.4):
                kf = kernel_fn(act, depth, W_STD, b_std)
                for tag, other in (("self", None), ("cross", x2)):
                    k = kf(x1, other, ("nngp", "ntk"))
                    out[f"kern/{act}/{depth}/{b_std}/{tag}"] = np.stack(
                        [np.asarray(k.nngp), np.asarray(k.ntk)]
                    )

    x_train, x_test = rs.randn(8, 5), rs.randn(5, 5)
    y_train = rs.randn(8, 2)
    kf = kernel_fn("relu", 2, 1.3, 0.2)
    out.update(
        {"pred/x_train": x_train, "pred/x_test": x_test, "pred/y_train": y_train}
    )
    for tag, (a, b) in (
        ("dd", (x_train, None)),
        ("td", (x_test, x_train)),
        ("tt", (x_test, None)),
    ):
        k = kf(a, b, ("nngp", "ntk"))
        out[f"pred/k_{tag}_nngp"], out[f"pred/k_{tag}_ntk"] = (
            np.asarray(k.nngp),
            np.asarray(k.ntk),
        )
    out["pred/times"] = TIMES
    out["pred/learning_rate"] = np.array(0.7)
    for reg, (diag_reg, absolute) in REGS.items():
        out[f"pred/{reg}/diag_reg"] = np.array(diag_reg)
        predict_fn = nt.predict.gradient_descent_mse_ensemble(
            kf,
            x_train,
            y_train,
            learning_rate=0.7,
            diag_reg=diag_reg,
            diag_reg_absolute_scale=absolute,
        )
        for get in ("nngp", "ntk"):
            for t_tag, t in (("inf", None), ("times", TIMES)):
                mean, cov = predict_fn(t, x_test, get, compute_cov=True)
                out[f"pred/{reg}/{get}/{t_tag}/mean"] = np.asarray(mean)
                out[f"pred/{reg}/{get}/{t_tag}/cov"] = np.asarray(cov)

    out["versions"] = np.array(
        f"neural-tangents {nt.__version__}, jax {jax.__version__}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out)
    print(f"wrote {len(out)} arrays to {args.out}")


if __name__ == "__main__":
    main()

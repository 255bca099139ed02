"""Finite pi-nets beside the infinite one: convergence, one step as rows, growth.

The demonstrations of the chapter "Deep limits that learn features" (the pi-limit,
:mod:`mupbook.limits.pi`):

* :func:`convergence`: sampled width-n pi-nets against the infinite pi-net, at
  initialization (each hidden layer's r coordinates; the output with a Gaussian readout)
  and after the same SGD steps (outputs; the finite nets use projected gradients) and
  the norm of the first step's gradient (what clipping uses); every gap falls like
  ``n^-1/2``. :func:`slope_interval` fits the exponent per seed and gives a 95% interval.
* :func:`step_rows`: one projected step of a finite net written as one new row per
  example and layer, beside the infinite net's rows.
* :func:`growth`: rows per layer and seconds per step during a short training run.

Everything is seeded: a seed fixes the infinite net, the data and the Omegas.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .. import _checks, runtime
from ..fit import loglog_slope
from ..limits import pi


@dataclass(frozen=True)
class Setup:
    """The small problem every study here uses: ``d`` Gaussian inputs, ``classes`` outputs,
    ``depth`` hidden layers of rank ``r``, ``batch`` training points with random labels,
    ``probe`` test points, SGD at ``lr`` with cross-entropy, float64."""

    d: int = 16
    classes: int = 3
    depth: int = 2
    r: int = 16
    batch: int = 8
    probe: int = 16
    lr: float = 1.0
    bias_alpha: float = 1.0

    def data(self, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x (batch, d), labels (batch,), probe points (probe, d)), float64."""
        gen = runtime.generator(10_007 * seed + 1)
        x = torch.randn(self.batch, self.d, generator=gen, dtype=torch.float64)
        y = torch.randint(0, self.classes, (self.batch,), generator=gen)
        xp = torch.randn(self.probe, self.d, generator=gen, dtype=torch.float64)
        return x, y, xp

    def net(self, seed: int, readout: str = "zero") -> pi.InfPiMLP:
        return pi.init(
            self.d,
            self.classes,
            depth=self.depth,
            r=self.r,
            generator=seed,
            readout=readout,
            bias_alpha=self.bias_alpha,
            dtype=torch.float64,
        )


def output_grad(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d(mean cross-entropy)/d(logits): (softmax - onehot) / N, (N, c)."""
    return (logits.softmax(-1) - F.one_hot(y, logits.shape[-1]).to(logits)) / len(y)


def train_infinite(net: pi.InfPiMLP, x, y, steps: int, lr: float) -> list[float]:
    """``steps`` full-batch SGD steps of the infinite net on (x, y); the gradient norms."""
    norms = []
    for _ in range(steps):
        norms.append(net.step(net.gradients(x, output_grad(net(x), y)), lr))
    return norms


def train_finite(net: pi.FinitePiMLP, x, y, steps: int, lr: float) -> list[float]:
    """The same for a finite pi-net, with projected gradients; the projected norms."""
    norms = []
    for _ in range(steps):
        F.cross_entropy(net(x), y).backward()
        norms.append(net.step(lr))
    return norms


def rms(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean().sqrt())


@dataclass(frozen=True)
class Convergence:
    """Gaps between width-n samples and the infinite net (RMS over probe points and
    coordinates), each (seeds, widths): ``layers[k]`` layer k + 2's r coordinates at
    initialization, ``init_output`` outputs at init with a Gaussian readout,
    ``trained_output`` outputs after ``steps`` SGD steps (zero readout at init),
    ``grad_norm`` the RMS over training points of (finite projected-gradient norm -
    infinite norm) of each point's own gradient, Gaussian readout (what clipping uses)."""

    widths: np.ndarray
    seeds: tuple[int, ...]
    steps: int
    layers: tuple[np.ndarray, ...]
    init_output: np.ndarray
    trained_output: np.ndarray
    grad_norm: np.ndarray

    def series(self) -> dict[str, np.ndarray]:
        """Every gap by a label, for plotting and fitting."""
        out = {
            f"layer {k + 2} r-coordinates, init": g for k, g in enumerate(self.layers)
        }
        out["output, init (Gaussian readout)"] = self.init_output
        out[f"output after {self.steps} steps"] = self.trained_output
        out["gradient norm (clipping)"] = self.grad_norm
        return out


def convergence(
    widths: Sequence[int],
    seeds: Sequence[int],
    *,
    steps: int = 10,
    setup: Setup = Setup(),
) -> Convergence:
    """Sample width-n pi-nets (one Omega draw per seed and width) from seeded infinite nets
    and measure the gaps of :class:`Convergence`."""
    ws = _checks.widths(widths, "widths")
    seeds = _checks.seeds(seeds)
    steps = _checks.positive_int(steps, "steps")
    S, W, L = len(seeds), len(ws), setup.depth
    layers = [np.empty((S, W)) for _ in range(L - 1)]
    init_out, trained, gnorm = (np.empty((S, W)) for _ in range(3))
    for i, seed in enumerate(seeds):
        x, y, xp = setup.data(seed)
        gauss = setup.net(seed, "gaussian")
        g_inf, out_inf = gauss.r_coordinates(xp), gauss(xp)
        norms_inf = np.array(
            [
                gauss.gradients(
                    x[e : e + 1], output_grad(gauss(x[e : e + 1]), y[e : e + 1])
                ).norm()
                for e in range(len(x))
            ]
        )
        zero = setup.net(seed)
        trained_inf = zero.copy()
        train_infinite(trained_inf, x, y, steps, setup.lr)
        after_inf = trained_inf(xp)
        for j, n in enumerate(ws):
            omega_seed = 1_000_003 * seed + int(n)
            fin = gauss.sample(int(n), generator=omega_seed)
            with torch.no_grad():
                g_fin, out_fin = fin.r_coordinates(xp), fin(xp)
            for k in range(L - 1):
                layers[k][i, j] = rms(g_fin[k + 1], g_inf[k + 1])
            init_out[i, j] = rms(out_fin, out_inf)
            norms_fin = np.empty(len(x))
            for e in range(len(x)):
                F.cross_entropy(fin(x[e : e + 1]), y[e : e + 1]).backward()
                fin.project_gradients_()
                norms_fin[e] = fin.grad_norm()
                fin.zero_grad(set_to_none=True)
            gnorm[i, j] = float(np.sqrt(((norms_fin - norms_inf) ** 2).mean()))
            fin = zero.sample(int(n), generator=omega_seed)
            train_finite(fin, x, y, steps, setup.lr)
            with torch.no_grad():
                trained[i, j] = rms(fin(xp), after_inf)
    return Convergence(ws, seeds, steps, tuple(layers), init_out, trained, gnorm)


@dataclass(frozen=True)
class SlopeInterval:
    """The exponent of a gap ~ n^slope: the fit of the seeds' geometric mean, and the mean
    and 95% t-interval of the per-seed fitted slopes."""

    slope: float
    mean: float
    low: float
    high: float
    seeds: int

    def __str__(self) -> str:
        return (
            f"slope {self.slope:+.3f} (per seed {self.mean:+.3f}, 95% interval "
            f"[{self.low:+.3f}, {self.high:+.3f}], {self.seeds} seeds)"
        )


#: Two-sided 97.5% quantiles of Student's t by degrees of freedom (1..30).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def slope_interval(widths: Sequence[int], gaps: np.ndarray) -> SlopeInterval:
    """Fit ``gap ~ n^slope``: gaps (seeds, widths), all positive and finite."""
    gaps = np.atleast_2d(np.asarray(gaps, dtype=float))
    w = np.asarray(widths, dtype=float)
    overall = loglog_slope(w, np.exp(np.log(gaps).mean(0))).slope
    per_seed = np.array([loglog_slope(w, row).slope for row in gaps])
    S = len(per_seed)
    mean = float(per_seed.mean())
    if S < 2:
        return SlopeInterval(overall, mean, float("nan"), float("nan"), S)
    t = _T975[min(S - 1, len(_T975)) - 1]
    half = t * float(per_seed.std(ddof=1)) / math.sqrt(S)
    return SlopeInterval(overall, mean, mean - half, mean + half, S)


# ------------------------------------------------------------------ one step as rows


@dataclass(frozen=True)
class StepRows:
    """One SGD step seen as rows, for every layer l = 2..L+1 (index l - 2): the finite net's
    rows ``(A, B)`` (its projected rank-one terms mapped back; (batch, out), (batch, r)),
    the infinite net's, the largest entry of ``W^l_after - (W^l_before - lr sum_e n^-1
    Omega_l A_e phi(Omega_{l-1} B_e)^T)`` (readout: ``n^-1/2``, no Omega_l), 0 up to
    rounding since the mapping is exact at finite n, and the RMS gap of the outputs after
    the step (finite vs infinite after concatenation)."""

    width: int
    finite_rows: list[tuple[torch.Tensor, torch.Tensor]]
    infinite_rows: list[tuple[torch.Tensor, torch.Tensor]]
    mapping_error: list[float]
    output_gap: float


def step_rows(
    net: pi.InfPiMLP,
    n: int,
    x: torch.Tensor,
    y: torch.Tensor,
    probe: torch.Tensor,
    *,
    lr: float = 1.0,
    generator: int = 0,
) -> StepRows:
    """One projected SGD step of ``net.sample(n)`` on (x, y), written as rows
    (:meth:`mupbook.limits.pi.FinitePiMLP.gradient_rows`), beside one step of ``net``."""
    fin = net.sample(n, generator=generator)
    dout = output_grad(fin(x).detach(), y)
    rows_fin = fin.gradient_rows(x, dout)
    F.cross_entropy(fin(x), y).backward()
    before = [w.detach().clone() for w in fin.weights]
    fin.step(lr)
    errors = []
    with torch.no_grad():
        for layer in range(2, fin.depth + 2):
            A_fin, B_fin = rows_fin[layer - 2]
            feats = torch.relu(fin.omega(layer - 1) @ B_fin.T).T  # (batch, n)
            if layer <= fin.depth:
                step = lr / n * fin.omega(layer) @ A_fin.T @ feats
            else:  # the readout: n^-1/2 A_e phi(Omega_L B_e)^T, not projected
                step = lr * n**-0.5 * A_fin.T @ feats
            rebuilt = before[layer - 1] - step
            errors.append(float((fin.weights[layer - 1] - rebuilt).abs().max()))
    inf = net.copy()
    g = inf.gradients(x, output_grad(inf(x), y))
    inf.step(g, lr)
    with torch.no_grad():
        gap = rms(fin(probe), inf(probe))
    return StepRows(n, rows_fin, g.rows, errors, gap)


# ------------------------------------------------------------------ growth


@dataclass(frozen=True)
class Growth:
    """A training run's rows per layer (steps + 1, L) from step 0, and seconds per step."""

    rows: np.ndarray
    seconds: np.ndarray
    batch: int
    r: int


def growth(steps: int, *, setup: Setup = Setup(), seed: int = 0) -> Growth:
    """Train the infinite net of ``setup`` for ``steps`` SGD steps (fresh random labelled
    batches) and record its rows after every step and the time of every step."""
    steps = _checks.positive_int(steps, "steps")
    net = setup.net(seed)
    gen = runtime.generator(seed + 99)
    rows = [net.row_counts()]
    secs = []
    for _ in range(steps):
        x = torch.randn(setup.batch, setup.d, generator=gen, dtype=torch.float64)
        y = torch.randint(0, setup.classes, (setup.batch,), generator=gen)
        t0 = time.perf_counter()
        net.step(net.gradients(x, output_grad(net(x), y)), setup.lr)
        secs.append(time.perf_counter() - t0)
        rows.append(net.row_counts())
    return Growth(np.array(rows), np.array(secs), setup.batch, setup.r)


@dataclass(frozen=True)
class StepCost:
    """Seconds of one forward and backward pass of ``examples`` inputs through one layer of
    ``rows[k]`` rows (``seconds[k]``, the fastest of a few repeats)."""

    rows: np.ndarray
    seconds: np.ndarray
    examples: int
    r: int


def step_cost(
    rows: Sequence[int] = (2_000, 8_000, 32_000),
    *,
    examples: int = 40,
    r: int = 64,
    repeats: int = 3,
    seed: int = 0,
) -> StepCost:
    """Time a layer's forward and backward (the work of a step) against its number of rows,
    on random unit rows in float32."""
    gen = runtime.generator(seed)
    secs = []
    for m in rows:
        rw = pi.Rows(
            r, r, dtype=torch.float32, device=torch.device("cpu"), capacity=m
        )
        B = torch.randn(m, r, generator=gen, dtype=torch.float64)
        A = torch.randn(m, r, generator=gen, dtype=torch.float64) / r**0.5
        rw.append(
            A, B / B.norm(dim=1, keepdim=True), torch.ones(m, dtype=torch.float64)
        )
        g = torch.randn(examples, r, generator=gen).requires_grad_(True)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            pi.layer_forward(g, rw).sum().backward()
            best = min(best, time.perf_counter() - t0)
        secs.append(best)
    return StepCost(np.asarray(rows), np.asarray(secs), examples, r)


# ------------------------------------------------------------------ explorer frames


@dataclass(frozen=True)
class Frames:
    """Precomputed outputs for the explorer: for every rank r, the infinite net's probe
    outputs after t = 0..steps SGD steps (``infinite[r]``, (steps + 1, probe, c)), its rows
    per layer (``rows[r]``, (steps + 1, L)) and bytes (``nbytes[r]``), and every sampled
    width's outputs (``finite[r][k]`` for ``widths[k]``, same shape)."""

    rs: tuple[int, ...]
    widths: tuple[int, ...]
    steps: int
    infinite: dict[int, np.ndarray]
    finite: dict[int, list[np.ndarray]]
    rows: dict[int, np.ndarray]
    nbytes: dict[int, np.ndarray]

    def gap(self, r: int, t: int) -> np.ndarray:
        """RMS gap (widths,) of the finite outputs to the infinite ones after t steps."""
        ref = self.infinite[r][t]
        return np.array([np.sqrt(((f[t] - ref) ** 2).mean()) for f in self.finite[r]])


def explorer_frames(
    rs: Sequence[int] = (4, 8, 16),
    widths: Sequence[int] = tuple(2**k for k in range(6, 12)),
    steps: int = 10,
    *,
    setup: Setup = Setup(),
    seed: int = 0,
) -> Frames:
    """Train one infinite net per r (Gaussian readout, so outputs are not 0 at t = 0) and
    width-n samples of it by the same SGD steps on the same batch; record probe outputs
    after every step. The learning rate is ``setup.lr * 4 / r``: the r coordinates grow
    like sqrt(r) per layer, and a fixed rate diverges at large r."""
    steps = _checks.positive_int(steps, "steps")
    ws = tuple(int(w) for w in _checks.widths(widths, "widths"))
    x, y, xp = setup.data(seed)
    infinite, finite, rows, nbytes = {}, {}, {}, {}
    for r in rs:
        st = Setup(**{**setup.__dict__, "r": int(r), "lr": setup.lr * 4 / int(r)})
        net = st.net(seed, "gaussian")
        samples = [net.sample(n, generator=1000 * seed + n) for n in ws]
        outs, fouts = [net(xp).numpy()], [[f(xp).detach().numpy()] for f in samples]
        rws, nbs = [net.row_counts()], [net.nbytes()]
        for _ in range(steps):
            train_infinite(net, x, y, 1, st.lr)
            outs.append(net(xp).numpy())
            rws.append(net.row_counts())
            nbs.append(net.nbytes())
            for f, fo in zip(samples, fouts):
                train_finite(f, x, y, 1, st.lr)
                with torch.no_grad():
                    fo.append(f(xp).numpy())
        infinite[int(r)] = np.stack(outs)
        finite[int(r)] = [np.stack(fo) for fo in fouts]
        rows[int(r)] = np.array(rws)
        nbytes[int(r)] = np.array(nbs)
    return Frames(
        tuple(int(r) for r in rs), ws, steps, infinite, finite, rows, nbytes
    )

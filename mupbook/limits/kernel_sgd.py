"""Kernel-regime limits trained by SGD in function space (NNGP and NTK of TP4's MAML).

In the NNGP or NTK limit a network's function moves only along its (fixed) kernel: one
SGD step with output gradients ``g_j`` at points ``x_j`` changes the function by
``df(x) = -lr sum_j K(x, x_j) g_j``. Starting from f = 0 (readout initialized at zero,
as in TP4), the function after any number of steps is

    f(x) = sum_i K(x, z_i) a_i        (z_i: points seen, a_i: (c,) coefficients),

a *dictionary* of (point, coefficient) rows that grows with every step: the memory and
the cost of evaluating f grow with the number of rows. :class:`KernelMachine` bounds
both: rows are preallocated (``capacity`` rows, an error when full, on the device of
the model: the GPU when there is one), and when points carry integer ids (an image of a
finite pool, e.g. an Omniglot drawing and its rotation), repeated points share one row
whose coefficients add up, since f is linear in them. With a pool of P images the
dictionary therefore never exceeds P rows.

Kernels (:class:`Kernel`): the 1-hidden-layer ReLU NNGP and NTK of TP4's MAML baselines,
computed by :func:`mupbook.kernels.tp4_relu_1lp_kernels` (not written twice), and the
same two for a linear network, ``sigma_w^2 <x, x'> + sigma_b^2`` plus, for the NTK,
``sigma_v^2 <x, x'>``. With ``depth=L`` the ReLU kernels are those of an L-hidden-layer
MLP, :func:`mupbook.kernels.mlp_kernels` (neural-tangents' conventions: inputs scaled by
``1/d``, every layer ``Dense(sigma_w, sigma_b)``), as the pi-limit paper's baselines use
them (its code's ``relu_gp_fn`` / ``relu_ntk_fn`` with ``varw = sigma_w^2``, ``varb =
sigma_b^2``): the NTK is neural-tangents' (every weight and bias trains, the readout's
bias too), the NNGP the readout weights' alone, i.e. ``mlp_kernels(...).nngp -
sigma_b^2`` (no readout bias).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import kernels, runtime

KERNELS = ("relu-nngp", "relu-ntk", "linear-nngp", "linear-ntk")


@dataclass(frozen=True)
class Kernel:
    """One of :data:`KERNELS` with TP4's scales (``--sigma1``, ``--sigmab``, ``--sigma2``).

    ``depth``: None for TP4's 1-hidden-layer kernels, or L >= 1 for the ReLU kernels of an
    L-hidden-layer MLP (module docstring; ``sigma_v`` is then unused)."""

    name: str
    sigma_w: float = 1.0
    sigma_b: float = 1.0
    sigma_v: float = 1.0
    depth: int | None = None

    def __post_init__(self) -> None:
        if self.name not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.name!r}")
        if self.depth is not None:
            if not self.name.startswith("relu"):
                raise ValueError(
                    f"depth is for the ReLU kernels only, not {self.name!r} (a deep linear "
                    "network's kernel is the 1-layer one rescaled)"
                )
            if (
                isinstance(self.depth, bool)
                or not isinstance(self.depth, int)
                or self.depth < 1
            ):
                raise ValueError(
                    f"depth must be None or an integer >= 1, got {self.depth!r}"
                )
        for what in ("sigma_w", "sigma_b", "sigma_v"):
            v = getattr(self, what)
            if (
                not isinstance(v, (int, float))
                or not v == v
                or v < 0
                or v == float("inf")
            ):
                raise ValueError(f"{what} must be a finite number >= 0, got {v!r}")

    def __call__(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The kernel matrix (N, M) of points x (N, d) and z (M, d), float64."""
        if self.depth is not None:
            k = kernels.mlp_kernels(
                x, z, depth=self.depth, w_std=self.sigma_w, b_std=self.sigma_b
            )
            return k.nngp - self.sigma_b**2 if self.name == "relu-nngp" else k.ntk
        if self.name.startswith("relu"):
            k = kernels.tp4_relu_1lp_kernels(
                x, z, sigma_w=self.sigma_w, sigma_b=self.sigma_b, sigma_v=self.sigma_v
            )
            return k.nngp if self.name == "relu-nngp" else k.ntk
        x, z = x.to(torch.float64), z.to(torch.float64)
        if not bool(torch.isfinite(x).all() and torch.isfinite(z).all()):
            raise ValueError("the points have non-finite entries (nan or inf)")
        dots = x @ z.T
        out = self.sigma_w**2 * dots + self.sigma_b**2
        return out + self.sigma_v**2 * dots if self.name == "linear-ntk" else out

    @property
    def finite_features(self) -> bool:
        """Whether ``K(x, z) = phi(x) . phi(z)`` for a finite feature map (the linear kernels)."""
        return self.name.startswith("linear")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x) (..., d + 1) with ``K(x, z) = phi(x) . phi(z)``: linear kernels only."""
        if not self.finite_features:
            raise ValueError(f"the {self.name} kernel has no finite feature map")
        w2 = self.sigma_w**2 + (self.sigma_v**2 if self.name == "linear-ntk" else 0.0)
        x = x.to(torch.float64)
        ones = torch.full(
            (*x.shape[:-1], 1), self.sigma_b, dtype=torch.float64, device=x.device
        )
        return torch.cat([w2**0.5 * x, ones], dim=-1)

    def blocks(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Per-task kernels: x (B, N, d), z (B, M, d) -> (B, N, M), ``K(x[t], z[t])``."""
        B, N, _ = x.shape
        M = z.shape[1]
        full = self(x.reshape(B * N, -1), z.reshape(B * M, -1)).reshape(B, N, B, M)
        t = torch.arange(B, device=full.device)
        return full[t, :, t, :]


class KernelMachine:
    """``f(x) = sum_i K(x, z_i) a_i`` with a preallocated, bounded dictionary (module docstring).

    ``capacity``: the most rows; ``num_ids``: if given, points added with ids in
    ``[0, num_ids)`` share a row per id (so ``capacity`` may be ``num_ids``). A kernel with
    a finite feature map (the linear ones) keeps no dictionary at all: it folds every row
    into the weights ``sum_i a_i phi(z_i)^T`` (c, d + 1), exactly the same function.
    """

    def __init__(
        self,
        kernel: Kernel,
        d: int,
        c: int,
        *,
        capacity: int,
        num_ids: int | None = None,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device | None = "cpu",
        chunk: int = 16384,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 row, got {capacity}")
        if num_ids is not None and num_ids < 1:
            raise ValueError(
                f"num_ids must be >= 1 (ids 0..num_ids-1) or None (no ids), got {num_ids}"
            )
        self.kernel, self.d, self.c, self.chunk = kernel, d, c, chunk
        self.capacity = capacity
        self.count = 0
        dev = runtime.device(None if device is None else str(device))
        finite = (
            kernel.finite_features
        )  # then no dictionary is needed: f(x) = weights phi(x)
        rows = 0 if finite else capacity
        self.Z = torch.zeros(rows, d, dtype=dtype, device=dev)
        self.A = torch.zeros(rows, c, dtype=torch.float64, device=dev)
        self.row_of = (
            None
            if finite or num_ids is None
            else torch.full((num_ids,), -1, dtype=torch.int64, device=dev)
        )
        self.weights = (
            torch.zeros(c, d + 1, dtype=torch.float64, device=dev) if finite else None
        )

    @property
    def device(self) -> torch.device:
        return self.Z.device

    def nbytes(self) -> int:
        """Memory held by the dictionary (all preallocated rows)."""
        return (
            self.Z.element_size() * self.Z.numel()
            + self.A.element_size() * self.A.numel()
        )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """f at x (..., d) -> (..., c), float64; the dictionary is read in chunks of rows."""
        flat = x.reshape(-1, self.d)
        if self.weights is not None:
            return (self.kernel.features(flat) @ self.weights.T).reshape(
                *x.shape[:-1], self.c
            )
        out = torch.zeros(
            flat.shape[0], self.c, dtype=torch.float64, device=self.device
        )
        for start in range(0, self.count, self.chunk):
            stop = min(self.count, start + self.chunk)
            out += self.kernel(flat, self.Z[start:stop]) @ self.A[start:stop]
        return out.reshape(*x.shape[:-1], self.c)

    def rkhs_norm(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The kernel norm of ``sum_j K(., x_j) a_j``: sqrt(sum_jk a_j . a_k K(x_j, x_k)).

        This is the parameter-space norm of the corresponding weight change of the
        infinite network, the norm TP4 clips meta-gradients to."""
        x, a = x.reshape(-1, self.d), a.reshape(-1, self.c).to(torch.float64)
        return torch.sqrt(((a @ a.T) * self.kernel(x, x)).sum().clamp_min(0))

    @property
    def num_ids(self) -> int | None:
        """Points may carry ids in ``[0, num_ids)``; None: ids are ignored (rows are appended)."""
        return None if self.row_of is None else self.row_of.shape[0]

    def add(
        self, x: torch.Tensor, a: torch.Tensor, ids: torch.Tensor | None = None
    ) -> None:
        """f += sum_j K(., x_j) a_j. x (..., d), a (..., c), ids (...) integers in
        ``[0, num_ids)`` or None (ignored by a machine without ids); nothing is added when an
        argument is refused."""
        x, a = x.reshape(-1, self.d), a.reshape(-1, self.c).to(torch.float64)
        if a.shape[0] != x.shape[0]:
            raise ValueError(
                f"one coefficient row per point: {x.shape[0]} points, {a.shape[0]} rows"
            )
        for what, t in (("points", x), ("coefficients", a)):
            if not bool(torch.isfinite(t).all()):
                raise ValueError(
                    f"the {what} have non-finite entries (nan or inf): adding them would make f "
                    "nan everywhere; did training diverge?"
                )
        if ids is not None and self.row_of is not None:
            self._check_ids(ids, x.shape[0])
        if self.weights is not None:
            self.weights += a.T @ self.kernel.features(x)
            return
        if ids is None or self.row_of is None:
            self._append(x, a)
            return
        ids = ids.reshape(-1).to(self.device)
        uniq, inverse = torch.unique(ids, return_inverse=True)
        summed = torch.zeros(
            len(uniq), self.c, dtype=torch.float64, device=self.device
        ).index_add_(0, inverse, a)
        first = torch.full(
            (len(uniq),), len(ids), dtype=torch.int64, device=self.device
        )
        first.scatter_reduce_(
            0, inverse, torch.arange(len(ids), device=self.device), reduce="amin"
        )
        rows = self.row_of[uniq]
        new = rows < 0
        n_new = int(new.sum())
        if self.count + n_new > self.capacity:
            raise MemoryError(self._full_message(n_new))
        rows[new] = torch.arange(self.count, self.count + n_new, device=self.device)
        self.row_of[uniq[new]] = rows[new]
        self.Z[rows[new]] = x[first[new]].to(self.Z.dtype)
        self.count += n_new
        self.A.index_add_(0, rows, summed)

    def _check_ids(self, ids: torch.Tensor, n: int) -> None:
        """ValueError unless ``ids`` holds n integers in [0, num_ids) (a negative id would
        silently share another point's row)."""
        if (
            not isinstance(ids, torch.Tensor)
            or ids.dtype.is_floating_point
            or ids.dtype.is_complex
            or ids.dtype == torch.bool
        ):
            raise ValueError(
                f"ids must be integers (a torch integer tensor), got "
                f"{getattr(ids, 'dtype', type(ids).__name__)}"
            )
        if ids.numel() != n:
            raise ValueError(f"one id per point: {n} points, {ids.numel()} ids")
        if n:
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= self.num_ids:
                raise ValueError(
                    f"ids must lie in [0, {self.num_ids}) (the num_ids of this machine), got "
                    f"{lo if lo < 0 else hi}; build the machine with a larger num_ids"
                )

    def _append(self, x: torch.Tensor, a: torch.Tensor) -> None:
        n = x.shape[0]
        if self.count + n > self.capacity:
            raise MemoryError(self._full_message(n))
        self.Z[self.count : self.count + n] = x.to(self.Z.dtype)
        self.A[self.count : self.count + n] = a
        self.count += n

    def _full_message(self, n: int) -> str:
        return (
            f"the kernel dictionary is full: {self.count} of {self.capacity} rows used, {n} more "
            f"needed ({self.nbytes() / 2**30:.2f} GiB preallocated). Give a larger capacity, "
            "pass point ids so repeated points share rows, or train for fewer steps."
        )

    def state(self) -> dict:
        """A checkpoint (the used rows only)."""
        if self.weights is not None:
            return {"weights": self.weights.clone()}
        return {
            "Z": self.Z[: self.count].clone(),
            "A": self.A[: self.count].clone(),
            "row_of": None if self.row_of is None else self.row_of.clone(),
        }

    def load_state(self, state: dict) -> None:
        """Restore a :meth:`state` of a machine of the same kind (kernel map, ids)."""
        if self.weights is not None:
            if "weights" not in state or tuple(state["weights"].shape) != tuple(
                self.weights.shape
            ):
                raise ValueError(
                    f"the state is not that of a {self.kernel.name} machine with weights "
                    f"{tuple(self.weights.shape)}"
                )
            self.weights.copy_(state["weights"])
            return
        if "Z" not in state:
            raise ValueError(
                f"the state holds no dictionary (Z, A): it is not that of a {self.kernel.name} machine"
            )
        n = state["Z"].shape[0]
        if n > self.capacity:
            raise ValueError(
                f"the checkpoint has {n} rows, more than the capacity {self.capacity}"
            )
        row_of = state["row_of"]
        theirs = None if row_of is None else row_of.shape[0]
        if theirs != self.num_ids:

            def span(k: int | None) -> str:
                return "no ids" if k is None else f"ids in [0, {k})"

            raise ValueError(
                f"the state has {span(theirs)}, this machine's are {span(self.num_ids)}: "
                "build the machine with the num_ids of the run that saved it"
            )
        self.Z[:n], self.A[:n] = state["Z"].to(self.Z), state["A"].to(self.A)
        self.Z[n:] = 0
        self.A[n:] = 0
        self.count = n
        if state["row_of"] is not None:
            self.row_of = state["row_of"].to(self.device).clone()

"""Word2Vec at finite width, in the exact muP limit and in the NTK limit (TP4, section 9).

**The model.** CBOW with negative sampling is a 1-hidden-layer linear network: word ``i``
has an input embedding ``E_i`` and an output embedding ``U_i`` (rows of ``E``, ``U``: V x n).
For a target ``t`` with context ``C`` (the words within a random reduced window) the
hidden vector is the context mean ``h = |C|^-1 sum_{c in C} E_c`` and the loss is

``L = -log s(U_t . h) - sum_{k=1}^{K} log s(-U_{w_k} . h)``,  ``w_k ~ count^0.75``.

One SGD step at learning rate ``lr``, with ``g_j = lr (y_j - s(U_j . h))`` (``y = 1`` for the
target, 0 for negatives): ``U_j += g_j h``; ``E_c += (sum_j g_j U_j) / |C|`` for every ``c``
in ``C`` (TP4: the true gradient of the mean) or without the ``/ |C|`` (word2vec and gensim);
weight decay ``wd`` shrinks each touched row once per touch, ``row -= lr wd row``. All of it
batched: B positions at once, gathers and ``index_add_`` on the touched rows, no Python loop
per word (updates within a batch use the weights from before it, like word2vec's threads).

**Two recipes** behind one switch (:data:`RECIPES`): ``"tp4"`` (the paper's code,
github.com/edwardjhu/TP4: E uniform on [-sqrt(3/n), sqrt(3/n)], i.e. variance 1/n, U = 0,
lr 0.05, weight decay 0.001, divided input update) and ``"word2vec"`` (word2vec's CBOW:
E ~ U(-0.5/n, 0.5/n), U = 0, lr 0.05, no weight decay, undivided update; 0.025 is
word2vec's skip-gram default and gensim's default for both). Both decay the learning rate
linearly to ``1e-4`` of its start over the whole run.

**Parametrizations.** The recipe is muP (TP4 section 9). :data:`ABCS` writes muP, NTP and
SP (with learning rate ~ 1/n) as abc-parametrizations of CBOW, and :func:`lr_exponents`
turns each into the recipe's coordinates: the same init (variance 1/n, U = 0) with the
learning rates of E and U multiplied by powers of ``n / n_0``, equal to muP at a base
width ``n_0`` (NTP: E's learning rate times ``n_0 / n``; SP: times ``(n_0 / n)^2``). In
NTP and SP the embeddings turn by ``Theta(n^-r)`` (:func:`turning_angles`), with TP4's
``r = 1`` and ``2`` here (:func:`theory_slope`), and the network tends to the NTK limit.

**The muP limit is a width-V network.** Under the TP4 recipe every update of ``U`` is a
combination of input embeddings and every update of ``E`` a combination of rows of ``U``,
so ``E = A Ehat``, ``U = B Ehat`` with ``Ehat`` the initial embeddings and coefficients ``A``
(init I), ``B`` (init 0), both V x V. As n -> oo, ``Ehat Ehat^T -> I`` (independent rows
of variance 1/n), so all inner products, hence the whole training, are those of ``A``, ``B``:
a width-V network with identity input embeddings (one-hot rows), trained by the same SGD.
It costs 2 V^2 numbers (:func:`limit_memory_bytes`). The **NTK limit** freezes ``E`` at its
initialization: in the limit the embeddings stay orthonormal, every analogy candidate ties
at cosine 0 and the accuracy is 0 (TP4: trivial).

Command line (writes ``results/word2vec_<config>.json``, with provenance)::

    python -m mupbook.experiments.word2vec --config offline --out results/word2vec_offline.json
    python -m mupbook.experiments.word2vec --config text8 --storage bfloat16   # a large GPU
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import _checks, paper, results, runtime
from ..abc import ABC, classify
from ..data import text, words
from ..fit import SlopeFit, loglog_slope
from ..stats import Proportion
from . import _common

STORAGES = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
MIN_LR_RATIO = 1e-4


#: Initializations of the input embeddings (the output embeddings always start at 0).
INITS = {
    "uniform": "uniform on [-sqrt(3/n), sqrt(3/n)], variance 1/n (TP4's code)",
    "gaussian": "N(0, 1/n)",
    "word2vec": "uniform on [-0.5/n, 0.5/n] (word2vec and gensim)",
}


@dataclass(frozen=True)
class Recipe:
    """How embeddings are initialized and trained (see the module docstring)."""

    name: str
    lr: float
    weight_decay: float
    divide_input: bool
    init: str  # a key of INITS


RECIPES = {
    "tp4": Recipe(
        "tp4", lr=0.05, weight_decay=1e-3, divide_input=True, init="uniform"
    ),
    "word2vec": Recipe(
        "word2vec", lr=0.05, weight_decay=0.0, divide_input=False, init="word2vec"
    ),
}


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, got {name!r}")
    return RECIPES[name]


# ----------------------------------------------------------------- parametrizations

#: CBOW as a TP4 abc-parametrization: layer 1 is the input embedding E^T (its input, the
#: one-hot context, has the fixed dimension V), layer 2 the readout U, initialized at zero
#: as in TP4's recipe; ``b_2 = 1`` stands for that zero (every ``b_2 >= 1/2`` gives the same
#: r, stability and triviality here). SP is the stable one, with learning rate ~ 1/n.
ABCS: dict[str, ABC] = {
    "mup": ABC(("-1/2", "1/2"), ("1/2", 1), 0, "muP"),
    "ntp": ABC((0, "1/2"), (0, 1), 0, "NTP"),
    "sp": ABC((0, 0), (0, 1), 1, "SP"),
}
PARAM_NAMES = {k: v.name for k, v in ABCS.items()}


def _param(param: str) -> str:
    return _checks.choice(param, tuple(ABCS), "param")


def lr_exponents(param: str) -> tuple[Fraction, Fraction]:
    """``(k_E, k_U)``: in the recipe's coordinates (E of variance 1/n, U = 0, both trained at
    ``lr``) the parametrization ``param`` trains E at ``lr (n/n_0)^k_E`` and U at
    ``lr (n/n_0)^k_U``, equal to muP at the base width ``n_0``.

    The abc form trains ``W^l`` at ``lr n^(-c - 2 a_l)`` from init variance
    ``n^(-2 (a_l + b_l))`` (1 for E^T, since ``a_1 + b_1 = 0``). CBOW's scores ``U E^T x`` are
    unchanged when E is multiplied by ``s`` and U divided by ``s``, and SGD stays equivalent
    when E's learning rate is multiplied by ``s^2`` and U's divided by ``s^2`` (positive
    homogeneity); ``s = n^-1/2`` gives E variance 1/n, hence
    ``k_E = -c - 2 a_1 - 1`` and ``k_U = 1 - c - 2 a_2``: (0, 0) for muP, (-1, 0) for NTP,
    (-2, 0) for SP."""
    abc = ABCS[_param(param)]
    return -abc.c - 2 * abc.a[0] - 1, 1 - abc.c - 2 * abc.a[1]


def lr_multipliers(
    param: str, width: int, base_width: int | None
) -> tuple[float, float]:
    """E's and U's learning-rate multipliers ``(n/n_0)^k`` of :func:`lr_exponents`; a
    parametrization other than muP needs its base width ``n_0``."""
    k_in, k_out = lr_exponents(param)
    if k_in == 0 and k_out == 0:
        return 1.0, 1.0
    if base_width is None:
        raise ValueError(
            f"{PARAM_NAMES[param]} needs a base width n_0 (where it equals muP)"
        )
    rho = _checks.positive_int(width, "width") / _checks.positive_int(
        base_width, "base_width"
    )
    return rho ** float(k_in), rho ** float(k_out)


def theory_slope(param: str) -> float:
    """``-r``, TP4's exponent of the feature updates (:func:`mupbook.abc.classify`), for
    ``param``: the embeddings turn by ``Theta(n^-r)`` (0 for muP, -1 for NTP, -2 for SP)."""
    return -float(classify(ABCS[_param(param)]).r)


# ------------------------------------------------------------------------ memory


def limit_memory_bytes(vocab_size: int, storage: str = "float32") -> int:
    """Bytes of the muP limit's two V x V embedding tables."""
    return 2 * vocab_size * vocab_size * STORAGES[storage].itemsize


def available_memory_bytes(device: torch.device) -> int | None:
    """Free memory on ``device`` (CUDA: free device memory; CPU: MemAvailable), or None."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_limit_fits(
    vocab_size: int, storage: str, device: torch.device, headroom: float = 0.8
) -> None:
    """Raise MemoryError naming the memory needed when the limit's tables will not fit."""
    need = limit_memory_bytes(vocab_size, storage)
    free = available_memory_bytes(device)
    if free is not None and need > headroom * free:
        raise MemoryError(
            f"the muP limit with V = {vocab_size:,} words needs 2 V^2 = {need / 2**30:.1f} GiB in "
            f"{storage}, but {device} has {free / 2**30:.1f} GiB free. Cap the vocabulary "
            "(max_vocab / --max-vocab), store in bfloat16 or float16 on a GPU (--storage), or use "
            "a larger GPU."
        )


# ------------------------------------------------------------------------- model


class CBOW:
    """A CBOW negative-sampling model: input ``E`` and output ``U`` embeddings, V x n.

    ``freeze_input=True`` never updates ``E`` (the NTK limit). ``lr_mult`` multiplies the
    learning rate of E's and U's gradient updates (the parametrization, see
    :func:`lr_multipliers`); weight decay shrinks touched rows at the base rate in every
    parametrization (it rescales rows, so cosines and analogies do not see it). Tables may
    be stored in float16/bfloat16 (``storage``); arithmetic is float32.
    """

    def __init__(
        self,
        inp: torch.Tensor,
        out: torch.Tensor,
        *,
        freeze_input: bool = False,
        lr_mult: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        if inp.shape != out.shape or inp.ndim != 2:
            raise ValueError(
                f"input and output embeddings must both be (V, n), got {tuple(inp.shape)}, "
                f"{tuple(out.shape)}"
            )
        if len(lr_mult) != 2 or not all(
            math.isfinite(m) and m > 0 for m in map(float, lr_mult)
        ):
            raise ValueError(f"lr_mult must be two positive numbers, got {lr_mult!r}")
        self.inp, self.out, self.freeze_input = inp, out, freeze_input
        self.lr_mult = (float(lr_mult[0]), float(lr_mult[1]))
        self._scratch: dict[str, torch.Tensor] = {}

    def _gather(
        self, name: str, table: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        """``table[index]`` in the compute dtype (float32 for 16-bit storage), in a reused buffer
        (fresh large allocations page-fault)."""
        k, n = index.numel(), table.shape[1]
        dtype = (
            torch.float32
            if table.dtype in (torch.float16, torch.bfloat16)
            else table.dtype
        )
        buf = self._scratch.get(name)
        if buf is None or buf.numel() < k * n or buf.dtype != dtype:
            buf = self._scratch[name] = torch.empty(
                int(k * 1.25) * n, device=table.device, dtype=dtype
            )
        out = buf[: k * n].view(k, n)
        if table.dtype == dtype:
            return torch.index_select(table, 0, index, out=out)
        return out.copy_(table.index_select(0, index))

    @property
    def vocab_size(self) -> int:
        return self.inp.shape[0]

    @property
    def width(self) -> int:
        return self.inp.shape[1]

    @classmethod
    def finite(
        cls,
        vocab_size: int,
        width: int,
        *,
        init: str = "uniform",
        param: str = "mup",
        base_width: int | None = None,
        seed: int = 0,
        device: torch.device | str = "cpu",
        storage: str = "float32",
        freeze_input: bool = False,
    ) -> CBOW:
        """Width ``n``, U = 0 and E drawn by ``init`` (:data:`INITS`: ``uniform``, TP4's
        variance-1/n uniform; ``gaussian``, N(0, 1/n); ``word2vec``, U(-0.5/n, 0.5/n)),
        trained in the parametrization ``param`` (:data:`ABCS`; NTP and SP need the
        ``base_width`` at which they equal muP)."""
        if width < 1 or vocab_size < 2:
            raise ValueError(
                f"need width >= 1 and vocab_size >= 2, got {width}, {vocab_size}"
            )
        _checks.choice(init, tuple(INITS), "init")
        mult = lr_multipliers(param, width, base_width)
        gen = runtime.generator(seed)
        if init == "gaussian":
            e = torch.randn(vocab_size, width, generator=gen) / math.sqrt(width)
        elif init == "uniform":
            u = torch.rand(vocab_size, width, generator=gen)
            e = (u - 0.5) * (2 * math.sqrt(3.0 / width))
        else:
            e = (torch.rand(vocab_size, width, generator=gen) - 0.5) / width
        dtype = STORAGES[storage]
        dev = torch.device(device)
        return cls(
            e.to(dev, dtype),
            torch.zeros(vocab_size, width, device=dev, dtype=dtype),
            freeze_input=freeze_input,
            lr_mult=mult,
        )

    @classmethod
    def limit(
        cls,
        vocab_size: int,
        *,
        device: torch.device | str = "cpu",
        storage: str = "float32",
        freeze_input: bool = False,
        check_memory: bool = True,
    ) -> CBOW:
        """The exact infinite-width muP limit (``freeze_input``: the NTK limit): width V,
        E = I (one-hot rows), U = 0."""
        dev = torch.device(device)
        if check_memory:
            check_limit_fits(vocab_size, storage, dev)
        dtype = STORAGES[storage]
        return cls(
            torch.eye(vocab_size, device=dev, dtype=dtype),
            torch.zeros(vocab_size, vocab_size, device=dev, dtype=dtype),
            freeze_input=freeze_input,
        )

    def embeddings(self) -> torch.Tensor:
        """The word vectors used for evaluation: the input embeddings (V, n), float32."""
        return self.inp.float()

    @torch.no_grad()
    def step(
        self,
        batch: text.CbowBatch,
        negatives: torch.Tensor,
        lr: float,
        *,
        weight_decay: float = 0.0,
        divide_input: bool = True,
    ) -> float:
        """One SGD step on a batch (negatives: (B, K) ids); returns the summed loss before it."""
        B = batch.target.shape[0]
        n = self.width
        if self.inp.dtype in (torch.float16, torch.bfloat16):
            ectx = self._gather("context", self.inp, batch.context)  # (M, n), float32
            h = torch.zeros(B, n, device=ectx.device, dtype=ectx.dtype).index_add_(
                0, batch.owner, ectx
            )
            h /= batch.count.unsqueeze(1).to(h.dtype)  # (B, n)
        else:  # one fused gather-and-mean; the context rows are gathered below only if E trains
            h = torch.nn.functional.embedding_bag(
                batch.context, self.inp, batch.context_offsets(), mode="mean"
            )
        rows = torch.cat([batch.target.unsqueeze(1), negatives], dim=1)  # (B, 1+K)
        urows = self._gather("rows", self.out, rows.reshape(-1)).view(
            B, -1, n
        )  # (B, 1+K, n)
        f = torch.bmm(h.unsqueeze(1), urows.transpose(1, 2)).squeeze(
            1
        )  # (B, 1+K); faster than urows @ h
        keep = (negatives != batch.target.unsqueeze(1)).to(
            f.dtype
        )  # as word2vec: skip t
        g = torch.sigmoid(f).mul_(
            -lr
        )  # (B, 1+K): lr (label - sigmoid), label 1 for the target
        g[:, 0] += lr
        g[:, 1:] *= keep
        loss = -(
            torch.nn.functional.logsigmoid(f[:, 0]).sum()
            + (torch.nn.functional.logsigmoid(-f[:, 1:]) * keep).sum()
        )
        neu1e = torch.bmm(g.unsqueeze(1), urows).squeeze(1)  # (B, n), from the old U
        mult_in, mult_out = self.lr_mult
        # urows becomes the output update g_j h - lr wd U_j, in place (one pass, no temporary)
        urows.baddbmm_(
            g.unsqueeze(2), h.unsqueeze(1), beta=-lr * weight_decay, alpha=mult_out
        )
        self.out.index_add_(0, rows.reshape(-1), urows.view(-1, n).to(self.out.dtype))
        if not self.freeze_input:
            if divide_input:
                neu1e /= batch.count.unsqueeze(1).to(neu1e.dtype)
            if mult_in != 1.0:
                neu1e *= mult_in
            if weight_decay:
                # ectx becomes the input update neu1e_owner - lr wd E_c, in place
                if self.inp.dtype not in (torch.float16, torch.bfloat16):
                    ectx = self._gather("context", self.inp, batch.context)
                ectx.mul_(-lr * weight_decay).add_(neu1e.index_select(0, batch.owner))
            else:
                ectx = self._gather("context", neu1e, batch.owner)
            self.inp.index_add_(0, batch.context, ectx.to(self.inp.dtype))
        return float(loss)


def learning_rate(
    lr0: float, progress: float, min_ratio: float = MIN_LR_RATIO
) -> float:
    """Linear decay from ``lr0`` to ``min_ratio * lr0`` as ``progress`` goes 0 -> 1."""
    return max(lr0 * (1.0 - progress), lr0 * min_ratio)


@dataclass
class TrainStats:
    """Per-epoch mean loss per position, words (raw corpus tokens) per second, seconds."""

    losses: list[float]
    seconds: float
    words_per_second: float
    positions: int


def train(
    model: CBOW,
    corpus: text.Corpus,
    *,
    epochs: int,
    lr: float,
    weight_decay: float,
    divide_input: bool,
    window: int = 8,
    negatives: int = 25,
    sample: float = 1e-4,
    batch_size: int = 1024,
    seed: int = 0,
    max_positions: int | None = None,
    progress: bool = True,
    desc: str = "word2vec",
) -> TrainStats:
    """Train ``model`` for ``epochs`` passes over ``corpus`` (subsampled anew each epoch).

    The same ``seed`` gives every model the same subsampling, windows and negatives.
    ``max_positions`` stops training after the batch that reaches that many positions (the
    learning rate still follows the schedule of the full run; the last loss is that of
    the epoch so far). A corpus with no training position, or an epoch that subsampling
    leaves without one, is a ValueError (not a loss of 0).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if negatives < 0:
        raise ValueError(f"negatives must be >= 0, got {negatives}")
    if max_positions is not None:
        _checks.positive_int(max_positions, "max_positions")
    text.check_trainable(corpus)
    dev = model.inp.device
    rng = np.random.default_rng(seed)
    gen = runtime.generator(seed + 1)
    sampler = text.NegativeSampler(corpus.vocab, device=dev)
    losses, positions, words_seen = [], 0, 0
    start = time.perf_counter()
    with tqdm(
        total=epochs * corpus.raw_tokens,
        unit="word",
        unit_scale=True,
        desc=desc,
        disable=not progress,
        mininterval=1.0,
    ) as bar:
        for epoch in range(epochs):
            ids, sent = text.subsample(corpus, sample, rng)
            total, seen, done = 0.0, 0, 0
            for batch in text.cbow_batches(ids, sent, window, batch_size, rng, dev):
                b = batch.target.shape[0]
                neg = sampler.sample((b, negatives), gen)
                frac = (epoch + seen / max(len(ids), 1)) / epochs
                total += model.step(
                    batch,
                    neg,
                    learning_rate(lr, frac),
                    weight_decay=weight_decay,
                    divide_input=divide_input,
                )
                seen += b
                positions += b
                advance = int(corpus.raw_tokens * seen / max(len(ids), 1)) - done
                done += advance
                bar.update(advance)
                if bar.n and (time.perf_counter() - start) > 0:
                    bar.set_postfix_str(
                        f"{bar.n / (time.perf_counter() - start):,.0f} words/s",
                        refresh=False,
                    )
                if max_positions is not None and positions >= max_positions:
                    break
            stopped = max_positions is not None and positions >= max_positions
            words_seen += done if stopped else corpus.raw_tokens
            bar.update(corpus.raw_tokens - done)
            if seen == 0:
                raise ValueError(
                    f"epoch {epoch + 1} trained no position: subsampling (sample={sample}) kept {len(ids):,} of "
                    f"{len(corpus):,} tokens and none has a context. Use sample=0 (keep every token) or a "
                    "larger corpus."
                )
            losses.append(total / seen)
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(
                    f"the loss diverged in epoch {epoch + 1}; lower lr or batch_size"
                )
            if stopped:
                break
    seconds = time.perf_counter() - start
    return TrainStats(losses, seconds, words_seen / seconds, positions)


# -------------------------------------------------------------------- evaluation


@dataclass
class Accuracy:
    """Analogy accuracy (%, top-1 by cosine, the three query words excluded)."""

    accuracy: float
    correct: int
    questions: int
    per_section: dict[str, tuple[int, int]]  # name -> (correct, questions)

    @property
    def proportion(self) -> Proportion:
        """``correct`` of ``questions`` with its 95% Wilson interval (:mod:`mupbook.stats`)."""
        return Proportion(self.correct, self.questions)


def _unit_rows(emb: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length (zero rows stay zero); non-finite embeddings are an error."""
    emb = emb.float()
    if not bool(torch.isfinite(emb).all()):
        raise ValueError(
            "the embeddings have non-finite entries (nan or inf): training diverged; lower lr "
            "or batch_size"
        )
    return emb / emb.norm(dim=1, keepdim=True).clamp_min(1e-12)


def predict_analogies(
    emb: torch.Tensor, questions: np.ndarray, restrict: int, chunk: int = 512
) -> np.ndarray:
    """For each (a, b, c, .) the word d maximizing cos(d, b - a + c) (unit vectors), over
    the first ``restrict`` words, a, b and c excluded (3CosAdd, as word2vec and gensim).
    ``questions`` (Q, 4) word ids in ``0..restrict-1`` (never wrapped)."""
    w = _unit_rows(emb[: text.check_restrict(restrict)])
    q = torch.as_tensor(questions, device=w.device)
    if (
        q.ndim != 2
        or q.shape[1] != 4
        or q.dtype.is_floating_point
        or q.dtype == torch.bool
    ):
        raise ValueError(
            f"questions must be (Q, 4) integer word ids, got {q.dtype} {tuple(q.shape)}"
        )
    n = w.shape[0]
    if q.numel() and (int(q.min()) < 0 or int(q.max()) >= n):
        bad = int(q.min()) if int(q.min()) < 0 else int(q.max())
        raise ValueError(
            f"questions must hold word ids in 0..{n - 1} (the restrict={n} words searched), got {bad}"
        )
    out = []
    for s in range(0, len(q), chunk):
        a, b, c = q[s : s + chunk, 0], q[s : s + chunk, 1], q[s : s + chunk, 2]
        scores = (w[b] - w[a] + w[c]) @ w.T
        scores.scatter_(1, q[s : s + chunk, :3], float("-inf"))
        out.append(scores.argmax(1).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def analogy_accuracy(emb: torch.Tensor, qs: text.Analogies) -> Accuracy:
    """Accuracy over the questions of ``qs`` (all four words in the restricted vocabulary)."""
    if len(qs.questions) == 0:
        raise ValueError(
            "no analogy question has all four words in the vocabulary; raise max_vocab"
        )
    ok = predict_analogies(emb, qs.questions, qs.restrict) == qs.questions[:, 3]
    per = {}
    for s, name in enumerate(qs.sections):
        m = qs.section == s
        if m.any():
            per[name] = (int(ok[m].sum()), int(m.sum()))
    return Accuracy(100.0 * ok.mean(), int(ok.sum()), len(ok), per)


def turning_angles(
    emb: torch.Tensor, init: torch.Tensor | None, chunk: int = 1024
) -> torch.Tensor:
    """Per word, the angle (radians) between its embedding ``emb`` (V, n) and its initial
    embedding ``init`` (V, n; ``None``: the identity, the limits' start), shape (V,), on
    the CPU.

    Computed as ``atan2(|e_perp|, e . u)`` in float64, ``u`` the unit initial row and
    ``e_perp = e - (e . u) u``, which stays accurate for the tiny angles of wide NTP
    networks; ``chunk`` rows at a time on ``emb``'s device. Rescaling a row (weight decay)
    leaves its angle unchanged; a zero row is an error (its angle is undefined)."""
    if emb.ndim != 2:
        raise ValueError(f"emb must be (V, n), got {tuple(emb.shape)}")
    if init is None and emb.shape[0] != emb.shape[1]:
        raise ValueError(
            f"init=None means the identity and needs square embeddings, got {tuple(emb.shape)}"
        )
    if init is not None and init.shape != emb.shape:
        raise ValueError(
            f"emb and init must have the same shape, got {tuple(emb.shape)} and {tuple(init.shape)}"
        )
    out = []
    for s0 in range(0, emb.shape[0], chunk):
        e = emb[s0 : s0 + chunk].detach().to(torch.float64)
        if not bool(torch.isfinite(e).all()):
            raise ValueError("the embeddings have non-finite entries (nan or inf)")
        if init is None:  # u = e_i: the perpendicular part is every other coordinate
            rows = torch.arange(e.shape[0], device=e.device)
            along = e[rows, s0 + rows]
            perp = (e.pow(2).sum(1) - along.pow(2)).clamp_min(0).sqrt()
        else:
            u = init[s0 : s0 + chunk].detach().to(e.device, torch.float64)
            norms = u.norm(dim=1, keepdim=True)
            if bool((norms == 0).any()):
                raise ValueError(
                    "an initial embedding is zero: its angle is undefined"
                )
            u = u / norms
            along = (e * u).sum(1)
            perp = (e - along.unsqueeze(1) * u).norm(dim=1)
        if bool(((perp == 0) & (along == 0)).any()):
            raise ValueError("an embedding ended at zero: its angle is undefined")
        out.append(torch.atan2(perp, along).cpu())
    return torch.cat(out)


def mean_turn(emb: torch.Tensor, init: torch.Tensor | None) -> float:
    """The mean over words of :func:`turning_angles`, in degrees."""
    return math.degrees(float(turning_angles(emb, init).mean()))


def nearest(
    emb: torch.Tensor, vocab: text.Vocab, word: str, k: int = 8
) -> list[tuple[str, float]]:
    """The ``k`` nearest words to ``word`` by cosine (itself excluded)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    w = _unit_rows(emb)
    i = vocab.id(word)
    sims = w @ w[i]
    sims[i] = float("-inf")
    top = sims.topk(min(k, len(vocab) - 1))
    return [
        (vocab.words[j], float(s))
        for s, j in zip(top.values.tolist(), top.indices.tolist())
    ]


@dataclass
class Projection:
    """2-D PCA of the unit-normalized embeddings of the cities and states in the vocabulary,
    and the leave-one-out accuracy (%) of a linear probe separating them there."""

    words: list[str]
    is_city: np.ndarray
    xy: np.ndarray
    score: float

    def to_dict(self) -> dict:
        return {
            "words": self.words,
            "is_city": self.is_city.astype(int).tolist(),
            "xy": np.round(self.xy, 5).tolist(),
            "separation": self.score,
        }


def loo_linear_probe(
    xy: np.ndarray, labels: np.ndarray, ridge: float = 1e-3
) -> float:
    """Leave-one-out accuracy (%) of a least-squares linear classifier (with bias) on ``xy``
    (N, k), at least 2 finite points."""
    x = np.asarray(xy, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(
            f"a leave-one-out probe needs at least 2 points (N, k), got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("the points have non-finite entries (nan or inf)")
    x = (x - x.mean(0)) / (x.std(0) + 1e-12)
    x = np.hstack([x, np.ones((len(x), 1))])
    y = np.where(np.asarray(labels, dtype=bool), 1.0, -1.0)
    right = 0
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        a = x[keep]
        w = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ y[keep])
        right += (x[i] @ w > 0) == (y[i] > 0)
    return 100.0 * right / len(x)


def city_state_projection(emb: torch.Tensor, vocab: text.Vocab) -> Projection:
    """PCA (2 components) of the cities' and states' unit embeddings, with its probe score."""
    cities, states = words.cities_and_states()
    cities = [w for w in cities if w in vocab]
    states = [w for w in states if w in vocab and w not in cities]
    if len(cities) < 2 or len(states) < 2:
        raise ValueError(
            f"only {len(cities)} cities and {len(states)} states are in the vocabulary; "
            "raise max_vocab"
        )
    names = cities + states
    x = (
        _unit_rows(emb[torch.as_tensor(vocab.ids(names), device=emb.device)])
        .double()
        .cpu()
        .numpy()
    )
    x = x - x.mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    xy = x @ vt[:2].T
    is_city = np.array([True] * len(cities) + [False] * len(states))
    return Projection(names, is_city, xy, loo_linear_probe(xy, is_city))


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class Config(_common.ConfigBase):
    """One Word2Vec experiment: corpus and vocabulary, models, recipe, training sizes."""

    corpus: str = "auto"
    max_tokens: int | None = None
    min_count: int = 5
    max_vocab: int | None = None
    figure_words: bool = True  # keep the cities and states in a capped vocabulary
    widths: tuple[int, ...] = (64, 256)
    ntp_widths: tuple[int, ...] = ()  # NTP networks, equal to muP at base_width
    base_width: int | None = None  # None: the smallest of ntp_widths
    limit: bool = True
    ntk: bool = True
    recipe: str = "tp4"
    lr: float | None = None  # None: the recipe's
    weight_decay: float | None = None  # None: the recipe's
    window: int = 8
    negatives: int = 25
    sample: float = 1e-4
    epochs: int = 1
    batch_size: int = 512
    limit_batch_size: int = 256
    storage: str = "float32"
    seed: int = 0
    restrict: int = text.ANALOGY_RESTRICT
    max_positions: int | None = None  # stop each model after this many positions

    @property
    def ntp_base_width(self) -> int | None:
        """Where the NTP networks equal muP: ``base_width`` or the smallest NTP width."""
        if self.base_width is not None:
            return self.base_width
        return min(self.ntp_widths) if self.ntp_widths else None

    def check(self) -> Config:
        """The configuration, validated before any work (ValueError naming the field)."""
        recipe(self.recipe)
        _checks.choice(self.corpus, text.CORPORA, "corpus")
        _checks.choice(self.storage, tuple(STORAGES), "storage")
        if self.widths:
            _checks.widths(self.widths, minimum_count=1)
        if self.ntp_widths:
            _checks.widths(self.ntp_widths, minimum_count=1, what="ntp_widths")
        if not (self.widths or self.ntp_widths or self.limit or self.ntk):
            raise ValueError(
                "nothing to train: give widths, or keep the muP or NTK limit"
            )
        for k in ("base_width", "max_positions"):
            if getattr(self, k) is not None:
                _checks.positive_int(getattr(self, k), k)
        for k in (
            "epochs",
            "window",
            "negatives",
            "batch_size",
            "limit_batch_size",
            "min_count",
            "restrict",
        ):
            _checks.positive_int(getattr(self, k), k)
        for k in ("max_tokens", "max_vocab"):
            if getattr(self, k) is not None:
                _checks.positive_int(getattr(self, k), k)
        if self.lr is not None:
            _checks.positive_float(self.lr, "lr")
        if self.weight_decay is not None:
            _checks.nonnegative_float(self.weight_decay, "weight_decay")
        _checks.probability(self.sample, "sample")
        _checks.seed(self.seed)
        return self


#: CPU, about 20 s on one thread: the first 800,000 tokens, the 1,000 most frequent words (plus the
#: cities and states), one epoch.
QUICK = Config(max_vocab=1000, max_tokens=800_000, widths=(64,), epochs=1)
#: The offline corpus on a CPU (about half an hour, one thread): the 1,500 most frequent
#: words (plus the cities and states), 3 epochs, muP at widths 64, 256 and 1024 and NTP at
#: the same widths (equal to muP at 64) beside both limits.
OFFLINE = Config(
    corpus="offline",
    max_vocab=1500,
    widths=(64, 256, 1024),
    ntp_widths=(64, 256, 1024),
    epochs=3,
)
#: The paper's run: text8, full vocabulary (V = 71,291), 15 epochs, a large GPU.
TEXT8 = Config(
    corpus="text8",
    max_vocab=None,
    widths=(64, 256, 1024),
    ntp_widths=(64, 256, 1024),
    epochs=15,
    storage="bfloat16",
    batch_size=4096,
    limit_batch_size=1024,
)
CONFIGS = {"quick": QUICK, "offline": OFFLINE, "text8": TEXT8, "full": TEXT8}

#: How far the embeddings turn against width, muP beside NTP with base width 8 (so that
#: every swept width is far above it): widths 64, 256 and 1024, each trained on the first
#: 5,120 positions of the quick corpus (10 batches), enough for the turning angle to show
#: its power law.
QUICK_SWEEP = QUICK.replace(
    widths=(64, 256, 1024),
    ntp_widths=(64, 256, 1024),
    base_width=8,
    limit=False,
    ntk=False,
    max_positions=5_120,
)
#: The same on text8, one epoch, up to width 4096 (a GPU).
TEXT8_SWEEP = TEXT8.replace(
    widths=(64, 256, 1024, 4096),
    ntp_widths=(64, 256, 1024, 4096),
    base_width=8,
    limit=False,
    ntk=False,
    epochs=1,
)
SWEEPS = {"quick": QUICK_SWEEP, "full": TEXT8_SWEEP}


def config(name: str | None = None) -> Config:
    """A named configuration; ``None``: ``quick`` or ``full`` (= ``text8``) by MUPBOOK_SCALE."""
    name = runtime.scale() if name is None else name
    if name not in CONFIGS:
        raise ValueError(f"config must be one of {', '.join(CONFIGS)}, got {name!r}")
    return CONFIGS[name]


def sweep_config(scale: str | None = None) -> Config:
    """The width sweep of muP and NTP (:data:`QUICK_SWEEP` or :data:`TEXT8_SWEEP`), on the
    corpus of :func:`config` at the same scale."""
    scale = runtime.scale() if scale is None else scale
    return SWEEPS[_checks.choice(scale, tuple(SWEEPS), "scale")]


# --------------------------------------------------------------------------- runs


@dataclass
class ModelResult:
    """One trained model: ``key`` ("ntk", "64", ..., "ntp-256", ..., "limit"), its
    parametrization, its scores, how far its embeddings turned (mean angle, degrees) and
    its vectors."""

    key: str
    label: str
    width: int
    accuracy: Accuracy
    projection: Projection | None
    stats: TrainStats
    embeddings: torch.Tensor = field(repr=False)
    param: str = "mup"
    turn: float = 0.0

    def summary(self) -> dict:
        return {
            "label": self.label,
            "param": self.param,
            "width": self.width,
            "turn_degrees": self.turn,
            "accuracy": self.accuracy.accuracy,
            "correct": self.accuracy.correct,
            "questions": self.accuracy.questions,
            "per_section": {k: list(v) for k, v in self.accuracy.per_section.items()},
            "separation": None if self.projection is None else self.projection.score,
            "losses": self.stats.losses,
            "seconds": self.stats.seconds,
            "words_per_second": (
                self.stats.words_per_second
                if math.isfinite(self.stats.words_per_second)
                else None
            ),
        }


@dataclass
class Run:
    """Every model of a configuration, on one corpus and vocabulary."""

    config: Config
    corpus: str
    vocab: text.Vocab
    analogies: text.Analogies
    raw_tokens: int
    tokens: int
    models: dict[str, ModelResult]

    def accuracy(self, key: str) -> float:
        return self.models[key].accuracy.accuracy


def load_corpus(cfg: Config, *, progress: bool = True) -> text.Corpus:
    """The corpus of ``cfg``: its tokens, vocabulary (with the cities and states of the
    figure where ``figure_words``) and encoding. Load it once and pass it to :func:`run`
    to train several configurations on the same data."""
    cities, states = words.cities_and_states()
    extra = [*cities, *states] if cfg.figure_words else []
    return text.load_corpus(
        cfg.corpus,
        min_count=cfg.min_count,
        max_vocab=cfg.max_vocab,
        max_tokens=cfg.max_tokens,
        extra_words=extra,
        progress=progress,
    )


def run(
    cfg: Config,
    *,
    corpus: text.Corpus | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> Run:
    """Train every model of ``cfg`` (NTK limit, each muP and NTP width, muP limit) on the
    same data (``corpus``: :func:`load_corpus` of ``cfg``, loaded here if not given)."""
    cfg.check()
    rec = recipe(cfg.recipe)
    lr = rec.lr if cfg.lr is None else cfg.lr
    wd = rec.weight_decay if cfg.weight_decay is None else cfg.weight_decay
    dev = runtime.device(None if device is None else str(device))
    if corpus is None:
        corpus = load_corpus(cfg, progress=progress)
    text.check_trainable(corpus)
    V = len(corpus.vocab)
    qs = text.analogies(corpus.vocab, cfg.restrict)
    if cfg.limit or cfg.ntk:
        check_limit_fits(V, cfg.storage, dev)
    plan: list[
        tuple[str, str, str, int]
    ] = []  # key, label, param, width (0: a limit)
    if cfg.ntk:
        plan.append(("ntk", "NTK limit", "ntp", 0))
    plan += [(str(w), f"width {w}", "mup", int(w)) for w in cfg.widths]
    plan += [(f"ntp-{w}", f"NTP, width {w}", "ntp", int(w)) for w in cfg.ntp_widths]
    if cfg.limit:
        plan.append(("limit", f"μP limit (width V = {V:,})", "mup", 0))
    models: dict[str, ModelResult] = {}
    for key, label, param, width in plan:
        init = None  # the limits start at the identity
        if key in ("ntk", "limit"):
            model = CBOW.limit(
                V,
                device=dev,
                storage=cfg.storage,
                freeze_input=key == "ntk",
                check_memory=False,
            )
            bs = cfg.limit_batch_size
        else:
            model = CBOW.finite(
                V,
                width,
                init=rec.init,
                param=param,
                base_width=cfg.ntp_base_width,
                seed=cfg.seed + 2,
                device=dev,
                storage=cfg.storage,
            )
            init = model.inp.clone()
            bs = cfg.batch_size
        if (
            key == "ntk"
        ):  # its evaluated vectors (the input embeddings) are frozen: nothing to train
            stats = TrainStats([], 0.0, float("nan"), 0)
        else:
            stats = train(
                model,
                corpus,
                epochs=cfg.epochs,
                lr=lr,
                weight_decay=wd,
                divide_input=rec.divide_input,
                window=cfg.window,
                negatives=cfg.negatives,
                sample=cfg.sample,
                batch_size=bs,
                seed=cfg.seed,
                max_positions=cfg.max_positions,
                progress=progress,
                desc=label,
            )
        emb = model.embeddings()
        try:
            proj = city_state_projection(emb, corpus.vocab)
        except ValueError:
            proj = None
        models[key] = ModelResult(
            key,
            label,
            model.width,
            analogy_accuracy(emb, qs),
            proj,
            stats,
            emb,
            param=param,
            turn=mean_turn(model.inp, init),
        )
        del model, init
    return Run(
        cfg, corpus.name, corpus.vocab, qs, corpus.raw_tokens, len(corpus), models
    )


def results_dict(
    r: Run,
    *,
    argv: Sequence[str] = (),
    device: str | None = None,
    seconds: float | None = None,
) -> dict:
    """The JSON document of a run (``results.write_json`` shape)."""
    text8 = (
        r.corpus == "text8"
        and r.config.max_vocab is None
        and r.config.max_tokens is None
    )
    rows = []
    for key, m in r.models.items():
        published = paper.WORD2VEC_TEXT8.get(key)
        note = (
            f"{m.accuracy.proportion} correct; {r.corpus} corpus, V = {len(r.vocab):,}, "
            f"{r.config.epochs} epochs, {m.accuracy.questions:,} of "
            f"{r.analogies.total:,} questions in vocabulary"
        )
        if not text8:
            note += (
                f"; the paper's {published} is for text8 (17M tokens, full vocabulary, 15 epochs), "
                "a different corpus"
                if published is not None
                else ""
            )
            published = None
        elif r.config.epochs != 15:
            note += f"; the paper trains 15 epochs, this run {r.config.epochs}"
        rows.append(
            results.row(
                f"Word2Vec analogy accuracy, {m.label}",
                m.accuracy.accuracy,
                published,
                unit="%",
                note=note,
            )
        )
    return {
        "experiment": "word2vec",
        "config": r.config.to_dict(),
        "reproduction": rows,
        "corpus": {
            "name": r.corpus,
            "raw_tokens": r.raw_tokens,
            "tokens_in_vocab": r.tokens,
            "vocab_size": len(r.vocab),
            "questions": len(r.analogies.questions),
            "questions_total": r.analogies.total,
        },
        "models": {k: m.summary() for k, m in r.models.items()},
        "pca": {
            k: m.projection.to_dict()
            for k, m in r.models.items()
            if m.projection is not None
        },
        "paper": {"text8": paper.WORD2VEC_TEXT8, "fil9": paper.WORD2VEC_FIL9},
        "provenance": results.provenance(
            "mupbook.experiments.word2vec",
            argv,
            seeds=[r.config.seed],
            device=device,
            seconds=seconds,
        ),
    }


# ------------------------------------------------------------- the limit, exactly


def orthonormal_equivalence(
    vocab_size: int = 40,
    width: int = 120,
    *,
    tokens: int = 4000,
    seed: int = 0,
    rows: str = "orthonormal",
) -> dict[str, float]:
    """Train the muP limit (width V, E = I) and a width-n network whose input embeddings are
    orthonormal rows ``Q`` (n > V, U = 0) on the same toy Zipf corpus, in float64.

    Returns their final losses and ``max |E_wide - E_limit Q|``, ``max |U_wide - U_limit Q|``:
    zero up to rounding, because the wide network's weights stay ``A Q``, ``B Q`` with (A, B)
    the limit's. ``rows="gaussian"`` uses N(0, 1/n) rows instead, orthonormal only as
    n -> oo: then the two differ at finite n.
    """
    _checks.choice(rows, ("orthonormal", "gaussian"), "rows")
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab_size + 1)
    toks = [f"w{i}" for i in rng.choice(vocab_size, size=tokens, p=p / p.sum())]
    corpus = text.encode(toks, text.build_vocab(toks, min_count=1))
    V = len(corpus.vocab)
    gen = runtime.generator(seed)
    z = torch.randn(width, V, generator=gen, dtype=torch.float64)
    Q = (torch.linalg.qr(z)[0] if rows == "orthonormal" else z / math.sqrt(width)).T
    Q = Q.contiguous()
    limit = CBOW(
        torch.eye(V, dtype=torch.float64), torch.zeros(V, V, dtype=torch.float64)
    )
    wide = CBOW(Q.clone(), torch.zeros(V, width, dtype=torch.float64))
    kw = {
        "epochs": 2,
        "lr": 0.05,
        "weight_decay": 1e-3,
        "divide_input": True,
        "window": 4,
        "negatives": 5,
        "sample": 1e-3,
        "batch_size": 64,
        "seed": seed,
        "progress": False,
    }
    a, b = train(limit, corpus, **kw), train(wide, corpus, **kw)
    return {
        "loss_limit": a.losses[-1],
        "loss_wide": b.losses[-1],
        "max_err_input": float((wide.inp - limit.inp @ Q).abs().max()),
        "max_err_output": float((wide.out - limit.out @ Q).abs().max()),
    }


# ------------------------------------------------------------------ saved results


def load_results(folder: str | Path | None = None) -> dict[str, dict]:
    """Every recorded ``results/word2vec*.json``: ``{file stem: document}`` (e.g.
    ``"word2vec_offline"``); ``{}`` where there is no results folder (e.g. on Colab)."""
    return _common.load_results("word2vec", folder)


def accuracy_points(doc_or_run: Mapping | Run) -> dict[str, float]:
    """``{"ntk": acc, "64": acc, ..., "ntp-256": acc, ..., "limit": acc}`` (%) of a run or
    a results document."""
    if isinstance(doc_or_run, Run):
        return {k: m.accuracy.accuracy for k, m in doc_or_run.models.items()}
    return {k: float(m["accuracy"]) for k, m in doc_or_run["models"].items()}


def proportions(doc_or_run: Mapping | Run) -> dict[str, Proportion]:
    """Every model's correct answers of its questions, with its 95% Wilson interval."""
    if isinstance(doc_or_run, Run):
        return {k: m.accuracy.proportion for k, m in doc_or_run.models.items()}
    return {
        k: Proportion(int(m["correct"]), int(m["questions"]))
        for k, m in doc_or_run["models"].items()
    }


def _finite_models(doc_or_run: Mapping | Run) -> dict[str, tuple[str, int, float]]:
    """``{key: (param, width, turn in degrees)}`` of the finite-width models."""
    if isinstance(doc_or_run, Run):
        items = [(k, m.param, m.width, m.turn) for k, m in doc_or_run.models.items()]
    else:
        items = [
            (k, m.get("param", "mup"), int(m["width"]), m.get("turn_degrees"))
            for k, m in doc_or_run["models"].items()
        ]
    return {
        k: (p, w, t)
        for k, p, w, t in items
        if k not in ("ntk", "limit") and t is not None
    }


def turns(doc_or_run: Mapping | Run, param: str) -> tuple[np.ndarray, np.ndarray]:
    """``(widths, mean turning angles in degrees)`` of the finite ``param`` networks, by width."""
    _param(param)
    pts = sorted(
        (w, t) for p, w, t in _finite_models(doc_or_run).values() if p == param
    )
    return np.array([w for w, _ in pts]), np.array([t for _, t in pts], dtype=float)


def turn_slope(doc_or_run: Mapping | Run, param: str) -> SlopeFit:
    """Log-log slope of the mean turning angle against width (:func:`theory_slope` is its
    infinite-width value)."""
    ws, ts = turns(doc_or_run, param)
    if len(ws) < 2:
        raise ValueError(f"no two {PARAM_NAMES[param]} widths to fit a slope through")
    return loglog_slope(ws, ts)


# ------------------------------------------------------------------- neighbours


def neighbours_table(r: Run, word: str, k: int = 6) -> list[list[str]]:
    """Rows ``[model, "w1 (0.83), w2 (0.80), ..."]``: ``word``'s nearest words in each model."""
    r.vocab.id(word)  # a clear error for a word outside the vocabulary
    return [
        [
            m.label,
            ", ".join(
                f"{w} ({s:.2f})" for w, s in nearest(m.embeddings, r.vocab, word, k)
            ),
        ]
        for m in r.models.values()
    ]


# --------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mupbook.experiments.word2vec",
        description="Word2Vec at finite width, the muP limit and the NTK limit.",
    )
    p.add_argument(
        "--config",
        default=None,
        choices=sorted(CONFIGS),
        help="named configuration (default: quick or full by MUPBOOK_SCALE)",
    )
    _common.add_common_arguments(
        p,
        scale=False,
        out_help="results JSON (default results/word2vec_<config>.json)",
    )
    p.add_argument("--corpus", choices=text.CORPORA)
    p.add_argument("--max-vocab", type=int)
    p.add_argument("--full-vocab", action="store_true", help="no vocabulary cap")
    p.add_argument("--max-tokens", type=int)
    p.add_argument(
        "--widths", type=int, nargs="+", help="finite widths (strictly increasing)"
    )
    p.add_argument(
        "--ntp-widths", type=int, nargs="+", help="NTP widths (strictly increasing)"
    )
    p.add_argument("--base-width", type=int, help="where NTP equals muP")
    p.add_argument(
        "--max-positions", type=int, help="stop each model after this many positions"
    )
    p.add_argument("--no-limit", action="store_true")
    p.add_argument("--no-ntk", action="store_true")
    p.add_argument("--recipe", choices=sorted(RECIPES))
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--limit-batch-size", type=int)
    p.add_argument("--storage", choices=sorted(STORAGES))
    p.add_argument("--seed", type=int)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run a configuration and write its results JSON. Returns 0."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    a = parser.parse_args(argv)
    name = a.config or runtime.scale()
    with _common.refused_by(parser):
        cfg = config(name).replace(
            **_common.overrides(
                a,
                (
                    "corpus",
                    "max_vocab",
                    "max_tokens",
                    "widths",
                    "ntp_widths",
                    "base_width",
                    "max_positions",
                    "recipe",
                    "epochs",
                    "lr",
                    "batch_size",
                    "limit_batch_size",
                    "storage",
                    "seed",
                ),
            )
        )
        if a.full_vocab:
            cfg = cfg.replace(max_vocab=None)
        if a.no_limit:
            cfg = cfg.replace(limit=False)
        if a.no_ntk:
            cfg = cfg.replace(ntk=False)
    default_out = f"results/word2vec_{'text8' if name == 'full' else name}.json"
    run_ = _common.start(parser, a, argv, default_out, cfg.check)
    r = run(cfg, device=run_.device, progress=run_.progress)
    doc = results_dict(r, argv=argv, device=str(run_.device), seconds=run_.seconds())
    _common.write_results(run_.out, doc)
    for m in r.models.values():
        sep = "-" if m.projection is None else f"{m.projection.score:.0f}%"
        print(
            f"{m.label:32s} analogy {m.accuracy.proportion}  turned {m.turn:.3g} degrees"
            f"  cities/states separation {sep}  {m.stats.words_per_second:,.0f} words/s"
        )
    print(f"wrote {run_.out} ({run_.seconds():.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

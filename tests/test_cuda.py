"""CPU and CUDA agree: the library's key computations on both devices, within stated tolerances.

Marked ``cuda`` and skipped without CUDA; ``make gpu-check`` (tools/gpu_check.py) runs them on
a GPU machine. Each comparison starts from the same inputs and initial weights, made on the
CPU and moved: CUDA's random streams differ from the CPU's, so nothing random is drawn on
the GPU. ``GPU_CHECK_DEVICE=cpu`` runs them CPU against CPU (to test the tests where there
is no GPU); ``GPU_CHECK_AGREEMENT=FILE`` appends every measured error to FILE as a JSON line,
for gpu-check's table.

Errors are relative to the largest entry of the CPU result. Tolerances:

* float64, one evaluation (kernels, a forward pass, MAML logits): 1e-12. The devices sum
  in other orders (cuBLAS against the CPU's BLAS, blocked kernels), ~1e-16 a rounding,
  times the depth of the computation; the ReLU arc-cosine adds no more away from
  cos = +-1, which random inputs never reach.
* float64 after a few training steps (SGD, MAML meta-steps, CBOW steps): 1e-10. Every
  step feeds the last step's rounding back in; a handful of steps does not amplify it
  beyond a few orders of magnitude.
* float32 (the library's default for MuMLP and Word2Vec): 1e-4 after training steps,
  1e-5 for one forward pass. One rounding is 6e-8 relative; sums over hundreds of terms
  in another order, then a few steps, lose about three digits. (PyTorch does not use
  TF32 for float32 matmuls unless asked; if it did, 1e-3 would be the honest bound.)
"""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

# The library's internals these tests use, in one place.
from mupbook.data import omniglot, text
from mupbook.experiments import maml, word2vec
from mupbook.kernels import mlp_kernels, tp4_relu_1lp_kernels
from mupbook.limits import kernel_sgd, linear
from mupbook.nn import MuMLP

DEVICE = os.environ.get("GPU_CHECK_DEVICE", "cuda")
DEVICE_TYPE = torch.device(DEVICE).type
pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        DEVICE.startswith("cuda") and not torch.cuda.is_available(),
        reason="needs CUDA",
    ),
]

F64_ONE_PASS = 1e-12
F64_TRAINED = 1e-10
F32_ONE_PASS = 1e-5
F32_TRAINED = 1e-4


def _rel(other: torch.Tensor, cpu: torch.Tensor) -> float:
    """max |other - cpu| / max |cpu|, with other moved back to the CPU."""
    other = other.detach().to("cpu", cpu.dtype)
    scale = cpu.detach().abs().max().clamp_min(torch.finfo(cpu.dtype).tiny)
    return float((other - cpu.detach()).abs().max() / scale)


@pytest.fixture
def agree(request):
    """``agree(what, cpu, other, tol)``: assert (and record) that two results agree."""

    def check(
        what: str, cpu: torch.Tensor | float, other: torch.Tensor | float, tol: float
    ) -> float:
        if not isinstance(cpu, torch.Tensor):
            cpu, other = (
                torch.tensor(float(cpu), dtype=torch.float64),
                torch.tensor(float(other), dtype=torch.float64),
            )
        err = _rel(other, cpu)
        path = os.environ.get("GPU_CHECK_AGREEMENT")
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(
                    json.dumps(
                        {
                            "what": what,
                            "measured": err,
                            "tolerance": tol,
                            "unit": "relative",
                            "ok": err <= tol,
                            "test": request.node.name,
                        }
                    )
                    + "\n"
                )
        assert err <= tol, (
            f"{what}: CPU and {DEVICE} differ by {err:.3g} (relative), more than {tol:g}"
        )
        return err

    return check


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------- kernels


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_mlp_kernels_agree(agree, activation):
    x1 = torch.randn(96, 12, generator=_gen(1), dtype=torch.float64)
    x2 = torch.randn(40, 12, generator=_gen(2), dtype=torch.float64)
    for pair, args in (("x, x", (x1,)), ("x, x'", (x1, x2))):
        cpu = mlp_kernels(*args, depth=3, activation=activation, b_std=0.1)
        dev = mlp_kernels(
            *(a.to(DEVICE) for a in args),
            depth=3,
            activation=activation,
            b_std=0.1,
            block_size=32,
        )
        assert dev.nngp.device.type == dev.ntk.device.type == DEVICE_TYPE
        agree(
            f"mlp_kernels {activation} depth 3 NNGP ({pair}), float64",
            cpu.nngp,
            dev.nngp,
            F64_ONE_PASS,
        )
        agree(
            f"mlp_kernels {activation} depth 3 NTK ({pair}), float64",
            cpu.ntk,
            dev.ntk,
            F64_ONE_PASS,
        )


def test_tp4_relu_kernels_agree(agree):
    x = torch.rand(64, 784, generator=_gen(3), dtype=torch.float64)
    cpu, dev = (
        tp4_relu_1lp_kernels(x[:40], x[24:]),
        tp4_relu_1lp_kernels(x[:40].to(DEVICE), x[24:].to(DEVICE)),
    )
    assert dev.ntk.device.type == DEVICE_TYPE
    agree(
        "tp4_relu_1lp_kernels NTK (784 inputs), float64",
        cpu.ntk,
        dev.ntk,
        F64_ONE_PASS,
    )


# --------------------------------------------------------------------- MuMLP + SGD


@pytest.mark.parametrize(
    "dtype, one_pass, trained",
    [
        (torch.float64, F64_ONE_PASS, F64_TRAINED),
        (torch.float32, F32_ONE_PASS, F32_TRAINED),
    ],
    ids=["float64", "float32"],
)
def test_mumlp_forward_and_sgd_steps_agree(agree, dtype, one_pass, trained):
    name = str(dtype).removeprefix("torch.")
    model = MuMLP(
        64, 512, 10, "mup", depth=2, base_width=64, generator=_gen(4), dtype=dtype
    )
    other = copy.deepcopy(model).to(DEVICE)
    assert all(p.device.type == DEVICE_TYPE for p in other.parameters())
    x = torch.rand(128, 64, generator=_gen(5), dtype=dtype)
    y = torch.randint(0, 10, (128,), generator=_gen(6))
    agree(f"MuMLP forward at init, {name}", model(x), other(x.to(DEVICE)), one_pass)
    losses = {}
    for net, xb, yb in ((model, x, y), (other, x.to(DEVICE), y.to(DEVICE))):
        opt = net.sgd(0.5)
        losses[net] = []
        for _ in range(5):
            opt.zero_grad()
            loss = F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
            losses[net].append(loss.detach())
    agree(
        f"MuMLP loss over 5 SGD steps, {name}",
        torch.stack(losses[model]),
        torch.stack(losses[other]),
        trained,
    )
    for (pname, p), q in zip(model.named_parameters(), other.parameters()):
        agree(f"MuMLP {pname} after 5 SGD steps, {name}", p, q, trained)


# ------------------------------------------------------------------------------ MAML


def _tasks(batch: int = 32, n_way: int = 5, seed: int = 7) -> omniglot.Tasks:
    """A meta-batch shaped like the paper's (5-way 1-shot, one query each, 784 pixels in [0, 1])."""
    g = _gen(seed)
    xs = torch.rand(batch, n_way, 784, generator=g, dtype=torch.float64)
    xq = torch.rand(batch, n_way, 784, generator=g, dtype=torch.float64)
    ys = torch.arange(n_way).repeat(batch, 1)
    classes = torch.stack(
        [torch.randperm(40, generator=g)[:n_way] for _ in range(batch)]
    )
    drawers = torch.stack(
        [torch.randperm(20, generator=g)[:2] for _ in range(batch * n_way)]
    ).reshape(batch, n_way, 2)
    return omniglot.Tasks(xs, ys, xq, ys.clone(), classes, drawers)


def _to(tasks: omniglot.Tasks, device: str) -> omniglot.Tasks:
    return omniglot.Tasks(*(t.to(device) for t in tasks))


def test_maml_limit_meta_steps_agree(agree):
    cfg = maml.config("full").resolved()
    net = linear.mup_limit(
        784, cfg.n_way, s1=cfg.s1, s2=cfg.s2, beta=cfg.beta
    )  # on the CPU
    cpu = maml.LinearLearner(net)
    dev = maml.LinearLearner(net.with_params(*(p.to(DEVICE) for p in net.params())))
    assert all(p.device.type == DEVICE_TYPE for p in dev.net.params())
    steps = [_tasks(seed=s) for s in range(5)]
    out = {cpu: [], dev: []}
    for learner, device in ((cpu, "cpu"), (dev, DEVICE)):
        for t in steps:
            out[learner].append(learner.meta_step(_to(t, device), cfg))
    agree(
        "MAML limit: query loss of 5 meta-steps, float64",
        torch.tensor([o[0] for o in out[cpu]]),
        torch.tensor([o[0] for o in out[dev]]),
        F64_TRAINED,
    )
    agree(
        "MAML limit: meta-gradient norms, float64",
        torch.tensor([o[1] for o in out[cpu]]),
        torch.tensor([o[1] for o in out[dev]]),
        F64_TRAINED,
    )
    for name, p, q in zip(("W1", "b", "W2"), cpu.net.params(), dev.net.params()):
        agree(f"MAML limit: {name} after 5 meta-steps, float64", p, q, F64_TRAINED)
    t = _tasks(seed=99)
    td = _to(t, DEVICE)
    agree(
        "MAML limit: query logits after 20 inner steps, float64",
        cpu.query_logits(t.support_x, t.support_y, t.query_x, 20, cfg.inner_lr),
        dev.query_logits(td.support_x, td.support_y, td.query_x, 20, cfg.inner_lr),
        F64_TRAINED,
    )


def test_kernel_learner_meta_steps_agree(agree):
    """The ReLU NTK limit's MAML (kernel_sgd.KernelMachine with a growing dictionary)."""
    cfg = maml.config("full", model="relu-ntk").resolved()
    pool = 40 * omniglot.N_DRAWERS
    learners = {
        d: maml.KernelLearner(
            kernel_sgd.Kernel("relu-ntk"),
            784,
            cfg.n_way,
            capacity=pool,
            num_ids=pool,
            device=d,
        )
        for d in ("cpu", DEVICE)
    }
    losses = {d: [] for d in learners}
    for s in range(4):
        t = _tasks(batch=8, seed=20 + s)
        for d, learner in learners.items():
            losses[d].append(learner.meta_step(_to(t, d), cfg)[0])
    cpu, dev = learners["cpu"].machine, learners[DEVICE].machine
    assert cpu.count == dev.count > 0 and dev.Z.device.type == DEVICE_TYPE
    agree(
        "KernelMachine (relu-ntk): MAML query loss of 4 meta-steps, float64",
        torch.tensor(losses["cpu"]),
        torch.tensor(losses[DEVICE]),
        F64_TRAINED,
    )
    x = torch.rand(30, 784, generator=_gen(8), dtype=torch.float64)
    agree(
        "KernelMachine (relu-ntk): f at new points, float64",
        cpu(x),
        dev(x.to(DEVICE)),
        F64_TRAINED,
    )
    a = torch.randn(30, cfg.n_way, generator=_gen(9), dtype=torch.float64)
    agree(
        "KernelMachine (relu-ntk): RKHS norm, float64",
        cpu.rkhs_norm(x, a),
        dev.rkhs_norm(x.to(DEVICE), a.to(DEVICE)),
        F64_ONE_PASS,
    )


# -------------------------------------------------------------------------- Word2Vec


def _cbow_batches(
    device: str, vocab: int = 60, tokens: int = 600, batch: int = 32
) -> list[text.CbowBatch]:
    rng = np.random.default_rng(10)
    ids = rng.integers(0, vocab, tokens)
    sentence = np.repeat(np.arange(tokens // 50), 50)
    return list(
        text.cbow_batches(ids, sentence, 4, batch, np.random.default_rng(11), device)
    )


@pytest.mark.parametrize(
    "storage, tol",
    [("float64", F64_TRAINED), ("float32", F32_TRAINED)],
    ids=["float64", "float32"],
)
@pytest.mark.parametrize("model", ["width 48", "limit"])
def test_word2vec_cbow_steps_agree(agree, storage, tol, model):
    V = 60
    base = (
        word2vec.CBOW.finite(V, 48, seed=0)
        if model == "width 48"
        else word2vec.CBOW.limit(V, check_memory=False)
    )  # made on the CPU
    dtype = getattr(torch, storage)
    models = {
        d: word2vec.CBOW(base.inp.to(d, dtype).clone(), base.out.to(d, dtype).clone())
        for d in ("cpu", DEVICE)
    }
    batches = {d: _cbow_batches(d, V) for d in models}
    gen = {
        d: _gen(12) for d in models
    }  # negatives: drawn on the CPU, the same on both
    losses = {d: [] for d in models}
    for step in range(len(batches["cpu"])):
        for d, m in models.items():
            b = batches[d][step]
            neg = torch.randint(0, V, (b.target.shape[0], 5), generator=gen[d]).to(d)
            losses[d].append(
                m.step(b, neg, 0.05, weight_decay=1e-3, divide_input=True)
            )
    assert len(losses["cpu"]) >= 10
    cpu, dev = models["cpu"], models[DEVICE]
    assert dev.inp.device.type == dev.out.device.type == DEVICE_TYPE
    agree(
        f"Word2Vec CBOW {model}: loss of {len(losses['cpu'])} steps, {storage}",
        torch.tensor(losses["cpu"]),
        torch.tensor(losses[DEVICE]),
        tol,
    )
    agree(
        f"Word2Vec CBOW {model}: input embeddings after the steps, {storage}",
        cpu.inp,
        dev.inp,
        tol,
    )
    agree(
        f"Word2Vec CBOW {model}: output embeddings after the steps, {storage}",
        cpu.out,
        dev.out,
        tol,
    )

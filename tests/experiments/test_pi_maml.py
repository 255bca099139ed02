"""mupbook.experiments.pi_maml: the pi-limit paper's MAML protocol over deep networks."""

import json
import os

import pytest
import torch

from mupbook import paper, results
from mupbook.data import omniglot
from mupbook.experiments import maml, pi_maml
from mupbook.limits import pi

needs_data = pytest.mark.skipif(
    not os.environ.get("MUPBOOK_DATA"), reason="needs the offline Omniglot data"
)
D = omniglot.SIDE * omniglot.SIDE


def _tasks(B=3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    xs = torch.rand(B, 5, D, generator=g, dtype=dtype)
    xq = torch.rand(B, 5, D, generator=g, dtype=dtype)
    ys = torch.arange(5).repeat(B, 1)
    yq = torch.arange(5).repeat(B, 1)
    classes = torch.stack([torch.randperm(50, generator=g)[:5] for _ in range(B)])
    drawers = torch.stack([torch.randperm(20, generator=g)[:2] for _ in range(B * 5)])
    return omniglot.Tasks(xs, ys, xq, yq, classes, drawers.reshape(B, 5, 2))


def _cfg(**kw):
    base = dict(r=8, storage="float64", dtype="float64", steps=10, batch_tasks=3)
    return pi_maml.config("quick", **{**base, **kw})


def test_inner_step_equals_appending_the_support_rows_to_the_readout():
    """The kernel form of the inner loop is the paper's readout step: append one readout
    row per support image (A = s delta, B = g_hat, c = -lr) and run the query forward."""
    cfg = _cfg()
    learner = pi_maml.build_learner(cfg)
    net = learner.net
    t = _tasks()
    with torch.no_grad():
        logits = learner.query_logits(t.support_x, t.support_y, t.query_x, 1, 0.7)
    for b in range(t.support_x.shape[0]):
        copy = net.copy()
        out = copy(t.support_x[b])
        dout = maml._output_grad(out, t.support_y[b], 5)
        g = copy.gradients(t.support_x[b], dout)
        copy.step(g, 0.7, lr_mult=pi.LrMult(first=0.0, hidden=0.0, bias=0.0))
        assert copy.row_counts() == (cfg.r, 5)
        assert torch.allclose(copy(t.query_x[b]), logits[b], atol=1e-12)


def test_a_meta_step_appends_one_row_per_query_to_hidden_layers_only():
    cfg = _cfg(depth=3)
    learner = pi_maml.build_learner(cfg)
    before = learner.net.row_counts()
    loss, norm = learner.meta_step(_tasks(), cfg)
    assert learner.net.row_counts() == (before[0] + 15, before[1] + 15, 0)
    assert loss > 0 and norm > 0 and learner.step_count == 1


def test_a_small_meta_step_lowers_the_query_loss_it_was_taken_on():
    cfg = _cfg(meta_lr=1e-3, schedule="constant", clip=1e9)
    learner = pi_maml.build_learner(cfg)
    t = _tasks()

    def loss():
        with torch.no_grad():
            lg = learner.query_logits(
                t.support_x, t.support_y, t.query_x, 1, cfg.inner_lr
            )
        return float(maml.task_losses(lg, t.query_y).sum())

    before = loss()
    learner.meta_step(t, cfg)
    assert loss() < before


def test_sampled_finite_learner_follows_the_infinite_one():
    cfg = _cfg(meta_lr=4.0, schedule="constant")
    gaps = []
    for width in (256, 4096):
        inf = pi_maml.build_learner(cfg)
        fin = pi_maml.build_learner(cfg.replace(model="pi-finite", width=width))
        t = _tasks(seed=1)
        for s in range(3):
            ts = _tasks(seed=10 + s)
            inf.meta_step(ts, cfg)
            fin.meta_step(ts, cfg)
        with torch.no_grad():
            a = inf.query_logits(t.support_x, t.support_y, t.query_x, 1, cfg.inner_lr)
            b = fin.query_logits(t.support_x, t.support_y, t.query_x, 1, cfg.inner_lr)
        gaps.append(float((a - b).pow(2).mean().sqrt() / a.pow(2).mean().sqrt()))
    assert gaps[1] < gaps[0] / 2.5, gaps  # 16 x the width: ~4 x closer


def test_kernel_models_score_one_kernel_step_from_zero_without_training():
    cfg = _cfg(model="relu-ntk")
    learner = pi_maml.build_learner(cfg)
    t = _tasks()
    logits = learner.query_logits(t.support_x, t.support_y, t.query_x, 1, 0.5)
    k = learner.kernel.blocks(t.query_x, t.support_x)
    delta = maml._output_grad(
        torch.zeros(3, 5, 5, dtype=torch.float64), t.support_y, 5
    )
    assert torch.allclose(logits, -0.5 * k @ delta)
    assert learner.kernel.depth == cfg.depth


def test_mup_learner_trains_its_body_and_never_its_readout():
    cfg = _cfg(model="mup-finite", width=64, meta_lr=0.5, schedule="constant")
    learner = pi_maml.build_learner(cfg)
    readout = learner.net.weights[-1].detach().clone()
    first = learner.net.weights[0].detach().clone()
    learner.meta_step(_tasks(), cfg)
    assert torch.equal(learner.net.weights[-1], readout)
    assert not torch.equal(learner.net.weights[0], first)


def test_configuration_is_checked_and_the_schedule_is_cosine():
    with pytest.raises(ValueError, match="width"):
        pi_maml.config("quick", model="pi-finite").check()
    with pytest.raises(ValueError, match="width"):
        pi_maml.config("quick", width=8).check()
    with pytest.raises(ValueError, match="first-order"):
        pi_maml.config("quick", first_order=False).check()
    cfg = pi_maml.config("full")
    assert (cfg.r, cfg.meta_lr, cfg.clip, cfg.batch_tasks) == (400, 32.0, 0.1, 8)
    assert (
        cfg.meta_lr_at(0) == 32.0 and abs(cfg.meta_lr_at(cfg.steps // 2) - 16) < 1e-9
    )
    assert cfg.rows_per_step == 40


def test_the_memory_plan_refuses_a_run_that_does_not_fit(monkeypatch):
    cfg = pi_maml.config("full", storage="float16")
    learner = pi_maml.build_learner(cfg)
    monkeypatch.setattr(pi, "available_memory", lambda device=None: 2**30)
    plan = pi_maml.memory_plan(cfg, learner)
    assert plan.rows_after == (400 + 2_000_000, 0)
    with pytest.raises(MemoryError, match="GiB"):
        plan.check()


def test_reproduction_rows_sit_beside_the_pi_limit_papers_table():
    run = {
        "name": "pi-limit",
        "config": pi_maml.config("quick").to_dict(),
        "history": {"loss": [1.0] * 7, "best_step": 5},
        "test": {"1": {"mean": 80.0, "ci95": 1.0, "tasks": 100}},
    }
    (row,) = pi_maml.reproduction_rows(run)
    assert row["paper"] == paper.PI_LIMIT_OMNIGLOT_MAML["infinite pi-net"]
    assert "7 of the paper's 50,000" in row["note"]
    assert pi_maml.paper_number("mup-finite-2048") == 91.22
    assert pi_maml.paper_number("relu-ntk") == 51.72


@pytest.fixture(scope="module")
def pools():
    return maml.load_pools("lanczos")


@needs_data
def test_a_checkpointed_run_resumes_to_the_same_result(pools, tmp_path):
    cfg = pi_maml.config(
        "quick",
        steps=6,
        val_every=3,
        val_tasks=8,
        test_tasks=8,
        r=8,
        resize="lanczos",
        schedule="constant",
    )
    whole = pi_maml.train(cfg, pools, progress=False)
    ck = tmp_path / "ck.pt"
    pi_maml.train(cfg.replace(steps=3), pools, progress=False, checkpoint=ck)
    assert ck.is_file()
    resumed = pi_maml.train(cfg, pools, progress=False, checkpoint=ck)
    assert resumed.history.loss == pytest.approx(whole.history.loss)
    assert resumed.test[1].mean == pytest.approx(whole.test[1].mean)
    # with the cosine schedule a run has one length: another one is refused
    cos = cfg.replace(schedule="cosine", steps=3)
    pi_maml.train(cos, pools, progress=False, checkpoint=tmp_path / "c.pt")
    with pytest.raises(ValueError, match="cosine"):
        pi_maml.train(
            cos.replace(steps=6), pools, progress=False, checkpoint=tmp_path / "c.pt"
        )


@needs_data
def test_cli_writes_a_results_file_with_the_plan_and_paper_numbers(tmp_path):
    out = tmp_path / "r.json"
    argv = [
        "--model", "pi-limit", "--scale", "quick", "--steps", "4", "--r", "8",
        "--val-every", "2", "--val-tasks", "8", "--test-tasks", "8",
        "--no-progress", "--out", str(out),
    ]  # fmt: skip
    assert pi_maml.main(argv) == 0
    doc = results.load(out)
    assert doc["experiment"] == "pi_maml" and doc["memory_plan"]["rows_after"] == [
        8 + 4 * 40,
        0,
    ]
    assert doc["reproduction"][0]["paper"] == 91.46
    json.dumps(doc)

"""mupbook.experiments.maml: batched MAML against per-task autograd, training, results."""

import json
import os
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mupbook import results
from mupbook.data import omniglot
from mupbook.experiments import maml
from mupbook.limits import linear
from mupbook.limits.kernel_sgd import Kernel

needs_data = pytest.mark.skipif(
    not os.environ.get("MUPBOOK_DATA"), reason="needs the offline Omniglot data"
)
D, C = 20, 3


def _tasks(B=4, ks=3, kq=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = torch.rand(B, ks, D, generator=g, dtype=torch.float64)
    xq = torch.rand(B, kq, D, generator=g, dtype=torch.float64)
    ys = torch.randint(0, C, (B, ks), generator=g)
    yq = torch.randint(0, C, (B, kq), generator=g)
    classes = torch.randint(0, 5, (B, C), generator=g)
    drawers = torch.stack(
        [torch.randperm(20, generator=g)[: ks + kq] for _ in range(B * C)]
    ).reshape(B, C, -1)
    return omniglot.Tasks(xs, ys, xq, yq, classes, drawers)


def _per_task_reference(net, t, steps, lr, second_order):
    """MAML the slow, obvious way: copy the weights per task, autograd every inner step."""
    params = [p.detach().clone().requires_grad_(True) for p in net.params()]
    m1, m2 = net.lr_mult
    total = 0
    for i in range(t.support_x.shape[0]):
        W1, b, W2 = params
        for _ in range(steps):
            out = (t.support_x[i] @ W1.T + net.beta * b) @ W2.T
            loss = F.cross_entropy(out, t.support_y[i])
            g1, gb, g2 = torch.autograd.grad(
                loss, (W1, b, W2), create_graph=second_order
            )
            W1, b, W2 = W1 - lr * m1 * g1, b - lr * m1 * gb, W2 - lr * m2 * g2
        if not second_order:  # first order: gradient at the adapted weights, applied to the meta weights
            W1, b, W2 = (
                params[0] + (W1 - params[0]).detach(),
                params[1] + (b - params[1]).detach(),
                params[2] + (W2 - params[2]).detach(),
            )
        q = (t.query_x[i] @ W1.T + net.beta * b) @ W2.T
        total = total + F.cross_entropy(q, t.query_y[i])
    return total, torch.autograd.grad(total, params)


@pytest.mark.parametrize("second_order", [False, True])
@pytest.mark.parametrize("param", ["mup", "sp"])
@pytest.mark.parametrize("steps", [1, 3])
def test_batched_low_rank_maml_equals_per_task_autograd(second_order, param, steps):
    net = linear.finite(
        D, C, 16, param=param, base_width=4, generator=1, s1=1.0, s2=0.5, beta=1.5
    )
    t = _tasks()
    learner = maml.LinearLearner(net)
    logits = learner.query_logits(
        t.support_x,
        t.support_y,
        t.query_x,
        steps,
        0.4,
        first_order=not second_order,
        grad=True,
    )
    loss = maml.task_losses(logits, t.query_y).sum()
    grads = torch.autograd.grad(loss, learner.net.params())
    ref_loss, ref_grads = _per_task_reference(net, t, steps, 0.4, second_order)
    assert torch.allclose(loss, ref_loss, rtol=1e-12, atol=0)
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, rtol=1e-10, atol=1e-14)


def test_meta_step_clips_the_summed_gradient_and_applies_learning_rate_multipliers():
    net = linear.finite(D, C, 16, param="ntp", base_width=4, generator=2)
    t = _tasks()
    cfg = maml.Config(
        model="finite",
        width=16,
        param="ntp",
        meta_lr=0.1,
        clip=1e-3,
        s1=1.0,
        s2=0.5,
        beta=1.0,
    )
    learner = maml.LinearLearner(net)
    before = [p.detach().clone() for p in learner.net.params()]
    _, grads = _per_task_reference(net, t, 1, cfg.inner_lr, False)
    loss, norm = learner.meta_step(t, cfg)
    assert np.isclose(norm, torch.sqrt(sum((g * g).sum() for g in grads)).item())
    for p, p0, g, m in zip(learner.net.params(), before, grads, (0.25, 0.25, 1.0)):
        assert torch.allclose(p0 - p, 0.1 * m * (1e-3 / norm) * g)


def _kernel_reference(kernel, pts, coefs, t, steps, lr):
    """Function-space MAML with explicit per-task functions (no batching, no tricks)."""

    def f(x, P, A):
        return (
            kernel(x, P) @ A
            if len(P)
            else torch.zeros(len(x), C, dtype=torch.float64)
        )

    total, gq_all = 0, []
    for i in range(t.support_x.shape[0]):
        xs, xq = t.support_x[i], t.query_x[i]
        P, A = pts, coefs
        for _ in range(steps):
            out = f(xs, P, A)
            g = (out.softmax(-1) - F.one_hot(t.support_y[i], C)) / len(xs)
            P, A = torch.cat([P, xs]), torch.cat([A, -lr * g])
        fq = f(xq, P, A).requires_grad_(True)
        loss = F.cross_entropy(fq, t.query_y[i])
        total += loss.item()
        gq_all.append(torch.autograd.grad(loss, fq)[0])
    return total, torch.cat(gq_all)


@pytest.mark.parametrize("name", ["relu-ntk", "linear-nngp"])
def test_kernel_first_order_maml_equals_explicit_function_space_sgd(name):
    kernel = Kernel(name)
    t = _tasks(seed=3)
    learner = maml.KernelLearner(kernel, D, C, capacity=500, num_ids=None)
    pts, coefs = t.query_x[0] * 0.5, torch.full((4, C), 0.01, dtype=torch.float64)
    learner.machine.add(pts, coefs)  # start from some nonzero f
    cfg = maml.Config(
        model=name, meta_lr=0.3, clip=1e9, inner_steps=2, n_way=C
    ).resolved()
    ref_loss, gq = _kernel_reference(kernel, pts, coefs, t, 2, cfg.inner_lr)
    loss, _ = learner.meta_step(t, cfg)
    assert np.isclose(loss * 4, ref_loss)
    probe = torch.rand(
        7, D, dtype=torch.float64, generator=torch.Generator().manual_seed(8)
    )
    want = (
        kernel(probe, pts) @ coefs
        - 0.3 * kernel(probe, t.query_x.reshape(-1, D)) @ gq
    )
    assert torch.allclose(learner.machine(probe), want)


def test_configuration_checks_and_tp4_per_width_settings():
    assert maml.tp4_settings(None) == (0.1, 1.0, 2.0**-5, 1.0)
    assert maml.tp4_settings(2) == (0.05, 0.5, 0.5, 2.0) and maml.tp4_settings(
        1000
    ) == maml.tp4_settings(512)
    cfg = maml.Config(model="finite", width=32).resolved()
    assert (cfg.meta_lr, cfg.s1, cfg.s2, cfg.beta) == (
        0.4,
        1.0,
        0.125,
        0.5,
    ) and cfg.name == "finite-32"
    assert maml.Config(model="finite", width=64, param="ntp").name == "ntp-64"
    for bad, match in [
        ({"model": "mlp"}, "model must be one of"),
        ({"model": "finite"}, "needs a width"),
        ({"width": 8}, "only for model='finite'"),
        ({"k_shot": 10, "q_eval": 15}, "<= 20"),
        ({"inner_lr": 0.0}, "inner_lr must be"),
        ({"steps": 0}, "steps must be"),
    ]:
        with pytest.raises(ValueError, match=match):
            maml.Config(**bad).resolved()


def test_summarize_gives_the_mean_and_a_95_percent_interval_in_percent():
    acc = np.array([0.2, 0.4, 0.6, 0.8])
    s = maml.summarize(acc)
    assert (
        np.isclose(s.mean, 50)
        and np.isclose(s.ci95, 100 * 1.96 * acc.std(ddof=1) / 2)
        and s.tasks == 4
    )


@pytest.fixture(scope="module")
def pools():
    if not os.environ.get("MUPBOOK_DATA"):
        pytest.skip("needs the offline Omniglot data (MUPBOOK_DATA)")
    return maml.load_pools()


def test_pools_are_the_vinyals_split_with_rotations_only_in_training(pools):
    assert (
        pools.train.num_classes,
        pools.val.num_classes,
        pools.test.num_classes,
    ) == (4 * 1028, 172, 423)
    assert all(n.endswith("rot000") for n in pools.test.names)


def test_tasks_are_a_function_of_seed_stream_and_step(pools):
    cfg = maml.config("quick")
    a, b = (
        maml.tasks_for_step(pools.train, cfg, 5),
        maml.tasks_for_step(pools.train, cfg, 5),
    )
    assert (
        torch.equal(a.support_x, b.support_x) and a.support_x.dtype == torch.float64
    )
    assert not torch.equal(
        a.classes, maml.tasks_for_step(pools.train, cfg, 6).classes
    )
    assert not torch.equal(
        a.classes, maml.tasks_for_step(pools.train, cfg, 5, stream=1).classes
    )


def test_the_limit_learns_and_a_resumed_run_repeats_an_uninterrupted_one(
    pools, tmp_path
):
    cfg = maml.config(
        "quick",
        steps=60,
        val_every=30,
        val_tasks=64,
        test_tasks=64,
        test_inner_steps=(1,),
    )
    whole = maml.train(cfg, pools, progress=False)
    assert whole.history.val_acc[-1] > 35  # chance is 20%
    assert whole.test[1].mean > 35
    ck = tmp_path / "ck.pt"
    maml.train(
        cfg.replace(steps=30),
        pools,
        progress=False,
        checkpoint=ck,
        checkpoint_every=30,
    )
    resumed = maml.train(
        cfg, pools, progress=False, checkpoint=ck, checkpoint_every=30
    )
    assert resumed.history.loss == whole.history.loss
    assert resumed.test[1] == whole.test[1]
    with pytest.raises(ValueError, match="another configuration"):
        maml.train(cfg.replace(meta_lr=0.2), pools, progress=False, checkpoint=ck)


def test_divergence_is_detected_reported_and_the_best_state_kept(pools):
    cfg = maml.config(
        "quick",
        steps=40,
        val_every=1,
        val_tasks=32,
        test_tasks=32,
        test_inner_steps=(1,),
        meta_lr=50.0,
        clip=1e6,
    )
    run = maml.train(cfg, pools, progress=False)
    assert run.history.diverged_at is not None and run.history.diverged_at < 40
    assert np.isfinite(run.test[1].mean)
    assert run.history.best_val >= max(run.history.val_acc) - 1e-9
    assert any("diverged" in r["note"] for r in maml.reproduction_rows(run))


def test_kernel_limit_trains_with_a_dictionary_bounded_by_the_pool(pools):
    cfg = maml.config(
        "quick",
        model="relu-nngp",
        steps=20,
        val_every=10,
        val_tasks=32,
        test_tasks=32,
        test_inner_steps=(1,),
    )
    run = maml.train(cfg, pools, progress=False)
    machine = run.learner.machine
    assert machine.capacity == pools.train.num_classes * 20
    assert 0 < machine.count <= 20 * 32 * 5  # at most one row per query image seen
    assert run.test[1].mean > 20


def test_cli_writes_a_results_file_with_paper_numbers_and_provenance(pools, tmp_path):
    out = tmp_path / "maml.json"
    assert (
        maml.main(
            [
                "--model",
                "finite",
                "--width",
                "8",
                "--scale",
                "quick",
                "--steps",
                "10",
                "--test-tasks",
                "32",
                "--val-tasks",
                "32",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    doc = results.load(out)
    assert doc["experiment"] == "maml" and doc["provenance"]["command"][:3] == [
        "python",
        "-m",
        "mupbook.experiments.maml",
    ]
    rows = doc["reproduction"]
    assert (
        all(0 <= r["ours"] <= 100 for r in rows)
        and "seed 1, 1 inner step at test" in rows[0]["quantity"]
    )
    assert [r["paper"] for r in rows] == [
        None,
        None,
    ]  # quick tests with 1 and 5 steps; the paper's is 20
    assert "--checkpoint" not in doc["provenance"]["command"]
    assert json.loads(out.read_text())["runs"][0]["name"] == "finite-8"


def test_cli_records_the_revision_it_started_from(pools, tmp_path, monkeypatch):
    # a long run's tree may be committed to or edited before it ends: provenance names the code that ran
    revisions = iter(["a" * 40, "b" * 40])
    dirty = iter([False, True])
    monkeypatch.setattr(results, "git_revision", lambda: next(revisions))
    monkeypatch.setattr(results, "git_dirty", lambda: next(dirty))
    out = tmp_path / "maml.json"
    maml.main(
        [
            "--model",
            "finite",
            "--width",
            "2",
            "--scale",
            "quick",
            "--steps",
            "2",
            "--val-every",
            "1",
            "--test-tasks",
            "8",
            "--val-tasks",
            "8",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    prov = results.load(out)["provenance"]
    assert prov["git_revision"] == "a" * 40 and prov["git_dirty"] is False


def test_paper_number_sits_beside_the_20_step_figure_only():
    run = {
        "name": "finite-8",
        "config": maml.Config(model="finite", width=8).to_dict(),
        "history": {"loss": [1.0] * 3, "best_step": 2, "diverged_at": None},
        "test": {
            "1": {"mean": 60.0, "ci95": 0.7, "tasks": 1000},
            "20": {"mean": 65.0, "ci95": 0.7, "tasks": 1000},
        },
    }
    rows = maml.reproduction_rows(run)
    assert [r["paper"] for r in rows] == [None, 64.5]
    assert (
        "the paper's 64.5 % is for 20 inner steps" in rows[0]["note"]
        and "20 inner steps at test" in rows[1]["quantity"]
    )


def test_inner_step_size_is_chosen_on_validation_and_recorded(
    pools, tmp_path, monkeypatch
):
    cfg = maml.config("quick", val_every=10, val_tasks=32)
    best, scores = maml.select_inner_lr(
        cfg, pools, [0.4, 1e-4], steps=10, progress=False
    )
    assert set(scores) == {0.4, 1e-4} and best == max(scores, key=scores.get)
    assert scores[0.4] > scores[1e-4]  # a step of 1e-4 barely adapts: near chance
    out = tmp_path / "m.json"
    maml.main(
        [
            "--model",
            "limit",
            "--scale",
            "quick",
            "--steps",
            "10",
            "--k-shot",
            "2",
            "--inner-lr-search",
            "0.4",
            "1e-4",
            "--search-steps",
            "10",
            "--test-tasks",
            "32",
            "--val-tasks",
            "32",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    doc = results.load(out)
    assert (
        doc["inner_lr_search"]["chosen"] == 0.4
        and doc["runs"][0]["config"]["inner_lr"] == 0.4
    )
    assert all(
        r["paper"] is None for r in doc["reproduction"]
    )  # the paper reports 1-shot only


def test_recorded_command_keeps_no_local_checkpoint_path():
    argv = [
        "--model",
        "limit",
        "--checkpoint",
        "/somewhere/ck",
        "--steps",
        "5",
        "--checkpoint=/x/y",
    ]
    assert maml.recorded_argv(argv) == [
        "--model",
        "limit",
        "--checkpoint",
        "CHECKPOINT",
        "--steps",
        "5",
        "--checkpoint=CHECKPOINT",
    ]


def test_recorded_runs_group_by_model_and_setting_and_average_seeds(tmp_path):
    def run(name, k_shot, seed, acc):
        cfg = maml.Config(model="limit", k_shot=k_shot, seed=seed).to_dict()
        return {
            "name": name,
            "config": cfg,
            "history": {"loss": [1.0], "best_step": 1, "diverged_at": None},
            "test": {"20": {"mean": acc, "ci95": 0.7, "tasks": 1000}},
        }

    for fname, runs in (
        ("maml_limit.json", [run("limit", 1, 1, 65.0)]),
        (
            "maml_limit_seeds.json",
            [run("limit", 1, 2, 66.0), run("limit", 1, 3, 67.0)],
        ),
        ("maml_limit_5shot.json", [run("limit", 5, 1, 73.0)]),
    ):
        doc = {
            "experiment": "maml",
            "config": {},
            "runs": runs,
            "reproduction": [row for r in runs for row in maml.reproduction_rows(r)],
            "provenance": results.provenance("mupbook.experiments.maml"),
        }
        results.write_json(tmp_path / fname, doc)
    recorded = maml.recorded_runs(maml.load_results(tmp_path))
    assert set(recorded) == {
        "limit",
        "limit/seed2",
        "limit/seed3",
        "limit (5-way 5-shot)",
    }
    table = maml.accuracy_table(recorded, 20)
    assert np.isclose(table["limit"][0], 66.0) and table["limit"][2] == 3
    assert np.isclose(table["limit"][1], 1.96 * 1.0 / np.sqrt(3))  # spread over seeds
    assert table["limit (5-way 5-shot)"][0] == 73.0
    header, rows = maml.comparison_table(recorded)
    assert [r[0] for r in rows] == ["limit"] and rows[0][-1] == 3


# ------------------------------------------------- checkpoints (tiny fake pools, no data)


def _fake_pools(classes: int = 6) -> maml.Pools:
    """Three pools of random 'drawings' (enough for 5-way tasks), no data folder needed."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(
        0, 256, (classes * 20, 784), generator=g, dtype=torch.uint8
    )
    pool = omniglot.FewShotPool(
        images,
        torch.arange(classes * 20).reshape(classes, 20),
        torch.zeros(classes, dtype=torch.int64),
        tuple(f"A/character{c:02d}/rot000" for c in range(1, classes + 1)),
    )
    return maml.Pools(pool, pool, pool)


def _tiny(**changes) -> maml.Config:
    base = maml.Config(
        batch_tasks=2, val_tasks=2, test_tasks=2, q_eval=1, test_inner_steps=(1,)
    )
    return base.replace(**changes)


def _params(run: maml.Run) -> list[torch.Tensor]:
    return run.learner.state()["params"]


def test_resume_from_a_checkpoint_past_the_requested_steps_is_refused(tmp_path):
    pools, ck = _fake_pools(), tmp_path / "ck.pt"
    maml.train(
        _tiny(steps=4, val_every=2),
        pools,
        progress=False,
        checkpoint=ck,
        checkpoint_every=4,
    )
    with pytest.raises(
        ValueError, match=r"holds 4 meta-steps.*steps=3.*--steps 4 or more.*delete"
    ):
        maml.train(
            _tiny(steps=3, val_every=2),
            pools,
            progress=False,
            checkpoint=ck,
            checkpoint_every=4,
        )


def test_resume_at_exactly_the_requested_steps_tests_the_trained_best_state(
    tmp_path, monkeypatch
):
    pools, ck = _fake_pools(), tmp_path / "ck.pt"
    fresh = maml.train(
        _tiny(steps=2, val_every=4), pools, progress=False
    )  # validates at its last step
    first: list[bytes] = []
    real_save = maml._save_checkpoint

    def keep_first(path, *args):
        real_save(path, *args)
        first.append(first[0] if first else Path(path).read_bytes())

    monkeypatch.setattr(maml, "_save_checkpoint", keep_first)
    # a longer run, checkpointed at step 2, before its first validation (at step 4)
    maml.train(
        _tiny(steps=4, val_every=4),
        pools,
        progress=False,
        checkpoint=ck,
        checkpoint_every=2,
    )
    ck.write_bytes(first[0])
    resumed = maml.train(
        _tiny(steps=2, val_every=4),
        pools,
        progress=False,
        checkpoint=ck,
        checkpoint_every=2,
    )
    assert resumed.history.val_steps == [2] and resumed.history.best_step == 2
    assert all(torch.equal(a, b) for a, b in zip(_params(resumed), _params(fresh)))
    assert resumed.test[1] == fresh.test[1]


def test_a_checkpoint_written_by_the_command_line_loads_in_the_library(
    tmp_path, monkeypatch
):
    pools = _fake_pools()
    monkeypatch.setattr(omniglot, "load_omniglot", lambda **kw: None)
    monkeypatch.setattr(
        omniglot, "few_shot_pool", lambda data, split, **kw: pools.train
    )
    sizes = [
        "--steps",
        "2",
        "--val-every",
        "2",
        "--val-tasks",
        "2",
        "--test-tasks",
        "2",
        "--q-eval",
        "1",
    ]
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "maml",
            "--model",
            "limit",
            "--scale",
            "quick",
            *sizes,
            "--checkpoint",
            str(tmp_path / "ck"),
            "--out",
            str(tmp_path / "m.json"),
            "--no-progress",
        ],
    )
    with (
        pytest.warns(RuntimeWarning, match="found in sys.modules"),
        pytest.raises(SystemExit) as done,
    ):
        runpy.run_module(
            "mupbook.experiments.maml", run_name="__main__"
        )  # as python -m does
    assert done.value.code == 0
    torch.load(
        tmp_path / "ck.limit.s1", weights_only=True
    )  # plain data: no class of __main__
    saved = maml.load_checkpoint(tmp_path / "ck.limit.s1")
    assert saved["format"] == maml.CHECKPOINT_FORMAT and saved["step"] == 2
    cfg = maml.config(
        "quick", steps=2, val_every=2, val_tasks=2, test_tasks=2, q_eval=1
    )
    run = maml.train(cfg, pools, progress=False, checkpoint=tmp_path / "ck.limit.s1")
    assert run.history.loss == saved["history"]["loss"] and run.history.best_step == 2


def test_checkpoints_of_an_old_or_unknown_format_are_refused_with_advice(tmp_path):
    old = tmp_path / "old.pt"
    torch.save(
        {"config": _tiny().to_dict(), "history": maml.History(), "step": 1}, old
    )  # pickles a class
    with pytest.raises(ValueError, match="old.pt.*older format.*delete it"):
        maml.load_checkpoint(old)
    future = tmp_path / "future.pt"
    torch.save({"format": 99, "step": 1}, future)
    with pytest.raises(ValueError, match="format 99.*reads format 1.*delete it"):
        maml.train(_tiny(steps=2), _fake_pools(), progress=False, checkpoint=future)


def test_a_run_tested_on_one_task_writes_its_results_without_an_interval(tmp_path):
    run = maml.Run(
        maml.Config(test_tasks=1).resolved(),
        maml.History(loss=[1.0], best_step=1),
        {1: maml.summarize(np.array([0.6]))},
        1.0,
        1.0,
    )
    doc = results.load(
        results.write_json(
            tmp_path / "m.json", maml.results_dict([run], [], "cpu", 1.0)
        )
    )
    assert (
        doc["runs"][0]["test"]["1"]["ci95"] is None
        and "ci95" not in doc["reproduction"][0]
    )
    assert np.isnan(run.test[1].ci95) and "1 tasks" in str(run.test[1])


def test_summarizing_no_accuracies_or_non_finite_ones_is_an_error():
    with pytest.raises(ValueError, match="no task accuracies"):
        maml.summarize(np.array([]))
    with pytest.raises(ValueError, match="not finite"):
        maml.summarize(np.array([0.5, np.nan]))


def test_a_kernel_meta_step_with_a_non_finite_loss_leaves_the_function_unchanged():
    t = _tasks(seed=4)
    learner = maml.KernelLearner(Kernel("relu-ntk"), D, C, capacity=500, num_ids=None)
    learner.machine.add(
        t.query_x[0],
        torch.tensor([[1e308, -1e308, 0.0]], dtype=torch.float64).expand(4, C),
    )
    cfg = maml.Config(model="relu-ntk", n_way=C).resolved()
    loss, _ = learner.meta_step(t, cfg)
    assert (
        not np.isfinite(loss) and learner.machine.count == 4
    )  # training marks it as diverged


def test_float32_kernel_evaluation_agrees_with_float64_on_real_tasks(pools):
    # The same 10 meta-steps with a float64 and a float32 dictionary (float64 coefficients
    # and outputs in both): query losses agree to 1e-7 relative, f at validation images to
    # 5e-6 of its largest value (measured: 6e-7 after 30 steps, float32 rounding of kernel
    # values summed over the rows), and validation accuracies agree.
    cfg = maml.config(
        "full", model="relu-ntk", sigma_b=2.0, sigma_v=1.5, val_tasks=64
    ).resolved()
    learners = {
        dt: maml.build_learner(
            cfg.replace(kernel_dtype=dt), pool_size=pools.train.num_classes * 20
        )
        for dt in ("float64", "float32")
    }
    assert (
        learners["float32"].machine.dtype == torch.float32
        and learners["float64"].machine.dtype == torch.float64
    )
    for s in range(10):
        t = maml.tasks_for_step(pools.train, cfg, s)
        (l64, n64), (l32, n32) = (
            learners[dt].meta_step(t, cfg) for dt in ("float64", "float32")
        )
        assert np.isclose(l32, l64, rtol=1e-7, atol=0) and np.isclose(
            n32, n64, rtol=1e-7, atol=0
        )
    probe = maml.tasks_for_step(pools.val, cfg, 0, queries=15).query_x
    f64, f32 = learners["float64"].machine(probe), learners["float32"].machine(probe)
    assert float((f32 - f64).abs().max() / f64.abs().max()) < 5e-6
    acc = {
        dt: maml.task_accuracies(
            lr, pools.val, cfg, tasks=64, inner_steps=20, stream=1, queries=15
        )
        for dt, lr in learners.items()
    }
    assert (
        np.abs(acc["float32"] - acc["float64"]).max() <= 1 / 75 + 1e-12
    )  # at most one query flips


def test_pool_outputs_give_the_logits_of_evaluating_every_task(pools):
    cfg = maml.config("full", model="relu-nngp").resolved()
    learner = maml.build_learner(cfg, pool_size=pools.train.num_classes * 20)
    for s in range(3):
        learner.meta_step(maml.tasks_for_step(pools.train, cfg, s), cfg)
    t = maml.tasks_for_step(pools.val, cfg, 0, queries=15, batch=4)
    outputs = learner.pool_outputs(pools.val)
    assert (
        outputs.shape == (pools.val.num_classes, 20, 5)
        and learner.pool_outputs(pools.val) is outputs
    )  # cached
    direct = learner.query_logits(
        t.support_x, t.support_y, t.query_x, 20, cfg.inner_lr
    )
    gathered = learner.task_logits(t, outputs, cfg.k_shot, 20, cfg.inner_lr)
    assert torch.allclose(gathered, direct, rtol=1e-9, atol=1e-12)
    learner.meta_step(maml.tasks_for_step(pools.train, cfg, 3), cfg)
    assert (
        learner.pool_outputs(pools.val) is not outputs
    )  # f changed: evaluated again
    # task_accuracies takes the pool path when the tasks show more images than the pool has
    assert 64 * 5 * 16 > pools.val.num_classes * 20
    pooled = maml.task_accuracies(
        learner, pools.val, cfg, tasks=64, inner_steps=1, stream=1, queries=15
    )
    direct = []
    for i in range(2):
        t = maml.tasks_for_step(pools.val, cfg, i, stream=1, queries=15)
        logits = learner.query_logits(
            t.support_x, t.support_y, t.query_x, 1, cfg.inner_lr
        )
        direct.append((logits.argmax(-1) == t.query_y).double().mean(1))
    assert np.array_equal(pooled, torch.cat(direct).numpy())


def test_validation_uses_val_inner_steps_and_kernel_options_are_checked(
    pools, monkeypatch
):
    seen = []
    real = maml.task_accuracies

    def spy(*args, **kw):
        seen.append(kw["inner_steps"])
        return real(*args, **kw)

    monkeypatch.setattr(maml, "task_accuracies", spy)
    cfg = maml.config(
        "quick",
        model="relu-nngp",
        steps=2,
        val_every=1,
        val_tasks=8,
        test_tasks=8,
        test_inner_steps=(1,),
        val_inner_steps=3,
    )
    maml.train(cfg, pools, progress=False)
    assert seen == [3, 3, 1]  # two validations, then the test
    for bad, match in [
        ({"kernel_dtype": "float16"}, "kernel_dtype must be"),
        ({"val_inner_steps": 0}, "val_inner_steps must be"),
        ({"sigma_b": -1.0}, "sigma_b must be"),
    ]:
        with pytest.raises(ValueError, match=match):
            maml.Config(model="relu-ntk", **bad).resolved()


def test_kernel_search_validates_the_grid_at_init_screens_the_best_and_records_every_run(
    pools, tmp_path
):
    out = tmp_path / "search.json"
    assert (
        maml.main(
            [
                "--model",
                "relu-ntk",
                "--scale",
                "quick",
                "--val-tasks",
                "8",
                "--val-every",
                "2",
                "--val-inner-steps",
                "3",
                "--grid-sigma-b",
                "0",
                "4",
                "--grid-sigma-v",
                "1",
                "--grid-inner-lr",
                "0.01",
                "0.4",
                "--grid-meta-lr",
                "0.05",
                "0.2",
                "--search-steps",
                "4",
                "--search-top",
                "2",
                "--search-only",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    doc = results.load(out)
    s = doc["kernel_search"]
    assert (
        doc["runs"] == [] and doc["reproduction"] == [] and s["val_inner_steps"] == 3
    )
    assert [(r["sigma_b"], r["inner_lr"]) for r in s["init"]] == [
        (0, 0.01),
        (0, 0.4),
        (4, 0.01),
        (4, 0.4),
    ]
    top = sorted(s["init"], key=lambda r: -r["val_acc"])[:2]
    assert [(r["sigma_b"], r["inner_lr"], r["meta_lr"]) for r in s["screen"]] == [
        (t["sigma_b"], t["inner_lr"], m) for t in top for m in (0.05, 0.2)
    ]
    for r in s["screen"]:
        assert (
            r["val_steps"] == [2, 4] and len(r["val_acc"]) == len(r["mean_loss"]) == 2
        )
    best = max(s["screen"], key=lambda r: r["best_val"])
    assert (
        s["chosen"]["best_val"] == best["best_val"]
        and s["chosen"]["meta_lr"] == best["meta_lr"]
    )
    assert doc["provenance"]["command"][3:5] == ["--model", "relu-ntk"]
    with pytest.raises(ValueError, match="one value for relu-nngp"):
        maml.kernel_search(
            maml.config("quick", model="relu-nngp"),
            pools,
            maml.KernelGrid((1.0,), (0.5, 1.0), (0.4,), (0.1,)),
            steps=1,
            top=1,
        )
    with pytest.raises(ValueError, match="grid inner_lr must be"):
        maml.KernelGrid((1.0,), (1.0,), (0.0,), (0.1,))


def _recorded_run(name, mean, *, tasks=4, q_eval=15, ci95=1.0, **config):
    cfg = maml.Config(**config).replace(q_eval=q_eval).to_dict()
    return {
        "name": name,
        "config": cfg,
        "history": {"loss": [1.0], "best_step": 1, "best_val": 50.0},
        "test": {"20": {"mean": mean, "ci95": ci95, "tasks": tasks}},
    }


def test_counted_accuracies_are_counts_with_the_wider_of_two_intervals():
    # 4 tasks x 5 classes x 15 queries = 300 answers; 150 right is 50%
    runs = {"limit": _recorded_run("limit", 50.0, ci95=10.0)}
    c = maml.counted_accuracies(runs, 20)["limit"]
    assert (c.correct, c.queries, c.q_eval, c.inner_steps) == (150, 300, 15, 20)
    assert c.interval == (40.0, 60.0)  # over tasks, wider than Wilson's (44.4, 55.6)
    low, high = c.wilson
    assert 44 < low < 45 and 55 < high < 56
    narrow = maml.counted_accuracies(
        {"limit": _recorded_run("limit", 50.0, ci95=0.5)}, 20
    )["limit"]
    # the Wilson interval is the wider one here
    assert narrow.interval == narrow.wilson
    assert maml.counted_accuracies(runs, 1) == {}  # not tested with 1 inner step
    # a mean that is not a whole number of correct answers out of tasks x 5 x q_eval
    with pytest.raises(ValueError, match="not a whole number of correct answers"):
        maml.counted_accuracies({"x": _recorded_run("limit", 51.0, q_eval=3)}, 20)


def test_a_count_is_below_another_only_when_the_intervals_are_apart():
    counts = maml.counted_accuracies(
        {
            "relu-ntk": _recorded_run("relu-ntk", 40.0, ci95=2.0, model="relu-ntk"),
            "limit": _recorded_run("limit", 60.0, ci95=2.0),
            "finite-8": _recorded_run(
                "finite-8", 44.0, ci95=2.0, model="finite", width=8
            ),
        },
        20,
    )
    assert counts["relu-ntk"].below(counts["limit"])
    assert not counts["relu-ntk"].below(counts["finite-8"])  # 40 +- 5.6 vs 44 +- 5.6
    assert not counts["limit"].below(counts["relu-ntk"])


def test_feature_learners_are_the_limit_and_mup_widths_from_the_minimum_on():
    recorded = {
        "limit": _recorded_run("limit", 60.0),
        "limit/seed2": _recorded_run("limit", 60.0, seed=2),
        "finite-2": _recorded_run("finite-2", 50.0, model="finite", width=2),
        "finite-8": _recorded_run("finite-8", 50.0, model="finite", width=8),
        "ntp-512": _recorded_run(
            "ntp-512", 50.0, model="finite", width=512, param="ntp"
        ),
        "relu-ntk": _recorded_run("relu-ntk", 40.0, model="relu-ntk"),
        "limit (5-way 5-shot)": _recorded_run("limit", 70.0, k_shot=5),
    }
    assert list(maml.feature_learners(recorded, min_width=8)) == [
        "limit",
        "limit/seed2",
        "finite-8",
    ]
    assert "finite-2" in maml.feature_learners(recorded, min_width=2)


def test_config_from_a_recorded_dict_round_trips_and_fills_newer_fields():
    cfg = maml.config(
        "full", model="relu-ntk", sigma_b=8.0, val_inner_steps=20
    ).resolved()
    assert maml.Config.from_dict(cfg.to_dict()) == cfg
    old = cfg.to_dict()
    del (
        old["kernel_dtype"],
        old["val_inner_steps"],
    )  # a file written before they existed
    assert maml.Config.from_dict(old).val_inner_steps is None
    with pytest.raises(ValueError, match="unknown configuration field"):
        maml.Config.from_dict({**cfg.to_dict(), "sigma_q": 1.0})


@pytest.mark.parametrize("model", ["relu-ntk", "limit"])
def test_the_model_at_start_is_what_a_run_validates_and_tests_before_it_moves(model):
    # A run whose meta learning rate is too small to move f validates and tests exactly
    # as the untrained model does (the kernel limit at f = 0 with no dictionary at all).
    pools = _fake_pools()
    cfg = _tiny(model=model, steps=1, val_every=1, val_inner_steps=3, meta_lr=1e-12)
    run = maml.train(cfg, pools, progress=False)
    assert run.history.val_acc[0] == maml.validation_at_start(cfg, pools)
    start = maml.meta_test_at_start(cfg, pools, 1)
    assert (start.mean, start.tasks) == (run.test[1].mean, run.test[1].tasks)
    full = maml.build_learner(cfg, pool_size=120)
    assert (
        maml.validation_accuracy(full, pools, cfg.resolved())
        == run.history.val_acc[0]
    )


def test_settings_table_lists_the_kernel_hyperparameters_of_recorded_runs():
    r = _recorded_run(
        "relu-ntk",
        40.0,
        model="relu-ntk",
        sigma_b=8.0,
        sigma_v=0.125,
        inner_lr=0.025,
        meta_lr=0.003,
        val_inner_steps=20,
    )
    n = _recorded_run("relu-nngp", 40.0, model="relu-nngp", sigma_b=8.0)
    header, rows = maml.settings_table(
        {"relu-ntk": r, "relu-nngp": n}, ["relu-ntk", "relu-nngp"]
    )
    assert len(header) == len(rows[0]) == 9
    assert rows[0] == ["relu-ntk", 1.0, 8.0, 0.125, 0.025, 0.003, 20, 1, 1]
    assert (
        rows[1][3] == "-" and rows[1][6] == 1
    )  # no sigma_v; validated at inner_steps


def _search_doc(model):
    init = [
        {"sigma_b": b, "sigma_v": v, "inner_lr": lr, "val_acc": acc, "seconds": 0.1}
        for b, v, lr, acc in [
            (0.0, 0.5, 0.1, 40.0),
            (0.0, 1.0, 0.1, 41.0),
            (2.0, 0.5, 0.1, 45.0),
            (2.0, 1.0, 0.4, 46.0),
        ]
    ]
    screen = [
        {
            "sigma_b": 2.0,
            "sigma_v": 1.0,
            "inner_lr": 0.4,
            "meta_lr": m,
            "val_at_init": 46.0,
            "val_steps": [50],
            "val_acc": [best],
            "best_val": best,
        }
        for m, best in ((0.01, 46.5), (0.1, 44.0))
    ]
    return {
        "experiment": "maml",
        "runs": [],
        "provenance": {"command": ["python"]},
        "kernel_search": {"model": model, "init": init, "screen": screen},
    }


def test_kernel_searches_grid_and_moves_read_a_search_file():
    docs = {
        "maml_limit": {"experiment": "maml", "runs": [], "provenance": {}},
        "maml_relu-ntk_search": _search_doc("relu-ntk"),
    }
    searches = maml.kernel_searches(docs)
    assert list(searches) == ["relu-ntk"]
    s = searches["relu-ntk"]
    assert s["file"] == "maml_relu-ntk_search.json" and s["provenance"]["command"]
    g = maml.search_grid(s)
    assert g.sigma_b == (0.0, 2.0) and g.inner_lr == (0.1, 0.4)
    # best over sigma_v in each cell; a cell the grid lacks stays NaN
    assert g.val_acc[0, 0] == 41.0 and g.sigma_v[0, 0] == 1.0
    assert g.val_acc[1, 0] == 45.0 and g.sigma_v[1, 0] == 0.5
    assert np.isnan(g.val_acc[0, 1]) and g.at(2.0, 0.4) == 46.0
    assert g.best["val_acc"] == 46.0 and g.best["sigma_b"] == 2.0
    with pytest.raises(KeyError, match="not on the grid"):
        g.at(1.0, 0.4)
    assert maml.screening_moves(s) == {
        "sigma_b 2, sigma_v 1, inner lr 0.4, meta lr 0.01": 0.5,
        "sigma_b 2, sigma_v 1, inner lr 0.4, meta lr 0.1": -2.0,
    }
    nngp = maml.kernel_searches({"x": _search_doc("relu-nngp")})["relu-nngp"]
    assert (
        list(maml.screening_moves(nngp))[0] == "sigma_b 2, inner lr 0.4, meta lr 0.01"
    )

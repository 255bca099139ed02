"""Chapter 8's assert cells fail when the claims behind them are broken on purpose
(tests/chapters/breaking.py runs the real chapter up to the targeted assert, with the break
injected after its imports). The recorded full-size runs are broken the way the chapter
reads them, through ``maml.load_results``: a results file as a broken model would have
recorded it, never numbers made up beside the files."""

import pytest
from breaking import run_broken

CHAPTER = "08_omniglot_maml"

# The cells that train or sweep live (quick mode); the checks of recorded runs skip them.
LIVE = (
    "maml.limit_gap(",
    "fit.loglog_slope(",
    "maml.run_suite(",
    "quick = maml.counted",
)
RECORDED = ("t20, t1 = maml.accuracy_table",)
POOLS = ("pools = maml.load_pools()",)

# Samples of the limit that do not grow with the width asked for (always width 64): their
# gap to the limit no longer falls like n^-1/2.
BREAK_SAMPLES = """
from mupbook.limits import linear as _linear
_sample = _linear.Linear1LP.sample
_linear.Linear1LP.sample = lambda self, n, generator: _sample(self, 64, generator)
"""

# The quick runs with the muP limit replaced by the NTK limit (trained as long, at the
# limit's learning rates: a limit that cannot learn features), and the width-2 network
# built at width 512 (a wrong width).
BREAK_QUICK = """
_build = maml.build_learner
def _broken(cfg, **kw):
    c = cfg.resolved()
    if c.model == "limit":
        return _build(cfg.replace(model="relu-ntk"), **kw)
    if c.model == "finite" and c.width == 2:
        return _build(cfg.replace(width=512), **kw)
    return _build(cfg, **kw)
maml.build_learner = _broken
"""


def _recorded(edit: str) -> str:
    """A break that edits the recorded runs as ``maml.load_results`` returns them:
    ``edit`` is code over ``runs`` ({model name or name/seedS: run dict}, the runs of every
    file, edited in place)."""
    return f"""
import copy as _copy
_load = maml.load_results
def _broken_results(folder=None):
    docs = _copy.deepcopy(_load(folder))
    runs = {{}}
    for doc in docs.values():
        for r in doc["runs"]:
            key = maml.run_label(r)
            runs[key if key not in runs else f"{{key}}/seed{{r['config']['seed']}}"] = r
{edit}
    return docs
maml.load_results = _broken_results
"""


# Every run of the limit (all seeds) as a width-2 network recorded it, with its 1- and
# 20-step test accuracies swapped.
BREAK_LIMIT_AS_WIDTH_2 = _recorded("""
    for key in [k for k in runs if k == "limit" or k.startswith("limit/")]:
        r = runs[key]
        r["test"] = {"1": runs["finite-2"]["test"]["20"], "20": runs["finite-2"]["test"]["1"]}
""")

# The NTK limit scored on 5 query drawings per class instead of the others' 15 (its test
# accuracy rounded to a whole count of the 1,000 x 5 x 5 answers it then had).
BREAK_FEWER_QUERIES = _recorded("""
    r = runs["relu-ntk"]
    r["config"]["q_eval"] = 5
    for acc in r["test"].values():
        acc["mean"] = round(acc["mean"] * acc["tasks"] * 25 / 100) * 100 / (acc["tasks"] * 25)
""")

# The NNGP limit's test results replaced by those of the width-8 network.
BREAK_KERNEL_AS_WIDTH_8 = _recorded("""
    runs["relu-nngp"]["test"] = _copy.deepcopy(runs["finite-8"]["test"])
""")

# The NTK limit recorded as if it moved like a feature learner (the limit's validation
# curve and width 8's test results), and the limit as if it did not (the NNGP's curve).
BREAK_MOVEMENT = _recorded("""
    ntk, lim, nngp = runs["relu-ntk"], runs["limit"], runs["relu-nngp"]
    ntk["history"], lim["history"] = _copy.deepcopy(lim["history"]), _copy.deepcopy(nngp["history"])
    ntk["test"] = _copy.deepcopy(runs["finite-8"]["test"])
""")


@pytest.mark.slow
def test_gap_slope_catches_samples_that_do_not_grow_with_width():
    err = run_broken(CHAPTER, BREAK_SAMPLES, until="fit.loglog_slope(gap_widths")
    assert "assert abs(slope + 0.5) < 0.15" in err


@pytest.mark.slow
def test_quick_checks_catch_an_ntk_limit_as_the_limit_and_a_wrong_width():
    err = run_broken(
        CHAPTER,
        BREAK_QUICK,
        until="quick = maml.counted",
        skip=("maml.limit_gap(", "fit.loglog_slope("),
    )
    assert "width 2 at least 10 points below the limit" in err.splitlines()[-1]
    assert "width 512 within 5 points of the limit" in err.splitlines()[-1]
    assert "both kernel limits below the limit" in err.splitlines()[-1]


@pytest.mark.slow
def test_recorded_checks_catch_a_limit_recorded_as_width_2():
    err = run_broken(
        CHAPTER, BREAK_LIMIT_AS_WIDTH_2, until=RECORDED[0], skip=LIVE + POOLS
    )
    last = err.splitlines()[-1]
    for claim in (
        "the limit within 1 point of the paper's",
        "the limit lower with 1 inner step than with 20",
        "widths >= 512 within 1 point of the limit",
        "width 2 at least 5 points below the limit",
    ):
        assert claim in last, claim


@pytest.mark.slow
def test_kernel_comparison_requires_the_same_queries_per_class():
    err = run_broken(
        CHAPTER,
        BREAK_FEWER_QUERIES,
        until="maml.feature_learners(recorded",
        skip=LIVE + POOLS + RECORDED,
    )
    assert "not tested on the same tasks and queries per class" in err
    assert "'relu-ntk': (1000, 5)" in err


@pytest.mark.slow
def test_kernel_comparison_catches_a_kernel_limit_with_a_feature_learners_results():
    err = run_broken(
        CHAPTER,
        BREAK_KERNEL_AS_WIDTH_8,
        until="maml.feature_learners(recorded",
        skip=LIVE + POOLS + RECORDED,
    )
    assert "kernel limits not below the feature learners" in err
    assert "('relu-nngp', 'finite-8')" in err


@pytest.mark.slow
def test_tuning_checks_catch_kernel_limits_that_move_and_a_limit_that_does_not():
    err = run_broken(
        CHAPTER,
        BREAK_MOVEMENT,
        until="test_moved = {",
        skip=LIVE + RECORDED + ("maml.feature_learners(recorded",),
    )
    last = err.splitlines()[-1]
    for claim in (
        "kernel limits' validation within 1 point of f = 0",
        "kernel limits' test within 1 point of f = 0",
        "the muP limit's validation at least 10 points above its start",
    ):
        assert claim in last, claim


# The NTK limit's kernel search as a model that learns features would have recorded it:
# the screened setting that started lowest at f = 0, there 3 points below the grid's best,
# rises 5 points in meta-training, above the grid's best, and is chosen.
BREAK_SEARCH = """
import copy as _copy
_load_search = maml.load_results
def _broken_search(folder=None):
    docs = _copy.deepcopy(_load_search(folder))
    for doc in docs.values():
        s = doc.get("kernel_search")
        if not s or s["model"] != "relu-ntk":
            continue
        best = max(r["val_acc"] for r in s["init"])
        run = min(s["screen"], key=lambda r: r["val_at_init"])
        old = run["val_at_init"]
        key = lambda r: (r["sigma_b"], r["sigma_v"], r["inner_lr"])
        for r in s["init"] + s["screen"]:
            if key(r) == key(run):
                r["val_acc" if "val_steps" not in r else "val_at_init"] = best - 3
        run["val_acc"] = [v - old + best - 3 for v in run["val_acc"]]
        run["val_acc"][-1] = best + 2
        run["best_val"], run["best_step"] = best + 2, run["val_steps"][-1]
        s["chosen"] = {k: run[k] for k in s["chosen"]}
    return docs
maml.load_results = _broken_search
"""


@pytest.mark.slow
def test_search_checks_catch_a_kernel_limit_that_meta_training_lifts():
    err = run_broken(
        CHAPTER,
        BREAK_SEARCH,
        until="maml.kernel_searches(",
        skip=LIVE + POOLS + RECORDED + ("maml.feature_learners(recorded",),
    )
    last = err.splitlines()[-1]
    for claim in (
        "no screening run more than 1 point above its validation at f = 0",
        "each chosen setting within 1 point of its grid's best at f = 0",
    ):
        assert claim in last, claim

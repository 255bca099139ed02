"""mupbook.experiments.pi_supervised: intervals, the paired comparison, a tiny run."""

import math
import os

import numpy as np
import pytest

from mupbook import results
from mupbook.experiments import pi_supervised as sup

needs_data = pytest.mark.skipif(
    not os.environ.get("MUPBOOK_DATA"), reason="needs the offline Omniglot data"
)


def test_paired_difference_counts_disagreements_and_its_interval_shrinks_with_n():
    a = np.array([1, 1, 1, 0, 1, 0, 1, 1], dtype=bool)
    b = np.array([1, 0, 1, 0, 0, 1, 1, 0], dtype=bool)
    d = sup.paired_difference(a, b)
    assert (d.a_only, d.b_only, d.total) == (3, 1, 8)
    assert d.difference == pytest.approx(25.0)
    big = sup.paired_difference(np.tile(a, 100), np.tile(b, 100))
    assert big.difference == pytest.approx(25.0)
    assert big.high - big.low == pytest.approx((d.high - d.low) / 10, rel=1e-9)
    assert big.low > 0 > d.low
    with pytest.raises(ValueError):
        sup.paired_difference(a, b[:3])


def test_configurations_are_checked_and_count_their_steps():
    cfg = sup.config("quick")
    assert cfg.steps == cfg.epochs * math.ceil(
        cfg.classes * cfg.train_drawers / cfg.batch
    )
    with pytest.raises(ValueError, match="train_drawers"):
        sup.config("quick", train_drawers=20).check()
    with pytest.raises(ValueError, match="widths"):
        sup.config("quick", widths=(64, 32)).check()


@needs_data
def test_a_tiny_run_trains_every_model_and_writes_a_valid_results_document(tmp_path):
    cfg = sup.config("quick", classes=5, train_drawers=3, r=8, epochs=2, widths=(64,))
    res = sup.run(cfg)
    assert set(res.models) == {"relu-nngp", "relu-ntk", "pi-limit", "pi-finite-64"}
    total = 5 * 17
    assert all(len(m.correct) == total for m in res.models.values())
    steps = cfg.steps
    assert res.models["pi-limit"].rows == [8 + steps * 0 + 15 * 2, 15 * 2]
    assert len(res.models["pi-limit"].curve) == 2
    doc = sup.results_dict(res, ["--scale", "quick"], "cpu", 1.0)
    path = results.write_json(tmp_path / "pi_supervised.json", doc)
    back = results.load(path)
    assert back["pi_minus_ntk"]["total"] == total
    assert all(r["paper"] is None for r in back["reproduction"])

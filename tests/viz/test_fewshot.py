"""mupbook.viz.fewshot: the recorded validation curves start from the computed step 0."""

import matplotlib

matplotlib.use("Agg")

import numpy as np

from mupbook.viz import fewshot


def test_validation_curves_start_at_step_zero_from_the_value_given():
    runs = {
        "relu-ntk": {"history": {"val_steps": [100, 200], "val_acc": [47.9, 47.8]}},
        "limit": {"history": {"val_steps": [100, 200], "val_acc": [40.0, 55.0]}},
    }
    ax = fewshot.plot_validation_from_start(runs, {"relu-ntk": 47.8, "limit": 21.0})
    curves = [line for line in ax.get_lines() if line.get_marker() == "."]
    assert [list(c.get_xdata()) for c in curves] == [[0, 100, 200]] * 2
    assert np.allclose(curves[0].get_ydata(), [47.8, 47.9, 47.8])
    assert np.allclose(curves[1].get_ydata(), [21.0, 40.0, 55.0])
    starts = [
        line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"
    ]
    assert starts == [47.8, 21.0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["relu-ntk (47.8% at step 0)", "limit (21.0% at step 0)"]

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


def _search(model="relu-ntk"):
    init = [
        {"sigma_b": b, "sigma_v": v, "inner_lr": lr, "val_acc": acc}
        for b, v, lr, acc in [
            (0.0, 0.5, 0.1, 40.0),
            (0.0, 1.0, 0.1, 41.0),
            (0.0, 0.5, 0.4, 42.0),
            (0.0, 1.0, 0.4, 39.0),
            (1.0, 0.5, 0.1, 45.0),
            (1.0, 1.0, 0.1, 44.0),
            (1.0, 0.5, 0.4, 43.0),
            (1.0, 1.0, 0.4, 46.0),
        ]
    ]
    screen = [
        {
            "sigma_b": 1.0,
            "sigma_v": 1.0,
            "inner_lr": 0.4,
            "meta_lr": m,
            "val_at_init": 46.0,
            "val_steps": [50, 100],
            "val_acc": acc,
            "best_val": max(acc),
        }
        for m, acc in ((0.01, [46.2, 46.5]), (0.1, [45.0, 44.0]))
    ]
    chosen = {"sigma_b": 1.0, "sigma_v": 1.0, "inner_lr": 0.4, "meta_lr": 0.01}
    return {
        "model": model,
        "steps": 100,
        "init": init,
        "screen": screen,
        "chosen": chosen,
    }


def test_kernel_grid_shows_the_best_over_sigma_v_and_marks_chosen_and_reference():
    ax = fewshot.plot_kernel_grid(_search(), reference=(0.0, 0.1))
    (image,) = ax.get_images()
    # rows sigma_b 0, 1; columns inner lr 0.1, 0.4; the best over sigma_v in each cell
    assert np.allclose(image.get_array(), [[41.0, 42.0], [45.0, 46.0]])
    assert [t.get_text() for t in ax.texts] == ["41.0", "42.0", "45.0", "46.0"]
    (square,) = ax.patches
    assert square.get_xy() == (1 - 0.5, 1 - 0.5)  # inner lr 0.4, sigma_b 1
    (circle,) = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert (list(circle.get_xdata()), list(circle.get_ydata())) == ([0], [0])
    assert "best over sigma_v" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "chosen: sigma_b 1, sigma_v 1, inner lr 0.4",
        "sigma_b 0, inner lr 0.1",
    ]
    nngp = fewshot.plot_kernel_grid(_search("relu-nngp"), reference=(8.0, 0.4))
    assert "sigma_v" not in nngp.get_title()
    assert not [line for line in nngp.get_lines() if line.get_marker() == "o"]


def test_screening_curves_start_at_zero_and_show_the_move_from_f_zero():
    ax = fewshot.plot_screening(_search())
    curves = [line for line in ax.get_lines() if line.get_marker() == "."]
    assert [list(c.get_xdata()) for c in curves] == [[0, 50, 100]] * 2
    assert np.allclose(curves[0].get_ydata(), [0.0, 0.2, 0.5])
    assert np.allclose(curves[1].get_ydata(), [0.0, -1.0, -2.0])
    assert curves[0].get_color() != curves[1].get_color()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["meta lr 0.01", "meta lr 0.1"]
    assert "2 screening runs of 100 meta-steps" in ax.get_title()

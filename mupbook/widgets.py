"""Interactive explorers (ipywidgets 7.7 on Colab, 8.x locally).

Each explorer is a thin layer over a plotting function that also works without
widgets, so the rendered book can show the same picture as a static figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from . import cancellation, viz


def plot_coordinates(width: int = 1024, lr: float = 1.0, seed: int = 0):
    """Histograms of the coordinates of ``W x``, ``dW x`` and ``dW x~`` for one network."""
    data = cancellation.coordinates(width, lr=lr, seed=seed)
    # Units whose ReLU is off get no gradient: their update is exactly 0 in both
    # update panels. Leave them out so the histograms show the spread of the rest.
    active = data["dW x (correlated)"] != 0
    shown = {k: (v if k.startswith("W x") else v[active]) for k, v in data.items()}
    fig, axes = viz.figure(ncols=3, width=3.6, height=3.0)
    viz.histograms(axes[0], shown)
    # Same x-range on both update panels: the independent one is visibly narrower.
    lim = float(abs(shown["dW x (correlated)"]).max(initial=0.0)) * 1.05 or 1.0
    for ax in axes[0, 1:]:
        ax.set_xlim(-lim, lim)
    fig.suptitle(f"width n = {width}, lr = {lr:g} (muP, one SGD step); "
                 f"{int((~active).sum())} units with inactive ReLU (update exactly 0) not shown",
                 fontsize=10)
    return fig


def cancellation_explorer(max_log2_width: int = 14):
    """Sliders for the width (2^6 .. 2^max) and learning rate; redraws the histograms.

    Watch ``W x`` keep its spread as the width grows while ``dW x~`` (an
    independent vector) shrinks like n^-1/2 and ``dW x`` does not.
    """
    import ipywidgets as w  # imported here: the library itself does not need widgets
    from IPython.display import display

    if not 7 <= max_log2_width <= 16:
        raise ValueError(f"max_log2_width must be in 7..16, got {max_log2_width}")
    log2_width = w.IntSlider(value=10, min=6, max=max_log2_width, description="log2 width")
    lr = w.FloatLogSlider(value=1.0, base=10, min=-2, max=1, step=0.1, description="lr")
    seed = w.IntSlider(value=0, min=0, max=9, description="seed")
    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = plot_coordinates(2 ** log2_width.value, lr.value, seed.value)
            display(fig)
            plt.close(fig)

    for s in (log2_width, lr, seed):
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([log2_width, lr, seed]), out])


def abc_explorer(depth: int = 2):
    """Sliders for every ``a_l``, ``b_l`` and ``c`` (steps of 1/4); shows TP4 Theorem 3.3's
    verdict, ``r``, the maximally updated layers and every broken condition."""
    import ipywidgets as w
    from fractions import Fraction
    from html import escape

    from .abc import classify, mup

    start = mup(depth)
    make = lambda name, v: w.FloatSlider(value=float(v), min=-2, max=2, step=0.25,  # noqa: E731
                                         description=name, continuous_update=False,
                                         layout=w.Layout(width="240px"))
    a_s = [make(f"a{l + 1}", v) for l, v in enumerate(start.a)]
    b_s = [make(f"b{l + 1}", v) for l, v in enumerate(start.b)]
    c_s = make("c", start.c)
    out = w.HTML()

    def update(*_):
        frac = lambda s: Fraction(s.value).limit_denominator(4)  # noqa: E731
        v = classify([frac(s) for s in a_s], [frac(s) for s in b_s], frac(c_s))
        color = {"feature learning": "green", "kernel": "steelblue"}.get(v.regime, "firebrick")
        items = "".join(f"<li>{escape(f)}</li>" for f in v.failures)
        out.value = (f"<b style='color:{color}'>{v.regime}</b> &nbsp; r = {v.r}, "
                     f"r_l = ({', '.join(str(r) for r in v.r_layers)}); maximally updated hidden "
                     f"layers: {list(v.maximal_layers) or 'none'}; readout updated maximally: "
                     f"{v.readout_updated_maximally}<ul>{items}</ul>")

    for s in a_s + b_s + [c_s]:
        s.observe(update, names="value")
    update()
    return w.VBox([w.HBox([w.VBox(a_s), w.VBox(b_s), c_s]), out])


def plot_contraction(contracted: str = "width", phase: str = "update", alpha: float = 0.5,
                     widths: tuple[int, ...] = tuple(2 ** k for k in range(6, 13))):
    """rms of ``W v`` against width for entries of size ``n^-alpha``, with the theory slope."""
    from . import kinds

    sizes = kinds.contraction_sizes(list(widths), contracted, phase, alpha)  # type: ignore[arg-type]
    fig, axes = viz.figure()
    slope = kinds.theory_slope(contracted, phase, alpha)  # type: ignore[arg-type]
    viz.loglog_sweep(axes[0, 0], widths, {"W v": sizes}, theory={"W v": slope},
                     ylabel="rms coordinate of W v")
    need = kinds.NEEDED_ALPHA[(contracted, phase)]  # type: ignore[index]
    axes[0, 0].set_title(f"contracting a {contracted} dim, {phase}: alpha = {alpha:g}\n"
                         f"theory slope {slope:+.2f} (flat needs alpha = {need:g})", fontsize=10)
    return fig


def contraction_explorer():
    """Pick the contracted dimension, init or update, and the entry exponent alpha."""
    import ipywidgets as w
    from IPython.display import display

    contracted = w.ToggleButtons(options=["finite", "width"], value="width", description="sum over")
    phase = w.ToggleButtons(options=["init", "update"], value="update", description="W is")
    alpha = w.FloatSlider(value=0.5, min=-0.5, max=1.5, step=0.25, description="alpha",
                          continuous_update=False)
    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = plot_contraction(contracted.value, phase.value, alpha.value)
            display(fig)
            plt.close(fig)

    for s in (contracted, phase, alpha):
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([contracted, phase, alpha, out])


def coord_explorer(widths: tuple[int, ...] = (64, 128, 256, 512, 1024)):
    """Run a coordinate check for the chosen parametrization, optimizer and learning rate;
    show every layer's mean |coordinate| (or its change) against width at one step."""
    import ipywidgets as w
    from IPython.display import display

    from . import coord

    param = w.ToggleButtons(options=["sp", "mup"], value="sp", description="param")
    opt = w.ToggleButtons(options=["sgd", "adam"], value="sgd", description="optimizer")
    lr = w.FloatLogSlider(value=0.1, base=10, min=-3, max=0.5, step=0.25, description="lr",
                          continuous_update=False)
    step = w.IntSlider(value=1, min=1, max=5, description="step", continuous_update=False)
    kind = w.ToggleButtons(options=["size", "delta"], value="size", description="show")
    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            try:
                check = coord.mlp_coord_check(param.value, opt.value, lr.value, widths, steps=5,
                                              seeds=(0,), progress=False)
            except FloatingPointError as err:
                print(f"diverged at every width: {err}")
                return
            fig = coord.plot_coord_check(check, kind.value, steps=[step.value])
            display(fig)
            plt.close(fig)

    for s in (param, opt, lr, step, kind):
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([param, opt, lr, step, kind, out])


def fewshot_explorer(learners: dict, pool, inner_lr: float = 0.4, n_way: int = 5, k_shot: int = 1):
    """Pick a batch of test tasks (seed) and the number of inner steps; see each model's
    predictions on the query drawings (``learners``: ``{name: learner}`` of
    :mod:`mupbook.experiments.maml`, ``pool``: a few-shot pool)."""
    import ipywidgets as w
    from IPython.display import display

    from . import fewshot_viz
    from .data import omniglot
    from .experiments import maml

    seed = w.IntSlider(value=0, min=0, max=99, description="task seed")
    steps = w.IntSlider(value=1, min=1, max=20, description="inner steps")
    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            tasks = omniglot.sample_tasks(pool, n_way, k_shot, 1, 3, generator=1000 + seed.value,
                                          dtype=next(iter(learners.values())).dtype)
            preds = {name: maml.predictions(lr_, tasks, steps.value, inner_lr) for name, lr_ in learners.items()}
            fig = fewshot_viz.plot_tasks(tasks, 3, preds)
            display(fig)
            plt.close(fig)

    for s in (seed, steps):
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([seed, steps]), out])

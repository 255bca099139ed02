"""Interactive explorers (ipywidgets 7.7 on Colab, 8.x locally), all built by one helper.

An explorer is a set of named controls and a *draw function* that takes the controls'
values as keyword arguments and returns what to show: a matplotlib figure, an HTML
string, or anything IPython can display. :func:`explorer` wires them together (an
output area that is redrawn whenever a control changes); every explorer of the book is
a few lines over it, and each draw function also works without widgets, so the rendered
book can show the same picture as a static figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import cancellation as cancellation_viz
from . import vector_matrix as vector_matrix_viz


def show(obj: Any) -> None:
    """Display what a draw function returned: a figure (then closed, so it is shown once),
    an HTML string, or any displayable object; None shows nothing more."""
    from IPython.display import HTML, display

    if obj is None:
        return
    if isinstance(obj, Figure):
        display(obj)
        plt.close(obj)
    elif isinstance(obj, str):
        display(HTML(obj))
    else:
        display(obj)


def explorer(
    controls: Mapping[str, Any],
    draw: Callable[..., Any],
    rows: Sequence[Sequence[str]] | None = None,
):
    """Controls (``{keyword: widget}``) above an output area showing ``draw(**values)``.

    ``rows`` groups the controls into horizontal rows by name (default: one per row).
    The output is redrawn whenever a control's value changes. Returns the widget, with two
    attributes for tests and tools: ``controls`` (the mapping given) and ``drawn`` (what the
    last call of ``draw`` returned).
    """
    import ipywidgets as w

    if not controls:
        raise ValueError("an explorer needs at least one control")
    rows = [[name] for name in controls] if rows is None else [list(r) for r in rows]
    placed = [name for row in rows for name in row]
    if sorted(placed) != sorted(controls):
        raise ValueError(
            f"rows must place every control exactly once; controls {sorted(controls)}, "
            f"placed {placed}"
        )
    out = w.Output()
    box = w.VBox([w.HBox([controls[name] for name in row]) for row in rows] + [out])
    box.controls = dict(controls)

    def redraw(*_: Any) -> None:
        values = {name: c.value for name, c in controls.items()}
        with out:
            out.clear_output(wait=True)
            box.drawn = draw(**values)
            show(box.drawn)

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    return box


# ------------------------------------------------------------------------------ chapter 1


def cancellation_explorer(max_log2_width: int = 14):
    """Sliders for the width (2^6 .. 2^max) and learning rate; redraws the histograms.

    Watch ``W x`` keep its spread as the width grows while ``dW x~`` (an
    independent vector) shrinks like n^-1/2 and ``dW x`` does not.
    """
    import ipywidgets as w

    if not 7 <= max_log2_width <= 16:
        raise ValueError(f"max_log2_width must be in 7..16, got {max_log2_width}")
    controls = {
        "log2_width": w.IntSlider(
            value=10, min=6, max=max_log2_width, description="log2 width"
        ),
        "lr": w.FloatLogSlider(
            value=1.0, base=10, min=-2, max=1, step=0.1, description="lr"
        ),
        "seed": w.IntSlider(value=0, min=0, max=9, description="seed"),
    }
    return explorer(
        controls,
        lambda log2_width, lr, seed: cancellation_viz.plot_coordinates(
            2**log2_width, lr, seed
        ),
        rows=[list(controls)],
    )


# ------------------------------------------------------------------------------ chapter 2


def kernel_explorer(max_log2_width: int = 12):
    """Sliders for the width (2^4 .. 2^max), depth (1..4), activation, W_std and b_std;
    redraws :func:`mupbook.viz.kernels.plot_kernel_slice`. Watch the coloured curves close
    in on the black ones."""
    import ipywidgets as w

    from ..kernels import ACTIVATIONS
    from .kernels import plot_kernel_slice

    if not 6 <= max_log2_width <= 14:
        raise ValueError(f"max_log2_width must be in 6..14, got {max_log2_width}")
    slider = dict(continuous_update=False)
    controls = {
        "log2_width": w.IntSlider(
            value=6, min=4, max=max_log2_width, description="log2 width", **slider
        ),
        "depth": w.IntSlider(value=2, min=1, max=4, description="depth", **slider),
        "activation": w.Dropdown(
            options=list(ACTIVATIONS), value="relu", description="activation"
        ),
        "w_std": w.FloatSlider(
            value=1.0, min=0.25, max=2.5, step=0.25, description="W_std", **slider
        ),
        "b_std": w.FloatSlider(
            value=0.0, min=0.0, max=1.5, step=0.25, description="b_std", **slider
        ),
    }

    def draw(log2_width, depth, activation, w_std, b_std):
        return plot_kernel_slice(
            2**log2_width, depth, activation, w_std=w_std, b_std=b_std
        )

    return explorer(
        controls,
        draw,
        rows=[["log2_width", "depth", "activation"], ["w_std", "b_std"]],
    )


# ------------------------------------------------------------------------------ chapter 3


def contraction_explorer():
    """Pick the contracted dimension, init or update, and the entry exponent alpha."""
    import ipywidgets as w

    controls = {
        "contracted": w.ToggleButtons(
            options=["finite", "width"], value="width", description="sum over"
        ),
        "phase": w.ToggleButtons(
            options=["init", "update"], value="update", description="W is"
        ),
        "alpha": w.FloatSlider(
            value=0.5,
            min=-0.5,
            max=1.5,
            step=0.25,
            description="alpha",
            continuous_update=False,
        ),
    }
    return explorer(controls, vector_matrix_viz.plot_contraction)


# ------------------------------------------------------------------------------ chapter 4


def abc_explorer(depth: int = 2):
    """Sliders for every ``a_l``, ``b_l`` and ``c`` (steps of 1/4); shows the verdict of TP4's
    classification (stable? trivial? kernel or feature learning?), ``r``, the maximally
    updated layers and every broken condition."""
    from fractions import Fraction
    from html import escape

    import ipywidgets as w

    from ..abc import classify, mup

    start = mup(depth)

    def make(name: str, v: Fraction):
        return w.FloatSlider(
            value=float(v),
            min=-2,
            max=2,
            step=0.25,
            description=name,
            continuous_update=False,
            layout=w.Layout(width="240px"),
        )

    controls = {f"a{l + 1}": make(f"a{l + 1}", v) for l, v in enumerate(start.a)}
    controls |= {f"b{l + 1}": make(f"b{l + 1}", v) for l, v in enumerate(start.b)}
    controls["c"] = make("c", start.c)
    n = len(start.a)

    def draw(**values: float) -> str:
        frac = lambda x: Fraction(x).limit_denominator(4)  # noqa: E731
        v = classify(
            [frac(values[f"a{l + 1}"]) for l in range(n)],
            [frac(values[f"b{l + 1}"]) for l in range(n)],
            frac(values["c"]),
        )
        color = {"feature learning": "green", "kernel": "steelblue"}.get(
            v.regime, "firebrick"
        )
        items = "".join(f"<li>{escape(f)}</li>" for f in v.failures)
        return (
            f"<b style='color:{color}'>{v.regime}</b> &nbsp; r = {v.r}, "
            f"r_l = ({', '.join(str(r) for r in v.r_layers)}); maximally updated hidden "
            f"layers: {list(v.maximal_layers) or 'none'}; readout updated maximally: "
            f"{v.readout_updated_maximally}<ul>{items}</ul>"
        )

    return explorer(
        controls,
        draw,
        rows=[
            [f"a{l + 1}" for l in range(n)],
            [f"b{l + 1}" for l in range(n)],
            ["c"],
        ],
    )


# ------------------------------------------------------------------------------ chapter 5


def coord_explorer(widths: tuple[int, ...] = (64, 128, 256, 512, 1024)):
    """Run a coordinate check for the chosen parametrization, optimizer and learning rate;
    show every layer's mean |coordinate| (or its change) against width at one step."""
    import ipywidgets as w

    from ..studies import coord_check
    from .coord_check import plot_coord_check

    slider = dict(continuous_update=False)
    controls = {
        "param": w.ToggleButtons(
            options=["sp", "mup"], value="sp", description="param"
        ),
        "optimizer": w.ToggleButtons(
            options=["sgd", "adam"], value="sgd", description="optimizer"
        ),
        "lr": w.FloatLogSlider(
            value=0.1, base=10, min=-3, max=0.5, step=0.25, description="lr", **slider
        ),
        "step": w.IntSlider(value=1, min=1, max=5, description="step", **slider),
        "kind": w.ToggleButtons(
            options=["size", "delta"], value="size", description="show"
        ),
    }

    def draw(param, optimizer, lr, step, kind):
        try:
            check = coord_check.mlp_coord_check(
                param, optimizer, lr, widths, steps=5, seeds=(0,), progress=False
            )
        except FloatingPointError as err:
            return f"<b style='color:firebrick'>diverged at every width</b>: {err}"
        return plot_coord_check(check, kind, steps=[step])

    return explorer(controls, draw)


# ------------------------------------------------------------------------------ chapter 6


def fewshot_explorer(
    learners: dict, pool, inner_lr: float = 0.4, n_way: int = 5, k_shot: int = 1
):
    """Pick a batch of test tasks (seed) and the number of inner steps; see each model's
    predictions on the query drawings (``learners``: ``{name: learner}`` of
    :mod:`mupbook.experiments.maml`, ``pool``: a few-shot pool)."""
    import ipywidgets as w

    from ..data import omniglot
    from ..experiments import maml
    from .fewshot import plot_tasks

    dtype = next(iter(learners.values())).dtype
    controls = {
        "seed": w.IntSlider(value=0, min=0, max=99, description="task seed"),
        "steps": w.IntSlider(value=1, min=1, max=20, description="inner steps"),
    }

    def draw(seed, steps):
        tasks = omniglot.sample_tasks(
            pool, n_way, k_shot, 1, 3, generator=1000 + seed, dtype=dtype
        )
        preds = {
            name: maml.predictions(lr_, tasks, steps, inner_lr)
            for name, lr_ in learners.items()
        }
        return plot_tasks(tasks, 3, preds)

    return explorer(controls, draw, rows=[["seed", "steps"]])


# ------------------------------------------------------------------------------ chapter 7


def neighbours_explorer(run, words_to_offer: Sequence[str] | None = None, k: int = 6):
    """A dropdown of words; shows each model of a Word2Vec run
    (:func:`mupbook.experiments.word2vec.run`) with the chosen word's nearest neighbours."""
    import ipywidgets as w

    from ..data import words
    from ..experiments.word2vec import neighbours_table
    from . import table

    if words_to_offer is None:
        cities, states = words.cities_and_states()
        common = [
            x
            for x in (
                "king",
                "man",
                "woman",
                "good",
                "war",
                "music",
                "city",
                "state",
                "film",
            )
            if x in run.vocab
        ]
        words_to_offer = common + [x for x in cities + states if x in run.vocab]
    controls = {"word": w.Dropdown(options=list(words_to_offer), description="word")}
    return explorer(
        controls,
        lambda word: table(
            ["model", f"nearest {k} words (cosine)"], neighbours_table(run, word, k)
        ),
    )


# ------------------------------------------------------------- muP for Transformers


def gpt_training(
    param: str = "sp",
    log2_width: int = 8,
    log2_lr: float = -5.0,
    *,
    data=None,
    steps: int = 40,
    base_width: int = 64,
):
    """The explorer's draw function (also the static stand-in): train a GPT of width
    ``2**log2_width`` and one of the base width at the same base learning rate
    ``2**log2_lr`` (same initial seed, same minibatches of the chapter's quick
    configuration, ``steps`` steps) and plot both training curves. ``data``: a
    :class:`mupbook.experiments.mutransfer_gpt.Data` (loaded when None)."""
    from ..experiments import mutransfer_gpt as mg
    from .transformer import plot_training_curves

    cfg = mg.QUICK.replace(steps=steps, base_width=base_width)
    data = mg.load_data(cfg) if data is None else data
    width = 2**log2_width
    curves = {
        f"width {n}": mg.training_curve(cfg, param, n, log2_lr, data)
        for n in dict.fromkeys((base_width, width))
    }
    name = mg.PARAM_NAMES[param]
    return plot_training_curves(
        curves, title=f"{name}, Adam at learning rate 2^{log2_lr:g}"
    )


def gpt_explorer(data=None, steps: int = 40):
    """Pick the parametrization, the width (64 .. 512) and the base learning rate:
    a GPT of that width and one of the base width (64) train side by side
    (:func:`gpt_training`). Under SP the wide model's curve parts from the narrow one
    and, at large learning rates, diverges first; under muP they stay together."""
    import ipywidgets as w

    from ..experiments import mutransfer_gpt as mg

    data = mg.load_data(mg.QUICK) if data is None else data
    slider = dict(continuous_update=False)
    controls = {
        "param": w.ToggleButtons(
            options=["sp", "mup"], value="sp", description="param"
        ),
        "log2_width": w.IntSlider(
            value=8, min=6, max=9, description="log2 width", **slider
        ),
        "log2_lr": w.FloatSlider(
            value=-5.0, min=-11.0, max=-3.0, step=0.5, description="log2 lr", **slider
        ),
    }
    return explorer(
        controls,
        lambda param, log2_width, log2_lr: gpt_training(
            param, log2_width, log2_lr, data=data, steps=steps
        ),
    )


__all__ = [
    "show",
    "explorer",
    "cancellation_explorer",
    "kernel_explorer",
    "contraction_explorer",
    "abc_explorer",
    "coord_explorer",
    "fewshot_explorer",
    "neighbours_explorer",
    "gpt_training",
    "gpt_explorer",
]

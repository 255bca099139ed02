"""Interactive explorers (ipywidgets 7.7 on Colab, 8.x locally), all built by one helper.

An explorer is a set of named controls and a *draw function* that takes the controls'
values as keyword arguments and returns what to show: a matplotlib figure, an HTML
string, or anything IPython can display. :func:`explorer` wires them together (an
output area that is redrawn whenever a control changes); every explorer of the book is
a few lines over it. While the book is built (``MUPBOOK_STATIC_EXPLORERS=1``) the same
helper draws the pictures ahead over a small grid of the controls' values and returns
HTML controls that page through them in the rendered page, with no kernel
(:mod:`mupbook.viz.static_explorer`); an explorer chooses that grid with ``frames=``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .. import runtime
from . import cancellation as cancellation_viz
from . import static_explorer
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
    *,
    frames: Mapping[str, Sequence[Any]] | None = None,
    max_frames: int = static_explorer.MAX_FRAMES,
):
    """Controls (``{keyword: widget}``) above an output area showing ``draw(**values)``.

    ``rows`` groups the controls into horizontal rows by name (default: one per row).
    The output is redrawn whenever a control's value changes. Returns the widget, with two
    attributes for tests and tools: ``controls`` (the mapping given) and ``drawn`` (what the
    last call of ``draw`` returned).

    While the book is built (:func:`mupbook.runtime.static_explorers`) it returns instead
    the pictures of a grid of values behind plain HTML controls
    (:func:`mupbook.viz.static_explorer.static_explorer`): ``frames`` (``{keyword:
    [values]}``) chooses a control's values there (default: every option, a few values
    per slider), ``max_frames`` caps the grid. Both are ignored by the live widget.
    """
    if not controls:
        raise ValueError("an explorer needs at least one control")
    rows = [[name] for name in controls] if rows is None else [list(r) for r in rows]
    placed = [name for row in rows for name in row]
    if sorted(placed) != sorted(controls):
        raise ValueError(
            f"rows must place every control exactly once; controls {sorted(controls)}, "
            f"placed {placed}"
        )
    if runtime.static_explorers():
        return static_explorer.static_explorer(
            controls, draw, rows, frames, max_frames
        )

    import ipywidgets as w

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
        # In the book: widths 64, 256 and 1024 (a wider one costs a second a picture),
        # the slider's four learning rates 0.01 .. 10, two seeds; 24 pictures.
        frames={"log2_width": [6, 8, 10], "seed": [0, 1]},
    )


# ------------------------------------------------------------------------------ chapter 2


def _width_slider(max_log2_width: int):
    """The log2-width slider (2^4 .. 2^max_log2_width, from 2^6) of the kernel and limit
    explorers; ``max_log2_width`` must lie in 6..14."""
    import ipywidgets as w

    if not 6 <= max_log2_width <= 14:
        raise ValueError(f"max_log2_width must be in 6..14, got {max_log2_width}")
    return w.IntSlider(
        value=6,
        min=4,
        max=max_log2_width,
        description="log2 width",
        continuous_update=False,
    )


def kernel_explorer(max_log2_width: int = 12):
    """Sliders for the width (2^4 .. 2^max), depth (1..4), activation, W_std and b_std;
    redraws :func:`mupbook.viz.kernels.plot_kernel_slice`. Watch the coloured curves close
    in on the black ones."""
    import ipywidgets as w

    from ..kernels import ACTIVATIONS
    from .kernels import plot_kernel_slice

    slider = dict(continuous_update=False)
    controls = {
        "log2_width": _width_slider(max_log2_width),
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
        # In the book: widths 64 and 1024 (the curves close in), depths 1 and 2, the two
        # nonlinear activations (a linear network's are affine in <x, x'>), two
        # weight and two bias scales; 32 pictures, about 0.8 s of CPU each.
        frames={
            "log2_width": [6, 10],
            "depth": [1, 2],
            "activation": ["relu", "erf"],
            "w_std": [1.0, 2.0],
            "b_std": [0.0, 1.0],
        },
    )


# ------------------------------------------------------------------------------ chapter 3


def contraction_explorer():
    """Pick the contracted dimension, the phase (W at init with an independent v, W an update
    built from v, or W at init with v built from W by backpropagation) and the entry
    exponent alpha."""
    import ipywidgets as w

    controls = {
        "contracted": w.ToggleButtons(
            options=["finite", "width"], value="width", description="sum over"
        ),
        "phase": w.ToggleButtons(
            options=["init", "update", "backprop"],
            value="update",
            description="phase",
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
    return explorer(
        controls,
        vector_matrix_viz.plot_contraction,
        frames={"alpha": [-0.5, 0.0, 0.5, 1.0, 1.5]},
    )


# ------------------------------------------------------------------------------ chapter 4


def abc_explorer(depth: int = 2):
    """Sliders for every ``a_l``, ``b_l`` and ``c`` (steps of 1/4); shows the verdict of
    :func:`mupbook.abc.classify` (stable? TP4 Theorem 3.3; trivial? kernel or feature
    learning? Theorems 3.6 and 3.8), ``r``, the maximally updated layers and every broken
    condition."""
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
        exps = lambda xs: ", ".join(str(x) for x in xs)  # noqa: E731
        return (
            f"<b style='color:{color}'>{v.regime}</b> &nbsp; r = {v.r}, "
            f"r_l = ({exps(v.r_layers)}); maximally updated hidden "
            f"layers: {list(v.maximal_layers) or 'none'}; readout updated maximally: "
            f"{v.readout_updated_maximally}, initialized maximally: "
            f"{v.readout_initialized_maximally}<br><small>a = ({exps(v.abc.a)}), "
            f"b = ({exps(v.abc.b)}), c = {v.abc.c}</small><ul>{items}</ul>"
        )

    # In the book: each exponent at muP's value and at NTP's or SP's (a_1 in {-1/2, 0},
    # the other a_l and every b_l in {0, 1/2}, the readout's b also at 2, "initialized at
    # zero"; c in {0, 1}), enough for muP, NTP, SP and the narrative's variations. The
    # pictures are a few hundred bytes of text each, so the grid may hold a few hundred.
    grid = {f"a{l + 1}": [0.0, 0.5] for l in range(n)}
    grid["a1"] = [-0.5, 0.0]
    grid |= {f"b{l + 1}": [0.0, 0.5] for l in range(n)}
    grid[f"b{n}"] = [0.0, 0.5, 2.0]
    grid["c"] = [0.0, 1.0]
    return explorer(
        controls,
        draw,
        rows=[
            [f"a{l + 1}" for l in range(n)],
            [f"b{l + 1}" for l in range(n)],
            ["c"],
        ],
        frames=grid,
        max_frames=3 * 2 ** (2 * n),
    )


# ------------------------------------------------- chapter "Computing the feature-learning limit"


def limit_explorer(
    task,
    limit,
    limit_outputs,
    ntk_outputs,
    training,
    max_log2_width: int = 12,
):
    """Sliders for the width (2^4 .. 2^max) and the seed: one ordinary muP network trained
    like the (already trained) ``limit``, beside the limit's outputs ``limit_outputs`` and
    the NTK predictor's ``ntk_outputs`` (test outputs (E, 1) each), with the density of its
    neurons' pre-activations against the limit's nodes
    (:func:`mupbook.viz.nonlinear_limit.plot_width_frame`)."""
    import ipywidgets as w

    from .nonlinear_limit import plot_width_frame

    slider = dict(continuous_update=False)
    controls = {
        "log2_width": _width_slider(max_log2_width),
        "seed": w.IntSlider(value=0, min=0, max=9, description="seed", **slider),
    }

    def draw(log2_width, seed):
        return plot_width_frame(
            task, limit, limit_outputs, ntk_outputs, training, 2**log2_width, seed
        )

    # the rendered book: every other width, three seeds (each picture trains one network)
    widths = list(range(4, max_log2_width + 1, 2))
    return explorer(
        controls,
        draw,
        rows=[["log2_width", "seed"]],
        frames={"log2_width": widths, "seed": [0, 1, 2]},
    )


# ------------------------------------------------------------------------------ chapter 6


#: Learning rates of the coordinate-check explorer before its multiplier: the book's.
COORD_LRS = {"sgd": 0.5, "adam": 0.01}


def coord_explorer(
    checks: Mapping[tuple[str, str], Any] | None = None,
    widths: tuple[int, ...] = (64, 128, 256, 512, 1024),
):
    """Coordinate checks by parametrization, optimizer, learning rate, step and what is
    shown (every layer's mean |coordinate| or its change since init, against width).

    ``checks``: runs already made, ``{(param, optimizer): CoordCheck}`` (a chapter's, at
    the learning rate each records). The learning-rate control multiplies each
    optimizer's rate (its run's in ``checks``, else :data:`COORD_LRS`) by 1/8 .. 8. A run
    not in ``checks`` is made when first shown (with the widths, steps and number of seeds
    of a given run, else ``widths``, 5 steps, one seed) and kept, so moving the step or
    what is shown never trains again. In the rendered book the pictures come from
    ``checks`` alone (multiplier 1), never from new runs: all four of SP/muP with SGD/Adam
    must be given there.
    """
    import ipywidgets as w

    from ..studies import coord_check
    from .coord_check import plot_coord_check

    checks = dict(checks or {})
    pairs = [(p, o) for p in ("sp", "mup") for o in coord_check.OPTIMIZERS]
    for key, check in checks.items():
        if key not in pairs:
            raise ValueError(
                f"checks are keyed (param, optimizer) in {pairs}, not {key}"
            )
        if check.lr is None:
            raise ValueError(f"the check {key} does not record its learning rate")
    missing = [key for key in pairs if key not in checks]
    if runtime.static_explorers() and missing:
        raise ValueError(
            "in the rendered book the coordinate-check explorer shows runs already made: "
            f"pass checks for {missing} too"
        )
    shape = next(iter(checks.values()), None)
    steps = shape.steps if shape is not None else 5
    scales = [2.0**k for k in range(-3, 4)]
    slider = dict(continuous_update=False)
    controls = {
        "param": w.ToggleButtons(
            options=["sp", "mup"], value="sp", description="param"
        ),
        "optimizer": w.ToggleButtons(
            options=list(coord_check.OPTIMIZERS), value="sgd", description="optimizer"
        ),
        "lr_scale": w.SelectionSlider(
            options=[(f"{x:g}" if x >= 1 else f"1/{1 / x:g}", x) for x in scales],
            value=1.0,
            description="lr x",
            **slider,
        ),
        "step": w.IntSlider(value=1, min=1, max=steps, description="step", **slider),
        "kind": w.ToggleButtons(
            options=["size", "delta"], value="size", description="show"
        ),
    }
    runs: dict[tuple[str, str, float], Any] = {
        (p, o, 1.0): check for (p, o), check in checks.items()
    }

    def run(param: str, optimizer: str, scale: float):
        key = (param, optimizer, scale)
        if key not in runs:
            base = checks.get((param, optimizer))
            lr = (base.lr if base is not None else COORD_LRS[optimizer]) * scale
            try:
                runs[key] = coord_check.mlp_coord_check(
                    param,
                    optimizer,
                    lr,
                    shape.widths if shape is not None else widths,
                    steps=steps,
                    seeds=range(shape.size.shape[0] if shape is not None else 1),
                    progress=False,
                )
            except FloatingPointError as err:
                runs[key] = err
        return runs[key]

    def draw(param, optimizer, lr_scale, step, kind):
        check = run(param, optimizer, lr_scale)
        if isinstance(check, FloatingPointError):
            return f"<b style='color:firebrick'>diverged at every width</b>: {check}"
        fig = plot_coord_check(check, kind, steps=[step])
        fig.suptitle(f"learning rate {check.lr:g}", fontsize=10)
        return fig

    return explorer(
        controls,
        draw,
        rows=[["param", "optimizer"], ["lr_scale", "step", "kind"]],
        # In the book: the given runs only (multiplier 1), every step, both kinds.
        frames={"lr_scale": [1.0], "step": list(range(1, steps + 1))},
    )


# ------------------------------------------------------------------------------ chapter 8


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
        fig = plot_tasks(tasks, 3, preds)
        fig.suptitle(
            f"test tasks {seed}, {steps} inner step{'s' if steps > 1 else ''}: "
            + (fig._suptitle.get_text() if fig._suptitle is not None else ""),
            fontsize=9,
        )
        fig.tight_layout()
        return fig

    # In the book: four batches of tasks, 1, 5 and 20 inner steps (the models trained
    # above, adapted on each task: no training); 12 pictures.
    return explorer(
        controls, draw, rows=[["seed", "steps"]], frames={"steps": [1, 5, 20]}
    )


# ------------------------------------------------------------------------------ chapter 9


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
        # In the book: every word offered; each picture is a small table of text.
        max_frames=max(len(words_to_offer), 1),
    )


# ------------------------------------------------------------------------ the pi-limit


def pi_explorer(frames):
    """Sliders for the rank r, the width n and the number of SGD steps over precomputed
    frames (:func:`mupbook.studies.pi_limit.explorer_frames`): finite against infinite
    outputs, and the gap against width (:func:`mupbook.viz.pi.plot_frame`)."""
    import ipywidgets as w

    from .pi import plot_frame

    slider = dict(continuous_update=False)
    controls = {
        "r": w.SelectionSlider(
            options=list(frames.rs),
            value=frames.rs[len(frames.rs) // 2],
            description="r",
            **slider,
        ),
        "width": w.SelectionSlider(
            options=list(frames.widths),
            value=frames.widths[len(frames.widths) // 2],
            description="width n",
            **slider,
        ),
        "steps": w.IntSlider(
            value=frames.steps, min=0, max=frames.steps, description="steps", **slider
        ),
    }
    return explorer(
        controls,
        lambda r, width, steps: plot_frame(frames, r, width, steps),
        rows=[list(controls)],
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
    sweep=None,
):
    """Train a GPT of width ``2**log2_width`` and one of the base width at the same base
    learning rate ``2**log2_lr`` (same initial seed, same minibatches of the chapter's
    quick configuration, ``steps`` steps) and plot both training curves
    (:func:`mupbook.viz.transformer.plot_gpt_setting`, beside ``sweep`` when given).
    ``data``: a :class:`mupbook.experiments.mutransfer_gpt.Data` (loaded when None).
    Tens of CPU seconds a picture: the explorer's live fallback."""
    from ..experiments import mutransfer_gpt as mg
    from .transformer import plot_gpt_setting

    cfg = mg.QUICK.replace(steps=steps, base_width=base_width)
    data = mg.load_data(cfg) if data is None else data
    width = 2**log2_width
    curves = {
        f"width {n}": (
            np.arange(steps),
            mg.training_curve(cfg, param, n, log2_lr, data),
        )
        for n in dict.fromkeys((base_width, width))
    }
    name = mg.PARAM_NAMES[param]
    return plot_gpt_setting(
        curves,
        f"{name}, Adam, lr 2^{log2_lr:g}: trained live ({steps} steps)",
        sweep,
        log2_lr,
    )


def gpt_picture(
    param: str,
    log2_width: int,
    log2_lr: float,
    *,
    recorded=None,
    data=None,
    steps: int = 40,
):
    """The GPT explorer's draw function. When the recorded sweep ``recorded`` (``{param:
    Sweep}``, :func:`mupbook.experiments.mutransfer_gpt.sweeps`) trained this width and
    learning rate: its seed-mean training curves of that width and of the base width
    (its narrowest), beside its validation loss against learning rate; no training.
    Otherwise both models train live (:func:`gpt_training`, ``steps`` steps on ``data``)."""
    sweep = None if recorded is None else recorded.get(param)
    width = 2**log2_width
    if sweep is not None:
        base = int(sweep.widths[0])
        found = {n: sweep.curve(n, log2_lr) for n in dict.fromkeys((base, width))}
        if all(c is not None for c in found.values()):
            from ..experiments import mutransfer_gpt as mg
            from .transformer import plot_gpt_setting

            curves = {f"width {n}": (sweep.curve_steps, c) for n, c in found.items()}
            seeds = len(sweep.seeds)
            return plot_gpt_setting(
                curves,
                f"{mg.PARAM_NAMES[param]}, Adam, lr 2^{log2_lr:g}: from the sweep "
                f"(mean of {seeds} seed{'s' * (seeds > 1)})",
                sweep,
                log2_lr,
            )
    return gpt_training(
        param, log2_width, log2_lr, data=data, steps=steps, sweep=sweep
    )


def gpt_explorer(recorded=None, data=None, steps: int = 40):
    """Pick the parametrization, the width (64 .. 512) and the base learning rate: a GPT
    of that width and one of the base width (64), side by side (:func:`gpt_picture`).
    Settings that the recorded sweep ``recorded`` (``{param: Sweep}``) trained are drawn
    from it, at once; others train live in Jupyter (tens of seconds), on ``data``
    (loaded once, when first needed). Under SP the wide model's curve parts from the
    narrow one and, at large learning rates, diverges first; under muP they stay
    together. In the rendered book the pictures are the recorded ones (widths, and every
    other learning rate of the recorded grid)."""
    import ipywidgets as w

    from ..experiments import mutransfer_gpt as mg

    cache = {"data": data}

    def draw(param, log2_width, log2_lr):
        if cache["data"] is None and (
            recorded is None
            or recorded.get(param) is None
            or recorded[param].curve(2**log2_width, log2_lr) is None
        ):
            cache["data"] = mg.load_data(mg.QUICK)
        return gpt_picture(
            param,
            log2_width,
            log2_lr,
            recorded=recorded,
            data=cache["data"],
            steps=steps,
        )

    slider = dict(continuous_update=False)
    controls = {
        "param": w.ToggleButtons(
            options=["sp", "mup"], value="sp", description="param"
        ),
        "log2_width": w.IntSlider(
            value=8, min=6, max=9, description="log2 width", **slider
        ),
        "log2_lr": w.FloatSlider(
            value=-7.0, min=-11.5, max=-3.0, step=0.5, description="log2 lr", **slider
        ),
    }
    frames = None
    if recorded:
        some = next(iter(recorded.values()))
        frames = {
            "param": [p for p in ("sp", "mup") if p in recorded],
            "log2_width": [
                int(round(math.log2(n))) for n in some.widths if 64 <= n <= 512
            ],
            "log2_lr": [float(x) for x in some.log2_lrs if float(x).is_integer()],
        }
    return explorer(controls, draw, frames=frames)


__all__ = [
    "show",
    "explorer",
    "cancellation_explorer",
    "kernel_explorer",
    "contraction_explorer",
    "abc_explorer",
    "limit_explorer",
    "coord_explorer",
    "fewshot_explorer",
    "neighbours_explorer",
    "gpt_training",
    "gpt_picture",
    "gpt_explorer",
    "pi_explorer",
]

"""Explorers in the rendered book: pictures drawn at build time behind plain HTML controls.

In Jupyter and on Colab, :func:`mupbook.viz.explorers.explorer` wires ipywidgets to a draw
function through a live kernel. A rendered page has no kernel, so when
``MUPBOOK_STATIC_EXPLORERS=1`` (:func:`mupbook.runtime.static_explorers`; the book's Sphinx
extension ``book/_ext/live_explorers.py`` sets it for the notebooks the build executes) the
same call draws the picture for every combination of a small grid of its controls' values
and returns HTML: one ``<input type="range">`` per slider, one ``<select>`` per set of
options, the first picture, and every picture in a JSON block. The page's script
(``book/_ext/static/mupbook-explorers.js``, served from the build) shows the picture of the
chosen values. Nothing is loaded from the network; no kernel and no widget manager run.

The grid (:func:`grid_axis`): every option of a dropdown, toggle or radio group; both
states of a checkbox; :data:`SLIDER_VALUES` values spread over a slider's range, on its
step; always the control's current value, so that the first picture is the one Jupyter
shows first. An explorer chooses its own values with ``frames={name: [values]}``; a
control given one value is shown fixed. The whole grid is capped (``max_frames``, default
:data:`MAX_FRAMES`) and so are the frames' bytes (:data:`MAX_BYTES`): larger grids are an
error that says which control to thin out, never a silently cut grid.

The markup, which the script relies on::

    <div class="mupbook-explorer" data-frames="N" data-seconds="S" data-cpu-seconds="C">
      <div class="mupbook-explorer-controls">
        <div class="mupbook-explorer-row">
          <label class="mupbook-explorer-control">NAME <input type="range" min="0"
            max="K-1" step="1" value="I" data-control="k"> <output>LABEL</output></label>
          <label class="mupbook-explorer-control">NAME <select data-control="k">
            <option value="0">LABEL</option>...</select></label>
          <span class="mupbook-explorer-fixed">NAME: LABEL</span>
        </div>
      </div>
      <div class="mupbook-explorer-frame" data-frame="F">first picture</div>
      <p class="mupbook-explorer-note">...</p>
      <script type="application/json" class="mupbook-explorer-data">
        {"controls": [{"name": ..., "labels": [...]}, ...], "index": [...], "frames": [...]}
      </script>
    </div>

``data-control="k"`` is the position of the control among the movable ones (those with
more than one value), in the order of ``controls``; the picture for value indices
``(i_0, ..., i_{m-1})`` is ``frames[index[flat]]`` with ``flat`` the row-major index
``(...(i_0 K_1 + i_1) K_2 + ...) + i_{m-1}``. Identical pictures are stored once.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

#: Values a slider gets by default: spread evenly over its range (ends included), on its
#: step, plus its current value.
SLIDER_VALUES = 4
#: Most frames of one explorer unless it says otherwise (``max_frames``): a few dozen
#: pictures keep a chapter page small and its build short.
MAX_FRAMES = 72
#: Most bytes of one explorer's distinct frames (PNG pictures are base64 in the page): a
#: chapter page must stay under 5 MB with its other figures (tools/check_book.py).
MAX_BYTES = 2_500_000
#: Colours of a frame's PNG palette: matplotlib's line art loses nothing visible and the
#: files shrink about three times.
PALETTE_COLORS = 256


@dataclass(frozen=True)
class Axis:
    """One control's values in the static grid: ``values`` (passed to the draw function),
    ``labels`` (shown), ``start`` (index of the control's current value) and ``kind``
    (``"range"`` for an ordered slider, ``"select"`` for options)."""

    name: str
    description: str
    values: tuple
    labels: tuple[str, ...]
    start: int
    kind: str

    @property
    def fixed(self) -> bool:
        """A control with one value is shown, not moved."""
        return len(self.values) == 1


def _class_names(widget: Any) -> set[str]:
    return {cls.__name__ for cls in type(widget).__mro__}


def _options(widget: Any) -> tuple[list[str], list[Any]]:
    """(labels, values) of a selection widget (ipywidgets 7 and 8)."""
    labels = getattr(widget, "_options_labels", None)
    values = getattr(widget, "_options_values", None)
    if labels is None or values is None:  # pragma: no cover - both versions have them
        raise TypeError(f"cannot read the options of {type(widget).__name__}")
    return [str(x) for x in labels], list(values)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _position(values: Sequence[Any], value: Any) -> int | None:
    return next((i for i, v in enumerate(values) if _same(v, value)), None)


def _snap(x: float, lo: float, step: float) -> float:
    return lo + round((x - lo) / step) * step if step else x


def grid_axis(name: str, widget: Any, values: Sequence[Any] | None = None) -> Axis:
    """The static grid of control ``name`` (an ipywidget): ``values`` if given (each checked
    against the widget's range or options), else the default described in the module's
    docstring; the widget's current value is always included."""
    kinds = _class_names(widget)
    description = str(getattr(widget, "description", "") or name)
    current = widget.value
    if "_Selection" in kinds or "_MultipleSelection" in kinds:
        if "_MultipleSelection" in kinds:
            raise TypeError(f"{name}: multiple selections have no static grid")
        option_labels, option_values = _options(widget)
        slider = "SelectionSlider" in kinds
        if values is None:
            if slider and len(option_values) > SLIDER_VALUES:
                picks = {
                    round(i * (len(option_values) - 1) / (SLIDER_VALUES - 1))
                    for i in range(SLIDER_VALUES)
                }
                values = [option_values[i] for i in sorted(picks)]
            else:
                values = option_values
        chosen = []
        for v in values:
            i = _position(option_values, v)
            if i is None:
                raise ValueError(
                    f"{name}: {v!r} is not one of its options {option_values}"
                )
            chosen.append(i)
        i_now = _position(option_values, current)
        if i_now is not None and i_now not in chosen:
            chosen.append(i_now)
        chosen = sorted(set(chosen))
        vals = tuple(option_values[i] for i in chosen)
        return Axis(
            name,
            description,
            vals,
            tuple(option_labels[i] for i in chosen),
            _position(vals, current) or 0,
            "range" if slider else "select",
        )
    if "_Bool" in kinds:
        vals = tuple(dict.fromkeys([*(values or (False, True)), bool(current)]))
        if any(not isinstance(v, bool) for v in vals):
            raise ValueError(f"{name}: a checkbox's values are True and False")
        vals = tuple(sorted(vals))
        return Axis(
            name,
            description,
            vals,
            tuple("on" if v else "off" for v in vals),
            vals.index(bool(current)),
            "select",
        )
    if "_BoundedLogFloat" in kinds:
        base = float(widget.base)
        lo, hi, step = float(widget.min), float(widget.max), float(widget.step)
        if values is None:
            exps = [
                _snap(lo + (hi - lo) * i / (SLIDER_VALUES - 1), lo, step)
                for i in range(SLIDER_VALUES)
            ]
            values = [base**e for e in exps]
        for v in values:
            if not (v > 0 and lo - 1e-9 <= math.log(v, base) <= hi + 1e-9):
                raise ValueError(
                    f"{name}: {v!r} is outside its range {base:g}^{lo:g} .. {base:g}^{hi:g}"
                )
        fmt = getattr(widget, "readout_format", ".3g") or ".3g"
        return _numeric_axis(name, description, values, current, fmt, float)
    if "_IntRange" in kinds or "_FloatRange" in kinds:
        raise TypeError(f"{name}: range sliders have no static grid")
    if "_BoundedInt" in kinds or "_BoundedFloat" in kinds:
        integer = "_BoundedInt" in kinds
        lo, hi = widget.min, widget.max
        step = getattr(widget, "step", 1) or 0
        if values is None:
            values = [
                _snap(lo + (hi - lo) * i / (SLIDER_VALUES - 1), lo, step)
                for i in range(SLIDER_VALUES)
            ]
            values = [min(max(v, lo), hi) for v in values]
        for v in values:
            if not lo - 1e-9 <= v <= hi + 1e-9:
                raise ValueError(f"{name}: {v!r} is outside its range {lo} .. {hi}")
        fmt = getattr(widget, "readout_format", "d" if integer else ".2f")
        cast = (lambda v: int(round(v))) if integer else float
        return _numeric_axis(name, description, values, current, fmt, cast)
    raise TypeError(
        f"{name}: no static grid for a {type(widget).__name__}; use a slider, a "
        "dropdown, toggle buttons, radio buttons or a checkbox"
    )


def _numeric_axis(
    name: str,
    description: str,
    values: Sequence[float],
    current: float,
    fmt: str,
    cast: Callable[[float], Any],
) -> Axis:
    vals: list[Any] = []
    for v in [*values, current]:
        v = cast(v)
        if _position(vals, v) is None:
            vals.append(v)
    vals.sort()
    try:
        labels = tuple(format(v, fmt) for v in vals)
    except (ValueError, TypeError):
        labels = tuple(f"{v:g}" for v in vals)
    return Axis(
        name,
        description,
        tuple(vals),
        labels,
        _position(vals, cast(current)),
        "range",
    )


# --------------------------------------------------------------------------- one frame


def figure_png(fig: Figure) -> bytes:
    """``fig`` as a PNG with a palette of :data:`PALETTE_COLORS` colours (at the figure's
    own dpi, as the notebook shows it); the figure is closed."""
    from PIL import Image

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=fig.dpi, facecolor="white")
    finally:
        plt.close(fig)
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=PALETTE_COLORS).save(out, format="png", optimize=True)
    return out.getvalue()


def frame_html(obj: Any, alt: str = "") -> str:
    """What a draw function returned, as an HTML fragment: a figure becomes an ``<img>``
    with its PNG inline (and is closed), a string is HTML already, an object with an HTML
    or Markdown representation (``IPython.display.HTML``, ``Markdown``,
    :func:`mupbook.viz.table`) gives that; None is an empty frame."""
    if obj is None:
        return ""
    if isinstance(obj, Figure):
        data = base64.b64encode(figure_png(obj)).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
    if isinstance(obj, str):
        return obj
    if hasattr(obj, "_repr_html_"):
        out = obj._repr_html_()
        if out is not None:
            return out
    if hasattr(obj, "_repr_markdown_"):
        from markdown_it import MarkdownIt

        text = obj._repr_markdown_()
        text = text[0] if isinstance(text, tuple) else text
        out = MarkdownIt("commonmark").enable("table").render(text)
        return out.replace("<table>", '<table class="table">')
    if hasattr(obj, "_repr_png_"):
        data = base64.b64encode(obj._repr_png_()).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
    raise TypeError(
        f"an explorer's draw function returned a {type(obj).__name__}; return a "
        "matplotlib figure, an HTML string or an object with an HTML or Markdown form"
    )


# ------------------------------------------------------------------------ the explorer


class StaticExplorer:
    """A pre-rendered explorer: displayed as its HTML (``data``; Jupyter and myst-nb call
    ``_repr_html_``), with what made it for tests and tools: ``controls`` (the widgets
    given), ``axes`` (their :class:`Axis` grids), ``frames`` (distinct HTML fragments),
    ``index`` (frame of each combination of the movable controls, row-major), ``drawn``
    (what the draw function returned for the current values), ``seconds`` and
    ``cpu_seconds`` (time spent drawing)."""

    def __init__(
        self,
        data: str,
        controls: Mapping[str, Any],
        axes: list[Axis],
        frames: list[str],
        index: list[int],
        drawn: Any,
        seconds: float,
        cpu_seconds: float,
    ) -> None:
        self.data = data
        self.controls = dict(controls)
        self.axes = axes
        self.frames = frames
        self.index = index
        self.drawn = drawn
        self.seconds = seconds
        self.cpu_seconds = cpu_seconds

    def _repr_html_(self) -> str:
        return self.data

    def __repr__(self) -> str:
        return (
            f"<StaticExplorer: {len(self.index)} pictures, {len(self.frames)} distinct, "
            f"{len(self.data) / 1e3:.0f} kB>"
        )

    def frame_for(self, **values: Any) -> str:
        """The frame shown for the given values of the movable controls (the others keep
        their only value)."""
        flat = 0
        for axis in self.axes:
            if axis.fixed:
                continue
            i = _position(axis.values, values.get(axis.name, axis.values[axis.start]))
            if i is None:
                raise KeyError(
                    f"{axis.name}={values[axis.name]!r} is not in the grid"
                )
            flat = flat * len(axis.values) + i
        return self.frames[self.index[flat]]


def _control_html(axis: Axis, k: int) -> str:
    name = html.escape(axis.description)
    if axis.fixed:
        return (
            f'<span class="mupbook-explorer-fixed">{name}: '
            f"{html.escape(axis.labels[0])}</span>"
        )
    if axis.kind == "range":
        label = html.escape(axis.labels[axis.start])
        widget = (
            f'<input type="range" min="0" max="{len(axis.values) - 1}" step="1" '
            f'value="{axis.start}" data-control="{k}" aria-valuetext="{label}"> '
            f"<output>{label}</output>"
        )
    else:
        options = "".join(
            f'<option value="{i}"{" selected" if i == axis.start else ""}>'
            f"{html.escape(lab)}</option>"
            for i, lab in enumerate(axis.labels)
        )
        widget = f'<select data-control="{k}">{options}</select>'
    return f'<label class="mupbook-explorer-control">{name} {widget}</label>'


def _json_for_script(data: Any) -> str:
    """JSON that can sit inside ``<script>``: no ``<`` (so no ``</script>``)."""
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


def static_explorer(
    controls: Mapping[str, Any],
    draw: Callable[..., Any],
    rows: Sequence[Sequence[str]],
    frames: Mapping[str, Sequence[Any]] | None = None,
    max_frames: int = MAX_FRAMES,
) -> StaticExplorer:
    """Draw ``draw(**values)`` over the grid of ``controls`` (``frames`` chooses values per
    control, see the module's docstring) and return the explorer's HTML
    (:class:`StaticExplorer`). ``rows`` places the controls as in the live explorer."""
    frames = dict(frames or {})
    unknown = sorted(set(frames) - set(controls))
    if unknown:
        raise ValueError(
            f"frames names {unknown}, which are not controls ({sorted(controls)})"
        )
    for name, values in frames.items():
        if isinstance(values, (str, bytes)) or not len(values):
            raise ValueError(f"frames[{name!r}] must be a non-empty list of values")
    axes = [grid_axis(name, w, frames.get(name)) for name, w in controls.items()]
    total = math.prod(len(a.values) for a in axes)
    if total > max_frames:
        sizes = " x ".join(f"{a.name} {len(a.values)}" for a in axes)
        raise ValueError(
            f"this explorer's static grid has {total} frames ({sizes}), more than "
            f"max_frames={max_frames}: pass frames={{name: [values]}} with fewer values "
            "for some controls (or a larger max_frames when its frames are cheap text)"
        )
    movable = [a for a in axes if not a.fixed]
    if not movable:
        raise ValueError("an explorer's static grid needs a control with two values")
    before = set(plt.get_fignums())
    start, cpu_start = time.perf_counter(), time.process_time()
    distinct: dict[str, int] = {}
    index: list[int] = []
    drawn = None
    starts = tuple(a.values[a.start] for a in movable)
    try:
        for combo in itertools.product(*(a.values for a in movable)):
            values = {a.name: a.values[0] for a in axes if a.fixed}
            values |= {a.name: v for a, v in zip(movable, combo)}
            alt = ", ".join(f"{a.description} {values[a.name]}" for a in axes)
            try:
                obj = draw(**values)
                fragment = frame_html(obj, alt)
            except Exception as err:
                raise RuntimeError(
                    f"drawing the explorer's frame for {values} failed: {err}"
                ) from err
            if combo == starts:
                drawn = obj
            index.append(distinct.setdefault(fragment, len(distinct)))
    finally:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    frame_list = list(distinct)
    size = sum(len(f) for f in frame_list)
    if size > MAX_BYTES:
        raise ValueError(
            f"this explorer's {len(frame_list)} distinct frames take {size / 1e6:.1f} MB, "
            f"more than {MAX_BYTES / 1e6:.1f} MB: pass frames= with fewer values"
        )
    flat = 0
    for a in movable:
        flat = flat * len(a.values) + a.start
    first = frame_list[index[flat]]
    position = {a.name: k for k, a in enumerate(movable)}
    row_html = "".join(
        '<div class="mupbook-explorer-row">'
        + "".join(
            _control_html(axes[list(controls).index(n)], position.get(n, -1))
            for n in row
        )
        + "</div>"
        for row in rows
    )
    fixed = [a for a in axes if a.fixed]
    note = (
        f"Pre-rendered when the book was built: {total} pictures over the values above"
        + (
            f" ({', '.join(html.escape(a.description) for a in fixed)} fixed)"
            if fixed
            else ""
        )
        + ". Run the chapter in Jupyter or on Colab to choose any value."
    )
    data = {
        "controls": [
            {"name": a.description, "labels": list(a.labels)} for a in movable
        ],
        "index": index,
        "frames": frame_list,
    }
    markup = (
        f'<div class="mupbook-explorer" data-frames="{total}" '
        f'data-seconds="{seconds:.1f}" data-cpu-seconds="{cpu:.1f}">'
        f'<div class="mupbook-explorer-controls">{row_html}</div>'
        f'<div class="mupbook-explorer-frame" data-frame="{index[flat]}">{first}</div>'
        f'<p class="mupbook-explorer-note">{note}</p>'
        '<script type="application/json" class="mupbook-explorer-data">'
        f"{_json_for_script(data)}</script></div>"
    )
    return StaticExplorer(
        markup, controls, axes, frame_list, index, drawn, seconds, cpu
    )


__all__ = [
    "SLIDER_VALUES",
    "MAX_FRAMES",
    "MAX_BYTES",
    "Axis",
    "grid_axis",
    "figure_png",
    "frame_html",
    "StaticExplorer",
    "static_explorer",
]

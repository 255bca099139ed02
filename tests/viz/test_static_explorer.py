"""mupbook.viz.static_explorer: while the book is built, every explorer becomes plain HTML
controls over pictures drawn ahead, each the draw function's output for its values."""

import json
import re

import matplotlib

matplotlib.use("Agg")

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pytest

from mupbook import runtime
from mupbook.studies.coord_check import CoordCheck
from mupbook.viz import explorers, static_explorer
from mupbook.viz.static_explorer import grid_axis


@pytest.fixture
def static(monkeypatch):
    monkeypatch.setenv("MUPBOOK_STATIC_EXPLORERS", "1")


def _data(markup: str) -> dict:
    block = re.search(
        r'<script type="application/json" class="mupbook-explorer-data">(.*?)</script>',
        markup,
        re.S,
    )
    return json.loads(block.group(1))


def test_the_switch_is_off_unless_set_and_refuses_other_values(monkeypatch):
    monkeypatch.delenv("MUPBOOK_STATIC_EXPLORERS", raising=False)
    assert runtime.static_explorers() is False
    monkeypatch.setenv("MUPBOOK_STATIC_EXPLORERS", "1")
    assert runtime.static_explorers() is True
    monkeypatch.setenv("MUPBOOK_STATIC_EXPLORERS", "yes")
    with pytest.raises(ValueError, match="MUPBOOK_STATIC_EXPLORERS"):
        runtime.static_explorers()


def test_default_grids_take_every_option_and_a_few_values_per_slider():
    drop = grid_axis(
        "act", w.Dropdown(options=["relu", "erf", "linear"], value="erf")
    )
    assert drop.values == ("relu", "erf", "linear") and drop.start == 1
    assert drop.kind == "select"
    pairs = grid_axis("f", w.ToggleButtons(options=[("half", 0.5), ("one", 1.0)]))
    assert pairs.values == (0.5, 1.0) and pairs.labels == ("half", "one")
    ints = grid_axis("n", w.IntSlider(value=7, min=6, max=12))
    assert (
        ints.values == (6, 7, 8, 10, 12) and ints.start == 1 and ints.kind == "range"
    )
    floats = grid_axis("x", w.FloatSlider(value=0.5, min=-0.5, max=1.5, step=0.25))
    assert floats.values == (-0.5, 0.25, 0.5, 0.75, 1.5)  # on the step, with 0.5
    logs = grid_axis(
        "lr", w.FloatLogSlider(value=1.0, base=10, min=-2, max=1, step=0.1)
    )
    assert np.allclose(logs.values, (0.01, 0.1, 1.0, 10.0)) and logs.start == 2
    assert logs.labels == ("0.01", "0.1", "1", "10")
    sel = grid_axis("r", w.SelectionSlider(options=list(range(10)), value=4))
    assert sel.values == (0, 3, 4, 6, 9) and sel.kind == "range"
    box = grid_axis("on", w.Checkbox(value=True, description="on"))
    assert box.values == (False, True) and box.start == 1


def test_chosen_values_are_checked_and_keep_the_current_value():
    axis = grid_axis("n", w.IntSlider(value=5, min=0, max=9), [0, 9])
    assert axis.values == (0, 5, 9) and axis.start == 1
    with pytest.raises(ValueError, match="outside its range"):
        grid_axis("n", w.IntSlider(value=5, min=0, max=9), [0, 10])
    with pytest.raises(ValueError, match="not one of its options"):
        grid_axis("a", w.Dropdown(options=["x", "y"]), ["z"])
    with pytest.raises(TypeError, match="no static grid"):
        grid_axis("t", w.Text(value="free text"))


def test_every_combination_shows_what_draw_returns_for_it(static):
    controls = {
        "a": w.IntSlider(value=1, min=0, max=3, description="a"),
        "b": w.Dropdown(options=["x", "y"], value="y", description="b"),
        "c": w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.5, description="c"),
    }
    out = explorers.explorer(
        controls,
        lambda a, b, c: f"<b>{a}{b}{c:g}</b>" if c < 1 else "<i>same</i>",
        rows=[["a", "b"], ["c"]],
    )
    assert isinstance(out, static_explorer.StaticExplorer)
    data = _data(out._repr_html_())
    sizes = [len(ctl["labels"]) for ctl in data["controls"]]
    assert sizes == [4, 2, 3] and len(data["index"]) == 24
    assert len(data["frames"]) == 4 * 2 * 2 + 1  # c = 1 draws one shared picture
    axes = out.axes
    for flat, (i, j, k) in enumerate(np.ndindex(*sizes)):
        a, b, c = axes[0].values[i], axes[1].values[j], axes[2].values[k]
        want = f"<b>{a}{b}{c:g}</b>" if c < 1 else "<i>same</i>"
        assert data["frames"][data["index"][flat]] == want
        assert out.frame_for(a=a, b=b, c=c) == want
    # The page opens on the controls' current values, as Jupyter does.
    assert 'data-control="0" aria-valuetext="1"' in out.data
    assert '<option value="1" selected>y</option>' in out.data
    assert "<b>1y0</b></div>" in out.data and out.drawn == "<b>1y0</b>"


def test_figures_become_inline_pngs_and_are_closed(static):
    def draw(k):
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.plot([0, 1], [0, k])
        plt.figure()  # a stray figure is closed too
        return fig

    before = plt.get_fignums()  # figures other tests left open are not ours
    out = explorers.explorer({"k": w.IntSlider(value=1, min=1, max=2)}, draw)
    assert plt.get_fignums() == before
    assert len(out.frames) == 2
    for frame in out.frames:
        assert frame.startswith('<img src="data:image/png;base64,')
    assert out.frames[0] != out.frames[1]


def test_markdown_tables_become_html_tables(static):
    from mupbook import viz

    out = explorers.explorer(
        {"w": w.Dropdown(options=["a", "b"])},
        lambda w: viz.table(["word", "neighbours"], [[w, "x, y"]]),
    )
    assert out.frames[0].startswith('<table class="table">')
    assert "<td>a</td>" in out.frames[0]


def test_a_control_with_one_value_is_shown_fixed(static):
    out = explorers.explorer(
        {
            "a": w.IntSlider(value=1, min=0, max=3, description="a"),
            "s": w.FloatSlider(value=1.0, min=0.5, max=2.0, description="scale"),
        },
        lambda a, s: f"{a} {s}",
        frames={"s": [1.0]},
    )
    assert '<span class="mupbook-explorer-fixed">scale: 1.00</span>' in out.data
    assert out.data.count("data-control=") == 1
    assert "(scale fixed)" in out.data
    with pytest.raises(ValueError, match="two values"):
        explorers.explorer(
            {"a": w.IntSlider(value=1)}, lambda a: str(a), frames={"a": [1]}
        )


def test_a_grid_too_large_or_misnamed_is_an_error_naming_its_controls(static):
    controls = {
        "a": w.IntSlider(value=0, min=0, max=9),
        "b": w.IntSlider(value=0, min=0, max=9),
        "c": w.Dropdown(options=list("pqrstu")),
    }
    with pytest.raises(
        ValueError, match=r"96 frames \(a 4 x b 4 x c 6\).*max_frames=72"
    ):
        explorers.explorer(controls, lambda a, b, c: "")
    assert explorers.explorer(controls, lambda a, b, c: "", max_frames=96).frames
    with pytest.raises(ValueError, match="not controls"):
        explorers.explorer(controls, lambda a, b, c: "", frames={"d": [1]})


def test_too_many_bytes_is_an_error(static, monkeypatch):
    monkeypatch.setattr(static_explorer, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match="distinct frames take"):
        explorers.explorer(
            {"a": w.IntSlider(value=0, min=0, max=3)}, lambda a: str(a) * 600
        )


def test_frames_cannot_close_the_script_that_holds_them(static):
    out = explorers.explorer(
        {"a": w.Dropdown(options=["x", "y"])},
        lambda a: f"</script><script>alert('{a}')</script>",
    )
    block = out.data.split('class="mupbook-explorer-data">', 1)[1]
    assert block.count("</script>") == 1 and block.endswith("</script></div>")
    assert _data(out.data)["frames"][1] == "</script><script>alert('y')</script>"


def test_a_failing_frame_names_its_values(static):
    def draw(a):
        if a == 3:
            raise FloatingPointError("blew up")
        return str(a)

    with pytest.raises(RuntimeError, match=r"frame for \{'a': 3\} failed: blew up"):
        explorers.explorer({"a": w.IntSlider(value=0, min=0, max=3)}, draw)


def test_live_mode_is_unchanged_by_frames(monkeypatch):
    monkeypatch.delenv("MUPBOOK_STATIC_EXPLORERS", raising=False)
    box = explorers.explorer(
        {"a": w.IntSlider(value=1, min=0, max=3)},
        lambda a: str(a),
        frames={"a": [1, 2]},
    )
    assert isinstance(box, w.VBox) and box.drawn == "1"


# -------------------------------------------------------------- the book's explorers


def test_abc_explorer_in_the_book_reaches_mup_ntp_sp_and_the_narratives_variations(
    static,
):
    out = explorers.abc_explorer(depth=2)
    assert len(out.index) == 192

    def verdict(**v):
        return out.frame_for(**v).split("</b>")[0]

    mup = dict(a1=-0.5, a2=0.0, a3=0.5, b1=0.5, b2=0.5, b3=0.5, c=0.0)
    ntp = dict(a1=0.0, a2=0.5, a3=0.5, b1=0.0, b2=0.0, b3=0.0, c=0.0)
    sp = dict(a1=0.0, a2=0.0, a3=0.0, b1=0.0, b2=0.5, b3=0.5, c=1.0)
    assert "feature learning" in verdict(**mup)
    assert "feature learning" not in verdict(**(mup | {"c": 1.0}))
    assert "kernel" in verdict(**ntp) and "kernel" in verdict(**sp)
    assert "kernel" in verdict(**(ntp | {"b3": 2.0}))


def _fake_check(label: str, lr: float, slope: float) -> CoordCheck:
    widths = np.array([64, 128, 256])
    size = np.ones((1, 3, 3, 2)) * (widths[None, :, None, None] ** slope)
    return CoordCheck(
        widths, ["x^1", "output"], size, size, np.zeros((1, 3), bool), label, lr
    )


def test_coord_explorer_in_the_book_draws_the_given_runs_and_trains_nothing(
    static, monkeypatch
):
    from mupbook.studies import coord_check

    def refuse(*args, **kwargs):
        raise AssertionError("the book's explorer must not run a coordinate check")

    monkeypatch.setattr(coord_check, "mlp_coord_check", refuse)
    checks = {
        (p, o): _fake_check(f"{p} {o}", lr, 1.0 if p == "sp" else 0.0)
        for p in ("sp", "mup")
        for o, lr in (("sgd", 0.5), ("adam", 0.01))
    }
    out = explorers.coord_explorer(checks)
    assert len(out.index) == 2 * 2 * 2 * 2  # param, optimizer, 2 steps, 2 kinds
    assert "lr x: 1" in out.data  # the multiplier is fixed in the book
    with pytest.raises(ValueError, match="runs already made"):
        explorers.coord_explorer({("sp", "sgd"): checks[("sp", "sgd")]})


def test_coord_explorer_live_reuses_runs_and_scales_the_learning_rate(monkeypatch):
    from mupbook.studies import coord_check

    monkeypatch.delenv("MUPBOOK_STATIC_EXPLORERS", raising=False)
    calls = []

    def fake(param, optimizer, lr, widths, *, steps, seeds, progress):
        calls.append((param, optimizer, lr, tuple(widths), steps, len(seeds)))
        return _fake_check(f"{param} {optimizer}", lr, 0.0)

    monkeypatch.setattr(coord_check, "mlp_coord_check", fake)
    checks = {("sp", "sgd"): _fake_check("sp sgd", 0.5, 1.0)}
    box = explorers.coord_explorer(checks)
    assert calls == []  # the given run is shown first
    box.controls["kind"].value = "delta"
    box.controls["step"].value = 2
    assert calls == []  # moving the step or the kind never trains
    box.controls["lr_scale"].value = 4.0
    assert calls == [("sp", "sgd", 2.0, (64, 128, 256), 2, 1)]
    box.controls["kind"].value = "size"
    box.controls["lr_scale"].value = 1.0
    box.controls["lr_scale"].value = 4.0
    assert len(calls) == 1  # kept
    assert "learning rate 2" in box.drawn._suptitle.get_text()

"""The book's reproduction page, rendered from ``results/`` (so that it cannot drift).

Every number of the seed paper (TP4, Yang & Hu 2021) that the book reproduces sits
beside ours, with the command that produced ours, the git revision and the hardware.
The numbers come from the ``reproduction`` rows of the ``results/*.json`` files that the
experiments' command lines write (:mod:`mupbook.results` defines their shape); nothing
here is typed in by hand except the paper's own values shown while a run is missing,
and the paper's Table 1, which :func:`parametrization_table` sets beside
:mod:`mupbook.abc` computed live.

    from mupbook import reproduction
    print(reproduction.section("maml", "results"))    # Markdown
    print(reproduction.parametrization_table())

A results file that is missing gives a plain "not yet run" paragraph with the command
that produces it; a malformed one raises :class:`ValueError` naming the file and what is
wrong, so the (strict) book build fails instead of showing a wrong table.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from numbers import Real
from pathlib import Path
from typing import Any

from . import abc, paper, results


@dataclass(frozen=True)
class Expected:
    """A results file (a glob in ``results/``) that an experiment's command writes."""

    pattern: str
    command: str
    #: The paper's numbers this file will reproduce ``(quantity, value with unit)``, shown
    #: while it is missing (once it exists, its own rows are shown instead).
    paper: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    expected: tuple[Expected, ...]
    note: str = ""
    #: Further results files of this experiment (e.g. another configuration), shown after
    #: the expected ones when they exist.
    others: str = ""
    #: The paper whose numbers the "paper" column holds.
    paper_label: str = "TP4"


_O, _W = paper.OMNIGLOT_1SHOT, paper.WORD2VEC_TEXT8
_OMNIGLOT = (
    ("linear, muP limit", paper.percent(_O["limit"])),
    *((f"linear, width {w}", paper.percent(_O[f"finite-{w}"])) for w in (2, 8, 32)),
    (
        "linear, widths 128 to 8192",
        f"{min(_O[f'finite-{w}'] for w in (128, 512, 2048, 8192)):g} to "
        f"{paper.percent(max(_O[f'finite-{w}'] for w in (128, 512, 2048, 8192)))}",
    ),
    ("ReLU, NNGP", paper.percent(_O["relu-nngp"])),
    ("ReLU, NTK", paper.percent(_O["relu-ntk"])),
    ("linear, NNGP and NTK", f"about {paper.percent(_O['linear-nngp'])}"),
)
_TEXT8 = (
    *((f"width {w}", paper.percent(_W[w])) for w in ("64", "256", "1024")),
    ("muP limit", paper.percent(_W["limit"])),
    ("NNGP and NTK", f"{paper.percent(_W['ntk'])} (the embeddings never move)"),
)
_FIL9 = (
    ", ".join(f"{paper.WORD2VEC_FIL9[k]:g}" for k in ("64", "256", "1024"))
    + f" and {paper.WORD2VEC_FIL9['limit']:g}"
)

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "maml",
            "Omniglot, 5-way 1-shot, first-order MAML: meta-test accuracy",
            (
                Expected(
                    "maml_*.json",
                    "\n".join(
                        [
                            "python -m mupbook.experiments.maml --model limit --scale full",
                            "python -m mupbook.experiments.maml --model finite --width 2 8 32 128 512 2048 8192 --scale full",
                        ]
                        + [
                            f"python -m mupbook.experiments.maml --model {k} --scale full "
                            f"--steps 2000 {flags}--inner-lr 0.025 --meta-lr 0.003 "
                            "--val-inner-steps 20"
                            for k, flags in (
                                ("relu-nngp", "--sigma-b 8 "),
                                ("relu-ntk", "--sigma-b 8 --sigma-v 0.125 "),
                            )
                        ]
                        + [
                            f"python -m mupbook.experiments.maml --model {k} --scale full"
                            for k in ("linear-nngp", "linear-ntk")
                        ]
                    ),
                    _OMNIGLOT,
                ),
            ),
            note="Every accuracy counts the answers on its run's test tasks, 5 classes each, "
            "with `q_eval` query drawings per class: 15 unless the command says `--q-eval`. "
            "The ReLU NNGP and NTK limits' hyperparameters (sigma_b, sigma_v, both learning "
            "rates) were chosen on the validation split, never on test, by "
            "`mupbook.experiments.maml.kernel_search`: `python -m mupbook.experiments.maml "
            "--model relu-ntk --scale full --val-inner-steps 20 --val-every 50 "
            "--search-steps 400 --search-top 3 --grid-sigma-b 0 0.5 1 2 4 8 16 32 "
            "--grid-sigma-v 0.125 0.25 0.5 1 2 4 --grid-inner-lr 0.025 0.05 0.1 0.2 0.4 0.8 "
            "1.6 3.2 6.4 --grid-meta-lr 0.003 0.01 0.03 0.1 --search-only` (and "
            "`--model relu-nngp` without `--grid-sigma-v`, with `--search-top 5`). The searches "
            "recorded in `results/maml_relu-nngp_search.json` and "
            "`results/maml_relu-ntk_search.json` are these commands with `--search-steps 100` "
            "(the whole grid at f = 0, screening runs a quarter as long); chapter 8 shows the "
            "grid, the settings chosen, and that meta-training then moves these limits by less "
            "than a point.",
        ),
        Experiment(
            "word2vec",
            "Word2Vec (CBOW, negative sampling): word-analogy accuracy",
            (
                Expected(
                    "word2vec_text8.json",
                    "python -m mupbook.experiments.word2vec --config text8 --storage bfloat16",
                    _TEXT8,
                ),
                Expected(
                    "word2vec_offline.json",
                    "python -m mupbook.experiments.word2vec --config offline",
                ),
            ),
            others="word2vec_*.json",
            note=f"TP4 also reports fil9 (5 epochs: {_FIL9} for widths 64, 256, 1024 and the muP "
            "limit); the book does not train on fil9.",
        ),
        Experiment(
            "mutransfer_gpt",
            "muTransfer of a GPT on text: the best Adam learning rate across widths",
            (
                Expected(
                    "mutransfer_gpt.json",
                    "python -m mupbook.experiments.mutransfer_gpt --config cpu --threads 1 "
                    "--out results/mutransfer_gpt.json",
                    tuple(
                        (f"{k}", v) for k, v in paper.TP5_TRANSFORMER_CLAIMS.items()
                    ),
                ),
            ),
            others="mutransfer_gpt_*.json",
            note="TP5's Figure 1 gives curves, not numbers: its claims (no values) sit "
            "in the notes, beside our measured shifts (log2 units) and losses. The full "
            "configuration (`--config full`, widths 128 to 4096) needs a GPU.",
            paper_label="TP5",
        ),
        Experiment(
            "pi_maml",
            "The pi-limit: Omniglot 5-way 1-shot MAML with 2-hidden-layer networks "
            "(the pi-limit paper's Table 1)",
            (
                Expected(
                    "pi_maml_*.json",
                    "\n".join(
                        [
                            "python -m mupbook.experiments.pi_maml --model pi-limit --scale full",
                            "python -m mupbook.experiments.pi_maml --model pi-finite --width 2048 --scale full",
                            "python -m mupbook.experiments.pi_maml --model mup-finite --width 2048 --scale full",
                            "python -m mupbook.experiments.pi_maml --model relu-nngp --scale full",
                            "python -m mupbook.experiments.pi_maml --model relu-ntk --scale full",
                        ]
                    ),
                    tuple(
                        (k, paper.percent(v))
                        for k, v in paper.PI_LIMIT_OMNIGLOT_MAML.items()
                    ),
                ),
            ),
            paper_label="pi-limit paper, Table 1",
            note="The paper column of these rows is the pi-limit paper's Table 1 "
            "(Yang, Santacroce & Hu, ICLR 2022), not TP4. Its CIFAR-10 row ("
            + ", ".join(f"{k} {v:g}" for k, v in paper.PI_LIMIT_CIFAR10.items())
            + ") is not reproduced: CIFAR-10 is not in the offline data.",
        ),
        Experiment(
            "pi_supervised",
            "The pi-limit: Omniglot characters from a few drawings each (supervised)",
            (
                Expected(
                    "pi_supervised*.json",
                    "python -m mupbook.experiments.pi_supervised --scale full",
                ),
            ),
            note="A new experiment of this book: no paper reports it, so the rows have no "
            "paper numbers beside them.",
        ),
        Experiment(
            "mutransfer",
            "muTransfer on Omniglot: the best learning rate across widths",
            (
                Expected(
                    "mutransfer.json",
                    "python -m mupbook.experiments.mutransfer --scale full --out results/mutransfer.json",
                ),
            ),
            note="TP4 reports no muTransfer numbers (muTransfer is the subject of Tensor Programs V): "
            "this run has no paper numbers to sit beside, only its own.",
        ),
    )
}


# --------------------------------------------------------------------- formatting


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(map(_cell, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(_cell, r)) + " |" for r in rows]
    return "\n".join(lines)


def _number(value: Any, what: str, where: str) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(float(value))
    ):
        raise ValueError(
            f"{where}: {what} must be a finite number or null, got {value!r}"
        )
    return float(value)


def _fmt(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.3e}"


def reproduction_rows(
    doc: Mapping[str, Any], where: str = "results"
) -> list[list[str]]:
    """The rows of a results document as table cells: quantity, paper, ours, ours - paper, note."""
    out = []
    for i, r in enumerate(doc["reproduction"]):
        at = f"{where}: reproduction row {i} ({r.get('quantity')!r})"
        paper = _number(r["paper"], "'paper'", at)
        ours = _number(r["ours"], "'ours'", at)
        ci = _number(r.get("ci95"), "'ci95'", at)
        unit = f" {r['unit']}" if r["unit"] else ""
        ours_s = (
            "not measured"
            if ours is None
            else _fmt(ours) + (f" ± {_fmt(ci)}" if ci is not None else "") + unit
        )
        paper_s = "not in the paper" if paper is None else _fmt(paper) + unit
        diff = "" if paper is None or ours is None else f"{ours - paper:+.3g}"
        out.append([r["quantity"], paper_s, ours_s, diff, r["note"]])
    return out


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def provenance_markdown(doc: Mapping[str, Any]) -> str:
    """The command (a code block), git revision, hardware, seeds, date and run time of a run."""
    prov = doc["provenance"]
    cmd = prov["command"]
    cmd = shlex.join(map(str, cmd)) if isinstance(cmd, (list, tuple)) else str(cmd)
    rev = prov.get("git_revision")
    rev_s = "unknown" if not rev else f"`{str(rev)[:12]}`"
    if prov.get("git_dirty"):
        rev_s += " with uncommitted changes"
    hw = prov.get("hardware") or {}
    if isinstance(hw, Mapping):
        name = hw.get("device_name") or "unknown device"
        hw_s = f"{name} ({hw.get('device', '?')})"
        extra = [f"{k} {hw[k]}" for k in ("torch", "python") if hw.get(k)]
        if hw.get("cpu_count"):
            extra.append(f"{hw['cpu_count']} CPUs")
        if extra:
            hw_s += ", " + ", ".join(extra)
    else:
        hw_s = str(hw)
    seeds = prov.get("seeds")
    lines = [
        f"```bash\n{cmd}\n```",
        "",
        f"- git revision: {rev_s}",
        f"- hardware: {hw_s}",
        f"- date (UTC): {prov.get('date_utc') or 'unknown'}; run time: {_duration(prov.get('seconds'))}",
    ]
    if seeds:
        lines.append(f"- seeds: {', '.join(map(str, seeds))}")
    return "\n".join(lines)


def file_markdown(
    path: str | Path, label: str | None = None, paper_label: str = "TP4"
) -> str:
    """One results file: its rows beside the paper's (``paper_label``), then how it was
    produced."""
    path = Path(path)
    doc = results.load(path)  # ValueError naming the file if it is malformed
    rows = reproduction_rows(doc, str(path))
    parts = [f"**`{label or path.name}`** (experiment `{doc['experiment']}`)", ""]
    if rows:
        parts.append(
            _markdown_table(
                [
                    "quantity",
                    f"paper ({paper_label})",
                    "ours",
                    "ours − paper",
                    "note",
                ],
                rows,
            )
        )
    else:
        parts.append(
            "This run reproduces no number of the paper (the paper reports none for it)."
        )
    parts += ["", "Produced by", "", provenance_markdown(doc)]
    return "\n".join(parts)


def not_yet_run(expected: Expected, paper_label: str = "TP4") -> str:
    """What the page says for a results file that does not exist yet."""
    parts = [
        f"**`results/{expected.pattern}`: not yet run.** Produce it with",
        "",
        f"```bash\n{expected.command}\n```",
    ]
    if expected.paper:
        parts += [
            "",
            "and it will appear here beside the paper's numbers:",
            "",
            _markdown_table(
                ["quantity", f"paper ({paper_label})"],
                [list(p) for p in expected.paper],
            ),
        ]
    return "\n".join(parts)


def section(name: str, folder: str | Path = "results") -> str:
    """Markdown for experiment ``name`` (a key of :data:`EXPERIMENTS`): every results file
    it writes that exists in ``folder``, a "not yet run" paragraph for each that does not."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known: {sorted(EXPERIMENTS)}")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no results folder at {folder.resolve()}")
    exp = EXPERIMENTS[name]
    parts = []
    shown: set[Path] = set()
    for expected in exp.expected:
        paths = sorted(folder.glob(expected.pattern))
        shown.update(paths)
        parts += [
            file_markdown(p, f"results/{p.name}", exp.paper_label) for p in paths
        ] or [not_yet_run(expected, exp.paper_label)]
    if exp.others:
        parts += [
            file_markdown(p, f"results/{p.name}", exp.paper_label)
            for p in sorted(folder.glob(exp.others))
            if p not in shown
        ]
    if exp.note:
        parts.append(exp.note)
    return "\n\n".join(parts)


def unclaimed_files(folder: str | Path = "results") -> list[Path]:
    """Results files that no experiment of :data:`EXPERIMENTS` claims (the page would miss them)."""
    folder = Path(folder)
    patterns = [x.pattern for e in EXPERIMENTS.values() for x in e.expected]
    patterns += [e.others for e in EXPERIMENTS.values() if e.others]
    claimed = {p for pattern in patterns for p in folder.glob(pattern)}
    return [p for p in sorted(folder.glob("*.json")) if p not in claimed]


# ------------------------------------------------------- TP4 Table 1, paper vs ours


def _ab(values: Sequence[Fraction]) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")"


#: TP4 Table 1 as the paper states it, for L >= 2 hidden layers: a_l and b_l per layer
#: (l = 1..L+1), c, r and the regime. MFP is defined for L = 1 only. (At L = 1 SP's r is
#: 3/2, not 1/2: the minimum over hidden layers then sees only the input layer.)
PAPER_TABLE1: dict[str, dict[str, Any]] = {
    "sp": {
        "label": "SP (lr ∝ 1/n)",
        "a": lambda L: [0] * (L + 1),
        "b": lambda L: [0] + ["1/2"] * L,
        "c": 1,
        "r": "1/2",
        "regime": "kernel",
    },
    "ntp": {
        "label": "NTP",
        "a": lambda L: [0] + ["1/2"] * L,
        "b": lambda L: [0] * (L + 1),
        "c": 0,
        "r": "1/2",
        "regime": "kernel",
    },
    "mfp": {
        "label": "MFP (L = 1)",
        "a": lambda L: [0, 1],
        "b": lambda L: [0, 0],
        "c": -1,
        "r": 0,
        "regime": "feature learning",
    },
    "mup": {
        "label": "muP",
        "a": lambda L: ["-1/2"] + [0] * (L - 1) + ["1/2"],
        "b": lambda L: ["1/2"] * (L + 1),
        "c": 0,
        "r": 0,
        "regime": "feature learning",
    },
    "sp_c0": {
        "label": "SP with lr ∝ 1 (c = 0)",
        "a": lambda L: [0] * (L + 1),
        "b": lambda L: [0] + ["1/2"] * L,
        "c": 0,
        "r": None,
        "regime": "unstable",
    },
}


@dataclass(frozen=True)
class Table1Row:
    name: str
    depth: int
    paper: abc.ABC
    ours: abc.ABC
    paper_r: Fraction | None
    ours_r: Fraction
    paper_regime: str
    ours_regime: str

    @property
    def agrees(self) -> bool:
        same_abc = (self.paper.a, self.paper.b, self.paper.c) == (
            self.ours.a,
            self.ours.b,
            self.ours.c,
        )
        same_r = self.paper_r is None or self.paper_r == self.ours_r
        return same_abc and same_r and self.paper_regime == self.ours_regime


def table1_rows(depths: Sequence[int] = (3,)) -> list[Table1Row]:
    """Every parametrization of TP4 Table 1 at each depth L >= 2 (MFP at L = 1): the paper's
    entries, and ours (:func:`mupbook.abc.preset`, r and regime from :func:`mupbook.abc.classify`)."""
    if any(L < 2 for L in depths):
        raise ValueError(
            f"TP4 Table 1 states r for L >= 2 hidden layers; got depths {tuple(depths)}"
        )
    out = []
    for name, p in PAPER_TABLE1.items():
        for L in (1,) if name == "mfp" else depths:
            paper = abc.ABC(tuple(p["a"](L)), tuple(p["b"](L)), p["c"], p["label"])
            ours = abc.preset(name, L)
            verdict = abc.classify(ours)
            out.append(
                Table1Row(
                    p["label"],
                    L,
                    paper,
                    ours,
                    None if p["r"] is None else Fraction(p["r"]),
                    verdict.r,
                    p["regime"],
                    verdict.regime,
                )
            )
    return out


def parametrization_table(depths: Sequence[int] = (3,)) -> str:
    """TP4 Table 1 beside :mod:`mupbook.abc`, as a Markdown table (one row per preset and depth).

    a, b and c are ours (from the presets); where the paper's differ, they follow in brackets.
    """
    rows = []
    for r in table1_rows(depths):
        cells = []
        for ours, theirs in ((r.ours.a, r.paper.a), (r.ours.b, r.paper.b)):
            cells.append(
                _ab(ours) if ours == theirs else f"{_ab(ours)} (paper: {_ab(theirs)})"
            )
        cells.append(
            str(r.ours.c)
            if r.ours.c == r.paper.c
            else f"{r.ours.c} (paper: {r.paper.c})"
        )
        paper_r = "—" if r.paper_r is None else str(r.paper_r)
        rows.append(
            [
                r.name,
                r.depth,
                *cells,
                paper_r,
                str(r.ours_r),
                r.paper_regime,
                r.ours_regime,
                "yes" if r.agrees else "**no**",
            ]
        )
    return _markdown_table(
        [
            "parametrization",
            "L",
            "a (layers 1 to L+1)",
            "b",
            "c",
            "r (paper)",
            "r (ours)",
            "regime (paper)",
            "regime (ours)",
            "agree",
        ],
        rows,
    )

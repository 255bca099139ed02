"""Figures of vector-like and matrix-like contractions (chapter 3)."""

from __future__ import annotations

from ..studies import vector_matrix
from . import figure, loglog_sweep


def plot_contraction(
    contracted: str = "width",
    phase: str = "update",
    alpha: float = 0.5,
    widths: tuple[int, ...] = tuple(2**k for k in range(6, 13)),
):
    """rms of ``W v`` against width for entries of size ``n^-alpha``, with the theory slope."""
    sizes = vector_matrix.contraction_sizes(list(widths), contracted, phase, alpha)  # type: ignore[arg-type]
    fig, axes = figure()
    slope = vector_matrix.theory_slope(contracted, phase, alpha)  # type: ignore[arg-type]
    loglog_sweep(
        axes[0, 0],
        widths,
        {"W v": sizes},
        theory={"W v": slope},
        ylabel="rms coordinate of W v",
    )
    need = vector_matrix.NEEDED_ALPHA[(contracted, phase)]  # type: ignore[index]
    axes[0, 0].set_title(
        f"contracting a {contracted} dim, {phase}: alpha = {alpha:g}\n"
        f"theory slope {slope:+.2f} (flat needs alpha = {need:g})",
        fontsize=10,
    )
    return fig

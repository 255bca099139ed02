"""Exercises of chapter 9: Word2Vec at infinite width."""

from __future__ import annotations

import math

from . import Exercise, function, numeric, register


def _keep_probability(count: float, total: float, sample: float) -> float:
    t = sample * total
    return min(1.0, (math.sqrt(count / t) + 1) * t / count)


register(
    Exercise(
        id="ch09-limit-width",
        kind="derive",
        question="A 1-hidden-layer linear network with d inputs and d_o outputs has a muP limit of width "
        "at most d + d_o. Word2Vec has d = d_o = V (one-hot words in, V scores out), and its output "
        "embeddings start at 0. Of which width is its muP limit for a vocabulary of V = 1000 words?",
        checker=numeric(
            1000.0,
            abs_tol=0.5,
            hints={
                2000.0: "that is the bound d + d_o, for a readout that starts with directions "
                "of its own; which directions does a readout that starts at 0 bring?",
                64.0: "that is a finite width; the limit needs every direction the inputs span",
            },
            explain="V = 1000, below the bound d + d_o = 2000 because the readout starts at 0: "
            "E = A Ehat and U = B Ehat with V x V coefficients",
        ),
        reference=lambda: 1000.0,
        wrong=(lambda: 2000.0, lambda: 64.0),
    )
)

register(
    Exercise(
        id="ch09-limit-memory",
        question="How many GB (10^9 bytes) do the muP limit's two V x V tables take for text8's V = 71,291 "
        "words in float32?",
        checker=numeric(
            2 * 71_291**2 * 4 / 1e9,
            rel_tol=0.01,
            hints={
                71_291**2
                * 4
                / 1e9: "that is one table; the limit stores input and output embeddings",
                2
                * 71_291**2
                * 4
                / 2**30: "that is GiB (2^30 bytes); the question asks for GB",
                2
                * 71_291**2
                * 2
                / 1e9: "that is bfloat16 (2 bytes a number); the question asks for float32",
            },
            explain="2 V^2 x 4 bytes = 40.7 GB: one large GPU, or half of it in bfloat16",
        ),
        reference=lambda: 2 * 71_291**2 * 4 / 1e9,
        wrong=(
            lambda: 71_291**2 * 4 / 1e9,
            lambda: 2 * 71_291**2 * 4 / 2**30,
            lambda: 2 * 71_291**2 * 2 / 1e9,
        ),
    )
)

register(
    Exercise(
        id="ch09-ntk-accuracy",
        kind="derive",
        question="In the NTK limit the input embeddings stay at their initialization, orthonormal one-hot "
        "rows. What analogy accuracy (in %) do they give?",
        checker=numeric(
            0.0,
            abs_tol=1e-9,
            hints={
                100.0: "b - a + c has cosine 0 with every word other than a, b, c, which are excluded",
            },
            explain="0: every candidate word has cosine exactly 0 with b - a + c, the embeddings carry no "
            "information, so nothing was learned where the analogy is read",
        ),
        reference=lambda: 0.0,
        wrong=(lambda: 100.0, lambda: 50.0),
    )
)

register(
    Exercise(
        id="ch09-keep-probability",
        question="Write keep(count, total, sample): word2vec's probability of keeping a token of a word "
        "seen `count` times among `total` tokens, with subsampling threshold `sample`.",
        checker=function(
            _keep_probability,
            lambda: [
                (1000.0, 1e6, 1e-4),
                (10.0, 1e6, 1e-4),
                (5e4, 2e6, 1e-3),
                (3.0, 17e6, 1e-4),
            ],
            rtol=1e-9,
            explain="min(1, (sqrt(f/t) + 1) t/f) with t = sample x total: frequent words are "
            "dropped, rare ones always kept",
        ),
        reference=lambda: _keep_probability,
        wrong=(
            lambda: lambda c, n, s: math.sqrt(s * n / c),
            lambda: lambda c, n, s: 1.0,
        ),
    )
)

register(
    Exercise(
        id="ch09-recipe-limit-width",
        kind="derive",
        question="word2vec's own recipe starts the output embeddings U uniform on "
        "[-0.5/n, 0.5/n], not at 0. Of which width is the muP limit of that recipe for "
        "a vocabulary of V = 1000 words?",
        checker=numeric(
            1000.0,
            abs_tol=0.5,
            hints={
                2000.0: "the bound d + d_o counts the directions a readout starts with; "
                "how large is a row of U at the start, |U_j|, as n grows, and what is left "
                "of it in the limit?",
                float(
                    "inf"
                ): "nothing here needs infinitely many directions: every update "
                "is a combination of rows that are already there",
                0.0: "the input embeddings still start as V directions of their own",
            },
            explain="V = 1000: a row of U starts with norm of order n^(-1/2), its scores "
            "U_j . h are O(1/n), and what it adds to the input embeddings' updates "
            "vanishes too; the limit is the same width-V network as for U = 0",
        ),
        reference=lambda: 1000.0,
        wrong=(lambda: 2000.0, lambda: float("inf")),
    )
)

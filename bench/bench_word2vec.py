"""Is our Word2Vec real? gensim's CBOW against ours with word2vec's recipe, side by side.

Same corpus (the offline corpus, cut into gensim's 10,000-token sentences), vocabulary
(min-count 5), width, window, negatives, subsampling, epochs, learning rate (word2vec's CBOW
default 0.05, decayed linearly to 1e-4 of it), one thread each. Prints words/s (raw corpus tokens x epochs /
training seconds) and analogy accuracy of both, measured by the same evaluation
(mupbook.experiments.word2vec.analogy_accuracy: top-1 cosine, query words excluded, the
30,000 most frequent words). gensim's own evaluate_word_analogies is printed too.

    MUPBOOK_DATA=/path/to/data python bench/bench_word2vec.py [--epochs 15] [--width 64]

Needs gensim (in requirements.txt, not a dependency of the library).
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import torch

from mupbook.data import text
from mupbook.experiments import word2vec as w2v


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--negatives", type=int, default=25)
    p.add_argument("--sample", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-gensim", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    lr = w2v.RECIPES["word2vec"].lr
    tokens = text.read_tokens("offline")
    corpus = text.encode(tokens, text.build_vocab(tokens, min_count=5), "offline")
    qs = text.analogies(corpus.vocab)
    print(
        f"offline corpus: {len(tokens):,} tokens, V = {len(corpus.vocab):,}, {len(qs.questions):,} of "
        f"{qs.total:,} analogy questions in vocabulary; width {a.width}, window {a.window}, "
        f"{a.negatives} negatives, sample {a.sample}, {a.epochs} epochs, lr {lr}, "
        f"threads: torch {a.threads}, gensim workers {a.threads}"
    )
    rows = []
    if not a.skip_gensim:
        import gensim
        from gensim.models import Word2Vec

        logging.getLogger("gensim").setLevel(logging.WARNING)
        sents = text.sentences(tokens)
        g = Word2Vec(
            vector_size=a.width,
            window=a.window,
            negative=a.negatives,
            hs=0,
            sg=0,
            cbow_mean=1,
            sample=a.sample,
            min_count=5,
            alpha=lr,
            min_alpha=lr * w2v.MIN_LR_RATIO,
            workers=a.threads,
            seed=a.seed,
        )
        g.build_vocab(sents)
        assert len(g.wv) == len(corpus.vocab), (len(g.wv), len(corpus.vocab))
        start = time.perf_counter()
        g.train(sents, total_examples=len(sents), epochs=a.epochs)
        secs = time.perf_counter() - start
        emb = torch.from_numpy(np.stack([g.wv[wd] for wd in corpus.vocab.words]))
        acc = w2v.analogy_accuracy(emb, qs)
        own = g.wv.evaluate_word_analogies(
            text.analogy_path(),
            restrict_vocab=text.ANALOGY_RESTRICT,
            case_insensitive=True,
        )[0]
        rows.append(
            (
                f"gensim {gensim.__version__}",
                len(tokens) * a.epochs / secs,
                secs,
                acc.accuracy,
                f"gensim's own evaluation: {100 * own:.2f}%",
            )
        )
    rec = w2v.RECIPES["word2vec"]
    model = w2v.CBOW.finite(len(corpus.vocab), a.width, init=rec.init, seed=a.seed)
    stats = w2v.train(
        model,
        corpus,
        epochs=a.epochs,
        lr=rec.lr,
        weight_decay=rec.weight_decay,
        divide_input=rec.divide_input,
        window=a.window,
        negatives=a.negatives,
        sample=a.sample,
        batch_size=a.batch_size,
        seed=a.seed,
        progress=False,
    )
    acc = w2v.analogy_accuracy(model.embeddings(), qs)
    rows.append(
        (
            f"mupbook (batch {a.batch_size})",
            stats.words_per_second,
            stats.seconds,
            acc.accuracy,
            "",
        )
    )
    print(f"{'':26s} {'words/s':>12s} {'seconds':>9s} {'analogy %':>10s}")
    for name, wps, secs, acc_, note in rows:
        print(f"{name:26s} {wps:12,.0f} {secs:9.1f} {acc_:10.2f}  {note}")
    if len(rows) == 2:
        print(
            f"ratio ours/gensim: words/s {rows[1][1] / rows[0][1]:.2f}x, "
            f"accuracy {rows[1][3] - rows[0][3]:+.2f} points"
        )


if __name__ == "__main__":
    main()

"""Word2Vec: data pipeline statistics, the SGD step, the limits, the loaders' error paths.

No test touches the network: downloads are replaced by local stand-ins.
"""

from __future__ import annotations

import gzip
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from mupbook import results
from mupbook.data import text, words
from mupbook.experiments import word2vec as w2v
from mupbook.fit import loglog_slope


def toy_tokens(n: int = 20_000, V: int = 50, seed: int = 0) -> list[str]:
    """Zipf-distributed words w0, w1, ... (w0 the most frequent)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, V + 1)
    return [f"w{i}" for i in rng.choice(V, size=n, p=p / p.sum())]


# ------------------------------------------------------------------- vocabulary


def test_vocab_sorted_by_count_with_min_count_and_cap():
    tokens = ["b", "a", "c", "a", "b", "a", "d", "d", "d", "d", "e"]
    v = text.build_vocab(tokens, min_count=2)
    assert v.words == ("d", "a", "b")  # counts 4, 3, 2; c and e appear once
    assert v.counts.tolist() == [4, 3, 2]
    assert text.build_vocab(tokens, min_count=1, max_vocab=2).words == ("d", "a")


def test_vocab_ties_broken_by_first_occurrence():
    assert text.build_vocab(["x", "y", "y", "x", "z"], min_count=1).words == (
        "x",
        "y",
        "z",
    )


def test_vocab_cap_keeps_extra_words_that_reach_min_count():
    tokens = ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 2 + ["e"]
    v = text.build_vocab(tokens, min_count=2, max_vocab=2, extra_words=["d", "e"])
    assert v.words == ("a", "b", "d")


def test_out_of_vocabulary_word_is_a_clear_error():
    v = text.build_vocab(["a", "a", "b", "b"], min_count=1)
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        v.id("zebra")


def test_encode_drops_unknown_words_and_numbers_sentences():
    tokens = ["a", "q", "b"] * 5000  # 15,000 raw tokens: sentences 0 and 1
    c = text.encode(tokens, text.build_vocab(tokens, min_count=1, max_vocab=2))
    assert len(c) == 10_000 and c.raw_tokens == 15_000
    assert c.vocab.words == ("a", "q")  # equal counts: first occurrence first
    assert (
        c.sentence.max() == 1 and (c.sentence == 0).sum() == 6667
    )  # a, q among the first 10,000


# ------------------------------------------------------------------ subsampling


def test_keep_probability_is_word2vecs_formula():
    counts = np.array([1000, 100, 10, 1])
    t = 1e-3 * counts.sum()
    want = np.minimum(1, (np.sqrt(counts / t) + 1) * t / counts)
    np.testing.assert_allclose(text.keep_probabilities(counts, 1e-3), want)
    assert text.keep_probabilities(counts, 0).tolist() == [1, 1, 1, 1]
    assert text.keep_probabilities(counts, 1e-3)[-1] == 1.0  # rare words always kept


def test_subsampling_keeps_each_word_at_its_rate():
    tokens = toy_tokens(200_000)
    c = text.encode(tokens, text.build_vocab(tokens, min_count=1))
    ids, _ = text.subsample(c, 1e-3, np.random.default_rng(1))
    kept = np.bincount(ids, minlength=len(c.vocab)) / c.vocab.counts
    p = text.keep_probabilities(c.vocab.counts, 1e-3)
    se = np.sqrt(p * (1 - p) / c.vocab.counts) + 1e-9
    assert np.all(np.abs(kept - p) < 5 * se + 1e-3)
    assert p[0] < 0.2  # the most frequent word is mostly dropped


# ------------------------------------------------------------ negative sampling


def test_negative_sampling_follows_unigram_to_the_three_quarters():
    v = text.Vocab(("a", "b", "c", "d"), np.array([1000, 100, 10, 1]))
    draws = text.NegativeSampler(v).sample(
        (200_000,), torch.Generator().manual_seed(0)
    )
    freq = np.bincount(draws.numpy(), minlength=4) / 200_000
    want = np.array([1000, 100, 10, 1]) ** 0.75
    want = want / want.sum()
    np.testing.assert_allclose(
        freq, want, atol=4 * np.sqrt(want * (1 - want) / 200_000).max()
    )


def test_alias_tables_encode_the_distribution_exactly():
    p = np.array([1000, 100, 10, 1, 1, 37.5]) ** 0.75
    p /= p.sum()
    keep, alias = text.alias_tables(p)
    back = keep.copy()
    np.add.at(back, alias, 1 - keep)
    np.testing.assert_allclose(back / len(p), p, rtol=1e-12, atol=1e-15)
    assert np.all((keep >= 0) & (keep <= 1))


# ------------------------------------------------------------------ CBOW windows


def test_cbow_contexts_stay_in_window_and_sentence_without_the_target():
    ids = np.arange(30)
    sentence = np.repeat([0, 1], [17, 13])
    batches = list(text.cbow_batches(ids, sentence, 3, 7, np.random.default_rng(0)))
    targets = torch.cat([b.target for b in batches]).numpy()
    assert targets.tolist() == list(range(30))
    sizes = []
    for b in batches:
        for k, t in enumerate(b.target.tolist()):
            ctx = b.context[b.owner == k].numpy()
            assert len(ctx) == int(b.count[k]) >= 1
            assert t not in ctx and np.all(np.abs(ctx - t) <= 3)
            assert np.all(sentence[ctx] == sentence[t])
            sizes.append(len(ctx))
    assert (
        max(sizes) == 6 and min(sizes) <= 2
    )  # reduced windows: some short, some full


def test_cbow_offsets_point_at_each_positions_context():
    ids = np.arange(100)
    for b in text.cbow_batches(
        ids, np.zeros(100, dtype=np.int64), 4, 16, np.random.default_rng(0)
    ):
        starts = (torch.cumsum(b.count, 0) - b.count).tolist()
        assert b.offsets.tolist() == starts
        assert (
            b.owner.tolist()
            == np.repeat(np.arange(len(b.count)), b.count.numpy()).tolist()
        )


def test_windows_do_not_depend_on_how_positions_are_chunked():
    ids = np.arange(50)
    sentence = np.repeat(
        [0, 1, 2], [20, 1, 29]
    )  # position 20 has no context and is skipped

    def flat(chunk):  # window 1: no random reduction
        bs = list(
            text.cbow_batches(
                ids, sentence, 1, 3, np.random.default_rng(0), chunk=chunk
            )
        )
        return (
            [b.target.tolist() for b in bs if len(b.target) == 3][:3],
            torch.cat([b.target for b in bs]).tolist(),
            torch.cat([b.context for b in bs]).tolist(),
        )

    small, large = flat(6), flat(1000)
    assert small[1:] == large[1:]
    assert 20 not in large[1] and len(large[1]) == 49
    assert large[0][0] == [0, 1, 2]


# --------------------------------------------------------------------- SGD step


def one_position(target=0, context=(1, 2)):
    return text.CbowBatch(
        torch.tensor([target]),
        torch.tensor(list(context)),
        torch.zeros(len(context), dtype=torch.int64),
        torch.tensor([len(context)]),
    )


@pytest.mark.parametrize("divide_input", [True, False])
def test_one_sgd_step_matches_a_hand_computation(divide_input):
    E = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    U = torch.tensor([[0.5, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, -1.0]])
    m = w2v.CBOW(E.clone(), U.clone())
    lr, wd = 0.1, 0.01
    m.step(
        one_position(),
        torch.tensor([[3]]),
        lr,
        weight_decay=wd,
        divide_input=divide_input,
    )
    h = np.array([0.5, 1.0])  # mean of E1, E2
    s = lambda x: 1 / (1 + math.exp(-x))
    g_t, g_n = lr * (1 - s(0.25)), lr * (0 - s(-1.0))  # U0.h = 0.25, U3.h = -1
    U0 = np.array([0.5, 0.0]) + g_t * h - lr * wd * np.array([0.5, 0.0])
    U3 = np.array([0.0, -1.0]) + g_n * h - lr * wd * np.array([0.0, -1.0])
    neu1e = g_t * np.array([0.5, 0.0]) + g_n * np.array([0.0, -1.0])
    if divide_input:
        neu1e = neu1e / 2
    np.testing.assert_allclose(m.out[0].numpy(), U0, rtol=1e-6)
    np.testing.assert_allclose(m.out[3].numpy(), U3, rtol=1e-6)
    np.testing.assert_allclose(
        m.inp[1].numpy(), [1, 0] + neu1e - lr * wd * np.array([1, 0]), rtol=1e-6
    )
    np.testing.assert_allclose(
        m.inp[2].numpy(), [0, 2] + neu1e - lr * wd * np.array([0, 2]), rtol=1e-6
    )
    np.testing.assert_allclose(
        m.inp[[0, 3]].numpy(), E[[0, 3]].numpy()
    )  # untouched rows


def test_tp4_step_is_sgd_on_the_summed_negative_sampling_loss():
    gen = torch.Generator().manual_seed(0)
    V, n = 9, 5
    E, U = torch.randn(V, n, generator=gen), torch.randn(V, n, generator=gen)
    ids = torch.randint(0, V, (40,), generator=gen).numpy()
    batch = next(
        text.cbow_batches(
            ids, np.zeros(40, dtype=np.int64), 3, 40, np.random.default_rng(0)
        )
    )
    neg = torch.randint(0, V, (len(batch.target), 4), generator=gen)
    e, u = E.clone().requires_grad_(), U.clone().requires_grad_()
    h = (
        torch.zeros(len(batch.target), n).index_add(0, batch.owner, e[batch.context])
        / batch.count[:, None]
    )
    keep = (neg != batch.target[:, None]).float()
    f_t = (u[batch.target] * h).sum(1)
    f_n = (u[neg] * h[:, None]).sum(2)
    loss = -(
        torch.nn.functional.logsigmoid(f_t).sum()
        + (torch.nn.functional.logsigmoid(-f_n) * keep).sum()
    )
    loss.backward()
    m = w2v.CBOW(E.clone(), U.clone())
    got = m.step(batch, neg, 0.1, divide_input=True)
    assert got == pytest.approx(float(loss.detach()), rel=1e-5)
    torch.testing.assert_close(m.inp, E - 0.1 * e.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(m.out, U - 0.1 * u.grad, rtol=1e-5, atol=1e-6)


def test_learning_rate_decays_linearly_to_its_floor():
    assert w2v.learning_rate(0.05, 0.0) == 0.05
    assert w2v.learning_rate(0.05, 0.5) == pytest.approx(0.025)
    assert w2v.learning_rate(0.05, 1.0) == pytest.approx(0.05 * w2v.MIN_LR_RATIO)


# --------------------------------------------------------------------- the limits


def toy_corpus(V: int = 30) -> text.Corpus:
    tokens = toy_tokens(3000, V)
    return text.encode(tokens, text.build_vocab(tokens, min_count=1))


def train_kwargs(**kw):
    return {
        "epochs": 2,
        "lr": 0.05,
        "weight_decay": 1e-3,
        "divide_input": True,
        "window": 3,
        "negatives": 5,
        "sample": 1e-3,
        "batch_size": 64,
        "seed": 3,
        "progress": False,
    } | kw


def test_limit_equals_a_width_V_network_with_identity_input_embeddings():
    c = toy_corpus()
    V = len(c.vocab)
    limit = w2v.CBOW.limit(V)
    finite = w2v.CBOW(torch.eye(V), torch.zeros(V, V))
    s1 = w2v.train(limit, c, **train_kwargs())
    s2 = w2v.train(finite, c, **train_kwargs())
    assert s1.losses == s2.losses
    assert torch.equal(limit.inp, finite.inp) and torch.equal(limit.out, finite.out)


def test_a_network_whose_embeddings_are_orthonormal_rows_trains_exactly_like_the_limit():
    """E = Q (orthonormal rows, n > V), U = 0: E and U stay in span(Q), E = A Q, U = B Q,
    and (A, B) follow the limit's trajectory: the limit is the n -> oo network."""
    c = toy_corpus()
    V, n = len(c.vocab), 80
    q, _ = torch.linalg.qr(
        torch.randn(
            n, V, generator=torch.Generator().manual_seed(1), dtype=torch.float64
        )
    )
    Q = q.T.contiguous()  # (V, n), Q Q^T = I
    wide = w2v.CBOW(Q.clone(), torch.zeros(V, n, dtype=torch.float64))
    limit = w2v.CBOW(
        torch.eye(V, dtype=torch.float64), torch.zeros(V, V, dtype=torch.float64)
    )
    s_wide = w2v.train(wide, c, **train_kwargs())
    s_lim = w2v.train(limit, c, **train_kwargs())
    np.testing.assert_allclose(s_wide.losses, s_lim.losses, rtol=1e-12)
    torch.testing.assert_close(wide.inp, limit.inp @ Q, rtol=0, atol=1e-12)
    torch.testing.assert_close(wide.out, limit.out @ Q, rtol=0, atol=1e-12)


@pytest.mark.parametrize("init", ["gaussian", "uniform"])
def test_random_networks_approach_the_limit_as_width_grows(init):
    c = toy_corpus()
    V = len(c.vocab)
    lim = w2v.CBOW.limit(V)
    w2v.train(lim, c, **train_kwargs(epochs=1))
    gram = lim.inp @ lim.inp.T
    errs = []
    for n in (64, 1024, 16384):
        m = w2v.CBOW.finite(V, n, init=init, seed=0)
        w2v.train(m, c, **train_kwargs(epochs=1))
        errs.append(float((m.inp @ m.inp.T - gram).abs().max()))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.05


def test_tp4_recipe_draws_embeddings_uniformly_with_variance_one_over_n():
    # TP4's word2vec.c: syn0 = (rand/RAND_MAX - 0.5) * 2 sqrt(3) / sqrt(n)
    assert w2v.recipe("tp4").init == "uniform"
    n = 64
    e = w2v.CBOW.finite(2000, n, init="uniform", seed=0).inp
    bound = (3 / n) ** 0.5
    assert float(e.abs().max()) <= bound
    assert float(e.abs().max()) > 0.99 * bound
    assert float(e.var()) == pytest.approx(1 / n, rel=0.02)
    w = w2v.CBOW.finite(2000, n, init="word2vec", seed=0).inp
    assert float(w.abs().max()) <= 0.5 / n


def test_both_recipes_use_cbows_learning_rate():
    # word2vec's CBOW default (0.025 is its skip-gram default and gensim's default)
    assert w2v.recipe("tp4").lr == w2v.recipe("word2vec").lr == 0.05


def test_learning_rate_exponents_are_minus_r_for_the_embeddings_and_zero_for_the_readout():
    for param, r in (("mup", 0), ("ntp", 1), ("sp", 2)):
        k_in, k_out = w2v.lr_exponents(param)
        assert (k_in, k_out) == (-r, 0)
        assert w2v.theory_slope(param) == -r
    assert w2v.lr_multipliers("ntp", 256, 64) == (0.25, 1.0)
    assert w2v.lr_multipliers("sp", 256, 64) == (1 / 16, 1.0)
    assert w2v.lr_multipliers("mup", 256, None) == (1.0, 1.0)
    with pytest.raises(ValueError, match="base width"):
        w2v.lr_multipliers("ntp", 256, None)


def test_ntp_updates_the_embeddings_at_its_learning_rate_multiplier_and_the_readout_alike():
    c = toy_corpus()
    V, n = len(c.vocab), 16
    gen = torch.Generator().manual_seed(0)
    e0 = torch.randn(V, n, generator=gen, dtype=torch.float64) / n**0.5
    u0 = torch.randn(V, n, generator=gen, dtype=torch.float64) / n**0.5
    mu = w2v.CBOW(e0.clone(), u0.clone())
    nt = w2v.CBOW(e0.clone(), u0.clone(), lr_mult=(0.25, 1.0))
    kw = train_kwargs(epochs=1, weight_decay=0.0, max_positions=1)
    w2v.train(mu, c, **kw)
    w2v.train(nt, c, **kw)
    torch.testing.assert_close(
        nt.inp - e0, 0.25 * (mu.inp - e0), rtol=1e-10, atol=1e-15
    )
    torch.testing.assert_close(nt.out, mu.out, rtol=1e-12, atol=0)


def test_ntp_at_its_base_width_is_mup():
    c = toy_corpus()
    V = len(c.vocab)
    mu = w2v.CBOW.finite(V, 32, seed=1)
    nt = w2v.CBOW.finite(V, 32, param="ntp", base_width=32, seed=1)
    assert (
        w2v.train(mu, c, **train_kwargs()).losses
        == w2v.train(nt, c, **train_kwargs()).losses
    )
    assert torch.equal(mu.inp, nt.inp)


def test_ntp_embeddings_turn_like_one_over_width_and_mup_embeddings_do_not_shrink():
    c = toy_corpus()
    V = len(c.vocab)
    widths = (256, 512, 1024, 2048)
    turns = {"mup": [], "ntp": []}
    for param in turns:
        for n in widths:
            m = w2v.CBOW.finite(V, n, param=param, base_width=16, seed=0)
            e0 = m.inp.clone()
            w2v.train(m, c, **train_kwargs(epochs=1))
            turns[param].append(w2v.mean_turn(m.inp, e0))
    assert loglog_slope(widths, turns["ntp"]).slope == pytest.approx(-1, abs=0.1)
    assert abs(loglog_slope(widths, turns["mup"]).slope) < 0.1


def test_turning_angles_ignore_rescaling_and_resolve_tiny_angles():
    gen = torch.Generator().manual_seed(0)
    e0 = torch.randn(5, 40, generator=gen)
    # rescaling (weight decay) turns nothing: zero up to float32 rounding of the rows
    assert float(w2v.turning_angles(3.0 * e0, e0).max()) < 1e-7
    # turn row 0 by a tiny known angle in the plane of e0[0] and a vector orthogonal to it
    u = e0[0].double() / e0[0].double().norm()
    v = torch.randn(40, generator=gen, dtype=torch.float64)
    v -= (v @ u) * u
    v /= v.norm()
    theta = 1e-6
    e = e0.double().clone()
    e[0] = 2.0 * (
        torch.cos(torch.tensor(theta)) * u + torch.sin(torch.tensor(theta)) * v
    )
    assert float(w2v.turning_angles(e, e0)[0]) == pytest.approx(theta, rel=1e-6)
    # the limits start at the identity
    eye = torch.eye(3)
    turned = eye.clone()
    turned[1] = torch.tensor([0.0, 1.0, 1.0])
    angles = w2v.turning_angles(turned, None)
    assert angles.tolist() == pytest.approx([0.0, math.pi / 4, 0.0])
    assert w2v.mean_turn(turned, None) == pytest.approx(15.0)
    with pytest.raises(ValueError, match="ended at zero"):
        w2v.turning_angles(torch.zeros(3, 3), None)


def test_max_positions_stops_training_after_the_batch_that_reaches_it():
    c = toy_corpus()
    m = w2v.CBOW.finite(len(c.vocab), 8, seed=0)
    st = w2v.train(m, c, **train_kwargs(epochs=2, max_positions=100, batch_size=64))
    assert 100 <= st.positions < 164
    assert len(st.losses) == 1


def test_ntk_limit_keeps_its_embeddings_and_scores_zero():
    c = toy_corpus()
    m = w2v.CBOW.limit(len(c.vocab), freeze_input=True)
    w2v.train(m, c, **train_kwargs(epochs=1))
    assert torch.equal(m.inp, torch.eye(len(c.vocab)))
    qs = text.Analogies(
        np.array([[3, 4, 5, 6], [7, 8, 9, 10]]),
        np.array([0, 0]),
        ("s",),
        2,
        0,
        len(c.vocab),
    )
    assert w2v.analogy_accuracy(m.embeddings(), qs).accuracy == 0.0


def test_limit_that_does_not_fit_says_how_much_memory_it_needs(monkeypatch):
    monkeypatch.setattr(w2v, "available_memory_bytes", lambda device: 2**30)
    with pytest.raises(
        MemoryError, match=r"V = 71,291 words needs 2 V\^2 = 37.9 GiB in float32"
    ):
        w2v.CBOW.limit(71_291)
    assert w2v.limit_memory_bytes(71_291, "bfloat16") == 2 * 71_291**2 * 2


def test_low_precision_storage_trains_close_to_float32():
    c = toy_corpus()
    V = len(c.vocab)
    a, b = (
        w2v.CBOW.finite(V, 16, seed=0),
        w2v.CBOW.finite(V, 16, seed=0, storage="bfloat16"),
    )
    assert b.inp.dtype == torch.bfloat16
    la = w2v.train(a, c, **train_kwargs(epochs=1)).losses[0]
    lb = w2v.train(b, c, **train_kwargs(epochs=1)).losses[0]
    assert lb == pytest.approx(la, rel=0.02)


# ------------------------------------------------------------------- evaluation


def test_analogy_accuracy_finds_the_parallelogram_and_excludes_the_query_words():
    # king - man + woman = queen exactly; "king" itself would win if not excluded
    vocab = text.Vocab(
        ("man", "woman", "king", "queen", "other"), np.array([5, 4, 3, 2, 1])
    )
    emb = torch.tensor([[1.0, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [-1, 0, 0]])
    qs = text.Analogies(np.array([[0, 2, 1, 3]]), np.array([0]), ("family",), 1, 0, 5)
    acc = w2v.analogy_accuracy(emb, qs)
    assert acc.accuracy == 100.0 and acc.per_section == {"family": (1, 1)}
    assert w2v.nearest(emb, vocab, "king", k=1)[0][0] != "king"


def test_analogy_questions_are_restricted_to_the_vocabulary(tmp_path):
    f = tmp_path / "q.txt"
    f.write_text(
        ": capitals\nAthens Greece Paris France\nAthens Greece Rome Italy\n: other\na b c d\n"
    )
    vocab = text.Vocab(
        ("athens", "greece", "paris", "france", "a", "b", "c", "d"),
        np.arange(8, 0, -1),
    )
    qs = text.analogies(vocab, path=f)
    assert (
        qs.questions.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
        and qs.skipped == 1
        and qs.total == 3
    )
    assert text.analogies(vocab, restrict=4, path=f).questions.tolist() == [
        [0, 1, 2, 3]
    ]


def test_malformed_analogy_file_is_a_clear_error(tmp_path):
    f = tmp_path / "q.txt"
    f.write_text(": s\nonly three words\n")
    with pytest.raises(ValueError, match="is not a question"):
        text.read_analogy_file(f)


def test_linear_probe_separates_separable_points_and_not_noise():
    rng = np.random.default_rng(0)
    y = np.repeat([True, False], 20)
    x = rng.normal(size=(40, 2)) + np.where(y, 4.0, -4.0)[:, None] * np.array(
        [1.0, 0.0]
    )
    assert w2v.loo_linear_probe(x, y) == 100.0
    assert w2v.loo_linear_probe(rng.normal(size=(40, 2)), y) < 80.0


def test_words_lists_are_facts():
    assert len(words.STATES) == 50 and "Texas" in words.STATES
    assert ("Chicago", "Illinois") in words.CITY_IN_STATE and len(
        words.CITY_IN_STATE
    ) == 68
    cities, states = words.cities_and_states()
    assert "new york" not in states and "ohio" in states and "chicago" in cities


# ------------------------------------------------------------------- loaders


def test_offline_corpus_needs_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("MUPBOOK_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="set MUPBOOK_DATA"):
        text.read_tokens("offline")
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        text.read_tokens("offline")


def test_offline_corpus_is_read_and_a_corrupt_one_is_a_clear_error(
    monkeypatch, tmp_path
):
    from mupbook.data import offline

    monkeypatch.setattr(
        offline, "verify", lambda path, key, **kw: path
    )  # the checks behind the digest
    (tmp_path / "text").mkdir()
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path))
    with gzip.open(tmp_path / "text" / text.OFFLINE_FILE, "wt") as f:
        f.write("the cat sat on the mat")
    assert text.read_tokens("auto", max_tokens=3) == ["the", "cat", "sat"]
    assert text.resolve_corpus("auto") == "offline"
    (tmp_path / "text" / text.OFFLINE_FILE).write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        text.read_tokens("offline")


def test_truncated_text8_is_a_clear_error(monkeypatch, tmp_path):
    (tmp_path / "text").mkdir()
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path))
    with zipfile.ZipFile(tmp_path / "text" / "text8.zip", "w") as zf:
        zf.writestr("text8", " anarchism originated as a term")
    with pytest.raises(
        ValueError,
        match=r"not the official text/text8\.zip: it has \d+ bytes, the official "
        r"file 31,344,016.*unset MUPBOOK_DATA",
    ):
        text.read_tokens("text8")
    from mupbook.data import offline

    monkeypatch.setattr(
        offline, "verify", lambda path, key, **kw: path
    )  # the checks behind the digest
    with pytest.raises(ValueError, match="truncated or not text8"):
        text.read_tokens("text8")
    (tmp_path / "text" / "text8.zip").write_bytes(b"PK broken")
    with pytest.raises(ValueError, match="not a readable text8 file"):
        text.read_tokens("text8")


def test_download_checks_sha256_and_leaves_no_partial_file(monkeypatch, tmp_path):
    monkeypatch.setattr(
        text, "_fetch", lambda url, dest, progress: Path(dest).write_bytes(b"garbage")
    )
    dest = tmp_path / "text8.zip"
    with pytest.raises(ValueError, match="truncated or corrupt"):
        text.download(text.TEXT8_URL, dest, text.TEXT8_ZIP_SHA256, progress=False)
    assert list(tmp_path.iterdir()) == []
    import hashlib

    good = hashlib.sha256(b"garbage").hexdigest()
    assert (
        text.download(text.TEXT8_URL, dest, good, progress=False).read_bytes()
        == b"garbage"
    )


def test_failed_download_says_what_to_do(monkeypatch, tmp_path):
    def offline(url, dest, progress):
        raise OSError("network unreachable")

    monkeypatch.setattr(text, "_fetch", offline)
    with pytest.raises(ConnectionError, match="download it by hand"):
        text.download(
            text.TEXT8_URL,
            tmp_path / "text8.zip",
            text.TEXT8_ZIP_SHA256,
            progress=False,
        )
    assert list(tmp_path.iterdir()) == []


def test_bad_corpus_name_is_an_error():
    with pytest.raises(ValueError, match="corpus must be one of"):
        text.resolve_corpus("wikipedia")


# ------------------------------------------------------------------ experiment


def test_run_writes_a_valid_results_file(monkeypatch, tmp_path):
    f = tmp_path / "q.txt"
    f.write_text(": s\nw1 w2 w3 w4\nw2 w3 w4 w5\n")
    monkeypatch.setattr(text, "analogy_path", lambda progress=True: f)
    c = toy_corpus()
    cfg = w2v.QUICK.replace(widths=(8,), epochs=1, window=3, negatives=5, sample=1e-3)
    r = w2v.run(cfg, corpus=c, device="cpu", progress=False)
    assert set(r.models) == {"ntk", "8", "limit"}
    assert r.accuracy("ntk") == 0.0
    assert r.models["ntk"].turn == 0.0  # frozen at the identity
    doc = w2v.results_dict(r, argv=["--config", "quick"], device="cpu", seconds=1.0)
    out = results.write_json(tmp_path / "word2vec_quick.json", doc)
    back = results.load(out)
    assert all(
        row["paper"] is None for row in back["reproduction"]
    )  # not text8: never beside the paper
    assert len(back["reproduction"]) == 3
    q = back["models"]["8"]["questions"]
    assert f"/{q} = " in back["reproduction"][1]["note"]  # the count and its interval
    assert w2v.proportions(back)["8"] == w2v.proportions(r)["8"]


def test_run_trains_ntp_networks_beside_mup_and_fits_their_turning_slopes(
    monkeypatch, tmp_path
):
    f = tmp_path / "q.txt"
    f.write_text(": s\nw1 w2 w3 w4\nw2 w3 w4 w5\n")
    monkeypatch.setattr(text, "analogy_path", lambda progress=True: f)
    c = toy_corpus()
    cfg = w2v.QUICK_SWEEP.replace(
        widths=(64, 128),
        ntp_widths=(64, 128),
        base_width=8,
        window=3,
        negatives=5,
        sample=1e-3,
        batch_size=64,
        max_positions=1000,
        seed=3,  # not toy_tokens' seed 0: its uniforms would pick what subsampling keeps
    )
    r = w2v.run(cfg, corpus=c, device="cpu", progress=False)
    assert list(r.models) == ["64", "128", "ntp-64", "ntp-128"]
    assert r.models["ntp-64"].param == "ntp"
    assert all(m.stats.positions < 2 * cfg.max_positions for m in r.models.values())
    doc = w2v.results_dict(r, device="cpu", seconds=1.0)
    ws, ts = w2v.turns(doc, "ntp")
    assert ws.tolist() == [64, 128] and ts[1] < ts[0]
    assert w2v.turn_slope(doc, "ntp").slope == pytest.approx(
        w2v.turn_slope(r, "ntp").slope
    )
    with pytest.raises(ValueError, match="no two"):
        w2v.turn_slope(doc, "sp")


def test_orthonormal_rows_are_what_makes_the_wide_network_exact():
    assert w2v.orthonormal_equivalence(20, 60)["max_err_input"] < 1e-12
    gauss = w2v.orthonormal_equivalence(20, 60, rows="gaussian")
    assert gauss["max_err_input"] > 1e-3


# ------------------------------------------------------- corpora too small to train on


TRAIN_KW = {
    "epochs": 1,
    "lr": 0.05,
    "weight_decay": 0.0,
    "divide_input": True,
    "window": 2,
    "negatives": 2,
    "progress": False,
}


@pytest.mark.parametrize(
    "tokens", [["w0"], ["w0", *["unknown"] * (text.SENTENCE_LENGTH - 1), "w1"], []]
)
def test_a_corpus_without_one_training_position_is_an_error_before_training(tokens):
    vocab = text.build_vocab(toy_tokens(2000), min_count=1)
    corpus = text.encode(tokens, vocab)
    assert text.training_positions(corpus) == 0
    with pytest.raises(
        ValueError,
        match=r"no CBOW training position.*in-vocabulary tokens.*at least two",
    ):
        w2v.train(w2v.CBOW.finite(len(vocab), 4), corpus, **TRAIN_KW)
    with pytest.raises(ValueError, match="no CBOW training position"):
        w2v.run(
            w2v.QUICK.replace(widths=(4,)),
            corpus=corpus,
            device="cpu",
            progress=False,
        )


def test_an_epoch_that_subsampling_empties_is_an_error_not_a_zero_loss():
    vocab = text.build_vocab(toy_tokens(2000), min_count=1)
    corpus = text.encode(["w0", "w1", "w0"], vocab)
    assert text.training_positions(corpus) == 3
    with pytest.raises(
        ValueError,
        match=r"epoch 1 trained no position: subsampling .* kept 0 of 3 tokens",
    ):
        w2v.train(w2v.CBOW.finite(len(vocab), 4), corpus, sample=1e-12, **TRAIN_KW)


@pytest.mark.parametrize("bad", [-1, 5])
def test_analogy_questions_with_ids_outside_the_restricted_vocabulary_are_refused(
    bad,
):
    emb = torch.eye(8)
    with pytest.raises(
        ValueError,
        match=r"word ids in 0\.\.4 \(the restrict=5 words searched\), got "
        + str(bad),
    ):
        w2v.predict_analogies(
            emb, np.array([[0, 1, 2, 3], [0, 1, bad, 3]]), restrict=5
        )
    with pytest.raises(ValueError, match=r"questions must be \(Q, 4\)"):
        w2v.predict_analogies(emb, np.array([0, 1, 2, 3]), restrict=5)


# -------------------------------------------------- offline files: sizes and digests pinned


def test_a_cut_analogy_file_is_refused_naming_how_many_questions_it_holds(
    monkeypatch, tmp_path
):
    from offline_copy import offline_copy, real_data_folder

    lines = (real_data_folder() / "text" / text.ANALOGY_FILE).read_text().splitlines()
    kept, n = [], 0
    for line in lines:
        n += not line.startswith(":")
        if n > 5000:
            break
        kept.append(line)
    monkeypatch.setenv(
        "MUPBOOK_DATA",
        str(
            offline_copy(
                tmp_path,
                "text/questions-words.txt",
                ("\n".join(kept) + "\n").encode(),
            )
        ),
    )
    with pytest.raises(
        ValueError,
        match=r"questions-words\.txt is not the official text/questions-words\.txt: "
        r"it has [\d,]+ bytes, the official file 603,955; it holds 5,000 of the "
        r"19,544 questions.*Re-copy.*unset MUPBOOK_DATA",
    ):
        text.analogies(text.build_vocab(toy_tokens(2000), min_count=1))


def test_a_shortened_offline_corpus_is_refused_naming_its_token_count(
    monkeypatch, tmp_path
):
    from offline_copy import offline_copy, real_data_folder

    with gzip.open(real_data_folder() / "text" / text.OFFLINE_FILE, "rt") as f:
        start = f.read(100_000).split()[:1000]
    monkeypatch.setenv(
        "MUPBOOK_DATA",
        str(
            offline_copy(
                tmp_path,
                "text/offline_corpus.txt.gz",
                gzip.compress(" ".join(start).encode()),
            )
        ),
    )
    with pytest.raises(
        ValueError,
        match=r"not the official text/offline_corpus\.txt\.gz: it has [\d,]+ bytes.*"
        r"it holds 1,000 tokens, the official corpus 2,274,475",
    ):
        text.read_tokens("offline", max_tokens=10)


def test_offline_files_are_hashed_once_per_process(monkeypatch, tmp_path):
    from offline_copy import real_data_folder

    from mupbook.data import download, offline

    monkeypatch.setenv("MUPBOOK_DATA", str(real_data_folder()))
    monkeypatch.setattr(offline, "_digests", {})
    calls = []
    real_digest = download.file_digest
    monkeypatch.setattr(
        download,
        "file_digest",
        lambda path, alg: calls.append(path) or real_digest(path, alg),
    )
    assert text.analogy_path() == text.analogy_path()
    assert len(calls) == 1
    assert offline.FILES["text/questions-words.txt"][1] == text.ANALOGY_SHA256


def test_non_finite_embeddings_are_an_error_not_an_accuracy():
    qs = text.Analogies(np.array([[0, 1, 2, 3]]), np.array([0]), ("s",), 1, 0, 5)
    with pytest.raises(ValueError, match="embeddings have non-finite entries"):
        w2v.analogy_accuracy(torch.full((5, 3), float("nan")), qs)
    vocab = text.Vocab(("a", "b", "c"), np.array([3, 2, 1]))
    with pytest.raises(ValueError, match="embeddings have non-finite entries"):
        w2v.nearest(torch.full((3, 2), float("inf")), vocab, "a", 2)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        w2v.nearest(torch.rand(3, 2), vocab, "a", 0)


def test_linear_probe_refuses_non_finite_or_too_few_points():
    with pytest.raises(ValueError, match="non-finite"):
        w2v.loo_linear_probe(
            np.array([[np.nan, 1.0], [1.0, 2.0], [3.0, 4.0]]), np.array([1, 0, 1])
        )
    with pytest.raises(ValueError, match="at least 2 points"):
        w2v.loo_linear_probe(np.zeros((1, 2)), np.array([1]))


@pytest.mark.parametrize(
    "p", [np.zeros(3), np.array([np.nan, 1.0]), np.array([-1.0, 2.0]), np.zeros(0)]
)
def test_alias_tables_refuse_what_is_not_a_distribution(p):
    with pytest.raises(ValueError, match="finite, >= 0 and not all 0"):
        text.alias_tables(p)


@pytest.mark.parametrize("restrict", [0, -5])
def test_a_restrict_below_one_is_refused_not_sliced_from_the_end(restrict, tmp_path):
    f = tmp_path / "q.txt"
    f.write_text(": s\nw1 w2 w3 w4\n")
    vocab = text.build_vocab(toy_tokens(2000), min_count=1)
    with pytest.raises(
        ValueError, match=f"restrict must be a positive integer, got {restrict}"
    ):
        text.analogies(vocab, restrict, path=f)
    with pytest.raises(
        ValueError, match=f"restrict must be a positive integer, got {restrict}"
    ):
        w2v.predict_analogies(
            torch.eye(8), np.array([[0, 1, 2, 3]]), restrict=restrict
        )

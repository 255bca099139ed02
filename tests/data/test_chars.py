"""mupbook.data.chars: the corpus as characters, a fixed split, blocks for next-character
prediction. Tests that read the corpus need MUPBOOK_DATA (the offline corpus)."""

import os

import pytest
import torch

from mupbook.data import chars


def needs_corpus():
    raw = os.environ.get("MUPBOOK_DATA", "").strip()
    if not raw or not os.path.isfile(
        os.path.join(raw, "text", "offline_corpus.txt.gz")
    ):
        pytest.skip("MUPBOOK_DATA is unset or holds no text/offline_corpus.txt.gz")


def test_encode_and_decode_are_inverse_and_foreign_characters_are_refused():
    s = "the quick brown fox"
    ids = chars.encode(s)
    assert ids.dtype == torch.uint8 and ids.max() < chars.VOCAB
    assert chars.decode(ids) == s and chars.encode(" ")[0] == 0
    with pytest.raises(ValueError, match="outside the alphabet"):
        chars.encode("Hello!")


def test_the_split_is_contiguous_and_fixed():
    needs_corpus()
    a = chars.load("offline", max_chars=100_000, val_fraction=0.1)
    b = chars.load("offline", max_chars=100_000, val_fraction=0.1)
    assert a.train.numel() == 90_000 and a.val.numel() == 10_000
    assert torch.equal(a.train, b.train) and torch.equal(a.val, b.val)
    assert chars.decode(a.train[:10]) == "anarchism "  # the corpus, from its start


def test_training_blocks_predict_the_next_character():
    ids = chars.encode("abcdefghijklmnopqrstuvwxyz" * 4)
    x, y = chars.train_batches(ids, steps=3, batch_size=5, context=8, seed=0)
    assert x.shape == y.shape == (3, 5, 8) and x.dtype == torch.int64
    assert torch.equal(x[..., 1:], y[..., :-1])
    again, _ = chars.train_batches(ids, steps=3, batch_size=5, context=8, seed=0)
    other, _ = chars.train_batches(ids, steps=3, batch_size=5, context=8, seed=1)
    assert torch.equal(x, again) and not torch.equal(x, other)


def test_eval_blocks_are_evenly_spaced_and_do_not_overlap():
    ids = torch.arange(100)  # each id is its position
    x, y = chars.eval_blocks(ids, count=5, context=9)
    starts = x[:, 0].tolist()
    assert x.shape == (5, 9) and torch.equal(x[:, 1:], y[:, :-1])
    assert starts[0] == 0 and starts[-1] == 100 - 9 - 1
    assert all(b - a >= 10 for a, b in zip(starts, starts[1:]))
    with pytest.raises(ValueError, match="fewer than"):
        chars.eval_blocks(ids, count=20, context=9)

"""Character-level text for the GPT: the offline corpus (or text8) as a stream of 27 symbols.

The corpora of :mod:`mupbook.data.text` are in text8's format: lowercase words ``a-z``
separated by single spaces. Read as characters they have an alphabet of
:data:`ALPHABET` (space + 26 letters, token ids 0..26). Character level, not word level,
because the experiment varies width: with 27 symbols the embedding and the readout are
tiny and almost all of the compute sits in the width-by-width matrices that muP rescales,
whereas a word vocabulary of the corpus (tens of thousands of words) would make the
readout the dominant cost at the widths a CPU affords and force a vocabulary cap.

Split (fixed, contiguous, no shuffling): the first ``1 - val_fraction`` of the character
stream trains, the rest validates. Training batches are blocks of ``context + 1``
consecutive characters at random offsets (input = the first ``context``, target = the
last ``context``: next-character prediction); validation uses fixed, evenly spaced,
non-overlapping blocks of the validation part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import _checks, runtime
from . import text

ALPHABET = " abcdefghijklmnopqrstuvwxyz"
VOCAB = len(ALPHABET)


def encode(s: str) -> torch.Tensor:
    """Token ids (len(s),) uint8 of a string over :data:`ALPHABET`."""
    raw = np.frombuffer(s.encode("ascii"), dtype=np.uint8)
    table = np.full(256, 255, dtype=np.uint8)
    table[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(VOCAB)
    ids = table[raw]
    if (ids == 255).any():
        bad = sorted({chr(c) for c in raw[ids == 255]})[:5]
        raise ValueError(f"characters outside the alphabet a-z and space: {bad}")
    return torch.from_numpy(ids.copy())


def decode(ids: torch.Tensor | np.ndarray) -> str:
    """The string of token ids (any integer array)."""
    return "".join(ALPHABET[int(i)] for i in np.asarray(ids).ravel())


@dataclass(frozen=True)
class CharCorpus:
    """``train`` and ``val``: token ids (N,) uint8 of the two contiguous parts."""

    name: str
    train: torch.Tensor
    val: torch.Tensor

    @property
    def vocab(self) -> int:
        return VOCAB


def load(
    corpus: str = "auto",
    *,
    max_chars: int | None = None,
    val_fraction: float = 0.1,
    progress: bool = False,
) -> CharCorpus:
    """The corpus (:func:`mupbook.data.text.read_tokens`: ``auto`` is the offline corpus
    when ``MUPBOOK_DATA`` holds it, else text8) as characters, its first ``max_chars``
    characters only when given, split into train and validation."""
    frac = _checks.probability(val_fraction, "val_fraction")
    if not 0 < frac < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    if max_chars is not None:
        max_chars = _checks.positive_int(max_chars, "max_chars")
    name = text.resolve_corpus(corpus)
    # A word is at least 2 characters with its space: this many words suffice.
    words = None if max_chars is None else max_chars // 2 + 1
    stream = " ".join(text.read_tokens(name, max_tokens=words, progress=progress))
    if max_chars is not None:
        stream = stream[:max_chars]
    ids = encode(stream)
    n_val = int(round(frac * ids.numel()))
    if n_val < 2 or ids.numel() - n_val < 2:
        raise ValueError(
            f"{ids.numel()} characters cannot be split with val_fraction {frac}"
        )
    return CharCorpus(name, ids[:-n_val], ids[-n_val:])


def _blocks(
    ids: torch.Tensor, starts: torch.Tensor, context: int
) -> tuple[torch.Tensor, torch.Tensor]:
    idx = starts.view(-1, 1) + torch.arange(context + 1).view(1, -1)
    block = ids[idx].long()
    return block[:, :-1], block[:, 1:]


def train_batches(
    ids: torch.Tensor,
    steps: int,
    batch_size: int,
    context: int,
    seed: int,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets (steps, batch_size, context) int64: blocks of ``context + 1``
    characters of ``ids`` at offsets drawn uniformly from ``generator(seed)``."""
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    context = _checks.positive_int(context, "context")
    span = ids.numel() - context
    if span < 1:
        raise ValueError(f"{ids.numel()} characters hold no block of {context + 1}")
    starts = torch.randint(
        0, span, (steps * batch_size,), generator=runtime.generator(seed)
    )
    x, y = _blocks(ids, starts, context)
    dev = runtime.device(None if device is None else str(device))
    shape = (steps, batch_size, context)
    return x.view(shape).to(dev), y.view(shape).to(dev)


def eval_blocks(
    ids: torch.Tensor,
    count: int,
    context: int,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` fixed, evenly spaced, non-overlapping blocks of ``ids``: inputs and
    targets (count, context) int64 (the same for every run)."""
    count = _checks.positive_int(count, "count")
    context = _checks.positive_int(context, "context")
    span = ids.numel() - context
    if span < 1 or span - 1 < (count - 1) * (context + 1):
        raise ValueError(
            f"{ids.numel()} characters hold fewer than {count} blocks of {context + 1}"
        )
    starts = torch.linspace(0, span - 1, count).long()
    x, y = _blocks(ids, starts, context)
    dev = runtime.device(None if device is None else str(device))
    return x.to(dev), y.to(dev)

"""Text for Word2Vec: text8 and the offline corpus, vocabulary, subsampling, CBOW windows,
negative sampling, and the Google analogy set.

Two corpora, one interface (:func:`load_corpus`):

* ``"text8"``: the first 10^8 bytes of an English Wikipedia dump, cleaned to lowercase
  a-z words (Matt Mahoney; 17,005,207 tokens). Looked for as ``text8.zip`` or ``text8``
  in ``$MUPBOOK_DATA/text`` (when set), then in the cache (``~/.cache/mupbook/text``),
  where it is downloaded on first use from :data:`TEXT8_URL` and sha256-checked.
* ``"offline"``: ``$MUPBOOK_DATA/text/offline_corpus.txt.gz`` (2,274,475 tokens in text8
  format), which exists only in the offline data folder of the development machines.
* ``"auto"``: the offline corpus when it is there, else text8.

Every file read from the offline folder, and text8 wherever it is found, must have its
pinned size and SHA-256 (:mod:`mupbook.data.offline`): a cut or altered copy is an error
that names the file and what to do.

word2vec's conventions, followed here (and by gensim): the vocabulary keeps words seen at
least ``min_count`` times, most frequent first (``max_vocab`` keeps only the first ones);
tokens outside it are dropped *before* windows are formed; the corpus is cut into
"sentences" of :data:`SENTENCE_LENGTH` raw tokens (text8 has no punctuation; gensim's
``Text8Corpus`` does the same) and no window crosses a sentence boundary; a word of count
``f`` out of ``T`` kept tokens survives subsampling with probability
``min(1, (sqrt(f / (s T)) + 1) (s T) / f)``; each target gets a reduced window ``r``
uniform in ``1..window``; negatives are drawn from ``count^0.75``.
"""

from __future__ import annotations

import gzip
import math
import os
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import _checks, runtime
from . import download as _download
from . import offline

TEXT8_URL = "http://mattmahoney.net/dc/text8.zip"
#: sha256 and size of text8.zip and of its one member ``text8`` (as pinned by many
#: independent projects; the size is the one in TensorFlow's word2vec tutorial).
TEXT8_ZIP_SHA256 = "a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232"
TEXT8_ZIP_BYTES = 31_344_016
TEXT8_SHA256 = "6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7"
TEXT8_BYTES = 100_000_000
TEXT8_TOKENS = 17_005_207
OFFLINE_FILE = "offline_corpus.txt.gz"
OFFLINE_TOKENS = 2_274_475
ANALOGY_FILE = "questions-words.txt"
#: the Google analogy set as shipped in gensim's test data (same bytes as word2vec's).
ANALOGY_URL = (
    "https://raw.githubusercontent.com/piskvorky/gensim/4.4.0/gensim/test/"
    "test_data/questions-words.txt"
)
ANALOGY_SHA256 = "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36"
ANALOGY_QUESTIONS = 19_544
CORPORA = ("auto", "offline", "text8")
SENTENCE_LENGTH = 10_000
#: word2vec's ``compute-accuracy`` and gensim's evaluation look only at the most
#: frequent 30,000 words (questions with a rarer word are skipped).
ANALOGY_RESTRICT = 30_000


# ------------------------------------------------------------------------ files


def _offline_folder() -> Path | None:
    return (
        runtime.data_dir("text")
        if os.environ.get("MUPBOOK_DATA", "").strip()
        else None
    )


def _cache_folder() -> Path:
    return runtime.user_cache_dir() / "text"


def sha256sum(path: Path) -> str:
    """Hex sha256 of a file."""
    return _download.file_digest(path, "sha256")


_fetch = _download.fetch  # module attribute, so tests can replace it


def download(url: str, dest: Path, sha256: str, *, progress: bool = True) -> Path:
    """``dest``, downloaded from ``url`` unless already there with the right sha256.

    The download goes to a temporary file that is renamed only once its sha256 matches
    (so a partial or corrupt file never appears under the final name).
    """
    return _download.fetch_checked(
        url,
        dest,
        "sha256",
        sha256,
        offline_folder="text",
        fetch=_fetch,
        progress=progress,
    )


def text8_path(*, progress: bool = True) -> Path:
    """``text8.zip`` (or an unzipped ``text8``): offline folder, cache, else downloaded;
    a copy found is checked (size, SHA-256) once per process."""
    pins = {
        "text8.zip": (TEXT8_ZIP_BYTES, TEXT8_ZIP_SHA256),
        "text8": (TEXT8_BYTES, TEXT8_SHA256),
    }
    for folder in (_offline_folder(), _cache_folder()):
        if folder is None:
            continue
        for name in ("text8.zip", "text8"):
            if (folder / name).is_file():
                advice = (
                    offline.OFFLINE_ADVICE
                    if folder != _cache_folder()
                    else f"Delete {folder / name} and run again: it is downloaded anew."
                )
                return offline.verify(
                    folder / name, f"text/{name}", expected=pins[name], advice=advice
                )
    return download(
        TEXT8_URL, _cache_folder() / "text8.zip", TEXT8_ZIP_SHA256, progress=progress
    )


def analogy_path(*, progress: bool = True) -> Path:
    """``questions-words.txt``: the offline folder when set (checked: size, SHA-256), else
    the cache (downloaded and checked)."""
    folder = _offline_folder()
    if folder is not None and (folder / ANALOGY_FILE).is_file():
        return offline.verify(
            folder / ANALOGY_FILE, f"text/{ANALOGY_FILE}", describe=_count_questions
        )
    return download(
        ANALOGY_URL, _cache_folder() / ANALOGY_FILE, ANALOGY_SHA256, progress=progress
    )


def _count_questions(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    n = sum(1 for line in lines if line.strip() and not line.startswith(":"))
    return f"it holds {n:,} of the {ANALOGY_QUESTIONS:,} questions"


def _count_tokens(path: Path) -> str:
    with gzip.open(path, "rb") as f:
        n = len(f.read().split())
    return f"it holds {n:,} tokens, the official corpus {OFFLINE_TOKENS:,}"


def _read_text8(path: Path) -> str:
    what_to_do = f"delete {path} and run again (it is downloaded anew), or fix the offline folder"
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                raw = zf.read("text8")
        else:
            raw = path.read_bytes()
    except (OSError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        raise ValueError(
            f"{path} is not a readable text8 file ({err}); {what_to_do}"
        ) from err
    if len(raw) != TEXT8_BYTES:
        raise ValueError(
            f"{path} holds {len(raw):,} bytes of text, text8 has {TEXT8_BYTES:,}: "
            f"it is truncated or not text8; {what_to_do}"
        )
    return raw.decode("ascii")


def _read_offline(path: Path) -> str:
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(
            f"{path} is not a readable gzip file ({err}); restore the offline data "
            "folder (see its README.md) or use corpus='text8'"
        ) from err
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path} is not in text8 format (lowercase a-z words): {err}"
        ) from err


def resolve_corpus(name: str = "auto") -> str:
    """``"offline"`` or ``"text8"``: ``auto`` means offline when its file exists."""
    if name not in CORPORA:
        raise ValueError(f"corpus must be one of {', '.join(CORPORA)}, got {name!r}")
    if name == "auto":
        folder = _offline_folder()
        return (
            "offline"
            if folder is not None and (folder / OFFLINE_FILE).is_file()
            else "text8"
        )
    return name


def read_tokens(
    name: str = "auto", *, max_tokens: int | None = None, progress: bool = True
) -> list[str]:
    """The corpus as a list of words (the first ``max_tokens`` when given)."""
    name = resolve_corpus(name)
    if name == "offline":
        folder = _offline_folder()
        if folder is None:
            raise FileNotFoundError(
                "the offline corpus exists only in the offline data folder: set MUPBOOK_DATA to "
                "the folder holding text/offline_corpus.txt.gz, or use corpus='text8' (downloaded)"
            )
        path = folder / OFFLINE_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"MUPBOOK_DATA is set but {path} does not exist; point MUPBOOK_DATA "
                "at the offline data folder, or use corpus='text8'"
            )
        text = _read_offline(
            offline.verify(path, f"text/{OFFLINE_FILE}", describe=_count_tokens)
        )
    else:
        text = _read_text8(text8_path(progress=progress))
    if max_tokens is not None:
        max_tokens = _checks.positive_int(max_tokens, "max_tokens")
    tokens = text.split(maxsplit=max_tokens) if max_tokens else text.split()
    if max_tokens is not None and len(tokens) > max_tokens:
        tokens = tokens[:max_tokens]
    if not tokens:
        raise ValueError(f"the {name} corpus is empty")
    return tokens


# ------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Vocab:
    """Words sorted by decreasing count (ties: first occurrence first); ``counts`` (V,)."""

    words: tuple[str, ...]
    counts: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._index  # type: ignore[attr-defined]

    def id(self, word: str) -> int:
        """The index of ``word``; a word outside the vocabulary is a clear KeyError."""
        try:
            return self._index[word]  # type: ignore[attr-defined]
        except KeyError:
            raise KeyError(
                f"{word!r} is not in the vocabulary ({len(self):,} words, min-count and "
                "max-vocab applied); try a more frequent word"
            ) from None

    def ids(self, words: Sequence[str]) -> np.ndarray:
        return np.array([self.id(w) for w in words], dtype=np.int64)

    def unigram(self, power: float = 0.75) -> np.ndarray:
        """Negative-sampling distribution ``count^power / sum`` (V,), float64."""
        p = self.counts.astype(np.float64) ** power
        return p / p.sum()


def build_vocab(
    tokens: Sequence[str],
    min_count: int = 5,
    max_vocab: int | None = None,
    extra_words: Sequence[str] = (),
) -> Vocab:
    """Words with count >= ``min_count``, most frequent first, at most ``max_vocab`` of them
    plus those of ``extra_words`` that reach ``min_count`` (e.g. the cities and states of a
    figure); the result is sorted by decreasing count, ties by first occurrence."""
    min_count = _checks.positive_int(min_count, "min_count")
    if max_vocab is not None:
        max_vocab = _checks.integer(max_vocab, "max_vocab", minimum=2)
    uniq, first, counts = np.unique(
        np.asarray(tokens), return_index=True, return_counts=True
    )
    order = np.lexsort((first, -counts))  # by count desc, then first occurrence
    order = order[counts[order] >= min_count]
    if max_vocab is not None:
        extra = np.isin(
            uniq[order[max_vocab:]], np.asarray(list(extra_words), dtype=uniq.dtype)
        )
        order = np.concatenate([order[:max_vocab], order[max_vocab:][extra]])
    if len(order) < 2:
        raise ValueError(
            f"only {len(order)} words occur at least {min_count} times; lower min_count"
        )
    return Vocab(tuple(str(w) for w in uniq[order]), counts[order].astype(np.int64))


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's subsampling: keep a token of count f with ``min(1, (sqrt(f/t)+1) t/f)``,
    ``t = sample * sum(counts)`` (``sample=0``: keep everything)."""
    if not 0 <= sample < 1:
        raise ValueError(f"sample must lie in [0, 1), got {sample}")
    counts = np.asarray(counts, dtype=np.float64)
    if sample == 0:
        return np.ones_like(counts)
    t = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / t) + 1) * t / counts)


# ---------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Corpus:
    """A corpus encoded over its vocabulary: ``ids`` (N,) int64 of the in-vocabulary tokens
    in order, ``sentence`` (N,) int64 sentence number of each (raw position // 10,000)."""

    name: str
    vocab: Vocab
    ids: np.ndarray
    sentence: np.ndarray
    raw_tokens: int

    def __len__(self) -> int:
        return len(self.ids)


def encode(tokens: Sequence[str], vocab: Vocab, name: str = "corpus") -> Corpus:
    """Drop the tokens outside ``vocab`` (as word2vec does) and number the sentences."""
    lookup = vocab._index  # type: ignore[attr-defined]
    raw = np.fromiter(
        (lookup.get(t, -1) for t in tokens), dtype=np.int64, count=len(tokens)
    )
    pos = np.flatnonzero(raw >= 0)
    return Corpus(name, vocab, raw[pos], pos // SENTENCE_LENGTH, len(tokens))


def training_positions(corpus: Corpus) -> int:
    """Positions that have a context at any window >= 1 (before subsampling): the tokens
    whose sentence holds at least one other in-vocabulary token."""
    if len(corpus) == 0:
        return 0
    starts = np.flatnonzero(
        np.r_[True, corpus.sentence[1:] != corpus.sentence[:-1], True]
    )
    sizes = np.diff(starts)
    return int(sizes[sizes >= 2].sum())


def check_trainable(corpus: Corpus) -> int:
    """The number of training positions of ``corpus``; a ValueError that says what is
    needed when there is none (CBOW would train nothing and report a loss of 0)."""
    n = training_positions(corpus)
    if n == 0:
        raise ValueError(
            f"the {corpus.name} corpus gives no CBOW training position: {len(corpus):,} in-vocabulary "
            f"tokens out of {corpus.raw_tokens:,} read, and a position needs at least two of them in "
            f"one sentence ({SENTENCE_LENGTH:,} raw tokens). Use more tokens (max_tokens), a lower "
            "min_count or a larger vocabulary."
        )
    return n


def load_corpus(
    name: str = "auto",
    *,
    min_count: int = 5,
    max_vocab: int | None = None,
    max_tokens: int | None = None,
    extra_words: Sequence[str] = (),
    progress: bool = True,
) -> Corpus:
    """Read, build the vocabulary (:func:`build_vocab`) and encode: one entry point for both
    corpora."""
    resolved = resolve_corpus(name)
    tokens = read_tokens(resolved, max_tokens=max_tokens, progress=progress)
    return encode(
        tokens, build_vocab(tokens, min_count, max_vocab, extra_words), resolved
    )


def sentences(tokens: Sequence[str]) -> list[list[str]]:
    """The raw tokens cut into the sentences of :data:`SENTENCE_LENGTH` words (for gensim)."""
    return [
        list(tokens[i : i + SENTENCE_LENGTH])
        for i in range(0, len(tokens), SENTENCE_LENGTH)
    ]


# ---------------------------------------------------------------- CBOW batches


@dataclass(frozen=True)
class CbowBatch:
    """B training positions: ``target`` (B,); context as flat pairs: ``context`` (M,) word
    ids and ``owner`` (M,) the position (0..B-1) each belongs to, grouped by position in
    order (``owner`` nondecreasing); ``count`` (B,) context sizes (>= 1); ``offsets`` (B,)
    where each position's context starts in ``context`` (None: derived from ``count``)."""

    target: torch.Tensor
    context: torch.Tensor
    owner: torch.Tensor
    count: torch.Tensor
    offsets: torch.Tensor | None = None

    def context_offsets(self) -> torch.Tensor:
        """``offsets``, or the exclusive cumulative sum of ``count``."""
        if self.offsets is not None:
            return self.offsets
        return torch.cumsum(self.count, 0) - self.count


def subsample(
    corpus: Corpus, sample: float, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's kept tokens: (ids, sentence) after random subsampling."""
    keep = (
        gen.random(len(corpus))
        < keep_probabilities(corpus.vocab.counts, sample)[corpus.ids]
    )
    return corpus.ids[keep], corpus.sentence[keep]


#: positions whose windows :func:`cbow_batches` builds in one vectorized pass
CBOW_CHUNK = 1 << 16


def cbow_batches(
    ids: np.ndarray,
    sentence: np.ndarray,
    window: int,
    batch_size: int,
    gen: np.random.Generator,
    device: torch.device | str = "cpu",
    chunk: int = CBOW_CHUNK,
) -> Iterator[CbowBatch]:
    """CBOW (context, target) batches over the (subsampled) token stream, in order.

    Position i gets a reduced window r_i uniform in 1..window; its context is every
    token j != i with |i - j| <= r_i in the same sentence. Positions without context
    are skipped (they would not change the weights). Windows are built for about
    ``chunk`` positions at once (numpy, moved to ``device`` once), then cut into batches
    of ``batch_size`` positions (the last of each chunk may be smaller).
    """
    if window < 1 or batch_size < 1:
        raise ValueError(
            f"window and batch_size must be >= 1, got {window}, {batch_size}"
        )
    n = len(ids)
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
    reach = np.abs(offsets)
    step = batch_size * max(1, chunk // batch_size)
    for start in range(0, n, step):
        pos = np.arange(start, min(start + step, n))
        r = gen.integers(1, window + 1, size=len(pos))
        j = pos[:, None] + offsets[None, :]
        valid = (reach[None, :] <= r[:, None]) & (j >= 0) & (j < n)
        jc = np.clip(j, 0, n - 1)
        valid &= sentence[jc] == sentence[pos][:, None]
        count = valid.sum(1)
        has = count > 0
        if not has.any():
            continue
        valid, jc, pos, count = valid[has], jc[has], pos[has], count[has]
        P = len(pos)
        local = np.arange(P) % batch_size  # index of each position inside its batch
        ends = np.cumsum(count)
        starts = ends - count
        first = starts[
            np.arange(P) - local
        ]  # where each position's batch starts in the context
        target = torch.from_numpy(ids[pos]).to(device)
        context = torch.from_numpy(ids[jc[valid]]).to(device)
        owner = torch.from_numpy(np.repeat(local, count)).to(device)
        count_t = torch.from_numpy(count).to(device)
        offs = torch.from_numpy(starts - first).to(device)
        for b0 in range(0, P, batch_size):
            b1 = min(b0 + batch_size, P)
            lo, hi = int(starts[b0]), int(ends[b1 - 1])
            yield CbowBatch(
                target[b0:b1],
                context[lo:hi],
                owner[lo:hi],
                count_t[b0:b1],
                offs[b0:b1],
            )


class NegativeSampler:
    """Draws negatives from ``count^0.75`` exactly, by Walker's alias method (Vose's
    construction): draw a word ``i`` uniformly, keep it with probability ``keep[i]``, else
    take ``alias[i]``; two table lookups per draw, no search."""

    def __init__(
        self, vocab: Vocab, power: float = 0.75, device: torch.device | str = "cpu"
    ) -> None:
        keep, alias = alias_tables(vocab.unigram(power))
        self.keep = torch.from_numpy(keep).to(device)
        self.alias = torch.from_numpy(alias).to(device)
        self.V = len(vocab)

    def sample(self, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
        """int64 word ids of the given shape (``gen``: a CPU generator)."""
        n = math.prod(shape)
        i = torch.randint(0, self.V, (n,), generator=gen).to(self.keep.device)
        u = torch.rand(n, generator=gen, dtype=torch.float64).to(self.keep.device)
        return torch.where(
            u < self.keep.index_select(0, i), i, self.alias.index_select(0, i)
        ).view(shape)


def alias_tables(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker alias tables of a distribution ``p`` (V,): ``keep`` (V,) float64, ``alias`` (V,)
    int64, such that ``P(i) = (keep[i] + sum_{j: alias[j] = i} (1 - keep[j])) / V`` (Vose)."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or not np.isfinite(p).all() or (p < 0).any() or not p.sum() > 0:
        raise ValueError(
            f"p must be 1-D weights that are finite, >= 0 and not all 0, got {p!r:.200}"
        )
    V = len(p)
    scaled = p * (V / p.sum())
    keep = np.ones(V)
    alias = np.arange(V, dtype=np.int64)
    small = [i for i in range(V) if scaled[i] < 1.0]
    large = [i for i in range(V) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        keep[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    # what is left has scaled == 1 up to rounding: keep[i] = 1 (alias[i] = i, never used)
    return keep, alias


# -------------------------------------------------------------- analogy set


@dataclass(frozen=True)
class Analogies:
    """Analogy questions ``a : b :: c : d`` over a vocabulary: ``questions`` (Q, 4) ids,
    ``section`` (Q,) index into ``sections``; ``total`` questions in the file, ``skipped``
    those with a word outside the (restricted) vocabulary."""

    questions: np.ndarray
    section: np.ndarray
    sections: tuple[str, ...]
    total: int
    skipped: int
    restrict: int


def read_analogy_file(
    path: Path | None = None,
) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """(section name, lowercase questions) pairs of ``questions-words.txt``."""
    path = analogy_path() if path is None else Path(path)
    out: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(":"):
            out.append((line[1:].strip(), []))
            continue
        words = line.lower().split()
        if not words:
            continue
        if len(words) != 4 or not out:
            raise ValueError(
                f"{path}:{n} is not a question 'a b c d' inside a ': section': {line!r}"
            )
        out[-1][1].append(tuple(words))  # type: ignore[arg-type]
    if not out:
        raise ValueError(f"{path} holds no analogy sections")
    return out


def check_restrict(restrict: int) -> int:
    """``restrict`` (how many of the most frequent words an evaluation searches), checked: a
    positive integer (a negative one would silently drop words from the end)."""
    if (
        isinstance(restrict, bool)
        or not isinstance(restrict, (int, np.integer))
        or restrict < 1
    ):
        raise ValueError(f"restrict must be a positive integer, got {restrict!r}")
    return int(restrict)


def analogies(
    vocab: Vocab, restrict: int = ANALOGY_RESTRICT, path: Path | None = None
) -> Analogies:
    """The questions whose four words are among the ``restrict`` most frequent of ``vocab``
    (word2vec's and gensim's evaluation rule; lowercased, as the corpora are)."""
    check_restrict(restrict)
    allowed = {w: i for i, w in enumerate(vocab.words[:restrict])}
    qs, sec, names, total = [], [], [], 0
    for s, (name, questions) in enumerate(read_analogy_file(path)):
        names.append(name)
        for q in questions:
            total += 1
            if all(w in allowed for w in q):
                qs.append([allowed[w] for w in q])
                sec.append(s)
    q = np.array(qs, dtype=np.int64).reshape(-1, 4)
    return Analogies(
        q,
        np.array(sec, dtype=np.int64),
        tuple(names),
        total,
        total - len(q),
        min(restrict, len(vocab)),
    )

"""mupbook.data.omniglot: array layout, the Vinyals split, rotations, task sampling, download.

Tests marked by the ``offline`` fixture read the offline data folder named by
``MUPBOOK_DATA`` and skip when it is unset. The download tests never touch the
network: the fetch function is replaced by one that copies a small zip built here
in the official layout.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mupbook.data import offline as offline_files
from mupbook.data import omniglot as O

Image = pytest.importorskip("PIL.Image")


# ------------------------------------------------------------------------- fixtures


def _offline_root() -> Path:
    raw = os.environ.get("MUPBOOK_DATA", "").strip()
    if not raw:
        pytest.skip(
            "MUPBOOK_DATA is unset: these tests need the offline data folder (omniglot/)"
        )
    return Path(raw) / "omniglot"


@pytest.fixture(scope="module")
def offline() -> Path:
    """The offline omniglot folder (skips without MUPBOOK_DATA)."""
    return _offline_root()


@pytest.fixture(scope="module")
def arrays(offline: Path) -> dict[str, np.ndarray]:
    with np.load(offline / O.ARRAY_FILE, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


@pytest.fixture(scope="module")
def data(offline: Path) -> O.Omniglot:
    return O.load_omniglot(progress=False)


@pytest.fixture(scope="module")
def train_pool(data: O.Omniglot) -> O.FewShotPool:
    return O.few_shot_pool(data, "train")


def _bits_105(offline: Path, rows: np.ndarray) -> np.ndarray:
    """bool (len(rows), 105, 105) original images, True = ink."""
    with np.load(offline / "omniglot.npz") as npz:
        packed = npz["images_packed"][rows]
    return (
        np.unpackbits(packed, axis=1, count=105 * 105)
        .reshape(-1, 105, 105)
        .astype(bool)
    )


def _png_like_official(ink: np.ndarray) -> "Image.Image":
    """A mode-1 image as in the official zips: white (1) paper, black (0) ink."""
    return Image.fromarray(~ink)


# ------------------------------------------------------------------ the offline arrays


def test_offline_file_has_the_documented_shapes_and_labels(arrays):
    assert (
        arrays["images"].shape == (32460, 28, 28)
        and arrays["images"].dtype == np.uint8
    )
    assert O.layout_problems(arrays) == []
    split, char_id = arrays["split"], arrays["char_id"]
    assert (
        len(np.unique(char_id[split == 0])) == 964
        and len(np.unique(char_id[split == 1])) == 659
    )
    assert len(np.unique(arrays["alphabet"][split == 0])) == 30
    assert len(np.unique(arrays["alphabet"][split == 1])) == 20
    assert np.array_equal(np.bincount(arrays["drawer"])[1:], np.full(20, 1623))
    # ink is 255 and rare: most pixels are paper (0)
    assert np.median(arrays["images"]) == 0 and arrays["images"].max() == 255


def test_rows_are_char_id_major_and_drawer_minor(arrays, data):
    i = np.arange(32460)
    assert np.array_equal(
        i, (arrays["char_id"].astype(int) - 1) * 20 + arrays["drawer"] - 1
    )
    assert torch.equal(
        data.char_id, torch.from_numpy(arrays["char_id"].astype(np.int64))
    )
    assert torch.equal(data.drawer - 1, torch.arange(32460) % 20)
    # alphabets are contiguous blocks with characters numbered 1, 2, ... inside each
    first = arrays["character"][::20]
    alphabet = arrays["alphabet"][::20]
    starts = np.r_[True, alphabet[1:] != alphabet[:-1]]
    assert len(np.unique(alphabet)) == starts.sum() == 50
    assert np.all(first[starts] == 1) and np.all(np.diff(first)[~starts[1:]] == 1)


def test_offline_pixels_are_lanczos_of_the_originals_with_ink_255(offline, arrays):
    rows = np.random.default_rng(0).choice(32460, 150, replace=False)
    mine = np.stack(
        [O.resize_to_28(_png_like_official(b)) for b in _bits_105(offline, rows)]
    )
    assert np.array_equal(mine, arrays["images"][rows])


def test_loaded_images_are_floats_in_unit_interval_with_ink_one(arrays, data):
    assert data.images.shape == (32460, 28, 28) and data.images.dtype == torch.float32
    assert torch.equal(
        data.images[:40] * 255, torch.from_numpy(arrays["images"][:40]).float()
    )
    flat = data.flat()
    assert flat.images.shape == (32460, 784) and torch.equal(
        flat.square().images, data.images
    )
    assert len(data.background()) == 964 * 20 and len(data.evaluation()) == 659 * 20
    assert data.class_names()[709] == "Alphabet_of_the_Magi/character01"


def test_float64_load_is_exact_pixel_over_255(arrays, offline):
    x = O.load_omniglot(flatten=True, dtype=torch.float64, progress=False).images
    assert x.shape == (32460, 784) and x.dtype == torch.float64
    assert torch.equal(
        x[:20],
        torch.from_numpy(arrays["images"][:20].reshape(20, 784)).double() / 255,
    )


# ---------------------------------------------------------------- missing or corrupt


def test_missing_offline_file_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="MUPBOOK_DATA.*unset MUPBOOK_DATA"):
        O.load_omniglot(progress=False)


def test_missing_data_folder_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="not an existing folder"):
        O.load_omniglot(progress=False)


def _small_good_arrays() -> dict[str, np.ndarray]:
    n = 5 * 20
    row = np.arange(n)
    return {
        "images": np.zeros((n, 28, 28), np.uint8),
        "alphabet": np.zeros(n, np.int16),
        "alphabet_names": np.array(["A"]),
        "character": (row // 20 + 1).astype(np.int16),
        "char_id": (row // 20 + 1).astype(np.int16),
        "drawer": (row % 20 + 1).astype(np.int8),
        "split": (row // 20 + 1 > 3).astype(np.uint8),
    }


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncate", "not a readable array file"),
        ("shape", "images should be uint8"),
        ("order", "char_id != row"),
        ("missing", "missing arrays"),
    ],
)
def test_corrupt_offline_file_says_what_to_do(monkeypatch, tmp_path, damage, message):
    monkeypatch.setattr(
        offline_files, "verify", lambda path, key, **kw: path
    )  # the checks behind the digest
    monkeypatch.setattr(
        O, "N_CHARACTERS", {"images_background": 3, "images_evaluation": 2}
    )
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path))
    (tmp_path / "omniglot").mkdir()
    path = tmp_path / "omniglot" / O.ARRAY_FILE
    good = _small_good_arrays()
    O.save_arrays_atomically(path, good)
    assert O.layout_problems(O.read_arrays(path)) == []  # the undamaged file is fine
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-200])
    elif damage == "shape":
        O.save_arrays_atomically(path, {**good, "images": good["images"][:, :27]})
    elif damage == "order":
        O.save_arrays_atomically(
            path, {**good, "char_id": good["char_id"][::-1].copy()}
        )
    else:
        O.save_arrays_atomically(
            path, {k: v for k, v in good.items() if k != "drawer"}
        )
    with pytest.raises(ValueError, match=message) as err:
        O.load_omniglot(progress=False)
    assert "restore the offline data folder" in str(err.value)


# ------------------------------------------------------------------- the Vinyals split


def test_vinyals_split_sizes_and_rotations():
    sizes = {"train": 1028, "val": 172, "test": 423}
    chars = {}
    for name, n in sizes.items():
        lines = O.vinyals_split(name)
        assert len(lines) == 4 * n
        chars[name] = {line.rsplit("/", 1)[0] for line in lines}
        assert len(chars[name]) == n
        rots = [line.rsplit("/", 1)[1] for line in lines]
        assert rots == ["rot000", "rot090", "rot180", "rot270"] * n
    assert not (
        chars["train"] & chars["val"]
        or chars["train"] & chars["test"]
        or chars["val"] & chars["test"]
    )
    assert len(chars["train"] | chars["val"] | chars["test"]) == 1623
    assert O.vinyals_split("trainval") == O.vinyals_split("train") + O.vinyals_split(
        "val"
    )


def test_shipped_split_files_equal_the_offline_ones(offline):
    for name in ("train", "val", "test", "trainval"):
        assert (
            O.vinyals_split(name)
            == (offline / "splits" / f"vinyals_{name}.txt").read_text().split()
        )


def test_split_pools_cover_every_character_once(data):
    seen = []
    for name, n in (("train", 1028), ("val", 172), ("test", 423)):
        pool = O.few_shot_pool(data, name, rotations=False)
        assert pool.num_classes == n and pool.images.shape == (20 * n, 784)
        assert torch.equal(pool.rotation, torch.zeros(n, dtype=torch.int64))
        seen.append(pool.images)
    assert sum(len(x) for x in seen) == 32460


def test_rotation_classes_are_rotated_images_of_the_base_class(train_pool, data):
    names = train_pool.names
    for c0 in (
        0,
        4 * 500,
        4 * 1027,
    ):  # the four rotations of a character follow each other
        base = train_pool.class_images(c0)
        assert names[c0].endswith("rot000")
        for k in (1, 2, 3):
            assert names[c0 + k] == names[c0][:-3] + f"{90 * k:03d}"
            assert torch.equal(
                train_pool.class_images(c0 + k), torch.rot90(base, k, dims=(-2, -1))
            )
            assert not torch.equal(train_pool.class_images(c0 + k), base)
    # the base class holds the data's images of that character, in drawer order
    alphabet_char = names[0].rsplit("/", 1)[0]
    char_id = {v: k for k, v in data.class_names().items()}[alphabet_char]
    assert torch.equal(
        train_pool.class_images(0), data.images[(char_id - 1) * 20 : char_id * 20]
    )


def test_rotation_direction_matches_pillow_rotate_used_by_protonets_and_torchmeta(
    offline, arrays
):
    """Pillow's rotate(DDD) of the 105 px original, then resized, is torch.rot90 with
    k = DDD / 90 of our 28 px image (up to Pillow's two-pass rounding); the other
    directions are far off."""
    rows = np.arange(5, 32460, 811)
    bits = _bits_105(offline, rows)
    for k in (1, 3):
        err = {
            kk: np.mean(
                [
                    np.abs(
                        O.resize_to_28(_png_like_official(b).rotate(90 * k)).astype(
                            int
                        )
                        - np.rot90(arrays["images"][r], kk)
                    )
                    for b, r in zip(bits, rows)
                ]
            )
            for kk in range(4)
        }
        assert err[k] < 2.0 and min(v for kk, v in err.items() if kk != k) > 15.0


# --------------------------------------------------------------------- task sampler


def _synthetic_pool(n_chars: int = 6, seed: int = 0) -> O.FewShotPool:
    """Random distinct images; class c is character c // 2 turned by (c % 2) * (1 + c // 2 % 3)."""
    rng = np.random.default_rng(seed)
    images = torch.from_numpy(
        rng.integers(0, 256, (n_chars * 20, 784), dtype=np.uint8)
    )
    c = torch.arange(2 * n_chars)
    rows = (c // 2)[:, None] * 20 + torch.arange(20)
    rotation = (c % 2) * (1 + (c // 2) % 3)
    return O.FewShotPool(
        images,
        rows,
        rotation,
        tuple(
            f"A/character{i // 2 + 1:02d}/rot{90 * int(r):03d}"
            for i, r in enumerate(rotation)
        ),
    )


def _check_tasks(
    pool: O.FewShotPool, t: O.Tasks, n: int, k: int, q: int, b: int
) -> None:
    assert t.support_x.shape == (b, n * k, 784) and t.query_x.shape == (b, n * q, 784)
    assert t.support_y.shape == (b, n * k) and t.query_y.shape == (b, n * q)
    assert t.support_y.dtype == t.query_y.dtype == torch.int64
    assert torch.equal(t.support_y[0], torch.arange(n).repeat_interleave(k))
    assert torch.equal(t.query_y, torch.arange(n).repeat_interleave(q).expand(b, -1))
    assert 0 <= float(t.support_x.min()) and float(t.support_x.max()) <= 1
    # no class twice in a task, no drawer twice in a class (so support and query are disjoint)
    assert (t.classes.sort(dim=1).values.diff(dim=1) > 0).all()
    assert (t.drawers.sort(dim=2).values.diff(dim=2) > 0).all()
    assert 0 <= int(t.classes.min()) and int(t.classes.max()) < pool.num_classes
    # every image is the (rotated) drawing of its label's class and drawer
    for task in range(b):
        for j in range(n):
            imgs = pool.class_images(
                int(t.classes[task, j]), dtype=t.support_x.dtype
            ).reshape(20, 784)
            want = imgs[t.drawers[task, j]]
            assert torch.equal(t.support_x[task, j * k : (j + 1) * k], want[:k])
            assert torch.equal(t.query_x[task, j * q : (j + 1) * q], want[k:])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 10),
    q=st.integers(1, 10),
    b=st.integers(1, 4),
    seed=st.integers(0, 2**40),
)
def test_tasks_have_right_shapes_labels_and_images(n, k, q, b, seed):
    if k + q > 20:
        k, q = 10, 10
    pool = _synthetic_pool()
    _check_tasks(pool, O.sample_tasks(pool, n, k, q, b, generator=seed), n, k, q, b)


def test_support_and_query_share_no_image():
    pool = _synthetic_pool()
    t = O.sample_tasks(pool, 12, 5, 15, 8, generator=3)
    same = (t.support_x[:, :, None, :] == t.query_x[:, None, :, :]).all(
        dim=-1
    )  # (B, NK, NQ)
    assert not same.any()


def test_tasks_repeat_for_a_seed_and_differ_across_seeds():
    pool = _synthetic_pool()
    a = O.sample_tasks(pool, 5, 1, 5, 16, generator=7)
    b = O.sample_tasks(pool, 5, 1, 5, 16, generator=torch.Generator().manual_seed(7))
    c = O.sample_tasks(pool, 5, 1, 5, 16, generator=8)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert not torch.equal(a.classes, c.classes) and not torch.equal(
        a.support_x, c.support_x
    )
    # tasks within a batch differ, and label order is random (not sorted class ids)
    assert len({tuple(r) for r in a.classes.tolist()}) > 1
    assert not (a.classes.diff(dim=1) > 0).all()


def test_one_generator_gives_fresh_tasks_on_each_call():
    pool = _synthetic_pool()
    gen = torch.Generator().manual_seed(0)
    first, second = (
        O.sample_tasks(pool, 5, 1, 1, 4, generator=gen) for _ in range(2)
    )
    assert not torch.equal(first.classes, second.classes)


def test_class_and_drawer_frequencies_are_uniform():
    pool = _synthetic_pool()
    t = O.sample_tasks(pool, 3, 2, 2, 4000, generator=11)
    counts = torch.bincount(t.classes.flatten(), minlength=12).double()
    first = torch.bincount(t.classes[:, 0], minlength=12).double()
    drawers = torch.bincount(t.drawers.flatten(), minlength=20).double()
    for hist in (counts, first, drawers):
        expected = hist.sum() / len(hist)
        assert ((hist - expected).abs() < 5 * expected.sqrt()).all()


def test_float64_tasks_are_exact_pixels_over_255():
    pool = _synthetic_pool()
    t = O.sample_tasks(
        pool, 4, 3, 2, 2, generator=0, dtype=torch.float64, device="cpu"
    )
    assert t.support_x.dtype == torch.float64
    _check_tasks(pool, t, 4, 3, 2, 2)


def test_real_train_pool_tasks(train_pool):
    t = O.sample_tasks(train_pool, 5, 1, 15, 32, generator=0)
    _check_tasks(train_pool, t, 5, 1, 15, 32)
    assert train_pool.num_classes == 4112 and train_pool.images.shape == (
        1028 * 20,
        784,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        ((13, 1, 1, 1), "exceeds the 12 classes"),
        ((5, 10, 11, 1), "exceeds the 20 drawings"),
        ((0, 1, 1, 1), "n_way must be a positive integer"),
        ((5, 0, 1, 1), "k_shot must be a positive integer"),
        ((5, 1, -1, 1), "q_query must be a positive integer"),
        ((5, 1, 1, 0), "batch_size must be a positive integer"),
        ((5.0, 1, 1, 1), "n_way must be a positive integer"),
        ((True, 1, 1, 1), "n_way must be a positive integer"),
    ],
)
def test_bad_task_arguments_are_errors(args, message):
    with pytest.raises(ValueError, match=message):
        O.sample_tasks(_synthetic_pool(), *args, generator=0)


def test_bad_dtype_generator_and_split_are_errors():
    pool = _synthetic_pool()
    with pytest.raises(ValueError, match="floating point"):
        O.sample_tasks(pool, 2, 1, 1, 1, generator=0, dtype=torch.int64)
    with pytest.raises(ValueError, match="seed"):
        O.sample_tasks(pool, 2, 1, 1, 1, generator=-1)
    with pytest.raises(
        ValueError, match="unknown split 'training'.*train, val, test"
    ):
        O.vinyals_split("training")


# ------------------------------------------------------- background classification


def test_background_classification_splits_by_seeded_drawers(data):
    split = O.background_classification(data, seed=0)
    assert split.x_train.shape == (964 * 15, 784) and split.x_test.shape == (
        964 * 5,
        784,
    )
    assert torch.equal(split.y_train, torch.arange(964).repeat_interleave(15))
    assert torch.equal(split.y_test, torch.arange(964).repeat_interleave(5))
    # the 15 + 5 images of class 0 are its 20 drawings, each once
    both = torch.cat([split.x_train[:15], split.x_test[:5]]).reshape(20, 784)
    mine = data.images[:20].reshape(20, 784)
    assert sorted(map(tuple, both.tolist())) == sorted(map(tuple, mine.tolist()))
    # train drawers are the same for every class: class 7 uses the same positions as class 0
    pos = [int((mine == x).all(dim=1).nonzero()) for x in split.x_train[:15]]
    assert torch.equal(
        split.x_train[7 * 15 : 8 * 15],
        data.images[7 * 20 : 8 * 20].reshape(20, 784)[pos],
    )
    again = O.background_classification(data, seed=0)
    other = O.background_classification(data, seed=1)
    assert torch.equal(again.x_test, split.x_test) and not torch.equal(
        other.x_test, split.x_test
    )


def test_background_classification_first_k_classes_and_square_images(data):
    small = O.background_classification(
        data, num_classes=10, train_drawers=12, flatten=False
    )
    assert small.x_train.shape == (120, 28, 28) and small.x_test.shape == (80, 28, 28)
    assert int(small.y_train.max()) == 9 and int(small.y_test.min()) == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 965}, "at most 964"),
        ({"num_classes": 0}, "num_classes"),
        ({"train_drawers": 20}, "below 20"),
    ],
)
def test_bad_classification_arguments_are_errors(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        O.background_classification(data, **kwargs)


# ------------------------------------------------------------- download path (no network)

FAKE_CHARS = {
    "images_background": [("Zeta", 1), ("Zeta", 2), ("Alpha", 1)],
    "images_evaluation": [("Omega", 1), ("Omega", 2)],
}


def _fake_zips(folder: Path, ink_of) -> dict[str, Path]:
    """Zips in the official layout: <name>/<Alphabet>/characterNN/XXXX_YY.png (mode 1 PNGs)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, char_id = {}, 0
    for name, chars in FAKE_CHARS.items():
        path = paths[name] = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(f"{name}/", b"")
            zf.writestr(f"{name}/Zeta/.DS_Store", b"junk")  # not an image: ignored
            for alphabet, nn in chars:
                char_id += 1
                for drawer in range(1, 21):
                    buf = io.BytesIO()
                    _png_like_official(ink_of(char_id, drawer)).save(
                        buf, format="PNG"
                    )
                    zf.writestr(
                        f"{name}/{alphabet}/character{nn:02d}/{char_id:04d}_{drawer:02d}.png",
                        buf.getvalue(),
                    )
    return paths


def _random_ink(char_id: int, drawer: int) -> np.ndarray:
    return np.random.default_rng(100 * char_id + drawer).random((105, 105)) < 0.1


@pytest.fixture
def cache(monkeypatch, tmp_path) -> Path:
    """An empty user cache, MUPBOOK_DATA unset, 5 fake characters (3 + 2)."""
    monkeypatch.delenv("MUPBOOK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(
        O, "N_CHARACTERS", {"images_background": 3, "images_evaluation": 2}
    )
    return tmp_path / "cache" / "mupbook" / "omniglot"


def _serve(
    monkeypatch,
    zips: dict[str, Path],
    *,
    md5: dict[str, str] | None = None,
    fail_after: int | None = None,
) -> list[str]:
    """Replace the URL fetch with a local copy; return the list of fetched URLs."""
    fetched: list[str] = []
    monkeypatch.setattr(
        O,
        "ZIP_MD5",
        md5 or {n: hashlib.md5(p.read_bytes()).hexdigest() for n, p in zips.items()},
    )

    def fake_fetch(url: str, dest: Path, *, progress: bool) -> None:
        assert url.startswith(O.URL_PREFIX)
        fetched.append(url)
        source = zips[Path(url).stem]
        if fail_after is None:
            shutil.copyfile(source, dest)
        else:
            Path(dest).write_bytes(source.read_bytes()[:fail_after])
            raise ConnectionResetError("connection lost mid-download")

    monkeypatch.setattr(O, "_fetch", fake_fetch)
    return fetched


def test_download_with_right_md5_is_converted_once_into_the_array_layout(
    monkeypatch, tmp_path, cache
):
    fetched = _serve(monkeypatch, _fake_zips(tmp_path / "src", _random_ink))
    data = O.load_omniglot(progress=False)
    assert sorted(Path(u).name for u in fetched) == [
        "images_background.zip",
        "images_evaluation.zip",
    ]
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [O.ARRAY_FILE, O.FULL_RES_FILE]
    )  # zips removed, no temp files
    arrays = O.read_arrays(cache / O.ARRAY_FILE)
    with np.load(cache / O.ARRAY_FILE) as npz:
        assert {k: npz[k].dtype.str for k in npz.files if k != "pixel_meaning"} == {
            "images": "|u1",
            "alphabet": "<i2",
            "alphabet_names": "<U5",
            "character": "<i2",
            "char_id": "<i2",
            "drawer": "|i1",
            "split": "|u1",
            "split_names": "<U10",
        }
    assert list(arrays["alphabet_names"]) == [
        "Zeta",
        "Alpha",
        "Omega",
    ]  # order of first char_id
    assert arrays["character"][::20].tolist() == [1, 2, 1, 1, 2]
    assert arrays["split"][::20].tolist() == [0, 0, 0, 1, 1]
    row = 3 * 20 + 6  # char_id 4, drawer 7
    assert np.array_equal(
        arrays["images"][row], O.resize_to_28(_png_like_official(_random_ink(4, 7)))
    )
    assert data.images.shape == (100, 28, 28)
    assert torch.equal(data.images * 255, torch.from_numpy(arrays["images"]).float())
    full = O.read_full_res(cache / O.FULL_RES_FILE)
    bits = np.unpackbits(full["images_packed"][row], count=105 * 105).reshape(
        105, 105
    )
    assert np.array_equal(bits, _random_ink(4, 7))
    bilinear = O.load_omniglot(progress=False, resize="bilinear")
    assert torch.equal(
        bilinear.images[row] * 255,
        torch.from_numpy(O.bilinear_28(bits[None])[0]).float(),
    )
    O.load_omniglot(progress=False)
    assert len(fetched) == 2  # later loads, bilinear included, read the cache


def test_conversion_of_official_pngs_reproduces_the_offline_arrays(
    monkeypatch, tmp_path, cache, offline, arrays
):
    real = {1: 1, 2: 2, 3: 27, 4: 965, 5: 966}  # fake char_id -> real char_id
    bits = _bits_105(
        offline,
        np.array([(real[c] - 1) * 20 + d for c in range(1, 6) for d in range(20)]),
    )
    _serve(
        monkeypatch,
        _fake_zips(tmp_path / "src", lambda c, d: bits[(c - 1) * 20 + d - 1]),
    )
    mine = O.read_arrays(O.array_file(progress=False))["images"]
    want = np.concatenate(
        [arrays["images"][(real[c] - 1) * 20 : real[c] * 20] for c in range(1, 6)]
    )
    assert np.array_equal(mine, want)


def test_wrong_md5_is_an_error_and_leaves_no_cache_file(monkeypatch, tmp_path, cache):
    zips = _fake_zips(tmp_path / "src", _random_ink)
    _serve(
        monkeypatch,
        zips,
        md5={"images_background": "0" * 32, "images_evaluation": "0" * 32},
    )
    with pytest.raises(ValueError, match="md5 .* expected 0{32}.*Run again"):
        O.load_omniglot(progress=False)
    assert list(cache.iterdir()) == []


def test_interrupted_download_leaves_no_partial_file(monkeypatch, tmp_path, cache):
    zips = _fake_zips(tmp_path / "src", _random_ink)
    _serve(monkeypatch, zips, fail_after=1000)
    with pytest.raises(ConnectionError, match="could not download .*MUPBOOK_DATA"):
        O.load_omniglot(progress=False)
    assert list(cache.iterdir()) == []


def test_unreachable_server_says_what_to_do(monkeypatch, cache):
    import urllib.error

    def offline(url, dest, *, progress):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(O, "_fetch", offline)
    with pytest.raises(
        ConnectionError, match="Check the internet connection.*MUPBOOK_DATA"
    ):
        O.load_omniglot(progress=False)
    assert list(cache.iterdir()) == []


def test_zip_missing_a_drawing_is_an_error_and_leaves_no_array_file(
    monkeypatch, tmp_path, cache
):
    zips = _fake_zips(tmp_path / "src", _random_ink)
    broken = tmp_path / "images_evaluation.zip"
    with (
        zipfile.ZipFile(zips["images_evaluation"]) as src,
        zipfile.ZipFile(broken, "w") as dst,
    ):
        for item in src.namelist():
            if not item.endswith("0005_20.png"):
                dst.writestr(item, src.read(item))
    _serve(monkeypatch, {**zips, "images_evaluation": broken})
    with pytest.raises(
        ValueError,
        match="images_evaluation.zip does not hold the expected 2 characters",
    ):
        O.load_omniglot(progress=False)
    assert not (cache / O.ARRAY_FILE).exists()
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temp files


def test_official_md5s_are_pinned():
    assert O.ZIP_MD5 == {
        "images_background": "68d2efa1b9178cc56df9314c21c6e718",
        "images_evaluation": "6b91aef0f799c5bb55b94e3f2daec811",
    }
    assert O.N_CHARACTERS == {"images_background": 964, "images_evaluation": 659}


# ----------------------------------------------------------- the paper's bilinear inputs


def test_bilinear_inputs_match_torch_antialiased_bilinear_within_one_grey_level(
    offline,
):
    """An independent implementation (torch's antialiased bilinear, made to follow Pillow's
    filter) agrees with the Pillow resize to one grey level of 255: rounding only."""
    rows = np.arange(0, 32460, 331)
    bits = _bits_105(offline, rows)
    ours = O.bilinear_28(bits).astype(np.int64)
    ink = torch.from_numpy(bits.astype(np.float64) * 255).unsqueeze(1)
    ref = torch.nn.functional.interpolate(
        ink, size=(28, 28), mode="bilinear", antialias=True, align_corners=False
    )
    assert np.abs(ref.squeeze(1).numpy() - ours).max() <= 1.0


def test_bilinear_load_keeps_the_metadata_and_differs_from_lanczos(data):
    bil = O.load_omniglot(progress=False, resize="bilinear")
    for k in ("char_id", "drawer", "split", "alphabet", "character"):
        assert torch.equal(getattr(bil, k), getattr(data, k))
    gap = (bil.images - data.images).abs()
    assert 0.01 < gap.mean() < 0.1  # same drawings, different filters
    assert bil.images.min() == 0 and bil.images.max() == 1


def test_unknown_resize_and_missing_full_res_file_are_errors(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="resize must be one of"):
        O.load_omniglot(resize="nearest")
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path))
    (tmp_path / "omniglot").mkdir()
    with pytest.raises(FileNotFoundError, match="omniglot/omniglot.npz"):
        O.load_omniglot(resize="bilinear", progress=False)


def test_truncated_full_res_file_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setattr(
        offline_files, "verify", lambda path, key, **kw: path
    )  # the checks behind the digest
    monkeypatch.setenv("MUPBOOK_DATA", str(tmp_path))
    (tmp_path / "omniglot").mkdir()
    np.savez(
        tmp_path / "omniglot" / O.FULL_RES_FILE,
        images_packed=np.zeros((10, 1379), np.uint8),
    )
    with pytest.raises(ValueError, match="images_packed should be uint8"):
        O.load_omniglot(resize="bilinear", progress=False)


# ----------------------------------------------------------- indices are never wrapped


def _tiny_pool(classes: int = 3) -> O.FewShotPool:
    images = torch.zeros(classes * 20, 784, dtype=torch.uint8)
    return O.FewShotPool(
        images,
        torch.arange(classes * 20).reshape(classes, 20),
        torch.zeros(classes, dtype=torch.int64),
        tuple(f"A/character{c:02d}/rot000" for c in range(classes)),
    )


@pytest.mark.parametrize("bad", [-1, 3, 10**12])
def test_class_images_refuses_a_class_outside_the_pool(bad):
    pool = _tiny_pool()
    assert pool.class_images(2).shape == (20, 28, 28)
    with pytest.raises(
        ValueError,
        match=r"class must be in 0\.\.2 \(the 3 classes of the pool\), got "
        + str(bad),
    ):
        pool.class_images(bad)


def test_subset_refuses_rows_outside_the_data_instead_of_wrapping():
    data = O.from_arrays(_small_good_arrays())
    assert len(data.subset(torch.tensor([0, 99]))) == 2
    for bad in (torch.tensor([0, -1]), torch.tensor([100])):
        with pytest.raises(
            ValueError, match=r"rows must be in 0\.\.99 \(the 100 drawings\)"
        ):
            data.subset(bad)
    with pytest.raises(ValueError, match="mask of 99 entries.*100 drawings"):
        data.subset(torch.ones(99, dtype=torch.bool))


# -------------------------------------------------- offline files: sizes and digests pinned


def test_a_truncated_offline_array_file_is_refused_with_what_to_do(
    monkeypatch, tmp_path
):
    from offline_copy import offline_copy, real_data_folder

    whole = (real_data_folder() / "omniglot" / O.ARRAY_FILE).read_bytes()
    monkeypatch.setenv(
        "MUPBOOK_DATA",
        str(
            offline_copy(
                tmp_path, "omniglot/omniglot28.npz", whole[: len(whole) // 2]
            )
        ),
    )
    with pytest.raises(
        ValueError,
        match=r"omniglot28\.npz is not the official omniglot/omniglot28\.npz: it has "
        r"3,306,787 bytes, the official file 6,613,574.*Re-copy the offline data "
        r"folder.*unset MUPBOOK_DATA",
    ):
        O.load_omniglot(progress=False)


def test_an_altered_full_resolution_file_of_the_right_size_is_refused(
    monkeypatch, tmp_path
):
    from offline_copy import offline_copy, real_data_folder

    data = bytearray((real_data_folder() / "omniglot" / O.FULL_RES_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    monkeypatch.setenv(
        "MUPBOOK_DATA",
        str(offline_copy(tmp_path, "omniglot/omniglot.npz", bytes(data))),
    )
    with pytest.raises(
        ValueError,
        match=r"not the official omniglot/omniglot\.npz: its sha256 is [0-9a-f]{64}, "
        r"the official file's f28b905d.*cut short or altered",
    ):
        O.load_omniglot(resize="bilinear", progress=False)


def test_pinned_offline_digests_are_those_of_the_offline_folder():
    from offline_copy import real_data_folder

    checked = offline_files.verify_folder(real_data_folder())
    assert {
        "omniglot/omniglot.npz",
        "omniglot/omniglot28.npz",
        "text/offline_corpus.txt.gz",
        "text/questions-words.txt",
        "text/city_in_state.tsv",
        "text/us_states_50.txt",
    } <= set(checked)

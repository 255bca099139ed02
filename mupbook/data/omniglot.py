"""Omniglot (Lake et al. 2015) at 28x28: loading, the Vinyals split, and N-way K-shot tasks.

Two sources give the same arrays:

* ``MUPBOOK_DATA`` set: ``$MUPBOOK_DATA/omniglot/omniglot28.npz`` (the offline data
  folder); a missing file, or one whose size or SHA-256 is not the pinned one
  (:mod:`mupbook.data.offline`), is an error that says what to do.
* ``MUPBOOK_DATA`` unset: the user cache folder (``~/.cache/mupbook/omniglot``). On
  first use the two official zips are downloaded from GitHub, md5-checked, converted
  once to ``omniglot28.npz`` (written atomically, then the zips are deleted).

Array file layout (both sources): ``images`` uint8 (32460, 28, 28), 0 = paper, 255 =
ink, made by Pillow ``convert("L")``, ``resize((28, 28), LANCZOS)``, then ``255 - x``;
metadata ``alphabet`` (index into ``alphabet_names``), ``character`` (the NN of
characterNN), ``char_id`` (1..964 background, 965..1623 evaluation: the XXXX of the
official file names XXXX_YY.png), ``drawer`` (1..20, the YY), ``split`` (0 background,
1 evaluation). Row ``i = (char_id - 1) * 20 + (drawer - 1)``.

Two 28x28 versions: ``resize="lanczos"`` (the array file above) and
``resize="bilinear"``, the paper's pipeline (torchmeta: the PNG as 8-bit grayscale,
inverted so ink = 255, then torchvision's ``Resize(28)``, i.e. Pillow's antialiased
bilinear ``resize``), derived on load from the full-resolution file ``omniglot.npz``
(``images_packed``: the 105x105 binary drawings, 1 = ink, packed with ``np.packbits``
row by row; same metadata). TP4's Omniglot numbers are for bilinear inputs.

Rotations follow ``torch.rot90(x, k, dims=(-2, -1))`` (= ``np.rot90``): ``rotDDD``
means ``k = DDD / 90`` quarter turns counterclockwise as the image is displayed (row
0 at the top). That is what Pillow's ``Image.rotate(DDD)`` does (prototypical
networks), torchvision's ``rotate`` (torchmeta's ``Rotation``) and
``tf.image.rot90`` (MAML).
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, NamedTuple

import numpy as np
import torch

from .. import _checks, runtime
from . import download, offline

if TYPE_CHECKING:  # Pillow is imported only where images are converted
    from PIL import Image as PILImage

URL_PREFIX = "https://github.com/brendenlake/omniglot/raw/master/python/"
#: md5 of the official zips, as listed by torchvision.datasets.Omniglot.
ZIP_MD5: dict[str, str] = {
    "images_background": "68d2efa1b9178cc56df9314c21c6e718",
    "images_evaluation": "6b91aef0f799c5bb55b94e3f2daec811",
}
#: Characters in each official zip (their char_ids are consecutive, background first).
N_CHARACTERS: dict[str, int] = {"images_background": 964, "images_evaluation": 659}
N_DRAWERS = 20
SIDE = 28
ARRAY_FILE = "omniglot28.npz"
FULL_RES_FILE = "omniglot.npz"
FULL_SIDE = 105
RESIZES = ("lanczos", "bilinear")
SPLITS = ("train", "val", "test", "trainval")
PIXEL_MEANING = (
    "uint8 ink intensity: 0 = white paper, 255 = full ink (i.e. 255 - grayscale). "
    'Made by PIL convert("L") then resize((28,28), LANCZOS).'
)
_META_KEYS = ("alphabet", "character", "char_id", "drawer", "split")
_MEMBER = re.compile(
    r"^(images_background|images_evaluation)/([^/]+)/character(\d+)/(\d+)_(\d+)\.png$"
)
_SPLIT_LINE = re.compile(r"^([^/\s]+)/character(\d+)/rot(000|090|180|270)$")


# --------------------------------------------------------------------------- data set


@dataclass(frozen=True)
class Omniglot:
    """Omniglot images and metadata; row ``i`` of every field is one drawing.

    ``images``: float (N, 28, 28), or (N, 784) when flattened, in [0, 1], ink = 1.
    ``alphabet``, ``character``, ``char_id``, ``drawer``, ``split``: int64 (N,).
    ``alphabet_names``: the names that ``alphabet`` indexes.
    """

    images: torch.Tensor
    alphabet: torch.Tensor
    character: torch.Tensor
    char_id: torch.Tensor
    drawer: torch.Tensor
    split: torch.Tensor
    alphabet_names: tuple[str, ...]

    def __len__(self) -> int:
        return self.images.shape[0]

    def flat(self) -> Omniglot:
        """The same data with images (N, 784)."""
        return self._replace_images(self.images.reshape(len(self), SIDE * SIDE))

    def square(self) -> Omniglot:
        """The same data with images (N, 28, 28)."""
        return self._replace_images(self.images.reshape(len(self), SIDE, SIDE))

    def subset(self, rows: torch.Tensor) -> Omniglot:
        """The drawings at ``rows`` (integer rows in 0..N-1, never wrapped, or a boolean mask over N)."""
        rows = torch.as_tensor(rows).to(self.char_id.device)
        n = len(self)
        if rows.dtype == torch.bool:
            if rows.shape != (n,):
                raise ValueError(
                    f"a boolean mask of {rows.numel()} entries cannot select among the {n} drawings"
                )
        elif rows.dtype.is_floating_point or rows.dtype.is_complex:
            raise ValueError(
                f"rows must be integer indices or a boolean mask, got {rows.dtype}"
            )
        elif rows.numel() and (int(rows.min()) < 0 or int(rows.max()) >= n):
            bad = int(rows.min()) if int(rows.min()) < 0 else int(rows.max())
            raise ValueError(
                f"rows must be in 0..{n - 1} (the {n} drawings), got {bad}"
            )
        return Omniglot(
            self.images[rows],
            *(getattr(self, k)[rows] for k in _META_KEYS),
            alphabet_names=self.alphabet_names,
        )

    def background(self) -> Omniglot:
        """The background set (964 characters, 30 alphabets)."""
        return self.subset(self.split == 0)

    def evaluation(self) -> Omniglot:
        """The evaluation set (659 characters, 20 alphabets)."""
        return self.subset(self.split == 1)

    def class_names(self) -> dict[int, str]:
        """``char_id -> "Alphabet/characterNN"`` for every character present."""
        ids, first = np.unique(self.char_id.cpu().numpy(), return_index=True)
        alphabet = self.alphabet.cpu().numpy()[first]
        character = self.character.cpu().numpy()[first]
        return {
            int(c): f"{self.alphabet_names[a]}/character{n:02d}"
            for c, a, n in zip(ids, alphabet, character)
        }

    def _replace_images(self, images: torch.Tensor) -> Omniglot:
        return Omniglot(
            images,
            *(getattr(self, k) for k in _META_KEYS),
            alphabet_names=self.alphabet_names,
        )


def load_omniglot(
    *,
    flatten: bool = False,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = "cpu",
    progress: bool = True,
    resize: str = "lanczos",
) -> Omniglot:
    """All 32,460 drawings (rows in ``char_id``-major, drawer-minor order).

    Reads ``$MUPBOOK_DATA/omniglot/omniglot28.npz`` when ``MUPBOOK_DATA`` is set, else
    the cache, downloading and converting the official zips on first use (see the
    module docstring). ``device=None`` means :func:`mupbook.runtime.device`.
    ``resize="bilinear"`` gives the paper's inputs instead, resized on load (about 3 s)
    from the full-resolution ``omniglot.npz``.
    """
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating point dtype, got {dtype}")
    if resize not in RESIZES:
        raise ValueError(f"resize must be one of {RESIZES}, got {resize!r}")
    if resize == "lanczos":
        arrays = read_arrays(array_file(progress=progress))
    else:
        arrays = bilinear_arrays(
            read_full_res(full_res_file(progress=progress)), progress=progress
        )
    return from_arrays(arrays, flatten=flatten, dtype=dtype, device=device)


def from_arrays(
    arrays: Mapping[str, np.ndarray],
    *,
    flatten: bool = False,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = "cpu",
) -> Omniglot:
    """An :class:`Omniglot` from the arrays of an ``omniglot28.npz`` file."""
    dev = runtime.device(None if device is None else str(device))
    images = torch.from_numpy(np.ascontiguousarray(arrays["images"])).to(dev)
    images = images.to(dtype) / 255
    data = Omniglot(
        images,
        *(
            torch.from_numpy(np.asarray(arrays[k], dtype=np.int64)).to(dev)
            for k in _META_KEYS
        ),
        alphabet_names=tuple(str(n) for n in arrays["alphabet_names"]),
    )
    return data.flat() if flatten else data


# --------------------------------------------------------------- finding the array file


def _offline_folder_set() -> bool:
    return bool(os.environ.get("MUPBOOK_DATA", "").strip())


def array_file(*, progress: bool = True) -> Path:
    """The path of ``omniglot28.npz``, downloading and converting it if needed.

    With ``MUPBOOK_DATA`` set the file must already be there; otherwise a missing
    cache file is built from the official zips (needs internet once).
    """
    return _data_file(ARRAY_FILE, progress=progress)


def full_res_file(*, progress: bool = True) -> Path:
    """The path of ``omniglot.npz`` (105x105 drawings), downloading the zips if needed."""
    return _data_file(FULL_RES_FILE, progress=progress)


def _data_file(name: str, *, progress: bool) -> Path:
    """``name`` in the offline folder (must exist) or in the cache (built if missing)."""
    folder = runtime.data_dir("omniglot")
    path = folder / name
    if _offline_folder_set():
        if not path.is_file():
            raise FileNotFoundError(
                f"MUPBOOK_DATA is set but {path} does not exist. Point MUPBOOK_DATA at the "
                f"offline data folder that holds omniglot/{name}, or unset MUPBOOK_DATA "
                f"to download the official Omniglot zips into {runtime.user_cache_dir() / 'omniglot'}."
            )
        return offline.verify(path, f"omniglot/{name}")
    if not path.is_file():
        build_cache(runtime.cache_dir("omniglot"), progress=progress)
    return path


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file; a missing or unreadable file says what to do."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; {_what_to_do(path)}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (
        OSError,
        ValueError,
        EOFError,
        KeyError,
        zipfile.BadZipFile,
        zlib.error,
    ) as err:
        raise ValueError(
            f"{path} is not a readable array file ({err}); {_what_to_do(path)}"
        ) from err


def read_full_res(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``omniglot.npz`` file (packed 105x105 bits and metadata), checked."""
    path = Path(path)
    arrays = _load_npz(path)
    packed = arrays.get("images_packed")
    n = N_DRAWERS * sum(N_CHARACTERS.values())
    width = (FULL_SIDE * FULL_SIDE + 7) // 8
    if packed is None or packed.dtype != np.uint8 or packed.shape != (n, width):
        got = "missing" if packed is None else f"{packed.dtype} {packed.shape}"
        raise ValueError(
            f"{path}: images_packed should be uint8 {(n, width)}, got {got}; {_what_to_do(path)}"
        )
    problems = layout_problems(
        {**arrays, "images": np.zeros((n, SIDE, SIDE), np.uint8)}
    )
    if problems:
        raise ValueError(
            f"{path} does not have the Omniglot layout ({'; '.join(problems)}); {_what_to_do(path)}"
        )
    return arrays


def bilinear_28(bits: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) ink images from (N, 105, 105) binary drawings (1 = ink).

    Pillow's ``resize((28, 28), BILINEAR)`` of the 8-bit ink image, which is what
    torchvision's ``Resize(28)`` does to the inverted grayscale PNG in the paper's code.
    """
    from PIL import Image

    bilinear = getattr(Image, "Resampling", Image).BILINEAR
    ink = np.asarray(bits, dtype=np.uint8) * np.uint8(255)
    out = np.empty((len(ink), SIDE, SIDE), dtype=np.uint8)
    for i, image in enumerate(
        ink
    ):  # Pillow resizes one image at a time (~0.1 ms each)
        out[i] = np.asarray(
            Image.fromarray(image, mode="L").resize((SIDE, SIDE), bilinear)
        )
    return out


def bilinear_arrays(
    full: Mapping[str, np.ndarray], *, progress: bool = True, chunk: int = 4096
) -> dict[str, np.ndarray]:
    """Array-file arrays with bilinear 28x28 images, from the arrays of ``omniglot.npz``."""
    from tqdm.auto import tqdm

    packed = full["images_packed"]
    images = np.empty((len(packed), SIDE, SIDE), dtype=np.uint8)
    for start in tqdm(
        range(0, len(packed), chunk), desc="bilinear 28x28", disable=not progress
    ):
        bits = np.unpackbits(
            packed[start : start + chunk], axis=1, count=FULL_SIDE * FULL_SIDE
        )
        images[start : start + chunk] = bilinear_28(
            bits.reshape(-1, FULL_SIDE, FULL_SIDE)
        )
    arrays = {
        k: v for k, v in full.items() if k not in ("images_packed", "image_shape")
    }
    arrays["images"] = images
    return arrays


def _what_to_do(path: Path) -> str:
    if _offline_folder_set():
        return (
            "restore the offline data folder (see its README.md), or unset MUPBOOK_DATA "
            "to download the official zips into the cache instead"
        )
    return f"delete {path} and run again: it will be downloaded and converted anew"


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``omniglot28.npz`` file, checked for layout and row order."""
    path = Path(path)
    arrays = _load_npz(path)
    problems = layout_problems(arrays)
    if problems:
        raise ValueError(
            f"{path} does not have the Omniglot layout ({'; '.join(problems)}); {_what_to_do(path)}"
        )
    return arrays


def layout_problems(arrays: Mapping[str, np.ndarray]) -> list[str]:
    """What is wrong with the arrays of an array file (empty list: nothing)."""
    missing = [
        k for k in ("images", "alphabet_names", *_META_KEYS) if k not in arrays
    ]
    if missing:
        return [f"missing arrays {missing}"]
    n_bg = N_CHARACTERS["images_background"]
    n = N_DRAWERS * sum(N_CHARACTERS.values())
    images = arrays["images"]
    if images.dtype != np.uint8 or images.shape != (n, SIDE, SIDE):
        return [
            f"images should be uint8 {(n, SIDE, SIDE)}, got {images.dtype} {images.shape}"
        ]
    bad_meta = [
        k
        for k in _META_KEYS
        if arrays[k].shape != (n,) or arrays[k].dtype.kind not in "iu"
    ]
    if bad_meta:
        return [f"{k} should be integer arrays of shape ({n},)" for k in bad_meta]
    row = np.arange(n)
    char_id = arrays["char_id"].astype(np.int64)
    checks = {
        "char_id != row // 20 + 1": np.array_equal(char_id, row // N_DRAWERS + 1),
        "drawer != row % 20 + 1": np.array_equal(
            arrays["drawer"].astype(np.int64), row % N_DRAWERS + 1
        ),
        f"split != (char_id > {n_bg})": np.array_equal(
            arrays["split"].astype(np.int64), (char_id > n_bg).astype(np.int64)
        ),
        "alphabet outside alphabet_names": bool(
            arrays["alphabet"].min() >= 0
            and arrays["alphabet"].max() < len(arrays["alphabet_names"])
        ),
    }
    return [what for what, ok in checks.items() if not ok]


# ------------------------------------------------------ download and conversion (once)


_fetch = download.fetch  # module attribute, so tests can replace it


def md5sum(path: Path) -> str:
    """Hex md5 of a file."""
    return download.file_digest(path, "md5")


_temp_path = download.temp_path


def download_zip(name: str, folder: Path, *, progress: bool = True) -> Path:
    """``folder/<name>.zip``, downloaded and md5-checked unless already there and valid.

    The download goes to a temporary file that is renamed only after its md5
    matches; on any failure (bad md5, interruption) it is removed.
    """
    if name not in ZIP_MD5:
        raise ValueError(
            f"unknown Omniglot zip {name!r}; use one of {sorted(ZIP_MD5)}"
        )
    return download.fetch_checked(
        URL_PREFIX + f"{name}.zip",
        Path(folder) / f"{name}.zip",
        "md5",
        ZIP_MD5[name],
        offline_folder="omniglot",
        fetch=_fetch,
        progress=progress,
    )


def resize_to_28(image: PILImage.Image) -> np.ndarray:
    """uint8 (28, 28) ink image (255 = ink) of an official PNG (black ink on white)."""
    from PIL import Image

    lanczos = getattr(Image, "Resampling", Image).LANCZOS
    return 255 - np.asarray(
        image.convert("L").resize((SIDE, SIDE), lanczos), dtype=np.uint8
    )


def convert_zips(
    zips: Mapping[str, Path], *, progress: bool = True
) -> dict[str, np.ndarray]:
    """The array-file arrays (see the module docstring) from the two official zips."""
    from io import BytesIO

    from PIL import Image
    from tqdm.auto import tqdm

    records: list[
        tuple[int, int, str, int, bytes, int]
    ] = []  # char_id, drawer, alphabet, NN, png, split
    for split, name in enumerate(N_CHARACTERS):
        with zipfile.ZipFile(zips[name]) as zf:
            for member in zf.namelist():
                m = _MEMBER.match(member)
                if m is None or m.group(1) != name:
                    continue
                records.append(
                    (
                        int(m.group(4)),
                        int(m.group(5)),
                        m.group(2),
                        int(m.group(3)),
                        zf.read(member),
                        split,
                    )
                )
    _check_members(records)
    records.sort(key=lambda r: (r[0], r[1]))
    images = np.empty((len(records), SIDE, SIDE), dtype=np.uint8)
    packed = np.empty(
        (len(records), (FULL_SIDE * FULL_SIDE + 7) // 8), dtype=np.uint8
    )
    for i, rec in enumerate(
        tqdm(records, desc="converting Omniglot", disable=not progress)
    ):
        with Image.open(BytesIO(rec[4])) as png:
            images[i] = resize_to_28(png)
            ink = np.asarray(png.convert("L").resize((FULL_SIDE, FULL_SIDE))) < 128
            packed[i] = np.packbits(ink.reshape(-1))
    names = list(dict.fromkeys(r[2] for r in records))  # in order of first char_id
    index = {a: i for i, a in enumerate(names)}
    return {
        "images": images,
        "images_packed": packed,
        "pixel_meaning": np.array(PIXEL_MEANING),
        "alphabet": np.array([index[r[2]] for r in records], dtype=np.int16),
        "alphabet_names": np.array(names),
        "character": np.array([r[3] for r in records], dtype=np.int16),
        "char_id": np.array([r[0] for r in records], dtype=np.int16),
        "drawer": np.array([r[1] for r in records], dtype=np.int8),
        "split": np.array([r[5] for r in records], dtype=np.uint8),
        "split_names": np.array(["background", "evaluation"]),
    }


def _check_members(records: list[tuple[int, int, str, int, bytes, int]]) -> None:
    """Every character of each zip once per drawer, char_ids consecutive, background first."""
    start = 1
    for split, (name, count) in enumerate(N_CHARACTERS.items()):
        got = {(r[0], r[1]) for r in records if r[5] == split}
        want = {
            (c, d)
            for c in range(start, start + count)
            for d in range(1, N_DRAWERS + 1)
        }
        n_files = sum(r[5] == split for r in records)
        if got != want or n_files != len(want):
            raise ValueError(
                f"{name}.zip does not hold the expected {count} characters x {N_DRAWERS} drawers "
                f"(found {n_files} images); delete it from the cache folder and run again"
            )
        start += count
    owners: dict[int, tuple[str, int]] = {}
    for r in records:
        if owners.setdefault(r[0], (r[2], r[3])) != (r[2], r[3]):
            raise ValueError(
                f"character id {r[0]} appears in two folders: {owners[r[0]]} and {(r[2], r[3])}"
            )


def save_arrays_atomically(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez_compressed`` into a temporary file, then rename it to ``path``."""
    path = Path(path)
    tmp = _temp_path(path.parent, path.name)
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def build_cache(folder: Path, *, progress: bool = True) -> Path:
    """Download, check and convert the official zips into ``folder/omniglot28.npz`` and
    ``folder/omniglot.npz`` (full resolution, for ``resize="bilinear"``).

    Only checked files ever appear under their final names; the zips are deleted
    once the array file is written.
    """
    folder = Path(folder)
    zips = {
        name: download_zip(name, folder, progress=progress) for name in N_CHARACTERS
    }
    arrays = convert_zips(zips, progress=progress)
    problems = layout_problems(arrays)
    if problems:
        raise ValueError(
            f"the converted Omniglot arrays are inconsistent: {'; '.join(problems)}"
        )
    full = {k: v for k, v in arrays.items() if k != "images"}
    full["image_shape"] = np.array([FULL_SIDE, FULL_SIDE])
    full["pixel_meaning"] = np.array(
        "bit 1 = ink, 0 = paper; np.unpackbits(images_packed, axis=1, "
        "count=105*105).reshape(-1, 105, 105)"
    )
    save_arrays_atomically(folder / FULL_RES_FILE, full)
    save_arrays_atomically(
        folder / ARRAY_FILE, {k: v for k, v in arrays.items() if k != "images_packed"}
    )
    for zip_path in zips.values():
        zip_path.unlink(missing_ok=True)
    return folder / ARRAY_FILE


# ----------------------------------------------------------- background classification


class Classification(NamedTuple):
    """Train/test tensors; x: (n, 784) or (n, 28, 28), y: int64 labels 0..C-1."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def background_classification(
    data: Omniglot,
    *,
    train_drawers: int = 15,
    num_classes: int | None = None,
    seed: int = 0,
    flatten: bool = True,
) -> Classification:
    """Plain classification on the background set, split by drawer.

    A seeded random set of ``train_drawers`` of the 20 drawers gives the training
    images of every class, the other drawers the test images, so test drawings come
    from people never seen in training. Labels are ``char_id - 1`` (0..963); with
    ``num_classes=k`` only the first k characters are kept. Rows are class-major,
    drawers in increasing order: shuffle before minibatching.
    """
    n_bg = N_CHARACTERS["images_background"]
    num_classes = n_bg if num_classes is None else num_classes
    _checks.positive_int(num_classes, "num_classes")
    if num_classes > n_bg:
        raise ValueError(
            f"num_classes must be at most {n_bg} (the background characters), got {num_classes}"
        )
    _checks.positive_int(train_drawers, "train_drawers")
    if train_drawers >= N_DRAWERS:
        raise ValueError(
            f"train_drawers must be below {N_DRAWERS} to leave test drawers, got {train_drawers}"
        )
    keep = (data.split == 0) & (data.char_id <= num_classes)
    sub = data.subset(keep)
    expected = torch.arange(num_classes * N_DRAWERS, device=sub.char_id.device)
    if len(sub) != num_classes * N_DRAWERS or not (
        torch.equal(sub.char_id - 1, expected // N_DRAWERS)
        and torch.equal(sub.drawer - 1, expected % N_DRAWERS)
    ):
        raise ValueError(
            "background_classification needs the full background set in row order (load_omniglot())"
        )
    order = torch.randperm(N_DRAWERS, generator=runtime.generator(seed))
    train, test = (
        order[:train_drawers].sort().values,
        order[train_drawers:].sort().values,
    )
    pixel_shape = (SIDE * SIDE,) if flatten else (SIDE, SIDE)
    images = sub.images.reshape(num_classes, N_DRAWERS, *pixel_shape)
    labels = torch.arange(num_classes, device=images.device)

    def part(drawers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = images[:, drawers.to(images.device)].flatten(0, 1)
        return x, labels.repeat_interleave(len(drawers))

    return Classification(*part(train), *part(test))


# ------------------------------------------------------------------ the Vinyals split


def vinyals_split(name: str) -> list[str]:
    """The class names of a Vinyals split, ``"Alphabet/characterNN/rotDDD"``.

    ``train`` 4112 (1028 characters x 4 rotations), ``val`` 688, ``test`` 1692,
    ``trainval`` = train then val. Read from the copies shipped with mupbook (or
    ``$MUPBOOK_DATA/omniglot/splits`` if those are missing).
    """
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; use one of {', '.join(SPLITS)}")
    if name == "trainval":
        return vinyals_split("train") + vinyals_split("val")
    text = _split_text(f"vinyals_{name}.txt")
    lines = text.split()
    bad = [line for line in lines if not _SPLIT_LINE.match(line)]
    if bad:
        raise ValueError(
            f"split file vinyals_{name}.txt has malformed lines, e.g. {bad[0]!r}"
        )
    return lines


def _split_text(filename: str) -> str:
    shipped = resources.files(__package__).joinpath("splits").joinpath(filename)
    if shipped.is_file():
        return shipped.read_text(encoding="ascii")
    if _offline_folder_set():
        copy = runtime.data_dir("omniglot") / "splits" / filename
        if copy.is_file():
            return offline.verify(copy, f"omniglot/splits/{filename}").read_text(
                encoding="ascii"
            )
    raise FileNotFoundError(
        f"the split file {filename} is missing from the mupbook package (mupbook/data/splits/); "
        "reinstall mupbook, or set MUPBOOK_DATA to the offline data folder that has omniglot/splits/"
    )


# ------------------------------------------------------------------ few-shot task pool


@dataclass(frozen=True)
class FewShotPool:
    """The classes of a few-shot split, ready for :func:`sample_tasks`.

    ``images``: uint8 (R, 784), ink = 255, the unrotated drawings the split uses.
    ``rows``: int64 (C, 20), ``images`` row of each class's 20 drawings (drawer order).
    ``rotation``: int64 (C,), quarter turns counterclockwise (``torch.rot90`` k).
    ``names``: the C class names, ``"Alphabet/characterNN/rotDDD"``.
    """

    images: torch.Tensor
    rows: torch.Tensor
    rotation: torch.Tensor
    names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return self.rows.shape[0]

    def class_images(
        self, c: int, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """The 20 drawings of class ``c`` (0..num_classes-1), rotated: (20, 28, 28) in [0, 1]."""
        if (
            isinstance(c, bool)
            or not isinstance(c, (int, np.integer))
            or not 0 <= c < self.num_classes
        ):
            raise ValueError(
                f"class must be in 0..{self.num_classes - 1} (the {self.num_classes} classes of the "
                f"pool), got {c!r}"
            )
        base = (
            self.images[self.rows[c]].reshape(N_DRAWERS, SIDE, SIDE).to(dtype) / 255
        )
        return torch.rot90(base, int(self.rotation[c]), dims=(-2, -1))


def few_shot_pool(
    data: Omniglot,
    split: str = "train",
    *,
    rotations: bool = True,
    device: str | torch.device | None = None,
) -> FewShotPool:
    """The classes of a Vinyals split (``train``, ``val``, ``test``, ``trainval``).

    ``rotations=False`` keeps only the ``rot000`` classes (one per character).
    ``device=None`` keeps ``data``'s device.
    """
    names = vinyals_split(split)
    if not rotations:
        names = [n for n in names if n.endswith("/rot000")]
    lookup = {name: c for c, name in data.class_names().items()}
    parsed = [_SPLIT_LINE.match(n).groups() for n in names]  # type: ignore[union-attr]
    missing = [
        n
        for n, (a, nn, _) in zip(names, parsed)
        if f"{a}/character{int(nn):02d}" not in lookup
    ]
    if missing:
        raise ValueError(
            f"the data lack characters of split {split!r}, e.g. {missing[0]!r}; use load_omniglot()"
        )
    char_ids = torch.tensor(
        [lookup[f"{a}/character{int(nn):02d}"] for a, nn, _ in parsed]
    )
    rotation = torch.tensor([int(r) // 90 for _, _, r in parsed])
    table = torch.full(
        (int(data.char_id.max()) + 1, N_DRAWERS), -1, dtype=torch.int64
    )
    table[data.char_id.cpu(), data.drawer.cpu() - 1] = torch.arange(len(data))
    rows = table[char_ids]
    if (rows < 0).any():
        raise ValueError(
            f"the data lack some of the {N_DRAWERS} drawers of split {split!r}; use load_omniglot()"
        )
    used, rows = torch.unique(rows, return_inverse=True)
    dev = data.images.device if device is None else runtime.device(str(device))
    images = (
        (data.images.reshape(len(data), -1)[used.to(data.images.device)] * 255)
        .round()
        .to(torch.uint8)
    )
    return FewShotPool(images.to(dev), rows.to(dev), rotation.to(dev), tuple(names))


# --------------------------------------------------------------------- task sampling


class Tasks(NamedTuple):
    """A batch of B N-way tasks; labels are 0..N-1, class-major (label j K times, ...).

    ``support_x`` (B, N*K, 784), ``support_y`` (B, N*K), ``query_x`` (B, N*Q, 784),
    ``query_y`` (B, N*Q); ``classes`` (B, N): pool class of label j; ``drawers``
    (B, N, K+Q): drawer index 0..19 of each image (first K support, then Q query).
    """

    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor
    classes: torch.Tensor
    drawers: torch.Tensor


def _rotation_gathers(device: torch.device) -> torch.Tensor:
    """(4, 784): flat index of the source pixel of each pixel after k quarter turns."""
    grid = torch.arange(SIDE * SIDE, device=device).reshape(SIDE, SIDE)
    return torch.stack(
        [torch.rot90(grid, k, dims=(0, 1)).reshape(-1) for k in range(4)]
    )


def sample_tasks(
    pool: FewShotPool,
    n_way: int,
    k_shot: int,
    q_query: int,
    batch_size: int,
    *,
    generator: torch.Generator | int,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tasks:
    """A batch of N-way K-shot tasks with Q query images per class, all at once.

    Each task draws N distinct classes in random order (label j = the j-th) and,
    per class, K + Q distinct drawers (support first, query after), so no image is
    in both. Random numbers come from the CPU ``generator`` (or a seed), then the
    indices move to ``device`` (default: the pool's), so a seed gives the same tasks
    on every device. Images in [0, 1], ink = 1, of floating ``dtype``.
    """
    n_way, k_shot, q_query, batch_size = (
        _checks.positive_int(v, w)
        for v, w in (
            (n_way, "n_way"),
            (k_shot, "k_shot"),
            (q_query, "q_query"),
            (batch_size, "batch_size"),
        )
    )
    if n_way > pool.num_classes:
        raise ValueError(
            f"n_way={n_way} exceeds the {pool.num_classes} classes of the pool"
        )
    if k_shot + q_query > N_DRAWERS:
        raise ValueError(
            f"k_shot + q_query = {k_shot + q_query} exceeds the {N_DRAWERS} drawings per class"
        )
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating point dtype, got {dtype}")
    gen = (
        runtime.generator(generator)
        if not isinstance(generator, torch.Generator)
        else generator
    )
    if gen.device.type != "cpu":
        raise ValueError(
            "generator must be a CPU torch.Generator (see mupbook.runtime.generator)"
        )
    dev = pool.images.device if device is None else runtime.device(str(device))

    s = k_shot + q_query
    class_keys = torch.rand(
        batch_size, pool.num_classes, generator=gen, dtype=torch.float64
    )
    classes = class_keys.topk(n_way, dim=1).indices  # (B, N): distinct, random order
    drawer_keys = torch.rand(
        batch_size, n_way, N_DRAWERS, generator=gen, dtype=torch.float64
    )
    drawers = drawer_keys.topk(s, dim=2).indices  # (B, N, S): distinct per class
    classes, drawers = classes.to(dev), drawers.to(dev)

    rows = pool.rows.to(dev)[classes.unsqueeze(-1), drawers]  # (B, N, S)
    gathers = _rotation_gathers(dev)[pool.rotation.to(dev)[classes]]  # (B, N, 784)
    pixels = pool.images.to(dev)[rows].gather(
        -1, gathers.unsqueeze(2).expand(-1, -1, s, -1)
    )  # (B, N, S, 784)
    x = pixels.to(dtype) / 255

    def labels(m: int) -> torch.Tensor:
        return (
            torch.arange(n_way, device=dev).repeat_interleave(m).repeat(batch_size, 1)
        )

    return Tasks(
        x[:, :, :k_shot].reshape(batch_size, n_way * k_shot, SIDE * SIDE),
        labels(k_shot),
        x[:, :, k_shot:].reshape(batch_size, n_way * q_query, SIDE * SIDE),
        labels(q_query),
        classes,
        drawers,
    )

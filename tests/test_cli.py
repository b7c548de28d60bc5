"""The command line: bad input gets one clear line and exit status 2, never a traceback."""
import gzip
import struct

import numpy as np
import pytest
import torch

from genzoo.cli import main
from genzoo.runs.checkpoint import list_checkpoints


def _error_line(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("argv, message", [
    (["train", "dcgna"], "unknown model 'dcgna'. Did you mean 'dcgan'"),
    (["train", "dcgan", "--data", "mnsit"], "unknown dataset 'mnsit'"),
    (["train", "dcgan", "--set", "model.latnt_dim=3"], "Did you mean 'latent_dim'"),
    (["train", "dcgan", "--set", "model.latent_dim=abc"], "expected an integer"),
    (["train", "dcgan", "--steps", "-3"], "train.steps must be a positive integer"),
    (["sample", "/nonexistent/run"], "does not exist"),
    (["show-config", "vea"], "Did you mean 'vae'"),
])
def test_bad_input_is_one_clear_line(capsys, argv, message):
    assert message in _error_line(capsys, argv)


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "dcgan", "--steps", "many"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "invalid int value" in err


@pytest.mark.slow
def test_corrupt_and_mismatching_mnist_files(capsys, tmp_path):
    images = np.zeros((60000, 28, 28), np.uint8)
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(60000, np.uint8))
    err = _error_line(capsys, ["train", "dcgan", "--data", "mnist", "--set", f"data.root={folder}",
                               "--set", "data.download=false", "--steps", "1", "--out", str(tmp_path / "r")])
    assert "train-images-idx3-ubyte.gz" in err
    _write_idx(folder / "train-images-idx3-ubyte.gz", images)  # a valid IDX file, but not MNIST's
    err = _error_line(capsys, ["train", "dcgan", "--data", "mnist", "--set", f"data.root={folder}",
                               "--set", "data.download=false", "--steps", "1", "--out", str(tmp_path / "r")])
    assert "md5" in err or "checksum" in err


def test_pickled_checkpoint_is_refused(capsys, tmp_path):
    assert main(["train", "vae", "--data", "digits", "--steps", "2", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    _, path = list_checkpoints(tmp_path / "run" / "checkpoints")[-1]
    torch.save({"evil": torch.zeros(1)}, path)
    assert "pickle" in _error_line(capsys, ["sample", str(tmp_path / "run")])


@pytest.mark.slow
def test_train_then_sample_writes_a_png(capsys, tmp_path):
    from PIL import Image

    assert main(["train", "ae", "--data", "digits", "--steps", "20", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert main(["sample", str(tmp_path / "run"), "--n", "9", "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size[0] > 8 * 3


@pytest.mark.slow
def test_precision_flag_is_recorded_in_the_run(capsys, tmp_path):
    import json

    assert main(["train", "ae", "--data", "digits", "--steps", "2", "--precision", "fp32",
                 "--out", str(tmp_path / "run"), "--quiet"]) == 0
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["config"]["train"]["precision"] == "fp32" and saved["precision"] == "float32"
    with pytest.raises(SystemExit):
        main(["train", "ae", "--precision", "fp8"])
    assert "invalid choice" in capsys.readouterr().err


def test_list_shows_models_and_datasets(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("dcgan", "vae", "ae", "mnist", "fashion-mnist", "ring8", "Radford"):
        assert word in out

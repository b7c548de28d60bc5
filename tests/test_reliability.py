"""Faults and untrusted input: every case ends in a correct result or one clear line, never lost work."""
import pytest

from genzoo.cli import main
from genzoo.config import resolve
from genzoo.training.trainer import train


def _error_line(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A 3-step GAN on the ring of 8 Gaussians: the cheapest run that samples."""
    cfg = resolve("gan", overrides={"data.name": "ring8", "data.n_samples": 512, "train.steps": 3,
                                    "train.sample_every": 0, "train.batch_size": 64})
    return train(cfg, out=tmp_path_factory.mktemp("toy") / "run", progress=False, log=lambda *_: None).dir


def test_sample_out_that_is_a_directory_is_refused_before_sampling(toy_run, tmp_path, capsys):
    err = _error_line(capsys, ["sample", str(toy_run), "--out", str(tmp_path)])
    assert f"cannot write '{tmp_path}': it is a directory" in err
    assert list(tmp_path.iterdir()) == []


def test_sample_out_below_a_file_is_refused(toy_run, capsys):
    err = _error_line(capsys, ["sample", str(toy_run), "--out", str(toy_run / "config.json" / "x.png")])
    assert "config.json' is a file, not a folder" in err


def test_sample_out_in_a_folder_that_cannot_be_created_is_one_line(toy_run, capsys):
    err = _error_line(capsys, ["sample", str(toy_run), "--out", "/proc/genzoo-samples.png"])
    assert "cannot write '/proc/genzoo-samples.png'" in err


def test_sample_count_is_bounded_before_anything_is_drawn(toy_run, capsys):
    err = _error_line(capsys, ["sample", str(toy_run), "--n", "100000000"])
    assert "--n must be from 1 to 10,000 samples" in err and "100,000,000" in err

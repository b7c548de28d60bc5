"""--tensorboard: TensorBoard event files in the run directory, read back with TensorBoard's own reader."""
import io
import json
import sys

import numpy as np
import pytest
from PIL import Image

from genzoo.cli import main

ARGS = ["train", "dcgan", "--data", "digits", "--steps", "4", "--batch-size", "16", "--quiet", "--tensorboard",
        "--set", "model.nets.width=8", "--set", "model.latent_dim=4", "--set", "train.log_every=2",
        "--set", "train.sample_every=2", "--set", "train.checkpoint_every=0", "--set", "train.grid_size=4"]


@pytest.mark.slow
def test_event_files_hold_the_metrics_the_sample_grids_and_the_config(tmp_path, one_thread):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    assert main([*ARGS, "--out", str(run_dir)]) == 0
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logged] == [2, 4]
    for key in ("d_loss", "g_loss"):
        assert key in tags["scalars"]
        scalars = events.Scalars(key)
        assert [s.step for s in scalars] == [2, 4]
        assert [s.value for s in scalars] == pytest.approx([row[key] for row in logged], rel=1e-6)
    assert "step" not in tags["scalars"] and "time" not in tags["scalars"]
    images = events.Images("samples")
    assert [im.step for im in images] == [1, 2, 4]   # the early first grid, step 2's and the final one
    for im in images:   # the very grids the run wrote as PNGs
        sent = Image.open(io.BytesIO(im.encoded_image_string)).convert("RGB")
        written = Image.open(run_dir / "samples" / f"step-{im.step:07d}.png").convert("RGB")
        assert np.array_equal(np.asarray(sent), np.asarray(written))
    text = events.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert '"name": "dcgan"' in text and '"tensorboard": true' in text


def test_without_the_extra_the_flag_gives_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)   # import tensorboard raises ImportError
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    run_dir = tmp_path / "run"
    assert main([*ARGS, "--out", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'genzoo[tensorboard]'" in err
    assert not (run_dir / "checkpoints").exists()


@pytest.mark.slow
def test_tensorboard_is_off_by_default(tmp_path, one_thread):
    run_dir = tmp_path / "run"
    args = [a for a in ARGS if a != "--tensorboard"]
    assert main([*args, "--out", str(run_dir)]) == 0
    assert not (run_dir / "tensorboard").exists()

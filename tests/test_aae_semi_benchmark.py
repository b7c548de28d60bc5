"""benchmarks/aae_semi.py: the diagnostics it prints beside the test error (largest confusions, slants)."""
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import aae_semi  # noqa: E402


def _stroke(cells, size=3):
    image = torch.zeros(1, size, size)
    for row, col in cells:
        image[0, row, col] = 1.0
    return image


def test_slant_is_the_shear_in_columns_per_row_positive_when_the_top_leans_right():
    # ink at (row, col) = (0, 2), (1, 1), (2, 0): one column to the right per row up; by hand
    # cov(col, row) = ((1)(-1) + 0 + (-1)(1)) / 3 = -2/3, var(row) = 2/3, so the slant is 1
    leaning_right = _stroke([(0, 2), (1, 1), (2, 0)])
    leaning_left = _stroke([(0, 0), (1, 1), (2, 2)])
    upright = _stroke([(0, 1), (1, 1), (2, 1)])
    # ink at (0, 1) and (2, 0): one column over two rows, 0.5
    half = _stroke([(0, 1), (2, 0)])
    got = aae_semi.slant(torch.stack([leaning_right, leaning_left, upright, half]))
    assert got.tolist() == pytest.approx([1.0, -1.0, 0.0, 0.5])


def test_top_confusions_counts_off_diagonal_pairs_largest_first():
    y = torch.tensor([3, 3, 3, 3, 5, 5, 5, 4, 4, 9])
    read = torch.tensor([5, 5, 5, 3, 3, 3, 5, 9, 4, 9])   # 3 -> 5 three times, 5 -> 3 twice, 4 -> 9 once
    assert aae_semi.top_confusions(read, y, k=3) == [(3, 5, 3), (5, 3, 2), (4, 9, 1)]


def test_pair_slants_splits_each_digit_by_what_it_is_read_as():
    right, left = _stroke([(0, 2), (1, 1), (2, 0)]), _stroke([(0, 0), (1, 1), (2, 2)])
    model = SimpleNamespace(lab_x=torch.stack([right, right, left]), lab_y=torch.tensor([5, 5, 3]))
    x = torch.stack([right, left, left, right])
    y = torch.tensor([3, 3, 5, 5])
    read = torch.tensor([5, 3, 3, 3])   # the test 5s, one leaning each way, both read as 3: mean slant 0
    got = aae_semi.pair_slants(model, x, y, read, 3, 5)
    assert {k: v for k, v in got.items() if k != "test 5 read as 5"} == {
        "labelled 3": -1.0, "test 3 read as 3": -1.0, "test 3 read as 5": 1.0,
        "labelled 5": 1.0, "test 5 read as 3": 0.0}
    assert math.isnan(got["test 5 read as 5"])   # no test 5 is read as 5


def test_a_row_run_again_keeps_the_other_rows_and_their_commands(tmp_path, monkeypatch):
    import json
    from argparse import Namespace

    out = tmp_path / "screen.json"
    out.write_text(json.dumps({"command": "python benchmarks/aae_semi.py --row none", "source": "printed",
                               "protocol": "p", "hardware": "h",
                               "rows": {"none": {"s0": 10.81, "s2": 14.36},
                                        "shear03": {"s0": 6.2, "s2": 11.67, "seeds": "6.20, 11.67"}}}))
    argv = ["benchmarks/aae_semi.py", "--seeds", "2", "--row", "shear03", "--set", "model.label_shear=0.3"]
    monkeypatch.setattr(sys, "argv", argv)
    cfg = SimpleNamespace(train=SimpleNamespace(steps=3000, batch_size=100, device="cpu"),
                          model=SimpleNamespace(hidden=[500, 500]))
    runs = [{"seed": 2, "test_error_percent": 9.5, "minutes": 3.0, "top_confusions": [(3, 5, 40)],
             "curve": [{"test_error_percent": 9.5}]}]
    args = Namespace(out=str(out), row="shear03", preset="aae-semi", set=["model.label_shear=0.3"], labels=100,
                     threads=1, eval_every=0, curve_out="")
    aae_semi.write_semi_results(runs, cfg, {"precision": "float32", "device": "cpu"}, args)

    rows = json.loads(out.read_text())["rows"]
    # the other row keeps the numbers and how they were made
    assert rows["none"] == {"s0": 10.81, "s2": 14.36, "command": "python benchmarks/aae_semi.py --row none",
                            "source": "printed", "protocol": "p", "hardware": "h"}
    # the row run again: seed 2 replaced, seed 0 kept, its summary and command those of the new run only
    new = rows["shear03"]
    assert (new["s0"], new["s2"], new["seeds"], new["confusions_s2"]) == (6.2, 9.5, "9.50", "40 3s as 5")
    assert new["command"] == " ".join(["python", *argv]) and "source" not in new


def test_a_row_trained_on_a_gpu_names_the_gpu_in_the_file(tmp_path, monkeypatch):
    import json
    from argparse import Namespace

    monkeypatch.setattr(sys, "argv", ["benchmarks/aae_semi.py", "--device", "cuda"])
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")
    cfg = SimpleNamespace(train=SimpleNamespace(steps=18000, batch_size=100, device="cuda"),
                          model=SimpleNamespace(hidden=[1000, 1000]))
    runs = [{"seed": 0, "test_error_percent": 3.0, "minutes": 2.0, "top_confusions": [(4, 9, 30)],
             "curve": [{"test_error_percent": 3.0}]}]
    args = Namespace(out=str(tmp_path / "semi.json"), row=None, preset="aae-semi", set=[], labels=100,
                     threads=1, eval_every=0, curve_out="")
    saved = {"precision": "torch.bfloat16", "device": "cuda:0 (NVIDIA H200)"}
    aae_semi.write_semi_results(runs, cfg, saved, args)

    written = json.loads((tmp_path / "semi.json").read_text())
    assert written["hardware"]["gpu"] == "NVIDIA H200"
    assert written["rows"]["aae-semi"]["budget"] == ("30 epochs, 1000-1000 nets, 2 min per seed on "
                                                      "cuda:0 (NVIDIA H200), bf16 autocast")


def test_eval_every_keeps_a_checkpoint_every_e_epochs_and_scores_each_after_training(tmp_path, monkeypatch):
    """A curve of one run with a decaying rate: train once, keeping every checkpoint, then score each."""
    from argparse import Namespace

    import genzoo

    def model(step):   # a classifier that reads every image as digit (step // 600) % 10
        logits = torch.nn.functional.one_hot(torch.tensor(step // 600 % 10), 10).float()
        return SimpleNamespace(device=torch.device("cpu"), encoder_ema=None,
                               classify=lambda x, averaged=True: logits.expand(len(x), 10))

    trained = {}

    def train(*args, overrides=None, **kwargs):
        trained.update(overrides)
        return SimpleNamespace(step=1800, model=model(1800))

    monkeypatch.setattr(genzoo, "train", train)
    monkeypatch.setattr(genzoo, "load", lambda run_dir, step, device: model(step))
    monkeypatch.setattr(aae_semi, "predictions", lambda m, x, averaged=True: m.classify(x).argmax(1))
    args = Namespace(preset="aae-semi", steps=1800, eval_every=1.0)   # 1 epoch = 600 steps of 100
    y = torch.tensor([1, 2, 3, 3])                                   # by hand: step 600 reads 1, 1200 reads 2
    _, curve = aae_semi.train_seed(0, {}, args, str(tmp_path), torch.zeros(4, 1, 28, 28), y)

    assert (trained["train.checkpoint_every"], trained["train.keep_checkpoints"]) == (600, 4)
    assert [(p["step"], p["epochs"], p["test_error_percent"]) for p in curve] == [
        (600, 1.0, 75.0), (1200, 2.0, 75.0), (1800, 3.0, 50.0)]
    assert len((tmp_path / "curves.jsonl").read_text().splitlines()) == 3

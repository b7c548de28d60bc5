"""The lucic_fid spec (benchmarks/specs/lucic_fid.py, run by benchmarks/run.py): the paper's numbers beside
genzoo's, the row arithmetic, and a tiny run end to end (Inception and the classifier replaced by cheap
stand-ins) that the results page renders."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from genzoo.machine import cpu_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import measures_images  # noqa: E402
import render_results  # noqa: E402
import run as driver  # noqa: E402
from common import short_cpu  # noqa: E402
from specs import lucic_fid  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_papers_best_fids_are_read_from_the_published_table():
    assert lucic_fid.published_fid("mnist", "WGAN-GP") == 20.3
    assert lucic_fid.published_fid("fashion-mnist", "VAE") == 58.7
    assert lucic_fid.published_fid("mnist", "NS-GAN") == 6.8


def test_a_row_holds_the_median_over_seeds_and_its_gap_to_the_paper():
    runs = [{"seed": s, "steps": 100, "train_cpu_minutes": m, "inception_fid": f, "classifier_fd": c, "cpu": cpu}
            for s, m, f, c, cpu in ((0, 3.0, 10.0, 2.0, "Intel(R) Xeon(R) Processor"), (1, 5.0, 7.0, 4.0, "AMD EPYC"),
                                       (2, 4.0, 8.5, 3.0, "AMD EPYC"))]
    row = lucic_fid.make_row(lucic_fid.SPEC.row("mnist-NS-GAN"), runs, {})
    # median of 10, 7, 8.5 is 8.5; the paper's 6.8 -> gap 8.5 - 6.8 = 1.7
    assert (row["fid"], row["paper"], row["gap"]) == (8.5, 6.8, 1.7)
    assert (row["classifier_fd"], row["train_cpu_minutes"], row["preset"]) == (3.0, 4.0, "dcgan")
    assert row["seeds"] == "10.00, 7.00, 8.50" and row["n_seeds"] == 3
    assert row["cpu"] == "AMD EPYC and Intel Xeon"    # seeds trained on two machines name both, briefly


def test_a_row_trained_on_a_cpu_and_a_gpu_names_each_and_counts_only_the_cpu_minutes():
    def run(seed, fid, minutes, gpu=None):
        return {"seed": seed, "steps": 100, "train_cpu_minutes": minutes, "inception_fid": fid, "classifier_fd": 1.0,
                "cpu": "AMD EPYC", **({"gpu": gpu} if gpu else {})}
    wgan = lucic_fid.SPEC.row("mnist-WGAN")
    row = lucic_fid.make_row(wgan, [run(2, 7.6, 11.3, "NVIDIA H100"), run(0, 7.9, 43.4),
                                    run(1, 7.4, 11.4, "NVIDIA H100")], {})
    # median of 7.9, 7.4, 7.6 is 7.6; the paper's 6.7 -> gap 0.9; a GPU run's 11.3 host CPU-minutes are left out
    assert (row["fid"], row["gap"], row["seeds"], row["train_cpu_minutes"]) == (7.6, 0.9, "7.90, 7.40, 7.60", 43.4)
    assert row["cpu"] == "AMD EPYC and NVIDIA H100"
    assert row["trained_on"] == "seed 0: 43.4 CPU-minutes on AMD EPYC; seeds 1, 2 on an NVIDIA H100"
    only_gpu = lucic_fid.make_row(wgan, [run(0, 7.9, 11.0, "NVIDIA H100")], {})
    assert (only_gpu["train_cpu_minutes"], only_gpu["trained_on"]) == (None, "seed 0 on an NVIDIA H100")


class PixelFeatures:
    """A stand-in for genzoo's classifier: mean pixel value of each 7x7 block as the features."""

    def features(self, images):
        x = images.float()
        x = x / 255 if x.max() > 1 else x
        return torch.nn.functional.avg_pool2d(x, 7).flatten(1)

    def protocol(self):
        return {"test_accuracy": 0.5}


@pytest.mark.slow
def test_a_tiny_run_writes_its_row_caches_the_test_features_and_renders(tmp_path, monkeypatch):
    calls = []

    def inception(images):
        calls.append(len(images))
        return PixelFeatures().features(images)

    monkeypatch.setattr(measures_images, "inception_features", inception)
    monkeypatch.setattr(measures_images, "get_feature_extractor", lambda *a, **k: PixelFeatures())
    out, cache = tmp_path / "lucic_fid.json", tmp_path / "cache"
    argv = ["lucic_fid", "--rows", "mnist-NS-GAN", "--set", "train.epochs=0.01", "--setting", "n_samples=40",
            "--setting", f"cache={cache}", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["benchmarks/run.py", *argv])
    rows = driver.main(argv)
    row = rows["mnist-NS-GAN"]
    assert row["preset"] == "dcgan" and row["steps"] >= 1 and row["fid"] >= 0
    assert row["gap"] == pytest.approx(row["fid"] - 6.8, abs=0.011)
    assert calls == [40, 40]                          # the test images once, then the samples
    assert len(list(cache.glob("*.safetensors"))) == 1
    saved = json.loads(out.read_text())
    assert saved["rows"]["mnist-NS-GAN"]["fid"] == row["fid"] and "20 epochs" not in saved["protocol"]
    assert saved["rows"]["mnist-NS-GAN"]["runs"][0]["classifier_test_accuracy"] == 0.5

    driver.main(argv)                                 # a new command reads the cached test features
    assert calls == [40, 40, 40]
    seed0 = json.loads(out.read_text())["rows"]["mnist-NS-GAN"]["runs"]
    assert [r["seed"] for r in seed0] == [0]          # seed 0 measured again replaces its run

    driver.main([*argv, "--seeds", "1"])              # another command adds seed 1 to the row
    saved = json.loads(out.read_text())
    both = saved["rows"]["mnist-NS-GAN"]
    fids = [r["inception_fid"] for r in both["runs"]]
    assert [r["seed"] for r in both["runs"]] == [0, 1] and both["runs"][0] == seed0[0]
    assert both["n_seeds"] == 2 and both["fid"] == round((fids[0] + fids[1]) / 2, 2)
    assert both["seeds"] == f"{fids[0]:.2f}, {fids[1]:.2f}"

    results = render_results.load_results(ROOT / "benchmarks" / "results")
    table = next(t for page in render_results.PAGES for t in page.tables if t.anchor == "lucic")
    text = render_results.render_table(table, {**results, "lucic_fid": saved})
    assert f"| MNIST, NS-GAN (`dcgan`) | 6.8 | **{both['fid']:.2f}** | {both['gap']:+.2f} |" in text
    assert f"CPU-minutes on {short_cpu(cpu_name())} |" in text  # the CPU the row's runs trained on
    assert "| MNIST, LSGAN (`lsgan`) | 7.8 | not measured |" in text

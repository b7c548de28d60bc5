"""genzoo report: one self-contained HTML page of a run, or several side by side."""
import base64
import io
import re

import pytest
from PIL import Image

from genzoo.cli import main
from genzoo.evaluation import evaluate_run
from genzoo.report.runs import configured_rates, read_run

pytestmark = pytest.mark.slow  # every test here trains or starts processes

SETS = {"data.name": "mnist", "data.n_samples": 200, "model.nets.width": 8, "model.latent_dim": 4,
        "train.steps": 6, "train.batch_size": 16, "train.log_every": 2, "train.sample_every": 2,
        "train.checkpoint_every": 3, "train.grid_size": 4, "train.lr_decay": 0.5, "train.lr_final": 0.0,
        "train.precision": "fp32"}


@pytest.fixture
def run_dir(tiny_run, monkeypatch, fx_cache, one_thread):
    """A 6-step dcgan on MNIST digits with grids at steps 1 (the early first grid), 2, 4, 6, checkpoints at 3 and 6, and image metrics."""
    monkeypatch.setattr("genzoo.metrics.features.get_feature_extractor", lambda *a, **k: fx_cache[0])
    run = tiny_run("dcgan", SETS)
    evaluate_run(run.dir, n=40, metrics=["fd", "prdc"], log=lambda *_: None)
    return run.dir


def _images(html: str) -> list[Image.Image]:
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    return [Image.open(io.BytesIO(base64.b64decode(u))) for u in uris]


def test_report_has_every_section_and_its_images_decode(run_dir, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    html = out.read_text()
    for section in ('id="curves"', 'id="config-0"', 'id="samples-0"', 'id="evaluation-0"', 'id="checkpoints-0"'):
        assert section in html
    images = _images(html)
    # the curves figure, 4 grids in the strip (steps 1, 2, 4, 6) and the latest grid again
    assert len(images) == 1 + 4 + 1
    for im in images:
        im.load()   # decodes the whole PNG
        assert im.size[0] > 20 and im.size[1] > 20
    assert [f"step {s}</figcaption>" in html for s in (2, 4, 6)] == [True] * 3
    assert "step-0000003.safetensors" in html and "step-0000006.safetensors" in html
    # the eval table: fd with its value, its real-vs-real floor and its protocol; prdc's four numbers
    ev = read_run(run_dir).evaluation
    fd_row = re.search(r"<tr><td>fd</td><td class=\"num\">([^<]+)</td><td class=\"num\">([^<]+)</td>", html)
    assert fd_row and float(fd_row.group(1)) == pytest.approx(ev["fd"]["value"], rel=1e-3)
    assert float(fd_row.group(2)) >= 0   # the floor was computed at the same n
    assert "n_fake 40, n_real 40" in html and "prdc.recall" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_learning_rate_schedule_follows_the_config(run_dir):
    run = read_run(run_dir)
    rates = run.learning_rates()
    # dcgan on MNIST: Adam 1e-3 for G, 2e-4 for D (InfoGAN's rates); constant for the first half, then linear
    # to 0 at step 6
    assert list(rates) == ["model.optim", "model.d_optim"]
    for key, lr in (("model.optim", 1e-3), ("model.d_optim", 2e-4)):
        by_step = dict(zip(*rates[key]))
        assert by_step[0] == pytest.approx(lr) and by_step[3] == pytest.approx(lr)
        assert by_step[6] == pytest.approx(0.0) and by_step[5] == pytest.approx(lr / 3)
    assert configured_rates({"optim": {"lr": 1.0}, "nets": {"width": 2}, "d_optim": {"lr": 0.5}}) == [
        ("model.optim", 1.0), ("model.d_optim", 0.5)]
    curves = run.curves()
    assert set(curves) >= {"d_loss", "g_loss"} and curves["d_loss"][0] == [2, 4, 6]


def test_the_learning_rate_curve_follows_burdas_stages(tmp_path):
    """1,500 digits in batches of 500: 3 steps an epoch, so the rate falls by 10^(-1/7) at step 3 and again at 12."""
    import genzoo

    run = genzoo.train("vae", data="digits", steps=13, batch_size=500, out=tmp_path / "run", progress=False,
                       overrides={"train.lr_schedule": "burda", "model.optim.lr": 1e-3})
    steps, rates = read_run(run.dir).learning_rates()["model.optim"]
    by_step = dict(zip(steps, rates))
    assert steps == list(range(14))
    assert [by_step[s] * 1e3 for s in (0, 2, 3, 11, 12, 13)] == pytest.approx(
        [1.0, 1.0, 10 ** (-1 / 7), 10 ** (-1 / 7), 10 ** (-2 / 7), 10 ** (-2 / 7)])


def test_two_runs_overlay_curves_and_compare_metrics(run_dir, tmp_path):
    out = tmp_path / "two.html"
    assert main(["report", str(run_dir), str(run_dir), "--out", str(out), "--no-floor"]) == 0
    html = out.read_text()
    assert 'id="compare"' in html and 'id="run-1"' in html
    row = re.search(r"<tr><td>fd</td>(<td class=\"num\">[^<]+</td>){2}</tr>", html)
    assert row, "the side-by-side table has one fd value per run"


def test_report_of_a_folder_that_is_not_a_run_says_so(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "is not a genzoo run directory" in capsys.readouterr().err


def test_protocol_text_keeps_plain_fields_and_leaves_out_local_paths():
    from genzoo.report.page import protocol_text
    entry = {"value": 1.5, "protocol": {"dataset": "mnist", "source": "mnist5k: digits (/usr/lib/x/mnist.csv.gz)",
                                        "extractor": {"id": "abc"}}, "n_fake": 5, "seed": 0}
    assert protocol_text(entry) == "dataset mnist; source mnist5k: digits; n_fake 5, seed 0"

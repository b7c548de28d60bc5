"""`genzoo eval`: the metrics that apply to a run, with protocols, written to eval.json."""
import json
import math

import pytest

from genzoo.cli import main
from genzoo.config import resolve
from genzoo.errors import GenzooError
from genzoo.evaluation import evaluate_run
from genzoo.training.trainer import train


def _run(model, out, **sets):
    base = {"train.log_every": 10, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 4}
    return train(resolve(model, overrides={**base, **sets}), out=out, progress=False, log=lambda *_: None).dir


def test_vae_eval_writes_numbers_with_protocols(tmp_path, capsys):
    run = _run("vae", tmp_path / "vae", **{"data.name": "digits", "train.steps": 60})
    assert main(["eval", str(run), "--n", "200", "--k", "20", "--metrics", "fd,kid,nll,probe"]) == 0
    out = capsys.readouterr().out
    assert "nll" in out and "fd" in out
    saved = json.loads((run / "eval.json").read_text())
    assert saved["fd"]["n_fake"] == 200 and saved["fd"]["value"] > 0
    assert "extractor" in saved["fd"]["protocol"]
    nll = saved["nll"]
    assert nll["k"] == 20 and nll["n"] == 200 and math.isfinite(nll["nll"]) and nll["nll"] > 0
    assert "Bernoulli draw" in nll["protocol"]["binarization"]
    assert 0 <= saved["probe"]["raw_pixels"] <= 1 and 0 <= saved["probe"]["model_features"] <= 1


def test_toy_eval_uses_the_pacgan_protocol(tmp_path):
    run = _run("dcgan", tmp_path / "gan", **{"data.name": "ring8", "data.n_samples": 2000, "train.steps": 30,
                                             "model.nets.generator": "mlp", "model.nets.discriminator": "mlp",
                                             "model.nets.hidden": [32], "model.latent_dim": 2})
    r = evaluate_run(run, n=2500, log=lambda *_: None)["toy"]
    assert r["num_modes"] == 8 and r["n_samples"] == 2500
    assert 0 <= r["modes_captured"] <= 8 and sum(r["mode_counts"]) <= 2500


def test_unknown_metric_is_a_clear_error(tmp_path):
    run = _run("ae", tmp_path / "ae", **{"data.name": "digits", "train.steps": 2})
    with pytest.raises(GenzooError, match="unknown metric.*choose from"):
        evaluate_run(run, metrics=["fid"], log=lambda *_: None)


def test_eval_needs_a_run_or_real(capsys):
    assert main(["eval"]) == 2
    assert "--real" in capsys.readouterr().err

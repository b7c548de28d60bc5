"""`genzoo eval`: the metrics that apply to a run, with protocols, written to eval.json."""
import json
import math

import pytest

from genzoo.cli import main
from genzoo.errors import GenzooError
from genzoo.evaluation import evaluate_run


QUICK = {"train.log_every": 10, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 4}


@pytest.mark.slow
def test_vae_eval_writes_numbers_with_protocols(tiny_run, capsys):
    run = tiny_run("vae", QUICK, {"data.name": "digits", "train.steps": 60}).dir
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


@pytest.mark.slow
def test_toy_eval_uses_the_pacgan_protocol(tiny_run):
    run = tiny_run("dcgan", QUICK, {"data.name": "ring8", "data.n_samples": 2000, "train.steps": 30,
                                    "model.nets.generator": "mlp", "model.nets.discriminator": "mlp",
                                    "model.nets.hidden": [32], "model.latent_dim": 2}, name="gan").dir
    r = evaluate_run(run, n=2500, log=lambda *_: None)["toy"]
    assert r["num_modes"] == 8 and r["n_samples"] == 2500
    assert 0 <= r["modes_captured"] <= 8 and sum(r["mode_counts"]) <= 2500


def test_unknown_metric_is_a_clear_error(tiny_run):
    run = tiny_run("ae", QUICK, {"data.name": "digits", "train.steps": 2}).dir
    with pytest.raises(GenzooError, match="unknown metric.*choose from"):
        evaluate_run(run, metrics=["fid"], log=lambda *_: None)


def test_eval_needs_a_run_or_real(capsys):
    assert main(["eval"]) == 2
    assert "--real" in capsys.readouterr().err


AAE_SMALL = {"data.name": "digits", "train.steps": 60, "train.batch_size": 64, "model.hidden": [32, 32],
             "model.disc_hidden": [32, 32]}


@pytest.mark.slow
def test_semi_supervised_aae_eval_reports_its_test_error_at_any_checkpoint(tiny_run, capsys, one_thread):
    import genzoo
    from genzoo.data import load_dataset
    from genzoo.metrics.context import Evaluation
    from genzoo.metrics.registry import default_metrics
    from genzoo.runs import RunDir

    run = tiny_run("aae-semi", QUICK, AAE_SMALL, {"model.labels": 50, "train.checkpoint_every": 30}).dir
    assert "classify" in default_metrics(Evaluation(RunDir.open(run)))
    test = load_dataset("digits", "test")
    x, y = test.x.float().div(255), test.y
    for step in (30, 60):
        assert main(["eval", str(run), "--metrics", "classify", "--step", str(step)]) == 0
        assert "test error" in capsys.readouterr().out
        r = json.loads((run / "eval.json").read_text())["classify"]
        wrong = (genzoo.load(run, step=step).classify(x) != y).sum().item()
        assert r["checkpoint_step"] == step and r["n_test"] == len(y) == 297 and r["labels_used"] == 50
        assert r["error_percent"] == pytest.approx(100 * wrong / len(y))
        assert "Table 2" in r["protocol"]


@pytest.mark.slow
def test_clustering_aae_eval_labels_its_clusters_both_ways(tiny_run, capsys, one_thread):
    import genzoo
    from genzoo.data import load_dataset

    run = tiny_run("aae-cluster", QUICK, AAE_SMALL).dir
    assert main(["eval", str(run), "--metrics", "classify"]) == 0
    assert "with exemplar labels" in capsys.readouterr().out
    r = json.loads((run / "eval.json").read_text())["classify"]
    # the protocols again, written as plain loops over the 16 clusters
    model = genzoo.load(run)
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    q_train, q_test = (model.class_probabilities(d.x.float().div(255)) for d in (train, test))
    home = q_train.argmax(1)
    exemplar, majority = [], []
    for i in range(16):
        exemplar.append(int(train.y[q_train[:, i].argmax()]))
        members = train.y[home == i].tolist()
        majority.append(max(range(10), key=lambda c: (members.count(c), -c)) if members else exemplar[-1])
    assigned = q_test.argmax(1).tolist()
    for name, labels in (("exemplar", exemplar), ("majority", majority)):
        wrong = sum(labels[a] != t for a, t in zip(assigned, test.y.tolist()))
        assert r[f"{name}_labels"] == labels
        assert r[f"{name}_error_percent"] == pytest.approx(100 * wrong / len(assigned))
    assert r["clusters"] == 16 and r["clusters_used"] == len(set(assigned)) and r["n_train"] == len(train)


def test_classify_needs_a_categorical_code_and_step_needs_a_run(tiny_run, capsys):
    run = tiny_run("ae", QUICK, {"data.name": "digits", "train.steps": 2}).dir
    with pytest.raises(GenzooError, match="applies to an AAE with model.mode=semi or cluster"):
        evaluate_run(run, metrics=["classify"], log=lambda *_: None)
    assert main(["eval", str(run), "--step", "7"]) == 2
    assert "no checkpoint at step 7; it has steps [2]" in capsys.readouterr().err
    assert main(["eval", "--real", "digits", "--step", "7"]) == 2
    assert "does not apply to --real" in capsys.readouterr().err


@pytest.mark.parametrize("preset, sets", [
    ("rbm", {"model.hidden": 16}),
    ("dbm", {"model.hidden": [16, 8], "model.pretrain_steps": 10, "model.num_chains": 10}),
])
@pytest.mark.slow
def test_boltzmann_eval_scores_one_seeded_binarization_of_the_test_images(tiny_run, one_thread, preset, sets):
    import genzoo
    import torch
    from genzoo.data import load_dataset
    from genzoo.metrics.ais import dbm_lower_bound, rbm_log_likelihood

    run = tiny_run(preset, QUICK, {"data.name": "digits", "train.steps": 30}, sets).dir
    r = evaluate_run(run, metrics=["loglik"], n=100, seed=3, ais_runs=4, ais_betas=50, log=lambda *_: None)["loglik"]
    # the dynamically binarized model is scored on binary images: x ~ Bernoulli(pixel), drawn once with the seed
    x = load_dataset("digits", "test").x[:100].float().div(255)
    binary = torch.bernoulli(x, generator=torch.Generator().manual_seed(3))
    score = rbm_log_likelihood if preset == "rbm" else dbm_lower_bound
    assert r["value"] == pytest.approx(score(genzoo.load(run), binary, r["ais"]["log_z"]), rel=1e-9)
    assert "one Bernoulli draw per pixel with seed 3" in r["binarization"]


@pytest.mark.slow
def test_eval_refuses_a_sample_count_that_would_not_fit_in_memory(tiny_run):
    run = tiny_run("ae", QUICK, {"data.name": "digits", "train.steps": 2}).dir
    with pytest.raises(GenzooError, match="--n must be from 2 to 50,000 .* got 1,000,000,000"):
        evaluate_run(run, n=10**9, log=lambda *_: None)


@pytest.mark.slow
def test_eval_records_a_step_of_eight_digits_exactly(tiny_run):
    import os

    from genzoo.runs.checkpoint import list_checkpoints
    run = tiny_run("ae", QUICK, {"data.name": "digits", "train.steps": 2}).dir
    latest = list_checkpoints(run / "checkpoints")[-1][1]
    os.replace(latest, latest.with_name("step-12345678.safetensors"))
    evaluate_run(run, metrics=["probe"], n=100, log=lambda *_: None)
    assert json.loads((run / "eval.json").read_text())["probe"]["checkpoint_step"] == 12345678


@pytest.mark.slow
@pytest.mark.parametrize("corrupt", [b'{"probe": {"value', b"[1, 2, 3]", b"\xff\xfe"])
def test_a_corrupt_eval_json_is_moved_aside_and_the_new_results_kept(tiny_run, corrupt):
    run = tiny_run("ae", QUICK, {"data.name": "digits", "train.steps": 2}).dir
    (run / "eval.json").write_bytes(corrupt)
    notices = []
    results = evaluate_run(run, metrics=["probe"], n=100, log=notices.append)
    assert json.loads((run / "eval.json").read_text()) == json.loads(json.dumps(results, default=float))
    assert (run / "eval.json.corrupt").read_bytes() == corrupt
    assert any("moved it to" in line and "eval.json.corrupt" in line for line in notices)


def test_toy_reverse_kl_without_high_quality_samples_reads_undefined_not_nan():
    from genzoo.metrics.registry import METRICS

    r = {"modes_captured": 0, "num_modes": 8, "high_quality_percent": 0.0, "reverse_kl": float("nan"),
         "mean_log_density": -4177.8}
    assert METRICS["toy"].format(r) == ("modes 0/8, high quality 0.0%, reverse KL undefined (no high-quality "
                                        "sample), mean log-density -4177.80")
    assert "reverse KL 0.120," in METRICS["toy"].format({**r, "modes_captured": 8, "reverse_kl": 0.12})


@pytest.mark.parametrize("preset, own_steps, protocol, expected", [
    ("rbm", 1000, "quick", 200),    # the quick protocol cuts the preset's 1,000-step chains to 200
    ("rbm", 7, "quick", 7),         # and never lengthens a shorter chain
    ("rbm", 1000, "paper", 1000),   # the paper protocol runs the model's own length
    ("dbm", 1000, "quick", 200),
])
@pytest.mark.usefixtures("one_thread")   # thousands of Gibbs steps on tiny matrices: one thread is fastest
def test_gibbs_chains_of_eval_samples_follow_the_protocol(tiny_run, preset, own_steps, protocol, expected):
    import torch

    from genzoo.metrics.context import PROTOCOLS, _sample
    from genzoo.runs import RunDir

    sets = {"data.name": "digits", "train.steps": 2, "model.sample_steps": own_steps,
            "model.hidden": [8, 8] if preset == "dbm" else 8}
    if preset == "dbm":
        sets["model.pretrain_steps"] = 1
    model = RunDir.open(tiny_run(preset, QUICK, sets).dir).load_model()
    drawn = _sample(model, 3, seed=0, gibbs_sweeps=PROTOCOLS[protocol]["gibbs_sweeps"])
    by_hand = model.sample(3, generator=torch.Generator().manual_seed(0), steps=expected)
    assert torch.equal(drawn, by_hand.float())
    one_more = model.sample(3, generator=torch.Generator().manual_seed(0), steps=expected + 1)
    assert not torch.equal(drawn, one_more.float())

"""benchmarks/run.py and the specs of benchmarks/specs/: each spec resolves to the configurations its benchmark
trained before it was a spec (the overrides below are written out by hand from those scripts), --dry-run prints
the runs, and a tiny spec runs end to end into a result file."""
from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import run as driver  # noqa: E402
from genzoo.presets import resolve  # noqa: E402
from spec import Row, Spec, Stop, median_and_range, plan  # noqa: E402

MODELS = {"NS-GAN": "dcgan", "LSGAN": "lsgan", "WGAN": "wgan", "WGAN-GP": "wgan-gp", "VAE": "conv-vae"}


def configs(name: str, **kw) -> dict:
    """{(row, seed): resolved config} of the spec `name`."""
    return {(p.row.name, p.seed): p.config() for p in plan(driver.load_spec(name), **kw)}


#: the one row measured at its paper's setting where the preset has its own for minutes-long runs
LUCIC_PAPERS = {"mnist-WGAN-GP": {"model.optim.lr": 1e-4, "model.ema": 0.0}}


def test_the_lucic_rows_train_each_preset_unchanged_for_20_epochs_on_its_dataset():
    got = configs("lucic_fid", seeds=[0, 2], data_root="/data")
    assert len(got) == 2 * 5 * 2
    for dataset in ("mnist", "fashion-mnist"):
        for model, preset in MODELS.items():
            for seed in (0, 2):
                # the old script: genzoo.train(preset, data=dataset, epochs=20.0, seed=seed,
                #                             overrides={"train.time_budget": None, "data.root": ROOT/dataset})
                old = resolve(preset, overrides={"train.time_budget": None, "data.root": f"/data/{dataset}",
                                                 "data.name": dataset, "train.epochs": 20.0, "train.seed": seed,
                                                 **LUCIC_PAPERS.get(f"{dataset}-{model}", {})})
                assert got[(f"{dataset}-{model}", seed)] == old
    cfg = got[("mnist-WGAN", 2)]
    assert (cfg.train.epochs, cfg.train.steps, cfg.train.time_budget, cfg.data.root) == (20.0, None, None, "/data/mnist")
    wgan_gp = got[("mnist-WGAN-GP", 0)].model
    assert (wgan_gp.optim.lr, wgan_gp.ema, wgan_gp.d_steps, wgan_gp.nets.fc_width) == (1e-4, 0.0, 1, 1024)


def test_the_rbm_row_is_cd25_with_500_units_for_60000_steps():
    got = configs("rbm_mnist", extra={"train.device": "cpu"})
    # the old script's rbm_config with its defaults (n_train = 60,000: warm-up min(3000, 15000))
    old = {"train.seed": 0, "train.device": "cpu", "train.steps": 60000, "train.batch_size": 100,
           "train.log_every": 1000, "data.root": None, "model.hidden": 500, "model.cd_k": 25, "model.persistent": False,
           "model.num_chains": 100, "model.optim.lr": 0.05, "model.optim.momentum": 0.9,
           "model.optim.weight_decay": 2e-4, "model.initial_momentum": 0.5, "model.momentum_warmup_steps": 3000}
    assert got == {("rbm", 0): resolve("rbm", overrides=old)}


def test_the_dbm_row_pretrains_two_layers_then_runs_algorithm_20_1():
    got = configs("dbm_mnist", extra={"train.device": "cpu"})
    sgd = {"name": "sgd", "momentum": 0.9, "weight_decay": 2e-4}
    # the old script's dbm_config with its defaults: 2 x 30,000 + 60,000 steps, warm-up min(3000, 7500)
    old = {"train.seed": 0, "train.device": "cpu", "train.steps": 120000, "train.batch_size": 100,
           "train.log_every": 1000, "data.root": None, "model.hidden": [500, 1000], "model.pretrain_steps": 30000,
           "model.pretrain_cd_k": 1, "model.pretrain_optim": {**sgd, "lr": 0.05}, "model.optim": {**sgd, "lr": 0.005},
           "model.initial_momentum": 0.5, "model.momentum_warmup_steps": 3000, "model.gibbs_steps": 5,
           "model.mf_steps": 10, "model.num_chains": 100}
    assert got == {("dbm", 0): resolve("dbm", overrides=old)}
    assert got[("dbm", 0)].model.pretrain_optim.lr == 0.05 and got[("dbm", 0)].model.optim.lr == 0.005


def test_the_vae_nll_rows_train_burdas_network_and_the_iwae_preset_for_30_cpu_minutes():
    common = {"train.seed": 0, "train.device": "cpu", "train.log_every": 1000, "data.root": None,
              "train.lr_decay": 0.3, "train.lr_final": 0.1, "model.optim.lr": 1e-3, "train.time_budget": "1800cpu"}
    network = {"train.batch_size": 100, "model.arch": "mlp", "model.latent_dim": 50, "model.hidden": [500, 500],
               "model.activation": "tanh", "model.likelihood": "bernoulli", "model.binarize": "dynamic",
               "model.objective": "elbo", "model.k": 1}
    vae = configs("vae_nll", extra={"train.device": "cpu"})[("vae", 0)]
    assert vae == resolve("vae", overrides={**common, **network})
    assert (vae.train.steps, vae.train.epochs, vae.train.time_budget) == (None, None, "1800cpu")
    assert configs("iwae_nll", extra={"train.device": "cpu"}) == {("iwae", 0): resolve("iwae", overrides=common)}


# the gan-int-cls preset before its text map: a sentence vector of 128, no mode seeking, no moving average, 12,000 steps
SENTENCE = {"model.text.spatial": False, "model.text.embed_dim": 128, "model.mode_seeking": 0.0, "model.ema": 0.0,
            "train.steps": 12000}
TEXT2IMAGE = {  # the old script's rows, each computing what it did with the preset of its day: (preset, overrides)
    "gan-int": ("gan-int-cls", {**SENTENCE, "model.discriminator": "plain"}),
    "gan-int-cls-other-captions": ("gan-int-cls", {**SENTENCE, "model.hard_mismatch": 0.0}),
    "gan-int-cls-mismatch-0.5": ("gan-int-cls", {**SENTENCE, "train.steps": 16000, "model.hard_mismatch": 0.5,
                                                 "train.lr_decay": 0.0}),
    "gan-int-cls-mismatch-0.75": ("gan-int-cls", {**SENTENCE, "train.steps": 16000, "model.hard_mismatch": 0.75,
                                                  "train.lr_decay": 0.0}),
    "gan-int-cls-20k": ("gan-int-cls", {**SENTENCE, "train.steps": 20000, "model.hard_mismatch": 1.0,
                                        "train.lr_decay": 0.0}),
    "stackgan-sentence": ("stackgan", {"model.text.spatial": False, "model.text.embed_dim": 128, "model.ema": 0.0,
                                       "train.lr_decay": 0.0, "train.steps": 19500, "model.stage1_steps": 12000}),
    "gan-int-cls-quick": ("gan-int-cls-quick", {}),
    "text-encoder": ("gan-int-cls", {**SENTENCE, "train.steps": 1500, "train.lr_decay": 0.0}),
    "text-encoder-paper": ("gan-int-cls", {**SENTENCE, "train.steps": 1500, "train.lr_decay": 0.0,
                                           "model.text.swapped_negatives": False}),
    "text-encoder-paper-500": ("gan-int-cls", {**SENTENCE, "train.steps": 500, "train.lr_decay": 0.0,
                                               "model.text.steps": 500, "model.text.swapped_negatives": False}),
}


@pytest.mark.parametrize("offline", [False, True])
def test_the_text2image_rows_resolve_as_the_old_scripts_rows(offline):
    curve = {"train.checkpoint_every": 2000, "train.keep_checkpoints": 12}
    data = {"data.download": False} if offline else {"data.root": "/data"}
    got = configs("text2image_offline" if offline else "text2image", data_root=None if offline else "/data")
    assert list(dict.fromkeys(name for name, _ in got)) == [
        "gan-int-cls", "gan-int-cls-sentence", *list(TEXT2IMAGE)[:5], "stackgan", "stackgan-long", "stackgan-sentence",
        "stackgan-spatial", "gan-int-cls-quick", "text-encoder-spatial", *list(TEXT2IMAGE)[7:]]
    for name, (preset, sets) in TEXT2IMAGE.items():
        assert got[(name, 0)] == resolve(preset, overrides={**sets, **data, "train.seed": 0, **curve}), name
    assert got[("gan-int-cls-20k", 0)].train.steps == 20000 and got[("text-encoder-paper-500", 0)].model.text.steps == 500
    # the presets themselves on 3 seeds; the paper's sentence vector beside them, as the presets said before the map
    for seed in (0, 1, 2):
        for preset in ("gan-int-cls", "stackgan"):
            assert got[(preset, seed)] == resolve(preset, overrides={**data, "train.seed": seed, **curve})
    # every row, the text encoder's included, on seeds 0, 1 and 2
    seeds = {name: sorted(seed for row, seed in got if row == name) for name, _ in got}
    assert all(seeds[name] == [0, 1, 2] for name in seeds), seeds
    # stackgan with the map but neither moving averages nor the decaying rate, as first measured
    map_only = got[("stackgan-spatial", 0)]
    assert map_only.model.text.spatial and map_only.model.ema == 0 and map_only.train.lr_decay == 0
    # both measured with a 12,000-step Stage I; the preset's is 8,000, its decay spanning Stage II's 6,000 steps
    assert (map_only.train.steps, map_only.model.stage1_steps) == (19500, 12000)
    stack = got[("stackgan", 0)]
    assert stack.model.ema == 0.999 and (stack.train.steps, stack.model.stage1_steps) == (15500, 8000)
    assert stack.train.lr_decay * stack.train.steps >= stack.train.steps - stack.model.text.steps - stack.model.stage1_steps
    # the preset as first measured on 3 seeds: 4,000 more Stage I steps, the same Stage II
    for seed in (0, 1, 2):
        long = got[("stackgan-long", seed)]
        assert long == resolve("stackgan", overrides={**data, "train.seed": seed, **curve, "train.steps": 19500,
                                                      "model.stage1_steps": 12000, "train.lr_decay": 0.3})
    assert got[("gan-int-cls", 0)].model.text.spatial and not got[("gan-int-cls-sentence", 0)].model.text.spatial
    assert got[("gan-int-cls-sentence", 0)] == resolve("gan-int-cls", overrides={**SENTENCE, **data, "train.seed": 0,
                                                                                 **curve})


def test_dry_run_prints_each_run_resolved_and_trains_nothing(capsys):
    assert driver.main(["lucic_fid", "--dry-run", "--rows", "mnist-NS-GAN", "fashion-mnist-VAE", "--seeds", "0", "1",
                        "--data-root", "/data"]) == {}
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["mnist-NS-GAN seed 0", "mnist-NS-GAN seed 1",
                                                      "fashion-mnist-VAE seed 0", "fashion-mnist-VAE seed 1"]
    assert lines[3].startswith("fashion-mnist-VAE seed 1: conv-vae on fashion-mnist, 20 epochs; metrics inception_fid, "
                               "classifier_fd; overrides data.name='fashion-mnist' data.root='/data/fashion-mnist' ")
    assert "train.seed=1" in lines[3]


def test_the_offline_spec_reads_an_empty_folder_whatever_genzoo_data_holds(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path))   # where a user's MNIST files would be found
    driver.main(["text2image_offline", "--dry-run", "--rows", "gan-int-cls-quick"])
    root = capsys.readouterr().out.split("data.root='")[1].split("'")[0]
    # a fresh temporary folder (empty when made), removed when the command ends
    assert root != str(tmp_path) and "genzoo-bundled-data-only-" in root and not os.path.exists(root)
    with pytest.raises(SystemExit):
        driver.main(["text2image_offline", "--dry-run", "--data-root", str(tmp_path)])
    assert "text2image_offline trains on genzoo's bundled data only" in capsys.readouterr().err


def test_bad_names_are_refused_in_one_line():
    with pytest.raises(SystemExit, match="no spec 'lucic'; the specs: dbm_mnist, iwae_nll, lucic_fid"):
        driver.main(["lucic", "--dry-run"])
    with pytest.raises(SystemExit, match="lucic_fid has no row 'mnist-BEGAN'; its rows: mnist-NS-GAN, "):
        driver.main(["lucic_fid", "--dry-run", "--rows", "mnist-BEGAN"])
    with pytest.raises(SystemExit):
        driver.main(["vae_nll", "--dry-run", "--setting", "kk=5"])
    with pytest.raises(SystemExit, match="--set takes KEY=VALUE, got 'train.steps'"):
        driver.main(["vae_nll", "--dry-run", "--set", "train.steps"])


def test_train_only_needs_a_spec_that_keeps_its_runs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        driver.main(["rbm_mnist", "--train-only", "--runs", str(tmp_path)])
    assert "rbm_mnist's trainer is trainer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        driver.main(["text2image", "--score-only"])
    assert "--train-only and --score-only need --runs" in capsys.readouterr().err


def test_a_folder_given_to_a_setting_is_written_as_dir():
    from result_files import command_line

    argv = ["benchmarks/run.py", "lucic_fid", "--setting", "cache=/srv/cache", "--setting", "n_samples=40",
            "--set", "data.root=~/data", "--set", "train.steps=5", "--setting", "grids=docs/assets"]
    assert command_line(argv) == ("python benchmarks/run.py lucic_fid --setting cache=DIR --setting n_samples=40 "
                                  "--set data.root=DIR --set train.steps=5 --setting grids=docs/assets")


def test_a_stop_rule_sets_one_budget():
    assert Stop(steps=50).overrides() == {"train.steps": 50}
    assert Stop(epochs=2.5).overrides() == {"train.time_budget": None, "train.epochs": 2.5}
    assert Stop(time_budget="60cpu").overrides() == {"train.time_budget": "60cpu"}
    assert Stop(cpu_seconds=30, steps=400).overrides() == {"train.steps": 400, "train.epochs": None,
                                                           "train.time_budget": None}
    assert [rule.seconds for rule in Stop(cpu_seconds=30).stop_rules()] == [30] and Stop(steps=5).stop_rules() == []


def test_seeds_aggregate_to_their_median_and_range():
    runs = [{"seed": 2, "fd": 4.0, "steps": 10, "note": "x"}, {"seed": 0, "fd": 1.0, "steps": 10},
            {"seed": 1, "fd": 10.0, "steps": 12}]
    row = median_and_range(runs)
    assert (row["fd"], row["fd_range"], row["steps"], row["steps_range"], row["n_seeds"]) == (4.0, [1.0, 10.0], 10,
                                                                                              [10, 12], 3)
    assert [r["seed"] for r in row["runs"]] == [0, 1, 2] and "note" not in row
    assert "fd_range" not in median_and_range(runs[:1])


TINY = '''
from spec import Row, Spec, Stop

def result(rows, settings, records):
    return {"benchmark": "tiny", "protocol": f"{settings['n']} samples", "rows": rows}

SPEC = Spec("tiny", "unused.json", result=result, settings={"n": 32},
            rows=(Row("vae", "vae", data="digits", stop=Stop(steps=20), seeds=(0, 1), metrics=("sample_mean",),
                      overrides={"model.hidden": [16], "model.latent_dim": 2, "train.batch_size": 32}),))
'''


@pytest.mark.usefixtures("one_thread")
def test_a_tiny_spec_trains_scores_and_writes_its_result_file(tmp_path, monkeypatch):
    import torch

    import genzoo
    from measuring import METRICS, Metric

    def sample_mean(ctx):
        g = torch.Generator().manual_seed(ctx.planned.seed)
        return {"sample_mean": ctx.model.eval().sample(ctx.settings["n"], generator=g).mean().item()}

    monkeypatch.setitem(METRICS, "sample_mean", Metric(sample_mean))
    (tmp_path / "tiny.py").write_text(TINY)
    out = tmp_path / "tiny.json"
    monkeypatch.chdir(tmp_path)
    argv = ["tiny.py", "--out", str(out), "--setting", "n=16"]
    monkeypatch.setattr(sys, "argv", ["benchmarks/run.py", *argv])
    rows = driver.main(argv)
    saved = json.loads(out.read_text())
    assert saved["rows"]["vae"] == {**json.loads(json.dumps(rows["vae"])), "command": saved["command"]}
    assert saved["protocol"] == "16 samples"
    assert saved["command"] == "python benchmarks/run.py tiny.py --out DIR --setting n=16"
    row = saved["rows"]["vae"]
    assert [r["seed"] for r in row["runs"]] == [0, 1] and [r["steps"] for r in row["runs"]] == [20, 20]
    # each run names the precision `auto` chose on this CPU: bf16 and float32 steps compute other weights
    from genzoo.training.device import resolve_precision
    chosen = str(resolve_precision("auto", torch.device("cpu"), "image") or "float32")
    assert [r["precision"] for r in row["runs"]] == [chosen, chosen]
    assert (row["steps"], row["steps_range"]) == (20, [20, 20])
    means = [r["sample_mean"] for r in row["runs"]]
    assert row["sample_mean"] == pytest.approx(statistics.median(means), abs=1e-4)
    assert row["sample_mean_range"] == pytest.approx([min(means), max(means)], abs=1e-4)
    assert (row["preset"], row["n_seeds"], row["command"]) == ("vae", 2, saved["command"])
    # seed 1's number is that of the same run trained by genzoo.train and scored by hand
    again = genzoo.train("vae", data="digits", steps=20, seed=1, progress=False, out=tmp_path / "again",
                         overrides={"model.hidden": [16], "model.latent_dim": 2, "train.batch_size": 32})
    x = again.model.eval().sample(16, generator=torch.Generator().manual_seed(1))
    assert row["runs"][1]["sample_mean"] == pytest.approx(x.mean().item(), abs=1e-6)

    driver.main([*argv, "--seeds", "2"])   # another command adds seed 2 to the row
    joined = json.loads(out.read_text())["rows"]["vae"]
    assert [r["seed"] for r in joined["runs"]] == [0, 1, 2] and joined["runs"][:2] == row["runs"]
    assert joined["n_seeds"] == 3


def test_every_spec_names_registered_metrics_and_a_results_file_the_tables_read():
    from measures import METRICS
    from results_tables import TABLES

    files = {t.file for t in TABLES.values()}
    for name in driver.spec_names():
        spec = driver.load_spec(name)
        assert isinstance(spec, Spec) and Path(spec.results).stem in files, name
        assert all(m in METRICS for row in spec.rows for m in row.metrics), name
        assert all(isinstance(row, Row) for row in spec.rows)


def test_vae_nll_seeds_measured_by_separate_commands_add_up_to_their_median_and_range(tmp_path):
    """`--seeds 1 2` after seed 0: the values are the median over the three seeds' runs, which the file keeps."""
    spec = driver.load_spec("vae_nll")
    protocol = "MNIST, Adam 0.001, seed {}; test NLL by importance sampling (seed 1234)"

    def run(seed: int, nll: float) -> dict:
        return {"seed": seed, "nll": nll, "nll_se": 0.2, "neg_elbo": nll + 4, "steps": 1000 + seed, "epochs": 2.0,
                "train_minutes": 60.0, "train_cpu_minutes": 30.0, "eval_minutes": 35, "protocol": protocol.format(seed),
                "estimator": {"k": 5000}, "cpu": "AMD EPYC" if seed == 0 else "Intel Xeon"}

    path = tmp_path / "vae_nll.json"
    first = spec.result({"vae": median_and_range([run(0, 85.77)])}, {}, {})
    path.write_text(json.dumps(first))
    assert (first["values"]["n_seeds"], first["values"]["seeds"], first["protocol"]) == (1, "85.77", protocol.format(0))
    runs = driver.joined_runs(str(path), "vae", [run(2, 86.01), run(1, 85.5)], layout="values")
    assert [r["seed"] for r in runs] == [0, 1, 2]
    values = spec.result({"vae": median_and_range(runs)}, {}, {})
    assert values["values"]["nll"] == 85.77 and values["values"]["nll_range"] == [85.5, 86.01]
    assert (values["values"]["n_seeds"], values["values"]["seeds"]) == (3, "85.77, 85.50, 86.01")
    assert values["values"]["per_seed"] == ("seed 0: 85.77 nats after 1,000 steps on AMD EPYC; seed 1: 85.50 nats "
                                            "after 1,001 steps on Intel Xeon; seed 2: 86.01 nats after 1,002 steps on "
                                            "Intel Xeon")
    assert values["protocol"] == "MNIST, Adam 0.001, seeds 0, 1, 2; test NLL by importance sampling (seed 1234)"


def test_each_seed_of_a_row_with_several_keeps_its_own_folder_whichever_command_trains_it():
    spec = driver.load_spec("text2image")
    alone = plan(spec, rows=["gan-int-cls"], seeds=[1])   # one seed of a 3-seed row, trained by its own command
    assert driver.run_folder(alone[0], alone, "/runs") == Path("/runs/gan-int-cls-seed1")
    every = plan(spec, rows=["gan-int-cls", "stackgan"])   # the scoring command: every seed of the row
    assert [driver.run_folder(p, every, "/runs").name for p in every] == [
        "gan-int-cls-seed0", "gan-int-cls-seed1", "gan-int-cls-seed2", "stackgan-seed0", "stackgan-seed1",
        "stackgan-seed2"]
    rbm = driver.load_spec("rbm_mnist")
    one = plan(rbm, rows=["rbm"])   # a row with one seed keeps the row's name
    assert driver.run_folder(one[0], one, "/runs") == Path("/runs/rbm")


def test_a_text2image_row_on_several_seeds_gives_medians_ranges_and_its_farthest_late_checkpoint():
    from specs.text2image import seed_summary

    def scores(seen, held_out, fd):   # the one-digit captions read 5 points above all, the two-digit 5 below
        return {"seen": {"caption_accuracy": seen, "one_digit_accuracy": seen + 0.05,
                         "two_digit_accuracy": seen - 0.05},
                "held_out": {"caption_accuracy": held_out}, "fd_digits": fd}

    def run(seed, final, stage1, curve, cpu_seconds):
        return {"seed": seed, "row": {
            "steps_trained": 9500, "steps_planned": 9500, "train_time": {"cpu_seconds": cpu_seconds},
            "final": scores(*final), "stage1": scores(*stage1),
            "curve": {str(step): {"final": {"seen": s, "held_out": h}} for step, (s, h) in curve.items()}}}

    runs = [run(0, (0.90, 0.80, 2.0), (0.5, 0.4, 90.0), {4000: (0.1, 0.1), 6000: (0.88, 0.83), 8000: (0.91, 0.86)},
                1200),
            run(1, (0.94, 0.70, 3.0), (0.6, 0.5, 80.0), {6000: (0.93, 0.75), 8000: (0.95, 0.72)}, 1500),
            run(2, (0.92, 0.75, 1.0), (0.7, 0.3, 70.0), {6000: (0.92, 0.74), 8000: (0.92, 0.77)}, 1800)]
    out = seed_summary(runs)
    # medians and [min, max] over the three seeds' ends, for Stage II and for Stage I
    assert (out["seen"], out["seen_range"]) == (pytest.approx(0.92), [0.90, 0.94])
    assert (out["held_out"], out["held_out_range"], out["fd"]) == (pytest.approx(0.75), [0.70, 0.80], 2.0)
    assert (out["stage1_seen"], out["stage1_held_out"], out["stage1_fd"], out["stage1_fd_range"]) == (
        0.6, 0.4, 80.0, [70.0, 90.0])
    # the seen captions by layout, the same way: one digit 0.95, 0.99, 0.97; two digits 0.85, 0.89, 0.87
    assert (out["one_digit"], out["one_digit_range"]) == (pytest.approx(0.97), [0.95, 0.99])
    assert (out["two_digits"], out["two_digits_range"]) == (pytest.approx(0.87), [0.85, 0.89])
    # the last three checkpoints: steps 6,000, 8,000 and the end; step 4,000's 0.1 is too early to count
    assert [p["step"] for p in out["last_checkpoints"]["0"]] == [6000, 8000, 9500]
    assert out["seen_farthest"] == pytest.approx(0.04)       # seed 0 at 6,000: |0.88 - 0.92|
    assert out["held_out_farthest"] == pytest.approx(0.11)   # seed 0 at 8,000: |0.86 - 0.75|
    assert out["train_cpu_minutes"] == 25.0                  # 1,500 CPU-seconds
    assert (out["train_cpu_minutes_range"], out["timed_seeds"]) == ([20.0, 30.0], [0, 1, 2])
    # a seed resumed past an interrupted part is left out of the training time, not read as the whole run's
    runs[2]["row"]["train_time"]["from_step"] = 6000
    out = seed_summary(runs)
    assert (out["train_cpu_minutes"], out["train_cpu_minutes_range"], out["timed_seeds"]) == (22.5, [20.0, 25.0], [0, 1])
    # a seed trained on a GPU spends its CPU time launching work: it is left out of the CPU-minutes too
    runs[2]["row"]["train_time"].pop("from_step")
    runs[1]["gpu"] = "NVIDIA H200"
    out = seed_summary(runs)
    assert (out["train_cpu_minutes"], out["train_cpu_minutes_range"], out["timed_seeds"]) == (25.0, [20.0, 30.0], [0, 2])


def test_a_text_encoder_row_on_several_seeds_gives_each_numbers_median_and_range_and_keeps_its_runs():
    from specs.text2image import SPEC, make_row

    def run(seed, cosine, own_over_swapped):
        return {"seed": seed, "cpu": "Intel Xeon", "row": {"n_captions": 523, "cosine_swapped": cosine,
                                                           "own_over_swapped": own_over_swapped}}

    runs = [run(0, 0.26, 1.0), run(1, 0.31, 0.98), run(2, 0.22, 0.99)]
    row = make_row(SPEC.row("text-encoder-spatial"), runs, {})
    assert (row["cosine_swapped"], row["cosine_swapped_range"]) == (0.26, [0.22, 0.31])
    assert (row["own_over_swapped"], row["own_over_swapped_range"]) == (0.99, [0.98, 1.0])
    assert (row["n_captions"], row["n_seeds"], row["seeds"], row["runs"]) == (523, 3, [0, 1, 2], runs)
    assert row["overrides"] == {"train.steps": 1500, "train.lr_decay": 0.0}
    # one seed: its numbers as they are, without ranges
    one = make_row(SPEC.row("text-encoder-spatial"), runs[:1], {})
    assert one["cosine_swapped"] == 0.26 and "cosine_swapped_range" not in one


def test_a_resumed_run_adds_its_time_to_the_part_before_and_an_interrupted_part_is_said(tmp_path):
    path = tmp_path / "benchmark-time.json"
    driver.record_time(tmp_path, 0, 2000, {"wall_seconds": 10.0, "cpu_seconds": 8.0, "threads": 1})
    driver.record_time(tmp_path, 2000, 4000, {"wall_seconds": 5.0, "cpu_seconds": 4.0, "threads": 1})
    assert json.loads(path.read_text()) == {"wall_seconds": 15.0, "cpu_seconds": 12.0, "threads": 1,
                                            "from_step": 0, "to_step": 4000}
    # killed at 5,000 before writing; resumed from its checkpoint at 4,000 the time adds up again
    driver.record_time(tmp_path, 4000, 6000, {"wall_seconds": 3.0, "cpu_seconds": 2.0, "threads": 1})
    assert json.loads(path.read_text())["cpu_seconds"] == 14.0
    # resumed from 8,000 while the record ends at 6,000: the steps between were never timed
    driver.record_time(tmp_path, 8000, 9000, {"wall_seconds": 1.0, "cpu_seconds": 0.5, "threads": 1})
    assert json.loads(path.read_text()) == {"wall_seconds": 1.0, "cpu_seconds": 0.5, "threads": 1,
                                            "from_step": 8000, "to_step": 9000}
    assert driver.latest_step(tmp_path) == 0 and driver.latest_step(None) == 0


def test_a_run_scored_by_a_later_command_keeps_the_gpu_and_precision_it_trained_with(tmp_path):
    # the sections every run's record holds beside these (the run's config, its data)
    sections = {"config": {}, "dataset": {"source": "mnist-captions", "size": 60000},
                "data_spec": {"kind": "captions", "shape": [1, 32, 32]}}
    (tmp_path / "config.json").write_text(json.dumps({**sections, "device": "cuda:0 (NVIDIA H200)",
                                                      "precision": "torch.bfloat16"}))
    scored_later = SimpleNamespace(run=None, trainer=None, run_dir=tmp_path)
    assert driver.gpu_of(scored_later) == {"gpu": "NVIDIA H200"}
    assert driver.precision_of(scored_later) == {"precision": "torch.bfloat16"}
    (tmp_path / "config.json").write_text(json.dumps({**sections, "device": "cpu", "precision": "float32"}))
    assert (driver.gpu_of(scored_later), driver.precision_of(scored_later)) == ({}, {"precision": "float32"})
    gone = SimpleNamespace(run=None, trainer=None, run_dir=None)   # a temporary run folder already removed
    assert (driver.gpu_of(gone), driver.precision_of(gone)) == ({}, {})


def test_the_all_captions_spec_scores_the_seeded_rows_runs_on_every_test_caption():
    spec, online = driver.load_spec("text2image_all"), driver.load_spec("text2image")
    assert spec.settings["n"] == 10000 and online.settings["n"] == 1000
    planned = plan(spec)
    assert sorted({p.row.name for p in planned}) == ["gan-int-cls", "stackgan", "stackgan-long"]
    # the same configs in the same run folders as the text2image spec's: it reads those runs, trains nothing new
    for p in planned:
        twin = plan(online, rows=[p.row.name], seeds=[p.seed])
        assert p.config() == twin[0].config()
        assert driver.run_folder(p, planned, "/runs") == Path(f"/runs/{p.row.name}-seed{p.seed}")

"""benchmarks/toy_modes.py: its training loop applies genzoo's learning-rate schedule; its rows build."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import toy_modes  # noqa: E402

from genzoo.presets import resolve  # noqa: E402


def _run(**extra):
    torch.set_num_threads(1)
    job = {"variant": "gan", "dataset": "ring8", "seed": 0, "steps": 3, "n_samples": 200, "threads": 1,
           "extra": extra}
    return toy_modes.run_one(job)


def test_the_benchmark_loop_applies_the_lr_schedule():
    # lr_final = 1: the "decay" keeps every rate at its configured value, so the run is the run without decay
    flat = _run(**{"train.lr_decay": 0.0})
    assert _run(**{"train.lr_decay": 1.0, "train.lr_final": 1.0})["final_logs"] == flat["final_logs"]
    # linear decay to 0 over the whole run: steps 1 and 2 use 2/3 and 1/3 of the rate, so the losses change
    decayed = _run(**{"train.lr_decay": 1.0, "train.lr_final": 0.0})
    assert decayed["final_logs"] != flat["final_logs"]


def test_seed_groups_split_a_row_into_consecutive_near_equal_groups():
    assert toy_modes.split_seeds([0, 1, 2, 3, 4], 2) == [[0, 1, 2], [3, 4]]
    assert toy_modes.split_seeds([0, 1, 2, 3, 4], 1) == [[0, 1, 2, 3, 4]]
    assert toy_modes.split_seeds([0, 1], 3) == [[0], [1]]  # no empty group
    with pytest.raises(ValueError, match="at least 1"):
        toy_modes.split_seeds([0, 1], 0)


@pytest.mark.parametrize("variant", list(toy_modes.VARIANTS))
def test_every_row_builds_on_the_toy_nets(variant):
    cfg = toy_modes.variant_config(variant, "grid25", 3, toy_modes.DEFAULT_STEPS, {})
    assert (cfg.data.name, cfg.train.seed, cfg.data.n_samples) == ("grid25", 3, 100_000)
    nets = cfg.model.nets
    assert (nets.generator, nets.discriminator, tuple(nets.hidden), tuple(nets.d_hidden)) \
        == ("mlp", "mlp", (400,) * 4, (200,) * 3)
    assert nets.generator_norm == ("none" if variant == "gan-toy" else "batch")  # PacGAN's G has batch norm
    assert cfg.model.latent_dim == 2 and cfg.model.ema == 0.99
    assert cfg.train.lr_final == 0.0
    if variant == "gan-toy":  # the preset's grid25 values: batch 200, decay over the last 30%
        assert (cfg.train.lr_decay, cfg.train.batch_size) == (0.3, 200)
    else:
        assert cfg.train.lr_decay == 0.5 and cfg.train.batch_size == 100 * cfg.model.pack


@pytest.mark.slow
def test_the_preset_row_is_the_preset_as_it_stands():
    preset = resolve("gan-toy")
    row = toy_modes.variant_config("gan-toy", "ring8", 0, 123, {})
    assert row.train.steps == preset.train.steps == toy_modes.variant_steps("gan-toy", "ring8", 123)
    assert row.model == preset.model and row.train.precision == "fp32"
    grid = toy_modes.variant_config("gan-toy", "grid25", 0, 123, {})  # with the preset's per-dataset values
    assert grid.model == resolve("gan-toy", overrides={"data.name": "grid25"}).model != preset.model
    # the row's steps are the preset's for that dataset: 60,000 on grid25
    assert grid.train.steps == toy_modes.variant_steps("gan-toy", "grid25", 123) == 60_000 != preset.train.steps
    assert toy_modes.variant_steps("gan", "grid25", 123) == 123
    assert toy_modes.variant_steps("gan-toy", "grid25", 123, {"train.steps": 77}) == 77


def test_the_loss_rows_keep_the_presets_image_settings_not_their_toy_ones():
    """wgan-gp's row is PacGAN's nets with WGAN-GP's paper settings (lambda 10, Adam 1e-4 betas (0, 0.9)),
    not the preset's per-dataset ring8 values (lambda 0.1, Adam 1e-3 betas (0.5, 0.9), 3,000 steps)."""
    row = toy_modes.variant_config("wgan-gp", "ring8", 0, 2000, {})
    assert row.model.penalty.weight == 10.0
    assert (row.model.optim.lr, tuple(row.model.optim.betas)) == (1e-4, (0.0, 0.9))
    assert row.train.steps == 2000 and tuple(row.model.nets.d_hidden) == (200,) * 3
    toy = resolve("wgan-gp", overrides={"data.name": "ring8"})   # what `genzoo train wgan-gp --data ring8` trains
    assert toy.model.penalty.weight == 0.1 and toy.train.steps == 3000
    assert resolve("wgan-gp", overrides={"data.name": "ring8"}, per_dataset=False).model.penalty.weight == 10.0


def _row_at_once(seeds, **extra):
    torch.set_num_threads(1)
    job = {"variant": "gan", "dataset": "ring8", "seeds": seeds, "steps": 3, "n_samples": 200, "threads": 1,
           "extra": extra}
    return toy_modes.run_jobs(job)


def test_a_row_trains_its_seeds_at_once_with_the_same_schedule():
    both = _row_at_once([0, 1])
    assert [r["seed"] for r in both] == [0, 1] and all(0 <= r["modes"] <= 8 for r in both)
    alone = _row_at_once([1])[0]  # a seed's run does not depend on the seeds beside it
    assert alone["final_logs"] == pytest.approx(both[1]["final_logs"], rel=1e-4)
    flat = _row_at_once([0], **{"train.lr_decay": 0.0})[0]
    assert _row_at_once([0], **{"train.lr_decay": 1.0, "train.lr_final": 1.0})[0]["final_logs"] == flat["final_logs"]
    assert _row_at_once([0], **{"train.lr_decay": 1.0, "train.lr_final": 0.0})[0]["final_logs"] != flat["final_logs"]


@pytest.mark.parametrize("variant", list(toy_modes.VARIANTS))
def test_every_row_trains_its_seeds_at_once(variant):
    assert toy_modes.vectorizable({"variant": variant, "dataset": "ring8", "steps": 10, "extra": {}})
    # a configuration the batched engine cannot run falls back to one process per seed
    assert not toy_modes.vectorizable({"variant": variant, "dataset": "ring8", "steps": 10,
                                       "extra": {"model.instance_noise.std": 0.1}})


def test_a_seed_of_a_batched_run_is_an_ordinary_gan_with_its_g_and_d():
    from genzoo.training.multiseed import train_gan_seeds
    from genzoo.runs import run_split

    torch.set_num_threads(1)
    cfg = toy_modes.variant_config("gan-toy", "ring8", 0, 3, {"train.steps": 3})
    ds = run_split(cfg)
    run = train_gan_seeds(cfg.model, ds.x, [0, 1], 3, 50, n_samples=20, sample_seed=10_000)
    model = toy_modes.seed_model(cfg, ds, run, 1)
    torch.testing.assert_close(model.sample(20, generator=torch.Generator().manual_seed(10_001)), run.samples[1])
    x = run.samples[1]
    with torch.no_grad():
        torch.testing.assert_close(model.log_density_ratio(x), run.model.discriminate(torch.stack([x, x]))[1])


@pytest.mark.parametrize("engine", ["seeds at once", "per seed"])
def test_rejection_rows_score_samples_kept_by_the_discriminator(engine):
    torch.set_num_threads(1)
    job = {"variant": "gan", "dataset": "ring8", "steps": 3, "n_samples": 100, "threads": 1, "extra": {},
           "rejection": ["none", "90"]}
    [r] = toy_modes.run_jobs({**job, "seeds": [0]} if engine == "seeds at once" else {**job, "seed": 0})
    assert set(r["rejection"]) == {"none", "90"}
    for m in r["rejection"].values():
        assert 0 < m["acceptance"] <= 1 and 0 <= m["hq"] <= 100 and sum(m["mode_counts"]) <= 100


def test_a_file_of_named_rows_sends_the_reader_to_each_rows_command(tmp_path):
    from argparse import Namespace

    runs = [{"variant": "gan-toy", "seed": s, "steps": 100, "modes": 25, "hq": 90.0 + s, "rkl": 0.01,
             "cpu_seconds": 10.0, "mode_counts": [100] * 25, "near_miss": 1.0, "far_miss": 1.0} for s in range(2)]
    args = Namespace(n_samples=2500, seeds=2, threads=1, engine="vectorized", row=None)
    extra = {"model.latent_dim": 8}
    plain = toy_modes.toy_result(runs, "grid25", ["gan-toy"], [], args, extra, str(tmp_path / "a.json"))
    assert "overrides {'model.latent_dim': 8}" in plain["protocol"]
    named = toy_modes.toy_result(runs, "grid25", ["gan-toy"], [], Namespace(**{**vars(args), "row": "latent8"}),
                                 extra, str(tmp_path / "b.json"))
    assert "overrides those of each row's command" in named["protocol"] and "latent_dim" not in named["protocol"]
    assert named["rows"]["latent8"]["hq"] == 90.5   # mean of 90 and 91

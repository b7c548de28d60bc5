"""Training runs end to end: each algorithm learns, runs resume exactly, divergence stops cleanly."""
import json
from dataclasses import dataclass, field

import pytest
import torch

import genzoo
from genzoo.presets import resolve
from genzoo.errors import ConfigError, GenzooError, TrainingDiverged
from genzoo.models.base import Algorithm, OptimConfig, register
from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint
from genzoo.training.trainer import train

QUICK = {"train.log_every": 5, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 16,
         "data.name": "digits"}


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_ae_lowers_reconstruction_loss(tiny_run):
    run = tiny_run("ae", QUICK, {"train.steps": 150, "train.batch_size": 64})
    m = _metrics(run.dir)
    assert m[-1]["loss"] < 0.7 * m[0]["loss"]
    assert genzoo.load(run.dir).sample(5).shape == (5, 1, 8, 8)


@pytest.mark.slow
def test_vae_raises_the_elbo(tiny_run):
    run = tiny_run("vae", QUICK, {"train.steps": 150, "train.batch_size": 64})
    m = _metrics(run.dir)
    assert m[-1]["elbo"] > m[0]["elbo"] + 5  # nats per example
    x = genzoo.load(run.dir).sample(7)
    assert x.shape == (7, 1, 8, 8) and 0 <= x.min() and x.max() <= 1


@pytest.mark.slow
def test_gan_moves_samples_onto_the_data(tiny_run):
    """An MLP GAN on the ring of 8 Gaussians: samples move from the origin onto the ring.

    (Covering all 8 modes is the toy benchmark's job: a short run may collapse onto a few.)"""
    sets = {"data.name": "ring8", "data.n_samples": 4000, "train.batch_size": 64, "model.nets.generator": "mlp",
            "model.nets.discriminator": "mlp", "model.latent_dim": 4, "model.nets.hidden": [64, 64],
            "model.optim.lr": 1e-3}

    def near_ring(run):
        x = genzoo.load(run.dir).sample(2000, generator=torch.Generator().manual_seed(0))
        return ((x.norm(dim=1) - 1).abs() < 0.3).float().mean().item()

    before = near_ring(tiny_run("dcgan", QUICK, sets, {"train.steps": 1}, name="before"))
    after = near_ring(tiny_run("dcgan", QUICK, sets, {"train.steps": 400}, name="after"))
    assert before < 0.2 and after > 0.5


@pytest.mark.slow
def test_dcgan_samples_approach_the_data(tiny_run):
    """DCGAN on 8x8 digits: after 150 steps the sample mean image is much closer to the data's."""
    from genzoo.data import load_dataset

    data_mean = load_dataset("digits").x.float().div(255).mean(0)
    before = tiny_run("dcgan", QUICK, {"train.steps": 1, "model.nets.width": 16}, name="before")
    after = tiny_run("dcgan", QUICK, {"train.steps": 150, "model.nets.width": 16}, name="after")

    def gap(run):
        return (genzoo.load(run.dir).sample(256).mean(0) - data_mean).abs().mean().item()

    assert gap(after) < 0.6 * gap(before)
    assert (after.dir / "samples").is_dir() and list((after.dir / "samples").glob("*.png"))


# channels-last on 28x28 digits (the dcgan preset's setting): Adam's moments must keep the weights' layout
@pytest.mark.slow
@pytest.mark.parametrize("sets", [{}, {"train.channels_last": True, "data.name": "mnist5k"}])
def test_resume_is_bitwise_identical(tiny_run, sets):
    sets = {"train.steps": 30, "train.checkpoint_every": 10, "model.nets.width": 8, "train.batch_size": 32, **sets}
    whole = tiny_run("dcgan", QUICK, sets, name="whole")
    # A run cut short at step 25 (as if killed): its last checkpoint is step 20.
    cut = tiny_run("dcgan", QUICK, sets, {"train.steps": 25}, name="cut")
    list_checkpoints(cut.dir / "checkpoints")[-1][1].unlink()
    resumed = train(resume=cut.dir, steps=30, progress=False, log=lambda *_: None)
    a, _ = read_checkpoint(list_checkpoints(whole.dir / "checkpoints")[-1][1])
    b, _ = read_checkpoint(list_checkpoints(resumed.dir / "checkpoints")[-1][1])
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    steps = [m["step"] for m in _metrics(resumed.dir)]
    assert steps == sorted(steps) and steps[-1] == 30 and len(steps) == len(set(steps))


@pytest.mark.slow
def test_resume_skips_a_truncated_newest_checkpoint_and_redoes_its_steps(tiny_run):
    # A checkpoint cut short (full disk, interrupted copy) must not strand the run: resume reports it,
    # continues from the checkpoint before it, and ends bitwise where an uninterrupted run ends.
    sets = {"train.steps": 30, "train.checkpoint_every": 10, "model.nets.width": 8, "train.batch_size": 32}
    whole = tiny_run("dcgan", QUICK, sets, name="whole")
    cut = tiny_run("dcgan", QUICK, sets, {"train.steps": 25}, name="cut")   # checkpoints at 10, 20 and 25
    newest = list_checkpoints(cut.dir / "checkpoints")[-1][1]
    newest.write_bytes(newest.read_bytes()[:300])
    notes = []
    resumed = train(resume=cut.dir, steps=30, progress=False, log=notes.append)
    assert any("skipped an unreadable checkpoint" in n and newest.name in n for n in notes), notes
    a, _ = read_checkpoint(list_checkpoints(whole.dir / "checkpoints")[-1][1])
    b, _ = read_checkpoint(list_checkpoints(resumed.dir / "checkpoints")[-1][1])
    for k in a:
        assert torch.equal(a[k], b[k]), k
    steps = [m["step"] for m in _metrics(resumed.dir)]
    assert steps == sorted(steps) and steps[-1] == 30 and len(steps) == len(set(steps))


def test_unreadable_checkpoints_and_a_checkpoint_file_for_a_run_dir_get_clear_errors(tiny_run):
    from genzoo.errors import CheckpointError

    run = tiny_run("vae", QUICK, {"train.steps": 4, "train.checkpoint_every": 2})
    found = list_checkpoints(run.dir / "checkpoints")
    assert [s for s, _ in found] == [2, 4]
    with pytest.raises(GenzooError, match=r"is a file; give the run directory .*'" + str(run.dir)):
        train(resume=found[0][1], progress=False)
    found[1][1].write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match=r"truncated.*checkpoints at steps \[2\]: pick one with --step"):
        genzoo.load(run.dir)
    assert genzoo.load(run.dir, step=2) is not None
    found[0][1].write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="no checkpoint of this run can be read"):
        train(resume=run.dir, progress=False, log=lambda *_: None)


def test_run_directory_records_what_was_used(tiny_run):
    run = tiny_run("vae", QUICK, {"train.steps": 3, "train.seed": 7})
    saved = json.loads((run.dir / "config.json").read_text())
    assert saved["config"]["train"]["seed"] == 7
    assert saved["dataset"]["name"] == "digits" and saved["dataset"]["size"] == 1500
    assert saved["environment"]["torch"] == torch.__version__
    assert list((run.dir / "samples").glob("*.png"))


@dataclass
class _NaNConfig:
    nan_at: int = 5
    optim: OptimConfig = field(default_factory=OptimConfig)


@register
class _Linear(Algorithm):
    """One weight w. loss = w, so plain SGD moves w by exactly minus the learning rate at each step."""
    name = "test-linear"
    Config = _NaNConfig

    def __init__(self, cfg, data):
        super().__init__(cfg, data)
        self.w = torch.nn.Parameter(torch.zeros(1))

    def configure_optimizers(self):
        return {"w": self.cfg.optim.build([self.w])}

    def loss(self, step):
        return self.w.sum()

    def train_step(self, batch, opt, step):
        loss = self.loss(step)
        opt.step("w", loss)
        return {"loss": loss.detach()}

    def sample(self, n, *, cond=None, generator=None):
        return torch.zeros(n, *self.data.shape)


@register
class _Diverging(_Linear):
    """loss = (w - 1)^2, turned into NaN at step cfg.nan_at."""
    name = "test-diverging"

    def loss(self, step):
        return (self.w - 1).pow(2).sum() * (float("nan") if step + 1 == self.cfg.nan_at else 1.0)


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    from genzoo.presets import build_config

    cfg = build_config({"algorithm": "test-diverging", "data": {"name": "digits"},
                        "train": {"steps": 10, "checkpoint_every": 3, "batch_size": 8}})
    with pytest.raises(TrainingDiverged, match="loss became nan at step 5.*step-0000003"):
        train(cfg, out=tmp_path / "nan", progress=False, log=lambda *_: None)
    assert [s for s, _ in list_checkpoints(tmp_path / "nan" / "checkpoints")] == [3]


def test_resume_without_checkpoint_and_missing_run_dir(tmp_path):
    with pytest.raises(GenzooError, match="does not exist"):
        train(resume=tmp_path / "nope", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenzooError, match="not a genzoo run directory"):
        genzoo.load(tmp_path / "empty")


def test_out_refuses_to_overwrite_a_run(tiny_run):
    tiny_run("ae", QUICK, {"train.steps": 2}, name="same")
    with pytest.raises(ConfigError, match="already holds a run"):
        tiny_run("ae", QUICK, {"train.steps": 2}, name="same")


def test_genzoo_train_is_callable_again_after_the_trainer_is_imported(tmp_path):
    """`genzoo.train` is a function; importing genzoo's training modules must not replace it."""
    import genzoo.training.trainer  # noqa: F401

    for name in ("a", "b"):
        run = genzoo.train("ae", data="digits", steps=2, out=tmp_path / name, progress=False)
        assert run.step == 2
    assert callable(genzoo.train)




@pytest.mark.slow
def test_linear_lr_decay_follows_its_schedule_and_survives_resume(tmp_path):
    """10 steps with the last half decaying to 0: factors 1,1,1,1,1, 1,.8,.6,.4,.2, so w ends at -8."""
    from genzoo.presets import build_config
    from genzoo.training.schedule import lr_factor

    assert [round(lr_factor(s, 10, 0.5, 0.0), 6) for s in range(10)] == [1, 1, 1, 1, 1, 1, .8, .6, .4, .2]
    assert lr_factor(9, 10, 0.0, 0.0) == 1.0
    assert lr_factor(5, 10, 1.0, 0.5) == 0.75

    cfg = build_config({"algorithm": "test-linear", "data": {"name": "digits"},
                        "model": {"optim": {"name": "sgd", "lr": 1.0}},
                        "train": {"steps": 10, "checkpoint_every": 7, "batch_size": 8,
                                  "lr_decay": 0.5, "lr_final": 0.0}})

    def final_w(run_dir):
        tensors, _ = read_checkpoint(list_checkpoints(run_dir / "checkpoints")[-1][1])
        return tensors["model/w"]

    whole = train(cfg, out=tmp_path / "whole", progress=False, log=lambda *_: None)
    assert final_w(whole.dir).item() == pytest.approx(-8.0)
    # stopped after step 7's checkpoint (the optimizer state then holds a decayed lr), then resumed
    cut = train(cfg, out=tmp_path / "cut", progress=False, log=lambda *_: None)
    list_checkpoints(cut.dir / "checkpoints")[-1][1].unlink()
    resumed = train(resume=cut.dir, progress=False, log=lambda *_: None)
    assert final_w(resumed.dir).item() == pytest.approx(-8.0)


def test_burdas_schedule_steps_the_rate_down_by_epoch_and_survives_resume(tmp_path):
    """1,500 digits in batches of 500: 3 steps an epoch. Stage 0 is epoch 0 (steps 0-2, factor 1), stage 1 epochs
    1-3 (steps 3-11, 10^(-1/7)), stage 2 from epoch 4 (steps 12-14, 10^(-2/7)); plain SGD at rate 1 on loss = w
    moves w by minus the factor at each step."""
    from genzoo.presets import build_config
    from genzoo.training.schedule import burda_factor

    a, b = 10 ** (-1 / 7), 10 ** (-2 / 7)
    assert [burda_factor(s, 3) for s in (0, 2, 3, 11, 12)] == [1.0, 1.0, a, a, b]
    assert burda_factor(3280 * 3, 3) == burda_factor(10**9, 3) == pytest.approx(10 ** (-1.0))   # stays at stage 7
    cfg = build_config({"algorithm": "test-linear", "data": {"name": "digits"},
                        "model": {"optim": {"name": "sgd", "lr": 1.0}},
                        "train": {"steps": 15, "checkpoint_every": 7, "batch_size": 500, "lr_schedule": "burda"}})

    def final_w(run_dir):
        tensors, _ = read_checkpoint(list_checkpoints(run_dir / "checkpoints")[-1][1])
        return tensors["model/w"].item()

    whole = train(cfg, out=tmp_path / "whole", progress=False, log=lambda *_: None)
    assert final_w(whole.dir) == pytest.approx(-(3 + 9 * a + 3 * b), rel=1e-6)
    cut = train(cfg, out=tmp_path / "cut", progress=False, log=lambda *_: None)
    list_checkpoints(cut.dir / "checkpoints")[-1][1].unlink()   # resumed from step 7's checkpoint, in stage 1
    resumed = train(resume=cut.dir, progress=False, log=lambda *_: None)
    assert final_w(resumed.dir) == pytest.approx(-(3 + 9 * a + 3 * b), rel=1e-6)


def test_burdas_schedule_with_a_linear_decay_is_refused():
    with pytest.raises(ConfigError, match="train.lr_schedule=burda sets the rates by epoch"):
        resolve("iwae", overrides={"train.lr_schedule": "burda", "train.lr_decay": 0.3})


def test_lr_decay_out_of_range_is_refused():
    with pytest.raises(ConfigError, match="train.lr_decay"):
        resolve("ae", overrides={"train.lr_decay": 1.5})


@register
class _DoubleBackward(_Linear):
    """Fails the way torch.compile fails on a gradient penalty (checked with wgan-gp on torch 2.13)."""
    name = "test-double-backward"

    def train_step(self, batch, opt, step):
        raise RuntimeError("torch.compile with aot_autograd does not currently support double backward")


def test_compile_with_a_gradient_penalty_gets_a_clear_error(tmp_path):
    from genzoo.presets import build_config

    def cfg(compile_):
        return build_config({"algorithm": "test-double-backward", "data": {"name": "digits"},
                             "train": {"steps": 2, "batch_size": 8, "compile": compile_}})

    with pytest.raises(ConfigError, match="without --compile"):
        train(cfg(True), out=tmp_path / "c", progress=False, log=lambda *_: None)
    with pytest.raises(RuntimeError, match="double backward"):  # not compiled: not our diagnosis
        train(cfg(False), out=tmp_path / "n", progress=False, log=lambda *_: None)


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_for_images_on_cpus_with_native_bf16(monkeypatch, native):
    """auto: bf16 autocast for image data where the CPU has native bf16, else float32 (None);
    points and tokens always float32 (bf16's 0.008 steps near 1 are coarser than the toy modes)."""
    from genzoo.training import device as trainer_module

    monkeypatch.setattr(trainer_module, "cpu_has_native_bf16", lambda: native)
    cpu = torch.device("cpu")
    assert trainer_module.resolve_precision("auto", cpu, "image") == (torch.bfloat16 if native else None)
    assert trainer_module.resolve_precision("auto", cpu, "points") is None
    assert trainer_module.resolve_precision("auto", cpu, "tokens") is None
    assert trainer_module.resolve_precision("bf16", cpu, "points") == torch.bfloat16   # asked for: given
    assert trainer_module.resolve_precision("fp32", cpu, "image") is None
    with pytest.raises(ConfigError, match="fp16 needs CUDA"):
        trainer_module.resolve_precision("fp16", cpu, "image")


def test_ae_trains_under_bf16_autocast(tiny_run):
    """Under bf16 autocast (what auto picks on CPUs with native bf16) the AE's codes are bf16; the
    fp32 moments it keeps for sampling must still update, not fail on the dtype."""
    run = tiny_run("ae", QUICK, {"train.steps": 5, "train.batch_size": 32, "train.precision": "bf16"})
    m = _metrics(run.dir)
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in m)
    model = genzoo.load(run.dir)
    assert model.code_mean.dtype == torch.float32 and model.code_mean.abs().sum() > 0
    assert model.sample(4).shape == (4, 1, 8, 8)

import pytest

from genzoo.errors import ConfigError
from genzoo.config import TimeBudget, parse_time_budget
from genzoo.training.budget import BudgetTracker


@pytest.mark.parametrize("text, seconds, clock", [
    ("90s", 90, "wall"), ("5m", 300, "wall"), ("1h", 3600, "wall"), ("1.5m", 90, "wall"),
    ("300cpu", 300, "cpu"), ("45", 45, "wall"),
])
def test_budget_strings(text, seconds, clock):
    assert parse_time_budget(text) == TimeBudget(seconds, clock)


@pytest.mark.parametrize("text", ["", "5x", "-3m", "0s", "m", "5 minutes", "nan", "1e3s"])
def test_bad_budget_string_is_one_clear_error(text):
    with pytest.raises(ConfigError, match="90s, 5m, 1h"):
        parse_time_budget(text)


class FakeClock:
    """Each reading advances by `tick` seconds: a step measured between two readings costs `tick`."""

    def __init__(self, tick: float):
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_estimate_follows_measured_step_time():
    tracker = BudgetTracker(TimeBudget(10.0), clock=FakeClock(2.0))   # 2 s a step, 10 s: 5 steps
    assert tracker.estimated_total(0) is None                          # nothing timed yet
    tracker.start()
    tracker.step_done()
    assert tracker.used == 2.0 and not tracker.exhausted
    assert tracker.estimated_total(1) == 5                             # 1 done + 8 s left / 2 s
    for _ in range(4):
        tracker.step_done()
    assert tracker.exhausted and tracker.estimated_total(5) == 5


def test_partial_last_step_still_runs():
    tracker = BudgetTracker(TimeBudget(5.0), clock=FakeClock(2.0))     # 2, 4 (< 5), 6 -> 3 steps
    tracker.start()
    tracker.step_done()
    assert tracker.estimated_total(1) == 3                             # ceil(3 s left / 2 s) = 2 more


def test_state_round_trip_continues_the_budget():
    first = BudgetTracker(TimeBudget(10.0), clock=FakeClock(1.0))
    first.start()
    for _ in range(4):
        first.step_done()
    resumed = BudgetTracker(TimeBudget(10.0), clock=FakeClock(1.0))
    resumed.load_state_dict(first.state_dict())
    assert resumed.used == 4.0 and resumed.estimated_total(4) == 10


# ----------------------------------------------------------------------------- the trainer under a budget

import json  # noqa: E402

import torch  # noqa: E402

import genzoo  # noqa: E402
from genzoo.presets import resolve  # noqa: E402
from genzoo.training import Trainer, budget as budget_module  # noqa: E402
from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint  # noqa: E402

TINY = {"data.name": "digits", "train.batch_size": 32, "train.log_every": 2, "train.sample_every": 0,
        "train.checkpoint_every": 0, "train.seed": 3}
QUIET = {"progress": False, "log": lambda *_: None}


@pytest.fixture
def one_second_steps(monkeypatch):
    """Every step of a budgeted run costs exactly one second of the budget's clock."""
    monkeypatch.setattr(budget_module, "clock_of", lambda budget: FakeClock(1.0))


TRANSLATION = {"model.width": 8, "model.discriminator.width": 8, "model.discriminator.n_layers": 1,
               "data.n_samples": 16, "data.image_size": 16, "train.batch_size": 4}
TEXT = {"data.name": "mnist-captions", "data.download": False, "data.n_samples": 64, "train.batch_size": 8,
        "model.width": 8, "model.latent_dim": 4, "model.projected_dim": 8, "model.text.embed_dim": 16,
        "model.text.steps": 2}


@pytest.mark.parametrize("model, sets", [
    ("dcgan", {"model.nets.width": 8}), ("vae", {}), ("rbm", {}), ("aae", {}), ("gan-toy", {"data.name": "ring8"}),
    ("ae", {}), ("dbm", {"model.hidden": [16, 16]}), ("gsgan", {"data.name": "arith"}),
    ("alae", {"model.hidden": [64], "model.mapping_hidden": [16], "model.disc_hidden": [16], "model.latent_dim": 8,
              "model.w_dim": 8}),
    ("pix2pix", {**TRANSLATION, "data.name": "mnist-edges"}),
    ("cyclegan", {**TRANSLATION, "data.name": "mnist-bold", "model.n_blocks": 1}),
    ("gan-int-cls", TEXT), ("stackgan", {**TEXT, "model.c_dim": 8, "model.stage1_steps": 2, "model.n_residual": 1}),
])
@pytest.mark.slow
def test_a_time_budget_stops_every_family_at_the_budget(tmp_path, one_thread, one_second_steps, model, sets):
    run = genzoo.train(model, overrides={**TINY, **sets, "train.time_budget": "4s"}, out=tmp_path / "run",
                       progress=False)
    assert run.step == 4                                              # 4 steps of 1 s use a 4 s budget
    assert [s for s, _ in list_checkpoints(run.dir / "checkpoints")] == [4]
    assert [p.stem for p in (run.dir / "samples").glob("step-*")] == ["step-0000004"]   # the final samples
    record = json.loads((run.dir / "time_budget.json").read_text())
    assert record["used"] == 4.0 and record["steps"] == 4 and "time budget" in record["stopped"]


def test_a_budget_with_steps_stops_at_whichever_comes_first(tmp_path, one_second_steps):
    run = genzoo.train("vae", overrides={**TINY, "train.time_budget": "1h"}, steps=3, out=tmp_path / "run",
                       progress=False)
    assert run.step == 3


def _final_tensors(run_dir):
    return read_checkpoint(list_checkpoints(run_dir / "checkpoints")[-1][1])[0]


@pytest.mark.slow
def test_the_lr_decay_follows_the_budget_and_a_resumed_run_ends_bitwise_where_a_whole_one_does(
        tmp_path, one_second_steps):
    sets = {**TINY, "model.nets.width": 8, "train.time_budget": "12s", "train.lr_decay": 0.5}
    whole = Trainer(resolve("dcgan", overrides=sets), out=tmp_path / "whole", **QUIET)
    whole.run()
    # 12 steps; the last (index 11) decays over steps 6..12: lr = 2e-4 * (1 - 5/6)
    assert whole.steps_done == 12
    assert whole.optimizers["G"].param_groups[0]["lr"] == pytest.approx(2e-4 / 6)

    part = Trainer(resolve("dcgan", overrides=sets), out=tmp_path / "part", **QUIET)
    part.setup()
    for _ in range(5):
        part.step()
    part.save()
    part.close()
    resumed = Trainer.resume(tmp_path / "part", **QUIET).run()
    assert resumed.step == 12                                          # the 7 seconds it had left
    a, b = _final_tensors(whole.run_dir), _final_tensors(resumed.dir)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_a_bad_budget_on_the_command_line_is_one_line(capsys):
    from genzoo.cli import main
    assert main(["train", "vae", "--data", "digits", "--time-budget", "5 minutes"]) == 2
    err = capsys.readouterr().err
    assert "time budget '5 minutes' is not understood" in err and "Traceback" not in err

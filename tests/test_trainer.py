"""The steppable trainer: set up, step from Python, save, resume; hooks and stop rules."""
import json

import pytest
import torch

import genzoo
from genzoo.presets import resolve
from genzoo.errors import GenzooError
from genzoo.training import Hook, TimeLimit, Trainer
from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint

SETS = {"data.name": "digits", "train.steps": 20, "train.batch_size": 32, "train.log_every": 5,
        "train.sample_every": 0, "train.checkpoint_every": 0, "model.nets.width": 8, "train.seed": 5}
VAE = {k: v for k, v in SETS.items() if not k.startswith("model.")}
QUIET = {"progress": False, "log": lambda *_: None}


def _last_checkpoint(run_dir):
    return read_checkpoint(list_checkpoints(run_dir / "checkpoints")[-1][1])[0]


@pytest.mark.slow
def test_ten_steps_from_python_then_save_and_resume_equal_genzoo_train_bitwise(tmp_path):
    whole = genzoo.train("dcgan", overrides=SETS, out=tmp_path / "whole", progress=False)

    t = Trainer(resolve("dcgan", overrides=SETS), out=tmp_path / "stepped", **QUIET)
    t.setup()
    for _ in range(10):
        t.step()
    assert t.steps_done == 10
    assert t.save() == tmp_path / "stepped" / "checkpoints" / "step-0000010.safetensors"
    t.close()
    resumed = Trainer.resume(tmp_path / "stepped", **QUIET).run()

    assert resumed.step == 20
    a, b = _last_checkpoint(whole.dir), _last_checkpoint(resumed.dir)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


class _Recorder(Hook):
    def __init__(self):
        self.calls = []

    def on_start(self, trainer):
        self.calls.append(("start", trainer.steps_done))

    def on_step_end(self, trainer, values):
        self.calls.append(("step", trainer.steps_done, sorted(values)))

    def on_end(self, trainer):
        self.calls.append(("end", trainer.steps_done))

    def close(self, trainer):
        self.calls.append(("close", trainer.steps_done))


def test_an_extra_hook_sees_every_step_with_its_logged_values(tmp_path):
    rec = _Recorder()
    genzoo.train("vae", overrides={**VAE, "train.steps": 3}, out=tmp_path / "run", progress=False, hooks=[rec])
    assert rec.calls == [("start", 0), ("step", 1, ["elbo", "kl", "loss"]), ("step", 2, ["elbo", "kl", "loss"]),
                         ("step", 3, ["elbo", "kl", "loss"]), ("end", 3), ("close", 3)]


class _StepCounter(Hook):
    """A hook with state: the steps it has seen, over every process that ran the run."""
    state_key = "step_counter"

    def __init__(self):
        self.seen, self.seen_at_start = 0, None

    def on_start(self, trainer):
        self.seen_at_start = self.seen

    def on_step_end(self, trainer, values):
        self.seen += 1

    def state_dict(self):
        return {"seen": self.seen}

    def load_state_dict(self, state):
        self.seen = state["seen"]


def test_a_hooks_state_travels_in_the_checkpoint_and_comes_back_on_resume(tmp_path):
    first = _StepCounter()
    genzoo.train("vae", overrides={**VAE, "train.steps": 3}, out=tmp_path / "run", progress=False, hooks=[first])
    again = _StepCounter()
    Trainer.resume(tmp_path / "run", steps=5, extra_hooks=[again], **QUIET).run()
    assert (first.seen, again.seen_at_start, again.seen) == (3, 3, 5)


class _StopAfter(TimeLimit):
    """A stop rule that ends the run after a number of steps (a clock would make the test timed)."""

    def __init__(self, steps):
        self.steps = steps

    def on_start(self, trainer):
        pass

    def reason(self, trainer):
        return f"did {self.steps} steps" if trainer.steps_done >= self.steps else None


def test_a_stop_rule_ends_the_run_early_with_a_final_checkpoint_log_line_and_grid(tmp_path):
    notes = []
    t = Trainer(resolve("vae", overrides={**VAE, "train.log_every": 4}), out=tmp_path / "run", stop_rules=[_StopAfter(7)],
                progress=False, log=notes.append)
    run = t.run()
    assert run.step == 7 and t.stopped_because == "did 7 steps"
    assert [s for s, _ in list_checkpoints(run.dir / "checkpoints")] == [7]
    lines = [json.loads(x) for x in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [4, 7]   # the partial window of steps 5-7 is logged too
    assert (run.dir / "samples" / "step-0000007.png").is_file()
    assert "trained for 7 steps (stopped early: it did 7 steps)" in notes[-1]


@pytest.mark.slow
@pytest.mark.parametrize("preset, d_steps, steps", [("vae", None, 46), ("dcgan", 1, 46), ("dcgan", 2, 23)])
def test_an_epoch_is_one_pass_over_the_data_however_many_minibatches_a_step_takes(preset, d_steps, steps, tmp_path):
    """1,500 digits make 46 minibatches of 32; a GAN with k D steps per step takes k of them per step."""
    sets = {k: v for k, v in (SETS if d_steps else VAE).items() if k != "train.steps"}
    sets.update({"train.epochs": 1, **({"model.d_steps": d_steps} if d_steps else {})})
    t = Trainer(resolve(preset, overrides=sets), out=tmp_path / "run", **QUIET)
    with t.setup():
        assert t.total_steps == steps


def test_time_limit_refuses_a_non_positive_budget():
    with pytest.raises(GenzooError, match="positive number of seconds"):
        TimeLimit(0)
    with pytest.raises(GenzooError, match="clock must be one of 'wall', 'cpu'"):
        TimeLimit(5, clock="gpu")


def test_stepping_before_setup_or_past_the_budget_is_a_clear_error(tmp_path):
    t = Trainer(resolve("vae", overrides={**VAE, "train.steps": 1}), out=tmp_path / "run", **QUIET)
    with pytest.raises(GenzooError, match=r"call Trainer.setup\(\) before"):
        t.step()
    with t.setup():
        t.step()
        with pytest.raises(GenzooError, match="has done its 1 steps; resume it with more steps"):
            t.step()

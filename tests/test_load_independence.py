"""What a run computes depends on its configuration, seed, hardware and precision: never on the clock or the
machine's load. No preset holds a time limit, --steps is honoured, and a run beside busy processes, or killed
and resumed, ends with the same weights bit for bit."""
import io
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import genzoo
from genzoo.cli import main
from genzoo.presets import list_presets, load_preset, resolve
from genzoo import threads
from genzoo.threads import CHOSEN_BY_GENZOO, USER_WAIT_SETTINGS, choose_wait_policy, set_threads
from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint

HOG = "while True: pass"
TINY = ["dcgan", "--data", "digits", "--steps", "60", "--seed", "1", "--quiet", "--set", "train.checkpoint_every=10",
        "--set", "model.nets.width=16", "--set", "train.sample_every=0"]


def _genzoo(*args):
    return [sys.executable, "-m", "genzoo", *args]


@pytest.mark.parametrize("name", list_presets())
def test_no_preset_holds_a_time_limit_for_any_dataset(name):
    preset = load_preset(name)
    sections = [preset.get("train", {}), *(preset.get("per_dataset") or {}).values()]
    assert all("time_budget" not in s and "train.time_budget" not in s for s in sections)
    for datasets in (preset.get("per_dataset") or {}):
        for data in datasets.split(","):
            assert resolve(name, overrides={"data.name": data.strip()}).train.time_budget is None


def test_the_main_job_trains_its_steps_on_mnist():
    train = resolve("dcgan").train
    assert (train.steps, train.time_budget) == (1400, None)


def test_steps_and_a_time_budget_together_say_which_ends_the_run(tmp_path, capsys, one_thread):
    rc = main(["train", "vae", "--data", "digits", "--steps", "3", "--time-budget", "1h", "--quiet",
               "--set", "model.latent_dim=2", "--out", str(tmp_path / "run")])
    first = capsys.readouterr().err.splitlines()[0]
    assert rc == 0
    assert first == "genzoo: --steps 3 and --time-budget 1h: the run stops at whichever comes first"
    assert list_checkpoints(tmp_path / "run" / "checkpoints")[-1][0] == 3


def _killed_and_resumed(out, env) -> None:
    proc = subprocess.Popen(_genzoo("train", *TINY, "--out", str(out)), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 600  # generous: beside the busy processes the start-up alone can take minutes
    while not any(s >= 20 for s, _ in list_checkpoints(out / "checkpoints")):
        assert proc.poll() is None, "the run ended before it could be killed"
        if time.time() > deadline:
            proc.kill()
            pytest.fail("no checkpoint at step 20 or later within 600 s")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list_checkpoints(out / "checkpoints")[-1][0] < 60
    done = subprocess.run(_genzoo("train", "--resume", str(out), "--quiet"), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _final(run) -> dict:
    step, path = list_checkpoints(run / "checkpoints")[-1]
    assert step == 60
    return read_checkpoint(path)[0]


@pytest.mark.slow
def test_alone_beside_busy_processes_and_killed_then_resumed_give_the_same_bits(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "2"}   # the same count whatever the machine has
    subprocess.run(_genzoo("train", *TINY, "--out", str(tmp_path / "alone")), check=True, env=env,
                   capture_output=True)
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(3)]
    try:
        subprocess.run(_genzoo("train", *TINY, "--out", str(tmp_path / "busy")), check=True, env=env,
                       capture_output=True)
        _killed_and_resumed(tmp_path / "busy-killed", env)
    finally:
        for h in hogs:
            h.kill()
    alone = _final(tmp_path / "alone")
    for other in (_final(tmp_path / "busy"), _final(tmp_path / "busy-killed")):
        assert other.keys() == alone.keys()
        assert all(torch.equal(alone[k], other[k]) for k in alone)


def test_a_run_records_its_thread_count_and_a_resumed_run_keeps_it(tmp_path, one_thread):
    run = genzoo.train("vae", data="digits", steps=2, out=tmp_path / "run", progress=False,
                       overrides={"model.latent_dim": 2, "train.threads": 2})
    assert torch.get_num_threads() == 1   # restored when the run ended
    import json
    assert json.loads((run.dir / "config.json").read_text())["threads"] == 2
    from genzoo.training import Trainer
    with Trainer(resume=run.dir, steps=3, progress=False) as trainer:
        trainer.setup()
        assert (trainer.threads, torch.get_num_threads()) == (2, 2)
    assert torch.get_num_threads() == 1


def test_a_hand_edited_thread_count_is_refused_in_one_line(tmp_path, one_thread, capsys):
    import json
    run = genzoo.train("vae", data="digits", steps=2, out=tmp_path / "run", progress=False,
                       overrides={"model.latent_dim": 2})
    record = json.loads((run.dir / "config.json").read_text())
    (run.dir / "config.json").write_text(json.dumps({**record, "threads": "many"}))
    assert main(["train", "--resume", str(run.dir), "--steps", "3", "--quiet"]) == 2
    assert "records 'many' compute threads" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--threads", "0"], "--threads must be a whole number from 1 to 1,024, got 0"),
    (["--resume", "RUN", "--threads", "1"], "drop --threads"),
])
def test_bad_thread_flags_get_one_line(argv, message, capsys):
    args = argv if "--resume" in argv else ["dcgan", *argv]
    assert main(["train", *args]) == 2
    assert message in capsys.readouterr().err


def _no_wait_settings(monkeypatch):
    for name in (*USER_WAIT_SETTINGS, CHOSEN_BY_GENZOO):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("queue, chosen", [
    (["1/140"] * 7, "GOMP_SPINCOUNT=10000"),                                   # only this process runs
    (["1/140", "3/140", "2/140", "2/141", "1/140", "1/140", "1/140"], "GOMP_SPINCOUNT=10000"),  # 3 of 7: passing
    (["2/140", "3/140", "1/140", "2/141", "5/140", "2/140", "1/140"], "OMP_WAIT_POLICY=PASSIVE"),  # 5 of 7: staying
    (["9/150"] * 7, "OMP_WAIT_POLICY=PASSIVE")])
def test_waiting_threads_sleep_at_once_on_a_busy_machine_and_spin_briefly_on_an_idle_one(monkeypatch, queue, chosen):
    _no_wait_settings(monkeypatch)
    readings = iter(f"0.5 0.4 0.3 {q} 4242\n" for q in queue)
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: io.StringIO(next(readings))
                        if path == "/proc/loadavg" else real_open(path, *a, **k))
    monkeypatch.setattr(os.path, "exists", lambda path: path == "/proc/loadavg" or os.path.lexists(path))
    assert choose_wait_policy() == chosen
    name, value = chosen.split("=")
    assert os.environ[name] == value and os.environ[CHOSEN_BY_GENZOO] == "1"
    assert [n for n in USER_WAIT_SETTINGS if n in os.environ] == [name]


def test_a_users_wait_policy_is_left_alone_and_genzoos_own_is_chosen_anew(monkeypatch):
    _no_wait_settings(monkeypatch)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setattr(threads, "others_running", lambda: 8.0)
    assert choose_wait_policy() == "OMP_WAIT_POLICY=ACTIVE"
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE" and CHOSEN_BY_GENZOO not in os.environ
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "10000")
    monkeypatch.setenv(CHOSEN_BY_GENZOO, "1")   # a genzoo process started by one that chose on an idle machine
    assert choose_wait_policy() == "OMP_WAIT_POLICY=PASSIVE"
    assert "GOMP_SPINCOUNT" not in os.environ


def test_the_default_count_is_the_usable_cores_unless_the_user_set_one(monkeypatch, one_thread):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3}, raising=False)
    assert set_threads() == 2 == torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    assert set_threads() == 1 == torch.get_num_threads()
    assert set_threads(3) == 3 == torch.get_num_threads()

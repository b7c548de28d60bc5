"""Stopping a run of 2 gloo processes under torchrun: a signal to one process, to both a little apart, to the
launcher or to the whole process group (Ctrl-C in a terminal) ends every process within 60 s at one step
boundary with a checkpoint that resumes; a process killed outright ends the other with one line, never a hang."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genzoo.runs.checkpoint import list_checkpoints

pytestmark = pytest.mark.slow  # every test here starts torchrun and its 2 processes

STOP_WITHIN = 60   # seconds from the signal until every process has exited


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(run: Path, log: Path) -> subprocess.Popen:
    """A GAN (a D and a G update per step, each averaging gradients across the processes) that would train for
    hours: only a signal ends it. A new session, so Ctrl-C can be sent to its process group alone."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(_free_port()),
           "-m", "genzoo", "train", "gan", "--data", "digits", "--steps", "1000000", "--quiet", "--threads", "1",
           "--set", "train.device=cpu", "--set", "train.log_every=1", "--set", "train.sample_every=0",
           "--set", "train.checkpoint_every=0", "--set", "train.batch_size=16", "--set", "model.nets.hidden=[32]",
           "--set", "model.nets.d_hidden=[32]", "--set", "model.latent_dim=8", "--out", str(run)]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def _workers(launcher: subprocess.Popen, run: Path, log: Path) -> dict[int, int]:
    """{rank: pid} of the launcher's 2 processes, once both train (metrics.jsonl has a few steps)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        assert launcher.poll() is None, f"torchrun ended before training:\n{log.read_text()[-3000:]}"
        metrics = run / "metrics.jsonl"
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:
            children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split()
            ranks = {}
            for pid in map(int, children):
                env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                rank = next(int(v[5:]) for v in env if v.startswith(b"RANK="))
                ranks[rank] = pid
            if len(ranks) == 2:
                return ranks
        time.sleep(0.2)
    children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split()
    _kill(launcher, [int(pid) for pid in children])
    raise AssertionError(f"the 2 processes did not start training within 600 s:\n{log.read_text()[-3000:]}")


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _kill(launcher: subprocess.Popen, pids) -> None:
    """SIGKILL what is left of a test's launcher and processes (torchrun starts each in a session of its own)."""
    for pid in [*pids, launcher.pid]:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    launcher.wait()


def _wait_all(launcher: subprocess.Popen, pids, log: Path) -> None:
    """Wait until the launcher and its processes have all exited; a hang kills them and fails."""
    deadline = time.monotonic() + STOP_WITHIN
    while time.monotonic() < deadline and (launcher.poll() is None or any(map(_alive, pids))):
        time.sleep(0.1)
    if launcher.poll() is None or any(map(_alive, pids)):
        _kill(launcher, pids)
        pytest.fail(f"still running {STOP_WITHIN} s after the signal (a hang):\n{log.read_text()[-3000:]}")


def _only_torchruns_traceback(said: str) -> bool:
    """torchrun reports a process's exit status 130 (interrupted) with a traceback of its own; no other is allowed."""
    frames = re.findall(r'File "([^"]+)", line', said)
    return all("torch/distributed/" in f or f.startswith("<frozen") for f in frames)


def _resumes(run: Path) -> int:
    """The step of the run's newest checkpoint, after checking that one process resumes from it."""
    found = list_checkpoints(run / "checkpoints")
    assert found, "no checkpoint was saved"
    step = found[-1][0]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "genzoo", "train", "--resume", str(run), "--steps", str(step + 2),
                           "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resuming {run} from step {step}" in done.stdout + done.stderr
    assert list_checkpoints(run / "checkpoints")[-1][0] == step + 2
    return step


def _signal(how: str, launcher: subprocess.Popen, ranks: dict[int, int]) -> None:
    if how == "SIGTERM to rank 1":
        os.kill(ranks[1], signal.SIGTERM)
    elif how == "SIGINT to rank 0":
        os.kill(ranks[0], signal.SIGINT)
    elif how == "SIGTERM to both 0.1 s apart":
        os.kill(ranks[0], signal.SIGTERM)
        time.sleep(0.1)
        os.kill(ranks[1], signal.SIGTERM)
    elif how == "SIGINT to both 0.1 s apart":
        os.kill(ranks[1], signal.SIGINT)
        time.sleep(0.1)
        os.kill(ranks[0], signal.SIGINT)
    elif how == "SIGTERM to the launcher":
        os.kill(launcher.pid, signal.SIGTERM)
    elif how == "SIGINT to the launcher":
        os.kill(launcher.pid, signal.SIGINT)
    elif how == "Ctrl-C to the terminal":   # the terminal signals every process it runs: launcher and both
        for pid in (launcher.pid, *ranks.values()):
            os.kill(pid, signal.SIGINT)


CASES = ["SIGTERM to rank 1", "SIGINT to rank 0", "SIGTERM to both 0.1 s apart", "SIGINT to both 0.1 s apart",
         "SIGTERM to the launcher", "SIGINT to the launcher", "Ctrl-C to the terminal"]


@pytest.mark.parametrize("how", CASES)
def test_a_stop_signal_ends_both_processes_at_one_step_with_a_checkpoint_that_resumes(how, tmp_path):
    run, log = tmp_path / "run", tmp_path / "torchrun.log"
    launcher = _launch(run, log)
    ranks = _workers(launcher, run, log)
    try:
        _signal(how, launcher, ranks)
        _wait_all(launcher, ranks.values(), log)
    finally:
        _kill(launcher, ranks.values())
    said = log.read_text()
    assert _only_torchruns_traceback(said), said[-3000:]
    step = _resumes(run)
    assert f"interrupted at step {step}; saved" in said, said[-3000:]


def test_a_process_killed_outright_ends_the_other_with_one_line(tmp_path):
    run, log = tmp_path / "run", tmp_path / "torchrun.log"
    launcher = _launch(run, log)
    ranks = _workers(launcher, run, log)
    try:
        os.kill(ranks[1], signal.SIGKILL)
        _wait_all(launcher, ranks.values(), log)
    finally:
        _kill(launcher, ranks.values())
    assert launcher.returncode != 0

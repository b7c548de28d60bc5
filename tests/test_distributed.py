"""Data-parallel training with 2 gloo processes on CPU."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from genzoo.presets import resolve
from genzoo.runs.checkpoint import list_checkpoints
from genzoo.training.distributed import leave_process_group
from genzoo.training.trainer import train

pytestmark = pytest.mark.slow  # every test here trains or starts processes

SETS = {"train.device": "cpu", "data.name": "digits", "train.steps": 20, "train.batch_size": 64, "train.log_every": 20,
        "train.sample_every": 0, "train.checkpoint_every": 10, "model.nets.width": 16, "train.seed": 3}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, out, results, preset="dcgan", sets=SETS):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    run = train(resolve(preset, overrides=sets), out=out, progress=False, log=lambda *_: None)
    save_file({k: v.contiguous() for k, v in run.model.state_dict().items()}, f"{results}/rank{rank}.safetensors")
    with open(f"{results}/metrics{rank}.json", "w") as f:
        json.dump(run.last_metrics, f)
    leave_process_group()   # as the CLI leaves: rank 0 hosts the store and waits until rank 1 has left it


def test_two_processes_stay_identical_and_match_one_process(tiny_run, tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "ddp"), str(tmp_path)), nprocs=2, join=True)
    a, b = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs between ranks"
    # rank 0 alone wrote the run directory
    assert [s for s, _ in list_checkpoints(tmp_path / "ddp" / "checkpoints")] == [10, 20]
    assert len((tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()) == 1

    single = tiny_run("dcgan", SETS, name="single")
    ddp = json.loads((tmp_path / "metrics0.json").read_text())
    # Same global batch; the noise draws and per-shard batch statistics differ, so not bitwise. Measured:
    # |d_loss difference| ~4e-5, while a single-process run with another seed differs by ~4e-3.
    for key in ("d_loss", "g_loss"):
        assert ddp[key] == pytest.approx(single.last_metrics[key], abs=1e-3), key


@pytest.mark.parametrize("preset", ["pix2pix", "cyclegan"])
def test_translation_models_stay_identical_across_two_processes(preset, tmp_path):
    # pix2pix: batch norm with batch statistics only; cyclegan: two optimizers and a history of fakes per rank
    sets = {"train.device": "cpu", "data.n_samples": 32, "data.image_size": 16, "train.steps": 3, "train.batch_size": 8,
            "train.sample_every": 0, "train.checkpoint_every": 0, "model.width": 8, "model.discriminator.width": 8,
            **({"model.n_blocks": 1} if preset == "cyclegan" else {})}
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "ddp"), str(tmp_path), preset, sets), nprocs=2, join=True)
    a, b = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    params = [k for k in a if "pool_" not in k]   # each rank keeps its own history of generated images
    assert params and a.keys() == b.keys()
    for k in params:
        assert torch.equal(a[k], b[k]), f"{k} differs between ranks"


def test_torchrun_launches_the_cli(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(_free_port()),
           "-m", "genzoo", "train", "vae", "--data", "digits", "--steps", "6", "--quiet",
           "--set", "train.checkpoint_every=3", "--set", "train.device=cpu", "--out", str(tmp_path / "run")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[:3000]   # the processes' own lines come first, torchrun's summary last
    assert [s for s, _ in list_checkpoints(tmp_path / "run" / "checkpoints")] == [3, 6]
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["processes"] == 2


def test_more_processes_per_node_than_gpus_is_a_clear_error(monkeypatch):
    # torchrun --nproc-per-node 2 on a one-GPU machine: say so, instead of CUDA's "invalid device ordinal"
    from genzoo.errors import ConfigError
    from genzoo.training.distributed import World, local_device
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match=r"has 1 GPU and .* at most 1 per node"):
        local_device(torch.device("cuda"), World(rank=1, size=2, local_rank=1))


#: a deterministic model (an MLP autoencoder, no noise, no batch norm) in float32 with plain SGD: one process
#: and two sharing each global batch compute the same updates up to rounding
RESUME_SETS = {"train.device": "cpu", "data.name": "digits", "train.batch_size": 64, "train.sample_every": 0,
               "train.checkpoint_every": 2, "train.log_every": 2, "train.precision": "fp32", "model.hidden": [32],
               "model.latent_dim": 8, "model.optim.name": "sgd", "model.optim.lr": 0.05, "train.seed": 3}


def _resume_worker(rank, world, port, run_dir, steps, log_file):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    with open(log_file, "a") as log:
        train(None, resume=run_dir, steps=steps, progress=False, log=lambda line: print(line, file=log))
    leave_process_group()   # as the CLI leaves: rank 0 hosts the store and waits until rank 1 has left it


def test_a_run_resumes_with_another_number_of_processes_keeping_the_global_batch(tiny_run, tmp_path):
    """1 process to step 2, then 2 processes to step 4, then 1 process to step 6: each says what changed, and the
    weights are those of an unbroken 1-process run up to rounding. A global batch that changed with the number
    of processes (64 per process: 128 examples a step) would differ by 7e-3 (measured)."""
    from genzoo.runs.checkpoint import read_checkpoint
    run, log = tmp_path / "run", tmp_path / "log.txt"
    tiny_run("ae", RESUME_SETS, {"train.steps": 2}, out=run)
    mp.spawn(_resume_worker, args=(2, _free_port(), str(run), 4, str(log)), nprocs=2, join=True)
    lines = []
    resumed = train(None, resume=run, steps=6, progress=False, log=lines.append)
    said = log.read_text().splitlines() + lines
    assert ("this run was trained by 1 process and resumes with 2: the global batch stays 64 examples (32 per "
            "process, was 64) and the data order and step count go on from step 2") in "\n".join(said)
    assert ("this run was trained by 2 processes and resumes with 1: the global batch stays 64 examples (64 per "
            "process, was 32) and the data order and step count go on from step 4") in "\n".join(said)
    assert f"(for that, resume with torchrun --nproc-per-node 2 -m genzoo train --resume {run})" in "\n".join(said)
    found = list_checkpoints(run / "checkpoints")
    assert [s for s, _ in found] == [2, 4, 6] and resumed.step == 6
    assert read_checkpoint(found[1][1])[1]["extra"]["processes"] == 2
    unbroken = tiny_run("ae", RESUME_SETS, {"train.steps": 6}, name="unbroken")
    params = dict(resumed.model.named_parameters())
    for name, p in unbroken.model.named_parameters():
        assert torch.allclose(params[name], p, rtol=0, atol=1e-5), name


def test_resuming_with_a_number_of_processes_that_cannot_share_the_global_batch_is_refused():
    from genzoo.errors import ConfigError
    from genzoo.training.distributed import World, check_resumable
    with pytest.raises(ConfigError, match=r"global batch of 64 examples cannot be shared by 3 processes; resume it "
                                          r"with torchrun --nproc-per-node 2 -m genzoo train --resume runs/a as it "
                                          r"was trained, or with a number of processes that divides 64"):
        check_resumable({"processes": 2}, World(rank=0, size=3), 64, "runs/a")
    check_resumable({"processes": 2}, World(rank=0, size=4), 64, "runs/a")    # 16 each: resumes, with a note


def test_leaving_the_process_group_ends_it_and_is_a_no_op_without_one(tmp_path):
    # the CLI leaves the group after training: rank 0 hosts its store and must not exit while another rank uses it
    from genzoo.training.distributed import leave_process_group
    leave_process_group()   # one process, no group: nothing to do
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    assert dist.is_initialized()
    leave_process_group()
    assert not dist.is_initialized()


def _stop_worker(rank, world, port, out, results):
    """Trains until process 1 alone receives SIGINT (during its 3rd D update); records what each process then
    does with a further SIGINT."""
    import signal

    from genzoo.errors import StoppedTogether
    from genzoo.models import Optimizers
    from genzoo.training.distributed import leave_process_group

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    original, calls = Optimizers.step, []

    def step_and_signal(self, name, loss):
        calls.append(name)
        if rank == 1 and calls.count("D") == 3 and name == "D":
            os.kill(os.getpid(), signal.SIGINT)
        original(self, name, loss)

    Optimizers.step = step_and_signal
    try:
        train(resolve("gan", overrides={**SETS, "train.steps": 1000}), out=out, progress=False, log=lambda *_: None)
    except StoppedTogether:
        os.kill(os.getpid(), signal.SIGINT)   # a late copy of the stop
        time.sleep(0.1)                       # Python would run a handler here
        with open(f"{results}/rank{rank}.json", "w") as f:
            json.dump({"ignored": signal.getsignal(signal.SIGINT) == signal.SIG_IGN}, f)
    leave_process_group()


def test_after_a_stop_every_process_ignores_late_copies_of_the_signal_even_one_it_never_reached(tmp_path):
    # process 0 learns of the stop from process 1; the terminal's copy of Ctrl-C may reach it only now, and
    # must not interrupt it while it leaves the group (process 1 would wait for it until torchrun's kill)
    mp.spawn(_stop_worker, args=(2, _free_port(), str(tmp_path / "run"), str(tmp_path)), nprocs=2, join=True)
    for rank in (0, 1):
        assert json.loads((tmp_path / f"rank{rank}.json").read_text()) == {"ignored": True}, rank
    assert [s for s, _ in list_checkpoints(tmp_path / "run" / "checkpoints")][-1] == 3

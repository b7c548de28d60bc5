"""Faults and untrusted input: every case ends in a correct result or one clear line, never lost work."""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from genzoo.cli import main
from genzoo.presets import resolve
from genzoo.training.trainer import train


def _error_line(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.mark.slow
def test_sample_out_that_is_a_directory_is_refused_before_sampling(toy_run, tmp_path, capsys):
    err = _error_line(capsys, ["sample", str(toy_run), "--out", str(tmp_path)])
    assert f"cannot write '{tmp_path}': it is a directory" in err
    assert list(tmp_path.iterdir()) == []


def test_sample_out_below_a_file_is_refused(toy_run, capsys):
    err = _error_line(capsys, ["sample", str(toy_run), "--out", str(toy_run / "config.json" / "x.png")])
    assert "config.json' is a file, not a folder" in err


@pytest.mark.slow
def test_sample_out_in_a_folder_that_cannot_be_created_is_one_line(toy_run, capsys):
    err = _error_line(capsys, ["sample", str(toy_run), "--out", "/proc/genzoo-samples.png"])
    assert "cannot write '/proc/genzoo-samples.png'" in err


def test_sample_count_is_bounded_before_anything_is_drawn(toy_run, capsys):
    err = _error_line(capsys, ["sample", str(toy_run), "--n", "100000000"])
    assert "--n must be from 1 to 10,000 samples" in err and "100,000,000" in err


def _toy_config(steps, **sets):
    return resolve("gan", overrides={"data.name": "ring8", "data.n_samples": 512, "train.steps": steps,
                                     "train.sample_every": 0, "train.batch_size": 64, **sets})


def _quiet(cfg, **kw):
    return train(cfg, progress=False, log=lambda *_: None, **kw)


def test_train_out_naming_an_existing_file_is_one_line(tmp_path):
    from genzoo.errors import ConfigError
    (tmp_path / "file").write_text("mine\n")
    with pytest.raises(ConfigError, match="is a file; choose a new directory"):
        _quiet(_toy_config(2), out=tmp_path / "file")
    assert (tmp_path / "file").read_text() == "mine\n"


def test_resume_steps_below_the_checkpoint_is_refused(toy_run):
    from genzoo.errors import ConfigError
    with pytest.raises(ConfigError, match="--steps 1 is below the step of the run's latest checkpoint \\(3\\)"):
        _quiet(None, resume=toy_run, steps=1)


def test_resuming_a_run_whose_checkpoints_link_into_another_run_is_refused(toy_run, tmp_path):
    """--resume would write into, and prune, the other run's checkpoints."""
    import shutil

    from genzoo.errors import GenzooError
    from genzoo.runs.checkpoint import list_checkpoints
    other, mine = tmp_path / "other", tmp_path / "mine"
    shutil.copytree(toy_run, other)
    shutil.copytree(toy_run, mine, ignore=shutil.ignore_patterns("checkpoints"))
    (mine / "checkpoints").symlink_to(other / "checkpoints")
    before = [(s, p.read_bytes()) for s, p in list_checkpoints(other / "checkpoints")]
    with pytest.raises(GenzooError, match="is a link to .*outside the run directory"):
        _quiet(None, resume=mine, steps=6)
    assert [(s, p.read_bytes()) for s, p in list_checkpoints(other / "checkpoints")] == before


@pytest.mark.slow
def test_a_second_training_into_a_locked_run_directory_is_refused(tmp_path):
    from genzoo.errors import GenzooError
    from genzoo.training.guards import lock_run_dir
    (tmp_path / "run").mkdir()
    held = lock_run_dir(tmp_path / "run")        # as a first run holds it for its whole life
    with pytest.raises(GenzooError, match=rf"another genzoo process \(PID {os.getpid()}\) is training into"):
        _quiet(_toy_config(2), out=tmp_path / "run")
    assert not (tmp_path / "run" / "config.json").exists()
    held.close()
    assert _quiet(_toy_config(2), out=tmp_path / "run").step == 2


#: a 3-step toy GAN from the command line, without sample grids or progress bar
TOY_TRAIN = ["train", "gan", "--data", "ring8", "--set", "data.n_samples=512", "--set", "train.sample_every=0",
             "--batch-size", "64", "--quiet"]


def _genzoo(*args: str, wait: bool = True):
    """`python -m genzoo ARGS` in a second process (finished, or running when wait=False)."""
    cmd, env = [sys.executable, "-m", "genzoo", *args], {**os.environ, "OMP_NUM_THREADS": "1"}
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _files(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("how", ["--out", "--resume"])
def test_a_second_genzoo_process_into_a_locked_run_directory_is_refused_naming_the_owner(how, tmp_path):
    """The second process changes nothing: not the lock file, and (resuming) not metrics.jsonl, which a resume
    cuts back to its checkpoint's step."""
    from genzoo.training.trainer import Trainer
    run = tmp_path / "run"
    first = Trainer(_toy_config(3, **{"train.log_every": 1}), out=run, progress=False, log=lambda *_: None).setup()
    first.step()
    if how == "--resume":     # a checkpoint of step 1, and a metrics line of step 2 after it
        first.save()
        first.step()
    before = _files(run)
    args = [*TOY_TRAIN, "--steps", "3", "--out", str(run)] if how == "--out" else ["train", "--resume", str(run)]
    second = _genzoo(*args)
    err = second.stderr.strip()
    assert second.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"another genzoo process (PID {os.getpid()}) is training into '{run}'" in err
    assert _files(run) == before
    assert first.run().step == 3


@pytest.mark.slow
def test_the_lock_of_a_killed_run_is_taken_over_with_a_note(tmp_path):
    run = tmp_path / "run"
    killed = _genzoo(*TOY_TRAIN, "--steps", "100000000", "--set", "train.checkpoint_every=0", "--out", str(run),
                     wait=False)
    deadline = time.monotonic() + 240
    while not (run / "config.json").exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)    # config.json is written once the run holds its lock
    killed.kill()
    assert killed.wait() == -9 and (run / ".lock").read_text().strip() == str(killed.pid)
    notes = []
    assert train(_toy_config(2), out=run, progress=False, log=notes.append).step == 2
    assert any(f"took over the lock of '{run}' from PID {killed.pid}, which ended without releasing it" in n
               for n in notes), notes
    assert (run / ".lock").read_text() == ""     # a run that ends cleanly leaves no owner behind


@pytest.fixture
def shared_tmp():
    """A temporary folder that every user may enter and write (for the tests below that drop to nobody)."""
    base = Path(tempfile.mkdtemp(prefix="genzoo-test-"))
    base.chmod(0o777)
    yield base
    shutil.rmtree(base)


@contextlib.contextmanager
def _permission_bits_bind():
    """Permission bits bind this process while the block runs: as root, which ignores them, the effective
    user is dropped to nobody, so that the kernel itself refuses the writes (no mock)."""
    as_root = os.geteuid() == 0
    if as_root:
        os.seteuid(65534)
    try:
        yield
    finally:
        if as_root:
            os.seteuid(0)


def test_a_read_only_out_directory_is_one_line_before_training(shared_tmp, capsys):
    out = shared_tmp / "out"
    out.mkdir()
    out.chmod(0o555)
    with _permission_bits_bind():
        err = _error_line(capsys, [*TOY_TRAIN, "--steps", "3", "--out", str(out)])
    assert f"cannot write into '{out}' (Permission denied)" in err and "choose another --out" in err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("kind", ["read-only folder", "file", "broken link"])
def test_a_checkpoints_folder_that_cannot_be_written_is_refused_before_training(kind, shared_tmp, capsys):
    """Found at start, not at the first checkpoint (when the steps since the start would be lost)."""
    out, bind = shared_tmp / "run", contextlib.nullcontext()
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    ckpts = out / "checkpoints"
    if kind == "read-only folder":
        ckpts.mkdir()
        ckpts.chmod(0o555)
        bind = _permission_bits_bind()
    elif kind == "file":
        ckpts.write_text("not a folder\n")
    else:
        ckpts.symlink_to(out / "gone")
    with bind:
        err = _error_line(capsys, [*TOY_TRAIN, "--steps", "3", "--out", str(out)])
    expected = {"read-only folder": "cannot write into", "file": "is a file where the run writes its checkpoints",
                "broken link": "is a link that leads nowhere or to itself"}[kind]
    assert f"'{ckpts}'" in err and expected in err, err
    assert not (out / "config.json").exists()       # refused before training began


@pytest.mark.slow
def test_sigterm_between_d_and_g_saves_a_whole_step_that_resumes_exactly(tmp_path, monkeypatch):
    """SIGTERM is treated as Ctrl-C, and only at a step boundary: sent during step 3's D update, the run
    finishes step 3 (its G update too), saves it, and says how to resume."""
    import os
    import signal

    import torch

    from genzoo.errors import GenzooError
    from genzoo.models import Optimizers
    from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint

    whole = _quiet(_toy_config(10, **{"train.checkpoint_every": 3, "train.keep_checkpoints": 5}), out=tmp_path / "whole")
    calls = []
    original = Optimizers.step

    def step_and_signal(self, name, loss):
        calls.append(name)
        if calls.count("D") == 3 and name == "D":
            os.kill(os.getpid(), signal.SIGTERM)
        original(self, name, loss)

    monkeypatch.setattr(Optimizers, "step", step_and_signal)
    with pytest.raises(GenzooError, match=r"interrupted at step 3; saved .*step-0000003.* --resume"):
        _quiet(_toy_config(10), out=tmp_path / "cut")
    assert calls[-1] == "G"
    a, _ = read_checkpoint(dict(list_checkpoints(whole.dir / "checkpoints"))[3])
    b, _ = read_checkpoint(list_checkpoints(tmp_path / "cut" / "checkpoints")[-1][1])
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("model/"))


@pytest.mark.parametrize("settled", [True, False])
def test_a_stop_the_processes_agreed_on_ignores_later_copies_of_its_signal(settled):
    """Under torchrun a stop reaches each process twice (the terminal's Ctrl-C and torchrun's copy), possibly
    seconds apart: once the processes agree to stop, they save and leave the group together, and a late copy
    must not interrupt that or the interpreter's exit. Otherwise the earlier handlers come back."""
    import signal

    from genzoo.training.guards import DeferredInterrupt

    earlier = {s: signal.getsignal(s) for s in DeferredInterrupt.SIGNALS}
    try:
        with DeferredInterrupt(same_stop=10.0) as interrupt:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)   # Python runs the handler here: it only notes the signal
            if settled:
                interrupt.settle()
        assert interrupt.received == signal.SIGINT
        for s in DeferredInterrupt.SIGNALS:
            assert signal.getsignal(s) == (signal.SIG_IGN if settled else earlier[s])
        if settled:   # the late copy arrives after the block: nothing is raised
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
    finally:
        for s, handler in earlier.items():
            signal.signal(s, handler)


def test_a_full_disk_when_config_json_is_written_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno
    import pathlib

    from genzoo.errors import GenzooError

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    with pytest.raises(GenzooError, match=r"cannot write .*config.json \(No space left on device\)"):
        _quiet(_toy_config(2), out=tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [".lock"]


def _full_disk(real_save_file, fails):
    """safetensors' save_file failing as it does on a full disk (measured on a 64 KiB tmpfs: a SafetensorError,
    not an OSError) for the files for which fails(filename) is true."""
    from safetensors import SafetensorError

    def save_file(tensors, filename, metadata=None):
        if fails(filename):
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        return real_save_file(tensors, filename, metadata=metadata)

    return save_file


@pytest.mark.slow
def test_a_checkpoint_write_that_fails_once_is_retried(tmp_path, monkeypatch):
    from genzoo.runs import checkpoint as ckpt
    from genzoo.runs.checkpoint import list_checkpoints
    calls = []
    first_call_fails = lambda name: calls.append(name) or len(calls) == 1  # noqa: E731
    monkeypatch.setattr(ckpt, "save_file", _full_disk(ckpt.save_file, first_call_fails))
    monkeypatch.setattr(ckpt, "RETRY_WAIT_S", 0.01)
    monkeypatch.setenv("GENZOO_RESCUE_DIR", str(tmp_path / "rescue"))
    run = _quiet(_toy_config(3), out=tmp_path / "run")
    assert run.step == 3 and len(calls) == 2 and calls[0] == calls[1]
    assert [s for s, _ in list_checkpoints(run.dir / "checkpoints")] == [3]
    assert not (tmp_path / "rescue").exists()


@pytest.mark.slow
def test_a_full_disk_saves_the_checkpoint_in_the_rescue_folder_and_the_run_continues_from_it(
        tmp_path, monkeypatch, capsys):
    """The disk stays full from step 4 on: one line says so, where the checkpoint went and how to continue;
    the earlier checkpoint stays, and continuing from the rescued one ends exactly as an unbroken run."""
    import torch

    from genzoo.runs import checkpoint as ckpt
    from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint
    args = [*TOY_TRAIN, "--steps", "6", "--set", "train.checkpoint_every=2"]
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    run, rescued = tmp_path / "run", tmp_path / "rescue" / "run"
    monkeypatch.setattr(ckpt, "save_file", _full_disk(
        ckpt.save_file, lambda name: name.startswith(str(run)) and "step-0000002" not in name))
    monkeypatch.setattr(ckpt, "RETRY_WAIT_S", 0.01)
    monkeypatch.setenv("GENZOO_RESCUE_DIR", str(tmp_path / "rescue"))
    err = _error_line(capsys, [*args, "--out", str(run)])
    assert (f"could not write the checkpoint of step 4 to {run / 'checkpoints' / 'step-0000004.safetensors'} "
            f"(No space left on device), also after a retry; saved it to "
            f"{rescued / 'checkpoints' / 'step-0000004.safetensors'} instead. "
            f"Continue with: genzoo train --resume {rescued} ") in err
    assert [s for s, _ in list_checkpoints(run / "checkpoints")] == [2]
    assert main(["train", "--resume", str(rescued), "--quiet"]) == 0
    a, _ = read_checkpoint(list_checkpoints(tmp_path / "whole" / "checkpoints")[-1][1])
    b, _ = read_checkpoint(list_checkpoints(rescued / "checkpoints")[-1][1])
    assert list_checkpoints(rescued / "checkpoints")[-1][0] == 6
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("model/"))


def test_a_stray_step_latest_checkpoint_is_ignored_by_eval(toy_run, tmp_path):
    import shutil

    from genzoo.evaluation import evaluate_run
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)
    shutil.copy(run / "checkpoints" / "step-0000003.safetensors", run / "checkpoints" / "step-latest.safetensors")
    result = evaluate_run(run, metrics=["toy"], n=100, log=lambda *_: None)
    assert result["toy"]["checkpoint_step"] == 3

"""Run directories and shared folders crafted by a stranger: genzoo never writes through their links, never
empties a file outside the run, and says so in one line."""
import json
import os
import shutil
import stat
import tempfile

import pytest

from genzoo.cli import main
from test_reliability import TOY_TRAIN, _error_line

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets: one thread is fastest, and spares a busy CPU


@pytest.fixture
def victim(tmp_path):
    """A file of the user's that a stranger would like emptied."""
    path = tmp_path / "victim" / "thesis.txt"
    path.parent.mkdir()
    path.write_text("four years of work\n")
    return path


@pytest.mark.parametrize("how", ["--resume", "--out"])
def test_a_lock_file_that_links_elsewhere_is_refused_and_its_target_kept(how, toy_run, tmp_path, victim, capsys):
    """A stranger's run directory (shared, or unpacked from an archive) whose .lock links to the user's file."""
    run = tmp_path / "run"
    if how == "--resume":
        shutil.copytree(toy_run, run)
    else:
        run.mkdir()
    (run / ".lock").unlink(missing_ok=True)
    (run / ".lock").symlink_to(victim)
    argv = (["train", "--resume", str(run), "--steps", "4", "--quiet"] if how == "--resume" else
            [*TOY_TRAIN, "--steps", "2", "--out", str(run)])
    err = _error_line(capsys, argv)
    assert f"'{run / '.lock'}' is a link" in err and "remove it" in err
    assert victim.read_text() == "four years of work\n"
    assert (run / ".lock").is_symlink()


def test_a_lock_file_that_is_a_hard_link_or_a_fifo_is_refused(tmp_path, victim, capsys):
    from genzoo.errors import GenzooError
    from genzoo.training.guards import lock_run_dir
    (tmp_path / "a").mkdir()
    os.link(victim, tmp_path / "a" / ".lock")
    with pytest.raises(GenzooError, match="has other names"):
        lock_run_dir(tmp_path / "a")
    assert victim.read_text() == "four years of work\n"
    (tmp_path / "b").mkdir()
    os.mkfifo(tmp_path / "b" / ".lock")
    with pytest.raises(GenzooError, match="is not a regular file"):
        lock_run_dir(tmp_path / "b")


def _full_disk_in(run, monkeypatch):
    """Checkpoint writes into `run` fail with ENOSPC; elsewhere they succeed."""
    import errno

    from genzoo.runs import checkpoint as ckpt
    real = ckpt.save_file

    def save_file(tensors, name, metadata=None):
        if name.startswith(str(run)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(tensors, name, metadata=metadata)
    monkeypatch.setattr(ckpt, "save_file", save_file)
    monkeypatch.setattr(ckpt, "RETRY_WAIT_S", 0.0)


@pytest.fixture
def shared_tmp(tmp_path, monkeypatch):
    """A temporary folder that everyone can write, as /tmp is."""
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    monkeypatch.delenv("GENZOO_RESCUE_DIR", raising=False)
    return shared


def _rescued_folder(err):
    """The rescue copy a full-disk message names (from 'Continue with: genzoo train --resume DIR ')."""
    from pathlib import Path
    return Path(err.split("genzoo train --resume ", 1)[1].split(" ", 1)[0])


def _plant(path, kind: str, target):
    """What a stranger leaves at `path`: a link to `target` ("link"), or a folder anyone may write to."""
    if kind == "link":
        path.symlink_to(target)
    else:
        path.mkdir()
        path.chmod(0o777)


@pytest.mark.parametrize("planted", ["link", "foreign folder"])
def test_the_rescue_folder_is_private_and_ignores_what_a_stranger_planted_at_the_old_shared_path(
        planted, shared_tmp, tmp_path, monkeypatch, capsys):
    """Another user who creates $TMPDIR/genzoo-rescue first (a folder of theirs, or a link to one) neither
    blocks the rescue nor receives the checkpoint: it goes into a new folder only the user can enter."""
    trap = tmp_path / "stranger"
    trap.mkdir()
    trap.chmod(0o777)
    old = shared_tmp / "genzoo-rescue"
    _plant(old, planted, trap)
    if planted != "link" and os.geteuid() == 0:
        os.chown(old, 65534, 65534)     # nobody's
    run = tmp_path / "run"
    _full_disk_in(run, monkeypatch)
    err = _error_line(capsys, [*TOY_TRAIN, "--steps", "2", "--out", str(run)])
    rescued = _rescued_folder(err)
    assert list(trap.iterdir()) == [] and list(old.iterdir()) == []
    root = rescued.parent
    assert root.parent == shared_tmp and root.name.startswith("genzoo-rescue-") and root != old
    info = root.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.geteuid()
    assert (rescued / "checkpoints" / "step-0000002.safetensors").is_file()


@pytest.mark.parametrize("kind", ["link", "open to all"])
def test_a_rescue_dir_set_by_the_user_that_is_a_link_or_open_to_others_is_refused(
        kind, tmp_path, monkeypatch, capsys):
    target = tmp_path / "elsewhere"
    target.mkdir()
    chosen = tmp_path / "rescue"
    _plant(chosen, kind, target)
    monkeypatch.setenv("GENZOO_RESCUE_DIR", str(chosen))
    run = tmp_path / "run"
    _full_disk_in(run, monkeypatch)
    err = _error_line(capsys, [*TOY_TRAIN, "--steps", "2", "--out", str(run)])
    assert f"nor into {chosen}" in err
    assert ("is a link" if kind == "link" else "others can write") in err
    assert list(target.iterdir()) == [] and (kind == "link" or list(chosen.iterdir()) == [])


# ------------------------------------------------------------------------------------------ exports


@pytest.fixture(scope="module")
def exported(toy_run, tmp_path_factory):
    """toy_run's sampler as TorchScript and ONNX."""
    folder = tmp_path_factory.mktemp("exported")
    for fmt, name in (("torchscript", "g.pt"), ("onnx", "g.onnx")):
        assert main(["export", str(toy_run), "--format", fmt, "--out", str(folder / name)]) == 0
    return folder


def test_load_exported_refuses_torchscript_unless_trusted(exported, monkeypatch):
    """TorchScript is code: a stranger's file must not be run by a plain load_exported."""
    import torch

    import genzoo
    from genzoo.errors import GenzooError
    real, calls = torch.jit.load, []
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    with pytest.raises(GenzooError, match="TorchScript file, and TorchScript is code.*trusted=True"):
        genzoo.load_exported(exported / "g.pt")
    assert calls == []
    trusted = genzoo.load_exported(exported / "g.pt", trusted=True)
    assert len(calls) == 1 and trusted.sample(4, seed=0).shape == (4, 2)
    safe = genzoo.load_exported(exported / "g.onnx")            # ONNX: no opt-in needed
    torch.testing.assert_close(safe.sample(4, seed=0), trusted.sample(4, seed=0), atol=1e-4, rtol=0)


@pytest.mark.parametrize("sidecar", ["[]", '{"format": "genzoo-export", "version": 1, "format_of_file": "pickle"}'])
def test_a_sidecar_that_is_not_a_genzoo_record_is_one_error(sidecar, exported, tmp_path):
    import genzoo
    from genzoo.errors import GenzooError
    shutil.copy(exported / "g.onnx", tmp_path / "g.onnx")
    (tmp_path / "g.onnx.json").write_text(sidecar)
    with pytest.raises(GenzooError, match="not a genzoo export sidecar"):
        genzoo.load_exported(tmp_path / "g.onnx")


@pytest.mark.parametrize("planted", ["export folder", "export file"])
def test_export_never_follows_a_link_in_the_runs_export_folder(planted, toy_run, tmp_path, victim, capsys):
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)
    if planted == "export folder":
        (run / "export").symlink_to(victim.parent)
    else:
        (run / "export").mkdir()
        (run / "export" / "model.pt").symlink_to(victim)
    err = _error_line(capsys, ["export", str(run)])
    assert "is a link" in err
    assert [p.name for p in victim.parent.iterdir()] == ["thesis.txt"]
    assert victim.read_text() == "four years of work\n"


@pytest.mark.parametrize("command", ["export", "sample"])
@pytest.mark.parametrize("part", ["checkpoints/step-0000003.safetensors", "config.json", "metrics.jsonl"])
def test_export_and_sample_never_write_over_a_runs_own_files(command, part, toy_run, capsys):
    before = {p: p.read_bytes() for p in toy_run.rglob("*") if p.is_file()}
    err = _error_line(capsys, [command, str(toy_run), "--out", str(toy_run / part)])
    assert f"it is {part} of the run directory '{toy_run}', which only training writes" in err
    assert {p: p.read_bytes() for p in toy_run.rglob("*") if p.is_file()} == before


def test_a_full_disk_during_export_keeps_the_earlier_export_and_leaves_no_temporary_file(
        toy_run, tmp_path, monkeypatch, capsys):
    import errno

    from genzoo import safe_write
    out = tmp_path / "g.pt"
    assert main(["export", str(toy_run), "--out", str(out)]) == 0
    capsys.readouterr()
    earlier = out.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(safe_write, "_sync", full)
    err = _error_line(capsys, ["export", str(toy_run), "--out", str(out)])
    assert f"cannot write '{out}' (No space left on device)" in err
    assert out.read_bytes() == earlier and sorted(p.name for p in tmp_path.iterdir()) == ["g.pt", "g.pt.json"]


@pytest.mark.slow   # a second process, stopped by SIGTERM
def test_sigterm_during_export_keeps_the_earlier_export_and_leaves_no_temporary_file(toy_run, tmp_path):
    import subprocess
    import sys
    out = tmp_path / "g.pt"
    assert main(["export", str(toy_run), "--out", str(out)]) == 0
    earlier = out.read_bytes()
    script = ("import os, signal, sys\nfrom genzoo import safe_write\n"
              "safe_write._sync = lambda fd: os.kill(os.getpid(), signal.SIGTERM)\n"
              "from genzoo.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", script, "export", str(toy_run), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    assert out.read_bytes() == earlier and sorted(p.name for p in tmp_path.iterdir()) == ["g.pt", "g.pt.json"]


# ------------------------------------------------------------------------------------------ explore


def _free_port() -> str:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.fixture
def no_serving(monkeypatch):
    """Record the page explore would serve instead of loading the model and serving it."""
    from genzoo import explore
    served = []
    monkeypatch.setattr(explore, "_launch", lambda run_dir, **kw: served.append(kw))
    return served


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_explore_beyond_loopback_needs_allow_remote(host, no_serving, toy_run, capsys):
    err = _error_line(capsys, ["explore", str(toy_run), "--host", host, "--port", _free_port()])
    assert f"--host {host} would let other machines reach this page" in err and "--allow-remote" in err
    assert no_serving == []
    assert main(["explore", str(toy_run), "--host", host, "--port", _free_port(), "--allow-remote"]) == 0
    assert "genzoo: warning: the page at" in capsys.readouterr().err and no_serving[0]["host"] == host


def test_explore_on_loopback_serves_without_a_warning(no_serving, toy_run, capsys):
    assert main(["explore", str(toy_run), "--port", _free_port()]) == 0
    assert "warning" not in capsys.readouterr().err and no_serving[0]["host"] == "127.0.0.1"


def test_explore_with_a_bad_or_busy_port_is_one_line(no_serving, toy_run, capsys):
    import socket
    err = _error_line(capsys, ["explore", str(toy_run), "--port", "99999"])
    assert "--port must be from 1 to 65535" in err and "99999" in err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        err = _error_line(capsys, ["explore", str(toy_run), "--port", str(port)])
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert no_serving == []


# ------------------------------------------------------------------------------------------ bounds


def test_a_grid_of_rows_times_cols_is_bounded_like_n(toy_run, capsys):
    err = _error_line(capsys, ["sample", str(toy_run), "--mode", "interpolate", "--rows", "1000", "--cols", "1000"])
    assert "--rows 1,000 x --cols 1,000 would be 1,000,000 samples, more than 10,000" in err


@pytest.mark.parametrize("content,n,says", [
    ("a red bird\n" * 200, 100, "200 captions x --n 100 would be 20,000 samples"),
    (None, 1, "is not UTF-8 text")])
def test_captions_times_n_is_bounded_and_a_non_utf8_file_is_one_error(content, n, says, tmp_path):
    import argparse

    from genzoo.errors import GenzooError
    from genzoo.sample_command import _typed_captions
    path = tmp_path / "captions.txt"
    path.write_bytes(content.encode() if content else b"a \xff\xfe bird\n")
    with pytest.raises(GenzooError, match=says):
        _typed_captions(argparse.Namespace(text=None, text_file=str(path), n=n))


# ------------------------------------------------------------------------------------------ eval.json


@pytest.mark.parametrize("kind", ["folder", "fifo", "link"])
def test_eval_keeps_its_results_when_eval_json_is_not_a_file(kind, toy_run, tmp_path, victim, capsys):
    """A folder or a link there: the results are printed in full. A FIFO: no hang; it is replaced by the file."""
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)
    (run / "eval.json").unlink(missing_ok=True)
    {"folder": lambda p: p.mkdir(), "fifo": os.mkfifo, "link": lambda p: p.symlink_to(victim)}[kind](run / "eval.json")
    assert main(["eval", str(run), "--metrics", "toy", "--n", "100"]) == 0
    printed = capsys.readouterr()
    if kind == "fifo":
        assert "toy" in json.loads((run / "eval.json").read_text())
    else:
        assert "The results were not saved; here they are in full" in printed.out
        assert '"toy"' in printed.out and victim.read_text() == "four years of work\n"


def test_eval_images_refuses_an_image_above_the_pixel_limit_before_decoding_any(tmp_path, monkeypatch):
    """Legal PNGs of 5000 x 4000 (20 Mpx, a few kB each): refused from their headers, none decoded."""
    from PIL import Image

    from genzoo.data import folder
    from genzoo.errors import GenzooError
    from genzoo.folder_eval import read_folder
    for i in range(3):
        Image.new("L", (5000, 4000)).save(tmp_path / f"{i}.png")
    decoded = []
    monkeypatch.setattr(folder, "read_image", lambda *a, **k: decoded.append(a))
    with pytest.raises(GenzooError, match="is 5000x4000 pixels, above the limit of 16,777,216 pixels"):
        read_folder(tmp_path, (1, 28, 28), n=10, seed=0, flag="--images")
    assert decoded == []

"""Bad input and hostile surroundings for the commands around training: a wrong --out, a run of another kind, a
looping link, a full disk at start or while writing, SIGTERM while writing. Each is one line or a success, the
earlier file at the output path stays whole and no temporary file is left."""
import errno
import json
import os
import shutil
import subprocess
import sys

import pytest

from genzoo.cli import main
from test_reliability import TOY_TRAIN, _error_line

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets: one thread is fastest, and spares a busy CPU


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def run(toy_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(toy_run, copy)
    return copy


# ------------------------------------------------------------------------------------------ export --out


@pytest.mark.parametrize("where", ["a folder", "below a file", "an unwritable folder"])
def test_export_out_that_cannot_be_a_file_is_one_line(where, toy_run, tmp_path, capsys):
    out = {"a folder": tmp_path, "below a file": tmp_path / "f.txt" / "m.pt",
           "an unwritable folder": tmp_path / "locked" / "m.pt"}[where]
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "locked").mkdir(mode=0o500)
    if where == "an unwritable folder" and os.access(tmp_path / "locked", os.W_OK):
        pytest.skip("this user can write into a read-only folder (root)")
    err = _error_line(capsys, ["export", str(toy_run), "--out", str(out)])
    assert f"cannot write '{out}'" in err
    assert _files(tmp_path) == ["f.txt", "locked"] and _files(tmp_path / "locked") == []


# ------------------------------------------------------------------------------------------ experiments


def test_linear_ae_pca_with_a_run_that_is_not_a_linear_ae_is_one_line(toy_run, tmp_path, capsys):
    err = _error_line(capsys, ["experiment", "linear-ae-pca", "--quick", "--run", str(toy_run),
                               "--out", str(tmp_path / "out")])
    assert "linear-ae-pca takes a linear-ae run" in err and "gan" in err


def test_experiment_out_naming_a_file_is_one_line(tmp_path, capsys):
    out = tmp_path / "notes.txt"
    out.write_text("mine\n")
    err = _error_line(capsys, ["experiment", "saturation", "--quick", "--out", str(out)])
    assert f"'{out}' is a file" in err and out.read_text() == "mine\n"


# ------------------------------------------------------------------------------------------ run directories


@pytest.mark.parametrize("command", [["sample"], ["eval", "--n", "100"], ["export"], ["train", "--resume"]])
def test_a_checkpoints_link_that_loops_is_one_line(command, run, capsys):
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").symlink_to(run / "checkpoints")
    argv = [*command, str(run)] + (["--out", str(run.parent / "x.png")] if command == ["sample"] else [])
    err = _error_line(capsys, argv)
    assert "checkpoints" in err


@pytest.mark.parametrize("fails_at", ["write", "flush"])
def test_a_full_disk_when_the_lock_names_its_owner_is_one_line(fails_at, tmp_path, monkeypatch, capsys):
    """The PID's write fails, or (as on a real full disk) it fills a buffer, and both its flush and the close
    that flushes again fail."""
    from genzoo.training import guards

    def full(*_):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    class Full:
        def __init__(self, handle):
            self.handle = handle
            setattr(self, fails_at, full)

        def close(self):
            self.handle.close()
            if fails_at == "flush":
                full()

        def __getattr__(self, name):
            return getattr(self.handle, name)
    opened = guards._open_lock_file
    monkeypatch.setattr(guards, "_open_lock_file", lambda path: Full(opened(path)))
    err = _error_line(capsys, [*TOY_TRAIN, "--steps", "2", "--out", str(tmp_path / "run")])
    assert "cannot write into the run directory" in err and "No space left on device" in err


def test_resuming_with_the_config_of_another_preset_is_refused(tmp_path, capsys):
    """lsgan is dcgan's networks with another loss: a dcgan run whose config.json says lsgan's loss (as when
    lsgan's config.json is copied over it) would resume as a hybrid of the two."""
    sets = ["--data", "digits", "--set", "train.sample_every=0", "--set", "model.nets.width=8", "--batch-size", "16",
            "--quiet", "--steps", "2"]
    assert main(["train", "dcgan", *sets, "--out", str(tmp_path / "dcgan")]) == 0
    capsys.readouterr()
    record = json.loads((tmp_path / "dcgan" / "config.json").read_text())
    record["config"]["name"], record["config"]["model"]["loss"] = "lsgan", "least-squares"
    (tmp_path / "dcgan" / "config.json").write_text(json.dumps(record))
    err = _error_line(capsys, ["train", "--resume", str(tmp_path / "dcgan"), "--steps", "4"])
    assert "model.loss='non-saturating' but config.json says 'least-squares'" in err


# ------------------------------------------------------------------------------------------ eval


def test_eval_on_a_full_disk_prints_its_results_and_keeps_the_earlier_eval_json(run, monkeypatch, capsys):
    from genzoo import safe_write
    assert main(["eval", str(run), "--metrics", "toy", "--n", "100"]) == 0
    earlier = (run / "eval.json").read_bytes()
    capsys.readouterr()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(safe_write, "_sync", full)
    assert main(["eval", str(run), "--metrics", "toy", "--n", "100", "--seed", "1"]) == 0
    printed = capsys.readouterr()
    assert "No space left on device" in printed.out and "here they are in full" in printed.out
    assert '"toy"' in printed.out and (run / "eval.json").read_bytes() == earlier
    assert not [p for p in run.iterdir() if p.name.startswith(".eval.json")]


def test_eval_in_a_read_only_run_with_a_corrupt_eval_json_prints_its_results(run, capsys):
    (run / "eval.json").write_text("[1, 2]")
    run.chmod(0o500)
    try:
        if os.access(run, os.W_OK):
            pytest.skip("this user can write into a read-only folder (root)")
        assert main(["eval", str(run), "--metrics", "toy", "--n", "100"]) == 0
    finally:
        run.chmod(0o700)
    printed = capsys.readouterr()
    assert '"toy"' in printed.out and (run / "eval.json").read_text() == "[1, 2]"


# ------------------------------------------------------------------------------------------ SIGTERM while writing


def _killed_while_writing(argv: list[str]) -> subprocess.CompletedProcess:
    """`genzoo ARGV` in a process that receives SIGTERM as its output is being synced to disk."""
    script = ("import os, signal, sys\nfrom genzoo import safe_write\n"
              "safe_write._sync = lambda fd: os.kill(os.getpid(), signal.SIGTERM)\n"
              "from genzoo.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    return subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow
@pytest.mark.parametrize("command", ["report", "eval"])
def test_sigterm_while_writing_keeps_the_earlier_file_and_leaves_no_temporary_file(command, run, tmp_path):
    out = tmp_path / "r.html" if command == "report" else run / "eval.json"
    argv = (["report", str(run), "--out", str(out), "--no-floor"] if command == "report"
            else ["eval", str(run), "--metrics", "toy", "--n", "100"])
    assert main(argv) == 0
    earlier = out.read_bytes()
    done = _killed_while_writing(argv)
    assert "Traceback" not in done.stderr, done.stderr
    assert out.read_bytes() == earlier
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    if command == "eval":   # the results were computed: they are printed, not lost
        assert done.returncode == 130 and "\"toy\"" in done.stdout, done.stdout + done.stderr
    else:
        assert done.returncode == 130


def test_a_full_disk_while_writing_a_report_keeps_the_earlier_one(run, tmp_path, monkeypatch, capsys):
    from genzoo import safe_write
    out = tmp_path / "r.html"
    assert main(["report", str(run), "--out", str(out), "--no-floor"]) == 0
    earlier = out.read_bytes()
    capsys.readouterr()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(safe_write, "_sync", full)
    err = _error_line(capsys, ["report", str(run), "--out", str(out), "--no-floor"])
    assert f"cannot write '{out}' (No space left on device)" in err
    assert out.read_bytes() == earlier and not [p for p in tmp_path.iterdir() if p.name.startswith(".r.html")]


def test_eval_json_of_another_run_kind_is_kept_when_results_are_added(run, capsys):
    (run / "eval.json").write_text(json.dumps({"fd": {"value": 3.0}}))
    assert main(["eval", str(run), "--metrics", "toy", "--n", "100"]) == 0
    assert set(json.loads((run / "eval.json").read_text())) == {"fd", "toy"}


@pytest.mark.parametrize("command", ["export", "sample"])
@pytest.mark.parametrize("part", ["eval.json", "samples/step-0000003.png", ".lock", "time_budget.json"])
def test_export_and_sample_never_write_over_a_runs_results_or_training_grids(command, part, run, capsys):
    (run / "samples").mkdir(exist_ok=True)
    for name in ("eval.json", "samples/step-0000003.png", ".lock", "time_budget.json"):
        if not (run / name).exists():
            (run / name).write_text("{}")
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    err = _error_line(capsys, [command, str(run), "--out", str(run / part)])
    assert f"it is {part} of the run directory '{run}', which only" in err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


# ------------------------------------------------------------------------------------------ a second stop signal


def test_a_second_signal_stops_at_once_and_saves_no_half_step(tmp_path, monkeypatch):
    """Two SIGTERMs during step 3's D update: the run ends there, between D and G, and writes no checkpoint of
    that half step; the checkpoint of step 2 is kept and the line names the resume command."""
    import signal

    from genzoo.errors import GenzooError
    from genzoo.models import Optimizers
    from genzoo.runs.checkpoint import list_checkpoints
    from test_reliability import _quiet, _toy_config

    calls, original = [], Optimizers.step

    def step_and_signal(self, name, loss):
        calls.append(name)
        if calls.count("D") == 3 and name == "D":
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
        original(self, name, loss)
    monkeypatch.setattr(Optimizers, "step", step_and_signal)
    with pytest.raises(GenzooError, match=r"stopped at once by a second signal, during step 3; .* --resume"):
        _quiet(_toy_config(10, **{"train.checkpoint_every": 2}), out=tmp_path / "cut")
    assert calls[-1] == "D"   # G's update of step 3 never ran
    assert [s for s, _ in list_checkpoints(tmp_path / "cut" / "checkpoints")] == [2]


def test_every_test_that_docs_reliability_names_exists():
    """Each promise of docs/reliability.md names the tests that back it: they must exist (parametrized or not)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", (root / "docs" / "reliability.md").read_text())
    assert len(named) > 40
    missing = [f"{f}::{t}" for f, t in named
               if not re.search(rf"^def {t}\(", (root / "tests" / f).read_text(), re.MULTILINE)]
    assert not missing, missing


# ------------------------------------------------------------------------------------------ writers outside the run


@pytest.fixture
def victim(tmp_path):
    """A file of the user's that a planted link points to."""
    path = tmp_path / "thesis.txt"
    path.write_text("four years of work\n")
    return path


@pytest.mark.parametrize("out", ["a link", "config.json", "eval.json", "the default, a link"])
def test_finetune_never_writes_through_a_link_nor_over_a_runs_files_and_says_so_before_training(
        out, run, victim, capsys):
    (run / "eval.json").write_text("{}")
    path = {"a link": run.parent / "f.json", "config.json": run / "config.json", "eval.json": run / "eval.json",
            "the default, a link": run / "finetune-labels20-seed0.json"}[out]
    if "link" in out:
        path.symlink_to(victim)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    argv = ["finetune", str(run), "--labels", "20"] + ([] if "default" in out else ["--out", str(path)])
    err = _error_line(capsys, argv)   # the toy run has no encoder: refused for its path first, before any work
    assert f"cannot write '{path}'" in err
    assert victim.read_text() == "four years of work\n"
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_finetune_result_on_a_full_disk_is_one_line_and_keeps_the_earlier_file(tmp_path, monkeypatch):
    from genzoo import safe_write
    from genzoo.errors import GenzooError
    from genzoo.finetune import write_result

    class Result:
        def to_dict(self):
            return {"finetuned_accuracy": 0.5}
    path = tmp_path / "f.json"
    path.write_text("earlier\n")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(safe_write, "_sync", full)
    with pytest.raises(GenzooError, match="No space left on device"):
        write_result(Result(), path)
    assert path.read_text() == "earlier\n" and _files(tmp_path) == ["f.json"]


@pytest.mark.parametrize("command", ["report", "eval --images"])
@pytest.mark.parametrize("part", ["eval.json", "samples/step-0000003.png"])
def test_report_and_eval_images_never_write_over_a_runs_results(command, part, run, capsys):
    (run / "samples").mkdir(exist_ok=True)
    for name, data in (("eval.json", b"{}"), ("samples/step-0000003.png", b"grid")):
        (run / name).write_bytes(data)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    argv = (["report", str(run), "--no-floor"] if command == "report" else
            ["eval", "--images", str(run / "samples"), "--against", str(run / "samples")]) + ["--out", str(run / part)]
    err = _error_line(capsys, argv)
    assert f"it is {part} of the run directory '{run}'" in err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_resume_rewrites_a_log_whose_rows_are_not_records_keeping_the_records(tmp_path):
    """Lines that are lists, numbers, not UTF-8, nested 100,000 deep or whose step is not a number are
    dropped (their steps are unknown); records up to the checkpoint's step are kept in order."""
    from genzoo.training.hooks import logged_time
    from genzoo.runs.record import truncate_metrics
    log = tmp_path / "metrics.jsonl"
    lines = [b'{"step": 1, "time": 0.5}', b"[1, 2]", b"7", b"\xff\xfe", b'{"step": "abc"}',
             b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", b'{"step": 2, "time": 1.5}',
             b'{"step": 3, "time": 2.5}', b'{"step": true}', b'{"time": 0.25}']
    log.write_bytes(b"\n".join(lines) + b"\n")
    assert logged_time(log) == 0.25   # the last line with a time
    truncate_metrics(log, 2)
    assert log.read_text() == '{"step": 1, "time": 0.5}\n{"step": 2, "time": 1.5}\n{"time": 0.25}\n'
    assert _files(tmp_path) == ["metrics.jsonl"]


def test_the_time_budget_record_is_never_written_through_a_planted_link(tmp_path, victim, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "time_budget.json.tmp").symlink_to(victim)   # the fixed temporary name it used
    assert main([*TOY_TRAIN, "--steps", "2", "--time-budget", "300cpu", "--out", str(run)]) == 0
    assert victim.read_text() == "four years of work\n"
    assert json.loads((run / "time_budget.json").read_text())["steps"] == 2


def test_an_experiment_figure_is_never_written_through_a_planted_link(tmp_path, victim):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genzoo.experiments.base import save_figure
    (tmp_path / ".xy.png.tmp").symlink_to(victim)   # the fixed temporary name it used
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "xy.png")
    assert victim.read_text() == "four years of work\n"
    assert (tmp_path / "xy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_never_follows_a_samples_link_out_of_the_run(run, tmp_path, capsys):
    """A crafted run whose samples/ links elsewhere: the default output path would leave the run."""
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(run / "samples", ignore_errors=True)
    (run / "samples").symlink_to(outside)
    err = _error_line(capsys, ["sample", str(run)])
    assert f"'{run / 'samples'}' is a link" in err and _files(outside) == []


@pytest.mark.parametrize("flags, says", [
    (["--seed", str(2 ** 70)], "--seed must be a whole number from 0 to 2**32 - 1"),
    (["--seed", "-1"], "--seed must be a whole number from 0 to 2**32 - 1"),
    (["--truncation", "nan"], "--truncation must be a positive, finite bound"),
    (["--truncation", "inf"], "--truncation must be a positive, finite bound")])
def test_sample_refuses_seeds_bounds_and_scales_it_cannot_honour_in_one_line(flags, says, run, tmp_path, capsys):
    err = _error_line(capsys, ["sample", str(run), "--out", str(tmp_path / "s.png"), *flags])
    assert says in err and not (tmp_path / "s.png").exists()


def test_a_grid_is_bounded_by_the_pixels_pillow_reads_back(tmp_path):
    """64 images of 8 x 8 with padding 2 make a 82 x 82 grid: scale 115 gives 9430**2 = 88.9 M pixels (allowed),
    116 gives 9512**2 = 90.5 M (over Pillow's 89,478,485)."""
    import torch

    from genzoo.errors import GenzooError
    from genzoo.images import save_grid
    x = torch.zeros(64, 1, 8, 8)
    with pytest.raises(GenzooError, match="a grid of 9,512 x 9,512 pixels"):
        save_grid(x, tmp_path / "g.png", scale=116)
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize("argv, says", [
    (["eval", "RUN", "--seed", str(2 ** 70)], "argument --seed: must be from 0 to 4,294,967,295"),
    (["eval", "RUN", "--seed", "-1"], "argument --seed: must be from 0 to 4,294,967,295"),
    (["eval", "RUN", "--k", "0"], "argument --k: must be from 1 to 100,000"),
    (["eval", "RUN", "--ais-runs", "1000000000"], "argument --ais-runs: must be from 1 to 10,000"),
    (["eval", "RUN", "--ais-betas", "1"], "argument --ais-betas: must be from 2 to 1,000,000"),
    (["finetune", "RUN", "--seed", str(2 ** 70)], "argument --seed: must be from 0"),
    (["finetune", "RUN", "--lr", "nan"], "argument --lr: must be a positive, finite number, got 'nan'"),
    (["finetune", "RUN", "--unfrozen-lr", "-1"], "argument --unfrozen-lr: must be a positive, finite number"),
    (["finetune", "RUN", "--layers", "-2"], "argument --layers: must be from 1 to 1,000, got -2")])
def test_eval_and_finetune_refuse_seeds_and_budgets_they_cannot_honour_in_one_line(argv, says, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1 and says in err, err


def test_resuming_a_run_whose_log_is_a_fifo_is_one_line_not_a_hang(run, capsys):
    (run / "metrics.jsonl").unlink()
    os.mkfifo(run / "metrics.jsonl")
    err = _error_line(capsys, ["train", "--resume", str(run), "--steps", "4", "--quiet"])
    assert f"'{run / 'metrics.jsonl'}' is not a regular file (a FIFO or a device)" in err

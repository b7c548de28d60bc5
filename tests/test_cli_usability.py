"""What a new user meets first: --version, pipes, help(), the license, refusals that come early."""
import inspect
import pathlib
import pydoc
import subprocess
import sys
import tomllib

import pytest

import genzoo
from genzoo.cli import main
from genzoo.presets import resolve
from genzoo.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"genzoo {_pyproject()['project']['version']}"


@pytest.mark.slow
def test_list_into_a_closed_pipe_ends_quietly():
    """`genzoo list | head`: the reader is gone before genzoo writes; no BrokenPipeError traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "genzoo", "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader leaves at once, so genzoo's first write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_help_of_train_and_load_shows_parameters_and_an_example():
    assert list(inspect.signature(genzoo.train).parameters)[:4] == ["model", "data", "steps", "epochs"]
    assert list(inspect.signature(genzoo.load).parameters) == ["run_dir", "step", "device"]
    for fn, words in ((genzoo.train, ("overrides:", "config:", ">>> run = genzoo.train(")),
                      (genzoo.load, ("step:", "device:", ">>> model = genzoo.load("))):
        text = pydoc.render_doc(fn, renderer=pydoc.plaintext)
        assert all(w in text for w in words), text


def test_license_file_matches_the_package_metadata():
    assert _pyproject()["project"]["license"] == {"text": "MIT"}
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.parametrize("precision", ["auto", "fp32", "bf16"])
@pytest.mark.parametrize("model", ["wgan-gp", "alae"])
def test_compile_with_a_gradient_penalty_is_refused_at_any_precision(model, precision):
    with pytest.raises(ConfigError, match="without --compile"):
        resolve(model, overrides={"train.compile": True, "train.precision": precision})


def test_compile_without_a_gradient_penalty_is_accepted():
    assert resolve("dcgan", overrides={"train.compile": True}).train.compile
    assert resolve("alae", overrides={"train.compile": True, "model.gamma": 0.0}).train.compile


def _yaml(tmp_path, text: str) -> pathlib.Path:
    path = tmp_path / "my.yaml"
    path.write_text(text)
    return path


def test_a_partial_config_file_overrides_the_named_models_preset(tmp_path):
    path = _yaml(tmp_path, "model:\n  latent_dim: 7\ntrain:\n  steps: 5\n")
    cfg = resolve("vae", config_file=path)
    assert (cfg.name, cfg.algorithm, cfg.model.latent_dim, cfg.train.steps) == ("vae", "vae", 7, 5)
    assert cfg.model.hidden == resolve("vae").model.hidden  # everything else is the preset's


def test_a_partial_config_file_that_names_its_model_needs_no_model_argument(tmp_path):
    cfg = resolve(config_file=_yaml(tmp_path, "name: dcgan\nmodel:\n  latent_dim: 9\n"))
    assert (cfg.name, cfg.algorithm, cfg.model.latent_dim) == ("dcgan", "gan", 9)
    assert cfg.model.nets == resolve("dcgan").model.nets


def test_a_config_file_for_another_model_is_refused(tmp_path, capsys):
    path = _yaml(tmp_path, "name: vae\nmodel:\n  latent_dim: 7\n")
    assert main(["train", "dcgan", "--config", str(path), "--data", "digits", "--steps", "1",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is for model 'vae' but the command names 'dcgan'" in err
    with pytest.raises(ConfigError, match="'gan' model"):
        resolve("dcgan", config_file=_yaml(tmp_path, "algorithm: vae\n"))


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    """A conditional GAN on the 8x8 digits, two steps of tiny nets: enough to sample from."""
    run = tmp_path_factory.mktemp("cgan") / "run"
    assert main(["train", "cgan", "--data", "digits", "--steps", "2", "--batch-size", "16", "--quiet",
                 "--set", "model.nets.hidden=[16]", "--set", "model.nets.d_hidden=[16]",
                 "--set", "model.latent_dim=4", "--out", str(run)]) == 0
    return run


@pytest.mark.parametrize("flags, message", [
    (["--mode", "steer", "--target", "12"], "--target 12 is not a class of this run: its data has classes 0..9"),
    (["--mode", "steer", "--target", "-1"], "--target -1 is not a class of this run"),
    (["--cond", "10"], "--cond 10 is not a class of this run"),
])
@pytest.mark.slow
def test_sample_refuses_a_class_the_run_does_not_have(capsys, cgan_run, flags, message):
    assert message in _one_line_error(capsys, ["sample", str(cgan_run), *flags])


def test_sample_refuses_a_class_that_an_unconditional_model_would_ignore(capsys, tmp_path):
    run = tmp_path / "vae"
    assert main(["train", "vae", "--data", "digits", "--steps", "1", "--batch-size", "16", "--quiet",
                 "--set", "model.hidden=[8]", "--set", "model.latent_dim=2", "--out", str(run)]) == 0
    capsys.readouterr()
    for flags in (["--cond", "3"], ["--mode", "slerp", "--cond", "3"]):
        err = _one_line_error(capsys, ["sample", str(run), *flags])
        assert "--cond picks the class of the samples, and vae is not conditional" in err
    assert not list((run / "samples").glob("*seed0.png"))   # no grid of unconditional samples called class 3


@pytest.fixture(scope="module")
def rbm_run(tmp_path_factory):
    """An RBM with 8 hidden units on the 8x8 digits, two steps."""
    run = tmp_path_factory.mktemp("rbm") / "run"
    assert main(["train", "rbm", "--data", "digits", "--steps", "2", "--batch-size", "16", "--quiet",
                 "--set", "model.hidden=8", "--out", str(run)]) == 0
    return run


@pytest.mark.slow
def test_eval_of_a_metric_that_does_not_apply_names_the_ones_that_do(capsys, rbm_run, cgan_run):
    err = _one_line_error(capsys, ["eval", str(rbm_run), "--metrics", "nll", "--n", "20"])
    assert "nll does not apply to rbm on digits; the metrics that do: fd, kid, prdc, cs, classes, " \
           "inception_fid, loglik, probe" in err
    err = _one_line_error(capsys, ["eval", str(cgan_run), "--metrics", "fd,nll,loglik", "--n", "20"])
    assert "nll, loglik do not apply to cgan on digits; the metrics that do: fd, kid," in err


@pytest.fixture
def umask():
    """Set the process umask for one test, then restore it."""
    import os
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def test_files_of_a_run_follow_the_umask(tmp_path, umask):
    import stat

    import torch

    from genzoo.images import save_grid

    umask(0o022)
    assert main(["train", "ae", "--data", "digits", "--steps", "2", "--quiet", "--out", str(tmp_path / "run")]) == 0
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".json", ".jsonl", ".safetensors", ".png"}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {p.name: 0o644 for p in written}
    umask(0o027)
    grid = save_grid(torch.zeros(4, 1, 8, 8), tmp_path / "g.png")
    assert stat.S_IMODE(grid.stat().st_mode) == 0o640


def test_translation_grids_show_pairs_of_every_class_of_a_class_sorted_split():
    import torch

    from genzoo.data import load_dataset
    from genzoo.runs import grid_reference

    ds = load_dataset("mnist-edges", "test")  # offline: built from mnist5k, whose rows are sorted by class
    assert ds.y[:21].tolist() == [0] * 21
    shown = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:21]  # 64 // 3 pairs
    assert torch.equal(grid_reference(ds, 64), ds.x[shown])
    assert len(ds.y[shown].unique()) >= 8


@pytest.mark.slow
def test_eval_prints_sample_counts_and_warns_beside_the_floor_when_few_real_images(capsys, cgan_run):
    import json

    from genzoo.metrics import ImageEvaluator

    assert main(["eval", str(cgan_run), "--metrics", "fd,kid", "--n", "40"]) == 0
    out = capsys.readouterr().out
    assert "comparing 40 samples with 40 real images (test split of digits)" in out
    assert "warning: only 40 real images to compare with (fewer than 2000)" in out
    saved = json.loads((cgan_run / "eval.json").read_text())
    floor = ImageEvaluator("digits", n=40, metrics=("fd", "kid")).real_vs_real(40)  # 40 train vs 40 test images
    assert saved["fd"]["real_floor"]["value"] == pytest.approx(floor["fd"]["value"])
    assert saved["kid"]["real_floor"]["value"] == pytest.approx(floor["kid"]["value"])
    assert f"floor: {floor['fd']['value']:.4f}" in out


@pytest.mark.slow
def test_eval_runs_the_quick_protocol_by_default_with_a_standard_error_and_a_progress_bar(capsys, rbm_run):
    import json

    assert main(["eval", str(rbm_run), "--metrics", "loglik", "--n", "20"]) == 0
    captured = capsys.readouterr()
    assert "AIS log Z" in captured.err and "temperature/s]" in captured.err  # tqdm's bar: elapsed<ETA, rate
    assert "the quick protocol: n 20, k 100, ais_runs 20, ais_betas 1000" in captured.out
    assert "`--protocol paper` for the papers' budget" in captured.out
    loglik = json.loads((rbm_run / "eval.json").read_text())["loglik"]
    assert (loglik["ais"]["n_runs"], loglik["ais"]["n_betas"]) == (20, 1001)  # 1000 intervals: 1001 temperatures
    assert loglik["protocol_level"] == "quick" and "compare only with numbers of the same protocol" in loglik["quick"]
    assert loglik["budget_changed"] == ["n"] and loglik["n_test"] == 20
    # the test mean's and the log Z estimate's standard errors, added in quadrature
    assert loglik["stderr"] ** 2 == pytest.approx(loglik["stderr_test"] ** 2 + loglik["stderr_log_z"] ** 2)
    assert 0 < loglik["stderr_log_z"] and 0 < loglik["stderr_test"] < 100
    assert f"{loglik['value']:.4f} +/- {loglik['stderr']:.4f} (std error)" in captured.out


@pytest.mark.slow
def test_eval_protocol_paper_runs_the_papers_ais_budget(capsys, rbm_run, monkeypatch):
    import json

    from genzoo.metrics import ais

    asked, real_ais = [], ais.ais_log_z

    def recorded(model, *, betas, n_runs, **kw):   # the paper's budget takes minutes: record it, run a small one
        asked.append((betas, n_runs))
        return real_ais(model, betas=10, n_runs=n_runs, **kw)

    monkeypatch.setattr(ais, "ais_log_z", recorded)
    assert main(["eval", str(rbm_run), "--metrics", "loglik", "--n", "20", "--protocol", "paper"]) == 0
    assert asked == [(14500, 100)]   # Salakhutdinov & Murray 2008: 100 runs, 14,500 intervals
    loglik = json.loads((rbm_run / "eval.json").read_text())["loglik"]
    assert loglik["protocol_level"] == "paper" and "quick" not in loglik and loglik["ais"]["n_runs"] == 100
    assert loglik["budget"] == {"n": 20, "k": 5000, "ais_runs": 100, "ais_betas": 14500, "inception_n": 10000,
                                "gibbs_sweeps": 0}
    with pytest.raises(SystemExit):
        main(["eval", str(rbm_run), "--protocol", "fast"])
    assert "invalid choice: 'fast'" in capsys.readouterr().err


@pytest.mark.slow
def test_the_two_protocols_budgets_are_the_papers_and_a_quick_one(rbm_run):
    from genzoo.metrics.context import Evaluation
    from genzoo.runs import RunDir

    paper = Evaluation(RunDir.open(rbm_run), protocol="paper")
    # 10,000 samples (Lucic et al.), k = 5,000 (Burda et al.), AIS 100 x 14,500 (Salakhutdinov & Murray)
    assert (paper.n, paper.k, paper.ais_runs, paper.ais_betas, paper.inception_n) == (10000, 5000, 100, 14500, 10000)
    quick = Evaluation(RunDir.open(rbm_run))
    assert (quick.n, quick.k, quick.ais_runs, quick.ais_betas, quick.inception_n) == (2000, 100, 20, 1000, 500)
    assert quick.common["protocol_level"] == "quick" and "budget_changed" not in quick.common


@pytest.mark.slow
def test_inception_fid_of_the_quick_protocol_uses_its_smaller_sample_count(capsys, cgan_run, monkeypatch):
    from genzoo.metrics import inception

    seen = []
    monkeypatch.setattr(inception, "inception_fid", lambda fake, real, progress: seen.append((len(fake), len(real)))
                        or {"value": 1.0})
    assert main(["eval", str(cgan_run), "--metrics", "inception_fid", "--n", "600"]) == 0
    assert seen[0] == (500, 297)   # the digits' test split holds 297 images; then the real-vs-real floor's
    seen.clear()
    assert main(["eval", str(cgan_run), "--metrics", "inception_fid", "--n", "600", "--protocol", "paper"]) == 0
    assert seen[0] == (600, 297)


def test_metrics_list_names_every_registered_metric(capsys):
    from genzoo.metrics.registry import METRICS

    assert main(["eval", "--metrics", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(METRICS)
    assert any(line.split()[0] == "captions" and "captioned" in line for line in lines)


def test_sample_grids_of_small_images_are_enlarged_and_scale_sets_it(cgan_run, tmp_path):
    from PIL import Image

    # 64 digits of 8x8 in 8 columns: 8 * (8 + 2) + 2 = 82 px, enlarged 64 // 8 = 8 times by default
    assert main(["sample", str(cgan_run), "--out", str(tmp_path / "a.png")]) == 0
    assert Image.open(tmp_path / "a.png").size == (656, 656)
    assert main(["sample", str(cgan_run), "--scale", "3", "--out", str(tmp_path / "b.png")]) == 0
    assert Image.open(tmp_path / "b.png").size == (246, 246)
    with pytest.raises(SystemExit):
        main(["sample", str(cgan_run), "--scale", "0"])


def test_class_grids_label_each_row_with_its_class(cgan_run, tmp_path):
    import numpy as np
    from PIL import Image

    assert main(["sample", str(cgan_run), "--mode", "class-grid", "--cols", "4", "--scale", "4",
                 "--out", str(tmp_path / "c.png")]) == 0
    img = np.asarray(Image.open(tmp_path / "c.png"))
    grid_width, row = 4 * (4 * 10 + 2), 4 * 10                  # 4 columns of 8x8 images, enlarged 4 times
    assert img.shape[0] == 4 * (10 * 10 + 2) and img.shape[1] > grid_width
    margin = img[:, :img.shape[1] - grid_width]
    inked = [bool((margin[8 + r * row: 8 + (r + 1) * row - 8] < 128).any()) for r in range(10)]
    assert inked == [True] * 10                                  # a label beside each of the 10 class rows
    assert (margin[:8] == 255).all()                             # and only there: the top padding is blank


def _completion(capsys, shell: str) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


@pytest.mark.skipif(__import__("shutil").which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("line, expected", [
    ("genzoo train dc", {"dcgan"}),
    ("genzoo train dcgan --data mnist-e", {"mnist-edges"}),
    ("genzoo train dcgan --set model.latent_d", {"model.latent_dim="}),
    ("genzoo train wgan-gp --set model.penalty.", {"model.penalty.kind=", "model.penalty.weight="}),
    ("genzoo eval runs/x --metrics log", {"loglik"}),
    ("genzoo show-config wgan", {"wgan", "wgan-gp"}),
])
@pytest.mark.slow
def test_bash_completion_completes_models_datasets_and_config_keys(capsys, tmp_path, line, expected):
    script = tmp_path / "genzoo.bash"
    script.write_text(_completion(capsys, "bash"))
    words = line.split()
    driver = (f'source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; COMP_LINE="{line}"; '
              f'COMP_POINT={len(line)}; _shtab_genzoo genzoo {words[-1]} {words[-2]}; printf "%s\\n" "${{COMPREPLY[@]}}"')
    out = subprocess.run(["bash", "-c", driver], capture_output=True, text=True, timeout=60)
    assert set(out.stdout.split()) == expected, out.stderr


def test_zsh_completion_names_models_datasets_and_config_keys(capsys):
    script = _completion(capsys, "zsh")
    assert script.startswith("#compdef genzoo")
    assert all(word in script for word in ("dcgan", "wgan-gp", "mnist5k", "model.latent_dim=", "train.steps="))


@pytest.mark.skipif(__import__("shutil").which("zsh") is None, reason="needs zsh")
def test_zsh_completion_script_parses(capsys, tmp_path):
    script = tmp_path / "_genzoo"
    script.write_text(_completion(capsys, "zsh"))
    out = subprocess.run(["zsh", "-n", str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def _train_lines(capsys, argv) -> tuple[int, list[str]]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


def test_the_offline_notice_is_said_in_full_once_per_run(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    offline = ["--data", "mnist", "--set", "data.download=false", "--quiet",
               "--set", "model.hidden=[8]", "--set", "model.latent_dim=2"]
    code, lines = _train_lines(capsys, ["train", "ae", "--steps", "2", *offline])
    assert code == 0
    (run,) = (tmp_path / "runs").iterdir()
    full = [line for line in lines if line.startswith("genzoo: notice: MNIST files not found")]
    assert len(full) == 1 and len(full[0]) > 300
    code, lines = _train_lines(capsys, ["train", "--resume", str(run), "--steps", "3", "--quiet"])
    notices = [line for line in lines if line.startswith("genzoo: notice")]
    assert code == 0 and notices == [f"genzoo: notice: this run uses mnist5k, as when it began "
                                     f"(the full notice is in {run / 'config.json'})"]


@pytest.mark.slow
def test_metrics_time_is_cumulative_across_resume(tiny_run):
    import json

    from genzoo.training.trainer import train

    sets = {"data.name": "digits", "train.steps": 3, "train.log_every": 1, "train.batch_size": 16,
            "model.hidden": [8], "model.latent_dim": 2}
    run = tiny_run("ae", sets)
    first = [json.loads(line)["time"] for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    train(resume=run.dir, steps=5, progress=False, log=lambda *_: None)
    times = [json.loads(line)["time"] for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert times[:3] == first and len(times) == 5
    assert times[3] >= first[-1] and times == sorted(times)  # the resumed steps go on from the logged time


@pytest.mark.slow
def test_the_first_sample_grid_comes_early_and_its_path_is_printed(tiny_run):
    said = []
    sets = {"data.name": "digits", "train.steps": 100, "train.sample_every": 1000, "train.batch_size": 16,
            "model.hidden": [8], "model.latent_dim": 2}
    run = tiny_run("ae", sets, log=said.append)
    grids = sorted(p.name for p in (run.dir / "samples").iterdir())
    assert grids[0] == "step-0000002.png"         # 2% of 100 steps, long before sample_every=1000
    assert f"genzoo: first samples at step 2: {run.dir / 'samples' / 'step-0000002.png'}" in said


def test_ctrl_c_saves_and_exits_130_with_a_calm_message(tmp_path, capsys, monkeypatch):
    from genzoo.models.ae import AE

    original = AE.train_step

    def interrupted_at_step_3(self, batch, opt, step):
        if step == 3:
            raise KeyboardInterrupt
        return original(self, batch, opt, step)

    monkeypatch.setattr(AE, "train_step", interrupted_at_step_3)
    assert main(["train", "ae", "--data", "digits", "--steps", "10", "--quiet", "--set", "model.hidden=[8]",
                 "--out", str(tmp_path / "run")]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"genzoo: interrupted at step 3; saved {tmp_path / 'run' / 'checkpoints' / 'step-0000003.safetensors'}."
                   f" Continue with: genzoo train --resume {tmp_path / 'run'}")


def _write_mnist_idx(folder: pathlib.Path, n: int) -> None:
    """The four MNIST IDX files (gzip) holding `n` random digits each, in the layout genzoo reads."""
    import gzip
    import struct

    import numpy as np

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split in ("train", "t10k"):
        for kind, array in (("images", rng.integers(0, 256, (n, 28, 28))), ("labels", np.arange(n) % 10)):
            header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
            name = f"{split}-{kind}-{'idx3' if kind == 'images' else 'idx1'}-ubyte.gz"
            (folder / name).write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.mark.parametrize("files_present, data_used", [(False, "mnist5k"), (True, "mnist")])
def test_a_run_is_named_after_the_data_really_used(capsys, tmp_path, monkeypatch, files_present, data_used):
    """No MNIST files: the run falls back to the bundled 5,000 digits and its folder says mnist5k."""
    import json

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENZOO_DATA", str(tmp_path / "data"))
    if files_present:
        _write_mnist_idx(tmp_path / "data" / "mnist", 16)
    code = main(["train", "ae", "--data", "mnist", "--steps", "1", "--batch-size", "8", "--quiet",
                 "--set", "data.download=false", "--set", "data.verify=false",
                 "--set", "model.hidden=[8]", "--set", "model.latent_dim=2"])
    assert code == 0, capsys.readouterr().err
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith(f"ae-{data_used}-")
    assert json.loads((run / "config.json").read_text())["dataset"]["used"] == data_used


@pytest.mark.parametrize("argv, message", [
    (["--steps", "3", "--set", "train.steps=30"], "--steps and --set train.steps=... both set train.steps"),
    (["--steps", "3", "--set", "train.steps=abc"], "--steps and --set train.steps=... both set train.steps"),
    (["--data", "digits", "--set", "data.name=mnist"], "--data and --set data.name=... both set data.name"),
    (["--precision", "fp32", "--set", "train.precision=bf16"], "--precision and --set train.precision=..."),
])
def test_a_flag_and_a_set_of_the_same_key_are_refused(capsys, argv, message):
    """`--steps 3 --set train.steps=30` used to train 3 steps and ignore the --set without a word."""
    assert message in _one_line_error(capsys, ["train", "ae", *argv])


@pytest.mark.slow
def test_report_to_a_path_that_cannot_be_written_is_one_line(capsys, cgan_run, tmp_path):
    (tmp_path / "afile").write_text("")
    err = _one_line_error(capsys, ["report", str(cgan_run), "--no-floor", "--out", str(tmp_path / "afile" / "r.html")])
    assert "'afile' is a file, not a folder" in err.replace(str(tmp_path) + "/", "")
    err = _one_line_error(capsys, ["report", str(cgan_run), "--no-floor", "--out", str(tmp_path)])
    assert "it is a directory" in err
    assert main(["report", str(cgan_run), "--no-floor", "--out", str(tmp_path / "new" / "r.html")]) == 0
    assert (tmp_path / "new" / "r.html").read_text().startswith("<!")

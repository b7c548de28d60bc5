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
from genzoo.config import resolve
from genzoo.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"genzoo {_pyproject()['project']['version']}"


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

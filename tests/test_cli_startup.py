"""The commands a shell runs at start-up or a learner types first load neither PyTorch nor the
scientific stack, and the names they list come from a catalogue that matches the registries."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import genzoo
from genzoo import catalog

HEAVY = ("torch", "numpy", "scipy", "sklearn", "matplotlib", "PIL", "safetensors")

# `python -c RUNNER HEAVY_JSON ARG...`: genzoo's main in a fresh interpreter; reports which heavy modules it imported
RUNNER = """
import contextlib, io, json, sys
from genzoo.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[2:])
    except SystemExit as e:   # --help and --version leave through argparse
        code = e.code
heavy = sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)
sys.stderr.write(json.dumps({"code": code, "heavy": heavy, "out": out.getvalue()}))
"""


def _run(argv: list[str]) -> dict:
    src = str(Path(genzoo.__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(HEAVY), *argv], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": src})
    assert done.stderr, done
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("argv, shown", [
    (["--help"], "completion"),
    (["--version"], f"genzoo {genzoo.__version__}"),
    (["list"], "wgan-gp"),
    (["completion", "bash"], "model.latent_dim="),
    (["completion", "zsh"], "model.latent_dim="),
    (["train", "--help"], "--time-budget"),
    (["experiment", "--help"], "--quick"),
])
def test_start_up_commands_do_not_import_torch_or_numpy(argv, shown):
    result = _run(argv)
    assert result["code"] in (0, None)
    assert shown in result["out"]
    assert result["heavy"] == []


@pytest.mark.slow   # a fresh process that imports torch and every registry
def test_the_catalogue_matches_the_registries():
    """catalog.json is a copy; `python -m genzoo.catalog` rewrites it when a registry changes. Built in a fresh
    process: other tests register datasets and metrics of their own in this one."""
    stored = (Path(catalog.__file__).with_name(catalog.FILE)).read_text(encoding="utf-8")
    built = subprocess.run([sys.executable, "-c", "import sys; from genzoo import catalog; "
                            "sys.stdout.write(catalog.text(catalog.build()))"], capture_output=True, text=True,
                           check=True).stdout
    assert stored == built, "catalog.json is stale: run `python -m genzoo.catalog`"


def test_list_shows_every_registered_dataset_and_every_preset_with_its_paper(capsys):
    from genzoo.cli import main
    from genzoo.presets import list_presets, load_preset
    from genzoo.data import list_datasets

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    models, datasets = lines[1:lines.index("datasets:")], lines[lines.index("datasets:") + 1:]
    assert [line.split()[0] for line in models] == list_presets()
    assert [line.split()[0] for line in datasets] == [d.name for d in list_datasets()]
    dcgan = next(line for line in models if line.split()[0] == "dcgan")
    assert dcgan.endswith(f"[{load_preset('dcgan')['paper']}]")

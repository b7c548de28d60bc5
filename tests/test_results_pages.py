"""The documentation's result tables are rendered from benchmarks/results/*.json and nothing else:
the committed pages equal the rendering byte for byte, and a missing result reads "not measured"."""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("render_results", ROOT / "benchmarks" / "render_results.py")
render_results = importlib.util.module_from_spec(spec)
sys.modules["render_results"] = render_results   # dataclasses look their module up there
spec.loader.exec_module(render_results)


def test_committed_pages_equal_their_rendering():
    readme = (ROOT / "README.md").read_text()
    for path, text in render_results.render_all(readme=readme).items():
        assert (ROOT / path).read_text() == text, f"{path} is stale: run python benchmarks/render_results.py"


def test_every_table_names_a_result_file_that_exists_or_that_a_benchmark_writes():
    files = {p.stem for p in (ROOT / "benchmarks" / "results").glob("*.json")}
    scripts = " ".join(p.read_text() for p in (ROOT / "benchmarks").glob("*.py"))
    named = {t.file for page in render_results.PAGES for t in page.tables} | {h.file for h in render_results.HEADLINES}
    unknown = {name for name in named - files if f"results/{name}.json" not in scripts}
    assert not unknown, f"tables whose result file no benchmark writes: {sorted(unknown)}"


def test_every_rendered_result_says_how_it_was_measured():
    named = {t.file for page in render_results.PAGES for t in page.tables}
    present = [name for name in sorted(named) if (ROOT / "benchmarks" / "results" / f"{name}.json").exists()]
    assert len(present) >= 10
    for name in present:
        result = json.loads((ROOT / "benchmarks" / "results" / f"{name}.json").read_text())
        for key in ("benchmark", "command", "protocol", "hardware"):
            assert result.get(key), f"{name}.json lacks '{key}'"


VAE_RESULT = {"benchmark": "vae_nll", "command": "python benchmarks/vae_nll.py", "protocol": "p", "hardware": "h",
              "values": {"nll": 88.123, "nll_se": 0.2, "neg_elbo": 93.0, "steps": 1000, "epochs": 1.5,
                         "train_cpu_minutes": 30, "eval_minutes": 40}}


def test_a_result_file_fills_its_row_and_deleting_it_reads_not_measured(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    (results / "vae_nll.json").write_text(json.dumps(VAE_RESULT))
    page = render_results.render_all(results)["docs/results/autoencoders.md"]
    vae_section = page.split('<a id="vae-nll"></a>')[1]
    assert "| genzoo `vae`, 30 CPU-minutes on 1 thread | **88.12** |" in vae_section
    assert "The run took 1,000 steps (1.5 epochs); its test -ELBO is 93.00" in vae_section

    (results / "vae_nll.json").unlink()
    page = render_results.render_all(results)["docs/results/autoencoders.md"]
    vae_section = page.split('<a id="vae-nll"></a>')[1]
    row = next(line for line in vae_section.splitlines() if line.startswith("| genzoo `vae`") or "| not measured |" in line)
    assert row == "| not measured | not measured |"
    assert "there is no result file `benchmarks/results/vae_nll.json`" in vae_section
    assert "88.12" not in page                                  # the number lived only in the file
    assert "| Burda et al. 2016, IWAE k=50 | 84.78 |" in vae_section   # the paper's row still shows
    assert "| `stacked-dae` (masking noise 0.3) | 74.51 ± 1.31% |" in page   # other tables unchanged


def test_a_deleted_result_reads_not_measured_in_the_readme(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    (results / "aae_semi.json").unlink()
    readme = render_results.render_all(results, readme=(ROOT / "README.md").read_text())["README.md"]
    assert "- not measured ([details](docs/results/aae.md#aae-semi))" in readme


@pytest.mark.parametrize("template, fields, expected", [
    ("{fd:.2f} ± {sd:.2f}", {"fd": 18.894, "sd": 0.5}, "18.89 ± 0.50"),
    ("{steps:,}", {"steps": 5652}, "5,652"),
    ("{fd:.2f} ± {sd:.2f}", {"fd": 18.894}, "not measured"),       # one field missing
    ("{rows[dcgan][fd]}", {"rows": {}}, "not measured"),
    ("{fd}", None, "not measured"),
])
def test_fill(template, fields, expected):
    assert render_results.fill(template, fields) == expected


def test_a_result_files_command_names_no_machines_folders(tmp_path, monkeypatch):
    from genzoo.bench import write_result

    monkeypatch.setattr(sys, "argv", ["benchmarks/vae_nll.py", "--data-root", "/srv/data/mnist", "--k", "50",
                                      "--out=/tmp/x.json"])
    record = json.loads(write_result(tmp_path / "r.json", {"values": {"nll": 1.0}}).read_text())
    assert record["command"] == "python benchmarks/vae_nll.py --data-root DIR --k 50 --out=DIR"
    assert record["values"] == {"nll": 1.0} and record["hardware"]["cores"] >= 1

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


def test_every_table_names_an_existing_result_file():
    files = {p.stem for p in (ROOT / "benchmarks" / "results").glob("*.json")}
    named = {t.file for page in render_results.PAGES for t in page.tables} | {h.file for h in render_results.HEADLINES}
    assert named <= files, f"tables without a result file: {sorted(named - files)}"


def test_every_rendered_result_says_how_it_was_measured():
    named = {t.file for page in render_results.PAGES for t in page.tables}
    for name in sorted(named):
        result = json.loads((ROOT / "benchmarks" / "results" / f"{name}.json").read_text())
        for key in ("benchmark", "command", "protocol", "hardware"):
            assert result.get(key), f"{name}.json lacks '{key}'"


def test_a_deleted_result_reads_not_measured(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    (results / "vae_nll.json").unlink()
    page = render_results.render_all(results)["docs/results/autoencoders.md"]
    vae_section = page.split('<a id="vae-nll"></a>')[1]
    row = next(line for line in vae_section.splitlines() if line.startswith("| genzoo `vae`"))
    assert row == "| genzoo `vae`, 30 minutes on 1 CPU thread | not measured |"
    assert "there is no result file `benchmarks/results/vae_nll.json`" in vae_section
    assert "87.89" not in page                                  # the number lived only in the file
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

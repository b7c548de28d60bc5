"""The documentation's result tables are rendered from benchmarks/results/*.json and nothing else:
the committed pages equal the rendering byte for byte, and a missing result reads "not measured"."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
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


def test_every_table_is_placed_once_by_a_page_template():
    placed = [t.anchor for page in render_results.PAGES for t in page.tables]
    assert sorted(placed) == sorted(render_results.TABLES)


PAGE = "# P\n\nWords {not filled}.\n\n{{ table t }}\nFloor {floor:.1f}.\n\nSecond {gone}.\n{{ end }}\n\nAfter.\n"


def test_a_page_template_is_copied_with_its_tables_and_their_notes_in_place(tmp_path, monkeypatch):
    monkeypatch.setattr(render_results, "TEMPLATES", tmp_path)
    (tmp_path / "p.md").write_text(PAGE)
    table = render_results.Table("t", "f", (render_results.Row("a", "a"),), (("row", ""), ("fd", "{fd:.2f}")))
    page = render_results.read_page("p.md", {"t": table})
    assert page.title == "P" and page.tables[0].notes == ("Floor {floor:.1f}.", "Second {gone}.")
    result = {"command": "c", "protocol": "p", "hardware": "h", "values": {"floor": 0.31}, "rows": {"a": {"fd": 1.234}}}
    head = render_results.GENERATED + "\n\n# P\n\nWords {not filled}.\n\n| row | fd |\n|---|---|\n"
    assert render_results.render_page(page, {"f": result}) == head + (
        "| a | 1.23 |\n\nFloor 0.3.\n\nnot measured\n\n- **Command:** `c`\n- **Protocol:** p\n- **Hardware:** h\n"
        "- **Result file:** `benchmarks/results/f.json` (written by the command)\n\nAfter.\n")
    assert render_results.render_page(page, {}) == head + (   # no result file: no notes
        "| a | not measured |\n\n**Not measured:** there is no result file `benchmarks/results/f.json`.\n\nAfter.\n")


@pytest.mark.parametrize("template, message", [
    ("# B\n\n{{ table t }}\nA note without its end.\n", r"b.md:3: the notes under a \{\{ table ANCHOR \}\} line end"),
    ("# B\n\n{{ table nope }}\n", r"b.md:3: '\{\{ table nope \}\}' is not \{\{ table ANCHOR \}\}"),
    ("No title.\n", "b.md: a page's template starts with its title"),
])
def test_a_broken_template_is_named_with_its_line(tmp_path, monkeypatch, template, message):
    monkeypatch.setattr(render_results, "TEMPLATES", tmp_path)
    (tmp_path / "b.md").write_text(template)
    table = render_results.Table("t", "f", (), (("row", ""),))
    with pytest.raises(SystemExit, match=message):
        render_results.read_page("b.md", {"t": table})


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
                         "train_cpu_minutes": 30, "eval_minutes": 40, "n_seeds": 1, "seeds": "88.12",
                         "per_seed": "seed 0: 88.12 nats after 1,000 steps on AMD EPYC"}}


def test_a_result_file_fills_its_row_and_deleting_it_reads_not_measured(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    (results / "vae_nll.json").write_text(json.dumps(VAE_RESULT))
    page = render_results.render_all(results)["docs/results/autoencoders.md"]
    vae_section = page.split('<a id="vae-nll"></a>')[1]
    assert "| genzoo `vae`, 30 CPU-minutes on 1 thread | **88.12** (1 seed) |" in vae_section
    assert "Each seed: seed 0: 88.12 nats after 1,000 steps on AMD EPYC." in vae_section
    assert "The medians: 1,000 steps (1.5 epochs), test -ELBO 93.00" in vae_section

    (results / "vae_nll.json").unlink()
    page = render_results.render_all(results)["docs/results/autoencoders.md"]
    vae_section = page.split('<a id="vae-nll"></a>')[1]
    row = next(line for line in vae_section.splitlines() if line.startswith("| genzoo `vae`") or "| not measured |" in line)
    assert row == "| not measured | not measured |"
    assert "there is no result file `benchmarks/results/vae_nll.json`" in vae_section
    assert "88.12" not in page                                  # the number lived only in the file
    assert "| Burda et al. 2016, IWAE k=50 | 84.78 |" in vae_section   # the paper's row still shows
    stacked = lambda text: text.split('<a id="stacked-ae"></a>')[1].split("<a id=")[0]   # noqa: E731
    assert stacked(page) == stacked((ROOT / "docs/results/autoencoders.md").read_text())   # other tables unchanged


def test_a_deleted_result_reads_not_measured_in_the_readme(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    (results / "lucic_fid.json").unlink()
    readme = render_results.render_all(results, readme=(ROOT / "README.md").read_text())["README.md"]
    assert "- not measured ([details](docs/results/gans.md#lucic))" in readme


@pytest.mark.parametrize("template, fields, expected", [
    ("{fd:.2f} ± {sd:.2f}", {"fd": 18.894, "sd": 0.5}, "18.89 ± 0.50"),
    ("{steps:,}", {"steps": 5652}, "5,652"),
    ("{fd:.2f} ± {sd:.2f}", {"fd": 18.894}, "not measured"),       # one field missing
    ("{rows[dcgan][fd]}", {"rows": {}}, "not measured"),
    ("{fd}", None, "not measured"),
    # a seed's run inside a list, its curve keyed by steps as JSON strings
    ("{runs[1][curve][2000]:.1%}", {"runs": [{"curve": {}}, {"curve": {"2000": 0.5}}]}, "50.0%"),
    ("{runs[2][curve][2000]}", {"runs": [{"curve": {}}]}, "not measured"),
])
def test_fill(template, fields, expected):
    assert render_results.fill(template, fields) == expected


# --- a benchmark's result file carries every field its table renders --------------------------------

def table(anchor: str):
    return next(t for page in render_results.PAGES for t in page.tables if t.anchor == anchor)


def cells_not_filled(anchor: str, rows: dict | None = None, values: dict | None = None) -> list[str]:
    """The lines of a table, rendered from a result with these rows and values, that read "not measured"."""
    published = json.loads((ROOT / "benchmarks" / "results" / "published.json").read_text())
    result = {"benchmark": "b", "command": "c", "protocol": "p", "hardware": "h", "rows": rows or {},
              "values": values or {}}
    files = table(anchor).files()   # rows shown from other files too
    text = render_results.render_table(table(anchor), {**dict.fromkeys(files, result), "published": published})
    return [line for line in text.splitlines() if render_results.NOT_MEASURED in line]


def every_row(anchor: str, row: dict, *extra_keys: str) -> dict:
    """`row` as each of the table's rows (and rows its notes name), for checking one row-building function."""
    return dict.fromkeys([r.key for r in table(anchor).rows if r.source == "rows"] + list(extra_keys), row)


def test_each_result_file_a_command_wrote_fills_its_whole_table():
    written = 0
    for page in render_results.PAGES:
        for t in page.tables:
            path = ROOT / "benchmarks" / "results" / f"{t.file}.json"
            result = json.loads(path.read_text()) if path.exists() else {"source": "none"}
            if "source" in result:
                continue            # not measured, or numbers that reached the file another way
            written += 1
            if t.filled_row_by_row:     # only the rows measured so far
                t = dataclasses.replace(t, rows=tuple(r for r in t.rows if r.source != "rows" or r.key in result["rows"]))
            page_text = render_results.render_table(t, render_results.load_results(path.parent))
            missing = [line for line in page_text.splitlines() if render_results.NOT_MEASURED in line]
            assert not missing, f"{t.file}.json lacks fields its table '{t.anchor}' renders: {missing}"
    assert written >= 5


def test_every_result_file_was_written_by_the_commands_it_names():
    """No number in benchmarks/results reached it by hand: each file names the command that wrote it, and
    neither it nor a row kept in it carries a "source" (published.json holds the papers' numbers)."""
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        if path.name == "published.json":
            continue
        result = json.loads(path.read_text())
        rows = result.get("rows", {}).values() if isinstance(result.get("rows"), dict) else []
        assert "source" not in result and result.get("command"), f"{path.name}: numbers that no command wrote"
        for row in (row for row in rows if isinstance(row, dict)):
            assert "source" not in row, f"{path.name}: a row that no command wrote: {row}"


def test_the_readme_headlines_come_from_files_their_commands_wrote():
    """The README says every number in its results block was written by the command it names: a file
    (or a row kept in it) whose numbers reached it another way carries a "source" and cannot be a headline."""
    for headline in render_results.HEADLINES:
        result = json.loads((ROOT / "benchmarks" / "results" / f"{headline.file}.json").read_text())
        rows = result.get("rows", {}).values() if isinstance(result.get("rows"), dict) else []
        transcribed = "source" in result or any(isinstance(row, dict) and "source" in row for row in rows)
        assert not transcribed, f"README headline from {headline.file}.json, whose numbers no command wrote"


def recorded_numbers() -> set[str]:
    """Every number of the result files and the experiments' records, as a page may print it: rounded
    to 0-3 decimals, and a fraction also as a percentage."""
    numbers = set()

    def collect(value):
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, str):
            numbers.update(re.findall(r"\d+\.\d+(?:e-?\d+)?", value))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.update(f"{abs(x):.{d}{form}}" for x in (value, 100 * value) for d in range(4) for form in "fe")

    for path in [*(ROOT / "benchmarks" / "results").glob("*.json"), *(ROOT / "docs").rglob("*.json")]:
        collect(json.loads(path.read_text()))
    return numbers


# worked in the text, not measured: (1 + 0.05^2), the x-y game's growth per two simultaneous steps
ARITHMETIC = {"1.0025"}


def test_every_precise_number_in_the_written_pages_is_a_recorded_one():
    """A number with two or more decimals in the README or a hand-written docs page is a measurement: it
    must be a value of a result file or an experiment's record, so that a typo or a number left behind
    by a new run fails here instead of reaching a reader."""
    recorded = recorded_numbers() | ARITHMETIC
    pages = [ROOT / "README.md", *(p for p in (ROOT / "docs").rglob("*.md") if "results" not in p.parts)]
    stray = [f"{page.relative_to(ROOT)}:{i}: {number}" for page in pages
             for i, line in enumerate(page.read_text().splitlines(), 1)
             for number in re.findall(r"(?<![\w.])\d+\.\d{2,}(?:e-?\d+)?(?![\d])", line)
             if number not in recorded]
    assert not stray, f"numbers in no result file: {stray}"


@pytest.fixture(scope="module")
def bench():
    """The benchmark scripts as modules, as they import each other when run."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    yield importlib.import_module
    sys.path.remove(str(ROOT / "benchmarks"))


def test_the_gan_benchmarks_build_the_fields_of_their_tables(bench):
    from argparse import Namespace
    from types import SimpleNamespace

    fd = bench("gan_mnist_fd")
    runs = [{"seed": s, "steps": 1000 + s, "cpu_seconds": 120.0, "fd": 20.0 + s, "classifier_score": 5.0,
             "classes_covered": 10, "precision": "auto -> fp32", "cpu": "Intel(R) Xeon(R) Processor"} for s in range(3)]
    args = Namespace(row=None, cpu_seconds=300, threads=1, seeds=[0])
    result = fd.fd_result(every_row("gan-mnist-fd", fd.preset_row(runs[:1])), 0.28, 100,
                          SimpleNamespace(describe=lambda: "a classifier"), args, {})
    assert cells_not_filled("gan-mnist-fd", result["rows"], result["values"]) == []
    row = fd.preset_row(runs)
    assert (row["fd"], row["sd"], row["seeds"], row["steps"]) == (21.0, 1.0, "20.00, 21.00, 22.00", "1,000-1,002")
    assert row["cpu"] == "Intel Xeon"  # steps in a CPU budget depend on the CPU: each row names its own
    assert cells_not_filled("precision-budget", every_row("precision-budget", row)) == []

    presets = bench("toy_presets")
    toy_runs = [{"seed": s, "modes_captured": 8, "num_modes": 8, "high_quality_percent": 90.0 + 2 * s,
                 "reverse_kl": 0.1, "cpu_s": 30.0} for s in range(3)]
    row = presets.table_row(toy_runs)
    assert (row["hq"], row["hq_se"], row["seeds"]) == (92.0, 1.1547, "90.0, 92.0, 94.0")  # se = 2 / sqrt(3)
    assert cells_not_filled("toy-presets", every_row("toy-presets", row)) == []
    no_good_sample = {**toy_runs[0], "seed": 3, "high_quality_percent": 0.0, "reverse_kl": None}
    assert presets.table_row(toy_runs[:2] + [no_good_sample])["kl"] == 0.1   # the KL of the seeds that have one


def test_the_toy_mode_benchmark_builds_the_fields_of_its_tables(bench):
    modes = bench("toy_modes")
    miss = {"near_miss": 1.0, "far_miss": 2.0, "mode_counts": [100] * 25}
    runs = [{"variant": "gan-toy", "seed": s, "steps": 100, "modes": 25, "hq": 97.0, "rkl": 0.01, "cpu_seconds": 9.0,
             **miss, "rejection": {q: {"modes": 25, "hq": 98.0, "rkl": 0.01, "acceptance": 0.5, **miss}
                                   for q in ("none", "50", "80")}} for s in range(2)]
    rows = modes.toy_rows(runs, ["gan-toy"], [], None)
    values = modes.variant_values(runs, "grid25")
    assert values["gan_toy_samples_per_mode"] == "100-100" and 0 < values["exact_near_misses_pct"] < 5
    for anchor in ("toy-grid25", "toy-ring8", "toy-grid25-variants"):
        assert cells_not_filled(anchor, every_row(anchor, rows["gan-toy"]), values) == []
    drs = modes.toy_rows(runs, ["gan-toy"], ["none", "50", "80"], None)
    assert set(drs) == {"plain", "exact", "p50", "p80"} and drs["p50"]["kept"] == 50
    assert cells_not_filled("toy-drs", drs) == []


def test_the_autoencoder_benchmarks_build_the_fields_of_their_tables(bench):
    from argparse import Namespace
    from types import SimpleNamespace

    semi = bench("aae_semi")
    cfg = SimpleNamespace(train=SimpleNamespace(steps=18000, batch_size=100, device="cpu"),
                          model=SimpleNamespace(hidden=[500, 500]))
    runs = [{"seed": s, "test_error_percent": 2.0 + s, "minutes": 10.0, "top_confusions": [(3, 5, 120), (5, 3, 80)],
             "curve": [{"test_error_percent": 2.0 + s}]} for s in range(3)]
    row = semi.semi_row(runs, cfg, {"precision": "float32", "device": "cpu"}, 1)
    assert (row["err"], row["sd"], row["s2"], row["confusions_s2"]) == (3.0, 1.0, 4.0, "120 3s as 5, 80 5s as 3")
    assert "encoder_s0" not in row
    averaged = [{**r, "curve": [{"test_error_percent": 2.0 + r["seed"], "test_error_percent_not_averaged": 2.5}]}
                for r in runs]   # model.ema: each seed also scored by the encoder itself
    row = semi.semi_row(averaged, cfg, {"precision": "float32", "device": "cpu"}, 1)
    assert (row["s1"], row["encoder_s1"]) == (3.0, 2.5)
    for anchor in ("aae-semi", "aae-semi-recipes", "aae-semi-bce", "aae-semi-half-width", "aae-semi-merge-screen",
                   "aae-semi-merge", "aae-semi-augment"):
        assert cells_not_filled(anchor, every_row(anchor, row, "none", "none_10ep")) == [], anchor

    cluster = bench("aae_cluster")
    runs = [{"seed": s, "exemplar_error_percent": 60.0, "majority_error_percent": 50.0, "clusters_used": 7,
             "D_y_on_prior": 0.8, "D_y_on_codes": 0.2, "run": "somewhere"} for s in range(3)]
    cfg = SimpleNamespace(train=SimpleNamespace(steps=6000, batch_size=100, precision="fp32"),
                          model=SimpleNamespace(hidden=[1000, 1000]))
    result = cluster.cluster_result(runs, {"exemplar": (60.0, 0.0), "majority": (50.0, 0.0)}, cfg,
                                    Namespace(clusters=16, seeds=[0, 1, 2], threads=1))
    assert result["values"]["alive"] == "7, 7, 7" and "run" not in result["runs"][0]
    assert cells_not_filled("aae-cluster", result["rows"], result["values"]) == []

    stacked = bench("stacked_ae_transfer")
    draws = [SimpleNamespace(frozen_accuracy=0.70 + d / 100, finetuned_accuracy=0.75, scratch_accuracy=0.74,
                             to_dict=lambda: {"protocol": {"train": "a folder"}, "seed": 0}) for d in (0, 2)]
    row = stacked.transfer_row(draws)
    assert (row["frozen"], row["frozen_sd"], row["per_seed"][0]) == (71.0, 1.41, {"seed": 0})   # sd of 70, 72
    assert cells_not_filled("stacked-ae", every_row("stacked-ae", row)) == []

    translation = bench("translation_digits")
    runs = [{"seed": s, "l1": {"l1": 0.02 + s / 100, "l1_of_the_source": 0.1},
             "digits": {"label_accuracy": 0.95, "label_accuracy_of_real_targets": 0.99, "fd_to_targets": 0.5},
             "steps": 1000, "batch_size": 16, "precision": "float32"} for s in range(2)]
    row = translation.table_row(runs)
    assert (row["l1"], row["l1_sd"], row["digit"]) == (0.025, 0.0071, 95.0)   # sd of 0.02, 0.03: 0.01 / sqrt(2)
    assert cells_not_filled("translation-digits", every_row("translation-digits", row)) == []


def test_the_engine_benchmarks_build_the_fields_of_their_tables(bench, tmp_path):
    from argparse import Namespace
    from types import SimpleNamespace

    calibration = bench("metric_calibration")
    measured = {"fd": {"value": 1.0}, "kid": {"value": 0.1, "std": 0.01},
                "prdc": {"precision": 0.9, "recall": 0.8, "density": 1.0, "coverage": 0.9}}
    table_in = {"protocol": {"n_real": 10000, "real_split": "test"},
                "rows": dict.fromkeys(("real", "noise", "blur", "uniform"), measured)}
    fx = SimpleNamespace(id="abc", test_accuracy=0.99)
    args = Namespace(n=10000, dataset="mnist", seed=0, noise_std=0.1, blur_sigma=1.0)
    assert cells_not_filled("calibration", calibration.calibration_result(table_in, fx, args)["rows"]) == []

    multiseed = bench("multiseed_toy")
    args = Namespace(out=str(tmp_path / "m.json"), seeds=[0, 1, 2, 3, 4], batch_size=100, rounds=5, steps=1000,
                     n_samples=2500)
    sizes = [{"size": s, "ratio_bmm": 2.0, "floor_ratio": 0.5} for s in ("small", "pacgan", "gan-toy")]
    (tmp_path / "m.json").write_text(json.dumps(multiseed.multiseed_result(sizes, {"ratio": 1.9}, 2, args)))
    result = multiseed.multiseed_result(sizes, {"ratio": 2.5}, 1, args)   # 1 thread beside the 2 threads' columns
    assert result["values"] == {"end_to_end_2t": 1.9, "end_to_end_1t": 2.5}
    assert cells_not_filled("multiseed", result["rows"], result["values"]) == []


def test_the_speed_benchmarks_build_the_fields_of_their_tables(bench, tmp_path):
    from argparse import Namespace

    job = bench("main_job")
    row = job.job_row(156.4, 560, {"classes": 10, "confident_pct": 62.0}, {"confident_pct": 97.3}, 0.9905, "fp32 (auto)", [])
    assert (row["seconds"], row["minutes"], row["steps"], row["classifier_acc"]) == (156, 2.6, 560, 99.05)
    path = tmp_path / "main_job.json"
    path.write_text(json.dumps({"rows": {"avx2": job.with_other_seeds(str(path), "avx2", {**row, "seed": 0})}}))
    later = job.job_row(420.0, 1400, {"classes": 10, "confident_pct": 80.0}, {"confident_pct": 97.3}, 0.9905,
                        "fp32 (auto)", [], seed=2)
    joined = job.with_other_seeds(str(path), "avx2", later)
    assert (joined["n_seeds"], joined["seeds"], joined["confident_pct"]) == (2, "62.0% in 2.6 min, 80.0% in 7.0 min", 71.0)
    assert (joined["seconds"], joined["seconds_range"], joined["minutes"]) == (288, [156, 420], 4.8)
    assert cells_not_filled("main-job", every_row("main-job", joined)) == []
    sets = ["model.nets.fc_width=0", "model.optim.lr=0.0002"]
    lever = job.job_row(140.0, 1400, {"classes": 9, "confident_pct": 60.5}, {"confident_pct": 97.3}, 0.9905, "fp32 (auto)", sets)
    assert lever["settings"] == "model.nets.fc_width=0 model.optim.lr=0.0002" and lever["minutes"] == 2.3
    assert cells_not_filled("main-job-levers", every_row("main-job-levers", lever)) == []

    speed = bench("throughput_results")
    batches = (64, 128, 256)
    out = {"fp32": [{"runner": name, "batch": b, "images_per_s": 1234.4, "frac_peak": 0.5}
                    for name in speed.RUNNER_ROWS for b in batches],
           "dcgan_vs_reference": [{"runner": name, "batch": b, "ratio": 1.05}
                                  for name in ("genzoo dcgan", speed.FAST_DCGAN) for b in batches],
           "peaks": {"fp32_2048": {"best": 124.0}, "fp32_2048_end": {"best": 163.0}},
           "bf16": {"native_bf16": True, "rows": [{"model": m, "batch": 64, "bf16_over_fp32": 1.5}
                                                  for m in ("dcgan", "wgan-gp", "vae")]}}
    rows = speed.throughput_result(out, Namespace(rounds=5, threads=2, batches=list(batches)))["rows"]
    assert rows["dcgan"]["b64"] == "1,234 (50%)" and rows["ratio_fast"]["b256"] == "1.05×"
    assert cells_not_filled("throughput", rows) == []
    rows = speed.bf16_result(out, Namespace(rounds=3, threads=2, batches=[64]))["rows"]
    assert cells_not_filled("bf16-speed", rows) == []

    path = tmp_path / "precision.json"
    for precision, seed, fd in (("fp32", 0, 28.0), ("bf16", 0, 31.0), ("fp32", 1, 30.0), ("bf16", 1, 32.0)):
        run = {"steps": 1000, "batch": 64, "samples": 2000, "seed": seed, "precision": precision,
               "fd": {"genzoo dcgan": fd, "reference dcgan": 29.0, "real train vs real test (floor)": 0.8}}
        result = speed.equal_steps_result({"fd": run, "machine": {"native_bf16": True}}, str(path))
        path.write_text(json.dumps(result))
    # bf16 - fp32 by seed: 3 and 2, mean 2.5, standard error 0.7071 / sqrt(2) = 0.5
    assert result["values"] == {"floor": 0.8, "paired_diff": 2.5, "paired_diff_se": 0.5}
    assert result["rows"]["fp32"]["fd"] == 29.0 and result["rows"]["reference"]["sd"] == 0.0
    assert cells_not_filled("precision-steps", result["rows"], result["values"]) == []


def test_a_row_kept_from_an_earlier_run_keeps_its_command_and_source_on_the_page(bench, tmp_path, monkeypatch):
    earlier = {"benchmark": "gan_mnist_fd", "command": "python benchmarks/gan_mnist_fd.py --cpu-seconds 300",
               "source": "numbers as printed by the command", "protocol": "p", "hardware": "h",
               "rows": {"gan": {"fd": 30.0}, "dcgan": {"fd": 18.0}}}
    path = tmp_path / "gan_mnist_fd.json"
    path.write_text(json.dumps(earlier))
    monkeypatch.setattr(sys, "argv", ["benchmarks/gan_mnist_fd.py", "--presets", "dcgan"])
    rows = bench("common").with_earlier_rows(str(path), {"dcgan": {"fd": 5.0}})
    assert rows["gan"] == {"fd": 30.0, "command": earlier["command"], "source": earlier["source"], "protocol": "p",
                           "hardware": "h"}
    assert rows["dcgan"] == {"fd": 5.0, "command": "python benchmarks/gan_mnist_fd.py --presets dcgan"}

    table = render_results.Table("t", "gan_mnist_fd", (render_results.Row("`gan`", "gan"),
                                                        render_results.Row("`dcgan`", "dcgan")),
                                 (("preset", ""), ("FD", "{fd}")))
    result = {**earlier, "command": rows["dcgan"]["command"], "rows": rows}
    result.pop("source")
    lines = render_results.row_commands(table, result)
    assert lines == ["- **Command of the row gan:** `python benchmarks/gan_mnist_fd.py --cpu-seconds 300` "
                     "(numbers as printed by the command; protocol: p; hardware: h)"]

    two = render_results.Table("t", "gan_mnist_fd", (*table.rows, render_results.Row("`wgan`", "wgan")),
                               table.columns)
    result["rows"]["wgan"] = {"fd": 40.0, "command": earlier["command"], "source": earlier["source"], "protocol": "p",
                              "hardware": "h"}
    assert render_results.row_commands(two, result) == [
        "- **Command of the rows gan, wgan:** `python benchmarks/gan_mnist_fd.py --cpu-seconds 300` "
        "(numbers as printed by the command; protocol: p; hardware: h)"]


def test_a_row_whose_seeds_ran_in_separate_commands_names_each_command(bench):
    render_results = bench("render_results")
    table = render_results.Table("t", "lucic_fid", (render_results.Row("NS-GAN", "ns"),
                                                    render_results.Row("VAE", "vae")), (("model", ""),))
    seed = "python benchmarks/lucic_fid.py --models NS-GAN --seeds {}".format
    result = {"command": seed(2), "rows": {
        "ns": {"command": seed(2), "runs": [{"seed": s, "command": seed(s)} for s in (0, 1, 2)]},
        "vae": {"command": seed(2), "runs": [{"seed": 2, "command": seed(2)}]}}}
    assert render_results.row_commands(table, result) == [
        f"- **Commands of the row ns:** `{seed(0)}`; `{seed(1)}`; `{seed(2)}`"]


def test_every_table_row_of_the_written_pages_has_as_many_cells_as_its_header():
    """A bare | inside a cell (q(y|x)) splits it, and the numbers slide into the wrong columns."""
    def cells(line):
        return len(re.findall(r"(?<!\\)\|", line)) - 1

    assert cells("| `model.ema=0.999`: q(y|x) | 4.14% |") == 3   # by hand: the bare | makes a third cell
    assert render_results.markdown_cell("q(y|x)") == r"q(y\|x)" and render_results.markdown_cell(r"a\|b") == r"a\|b"
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    uneven = []
    for page in pages:
        header = None
        for number, line in enumerate(page.read_text().splitlines(), 1):
            header = (header or cells(line)) if line.startswith("|") else None
            if header is not None and cells(line) != header:
                uneven.append(f"{page.relative_to(ROOT)}:{number}")
    assert uneven == []


def test_a_row_shown_from_another_result_file_reads_that_files_row_and_names_it():
    Row = render_results.Row
    t = render_results.Table("recipes", "recipes", (Row("the preset", "aae-semi", file="semi"), Row("slower", "slow")),
                             (("recipe", ""), ("err", "{err}%")))
    semi = {"command": "python benchmarks/aae_semi.py", "rows": {"aae-semi": {"err": 3.43}}}
    recipes = {"command": "python benchmarks/aae_semi.py --row slow", "protocol": "p", "hardware": "h",
               "rows": {"slow": {"err": 3.26}}}
    text = render_results.render_table(t, {"semi": semi, "recipes": recipes})
    assert "| the preset | 3.43% |" in text and "| slower | 3.26% |" in text
    assert ("- **The row aae-semi** is the row of `benchmarks/results/semi.json`, written by "
            "`python benchmarks/aae_semi.py`") in text
    text = render_results.render_table(t, {"recipes": recipes})   # the other file deleted
    assert "| the preset | not measured |" in text
    assert "- **The row aae-semi** is the row of `benchmarks/results/semi.json`: not measured" in text


def test_a_measured_row_says_how_many_seeds_it_has():
    assert render_results.seed_note({"n_seeds": 1}) == "1 seed"
    assert render_results.seed_note({"n_seeds": 3, "seeds": "4.97, 6.13, 6.50"}) == "median of 3 seeds: 4.97, 6.13, 6.50"
    assert render_results.with_seed_note({"fid": 6.2}) == {"fid": 6.2}   # a row that does not count its seeds
    assert render_results.with_seed_note(None) is None


def test_a_table_showing_rows_trained_before_the_bf16_fix_says_which_once_per_file(monkeypatch):
    Row = render_results.Row
    monkeypatch.setattr(render_results, "BEFORE_THE_BF16_FIX", {"semi": "the `aae-semi` row"})
    t = render_results.Table("recipes", "recipes", (Row("the preset", "aae-semi", file="semi"), Row("slower", "slow"),
                                                    Row("again", "aae-semi", file="semi")),
                             (("recipe", ""), ("err", "{err}%")))
    semi = {"command": "python benchmarks/aae_semi.py", "rows": {"aae-semi": {"err": 3.43}}}
    recipes = {"command": "c", "protocol": "p", "hardware": "h", "rows": {"slow": {"err": 3.26}}}
    lines = render_results.render_table(t, {"semi": semi, "recipes": recipes}).splitlines()
    said = [line for line in lines if line.startswith("- **Trained before a bf16 fix**")]
    assert len(said) == 1 and said[0].startswith("- **Trained before a bf16 fix** (`semi.json`): the `aae-semi` row. ")
    assert "[what changed](engine.md#bf16-fix)" in said[0]
    alone = render_results.Table("slow", "recipes", (Row("slower", "slow"),), (("recipe", ""), ("err", "{err}%")))
    assert "bf16 fix" not in render_results.render_table(alone, {"recipes": recipes})


def test_every_result_file_named_as_trained_before_the_bf16_fix_exists():
    for name in render_results.BEFORE_THE_BF16_FIX:
        assert (ROOT / "benchmarks" / "results" / f"{name}.json").exists(), name


def test_a_curve_filled_point_by_point_shows_its_points_so_far_and_names_the_rest():
    """The IWAE curve after its first two points: two rows of numbers and the paper's row, no empty cells, and a
    line naming the five points still to come."""
    published = json.loads((ROOT / "benchmarks" / "results" / "published.json").read_text())
    point = {"stage": 0, "lr": 1e-3, "steps": 3000, "train_cpu_minutes": 0.7, "nll": 124.87, "nll_se": 0.35,
             "neg_elbo": 152.15}
    result = {"benchmark": "b", "command": "c", "protocol": "p", "hardware": "h",
              "rows": {"epoch-0001": {**point, "epochs": 1}, "epoch-0004": {**point, "epochs": 4, "nll": 104.79}}}
    text = render_results.render_table(render_results.TABLES["iwae-curve"],
                                       {"iwae_curve": result, "published": published})
    body = [line for line in text.splitlines() if line.startswith("|")][2:]   # below the header and its rule
    assert [line.split("|")[1].strip() for line in body] == ["1", "4", "Burda et al. 2016, IWAE k=50, 3,280 epochs"]
    assert "**104.79** ± 0.35" in body[1] and "**84.78**" in body[2]
    assert render_results.NOT_MEASURED not in text
    assert ("Rows still to come** (their command has not reached them yet): `epoch-0013`, `epoch-0040`, "
            "`epoch-0121`, `epoch-0364`, `epoch-0500`") in text

"""benchmarks/time_to_quality.py: the time-to-target arithmetic, the interleaved order, a quick run end to end
that the results page renders, and the plain reference loops with genzoo's networks."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import reference_dcgan  # noqa: E402
import reference_vae  # noqa: E402
import reference_wgan_gp  # noqa: E402
import render_results  # noqa: E402
import time_to_quality as ttq  # noqa: E402

from genzoo.presets import resolve  # noqa: E402
from genzoo.models import DataSpec, get_algorithm  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

MINUTES = [1, 2, 4, 8, 16]


def test_time_to_reach_interpolates_in_log_time_between_the_bracketing_checkpoints():
    # first FD <= 30 at 8 min (25); the one before: 40 at 4 min. (40 - 30) / (40 - 25) = 2/3 of the way from
    # log 4 to log 8, so t = 4 * 2 ** (2/3) = 6.3496 min
    reach = ttq.time_to_reach(MINUTES, [100, 60, 40, 25, 20], 30)
    assert reach["checkpoint"] == 3 and reach["bound"] == "exact"
    assert reach["minutes"] == pytest.approx(4 * 2 ** (2 / 3)) and reach["minutes"] == pytest.approx(6.3496, abs=1e-4)
    # reached exactly at a checkpoint: that checkpoint's time
    assert ttq.time_to_reach(MINUTES, [100, 60, 40, 25, 20], 25)["minutes"] == pytest.approx(8)
    # a curve that goes back up: the first checkpoint at or below the target counts
    assert ttq.time_to_reach(MINUTES, [50, 20, 45, 30, 30], 30)["checkpoint"] == 1


def test_time_to_reach_at_the_first_checkpoint_is_a_bound_and_a_miss_is_none():
    assert ttq.time_to_reach(MINUTES, [10, 9, 8, 7, 6], 30) == {"checkpoint": 0, "minutes": 1, "bound": "at most"}
    assert ttq.time_to_reach(MINUTES, [100, 90, 80, 70, 60], 30) == {"checkpoint": None, "minutes": None,
                                                                       "bound": "not reached"}


def test_speedup_is_the_references_time_over_genzoos_with_its_bound():
    reference = ttq.time_to_reach(MINUTES, [100, 60, 40, 25, 20], 20)                 # its own last FD: 16 min
    genzoo = ttq.time_to_reach(MINUTES, [80, 30, 15, 10, 9], 20)                      # 2 * 2 ** (10 / 15)
    assert genzoo["minutes"] == pytest.approx(2 * 2 ** (2 / 3))
    assert ttq.speedup(reference, genzoo) == {"ratio": pytest.approx(16 / (2 * 2 ** (2 / 3))), "bound": "exact"}
    fast = ttq.time_to_reach(MINUTES, [15, 10, 9, 9, 9], 20)                          # at most 1 min
    assert ttq.speedup(reference, fast) == {"ratio": 16.0, "bound": "at least"}
    assert ttq.speedup_text(ttq.speedup(reference, fast)) == "≥ 16.00×"
    never = ttq.time_to_reach(MINUTES, [80, 70, 60, 50, 40], 20)
    assert ttq.speedup(reference, never) == {"ratio": None, "bound": "not reached"}


def _entry(reference_fds, genzoo_fds, genzoo_minutes=(0.5, 1, 2, 4)):
    curves = {"reference": list(zip(MINUTES, reference_fds)), "genzoo": list(zip(genzoo_minutes, genzoo_fds))}
    return {"contestants": {who: {"curve": [{"minutes": t, "fd": fd} for t, fd in points]}
                            for who, points in curves.items()}}


def test_the_speedup_at_genzoos_last_fd_measures_its_lead_short_of_the_target():
    # genzoo's 4-min FD is 30; the plain loop reaches 30 between 4 min (40) and 8 min (25): 4 * 2 ** (2/3) min
    lead = ttq.at_genzoos_last_fd(_entry([100, 60, 40, 25, 20], [80, 50, 35, 30]))
    assert lead == {"fd": 30, "ratio": pytest.approx(2 ** (2 / 3)), "bound": "exact"}
    assert ttq.at_genzoos_last_fd_text(lead) == "FD 30.00: 1.59×"
    # a plain loop that never gets to 30 in 16 min: at least 16 / 4
    never = ttq.at_genzoos_last_fd(_entry([100, 90, 80, 70, 60], [80, 50, 35, 30]))
    assert never == {"fd": 30, "ratio": 4.0, "bound": "at least"}
    assert ttq.at_genzoos_last_fd_text(never) == "FD 30.00: ≥ 4.00×"
    # genzoo's curve already at 30 at 2 min: its time to its own last FD is 2 min, so 4 * 2 ** (2/3) / 2
    early = ttq.at_genzoos_last_fd(_entry([100, 60, 40, 25, 20], [80, 50, 30, 30]))
    assert early["ratio"] == pytest.approx(2 * 2 ** (2 / 3))


def test_segments_alternate_within_a_seed_and_extra_budgets_come_last():
    assert ttq.schedule([1, 2, 4], [1, 2, 4, 5.33]) == [
        ("reference", 1), ("genzoo", 1), ("reference", 2), ("genzoo", 2), ("reference", 4), ("genzoo", 4),
        ("genzoo", 5.33)]
    assert ttq.schedule([1, 2], [3]) == [("reference", 1), ("genzoo", 3), ("reference", 2)]


def test_a_curve_takes_medians_over_the_seeds_and_the_fewest_classes():
    points = [{"budget_minutes": b, "minutes": b + s / 100, "fd": fd, "confident_pct": c, "classes": k}
              for b, s, fd, c, k in [(1, 0, 50.0, 10.0, 10), (1, 1, 40.0, 30.0, 9), (1, 2, 70.0, 20.0, 10),
                                     (2, 0, 20.0, 60.0, 10)]]
    first, second = ttq.curve(points)
    assert (first["minutes"], first["fd"], first["confident_pct"], first["classes"]) == (1.01, 50.0, 20.0, 9)
    assert (second["budget_minutes"], second["fd"], len(first["seeds"])) == (2, 20.0, 3)


def _seed_points(seed: int, reference_fds, genzoo_fds) -> dict:
    """One seed's points at checkpoints of 1 and 2 minutes."""
    def points(fds, extra):
        return [{"seed": seed, "budget_minutes": m, "minutes": m, "steps": 10 * m, "fd": fd, "confident_pct": 50.0,
                 "classes": 10, **extra} for m, fd in zip((1, 2), fds)]
    return {"reference": points(reference_fds, {}),
            "genzoo": points(genzoo_fds, {"past_budget_pct": 0.5, "precision": "fp32 (auto)"})}


def _result_file(path: Path, seeds: dict, settings: dict, model: str = "dcgan", cpu: str = "NVIDIA H200",
                 floor: float = 0.5) -> str:
    points = {who: [p for s in seeds.values() for p in s[who]] for who in ("reference", "genzoo")}
    entry = ttq.entry_from_points(model, points, {**settings, "seeds": sorted(seeds)}, floor, cpu)
    path.write_text(json.dumps({"protocol": f"... one run per budget (1, 2 min), ...; on {cpu}; seeds 0;",
                                "hardware": {"gpu": "NVIDIA H200"}, "command": f"measure {sorted(seeds)}",
                                "models": {model: {**entry, "command": f"measure {sorted(seeds)}"}}}))
    return str(path)


def test_models_measured_with_their_own_budgets_merge_and_the_protocol_leaves_budgets_to_their_commands(tmp_path):
    settings = {"minutes": [1, 2], "genzoo_minutes": [1, 2], "n_samples": 100, "clock": "wall", "torch_threads": 2}
    a = _result_file(tmp_path / "a.json", {0: _seed_points(0, (60, 20), (30, 10))}, settings, cpu="Intel Xeon")
    b = _result_file(tmp_path / "b.json", {0: _seed_points(0, (60, 20), (30, 10))},
                     {**settings, "genzoo_minutes": [1.5, 2]}, model="vae", cpu="AMD EPYC")
    models = ttq.merge_files([a, b], str(tmp_path / "ab.json"))
    assert sorted(models) == ["dcgan", "vae"] and models["vae"]["settings"]["genzoo_minutes"] == [1.5, 2]
    assert (models["dcgan"]["cpu"], models["vae"]["cpu"]) == ("Intel Xeon", "AMD EPYC")
    protocol = json.loads((tmp_path / "ab.json").read_text())["protocol"]
    assert "one run per budget (each model's command gives them as --genzoo-minutes)" in protocol
    assert "; on the device each model's row names;" in protocol
    assert "(1, 2 min)" not in protocol and "Intel Xeon" not in protocol


def test_set_changes_one_models_preset_in_genzoos_runs_and_the_protocol_says_so(monkeypatch):
    args = ttq.parse_args(["--models", "vae", "wgan-gp", "--set", "vae:train.batch_size=100",
                           "--set", "vae:model.optim.lr=1e-3", "--set", "wgan-gp:model.ema=0"])
    assert sorted(args.sets) == ["vae", "wgan-gp"] and args.sets["wgan-gp"] == {"model.ema": 0}
    assert (args.sets["vae"]["train.batch_size"], float(args.sets["vae"]["model.optim.lr"])) == (100, 1e-3)
    seen = {}

    def train(model, **kw):   # stands in for genzoo.train: keeps what it was asked to train, trains nothing
        seen[model] = kw["overrides"]
        raise InterruptedError

    monkeypatch.setattr(ttq.genzoo, "train", train)
    for model in ("vae", "dcgan"):
        with pytest.raises(InterruptedError):
            ttq.genzoo_point(model, 1.5, 0, args, score=None)
    assert (seen["vae"]["train.batch_size"], float(seen["vae"]["model.optim.lr"]), seen["vae"]["train.time_budget"]) == (
        100, 1e-3, "90s")
    assert not {"train.batch_size", "model.optim.lr", "model.ema"} & set(seen["dcgan"])
    described = type("Features", (), {"describe": lambda self: "a classifier"})()
    assert "trains it (with vae: train.batch_size=100, model.optim.lr=1e-3; wgan-gp: model.ema=0), one run" in (
        ttq.protocol(described, 100, args))
    for wrong in ("vae", "gan:train.steps=1", "vae:train.steps"):
        with pytest.raises(SystemExit):
            ttq.parse_args(["--set", wrong])


def test_seeds_measured_by_two_commands_merge_into_the_entry_of_all_seeds(tmp_path):
    settings = {"minutes": [1, 2], "genzoo_minutes": [1, 2], "n_samples": 100, "clock": "wall", "torch_threads": 16}
    seeds = {0: _seed_points(0, (60, 20), (30, 10)), 1: _seed_points(1, (50, 24), (34, 12)),
             2: _seed_points(2, (70, 18), (28, 9))}
    a = _result_file(tmp_path / "a.json", {0: seeds[0]}, settings)
    # b's classifier was trained again: its real-vs-real floor moved by thousandths, and both floors are kept
    b = _result_file(tmp_path / "b.json", {1: seeds[1], 2: seeds[2]}, settings, floor=0.495)
    merged = ttq.merge_files([a, b], str(tmp_path / "ab.json"))["dcgan"]
    assert merged["floor"] == [0.495, 0.5]
    # target: the median of the plain loops' last FDs (20, 24, 18); genzoo's medians 30 at 1 min, 10 at 2 min
    # reach it at log t = (30 - 20) / (30 - 10) * log 2, t = sqrt(2); the plain loop at its checkpoint, 2 min
    assert merged["target_fd"] == 20 and merged["settings"]["seeds"] == [0, 1, 2]
    assert merged["contestants"]["genzoo"]["reaches_target"]["minutes"] == pytest.approx(math.sqrt(2))
    assert merged["speedup"]["ratio"] == pytest.approx(2 / math.sqrt(2))
    assert merged["command"] == "measure [0] && measure [1, 2]"
    written = json.loads((tmp_path / "ab.json").read_text())
    assert written["rows"]["dcgan"]["seeds"] == 3 and "seeds as each model's row says" in written["protocol"]


def test_files_measured_with_other_settings_or_the_same_seed_are_not_merged(tmp_path):
    settings = {"minutes": [1, 2], "genzoo_minutes": [1, 2], "n_samples": 100, "clock": "wall", "torch_threads": 16}
    a = _result_file(tmp_path / "a.json", {0: _seed_points(0, (60, 20), (30, 10))}, settings)
    other = _result_file(tmp_path / "b.json", {1: _seed_points(1, (60, 20), (30, 10))}, {**settings, "n_samples": 50})
    again = _result_file(tmp_path / "c.json", {0: _seed_points(0, (60, 20), (30, 10))}, settings)
    # a floor 0.03 away is another classifier's (or another dataset's), whose FDs do not compare
    other_classifier = _result_file(tmp_path / "d.json", {1: _seed_points(1, (60, 20), (30, 10))}, settings,
                                    floor=0.53)
    for second in (other, again, other_classifier):
        with pytest.raises(SystemExit):
            ttq.merge_files([a, second], str(tmp_path / "out.json"))
    assert not (tmp_path / "out.json").exists()


def test_budgets_are_genzoos_time_budget_strings():
    assert ttq.budget_string(90.0, "wall") == "90s" and ttq.budget_string(319.8, "cpu") == "319.8cpu"
    with pytest.raises(SystemExit):
        ttq.parse_args(["--minutes", "0", "1"])


@pytest.mark.slow
def test_quick_run_end_to_end_writes_a_result_the_results_page_renders(tmp_path, monkeypatch, fx_cache):
    monkeypatch.setattr(ttq, "get_feature_extractor", lambda *a, **k: fx_cache[0])   # the small cached classifier
    monkeypatch.setattr(sys, "argv", ["benchmarks/time_to_quality.py", "--quick"])
    results = tmp_path / "results"
    out = results / "time_to_quality.json"
    ttq.main(["--quick", "--data", "mnist5k", "--n-samples", "100", "--out", str(out)])
    result = json.loads(out.read_text())
    entry = result["models"]["dcgan"]
    for who in ("reference", "genzoo"):
        curve = entry["contestants"][who]["curve"]
        assert [c["budget_minutes"] for c in curve] == ttq.QUICK["minutes"]
        assert all(c["seeds"][0]["steps"] >= 1 and c["minutes"] >= c["budget_minutes"] for c in curve)
    assert entry["target_fd"] == entry["contestants"]["reference"]["curve"][-1]["fd"]
    genzoo_run = entry["contestants"]["genzoo"]["curve"][0]["seeds"][0]
    assert genzoo_run["past_budget_pct"] == pytest.approx(100 * (genzoo_run["minutes"] / (0.5 / 60) - 1), abs=0.1)
    # --rows-only rebuilds the rows from the curves, keeping the measuring command and the rest of the file
    row = result["rows"]["dcgan"]
    del row["at_last_fd"]
    out.write_text(json.dumps(result))
    ttq.main(["--rows-only", "--out", str(out)])
    rebuilt = json.loads(out.read_text())
    assert rebuilt["rows"]["dcgan"] == {**row, "at_last_fd": ttq.at_genzoos_last_fd_text(ttq.at_genzoos_last_fd(entry))}
    assert {k: v for k, v in rebuilt.items() if k != "rows"} == {k: v for k, v in result.items() if k != "rows"}

    page = render_results.render_all(results)["docs/results/engine.md"]
    section = page.split('<a id="time-to-quality"></a>')[1].split('<a id="time-to-quality-gpu"></a>')[0]
    dcgan_rows = [line for line in section.splitlines() if "dcgan" in line.lower() and line.startswith("|")]
    assert len(dcgan_rows) == 3 and not any("not measured" in line for line in dcgan_rows)
    assert "| `vae` | not run |" in section and "time-to-quality.png" in section
    figure = render_results.plots(render_results.load_results(results))
    (axes,) = next(iter(figure.values())).axes
    genzoo_line = axes.get_lines()[0]
    assert list(genzoo_line.get_ydata()) == [c["fd"] for c in entry["contestants"]["genzoo"]["curve"]]


def _shapes(*nets) -> list[tuple]:
    return [tuple(p.shape) for net in nets for p in net.parameters()]


def _genzoo(preset: str, **sets):
    cfg = resolve(preset, overrides=sets)
    return get_algorithm(cfg.algorithm)(cfg.model, DataSpec("image", (1, 28, 28), num_classes=10))


def test_the_reference_gans_have_genzoos_dcgan_networks():
    # the papers' DCGAN nets: the presets' InfoGAN layer on 28x28 digits is part of genzoo's recipe, not the loops'
    papers_nets = {"model.nets.width": 64, "model.nets.upsample": "transposed", "model.nets.fc_width": 0,
                   "model.nets.projection_norm": "channel"}
    gan = _genzoo("dcgan", **papers_nets)
    ref = reference_dcgan.ReferenceDCGAN(0)
    assert _shapes(ref.netG) == _shapes(gan.G) and _shapes(ref.netD) == _shapes(gan.D)
    critic = _genzoo("wgan-gp", **papers_nets)
    ref = reference_wgan_gp.ReferenceWGANGP(0)
    assert _shapes(ref.netG) == _shapes(critic.G) and _shapes(ref.netD) == _shapes(critic.D)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in ref.netD.modules())


def test_the_reference_vae_has_genzoos_vae_networks():
    vae, ref = _genzoo("vae"), reference_vae.ReferenceVAE(0).model
    # genzoo's last encoder layer gives mu and log sigma^2 together: the reference's fc21 and fc22 stacked
    assert _shapes(vae.encoder) == [(500, 784), (500,), (40, 500), (40,)]
    assert [tuple(torch.cat([ref.fc21.weight, ref.fc22.weight]).shape)] == [(40, 500)]
    assert _shapes(ref.fc1) == [(500, 784), (500,)] and _shapes(vae.decoder) == _shapes(ref.fc3, ref.fc4)


@pytest.mark.parametrize("module", [reference_dcgan, reference_vae, reference_wgan_gp])
def test_a_reference_loop_trains_a_few_steps_and_samples_images(module):
    images = (torch.rand(300, 1, 28, 28) * 255).to(torch.uint8)
    model, step = module.trainer(images, batch_size=20, seed=0)
    nets = [getattr(model, name) for name in ("netG", "netD", "model") if hasattr(model, name)]
    before = [p.detach().clone() for net in nets for p in net.parameters()]
    for _ in range(3):
        logs = step()
    assert all(math.isfinite(v) for v in logs.values() if isinstance(v, float))
    after = [p for net in nets for p in net.parameters()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after) if a.dim() > 1)   # every weight moved
    x = model.sample(7, generator=torch.Generator().manual_seed(0))
    assert x.shape == (7, 1, 28, 28) and 0 <= x.min() and x.max() <= 1

"""Adding a metric is one registered function: `genzoo eval` runs it, prints it and refuses it where it does not apply."""
import dataclasses
import json

import pytest

from genzoo.cli import main
from genzoo.metrics.registry import METRICS, register_metric


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("vae") / "run"
    assert main(["train", "vae", "--data", "digits", "--steps", "2", "--batch-size", "16", "--quiet",
                 "--out", str(run)]) == 0
    return run


@pytest.fixture
def fraction_of_dark_pixels():
    @register_metric("dark_pixels", kinds=("image",), protocol="fraction of sample pixels below 0.5",
                     format=lambda r: f"{100 * r['value']:.2f}% dark")
    def dark_pixels(ev):
        return {"value": (ev.samples(ev.n) < 0.5).float().mean().item(), "n": ev.n}
    yield dark_pixels
    del METRICS["dark_pixels"]


@pytest.mark.slow
def test_a_registered_metric_shows_in_genzoo_eval(vae_run, fraction_of_dark_pixels, capsys):
    import genzoo
    import torch

    assert main(["eval", str(vae_run), "--metrics", "dark_pixels", "--n", "20", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    # the same 20 samples, drawn as genzoo eval draws them: the model's sampler with a generator seeded 4
    x = genzoo.load(vae_run).sample(20, generator=torch.Generator().manual_seed(4))
    dark = (x < 0.5).float().mean().item()
    assert f"dark_pixels    {100 * dark:.2f}% dark" in out
    saved = json.loads((vae_run / "eval.json").read_text())["dark_pixels"]
    assert saved["value"] == pytest.approx(dark) and saved["n"] == 20 and saved["checkpoint_step"] == 2


@pytest.mark.slow
def test_a_registered_metric_is_refused_where_it_does_not_apply(tmp_path, fraction_of_dark_pixels, capsys):
    run = tmp_path / "toy"
    assert main(["train", "gan-toy", "--steps", "2", "--quiet", "--set", "data.n_samples=400",
                 "--set", "model.nets.hidden=[8]", "--set", "model.nets.d_hidden=[8]", "--out", str(run)]) == 0
    assert main(["eval", str(run), "--metrics", "dark_pixels", "--n", "20"]) == 2
    assert "dark_pixels does not apply to gan-toy on ring8; the metrics that do: toy" in capsys.readouterr().err


def test_eval_defaults_come_from_the_registry(vae_run, fraction_of_dark_pixels):
    from genzoo.metrics.context import Evaluation
    from genzoo.metrics.registry import default_metrics
    from genzoo.runs import RunDir

    ev = Evaluation(RunDir.open(vae_run))
    assert default_metrics(ev) == ["fd", "kid", "prdc", "cs", "classes", "nll", "probe", "dark_pixels"]
    METRICS["dark_pixels"] = dataclasses.replace(METRICS["dark_pixels"], default=False)
    assert "dark_pixels" not in default_metrics(ev)

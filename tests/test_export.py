"""genzoo export: the sampler alone, as TorchScript and ONNX, reproduces genzoo's own outputs."""
import json

import pytest
import torch

import genzoo
from genzoo.cli import main
from genzoo.errors import GenzooError

QUICK = {"train.log_every": 1, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 4,
         "train.steps": 2, "train.batch_size": 8, "data.name": "digits", "train.precision": "fp32"}
TINY = {
    "dcgan": {"model.nets.width": 8, "model.latent_dim": 6},
    "cgan": {"model.nets.hidden": [16], "model.nets.d_hidden": [16], "model.latent_dim": 5},
    "vae": {"model.hidden": [16], "model.latent_dim": 3},
    "pix2pix": {"model.width": 8, "model.discriminator.width": 8, "model.discriminator.n_layers": 1,
                "data.name": "mnist-edges", "data.n_samples": 16, "data.image_size": 16, "train.batch_size": 4},
}


def _inputs_and_reference(preset, model):
    """Inputs of the exported graph and genzoo's own output for them (dropout off for pix2pix)."""
    g = torch.Generator().manual_seed(1)
    if preset == "pix2pix":
        x = torch.rand(3, 1, 16, 16, generator=g)
        model.cfg.test_dropout = False
        return (x,), model.translate(x)
    z = model.prior(5, generator=g)
    if preset == "cgan":
        y = torch.tensor([0, 3, 9, 9, 2])
        return (z, y), model.generate(z, cond=y)
    return (z,), model.generate(z)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["dcgan", "vae", "cgan", "pix2pix"])
def test_exported_torchscript_and_onnx_reproduce_genzoos_outputs(tiny_run, preset, tmp_path, one_thread):
    run_dir = tiny_run(preset, QUICK, TINY[preset]).dir
    model = genzoo.load(run_dir)
    inputs, expected = _inputs_and_reference(preset, model)
    for fmt, suffix in (("torchscript", ".pt"), ("onnx", ".onnx")):
        out = tmp_path / f"{preset}{suffix}"
        assert main(["export", str(run_dir), "--format", fmt, "--out", str(out)]) == 0
        exported = genzoo.load_exported(out, trusted=fmt == "torchscript")   # our own file
        got = exported(*inputs)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
        if fmt == "torchscript":   # plain torch, no genzoo
            torch.testing.assert_close(torch.jit.load(str(out))(*inputs), expected, atol=1e-4, rtol=0)
        else:                       # plain onnxruntime, no genzoo
            import onnxruntime
            runtime = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
            feed = {i.name: t.numpy() for i, t in zip(runtime.get_inputs(), inputs)}
            torch.testing.assert_close(torch.from_numpy(runtime.run(None, feed)[0]), expected, atol=1e-4, rtol=0)


def test_sidecar_states_the_signature_and_sample_draws_from_the_prior(tiny_run, tmp_path, one_thread):
    run_dir = tiny_run("cgan", QUICK, TINY["cgan"]).dir
    out = tmp_path / "g.onnx"
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(out)]) == 0
    side = json.loads((tmp_path / "g.onnx.json").read_text())
    assert side["role"] == "sampler" and side["latent_dim"] == 5 and side["num_classes"] == 10
    assert side["image_shape"] == [1, 8, 8] and side["value_range"] == [0.0, 1.0]
    assert [i["name"] for i in side["inputs"]] == ["z", "y"]
    assert side["inputs"][0]["prior"] == {"kind": "normal", "mean": [0.0] * 5, "std": [1.0] * 5}
    exported = genzoo.load_exported(out)
    x = exported.sample(4, cond=7, seed=3)
    z = torch.randn(4, 5, generator=torch.Generator().manual_seed(3))   # the same seed draws the same z
    torch.testing.assert_close(x, genzoo.load(run_dir).generate(z, cond=torch.full((4,), 7)), atol=1e-4, rtol=0)
    assert x.shape == (4, 1, 8, 8) and 0 <= x.min() and x.max() <= 1


def test_models_without_a_feed_forward_sampler_are_refused(tiny_run, tmp_path, capsys):
    run_dir = tiny_run("rbm", QUICK, {"model.hidden": 8, "model.sample_steps": 2}).dir
    assert main(["export", str(run_dir), "--out", str(tmp_path / "rbm.pt")]) == 2
    err = capsys.readouterr().err
    assert "rbm has no feed-forward sampler to export" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "rbm.pt").exists()


def test_missing_sidecar_and_wrong_inputs_get_clear_errors(tiny_run, tmp_path, one_thread):
    run_dir = tiny_run("dcgan", QUICK, TINY["dcgan"]).dir
    out = tmp_path / "g.pt"
    assert main(["export", str(run_dir), "--out", str(out)]) == 0
    with pytest.raises(GenzooError, match="takes 1 inputs"):
        genzoo.load_exported(out, trusted=True)(torch.zeros(1, 6), torch.zeros(1))
    (tmp_path / "g.pt.json").unlink()
    with pytest.raises(GenzooError, match="needs its JSON sidecar"):
        genzoo.load_exported(out)

"""VAE family: the ELBO by hand, the IWAE bound, the latent families, the conditional VAE, presets."""
import json
import math
import re

import pytest
import torch
import torch.nn.functional as F

import genzoo
from genzoo.cli import _overrides, build_parser
from genzoo.presets import preset_text, resolve
from genzoo.data import load_dataset
from genzoo.errors import ConfigError
from genzoo.models import get_algorithm
from genzoo.models.base import DataSpec

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets: one thread is fastest on a shared CPU

QUICK = {"train.log_every": 10, "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 16,
         "data.name": "digits", "train.batch_size": 64}


def _metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _tiny_vae(**sets):
    """2 binary pixels, 1 latent dim, no hidden layers, weights set by hand:
    q(z|x) = N(0.5, 0.5^2) for every x; p(x|z) = Bernoulli(sigmoid(2z), sigmoid(-z + 0.5))."""
    cfg = resolve("vae", overrides={"model.hidden": [], "model.latent_dim": 1, "model.binarize": "none",
                                    **sets}).model
    model = get_algorithm("vae")(cfg, DataSpec("points", (2,)))
    enc, dec = model.encoder[1][0], model.decoder[0][0]
    with torch.no_grad():
        enc.weight.zero_()
        enc.bias.copy_(torch.tensor([0.5, math.log(0.25)]))
        dec.weight.copy_(torch.tensor([[2.0], [-1.0]]))
        dec.bias.copy_(torch.tensor([0.0, 0.5]))
    return model


def _log_sigmoid(a):
    return -math.log1p(math.exp(-a))


def test_elbo_by_hand():
    model = _tiny_vae()
    x = torch.tensor([[1.0, 0.0]])
    # eps = 1: z = mu + sigma * eps = 0.5 + 0.5 = 1; logits (2, -0.5)
    log_px_z = _log_sigmoid(2.0) + _log_sigmoid(0.5)          # log s(2) + log(1 - s(-0.5))
    kl = -0.5 * (1 + math.log(0.25) - 0.25 - 0.25)             # -1/2 (1 + log s^2 - mu^2 - s^2)
    got = model.elbo(x, noise=torch.ones(1, 1)).item()
    assert got == pytest.approx(log_px_z - kl, abs=1e-6)
    assert log_px_z - kl == pytest.approx(-1.044152, abs=1e-6)


def _exact_log_px(model, x):
    """log p(x) = log int N(z; 0, 1) p(x|z) dz on a fine grid (1-D latent)."""
    z = torch.linspace(-12, 12, 200001, dtype=torch.float64).unsqueeze(1)
    dec = model.decoder[0][0]
    logits = (z * dec.weight.detach().double().T + dec.bias.detach().double())
    log_px_z = -F.binary_cross_entropy_with_logits(logits, x.double().expand_as(logits), reduction="none").sum(1)
    log_joint = log_px_z - 0.5 * z.squeeze(1) ** 2 - 0.5 * math.log(2 * math.pi)
    return (torch.logsumexp(log_joint, 0) + math.log(24 / 200000)).item()


def test_iwae_bound_k1_is_the_elbo_and_tightens_with_k():
    model = _tiny_vae()
    x = torch.tensor([[1.0, 0.0]])
    torch.manual_seed(0)
    # k = 1, one sample: log w = log p(x|z) + log p(z) - log q(z|x) at z = 0.5 + 0.5 eps
    lw = model.log_importance_weights(x, 1)
    torch.manual_seed(0)
    z = 0.5 + 0.5 * torch.randn(1, 1, 1).item()
    by_hand = (_log_sigmoid(2 * z) + _log_sigmoid(z - 0.5) - 0.5 * z * z - 0.5 * math.log(2 * math.pi)
               - (-0.5 * ((z - 0.5) / 0.5) ** 2 - math.log(0.5) - 0.5 * math.log(2 * math.pi)))
    assert lw.item() == pytest.approx(by_hand, abs=1e-5)

    torch.manual_seed(1)
    xs = x.expand(4000, 2)
    elbo = model.elbo(xs).mean().item()                 # analytic KL
    bounds = {k: model.iwae_bound(xs, k).mean().item() for k in (1, 5, 50)}
    assert bounds[1] == pytest.approx(elbo, abs=0.03)   # the same bound, two unbiased estimators
    log_px = _exact_log_px(model, x)
    assert bounds[1] < bounds[5] < bounds[50] <= log_px + 0.01
    assert model.iwae_bound(x.expand(200, 2), 5000).mean().item() == pytest.approx(log_px, abs=0.02)


def test_iwae_objective_trains_on_the_k_sample_bound():
    model = _tiny_vae(**{"model.objective": "iwae", "model.k": 8})
    from genzoo.models import Optimizers
    from genzoo.models.base import Batch
    opt = Optimizers(model.configure_optimizers())
    torch.manual_seed(0)
    logs = model.train_step(Batch(torch.tensor([[1.0, 0.0]] * 64)), opt, 0)
    assert set(logs) == {"loss", "iwae"} and logs["loss"] == pytest.approx(-float(logs["iwae"]))
    with pytest.raises(ConfigError, match="gumbel"):
        resolve("gumbel-vae", overrides={"model.objective": "iwae"})


def test_gumbel_softmax_samples_lie_on_the_simplex_and_anneal():
    cfg = resolve("gumbel-vae", overrides={"model.hidden": [16], "model.latent_dim": 4, "model.categories": 5,
                                           "model.anneal_rate": 3e-5, "model.anneal_every": 1000}).model
    model = get_algorithm("vae")(cfg, DataSpec("image", (1, 8, 8)))
    h = model.encode(torch.rand(64, 1, 8, 8))
    for tau in (1.0, 0.5, 0.05):
        y = model.latent.rsample(h, tau).view(64, 4, 5)
        assert (y >= 0).all() and torch.allclose(y.sum(-1), torch.ones(64, 4), atol=1e-5)
    cold = model.latent.rsample(h, 0.01).view(64, 4, 5)
    assert (cold.max(-1).values > 0.99).float().mean() > 0.95           # nearly one-hot as tau -> 0
    # tau = max(0.5, exp(-3e-5 t)), updated every 1000 steps (Jang et al. 2017)
    assert model.temperature_at(0) == 1.0 and model.temperature_at(999) == 1.0
    assert model.temperature_at(1000) == pytest.approx(math.exp(-0.03))
    assert model.temperature_at(15_500) == pytest.approx(math.exp(-3e-5 * 15_000))
    assert model.temperature_at(10 ** 6) == 0.5
    prior = model.prior(10).view(10, 4, 5)
    assert torch.equal(prior.sum(-1), torch.ones(10, 4)) and set(prior.unique().tolist()) == {0.0, 1.0}
    # KL to the uniform prior is 0 exactly at uniform posteriors
    assert model.latent.kl(torch.zeros(3, 20)).abs().max() < 1e-6


def test_lognormal_latent_is_positive():
    cfg = resolve("lognormal-vae", overrides={"model.hidden": [16], "model.latent_dim": 6}).model
    model = get_algorithm("vae")(cfg, DataSpec("image", (1, 8, 8)))
    x = torch.rand(256, 1, 8, 8)
    z = model.latent_sample(x)
    assert z.shape == (256, 6) and (z > 0).all()
    # KL(LogNormal(mu, s^2) || LogNormal(0, 1)) = KL of the Gaussians of log z
    h = model.encode(x)
    mu, logvar = h.chunk(2, 1)
    assert torch.allclose(model.latent.kl(h), -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1))
    # the protocol z of generate() is u = log z ~ N(0, I); the decoder receives exp(u) > 0
    u = model.prior(5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(model.latent.decoder_input(u), u.exp())


@pytest.mark.slow
def test_cvae_samples_by_class(tiny_run):
    """A short CVAE training on 8x8 digits: samples asked for class c look like class c to a
    nearest-class-mean classifier of the real digits."""
    run = tiny_run("cvae", QUICK, {"train.steps": 300, "model.hidden": [128], "model.latent_dim": 4,
                                   "model.binarize": "none"})
    model = genzoo.load(run.dir)
    ds = load_dataset("digits")
    x = ds.x.float().div(255).flatten(1)
    means = torch.stack([x[ds.y == c].mean(0) for c in range(10)])
    g = torch.Generator().manual_seed(0)
    hits = 0
    for c in range(10):
        s = model.sample(20, cond=c, generator=g).flatten(1)
        hits += int((torch.cdist(s, means).argmin(1) == c).sum())
    assert hits / 200 > 0.9   # (the classifier itself: 91 % on real digits)
    grid = model.sample(10, generator=torch.Generator().manual_seed(0))   # classes in turn 0..9
    z = model.prior(10, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(grid, model.generate(z, torch.arange(10)))
    with pytest.raises(ValueError, match="conditional"):
        model.reconstruct(ds.x[:2].float().div(255))


@pytest.mark.parametrize("preset,sets", [
    ("vae", {"model.hidden": [64]}),
    ("conv-vae", {"model.width": 8}),
    ("iwae", {"model.hidden": [64], "model.k": 5, "train.batch_size": 32}),
    ("gumbel-vae", {"model.hidden": [64], "model.latent_dim": 8, "model.anneal_every": 10, "model.anneal_rate": 0.01}),
    ("lognormal-vae", {"model.hidden": [64]}),
])
@pytest.mark.slow
def test_presets_train_and_round_trip(tiny_run, preset, sets):
    run = tiny_run(preset, QUICK, {"train.steps": 60}, sets)
    m = _metrics(run.dir)
    key = "iwae" if preset == "iwae" else "elbo"
    assert m[-1][key] > m[0][key] + 3          # nats per example
    assert m[-1]["loss"] < m[0]["loss"]
    if preset == "gumbel-vae":
        assert m[-1]["tau"] < m[0]["tau"]
    saved = json.loads((run.dir / "config.json").read_text())
    # recorded with the run (conv-vae models the grey levels; the others dynamically binarized digits)
    assert saved["config"]["model"]["binarize"] == ("none" if preset == "conv-vae" else "dynamic")
    loaded = genzoo.load(run.dir)
    for (n, a), (_, b) in zip(run.model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a.cpu(), b.cpu()), n
    run.model.cpu().eval()   # load() reads onto the CPU; "auto" may have trained on a GPU
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(run.model.sample(4, generator=g()), loaded.sample(4, generator=g()))
    x = load_dataset("digits", "test").x[:3].float().div(255)
    assert loaded.reconstruct(x).shape == x.shape
    assert loaded.generate(loaded.prior(2)).shape == (2, 1, 8, 8)
    assert loaded.interpolate(x[0], x[1], steps=4).shape == (4, 1, 8, 8)


@pytest.mark.parametrize("algo,preset,sets", [
    ("ae", "ae", {"model.hidden": [16]}),
    ("vae", "vae", {"model.hidden": [16]}),
    ("vae", "lognormal-vae", {"model.hidden": [16]}),
    ("vae", "cvae", {"model.hidden": [16]}),
    ("aae", "aae-semi", {"model.hidden": [16], "model.disc_hidden": [16]}),
    ("alae", "alae", {"model.hidden": [16], "model.mapping_hidden": [8], "model.disc_hidden": [8]}),
])
def test_sampling_tools_work_on_every_autoencoder(algo, preset, sets):
    """genzoo.sampling's protocol: latent_dim, generate (differentiable in z), prior, num_classes."""
    from genzoo import sampling

    model = get_algorithm(algo)(resolve(preset, overrides=sets).model, DataSpec("image", (1, 8, 8), 10))
    g = torch.Generator().manual_seed(0)
    assert sampling.interpolation_grid(model, rows=2, steps=3, generator=g).shape == (6, 1, 8, 8)
    assert sampling.sample_truncated(model, 4, 0.5, generator=g).shape == (4, 1, 8, 8)
    if getattr(model, "num_classes", 0):
        assert sampling.class_grid(model, 2, generator=g).shape == (20, 1, 8, 8)
    classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    z = sampling.prior(model, 3, g)
    d = sampling.classifier_direction(model, classifier, z, target=1)
    assert d.shape == z.shape and torch.allclose(d.norm(dim=1), torch.ones(3), atol=1e-5)


def test_gumbel_vae_preset_anneals_to_its_temperature_floor_within_its_budget():
    cfg = resolve("gumbel-vae")
    model = get_algorithm("vae")(cfg.model, DataSpec("image", (1, 28, 28)))
    # tau = max(0.5, exp(-r t)) with t rounded down to a multiple of anneal_every
    assert model.temperature_at(0) == 1.0
    assert model.temperature_at(1050) == pytest.approx(math.exp(-1000 * cfg.model.anneal_rate))
    assert model.temperature_at(1050) > 0.5
    assert model.temperature_at(cfg.train.steps * 3 // 4) == cfg.model.temperature_min == 0.5


def test_conv_vae_preset_has_infogan_mnist_nets_by_hand():
    """conv-vae: Lucic et al.'s VAE on MNIST, InfoGAN's nets (a 1024-unit layer in both), 20 latents."""
    model = get_algorithm("vae")(resolve("conv-vae").model, DataSpec("image", (1, 28, 28)))
    n_params = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    # conv 16*64 + 64, conv 64*128*16, BN 2*128, FC 6272*1024, BN 2*1024, head 1024*40 + 40 (mean, log-var)
    assert n_params(model.encoder) == 1_088 + 131_072 + 256 + 6_422_528 + 2_048 + 41_000
    # FC 20*1024, BN 2*1024, FC 1024*6272, BN 2*128, ConvT 128*64*16, BN 2*64, ConvT 64*16 + 1
    assert n_params(model.decoder) == 20_480 + 2_048 + 6_422_528 + 256 + 131_072 + 128 + 1_025
    assert model.generate(model.prior(2)).shape == (2, 1, 28, 28)
    with pytest.raises(ConfigError, match="model.arch=conv"):
        resolve("vae", overrides={"model.fc_width": 1024})


def test_vae_preset_takes_five_times_the_papers_batch_and_its_comment_switches_back():
    """A CPU computes a batch of 500 at a higher rate per image; the preset's comment gives the paper's recipe."""
    cfg = resolve("vae")
    assert (cfg.train.batch_size, cfg.model.optim.lr) == (500, 3e-3)
    switch_back = re.search(r"Back to the paper's batch: (.+)", preset_text("vae")).group(1)
    args = build_parser().parse_args(["train", "vae", *switch_back.split()])
    papers = resolve("vae", overrides={**_overrides(args), "train.batch_size": args.batch_size})
    assert (papers.train.batch_size, papers.model.optim.lr, papers.model.hidden, papers.model.latent_dim) == (
        100, 1e-3, cfg.model.hidden, 20)

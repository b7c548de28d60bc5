"""ALAE: Algorithm 1's three steps each update exactly the networks the paper names; R1 is applied."""
import json

import pytest
import torch

import genzoo
from genzoo.presets import resolve
from genzoo.data import load_dataset
from genzoo.models import Optimizers, get_algorithm
from genzoo.models.base import Batch, DataSpec

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny nets: one thread is fastest on a shared CPU

SMALL = {"model.hidden": [64], "model.mapping_hidden": [16], "model.disc_hidden": [16],
         "model.latent_dim": 8, "model.w_dim": 8}


class _Recorder(Optimizers):
    """Optimizers that note which networks each named step changed."""

    def __init__(self, model, optimizers):
        super().__init__(optimizers)
        self.model, self.log = model, []

    def step(self, name, loss):
        before = {n: p.detach().clone() for n, p in self.model.named_parameters()}
        super().step(name, loss)
        self.log.append((name, {n.split(".")[0] for n, p in self.model.named_parameters()
                                if not torch.equal(p, before[n])}))


def test_three_steps_update_their_own_networks_and_r1_is_present():
    torch.manual_seed(0)
    cfg = resolve("alae", overrides=SMALL).model
    model = get_algorithm("alae")(cfg, DataSpec("image", (1, 8, 8)))
    opt = _Recorder(model, model.configure_optimizers())
    logs = model.train_step(Batch(torch.rand(16, 1, 8, 8)), opt, 0)
    assert opt.log == [("ED", {"E", "D"}), ("FG", {"F", "G"}), ("EG", {"E", "G"})]
    assert set(logs) == {"d_loss", "r1", "g_loss", "latent_rec"}
    assert logs["r1"] > 0
    # the R1 term is gamma/2 E ||grad_x D(E(x))||^2 on real data
    from genzoo.losses import r1_penalty
    x = torch.rand(8, 1, 8, 8)
    assert torch.allclose(r1_penalty(model.discriminate, x, gamma=10.0),
                          r1_penalty(model.discriminate, x, gamma=1.0) * 10)
    cfg0 = resolve("alae", overrides={**SMALL, "model.gamma": 0.0}).model
    model0 = get_algorithm("alae")(cfg0, DataSpec("image", (1, 8, 8)))
    assert model0.train_step(Batch(torch.rand(16, 1, 8, 8)), Optimizers(model0.configure_optimizers()), 0)["r1"] == 0


@pytest.mark.slow
def test_short_training_lowers_the_latent_reconstruction_and_round_trips(tiny_run):
    sets = {**SMALL, "data.name": "digits", "train.steps": 150, "train.batch_size": 64, "train.log_every": 10,
            "train.sample_every": 0, "train.checkpoint_every": 0, "train.grid_size": 16, "model.optim.lr": 1e-3}
    run = tiny_run("alae", sets)
    m = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    assert m[-1]["latent_rec"] < 0.8 * m[0]["latent_rec"]
    loaded = genzoo.load(run.dir)
    run.model.cpu().eval()   # load() reads onto the CPU; "auto" may have trained on a GPU
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(run.model.sample(5, generator=g()), loaded.sample(5, generator=g()))
    x = load_dataset("digits", "test").x[:3].float().div(255)
    assert loaded.reconstruct(x).shape == x.shape
    assert loaded.interpolate(x[0], x[1], steps=4).shape == (4, 1, 8, 8)
    assert loaded.generate(torch.randn(2, loaded.latent_dim)).shape == (2, 1, 8, 8)

"""A model added to genzoo end to end: the Wasserstein autoencoder with an MMD penalty
(Tolstikhin, Bousquet, Gelly & Schoelkopf 2018, "Wasserstein Auto-Encoders", arXiv:1711.01558).

In genzoo itself this file would be src/genzoo/models/wae.py, and wae.yaml a preset in
src/genzoo/presets/. Here it registers the algorithm when imported:

    import wae, genzoo
    run = genzoo.train(config="wae.yaml", steps=500)
    images = genzoo.load(run.dir).sample(16)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from genzoo.nets.mlp import MLPDecoder, MLPEncoder
from genzoo.models.base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, register


@dataclass
class WAEConfig:
    """The paper's hyperparameters, typed: every key can be set with --set model.KEY=VALUE."""

    latent_dim: int = 8
    hidden: tuple[int, ...] = (512, 256)
    mmd_weight: float = 10.0     # lambda
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=1e-3))


def imq_mmd(a: torch.Tensor, b: torch.Tensor, scale: float) -> torch.Tensor:
    """Unbiased MMD^2 between samples a and b with the inverse multiquadratic kernel
    k(x, y) = C / (C + ||x - y||^2)   (Tolstikhin et al. 2018, Algorithm 2)."""
    n = len(a)
    def k(x, y):
        return scale / (scale + torch.cdist(x, y).pow(2))
    off_diagonal = 1 - torch.eye(n, device=a.device, dtype=a.dtype)
    return ((k(a, a) + k(b, b)) * off_diagonal).sum() / (n * (n - 1)) - 2 * k(a, b).mean()


@register
class WAE(Algorithm):
    """Encoder E(x) = z~, decoder G(z); the codes' distribution is pulled to p(z) = N(0, I) by MMD."""

    name = "wae"          # what a preset's `algorithm:` names
    Config = WAEConfig    # the `model:` section of a preset, typed and validated

    def __init__(self, cfg: WAEConfig, data: DataSpec):
        super().__init__(cfg, data)
        self.encoder = MLPEncoder(data.dim, cfg.hidden, cfg.latent_dim)
        self.decoder = MLPDecoder(cfg.latent_dim, tuple(reversed(cfg.hidden)), data.shape)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"wae": self.cfg.optim.build(self.parameters())}

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict[str, float]:
        """Tolstikhin et al. 2018, Algorithm 2 (WAE-MMD):

            z~_i = E(x_i),  z_i ~ p(z)
            descend  1/n sum_i ||x_i - G(z~_i)||^2 + lambda MMD_k({z_i}, {z~_i})
        """
        x = batch.x
        z_tilde = self.encoder(x)
        z = torch.randn_like(z_tilde)
        reconstruction = (torch.sigmoid(self.decoder(z_tilde)) - x).pow(2).flatten(1).sum(1).mean()
        mmd = imq_mmd(z, z_tilde, scale=2.0 * self.cfg.latent_dim)
        opt.step("wae", reconstruction + self.cfg.mmd_weight * mmd)
        return {"reconstruction": reconstruction.item(), "mmd": mmd.item()}

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(n, self.cfg.latent_dim, device=self.device, generator=generator)
        return torch.sigmoid(self.decoder(z))

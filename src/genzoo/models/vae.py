"""Variational autoencoder (Kingma & Welling 2014): amortized inference with the reparameterization trick."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import ConfigError
from ..losses import bernoulli_log_likelihood, gaussian_kl, gaussian_log_likelihood, log_normal_pdf, log_standard_normal
from .ae import encoder_decoder
from .base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, register


@dataclass
class VAEConfig:
    arch: str = "mlp"                       # mlp | conv
    latent_dim: int = 20
    hidden: tuple[int, ...] = (500,)        # Kingma & Welling 2014 used 500 hidden units on MNIST
    width: int = 32                         # conv channels
    activation: str = "relu"
    likelihood: str = "bernoulli"           # bernoulli | gaussian (learned global variance)
    binarize: str = "dynamic"               # dynamic (x ~ Bernoulli(pixel)) | fixed (pixel > 0.5) | none
    beta: float = 1.0                       # weight of the KL term (beta-VAE)
    kl_warmup_steps: int = 0                # beta rises linearly from 0 over this many steps
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=1e-3))

    def validate(self) -> None:
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ConfigError(f"model.likelihood must be 'bernoulli' or 'gaussian', got '{self.likelihood}'")
        if self.binarize not in ("dynamic", "fixed", "none"):
            raise ConfigError(f"model.binarize must be dynamic, fixed or none, got '{self.binarize}'")
        if self.beta < 0 or self.kl_warmup_steps < 0:
            raise ConfigError("model.beta and model.kl_warmup_steps must be >= 0")


@register
class VAE(Algorithm):
    """q(z|x) = N(mu(x), diag sigma^2(x)), p(z) = N(0, I), p(x|z) Bernoulli or Gaussian."""

    name = "vae"
    Config = VAEConfig

    def __init__(self, cfg: VAEConfig, data: DataSpec):
        super().__init__(cfg, data)
        self.encoder, self.decoder = encoder_decoder(cfg.arch, data, 2 * cfg.latent_dim, cfg.latent_dim,
                                                     cfg.hidden, cfg.width, cfg.activation)
        if cfg.likelihood == "gaussian":
            self.log_var_x = nn.Parameter(torch.zeros(()))

    def configure_optimizers(self):
        return {"vae": self.cfg.optim.build(self.parameters())}

    def binarize(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.binarize == "dynamic":
            return torch.bernoulli(x)
        if self.cfg.binarize == "fixed":
            return (x > 0.5).to(x.dtype)
        return x

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def log_likelihood(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per example, from the decoder's output (logits or means)."""
        if self.cfg.likelihood == "bernoulli":
            return bernoulli_log_likelihood(out, x)
        return gaussian_log_likelihood(out, x, self.log_var_x)

    def beta_at(self, step: int) -> float:
        warm = self.cfg.kl_warmup_steps
        return self.cfg.beta * (min(1.0, step / warm) if warm else 1.0)

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Maximize the ELBO (Kingma & Welling 2014, eq. 10) with the reparameterization trick:

            L(x) = E_{q(z|x)} log p(x|z) - beta KL(q(z|x) || p(z)),   z = mu(x) + sigma(x) * eps,  eps ~ N(0, I)
        """
        x = self.binarize(batch.x)
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        rec = self.log_likelihood(self.decoder(z), x)
        kl = gaussian_kl(mu, logvar)
        loss = -(rec - self.beta_at(step) * kl).mean()
        opt.step("vae", loss)
        return {"loss": loss.detach(), "elbo": (rec - kl).mean().detach(), "kl": kl.mean().detach()}

    def elbo(self, x: torch.Tensor) -> torch.Tensor:
        """The ELBO per example (beta = 1), one sample of z."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.log_likelihood(self.decoder(z), x) - gaussian_kl(mu, logvar)

    def log_importance_weights(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """log w_i = log p(x, z_i) - log q(z_i | x) for k samples z_i ~ q(z|x): shape (N, k).

        logsumexp_i(log w_i) - log k is the IWAE bound (Burda et al. 2015) and, for large k, the
        importance-sampled estimate of log p(x).
        """
        mu, logvar = self.encode(x)
        n, d = mu.shape
        z = mu.unsqueeze(1) + torch.randn(n, k, d, device=mu.device) * (0.5 * logvar).exp().unsqueeze(1)
        log_q = log_normal_pdf(z, mu.unsqueeze(1), logvar.unsqueeze(1)).sum(-1)
        log_prior = log_standard_normal(z.reshape(n * k, d)).view(n, k)
        x_rep = x.unsqueeze(1).expand(n, k, *x.shape[1:]).reshape(n * k, *x.shape[1:])
        log_px = self.log_likelihood(self.decoder(z.reshape(n * k, d)), x_rep).view(n, k)
        return log_px + log_prior - log_q

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The mean of p(x | z): Bernoulli probabilities or Gaussian means."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.cfg.likelihood == "bernoulli" else out

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[0])

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator=None) -> torch.Tensor:
        """x = E[p(x | z)], z ~ N(0, I)."""
        z = torch.randn(n, self.cfg.latent_dim, device=self.device, generator=generator)
        x = self.decode(z)
        return x.clamp(0, 1) if self.data.kind == "image" else x

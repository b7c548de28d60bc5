"""Variational autoencoder (Kingma & Welling 2014): amortized inference with the reparameterization trick.

One algorithm; the variants are options (and presets):
- likelihood: Bernoulli (binarized pixels; binarization dynamic / fixed / none) or Gaussian;
- beta (Higgins et al. 2017) and a linear KL warm-up (Bowman et al. 2016; Sonderby et al. 2016);
- arch: MLP or convolutional ("conv-vae");
- conditional: labels into the encoder and the decoder, q(z|x,y), p(x|z,y) ("cvae", Sohn et al. 2015);
- latent family: Gaussian; log-normal (z = exp(u), u Gaussian); Gumbel-softmax / Concrete
  categorical with temperature annealing ("gumbel-vae", Jang et al. 2017; Maddison et al. 2017);
- objective: the ELBO averaged over k samples, or the k-sample importance-weighted bound
  ("iwae", Burda et al. 2016).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, GenzooError
from ..losses import bernoulli_log_likelihood, gaussian_kl, gaussian_log_likelihood, log_normal_pdf
from ..nets.random import on_device, standard_normal
from ..nets.autoencoder import Arch, encoder_decoder
from ..nets.layers import Activation, gumbel_softmax
from .latent import LatentModelMixin
from .base import Algorithm, Batch, Binarize, DataSpec, OptimConfig, Optimizers, register

# ------------------------------------------------------------------------------------------
# Latent families: how the encoder's output h parameterizes q(z|x), how z is drawn from it,
# the prior p(z), and KL(q || p). "Protocol z" is what `generate(z)` takes.
# ------------------------------------------------------------------------------------------


class GaussianLatent:
    """q(z|x) = N(mu, diag sigma^2) with h = [mu, log sigma^2]; p(z) = N(0, I); z = mu + sigma * eps."""

    def __init__(self, dim: int):
        self.dim, self.code_dim, self.z_dim = dim, 2 * dim, dim

    @staticmethod
    def split(h):
        return h.chunk(2, dim=1)

    def rsample(self, h, tau=None, noise=None):
        mu, logvar = self.split(h)
        eps = torch.randn_like(mu) if noise is None else noise
        return mu + eps * (0.5 * logvar).exp()

    def decoder_input(self, z):
        return z

    def kl(self, h):
        """KL(q(z|x) || p(z)) in closed form (Kingma & Welling 2014, appendix B)."""
        return gaussian_kl(*self.split(h))

    def mean(self, h):
        return self.split(h)[0]

    def prior(self, n, device, generator=None, truncation=None):
        return standard_normal(n, self.dim, truncation=truncation, generator=generator, device=device)

    def importance_sample(self, h, k):
        """k draws z_i ~ q(z|x) per example -> z (N, k, dim) and log p(z_i) - log q(z_i|x), shape (N, k)."""
        mu, logvar = (t.unsqueeze(1) for t in self.split(h))
        z = mu + torch.randn(mu.shape[0], k, mu.shape[2], device=mu.device, dtype=mu.dtype) * (0.5 * logvar).exp()
        return z, (log_normal_pdf(z) - log_normal_pdf(z, mu, logvar)).sum(-1)


class LogNormalLatent(GaussianLatent):
    """z = exp(u), u ~ N(mu, diag sigma^2): q(z|x) = LogNormal(mu, sigma^2), p(z) = LogNormal(0, I); z > 0.

    exp is a bijection, so KL(q(z) || p(z)) = KL(N(mu, sigma^2) || N(0, I)) and in the importance
    weight p(z)/q(z) the Jacobian 1/z cancels: both are computed on u. The protocol z of
    `generate` is u = log z (so truncation and interpolation work on a Gaussian); the decoder
    receives exp(u). `mean` returns mu, i.e. the posterior median exp(mu) of z.
    """

    def decoder_input(self, z):
        return z.exp()


class GumbelLatent:
    """`dim` categorical variables with K categories each. h = logits (N, dim * K);
    q(c|x) = Categorical(softmax(h)), p(c) uniform.

    Training uses the Gumbel-softmax (Concrete) relaxation (Jang et al. 2017, eq. 1;
    Maddison et al. 2017): y_j = softmax((log pi_j + g_j) / tau), g_j = -log(-log u_j),
    u_j ~ U(0, 1) - a point of the simplex, one-hot as tau -> 0. KL(q(c|x) || p(c)) =
    sum_j pi_j log(pi_j K), the categorical KL, as in Jang et al.'s VAE. Generation and
    importance sampling use exact one-hot categories (the discrete model).
    """

    def __init__(self, dim: int, categories: int):
        self.dim, self.K = dim, categories
        self.code_dim = self.z_dim = dim * categories

    def _logits(self, h):
        return h.view(h.shape[0], self.dim, self.K).log_softmax(-1)

    def rsample(self, h, tau=1.0, noise=None):
        return gumbel_softmax(self._logits(h), tau, noise=noise).flatten(1)

    def decoder_input(self, z):
        return z

    def kl(self, h):
        logq = self._logits(h)
        return (logq.exp() * (logq + math.log(self.K))).flatten(1).sum(1)

    def mean(self, h):
        """The most probable category of each variable, one-hot."""
        return F.one_hot(self._logits(h).argmax(-1), self.K).to(h.dtype).flatten(1)

    def prior(self, n, device, generator=None, truncation=None):
        if truncation is not None:
            raise GenzooError("this VAE's prior is one-hot categorical (model.latent=gumbel): truncation has no "
                              "meaning for it; sample without --truncation (--mode random)")
        c = on_device(torch.randint, self.K, (n, self.dim), generator=generator, device=device)
        return F.one_hot(c, self.K).float().flatten(1)

    def importance_sample(self, h, k):
        logq = self._logits(h)                                              # (N, dim, K)
        c = torch.multinomial(logq.exp().flatten(0, 1), k, replacement=True)  # (N * dim, k)
        c = c.view(h.shape[0], self.dim, k).transpose(1, 2)                   # (N, k, dim)
        log_q = logq.unsqueeze(1).expand(-1, k, -1, -1).gather(-1, c.unsqueeze(-1)).squeeze(-1).sum(-1)
        z = F.one_hot(c, self.K).to(h.dtype).flatten(2)                       # (N, k, dim * K)
        return z, -self.dim * math.log(self.K) - log_q


Latent = Literal["gaussian", "lognormal", "gumbel"]


@dataclass
class VAEConfig:
    arch: Arch = "mlp"
    latent_dim: int = 20                    # Gaussian dims, or number of categorical variables (gumbel)
    hidden: tuple[int, ...] = (500,)        # Kingma & Welling 2014 used 500 hidden units on MNIST
    width: int = 32                         # conv channels
    fc_width: int = 0                       # conv: a fully connected layer of this width in both nets
    activation: Activation = "relu"
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"   # gaussian: a learned global variance
    binarize: Binarize = "dynamic"          # dynamic (x ~ Bernoulli(pixel)) | fixed (pixel > 0.5) | none
    beta: float = 1.0                       # weight of the KL term (beta-VAE)
    kl_warmup_steps: int = 0                # beta rises linearly from 0 over this many steps
    conditional: bool = False               # CVAE: labels y into encoder and decoder
    latent: Latent = "gaussian"
    categories: int = 10                    # gumbel: categories K of each categorical variable
    temperature: float = 1.0                # gumbel: initial tau
    temperature_min: float = 0.5            # gumbel: tau = max(tau_min, tau0 exp(-r t)) (Jang et al. 2017)
    anneal_rate: float = 3.0e-5             # gumbel: r
    anneal_every: int = 1000                # gumbel: tau is updated every N steps
    objective: Literal["elbo", "iwae"] = "elbo"   # elbo (averaged over k samples) | iwae (k-sample bound)
    k: int = 1                              # samples of z per example
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=1e-3))

    def validate(self) -> None:
        if self.beta < 0 or self.kl_warmup_steps < 0:
            raise ConfigError("model.beta and model.kl_warmup_steps must be >= 0")
        if self.fc_width < 0 or (self.fc_width and self.arch != "conv"):
            raise ConfigError(f"model.fc_width is a layer's width in the conv nets (0: none, needs model.arch=conv), "
                              f"got {self.fc_width} with model.arch={self.arch}")
        if self.k < 1 or self.latent_dim < 1 or self.categories < 2:
            raise ConfigError("model.k and model.latent_dim must be >= 1 and model.categories >= 2")
        if not 0 < self.temperature_min <= self.temperature or self.anneal_rate < 0 or self.anneal_every < 1:
            raise ConfigError("need 0 < model.temperature_min <= model.temperature, anneal_rate >= 0, anneal_every >= 1")
        if self.objective == "iwae" and self.latent == "gumbel":
            raise ConfigError("the IWAE bound needs a reparameterized density of z; the gumbel latent trains "
                              "the relaxed ELBO only (use model.objective=elbo)")


@register
class VAE(LatentModelMixin, Algorithm):
    """q(z|x) and p(x|z) networks trained on the ELBO (or the IWAE bound), p(z) from the latent family."""

    name = "vae"
    Config = VAEConfig

    def __init__(self, cfg: VAEConfig, data: DataSpec):
        super().__init__(cfg, data)
        if cfg.latent == "gumbel":
            self.latent = GumbelLatent(cfg.latent_dim, cfg.categories)
        else:
            self.latent = (LogNormalLatent if cfg.latent == "lognormal" else GaussianLatent)(cfg.latent_dim)
        if cfg.conditional and not data.num_classes:
            raise ValueError("a conditional VAE needs labelled data (a dataset with classes)")
        self.num_classes = data.num_classes if cfg.conditional else 0
        self.encoder, self.decoder = encoder_decoder(cfg.arch, data, self.latent.code_dim, self.latent.z_dim,
                                                     cfg.hidden, cfg.width, cfg.activation, self.num_classes,
                                                     cfg.fc_width)
        if cfg.likelihood == "gaussian":
            self.log_var_x = nn.Parameter(torch.zeros(()))

    @property
    def latent_dim(self) -> int:
        """Size of the protocol z of `generate` (for gumbel: variables x categories, one-hot blocks)."""
        return self.latent.z_dim

    def configure_optimizers(self):
        return {"vae": self.cfg.optim.build(self.parameters())}

    # ------------------------------------------------------------------ pieces
    def binarize(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.binarize == "dynamic":
            return torch.bernoulli(x)
        if self.cfg.binarize == "fixed":
            return (x > 0.5).to(x.dtype)
        return x

    def _labels(self, y):
        if not self.num_classes:
            return None
        if y is None:
            raise ValueError("this VAE is conditional: pass labels y")
        return y

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The parameters h of q(z|x[,y]) (Gaussian: [mu, log sigma^2]; gumbel: logits)."""
        return self.encoder(x, self._labels(y))

    def encode_mean(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.latent.mean(self.encode(x, y))

    def decoder_out(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Decoder logits (Bernoulli) or means (Gaussian) at protocol z."""
        return self.decoder(self.latent.decoder_input(z), self._labels(y))

    def log_likelihood(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per example, from the decoder's output (logits or means)."""
        if self.cfg.likelihood == "bernoulli":
            return bernoulli_log_likelihood(out, x)
        return gaussian_log_likelihood(out, x, self.log_var_x)

    def beta_at(self, step: int) -> float:
        warm = self.cfg.kl_warmup_steps
        return self.cfg.beta * (min(1.0, step / warm) if warm else 1.0)

    def temperature_at(self, step: int) -> float:
        """Gumbel-softmax tau = max(tau_min, tau0 exp(-r t)), t rounded down to a multiple of anneal_every."""
        c = self.cfg
        t = (step // c.anneal_every) * c.anneal_every
        return max(c.temperature_min, c.temperature * math.exp(-c.anneal_rate * t))

    @staticmethod
    def _repeat(t: torch.Tensor | None, k: int) -> torch.Tensor | None:
        """(N, ...) -> (N * k, ...), each example k times in a row."""
        return t if t is None or k == 1 else t.repeat_interleave(k, dim=0)

    # ------------------------------------------------------------------ objectives
    def elbo_terms(self, x, y=None, *, k: int = 1, tau: float | None = None, noise=None):
        """(E_q log p(x|z) averaged over k reparameterized samples, KL(q(z|x) || p(z))), each (N,)."""
        h = self.encode(x, y)
        z = self.latent.rsample(self._repeat(h, k), tau if tau is not None else self.cfg.temperature_min, noise)
        rec = self.log_likelihood(self.decoder_out(z, self._repeat(y, k)), self._repeat(x, k))
        return rec.view(-1, k).mean(1), self.latent.kl(h)

    def elbo(self, x: torch.Tensor, y: torch.Tensor | None = None, *, noise=None) -> torch.Tensor:
        """The ELBO per example (beta = 1, one sample of z; `noise` fixes it: eps for the Gaussian
        families, the uniforms u of the Gumbel noise for gumbel at tau = temperature_min):

            L(x) = E_{q(z|x)} log p(x|z) - KL(q(z|x) || p(z))   (Kingma & Welling 2014, eq. 3)
        """
        rec, kl = self.elbo_terms(x, y, noise=noise)
        return rec - kl

    def log_importance_weights(self, x: torch.Tensor, k: int, y: torch.Tensor | None = None,
                               beta: float = 1.0) -> torch.Tensor:
        """log w_i = log p(x|z_i) + beta (log p(z_i) - log q(z_i|x)) for k samples z_i ~ q(z|x): shape (N, k).

        With beta = 1, logsumexp_i(log w_i) - log k is the IWAE bound (Burda et al. 2016, eq. 8)
        and, for large k, the importance-sampled estimate of log p(x).
        """
        h = self.encode(x, y)
        n = h.shape[0]
        z, log_ratio = self.latent.importance_sample(h, k)
        out = self.decoder_out(z.reshape(n * k, -1), self._repeat(y, k))
        x_rep = x.unsqueeze(1).expand(n, k, *x.shape[1:]).reshape(n * k, *x.shape[1:])
        return self.log_likelihood(out, x_rep).view(n, k) + beta * log_ratio

    def iwae_bound(self, x: torch.Tensor, k: int, y: torch.Tensor | None = None) -> torch.Tensor:
        """L_k(x) = E log (1/k) sum_i p(x, z_i) / q(z_i|x), one draw of the k samples, per example.
        L_1 is the ELBO; L_k <= L_{k+1} <= log p(x) in expectation (Burda et al. 2016, theorem 1)."""
        return torch.logsumexp(self.log_importance_weights(x, k, y), dim=1) - math.log(k)

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Maximize the ELBO (Kingma & Welling 2014, eq. 10) with the reparameterization trick:

            L(x) = E_{q(z|x)} log p(x|z) - beta KL(q(z|x) || p(z)),   z = mu(x) + sigma(x) * eps,  eps ~ N(0, I)

        (gumbel: z = softmax((log pi + g) / tau)); or, with objective=iwae, the k-sample bound
            L_k(x) = log (1/k) sum_i p(x|z_i) [p(z_i) / q(z_i|x)]^beta,  z_i ~ q(z|x)   (Burda et al. 2016).
        """
        x = self.binarize(batch.x)
        y = batch.y if self.num_classes else None
        beta = self.beta_at(step)
        logs = {}
        if self.cfg.objective == "iwae":
            lw = self.log_importance_weights(x, self.cfg.k, y, beta=beta)
            bound = torch.logsumexp(lw, dim=1) - math.log(self.cfg.k)
            loss = -bound.mean()
            logs["iwae"] = loss.detach().neg()
        else:
            tau = self.temperature_at(step)
            rec, kl = self.elbo_terms(x, y, k=self.cfg.k, tau=tau)
            loss = -(rec - beta * kl).mean()
            logs.update(elbo=(rec - kl).mean().detach(), kl=kl.mean().detach())
            if self.cfg.latent == "gumbel":
                logs["tau"] = tau
        opt.step("vae", loss)
        return {"loss": loss.detach(), **logs}

    # ------------------------------------------------------------------ generation
    def prior(self, n: int, *, generator: torch.Generator | None = None, truncation: float | None = None) -> torch.Tensor:
        """n draws of the protocol z ~ p(z); truncation=b: of N(0, I) truncated to |z_i| <= b (Gaussian families)."""
        return self.latent.prior(n, self.device, generator, truncation)

    def describe_prior(self) -> dict:
        """One-hot categories for the gumbel latent, else N(0, I)."""
        if isinstance(self.latent, GumbelLatent):
            return {"kind": "categorical", "variables": self.latent.dim, "categories": self.latent.K}
        return super().describe_prior()

    @property
    def likelihood(self) -> str:
        """The family of p(x|z): "bernoulli" or "gaussian" (genzoo.models.capabilities.ImportanceWeighted)."""
        return self.cfg.likelihood

    @torch.no_grad()
    def latent_sample(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """One z ~ q(z|x) as the decoder receives it (log-normal: positive; gumbel: on the simplex)."""
        return self.latent.decoder_input(self.latent.rsample(self.encode(x, y), self.cfg.temperature_min))

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The mean of p(x | z[, y]): Bernoulli probabilities or Gaussian means."""
        out = self.decoder_out(z, y)
        return torch.sigmoid(out) if self.cfg.likelihood == "bernoulli" else out

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator=None) -> torch.Tensor:
        """x = E[p(x | z, y)], z ~ p(z); conditional: y = cond, or the classes in turn."""
        return self.generate(self.prior(n, generator=generator), self.class_labels(n, cond))

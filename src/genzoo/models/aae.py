"""Adversarial autoencoders (Makhzani et al. 2015, arXiv:1511.05644).

An autoencoder whose code distribution q(z) = E_x q(z|x) is matched to a prior p(z) by a GAN
played in code space: a discriminator tells prior samples from codes, and the encoder, as the
generator, learns to fool it. Each training step has the paper's phases, in order:

  1. reconstruction:  encoder and decoder descend the reconstruction error of x;
  2. regularization:  the discriminator(s) learn to tell p(z) from q(z) (then) the encoder
                      learns to fool them (non-saturating generator cost);
  3. supervised (semi-supervised mode): the encoder's q(y|x) descends the cross-entropy on a
                      minibatch of the labelled examples.

Modes (model.mode):
- "unsupervised": a deterministic code z with prior Gaussian, mixture of 10 Gaussians or
  swiss roll (model.prior); with model.prior_labels the discriminator also sees a one-hot label
  (one extra class for "unlabelled"), so labelled codes go to their own mixture component or
  swiss-roll segment (the paper's section 2.3, Fig. 4);
- "semi": codes (y, z): y = softmax categorical over the classes, z a Gaussian style; two
  discriminators (categorical and Gaussian); the supervised phase uses only `labels` labelled
  examples (section 5, Table 2);
- "cluster": the same network with `clusters` categories and no labels (section 6).

model.label_shear = a > 0 and model.label_shift = p > 0 (genzoo's additions, not the paper's, and not
permutation invariant): the supervised phase shears each labelled image by a random s ~ U(-a, a)
columns per row and moves it by whole pixels dx, dy ~ U{-p, ..., p}, so that ten examples of a class
cannot teach the classifier a slant or a position they happen to share.

model.ema = b > 0 (genzoo's addition, not the paper's): after every step the encoder's moving
average theta' <- b theta' + (1 - b) theta is updated, and `classify` reads q(y|x) from it.

Labelled examples (model.labels = N): the first N/K examples of each class in the run's data
order (a pure function of train.seed) are copied into buffers the first time they are seen and
are the only labels the algorithm ever uses; they are saved with the checkpoints.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..losses import d_loss_minimax, g_loss_non_saturating
from ..nets import mlp
from ..nets.layers import Activation, Norm1d, moving_average_copy, update_moving_average
from ..nets.random import on_device, standard_normal
from ..nets.mlp import MLPDecoder, MLPEncoder
from .latent import LatentModelMixin
from .base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, check_ema_decay, register

# --------------------------------------------------------------------------------------------
# Priors (the 2-D ones follow the paper's figures; in d > 2 dims each pair of dims is an
# independent draw from the same component)
# --------------------------------------------------------------------------------------------


def _pairs(dim: int, what: str) -> int:
    if dim % 2:
        raise ValueError(f"the {what} prior needs an even latent_dim (pairs of dimensions), got {dim}")
    return dim // 2


def _components(n: int, k: int, labels, device, generator) -> torch.Tensor:
    if labels is None:
        return on_device(torch.randint, k, (n,), generator=generator, device=device)
    return torch.as_tensor(labels, device=device).long()


def gaussian_mixture_prior(n: int, dim: int = 2, components: int = 10, labels=None, *, radius: float = 1.4,
                           std_radial: float = 0.5, std_tangential: float = 0.05, truncation: float | None = None,
                           generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """A mixture of `components` 2-D Gaussians placed evenly on a circle (Makhzani et al. 2015, Fig. 2, 4).

    Component c has its mean at radius * (cos a_c, sin a_c), a_c = 2 pi c / components, and is
    elongated along its radius: std_radial along it, std_tangential across it. Equal weights;
    `labels` (n,) picks the components instead of drawing them uniformly. Shape (n, dim).
    truncation=b: each component's Gaussian truncated to b of its standard deviations on both axes.
    """
    pairs = _pairs(dim, "mixture")
    c = _components(n, components, labels, device, generator)
    a = (2 * math.pi / components) * c.float().unsqueeze(1)                      # (n, 1)
    noise = lambda: standard_normal(n, pairs, truncation=truncation, generator=generator, device=device)  # noqa: E731
    r = radius + std_radial * noise()
    t = std_tangential * noise()
    x = r * torch.cos(a) - t * torch.sin(a)
    y = r * torch.sin(a) + t * torch.cos(a)
    return torch.stack([x, y], dim=2).flatten(1)


def swiss_roll_prior(n: int, dim: int = 2, segments: int = 10, labels=None, *, truncation: float | None = None,
                     generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """A 2-D swiss roll (Makhzani et al. 2015, Fig. 4): u ~ U(0, 1) along the roll, r = 3 sqrt(u),
    angle 4 pi sqrt(u); the point (r cos angle, r sin angle). With `labels`, segment c of
    `segments` equal parts of u: u ~ U(c / segments, (c + 1) / segments). Shape (n, dim).

    truncation=b: the roll has no tails to cut, so each draw keeps to the middle of its segment
    (drawn uniformly, or `labels`): the central fraction erf(b / sqrt 2) of it, the mass that
    truncating N(0, 1) at b keeps.
    """
    pairs = _pairs(dim, "swiss roll")
    u = on_device(torch.rand, n, pairs, generator=generator, device=device)
    if truncation is not None:
        kept = math.erf(truncation / math.sqrt(2))
        c = _components(n, segments, labels, device, generator).float().unsqueeze(1)
        u = (c + 0.5 + kept * (u - 0.5)) / segments
    elif labels is not None:
        u = (u + _components(n, segments, labels, device, generator).float().unsqueeze(1)) / segments
    s = u.sqrt()
    r, angle = 3.0 * s, 4 * math.pi * s
    return torch.stack([r * torch.cos(angle), r * torch.sin(angle)], dim=2).flatten(1)


Prior = Literal["gaussian", "mixture", "swissroll"]
#: reconstruction costs; sigmoid-mse: squared error of a sigmoid output
ReconstructionLoss = Literal["bce", "mse", "sigmoid-mse"]
Mode = Literal["unsupervised", "semi", "cluster"]


@dataclass
class AAEConfig:
    mode: Mode = "unsupervised"
    latent_dim: int = 8                     # z (unsupervised) or the style z (semi, cluster)
    hidden: tuple[int, ...] = (1000, 1000)  # encoder widths (decoder mirrored), the paper's MNIST nets
    disc_hidden: tuple[int, ...] = (1000, 1000)
    activation: Activation = "relu"
    loss: ReconstructionLoss = "bce"        # bce (sigmoid decoder) | mse (linear) | sigmoid-mse
    prior: Prior = "gaussian"               # unsupervised mode
    prior_std: float = 1.0                  # gaussian prior (and the style prior) N(0, prior_std^2 I)
    components: int = 10                    # mixture components / swiss-roll segments (= classes with prior_labels)
    prior_labels: bool = False              # unsupervised: label-conditioned prior (D sees one-hot labels)
    labels: int | None = None               # labelled examples used (class-balanced); None = every label
    clusters: int = 16                      # cluster mode: categories of y
    input_noise: float = 0.0                # std of Gaussian noise added to the encoder's input in training
    disc_noise: float = 0.0                 # std of Gaussian noise added to every discriminator input (codes and prior)
    norm: Norm1d = None                     # normalization of the encoder's and decoder's hidden layers
    sup_batch: int = 100                    # semi: labelled minibatch of the supervised phase
    label_shear: float = 0.0                # semi: labelled images sheared by U(-a, a) columns per row (0: off)
    label_shift: int = 0                    # semi: labelled images moved by U{-p..p} pixels down and across (0: off)
    ema: float = 0.0                        # decay of a moving average of the encoder that `classify` uses (0: off)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=1e-3, betas=(0.5, 0.999)))
    d_optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=2e-4, betas=(0.5, 0.999)))
    g_optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=2e-4, betas=(0.5, 0.999)))
    s_optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=1e-3, betas=(0.5, 0.999)))

    @property
    def augments_labels(self) -> bool:
        """Whether the supervised phase shears or moves the labelled images."""
        return bool(self.label_shear or self.label_shift)

    def validate(self) -> None:
        if self.prior != "gaussian" and self.latent_dim % 2:
            raise ConfigError(f"the {self.prior} prior is 2-D: model.latent_dim must be even, got {self.latent_dim}")
        if self.labels is not None and self.labels < 1:
            raise ConfigError(f"model.labels must be a positive number of labelled examples, got {self.labels}")
        if self.prior_labels and self.mode != "unsupervised":
            raise ConfigError("model.prior_labels applies to mode=unsupervised (semi uses the categorical code)")
        if self.mode == "semi" and self.prior != "gaussian":
            raise ConfigError("mode=semi uses a categorical y and a Gaussian style z: leave model.prior=gaussian")
        if self.latent_dim < 1 or self.clusters < 2 or self.components < 1 or self.sup_batch < 1:
            raise ConfigError("model.latent_dim, model.components, model.sup_batch must be >= 1, model.clusters >= 2")
        if self.input_noise < 0 or self.disc_noise < 0 or self.prior_std <= 0:
            raise ConfigError("model.input_noise and model.disc_noise must be >= 0 and model.prior_std > 0")
        for key, what in (("label_shear", "shears"), ("label_shift", "moves")):
            value = getattr(self, key)
            if value < 0 or (value and self.mode != "semi"):
                raise ConfigError(f"model.{key} {what} the labelled images of mode=semi: it must be >= 0, and 0 "
                                  f"in mode={self.mode}; got {value}")
        check_ema_decay(self.ema)


def random_affine(images: torch.Tensor, max_shear: float = 0.0, max_shift: int = 0,
                  generator=None) -> torch.Tensor:
    """Each image (N, C, H, W) moved by whole pixels dx, dy ~ U{-max_shift, ..., max_shift} (right
    and down), then sheared horizontally about the centre row by s ~ U(-max_shear, max_shear)
    columns per row (s > 0 leans the top to the right); bilinear, zero outside."""
    n, _, h, w = images.shape
    s = (2 * torch.rand(n, device=images.device, generator=generator) - 1) * max_shear
    theta = torch.zeros(n, 2, 3, device=images.device, dtype=images.dtype)
    # output (col, row) reads input (col + s * row - dx, row - dy): in coordinates normalized to
    # [-1, 1] a row is 2 / h and a column 2 / w
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 1] = 1, s * h / w, 1
    if max_shift:
        dx, dy = torch.randint(-max_shift, max_shift + 1, (2, n), device=images.device, generator=generator)
        theta[:, 0, 2], theta[:, 1, 2] = -dx * 2 / w, -dy * 2 / h
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _disc(in_dim: int, hidden) -> nn.Module:
    return nn.Sequential(mlp(in_dim, hidden, 1, activation="relu"), nn.Flatten(0))


@register
class AAE(LatentModelMixin, Algorithm):
    """Encoder q(z|x) (deterministic), decoder p(x|z), discriminator(s) on codes. See the module docstring."""

    name = "aae"
    Config = AAEConfig
    moving_averages = ("encoder_ema",)

    def __init__(self, cfg: AAEConfig, data: DataSpec):
        super().__init__(cfg, data)
        needs_labels = cfg.mode == "semi" or cfg.prior_labels
        if needs_labels and not data.num_classes:
            raise ValueError(f"AAE mode={cfg.mode}{' with prior_labels' if cfg.prior_labels else ''} "
                             "needs labelled data (a dataset with classes)")
        if cfg.augments_labels and len(data.shape) != 3:
            raise ValueError(f"model.label_shear and model.label_shift transform images (C, H, W); this data "
                             f"set's examples have shape {tuple(data.shape)}: set both to 0")
        if cfg.prior_labels and data.num_classes != cfg.components:
            raise ValueError(f"prior_labels puts class c into component c: model.components must equal the "
                             f"number of classes ({data.num_classes})")
        # K: categories of the categorical code y (0 in unsupervised mode)
        self.K = {"unsupervised": 0, "semi": data.num_classes or 0, "cluster": cfg.clusters}[cfg.mode]
        self.num_classes = self.K if cfg.mode == "semi" else 0   # generate(z, cond): y = cond
        code = self.K + cfg.latent_dim
        self.encoder = MLPEncoder(data.dim, cfg.hidden, code, cfg.activation, norm=cfg.norm)
        self.decoder = MLPDecoder(code, tuple(reversed(cfg.hidden)), data.shape, cfg.activation, norm=cfg.norm)
        self.encoder_ema = moving_average_copy(self.encoder) if cfg.ema > 0 else None
        self.label_dim = (cfg.components + 1) if cfg.prior_labels else 0   # + the "unlabelled" class
        self.D = _disc(cfg.latent_dim + self.label_dim, cfg.disc_hidden)
        self.D_y = _disc(self.K, cfg.disc_hidden) if self.K else None
        # The labelled subset (semi with labels=N, or a label-conditioned prior with labels=N)
        n_lab = cfg.labels if (needs_labels and cfg.labels is not None) else 0
        self.register_buffer("lab_x", torch.zeros(n_lab, *data.shape))
        self.register_buffer("lab_y", torch.full((n_lab,), -1, dtype=torch.long))
        if n_lab:
            k = data.num_classes
            quota = torch.tensor([n_lab // k + (c < n_lab % k) for c in range(k)])
            self.register_buffer("lab_offset", torch.cumsum(quota, 0) - quota)
            self.register_buffer("lab_quota", quota)
            self.register_buffer("lab_count", torch.zeros(k, dtype=torch.long))

    def configure_optimizers(self):
        c = self.cfg
        disc = list(self.D.parameters()) + (list(self.D_y.parameters()) if self.D_y is not None else [])
        opts = {"ae": c.optim.build([*self.encoder.parameters(), *self.decoder.parameters()]),
                "D": c.d_optim.build(disc),
                "G": c.g_optim.build(self.encoder.parameters())}
        if c.mode == "semi":
            opts["sup"] = c.s_optim.build(self.encoder.parameters())
        return opts

    # ------------------------------------------------------------------ codes and priors
    def codes(self, x: torch.Tensor, averaged: bool = False) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(logits of q(y|x) or None, z); averaged: from the encoder's moving average (model.ema > 0)."""
        h = (self.encoder_ema if averaged and self.encoder_ema is not None else self.encoder)(x)
        return (h[:, :self.K], h[:, self.K:]) if self.K else (None, h)

    def _output(self, out: torch.Tensor) -> torch.Tensor:
        """The decoder's mean: sigmoid of its last layer for bce and sigmoid-mse, the layer itself for mse."""
        return out if self.cfg.loss == "mse" else torch.sigmoid(out)

    def _decode_logits(self, y_code: torch.Tensor | None, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z if y_code is None else torch.cat([y_code, z], dim=1))

    def prior(self, n: int, *, labels=None, generator: torch.Generator | None = None,
              truncation: float | None = None) -> torch.Tensor:
        """z ~ p(z) (unsupervised mode: the configured prior, component = labels when given;
        semi/cluster: the Gaussian style prior); truncation=b: that prior truncated (see each prior)."""
        c, d = self.cfg, self.cfg.latent_dim
        kw = {"truncation": truncation, "generator": generator, "device": self.device}
        if self.K or c.prior == "gaussian":
            return c.prior_std * standard_normal(n, d, **kw)
        if c.prior == "mixture":
            return gaussian_mixture_prior(n, d, c.components, labels, **kw)
        return swiss_roll_prior(n, d, c.components, labels, **kw)

    def describe_prior(self) -> dict:
        """N(0, prior_std^2 I) for the Gaussian prior; the mixture and the swiss roll by name only."""
        if self.cfg.prior != "gaussian":
            return {"kind": self.cfg.prior}
        std = float(self.cfg.prior_std)
        return {"kind": "normal", "mean": [0.0] * self.latent_dim, "std": [std] * self.latent_dim}

    def categorical_prior(self, n: int, generator=None) -> torch.Tensor:
        """y ~ Cat(1/K, ..., 1/K), one-hot: the prior of the categorical code."""
        c = on_device(torch.randint, self.K, (n,), generator=generator, device=self.device)
        return F.one_hot(c, self.K).float()

    # ------------------------------------------------------------------ labelled subset
    def _collect_labels(self, batch: Batch) -> None:
        """Fill the labelled buffers with the first unseen examples of each class that still needs some."""
        if not len(self.lab_y) or batch.y is None or int(self.lab_count.sum()) == len(self.lab_y):
            return
        for c in range(len(self.lab_quota)):
            need = int(self.lab_quota[c] - self.lab_count[c])
            if need <= 0:
                continue
            idx = (batch.y == c).nonzero().flatten()[:need]
            if len(idx):
                at = int(self.lab_offset[c] + self.lab_count[c])
                self.lab_x[at:at + len(idx)] = batch.x[idx]
                self.lab_y[at:at + len(idx)] = c
                self.lab_count[c] += len(idx)

    def labelled_batch(self, batch: Batch, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor] | None:
        """A labelled minibatch: the batch itself when every label may be used (labels=None), else up to
        n examples drawn from the labelled buffers (None while they are empty)."""
        if not len(self.lab_y):
            return (batch.x, batch.y) if batch.y is not None else None
        have = (self.lab_y >= 0).nonzero().flatten()
        if not len(have):
            return None
        pick = have[torch.randint(len(have), (n or self.cfg.sup_batch,), device=have.device)]
        return self.lab_x[pick], self.lab_y[pick]

    # ------------------------------------------------------------------ the phases
    def _noisy(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.cfg.input_noise * torch.randn_like(x) if self.cfg.input_noise else x

    def _judge(self, D: nn.Module, v: torch.Tensor) -> torch.Tensor:
        """D's logits for codes or prior samples v, with N(0, disc_noise^2) added to the code part
        (instance noise: blurs the two distributions alike, so D cannot win on fine detail alone);
        attached one-hot labels of a label-conditioned prior stay exact."""
        if not self.cfg.disc_noise:
            return D(v)
        d = v.shape[1] - self.label_dim if D is self.D else v.shape[1]
        noisy = v[:, :d] + self.cfg.disc_noise * torch.randn_like(v[:, :d])
        return D(torch.cat([noisy, v[:, d:]], 1))

    def reconstruction_phase(self, x: torch.Tensor, opt: Optimizers) -> torch.Tensor:
        """Encoder and decoder descend L(x, Dec(Enc(x))), summed over pixels: binary cross-entropy, or the
        Euclidean cost ||x - Dec(Enc(x))||^2 of a linear (mse) or sigmoid (sigmoid-mse) output.
        Semi/cluster: Dec reads [softmax(y logits), z]."""
        y_logits, z = self.codes(self._noisy(x))
        out = self._decode_logits(None if y_logits is None else y_logits.softmax(1), z)
        if self.cfg.loss == "bce":
            loss = F.binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            loss = (self._output(out) - x).pow(2)
        loss = loss.flatten(1).sum(1).mean()
        opt.step("ae", loss)
        return loss.detach()

    def _d_inputs(self, z: torch.Tensor, prior: torch.Tensor, batch: Batch):
        """With a label-conditioned prior: attach one-hot labels (class K = unlabelled) to codes and
        prior samples, and draw the labelled prior samples from their class's component."""
        if not self.label_dim:
            return z, prior
        unl = self.label_dim - 1
        n = len(z)
        lab = self.labelled_batch(batch, n // 2 if len(self.lab_y) else None)
        tag = torch.full((n,), unl, dtype=torch.long, device=z.device)
        if lab is not None and not len(self.lab_y):      # every label is available: the batch's own
            tag = lab[1]
            prior = self.prior(n, labels=tag)
        elif lab is not None:                            # a few labels: add a labelled minibatch
            xl, yl = lab
            z = torch.cat([z, self.codes(xl)[1]])
            prior = torch.cat([prior, self.prior(len(yl), labels=yl)])
            tag = torch.cat([tag, yl])
        one_hot = F.one_hot(tag, self.label_dim).to(z.dtype)
        return torch.cat([z, one_hot], 1), torch.cat([prior, one_hot], 1)

    def discriminator_phase(self, x: torch.Tensor, batch: Batch, opt: Optimizers) -> torch.Tensor:
        """D ascends log D(z') + log(1 - D(Enc(x))), z' ~ p(z) (and D_y on one-hot y' ~ Cat vs softmax q(y|x))."""
        with torch.no_grad():
            y_logits, z = self.codes(self._noisy(x))
        fake, real = self._d_inputs(z, self.prior(len(z)), batch)
        loss = d_loss_minimax(self._judge(self.D, real), self._judge(self.D, fake))
        if self.D_y is not None:
            loss = loss + d_loss_minimax(self._judge(self.D_y, self.categorical_prior(len(x))),
                                         self._judge(self.D_y, y_logits.softmax(1)))
        opt.step("D", loss)
        return loss.detach()

    def generator_phase(self, x: torch.Tensor, batch: Batch, opt: Optimizers) -> torch.Tensor:
        """The encoder, as the generator, descends -log D(Enc(x)) (non-saturating; and -log D_y(q(y|x)))."""
        y_logits, z = self.codes(self._noisy(x))
        fake, _ = self._d_inputs(z, torch.zeros_like(z), batch)
        loss = g_loss_non_saturating(self._judge(self.D, fake))
        if self.D_y is not None:
            loss = loss + g_loss_non_saturating(self._judge(self.D_y, y_logits.softmax(1)))
        opt.step("G", loss)
        return loss.detach()

    def supervised_phase(self, xl: torch.Tensor, yl: torch.Tensor, opt: Optimizers) -> torch.Tensor:
        """q(y|x) descends the cross-entropy -log q(y_l | x_l) on labelled examples (with
        model.label_shear = a or model.label_shift = p, on random_affine(x_l, a, p))."""
        if self.cfg.augments_labels:
            xl = random_affine(xl, self.cfg.label_shear, self.cfg.label_shift)
        y_logits, _ = self.codes(self._noisy(xl))
        loss = F.cross_entropy(y_logits, yl)
        opt.step("sup", loss)
        return loss.detach()

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Makhzani et al. 2015, section 2 (and 5): reconstruction, then regularization
        (discriminator, then encoder as generator), then (semi) the supervised phase."""
        self._collect_labels(batch)
        x = batch.x
        logs = {"rec_loss": self.reconstruction_phase(x, opt),
                "d_loss": self.discriminator_phase(x, batch, opt),
                "g_loss": self.generator_phase(x, batch, opt)}
        if self.cfg.mode == "semi":
            lab = self.labelled_batch(batch)
            logs["sup_loss"] = self.supervised_phase(*lab, opt) if lab is not None else float("nan")
        if self.encoder_ema is not None:
            update_moving_average(self.encoder_ema, self.encoder, self.cfg.ema, step)
        return logs

    # ------------------------------------------------------------------ use
    @property
    def classifies(self) -> bool:
        """Whether the model has a categorical code y (mode semi: classes; cluster: clusters)."""
        return self.K > 0

    @torch.no_grad()
    def class_probabilities(self, x: torch.Tensor, averaged: bool = True) -> torch.Tensor:
        """q(y|x), shape (N, K) (semi: the classes; cluster: the clusters); with model.ema > 0 from the
        moving average of the encoder unless averaged=False."""
        if not self.K:
            raise ValueError(f"q(y|x) needs model.mode=semi or cluster; this model's mode is {self.cfg.mode}")
        return self.codes(x, averaged)[0].softmax(1)

    def classify(self, x: torch.Tensor, averaged: bool = True) -> torch.Tensor:
        """argmax_y q(y|x) (semi: the class; cluster: the cluster)."""
        return self.class_probabilities(x, averaged).argmax(1)

    def encode_mean(self, x: torch.Tensor, y=None) -> torch.Tensor:
        """The code z (semi/cluster: the style z; the class is `classify`)."""
        return self.codes(x)[1]

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        """Dec(z) (semi/cluster: Dec([one-hot y, z]), y given or the classes in turn)."""
        y_code = None
        if self.K:
            y = y if y is not None else torch.arange(len(z), device=z.device) % self.K
            y_code = F.one_hot(y.long(), self.K).to(z.dtype)
        out = self._decode_logits(y_code, z)
        return self._output(out)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y=None) -> torch.Tensor:
        """Dec(Enc(x)) (semi/cluster: Dec([softmax q(y|x), z]), as in training)."""
        y_logits, z = self.codes(x)
        out = self._decode_logits(None if y_logits is None else y_logits.softmax(1), z)
        out = self._output(out)
        return out.clamp(0, 1) if self.data.kind == "image" else out

    @property
    def cond_values(self) -> int:
        """`cond` picks the class (semi), the cluster (cluster) or the prior's component (prior_labels)."""
        return self.K or (self.cfg.components if self.cfg.prior_labels else 0)

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator=None) -> torch.Tensor:
        """x = Dec(z), z ~ p(z); `cond` picks the class (semi) or the prior component (prior_labels)."""
        if self.K:
            y = (torch.arange(n, device=self.device) % self.K if cond is None
                 else torch.as_tensor(cond, device=self.device).long().expand(n))
            return self.generate(self.prior(n, generator=generator), y)
        labels = None if cond is None else torch.as_tensor(cond, device=self.device).long().expand(n)
        return self.generate(self.prior(n, labels=labels, generator=generator))

"""Text to image: GAN-INT-CLS (Reed et al. 2016) and StackGAN (Zhang et al. 2017).

Both learn from captioned images (data kind "captioned", e.g. mnist-captions: batch.x the images
in [0, 1], batch.y the captions' token ids) in two phases, as the papers do:

1. Text encoder (the first text.steps steps): a word GRU phi(t) and an image encoder theta(v)
   trained with the symmetric matching loss (losses.symmetric_matching_loss), so that phi
   places a caption near the images it describes. Then phi is frozen: the GAN phases read
   phi(t) without gradients (Reed et al. pre-train their char-CNN-RNN and keep it fixed).
   With model.text.spatial, phi(t) is a text map M(t), one vector per region of
   the canvas read from the words by attention, matched against the image's own region map
   (word-region matching, as AttnGAN's DAMSM); G draws each region from its part of the map
   and D scores the match region by region (nets.text.SpatialTextEncoder).
2. The conditional game on phi(t):
   - gan-int-cls: G(z, phi(t)) with a matching-aware D(x, phi(t)) (three terms, Algorithm 1 of
     Reed et al.), and GAN-INT: G also learns from interpolated embeddings
     beta phi(t1) + (1 - beta) phi(t2), which no real image has (eq. 5).
     model.discriminator=plain is the paper's GAN baseline (D without the mismatched text).
   - stackgan: conditioning augmentation c ~ N(mu(phi), sigma(phi)^2) with the KL penalty;
     Stage I G0(z, c0) at low resolution against D0 for stage1_steps steps, then Stage II
     G1(s0, c) at the canvas size, taking Stage I's image s0 (Stage I frozen), against D1.

Images are in [-1, 1] inside the nets (tanh outputs), [0, 1] outside. `sample(n, cond=captions)`
generates for a list of captions (or token ids); with no captions, a grid of GRID_CAPTIONS, one
row per caption.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..data.captions import MAX_LEN, VOCAB, encode, with_digits_swapped, with_other_digits
from ..errors import ConfigError
from ..losses import (d_loss_matching_aware, d_loss_minimax, g_loss_non_saturating, gaussian_kl, mode_seeking_loss,
                      symmetric_matching_loss)
from ..nets import DCGANGenerator
from ..nets.layers import moving_average_copy, update_moving_average
from ..nets.text import (ImageEncoder, RegionEncoder, SpatialConditionalGenerator, SpatialTextDiscriminator,
                         SpatialTextEncoder, Stage2Generator, TextConditionedDiscriminator, TextEncoder)
from ..nets.random import eval_mode, on_device, standard_normal
from .base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, check_ema_decay, register

#: the captions of a sample grid when none are given (one row each)
GRID_CAPTIONS = ("the digit 0 is at the top left", "a small 1 is at the top right", "a big 2 is above a small 3",
                 "a small 4 is below a big 5", "a big 6 is to the left of a big 7",
                 "a small 8 is to the right of a small 9", "a big 3 is at the bottom left",
                 "a small 7 is above a small 1")


@dataclass
class TextEncoderConfig:
    """The text encoder phi(t) and its pre-training against an image encoder theta(v)."""

    steps: int = 500                  # pre-training steps of the matching objective; phi is frozen after
    embed_dim: int = 128              # size of phi(t) (Reed et al.: 1024 for birds and flowers)
    temperature: float = 0.1          # tau of the softmax over the batch's captions / images
    swapped_negatives: bool = False   # each image also scores its caption with the two digits swapped (not the paper's)
    spatial: bool = False             # phi(t) a map of the canvas's regions, embed_dim per region (not the paper's)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=1e-3))

    def validate(self) -> None:
        if self.steps < 1 or self.embed_dim < 1 or self.temperature <= 0:
            raise ConfigError("model.text.steps and model.text.embed_dim must be >= 1 and model.text.temperature > 0")


def check_share(key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{key} is a share between 0 and 1, got {value}")


def matching_vector(e: torch.Tensor) -> torch.Tensor:
    """An embedding as the matching loss reads it: a text or image map flattened to one unit vector."""
    return F.normalize(e.flatten(1), dim=1) if e.dim() > 2 else e


def _per_example(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values (N,) shaped to broadcast over each example of `like` (a vector per example, or a map)."""
    return values.view(-1, *[1] * (like.dim() - 1))


def _check_data(name: str, data: DataSpec) -> None:
    if data.kind != "captioned" or not data.vocab_size:
        raise ValueError(f"{name} learns from captioned images (e.g. --data mnist-captions), not '{data.kind}' data")
    if data.vocab_size != len(VOCAB):
        raise ValueError(f"{name} reads the mnist-captions vocabulary ({len(VOCAB)} words); the data have "
                         f"{data.vocab_size}")


class _TextToImage(Algorithm):
    """What both models share: the text encoder's phase, text <-> embeddings, the data <-> net mapping."""

    def __init__(self, cfg, data: DataSpec):
        super().__init__(cfg, data)
        _check_data(self.name, data)
        if cfg.text.spatial:
            c, h, w = data.shape
            if h != w or h % 8:
                raise ValueError(f"model.text.spatial maps a square canvas whose side is a multiple of 8; the data "
                                 f"are {h}x{w}")
            self.text_encoder = SpatialTextEncoder(data.vocab_size, cfg.text.embed_dim, h // 4)
            self.image_encoder = RegionEncoder(c, cfg.text.embed_dim)
        else:
            self.text_encoder = TextEncoder(data.vocab_size, cfg.text.embed_dim)
            self.image_encoder = ImageEncoder(data.shape, cfg.text.embed_dim)

    def text_step(self, batch: Batch, opt: Optimizers) -> dict:
        """Phase 1: descend the symmetric matching loss of theta(v) and phi(t) on the minibatch's pairs
        (with model.text.swapped_negatives, each image's caption with its two digits swapped is one more
        caption it must score below its own). Maps (model.text.spatial) are matched as flattened unit vectors,
        so F(v, t) = sum over regions of the image's and the caption's vectors there."""
        hard = valid = None
        if self.cfg.text.swapped_negatives:
            swapped = with_digits_swapped(batch.y)
            hard, valid = matching_vector(self.text_encoder(swapped)), (swapped != batch.y).any(1)
        loss = symmetric_matching_loss(matching_vector(self.image_encoder(self.to_net(batch.x))),
                                       matching_vector(self.text_encoder(batch.y)), self.cfg.text.temperature, hard, valid)
        opt.step("text", loss)
        return {"match_loss": loss.detach()}

    def update_average(self, average: nn.Module | None, G: nn.Module, gan_step: int) -> None:
        """average <- its update toward G at the GAN's (or the stage's) step gan_step; nothing without one."""
        if average is not None:
            update_moving_average(average, G, self.cfg.ema, gan_step)

    def text_optimizer(self) -> torch.optim.Optimizer:
        return self.cfg.text.optim.build([*self.text_encoder.parameters(), *self.image_encoder.parameters()])

    @torch.no_grad()
    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """phi(t) of the frozen text encoder, (N, embed_dim), or its map (N, embed_dim, S, S) (model.text.spatial)."""
        return self.text_encoder(tokens.to(self.device))

    def mismatched(self, h: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """h^ = phi(t^): each example gets the next example's caption (another image's, as Reed et al.), or with
        probability model.hard_mismatch its own caption with its digits changed: the same layout with other
        digits or, for half of the captions with two different digits, with the two digits swapped."""
        wrong = h.roll(1, dims=0)
        if self.cfg.hard_mismatch > 0:
            hard = torch.rand(len(h), device=h.device) < self.cfg.hard_mismatch
            other, swapped = with_other_digits(tokens), with_digits_swapped(tokens)
            swap = (torch.rand(len(h), device=h.device) < 0.5) & (swapped != tokens).any(1)
            changed = torch.where(swap[:, None], swapped, other)
            wrong = torch.where(_per_example(hard, h), self.embed(changed), wrong)
        return wrong

    @staticmethod
    def to_net(x: torch.Tensor) -> torch.Tensor:
        return x * 2 - 1

    @staticmethod
    def from_net(x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2).clamp(0, 1)

    def tokens(self, n: int, cond=None) -> torch.Tensor:
        """Token ids (n, L) for `cond`: captions (a string or a list), token ids, or None (GRID_CAPTIONS,
        caption r on row r of a sqrt(n)-wide grid). Fewer captions than n are repeated in turn."""
        if cond is None:
            cols = math.ceil(math.sqrt(n))
            cond = [GRID_CAPTIONS[(i // cols) % len(GRID_CAPTIONS)] for i in range(n)]
        if isinstance(cond, str):
            cond = [cond]
        tokens = cond if torch.is_tensor(cond) else encode(list(cond), MAX_LEN)
        if len(tokens) == 0:
            raise ValueError("give at least one caption")
        return tokens[torch.arange(n) % len(tokens)].to(self.device)

    def generate_from_embedding(self, h: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images in [0, 1] for text embeddings h (N, embed_dim), with fresh noise."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images for captions `cond` (see `tokens`)."""
        with eval_mode(self):
            return self.generate_from_embedding(self.embed(self.tokens(n, cond)), generator)

    @torch.no_grad()
    def interpolate_text(self, first: str, second: str, rows: int = 4, cols: int = 8,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """(rows * cols) images: row r keeps its noise, column j the embedding (1 - b) phi(first) + b phi(second),
        b = j / (cols - 1) (Reed et al. 2016, Figure 8: interpolating between two sentences)."""
        h = self.embed(self.tokens(2, [first, second]))
        beta = _per_example(torch.linspace(0, 1, cols, device=self.device), h)
        path = (1 - beta) * h[0] + beta * h[1]
        seeds = torch.randint(2 ** 62, (rows,), generator=generator, device=generator.device if generator else None)
        images = []
        with eval_mode(self):
            for seed in seeds.tolist():  # the same seed for every column of a row: the same noise
                images += [self.generate_from_embedding(path[j:j + 1], torch.Generator(self.device).manual_seed(seed))
                           for j in range(cols)]
        return torch.cat(images)


# ----------------------------------------------------------------------------------- GAN-INT-CLS


@dataclass
class GanIntClsConfig:
    latent_dim: int = 100             # z ~ N(0, I)
    projected_dim: int = 128          # phi(t) is compressed to this by a linear layer + LeakyReLU (G and D)
    discriminator: Literal["matching-aware", "plain"] = "matching-aware"   # GAN-CLS | the GAN baseline
    interpolation: float = 1.0        # weight of GAN-INT's term in G's loss (0: off)
    mode_seeking: float = 0.0         # weight of Mao et al. 2019's mode-seeking term in G's loss (0: off, the paper's)
    hard_mismatch: float = 0.0        # share of mismatched texts that are the caption with other digits (0: the paper's)
    beta: float = 0.5                 # the interpolation beta phi(t1) + (1 - beta) phi(t2) (eq. 5)
    width: int = 64                   # DCGAN widths of G and D
    ema: float = 0.0                  # decay of the generator's exponential moving average (0: off; e.g. 0.999)
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=2e-4, betas=(0.5, 0.999)))

    def validate(self) -> None:
        if self.latent_dim < 1 or self.projected_dim < 1 or self.width < 1:
            raise ConfigError("model.latent_dim, model.projected_dim and model.width must be >= 1")
        check_share("model.hard_mismatch", self.hard_mismatch)
        check_ema_decay(self.ema)
        if self.interpolation < 0 or self.mode_seeking < 0 or not 0.0 <= self.beta <= 1.0:
            raise ConfigError(f"model.interpolation and model.mode_seeking must be >= 0 and model.beta in [0, 1], got "
                              f"{self.interpolation}, {self.mode_seeking} and {self.beta}")
        self.text.validate()


class ConditionalGenerator(nn.Module):
    """G(z, phi(t)) = DCGAN generator on [z, LeakyReLU(W phi(t))] (Reed et al. 2016, sec. 4.1)."""

    def __init__(self, latent_dim: int, text_dim: int, projected_dim: int, image_shape, width: int):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(text_dim, projected_dim), nn.LeakyReLU(0.2))
        self.net = DCGANGenerator(latent_dim + projected_dim, image_shape, width=width)

    def forward(self, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.project(h)], 1))


@register
class GanIntCls(_TextToImage):
    """GAN-INT-CLS: a text-conditional DCGAN with a matching-aware discriminator and interpolated texts."""

    name, Config = "gan-int-cls", GanIntClsConfig
    moving_averages = ("G_ema",)

    def __init__(self, cfg: GanIntClsConfig, data: DataSpec):
        super().__init__(cfg, data)
        text, projected = cfg.text.embed_dim, cfg.projected_dim   # phi(t)'s size, and its compressed size
        if cfg.text.spatial:   # phi(t) a map: its regions go where they describe (no compression to projected_dim)
            c, regions = data.shape[0], self.text_encoder.size
            self.G = SpatialConditionalGenerator(cfg.latent_dim, text, c, regions, cfg.width)
            self.D = SpatialTextDiscriminator(c, text, regions, cfg.width)
        else:
            self.G = ConditionalGenerator(cfg.latent_dim, text, projected, data.shape, cfg.width)
            self.D = TextConditionedDiscriminator(data.shape, text, cfg.width, projected)
        self.G_ema = moving_average_copy(self.G) if cfg.ema > 0 else None

    def configure_optimizers(self):
        return {"text": self.text_optimizer(), "D": self.cfg.optim.build(self.D.parameters()),
                "G": self.cfg.optim.build(self.G.parameters())}

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return standard_normal(n, self.cfg.latent_dim, generator=generator, device=self.device)

    def d_loss(self, s_r: torch.Tensor, s_w: torch.Tensor | None, s_f: torch.Tensor) -> torch.Tensor:
        """GAN-CLS's three terms, or the plain GAN's two (s_w unused)."""
        if self.cfg.discriminator == "plain":
            return d_loss_minimax(s_r, s_f)
        return d_loss_matching_aware(s_r, s_w, s_f)

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Reed et al. 2016, Algorithm 1 (GAN-CLS) with GAN-INT, after the text encoder's phase:

            h = phi(t), h^ = phi(t^) (mismatched text), z ~ N(0, I), x^ = G(z, h)
            s_r = D(x, h), s_w = D(x, h^), s_f = D(x^, h)
            D: descend -log s_r - 1/2 [log(1 - s_w) + log(1 - s_f)]
            G: descend -log D(G(z, h), h) - lambda log D(G(z', h_int), h_int) + mu L_ms,
               h_int = beta h + (1 - beta) h'   (GAN-INT, eq. 5; h' another image's caption;
                                              lambda = model.interpolation)
               L_ms = 1 / (|G(z, h) - G(z2, h)| / |z - z2| + eps) on the batch's first half
                      (mode seeking, Mao et al. 2019; mu = model.mode_seeking, 0 in the paper)
            G_ema <- b G_ema + (1 - b) G   (model.ema > 0; sampling then uses G_ema;
                                            b = min(ema, (1 + t) / (10 + t)) at the GAN's step t)
        """
        if step < self.cfg.text.steps:
            return self.text_step(batch, opt)
        x, h = self.to_net(batch.x), self.embed(batch.y)
        plain = self.cfg.discriminator == "plain"   # the GAN baseline has no mismatched term to compute
        h_wrong = None if plain else self.mismatched(h, batch.y)
        z = self.prior(len(x))
        fake = self.G(z, h)
        s_r = self.D(x, h)
        s_w = None if plain else self.D(x, h_wrong)
        s_f = self.D(fake.detach(), h)
        d_loss = self.d_loss(s_r, s_w, s_f)
        opt.step("D", d_loss)
        g_loss = g_loss_non_saturating(self.D(fake, h))
        if self.cfg.interpolation > 0:
            h_int = self.cfg.beta * h + (1 - self.cfg.beta) * h.roll(1, dims=0)   # another image's caption
            g_loss = g_loss + self.cfg.interpolation * g_loss_non_saturating(self.D(self.G(self.prior(len(x)), h_int), h_int))
        if self.cfg.mode_seeking > 0:
            half = max(2, len(x) // 2)   # G's batch norm needs two samples
            z2 = self.prior(half)
            g_loss = g_loss + self.cfg.mode_seeking * mode_seeking_loss(fake[:half], self.G(z2, h[:half]), z[:half], z2)
        opt.step("G", g_loss)
        self.update_average(self.G_ema, self.G, step - self.cfg.text.steps)
        scores = {"s_r": s_r, "s_f": s_f} if plain else {"s_r": s_r, "s_w": s_w, "s_f": s_f}
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                **{name: torch.sigmoid(s).mean().detach() for name, s in scores.items()}}

    def generate_from_embedding(self, h, generator=None):
        G = self.G_ema if self.G_ema is not None else self.G
        return self.from_net(G(self.prior(len(h), generator), h))


# ----------------------------------------------------------------------------------- StackGAN


@dataclass
class StackGANConfig:
    latent_dim: int = 100             # z of Stage I (Stage II takes no z: s0 carries the randomness)
    c_dim: int = 128                  # N_g, the conditioning vector c ~ N(mu(phi), sigma(phi)^2)
    kl_weight: float = 1.0            # lambda of the KL(N(mu, sigma^2) || N(0, I)) penalty in G's loss
    hard_mismatch: float = 0.0        # share of mismatched texts that are the caption with other digits (0: the paper's)
    projected_dim: int = 128          # N_d: phi(t) compressed for the discriminators
    stage1_size: int = 16             # Stage I's resolution (the canvas is Stage II's)
    stage1_steps: int = 2000          # Stage I's steps after the text encoder's; Stage II trains after them
    width: int = 64                   # widths of the generators and discriminators
    n_residual: int = 2               # Stage II's residual blocks
    ema: float = 0.0                  # decay of both generators' exponential moving averages (0: off; e.g. 0.999)
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=2e-4, betas=(0.5, 0.999)))

    def validate(self) -> None:
        if min(self.latent_dim, self.c_dim, self.projected_dim, self.width, self.stage1_steps) < 1:
            raise ConfigError("model.latent_dim, c_dim, projected_dim, width and stage1_steps must be >= 1")
        check_share("model.hard_mismatch", self.hard_mismatch)
        check_ema_decay(self.ema)
        if self.kl_weight < 0 or self.n_residual < 0:
            raise ConfigError("model.kl_weight and model.n_residual must be >= 0")
        self.text.validate()


class ConditioningAugmentation(nn.Module):
    """c = mu(phi) + sigma(phi) * eps, eps ~ N(0, I) (Zhang et al. 2017, sec. 3.1); returns (c, mu, logvar).
    For a text map, region by region (a 1x1 conv): c is a map too."""

    def __init__(self, text_dim: int, c_dim: int, spatial: bool = False):
        super().__init__()
        layer = nn.Conv2d(text_dim, 2 * c_dim, 1) if spatial else nn.Linear(text_dim, 2 * c_dim)
        self.fc = nn.Sequential(layer, nn.LeakyReLU(0.2))

    def forward(self, h: torch.Tensor, generator: torch.Generator | None = None):
        mu, logvar = self.fc(h).chunk(2, dim=1)
        eps = on_device(torch.randn, mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + (0.5 * logvar).exp() * eps, mu, logvar


def conditioning_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """D_KL(N(mu(phi), Sigma(phi)) || N(0, I)), averaged over the batch (Zhang et al. 2017, eq. 3-5); for maps,
    each region's KL averaged over the regions, so that lambda weighs one region as the paper weighs one vector."""
    regions = mu[0, 0].numel() if mu.dim() == 4 else 1
    return gaussian_kl(mu, logvar).mean() / regions


class Stage1Generator(nn.Module):
    """G0(z, c0): DCGAN generator on [z, c0] at Stage I's resolution, with its own conditioning augmentation; with
    a text map of map_size x map_size regions, the spatial generator on z and the map c0."""

    def __init__(self, latent_dim: int, text_dim: int, c_dim: int, image_shape, width: int, map_size: int = 0):
        super().__init__()
        self.ca = ConditioningAugmentation(text_dim, c_dim, spatial=map_size > 0)
        self.spatial = map_size > 0
        self.net = (SpatialConditionalGenerator(latent_dim, c_dim, image_shape[0], map_size, width,
                                                image_size=image_shape[-1])
                    if self.spatial else DCGANGenerator(latent_dim + c_dim, image_shape, width=width))

    def forward(self, z: torch.Tensor, h: torch.Tensor, generator: torch.Generator | None = None):
        c, mu, logvar = self.ca(h, generator)
        return (self.net(z, c) if self.spatial else self.net(torch.cat([z, c], 1))), mu, logvar


class Stage2(nn.Module):
    """G1(s0, c): Stage II's conditioning augmentation and refining generator."""

    def __init__(self, text_dim: int, c_dim: int, channels: int, width: int, up: int, n_residual: int,
                 spatial: bool = False):
        super().__init__()
        self.ca = ConditioningAugmentation(text_dim, c_dim, spatial)
        self.net = Stage2Generator(channels, c_dim, width=width, down=1, up=1 + up, n_residual=n_residual)

    def forward(self, s0: torch.Tensor, h: torch.Tensor, generator: torch.Generator | None = None):
        c, mu, logvar = self.ca(h, generator)
        return self.net(s0, c), mu, logvar


@register
class StackGAN(_TextToImage):
    """StackGAN: conditioning augmentation, a low-resolution Stage I GAN, then a Stage II GAN that refines it."""

    name, Config = "stackgan", StackGANConfig
    moving_averages = ("G0_ema", "G1_ema")

    def __init__(self, cfg: StackGANConfig, data: DataSpec):
        super().__init__(cfg, data)
        c, size = data.shape[0], data.shape[-1]
        ratio = size // cfg.stage1_size
        if size % cfg.stage1_size or ratio & (ratio - 1) or ratio < 2 or data.shape[-2] != size:
            raise ValueError(f"model.stage1_size={cfg.stage1_size} must divide the square canvas ({size}) by a "
                             f"power of two >= 2 (e.g. {size // 2})")
        small = (c, cfg.stage1_size, cfg.stage1_size)
        e, regions = cfg.text.embed_dim, (self.text_encoder.size if cfg.text.spatial else 0)
        if regions and cfg.stage1_size != 2 * regions:
            raise ValueError(f"with model.text.spatial Stage I draws at half the canvas: set model.stage1_size="
                             f"{size // 2}")
        self.G0 = Stage1Generator(cfg.latent_dim, e, cfg.c_dim, small, cfg.width, regions)
        self.G1 = Stage2(e, cfg.c_dim, c, cfg.width, int(math.log2(ratio)), cfg.n_residual, spatial=regions > 0)
        if regions:   # D scores the map region by region, at Stage I's size and at the canvas's
            self.D0 = SpatialTextDiscriminator(c, e, regions, cfg.width, image_size=cfg.stage1_size)
            self.D1 = SpatialTextDiscriminator(c, e, regions, cfg.width)
        else:
            self.D0 = TextConditionedDiscriminator(small, e, cfg.width, cfg.projected_dim)
            self.D1 = TextConditionedDiscriminator(data.shape, e, cfg.width, cfg.projected_dim)
        self.G0_ema = moving_average_copy(self.G0) if cfg.ema > 0 else None
        self.G1_ema = moving_average_copy(self.G1) if cfg.ema > 0 else None

    def configure_optimizers(self):
        build = self.cfg.optim.build
        return {"text": self.text_optimizer(), "D0": build(self.D0.parameters()), "G0": build(self.G0.parameters()),
                "D1": build(self.D1.parameters()), "G1": build(self.G1.parameters())}

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return standard_normal(n, self.cfg.latent_dim, generator=generator, device=self.device)

    def downsample(self, x: torch.Tensor) -> torch.Tensor:
        """Real images at Stage I's resolution (area averaging)."""
        return F.adaptive_avg_pool2d(x, self.cfg.stage1_size)

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Zhang et al. 2017: the text encoder's phase, then Stage I (stage1_steps steps), then Stage II.

        Each stage i is a matching-aware GAN (Reed et al.) on conditioning augmentation:
            c ~ N(mu(phi(t)), Sigma(phi(t)))
            D_i: descend -log D_i(x_i, h) - 1/2 [log(1 - D_i(x_i, h^)) + log(1 - D_i(G_i(.), h))]
            G_i: descend -log D_i(G_i(.), h) + lambda KL(N(mu, Sigma) || N(0, I))
        Stage I: G0(z, c0) against D0 on real images at stage1_size. Stage II: G1(s0, c) with
        s0 = G0(z, c0) from the frozen Stage I (its moving average when model.ema > 0), against D1 on real canvases.
        With model.ema > 0 each stage keeps G_i_ema <- b G_i_ema + (1 - b) G_i, b = min(ema, (1 + t) / (10 + t))
        at the stage's step t, and samples come from the averages.
        """
        cfg = self.cfg
        if step < cfg.text.steps:
            return self.text_step(batch, opt)
        h = self.embed(batch.y)
        h_wrong = self.mismatched(h, batch.y)
        stage2_start = cfg.text.steps + cfg.stage1_steps
        if step < stage2_start:
            logs = self.stage_step(self.G0, self.D0, "0", self.downsample(self.to_net(batch.x)), h, h_wrong,
                                   lambda: self.G0(self.prior(len(h)), h), opt)
            self.update_average(self.G0_ema, self.G0, step - cfg.text.steps)
            return logs
        with torch.no_grad(), eval_mode(self.stage1):
            s0, _, _ = self.stage1(self.prior(len(h)), h)
        logs = self.stage_step(self.G1, self.D1, "1", self.to_net(batch.x), h, h_wrong, lambda: self.G1(s0, h), opt)
        self.update_average(self.G1_ema, self.G1, step - stage2_start)
        return logs

    @property
    def stage1(self) -> nn.Module:
        """Stage I's generator as sampling uses it: its moving average when there is one."""
        return self.G0_ema if self.G0_ema is not None else self.G0

    @property
    def stage2(self) -> nn.Module:
        """Stage II's generator as sampling uses it."""
        return self.G1_ema if self.G1_ema is not None else self.G1

    def stage_step(self, G, D, i: str, x, h, h_wrong, generate, opt: Optimizers) -> dict:
        """One D step and one G step of stage i (see train_step)."""
        fake, mu, logvar = generate()
        s_r, s_w, s_f = D(x, h), D(x, h_wrong), D(fake.detach(), h)
        d_loss = d_loss_matching_aware(s_r, s_w, s_f)
        opt.step(f"D{i}", d_loss)
        kl = conditioning_kl(mu, logvar)
        g_loss = g_loss_non_saturating(D(fake, h)) + self.cfg.kl_weight * kl
        opt.step(f"G{i}", g_loss)
        return {f"d{i}_loss": d_loss.detach(), f"g{i}_loss": g_loss.detach(), f"kl{i}": kl.detach()}

    def stage1_images(self, h: torch.Tensor, generator=None) -> torch.Tensor:
        """Stage I's images s0 in [-1, 1] at stage1_size for embeddings h."""
        return self.stage1(self.prior(len(h), generator), h, generator)[0]

    def generate_from_embedding(self, h, generator=None):
        return self.from_net(self.stage2(self.stage1_images(h, generator), h, generator)[0])

    @torch.no_grad()
    def sample_stage1(self, n: int, *, cond=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Stage I's images in [0, 1] at stage1_size (the same draws as `sample` makes before Stage II)."""
        with eval_mode(self):
            return self.from_net(self.stage1_images(self.embed(self.tokens(n, cond)), generator))

"""Image-to-image translation: pix2pix (Isola et al. 2017) and CycleGAN (Zhu et al. 2017).

Both learn a generator G: A -> B between two image domains. The data are pairs
(batch.x of shape (N, 2, C, H, W) in [0, 1]: x[:, 0] from domain A, x[:, 1] from domain B):
aligned pairs for pix2pix ("pair" data: B is the translation of A), any images of each
domain for CycleGAN ("unpaired" data; aligned pairs work too, their alignment is not used).
The nets see images in [-1, 1] and end in tanh, as in both papers.

- pix2pix: U-Net generator, conditional PatchGAN discriminator D(A, B) on the concatenated
  pair, cross-entropy GAN loss plus lambda * L1 to the target (lambda = 100).
- CycleGAN: two ResNet generators G: A -> B and F: B -> A, two PatchGAN discriminators,
  least-squares GAN loss, cycle consistency lambda * |F(G(a)) - a|_1 (+ the same for b,
  lambda = 10), an identity loss 0.5 * lambda * |G(b) - b|_1 (+ |F(a) - a|_1), and each D
  sees a history of 50 generated images (Shrivastava et al. 2017).

Both papers divide D's objective by 2 ("to slow down the rate at which D learns relative to
G", Isola et al. 2017, sec. 3.3); G's adversarial term is not halved. `TRANSLATION_LOSSES`
holds the two games in that form.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..losses import d_loss_least_squares, d_loss_minimax, g_loss_least_squares, g_loss_non_saturating
from ..nets.translation import PatchDiscriminator, ResnetGenerator, TranslationNorm, UNetGenerator
from .base import TRANSLATION_KINDS, Algorithm, Batch, DataSpec, OptimConfig, Optimizers, register

#: the data's pairs are (A, B); BtoA learns B -> A
Direction = Literal["AtoB", "BtoA"]
TranslationLossName = Literal["cross-entropy", "least-squares"]


class TranslationLoss(NamedTuple):
    """J(D) (already divided by 2) and G's adversarial term, both on D's raw outputs."""

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]


def _d_cross_entropy_halved(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """J(D) = 1/2 [-E log D(a, b) - E log(1 - D(a, G(a)))]   (Isola et al. 2017, eq. 1, halved)."""
    return 0.5 * d_loss_minimax(real, fake)


def _g_least_squares_unhalved(fake: torch.Tensor) -> torch.Tensor:
    """J(G) = E (D(G(a)) - 1)^2   (Zhu et al. 2017, sec. 4: LSGAN, with no factor 1/2 for G)."""
    return 2.0 * g_loss_least_squares(fake)


TRANSLATION_LOSSES: dict[TranslationLossName, TranslationLoss] = {
    # pix2pix: D's cross-entropy / 2; G maximizes log D(a, G(a)) (the non-saturating game)
    "cross-entropy": TranslationLoss(_d_cross_entropy_halved, g_loss_non_saturating),
    # CycleGAN: J(D) = 1/2 E (D(b) - 1)^2 + 1/2 E D(G(a))^2 (LSGAN's J(D) is already halved)
    "least-squares": TranslationLoss(d_loss_least_squares, _g_least_squares_unhalved),
}


@dataclass
class PatchGANConfig:
    """The PatchGAN discriminator: n_layers stride-2 convs (3: 70x70 patches, 1: 16x16); its
    normalization is the model's `norm`, as in both papers' code."""

    width: int = 64
    n_layers: int = 3


def _check_common(cfg) -> None:
    if cfg.discriminator.n_layers < 1:
        raise ConfigError(f"model.discriminator.n_layers must be >= 1, got {cfg.discriminator.n_layers}")


def _check_data(name: str, data: DataSpec, kinds: tuple[str, ...]) -> tuple[int, int, int]:
    """The shape (C, H, W) of one domain's images, or a clear error for data of the wrong kind."""
    if data.kind not in kinds:
        need = "aligned pairs of images" if kinds == ("pair",) else "two domains of images"
        sets = "mnist-edges or image-pairs" if kinds == ("pair",) else "mnist-bold, image-unpaired or any pair set"
        raise ValueError(f"{name} learns from {need} ({' or '.join(kinds)} data, e.g. {sets}), "
                         f"not from '{data.kind}' data; choose one with --data")
    return tuple(data.shape[1:])


class _Translation(Algorithm):
    """What pix2pix and CycleGAN share: the data <-> net mapping, translation, and sample grids."""

    data_kinds: tuple[str, ...] = TRANSLATION_KINDS

    def __init__(self, cfg, data: DataSpec):
        super().__init__(cfg, data)
        self.image_shape = _check_data(self.name, data, self.data_kinds)
        self.loss = TRANSLATION_LOSSES[cfg.loss]

    def domains(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The minibatch's (source, target) images in the nets' [-1, 1]."""
        source, target = self.source_and_target(batch.x)
        return source * 2 - 1, target * 2 - 1

    def patch_discriminator(self, in_channels: int) -> PatchDiscriminator:
        d = self.cfg.discriminator
        D = PatchDiscriminator(in_channels, width=d.width, n_layers=d.n_layers, norm=self.cfg.norm)
        D.check_input_size(*self.image_shape[1:])
        return D

    def _run(self, net: nn.Module, x: torch.Tensor, generator: torch.Generator | None, *,
             training: bool = False) -> torch.Tensor:
        """net(x) for images x in [0, 1], returning [0, 1]; without gradients, with net in training mode
        for the call if `training` (pix2pix's dropout at test time) and its mode restored after, and with
        the random stream seeded by `generator`, so a grid is reproducible and the training stream is
        untouched."""
        if not torch.is_tensor(x) or x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"{self.name} translates images shaped like its training data, (N, "
                             f"{', '.join(map(str, self.image_shape))}) floats in [0, 1]; got {shape}")
        x = x.to(self.device, torch.float32)
        was = net.training
        net.train(training)
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
                if generator is not None:
                    torch.manual_seed(int(torch.randint(2 ** 62, (1,), generator=generator, device=generator.device)))
                return ((net(x * 2 - 1) + 1) / 2).clamp(0, 1)
        finally:
            net.train(was)

    def translate(self, x: torch.Tensor, *, reverse: bool = False,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """Translate images x (N, C, H, W) in [0, 1] from the source domain to the target one
        (model.direction: AtoB by default); reverse=True goes back (CycleGAN only)."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, *, cond: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """A translation model draws nothing from a prior: it translates `cond`, n source images in [0, 1]."""
        if cond is None or not torch.is_tensor(cond) or cond.dim() != 4:
            raise ValueError(f"{self.name} translates images: pass cond=<source images, (N, C, H, W) in [0, 1]>, "
                             "or run `genzoo sample RUN`, which translates the test split")
        return self.translate(cond[:n], generator=generator)

    def translation_net(self) -> nn.Module:
        """The network of the configured direction, images in [-1, 1] to [-1, 1] (what export writes)."""
        raise NotImplementedError

    def example_rows(self, pairs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Rows for a sample grid from pairs (k, 2, C, H, W) in [0, 1]: (k, m, C, H, W), one row per pair."""
        raise NotImplementedError

    def source_and_target(self, pairs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pairs (k, 2, C, H, W) -> (source, target) images: (A, B), or (B, A) for model.direction=BtoA."""
        a, b = pairs[:, 0], pairs[:, 1]
        return (a, b) if self.cfg.direction == "AtoB" else (b, a)


# ----------------------------------------------------------------------------------- pix2pix


@dataclass
class Pix2PixConfig:
    loss: TranslationLossName = "cross-entropy"   # cross-entropy: the paper
    l1_weight: float = 100.0          # lambda of G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G) (eq. 4)
    gan_weight: float = 1.0           # the weight of L_cGAN in G's loss; 0 with l1_weight > 0: "L1 alone" (Table 1)
    direction: Direction = "AtoB"
    width: int = 64                   # U-Net channels of the first layer (C64-C128-...-C512)
    max_levels: int = 8               # U-Net depth: 8 halvings at 256x256 (1x1 bottleneck), fewer for small images
    norm: TranslationNorm = "batch"   # G and D (batch: G uses the batch's statistics, at test time too)
    dropout: float = 0.5              # dropout in the U-Net's inner decoder blocks: G's only noise (sec. 2.1)
    test_dropout: bool = True         # keep that dropout on when translating (sec. 3.3, "at inference time")
    discriminator: PatchGANConfig = field(default_factory=PatchGANConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=2e-4, betas=(0.5, 0.999)))

    def validate(self) -> None:
        _check_common(self)
        if self.l1_weight < 0 or self.gan_weight < 0 or self.l1_weight + self.gan_weight == 0:
            raise ConfigError(f"model.l1_weight and model.gan_weight must be >= 0 and not both 0 (l1_weight 0: "
                              f"the cGAN alone; gan_weight 0: L1 alone), got {self.l1_weight} and {self.gan_weight}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")


@register
class Pix2Pix(_Translation):
    """pix2pix: a conditional GAN whose generator is a U-Net and whose D judges (input, output) patches."""

    name = "pix2pix"
    Config = Pix2PixConfig
    data_kinds = ("pair",)
    grid_columns = "source, translation, target"

    def __init__(self, cfg: Pix2PixConfig, data: DataSpec):
        super().__init__(cfg, data)
        c = self.image_shape[0]
        self.G = UNetGenerator(self.image_shape, width=cfg.width, max_levels=cfg.max_levels, norm=cfg.norm,
                               dropout=cfg.dropout)
        self.D = self.patch_discriminator(2 * c)   # conditional: D sees the source and the image side by side

    def configure_optimizers(self):
        return {"D": self.cfg.optim.build(self.D.parameters()), "G": self.cfg.optim.build(self.G.parameters())}

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Isola et al. 2017, eq. 1-4, one step of D then one of G on the same minibatch of pairs (a, b):

            fake = G(a)
            D:  descend 1/2 [-log D(a, b) - log(1 - D(a, fake))]        (averaged over D's patches)
            G:  descend -log D(a, G(a)) + lambda |b - G(a)|_1
        (model.gan_weight scales G's first term: 0 gives the paper's "L1 alone" ablation.)
        """
        a, b = self.domains(batch)
        fake = self.G(a)
        d_real, d_fake = self.D(torch.cat([a, b], 1)), self.D(torch.cat([a, fake.detach()], 1))
        d_loss = self.loss.d(d_real, d_fake)
        opt.step("D", d_loss)
        adversarial = self.loss.g(self.D(torch.cat([a, fake], 1)))
        l1 = F.l1_loss(fake, b)
        opt.step("G", self.cfg.gan_weight * adversarial + self.cfg.l1_weight * l1)
        return {"d_loss": d_loss.detach(), "g_gan": adversarial.detach(), "l1": l1.detach() / 2}  # l1 in [0, 1] units

    def translate(self, x, *, reverse=False, generator=None):
        if reverse:
            raise ValueError("pix2pix learns one direction only; train a second model with model.direction swapped")
        # training mode only switches dropout on: G's batch norm uses batch statistics in either mode
        return self._run(self.G, x, generator, training=self.cfg.test_dropout)

    def translation_net(self) -> nn.Module:
        """G, the one direction pix2pix learns (model.direction orders the pairs)."""
        return self.G

    def example_rows(self, pairs, generator=None):
        """(source, G(source), target) per pair."""
        src, tgt = self.source_and_target(pairs.to(self.device).float())
        return torch.stack([src, self.translate(src, generator=generator), tgt], 1)


# ----------------------------------------------------------------------------------- CycleGAN


class ImagePool(nn.Module):
    """A history of generated images for D (Shrivastava et al. 2017; Zhu et al. 2017, sec. 4).

    Until the pool is full, generated images are stored and returned as they are. Then each
    new image is, with probability 1/2, swapped with a random stored one (D sees the old one)
    and otherwise returned itself. The pool is a buffer, so it is saved in checkpoints and a
    resumed run continues exactly. A batch is handled at once: an image swapped in by this
    batch is not returned within it.
    """

    def __init__(self, size: int, image_shape: tuple[int, ...]):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *image_shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        fakes = fakes.detach().to(self.images.dtype)
        n_fill = min(self.size - int(self.count), len(fakes))
        if n_fill:
            self.images[int(self.count):int(self.count) + n_fill] = fakes[:n_fill]
            self.count += n_fill
        rest = fakes[n_fill:]
        if not len(rest):
            return fakes
        swap = torch.rand(len(rest), device=rest.device) < 0.5
        slot = torch.randint(self.size, (len(rest),), device=rest.device)
        out = torch.where(swap.view(-1, 1, 1, 1), self.images[slot], rest)
        self.images[slot[swap]] = rest[swap]
        return torch.cat([fakes[:n_fill], out])


@dataclass
class CycleGANConfig:
    loss: TranslationLossName = "least-squares"   # least-squares: the paper, sec. 4
    cycle_weight: float = 10.0        # lambda of L_cyc in the full objective (eq. 3)
    identity_weight: float = 0.5      # the identity loss's weight, in units of lambda (sec. 5.2: 0.5 lambda)
    direction: Direction = "AtoB"     # which of the two generators `translate` and `genzoo sample` use
    width: int = 64                   # c7s1-64, d128, d256, R256 ...
    n_blocks: int = 9                 # residual blocks: 9 at 256x256, 6 at 128x128 (appendix 7.2)
    n_down: int = 2                   # stride-2 down/up steps
    norm: TranslationNorm = "instance"   # G, F and the Ds
    pool_size: int = 50               # D's history of generated images (0: off)
    discriminator: PatchGANConfig = field(default_factory=PatchGANConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=2e-4, betas=(0.5, 0.999)))

    def validate(self) -> None:
        _check_common(self)
        if self.cycle_weight < 0 or self.identity_weight < 0:
            raise ConfigError("model.cycle_weight and model.identity_weight must be >= 0")
        if self.pool_size < 0:
            raise ConfigError(f"model.pool_size must be >= 0 (0: no history), got {self.pool_size}")


@register
class CycleGAN(_Translation):
    """CycleGAN: two generators G: A -> B and F: B -> A kept inverse to each other by cycle consistency."""

    name = "cyclegan"
    Config = CycleGANConfig
    grid_columns = "a, G(a), F(G(a)), b, F(b), G(F(b))"

    def __init__(self, cfg: CycleGANConfig, data: DataSpec):
        super().__init__(cfg, data)
        c = self.image_shape[0]
        kw = dict(width=cfg.width, n_blocks=cfg.n_blocks, n_down=cfg.n_down, norm=cfg.norm)
        self.G, self.F = ResnetGenerator(self.image_shape, **kw), ResnetGenerator(self.image_shape, **kw)
        self.D_A, self.D_B = self.patch_discriminator(c), self.patch_discriminator(c)
        self.pool_A, self.pool_B = ImagePool(cfg.pool_size, self.image_shape), ImagePool(cfg.pool_size, self.image_shape)

    def configure_optimizers(self):
        gens = [*self.G.parameters(), *self.F.parameters()]
        discs = [*self.D_A.parameters(), *self.D_B.parameters()]
        return {"G": self.cfg.optim.build(gens), "D": self.cfg.optim.build(discs)}

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Zhu et al. 2017, eq. 1-3 (and sec. 5.2's identity loss), G and F first, then D_A and D_B:

            G, F: descend  L_GAN(G, D_B) + L_GAN(F, D_A)
                           + lambda (|F(G(a)) - a|_1 + |G(F(b)) - b|_1)
                           + identity * lambda (|G(b) - b|_1 + |F(a) - a|_1)
                  with L_GAN(G, D_B) = E (D_B(G(a)) - 1)^2 for the least-squares loss
            D_A:  descend 1/2 [(D_A(a) - 1)^2 + D_A(pool_A(F(b)))^2]   (and D_B alike with b, G(a))
        """
        cfg = self.cfg
        a, b = self.domains(batch)
        fake_b, fake_a = self.G(a), self.F(b)
        gan = self.loss.g(self.D_B(fake_b)) + self.loss.g(self.D_A(fake_a))
        cycle = F.l1_loss(self.F(fake_b), a) + F.l1_loss(self.G(fake_a), b)
        loss = gan + cfg.cycle_weight * cycle
        logs = {}
        if cfg.identity_weight > 0:
            identity = F.l1_loss(self.G(b), b) + F.l1_loss(self.F(a), a)
            loss = loss + cfg.identity_weight * cfg.cycle_weight * identity
            logs["identity"] = identity.detach()
        opt.step("G", loss)
        d_loss = (self.loss.d(self.D_A(a), self.D_A(self.pool_A.query(fake_a)))
                  + self.loss.d(self.D_B(b), self.D_B(self.pool_B.query(fake_b))))
        opt.step("D", d_loss)
        return {"d_loss": d_loss.detach(), "g_gan": gan.detach(), "cycle": cycle.detach(), **logs}

    def translate(self, x, *, reverse=False, generator=None):
        forward = (self.cfg.direction == "AtoB") != reverse
        return self._run(self.G if forward else self.F, x, generator)

    def translation_net(self) -> nn.Module:
        """The generator of the configured direction: G for AtoB, F for BtoA."""
        return self.G if self.cfg.direction == "AtoB" else self.F

    def example_rows(self, pairs, generator=None):
        """(a, G(a), F(G(a)), b, F(b), G(F(b))): both translations and both cycles, per pair."""
        src, tgt = self.source_and_target(pairs.to(self.device).float())
        fwd, back = self.translate(src), self.translate(tgt, reverse=True)
        return torch.stack([src, fwd, self.translate(fwd, reverse=True), tgt, back, self.translate(back)], 1)

"""DCGAN-style convolutional networks (Radford et al. 2015) for any image size, and their shape arithmetic.

Every conv net here is built from one plan (`conv_plan`): a small base grid (base_h, base_w)
that `n_levels` stride-2 steps double up to the image size (H, W). Up-sampling nets
(generator, decoder) go base -> image with ConvTranspose2d(k=4, s=2, p=1), which exactly
doubles a size; down-sampling nets (discriminator, encoder) go image -> base with
Conv2d(k=4, s=2, p=1), which exactly halves an even size. Channels double at each step down
and halve at each step up, so the widest layer (width * 2**(n_levels-1) channels) touches
the base grid. Nothing is hard-wired to 28x28 or 64x64: 1x8x8, 1x28x28, 3x32x32, 3x64x64 and
non-square sizes all work.
"""
from __future__ import annotations

from typing import Literal, Sequence, get_args

import torch
from torch import nn

from .layers import (LabelCode, apply_spectral_norm_, check_choice, dcgan_init_, make_norm2d,
                     make_out_activation, require_labels, NORMS_2D)

MAX_LEVELS = 4  # at most 4 stride-2 steps (64x64 from 4x4, as in DCGAN)
MIN_BASE = 4    # the base grid is at least 4x4
Upsample = Literal["transposed", "transposed3", "resize"]  # how generators double the resolution (see _up_body)
UPSAMPLES = get_args(Upsample)
ProjectionNorm = Literal["channel", "feature"]  # how generators normalize the projection of z (see _up_body)
PROJECTION_NORMS = get_args(ProjectionNorm)


def conv_out_size(n: int, k: int, s: int = 1, p: int = 0) -> int:
    """Output size of Conv2d along one dimension: floor((n + 2p - k) / s) + 1.

    E.g. k=4, s=2, p=1 halves an even size: conv_out_size(28, 4, 2, 1) == 14.
    """
    return (n + 2 * p - k) // s + 1


def conv_transpose_out_size(n: int, k: int, s: int = 1, p: int = 0, output_padding: int = 0) -> int:
    """Output size of ConvTranspose2d along one dimension: s(n - 1) - 2p + k + output_padding.

    E.g. k=4, s=2, p=1 doubles any size: conv_transpose_out_size(7, 4, 2, 1) == 14.
    """
    return s * (n - 1) - 2 * p + k + output_padding


def _size_suggestion(h: int, w: int) -> str:
    """Nearby sizes that `conv_plan` accepts: the next multiple of 4 (>= 8) and the next power of 2."""
    def up4(n):
        return max(8, -(-n // 4) * 4)

    def pow2(n):
        return max(8, 1 << (n - 1).bit_length())

    def fmt(a, b):
        return str(a) if a == b else f"{a}x{b}"

    options = dict.fromkeys([fmt(up4(h), up4(w)), fmt(pow2(h), pow2(w))])  # ordered, unique
    return " or ".join(options)


def conv_plan(image_shape: Sequence[int]) -> tuple[int, int, int]:
    """How many stride-2 doublings build an image of size (H, W) from a small base grid.

    image_shape: (C, H, W) or (H, W). H and W are halved together while both are even and both
    halves stay >= 4, at most 4 times. Returns (base_h, base_w, n_levels), e.g.
    28x28 -> (7, 7, 2), 32x32 -> (4, 4, 3), 64x64 -> (4, 4, 4), 8x8 -> (4, 4, 1).
    Raises ValueError when no halving is possible (odd or tiny sizes).
    """
    if len(image_shape) not in (2, 3):
        raise ValueError(f"image_shape must be (C, H, W) or (H, W), got {tuple(image_shape)}")
    h0, w0 = (int(v) for v in image_shape[-2:])
    h, w, levels = h0, w0, 0
    while (levels < MAX_LEVELS and h % 2 == 0 and w % 2 == 0
           and h // 2 >= MIN_BASE and w // 2 >= MIN_BASE):
        h, w, levels = h // 2, w // 2, levels + 1
    if levels == 0:
        raise ValueError(f"image size {h0}x{w0} cannot be built by stride-2 up-sampling; "
                         f"resize to e.g. {_size_suggestion(h0, w0)}")
    return h, w, levels


def _chw(image_shape: Sequence[int]) -> tuple[int, int, int]:
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (C, H, W), got {tuple(image_shape)}")
    c, h, w = (int(v) for v in image_shape)
    return c, h, w


def _vector_norm(norm: str, features: int) -> nn.Module:
    """The 1-d counterpart of a conv net's `norm` for a fully connected layer's (N, F) output:
    BatchNorm1d for "batch", LayerNorm for "layer", none for "instance" and "none"."""
    if norm == "batch":
        return nn.BatchNorm1d(features)
    return nn.LayerNorm(features) if norm == "layer" else nn.Identity()


def _up_body(in_dim: int, image_shape, width: int, norm: str, upsample: str = "transposed",
             fc_width: int = 0, projection_norm: str = "channel") -> nn.Sequential:
    """Project-and-reshape then stride-2 transposed convs: (N, in_dim) -> (N, C, H, W), no output activation.

    fc_width > 0 first adds a hidden layer Linear(in_dim, fc_width) -> norm -> ReLU (InfoGAN's
    MNIST generator, Chen et al. 2016: 1024). Then
    Linear -> (width * 2**(L-1), base_h, base_w) -> norm -> ReLU, then L-1 blocks
    ConvTranspose2d(k4, s2, p1) -> norm -> ReLU halving the channels, then a last
    ConvTranspose2d(k4, s2, p1) to C channels (never normalized). Layers followed by a
    normalization have no bias (the norm's shift replaces it).
    upsample="resize": each ConvTranspose2d(k4, s2, p1) becomes nearest-neighbour 2x resizing then
    Conv2d(k3, s1, p1), which covers every output pixel equally and so leaves no checkerboard
    (Odena, Dumoulin & Olah 2016, "Deconvolution and Checkerboard Artifacts").
    upsample="transposed3": ConvTranspose2d(k3, s2, p1, output_padding 1), which also doubles a size
    but whose kernel is not a multiple of its stride: even output pixels get one tap per dimension,
    odd ones two (Odena et al.'s uneven overlap).
    projection_norm="channel" normalizes the projection per channel after the reshape (DCGAN);
    "feature" normalizes each of its c * base_h * base_w features on its own before the reshape
    (InfoGAN's MNIST generator, whose projection is a fully connected layer with batch norm).
    """
    c_img, _, _ = _chw(image_shape)
    base_h, base_w, levels = conv_plan(image_shape)
    check_choice(norm, NORMS_2D, "norm")
    check_choice(projection_norm, PROJECTION_NORMS, "projection_norm")
    bias = norm == "none"
    c = width * 2 ** (levels - 1)
    layers: list[nn.Module] = []
    if fc_width:
        layers += [nn.Linear(in_dim, fc_width, bias=bias), _vector_norm(norm, fc_width), nn.ReLU()]
        in_dim = fc_width
    reshape = nn.Unflatten(1, (c, base_h, base_w))
    layers.append(nn.Linear(in_dim, c * base_h * base_w, bias=bias))
    if projection_norm == "feature":
        layers += [_vector_norm(norm, c * base_h * base_w), reshape, nn.ReLU()]
    else:
        layers += [reshape, make_norm2d(norm, c), nn.ReLU()]
    check_choice(upsample, UPSAMPLES, "upsample")

    def up(c_in: int, c_out: int, b: bool) -> list[nn.Module]:
        if upsample == "resize":
            return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=b)]
        if upsample == "transposed3":
            return [nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=1, bias=b)]
        return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=b)]

    for _ in range(levels - 1):
        layers += [*up(c, c // 2, bias), make_norm2d(norm, c // 2), nn.ReLU()]
        c //= 2
    layers += up(c, c_img, True)
    return nn.Sequential(*layers)


def _down_body(image_shape, width: int, norm: str, activation: type[nn.Module] | None = None,
               fc_width: int = 0) -> tuple[nn.Sequential, int]:
    """Stride-2 convs then flatten: (N, C, H, W) -> (N, F). Returns (net, F).

    Conv2d(k4, s2, p1) -> activation with no normalization on the input layer, then L-1 blocks
    Conv2d(k4, s2, p1) -> norm -> activation doubling the channels down to
    (width * 2**(L-1), base_h, base_w); F = width * 2**(L-1) * base_h * base_w.
    fc_width > 0 adds a hidden layer Linear(F, fc_width) -> norm -> activation, and F = fc_width
    (InfoGAN's MNIST discriminator, Chen et al. 2016: 1024).
    activation: a no-argument module factory, default LeakyReLU(0.2).
    """
    act = activation or (lambda: nn.LeakyReLU(0.2))
    c_img, _, _ = _chw(image_shape)
    base_h, base_w, levels = conv_plan(image_shape)
    check_choice(norm, NORMS_2D, "norm")
    layers: list[nn.Module] = [nn.Conv2d(c_img, width, 4, 2, 1), act()]
    c = width
    for _ in range(levels - 1):
        layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=norm == "none"), make_norm2d(norm, 2 * c), act()]
        c *= 2
    layers.append(nn.Flatten())
    features = c * base_h * base_w
    if fc_width:
        layers += [nn.Linear(features, fc_width, bias=norm == "none"), _vector_norm(norm, fc_width), act()]
        features = fc_width
    return nn.Sequential(*layers), features


class _UpConvNet(nn.Module):
    """z (N, latent_dim) [+ label code] -> image (N, C, H, W). Base of the DCGAN generator and the conv decoder."""

    def __init__(self, latent_dim: int, image_shape, width: int, norm: str, out_activation: str | None,
                 num_classes: int, class_embed_dim: int | None, upsample: str = "transposed", fc_width: int = 0,
                 projection_norm: str = "channel"):
        super().__init__()
        self.latent_dim, self.image_shape, self.num_classes = latent_dim, _chw(image_shape), num_classes
        self.label_code = LabelCode(num_classes, class_embed_dim) if num_classes > 0 else None
        in_dim = latent_dim + (self.label_code.dim if self.label_code is not None else 0)
        self.net = _up_body(in_dim, image_shape, width, norm, upsample, fc_width, projection_norm)
        self.out_activation = make_out_activation(out_activation)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        require_labels(y, self.num_classes, type(self).__name__)
        if self.label_code is not None:
            z = torch.cat([z, self.label_code(y).to(z.dtype)], dim=1)
        return self.out_activation(self.net(z))


class DCGANGenerator(_UpConvNet):
    """DCGAN generator (Radford et al. 2015): z (N, latent_dim) -> images (N, C, H, W) in [-1, 1].

    Project and reshape z with Linear (no bias) -> BatchNorm -> ReLU to
    (width * 2**(L-1), base_h, base_w); L-1 blocks ConvTranspose2d(k4, s2, p1, no bias) ->
    BatchNorm -> ReLU halving the channels; a last ConvTranspose2d(k4, s2, p1) to C channels
    -> Tanh, with no batch norm on the output. (base_h, base_w, L) = conv_plan(image_shape).

    Conditional (num_classes > 0): forward(z, y) concatenates a code of the labels y to z
    (Mirza & Osindero 2014): one-hot by default, a learned embedding of size class_embed_dim
    if given. Weights start with dcgan_init_. upsample="resize": resize-convolutions instead of
    transposed convolutions (see _up_body). fc_width > 0: a hidden Linear -> BatchNorm -> ReLU
    of that width before the projection (InfoGAN's MNIST generator: 1024). projection_norm="feature":
    the projection's batch norm per feature before the reshape, as InfoGAN's (see _up_body).
    """

    def __init__(self, latent_dim: int, image_shape: Sequence[int], width: int = 64, num_classes: int = 0,
                 class_embed_dim: int | None = None, upsample: str = "transposed", fc_width: int = 0,
                 projection_norm: str = "channel"):
        super().__init__(latent_dim, image_shape, width, "batch", "tanh", num_classes, class_embed_dim, upsample,
                         fc_width, projection_norm)
        dcgan_init_(self)


class ConvDecoder(_UpConvNet):
    """Convolutional decoder for AEs/VAEs: z (N, latent_dim) -> (N, C, H, W).

    The DCGAN generator's layout (see DCGANGenerator) with `norm` ("batch" by default, or
    "layer", "instance", "none") and, by default, no output activation: it returns logits
    (Bernoulli decoder) or means (Gaussian decoder). out_activation: None, "sigmoid" or "tanh".
    fc_width > 0: a hidden Linear -> norm -> ReLU of that width before the projection (see _up_body).
    Conditional (num_classes > 0, CVAE): forward(z, y) concatenates a label code to z.
    """

    def __init__(self, latent_dim: int, image_shape: Sequence[int], width: int = 32,
                 out_activation: str | None = None, *, norm: str = "batch", num_classes: int = 0,
                 class_embed_dim: int | None = None, fc_width: int = 0):
        super().__init__(latent_dim, image_shape, width, norm, out_activation, num_classes, class_embed_dim,
                         fc_width=fc_width)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator / critic (Radford et al. 2015): images (N, C, H, W) -> logits (N,) or (N, out_dim).

    Conv2d(k4, s2, p1) -> LeakyReLU(0.2) with no normalization on the input layer; L-1 blocks
    Conv2d(k4, s2, p1) -> norm -> LeakyReLU(0.2) doubling the channels down to
    (width * 2**(L-1), base_h, base_w); flatten (the features, F values) -> Linear -> out_dim.

    norm: "batch" (DCGAN), "layer" (GroupNorm(1, C)), "instance", or "none" (WGAN-GP: no batch
    norm in the critic, because the gradient penalty is per sample).
    spectral_norm: wrap every conv, linear and embedding weight with spectral normalization
    by power iteration (SN-GAN, Miyato et al. 2018).
    fc_width > 0: a hidden Linear -> norm -> LeakyReLU(0.2) of that width after the flatten, so
    that phi has fc_width features (InfoGAN's MNIST discriminator: 1024, with batch norm).
    Conditional (num_classes > 0): projection discriminator (Miyato & Koyama 2018),
    logit(x, y) = linear(phi(x)) + <embed(y), phi(x)>, with phi = self.features; needs out_dim=1.
    Weights start with dcgan_init_ (before spectral normalization is attached).
    """

    def __init__(self, image_shape: Sequence[int], width: int = 64, norm: str = "batch", num_classes: int = 0,
                 spectral_norm: bool = False, out_dim: int = 1, fc_width: int = 0):
        super().__init__()
        if num_classes > 0 and out_dim != 1:
            raise ValueError("the projection discriminator (num_classes > 0) needs out_dim=1")
        self.image_shape, self.num_classes, self.out_dim = _chw(image_shape), num_classes, out_dim
        self.body, self.feature_dim = _down_body(image_shape, width, norm, fc_width=fc_width)
        self.head = nn.Linear(self.feature_dim, out_dim)
        self.embed = nn.Embedding(num_classes, self.feature_dim) if num_classes > 0 else None
        dcgan_init_(self)
        if spectral_norm:
            apply_spectral_norm_(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features phi(x), shape (N, feature_dim)."""
        return self.body(x)

    def pooled_features(self, x: torch.Tensor, grid: int = 4) -> torch.Tensor:
        """Radford et al. 2015, sec. 5.1: every conv layer's activations max-pooled to a grid x grid map,
        flattened and joined, shape (N, sum of C * grid^2)."""
        feats = []
        for layer in self.body:
            x = layer(x)
            if x.ndim == 4 and isinstance(layer, nn.LeakyReLU):
                feats.append(nn.functional.adaptive_max_pool2d(x, grid).flatten(1))
        return torch.cat(feats, dim=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        require_labels(y, self.num_classes, type(self).__name__)
        h = self.features(x)
        out = self.head(h)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(dim=1, keepdim=True)
        return out.squeeze(1) if self.out_dim == 1 else out


class ConvEncoder(nn.Module):
    """Convolutional encoder for AEs/VAEs: images (N, C, H, W) -> (N, out_dim).

    The discriminator's layout (see DCGANDiscriminator) with ReLU activations, `norm`
    ("batch" by default; none on the input layer), then Linear -> out_dim (e.g. 2 * latent_dim
    for a VAE's mean and log-variance). Conditional (num_classes > 0, CVAE): forward(x, y)
    concatenates a label code to the flattened features before the last Linear.
    fc_width > 0: a hidden Linear -> norm -> ReLU of that width after the flatten (see _down_body).
    """

    def __init__(self, image_shape: Sequence[int], out_dim: int, width: int = 32, *, norm: str = "batch",
                 num_classes: int = 0, class_embed_dim: int | None = None, fc_width: int = 0):
        super().__init__()
        self.image_shape, self.num_classes, self.out_dim = _chw(image_shape), num_classes, out_dim
        self.body, self.feature_dim = _down_body(image_shape, width, norm, activation=nn.ReLU, fc_width=fc_width)
        self.label_code = LabelCode(num_classes, class_embed_dim) if num_classes > 0 else None
        extra = self.label_code.dim if self.label_code is not None else 0
        self.head = nn.Linear(self.feature_dim + extra, out_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened conv features, shape (N, feature_dim)."""
        return self.body(x)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        require_labels(y, self.num_classes, type(self).__name__)
        h = self.features(x)
        if self.label_code is not None:
            h = torch.cat([h, self.label_code(y).to(h.dtype)], dim=1)
        return self.head(h)

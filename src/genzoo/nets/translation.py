"""Image-to-image translation networks: pix2pix's U-Net and PatchGAN, CycleGAN's ResNet generator.

Images enter scaled to [-1, 1] and generators end in tanh, so an output image is on the input's
scale. The layouts follow the papers (Isola et al. 2017, Zhu et al. 2017) and the official
pytorch-CycleGAN-and-pix2pix code, including its details the papers leave out: instance norm
without an affine part, no conv bias before batch norm (its shift replaces the bias), and
N(0, 0.02) weights (dcgan_init_). Nothing is tied to 256x256: the U-Net picks its depth from the
image size, the ResNet generator takes any size divisible by 2**n_down, and the PatchGAN
discriminator is fully convolutional, so a larger image gives a larger map of patch logits.
"""
from __future__ import annotations

from typing import Literal, Sequence, get_args

import torch
from torch import nn

from .conv import _chw, _size_suggestion, conv_out_size
from .layers import check_choice, dcgan_init_

TranslationNorm = Literal["batch", "instance", "none"]
NORMS = get_args(TranslationNorm)


def _norm(name: str, channels: int, running_stats: bool = True) -> list[nn.Module]:
    """A normalization layer as a list (empty for "none"), to splice into a layer list.

    "instance": InstanceNorm2d(affine=False), the official code's choice. "batch": BatchNorm2d;
    running_stats=False makes it use the current batch's statistics in eval mode too.
    """
    if name == "batch":
        return [nn.BatchNorm2d(channels, track_running_stats=running_stats)]
    if name == "instance":
        return [nn.InstanceNorm2d(channels, affine=False)]
    return []


def _fmt(h: int, w: int) -> str:
    return str(h) if h == w else f"{h}x{w}"


# ---- pix2pix U-Net ----------------------------------------------------------------------------------

def unet_levels(h: int, w: int, max_levels: int = 8) -> int:
    """How many k4-s2-p1 halvings a U-Net makes on an HxW image: H and W are halved together while
    both are even, at most max_levels times. 256x256 -> 8 (1x1 bottleneck), 32x32 -> 5, 28x28 -> 2
    (7x7 bottleneck), 64x48 -> 4; an odd size -> 0."""
    levels = 0
    while levels < max_levels and h % 2 == 0 and w % 2 == 0 and min(h, w) >= 2:
        h, w, levels = h // 2, w // 2, levels + 1
    return levels


class UNetGenerator(nn.Module):
    """pix2pix U-Net generator (Isola et al. 2017, appendix 6.1.1): images (N, C, H, W) ->
    (N, out_channels, H, W) in [-1, 1].

    Encoder, L levels: Conv2d(k4, s2, p1) halving H and W, channels min(width * 2**i, width * 8)
    (C64-C128-C256-C512-C512-C512-C512-C512 at 256x256), each block LeakyReLU(0.2) -> conv ->
    norm, with no activation before the first conv and no norm after the first or the innermost
    (bottleneck) conv. Decoder, mirrored: ReLU -> ConvTranspose2d(k4, s2, p1) -> norm [-> Dropout],
    where every level but the innermost takes the concatenation (skip connection) of the encoder
    output at its resolution and the decoder output below; the outermost goes to out_channels with
    no norm, then Tanh. Layout of the official `UnetGenerator`.

    L = unet_levels(H, W, max_levels): 8 at 256x256 (the paper's net). Inputs of another size work
    if H and W are divisible by 2**L.
    norm: "batch" (default) normalizes with the current batch's statistics in eval mode too, as
    pix2pix does at test time (no running statistics); "instance" (InstanceNorm2d, no affine);
    "none". Dropout(dropout) follows the norm of `dropout_blocks` decoder blocks counted from just
    outside the innermost; None means min(3, max(0, L - 5)) (3 at 256x256, the official rule).
    This dropout is pix2pix's only noise z, and pix2pix keeps it on at test time (call .train()).
    Weights start with dcgan_init_.
    """

    def __init__(self, image_shape: Sequence[int], out_channels: int | None = None, width: int = 64,
                 max_levels: int = 8, norm: str = "batch", dropout: float = 0.5, dropout_blocks: int | None = None):
        super().__init__()
        c_img, h, w = _chw(image_shape)
        check_choice(norm, NORMS, "norm")
        if max_levels < 1:
            raise ValueError(f"max_levels must be >= 1, got {max_levels}")
        levels = self.levels = unet_levels(h, w, max_levels)
        if levels == 0:
            raise ValueError(f"image size {h}x{w} cannot be halved (a U-Net needs even H and W); "
                             f"resize to e.g. {_size_suggestion(h, w)} (256 gives the paper's 8 levels)")
        if dropout_blocks is None:
            dropout_blocks = min(3, max(0, levels - 5))
        if not 0 <= dropout_blocks <= max(0, levels - 2):
            raise ValueError(f"dropout_blocks={dropout_blocks}: a {levels}-level U-Net ({h}x{w}) has "
                             f"{max(0, levels - 2)} decoder blocks between the innermost and the outermost; "
                             f"use 0..{max(0, levels - 2)}")
        self.image_shape, self.out_channels = (c_img, h, w), out_channels or c_img
        bias = norm != "batch"  # batch norm's shift replaces the conv bias
        ch = [min(width * 2 ** i, width * 8) for i in range(levels)]  # encoder level i output channels

        def down(i):
            inner, outer = i == levels - 1, i == 0
            conv = nn.Conv2d(c_img if outer else ch[i - 1], ch[i], 4, 2, 1, bias=bias or inner or outer)
            return nn.Sequential(*([] if outer else [nn.LeakyReLU(0.2)]), conv,
                                 *([] if inner or outer else _norm(norm, ch[i], running_stats=False)))

        def up(i):
            inner, outer = i == levels - 1, i == 0
            c_in = ch[i] if inner else 2 * ch[i]  # the skip doubles the input, except at the bottleneck
            c_out = self.out_channels if outer else ch[i - 1]
            conv = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias or outer)
            if outer:
                return nn.Sequential(nn.ReLU(), conv, nn.Tanh())
            drop = dropout > 0 and levels - 1 - dropout_blocks <= i < levels - 1
            return nn.Sequential(nn.ReLU(), conv, *_norm(norm, c_out, running_stats=False),
                                 *([nn.Dropout(dropout)] if drop else []))

        self.down = nn.ModuleList(down(i) for i in range(levels))
        self.up = nn.ModuleList(up(i) for i in range(levels))
        dcgan_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = 2 ** self.levels
        if x.shape[-2] % f or x.shape[-1] % f:
            raise ValueError(f"a {self.levels}-level UNetGenerator needs H and W divisible by {f}, "
                             f"got {x.shape[-2]}x{x.shape[-1]}")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.up[-1](skips[-1])
        for i in reversed(range(self.levels - 1)):
            x = self.up[i](torch.cat([skips[i], x], dim=1))
        return x


# ---- CycleGAN ResNet generator -----------------------------------------------------------------------

class ResnetBlock(nn.Module):
    """Residual block (He et al. 2016, as in Johnson et al. 2016): x + [ReflectionPad2d(1) -> Conv3 ->
    norm -> ReLU -> ReflectionPad2d(1) -> Conv3 -> norm], same channels and size."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        bias = norm != "batch"
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), *_norm(norm, channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), *_norm(norm, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _check_resnet_size(h: int, w: int, n_down: int) -> None:
    """H and W divisible by 2**n_down, at least 4 (reflection pad of 3) and leaving a bottleneck of
    at least 2 (reflection pad of 1 in the residual blocks)."""
    f = 2 ** n_down
    smallest = max(4, 2 * f)
    if h % f or w % f or min(h, w) < smallest:
        def fix(n):
            return max(smallest, -(-n // f) * f)
        raise ValueError(f"ResnetGenerator with n_down={n_down} needs H and W divisible by {f} and at least "
                         f"{smallest}, got {h}x{w}; resize to e.g. {_fmt(fix(h), fix(w))}")


class ResnetGenerator(nn.Module):
    """CycleGAN generator (Zhu et al. 2017, appendix 7.2; Johnson et al. 2016): images (N, C, H, W) ->
    (N, out_channels, H, W) in [-1, 1].

    c7s1-64, d128, d256, R256 x n_blocks, u128, u64, c7s1-3 (at width 64, n_down 2), where
    c7s1-k = ReflectionPad2d(3) -> Conv2d(k7) -> norm -> ReLU; dk = Conv2d(k3, s2, p1) -> norm -> ReLU;
    Rk = ResnetBlock; uk = ConvTranspose2d(k3, s2, p1, output_padding=1) -> norm -> ReLU; the last
    c7s1 has no norm and ends in Tanh. Channels width * 2**i for i = 0..n_down. The paper uses
    n_blocks=9 at 256x256 and 6 at 128x128.

    H and W must be divisible by 2**n_down and at least max(4, 2**(n_down+1)); other sizes raise
    ValueError with a suggestion. norm: "instance" (InstanceNorm2d, no affine; default),
    "batch" (BatchNorm2d), "none". Weights start with dcgan_init_.
    """

    def __init__(self, image_shape: Sequence[int], out_channels: int | None = None, width: int = 64,
                 n_blocks: int = 9, n_down: int = 2, norm: str = "instance"):
        super().__init__()
        c_img, h, w = _chw(image_shape)
        check_choice(norm, NORMS, "norm")
        if n_blocks < 0 or n_down < 0:
            raise ValueError(f"n_blocks and n_down must be >= 0, got {n_blocks} and {n_down}")
        _check_resnet_size(h, w, n_down)
        self.image_shape, self.out_channels, self.n_down = (c_img, h, w), out_channels or c_img, n_down
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(c_img, width, 7, bias=bias),
                                   *_norm(norm, width), nn.ReLU()]
        for i in range(n_down):
            c = width * 2 ** i
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), *_norm(norm, 2 * c), nn.ReLU()]
        layers += [ResnetBlock(width * 2 ** n_down, norm) for _ in range(n_blocks)]
        for i in reversed(range(n_down)):
            c = width * 2 ** i
            layers += [nn.ConvTranspose2d(2 * c, c, 3, 2, 1, output_padding=1, bias=bias), *_norm(norm, c), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, self.out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_resnet_size(x.shape[-2], x.shape[-1], self.n_down)
        return self.net(x)


# ---- PatchGAN discriminator --------------------------------------------------------------------------

def _patch_convs(n_layers: int) -> list[tuple[int, int, int]]:
    """(kernel, stride, padding) of the PatchGAN convs in order: n_layers stride-2, then two stride-1."""
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    return [(4, 2, 1)] * n_layers + [(4, 1, 1)] * 2


def patch_receptive_field(n_layers: int) -> int:
    """Side of the input patch that one PatchGAN logit sees: 16, 34, 70 for n_layers 1, 2, 3.

    Walking back from one output cell, each conv widens the window to (r - 1) * stride + kernel.
    """
    r = 1
    for k, s, _ in reversed(_patch_convs(n_layers)):
        r = (r - 1) * s + k
    return r


def _patch_map_size(n: int, n_layers: int) -> int:
    for k, s, p in _patch_convs(n_layers):
        n = conv_out_size(n, k, s, p)
    return n


def _min_patch_input(n_layers: int) -> int:
    """Smallest image side that leaves a non-empty logit map."""
    n = 1
    while _patch_map_size(n, n_layers) < 1:
        n += 1
    return n


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator (Isola et al. 2017, sec. 3.2.2 and appendix 6.1.2): images (N, C, H, W)
    -> logit map (N, 1, h, w), one logit per overlapping receptive_field x receptive_field patch.

    Conv2d(C, width, k4, s2, p1) -> LeakyReLU(0.2), no norm on the input layer; for n = 1..n_layers-1
    Conv2d(k4, s2, p1) to width * min(2**n, 8) -> norm -> LeakyReLU(0.2); Conv2d(k4, s1, p1) to
    width * min(2**n_layers, 8) -> norm -> LeakyReLU(0.2); Conv2d(k4, s1, p1) to 1 channel.
    Layout of the official `NLayerDiscriminator`; n_layers=3 is the 70x70 PatchGAN (a 256x256
    image gives a 30x30 map). For pix2pix, in_channels counts the condition and the image
    concatenated. norm: "batch" (BatchNorm2d; default), "instance" (InstanceNorm2d, no affine),
    "none". Weights start with dcgan_init_.
    """

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        check_choice(norm, NORMS, "norm")
        self.n_layers, self.receptive_field = n_layers, patch_receptive_field(n_layers)
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = width
        for n, (k, s, p) in enumerate(_patch_convs(n_layers)[1:-1], start=1):
            c_next = width * min(2 ** n, 8)
            layers += [nn.Conv2d(c, c_next, k, s, p, bias=bias), *_norm(norm, c_next), nn.LeakyReLU(0.2)]
            c = c_next
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """Size (h', w') of the logit map for an HxW input, e.g. (30, 30) for 256x256 at n_layers=3;
        ValueError if the image is too small (see check_input_size)."""
        self.check_input_size(h, w)
        return _patch_map_size(h, self.n_layers), _patch_map_size(w, self.n_layers)

    def check_input_size(self, h: int, w: int) -> None:
        """Raise ValueError, naming the largest n_layers that fits, if an HxW image gives an empty map."""
        if min(_patch_map_size(h, self.n_layers), _patch_map_size(w, self.n_layers)) >= 1:
            return
        fits = [n for n in range(1, self.n_layers) if min(_patch_map_size(h, n), _patch_map_size(w, n)) >= 1]
        fix = (f"the largest n_layers that works is {fits[-1]}" if fits else
               f"use an image of at least {_min_patch_input(1)}x{_min_patch_input(1)} with n_layers=1")
        need = _min_patch_input(self.n_layers)
        raise ValueError(f"image {h}x{w} is too small for a PatchDiscriminator with n_layers={self.n_layers} "
                         f"(it needs at least {need}x{need}); {fix}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input_size(x.shape[-2], x.shape[-1])
        return self.net(x)

"""Networks of the text-to-image models: a text encoder and text-conditioned image nets.

- TextEncoder: token ids (N, L), padded with id 0 at the end -> a unit-length embedding phi(t)
  (N, embed_dim): word embeddings, a one-layer GRU, its state after the last word, a linear layer.
  (Reed et al. 2016 use a char-CNN-RNN; a word GRU is enough for a 25-word vocabulary.)
- TextConditionedDiscriminator: Reed et al. 2016, sec. 4.1 (and StackGAN's D): DCGAN strided convs
  down to a 4x4 grid, the text embedding compressed by a linear layer + LeakyReLU, replicated over
  the grid and concatenated in depth, a 1x1 conv + LeakyReLU, then a 4x4 conv to one logit.
- SpatialTextEncoder and RegionEncoder: a text map M(t) (N, dim, S, S), one vector per region of
  the canvas, read from the words by attention, and the image's own map to match it against
  (word-region matching, as AttnGAN's DAMSM, Xu et al. 2018).
- SpatialConditionalGenerator and SpatialTextDiscriminator: G and D that take M(t) at the regions
  it describes; D scores the match region by region (a projection term per region, Miyato &
  Koyama 2018).
- Stage2Generator: StackGAN Stage II (Zhang et al. 2017, sec. 3.3): encode the Stage I image down
  by stride-2 convs, concatenate the replicated conditioning vector, residual blocks, up-sample
  (nearest x2 + 3x3 conv) to the canvas size.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .conv import _down_body, conv_plan
from .layers import dcgan_init_


class TextEncoder(nn.Module):
    """Token ids (N, L) (0 = padding, at the end) -> phi(t), L2-normalized, (N, embed_dim)."""

    def __init__(self, vocab_size: int, embed_dim: int = 128, word_dim: int = 64, hidden: int = 128):
        super().__init__()
        self.words = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.gru = nn.GRU(word_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, embed_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != 0).sum(1).clamp(min=1)
        states, _ = self.gru(self.words(tokens))
        last = states[torch.arange(len(tokens), device=tokens.device), lengths - 1]  # after the last word
        return F.normalize(self.out(last), dim=1)


class ImageEncoder(nn.Module):
    """theta(v): images (N, C, H, W) in [-1, 1] -> unit-length (N, embed_dim), for the matching objective."""

    def __init__(self, image_shape, embed_dim: int = 128, width: int = 32):
        super().__init__()
        self.body, features = _down_body(image_shape, width, "none")
        self.out = nn.Linear(features, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.out(self.body(x)), dim=1)


class TextConditionedDiscriminator(nn.Module):
    """D(x, phi(t)) -> logit (N,): Reed et al. 2016's matching-aware discriminator architecture."""

    def __init__(self, image_shape, text_dim: int, width: int = 64, projected_dim: int = 128):
        super().__init__()
        self.body, _ = _down_body(image_shape, width, "batch")
        base_h, base_w, levels = conv_plan(image_shape)
        self.grid = (width * 2 ** (levels - 1), base_h, base_w)
        self.body = self.body[:-1]  # keep the grid: drop the final flatten
        self.project = nn.Sequential(nn.Linear(text_dim, projected_dim), nn.LeakyReLU(0.2))
        c = self.grid[0]
        self.joint = nn.Sequential(nn.Conv2d(c + projected_dim, c, 1, bias=False), nn.BatchNorm2d(c),
                                   nn.LeakyReLU(0.2), nn.Conv2d(c, 1, (base_h, base_w)))
        dcgan_init_(self)

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        t = self.project(text)[:, :, None, None].expand(-1, -1, *h.shape[2:])
        return self.joint(torch.cat([h, t], 1)).flatten()


class SpatialTextEncoder(nn.Module):
    """Token ids (N, L) (0 = padding) -> M(t) (N, dim, S, S): what each of the S x S regions should show.

    Each word has a key read from its context (a bidirectional GRU's states before and after it,
    not the word itself) and a value read from the word alone; each region has a learned query
    that attends over the keys (softmax) and takes the values:

        M(t)_q = sum_l softmax_l(q_q . k_l / sqrt(d)) v(w_l)

    So "where" comes from a word's context and "what" from the word: a digit named in a place
    it was never seen in still brings its own value there."""

    def __init__(self, vocab_size: int, dim: int, size: int, word_dim: int = 64, hidden: int = 64, key_dim: int = 64):
        super().__init__()
        self.words = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.gru = nn.GRU(word_dim, hidden, batch_first=True, bidirectional=True)
        self.key = nn.Linear(2 * hidden, key_dim)
        self.value = nn.Embedding(vocab_size, dim)
        self.queries = nn.Parameter(torch.randn(size * size, key_dim))
        self.size = size

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(self.words(tokens))
        forward, backward = states.chunk(2, dim=-1)
        before = F.pad(forward, (0, 0, 1, 0))[:, :-1]    # the forward state after the previous word
        after = F.pad(backward, (0, 0, 0, 1))[:, 1:]     # the backward state from the next word
        keys = self.key(torch.cat([before, after], -1))
        logits = torch.einsum("qd,nld->nql", self.queries.to(keys.dtype), keys) / math.sqrt(keys.shape[-1])
        attention = logits.masked_fill((tokens == 0)[:, None, :], float("-inf")).softmax(-1)
        regions = torch.einsum("nql,nld->nqd", attention, self.value(tokens).to(attention.dtype))
        return regions.transpose(1, 2).reshape(len(tokens), -1, self.size, self.size)


class RegionEncoder(nn.Module):
    """The image's map (N, dim, H/4, W/4), one vector per region, to match M(t) against (a small conv net)."""

    def __init__(self, channels: int, dim: int, width: int = 32):
        super().__init__()
        act = nn.LeakyReLU(0.2)
        self.net = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1), act, nn.Conv2d(width, width, 4, 2, 1), act,
                                 nn.Conv2d(width, 2 * width, 3, 1, 1), act, nn.Conv2d(2 * width, 2 * width, 4, 2, 1),
                                 act, nn.Conv2d(2 * width, dim, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


def _up_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class SpatialConditionalGenerator(nn.Module):
    """G(z, M(t)) -> images (N, C, H, W) in [-1, 1], H = W = 4 S (or 2 S) for a text map of S x S regions.

    A DCGAN generator from z at S/2 x S/2, with the text map and a code of z joined in depth at
    S x S and (each region repeated) at 2S x 2S, then one more doubling (or, for 2S, a 3x3 conv):
    each region's words draw in that region, and z reaches every region (so the samples of one
    caption differ)."""

    def __init__(self, latent_dim: int, text_dim: int, channels: int, size: int, width: int, z_dim: int = 32,
                 image_size: int | None = None):
        super().__init__()
        w, self.base = width, size // 2
        self.project = nn.Sequential(nn.Linear(latent_dim, 4 * w * self.base ** 2, bias=False),
                                     nn.BatchNorm1d(4 * w * self.base ** 2), nn.ReLU())
        self.z_code = nn.Sequential(nn.Linear(latent_dim, z_dim), nn.ReLU())
        self.up1, self.join1 = _up_bn_relu(4 * w, 2 * w), _conv_bn_relu(2 * w + text_dim + z_dim, 2 * w)
        self.up2, self.join2 = _up_bn_relu(2 * w, w), _conv_bn_relu(w + text_dim + z_dim, w)
        last = (nn.Conv2d(w, channels, 3, 1, 1) if image_size == 2 * size else nn.ConvTranspose2d(w, channels, 4, 2, 1))
        self.out = nn.Sequential(last, nn.Tanh())
        dcgan_init_(self)

    def forward(self, z: torch.Tensor, text_map: torch.Tensor) -> torch.Tensor:
        h = self.up1(self.project(z).view(len(z), -1, self.base, self.base))
        code = self.z_code(z)[:, :, None, None]
        h = self.up2(self.join1(torch.cat([h, text_map.to(h.dtype), code.expand(-1, -1, *h.shape[2:])], 1)))
        text_map = F.interpolate(text_map, scale_factor=2, mode="nearest").to(h.dtype)
        return self.out(self.join2(torch.cat([h, text_map, code.expand(-1, -1, *h.shape[2:])], 1)))


class SpatialTextDiscriminator(nn.Module):
    """D(x, M(t)) -> logit (N,): features f at the text map's S x S regions (two stride-2 convs from a 4S x 4S
    image, or a stride-2 and a 3x3 conv from a 2S x 2S one), then

        D = psi([f, M]) + mean_q <P M_q, f_q>

    psi: a 1x1 conv on f and M joined in depth, a stride-2 conv and a conv to one logit (Reed et
    al.'s joint layers); the second term scores each region's match (projection, Miyato & Koyama 2018)."""

    def __init__(self, channels: int, text_dim: int, size: int, width: int, image_size: int | None = None):
        super().__init__()
        w = width
        second = nn.Conv2d(w, 2 * w, 3, 1, 1, bias=False) if image_size == 2 * size else nn.Conv2d(w, 2 * w, 4, 2, 1,
                                                                                                   bias=False)
        self.body = nn.Sequential(nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2),
                                  second, nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2))
        self.project = nn.Conv2d(text_dim, 2 * w, 1)
        self.joint = nn.Sequential(nn.Conv2d(2 * w + text_dim, 2 * w, 1, bias=False), nn.BatchNorm2d(2 * w),
                                   nn.LeakyReLU(0.2), nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False),
                                   nn.BatchNorm2d(4 * w), nn.LeakyReLU(0.2), nn.Conv2d(4 * w, 1, size // 2))
        dcgan_init_(self)

    def forward(self, x: torch.Tensor, text_map: torch.Tensor) -> torch.Tensor:
        f = self.body(x)
        text_map = text_map.to(f.dtype)
        match = (self.project(text_map) * f).sum(1).mean((1, 2))
        return self.joint(torch.cat([f, text_map], 1)).flatten() + match


class ResidualBlock(nn.Module):
    """x + conv3x3-BN-ReLU-conv3x3-BN(x) (StackGAN Stage II's residual blocks)."""

    def __init__(self, c: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                 nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.net(x))


class Stage2Generator(nn.Module):
    """G1(s0, c): Stage I image s0 (N, C, h, w) in [-1, 1] and conditioning c (N, c_dim), or a map of it (N, c_dim,
    h', w') on the encoded grid -> (N, C, H, W) in [-1, 1].

    s0 is encoded by `down` stride-2 convs, c replicated over the grid (a map as it is) and concatenated, a 3x3 conv
    joins them, `n_residual` residual blocks refine, and `up` (nearest x2 + conv3x3-BN-ReLU) steps
    reach the canvas size (H = h * 2**(up - down))."""

    def __init__(self, channels: int, c_dim: int, width: int = 64, down: int = 1, up: int = 2, n_residual: int = 2):
        super().__init__()
        layers, c = [nn.Conv2d(channels, width, 3, 1, 1), nn.ReLU()], width
        for _ in range(down):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU()]
            c *= 2
        self.encode = nn.Sequential(*layers)
        self.join = nn.Sequential(nn.Conv2d(c + c_dim, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.residual = nn.Sequential(*[ResidualBlock(c) for _ in range(n_residual)])
        ups = []
        for _ in range(up):
            ups += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c // 2, 3, 1, 1, bias=False),
                    nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        self.up = nn.Sequential(*ups, nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh())
        dcgan_init_(self)

    def forward(self, s0: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.encode(s0)
        c = c if c.dim() == 4 else c[:, :, None, None].expand(-1, -1, *h.shape[2:])
        h = self.join(torch.cat([h, c.to(h.dtype)], 1))
        return self.up(self.residual(h))

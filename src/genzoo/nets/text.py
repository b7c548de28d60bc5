"""Networks of the text-to-image models: a text encoder and text-conditioned image nets.

- TextEncoder: token ids (N, L), padded with id 0 at the end -> a unit-length embedding phi(t)
  (N, embed_dim): word embeddings, a one-layer GRU, its state after the last word, a linear layer.
  (Reed et al. 2016 use a char-CNN-RNN; a word GRU is enough for a 25-word vocabulary.)
- TextConditionedDiscriminator: Reed et al. 2016, sec. 4.1 (and StackGAN's D): DCGAN strided convs
  down to a 4x4 grid, the text embedding compressed by a linear layer + LeakyReLU, replicated over
  the grid and concatenated in depth, a 1x1 conv + LeakyReLU, then a 4x4 conv to one logit.
- Stage2Generator: StackGAN Stage II (Zhang et al. 2017, sec. 3.3): encode the Stage I image down
  by stride-2 convs, concatenate the replicated conditioning vector, residual blocks, up-sample
  (nearest x2 + 3x3 conv) to the canvas size.
"""
from __future__ import annotations

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


class ResidualBlock(nn.Module):
    """x + conv3x3-BN-ReLU-conv3x3-BN(x) (StackGAN Stage II's residual blocks)."""

    def __init__(self, c: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                 nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.net(x))


class Stage2Generator(nn.Module):
    """G1(s0, c): Stage I image s0 (N, C, h, w) in [-1, 1] and conditioning c (N, c_dim) -> (N, C, H, W) in [-1, 1].

    s0 is encoded by `down` stride-2 convs, c replicated over the grid and concatenated, a 3x3 conv
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
        h = self.join(torch.cat([h, c[:, :, None, None].expand(-1, -1, *h.shape[2:])], 1))
        return self.up(self.residual(h))

"""Multi-layer perceptrons: the networks of the original GAN, AAE, the toy 2-D experiments and MLP AEs/VAEs."""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .layers import LabelCode, apply_spectral_norm_, make_activation, make_norm1d, make_out_activation, require_labels


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int, *, activation: str = "relu",
        norm: str | None = None, out_activation: str | None = None, dropout: float = 0.0,
        spectral_norm: bool = False) -> nn.Sequential:
    """in_dim -> [Linear -> norm -> activation -> dropout] per hidden width -> Linear -> out_dim.

    activation: "relu", "leaky_relu" (slope 0.2), "tanh", "elu", "sigmoid" or "identity";
    norm: None, "batch" or "layer" (hidden layers only); out_activation: None (raw outputs /
    logits), "sigmoid" or "tanh"; spectral_norm wraps every Linear (Miyato et al. 2018).
    Unknown names raise ValueError listing the valid ones.
    """
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), make_norm1d(norm, h), make_activation(activation)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    layers += [nn.Linear(d, out_dim), make_out_activation(out_activation)]
    # Drop the Identity placeholders so that printing the net shows only real layers.
    net = nn.Sequential(*(m for m in layers if not isinstance(m, nn.Identity)))
    return apply_spectral_norm_(net) if spectral_norm else net


def mlp_layers(net: nn.Sequential) -> list[nn.Sequential]:
    """The layers of an MLP built by `nets.mlp`: each Linear with the modules after it up to the next Linear."""
    layers: list[list[nn.Module]] = []
    for m in net:
        if isinstance(m, nn.Linear):
            layers.append([])
        layers[-1].append(m)
    return [nn.Sequential(*ms) for ms in layers]


class MLPEncoder(nn.Sequential):
    """x (N, *shape) [+ one-hot label] -> (N, out_dim): Flatten, then an MLP. forward(x, y=None)."""

    def __init__(self, in_dim: int, hidden, out_dim: int, activation: str = "relu", num_classes: int = 0,
                 norm: str | None = None):
        super().__init__(nn.Flatten(), mlp(in_dim + num_classes, hidden, out_dim, activation=activation, norm=norm))
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self[0](x)
        if self.num_classes:
            if y is None:
                raise ValueError("this encoder is conditional: pass labels y")
            h = torch.cat([h, F.one_hot(y.long(), self.num_classes).to(h.dtype)], dim=1)
        return self[1](h)


class MLPDecoder(nn.Sequential):
    """z (N, latent_dim) [+ one-hot label] -> (N, *shape): an MLP, then Unflatten. forward(z, y=None)."""

    def __init__(self, latent_dim: int, hidden, shape, activation: str = "relu", num_classes: int = 0,
                 norm: str | None = None):
        dim = 1
        for s in shape:
            dim *= s
        super().__init__(mlp(latent_dim + num_classes, hidden, dim, activation=activation, norm=norm),
                         nn.Unflatten(1, tuple(shape)))
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            if y is None:
                raise ValueError("this decoder is conditional: pass labels y")
            z = torch.cat([z, F.one_hot(y.long(), self.num_classes).to(z.dtype)], dim=1)
        return self[1](self[0](z))


class MLPGenerator(nn.Module):
    """z (N, latent_dim) [+ one-hot y] -> MLP (ReLU) -> x (N, *shape).

    Conditional (num_classes > 0): the one-hot code of y is concatenated to z (Mirza & Osindero 2014).
    """

    def __init__(self, latent_dim: int, shape, hidden, *, norm: str | None = None, out_activation: str | None = None,
                 num_classes: int = 0):
        super().__init__()
        self.shape, self.num_classes = tuple(shape), num_classes
        self.label_code = LabelCode(num_classes) if num_classes > 0 else None
        self.net = mlp(latent_dim + num_classes, hidden, math.prod(self.shape), norm=norm,
                       out_activation=out_activation)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        require_labels(y, self.num_classes, type(self).__name__)
        if self.label_code is not None:
            z = torch.cat([z, self.label_code(y).to(z.dtype)], dim=1)
        return self.net(z).unflatten(1, self.shape)   # no batch size: exported graphs take any N


class MLPDiscriminator(nn.Module):
    """x (N, *shape) [+ one-hot y] -> flatten -> MLP (LeakyReLU 0.2) -> logits (N,).

    Conditional (num_classes > 0): the one-hot code of y is concatenated to the flattened x.
    """

    def __init__(self, in_dim: int, hidden, *, num_classes: int = 0, dropout: float = 0.0,
                 spectral_norm: bool = False):
        super().__init__()
        self.num_classes = num_classes
        self.label_code = LabelCode(num_classes) if num_classes > 0 else None
        self.net = mlp(in_dim + num_classes, hidden, 1, activation="leaky_relu", dropout=dropout,
                       spectral_norm=spectral_norm)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        require_labels(y, self.num_classes, type(self).__name__)
        h = x.flatten(1)
        if self.label_code is not None:
            h = torch.cat([h, self.label_code(y).to(h.dtype)], dim=1)
        return self.net(h).squeeze(1)

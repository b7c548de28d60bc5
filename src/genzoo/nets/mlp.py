"""Multi-layer perceptrons: the networks of the original GAN, AAE, the toy 2-D experiments and MLP AEs/VAEs."""
from __future__ import annotations

from typing import Sequence

from torch import nn

from .layers import apply_spectral_norm_, make_activation, make_norm1d, make_out_activation


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

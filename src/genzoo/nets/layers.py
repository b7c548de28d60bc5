"""Small building blocks shared by the architectures: name -> layer factories, spectral norm, labels.

Every factory takes a name from a fixed list and raises ValueError listing the valid names
on anything else, so a typo in a configuration fails at construction with a readable message.
"""
from __future__ import annotations

import copy
from typing import Callable, Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrizations, parametrize

Activation = Literal["relu", "leaky_relu", "tanh", "elu", "sigmoid", "identity"]
OutActivation = Literal[None, "sigmoid", "tanh"]      # None: logits / raw values
Norm1d = Literal[None, "batch", "layer"]
Norm2d = Literal["batch", "layer", "instance", "none"]

ACTIVATIONS: dict[Activation, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),  # slope 0.2: Radford et al. 2015
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}
OUT_ACTIVATIONS = get_args(OutActivation)
NORMS_1D = get_args(Norm1d)
NORMS_2D = get_args(Norm2d)


def check_choice(value, valid, what: str):
    """Return `value` if it is one of `valid`, else raise ValueError naming the valid choices."""
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(repr(v) for v in valid)}")
    return value


def make_activation(name: str) -> nn.Module:
    return ACTIVATIONS[check_choice(name, get_args(Activation), "activation")]()


def make_out_activation(name: str | None) -> nn.Module:
    """None -> Identity (the net returns logits / raw values), "sigmoid" or "tanh"."""
    check_choice(name, OUT_ACTIVATIONS, "out_activation")
    return nn.Identity() if name is None else make_activation(name)


def make_norm1d(name: str | None, features: int) -> nn.Module:
    check_choice(name, NORMS_1D, "norm")
    if name is None:
        return nn.Identity()
    return nn.BatchNorm1d(features) if name == "batch" else nn.LayerNorm(features)


def make_norm2d(name: str, channels: int) -> nn.Module:
    """'batch' BatchNorm2d; 'layer' GroupNorm(1, C) = layer norm over (C, H, W) with a per-channel
    affine; 'instance' InstanceNorm2d(affine=True); 'none' Identity (WGAN-GP critics)."""
    check_choice(name, NORMS_2D, "norm")
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "layer":
        return nn.GroupNorm(1, channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


_SN_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)


def apply_spectral_norm_(module: nn.Module) -> nn.Module:
    """Wrap every linear, conv and embedding weight in `module` with spectral normalization
    (Miyato et al. 2018): W / sigma(W), sigma estimated by one power iteration per training-mode
    forward pass (torch.nn.utils.parametrizations.spectral_norm). In place; returns `module`."""
    for m in list(module.modules()):
        if isinstance(m, _SN_TYPES) and not parametrize.is_parametrized(m, "weight"):
            parametrizations.spectral_norm(m)
    return module


def raw_weight(m: nn.Module) -> torch.Tensor:
    """The trainable weight tensor of `m` (the un-normalized one when `m` is parametrized)."""
    if parametrize.is_parametrized(m, "weight"):
        return m.parametrizations.weight.original
    return m.weight


@torch.no_grad()
def dcgan_init_(module: nn.Module) -> nn.Module:
    """DCGAN weight init (Radford et al. 2015, sec. 4): conv, linear and embedding weights ~ N(0, 0.02);
    normalization scales ~ N(1, 0.02); all biases 0. In place on every submodule; returns `module`."""
    for m in module.modules():
        if isinstance(m, _SN_TYPES):
            raw_weight(m).normal_(0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d, nn.LayerNorm)):
            if m.weight is not None:
                m.weight.normal_(1.0, 0.02)
        else:
            continue
        if getattr(m, "bias", None) is not None:
            m.bias.zero_()
    return module


class LabelCode(nn.Module):
    """Class labels y (N,) int64 -> a code (N, dim) to concatenate to an input (Mirza & Osindero 2014).

    embed_dim=None: a one-hot code (dim = num_classes). An int: a learned nn.Embedding of that
    size. (A one-hot code followed by a linear layer is already a learned embedding, so the
    default loses nothing.)
    """

    def __init__(self, num_classes: int, embed_dim: int | None = None):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes
        self.embed = None if embed_dim is None else nn.Embedding(num_classes, embed_dim)
        self.dim = num_classes if embed_dim is None else embed_dim

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.embed is not None:
            return self.embed(y)
        return F.one_hot(y.long(), self.num_classes).float()


def require_labels(y, num_classes: int, who: str) -> None:
    """Raise a clear ValueError when a conditional net gets no labels (or an unconditional one gets some)."""
    if num_classes > 0 and y is None:
        raise ValueError(f"{who} was built with num_classes={num_classes}: pass labels y")
    if num_classes == 0 and y is not None:
        raise ValueError(f"{who} is unconditional (num_classes=0) but labels y were given")


def moving_average_copy(net: nn.Module) -> nn.Module:
    """A frozen copy of `net` that `update_moving_average` keeps as its exponential moving average."""
    return copy.deepcopy(net).requires_grad_(False).eval()


def warmed_up_decay(decay: float, step: int) -> float:
    """The decay of a moving average's update number `step` (0, 1, ...): min(decay, (1 + step) / (10 + step)),
    as TensorFlow's ExponentialMovingAverage with num_updates. Early on the average forgets quickly, so that
    after a short run it holds the last steps' weights, not mostly the initial ones (0.999 would keep 37% of
    them after 1,000 steps); from step 9 / (1 - decay) - 1 on it is `decay` itself."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_moving_average(average: nn.Module, net: nn.Module, decay: float, step: int) -> None:
    """theta_avg <- d theta_avg + (1 - d) theta, d = warmed_up_decay(decay, step); buffers (batch-norm
    statistics) are copied."""
    d = warmed_up_decay(decay, step)
    for pa, p in zip(average.parameters(), net.parameters()):
        pa.lerp_(p.detach(), 1.0 - d)
    for ba, b in zip(average.buffers(), net.buffers()):
        ba.copy_(b)


def gumbel_softmax(logits: torch.Tensor, tau: float, *, hard: bool = False, generator: torch.Generator | None = None,
                   noise: torch.Tensor | None = None) -> torch.Tensor:
    """y = softmax((logits + g) / tau), g = -log(-log u), u ~ U(0, 1), over the last dimension: the
    Gumbel-softmax (Concrete) relaxation of a categorical sample (Jang et al. 2017, eq. 1; Maddison et
    al. 2017), a point of the simplex that becomes one-hot as tau -> 0.

    hard=True: the one-hot of argmax(logits + g) in the forward pass, with the gradient of the
    relaxed y (straight-through). The Gumbel-max argmax is an exact sample of softmax(logits).
    noise: the uniform draws u (any shape with logits' number of elements) instead of fresh ones.
    """
    u = torch.rand(logits.shape, device=logits.device, dtype=logits.dtype, generator=generator) \
        if noise is None else noise.view_as(logits)
    g = -torch.log((-torch.log(u.clamp(1e-10, 1.0))).clamp_min(1e-10))   # Gumbel(0, 1), finite at u = 0 and 1
    y = torch.softmax((logits + g) / tau, dim=-1)
    if not hard:
        return y
    one_hot = F.one_hot(y.argmax(-1), y.shape[-1]).to(y.dtype)
    return one_hot + y - y.detach()

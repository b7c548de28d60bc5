"""What every model with an encoder and a latent space shares: the sampling protocol of genzoo.sampling
(genzoo.models.capabilities.LatentPrior) and the encoder's features (FeatureEncoder)."""
from __future__ import annotations

import torch
from torch import nn

from ..errors import GenzooError


class LatentModelMixin:
    """The sampling protocol (genzoo.sampling): `latent_dim`, `generate(z, cond=None)` = decode,
    and `reconstruct(x)`. The class sets `encode_mean(x, y)` and `decode(z, y)`, and
    `num_classes` > 0 when it is conditional on labels."""

    num_classes: int = 0
    #: the encoder's code is a representation of x (FeatureEncoder)
    has_features = True

    def class_labels(self, n: int, cond=None) -> torch.Tensor | None:
        """Labels for n conditional samples: `cond` (a class or n labels), or the classes in turn 0, 1, ...
        None for an unconditional model."""
        if not self.num_classes:
            return None
        if cond is None:
            return torch.arange(n, device=self.device) % self.num_classes
        cond = torch.as_tensor(cond, device=self.device).long()
        return cond.expand(n) if cond.dim() == 0 else cond

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def generate(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """x = decode(z) (the mean of p(x | z)); images clamped to [0, 1]. `cond`: labels of a conditional
        model. Differentiable in z (genzoo.sampling.steer); wrap in torch.no_grad() to just draw."""
        x = self.decode(z, self.class_labels(len(z), cond))
        return x.clamp(0, 1) if self.data.kind == "image" else x

    def describe_prior(self) -> dict:
        """The prior as export writes it down (genzoo.models.capabilities.LatentPrior): N(0, I) unless the model says."""
        return {"kind": "normal", "mean": [0.0] * self.latent_dim, "std": [1.0] * self.latent_dim}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's code of x (`encode_mean`): the representation a linear probe reads."""
        return self.encode_mean(x)

    def encoder_net(self) -> nn.Module:
        """The encoder network (EncoderNetwork), unless it takes labels."""
        if getattr(self.encoder, "num_classes", 0):
            raise GenzooError("this encoder is conditional on labels; it cannot be the base of a classifier")
        return self.encoder

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """decode(encode(x)): the decoder's mean at the encoder's code (the posterior mean for a VAE)."""
        return self.decode_code(self.encode_mean(x, y), y)

    def decode_code(self, code: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images from the encoder's codes (`encode_mean`); = generate except where they differ (ALAE)."""
        return self.generate(code, y)

    @torch.no_grad()
    def interpolate(self, x0: torch.Tensor, x1: torch.Tensor, steps: int = 8,
                    y: torch.Tensor | int | None = None) -> torch.Tensor:
        """Decode the straight line between the codes of two examples x0, x1 (each (*shape)):
        (steps, *shape), from x0's reconstruction to x1's. (Latent walks between prior draws,
        lerp and slerp: genzoo.sampling with `generate`.)"""
        y = None if y is None else torch.as_tensor(y, device=self.device).long().reshape(1)
        c0, c1 = self.encode_mean(x0[None], y), self.encode_mean(x1[None], y)
        t = torch.linspace(0, 1, steps, device=c0.device, dtype=c0.dtype).unsqueeze(1)
        return self.decode_code((1 - t) * c0 + t * c1, None if y is None else y.expand(steps))
